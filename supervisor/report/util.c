/*
 * util.c - the small pieces every writer shares: time, UUIDs, serialising.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* RFC 4122 appendix C, "Name string is a URL". */
const uint8_t cs_report_uuid_ns_url[16] = {
	0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
	0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
};

int cs_report_uuid5(char out[CS_REPORT_UUID_LEN], const uint8_t ns[16], const void *name, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t i, o = 0;
	int ok;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, ns, 16) == 1 &&
	     EVP_DigestUpdate(ctx, name, n) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
	     mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return cs_err_set(CS_EINTERNAL, "SHA-1 failed");
	/* RFC 4122 4.3: version 5 in the high nibble of octet 6, variant 10x. */
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

const char *cs_report_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return s[0] != '\0' ? s : NULL;
}

/* SOURCE_DATE_EPOCH: a decimal count of seconds, nothing else
 * (https://reproducible-builds.org/specs/source-date-epoch/). */
static int source_date_epoch(int *have, long long *t)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;
	size_t i;

	*have = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return cs_err_set(CS_EINVAL,
					  "SOURCE_DATE_EPOCH is not a number of seconds");
	errno = 0;
	v = strtoll(s, &end, 10);
	/* 253402300799 is 9999-12-31T23:59:59Z, the last time ISO 8601's
	 * four-digit year can write. */
	if (errno != 0 || *end != '\0' || v > 253402300799LL)
		return cs_err_set(CS_EINVAL, "SOURCE_DATE_EPOCH is out of range");
	*have = 1;
	*t = v;
	return 0;
}

int cs_report_time(const struct cs_report_opts *o, int need, int *have, long long *t, char iso[32])
{
	struct tm tm;
	time_t tt;
	int r;

	*have = 0;
	*t = 0;
	iso[0] = '\0';
	if (o != NULL && o->created != CS_REPORT_TIME_AUTO) {
		if (o->created < 0 || o->created > 253402300799LL)
			return cs_err_set(CS_EINVAL, "creation time out of range");
		*t = o->created;
		*have = 1;
	} else if ((r = source_date_epoch(have, t)) != 0) {
		return r;
	}
	if (!*have) {
		if (!need)
			return 0;
		if ((tt = time(NULL)) == (time_t)-1)
			return cs_err_set(CS_EIO, "no clock");
		*t = (long long)tt;
		*have = 1;
	}
	tt = (time_t)*t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return cs_err_set(CS_EINVAL, "creation time cannot be written");
	return 0;
}

struct dump {
	struct cs_buf b;
	int r;
};

static int dump_cb(const char *p, size_t n, void *data)
{
	struct dump *d = data;

	if (d->r == 0)
		d->r = cs_buf_add(&d->b, p, n);
	return d->r == 0 ? 0 : -1;
}

int cs_report_dump(char **out, size_t *len, const json_t *doc)
{
	struct dump d;
	size_t n;
	int r;

	*out = NULL;
	*len = 0;
	cs_buf_init(&d.b, CS_REPORT_MAX_DOC);
	d.r = 0;
	/* Insertion order is kept (jansson >= 2.8), so the same document
	 * built the same way gives the same bytes. */
	if (json_dump_callback(doc, dump_cb, &d, JSON_INDENT(2)) != 0) {
		r = d.r != 0 ? d.r : cs_err_set(CS_ENOMEM, "writing the document failed");
		goto out;
	}
	if ((r = cs_buf_add(&d.b, "\n", 1)) != 0 || (r = cs_buf_cstr(&d.b)) != 0)
		goto out;
	*out = (char *)cs_buf_steal(&d.b, &n);
	*len = n;
out:
	cs_buf_free(&d.b);
	return r;
}

int cs_report_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory building the document");
	return 0;
}

int cs_report_set_str(json_t *o, const char *key, const char *s)
{
	if (s == NULL)
		return 0;
	return cs_report_set(o, key, json_string(s));
}

int cs_report_append(json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory building the document");
	return 0;
}

const char *const cs_report_levels[CS_REPORT_NLEVELS] = {
	"critical", "high", "medium", "low", "unknown",
};

int cs_report_level_index(const char *level)
{
	int i;

	if (level == NULL)
		return CS_REPORT_NLEVELS - 1;
	for (i = 0; i < CS_REPORT_NLEVELS; i++)
		if (strcmp(level, cs_report_levels[i]) == 0)
			return i;
	return CS_REPORT_NLEVELS - 1;
}

int cs_report_finding_level(const json_t *finding)
{
	return cs_report_level_index(cs_report_str(json_object_get(finding, "severity"), "level"));
}

int cs_report_finding_ignored(const json_t *finding)
{
	const char *s = cs_report_str(json_object_get(finding, "decision"), "status");

	return s != NULL && strcmp(s, "ignored") == 0;
}

int cs_report_pct_encode(struct cs_buf *b, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char e[3];
	int r;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			    *p == '~' || (keep != NULL && *p < 0x80 && strchr(keep, *p) != NULL);
		if (plain) {
			r = cs_buf_add(b, p, 1);
		} else {
			e[0] = '%';
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 15];
			r = cs_buf_add(b, e, 3);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

json_t *cs_report_osv_url(const char *id)
{
	struct cs_buf b;
	json_t *j = NULL;

	cs_buf_init(&b, 64 * 1024);
	if (cs_buf_addstr(&b, "https://osv.dev/vulnerability/") == 0 &&
	    cs_report_pct_encode(&b, id, NULL) == 0 && cs_buf_cstr(&b) == 0)
		j = json_string((const char *)b.data);
	cs_buf_free(&b);
	return j;
}

int cs_report_sha256_hex(char out[65], const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	out[0] = '\0';
	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return cs_err_set(CS_EINTERNAL, "SHA-256 failed");
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}
