/*
 * sarif.c - a cellscan-report/1 document as a SARIF 2.1.0 log (OASIS
 * "Static Analysis Results Interchange Format Version 2.1.0", errata 01);
 * docs/formats.md "SARIF" lists the fields and GitHub code scanning's
 * conventions followed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

#define SARIF_SCHEMA \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

/* SARIF result level per severity (critical ... unknown). */
static const char *const sarif_level[CS_REPORT_NLEVELS] = {
	"error", "error", "warning", "note", "note",
};

/*
 * GitHub code scanning reads "security-severity" (a number 0.0-10.0 as a
 * string) to rank alerts: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
 * 0.1-3.9 low. A finding rated by its distribution has no score; it gets
 * a value in the middle of its level's band so that it ranks as rated.
 */
static const char *const band_score[CS_REPORT_NLEVELS] = {
	"9.5", "8.0", "5.5", "2.0", NULL,
};

static json_t *text_obj(const char *s)
{
	return json_pack("{s:s}", "text", s);
}

/* security-severity of a finding: its score, else its level's band, else
 * NULL (unknown). */
static json_t *security_severity(const json_t *f)
{
	const json_t *sev = json_object_get(f, "severity");
	const json_t *score = json_object_get(sev, "score");
	int level = cs_report_finding_level(f);
	char s[16];

	if (json_is_number(score) && json_number_value(score) >= 0.0 &&
	    json_number_value(score) <= 10.0) {
		snprintf(s, sizeof(s), "%.1f", json_number_value(score));
		return json_string(s);
	}
	return band_score[level] != NULL ? json_string(band_score[level]) : NULL;
}

static int make_rule(json_t **out, const json_t *f)
{
	const char *id = cs_report_str(f, "id");
	const char *summary = cs_report_str(f, "summary");
	const char *details = cs_report_str(f, "details");
	const json_t *sev = json_object_get(f, "severity");
	int level = cs_report_finding_level(f);
	json_t *rule = NULL, *props = NULL, *tags = NULL, *ss;
	int r;

	*out = NULL;
	if ((rule = json_object()) == NULL || (props = json_object()) == NULL ||
	    (tags = json_pack("[s, s, s]", "vulnerability", "security", cs_report_levels[level])) ==
		    NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(rule, "id", id)) != 0 ||
	    (r = cs_report_set(rule, "shortDescription",
			       text_obj(summary != NULL ? summary : id))) != 0 ||
	    (details != NULL &&
	     (r = cs_report_set(rule, "fullDescription", text_obj(details))) != 0) ||
	    (r = cs_report_set(rule, "helpUri", cs_report_osv_url(id))) != 0 ||
	    (r = cs_report_set(rule, "defaultConfiguration",
			       json_pack("{s:s}", "level", sarif_level[level]))) != 0)
		goto out;
	if ((ss = security_severity(f)) != NULL &&
	    (r = cs_report_set(props, "security-severity", ss)) != 0)
		goto out;
	r = cs_report_set(props, "tags", tags);
	tags = NULL;
	if (r != 0 ||
	    (r = cs_report_set_str(props, "cellscan/severity", cs_report_levels[level])) != 0 ||
	    (r = cs_report_set_str(props, "cellscan/severity_source",
				   cs_report_str(sev, "source"))) != 0 ||
	    (r = cs_report_set_str(props, "cellscan/cvss_vector", cs_report_str(sev, "vector"))) !=
		    0)
		goto out;
	if (json_is_array(json_object_get(f, "aliases")) &&
	    json_array_size(json_object_get(f, "aliases")) > 0 &&
	    (r = cs_report_set(props, "cellscan/aliases",
			       json_deep_copy(json_object_get(f, "aliases")))) != 0)
		goto out;
	r = cs_report_set(rule, "properties", props);
	props = NULL;
	if (r != 0)
		goto out;
	*out = rule;
	rule = NULL;
out:
	json_decref(rule);
	json_decref(props);
	json_decref(tags);
	return r;
}

/* "<pkg> <installed> is affected by <id>; fixed in <version>" and the
 * variants for unfixed findings. */
static int message(json_t **out, const json_t *f)
{
	const json_t *pkg = json_object_get(f, "package");
	const json_t *fix = json_object_get(f, "fix");
	const char *name = cs_report_str(pkg, "name");
	const char *inst = cs_report_str(f, "installed_version");
	const char *state = cs_report_str(fix, "state");
	const char *ver = cs_report_str(fix, "version");
	const char *id = cs_report_str(f, "id");
	struct cs_buf b;
	int r;

	*out = NULL;
	if (inst == NULL)
		inst = cs_report_str(pkg, "version");
	cs_buf_init(&b, 256 * 1024);
	if ((r = cs_buf_printf(&b, "%s %s is affected by %s",
			       name != NULL ? name : "(unnamed package)",
			       inst != NULL ? inst : "(unknown version)", id)) != 0)
		goto out;
	if (state != NULL && strcmp(state, "fixed") == 0 && ver != NULL)
		r = cs_buf_printf(&b, "; fixed in %s", ver);
	else if (state != NULL && strcmp(state, "will-not-fix") == 0)
		r = cs_buf_addstr(&b, "; the distribution will not fix it");
	else
		r = cs_buf_addstr(&b, "; no fixed version yet");
	if (r != 0 || (r = cs_buf_cstr(&b)) != 0)
		goto out;
	if ((*out = text_obj((const char *)b.data)) == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	cs_buf_free(&b);
	return r;
}

static const char *image_name(const json_t *image)
{
	const char *n = cs_report_str(image, "name");

	return n != NULL ? n : cs_report_str(image, "ref");
}

/* Stable across rescans and upgrades that do not fix: image name, package
 * kind and name, vulnerability id (not the version or the layer). */
static int fingerprint(json_t **out, const json_t *image, const json_t *f)
{
	const json_t *pkg = json_object_get(f, "package");
	const char *parts[4];
	char hex[65];
	struct cs_buf b;
	size_t i;
	int r;

	*out = NULL;
	parts[0] = image_name(image);
	parts[1] = cs_report_str(pkg, "kind");
	parts[2] = cs_report_str(pkg, "name");
	parts[3] = cs_report_str(f, "id");
	cs_buf_init(&b, 1 << 20);
	/* NUL-separated, so no two tuples share an encoding. */
	for (i = 0; i < 4; i++)
		if ((r = cs_buf_add(&b, parts[i] != NULL ? parts[i] : "",
				    parts[i] != NULL ? strlen(parts[i]) + 1 : 1)) != 0)
			goto out;
	if ((r = cs_report_sha256_hex(hex, b.data, b.len)) != 0)
		goto out;
	if ((*out = json_pack("{s:s}", "cellscan/v1", hex)) == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	cs_buf_free(&b);
	return r;
}

/* The package's database (or, for a language package, its file) as the
 * artifact; the package itself as a logical location that names the
 * layer and the image. */
static int location(json_t **out, const json_t *image, const json_t *f)
{
	const json_t *pkg = json_object_get(f, "package");
	const char *file = cs_report_str(pkg, "path");
	const char *name = cs_report_str(pkg, "name");
	const char *ver = cs_report_str(pkg, "version");
	json_t *loc = NULL, *ll = NULL, *props = NULL;
	struct cs_buf b;
	int r;

	*out = NULL;
	cs_buf_init(&b, 256 * 1024);
	if (file == NULL)
		file = cs_report_str(pkg, "db");
	if ((loc = json_object()) == NULL || (ll = json_object()) == NULL ||
	    (props = json_object()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (file != NULL) {
		/* A relative URI reference: everything but the unreserved
		 * characters and '/' percent-encoded (RFC 3986). */
		while (file[0] == '/')
			file++;
		if ((r = cs_report_pct_encode(&b, file[0] != '\0' ? file : ".", "/")) != 0 ||
		    (r = cs_buf_cstr(&b)) != 0 ||
		    (r = cs_report_set(loc, "physicalLocation",
				       json_pack("{s:{s:s}}", "artifactLocation", "uri",
						 (const char *)b.data))) != 0)
			goto out;
	}
	if ((r = cs_report_set_str(props, "image", cs_report_str(image, "ref"))) != 0 ||
	    (r = cs_report_set_str(props, "manifest_digest",
				   cs_report_str(image, "manifest_digest"))) != 0 ||
	    (json_is_integer(json_object_get(pkg, "layer")) &&
	     (r = cs_report_set(props, "layer", json_copy(json_object_get(pkg, "layer")))) != 0) ||
	    (r = cs_report_set_str(props, "layer_diff_id", cs_report_str(pkg, "layer_diff_id"))) !=
		    0 ||
	    (r = cs_report_set_str(props, "package_kind", cs_report_str(pkg, "kind"))) != 0 ||
	    (r = cs_report_set_str(props, "purl", cs_report_str(pkg, "purl"))) != 0)
		goto out;
	cs_buf_reset(&b);
	if ((r = cs_buf_printf(&b, "%s@%s", name != NULL ? name : "", ver != NULL ? ver : "")) !=
		    0 ||
	    (r = cs_buf_cstr(&b)) != 0 ||
	    (r = cs_report_set_str(ll, "name", name != NULL ? name : "(unnamed package)")) != 0 ||
	    (r = cs_report_set_str(ll, "fullyQualifiedName", (const char *)b.data)) != 0 ||
	    (r = cs_report_set_str(ll, "kind", "package")) != 0)
		goto out;
	r = cs_report_set(ll, "properties", props);
	props = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(loc, "logicalLocations", json_pack("[o]", ll));
	ll = NULL;
	if (r != 0)
		goto out;
	*out = loc;
	loc = NULL;
out:
	cs_buf_free(&b);
	json_decref(loc);
	json_decref(ll);
	json_decref(props);
	return r;
}

/* An ignored finding is still a result, with a suppression saying who
 * ignored it (SARIF 3.35: kind "external", the policy lives outside). */
static int suppression(json_t **out, const json_t *f)
{
	const json_t *d = json_object_get(f, "decision");
	const char *by = cs_report_str(d, "by");
	const json_t *vex = json_object_get(d, "vex");
	const json_t *rule = json_object_get(d, "rule");
	struct cs_buf b;
	int r;

	*out = NULL;
	cs_buf_init(&b, 256 * 1024);
	if (by != NULL && strcmp(by, "vex") == 0)
		r = cs_buf_printf(
			&b, "VEX %s: %s%s%s",
			cs_report_str(vex, "status") ? cs_report_str(vex, "status") : "",
			cs_report_str(vex, "justification") ? cs_report_str(vex, "justification") :
							      "",
			cs_report_str(vex, "document") ? " in " : "",
			cs_report_str(vex, "document") ? cs_report_str(vex, "document") : "");
	else if (by != NULL && strcmp(by, "rule") == 0)
		r = cs_buf_printf(&b, "policy rule %s: %s",
				  cs_report_str(rule, "where") ? cs_report_str(rule, "where") : "",
				  cs_report_str(rule, "reason") ? cs_report_str(rule, "reason") :
								  "");
	else if (by != NULL && strcmp(by, "ignore-unfixed") == 0)
		r = cs_buf_addstr(&b, "ignore-unfixed: no fixed version");
	else
		r = cs_buf_addstr(&b, "ignored by policy");
	if (r != 0 || (r = cs_buf_cstr(&b)) != 0)
		goto out;
	if ((*out = json_pack("[{s:s, s:s, s:s}]", "kind", "external", "status", "accepted",
			      "justification", (const char *)b.data)) == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	cs_buf_free(&b);
	return r;
}

static int make_result(json_t **out, const json_t *image, const json_t *f, size_t rule_index)
{
	const json_t *fix = json_object_get(f, "fix");
	json_t *res = NULL, *v = NULL, *props = NULL;
	int level = cs_report_finding_level(f);
	int r;

	*out = NULL;
	if ((res = json_object()) == NULL || (props = json_object()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(res, "ruleId", cs_report_str(f, "id"))) != 0 ||
	    (r = cs_report_set(res, "ruleIndex", json_integer((json_int_t)rule_index))) != 0 ||
	    (r = cs_report_set_str(res, "kind", "fail")) != 0 ||
	    (r = cs_report_set_str(res, "level", sarif_level[level])) != 0 ||
	    (r = message(&v, f)) != 0)
		goto out;
	r = cs_report_set(res, "message", v);
	v = NULL;
	if (r != 0 || (r = location(&v, image, f)) != 0)
		goto out;
	r = cs_report_set(res, "locations", json_pack("[o]", v));
	v = NULL;
	if (r != 0 || (r = fingerprint(&v, image, f)) != 0)
		goto out;
	r = cs_report_set(res, "partialFingerprints", v);
	v = NULL;
	if (r != 0)
		goto out;
	if (cs_report_finding_ignored(f)) {
		if ((r = suppression(&v, f)) != 0)
			goto out;
		r = cs_report_set(res, "suppressions", v);
		v = NULL;
		if (r != 0)
			goto out;
	}
	if ((r = cs_report_set_str(props, "severity", cs_report_levels[level])) != 0 ||
	    (r = cs_report_set_str(props, "installed_version",
				   cs_report_str(f, "installed_version"))) != 0 ||
	    (r = cs_report_set_str(props, "fix_state", cs_report_str(fix, "state"))) != 0 ||
	    (r = cs_report_set_str(props, "fixed_version", cs_report_str(fix, "version"))) != 0 ||
	    (r = cs_report_set_str(props, "decision",
				   cs_report_str(json_object_get(f, "decision"), "status"))) != 0)
		goto out;
	r = cs_report_set(res, "properties", props);
	props = NULL;
	if (r != 0)
		goto out;
	*out = res;
	res = NULL;
out:
	json_decref(res);
	json_decref(v);
	json_decref(props);
	return r;
}

/* Unsupported OS and an "error" verdict are said as notifications. */
static int invocation(json_t **out, const json_t *rep)
{
	const char *verdict = cs_report_str(rep, "verdict");
	int error = verdict == NULL || strcmp(verdict, "error") == 0;
	json_t *inv = NULL, *notes = NULL;
	struct cs_buf b;
	int r;

	*out = NULL;
	cs_buf_init(&b, 256 * 1024);
	if ((inv = json_object()) == NULL || (notes = json_array()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set(inv, "executionSuccessful", json_boolean(!error))) != 0)
		goto out;
	if (!json_is_true(json_object_get(rep, "os_supported"))) {
		const char *why = cs_report_str(rep, "unsupported_reason");
		if ((r = cs_buf_printf(&b,
				       "unsupported OS%s%s: OS packages were not checked for "
				       "vulnerabilities",
				       why ? ": " : "", why ? why : "")) != 0 ||
		    (r = cs_buf_cstr(&b)) != 0 ||
		    (r = cs_report_append(notes,
					  json_pack("{s:s, s:{s:s}}", "level", "warning", "message",
						    "text", (const char *)b.data))) != 0)
			goto out;
	}
	if (error &&
	    (r = cs_report_append(
		     notes, json_pack("{s:s, s:{s:s}}", "level", "error", "message", "text",
				      cs_report_str(rep, "reason") ? cs_report_str(rep, "reason") :
								     "scan failed"))) != 0)
		goto out;
	if (json_array_size(notes) > 0) {
		r = cs_report_set(inv, "toolExecutionNotifications", notes);
		notes = NULL;
		if (r != 0)
			goto out;
	}
	*out = inv;
	inv = NULL;
	r = 0;
out:
	cs_buf_free(&b);
	json_decref(inv);
	json_decref(notes);
	return r;
}

int cs_report_sarif(char **out, size_t *len, const json_t *report)
{
	const json_t *findings, *image, *f;
	json_t *doc = NULL, *rules = NULL, *index = NULL, *results = NULL, *v = NULL, *run = NULL;
	json_t *props = NULL;
	int *best = NULL;
	size_t i, n;
	int r;

	*out = NULL;
	*len = 0;
	if (!json_is_object(report) || cs_report_str(report, "schema") == NULL ||
	    strcmp(cs_report_str(report, "schema"), CS_REPORT_SCHEMA) != 0)
		return cs_err_set(CS_EINVAL, "SARIF: not a %s document", CS_REPORT_SCHEMA);
	findings = json_object_get(report, "findings");
	image = json_object_get(report, "image");
	n = json_array_size(findings);
	if ((rules = json_array()) == NULL || (index = json_object()) == NULL ||
	    (results = json_array()) == NULL ||
	    (n > 0 && (best = calloc(n, sizeof(*best))) == NULL)) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	/* One rule per id, in order of first appearance, described by the
	 * most severe of its findings. */
	json_array_foreach(findings, i, f) {
		const char *id = cs_report_str(f, "id");
		const json_t *at;
		size_t k;

		if (id == NULL) {
			r = cs_err_set(CS_EINVAL, "finding %zu has no id", i);
			goto out;
		}
		if ((at = json_object_get(index, id)) == NULL) {
			k = json_array_size(rules);
			if ((r = cs_report_set(index, id, json_integer((json_int_t)k))) != 0 ||
			    (r = make_rule(&v, f)) != 0)
				goto out;
			r = cs_report_append(rules, v);
			v = NULL;
			if (r != 0)
				goto out;
			best[k] = cs_report_finding_level(f);
		} else {
			k = (size_t)json_integer_value(at);
			if (cs_report_finding_level(f) < best[k]) {
				if ((r = make_rule(&v, f)) != 0)
					goto out;
				if (json_array_set_new(rules, k, v) != 0) {
					v = NULL;
					r = cs_err_set(CS_ENOMEM, "out of memory");
					goto out;
				}
				v = NULL;
				best[k] = cs_report_finding_level(f);
			}
		}
	}
	json_array_foreach(findings, i, f) {
		size_t k =
			(size_t)json_integer_value(json_object_get(index, cs_report_str(f, "id")));
		if ((r = make_result(&v, image, f, k)) != 0)
			goto out;
		r = cs_report_append(results, v);
		v = NULL;
		if (r != 0)
			goto out;
	}
	if ((props = json_object()) == NULL ||
	    (r = cs_report_set(props, "image", json_deep_copy(image))) != 0 ||
	    (r = cs_report_set_str(props, "verdict", cs_report_str(report, "verdict"))) != 0 ||
	    (r = cs_report_set_str(props, "reason", cs_report_str(report, "reason"))) != 0 ||
	    (r = cs_report_set(
		     props, "os_supported",
		     json_boolean(json_is_true(json_object_get(report, "os_supported"))))) != 0 ||
	    (r = cs_report_set_str(props, "db_digest",
				   cs_report_str(json_object_get(report, "db"), "digest"))) != 0) {
		if (props == NULL)
			r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = invocation(&v, report)) != 0)
		goto out;
	run = json_pack("{s:{s:{s:s, s:s, s:o}}, s:[o], s:o, s:o}", "tool", "driver", "name",
			CS_REPORT_TOOL, "version", CELLSCAN_VERSION, "rules", rules, "invocations",
			v, "results", results, "properties", props);
	rules = results = props = v = NULL;
	if (run == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	doc = json_pack("{s:s, s:s, s:[o]}", "$schema", SARIF_SCHEMA, "version", "2.1.0", "runs",
			run);
	run = NULL;
	if (doc == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	r = cs_report_dump(out, len, doc);
out:
	if (r != 0)
		cs_err_prefix(r, "SARIF");
	free(best);
	json_decref(doc);
	json_decref(rules);
	json_decref(index);
	json_decref(results);
	json_decref(v);
	json_decref(run);
	json_decref(props);
	return r;
}
