/*
 * classify.c - severity, fix state, decisions, verdict and recommendations
 * for one image's findings (docs/policy.md "Severity", "Decisions",
 * "Verdict", "Recommendations"). A pure function of its arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "policy/cvss.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int cs_policy_level_rank(const char *level)
{
	if (level == NULL)
		return -1;
	for (int i = 0; i < CS_LVL_COUNT; i++)
		if (strcmp(level, cs_policy_level_names[i]) == 0)
			return i;
	return -1;
}

const char *cs_policy_distro_level(const char *rating)
{
	/* One table for the vocabularies: Debian urgency (unimportant, low,
	 * medium, high; "low**"-style marks stripped; "not yet assigned" and
	 * "end-of-life" rate nothing), Ubuntu priority (negligible, low,
	 * medium, high, critical; "untriaged"), Red Hat and SUSE severity
	 * (low, moderate, important, critical). */
	static const char *const map[][2] = {
		{ "critical", "critical" }, { "important", "high" },  { "high", "high" },
		{ "moderate", "medium" },   { "medium", "medium" },   { "low", "low" },
		{ "negligible", "low" },    { "unimportant", "low" },
	};
	char w[32];
	size_t n = 0;

	if (rating == NULL)
		return "unknown";
	while (rating[n] != '\0' && rating[n] != '*' && n < sizeof(w) - 1) {
		w[n] = rating[n];
		n++;
	}
	if (rating[n] != '\0' && rating[n] != '*')
		return "unknown";
	while (n > 0 && w[n - 1] == ' ')
		n--;
	w[n] = '\0';
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (cs_policy_streq_ci(w, map[i][0]))
			return map[i][1];
	return "unknown";
}

/* ---- severity ------------------------------------------------------------ */

struct cand {
	int have;
	int level;
	double score;
	const char *vector;
	const char *rating;
	char source[64];
};

/* "Red Hat" -> "redhat", "Debian" -> "debian". */
static void distro_name(char *out, size_t n, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && s[i] != '\0' && o + 1 < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			out[o++] = c;
	}
	out[o] = '\0';
}

static void distro_offer(struct cand *c, const char *source, size_t slen, const char *rating)
{
	int lvl = cs_policy_level_rank(cs_policy_distro_level(rating));

	/* The highest rating wins when several are given (Ubuntu and Ubuntu
	 * Pro, merged advisories); an unrated one is kept only as evidence. */
	if (c->have && (lvl < c->level || (lvl == c->level && c->rating != NULL)))
		return;
	c->have = 1;
	c->level = lvl;
	c->rating = rating;
	snprintf(c->source, sizeof(c->source), "distro:");
	distro_name(c->source + 7, sizeof(c->source) - 7, source, slen);
}

static void collect_distro(struct cand *c, const json_t *f)
{
	const json_t *ds = json_object_get(f, "distro_severity"),
		     *sev = json_object_get(f, "severity");
	const char *eco = jstr(f, "ecosystem");
	size_t elen = eco ? strcspn(eco, ":") : 0;

	memset(c, 0, sizeof(*c));
	if (json_is_string(ds) && eco != NULL)
		distro_offer(c, eco, elen, json_string_value(ds));
	for (size_t i = 0; json_is_array(ds) && i < json_array_size(ds); i++) {
		const json_t *x = json_array_get(ds, i);
		const char *src = jstr(x, "source"), *v = jstr(x, "value");

		if (src == NULL && eco != NULL)
			src = eco;
		if (src != NULL && v != NULL)
			distro_offer(c, src, src == eco ? elen : strlen(src), v);
	}
	/* OSV Ubuntu records carry the priority as a severity of type "Ubuntu". */
	for (size_t i = 0; json_is_array(sev) && i < json_array_size(sev); i++) {
		const json_t *x = json_array_get(sev, i);
		const char *t = jstr(x, "type");

		if (t != NULL && strcmp(t, "Ubuntu") == 0 && jstr(x, "score") != NULL)
			distro_offer(c, "Ubuntu", 6, jstr(x, "score"));
	}
}

/* The highest-scoring valid vector per CVSS major version; invalid vectors
 * are listed in rejected (when not NULL). */
static int collect_cvss(struct cand *v3, struct cand *v4, const json_t *f, json_t *rejected)
{
	const json_t *sev = json_object_get(f, "severity");

	memset(v3, 0, sizeof(*v3));
	memset(v4, 0, sizeof(*v4));
	for (size_t i = 0; json_is_array(sev) && i < json_array_size(sev); i++) {
		const json_t *x = json_array_get(sev, i);
		const char *t = jstr(x, "type"), *vec = jstr(x, "score");
		struct cand *c;
		double score;
		int ver, r;

		if (t == NULL || vec == NULL || strncmp(t, "CVSS_V", 6) != 0)
			continue;
		r = cs_cvss_score(&score, &ver, vec);
		if (r != 0) {
			if (rejected != NULL &&
			    json_array_append_new(rejected,
						  json_pack("{s:s, s:s, s:s}", "type", t, "vector",
							    vec, "error", cs_err_msg())) != 0)
				return CS_ENOMEM;
			continue;
		}
		/* The vector's own prefix decides the version, not the type label. */
		c = ver == 40 ? v4 : v3;
		if (c->have && score <= c->score)
			continue;
		c->have = 1;
		c->score = score;
		c->vector = vec;
		c->level = cs_policy_level_rank(cs_cvss_rating(score));
		/* CVSS 0.0 ("none") is no impact; rank it low rather than unknown
		 * so a scored finding never looks unassessed. */
		if (c->level < 0)
			c->level = CS_LVL_LOW;
		snprintf(c->source, sizeof(c->source), "%s", ver == 40 ? "cvss_v4" : "cvss_v3");
	}
	return 0;
}

static json_t *cand_json(const struct cand *c)
{
	json_t *o = json_pack("{s:s, s:s}", "source", c->source, "level",
			      cs_policy_level_names[c->level]);

	if (o == NULL)
		return NULL;
	if (c->vector != NULL) {
		if (json_object_set_new(o, "score",
					json_real((double)(int)(c->score * 10 + 0.5) / 10.0)) !=
			    0 ||
		    json_object_set_new(o, "vector", json_string(c->vector)) != 0)
			goto oom;
	}
	if (c->rating != NULL && json_object_set_new(o, "rating", json_string(c->rating)) != 0)
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

static int severity_of(json_t **out, int *level, const struct cs_policy *p, const json_t *f)
{
	struct cand d, v3, v4;
	const struct cand *by[3], *win = NULL;
	json_t *o = NULL, *cons = NULL, *rej = NULL;
	int r = CS_ENOMEM;

	*out = NULL;
	rej = json_array();
	cons = json_array();
	if (rej == NULL || cons == NULL)
		goto out;
	collect_distro(&d, f);
	if ((r = collect_cvss(&v3, &v4, f, rej)) != 0)
		goto out;
	r = CS_ENOMEM;
	by[CS_SRC_DISTRO] = &d;
	by[CS_SRC_CVSS_V4] = &v4;
	by[CS_SRC_CVSS_V3] = &v3;
	for (size_t i = 0; i < 3; i++)
		if (by[i]->have && json_array_append_new(cons, cand_json(by[i])) != 0)
			goto out;
	for (size_t i = 0; i < p->nsources; i++) {
		const struct cand *c = by[p->sources[i]];

		if (!c->have || c->level == CS_LVL_UNKNOWN)
			continue;
		if (win == NULL || (p->pick_highest && c->level > win->level))
			win = c;
		if (!p->pick_highest)
			break;
	}
	if (win != NULL) {
		o = cand_json(win);
		if (o == NULL)
			goto out;
	} else {
		o = json_pack("{s:s, s:n}", "level", "unknown", "source");
		if (o == NULL)
			goto out;
	}
	if (json_object_get(o, "score") == NULL &&
	    (json_object_set_new(o, "score", json_null()) != 0 ||
	     json_object_set_new(o, "vector", json_null()) != 0))
		goto out;
	if (json_object_set(o, "considered", cons) != 0)
		goto out;
	if (json_array_size(rej) > 0 && json_object_set(o, "rejected", rej) != 0)
		goto out;
	*level = win != NULL ? win->level : CS_LVL_UNKNOWN;
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(o);
	json_decref(cons);
	json_decref(rej);
	return r == CS_ENOMEM ? cs_err_set(CS_ENOMEM, "out of memory") : r;
}

int cs_policy_severity(json_t **out, const struct cs_policy *p, const json_t *finding)
{
	int level;

	if (out == NULL)
		return cs_err_set(CS_EINVAL, "policy: no output");
	*out = NULL;
	if (p == NULL || !json_is_object(finding))
		return cs_err_set(CS_EINVAL, "policy: a finding is a JSON object");
	return severity_of(out, &level, p, finding);
}

/* ---- decisions ----------------------------------------------------------- */

/* The override whose pattern matches the repository most specifically:
 * most literal characters, then fewest wildcards, then the smallest pattern
 * string (so the result never depends on key order). NULL when none. */
static const struct cs_policy_repo *override_for(const struct cs_policy *p, const char *repo)
{
	const struct cs_policy_repo *best = NULL;

	if (repo == NULL)
		return NULL;
	for (size_t i = 0; i < p->nrepos; i++) {
		const struct cs_policy_repo *r = &p->repos[i];

		if (!cs_policy_glob_match(r->pattern, repo))
			continue;
		if (best == NULL || r->literal > best->literal ||
		    (r->literal == best->literal &&
		     (r->wild < best->wild ||
		      (r->wild == best->wild && strcmp(r->pattern, best->pattern) < 0))))
			best = r;
	}
	return best;
}

static int rule_matches(const struct cs_policy_rule *r, const json_t *f, const char *repo)
{
	const char *name = jstr(json_object_get(f, "package"), "name");

	if (r->id != NULL && !cs_policy_finding_has_id(f, r->id))
		return 0;
	if (r->package != NULL && (name == NULL || !cs_policy_glob_match(r->package, name)))
		return 0;
	if (r->image != NULL && !cs_policy_glob_match(r->image, repo != NULL ? repo : ""))
		return 0;
	return 1;
}

/* A rule applies through its expiry day; from the next day on it does not. */
static int rule_expired(const struct cs_policy_rule *r, const char *today)
{
	return r->expires != NULL && strcmp(today, r->expires) > 0;
}

struct effective {
	int threshold;
	int ignore_unfixed;
	const struct cs_policy_repo *repo;
};

/* Strings are copied, never shared: the policy's documents may be read by
 * several threads at once, so their reference counts are left alone. */
static json_t *vex_json(const struct cs_policy *p, const json_t *st, size_t d, size_t i)
{
	const json_t *doc = p->vex[d].doc;
	const char *ts = jstr(st, "timestamp");

	return json_pack("{s:s, s:s, s:I, s:s*, s:s, s:s, s:s*, s:s*, s:s*, s:s}", "document",
			 p->vex[d].path, "document_id", jstr(doc, "@id"), "statement",
			 (json_int_t)i, "statement_id", jstr(st, "@id"), "vulnerability",
			 jstr(json_object_get(st, "vulnerability"), "name"), "status",
			 jstr(st, "status"), "justification", jstr(st, "justification"),
			 "impact_statement", jstr(st, "impact_statement"), "action_statement",
			 jstr(st, "action_statement"), "timestamp",
			 ts != NULL ? ts : jstr(doc, "timestamp"));
}

/* Builds the decision object for f; *ignored is set. */
static json_t *decide(const struct cs_policy *p, const struct effective *e, const json_t *f,
		      const char *fix_state, const struct cs_policy_input *in, int *ignored)
{
	const char *repo = jstr(in->image, "repository");
	const struct cs_policy_rule *active = NULL, *expired = NULL;
	const json_t *st;
	json_t *d, *vx = NULL;
	size_t di = 0, si = 0;
	int vex_suppress = 0;

	*ignored = 0;
	/* "status" first for readers; replaced in place below. */
	d = json_pack("{s:s}", "status", "reported");
	if (d == NULL)
		return NULL;
	st = cs_policy_vex_find(p, f, in->image, &di, &si);
	if (st != NULL) {
		vx = vex_json(p, st, di, si);
		if (vx == NULL || json_object_set_new(d, "vex", vx) != 0)
			goto oom;
		vex_suppress = strcmp(jstr(st, "status"), "not_affected") == 0;
	}
	/* Override rules first (they are the more specific), then global. */
	for (int pass = 0; pass < 2 && active == NULL; pass++) {
		const struct cs_policy_rule *rules =
			pass == 0 ? (e->repo ? e->repo->rules : NULL) : p->rules;
		size_t n = pass == 0 ? (e->repo ? e->repo->nrules : 0) : p->nrules;

		for (size_t i = 0; i < n; i++) {
			if (!rule_matches(&rules[i], f, repo))
				continue;
			if (rule_expired(&rules[i], in->today)) {
				if (expired == NULL)
					expired = &rules[i];
				continue;
			}
			active = &rules[i];
			break;
		}
	}
	if (vex_suppress) {
		*ignored = 1;
		if (json_object_set_new(d, "by", json_string("vex")) != 0)
			goto oom;
	} else if (active != NULL) {
		*ignored = 1;
		if (json_object_set_new(d, "by", json_string("rule")) != 0)
			goto oom;
	} else if (e->ignore_unfixed && strcmp(fix_state, "fixed") != 0) {
		*ignored = 1;
		if (json_object_set_new(d, "by", json_string("ignore-unfixed")) != 0)
			goto oom;
	}
	if (active != NULL && json_object_set_new(d, "rule", cs_policy_rule_json(active)) != 0)
		goto oom;
	/* Say so when a rule would have applied but has expired, unless an
	 * active rule took over anyway. */
	if (expired != NULL && active == NULL) {
		json_t *x = cs_policy_rule_json(expired);
		char note[256];

		snprintf(note, sizeof(note), "expired on %s: no longer applies", expired->expires);
		if (x == NULL || json_object_set_new(x, "note", json_string(note)) != 0 ||
		    json_object_set_new(d, "expired_rule", x) != 0) {
			json_decref(x);
			goto oom;
		}
	}
	if (*ignored && json_object_set_new(d, "status", json_string("ignored")) != 0)
		goto oom;
	return d;
oom:
	json_decref(d);
	return NULL;
}

/* ---- recommendations ----------------------------------------------------- */

struct group {
	const char *name, *from, *eco;
	const char **fixes; /* distinct fixed versions */
	size_t nfix;
	size_t counts[CS_LVL_COUNT];
	size_t total;
	int top;
	json_t *ids;
	const char *to;
	int undecided;
};

static int add_fix(struct group *g, const char *v)
{
	const char **n;

	for (size_t i = 0; i < g->nfix; i++)
		if (strcmp(g->fixes[i], v) == 0)
			return 0;
	n = realloc(g->fixes, (g->nfix + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	g->fixes = n;
	g->fixes[g->nfix++] = v;
	return 0;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c;

	if (x->top != y->top)
		return y->top - x->top;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->from, y->from);
}

/* "1 critical, 3 high" */
static int counts_text(struct cs_buf *b, const size_t *counts)
{
	int first = 1;

	for (int l = CS_LVL_CRITICAL; l >= CS_LVL_UNKNOWN; l--) {
		if (counts[l] == 0)
			continue;
		if (cs_buf_printf(b, "%s%zu %s", first ? "" : ", ", counts[l],
				  cs_policy_level_names[l]) != 0)
			return -1;
		first = 0;
	}
	return 0;
}

static json_t *group_json(const struct group *g)
{
	struct cs_buf b;
	json_t *o = NULL, *bs;

	cs_buf_init(&b, 64 * 1024);
	if (g->to != NULL) {
		if (cs_buf_printf(&b, "upgrade %s %s -> %s: fixes %zu (", g->name, g->from, g->to,
				  g->total) != 0)
			goto out;
	} else {
		if (cs_buf_printf(&b, "upgrade %s %s -> one of ", g->name, g->from) != 0)
			goto out;
		for (size_t i = 0; i < g->nfix; i++)
			if (cs_buf_printf(&b, "%s%s", i ? ", " : "", g->fixes[i]) != 0)
				goto out;
		if (cs_buf_printf(&b, " (versions not comparable): fixes %zu (", g->total) != 0)
			goto out;
	}
	if (counts_text(&b, g->counts) != 0 || cs_buf_addstr(&b, ")") != 0 || cs_buf_cstr(&b) != 0)
		goto out;
	bs = json_object();
	for (int l = CS_LVL_CRITICAL; bs != NULL && l >= CS_LVL_UNKNOWN; l--)
		if (g->counts[l] > 0 &&
		    json_object_set_new(bs, cs_policy_level_names[l],
					json_integer((json_int_t)g->counts[l])) != 0) {
			json_decref(bs);
			bs = NULL;
		}
	if (bs == NULL)
		goto out;
	o = json_pack("{s:s, s:s?, s:s, s:s?, s:I, s:s, s:o, s:O, s:s}", "package", g->name,
		      "ecosystem", g->eco, "from", g->from, "to", g->to, "fixes",
		      (json_int_t)g->total, "highest", cs_policy_level_names[g->top], "by_severity",
		      bs, "ids", g->ids, "text", (const char *)b.data);
	if (o != NULL && g->to == NULL) {
		json_t *c = json_array();

		for (size_t i = 0; c != NULL && i < g->nfix; i++)
			if (json_array_append_new(c, json_string(g->fixes[i])) != 0) {
				json_decref(c);
				c = NULL;
			}
		if (c == NULL || json_object_set_new(o, "candidates", c) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
out:
	cs_buf_free(&b);
	return o;
}

/* Findings (the annotated copies) -> recommendations array. */
static json_t *recommend(const json_t *findings, const struct cs_policy_input *in)
{
	struct group *gs = NULL;
	size_t ng = 0, capg = 0, i, k;
	json_t *out = NULL, *index = json_object();
	struct cs_buf key;

	/* Groups are found through a hash of (ecosystem, name, from): a scan
	 * with thousands of fixable packages must not compare every finding
	 * with every group. */
	cs_buf_init(&key, 3 * 4096 + 16);
	if (index == NULL)
		goto out;

	for (i = 0; i < json_array_size(findings); i++) {
		const json_t *f = json_array_get(findings, i);
		const json_t *fix = json_object_get(f, "fix");
		const char *name = jstr(json_object_get(f, "package"), "name");
		const char *from = jstr(f, "installed_version"), *eco = jstr(f, "ecosystem");
		const char *to = jstr(fix, "version");
		int lvl = cs_policy_level_rank(jstr(json_object_get(f, "severity"), "level"));
		struct group *g = NULL;

		if (strcmp(jstr(json_object_get(f, "decision"), "status"), "reported") != 0 ||
		    strcmp(jstr(fix, "state"), "fixed") != 0 || to == NULL || name == NULL ||
		    lvl < 0)
			continue;
		if (from == NULL)
			from = jstr(json_object_get(f, "package"), "version");
		if (from == NULL)
			from = "?";
		/* NUL cannot be in a key: \x1f separates, and eco absent is \x1e */
		cs_buf_reset(&key);
		if (cs_buf_printf(&key, "%.4000s\x1f%.4000s\x1f%.4000s", eco != NULL ? eco : "\x1e", name,
				  from) != 0 || cs_buf_cstr(&key) != 0)
			goto out;
		{
			const json_t *at = json_object_get(index, (const char *)key.data);

			k = at != NULL ? (size_t)json_integer_value(at) : ng;
		}
		if (k == ng) {
			if (ng == capg) {
				size_t nc = capg ? capg * 2 : 16;
				struct group *n = realloc(gs, nc * sizeof(*gs));

				if (n == NULL)
					goto out;
				gs = n;
				capg = nc;
			}
			if (json_object_set_new(index, (const char *)key.data, json_integer((json_int_t)ng)) != 0)
				goto out;
			memset(&gs[ng], 0, sizeof(gs[ng]));
			gs[ng].name = name;
			gs[ng].from = from;
			gs[ng].eco = eco;
			gs[ng].ids = json_array();
			ng++;
			if (gs[k].ids == NULL)
				goto out;
		}
		g = &gs[k];
		g->counts[lvl]++;
		g->total++;
		if (g->total == 1 || lvl > g->top)
			g->top = lvl;
		if (add_fix(g, to) != 0 || json_array_append(g->ids, json_object_get(f, "id")) != 0)
			goto out;
	}
	for (k = 0; k < ng; k++) {
		struct group *g = &gs[k];

		g->to = g->fixes[0];
		for (i = 1; i < g->nfix && g->to != NULL; i++) {
			int c;

			if (in->vercmp == NULL || in->vercmp(in->vercmp_ctx, g->eco ? g->eco : "",
							     g->to, g->fixes[i], &c) != 0)
				g->to = NULL;
			else if (c < 0)
				g->to = g->fixes[i];
		}
	}
	if (ng > 1)
		qsort(gs, ng, sizeof(*gs), group_cmp);
	out = json_array();
	for (k = 0; out != NULL && k < ng; k++)
		if (json_array_append_new(out, group_json(&gs[k])) != 0) {
			json_decref(out);
			out = NULL;
		}
out:
	for (k = 0; k < ng; k++) {
		free(gs[k].fixes);
		json_decref(gs[k].ids);
	}
	free(gs);
	json_decref(index);
	cs_buf_free(&key);
	return out;
}

/* ---- the whole image ----------------------------------------------------- */

static json_t *fix_json(const json_t *f, const char **state)
{
	const json_t *fv = json_object_get(f, "fixed_version");
	const char *s = jstr(f, "fix_state");
	json_t *o;

	if (s == NULL || (strcmp(s, "fixed") != 0 && strcmp(s, "not-fixed") != 0 &&
			  strcmp(s, "will-not-fix") != 0))
		s = json_is_string(fv) ? "fixed" : "not-fixed";
	/* "fixed" without a version cannot be acted on: not-fixed. */
	if (strcmp(s, "fixed") == 0 && !json_is_string(fv))
		s = "not-fixed";
	*state = s;
	o = json_pack("{s:s, s:O?}", "state", s, "version", strcmp(s, "fixed") == 0 ? fv : NULL);
	if (o != NULL && json_object_get(o, "version") == NULL &&
	    json_object_set_new(o, "version", json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	if (o != NULL && jstr(f, "fix_state_reason") != NULL &&
	    json_object_set(o, "reason", json_object_get(f, "fix_state_reason")) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Expired rules that could apply to this image (no image pattern, or one
 * that matches), so the report nags about exactly what this image lost. */
static json_t *expired_rules(const struct cs_policy *p, const struct effective *e,
			     const char *today, const char *repo)
{
	json_t *a = json_array();

	for (int pass = 0; a != NULL && pass < 2; pass++) {
		const struct cs_policy_rule *rules =
			pass == 0 ? (e->repo ? e->repo->rules : NULL) : p->rules;
		size_t n = pass == 0 ? (e->repo ? e->repo->nrules : 0) : p->nrules;

		for (size_t i = 0; i < n; i++)
			if (rule_expired(&rules[i], today) &&
			    (rules[i].image == NULL ||
			     cs_policy_glob_match(rules[i].image, repo != NULL ? repo : "")) &&
			    json_array_append_new(a, cs_policy_rule_json(&rules[i])) != 0) {
				json_decref(a);
				return NULL;
			}
	}
	return a;
}

static int reason_text(struct cs_buf *b, const char *verdict, const size_t *counts, int threshold,
		       size_t ignored, const char *scan_error)
{
	size_t above = 0, below = 0;
	size_t c[CS_LVL_COUNT] = { 0 };

	for (int l = 0; l < CS_LVL_COUNT; l++) {
		if (l >= threshold) {
			above += counts[l];
			c[l] = counts[l];
		} else {
			below += counts[l];
		}
	}
	if (strcmp(verdict, "error") == 0)
		return cs_buf_printf(b, "unscannable: %s", scan_error);
	if (above > 0) {
		if (cs_buf_printf(b, "%zu finding%s at or above %s (", above, above == 1 ? "" : "s",
				  cs_policy_level_names[threshold]) != 0 ||
		    counts_text(b, c) != 0 || cs_buf_addstr(b, ")") != 0)
			return -1;
	} else if (cs_buf_printf(b, "no findings at or above %s",
				 cs_policy_level_names[threshold]) != 0) {
		return -1;
	}
	if (below > 0 || ignored > 0) {
		if (cs_buf_printf(b, "; %zu below, %zu ignored", below, ignored) != 0)
			return -1;
	}
	return 0;
}

int cs_policy_classify(json_t **out, const struct cs_policy *p, const json_t *findings,
		       const struct cs_policy_input *in)
{
	struct effective e;
	size_t counts[CS_LVL_COUNT] = { 0 }, ignored = 0, i;
	json_t *o = NULL, *fa = NULL, *recs = NULL, *exp = NULL, *cj = NULL;
	const char *verdict;
	struct cs_buf reason;
	int r = CS_ENOMEM;

	cs_buf_init(&reason, 64 * 1024);
	if (out == NULL)
		return cs_err_set(CS_EINVAL, "policy: no output");
	*out = NULL;
	if (p == NULL || in == NULL || !json_is_array(findings))
		return cs_err_set(CS_EINVAL, "policy: findings must be an array");
	if (!cs_policy_date_valid(in->today))
		return cs_err_set(CS_EINVAL, "policy: today is not a date (YYYY-MM-DD)");
	if (in->image != NULL && !json_is_object(in->image))
		return cs_err_set(CS_EINVAL, "policy: the image context must be an object");
	for (i = 0; i < json_array_size(findings); i++)
		if (!json_is_object(json_array_get(findings, i)))
			return cs_err_set(CS_EINVAL, "policy: findings[%zu] is not an object", i);

	e.repo = override_for(p, jstr(in->image, "repository"));
	e.threshold = e.repo && e.repo->threshold >= 0 ? e.repo->threshold : p->threshold;
	e.ignore_unfixed =
		e.repo && e.repo->ignore_unfixed >= 0 ? e.repo->ignore_unfixed : p->ignore_unfixed;

	if ((fa = json_array()) == NULL)
		goto out;
	for (i = 0; i < json_array_size(findings); i++) {
		const json_t *f = json_array_get(findings, i);
		/* A shallow copy: only top-level members are set below; the
		 * values under them (package, advisory, match...) are shared with
		 * the input, read-only. */
		json_t *c = json_copy((json_t *)f), *sev = NULL, *fix, *dec;
		const char *state;
		int level = 0, ign = 0;

		if (c == NULL)
			goto out;
		if (json_array_append_new(fa, c) != 0)
			goto out;
		if ((r = severity_of(&sev, &level, p, f)) != 0)
			goto out;
		r = CS_ENOMEM;
		/* The OSV severity array moves to "osv_severity"; "severity" is
		 * the classification (docs/policy.md "Output"). */
		if (json_object_get(c, "severity") != NULL &&
		    json_object_set(c, "osv_severity", json_object_get(c, "severity")) != 0) {
			json_decref(sev);
			goto out;
		}
		if (json_object_set_new(c, "severity", sev) != 0)
			goto out;
		if ((fix = fix_json(f, &state)) == NULL || json_object_set_new(c, "fix", fix) != 0)
			goto out;
		if ((dec = decide(p, &e, f, state, in, &ign)) == NULL ||
		    json_object_set_new(c, "decision", dec) != 0)
			goto out;
		if (ign)
			ignored++;
		else
			counts[level]++;
	}
	if ((recs = recommend(fa, in)) == NULL)
		goto out;
	if ((exp = expired_rules(p, &e, in->today, jstr(in->image, "repository"))) == NULL)
		goto out;
	if (in->scan_error != NULL) {
		verdict = "error";
	} else {
		size_t above = 0;

		for (int l = e.threshold; l < CS_LVL_COUNT; l++)
			above += counts[l];
		verdict = above > 0 ? "unhealthy" : "healthy";
	}
	if (reason_text(&reason, verdict, counts, e.threshold, ignored, in->scan_error) != 0 ||
	    cs_buf_cstr(&reason) != 0)
		goto out;
	cj = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "critical",
		       (json_int_t)counts[CS_LVL_CRITICAL], "high", (json_int_t)counts[CS_LVL_HIGH],
		       "medium", (json_int_t)counts[CS_LVL_MEDIUM], "low",
		       (json_int_t)counts[CS_LVL_LOW], "unknown",
		       (json_int_t)counts[CS_LVL_UNKNOWN], "ignored", (json_int_t)ignored);
	if (cj == NULL)
		goto out;
	o = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:o, s:O, s:O, s:O}", "verdict", verdict,
		      "reason", (const char *)reason.data, "threshold",
		      cs_policy_level_names[e.threshold], "repository_override",
		      e.repo ? e.repo->pattern : NULL, "ignore_unfixed", e.ignore_unfixed, "counts",
		      cj, "findings", fa, "recommendations", recs, "expired_rules", exp);
	cj = NULL;
	if (o == NULL)
		goto out;
	if (json_object_get(o, "repository_override") == NULL &&
	    json_object_set_new(o, "repository_override", json_null()) != 0)
		goto out;
	if (in->scan_error != NULL && json_object_set_new(o, "partial", json_true()) != 0)
		goto out;
	*out = o;
	o = NULL;
	r = 0;
out:
	cs_buf_free(&reason);
	json_decref(o);
	json_decref(fa);
	json_decref(recs);
	json_decref(exp);
	json_decref(cj);
	if (r == CS_ENOMEM)
		cs_err_set(CS_ENOMEM, "out of memory");
	return r;
}
