/*
 * rpm_bdb.c - the BerkeleyDB hash "Packages" file of rpm < 4.16, read
 * without libdb (the layout of Berkeley DB's db_page.h / hash.h; rpm's own
 * read-only reader lib/backend/bdb_ro.c walks it the same way).
 *
 * Page 0 is the hash metadata page: magic 0x061561 at offset 12 (its byte
 * order is the file's), version, page size, last page number, max_bucket,
 * and the spares table that maps bucket numbers to page numbers. Every other
 * page starts with a 26-byte header { lsn[8], pgno, prev_pgno, next_pgno,
 * u16 entries, u16 hf_offset, level, type }. Hash pages (type 2 unsorted,
 * 13 sorted) hold u16 item offsets after the header, in key/value pairs;
 * an item starts with its type: 1 = inline bytes, 3 = off-page (big item):
 * { type, pad[3], u32 first overflow page, u32 total length }. Overflow pages
 * (type 7) carry hf_offset bytes of data after the header and chain through
 * next_pgno. The key is the 4-byte header number; key 0 is rpm's record of
 * the last number used, not a package.
 *
 * Packages are listed as rpm lists them: bucket 0..max_bucket, each bucket's
 * page chain in order. Every page is visited at most once (a bitmap stops
 * cycles), overflow chains are bounded by their declared length and a
 * per-chain stamp, and the bytes reassembled over the whole file are
 * bounded by the file size (sound files never share overflow pages).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "worker/analyzers/rpm_internal.h"

#define BDB_HASH_MAGIC 0x061561u
#define BDB_PAGE_HDR 26u
#define P_HASH_UNSORTED 2
#define P_OVERFLOW 7
#define P_HASHMETA 8
#define P_HASH 13
#define H_KEYDATA 1
#define H_OFFPAGE 3

struct bdb {
	const struct cs_emit *e;
	const char *path;
	const uint8_t *data;
	size_t len;
	int swapped;          /* file written big-endian */
	uint32_t pagesize;
	uint32_t npages;      /* pages to consider: min(last_pgno + 1, whole pages in the file) */
	uint32_t max_bucket;
	uint32_t spares[32];
	uint8_t *visited;     /* hash pages seen, bitmap of npages bits */
	uint32_t *stamp;      /* overflow pages: id of the last chain that used them */
	uint32_t chain;       /* current chain id */
	uint64_t budget;      /* overflow bytes still allowed */
	uint8_t *buf;         /* reassembly buffer */
	size_t bufcap;
	unsigned warned_range; /* pages named past the end: warn once */
	unsigned nwarn;
};

static uint32_t u32(const struct bdb *b, const uint8_t *p)
{
	if (b->swapped)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t u16(const struct bdb *b, const uint8_t *p)
{
	if (b->swapped)
		return (uint16_t)(p[0] << 8 | p[1]);
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t raw_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t raw_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * A damaged file can produce one problem per page or item; after this many
 * the walk stops with one last warning instead of flooding the records.
 */
#define BDB_WARN_MAX 64

static int bwarn(struct bdb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bwarn(struct bdb *b, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (b->nwarn++ >= BDB_WARN_MAX)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_emit_warnf(b->e, b->path, "%s", msg);
}

int cs_rpm_bdb_probe(const uint8_t *data, size_t len)
{
	return len >= 512 && (raw_le32(data + 12) == BDB_HASH_MAGIC || raw_be32(data + 12) == BDB_HASH_MAGIC);
}

/* The page, or NULL (with one warning per parse) when it is not in the file. */
static const uint8_t *page_at(struct bdb *b, uint32_t pgno, int *r)
{
	const uint8_t *p;

	*r = 0;
	if (pgno == 0 || pgno >= b->npages) {
		if (b->warned_range++ == 0)
			*r = bwarn(b, "bdb: page %u is beyond the %u pages of the file (truncated or corrupt)",
					   pgno, b->npages);
		return NULL;
	}
	p = b->data + (size_t)pgno * b->pagesize;
	if (u32(b, p + 8) != pgno) {
		*r = bwarn(b, "bdb: page %u says it is page %u", pgno, u32(b, p + 8));
		return NULL;
	}
	return p;
}

/*
 * Reassembles an off-page item of tlen bytes starting at overflow page pgno
 * into b->buf. Returns 0 and sets *ok, or a callback failure / CS_ENOMEM.
 */
static int overflow_get(struct bdb *b, uint32_t pgno, uint32_t tlen, int *ok)
{
	uint32_t got = 0;
	int r;

	*ok = 0;
	if (tlen == 0 || tlen > CS_RPM_HEADER_MAX || tlen > b->len)
		return bwarn(b, "bdb: off-page item of %u bytes is implausible", tlen);
	if (tlen > b->budget)
		return bwarn(b, "bdb: off-page items add up to more than the file holds (shared overflow pages); item skipped");
	if (tlen > b->bufcap) {
		uint8_t *nb = realloc(b->buf, tlen);
		if (nb == NULL)
			return cs_err_set(CS_ENOMEM, "bdb: out of memory (%u bytes)", tlen);
		b->buf = nb;
		b->bufcap = tlen;
	}
	b->chain++;
	while (got < tlen) {
		const uint8_t *p = page_at(b, pgno, &r);
		uint32_t plen;

		if (p == NULL)
			return r;
		if (p[25] != P_OVERFLOW)
			return bwarn(b, "bdb: overflow chain reaches page %u of type %u", pgno, p[25]);
		if (b->stamp[pgno] == b->chain)
			return bwarn(b, "bdb: overflow chain loops at page %u", pgno);
		b->stamp[pgno] = b->chain;
		plen = u16(b, p + 22);
		if (plen == 0 || plen > b->pagesize - BDB_PAGE_HDR || plen > tlen - got)
			return bwarn(b, "bdb: overflow page %u holds a bad length %u", pgno, plen);
		memcpy(b->buf + got, p + BDB_PAGE_HDR, plen);
		got += plen;
		pgno = u32(b, p + 16);
	}
	b->budget -= tlen;
	*ok = 1;
	return 0;
}

/* Key/value pairs of one hash page. */
static int hash_page(struct bdb *b, uint32_t pgno, const uint8_t *p)
{
	uint32_t n = u16(b, p + 20), i, ps = b->pagesize;
	int r;

	if (n > (ps - BDB_PAGE_HDR) / 2)
		return bwarn(b, "bdb: hash page %u claims %u entries", pgno, n);
	if (n % 2 != 0) {
		if ((r = bwarn(b, "bdb: hash page %u has an odd entry count %u", pgno, n)) != 0)
			return r;
		n--;
	}
	for (i = 0; i < n; i += 2) {
		uint32_t koff = u16(b, p + BDB_PAGE_HDR + 2 * i);
		uint32_t voff = u16(b, p + BDB_PAGE_HDR + 2 * i + 2);
		uint32_t kend = i == 0 ? ps : u16(b, p + BDB_PAGE_HDR + 2 * i - 2);
		uint32_t minoff = BDB_PAGE_HDR + 2 * n;
		char where[64];
		int ok;

		/* items are packed from the end of the page downwards */
		if (koff < minoff || voff < minoff || kend > ps || koff >= kend || voff >= koff) {
			if ((r = bwarn(b, "bdb: hash page %u entry %u has bad offsets", pgno, i / 2)) != 0)
				return r;
			continue;
		}
		/* key: skip rpm's key 0 (the last used header number) */
		if (p[koff] == H_KEYDATA && kend - koff == 5 && u32(b, p + koff + 1) == 0)
			continue;
		if (p[koff] == H_KEYDATA && kend - koff == 5)
			snprintf(where, sizeof(where), "bdb header %u", u32(b, p + koff + 1));
		else
			snprintf(where, sizeof(where), "bdb page %u entry %u", pgno, i / 2);

		if (p[voff] == H_KEYDATA) {
			if ((r = cs_rpm_header_emit(b->e, b->path, where, p + voff + 1, koff - voff - 1)) != 0)
				return r;
		} else if (p[voff] == H_OFFPAGE) {
			if (koff - voff != 12) {
				if ((r = bwarn(b, "bdb: %s: off-page item of bad size", where)) != 0)
					return r;
				continue;
			}
			if ((r = overflow_get(b, u32(b, p + voff + 4), u32(b, p + voff + 8), &ok)) != 0)
				return r;
			if (ok && (r = cs_rpm_header_emit(b->e, b->path, where, b->buf, u32(b, p + voff + 8))) != 0)
				return r;
		} else {
			if ((r = bwarn(b, "bdb: %s: unsupported item type %u", where, p[voff])) != 0)
				return r;
		}
	}
	return 0;
}

/* Bucket numbers map to pages through the spares table (hash.h BUCKET_TO_PAGE). */
static int bucket_page(const struct bdb *b, uint32_t bucket, uint32_t *pgno)
{
	uint32_t x, i = 0;
	uint64_t pg;

	for (x = bucket; x != 0; x >>= 1)
		i++;
	if (i >= 32)
		return -1;
	pg = (uint64_t)bucket + b->spares[i];
	if (pg > UINT32_MAX)
		return -1;
	*pgno = (uint32_t)pg;
	return 0;
}

int cs_rpm_bdb_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	struct bdb b;
	uint32_t version, last, bucket, i;
	int r = 0;

	memset(&b, 0, sizeof(b));
	b.e = e;
	b.path = path;
	b.data = data;
	b.len = len;
	b.budget = len;
	if (len < 512)
		return cs_emit_warnf(e, path, "bdb: file of %zu bytes is shorter than the metadata page", len);
	if (raw_le32(data + 12) == BDB_HASH_MAGIC)
		b.swapped = 0;
	else if (raw_be32(data + 12) == BDB_HASH_MAGIC)
		b.swapped = 1;
	else
		return cs_emit_warnf(e, path, "bdb: not a Berkeley DB hash database");
	version = u32(&b, data + 16);
	b.pagesize = u32(&b, data + 20);
	last = u32(&b, data + 32);
	b.max_bucket = u32(&b, data + 72);
	for (i = 0; i < 32; i++)
		b.spares[i] = u32(&b, data + 96 + 4 * i);
	if (version < 8 || version > 10)
		return cs_emit_warnf(e, path, "bdb: unsupported hash version %u", version);
	if (b.pagesize < 512 || b.pagesize > 65536 || (b.pagesize & (b.pagesize - 1)) != 0)
		return cs_emit_warnf(e, path, "bdb: bad page size %u", b.pagesize);
	if (data[24] != 0)
		return cs_emit_warnf(e, path, "bdb: encrypted databases are not supported");
	if (data[25] != P_HASHMETA)
		return cs_emit_warnf(e, path, "bdb: page 0 is not a hash metadata page (type %u)", data[25]);
	if ((uint64_t)last + 1 > len / b.pagesize) {
		if ((r = cs_emit_warnf(e, path, "bdb: %u pages declared, the file holds %zu (truncated?)",
				       last + 1, len / b.pagesize)) != 0)
			return r;
		b.npages = (uint32_t)(len / b.pagesize);
	} else {
		b.npages = last + 1;
	}
	if (b.npages < 2)
		return cs_emit_warnf(e, path, "bdb: no data pages (%zu bytes, page size %u)", len, b.pagesize);
	if (b.max_bucket >= b.npages) {
		if ((r = cs_emit_warnf(e, path, "bdb: %u buckets cannot fit in %u pages; only those that do are read",
				       b.max_bucket + 1, b.npages)) != 0)
			return r;
		b.max_bucket = b.npages - 1;
	}

	b.visited = calloc((b.npages + 7) / 8, 1);
	b.stamp = calloc(b.npages, sizeof(*b.stamp));
	if (b.visited == NULL || b.stamp == NULL) {
		r = cs_err_set(CS_ENOMEM, "bdb: out of memory");
		goto out;
	}

	for (bucket = 0; bucket <= b.max_bucket; bucket++) {
		uint32_t pgno;

		if (b.nwarn >= BDB_WARN_MAX) {
			r = cs_emit_warnf(e, path, "bdb: too many problems, stopped at bucket %u of %u",
					  bucket, b.max_bucket + 1);
			goto out;
		}

		if (bucket_page(&b, bucket, &pgno) != 0) {
			if ((r = bwarn(&b, "bdb: bucket %u maps to no page", bucket)) != 0)
				goto out;
			continue;
		}
		while (pgno != 0) {
			const uint8_t *p = page_at(&b, pgno, &r);

			if (p == NULL) {
				if (r != 0)
					goto out;
				break;
			}
			if (b.visited[pgno / 8] & (1u << (pgno % 8))) {
				if ((r = bwarn(&b, "bdb: bucket %u: page %u was already read (page loop)",
						       bucket, pgno)) != 0)
					goto out;
				break;
			}
			b.visited[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
			if (p[25] != P_HASH && p[25] != P_HASH_UNSORTED) {
				if ((r = bwarn(&b, "bdb: bucket %u: page %u has type %u, not a hash page",
						       bucket, pgno, p[25])) != 0)
					goto out;
				break;
			}
			if ((r = hash_page(&b, pgno, p)) != 0)
				goto out;
			pgno = u32(&b, p + 16);
		}
	}
out:
	free(b.visited);
	free(b.stamp);
	free(b.buf);
	return r;
}
