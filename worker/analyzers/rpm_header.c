/*
 * rpm_header.c - rpm header blobs, and the analyzer's entry points.
 *
 * A header blob as the rpm databases store it (rpm's lib/header.c,
 * headerExport without the lead/magic):
 *
 *   be32 il                 number of index entries
 *   be32 dl                 bytes of the data store
 *   il x { be32 tag, be32 type, be32 offset, be32 count }
 *   dl bytes of data        offsets are relative to its start
 *
 * The first entry is usually a region tag (HEADERIMMUTABLE) whose data is a
 * 16-byte trailer saying how many entries the signed region spans; entries
 * after it ("dribbles", added at install time) replace region entries with
 * the same tag. Every offset, count and type below is checked against the
 * blob before it is used: the blob is hostile input.
 */
#include "worker/analyzers/rpm.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "worker/analyzers/rpm_internal.h"

enum {
	T_NULL = 0, T_CHAR = 1, T_INT8 = 2, T_INT16 = 3, T_INT32 = 4, T_INT64 = 5,
	T_STRING = 6, T_BIN = 7, T_STRING_ARRAY = 8, T_I18NSTRING = 9,
};

enum {
	TAG_HEADERIMAGE = 61,
	TAG_HEADERSIGNATURES = 62,
	TAG_HEADERIMMUTABLE = 63,
	TAG_NAME = 1000,
	TAG_VERSION = 1001,
	TAG_RELEASE = 1002,
	TAG_EPOCH = 1003,
	TAG_VENDOR = 1011,
	TAG_LICENSE = 1014,
	TAG_ARCH = 1022,
	TAG_OLDFILENAMES = 1027,
	TAG_SOURCERPM = 1044,
	TAG_DIRINDEXES = 1116,
	TAG_BASENAMES = 1117,
	TAG_DIRNAMES = 1118,
	TAG_MODULARITYLABEL = 5096,
};

struct hdr {
	const uint8_t *index;  /* il * 16 bytes */
	uint32_t il;
	const uint8_t *data;   /* dl bytes */
	uint32_t dl;
	/* for warnings */
	const struct cs_emit *e;
	const char *path;
	const char *where;
};

struct entry {
	uint32_t tag, type, offset, count;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void entry_at(const struct hdr *h, uint32_t i, struct entry *en)
{
	const uint8_t *p = h->index + (size_t)i * 16;

	en->tag = be32(p);
	en->type = be32(p + 4);
	en->offset = be32(p + 8);
	en->count = be32(p + 12);
}

static int hwarnf(const struct hdr *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A warning prefixed with "rpm header (WHERE): ". */
static int hwarnf(const struct hdr *h, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->where != NULL)
		return cs_emit_warnf(h->e, h->path, "rpm header (%s): %s", h->where, msg);
	return cs_emit_warnf(h->e, h->path, "rpm header: %s", msg);
}

static int hwarn(const struct hdr *h, const char *what, uint32_t tag)
{
	return hwarnf(h, "%s (tag %u)", what, tag);
}

/* Size of one element of a fixed-size type, 0 for the variable ones. */
static size_t type_size(uint32_t type)
{
	switch (type) {
	case T_NULL: return 0;
	case T_CHAR: case T_INT8: case T_BIN: return 1;
	case T_INT16: return 2;
	case T_INT32: return 4;
	case T_INT64: return 8;
	default: return 0;
	}
}

/*
 * Checks an entry's type, alignment and extent in the data store, as rpm's
 * hdrblobVerifyInfo does. With use set (the value is about to be read),
 * also that it has a value and that each of the count strings ends inside
 * the store (O(bytes), so done only for the entries actually read: a hostile
 * header may point 65535 entries at one huge array). Returns 1 when sound.
 */
static int entry_sound(const struct hdr *h, const struct entry *en, int use)
{
	size_t sz, n, off, i;

	/* rpm's hdrchkType and hdrchkRange: offset == dl is allowed in the index */
	if (en->type > T_I18NSTRING || en->offset > h->dl)
		return 0;
	if (use && (en->type == T_NULL || en->count == 0 || en->offset >= h->dl))
		return 0;
	sz = type_size(en->type);
	if (sz > 1 && en->offset % sz != 0)
		return 0;
	if (sz != 0 || en->type == T_NULL) {
		if (__builtin_mul_overflow((size_t)en->count, sz, &n) || n > h->dl - en->offset)
			return 0;
		return 1;
	}
	if (en->type == T_STRING && en->count > 1)
		return 0;
	/* count strings of at least one byte each: bounded by the store. */
	if (en->count > h->dl - en->offset)
		return 0;
	if (!use)
		return 1;
	off = en->offset;
	for (i = 0; i < en->count; i++) {
		const uint8_t *z;

		if (off >= h->dl)
			return 0;
		z = memchr(h->data + off, 0, h->dl - off);
		if (z == NULL)
			return 0;
		off = (size_t)(z - h->data) + 1;
	}
	return 1;
}

/*
 * Finds tag; the last index entry wins, so install-time dribbles replace
 * region entries as in rpm's headerImport. Returns 1 found, 0 absent.
 */
static int find(const struct hdr *h, uint32_t tag, struct entry *out)
{
	uint32_t i = h->il;
	struct entry en;

	while (i-- > 0) {
		entry_at(h, i, &en);
		if (en.tag == tag) {
			*out = en;
			return 1;
		}
	}
	return 0;
}

/*
 * *out = the string value of tag (the first string of an array or i18n
 * table), or NULL when absent or unsound (with a warning). Returns 0 or the
 * warning callback's failure.
 */
static int get_string(const struct hdr *h, uint32_t tag, const char **out)
{
	struct entry en;

	*out = NULL;
	if (!find(h, tag, &en))
		return 0;
	if (en.type != T_STRING && en.type != T_I18NSTRING && en.type != T_STRING_ARRAY)
		return hwarn(h, "string tag with a non-string type, ignored", tag);
	if (!entry_sound(h, &en, 1))
		return hwarn(h, "string runs past the data store, ignored", tag);
	*out = (const char *)h->data + en.offset;
	return 0;
}

/*
 * Validates the counts and the region, and every entry. Returns 0 when the
 * header is sound, or a warning was emitted (> 0) / negative on callback
 * failure.
 */
static int header_check(struct hdr *h, const uint8_t *blob, size_t len)
{
	uint32_t il, dl, i;
	size_t need;
	struct entry en;
	int r;

	if (len < 8) {
		if ((r = hwarnf(h, "blob of %zu bytes is shorter than its 8-byte preamble", len)) != 0)
			return r;
		return 1;
	}
	il = be32(blob);
	dl = be32(blob + 4);
	if (il == 0 || il > CS_RPM_INDEX_MAX || dl > CS_RPM_HEADER_MAX) {
		if ((r = hwarnf(h, "implausible entry count %u or data length %u", il, dl)) != 0)
			return r;
		return 1;
	}
	need = 8 + (size_t)il * 16 + (size_t)dl;
	if (need > len) {
		if ((r = hwarnf(h, "%u entries and %u data bytes need %zu bytes, blob has %zu (truncated?)",
				il, dl, need, len)) != 0)
			return r;
		return 1;
	}
	h->il = il;
	h->dl = dl;
	h->index = blob + 8;
	h->data = blob + 8 + (size_t)il * 16;

	for (i = 0; i < il; i++) {
		entry_at(h, i, &en);
		if (!entry_sound(h, &en, 0)) {
			if ((r = hwarn(h, "index entry with bad type, offset or count", en.tag)) != 0)
				return r;
			return 1;
		}
	}

	/* The region trailer: { tag, BIN, -(ril * 16), 16 } at the region entry's offset. */
	entry_at(h, 0, &en);
	if (en.tag == TAG_HEADERIMMUTABLE || en.tag == TAG_HEADERIMAGE || en.tag == TAG_HEADERSIGNATURES) {
		uint32_t ttag, ttype, toff, tcount, ril;
		const uint8_t *t;

		if (en.type != T_BIN || en.count != 16 || (size_t)en.offset + 16 > dl) {
			if ((r = hwarn(h, "bad region tag", en.tag)) != 0)
				return r;
			return 1;
		}
		t = h->data + en.offset;
		ttag = be32(t);
		ttype = be32(t + 4);
		toff = be32(t + 8);
		tcount = be32(t + 12);
		/* -(ril * 16) as an unsigned 32-bit value */
		ril = (uint32_t)(0u - toff) / 16;
		if (ttype != T_BIN || tcount != 16 || (ttag != en.tag && ttag != TAG_HEADERIMAGE) ||
		    (uint32_t)(0u - toff) % 16 != 0 || ril == 0 || ril > il) {
			if ((r = hwarn(h, "bad region trailer", en.tag)) != 0)
				return r;
			return 1;
		}
	}
	return 0;
}

struct files {
	char **paths;   /* one allocation: pointer array then the bytes */
	size_t n;
};

/* The i-th..: walks a validated string array. */
static const char *next_str(const char *s)
{
	return s + strlen(s) + 1;
}

/*
 * Builds "dir/base" paths (without leading '/') from BASENAMES, DIRINDEXES
 * and DIRNAMES, or from OLDFILENAMES in pre-4.0 headers. Absent tags give
 * no files; inconsistent ones a warning and no files.
 */
static int build_files(const struct hdr *h, struct files *out)
{
	struct entry bn, di, dn;
	const char **dirs = NULL;
	size_t *dirlen = NULL;
	size_t i, total = 0, n, m = 0;
	const char *s;
	char *p;
	int r = 0, old = 0;
	const char *problem = NULL;

	out->paths = NULL;
	out->n = 0;
	if (!find(h, TAG_BASENAMES, &bn)) {
		if (!find(h, TAG_OLDFILENAMES, &bn))
			return 0;
		old = 1;
	}
	if (bn.type != T_STRING_ARRAY || !entry_sound(h, &bn, 1)) {
		problem = "file names are not a sound string array";
		goto bad;
	}
	n = bn.count;
	if (n > CS_RPM_FILES_MAX) {
		problem = "too many files";
		goto bad;
	}
	if (!old) {
		if (!find(h, TAG_DIRINDEXES, &di) || !find(h, TAG_DIRNAMES, &dn)) {
			problem = "BASENAMES without DIRINDEXES or DIRNAMES";
			goto bad;
		}
		if (di.type != T_INT32 || di.count != bn.count || !entry_sound(h, &di, 1) || dn.type != T_STRING_ARRAY ||
		    !entry_sound(h, &dn, 1)) {
			problem = "DIRINDEXES/DIRNAMES do not match BASENAMES";
			goto bad;
		}
		m = dn.count;
		dirs = calloc(m, sizeof(*dirs));
		dirlen = calloc(m, sizeof(*dirlen));
		if (dirs == NULL || dirlen == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		s = (const char *)h->data + dn.offset;
		for (i = 0; i < m; i++, s = next_str(s)) {
			dirs[i] = s;
			dirlen[i] = strlen(s);
		}
	}

	/* pass 1: size */
	s = (const char *)h->data + bn.offset;
	for (i = 0; i < n; i++, s = next_str(s)) {
		size_t l = strlen(s);
		if (!old) {
			uint32_t d = be32(h->data + di.offset + i * 4);
			if (d >= m) {
				problem = "directory index out of range";
				goto bad;
			}
			l += dirlen[d];
		}
		if (__builtin_add_overflow(total, l + 1, &total) || total > CS_RPM_FILES_BYTES_MAX) {
			problem = "file paths exceed the per-package limit";
			goto bad;
		}
	}
	out->paths = malloc(n * sizeof(char *) + total + 1);
	if (out->paths == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	p = (char *)(out->paths + n);
	s = (const char *)h->data + bn.offset;
	for (i = 0; i < n; i++, s = next_str(s)) {
		char *start = p;
		const char *q;
		size_t l;

		if (!old) {
			uint32_t d = be32(h->data + di.offset + i * 4);
			memcpy(p, dirs[d], dirlen[d]);
			p += dirlen[d];
		}
		l = strlen(s);
		memcpy(p, s, l);
		p += l;
		*p++ = '\0';
		for (q = start; *q == '/'; q++)
			;
		if (*q == '\0')
			continue;  /* "/" itself: nothing to name without the slash */
		out->paths[out->n++] = (char *)q;
	}
	goto out;
bad:
	r = hwarn(h, problem, old ? TAG_OLDFILENAMES : TAG_BASENAMES);
	free(out->paths);
	out->paths = NULL;
	out->n = 0;
out:
	free(dirs);
	free(dirlen);
	return r;
}

int cs_rpm_header_emit(const struct cs_emit *e, const char *path, const char *where,
		       const uint8_t *blob, size_t len)
{
	struct hdr h = { .e = e, .path = path, .where = where };
	struct cs_pkg pkg;
	struct files files = { NULL, 0 };
	struct entry en;
	char *version = NULL;
	size_t vlen;
	int r;

	if ((r = header_check(&h, blob, len)) != 0)
		return r > 0 ? 0 : r;

	memset(&pkg, 0, sizeof(pkg));
	pkg.kind = CS_PKG_RPM;
	pkg.db_path = path;
	if ((r = get_string(&h, TAG_NAME, &pkg.name)) != 0 ||
	    (r = get_string(&h, TAG_VERSION, &pkg.rpm_version)) != 0 ||
	    (r = get_string(&h, TAG_RELEASE, &pkg.rpm_release)) != 0)
		goto out;
	if (pkg.name == NULL || pkg.rpm_version == NULL || pkg.name[0] == '\0') {
		r = hwarn(&h, "package without NAME or VERSION", pkg.name == NULL ? TAG_NAME : TAG_VERSION);
		goto out;
	}
	if ((r = get_string(&h, TAG_ARCH, &pkg.arch)) != 0 ||
	    (r = get_string(&h, TAG_SOURCERPM, &pkg.source_rpm)) != 0 ||
	    (r = get_string(&h, TAG_LICENSE, &pkg.license)) != 0 ||
	    (r = get_string(&h, TAG_VENDOR, &pkg.vendor)) != 0 ||
	    (r = get_string(&h, TAG_MODULARITYLABEL, &pkg.modularity_label)) != 0)
		goto out;
	if (find(&h, TAG_EPOCH, &en)) {
		if (en.type != T_INT32 || !entry_sound(&h, &en, 1)) {
			if ((r = hwarn(&h, "EPOCH is not a sound INT32, ignored", TAG_EPOCH)) != 0)
				goto out;
		} else {
			uint32_t ep = be32(h.data + en.offset);
			pkg.has_epoch = 1;
			/* rpm compares epochs as uint32; INT_MAX keeps a huge one the newest. */
			if (ep > INT_MAX) {
				if ((r = hwarn(&h, "EPOCH beyond INT_MAX, clamped", TAG_EPOCH)) != 0)
					goto out;
				ep = INT_MAX;
			}
			pkg.epoch = (int)ep;
		}
	}

	vlen = strlen(pkg.rpm_version) + 1;
	if (pkg.rpm_release != NULL)
		vlen += strlen(pkg.rpm_release) + 1;
	if ((version = malloc(vlen)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (pkg.rpm_release != NULL)
		snprintf(version, vlen, "%s-%s", pkg.rpm_version, pkg.rpm_release);
	else
		snprintf(version, vlen, "%s", pkg.rpm_version);
	pkg.version = version;

	if ((r = build_files(&h, &files)) != 0)
		goto out;
	pkg.files = (const char *const *)files.paths;
	pkg.n_files = files.n;

	r = e->package != NULL ? e->package(e->ctx, &pkg) : 0;
out:
	free(files.paths);
	free(version);
	return r;
}

int cs_rpm_header_parse(const struct cs_emit *e, const char *path, const uint8_t *blob, size_t len)
{
	return cs_rpm_header_emit(e, path, NULL, blob, len);
}

static const char *const rpm_paths[] = {
	"var/lib/rpm/Packages",
	"var/lib/rpm/rpmdb.sqlite",
	"var/lib/rpm/Packages.db",
	"usr/lib/sysimage/rpm/Packages",
	"usr/lib/sysimage/rpm/rpmdb.sqlite",
	"usr/lib/sysimage/rpm/Packages.db",
};

int cs_rpm_match(const char *path)
{
	size_t i;

	if (path == NULL)
		return 0;
	for (i = 0; i < sizeof(rpm_paths) / sizeof(rpm_paths[0]); i++)
		if (strcmp(path, rpm_paths[i]) == 0)
			return 1;
	return 0;
}

/*
 * A hostile database can be built to fail once per header or page; the
 * records past this many warnings per file say nothing new, so they are
 * counted and summarised instead of sent.
 */
#define RPM_WARN_MAX 100u

struct wcap {
	const struct cs_emit *inner;
	unsigned n;
};

static int cap_package(void *ctx, const struct cs_pkg *pkg)
{
	const struct wcap *w = ctx;

	return w->inner->package != NULL ? w->inner->package(w->inner->ctx, pkg) : 0;
}

static int cap_warning(void *ctx, const char *path, const char *msg)
{
	struct wcap *w = ctx;

	if (w->inner->warning == NULL || ++w->n > RPM_WARN_MAX)
		return 0;
	return w->inner->warning(w->inner->ctx, path, msg);
}

int cs_rpm_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	struct wcap w = { e, 0 };
	struct cs_emit capped = { NULL, cap_package, cap_warning, &w };
	int r;

	if (data == NULL || len == 0)
		return cs_emit_warnf(e, path, "rpm database is empty");
	if (cs_rpm_sqlite_probe(data, len))
		r = cs_rpm_sqlite_parse(&capped, path, data, len);
	else if (cs_rpm_ndb_probe(data, len))
		r = cs_rpm_ndb_parse(&capped, path, data, len);
	else if (cs_rpm_bdb_probe(data, len))
		r = cs_rpm_bdb_parse(&capped, path, data, len);
	else
		return cs_emit_warnf(e, path, "not a known rpm database format (BerkeleyDB hash, SQLite or NDB), %zu bytes", len);
	if (r == 0 && w.n > RPM_WARN_MAX)
		r = cs_emit_warnf(e, path, "rpm: %u more warnings not reported", w.n - RPM_WARN_MAX);
	return r;
}
