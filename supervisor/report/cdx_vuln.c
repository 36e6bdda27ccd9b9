/*
 * cdx_vuln.c - the CycloneDX 1.6 "vulnerabilities" array from classified
 * findings (docs/formats.md "CycloneDX vulnerabilities").
 *
 * One entry per finding (a vulnerability in one package), as Grype does:
 * ratings, analysis and recommendation are per package, and CycloneDX
 * keeps a single analysis per entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* CycloneDX "version" is at most 1024 characters. */
#define CDX_MAX_VERSION 1024

/* The key identifying a package across inventory and finding: the fields
 * the match copies from the inventory record unchanged. */
static char *package_key(const json_t *pkg)
{
	json_t *a = json_pack("[s?, s?, s?, s?, s?, O?]", cs_report_str(pkg, "kind"),
			      cs_report_str(pkg, "name"), cs_report_str(pkg, "version"),
			      cs_report_str(pkg, "arch"), cs_report_str(pkg, "db"),
			      json_object_get(pkg, "layer"));
	char *s;

	if (a == NULL)
		return NULL;
	s = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(a);
	return s;
}

int cs_report_cdx_index(json_t **out, const json_t *packages, const json_t *refs,
			const json_t *purls)
{
	json_t *idx = json_object(), *by_key = json_object(), *by_purl = json_object();
	const json_t *pkg;
	size_t i;
	int r = 0;

	*out = NULL;
	if (idx == NULL || by_key == NULL || by_purl == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(packages, i, pkg) {
		char *k = package_key(pkg);
		const char *purl = json_string_value(json_array_get(purls, i));
		json_t *ref = json_array_get(refs, i);

		if (k == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		/* The first package wins on both keys. */
		if (json_object_get(by_key, k) == NULL && json_object_set(by_key, k, ref) != 0)
			r = cs_err_set(CS_ENOMEM, "out of memory");
		free(k);
		if (r != 0)
			goto out;
		if (purl != NULL && json_object_get(by_purl, purl) == NULL &&
		    json_object_set(by_purl, purl, ref) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
	}
	r = cs_report_set(idx, "key", by_key);
	by_key = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(idx, "purl", by_purl);
	by_purl = NULL;
	if (r != 0)
		goto out;
	*out = idx;
	idx = NULL;
out:
	json_decref(idx);
	json_decref(by_key);
	json_decref(by_purl);
	return r;
}

/* The component a finding's package is: same record, else same purl,
 * else the image itself. */
static const char *component_ref(const json_t *idx, const json_t *pkg, const char *img_ref)
{
	const char *purl = cs_report_str(pkg, "purl");
	char *k = package_key(pkg);
	const json_t *v = k != NULL ? json_object_get(json_object_get(idx, "key"), k) : NULL;

	free(k);
	if (v == NULL && purl != NULL)
		v = json_object_get(json_object_get(idx, "purl"), purl);
	return json_is_string(v) ? json_string_value(v) : img_ref;
}

/* RFC 3339 date-time, as JSON Schema's "date-time" format checks it. */
static int is_datetime(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (s == NULL || strlen(s) < sizeof(pat) - 1)
		return 0;
	for (i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
			return 0;
	}
	s += i;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") == 0)
		return 1;
	return (s[0] == '+' || s[0] == '-') && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	       s[2] <= '9' && s[3] == ':' && s[4] >= '0' && s[4] <= '9' && s[5] >= '0' &&
	       s[5] <= '9' && s[6] == '\0';
}

/* An http(s) URL without spaces or control characters (an IRI reference
 * as the schema asks; anything else from the data is left out). */
static int is_url(const char *s)
{
	const unsigned char *p;

	if (s == NULL || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
		    *p == '^' || *p == '`' || *p == '{' || *p == '|' || *p == '}')
			return 0;
	return 1;
}

static int prop(json_t *props, const char *name, const char *value)
{
	if (value == NULL)
		return 0;
	return cs_report_append(props, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/* One rating from a severity candidate {"source", "level", "score",
 * "vector", "rating"} of the classification. */
static json_t *rating(const json_t *c)
{
	const char *src = cs_report_str(c, "source");
	const char *vec = cs_report_str(c, "vector");
	const json_t *score = json_object_get(c, "score");
	const char *method = "other";
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (vec != NULL && strncmp(vec, "CVSS:3.1/", 9) == 0)
		method = "CVSSv31";
	else if (vec != NULL && strncmp(vec, "CVSS:3.0/", 9) == 0)
		method = "CVSSv3";
	else if (vec != NULL && strncmp(vec, "CVSS:4.0/", 9) == 0)
		method = "CVSSv4";
	if (src != NULL && strncmp(src, "distro:", 7) == 0 && src[7] != '\0') {
		if (cs_report_set(o, "source", json_pack("{s:s}", "name", src + 7)) != 0)
			goto fail;
	}
	if (json_is_number(score) &&
	    cs_report_set(o, "score", json_real(json_number_value(score))) != 0)
		goto fail;
	if (cs_report_set_str(o, "severity",
			      cs_report_levels[cs_report_level_index(cs_report_str(c, "level"))]) !=
		    0 ||
	    cs_report_set_str(o, "method", method) != 0 || cs_report_set_str(o, "vector", vec) != 0)
		goto fail;
	/* The distribution's own word for it ("important", "unimportant"). */
	if (cs_report_set_str(o, "justification", cs_report_str(c, "rating")) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* The chosen severity first, then the other candidates considered. */
static int ratings(json_t *v, const json_t *f)
{
	const json_t *sev = json_object_get(f, "severity");
	const json_t *cons = json_object_get(sev, "considered");
	const char *chosen = cs_report_str(sev, "source");
	const json_t *c;
	json_t *arr = json_array();
	size_t i;
	int r;

	if (arr == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_report_append(arr, rating(sev))) != 0)
		goto out;
	json_array_foreach(cons, i, c) {
		const char *src = cs_report_str(c, "source");
		if (src == NULL || (chosen != NULL && strcmp(src, chosen) == 0))
			continue;
		if ((r = cs_report_append(arr, rating(c))) != 0)
			goto out;
	}
	r = cs_report_set(v, "ratings", arr);
	arr = NULL;
out:
	json_decref(arr);
	return r;
}

/* CWE numbers from "cwes" or "database_specific"."cwe_ids": 79 or
 * "CWE-79". */
static int cwes(json_t *v, const json_t *f)
{
	const json_t *src = json_object_get(f, "cwes");
	const json_t *x;
	json_t *arr;
	size_t i;

	if (!json_is_array(src))
		src = json_object_get(json_object_get(f, "database_specific"), "cwe_ids");
	if (!json_is_array(src) || json_array_size(src) == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_array_foreach(src, i, x) {
		long long n = 0;
		if (json_is_integer(x)) {
			n = json_integer_value(x);
		} else if (json_is_string(x) && strncmp(json_string_value(x), "CWE-", 4) == 0) {
			const char *d = json_string_value(x) + 4;
			size_t k;
			for (k = 0; d[k] >= '0' && d[k] <= '9' && k < 9; k++)
				n = n * 10 + (d[k] - '0');
			if (k == 0 || d[k] != '\0')
				n = 0;
		}
		if (n >= 1 && n <= 999999 && json_array_append_new(arr, json_integer(n)) != 0) {
			json_decref(arr);
			return cs_err_set(CS_ENOMEM, "out of memory");
		}
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return 0;
	}
	return cs_report_set(v, "cwes", arr);
}

static int add_advisory(json_t *arr, json_t *seen, const json_t *adv)
{
	const char *url = cs_report_str(adv, "url");
	const char *id = cs_report_str(adv, "id");
	json_t *a;

	if (!is_url(url) || json_object_get(seen, url) != NULL)
		return 0;
	if (json_object_set_new(seen, url, json_true()) != 0 || (a = json_object()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (cs_report_set_str(a, "title", id) != 0 || cs_report_set_str(a, "url", url) != 0) {
		json_decref(a);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	return cs_report_append(arr, a);
}

/* The advisory record's page and the merged records' pages. */
static int advisories(json_t *v, const json_t *f)
{
	json_t *arr = json_array(), *seen = json_object();
	const json_t *m;
	size_t i;
	int r;

	if (arr == NULL || seen == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = add_advisory(arr, seen, json_object_get(f, "advisory"))) != 0)
		goto out;
	json_array_foreach(json_object_get(f, "merged"), i, m) {
		if ((r = add_advisory(arr, seen, json_object_get(m, "advisory"))) != 0)
			goto out;
	}
	if (json_array_size(arr) > 0) {
		r = cs_report_set(v, "advisories", arr);
		arr = NULL;
	}
out:
	json_decref(arr);
	json_decref(seen);
	return r;
}

/* Aliases as references to the same vulnerability elsewhere. */
static int references(json_t *v, const json_t *f)
{
	const json_t *aliases = json_object_get(f, "aliases");
	const json_t *a;
	json_t *arr;
	size_t i;
	int r;

	if (json_array_size(aliases) == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_array_foreach(aliases, i, a) {
		if (!json_is_string(a) || json_string_value(a)[0] == '\0')
			continue;
		if ((r = cs_report_append(
			     arr, json_pack("{s:s, s:{s:s, s:o}}", "id", json_string_value(a),
					    "source", "name", "OSV", "url",
					    cs_report_osv_url(json_string_value(a))))) != 0) {
			json_decref(arr);
			return r;
		}
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return 0;
	}
	return cs_report_set(v, "references", arr);
}

/* OpenVEX status -> CycloneDX impactAnalysisState. */
static const char *vex_state(const char *s)
{
	if (s == NULL)
		return NULL;
	if (strcmp(s, "not_affected") == 0)
		return "not_affected";
	if (strcmp(s, "affected") == 0)
		return "exploitable";
	if (strcmp(s, "fixed") == 0)
		return "resolved";
	if (strcmp(s, "under_investigation") == 0)
		return "in_triage";
	return NULL;
}

/*
 * OpenVEX justification -> CycloneDX impactAnalysisJustification, by
 * meaning (docs/formats.md): a component or its vulnerable code absent is
 * code_not_present; code never executed is code_not_reachable; code an
 * attacker cannot drive needs an environment the product does not give
 * (requires_environment); inline mitigations are a mitigating control.
 */
static const char *vex_justification(const char *j)
{
	static const char *const map[][2] = {
		{ "component_not_present", "code_not_present" },
		{ "vulnerable_code_not_present", "code_not_present" },
		{ "vulnerable_code_not_in_execute_path", "code_not_reachable" },
		{ "vulnerable_code_cannot_be_controlled_by_adversary", "requires_environment" },
		{ "inline_mitigations_already_exist", "protected_by_mitigating_control" },
	};
	size_t i;

	for (i = 0; j != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(j, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static int analysis(json_t *v, const json_t *f)
{
	const json_t *d = json_object_get(f, "decision");
	const json_t *vex = json_object_get(d, "vex");
	const char *state = vex_state(cs_report_str(vex, "status"));
	const char *impact = cs_report_str(vex, "impact_statement");
	const char *action = cs_report_str(vex, "action_statement");
	const char *fix = cs_report_str(json_object_get(f, "fix"), "state");
	json_t *a, *resp = NULL;
	int r;

	if (!json_is_object(vex) || state == NULL)
		return 0;
	if ((a = json_object()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_report_set_str(a, "state", state)) != 0)
		goto out;
	if (strcmp(state, "not_affected") == 0 &&
	    (r = cs_report_set_str(a, "justification",
				   vex_justification(cs_report_str(vex, "justification")))) != 0)
		goto out;
	if (strcmp(state, "exploitable") == 0 && fix != NULL) {
		const char *what = strcmp(fix, "fixed") == 0	    ? "update" :
				   strcmp(fix, "will-not-fix") == 0 ? "will_not_fix" :
								      NULL;
		if (what != NULL) {
			if ((resp = json_pack("[s]", what)) == NULL) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			r = cs_report_set(a, "response", resp);
			if (r != 0)
				goto out;
		}
	}
	if ((r = cs_report_set_str(a, "detail", impact != NULL ? impact : action)) != 0)
		goto out;
	r = cs_report_set(v, "analysis", a);
	a = NULL;
out:
	json_decref(a);
	return r;
}

static int recommendation(json_t *v, const json_t *f)
{
	const json_t *fix = json_object_get(f, "fix");
	const char *state = cs_report_str(fix, "state");
	const char *ver = cs_report_str(fix, "version");
	const char *name = cs_report_str(json_object_get(f, "package"), "name");
	struct cs_buf b;
	int r;

	cs_buf_init(&b, 256 * 1024);
	if (state != NULL && strcmp(state, "fixed") == 0 && ver != NULL)
		r = cs_buf_printf(&b, "upgrade %s to %s", name != NULL ? name : "the package", ver);
	else if (state != NULL && strcmp(state, "will-not-fix") == 0)
		r = cs_buf_addstr(&b, "no fix: the distribution will not fix this");
	else
		r = cs_buf_addstr(&b, "no fixed version is available yet");
	if (r == 0 && (r = cs_buf_cstr(&b)) == 0)
		r = cs_report_set_str(v, "recommendation", (const char *)b.data);
	cs_buf_free(&b);
	return r;
}

static int properties(json_t *v, const json_t *f)
{
	const json_t *d = json_object_get(f, "decision");
	const json_t *rule = json_object_get(d, "rule");
	const json_t *vex = json_object_get(d, "vex");
	const json_t *sev = json_object_get(f, "severity");
	json_t *props = json_array();
	int r;

	if (props == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = prop(props, "cellscan:severity:source", cs_report_str(sev, "source"))) != 0 ||
	    (r = prop(props, "cellscan:fix:state",
		      cs_report_str(json_object_get(f, "fix"), "state"))) != 0 ||
	    (r = prop(props, "cellscan:installed_version",
		      cs_report_str(f, "installed_version"))) != 0 ||
	    (r = prop(props, "cellscan:ecosystem", cs_report_str(f, "ecosystem"))) != 0 ||
	    (r = prop(props, "cellscan:decision:status", cs_report_str(d, "status"))) != 0 ||
	    (r = prop(props, "cellscan:decision:by", cs_report_str(d, "by"))) != 0 ||
	    (r = prop(props, "cellscan:rule:where", cs_report_str(rule, "where"))) != 0 ||
	    (r = prop(props, "cellscan:rule:reason", cs_report_str(rule, "reason"))) != 0 ||
	    (r = prop(props, "cellscan:vex:status", cs_report_str(vex, "status"))) != 0 ||
	    (r = prop(props, "cellscan:vex:justification", cs_report_str(vex, "justification"))) !=
		    0 ||
	    (r = prop(props, "cellscan:vex:document", cs_report_str(vex, "document"))) != 0) {
		json_decref(props);
		return r;
	}
	if (json_array_size(props) == 0) {
		json_decref(props);
		return 0;
	}
	return cs_report_set(v, "properties", props);
}

static int affects(json_t *v, const json_t *f, const json_t *idx, const char *img_ref)
{
	const json_t *pkg = json_object_get(f, "package");
	const json_t *vex = json_object_get(json_object_get(f, "decision"), "vex");
	const char *ver = cs_report_str(f, "installed_version");
	const char *vs = cs_report_str(vex, "status");
	const char *status = "affected";
	json_t *a;

	if (cs_report_str(pkg, "version") != NULL)
		ver = cs_report_str(pkg, "version");
	if (vs != NULL && (strcmp(vs, "not_affected") == 0 || strcmp(vs, "fixed") == 0))
		status = "unaffected";
	if (ver != NULL && strlen(ver) <= CDX_MAX_VERSION)
		a = json_pack("[{s:s, s:[{s:s, s:s}]}]", "ref", component_ref(idx, pkg, img_ref),
			      "versions", "version", ver, "status", status);
	else
		a = json_pack("[{s:s}]", "ref", component_ref(idx, pkg, img_ref));
	return cs_report_set(v, "affects", a);
}

int cs_report_cdx_vulnerabilities(json_t **out, const json_t *findings, const json_t *idx,
				  const char *img_ref)
{
	json_t *arr = NULL, *v = NULL;
	const json_t *f;
	size_t i;
	int r = 0;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_array_foreach(findings, i, f) {
		const char *id = cs_report_str(f, "id");
		const json_t *adv = json_object_get(f, "advisory");
		const char *src_id = cs_report_str(adv, "id");
		const char *db = cs_report_str(adv, "database");

		if (!json_is_object(f) || id == NULL) {
			r = cs_err_set(CS_EINVAL, "finding %zu has no id", i);
			goto out;
		}
		if ((v = json_object()) == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = cs_report_set_str(v, "id", id)) != 0 ||
		    (r = cs_report_set(
			     v, "source",
			     json_pack("{s:s, s:o}", "name", db != NULL ? db : "OSV", "url",
				       cs_report_osv_url(src_id != NULL ? src_id : id)))) != 0 ||
		    (r = references(v, f)) != 0 || (r = ratings(v, f)) != 0 ||
		    (r = cwes(v, f)) != 0 ||
		    (r = cs_report_set_str(v, "description", cs_report_str(f, "summary"))) != 0 ||
		    (r = cs_report_set_str(v, "detail", cs_report_str(f, "details"))) != 0 ||
		    (r = recommendation(v, f)) != 0 || (r = advisories(v, f)) != 0)
			goto out;
		if (is_datetime(cs_report_str(adv, "published")) &&
		    (r = cs_report_set_str(v, "published", cs_report_str(adv, "published"))) != 0)
			goto out;
		if (is_datetime(cs_report_str(adv, "modified")) &&
		    (r = cs_report_set_str(v, "updated", cs_report_str(adv, "modified"))) != 0)
			goto out;
		if ((r = analysis(v, f)) != 0 || (r = affects(v, f, idx, img_ref)) != 0 ||
		    (r = properties(v, f)) != 0)
			goto out;
		r = cs_report_append(arr, v);
		v = NULL;
		if (r != 0)
			goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	json_decref(v);
	return r;
}
