/*
 * util.c - opening and closing the store, options, and the small checks
 * every entry point applies to its inputs.
 */
#include "supervisor/store/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/errors.h"

void cs_store_options_default(struct cs_store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_attempts = 5;
	o->backoff_base = 30;
	o->backoff_max = 3600;
	o->alert_max_attempts = 10;
	o->busy_timeout_ms = 10000;
	o->max_doc = (size_t)256 << 20;
	o->alerts = 1;
}

static int options_ok(const struct cs_store_options *o)
{
	if (o->max_attempts < 1 || o->max_attempts > 1000 ||
	    o->alert_max_attempts < 1 || o->alert_max_attempts > 1000 ||
	    o->backoff_base < 0 || o->backoff_base > 86400 * 365 ||
	    o->backoff_max < o->backoff_base || o->backoff_max > 86400 * 365 ||
	    o->busy_timeout_ms < 0 || o->max_doc < 1024 || o->max_doc > ((size_t)1 << 30))
		return cs_err_set(CS_EINVAL, "store: option out of range");
	return 0;
}

int cs_store_open(struct cs_store **out, const char *url)
{
	struct cs_store *s;
	int r;

	*out = NULL;
	if (url == NULL || url[0] == '\0')
		return cs_err_set(CS_EINVAL, "store: no URL");
	if (strlen(url) > CS_STORE_MAX_REF)
		return cs_err_set(CS_ELIMIT, "store: URL too long");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	cs_store_options_default(&s->opt);
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		r = cs_store_pg_open(s, url);
	else if (strncmp(url, "sqlite:", 7) == 0)
		r = cs_store_sqlite_open(s, url + 7);
	else
		r = cs_store_sqlite_open(s, url);
	if (r == 0)
		r = cs_store_schema_apply(s);
	if (r != 0) {
		cs_store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void cs_store_close(struct cs_store *s)
{
	if (s == NULL)
		return;
	db_rollback(s);
	if (s->kind == DB_PG)
		cs_store_pg_close(s);
	else if (s->h != NULL)
		cs_store_sqlite_close(s);
	free(s);
}

int cs_store_set_options(struct cs_store *s, const struct cs_store_options *o)
{
	int r;

	if (s == NULL || o == NULL)
		return cs_err_set(CS_EINVAL, "store: no options");
	if ((r = options_ok(o)) != 0)
		return r;
	s->opt = *o;
	if (s->kind == DB_SQLITE)
		sqlite3_busy_timeout(s->h, o->busy_timeout_ms);
	return 0;
}

const char *cs_store_backend(const struct cs_store *s)
{
	return s->kind == DB_PG ? "postgresql" : "sqlite";
}

int cs_store_schema_version(struct cs_store *s, int *version)
{
	struct dbq q;
	const char *t;
	int r;

	*version = 0;
	if ((r = db_query(s, &q, "SELECT value FROM meta WHERE key = 'schema_version'", NULL, 0)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		t = db_text(&q, 0);
		*version = t != NULL ? (int)strtol(t, NULL, 10) : 0;
		r = 0;
	} else if (r == 0) {
		r = cs_err_set(CS_EFORMAT, "store: no schema version");
	}
	db_end(&q);
	return r;
}

int cs_store_check(struct cs_store *s)
{
	struct dbq q;
	int r;

	if (s->kind == DB_PG)
		return db_script(s, "SELECT 1");  /* the server keeps itself consistent */
	if ((r = db_query(s, &q, "PRAGMA integrity_check", NULL, 0)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		const char *t = db_text(&q, 0);
		r = t != NULL && strcmp(t, "ok") == 0 ? 0 :
			cs_err_set(CS_EDB, "store: integrity check: %.200s", t != NULL ? t : "?");
	} else if (r == 0) {
		r = cs_err_set(CS_EDB, "store: integrity check said nothing");
	}
	db_end(&q);
	if (r != 0)
		return r;
	if ((r = db_query(s, &q, "PRAGMA foreign_key_check", NULL, 0)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		const char *t = db_text(&q, 0);
		r = cs_err_set(CS_EDB, "store: foreign key violation in %.100s", t != NULL ? t : "?");
	}
	db_end(&q);
	return r;
}

/* 1 when s is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_ok(const unsigned char *p, size_t n, size_t *bad)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; min = 0x80; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; min = 0x800; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; min = 0x10000; cp = c & 0x07;
		} else {
			goto bad;
		}
		if (n - i <= need)
			goto bad;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return 1;
bad:
	if (bad != NULL)
		*bad = i;
	return 0;
}

int cs_store_check_text(const char *what, const char *v, size_t max, int required)
{
	size_t n;

	if (v == NULL) {
		if (required)
			return cs_err_set(CS_EINVAL, "store: %s missing", what);
		return 0;
	}
	n = strnlen(v, max + 1);
	if (n > max)
		return cs_err_set(CS_ELIMIT, "store: %s longer than %zu bytes", what, max);
	if (required && n == 0)
		return cs_err_set(CS_EINVAL, "store: %s empty", what);
	if (!utf8_ok((const unsigned char *)v, n, NULL))
		return cs_err_set(CS_EINVAL, "store: %s is not valid UTF-8", what);
	return 0;
}

/*
 * OCI image-spec digest grammar:
 *   algorithm := component ([+._-] component)*   component := [a-z0-9]+
 *   encoded := [a-zA-Z0-9=_-]+
 * and for sha256 exactly 64 lowercase hex digits.
 */
int cs_store_check_digest(const char *what, const char *d)
{
	const char *colon, *p;
	size_t n;

	if (d == NULL)
		return cs_err_set(CS_EINVAL, "store: %s missing", what);
	n = strnlen(d, CS_STORE_MAX_DIGEST + 1);
	if (n > CS_STORE_MAX_DIGEST)
		return cs_err_set(CS_ELIMIT, "store: %s too long", what);
	colon = memchr(d, ':', n);
	if (colon == NULL || colon == d || colon[1] == '\0')
		goto bad;
	for (p = d; p < colon; p++) {
		int sep = *p == '+' || *p == '.' || *p == '_' || *p == '-';
		int comp = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		if (!comp && !sep)
			goto bad;
		if (sep && (p == d || p + 1 == colon || p[-1] == '+' || p[-1] == '.' ||
			    p[-1] == '_' || p[-1] == '-'))
			goto bad;
	}
	for (p = colon + 1; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '=' || *p == '_' || *p == '-'))
			goto bad;
	}
	if ((size_t)(colon - d) == 6 && memcmp(d, "sha256", 6) == 0) {
		if (strlen(colon + 1) != 64)
			goto bad;
		for (p = colon + 1; *p != '\0'; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
				goto bad;
	}
	return 0;
bad:
	return cs_err_set(CS_EINVAL, "store: %s is not a digest", what);
}

char *cs_store_clean_text(const char *s, size_t max)
{
	size_t n, i = 0, o = 0;
	char *out;

	if (s == NULL)
		return NULL;
	n = strnlen(s, max);
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	while (i < n) {
		size_t bad = 0;
		if (utf8_ok((const unsigned char *)s + i, n - i, &bad)) {
			memcpy(out + o, s + i, n - i);
			o += n - i;
			break;
		}
		memcpy(out + o, s + i, bad);
		o += bad;
		i += bad;
		/* A sequence cut by max at the end is dropped, not replaced. */
		if (n == max && n - i < 4 && ((unsigned char)s[i] & 0xc0) == 0xc0) {
			int cut = 1;
			for (size_t k = i + 1; k < n; k++)
				if (((unsigned char)s[k] & 0xc0) != 0x80)
					cut = 0;
			if (cut)
				break;
		}
		out[o++] = '?';
		i++;
	}
	out[o] = '\0';
	return out;
}

int cs_store_prefix_upper(char **out, const char *prefix)
{
	size_t n = strlen(prefix), k;
	unsigned cp;
	char *u;

	*out = NULL;
	if (!utf8_ok((const unsigned char *)prefix, n, NULL))
		return cs_err_set(CS_EINVAL, "store: prefix is not valid UTF-8");
	/* Byte order of UTF-8 is code point order, so the prefix with its last
	 * code point bumped (dropping U+10FFFF, which has no successor) bounds
	 * every string that starts with it, and is valid UTF-8 itself (which
	 * PostgreSQL demands of text). */
	for (;;) {
		if (n == 0)
			return cs_err_set(CS_EINVAL, "store: empty prefix");
		k = n - 1;
		while (k > 0 && ((unsigned char)prefix[k] & 0xc0) == 0x80)
			k--;
		cp = (unsigned char)prefix[k];
		if (cp >= 0xf0)
			cp &= 0x07;
		else if (cp >= 0xe0)
			cp &= 0x0f;
		else if (cp >= 0xc0)
			cp &= 0x1f;
		for (size_t i = k + 1; i < n; i++)
			cp = (cp << 6) | ((unsigned char)prefix[i] & 0x3f);
		if (cp < 0x10ffff)
			break;
		n = k;
	}
	cp = cp == 0xd7ff ? 0xe000 : cp + 1;
	u = malloc(k + 5);
	if (u == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	memcpy(u, prefix, k);
	if (cp < 0x80) {
		u[k++] = (char)cp;
	} else if (cp < 0x800) {
		u[k++] = (char)(0xc0 | (cp >> 6));
		u[k++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		u[k++] = (char)(0xe0 | (cp >> 12));
		u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[k++] = (char)(0x80 | (cp & 0x3f));
	} else {
		u[k++] = (char)(0xf0 | (cp >> 18));
		u[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[k++] = (char)(0x80 | (cp & 0x3f));
	}
	u[k] = '\0';
	*out = u;
	return 0;
}

long long cs_store_backoff(const struct cs_store_options *o, int attempts, long long now)
{
	long long d = o->backoff_base;

	for (int i = 1; i < attempts && d < o->backoff_max; i++)
		d *= 2;
	if (d > o->backoff_max)
		d = o->backoff_max;
	return now + d;
}

int cs_store_strdup(char **out, const char *v)
{
	*out = NULL;
	if (v == NULL)
		return 0;
	*out = strdup(v);
	if (*out == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	return 0;
}
