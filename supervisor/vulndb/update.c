/*
 * update.c - `db update`: conditional HTTPS downloads of per-ecosystem OSV
 * archives, then one build (import.c) that swaps the new database in.
 *
 * Each archive goes to dbpath.dl.XXXXXX beside the database (same file
 * system, never memory), capped at max_download bytes. The server's ETag and
 * Last-Modified are stored per URL in the sources table by the same build
 * that imports the archive, so they only advance when the import succeeded.
 * Header values are kept only when they are short printable ASCII: they are
 * sent back in request headers later.
 */
#include "supervisor/vulndb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/errors.h"

#define MAX_ECOSYSTEMS 256
#define MAX_VALIDATOR 256
#define MAX_URL 2048

struct fetch {
	char eco[129];
	char url[MAX_URL];
	char tmp[PATH_MAX];
	char old_etag[MAX_VALIDATOR + 1], old_lm[MAX_VALIDATOR + 1];
	char etag[MAX_VALIDATOR + 1], lm[MAX_VALIDATOR + 1];
	int fd;
	uint64_t got, max;
	int changed;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb, off = 0;

	/* CURLOPT_MAXFILESIZE only knows a declared length; this catches a
	 * body that runs past the cap without one. */
	if (f->got + n > f->max)
		return 0;
	while (off < n) {
		ssize_t w = write(f->fd, p + off, n - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		off += (size_t)w;
	}
	f->got += n;
	return n;
}

/* Keeps "Name: value" when value is 1..MAX_VALIDATOR printable ASCII. */
static void header_value(const char *p, size_t n, const char *name, char *out)
{
	size_t nl = strlen(name), i, len;

	if (n <= nl + 1 || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	p += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	len = n;
	if (len == 0 || len > MAX_VALIDATOR)
		return;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return;
	memcpy(out, p, len);
	out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb;

	/* A new response (after a redirect) starts over. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		f->etag[0] = '\0';
		f->lm[0] = '\0';
	}
	header_value(p, n, "ETag", f->etag);
	header_value(p, n, "Last-Modified", f->lm);
	return n;
}

static int fetch_one(struct fetch *f, const struct cs_vulndb_update_opts *o,
		     struct cs_vulndb_update_stats *st)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL, *nh;
	char errbuf[CURL_ERROR_SIZE] = "", line[MAX_VALIDATOR + 32];
	long status = 0;
	CURLcode cr;
	int r = 0;

	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "curl_easy_init failed");
	if (f->old_etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", f->old_etag);
		if ((nh = curl_slist_append(hdrs, line)) == NULL)
			goto nomem;
		hdrs = nh;
	}
	if (f->old_lm[0] != '\0') {
		snprintf(line, sizeof(line), "If-Modified-Since: %s", f->old_lm);
		if ((nh = curl_slist_append(hdrs, line)) == NULL)
			goto nomem;
		hdrs = nh;
	}
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 1800L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cellscan/" CELLSCAN_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (o->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	st->requests++;
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cr == CURLE_FILESIZE_EXCEEDED || (cr == CURLE_WRITE_ERROR && f->got >= f->max)) {
		r = cs_err_set(CS_ELIMIT, "%s: larger than %llu bytes", f->url,
			       (unsigned long long)f->max);
		goto out;
	}
	if (cr != CURLE_OK) {
		r = cs_err_set(cr == CURLE_OPERATION_TIMEDOUT ? CS_ETIMEOUT : CS_ENET, "%s: %s",
			       f->url, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cr));
		goto out;
	}
	if (status == 304) {
		st->not_modified++;
		goto out;
	}
	if (status != 200) {
		r = cs_err_set(status == 404 ? CS_ENOTFOUND : CS_ENET, "%s: HTTP status %ld",
			       f->url, status);
		goto out;
	}
	f->changed = 1;
	st->downloaded++;
	st->bytes += f->got;
	goto out;
nomem:
	r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

static int url_for(struct fetch *f, const char *base)
{
	static const char hex[] = "0123456789ABCDEF";
	struct cs_buf b;
	size_t bl = strlen(base);
	int r;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	cs_buf_init(&b, MAX_URL - 1);
	if ((r = cs_buf_add(&b, base, bl)) != 0 || (r = cs_buf_addstr(&b, "/")) != 0)
		goto out;
	for (const unsigned char *p = (const unsigned char *)f->eco; *p != '\0'; p++) {
		char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			r = cs_buf_add(&b, p, 1);
		else
			r = cs_buf_add(&b, e, 3);
		if (r != 0)
			goto out;
	}
	if ((r = cs_buf_addstr(&b, "/all.zip")) != 0 || (r = cs_buf_cstr(&b)) != 0)
		goto out;
	memcpy(f->url, b.data, b.len + 1);
out:
	cs_buf_free(&b);
	return r != 0 ? cs_err_set(CS_ELIMIT, "URL for %s too long", f->eco) : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The ecosystems previously fetched from base, read from its URLs. */
static int previous_ecosystems(sqlite3 *h, const char *base, char names[][129], size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t bl = strlen(base);
	int rc;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	*n = 0;
	if (sqlite3_prepare_v2(h, "SELECT url FROM sources WHERE kind = 'osv-zip-url' ORDER BY url",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < MAX_ECOSYSTEMS) {
		const char *u = (const char *)sqlite3_column_text(st, 0), *mid, *end;
		size_t o = 0;

		if (u == NULL || strncmp(u, base, bl) != 0 || u[bl] != '/')
			continue;
		mid = u + bl + 1;
		end = strstr(mid, "/all.zip");
		if (end == NULL || end[8] != '\0' || end == mid)
			continue;
		for (const char *p = mid; p < end && o < 128; p++) {
			if (*p == '%' && p + 2 < end && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				names[*n][o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			} else {
				names[*n][o++] = *p;
			}
		}
		names[*n][o] = '\0';
		(*n)++;
	}
	sqlite3_finalize(st);
	return 0;
}

static void validators(sqlite3 *h, struct fetch *f)
{
	sqlite3_stmt *st = NULL;

	if (h == NULL || sqlite3_prepare_v2(h, "SELECT etag, last_modified FROM sources"
					    " WHERE url = ?1", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, f->url, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *e = (const char *)sqlite3_column_text(st, 0);
		const char *l = (const char *)sqlite3_column_text(st, 1);
		char tmp[MAX_VALIDATOR + 16];

		/* Stored values were checked when received; check again since
		 * they go into a request header. */
		if (e != NULL) {
			snprintf(tmp, sizeof(tmp), "ETag: %s", e);
			header_value(tmp, strlen(tmp), "ETag", f->old_etag);
		}
		if (l != NULL) {
			snprintf(tmp, sizeof(tmp), "Last-Modified: %s", l);
			header_value(tmp, strlen(tmp), "Last-Modified", f->old_lm);
		}
	}
	sqlite3_finalize(st);
}

static int valid_ecosystem(const char *e)
{
	size_t n = strlen(e);

	if (n == 0 || n > 128 || strcmp(e, ".") == 0 || strcmp(e, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e[i] < 0x20 || e[i] == '/' || e[i] == 0x7f)
			return 0;
	return 1;
}

int cs_vulndb_update(const char *dbpath, const struct cs_vulndb_update_opts *opts,
		     struct cs_vulndb_update_stats *stats)
{
	static const struct cs_vulndb_update_opts defaults = { 0 };
	const struct cs_vulndb_update_opts *o = opts != NULL ? opts : &defaults;
	struct cs_vulndb_update_stats dummy = { 0 };
	struct cs_vulndb_update_stats *st = stats != NULL ? stats : &dummy;
	const char *base = o->source != NULL ? o->source : CS_VULNDB_DEFAULT_SOURCE;
	struct fetch *f = NULL;
	struct cs_vulndb_src *srcs = NULL;
	char (*names)[129] = NULL;
	sqlite3 *old = NULL;
	size_t n = 0, i, ns = 0;
	int r = 0;

	if (dbpath == NULL)
		return cs_err_set(CS_EINVAL, "update: no database path");
	if (strncmp(base, "https://", 8) != 0)
		return cs_err_set(CS_EINVAL, "source %.200s: only https:// URLs are accepted", base);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cs_err_set(CS_ENET, "curl_global_init failed");
	names = calloc(MAX_ECOSYSTEMS, sizeof(*names));
	if (names == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (access(dbpath, F_OK) == 0 &&
	    sqlite3_open_v2(dbpath, &old, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		r = cs_vulndb_sql_err(old, sqlite3_errcode(old), "opening the current database");
		goto out;
	}
	if (o->n_ecosystems > 0) {
		if (o->n_ecosystems > MAX_ECOSYSTEMS) {
			r = cs_err_set(CS_ELIMIT, "more than %d ecosystems", MAX_ECOSYSTEMS);
			goto out;
		}
		for (i = 0; i < o->n_ecosystems; i++) {
			if (o->ecosystems[i] == NULL || !valid_ecosystem(o->ecosystems[i])) {
				r = cs_err_set(CS_EINVAL, "invalid ecosystem name");
				goto out;
			}
			snprintf(names[n++], 129, "%s", o->ecosystems[i]);
		}
	} else {
		if (old != NULL)
			previous_ecosystems(old, base, names, &n);
		if (n == 0) {
			const char *p = CS_VULNDB_DEFAULT_ECOSYSTEMS;

			while (*p != '\0' && n < MAX_ECOSYSTEMS) {
				size_t l = strcspn(p, ",");

				snprintf(names[n++], 129, "%.*s", (int)l, p);
				p += l + (p[l] == ',');
			}
		}
	}
	f = calloc(n, sizeof(*f));
	srcs = calloc(n, sizeof(*srcs));
	if (f == NULL || srcs == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		f[i].fd = -1;
	for (i = 0; i < n; i++) {
		snprintf(f[i].eco, sizeof(f[i].eco), "%s", names[i]);
		f[i].max = o->max_download > 0 ? o->max_download : CS_VULNDB_MAX_DOWNLOAD;
		if ((r = url_for(&f[i], base)) != 0)
			goto out;
		validators(old, &f[i]);
		if (snprintf(f[i].tmp, sizeof(f[i].tmp), "%s.dl.XXXXXX", dbpath) >=
		    (int)sizeof(f[i].tmp)) {
			r = cs_err_set(CS_EINVAL, "%s: path too long", dbpath);
			goto out;
		}
		f[i].fd = mkstemp(f[i].tmp);
		if (f[i].fd < 0) {
			f[i].tmp[0] = '\0';
			r = cs_err_set(CS_EIO, "temporary file beside %s: %s", dbpath, strerror(errno));
			goto out;
		}
		r = fetch_one(&f[i], o, st);
		close(f[i].fd);
		f[i].fd = -1;
		if (r != 0)
			goto out;
		if (f[i].changed) {
			srcs[ns].path = f[i].tmp;
			srcs[ns].url = f[i].url;
			srcs[ns].etag = f[i].etag[0] != '\0' ? f[i].etag : NULL;
			srcs[ns].last_modified = f[i].lm[0] != '\0' ? f[i].lm : NULL;
			ns++;
		}
	}
	sqlite3_close(old);
	old = NULL;
	if (ns == 0)
		goto out; /* every source answered 304: nothing to rebuild */
	if ((r = cs_vulndb_build(dbpath, srcs, ns, &st->import)) != 0)
		goto out;
	st->rebuilt = 1;
out:
	if (f != NULL) {
		for (i = 0; i < n; i++) {
			if (f[i].fd >= 0)
				close(f[i].fd);
			if (f[i].tmp[0] != '\0')
				unlink(f[i].tmp);
		}
	}
	sqlite3_close(old);
	free(f);
	free(srcs);
	free(names);
	return r;
}
