/*
 * expect_util.h - helpers shared by the analyzer tests (static inline, so
 * each test stays one file): a struct cs_emit that copies every record,
 * fixture reading, small JSON accessors, and a strict UTF-8 check applied to
 * every string an analyzer emits.
 */
#ifndef CS_TESTS_ANALYZERS_EXPECT_UTIL_H
#define CS_TESTS_ANALYZERS_EXPECT_UTIL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"
#include "worker/analyzers/analyzer.h"

struct xp_pkg {
	int kind;
	char *name, *version, *arch, *source_name, *source_version, *multi_arch, *status;
	char *origin, *license, *maintainer, *db_path;
	char **files;
	size_t n_files;
};

struct xp_os {
	char *id, *version_id, *codename, *pretty_name, *id_like, *variant_id, *source;
};

struct xp {
	struct xp_pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	struct xp_os *oses;
	size_t n_os, cap_os;
	char **warns;
	size_t n_warns, cap_warns;
	/* count_only: keep only the last package (for huge inputs) */
	int count_only;
	size_t seen_pkgs;
	size_t seen_files;
	/* strings that were not valid UTF-8 or were empty where they must not be */
	size_t bad_strings;
	/* when > 0: the package callback fails with fail_code on that call */
	size_t fail_at;
	int fail_code;
};

/* Strict UTF-8 (RFC 3629) without C0 controls or DEL. */
static inline int xp_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned char c = *p;
		size_t n, i;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		else
			return 0;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
		if (p[1] < lo || p[1] > hi)
			return 0;
		for (i = 2; i < n; i++)
			if (p[i] < 0x80 || p[i] > 0xBF)
				return 0;
		p += n;
	}
	return 1;
}

static inline char *xp_dup(struct xp *x, const char *s)
{
	char *d;
	size_t n;

	if (s == NULL)
		return NULL;
	if (!xp_utf8_ok(s) || s[0] == '\0')
		x->bad_strings++;
	n = strlen(s) + 1;
	d = malloc(n);
	if (d == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	memcpy(d, s, n);
	return d;
}

static inline void *xp_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return arr;
	while (ncap < need)
		ncap *= 2;
	p = realloc(arr, ncap * elem);
	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	*cap = ncap;
	return p;
}

static inline void xp_pkg_free(struct xp_pkg *p)
{
	size_t i;

	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source_name);
	free(p->source_version);
	free(p->multi_arch);
	free(p->status);
	free(p->origin);
	free(p->license);
	free(p->maintainer);
	free(p->db_path);
	for (i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

static inline int xp_on_pkg(void *ctx, const struct cs_pkg *p)
{
	struct xp *x = ctx;
	struct xp_pkg *d;
	size_t i;

	x->seen_pkgs++;
	x->seen_files += p->n_files;
	if (x->fail_at > 0 && x->seen_pkgs == x->fail_at)
		return x->fail_code;
	if (p->name == NULL || p->version == NULL)
		x->bad_strings++;
	if (x->count_only) {
		if (x->n_pkgs == 1)
			xp_pkg_free(&x->pkgs[0]);
		x->pkgs = xp_grow(x->pkgs, &x->cap_pkgs, 1, sizeof(*x->pkgs));
		x->n_pkgs = 1;
	} else {
		x->pkgs = xp_grow(x->pkgs, &x->cap_pkgs, x->n_pkgs + 1, sizeof(*x->pkgs));
		x->n_pkgs++;
	}
	d = &x->pkgs[x->n_pkgs - 1];
	memset(d, 0, sizeof(*d));
	d->kind = p->kind;
	d->name = xp_dup(x, p->name);
	d->version = xp_dup(x, p->version);
	d->arch = xp_dup(x, p->arch);
	d->source_name = xp_dup(x, p->source_name);
	d->source_version = xp_dup(x, p->source_version);
	d->multi_arch = xp_dup(x, p->multi_arch);
	d->status = xp_dup(x, p->status);
	d->origin = xp_dup(x, p->origin);
	d->license = xp_dup(x, p->license);
	d->maintainer = xp_dup(x, p->maintainer);
	d->db_path = xp_dup(x, p->db_path);
	if (p->n_files > 0) {
		d->files = calloc(p->n_files, sizeof(char *));
		if (d->files == NULL)
			exit(1);
		for (i = 0; i < p->n_files; i++)
			d->files[i] = xp_dup(x, p->files[i]);
		d->n_files = p->n_files;
	}
	return 0;
}

static inline int xp_on_os(void *ctx, const struct cs_os *o)
{
	struct xp *x = ctx;
	struct xp_os *d;

	x->oses = xp_grow(x->oses, &x->cap_os, x->n_os + 1, sizeof(*x->oses));
	d = &x->oses[x->n_os++];
	d->id = xp_dup(x, o->id);
	d->version_id = xp_dup(x, o->version_id);
	d->codename = xp_dup(x, o->codename);
	d->pretty_name = xp_dup(x, o->pretty_name);
	d->id_like = xp_dup(x, o->id_like);
	d->variant_id = xp_dup(x, o->variant_id);
	d->source = xp_dup(x, o->source);
	return 0;
}

static inline int xp_on_warn(void *ctx, const char *path, const char *msg)
{
	struct xp *x = ctx;

	if (path == NULL || msg == NULL || strchr(msg, '\n') != NULL)
		x->bad_strings++;
	x->warns = xp_grow(x->warns, &x->cap_warns, x->n_warns + 1, sizeof(*x->warns));
	x->warns[x->n_warns++] = xp_dup(x, msg);
	return 0;
}

static inline struct cs_emit xp_emit(struct xp *x)
{
	struct cs_emit e = { xp_on_os, xp_on_pkg, xp_on_warn, x };

	return e;
}

static inline void xp_free(struct xp *x)
{
	size_t i;

	for (i = 0; i < x->n_pkgs; i++)
		xp_pkg_free(&x->pkgs[i]);
	free(x->pkgs);
	for (i = 0; i < x->n_os; i++) {
		struct xp_os *o = &x->oses[i];

		free(o->id);
		free(o->version_id);
		free(o->codename);
		free(o->pretty_name);
		free(o->id_like);
		free(o->variant_id);
		free(o->source);
	}
	free(x->oses);
	for (i = 0; i < x->n_warns; i++)
		free(x->warns[i]);
	free(x->warns);
	memset(x, 0, sizeof(*x));
}

static inline void xp_print_warnings(const struct xp *x, const char *label)
{
	size_t i;

	for (i = 0; i < x->n_warns; i++)
		fprintf(stderr, "  [%s] warning: %s\n", label, x->warns[i]);
}

/* 1 when some warning contains needle. */
static inline int xp_warned(const struct xp *x, const char *needle)
{
	size_t i;

	for (i = 0; i < x->n_warns; i++)
		if (strstr(x->warns[i], needle) != NULL)
			return 1;
	return 0;
}

/* The first package with this name (and version, when not NULL). */
static inline const struct xp_pkg *xp_find(const struct xp *x, const char *name,
					   const char *version)
{
	size_t i;

	for (i = 0; i < x->n_pkgs; i++)
		if (strcmp(x->pkgs[i].name, name) == 0 &&
		    (version == NULL || strcmp(x->pkgs[i].version, version) == 0))
			return &x->pkgs[i];
	return NULL;
}

/* "<shared>/fixtures/<rel>" into buf. */
static inline const char *xp_fixture(char *buf, size_t cap, const char *rel)
{
	int n = snprintf(buf, cap, "%s/fixtures/%s", cs_test_shared(), rel);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "path too long: %s\n", rel);
		exit(1);
	}
	return buf;
}

static inline uint8_t *xp_read(const char *rel, size_t *len)
{
	char p[4096];
	uint8_t *d = cs_test_read_file(xp_fixture(p, sizeof(p), rel), len);

	if (d == NULL)
		fprintf(stderr, "cannot read fixture %s\n", p);
	return d;
}

static inline json_t *xp_json(const char *rel)
{
	char p[4096];
	json_error_t err;
	json_t *j = json_load_file(xp_fixture(p, sizeof(p), rel), 0, &err);

	if (j == NULL)
		fprintf(stderr, "cannot load %s: %s (line %d)\n", p, err.text, err.line);
	return j;
}

/* The string member key of obj, NULL when absent, not a string, or "". */
static inline const char *xp_js(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return s[0] ? s : NULL;
}

static inline long long xp_ji(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static inline double xp_now(void)
{
	struct timespec ts;

	/* C11's clock: wall time is good enough for the printed timings */
	if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deterministic bytes for garbage tests (xorshift64). */
static inline uint64_t xp_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

#endif
