/*
 * policy.c - loading and validating policy files (docs/policy.md "Format").
 *
 * Validation is strict on purpose: a typo in a policy ("ignore_unfxed")
 * silently doing nothing is how images get waved through, so every unknown
 * key, wrong type, bad date or bad pattern is an error naming the key path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

#define PATH_MAX_MSG CS_POLICY_MAX_PATHMSG

/* The built-in default; policy/default-policy.json holds the same policy
 * (tests/policy/test_policy_load.c checks they agree). */
static const char default_policy[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"description\": \"cellscan default policy\",\n"
	"  \"severity_threshold\": \"high\",\n"
	"  \"severity_source\": [\"distro\", \"cvss_v4\", \"cvss_v3\"],\n"
	"  \"severity_pick\": \"first\",\n"
	"  \"ignore_unfixed\": false,\n"
	"  \"ignore\": [],\n"
	"  \"vex\": [],\n"
	"  \"repositories\": {}\n"
	"}\n";

#define bad cs_policy_bad
#define only_keys cs_policy_only_keys
#define type_name cs_policy_type_name

/* path + "." + key (escaped) into out. */
static const char *sub_key(char *out, size_t n, const char *path, const char *key)
{
	char k[160];

	cs_policy_esc(k, sizeof(k), key, 64);
	if (path[0] == '\0')
		snprintf(out, n, "%s", k);
	else
		snprintf(out, n, "%s.%s", path, k);
	return out;
}

static const char *sub_idx(char *out, size_t n, const char *path, size_t i)
{
	snprintf(out, n, "%s[%zu]", path, i);
	return out;
}

static int get_string(char **out, const json_t *v, const char *path, size_t max)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (!json_is_string(v))
		return bad(path, "must be a string, not %s", type_name(v));
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0)
		return bad(path, "must not be empty");
	if (len > max)
		return bad(path, "longer than %zu bytes", max);
	if (strlen(s) != len)
		return bad(path, "contains a NUL character");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return bad(path, "contains a control character");
	*out = strdup(s);
	if (*out == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

static int get_level(int *lvl, const json_t *v, const char *path)
{
	int r;

	if (!json_is_string(v))
		return bad(path, "must be a string, not %s", type_name(v));
	r = cs_policy_level_rank(json_string_value(v));
	if (r < 0)
		return bad(path, "not a severity (critical, high, medium, low, unknown)");
	*lvl = r;
	return 0;
}

static int get_bool(int *b, const json_t *v, const char *path)
{
	if (!json_is_boolean(v))
		return bad(path, "must be true or false, not %s", type_name(v));
	*b = json_is_true(v);
	return 0;
}

static void rule_clear(struct cs_policy_rule *r)
{
	free(r->where);
	free(r->id);
	free(r->package);
	free(r->image);
	free(r->expires);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

static int parse_rule(struct cs_policy_rule *rule, const json_t *o, const char *path)
{
	static const char *const keys[] = { "id", "package", "image", "expires", "reason", NULL };
	char p[PATH_MAX_MSG];
	const char *why;
	json_t *v;
	int r;

	memset(rule, 0, sizeof(*rule));
	if (!json_is_object(o))
		return bad(path, "must be an object, not %s", type_name(o));
	if ((r = only_keys(o, path, keys)) != 0)
		return r;
	if ((rule->where = strdup(path)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((v = json_object_get(o, "id")) != NULL) {
		if ((r = get_string(&rule->id, v, sub_key(p, sizeof(p), path, "id"),
				    CS_POLICY_MAX_STR)) != 0)
			return r;
		if (strpbrk(rule->id, " \t") != NULL)
			return bad(p, "a vulnerability id has no spaces");
	}
	if ((v = json_object_get(o, "package")) != NULL) {
		if ((r = get_string(&rule->package, v, sub_key(p, sizeof(p), path, "package"),
				    CS_POLICY_MAX_GLOB)) != 0)
			return r;
		if (cs_policy_glob_check(rule->package, &why) != 0)
			return bad(p, "bad pattern: %s", why);
	}
	if ((v = json_object_get(o, "image")) != NULL) {
		if ((r = get_string(&rule->image, v, sub_key(p, sizeof(p), path, "image"),
				    CS_POLICY_MAX_GLOB)) != 0)
			return r;
		if (cs_policy_glob_check(rule->image, &why) != 0)
			return bad(p, "bad pattern: %s", why);
	}
	if ((v = json_object_get(o, "expires")) != NULL) {
		sub_key(p, sizeof(p), path, "expires");
		if (!json_is_string(v) || !cs_policy_date_valid(json_string_value(v)))
			return bad(p, "not a date (YYYY-MM-DD)");
		if ((rule->expires = strdup(json_string_value(v))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if ((v = json_object_get(o, "reason")) == NULL)
		return bad(sub_key(p, sizeof(p), path, "reason"),
			   "required: say why this is ignored");
	if ((r = get_string(&rule->reason, v, sub_key(p, sizeof(p), path, "reason"),
			    CS_POLICY_MAX_TEXT)) != 0)
		return r;
	if (rule->id == NULL && rule->package == NULL)
		return bad(
			path,
			"a rule needs \"id\" or \"package\" (an image pattern alone would ignore everything)");
	return 0;
}

static int parse_rules(struct cs_policy_rule **out, size_t *nout, const json_t *a, const char *path)
{
	struct cs_policy_rule *rules;
	char p[PATH_MAX_MSG];
	size_t n, i;
	int r;

	if (!json_is_array(a))
		return bad(path, "must be an array, not %s", type_name(a));
	n = json_array_size(a);
	if (n > CS_POLICY_MAX_RULES)
		return bad(path, "more than %d rules", CS_POLICY_MAX_RULES);
	if (n == 0)
		return 0;
	rules = calloc(n, sizeof(*rules));
	if (rules == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	*out = rules;
	for (i = 0; i < n; i++) {
		*nout = i + 1;
		if ((r = parse_rule(&rules[i], json_array_get(a, i),
				    sub_idx(p, sizeof(p), path, i))) != 0)
			return r;
	}
	return 0;
}

static int parse_sources(struct cs_policy *pol, const json_t *a, const char *path)
{
	static const char *const names[] = { "distro", "cvss_v4", "cvss_v3" };
	char p[PATH_MAX_MSG];
	size_t i, k;

	if (!json_is_array(a))
		return bad(path, "must be an array, not %s", type_name(a));
	if (json_array_size(a) == 0)
		return bad(path, "must name at least one source");
	if (json_array_size(a) > CS_POLICY_MAX_SOURCES)
		return bad(path, "names a source twice");
	pol->nsources = 0;
	for (i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);

		sub_idx(p, sizeof(p), path, i);
		if (!json_is_string(v))
			return bad(p, "must be a string, not %s", type_name(v));
		for (k = 0; k < 3; k++)
			if (strcmp(json_string_value(v), names[k]) == 0)
				break;
		if (k == 3)
			return bad(p, "not a severity source (distro, cvss_v4, cvss_v3)");
		for (size_t j = 0; j < pol->nsources; j++)
			if (pol->sources[j] == (enum cs_sevsrc)k)
				return bad(p, "named twice");
		pol->sources[pol->nsources++] = (enum cs_sevsrc)k;
	}
	return 0;
}

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer. */
static int read_capped(char **out, size_t *len, const char *path, size_t max)
{
	struct {
		char *d;
		size_t n, cap;
	} b = { NULL, 0, 0 };
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cs_err_set(CS_EIO, "cannot open: %s", strerror(errno));
	for (;;) {
		ssize_t got;

		if (b.n + 65536 + 1 > b.cap) {
			size_t ncap = b.cap ? b.cap * 2 : 65536 + 1;
			char *nd;

			if (ncap > max + 65536 + 1)
				ncap = max + 65536 + 1;
			nd = realloc(b.d, ncap);
			if (nd == NULL) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			b.d = nd;
			b.cap = ncap;
		}
		got = read(fd, b.d + b.n, b.cap - b.n - 1 < 65536 ? b.cap - b.n - 1 : 65536);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = cs_err_set(CS_EIO, "read: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		b.n += (size_t)got;
		if (b.n > max) {
			r = cs_err_set(CS_ELIMIT, "larger than %zu bytes", max);
			goto out;
		}
	}
	if (b.d == NULL && (b.d = malloc(1)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	b.d[b.n] = '\0';
	*out = b.d;
	*len = b.n;
	b.d = NULL;
out:
	free(b.d);
	close(fd);
	return r;
}

static int parse_json(json_t **out, const char *text, size_t len, const char *what)
{
	json_error_t je;

	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		return cs_err_set(CS_EINVAL, "%s: invalid JSON at line %d column %d: %s", what,
				  je.line, je.column, je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cs_err_set(CS_EINVAL, "%s: must be a JSON object", what);
	}
	return 0;
}

static int load_vex(struct cs_policy_vex *vx, const char *rel, const char *base_dir,
		    const char *path)
{
	char full[4096], esc[300];
	char *text = NULL;
	size_t len = 0;
	int r;

	if (rel[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		r = snprintf(full, sizeof(full), "%s", rel);
	else
		r = snprintf(full, sizeof(full), "%s/%s", base_dir, rel);
	if (r < 0 || (size_t)r >= sizeof(full))
		return bad(path, "path too long");
	cs_policy_esc(esc, sizeof(esc), rel, 200);
	if ((vx->path = strdup(rel)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = read_capped(&text, &len, full, CS_POLICY_MAX_VEX_FILE)) != 0)
		return cs_err_prefix(r, "%s: %s", path, esc);
	r = parse_json(&vx->doc, text, len, "document");
	free(text);
	if (r == 0)
		r = cs_policy_vex_validate(vx->doc);
	if (r != 0)
		return cs_err_prefix(CS_EINVAL, "%s: %s", path, esc);
	return 0;
}

static int parse_repo(struct cs_policy_repo *repo, const char *pattern, const json_t *o,
		      const char *path)
{
	static const char *const keys[] = { "description", "severity_threshold", "ignore_unfixed",
					    "ignore", NULL };
	char p[PATH_MAX_MSG];
	const char *why;
	json_t *v;
	int r;

	repo->threshold = -1;
	repo->ignore_unfixed = -1;
	if ((repo->pattern = strdup(pattern)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (strlen(pattern) > CS_POLICY_MAX_GLOB || cs_policy_glob_check(pattern, &why) != 0)
		return bad(path, "bad pattern: %s",
			   strlen(pattern) > CS_POLICY_MAX_GLOB ? "longer than 256 bytes" : why);
	cs_policy_glob_specificity(pattern, &repo->literal, &repo->wild);
	if (!json_is_object(o))
		return bad(path, "must be an object, not %s", type_name(o));
	if ((r = only_keys(o, path, keys)) != 0)
		return r;
	if ((v = json_object_get(o, "description")) != NULL) {
		char *d = NULL;

		r = get_string(&d, v, sub_key(p, sizeof(p), path, "description"),
			       CS_POLICY_MAX_TEXT);
		free(d);
		if (r != 0)
			return r;
	}
	if ((v = json_object_get(o, "severity_threshold")) != NULL &&
	    (r = get_level(&repo->threshold, v,
			   sub_key(p, sizeof(p), path, "severity_threshold"))) != 0)
		return r;
	if ((v = json_object_get(o, "ignore_unfixed")) != NULL &&
	    (r = get_bool(&repo->ignore_unfixed, v,
			  sub_key(p, sizeof(p), path, "ignore_unfixed"))) != 0)
		return r;
	if ((v = json_object_get(o, "ignore")) != NULL &&
	    (r = parse_rules(&repo->rules, &repo->nrules, v,
			     sub_key(p, sizeof(p), path, "ignore"))) != 0)
		return r;
	return 0;
}

static int parse_policy(struct cs_policy *pol, const json_t *o, const char *base_dir)
{
	static const char *const keys[] = { "version",
					    "description",
					    "severity_threshold",
					    "severity_source",
					    "severity_pick",
					    "ignore_unfixed",
					    "ignore",
					    "vex",
					    "repositories",
					    NULL };
	char p[PATH_MAX_MSG];
	json_t *v;
	int r;

	if ((r = only_keys(o, "", keys)) != 0)
		return r;
	v = json_object_get(o, "version");
	if (v == NULL)
		return bad("version", "required (1)");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return bad("version", "unsupported policy version (this cellscan reads version 1)");
	pol->version = 1;
	if ((v = json_object_get(o, "description")) != NULL &&
	    (r = get_string(&pol->description, v, "description", CS_POLICY_MAX_TEXT)) != 0)
		return r;
	if ((v = json_object_get(o, "severity_threshold")) != NULL &&
	    (r = get_level(&pol->threshold, v, "severity_threshold")) != 0)
		return r;
	if ((v = json_object_get(o, "severity_source")) != NULL &&
	    (r = parse_sources(pol, v, "severity_source")) != 0)
		return r;
	if ((v = json_object_get(o, "severity_pick")) != NULL) {
		if (!json_is_string(v))
			return bad("severity_pick", "must be a string, not %s", type_name(v));
		if (strcmp(json_string_value(v), "first") == 0)
			pol->pick_highest = 0;
		else if (strcmp(json_string_value(v), "highest") == 0)
			pol->pick_highest = 1;
		else
			return bad("severity_pick", "must be \"first\" or \"highest\"");
	}
	if ((v = json_object_get(o, "ignore_unfixed")) != NULL &&
	    (r = get_bool(&pol->ignore_unfixed, v, "ignore_unfixed")) != 0)
		return r;
	if ((v = json_object_get(o, "ignore")) != NULL &&
	    (r = parse_rules(&pol->rules, &pol->nrules, v, "ignore")) != 0)
		return r;
	if ((v = json_object_get(o, "vex")) != NULL) {
		size_t n, i;

		if (!json_is_array(v))
			return bad("vex", "must be an array of file names, not %s", type_name(v));
		n = json_array_size(v);
		if (n > CS_POLICY_MAX_VEX)
			return bad("vex", "more than %d documents", CS_POLICY_MAX_VEX);
		if (n > 0 && (pol->vex = calloc(n, sizeof(*pol->vex))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		for (i = 0; i < n; i++) {
			char *rel = NULL;

			pol->nvex = i + 1;
			sub_idx(p, sizeof(p), "vex", i);
			if ((r = get_string(&rel, json_array_get(v, i), p, CS_POLICY_MAX_STR)) != 0)
				return r;
			r = load_vex(&pol->vex[i], rel, base_dir, p);
			free(rel);
			if (r != 0)
				return r;
		}
	}
	if ((v = json_object_get(o, "repositories")) != NULL) {
		const char *k;
		json_t *x;
		size_t i = 0, n;

		if (!json_is_object(v))
			return bad("repositories", "must be an object (pattern: overrides), not %s",
				   type_name(v));
		n = json_object_size(v);
		if (n > CS_POLICY_MAX_REPOS)
			return bad("repositories", "more than %d patterns", CS_POLICY_MAX_REPOS);
		if (n > 0 && (pol->repos = calloc(n, sizeof(*pol->repos))) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		json_object_foreach(v, k, x) {
			char esc[160];

			pol->nrepos = i + 1;
			snprintf(p, sizeof(p), "repositories[\"%s\"]",
				 cs_policy_esc(esc, sizeof(esc), k, 64));
			if ((r = parse_repo(&pol->repos[i], k, x, p)) != 0)
				return r;
			i++;
		}
	}
	return 0;
}

void cs_policy_free(struct cs_policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	for (i = 0; i < p->nrepos; i++) {
		for (j = 0; j < p->repos[i].nrules; j++)
			rule_clear(&p->repos[i].rules[j]);
		free(p->repos[i].rules);
		free(p->repos[i].pattern);
	}
	free(p->repos);
	for (i = 0; i < p->nvex; i++) {
		free(p->vex[i].path);
		json_decref(p->vex[i].doc);
	}
	free(p->vex);
	free(p->description);
	free(p);
}

int cs_policy_load(struct cs_policy **out, const char *json_text, size_t len, const char *base_dir)
{
	struct cs_policy *pol = NULL;
	json_t *o = NULL;
	int r;

	if (out == NULL)
		return cs_err_set(CS_EINVAL, "policy: no output");
	*out = NULL;
	if (json_text == NULL)
		return cs_err_set(CS_EINVAL, "policy: no text");
	if (len > CS_POLICY_MAX_FILE)
		return cs_err_set(CS_ELIMIT, "policy: larger than %u bytes", CS_POLICY_MAX_FILE);
	if ((r = parse_json(&o, json_text, len, "policy")) != 0)
		return r;
	pol = calloc(1, sizeof(*pol));
	if (pol == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	pol->threshold = CS_LVL_HIGH;
	pol->sources[0] = CS_SRC_DISTRO;
	pol->sources[1] = CS_SRC_CVSS_V4;
	pol->sources[2] = CS_SRC_CVSS_V3;
	pol->nsources = 3;
	if ((r = parse_policy(pol, o, base_dir)) != 0)
		goto out;
	*out = pol;
	pol = NULL;
out:
	cs_policy_free(pol);
	json_decref(o);
	return r;
}

int cs_policy_load_file(struct cs_policy **out, const char *path)
{
	char dir[4096], *text = NULL, *slash;
	size_t len = 0;
	int r;

	if (out == NULL || path == NULL)
		return cs_err_set(CS_EINVAL, "policy: no path");
	*out = NULL;
	if ((r = read_capped(&text, &len, path, CS_POLICY_MAX_FILE)) != 0) {
		char esc[300];

		return cs_err_prefix(r, "%s", cs_policy_esc(esc, sizeof(esc), path, 200));
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		free(text);
		return cs_err_set(CS_EINVAL, "policy: path too long");
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	r = cs_policy_load(out, text, len, dir);
	free(text);
	return r;
}

int cs_policy_default(struct cs_policy **out)
{
	return cs_policy_load(out, default_policy, sizeof(default_policy) - 1, NULL);
}

json_t *cs_policy_rule_json(const struct cs_policy_rule *r)
{
	return json_pack("{s:s, s:s*, s:s*, s:s*, s:s*, s:s}", "where", r->where, "id", r->id,
			 "package", r->package, "image", r->image, "expires", r->expires, "reason",
			 r->reason);
}

static int add_rules(json_t *arr, const struct cs_policy_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, cs_policy_rule_json(&rules[i])) != 0)
			return -1;
	return 0;
}

int cs_policy_describe(json_t **out, const struct cs_policy *p)
{
	static const char *const src[] = { "distro", "cvss_v4", "cvss_v3" };
	json_t *o = NULL, *a;
	size_t i;

	if (out == NULL)
		return cs_err_set(CS_EINVAL, "policy: no output");
	*out = NULL;
	if (p == NULL)
		return cs_err_set(CS_EINVAL, "policy: no policy");
	o = json_pack("{s:i, s:s*, s:s, s:[], s:s, s:b, s:[], s:[], s:[]}", "version", p->version,
		      "description", p->description, "severity_threshold",
		      cs_policy_level_names[p->threshold], "severity_source", "severity_pick",
		      p->pick_highest ? "highest" : "first", "ignore_unfixed", p->ignore_unfixed,
		      "ignore", "vex", "repositories");
	if (o == NULL)
		goto oom;
	a = json_object_get(o, "severity_source");
	for (i = 0; i < p->nsources; i++)
		if (json_array_append_new(a, json_string(src[p->sources[i]])) != 0)
			goto oom;
	if (add_rules(json_object_get(o, "ignore"), p->rules, p->nrules) != 0)
		goto oom;
	a = json_object_get(o, "vex");
	for (i = 0; i < p->nvex; i++) {
		const json_t *d = p->vex[i].doc;
		json_t *x =
			json_pack("{s:s, s:s*, s:s*, s:I}", "path", p->vex[i].path, "id",
				  json_string_value(json_object_get(d, "@id")), "author",
				  json_string_value(json_object_get(d, "author")), "statements",
				  (json_int_t)json_array_size(json_object_get(d, "statements")));

		if (json_array_append_new(a, x) != 0)
			goto oom;
	}
	a = json_object_get(o, "repositories");
	for (i = 0; i < p->nrepos; i++) {
		const struct cs_policy_repo *rp = &p->repos[i];
		json_t *x = json_pack("{s:s, s:[]}", "pattern", rp->pattern, "ignore");

		if (x == NULL || json_array_append_new(a, x) != 0)
			goto oom;
		if (rp->threshold >= 0 &&
		    json_object_set_new(x, "severity_threshold",
					json_string(cs_policy_level_names[rp->threshold])) != 0)
			goto oom;
		if (rp->ignore_unfixed >= 0 &&
		    json_object_set_new(x, "ignore_unfixed", json_boolean(rp->ignore_unfixed)) != 0)
			goto oom;
		if (add_rules(json_object_get(x, "ignore"), rp->rules, rp->nrules) != 0)
			goto oom;
	}
	*out = o;
	return 0;
oom:
	json_decref(o);
	return cs_err_set(CS_ENOMEM, "out of memory");
}
