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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/match/match_internal.h"

struct range_eval {
	int status;               /* 1 affected, 0 not, -1 could not be evaluated */
	const char *lower;        /* the introduced event that made it affected */
	const char *fixed;        /* lowest fixed > v, or NULL */
	const char *upper;        /* nearest bound above v, or NULL */
	int upper_kind;
	char why[CS_MATCH_REASON_MAX];  /* status -1: what failed */
};

static int vcmp(int *out, enum cs_verscheme s, const char *a, const char *b)
{
	return cs_vercmp_flags(out, s, a, b, CS_VERCMP_LENIENT);
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
static int is_zero_intro(int k, const char *val)
{
	return k == CS_EV_INTRO && strcmp(val, "0") == 0;
}

/*
 * Evaluates one SEMVER or ECOSYSTEM range for v (already known to be a
 * version the scheme can order). A damaged form is CS_EDB; everything else
 * is re->status.
 */
static int eval_range(struct range_eval *re, const struct cs_match_range *range, enum cs_verscheme s,
		      const char *v)
{
	struct cs_match_rd ev = range->events;
	uint32_t i, n = range->nevents;
	int c, k, bk = CS_EV_NONE, has_limit = 0, before_limit = 0;
	const char *bv = NULL, *val;

	re->status = 0;
	re->lower = re->fixed = re->upper = NULL;
	re->upper_kind = CS_EV_NONE;
	re->why[0] = '\0';
	if (n == 0)
		return fail(re, "range has no events"), 0;

	for (i = 0; i < n; i++) {
		if (cs_match_event_next(&k, &val, &ev) != 0)
			return CS_EDB;
		if (k == CS_EV_NONE)
			return fail(re, "event %u is not exactly one of introduced/fixed/last_affected/limit", i), 0;
		if (k == CS_EV_LIMIT) {
			has_limit = 1;
			if (strchr(val, '*') != NULL) { /* "*" is infinity */
				before_limit = 1;
				continue;
			}
			if (vcmp(&c, s, v, val) != 0)
				return fail(re, "limit \"%.200s\": %.600s", val, cs_err_msg()), 0;
			if (c < 0)
				before_limit = 1;
			continue;
		}
		/* Does it fire? */
		if (is_zero_intro(k, val)) {
			c = 1;
		} else {
			if (vcmp(&c, s, v, val) != 0)
				return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg()), 0;
			if (k == CS_EV_LAST)
				c = c > 0 ? 1 : -1;
			else
				c = c >= 0 ? 1 : -1;
		}
		if (c < 0)
			continue;
		/* Is it the greatest firing event so far (ties: later wins)? */
		if (bk == CS_EV_NONE || is_zero_intro(bk, bv)) {
			/* Nothing sorts below "introduced: 0"; equal ones keep order. */
			bk = k;
			bv = val;
			continue;
		}
		if (is_zero_intro(k, val))
			continue;
		if (vcmp(&c, s, val, bv) != 0)
			return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg()), 0;
		if (c >= 0) {
			bk = k;
			bv = val;
		}
	}
	if ((has_limit && !before_limit) || bk != CS_EV_INTRO)
		return 0;
	re->status = 1;
	re->lower = bv;
	/* The nearest bound above v, and the lowest fix above v. */
	ev = range->events;
	for (i = 0; i < n; i++) {
		if (cs_match_event_next(&k, &val, &ev) != 0)
			return CS_EDB;
		if (k == CS_EV_INTRO || (k == CS_EV_LIMIT && strchr(val, '*') != NULL))
			continue;
		if (vcmp(&c, s, val, v) != 0)
			return fail(re, "event \"%.200s\": %.600s", val, cs_err_msg()), 0;
		if (c < 0 || (c == 0 && k != CS_EV_LAST))
			continue;
		if (k == CS_EV_FIXED) {
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

static int note(json_t *notes, const char *id, const char *name, const char *version, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int note(json_t *notes, const char *id, const char *name, const char *version, const char *fmt, ...)
{
	char why[CS_MATCH_REASON_MAX];
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

static void describe(char *out, size_t n, const struct cs_match_hit *h, const char *v)
{
	if (!h->has_range)
		snprintf(out, n, "%.200s is listed in affected[].versions", v);
	else if (h->upper == NULL)
		snprintf(out, n, "introduced %.200s <= %.200s (no fix or end of range)", h->lower, v);
	else
		snprintf(out, n, "introduced %.200s <= %.200s %s %s %.200s", h->lower, v,
			 h->upper_kind == CS_EV_LAST ? "<=" : "<", cs_match_ev_name(h->upper_kind), h->upper);
}

/* 1 listed, 0 not, CS_EDB damaged. */
static int in_versions(const struct cs_match_entry *e, enum cs_verscheme s, const char *v, int v_ok)
{
	struct cs_match_rd r = e->versions;
	uint32_t i;
	int c;

	for (i = 0; i < e->nversions; i++) {
		const char *x = cs_match_rd_str(&r);

		if (r.bad)
			return cs_err_set(CS_EDB, "compiled versions list is damaged");
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
static int better(const struct range_eval *a, const struct cs_match_hit *b, enum cs_verscheme s)
{
	int c;

	if (!b->found)
		return 1;
	if (a->fixed == NULL)
		return 0;
	if (b->fixed == NULL)
		return 1;
	return vcmp(&c, s, a->fixed, b->fixed) == 0 && c > 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct cs_match_entry *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* The entries of a record's rows, each once, by index: *out points either
 * at one (stack) entry array or a malloc'd one (*heap set). */
static int gather(struct cs_match_entry **out, size_t *n, int *heap, struct cs_match_entry *stack, size_t cap,
		  const struct cs_match_row *rows, size_t nrows)
{
	size_t total = 0, i, k = 0, w;
	struct cs_match_entry *a = stack;
	int r;

	*heap = 0;
	for (i = 0; i < nrows; i++)
		total += rows[i].nentries;
	if (total > cap) {
		if (total > SIZE_MAX / sizeof(*a) || (a = malloc(total * sizeof(*a))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		*heap = 1;
	}
	for (i = 0; i < nrows; i++) {
		struct cs_match_rd rd = rows[i].entries;

		for (uint32_t j = 0; j < rows[i].nentries; j++)
			if ((r = cs_match_entry_next(&a[k++], &rd)) != 0) {
				if (*heap)
					free(a);
				*heap = 0;
				return r;
			}
	}
	if (nrows > 1) {
		qsort(a, k, sizeof(*a), cmp_entry);
		for (i = 0, w = 0; i < k; i++)
			if (w == 0 || a[w - 1].index != a[i].index)
				a[w++] = a[i];
		k = w;
	}
	*out = a;
	*n = k;
	return 0;
}

int cs_match_eval_rows(struct cs_match_hit *best, const struct cs_match_pkg *p, struct cs_match_vstate *vs,
		       const struct cs_match_row *rows, size_t nrows, json_t *notes)
{
	struct cs_match_entry stack[8], *ents = NULL;
	struct range_eval re;
	const char *id = nrows > 0 ? rows[0].id : "?";
	int r, heap = 0, noted[CS_MATCH_LOOKUPS_MAX] = {0};
	size_t i, k, nents = 0;

	memset(best, 0, sizeof(*best));
	if ((r = gather(&ents, &nents, &heap, stack, sizeof(stack) / sizeof(stack[0]), rows, nrows)) != 0)
		return r;
	for (i = 0; i < nents; i++) {
		const struct cs_match_entry *e = &ents[i];

		/* OS packages only ever meet their own release's entries. */
		if (!cs_match_ecosystem_applies(p->target, e->eco))
			continue;
		for (k = 0; k < p->nlookups; k++) {
			const char *v = p->lookups[k].version;
			struct cs_match_rd rr = e->ranges;
			int v_ok;

			if (!cs_match_names_equal(p->names, e->name, p->lookups[k].name))
				continue;
			if (vs->ok[k] < 0) {
				vs->ok[k] = cs_version_check(p->scheme, v, CS_VERCMP_LENIENT) == 0;
				snprintf(vs->why[k], sizeof(vs->why[k]), "%s", vs->ok[k] ? "" : cs_err_msg());
			}
			v_ok = vs->ok[k];
			if (!v_ok && !noted[k]) {
				noted[k] = 1;
				if ((r = note(notes, id, p->lookups[k].name, v,
					      "installed version cannot be ordered, ranges not evaluated: %.600s",
					      vs->why[k])) != 0)
					goto out;
			}
			for (uint32_t j = 0; j < e->nranges; j++) {
				struct cs_match_range g;
				enum cs_verscheme s;

				if ((r = cs_match_range_next(&g, &rr)) != 0)
					goto out;
				if (g.type != NULL && strcmp(g.type, "GIT") == 0)
					continue; /* needs the repository's commit graph */
				if (g.type == NULL || (strcmp(g.type, "SEMVER") != 0 && strcmp(g.type, "ECOSYSTEM") != 0)) {
					if ((r = note(notes, id, p->lookups[k].name, v, "range type \"%.64s\" is not evaluated",
						      g.type ? g.type : "(none)")) != 0)
						goto out;
					continue;
				}
				s = strcmp(g.type, "SEMVER") == 0 ? p->semver : p->scheme;
				if (!v_ok)
					continue;
				if (s != p->scheme) {
					if (vs->semver_ok[k] < 0)
						vs->semver_ok[k] = cs_version_check(s, v, CS_VERCMP_LENIENT) == 0;
					if (!vs->semver_ok[k])
						continue;
				}
				if ((r = eval_range(&re, &g, s, v)) != 0)
					goto out;
				if (re.status < 0) {
					if ((r = note(notes, id, p->lookups[k].name, v, "range not evaluated: %.600s", re.why)) != 0)
						goto out;
					continue;
				}
				if (re.status != 1 || !better(&re, best, s))
					continue;
				best->found = 1;
				best->lookup = k;
				best->entry = *e;
				best->has_range = 1;
				best->range = g;
				best->fixed = re.fixed;
				best->lower = re.lower;
				best->upper = re.upper;
				best->upper_kind = re.upper_kind;
			}
			if (!best->found) {
				if ((r = in_versions(e, p->scheme, v, v_ok)) < 0)
					goto out;
				if (r == 1) {
					memset(best, 0, sizeof(*best));
					best->found = 1;
					best->lookup = k;
					best->entry = *e;
				}
			}
		}
	}
	r = 0;
out:
	if (heap)
		free(ents);
	return r;
}

/* ---- findings -------------------------------------------------------------- */

static const char *const pkg_fields[] = {
	"kind", "name", "version", "arch", "source_name", "source_version", "origin", "epoch",
	"rpm_version", "rpm_release", "source_rpm", "modularity_label", "group", "path", "purl",
	"db", "layer",
};

json_t *cs_match_pkg_copy(const json_t *pkg)
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

/* Distribution ratings (docs/matching.md, "Severity"). sevs: the record's
 * and the entry's OSV severity arrays (either may be NULL). */
static int distro_severity(json_t *a, enum cs_match_family fam, const struct cs_match_header *h,
			   const struct cs_match_entry *e, const json_t *sevs[2])
{
	static const char *const rh[] = {"Critical", "Important", "Moderate", "Low"};
	const char *s;
	size_t i, k;

	if (fam == CS_FAM_DEBIAN)
		return add_dsev(a, "Debian", "urgency", e->urgency);
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
		s = e->ds_severity != NULL ? e->ds_severity : h->ds_severity;
		if (s != NULL)
			return add_dsev(a, "Red Hat", "severity", s);
		/* RHSA summaries start with the rating: "Important: openssl security update". */
		s = h->summary;
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

static json_t *parse_or_null(const char *text)
{
	return text != NULL ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

void cs_match_recjson_clear(struct cs_match_recjson *j)
{
	json_decref(j->aliases);
	json_decref(j->severity);
	json_decref(j->upstream);
	json_decref(j->id);
	json_decref(j->summary);
	json_decref(j->adv);
	for (size_t k = 0; k < sizeof(j->ev) / sizeof(j->ev[0]); k++) {
		json_decref(j->ev[k]);
		json_decref(j->ds[k]);
		json_decref(j->eco[k]);
	}
	memset(j, 0, sizeof(*j));
}

void cs_match_pkgjson_clear(struct cs_match_pkgjson *j)
{
	size_t k;

	json_decref(j->copy);
	json_decref(j->target);
	for (k = 0; k < CS_MATCH_LOOKUPS_MAX; k++) {
		json_decref(j->version[k]);
		json_decref(j->name[k]);
		json_decref(j->via[k]);
	}
	for (k = 0; k < sizeof(j->words) / sizeof(j->words[0]); k++)
		json_decref(j->words[k]);
	memset(j, 0, sizeof(*j));
}

static int pkgjson_make(struct cs_match_pkgjson *j, const json_t *pkg, const struct cs_match_pkg *p, size_t k)
{
	if (j->copy == NULL && (j->copy = cs_match_pkg_copy(pkg)) == NULL)
		return -1;
	if (j->target == NULL && (j->target = json_string(p->target)) == NULL)
		return -1;
	if (j->version[k] == NULL && (j->version[k] = json_string(p->lookups[k].version)) == NULL)
		return -1;
	if (j->name[k] == NULL && (j->name[k] = json_string(p->lookups[k].name)) == NULL)
		return -1;
	if (j->via[k] == NULL && (j->via[k] = json_string(p->lookups[k].via)) == NULL)
		return -1;
	return 0;
}

static int recjson_make(struct cs_match_recjson *j, const struct cs_match_header *h)
{
	struct cs_match_rd r = h->aliases;
	uint32_t i;

	if (j->made)
		return 0;
	j->aliases = json_array();
	if (j->aliases == NULL)
		return -1;
	for (i = 0; i < h->naliases; i++) {
		const char *s = cs_match_rd_str(&r);

		if (s == NULL || json_array_append_new(j->aliases, json_string_nocheck(s)) != 0)
			return -1;
	}
	if (h->flags & 2) {
		/* {"type", "score"} objects, kept as the record had them */
		r = h->severity;
		if ((j->severity = json_array()) == NULL)
			return -1;
		for (i = 0; i < h->nseverity; i++) {
			const char *t = cs_match_rd_str(&r), *sc = cs_match_rd_str(&r);
			json_t *o = json_object();

			if (o == NULL || t == NULL || sc == NULL || json_array_append_new(j->severity, o) != 0 ||
			    json_object_set_new_nocheck(o, "type", json_string_nocheck(t)) != 0 ||
			    json_object_set_new_nocheck(o, "score", json_string_nocheck(sc)) != 0)
				return -1;
		}
	} else if ((j->severity = parse_or_null(h->severity_json)) == NULL && h->severity_json != NULL) {
		return -1;
	}
	if (h->flags & 4) {
		r = h->upstream;
		if ((j->upstream = json_array()) == NULL)
			return -1;
		for (i = 0; i < h->nupstream; i++) {
			const char *u = cs_match_rd_str(&r);

			if (u == NULL || json_array_append_new(j->upstream, json_string_nocheck(u)) != 0)
				return -1;
		}
	} else if ((j->upstream = parse_or_null(h->upstream_json)) == NULL && h->upstream_json != NULL) {
		return -1;
	}
	j->id = json_string(h->id);
	j->summary = h->summary != NULL ? json_string(h->summary) : NULL;
	if (j->id == NULL || (h->summary != NULL && j->summary == NULL))
		return -1;
	j->made = 1;
	return 0;
}

/* The events of the matched range, as in the record. */
static json_t *range_events(const struct cs_match_range *g)
{
	struct cs_match_rd ev = g->events;
	json_t *a = json_array();
	const char *val;
	int k;

	for (uint32_t i = 0; a != NULL && i < g->nevents; i++) {
		if (cs_match_event_next(&k, &val, &ev) != 0 || k == CS_EV_NONE ||
		    json_array_append_new(a, json_pack("{s:s}", cs_match_ev_name(k), val)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *advisory(const struct cs_match_header *h, const char *url)
{
	return json_pack("{s:s, s:s?, s:s?, s:o, s:s?}", "id", h->id, "modified", h->modified, "published",
			 h->published, "database", database_of(h->id), "url", url);
}

/* The events of a matched range, made once per record and range (the
 * range's bytes stay put for the scan) and shared. A new reference. */
static json_t *cached_events(struct cs_match_recjson *rj, const struct cs_match_range *g)
{
	size_t k, n = sizeof(rj->ev) / sizeof(rj->ev[0]);

	for (k = 0; k < n && rj->ev_key[k] != NULL; k++)
		if (rj->ev_key[k] == g->events.p)
			return json_incref(rj->ev[k]);
	if (k == n)
		return range_events(g);
	if ((rj->ev[k] = range_events(g)) == NULL)
		return NULL;
	rj->ev_key[k] = g->events.p;
	return json_incref(rj->ev[k]);
}

/* Sets o[k] = v (stolen); keys are ours, so unchecked. -1 when v is NULL
 * or out of memory. */
static int put(json_t *o, const char *k, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new_nocheck(o, k, v);
}

/* A string from the compiled form (UTF-8: jansson accepted the record),
 * or null. */
static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string_nocheck(s) : json_null();
}

/* One of a few fixed words as a JSON string shared by a package's findings
 * (a new reference). */
static json_t *word(struct cs_match_pkgjson *pj, const char *w)
{
	static const char *const words[] = {"fixed", "not-fixed", "will-not-fix", "ECOSYSTEM",
					    "SEMVER", "versions", "?"};
	size_t k;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strcmp(words[k], w) == 0) {
			if (pj->words[k] == NULL)
				pj->words[k] = json_string_nocheck(w);
			return json_incref(pj->words[k]);
		}
	return json_string_nocheck(w);
}

/* An entry's ecosystem as JSON, made once per record and entry. */
static json_t *entry_eco(struct cs_match_recjson *rj, const struct cs_match_entry *e)
{
	size_t k, n = sizeof(rj->ds) / sizeof(rj->ds[0]);

	for (k = 0; k < n && rj->ds_key[k] != NULL; k++)
		if (rj->ds_key[k] == e->eco) {
			if (rj->eco[k] == NULL)
				rj->eco[k] = json_string_nocheck(e->eco);
			return json_incref(rj->eco[k]);
		}
	return json_string_nocheck(e->eco);
}

/* The distribution ratings of an entry, made once per record and entry
 * (they depend on nothing else) and shared. A new reference. */
static json_t *cached_dsev(struct cs_match_recjson *rj, const struct cs_match_header *h,
			   const struct cs_match_entry *e, enum cs_match_family fam, const json_t *esev)
{
	size_t k, n = sizeof(rj->ds) / sizeof(rj->ds[0]);
	const json_t *sevs[2] = {rj->severity, esev};
	json_t *a;

	for (k = 0; k < n && rj->ds_key[k] != NULL; k++)
		if (rj->ds_key[k] == e->eco)
			return json_incref(rj->ds[k]);
	a = json_array();
	if (a == NULL || distro_severity(a, fam, h, e, sevs) != 0) {
		json_decref(a);
		return NULL;
	}
	if (k < n) {
		rj->ds_key[k] = e->eco;
		rj->ds[k] = json_incref(a);
	}
	return a;
}

int cs_match_build_finding(json_t **finding, const struct cs_match_header *h, struct cs_match_recjson *rj,
			   struct cs_match_pkgjson *pj, const json_t *pkg, const struct cs_match_pkg *p,
			   const struct cs_match_hit *hit)
{
	const struct cs_match_lookup *lk = &p->lookups[hit->lookup];
	const struct cs_match_entry *e = &hit->entry;
	const char *u, *fix_state, *fix_reason = NULL;
	json_t *f = NULL, *adv = NULL, *m = NULL, *esev = NULL, *sev, *events = NULL;
	char reason[CS_MATCH_REASON_MAX];
	int bad = 0;

	*finding = NULL;
	if (recjson_make(rj, h) != 0 || pkgjson_make(pj, pkg, p, hit->lookup) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory building a finding");
	if (e->severity_json != NULL && (esev = parse_or_null(e->severity_json)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory building a finding");

	fix_state = hit->fixed != NULL ? "fixed" : "not-fixed";
	u = e->urgency;
	if (hit->fixed == NULL && p->fam == CS_FAM_DEBIAN && u != NULL &&
	    (strcmp(u, "end-of-life") == 0 || strcmp(u, "unimportant") == 0)) {
		fix_state = "will-not-fix";
		fix_reason = strcmp(u, "end-of-life") == 0
				     ? "Debian urgency end-of-life: the package is no longer supported in this release"
				     : "Debian urgency unimportant: no security update is planned";
	}
	sev = json_is_array(rj->severity) && json_array_size(rj->severity) > 0 ? rj->severity : esev;
	if (hit->has_range && (events = cached_events(rj, &hit->range)) == NULL)
		goto fail;
	describe(reason, sizeof(reason), hit, lk->version);

	/* The advisory object is the record's own unless the entry names
	 * another source; then it is this finding's. */
	if (e->ds_source == NULL) {
		if (rj->adv == NULL && (rj->adv = advisory(h, h->ds_source)) == NULL)
			goto fail;
		adv = json_incref(rj->adv);
	} else if ((adv = advisory(h, e->ds_source)) == NULL) {
		goto fail;
	}
	/* Keys in the order the report has always shown them. */
	if ((m = json_object()) == NULL)
		goto fail;
	bad |= put(m, "via", json_incref(pj->via[hit->lookup]));
	bad |= put(m, "looked_up", json_incref(pj->name[hit->lookup]));
	bad |= put(m, "ecosystem", entry_eco(rj, e));
	bad |= put(m, "range_type", word(pj, hit->has_range ? (hit->range.type != NULL ? hit->range.type : "?")
							    : "versions"));
	bad |= put(m, "range", events != NULL ? events : json_null());
	events = NULL;
	bad |= put(m, "reason", json_string(reason));
	if (bad || (f = json_object()) == NULL)
		goto fail;
	bad |= put(f, "id", json_incref(rj->id));
	bad |= put(f, "aliases", json_incref(rj->aliases));
	bad |= put(f, "summary", rj->summary != NULL ? json_incref(rj->summary) : json_null());
	bad |= put(f, "package", json_incref(pj->copy));
	bad |= put(f, "ecosystem", json_incref(pj->target));
	bad |= put(f, "installed_version", json_incref(pj->version[hit->lookup]));
	bad |= put(f, "fixed_version", str_or_null(hit->fixed));
	bad |= put(f, "fix_state", word(pj, fix_state));
	bad |= put(f, "severity", json_is_array(sev) ? json_incref(sev) : json_array());
	bad |= put(f, "distro_severity", cached_dsev(rj, h, e, p->fam, esev));
	bad |= put(f, "advisory", adv);
	adv = NULL;
	bad |= put(f, "match", m);
	m = NULL;
	if (fix_reason != NULL)
		bad |= put(f, "fix_state_reason", json_string_nocheck(fix_reason));
	if (json_is_array(rj->upstream))
		bad |= put(f, "upstream", json_incref(rj->upstream));
	if (bad)
		goto fail;
	json_decref(esev);
	*finding = f;
	return 0;
fail:
	json_decref(f);
	json_decref(m);
	json_decref(adv);
	json_decref(events);
	json_decref(esev);
	return cs_err_set(CS_ENOMEM, "out of memory building a finding (or text that is not UTF-8)");
}

/* ---- one JSON record --------------------------------------------------------- */

int cs_match_record(json_t **finding, const json_t *record, const json_t *pkg, const char *ecosystem,
		    json_t *notes)
{
	struct cs_match_pkg *p = NULL;
	struct cs_match_vstate vs;
	struct cs_match_hit *hit = NULL;
	struct cs_match_header h;
	struct cs_match_row row;
	struct cs_match_recjson rj = {0};
	struct cs_match_pkgjson pj = {0};
	struct cs_buf hb, rb;
	const json_t *affected, *w;
	size_t *idx = NULL, n, i;
	int r;

	if (finding == NULL)
		return cs_err_set(CS_EINVAL, "no output");
	*finding = NULL;
	if (record == NULL || !json_is_object(record) || cs_match_jstr(record, "id") == NULL)
		return cs_err_set(CS_EFORMAT, "OSV record is not an object with an id");
	/* A withdrawn record no longer claims anything. */
	w = json_object_get(record, "withdrawn");
	if (w != NULL && !json_is_null(w))
		return 0;
	affected = json_object_get(record, "affected");
	if (!json_is_array(affected))
		return 0;
	cs_buf_init(&hb, SIZE_MAX / 2);
	cs_buf_init(&rb, SIZE_MAX / 2);
	n = json_array_size(affected);
	p = malloc(sizeof(*p));
	hit = malloc(sizeof(*hit));
	idx = malloc((n > 0 ? n : 1) * sizeof(*idx));
	if (p == NULL || hit == NULL || idx == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_match_pkg_prepare(p, pkg, ecosystem)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		idx[i] = i;
	if ((r = cs_match_compile_row(&rb, record, idx, n)) != 0 ||
	    (r = cs_match_row_read(&row, rb.data, rb.len)) != 0)
		goto out;
	memset(vs.ok, -1, sizeof(vs.ok));
	memset(vs.semver_ok, -1, sizeof(vs.semver_ok));
	if ((r = cs_match_eval_rows(hit, p, &vs, &row, 1, notes)) != 0 || !hit->found)
		goto out;
	if ((r = cs_match_compile_header(&hb, record)) != 0 || (r = cs_match_header_read(&h, hb.data, hb.len)) != 0)
		goto out;
	r = cs_match_build_finding(finding, &h, &rj, &pj, pkg, p, hit);
out:
	cs_match_pkgjson_clear(&pj);
	cs_match_recjson_clear(&rj);
	cs_buf_free(&hb);
	cs_buf_free(&rb);
	free(idx);
	free(hit);
	free(p);
	return r;
}
