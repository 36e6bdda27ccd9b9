/*
 * dpkg.c - deb822 stanzas of the dpkg status database -> cs_pkg records.
 *
 * One pass over the lines with memchr; every stanza keeps only spans into
 * the input for the handful of fields we use, so the work per line is
 * constant and the memory is one fixed scratch area per call. See dpkg.h for
 * the rules.
 */
#include "worker/analyzers/dpkg.h"
#include "worker/analyzers/text_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errors.h"

/* Longest value we accept for any field we emit (before repair). */
#define DPKG_VALUE_MAX 4096
/* Detailed warnings per file; later ones are only counted. */
/* Bytes of an untrusted name quoted in a warning. */
#define DPKG_QUOTE_MAX 64

enum dpkg_field {
	F_PACKAGE,
	F_VERSION,
	F_ARCH,
	F_SOURCE,
	F_STATUS,
	F_MULTIARCH,
	F_MAINTAINER,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"Package", "Version", "Architecture", "Source", "Status", "Multi-Arch", "Maintainer",
};

/* Package states (the third word of Status) other than "installed". */
enum dpkg_state {
	ST_NOT_INSTALLED,
	ST_CONFIG_FILES,
	ST_HALF_INSTALLED,
	ST_UNPACKED,
	ST_HALF_CONFIGURED,
	ST_TRIGGERS_AWAITED,
	ST_TRIGGERS_PENDING,
	ST_OTHER,       /* unknown state word, or Status not three words */
	ST_MISSING,     /* no Status field in a status (not status.d) file */
	ST_COUNT
};

static const char *const state_names[ST_COUNT] = {
	"not-installed", "config-files", "half-installed", "unpacked", "half-configured",
	"triggers-awaited", "triggers-pending", "malformed or unknown Status", "no Status field",
};

struct stanza {
	struct span v[F_COUNT];
	unsigned seen;          /* bit per enum dpkg_field */
	size_t first_line;
	size_t lines;           /* field and continuation lines */
	int last;               /* field of the previous line, -1 untracked, -2 none */
	int cont_warned;
};

struct dpkg_ctx {
	const struct cs_emit *e;
	const char *path;
	int status_d;
	struct warn_budget wb;
	size_t skipped[ST_COUNT];
	char *scratch;
	size_t scratch_len;
	size_t scratch_cap;
};

static int cb_result(int r)
{
	if (r == 0)
		return 0;
	return cs_err_set(r < 0 ? r : CS_EINTERNAL, "dpkg: emit callback failed (%d)", r);
}

/* Emits a detailed warning while under the per-file budget, else counts it. */
__attribute__((format(printf, 2, 3)))
static int warn(struct dpkg_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = budget_vwarn(&c->wb, c->e, c->path, fmt, ap);
	va_end(ap);
	return cb_result(r);
}

/* Copies s into out as printable ASCII ('?' for anything else), truncated. */
static int is_blank(uint8_t ch)
{
	return ch == ' ' || ch == '\t';
}

static struct span trim(struct span s)
{
	while (s.n > 0 && (is_blank(s.p[0]) || s.p[0] == '\r'))
		s.p++, s.n--;
	while (s.n > 0 && (is_blank(s.p[s.n - 1]) || s.p[s.n - 1] == '\r'))
		s.n--;
	return s;
}

static int span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
/* 1 when s is valid UTF-8 with no control characters (and no blanks unless allowed). */
static int text_ok(struct span s, int allow_blank)
{
	size_t i = 0, k;

	while (i < s.n) {
		k = utf8_seq(s.p + i, s.n - i);
		if (k == 0)
			return 0;
		if (k == 1 && (s.p[i] < 0x20 || s.p[i] == 0x7f) && !(allow_blank && s.p[i] == '\t'))
			return 0;
		if (k == 1 && s.p[i] == ' ' && !allow_blank)
			return 0;
		i += k;
	}
	return 1;
}

/* Appends a NUL-terminated copy of s to the scratch area. */
static const char *put(struct dpkg_ctx *c, struct span s, int repair)
{
	static const uint8_t rep[3] = { 0xEF, 0xBF, 0xBD };
	char *out = c->scratch + c->scratch_len;
	size_t i = 0, o = 0, k;

	/* Callers cap s.n at DPKG_VALUE_MAX; repair at most triples it. */
	if (c->scratch_cap - c->scratch_len < 3 * s.n + 1)
		return NULL;
	while (i < s.n) {
		k = utf8_seq(s.p + i, s.n - i);
		if (repair && (k == 0 || (k == 1 && (s.p[i] < 0x20 || s.p[i] == 0x7f)))) {
			memcpy(out + o, rep, 3);
			o += 3;
			i++;
			continue;
		}
		if (k == 0)
			k = 1;  /* not reached: callers validate when not repairing */
		memcpy(out + o, s.p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	c->scratch_len += o + 1;
	return out;
}

/* The third word of Status; returns the state index or -1 for "installed". */
static int status_state(struct span s)
{
	static const char *const words[] = {
		"not-installed", "config-files", "half-installed", "unpacked",
		"half-configured", "triggers-awaited", "triggers-pending",
	};
	struct span w[4];
	size_t i = 0, nw = 0, k;

	while (i < s.n && nw < 4) {
		while (i < s.n && is_blank(s.p[i]))
			i++;
		if (i >= s.n)
			break;
		w[nw].p = s.p + i;
		while (i < s.n && !is_blank(s.p[i]))
			i++;
		w[nw].n = (size_t)(s.p + i - w[nw].p);
		nw++;
	}
	if (nw != 3)
		return ST_OTHER;
	if (span_eq(w[2], "installed"))
		return -1;
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (span_eq(w[2], words[k]))
			return (int)k;
	return ST_OTHER;
}

/* Validates an optional single-token field; NULL (with a warning) when unfit. */
static int opt_token(struct dpkg_ctx *c, struct stanza *st, enum dpkg_field f,
		     const char *pkg, const char **out)
{
	struct span v = st->v[f];

	*out = NULL;
	if (!(st->seen & (1u << f)) || v.n == 0)
		return 0;
	if (v.n > DPKG_VALUE_MAX)
		return warn(c, "package %s (line %zu): %s field longer than %d bytes ignored",
			    pkg, st->first_line, field_names[f], DPKG_VALUE_MAX);
	if (!text_ok(v, 0))
		return warn(c, "package %s (line %zu): %s field is not a clean UTF-8 token; ignored",
			    pkg, st->first_line, field_names[f]);
	*out = put(c, v, 0);
	return 0;
}

static int flush(struct dpkg_ctx *c, struct stanza *st)
{
	struct cs_pkg pkg;
	struct span name = st->v[F_PACKAGE], ver = st->v[F_VERSION], src;
	char q[DPKG_QUOTE_MAX + 4];
	const char *qn;
	int state, r;

	if (st->lines == 0)
		return 0;
	if (!(st->seen & (1u << F_PACKAGE)) || name.n == 0)
		return warn(c, "stanza at line %zu has no %sPackage field; skipped", st->first_line,
			    (st->seen & (1u << F_PACKAGE)) ? "value in its " : "");
	qn = quote(q, sizeof(q), name);
	if (!(st->seen & (1u << F_VERSION)) || ver.n == 0)
		return warn(c, "package %s (line %zu) has no Version; skipped", qn, st->first_line);

	if (st->seen & (1u << F_STATUS))
		state = status_state(st->v[F_STATUS]);
	else
		state = c->status_d ? -1 : ST_MISSING;
	if (state >= 0) {
		c->skipped[state]++;
		return 0;
	}

	if (name.n > DPKG_VALUE_MAX || !text_ok(name, 0))
		return warn(c, "stanza at line %zu: Package %s is not a clean UTF-8 token of at most %d bytes; skipped",
			    st->first_line, qn, DPKG_VALUE_MAX);
	if (ver.n > DPKG_VALUE_MAX || !text_ok(ver, 0))
		return warn(c, "package %s (line %zu): Version is not a clean UTF-8 token of at most %d bytes; skipped",
			    qn, st->first_line, DPKG_VALUE_MAX);

	memset(&pkg, 0, sizeof(pkg));
	c->scratch_len = 0;
	pkg.kind = CS_PKG_DPKG;
	pkg.db_path = c->path;
	pkg.name = put(c, name, 0);
	pkg.version = put(c, ver, 0);
	if ((r = opt_token(c, st, F_ARCH, qn, &pkg.arch)) != 0)
		return r;
	if ((r = opt_token(c, st, F_MULTIARCH, qn, &pkg.multi_arch)) != 0)
		return r;

	if (st->seen & (1u << F_STATUS)) {
		struct span s = st->v[F_STATUS];

		/* A Status whose third word is "installed" is short unless the
		 * first two words are huge; refuse those like any other field. */
		if (s.n > DPKG_VALUE_MAX || !text_ok(s, 1)) {
			if ((r = warn(c, "package %s (line %zu): Status is not clean UTF-8; left out",
				      qn, st->first_line)) != 0)
				return r;
		} else {
			pkg.status = put(c, s, 0);
		}
	}
	if ((st->seen & (1u << F_MAINTAINER)) && st->v[F_MAINTAINER].n > 0) {
		struct span m = st->v[F_MAINTAINER];

		if (m.n > DPKG_VALUE_MAX) {
			if ((r = warn(c, "package %s (line %zu): Maintainer longer than %d bytes left out",
				      qn, st->first_line, DPKG_VALUE_MAX)) != 0)
				return r;
		} else {
			pkg.maintainer = put(c, m, 1);
		}
	}

	pkg.source_name = pkg.name;
	pkg.source_version = pkg.version;
	src = st->v[F_SOURCE];
	if ((st->seen & (1u << F_SOURCE)) && src.n > 0) {
		const uint8_t *open = memchr(src.p, '(', src.n);
		struct span sn = src, sv = { NULL, 0 };
		int bad = 0;

		if (open != NULL) {
			const uint8_t *vs = open + 1, *end = src.p + src.n;
			const uint8_t *close = memchr(vs, ')', (size_t)(end - vs));

			sn.n = (size_t)(open - src.p);
			sn = trim(sn);
			if (close == NULL) {
				bad = 1;
			} else {
				struct span rest = { close + 1, (size_t)(end - close - 1) };

				sv.p = vs;
				sv.n = (size_t)(close - vs);
				sv = trim(sv);
				if (trim(rest).n != 0 || sv.n == 0)
					bad = 1;
			}
		}
		if (bad || sn.n == 0 || sn.n > DPKG_VALUE_MAX || !text_ok(sn, 0) ||
		    sv.n > DPKG_VALUE_MAX || (sv.n > 0 && !text_ok(sv, 0))) {
			/* Keep the binary name/version rather than guess. */
			if ((r = warn(c, "package %s (line %zu): Source is not \"name\" or \"name (version)\"; using the package's own",
				      qn, st->first_line)) != 0)
				return r;
		} else {
			pkg.source_name = put(c, sn, 0);
			if (sv.n > 0)
				pkg.source_version = put(c, sv, 0);
		}
	}
	if (pkg.name == NULL || pkg.version == NULL || pkg.source_name == NULL ||
	    pkg.source_version == NULL)
		return cs_err_set(CS_EINTERNAL, "dpkg: scratch area too small");
	return cb_result(c->e->package(c->e->ctx, &pkg));
}

static void stanza_reset(struct stanza *st)
{
	memset(st, 0, sizeof(*st));
	st->last = -2;
}

/* One "Name: value" line (line is not blank and does not start with a blank). */
static int field_line(struct dpkg_ctx *c, struct stanza *st, struct span line, size_t lineno)
{
	const uint8_t *colon = memchr(line.p, ':', line.n);
	struct span name;
	char q[DPKG_QUOTE_MAX + 4];
	size_t i;
	int f;

	st->last = -1;
	if (colon == NULL || colon == line.p)
		return warn(c, "line %zu: not a \"Field: value\" line: %s", lineno,
			    quote(q, sizeof(q), line));
	name.p = line.p;
	name.n = (size_t)(colon - line.p);
	for (i = 0; i < name.n; i++)
		if (name.p[i] <= 0x20 || name.p[i] >= 0x7f)
			return warn(c, "line %zu: bad field name: %s", lineno,
				    quote(q, sizeof(q), name));
	for (f = 0; f < F_COUNT; f++) {
		if (name.n == strlen(field_names[f]) &&
		    strncasecmp((const char *)name.p, field_names[f], name.n) == 0)
			break;
	}
	if (f == F_COUNT)
		return 0;
	st->last = f;
	if (st->seen & (1u << f))
		return warn(c, "line %zu: duplicate %s field; the first one is kept", lineno,
			    field_names[f]);
	st->seen |= 1u << f;
	st->v[f].p = colon + 1;
	st->v[f].n = (size_t)(line.p + line.n - colon - 1);
	st->v[f] = trim(st->v[f]);
	return 0;
}

int cs_dpkg_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len)
{
	struct dpkg_ctx c;
	struct stanza st;
	const uint8_t *p = data, *end = data + len;
	size_t lineno = 0, i, total = 0;
	int r = 0;

	if (e == NULL || e->package == NULL || path == NULL || (data == NULL && len > 0))
		return cs_err_set(CS_EINVAL, "dpkg: bad arguments");
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.path = path;
	c.status_d = strstr(path, "status.d/") != NULL;
	/* name, version, arch, multi-arch, status, source name and version at
	 * DPKG_VALUE_MAX + 1 each; the maintainer up to three times that. */
	c.scratch_cap = (F_COUNT + 3) * (3 * (size_t)DPKG_VALUE_MAX + 1);
	c.scratch = malloc(c.scratch_cap);
	if (c.scratch == NULL)
		return cs_err_set(CS_ENOMEM, "dpkg: out of memory");
	stanza_reset(&st);

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		struct span line = { p, (size_t)((nl ? nl : end) - p) };

		p = nl ? nl + 1 : end;
		lineno++;
		if (trim(line).n == 0) {
			if ((r = flush(&c, &st)) != 0)
				goto out;
			stanza_reset(&st);
			continue;
		}
		if (st.lines == 0)
			st.first_line = lineno;
		st.lines++;
		if (is_blank(line.p[0])) {
			/* Continuation of a multi-line field (Description,
			 * Conffiles, ...): nothing we use. */
			if (st.last == -2) {
				r = warn(&c, "line %zu: continuation line without a field", lineno);
			} else if (st.last >= 0 && !st.cont_warned) {
				st.cont_warned = 1;
				r = warn(&c, "line %zu: continuation of single-line field %s ignored",
					 lineno, field_names[st.last]);
			}
		} else {
			r = field_line(&c, &st, line, lineno);
		}
		if (r != 0)
			goto out;
	}
	if ((r = flush(&c, &st)) != 0)
		goto out;

	for (i = 0; i < ST_COUNT; i++)
		total += c.skipped[i];
	if (total > 0) {
		char msg[400];
		size_t o;
		int n;

		n = snprintf(msg, sizeof(msg), "skipped %zu package%s not in state \"installed\":",
			     total, total == 1 ? "" : "s");
		o = n > 0 ? (size_t)n : 0;
		for (i = 0; i < ST_COUNT && o < sizeof(msg); i++) {
			if (c.skipped[i] == 0)
				continue;
			n = snprintf(msg + o, sizeof(msg) - o, " %zu %s,", c.skipped[i], state_names[i]);
			if (n < 0)
				break;
			o += (size_t)n;
		}
		if (o < sizeof(msg) && o > 0 && msg[o - 1] == ',')
			msg[o - 1] = '\0';
		if ((r = cb_result(cs_emit_warnf(e, path, "%s", msg))) != 0)
			goto out;
	}
	r = cb_result(budget_close(&c.wb, e, path));
out:
	free(c.scratch);
	return r;
}

int cs_dpkg_match(const char *path)
{
	static const char prefix[] = "var/lib/dpkg/status.d/";
	static const char *const companions[] = {
		".md5sums", ".list", ".conffiles", ".preinst", ".postinst", ".prerm",
		".postrm", ".config", ".templates", ".triggers", ".shlibs", ".symbols",
	};
	const char *name;
	size_t n, k, sl;

	if (path == NULL)
		return 0;
	if (strcmp(path, "var/lib/dpkg/status") == 0)
		return 1;
	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	name = path + sizeof(prefix) - 1;
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return 0;
	n = strlen(name);
	for (k = 0; k < sizeof(companions) / sizeof(companions[0]); k++) {
		sl = strlen(companions[k]);
		if (n > sl && strcmp(name + n - sl, companions[k]) == 0)
			return 0;
	}
	return 1;
}
