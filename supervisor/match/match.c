/*
 * match.c - the OSV evaluation algorithm (osv-schema, "Evaluation") for one
 * record and one installed package, and the finding that carries its
 * evidence. docs/matching.md explains every rule below.
 *
 * Every event is evaluated without sorting the array: by the specification's
 * loop over sorted events, the final state is set by the greatest event (in
 * that order) that "fires" for v (introduced <= v, fixed <= v, last_affected
 * < v); ties keep array order, as a stable sort does. That is O(n) version
 * comparisons per range and no allocation, whatever the record holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/match/match_internal.h"

enum ev_kind { EV_NONE = 0, EV_INTRO, EV_FIXED, EV_LAST, EV_LIMIT };

static const char *const ev_names[] = {"", "introduced", "fixed", "last_affected", "limit"};

#define REASON_MAX 900

struct range_eval {
	int status;               /* 1 affected, 0 not, -1 could not be evaluated */
	const char *lower;        /* the introduced event that made it affected */
	const char *fixed;        /* lowest fixed > v, or NULL */
	const char *upper;        /* nearest bound above v, or NULL */
	enum ev_kind upper_kind;
	char why[REASON_MAX];     /* status -1: what failed */
};

static int vcmp(int *out, enum cs_verscheme s, const char *a, const char *b)
{
	return cs_vercmp_flags(out, s, a, b, CS_VERCMP_LENIENT);
}

/* One event object: exactly one of the four kinds, a string value. */
static enum ev_kind ev_parse(const json_t *e, const char **val)
{
	enum ev_kind k = EV_NONE;
	int i, n = 0;

	*val = NULL;
	if (!json_is_object(e))
		return EV_NONE;
	for (i = EV_INTRO; i <= EV_LIMIT; i++) {
		json_t *v = json_object_get(e, ev_names[i]);

		if (v == NULL)
			continue;
		if (!json_is_string(v) || json_string_length(v) == 0)
			return EV_NONE;
		n++;
		k = (enum ev_kind)i;
		*val = json_string_value(v);
	}
	return n == 1 ? k : EV_NONE;
}

static int fail(struct range_eval *re, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct range_eval *re, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(re->why, sizeof(re->why), fmt, ap);
	va_end(ap);
	re->status = -1;
	return -1;
}

/* "introduced: 0" sorts before every version and is <= every version. */
static int is_zero_intro(enum ev_kind k, const char *val)
{
	return k == EV_INTRO && strcmp(val, "0") == 0;
}

/*
 * Evaluates one SEMVER or ECOSYSTEM range for v (already known to be a
 * version the scheme can order).
 */
static int eval_range(struct range_eval *re, const json_t *range, enum cs_verscheme s, const char *v)
{
	const json_t *events = json_object_get(range, "events");
	size_t i, n;
	int c, has_limit = 0, before_limit = 0;
	enum ev_kind bk = EV_NONE;
	const char *bv = NULL;

	memset(re, 0, sizeof(*re));
	if (!json_is_array(events) || json_array_size(events) == 0)
		return fail(re, "range has no events");
	n = json_array_size(events);

	for (i = 0; i < n; i++) {
		const char *val;
		enum ev_kind k = ev_parse(json_array_get(events, i), &val);

		if (k == EV_NONE)
			return fail(re, "event %zu is not exactly one of introduced/fixed/last_affected/limit", i);
		if (k == EV_LIMIT) {
			has_limit = 1;
			if (strchr(val, '*') != NULL) { /* "*" is infinity */
				before_limit = 1;
				continue;
			}
			if (vcmp(&c, s, v, val) != 0)
				return fail(re, "limit \"%.200s\": %.600s", val, cs_err_msg());
			if (c < 0)
				before_limit = 1;
			continue;
		}
		/* Does it fire? */
		if (is_zero_intro(k, val)) {
			c = 1;
		} else {
			if (vcmp(&c, s, v, val) != 0)
				return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg());
			if (k == EV_LAST)
				c = c > 0 ? 1 : -1;
			else
				c = c >= 0 ? 1 : -1;
		}
		if (c < 0)
			continue;
		/* Is it the greatest firing event so far (ties: later wins)? */
		if (bk == EV_NONE || is_zero_intro(bk, bv)) {
			/* Nothing sorts below "introduced: 0"; equal ones keep order. */
			bk = k;
			bv = val;
			continue;
		}
		if (is_zero_intro(k, val))
			continue;
		if (vcmp(&c, s, val, bv) != 0)
			return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg());
		if (c >= 0) {
			bk = k;
			bv = val;
		}
	}
	if (has_limit && !before_limit) {
		re->status = 0;
		return 0;
	}
	if (bk != EV_INTRO) {
		re->status = 0;
		return 0;
	}
	re->status = 1;
	re->lower = bv;
	/* The nearest bound above v, and the lowest fix above v. */
	for (i = 0; i < n; i++) {
		const char *val;
		enum ev_kind k = ev_parse(json_array_get(events, i), &val);

		if (k == EV_INTRO || (k == EV_LIMIT && strchr(val, '*') != NULL))
			continue;
		if (vcmp(&c, s, val, v) != 0)
			return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg());
		if (c < 0 || (c == 0 && k != EV_LAST))
			continue;
		if (k == EV_FIXED) {
			if (re->fixed == NULL || (vcmp(&c, s, val, re->fixed) == 0 && c < 0))
				re->fixed = val;
		}
		if (re->upper == NULL || (vcmp(&c, s, val, re->upper) == 0 && c < 0)) {
			re->upper = val;
			re->upper_kind = k;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */

struct cand {
	const json_t *entry;
	const json_t *range;      /* NULL: matched through affected[].versions */
	size_t lookup;
	const char *fixed;
	char reason[REASON_MAX];
};

static int note(json_t *notes, const char *id, const char *name, const char *version, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int note(json_t *notes, const char *id, const char *name, const char *version, const char *fmt, ...)
{
	char why[REASON_MAX];
	va_list ap;
	json_t *o;

	if (notes == NULL || !json_is_array(notes))
		return 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "package", name, "version", version, "reason", why);
	if (o == NULL || json_array_append_new(notes, o) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory (or text that is not UTF-8)");
	return 0;
}

static void describe(char *out, size_t n, const struct range_eval *re, const char *v)
{
	if (re->upper == NULL)
		snprintf(out, n, "introduced %.200s <= %.200s (no fix or end of range)", re->lower, v);
	else
		snprintf(out, n, "introduced %.200s <= %.200s %s %s %.200s", re->lower, v,
			 re->upper_kind == EV_LAST ? "<=" : "<", ev_names[re->upper_kind], re->upper);
}

static int in_versions(const json_t *versions, enum cs_verscheme s, const char *v, int v_ok)
{
	size_t i;
	int c;

	if (!json_is_array(versions))
		return 0;
	for (i = 0; i < json_array_size(versions); i++) {
		const char *x = json_string_value(json_array_get(versions, i));

		if (x == NULL)
			continue;
		if (strcmp(x, v) == 0)
			return 1;
		/* Same version spelled differently ("v1.2.3", "1.0" vs "1.0.0"). */
		if (v_ok && vcmp(&c, s, v, x) == 0 && c == 0)
			return 1;
	}
	return 0;
}

/* Keeps the candidate whose fix is highest: escaping every matched range
 * takes at least that version. A candidate with a fix beats one without. */
static int better(const struct cand *a, const struct cand *b, enum cs_verscheme s)
{
	int c;

	if (b->entry == NULL)
		return 1;
	if (a->fixed == NULL)
		return 0;
	if (b->fixed == NULL)
		return 1;
	return vcmp(&c, s, a->fixed, b->fixed) == 0 && c > 0;
}

static json_t *copy_or_empty(const json_t *v)
{
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

static const char *const pkg_fields[] = {
	"kind", "name", "version", "arch", "source_name", "source_version", "origin", "epoch",
	"rpm_version", "rpm_release", "source_rpm", "modularity_label", "group", "path", "purl",
	"db", "layer",
};

static json_t *pkg_copy(const json_t *pkg)
{
	json_t *o = json_object(), *v;
	size_t k;

	if (o == NULL)
		return NULL;
	for (k = 0; k < sizeof(pkg_fields) / sizeof(pkg_fields[0]); k++) {
		v = json_object_get(pkg, pkg_fields[k]);
		if (v != NULL && json_object_set_new(o, pkg_fields[k], json_deep_copy(v)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int add_dsev(json_t *a, const char *source, const char *type, const char *value)
{
	json_t *o;
	size_t i;

	if (value == NULL || *value == '\0')
		return 0;
	for (i = 0; i < json_array_size(a); i++) {
		json_t *x = json_array_get(a, i);

		if (strcmp(cs_match_jstr(x, "source"), source) == 0 && strcmp(cs_match_jstr(x, "value"), value) == 0)
			return 0;
	}
	o = json_pack("{s:s, s:s, s:s}", "source", source, "type", type, "value", value);
	if (o == NULL || json_array_append_new(a, o) != 0)
		return -1;
	return 0;
}

static const char *urgency_of(const json_t *entry)
{
	const char *u = cs_match_jstr(json_object_get(entry, "ecosystem_specific"), "urgency");

	return u != NULL ? u : cs_match_jstr(json_object_get(entry, "database_specific"), "urgency");
}

/* Distribution ratings (docs/matching.md, "Severity"). */
static int distro_severity(json_t *a, enum cs_match_family fam, const json_t *record, const json_t *entry)
{
	static const char *const rh[] = {"Critical", "Important", "Moderate", "Low"};
	const json_t *sevs[2] = {json_object_get(record, "severity"), json_object_get(entry, "severity")};
	const char *s;
	size_t i, k;

	if (fam == CS_FAM_DEBIAN)
		return add_dsev(a, "Debian", "urgency", urgency_of(entry));
	if (fam == CS_FAM_UBUNTU) {
		for (k = 0; k < 2; k++)
			for (i = 0; json_is_array(sevs[k]) && i < json_array_size(sevs[k]); i++) {
				json_t *x = json_array_get(sevs[k], i);
				const char *t = cs_match_jstr(x, "type");

				if (t != NULL && strcmp(t, "Ubuntu") == 0 &&
				    add_dsev(a, "Ubuntu", "priority", cs_match_jstr(x, "score")) != 0)
					return -1;
			}
		return 0;
	}
	if (fam == CS_FAM_REDHAT) {
		s = cs_match_jstr(json_object_get(entry, "database_specific"), "severity");
		if (s == NULL)
			s = cs_match_jstr(json_object_get(record, "database_specific"), "severity");
		if (s != NULL)
			return add_dsev(a, "Red Hat", "severity", s);
		/* RHSA summaries start with the rating: "Important: openssl security update". */
		s = cs_match_jstr(record, "summary");
		for (k = 0; s != NULL && k < sizeof(rh) / sizeof(rh[0]); k++) {
			size_t l = strlen(rh[k]);

			if (strncmp(s, rh[k], l) == 0 && s[l] == ':')
				return add_dsev(a, "Red Hat", "severity", rh[k]);
		}
	}
	return 0;
}

/* "DSA-3029-1" -> "DSA", "RHSA-2024:4546" -> "RHSA". */
static json_t *database_of(const char *id)
{
	size_t l = strcspn(id, "-:");

	return l > 0 && id[l] != '\0' ? json_stringn(id, l) : json_null();
}

static int build(json_t **finding, const json_t *record, const json_t *pkg, const struct cs_match_pkg *p,
		 const struct cand *c)
{
	const char *id = cs_match_jstr(record, "id");
	const struct cs_match_lookup *lk = &p->lookups[c->lookup];
	const json_t *rt = c->range ? json_object_get(c->range, "type") : NULL;
	const char *url, *u, *fix_state, *fix_reason = NULL;
	json_t *f = NULL, *adv, *m, *dsev, *sev;
	int r = CS_ENOMEM;

	url = cs_match_jstr(json_object_get(c->entry, "database_specific"), "source");
	if (url == NULL)
		url = cs_match_jstr(json_object_get(record, "database_specific"), "source");

	fix_state = c->fixed != NULL ? "fixed" : "not-fixed";
	u = urgency_of(c->entry);
	if (c->fixed == NULL && p->fam == CS_FAM_DEBIAN && u != NULL &&
	    (strcmp(u, "end-of-life") == 0 || strcmp(u, "unimportant") == 0)) {
		fix_state = "will-not-fix";
		fix_reason = strcmp(u, "end-of-life") == 0
				     ? "Debian urgency end-of-life: the package is no longer supported in this release"
				     : "Debian urgency unimportant: no security update is planned";
	}

	sev = json_object_get(record, "severity");
	if (!json_is_array(sev) || json_array_size(sev) == 0)
		sev = json_object_get(c->entry, "severity");
	dsev = json_array();
	if (dsev == NULL || distro_severity(dsev, p->fam, record, c->entry) != 0) {
		json_decref(dsev);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}

	adv = json_pack("{s:s, s:O?, s:O?, s:o, s:s?}", "id", id, "modified", json_object_get(record, "modified"),
			"published", json_object_get(record, "published"), "database", database_of(id), "url", url);
	m = json_pack("{s:s, s:s, s:s?, s:s, s:o, s:s}", "via", lk->via, "looked_up", lk->name, "ecosystem",
		      cs_match_jstr(json_object_get(c->entry, "package"), "ecosystem"), "range_type",
		      c->range ? (json_is_string(rt) ? json_string_value(rt) : "?") : "versions", "range",
		      c->range ? json_deep_copy(json_object_get(c->range, "events")) : json_null(), "reason",
		      c->reason);
	f = json_pack("{s:s, s:o, s:s?, s:o, s:s, s:s, s:s?, s:s, s:o, s:o, s:o, s:o}", "id", id, "aliases",
		      copy_or_empty(json_object_get(record, "aliases")), "summary", cs_match_jstr(record, "summary"),
		      "package", pkg_copy(pkg), "ecosystem", p->target, "installed_version", lk->version,
		      "fixed_version", c->fixed, "fix_state", fix_state, "severity", copy_or_empty(sev),
		      "distro_severity", dsev, "advisory", adv, "match", m);
	dsev = NULL;
	if (f == NULL)
		goto out;
	if (fix_reason != NULL && json_object_set_new(f, "fix_state_reason", json_string(fix_reason)) != 0)
		goto out;
	if (json_is_array(json_object_get(record, "upstream")) &&
	    json_object_set_new(f, "upstream", json_deep_copy(json_object_get(record, "upstream"))) != 0)
		goto out;
	*finding = f;
	f = NULL;
	r = 0;
out:
	json_decref(f);
	return r == 0 ? 0 : cs_err_set(r, "out of memory building a finding (or text that is not UTF-8)");
}

int cs_match_record(json_t **finding, const json_t *record, const json_t *pkg, const char *ecosystem,
		    json_t *notes)
{
	struct cs_match_pkg *p = NULL;
	struct cand *best = NULL, *cur = NULL;
	struct range_eval *re = NULL;
	const json_t *affected, *w;
	const char *id;
	int r, v_ok[CS_MATCH_LOOKUPS_MAX], v_checked[CS_MATCH_LOOKUPS_MAX];
	size_t i, j, k;

	if (finding == NULL)
		return cs_err_set(CS_EINVAL, "no output");
	*finding = NULL;
	if (record == NULL || !json_is_object(record) || (id = cs_match_jstr(record, "id")) == NULL)
		return cs_err_set(CS_EFORMAT, "OSV record is not an object with an id");
	/* A withdrawn record no longer claims anything. */
	w = json_object_get(record, "withdrawn");
	if (w != NULL && !json_is_null(w))
		return 0;
	affected = json_object_get(record, "affected");
	if (!json_is_array(affected))
		return 0;

	p = malloc(sizeof(*p));
	best = calloc(1, sizeof(*best));
	cur = calloc(1, sizeof(*cur));
	re = malloc(sizeof(*re));
	if (p == NULL || best == NULL || cur == NULL || re == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_match_pkg_prepare(p, pkg, ecosystem)) != 0)
		goto out;
	memset(v_checked, 0, sizeof(v_checked));
	memset(v_ok, 0, sizeof(v_ok));

	for (i = 0; i < json_array_size(affected); i++) {
		const json_t *entry = json_array_get(affected, i);
		const json_t *package = json_object_get(entry, "package");
		const json_t *ranges = json_object_get(entry, "ranges");
		const char *eco = cs_match_jstr(package, "ecosystem");
		const char *name = cs_match_jstr(package, "name");

		/* OS packages only ever meet their own release's entries. */
		if (eco == NULL || name == NULL || !cs_match_ecosystem_applies(p->target, eco))
			continue;
		for (k = 0; k < p->nlookups; k++) {
			const char *v = p->lookups[k].version;

			if (!cs_match_names_equal(p->names, name, p->lookups[k].name))
				continue;
			if (!v_checked[k]) {
				v_checked[k] = 1;
				v_ok[k] = cs_version_check(p->scheme, v, CS_VERCMP_LENIENT) == 0;
				if (!v_ok[k] && (r = note(notes, id, p->lookups[k].name, v,
							  "installed version cannot be ordered, ranges not evaluated: %.600s",
							  cs_err_msg())) != 0)
					goto out;
			}
			for (j = 0; json_is_array(ranges) && j < json_array_size(ranges); j++) {
				const json_t *range = json_array_get(ranges, j);
				const char *type = cs_match_jstr(range, "type");
				enum cs_verscheme s;

				if (type != NULL && strcmp(type, "GIT") == 0)
					continue; /* needs the repository's commit graph */
				if (type == NULL || (strcmp(type, "SEMVER") != 0 && strcmp(type, "ECOSYSTEM") != 0)) {
					if ((r = note(notes, id, p->lookups[k].name, v, "range type \"%.64s\" is not evaluated",
						      type ? type : "(none)")) != 0)
						goto out;
					continue;
				}
				s = strcmp(type, "SEMVER") == 0 ? p->semver : p->scheme;
				if (!v_ok[k] || (s != p->scheme && cs_version_check(s, v, CS_VERCMP_LENIENT) != 0))
					continue;
				if (eval_range(re, range, s, v) != 0) {
					if ((r = note(notes, id, p->lookups[k].name, v, "range not evaluated: %.600s", re->why)) != 0)
						goto out;
					continue;
				}
				if (re->status != 1)
					continue;
				memset(cur, 0, sizeof(*cur));
				cur->entry = entry;
				cur->range = range;
				cur->lookup = k;
				cur->fixed = re->fixed;
				describe(cur->reason, sizeof(cur->reason), re, v);
				if (better(cur, best, s))
					memcpy(best, cur, sizeof(*best));
			}
			if (best->entry == NULL && in_versions(json_object_get(entry, "versions"), p->scheme, v, v_ok[k])) {
				best->entry = entry;
				best->range = NULL;
				best->lookup = k;
				best->fixed = NULL;
				snprintf(best->reason, sizeof(best->reason), "%.200s is listed in affected[].versions", v);
			}
		}
	}
	r = best->entry != NULL ? build(finding, record, pkg, p, best) : 0;
out:
	free(p);
	free(best);
	free(cur);
	free(re);
	return r;
}
