/*
 * apk.c - Alpine lib/apk/db/installed -> cs_pkg records with owned files.
 */
#include "worker/analyzers/apk.h"
#include "worker/analyzers/text_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"

#define APK_VALUE_MAX 4096
#define APK_PATH_MAX 4096
#define APK_MAX_FILES 1000000u
#define APK_MAX_PATH_BYTES (64u * 1024 * 1024)
#define APK_QUOTE_MAX 64

enum apk_field { A_NAME, A_VERSION, A_ARCH, A_ORIGIN, A_LICENSE, A_MAINTAINER, A_COUNT };

static const char field_keys[A_COUNT] = { 'P', 'V', 'A', 'o', 'L', 'm' };

struct apk_ctx {
	const struct cs_emit *e;
	const char *path;
	struct warn_budget wb;

	/* the current record */
	struct span v[A_COUNT];
	unsigned seen;
	size_t first_line;
	size_t lines;
	struct span dir;
	struct cs_buf paths;    /* NUL-separated "dir/file" strings */
	size_t *offs;           /* start of each file in paths */
	size_t n_files, cap_files;
	size_t bad_files;
	int truncated;

	const char **ptrs;      /* built from offs when emitting */
	size_t cap_ptrs;
	char *scratch;
	size_t scratch_len, scratch_cap;
};

static int cb_result(int r)
{
	if (r == 0)
		return 0;
	return cs_err_set(r < 0 ? r : CS_EINTERNAL, "apk: emit callback failed (%d)", r);
}

__attribute__((format(printf, 2, 3)))
static int warn(struct apk_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = budget_vwarn(&c->wb, c->e, c->path, fmt, ap);
	va_end(ap);
	return cb_result(r);
}

static int is_blank(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static struct span trim(struct span s)
{
	while (s.n > 0 && is_blank(s.p[0]))
		s.p++, s.n--;
	while (s.n > 0 && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
/* 1 when s is valid UTF-8 without control characters (and blanks, unless allowed). */
static int text_ok(struct span s, int allow_space)
{
	size_t i = 0, k;

	while (i < s.n) {
		k = utf8_seq(s.p + i, s.n - i);
		if (k == 0)
			return 0;
		if (k == 1 && (s.p[i] < 0x20 || s.p[i] == 0x7f || (!allow_space && s.p[i] == ' ')))
			return 0;
		i += k;
	}
	return 1;
}

/* NUL-terminated copy in the scratch area; repair replaces bad bytes with U+FFFD. */
static const char *put(struct apk_ctx *c, struct span s, int repair)
{
	char *out = c->scratch + c->scratch_len;
	size_t i = 0, o = 0, k;

	if (c->scratch_cap - c->scratch_len < 3 * s.n + 1)
		return NULL;
	while (i < s.n) {
		k = utf8_seq(s.p + i, s.n - i);
		if (k == 0 || (k == 1 && (s.p[i] < 0x20 || s.p[i] == 0x7f))) {
			if (!repair)
				return NULL;
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s.p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	c->scratch_len += o + 1;
	return out;
}

static void record_reset(struct apk_ctx *c)
{
	memset(c->v, 0, sizeof(c->v));
	c->seen = 0;
	c->lines = 0;
	c->first_line = 0;
	c->dir.p = NULL;
	c->dir.n = 0;
	c->paths.len = 0;
	c->n_files = 0;
	c->bad_files = 0;
	c->truncated = 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64, bytes;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		if (__builtin_mul_overflow(ncap, 2, &ncap))
			return cs_err_set(CS_ELIMIT, "apk: array size overflow");
	if (__builtin_mul_overflow(ncap, elem, &bytes))
		return cs_err_set(CS_ELIMIT, "apk: array size overflow");
	p = realloc(*arr, bytes);
	if (p == NULL)
		return cs_err_set(CS_ENOMEM, "apk: out of memory (%zu bytes)", bytes);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* An R: line: adds "dir/name" to the current record's files. */
static int add_file(struct apk_ctx *c, struct span name)
{
	size_t total, off;
	int r;

	if (c->truncated)
		return 0;
	if (name.n == 0 || !text_ok(name, 1) || (c->dir.n > 0 && !text_ok(c->dir, 1))) {
		c->bad_files++;
		return 0;
	}
	/* An R: line names one file of the F: directory: apk never writes a
	 * '/' in it, nor "." or "..", and a path built from one could point
	 * anywhere (found by fuzzing). */
	if (memchr(name.p, '/', name.n) != NULL || (name.n == 1 && name.p[0] == '.') ||
	    (name.n == 2 && name.p[0] == '.' && name.p[1] == '.')) {
		c->bad_files++;
		return 0;
	}
	total = c->dir.n + (c->dir.n > 0) + name.n;
	if (total > APK_PATH_MAX) {
		c->bad_files++;
		return 0;
	}
	if (c->n_files >= APK_MAX_FILES || c->paths.len + total + 1 > APK_MAX_PATH_BYTES) {
		c->truncated = 1;
		return 0;
	}
	if ((r = grow((void **)&c->offs, &c->cap_files, c->n_files + 1, sizeof(*c->offs))) != 0)
		return r;
	off = c->paths.len;
	if ((r = cs_buf_reserve(&c->paths, total + 1)) != 0)
		return r;
	if (c->dir.n > 0) {
		memcpy(c->paths.data + c->paths.len, c->dir.p, c->dir.n);
		c->paths.data[c->paths.len + c->dir.n] = '/';
		c->paths.len += c->dir.n + 1;
	}
	memcpy(c->paths.data + c->paths.len, name.p, name.n);
	c->paths.len += name.n;
	c->paths.data[c->paths.len++] = '\0';
	c->offs[c->n_files++] = off;
	return 0;
}

static int flush(struct apk_ctx *c)
{
	struct cs_pkg pkg;
	struct span name = c->v[A_NAME], ver = c->v[A_VERSION], arch = c->v[A_ARCH];
	char q[APK_QUOTE_MAX + 4];
	const char *qn;
	size_t i;
	int r;

	if (c->lines == 0)
		return 0;
	if (!(c->seen & (1u << A_NAME)) || name.n == 0)
		return warn(c, "record at line %zu has no P: (name); skipped", c->first_line);
	qn = quote(q, sizeof(q), name);
	if (!(c->seen & (1u << A_VERSION)) || ver.n == 0)
		return warn(c, "package %s (line %zu) has no V: (version); skipped", qn,
			    c->first_line);
	if (name.n > APK_VALUE_MAX || !text_ok(name, 0))
		return warn(c, "record at line %zu: name %s is not a clean UTF-8 token of at most %d bytes; skipped",
			    c->first_line, qn, APK_VALUE_MAX);
	if (ver.n > APK_VALUE_MAX || !text_ok(ver, 0))
		return warn(c, "package %s (line %zu): version is not a clean UTF-8 token of at most %d bytes; skipped",
			    qn, c->first_line, APK_VALUE_MAX);

	memset(&pkg, 0, sizeof(pkg));
	c->scratch_len = 0;
	pkg.kind = CS_PKG_APK;
	pkg.db_path = c->path;
	pkg.name = put(c, name, 0);
	pkg.version = put(c, ver, 0);
	if (arch.n > 0) {
		if (arch.n > APK_VALUE_MAX || !text_ok(arch, 0)) {
			if ((r = warn(c, "package %s (line %zu): arch is not a clean UTF-8 token; left out",
				      qn, c->first_line)) != 0)
				return r;
		} else {
			pkg.arch = put(c, arch, 0);
		}
	}
	for (i = A_ORIGIN; i <= A_MAINTAINER; i++) {
		const char **dst = i == A_ORIGIN ? &pkg.origin :
				   i == A_LICENSE ? &pkg.license : &pkg.maintainer;

		if (c->v[i].n == 0)
			continue;
		if (c->v[i].n > APK_VALUE_MAX) {
			if ((r = warn(c, "package %s (line %zu): %c: longer than %d bytes left out",
				      qn, c->first_line, field_keys[i], APK_VALUE_MAX)) != 0)
				return r;
			continue;
		}
		*dst = put(c, c->v[i], 1);
	}
	if (pkg.name == NULL || pkg.version == NULL)
		return cs_err_set(CS_EINTERNAL, "apk: scratch area too small");

	if (c->n_files > 0) {
		if ((r = grow((void **)&c->ptrs, &c->cap_ptrs, c->n_files, sizeof(*c->ptrs))) != 0)
			return r;
		for (i = 0; i < c->n_files; i++)
			c->ptrs[i] = (const char *)c->paths.data + c->offs[i];
		pkg.files = c->ptrs;
		pkg.n_files = c->n_files;
	}
	if (c->bad_files > 0 &&
	    (r = warn(c, "package %s: %zu file path%s left out (empty, not clean UTF-8, or longer than %d bytes)",
		      qn, c->bad_files, c->bad_files == 1 ? "" : "s", APK_PATH_MAX)) != 0)
		return r;
	if (c->truncated &&
	    (r = warn(c, "package %s: file list cut at %zu entries (limit %u files, %u bytes)",
		      qn, c->n_files, APK_MAX_FILES, APK_MAX_PATH_BYTES)) != 0)
		return r;
	return cb_result(c->e->package(c->e->ctx, &pkg));
}

static int field_line(struct apk_ctx *c, struct span line, size_t lineno)
{
	char q[APK_QUOTE_MAX + 4];
	struct span val;
	uint8_t key;
	int i, r;

	if (line.n < 2 || line.p[1] != ':' || line.p[0] <= 0x20 || line.p[0] >= 0x7f)
		return warn(c, "line %zu: not an \"X:value\" line: %s", lineno,
			    quote(q, sizeof(q), line));
	key = line.p[0];
	val.p = line.p + 2;
	val.n = line.n - 2;
	if (key == 'F') {
		/* apk writes directories without slashes at either end */
		while (val.n > 0 && val.p[val.n - 1] == '/')
			val.n--;
		while (val.n > 0 && val.p[0] == '/')
			val.p++, val.n--;
		c->dir = val;
		return 0;
	}
	if (key == 'R')
		return add_file(c, val);
	for (i = 0; i < A_COUNT; i++)
		if (field_keys[i] == key)
			break;
	if (i == A_COUNT)
		return 0;
	if (c->seen & (1u << i)) {
		if (i != A_NAME)
			return warn(c, "line %zu: duplicate %c: field; the first one is kept",
				    lineno, key);
		/* A blank line is missing: end the record here and start anew. */
		if ((r = warn(c, "line %zu: second P: in one record; treated as a new record",
			      lineno)) != 0)
			return r;
		c->lines--;  /* this line belongs to the next record */
		if ((r = flush(c)) != 0)
			return r;
		record_reset(c);
		c->first_line = lineno;
		c->lines = 1;
	}
	c->seen |= 1u << i;
	c->v[i] = trim(val);
	return 0;
}

int cs_apk_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	struct apk_ctx c;
	const uint8_t *p = data, *end = data + len;
	size_t lineno = 0;
	int r = 0;

	if (e == NULL || e->package == NULL || path == NULL || (data == NULL && len > 0))
		return cs_err_set(CS_EINVAL, "apk: bad arguments");
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.path = path;
	cs_buf_init(&c.paths, APK_MAX_PATH_BYTES);
	c.scratch_cap = (A_COUNT + 1) * (3 * (size_t)APK_VALUE_MAX + 1);
	c.scratch = malloc(c.scratch_cap);
	if (c.scratch == NULL)
		return cs_err_set(CS_ENOMEM, "apk: out of memory");
	record_reset(&c);

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		struct span line = { p, (size_t)((nl ? nl : end) - p) };

		p = nl ? nl + 1 : end;
		lineno++;
		if (trim(line).n == 0) {
			if ((r = flush(&c)) != 0)
				goto out;
			record_reset(&c);
			continue;
		}
		if (c.lines == 0)
			c.first_line = lineno;
		c.lines++;
		while (line.n > 0 && line.p[line.n - 1] == '\r')
			line.n--;
		if ((r = field_line(&c, line, lineno)) != 0)
			goto out;
	}
	if ((r = flush(&c)) != 0)
		goto out;
	r = cb_result(budget_close(&c.wb, e, path));
out:
	free(c.scratch);
	free(c.offs);
	free(c.ptrs);
	cs_buf_free(&c.paths);
	return r;
}

int cs_apk_match(const char *path)
{
	return path != NULL && strcmp(path, "lib/apk/db/installed") == 0;
}
