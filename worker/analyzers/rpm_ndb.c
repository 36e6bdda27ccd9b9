/*
 * rpm_ndb.c - SUSE's "ndb" rpm database, Packages.db (rpm's
 * lib/backend/ndb/rpmpkg.c). All integers little-endian.
 *
 *   offset 0, 32 bytes: "RpmP", version 0, generation, slotnpages, nextpkgidx, ...
 *   slot pages: slotnpages pages of 4096 bytes, 16-byte slots from offset 32:
 *       "Slot", pkgidx, blkoff, blkcnt     (blkoff 0: free slot)
 *   blobs at blkoff * 16, blkcnt 16-byte blocks:
 *       "BlbS", pkgidx, timestamp, bloblen, header blob, zero padding,
 *       adler32 (of everything before it in the block run), bloblen, "BlbE"
 *
 * Packages are emitted in slot order (what go-rpmdb, whose expectations the
 * fixtures carry, does; rpm itself lists by block offset).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "worker/analyzers/rpm_internal.h"

#define NDB_PAGE 4096u
#define NDB_SLOT 16u
#define NDB_BLK 16u
#define NDB_HEAD 16u
#define NDB_TAIL 12u
#define NDB_SLOTPAGES_MAX 2048u   /* 522k slots: far beyond any real image */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* RFC 1950 Adler-32. */
static uint32_t adler32(uint32_t adler, const uint8_t *p, size_t n)
{
	uint32_t s1 = adler & 0xffff, s2 = adler >> 16;

	while (n > 0) {
		size_t k = n < 5552 ? n : 5552;  /* the most bytes before s2 can overflow */
		n -= k;
		while (k-- > 0) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

int cs_rpm_ndb_probe(const uint8_t *data, size_t len)
{
	return len >= 4 && memcmp(data, "RpmP", 4) == 0;
}

struct ndb {
	const struct cs_emit *e;
	const char *path;
	const uint8_t *data;
	size_t len;
	unsigned nwarn;
};

/* One damaged slot could come with thousands: past this many, stay quiet. */
#define NDB_WARN_MAX 64

static int nwarn(struct ndb *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int nwarn(struct ndb *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (n->nwarn++ >= NDB_WARN_MAX) {
		if (n->nwarn == NDB_WARN_MAX + 1)
			return cs_emit_warnf(n->e, n->path, "ndb: too many problems, further ones not reported");
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_emit_warnf(n->e, n->path, "%s", msg);
}

struct slot {
	uint32_t pkgidx, blkoff, blkcnt;
	uint32_t at;      /* file offset of the slot, for warnings */
	int skip;
};

/* One slot's blob; 0 on success or a warning emitted, negative on fatal. */
static int read_blob(struct ndb *n, const struct slot *sl)
{
	uint64_t start = (uint64_t)sl->blkoff * NDB_BLK, span = (uint64_t)sl->blkcnt * NDB_BLK;
	const uint8_t *b, *t;
	uint32_t bloblen, pkgidx = sl->pkgidx;
	char where[64];

	if (start > n->len || span > n->len - start)
		return nwarn(n, "ndb: package %u: blob at block %u (+%u) lies beyond the end of the file (truncated?)",
			     pkgidx, sl->blkoff, sl->blkcnt);
	if (span < NDB_HEAD + NDB_TAIL)
		return nwarn(n, "ndb: package %u: blob of %u blocks is too small", pkgidx, sl->blkcnt);
	b = n->data + start;
	if (memcmp(b, "BlbS", 4) != 0 || le32(b + 4) != pkgidx)
		return nwarn(n, "ndb: package %u: bad blob header at block %u", pkgidx, sl->blkoff);
	bloblen = le32(b + 12);
	if ((uint64_t)NDB_HEAD + bloblen + NDB_TAIL > span ||
	    ((uint64_t)NDB_HEAD + bloblen + NDB_TAIL + NDB_BLK - 1) / NDB_BLK != sl->blkcnt)
		return nwarn(n, "ndb: package %u: blob length %u does not fit its %u blocks", pkgidx, bloblen, sl->blkcnt);
	t = b + span - NDB_TAIL;
	if (memcmp(t + 8, "BlbE", 4) != 0 || le32(t + 4) != bloblen)
		return nwarn(n, "ndb: package %u: bad blob trailer", pkgidx);
	if (adler32(1, b, (size_t)span - NDB_TAIL) != le32(t))
		return nwarn(n, "ndb: package %u: blob checksum mismatch", pkgidx);
	snprintf(where, sizeof(where), "ndb package %u", pkgidx);
	return cs_rpm_header_emit(n->e, n->path, where, b + NDB_HEAD, bloblen);
}

static int by_blkoff(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;

	if (x->blkoff != y->blkoff)
		return x->blkoff < y->blkoff ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

int cs_rpm_ndb_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	struct ndb n = { e, path, data, len, 0 };
	struct slot *slots = NULL, **order = NULL;
	uint32_t npages, version, page, o;
	size_t have_pages, ns = 0, i, cap;
	uint64_t end;
	int r = 0;

	if (len < 32)
		return cs_emit_warnf(e, path, "ndb: file of %zu bytes is shorter than its header", len);
	version = le32(data + 4);
	npages = le32(data + 12);
	if (version != 0)
		return cs_emit_warnf(e, path, "ndb: unsupported version %u", version);
	if (npages == 0 || npages > NDB_SLOTPAGES_MAX)
		return cs_emit_warnf(e, path, "ndb: implausible slot page count %u", npages);
	have_pages = len / NDB_PAGE;
	if (npages > have_pages) {
		if ((r = nwarn(&n, "ndb: %u slot pages declared, file holds %zu whole pages (truncated?)",
			       npages, have_pages)) != 0)
			return r;
	}
	cap = (size_t)npages * (NDB_PAGE / NDB_SLOT);
	slots = calloc(cap, sizeof(*slots));
	order = calloc(cap, sizeof(*order));
	if (slots == NULL || order == NULL) {
		r = cs_err_set(CS_ENOMEM, "ndb: out of memory");
		goto out;
	}

	/* 1: the slot table (stops at the file's end or the first bad magic) */
	for (page = 0; page < npages; page++) {
		for (o = page ? 0 : 32; o < NDB_PAGE; o += NDB_SLOT) {
			size_t at = (size_t)page * NDB_PAGE + o;
			const uint8_t *s;
			struct slot *sl;

			if (at + NDB_SLOT > len)
				goto slots_done;  /* warned above */
			s = data + at;
			if (memcmp(s, "Slot", 4) != 0) {
				if ((r = nwarn(&n, "ndb: bad slot magic at offset %zu; slots after it are skipped", at)) != 0)
					goto out;
				goto slots_done;
			}
			sl = &slots[ns];
			sl->pkgidx = le32(s + 4);
			sl->blkoff = le32(s + 8);
			sl->blkcnt = le32(s + 12);
			sl->at = (uint32_t)at;
			if (sl->blkoff == 0)
				continue;  /* free slot */
			if (sl->pkgidx == 0 || sl->blkcnt == 0 ||
			    (uint64_t)sl->blkoff < (uint64_t)npages * (NDB_PAGE / NDB_BLK)) {
				if ((r = nwarn(&n, "ndb: bad slot at offset %zu (package %u, block %u, %u blocks)",
					       at, sl->pkgidx, sl->blkoff, sl->blkcnt)) != 0)
					goto out;
				continue;
			}
			order[ns] = sl;
			ns++;
		}
	}
slots_done:
	/* 2: blobs never share blocks; a slot overlapping an earlier one is dropped */
	qsort(order, ns, sizeof(*order), by_blkoff);
	for (i = 0, end = 0; i < ns; i++) {
		if ((uint64_t)order[i]->blkoff < end) {
			order[i]->skip = 1;
			if ((r = nwarn(&n, "ndb: package %u: its blob overlaps another slot's, skipped",
				       order[i]->pkgidx)) != 0)
				goto out;
			continue;
		}
		end = (uint64_t)order[i]->blkoff + order[i]->blkcnt;
	}
	/* 3: the packages, in slot order */
	for (i = 0; i < ns; i++) {
		if (slots[i].skip)
			continue;
		if ((r = read_blob(&n, &slots[i])) != 0)
			goto out;
	}
out:
	free(order);
	free(slots);
	return r;
}
