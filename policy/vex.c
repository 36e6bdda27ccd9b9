/*
 * vex.c - OpenVEX v0.2.0 documents: validation against the essentials of
 * the published JSON schema (fixtures/schemas/openvex), and deciding which
 * statement speaks for a finding (docs/policy.md "OpenVEX").
 *
 * Documents come from third parties (image vendors), so everything is
 * checked at policy load, and matching only reads validated documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errors.h"
#include "policy/policy_internal.h"

#define P CS_POLICY_MAX_PATHMSG

/* ---- validation ---------------------------------------------------------- */

static int want_string(const json_t *o, const char *key, const char *path, int required,
		       int datetime)
{
	const json_t *v = json_object_get(o, key);
	char p[P];
	long long s;
	long ns;

	snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", key);
	if (v == NULL)
		return required ? cs_policy_bad(p, "required") : 0;
	if (!json_is_string(v))
		return cs_policy_bad(p, "must be a string, not %s", cs_policy_type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return cs_policy_bad(p, "contains a NUL character");
	if (datetime && cs_policy_datetime_parse(json_string_value(v), &s, &ns) != 0)
		return cs_policy_bad(p, "not an RFC 3339 date-time");
	return 0;
}

static int want_version(const json_t *o, const char *path, int required)
{
	const json_t *v = json_object_get(o, "version");
	char p[P];

	snprintf(p, sizeof(p), "%s%sversion", path, path[0] ? "." : "");
	if (v == NULL)
		return required ? cs_policy_bad(p, "required") : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return cs_policy_bad(p, "must be an integer >= 1");
	return 0;
}

static int check_identifiers(const json_t *o, const char *path)
{
	static const char *const keys[] = { "purl", "cpe22", "cpe23", NULL };
	int r;

	if (!json_is_object(o))
		return cs_policy_bad(path, "must be an object, not %s", cs_policy_type_name(o));
	if ((r = cs_policy_only_keys(o, path, keys)) != 0)
		return r;
	for (size_t i = 0; keys[i] != NULL; i++)
		if ((r = want_string(o, keys[i], path, 0, 0)) != 0)
			return r;
	if (json_object_size(o) == 0)
		return cs_policy_bad(path, "needs purl, cpe22 or cpe23");
	return 0;
}

static int check_hashes(const json_t *o, const char *path)
{
	static const char *const keys[] = { "md5",	"sha1",	       "sha-256",     "sha-384",
					    "sha-512",	"sha3-224",    "sha3-256",    "sha3-384",
					    "sha3-512", "blake2s-256", "blake2b-256", "blake2b-512",
					    NULL };
	int r;

	if (!json_is_object(o))
		return cs_policy_bad(path, "must be an object, not %s", cs_policy_type_name(o));
	if ((r = cs_policy_only_keys(o, path, keys)) != 0)
		return r;
	for (size_t i = 0; keys[i] != NULL; i++)
		if ((r = want_string(o, keys[i], path, 0, 0)) != 0)
			return r;
	return 0;
}

/* A product (component) or, with sub 1, a subcomponent. */
static int check_component(const json_t *o, const char *path, int sub)
{
	static const char *const ckeys[] = { "@id", "identifiers", "hashes", "subcomponents",
					     NULL };
	static const char *const skeys[] = { "@id", "identifiers", "hashes", NULL };
	const json_t *v;
	char p[P];
	int r;

	if (!json_is_object(o))
		return cs_policy_bad(path, "must be an object, not %s", cs_policy_type_name(o));
	if ((r = cs_policy_only_keys(o, path, sub ? skeys : ckeys)) != 0)
		return r;
	if ((r = want_string(o, "@id", path, 0, 0)) != 0)
		return r;
	if (json_object_get(o, "@id") == NULL && json_object_get(o, "identifiers") == NULL)
		return cs_policy_bad(path, "needs @id or identifiers");
	if ((v = json_object_get(o, "identifiers")) != NULL) {
		snprintf(p, sizeof(p), "%s.identifiers", path);
		if ((r = check_identifiers(v, p)) != 0)
			return r;
	}
	if ((v = json_object_get(o, "hashes")) != NULL) {
		snprintf(p, sizeof(p), "%s.hashes", path);
		if ((r = check_hashes(v, p)) != 0)
			return r;
	}
	if (!sub && (v = json_object_get(o, "subcomponents")) != NULL) {
		snprintf(p, sizeof(p), "%s.subcomponents", path);
		if (!json_is_array(v))
			return cs_policy_bad(p, "must be an array, not %s", cs_policy_type_name(v));
		for (size_t i = 0; i < json_array_size(v); i++) {
			snprintf(p, sizeof(p), "%s.subcomponents[%zu]", path, i);
			if ((r = check_component(json_array_get(v, i), p, 1)) != 0)
				return r;
		}
	}
	return 0;
}

static int check_vulnerability(const json_t *o, const char *path)
{
	static const char *const keys[] = { "@id", "name", "description", "aliases", NULL };
	const json_t *a;
	char p[P];
	int r;

	if (!json_is_object(o))
		return cs_policy_bad(path, "must be an object, not %s", cs_policy_type_name(o));
	if ((r = cs_policy_only_keys(o, path, keys)) != 0 ||
	    (r = want_string(o, "@id", path, 0, 0)) != 0 ||
	    (r = want_string(o, "name", path, 1, 0)) != 0 ||
	    (r = want_string(o, "description", path, 0, 0)) != 0)
		return r;
	if (json_string_length(json_object_get(o, "name")) == 0)
		return cs_policy_bad(path, "name must not be empty");
	if ((a = json_object_get(o, "aliases")) != NULL) {
		snprintf(p, sizeof(p), "%s.aliases", path);
		if (!json_is_array(a))
			return cs_policy_bad(p, "must be an array, not %s", cs_policy_type_name(a));
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!json_is_string(json_array_get(a, i))) {
				snprintf(p, sizeof(p), "%s.aliases[%zu]", path, i);
				return cs_policy_bad(p, "must be a string");
			}
	}
	return 0;
}

static int one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

static int check_statement(const json_t *o, const char *path)
{
	static const char *const keys[] = { "@id",
					    "version",
					    "vulnerability",
					    "timestamp",
					    "last_updated",
					    "products",
					    "status",
					    "supplier",
					    "status_notes",
					    "justification",
					    "impact_statement",
					    "action_statement",
					    "action_statement_timestamp",
					    NULL };
	static const char *const statuses[] = { "not_affected", "affected", "fixed",
						"under_investigation", NULL };
	static const char *const justifications[] = {
		"component_not_present",
		"vulnerable_code_not_present",
		"vulnerable_code_not_in_execute_path",
		"vulnerable_code_cannot_be_controlled_by_adversary",
		"inline_mitigations_already_exist",
		NULL
	};
	const json_t *v;
	const char *st;
	char p[P];
	int r;

	if (!json_is_object(o))
		return cs_policy_bad(path, "must be an object, not %s", cs_policy_type_name(o));
	if ((r = cs_policy_only_keys(o, path, keys)) != 0 ||
	    (r = want_string(o, "@id", path, 0, 0)) != 0 || (r = want_version(o, path, 0)) != 0 ||
	    (r = want_string(o, "timestamp", path, 0, 1)) != 0 ||
	    (r = want_string(o, "last_updated", path, 0, 1)) != 0 ||
	    (r = want_string(o, "supplier", path, 0, 0)) != 0 ||
	    (r = want_string(o, "status_notes", path, 0, 0)) != 0 ||
	    (r = want_string(o, "impact_statement", path, 0, 0)) != 0 ||
	    (r = want_string(o, "action_statement", path, 0, 0)) != 0 ||
	    (r = want_string(o, "action_statement_timestamp", path, 0, 1)) != 0 ||
	    (r = want_string(o, "justification", path, 0, 0)) != 0 ||
	    (r = want_string(o, "status", path, 1, 0)) != 0)
		return r;
	snprintf(p, sizeof(p), "%s.vulnerability", path);
	if ((v = json_object_get(o, "vulnerability")) == NULL)
		return cs_policy_bad(p, "required");
	if ((r = check_vulnerability(v, p)) != 0)
		return r;
	st = json_string_value(json_object_get(o, "status"));
	if (!one_of(st, statuses)) {
		snprintf(p, sizeof(p), "%s.status", path);
		return cs_policy_bad(
			p, "not one of not_affected, affected, fixed, under_investigation");
	}
	if ((v = json_object_get(o, "justification")) != NULL &&
	    !one_of(json_string_value(v), justifications)) {
		snprintf(p, sizeof(p), "%s.justification", path);
		return cs_policy_bad(p, "not an OpenVEX justification");
	}
	/* The schema's allOf: not_affected needs a reason, affected an action. */
	if (strcmp(st, "not_affected") == 0 && json_object_get(o, "justification") == NULL &&
	    json_object_get(o, "impact_statement") == NULL)
		return cs_policy_bad(
			path, "status not_affected needs a justification or an impact_statement");
	if (strcmp(st, "affected") == 0 && json_object_get(o, "action_statement") == NULL)
		return cs_policy_bad(path, "status affected needs an action_statement");
	if ((v = json_object_get(o, "products")) != NULL) {
		snprintf(p, sizeof(p), "%s.products", path);
		if (!json_is_array(v))
			return cs_policy_bad(p, "must be an array, not %s", cs_policy_type_name(v));
		for (size_t i = 0; i < json_array_size(v); i++) {
			snprintf(p, sizeof(p), "%s.products[%zu]", path, i);
			if ((r = check_component(json_array_get(v, i), p, 0)) != 0)
				return r;
		}
	}
	return 0;
}

int cs_policy_vex_validate(const json_t *doc)
{
	static const char *const keys[] = { "@context", "@id",	     "author",
					    "role",	"timestamp", "last_updated",
					    "version",	"tooling",   "statements",
					    NULL };
	const json_t *st;
	const char *ctx;
	char p[P];
	int r;

	if (!json_is_object(doc))
		return cs_err_set(CS_EINVAL, "an OpenVEX document is a JSON object");
	if ((r = cs_policy_only_keys(doc, "", keys)) != 0 ||
	    (r = want_string(doc, "@context", "", 1, 0)) != 0 ||
	    (r = want_string(doc, "@id", "", 1, 0)) != 0 ||
	    (r = want_string(doc, "author", "", 1, 0)) != 0 ||
	    (r = want_string(doc, "role", "", 0, 0)) != 0 ||
	    (r = want_string(doc, "timestamp", "", 1, 1)) != 0 ||
	    (r = want_string(doc, "last_updated", "", 0, 1)) != 0 ||
	    (r = want_version(doc, "", 1)) != 0 || (r = want_string(doc, "tooling", "", 0, 0)) != 0)
		return r;
	ctx = json_string_value(json_object_get(doc, "@context"));
	if (strncmp(ctx, "https://openvex.dev/ns", 22) != 0)
		return cs_policy_bad("@context",
				     "not an OpenVEX context (https://openvex.dev/ns/...)");
	st = json_object_get(doc, "statements");
	if (st == NULL)
		return cs_policy_bad("statements", "required");
	if (!json_is_array(st) || json_array_size(st) == 0)
		return cs_policy_bad("statements", "must be a non-empty array");
	if (json_array_size(st) > CS_POLICY_MAX_STATEMENTS)
		return cs_policy_bad("statements", "more than %d statements",
				     CS_POLICY_MAX_STATEMENTS);
	for (size_t i = 0; i < json_array_size(st); i++) {
		snprintf(p, sizeof(p), "statements[%zu]", i);
		if ((r = check_statement(json_array_get(st, i), p)) != 0)
			return r;
	}
	return 0;
}

/* ---- package URLs -------------------------------------------------------- */

#define PURL_MAX 1024
#define PURL_QUALS 16

struct purl {
	char buf[PURL_MAX + 1];
	char *type, *ns, *name, *version, *subpath;
	char *qk[PURL_QUALS], *qv[PURL_QUALS];
	size_t nq;
};

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

/* Percent-decodes s in place; -1 on a bad escape or a decoded NUL. */
static int pct_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			int h = hexval(s[1]), l = h >= 0 ? hexval(s[2]) : -1;

			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Parses a package URL per the purl specification's parsing steps. */
static int purl_parse(struct purl *u, const char *s)
{
	char *p, *x;
	size_t len = strlen(s);

	memset(u, 0, sizeof(*u));
	if (len > PURL_MAX || len < 5 || strncasecmp(s, "pkg:", 4) != 0)
		return -1;
	memcpy(u->buf, s + 4, len - 4 + 1);
	p = u->buf;
	while (*p == '/')
		p++;
	if ((x = strrchr(p, '#')) != NULL) {
		*x = '\0';
		u->subpath = x + 1;
		while (*u->subpath == '/')
			u->subpath++;
		for (size_t l = strlen(u->subpath); l > 0 && u->subpath[l - 1] == '/'; l--)
			u->subpath[l - 1] = '\0';
		if (pct_decode(u->subpath) != 0)
			return -1;
		if (u->subpath[0] == '\0')
			u->subpath = NULL;
	}
	if ((x = strrchr(p, '?')) != NULL) {
		char *q = x + 1, *save;

		*x = '\0';
		while (q != NULL && *q != '\0') {
			char *eq;

			save = strchr(q, '&');
			if (save != NULL)
				*save++ = '\0';
			eq = strchr(q, '=');
			if (eq != NULL && eq != q && eq[1] != '\0') {
				if (u->nq == PURL_QUALS)
					return -1;
				*eq = '\0';
				lower(q);
				if (pct_decode(eq + 1) != 0)
					return -1;
				u->qk[u->nq] = q;
				u->qv[u->nq] = eq + 1;
				u->nq++;
			}
			q = save;
		}
	}
	x = strchr(p, '/');
	if (x == NULL || x == p)
		return -1;
	*x = '\0';
	u->type = p;
	lower(u->type);
	p = x + 1;
	for (size_t l = strlen(p); l > 0 && p[l - 1] == '/'; l--)
		p[l - 1] = '\0';
	x = strrchr(p, '/');
	/* The version follows the last '@' of the last segment (a leniency:
	 * an unencoded npm "@scope" in the namespace stays the namespace). */
	{
		char *last = x ? x + 1 : p, *at = strrchr(last, '@');

		if (at != NULL && at != last) {
			*at = '\0';
			u->version = at + 1;
			if (pct_decode(u->version) != 0)
				return -1;
			if (u->version[0] == '\0')
				u->version = NULL;
		}
	}
	if (x != NULL) {
		*x = '\0';
		u->ns = p;
		u->name = x + 1;
		if (pct_decode(u->ns) != 0)
			return -1;
		if (u->ns[0] == '\0')
			u->ns = NULL;
	} else {
		u->name = p;
	}
	if (pct_decode(u->name) != 0 || u->name[0] == '\0')
		return -1;
	return 0;
}

static const char *purl_qual(const struct purl *u, const char *k)
{
	for (size_t i = 0; i < u->nq; i++)
		if (strcmp(u->qk[i], k) == 0)
			return u->qv[i];
	return NULL;
}

/* purl types whose namespace and name are case-insensitive (the spec
 * lower-cases them). */
static int ci_type(const char *t)
{
	static const char *const ci[] = { "apk",  "deb",	 "bitbucket", "github", "golang",
					  "hex",  "npm",	 "oci",	      "pypi",	"composer",
					  "alpm", "huggingface", NULL };

	return one_of(t, ci);
}

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* PEP 503 normalisation compare: case-insensitive, runs of -_. equal. */
static int pypi_eq(const char *a, const char *b)
{
	for (;;) {
		int sa = 0, sb = 0;

		while (*a == '-' || *a == '_' || *a == '.') {
			sa = 1;
			a++;
		}
		while (*b == '-' || *b == '_' || *b == '.') {
			sb = 1;
			b++;
		}
		if (sa != sb || lc(*a) != lc(*b))
			return 0;
		if (*a == '\0')
			return 1;
		a++;
		b++;
	}
}

static int name_eq(const char *type, const char *a, const char *b)
{
	if (strcmp(type, "pypi") == 0)
		return pypi_eq(a, b);
	return ci_type(type) ? cs_policy_streq_ci(a, b) : strcmp(a, b) == 0;
}

/* Statement purl v (the pattern: absent parts match anything) against the
 * package's purl p. */
static int purl_covers(const struct purl *v, const struct purl *p)
{
	if (strcmp(v->type, p->type) != 0)
		return 0;
	if (v->ns != NULL && (p->ns == NULL || !name_eq(v->type, v->ns, p->ns)))
		return 0;
	if (!name_eq(v->type, v->name, p->name))
		return 0;
	if (v->version != NULL && (p->version == NULL || strcmp(v->version, p->version) != 0))
		return 0;
	for (size_t i = 0; i < v->nq; i++) {
		const char *pv = purl_qual(p, v->qk[i]);

		if (pv == NULL || strcmp(pv, v->qv[i]) != 0)
			return 0;
	}
	if (v->subpath != NULL && (p->subpath == NULL || strcmp(v->subpath, p->subpath) != 0))
		return 0;
	return 1;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The purl type of an inventory package kind; NULL when none. */
static const char *kind_type(const char *kind)
{
	static const char *const map[][2] = {
		{ "dpkg", "deb" },    { "apk", "apk" },		  { "rpm", "rpm" },
		{ "pypi", "pypi" },   { "npm", "npm" },		  { "go", "golang" },
		{ "maven", "maven" }, { "cargo", "cargo" },	  { "gem", "gem" },
		{ "nuget", "nuget" }, { "composer", "composer" }, { "pub", "pub" },
		{ "hex", "hex" },     { "cran", "cran" },	  { "hackage", "hackage" },
		{ "swift", "swift" },
	};

	for (size_t i = 0; kind != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(kind, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* Does the statement purl string s name this finding's package? */
static int package_matches(const char *s, const json_t *finding)
{
	const json_t *pkg = json_object_get(finding, "package");
	const char *pp = jstr(pkg, "purl"), *ktype, *pname, *arch, *ver;
	struct purl v, p;
	char full[PURL_MAX * 2 + 2];

	if (s == NULL || purl_parse(&v, s) != 0)
		return 0;
	if (pp != NULL && purl_parse(&p, pp) == 0)
		return purl_covers(&v, &p);
	/* No purl on the package: type from its kind, then the name. */
	ktype = kind_type(jstr(pkg, "kind"));
	pname = jstr(pkg, "name");
	if (ktype == NULL || pname == NULL || strcmp(ktype, v.type) != 0)
		return 0;
	if (strcmp(v.type, "deb") == 0 || strcmp(v.type, "apk") == 0 ||
	    strcmp(v.type, "rpm") == 0 || v.ns == NULL) {
		/* OS package namespaces are the vendor (debian, alpine), not part
		 * of the name. */
		if (!name_eq(v.type, v.name, pname))
			return 0;
	} else {
		snprintf(full, sizeof(full), "%s%s%s", v.ns,
			 strcmp(v.type, "maven") == 0 ? ":" : "/", v.name);
		if (!name_eq(v.type, full, pname))
			return 0;
	}
	if (v.version != NULL) {
		ver = jstr(pkg, "version");
		if ((ver == NULL || strcmp(ver, v.version) != 0) &&
		    (jstr(finding, "installed_version") == NULL ||
		     strcmp(jstr(finding, "installed_version"), v.version) != 0))
			return 0;
	}
	arch = purl_qual(&v, "arch");
	if (arch != NULL && jstr(pkg, "arch") != NULL && strcmp(arch, jstr(pkg, "arch")) != 0)
		return 0;
	return 1;
}

/* ---- images -------------------------------------------------------------- */

/* Canonical repository: no scheme, Docker Hub's aliases folded, "library/"
 * for official images, host lower-cased. */
static void norm_repo(char *out, size_t n, const char *r)
{
	char tmp[1200];
	const char *slash;
	size_t hl;

	if (strncmp(r, "https://", 8) == 0)
		r += 8;
	else if (strncmp(r, "http://", 7) == 0)
		r += 7;
	slash = strchr(r, '/');
	hl = slash ? (size_t)(slash - r) : 0;
	/* A first segment with '.' or ':' or "localhost" is a registry host. */
	if (slash == NULL || !(memchr(r, '.', hl) || memchr(r, ':', hl) ||
			       (hl == 9 && strncmp(r, "localhost", 9) == 0)))
		snprintf(tmp, sizeof(tmp), "docker.io/%s", r);
	else
		snprintf(tmp, sizeof(tmp), "%s", r);
	slash = strchr(tmp, '/');
	for (char *c = tmp; c < slash; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (strncmp(tmp, "index.docker.io/", 16) == 0 ||
	    strncmp(tmp, "registry-1.docker.io/", 21) == 0)
		snprintf(out, n, "docker.io/%s", strchr(tmp, '/') + 1);
	else
		snprintf(out, n, "%s", tmp);
	if (strncmp(out, "docker.io/", 10) == 0 && strchr(out + 10, '/') == NULL) {
		snprintf(tmp, sizeof(tmp), "docker.io/library/%s", out + 10);
		snprintf(out, n, "%s", tmp);
	}
	for (size_t l = strlen(out); l > 0 && out[l - 1] == '/'; l--)
		out[l - 1] = '\0';
}

/* The tag of a reference "repo:tag" / "repo:tag@sha256:..." or NULL. */
static int ref_tag(char *out, size_t n, const char *ref)
{
	const char *at, *slash, *colon;
	size_t end;

	if (ref == NULL)
		return -1;
	at = strchr(ref, '@');
	end = at ? (size_t)(at - ref) : strlen(ref);
	slash = NULL;
	for (size_t i = 0; i < end; i++)
		if (ref[i] == '/')
			slash = ref + i;
	colon = NULL;
	for (const char *c = slash ? slash : ref; c < ref + end; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL || (size_t)(ref + end - colon - 1) >= n)
		return -1;
	memcpy(out, colon + 1, (size_t)(ref + end - colon - 1));
	out[ref + end - colon - 1] = '\0';
	return 0;
}

static int image_matches(const char *id, const json_t *image)
{
	const char *repo = jstr(image, "repository"), *digest = jstr(image, "digest"),
		   *ref = jstr(image, "ref");
	char a[1200], b[1200], tag[256];
	struct purl u;
	const char *last, *q;

	if (id == NULL)
		return 0;
	if (digest != NULL && cs_policy_streq_ci(id, digest))
		return 1;
	if (ref != NULL && strcmp(id, ref) == 0)
		return 1;
	if (repo != NULL && strncmp(id, "pkg:", 4) != 0) {
		const char *at = strchr(id, '@');

		norm_repo(a, sizeof(a), repo);
		if (at == NULL) {
			norm_repo(b, sizeof(b), id);
			return strcmp(a, b) == 0;
		}
		if (digest == NULL || !cs_policy_streq_ci(at + 1, digest) ||
		    (size_t)(at - id) >= sizeof(tag))
			return 0;
		memcpy(tag, id, (size_t)(at - id));
		tag[at - id] = '\0';
		norm_repo(b, sizeof(b), tag);
		return strcmp(a, b) == 0;
	}
	if (purl_parse(&u, id) != 0 || strcmp(u.type, "oci") != 0 || repo == NULL)
		return 0;
	norm_repo(a, sizeof(a), repo);
	last = strrchr(a, '/');
	last = last ? last + 1 : a;
	if (!cs_policy_streq_ci(u.name, last))
		return 0;
	if (u.version != NULL && (digest == NULL || !cs_policy_streq_ci(u.version, digest)))
		return 0;
	if ((q = purl_qual(&u, "repository_url")) != NULL) {
		norm_repo(b, sizeof(b), q);
		if (strcmp(a, b) != 0)
			return 0;
	}
	if (u.version == NULL && (q = purl_qual(&u, "tag")) != NULL &&
	    (ref_tag(tag, sizeof(tag), ref) != 0 || strcmp(tag, q) != 0))
		return 0;
	return 1;
}

/* ---- statements ---------------------------------------------------------- */

static const char *component_id(const json_t *c, int which)
{
	return which == 0 ? jstr(c, "@id") : jstr(json_object_get(c, "identifiers"), "purl");
}

static int products_match(const json_t *products, const json_t *finding, const json_t *image)
{
	for (size_t i = 0; i < json_array_size(products); i++) {
		const json_t *pr = json_array_get(products, i);
		const json_t *subs = json_object_get(pr, "subcomponents");

		for (int w = 0; w < 2; w++) {
			const char *id = component_id(pr, w);

			if (id == NULL)
				continue;
			if (image_matches(id, image)) {
				if (json_array_size(subs) == 0)
					return 1;
				for (size_t k = 0; k < json_array_size(subs); k++) {
					const json_t *s = json_array_get(subs, k);

					if (package_matches(component_id(s, 0), finding) ||
					    package_matches(component_id(s, 1), finding))
						return 1;
				}
			} else if (strncmp(id, "pkg:", 4) == 0 &&
				   strncasecmp(id + 4, "oci/", 4) != 0 &&
				   package_matches(id, finding)) {
				/* A package as the product: the statement is about
				 * that package wherever it is installed. */
				return 1;
			}
		}
	}
	return 0;
}

int cs_policy_finding_has_id(const json_t *finding, const char *s)
{
	static const char *const lists[] = { "aliases", "upstream" };

	if (s == NULL)
		return 0;
	if (jstr(finding, "id") != NULL && cs_policy_streq_ci(s, jstr(finding, "id")))
		return 1;
	for (size_t l = 0; l < 2; l++) {
		const json_t *a = json_object_get(finding, lists[l]);

		for (size_t i = 0; i < json_array_size(a); i++) {
			const char *x = json_string_value(json_array_get(a, i));

			if (x != NULL && cs_policy_streq_ci(s, x))
				return 1;
		}
	}
	return 0;
}

static int vuln_matches(const json_t *v, const json_t *finding)
{
	const json_t *al = json_object_get(v, "aliases");

	if (cs_policy_finding_has_id(finding, jstr(v, "name")) ||
	    cs_policy_finding_has_id(finding, jstr(v, "@id")))
		return 1;
	for (size_t i = 0; i < json_array_size(al); i++)
		if (cs_policy_finding_has_id(finding, json_string_value(json_array_get(al, i))))
			return 1;
	return 0;
}

const json_t *cs_policy_vex_find(const struct cs_policy *p, const json_t *finding,
				 const json_t *image, size_t *doc_index, size_t *stmt_index)
{
	const json_t *best = NULL;
	long long bs = 0;
	long bn = 0;

	for (size_t d = 0; d < p->nvex; d++) {
		const json_t *doc = p->vex[d].doc, *sts = json_object_get(doc, "statements");

		for (size_t i = 0; i < json_array_size(sts); i++) {
			const json_t *s = json_array_get(sts, i);
			const char *ts = jstr(s, "timestamp");
			long long secs;
			long ns;

			if (!vuln_matches(json_object_get(s, "vulnerability"), finding) ||
			    !products_match(json_object_get(s, "products"), finding, image))
				continue;
			/* A statement without a timestamp inherits the document's
			 * (validated at load, so parsing cannot fail here). */
			if (ts == NULL)
				ts = jstr(doc, "timestamp");
			if (cs_policy_datetime_parse(ts, &secs, &ns) != 0)
				continue;
			/* The latest statement wins; on a tie the later one in the
			 * policy's order (documents, then statements). */
			if (best == NULL || secs > bs || (secs == bs && ns >= bn)) {
				best = s;
				bs = secs;
				bn = ns;
				*doc_index = d;
				*stmt_index = i;
			}
		}
	}
	return best;
}
