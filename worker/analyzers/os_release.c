/*
 * os_release.c - os-release(5) and distribution release files -> cs_os.
 */
#include "worker/analyzers/os_release.h"
#include "worker/analyzers/text_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

#define OSR_VALUE_MAX 1024
#define OSR_QUOTE_MAX 64

enum osr_key {
	K_ID,
	K_VERSION_ID,
	K_CODENAME,
	K_UBUNTU_CODENAME,
	K_PRETTY,
	K_ID_LIKE,
	K_VARIANT_ID,
	K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"ID", "VERSION_ID", "VERSION_CODENAME", "UBUNTU_CODENAME", "PRETTY_NAME", "ID_LIKE",
	"VARIANT_ID",
};

struct osr_ctx {
	const struct cs_emit *e;
	const char *path;
	struct warn_budget wb;
	/* Decoded values; repair may triple a value's length. */
	char val[K_COUNT][3 * OSR_VALUE_MAX + 1];
	int set[K_COUNT];
	uint8_t tmp[OSR_VALUE_MAX];
};

static int cb_result(int r)
{
	if (r == 0)
		return 0;
	return cs_err_set(r < 0 ? r : CS_EINTERNAL, "os-release: emit callback failed (%d)", r);
}

__attribute__((format(printf, 2, 3)))
static int warn(struct osr_ctx *c, const char *fmt, ...)
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
/*
 * Stores s as key k. Identity values must be clean UTF-8 (no controls);
 * repair replaces what is not with U+FFFD. Returns 0 or a callback error.
 */
static int store(struct osr_ctx *c, enum osr_key k, struct span s, int repair)
{
	char *out = c->val[k];
	size_t i = 0, o = 0, q;

	c->set[k] = 0;
	if (s.n > OSR_VALUE_MAX)
		return warn(c, "%s longer than %d bytes ignored", key_names[k], OSR_VALUE_MAX);
	while (i < s.n) {
		q = utf8_seq(s.p + i, s.n - i);
		if (q == 0 || (q == 1 && (s.p[i] < 0x20 || s.p[i] == 0x7f))) {
			if (!repair)
				return warn(c, "%s is not clean UTF-8; ignored", key_names[k]);
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s.p + i, q);
		o += q;
		i += q;
	}
	out[o] = '\0';
	c->set[k] = o > 0;
	return 0;
}

/*
 * Unquotes an os-release value (one line) into c->tmp. Returns the decoded
 * length, or -1 when too long; *bad is set for an unterminated quote or a
 * trailing backslash (what was decoded is still returned).
 */
static long decode(struct osr_ctx *c, struct span v, int *bad)
{
	enum { NONE, DQ, SQ } q = NONE;
	size_t i, o = 0, keep = 0;
	uint8_t ch;

	*bad = 0;
	for (i = 0; i < v.n; i++) {
		ch = v.p[i];
		if (q == NONE) {
			if (ch == '"') {
				q = DQ;
				continue;
			}
			if (ch == '\'') {
				q = SQ;
				continue;
			}
			if (ch == '\\') {
				if (i + 1 >= v.n) {
					*bad = 1;
					break;
				}
				ch = v.p[++i];
			} else if (is_blank(ch)) {
				if (o == 0)
					continue;       /* leading blanks */
				if (o >= sizeof(c->tmp))
					return -1;
				c->tmp[o++] = ch;       /* trailing ones are cut below */
				continue;
			}
		} else if (q == DQ) {
			if (ch == '"') {
				q = NONE;
				keep = o;
				continue;
			}
			if (ch == '\\' && i + 1 < v.n &&
			    (v.p[i + 1] == '"' || v.p[i + 1] == '\\' || v.p[i + 1] == '$' ||
			     v.p[i + 1] == '`'))
				ch = v.p[++i];
		} else {
			if (ch == '\'') {
				q = NONE;
				keep = o;
				continue;
			}
		}
		if (o >= sizeof(c->tmp))
			return -1;
		c->tmp[o++] = ch;
		keep = o;
	}
	if (q != NONE) {
		*bad = 1;
		keep = o;
	}
	return (long)keep;
}

static int parse_os_release(struct osr_ctx *c, const uint8_t *data, size_t len)
{
	const uint8_t *p = data, *end = data + len;
	char qb[OSR_QUOTE_MAX + 4];
	size_t lineno = 0, i;
	int r, bad, k;
	long n;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		struct span line = { p, (size_t)((nl ? nl : end) - p) }, key, val;
		const uint8_t *eq;

		p = nl ? nl + 1 : end;
		lineno++;
		line = trim(line);
		if (line.n == 0 || line.p[0] == '#')
			continue;
		eq = memchr(line.p, '=', line.n);
		if (eq == NULL) {
			if ((r = warn(c, "line %zu: not a KEY=value line: %s", lineno,
				      quote(qb, sizeof(qb), line))) != 0)
				return r;
			continue;
		}
		key.p = line.p;
		key.n = (size_t)(eq - line.p);
		key = trim(key);
		for (i = 0; i < key.n; i++) {
			uint8_t ch = key.p[i];

			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= '0' && ch <= '9') || ch == '_'))
				break;
		}
		if (key.n == 0 || i < key.n) {
			if ((r = warn(c, "line %zu: bad variable name: %s", lineno,
				      quote(qb, sizeof(qb), key))) != 0)
				return r;
			continue;
		}
		for (k = 0; k < K_COUNT; k++)
			if (key.n == strlen(key_names[k]) && memcmp(key.p, key_names[k], key.n) == 0)
				break;
		if (k == K_COUNT)
			continue;
		val.p = eq + 1;
		val.n = (size_t)(line.p + line.n - val.p);
		n = decode(c, val, &bad);
		if (n < 0) {
			c->set[k] = 0;
			if ((r = warn(c, "line %zu: %s longer than %d bytes ignored", lineno,
				      key_names[k], OSR_VALUE_MAX)) != 0)
				return r;
			continue;
		}
		if (bad && (r = warn(c, "line %zu: %s has an unterminated quote or escape", lineno,
				     key_names[k])) != 0)
			return r;
		val.p = c->tmp;
		val.n = (size_t)n;
		if ((r = store(c, (enum osr_key)k, val, k == K_PRETTY)) != 0)
			return r;
	}
	if (!c->set[K_CODENAME] && c->set[K_UBUNTU_CODENAME]) {
		memcpy(c->val[K_CODENAME], c->val[K_UBUNTU_CODENAME],
		       strlen(c->val[K_UBUNTU_CODENAME]) + 1);
		c->set[K_CODENAME] = 1;
	}
	if (!c->set[K_ID])
		return warn(c, "no usable ID field; not an OS identity");
	return 0;
}

/* The first non-blank line, trimmed. */
static struct span first_line(const uint8_t *data, size_t len)
{
	const uint8_t *p = data, *end = data + len;
	struct span line = { data, 0 };

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

		line.p = p;
		line.n = (size_t)((nl ? nl : end) - p);
		p = nl ? nl + 1 : end;
		line = trim(line);
		if (line.n > 0)
			return line;
	}
	line.n = 0;
	return line;
}

static int set_lit(struct osr_ctx *c, enum osr_key k, const char *s)
{
	struct span v = { (const uint8_t *)s, strlen(s) };

	return store(c, k, v, 0);
}

static int parse_alpine(struct osr_ctx *c, const uint8_t *data, size_t len)
{
	struct span l = first_line(data, len);
	int r;

	if ((r = set_lit(c, K_ID, "alpine")) != 0)
		return r;
	if (l.n == 0)
		return warn(c, "empty file: no version");
	if (memchr(l.p, ' ', l.n) != NULL || memchr(l.p, '\t', l.n) != NULL)
		return warn(c, "first line is not a version");
	return store(c, K_VERSION_ID, l, 0);
}

static int parse_debian(struct osr_ctx *c, const uint8_t *data, size_t len)
{
	struct span l = first_line(data, len);
	const uint8_t *slash;
	int r;

	if ((r = set_lit(c, K_ID, "debian")) != 0)
		return r;
	if (l.n == 0)
		return warn(c, "empty file: no version");
	if (memchr(l.p, ' ', l.n) != NULL || memchr(l.p, '\t', l.n) != NULL)
		return warn(c, "first line is not a version or codename");
	if (l.p[0] >= '0' && l.p[0] <= '9')
		return store(c, K_VERSION_ID, l, 0);
	slash = memchr(l.p, '/', l.n);
	if (slash != NULL)
		l.n = (size_t)(slash - l.p);
	return store(c, K_CODENAME, l, 0);
}

static int parse_redhat(struct osr_ctx *c, const uint8_t *data, size_t len)
{
	static const struct {
		const char *prefix;
		const char *id;
	} names[] = {
		{ "Red Hat Enterprise Linux", "rhel" }, { "CentOS", "centos" },
		{ "Rocky Linux", "rocky" }, { "AlmaLinux", "almalinux" },
		{ "Fedora", "fedora" }, { "Amazon Linux", "amzn" },
		{ "Oracle Linux", "ol" }, { "Scientific Linux", "scientific" },
		{ "EuroLinux", "eurolinux" },
	};
	static const char rel[] = " release ";
	struct span l = first_line(data, len), name, rest, ver, code;
	const uint8_t *at, *end;
	size_t k;
	int r;

	if (l.n == 0)
		return warn(c, "empty file: no release line");
	if ((r = store(c, K_PRETTY, l, 1)) != 0)
		return r;
	at = memmem(l.p, l.n, rel, sizeof(rel) - 1);
	if (at == NULL)
		return warn(c, "no \"<name> release <version>\" line");
	name.p = l.p;
	name.n = (size_t)(at - l.p);
	end = l.p + l.n;
	rest.p = at + sizeof(rel) - 1;
	rest.n = (size_t)(end - rest.p);
	rest = trim(rest);
	ver.p = rest.p;
	ver.n = 0;
	while (ver.n < rest.n && !is_blank(rest.p[ver.n]) && rest.p[ver.n] != '(')
		ver.n++;
	if (ver.n > 0 && (r = store(c, K_VERSION_ID, ver, 0)) != 0)
		return r;
	code.p = memchr(rest.p, '(', rest.n);
	if (code.p != NULL) {
		const uint8_t *close;

		code.p++;
		close = memchr(code.p, ')', (size_t)(end - code.p));
		if (close != NULL) {
			code.n = (size_t)(close - code.p);
			code = trim(code);
			if (code.n > 0 && (r = store(c, K_CODENAME, code, 0)) != 0)
				return r;
		}
	}
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t pl = strlen(names[k].prefix);

		if (name.n >= pl && memcmp(name.p, names[k].prefix, pl) == 0)
			return set_lit(c, K_ID, names[k].id);
	}
	return warn(c, "unrecognised distribution name; no ID");
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int cs_os_release_parse(const struct cs_emit *e, const char *path, const uint8_t *data,
			size_t len)
{
	struct osr_ctx *c;
	struct cs_os os;
	const char *b;
	int r;

	if (e == NULL || e->os == NULL || path == NULL || (data == NULL && len > 0))
		return cs_err_set(CS_EINVAL, "os-release: bad arguments");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "os-release: out of memory");
	c->e = e;
	c->path = path;
	b = base_name(path);
	if (strcmp(b, "alpine-release") == 0)
		r = parse_alpine(c, data, len);
	else if (strcmp(b, "debian_version") == 0)
		r = parse_debian(c, data, len);
	else if (strcmp(b, "redhat-release") == 0 || strcmp(b, "centos-release") == 0 ||
		 strcmp(b, "system-release") == 0)
		r = parse_redhat(c, data, len);
	else
		r = parse_os_release(c, data, len);
	if (r != 0)
		goto out;
	/* An os-release file without ID identifies nothing; the distribution
	 * files always give one unless the name was unknown, in which case the
	 * pretty name and version still help a person. */
	if (c->set[K_ID] || (!strstr(b, "os-release") && (c->set[K_PRETTY] || c->set[K_VERSION_ID]))) {
		memset(&os, 0, sizeof(os));
		os.id = c->set[K_ID] ? c->val[K_ID] : NULL;
		os.version_id = c->set[K_VERSION_ID] ? c->val[K_VERSION_ID] : NULL;
		os.codename = c->set[K_CODENAME] ? c->val[K_CODENAME] : NULL;
		os.pretty_name = c->set[K_PRETTY] ? c->val[K_PRETTY] : NULL;
		os.id_like = c->set[K_ID_LIKE] ? c->val[K_ID_LIKE] : NULL;
		os.variant_id = c->set[K_VARIANT_ID] ? c->val[K_VARIANT_ID] : NULL;
		os.source = path;
		if ((r = cb_result(e->os(e->ctx, &os))) != 0)
			goto out;
	}
	r = cb_result(budget_close(&c->wb, e, path));
out:
	free(c);
	return r;
}

int cs_os_release_match(const char *path)
{
	static const char *const paths[] = {
		"etc/os-release", "usr/lib/os-release", "etc/alpine-release",
		"etc/debian_version", "etc/redhat-release", "etc/centos-release",
		"etc/system-release",
	};
	size_t k;

	if (path == NULL)
		return 0;
	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
		if (strcmp(path, paths[k]) == 0)
			return 1;
	return 0;
}
