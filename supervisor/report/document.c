/*
 * document.c - the cellscan-report/1 document: inventory + match result +
 * policy classification in one JSON object (docs/formats.md "Findings
 * report", docs/report-schema.json).
 */
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* Largest number of findings a report holds; a classification with more
 * is refused rather than sorted and copied without bound. */
#define MAX_FINDINGS ((size_t)4 * 1024 * 1024)

struct sortkey {
	const json_t *f;
	int level;
	const char *id;
	const char *name;
	const char *version;
	json_int_t layer;
	size_t index;
};

static int strcmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Severity (critical first), id, package name, version, layer, and the
 * classification's order last so that qsort's instability cannot show. */
static int cmp_finding(const void *pa, const void *pb)
{
	const struct sortkey *a = pa, *b = pb;
	int c;

	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if ((c = strcmp_null(a->id, b->id)) != 0 || (c = strcmp_null(a->name, b->name)) != 0 ||
	    (c = strcmp_null(a->version, b->version)) != 0)
		return c;
	if (a->layer != b->layer)
		return a->layer < b->layer ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* A deep copy of o's member key, or JSON null when absent. */
static json_t *member_or_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v != NULL ? json_deep_copy(v) : json_null();
}

/* Checks that member key of o, when present and not null, has the type. */
static int check_type(const json_t *o, const char *what, const char *key, json_type t)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v) || json_typeof(v) == t ||
	    (t == JSON_TRUE && json_is_boolean(v)))
		return 0;
	return cs_err_set(CS_EINVAL, "%s \"%s\" has the wrong type", what, key);
}

static int check_inputs(const json_t *inv, const json_t *match, const json_t *cls)
{
	int r;

	if (!json_is_object(inv))
		return cs_err_set(CS_EINVAL, "inventory is not a JSON object");
	if (!json_is_object(match))
		return cs_err_set(CS_EINVAL, "match result is not a JSON object");
	if (!json_is_object(cls))
		return cs_err_set(CS_EINVAL, "classification is not a JSON object");
	if (!json_is_object(json_object_get(inv, "image")))
		return cs_err_set(CS_EINVAL, "inventory has no \"image\" object");
	if (!json_is_array(json_object_get(cls, "findings")))
		return cs_err_set(CS_EINVAL, "classification has no \"findings\" array");
	if (cs_report_str(cls, "verdict") == NULL)
		return cs_err_set(CS_EINVAL, "classification has no \"verdict\"");
	if ((r = check_type(inv, "inventory", "packages", JSON_ARRAY)) != 0 ||
	    (r = check_type(inv, "inventory", "layers", JSON_ARRAY)) != 0 ||
	    (r = check_type(inv, "inventory", "warnings", JSON_ARRAY)) != 0 ||
	    (r = check_type(inv, "inventory", "os", JSON_OBJECT)) != 0 ||
	    (r = check_type(inv, "inventory", "sandbox", JSON_OBJECT)) != 0 ||
	    (r = check_type(match, "match result", "ecosystem", JSON_STRING)) != 0 ||
	    (r = check_type(match, "match result", "os_supported", JSON_TRUE)) != 0 ||
	    (r = check_type(match, "match result", "unsupported_reason", JSON_STRING)) != 0 ||
	    (r = check_type(match, "match result", "notes", JSON_ARRAY)) != 0 ||
	    (r = check_type(match, "match result", "db", JSON_OBJECT)) != 0 ||
	    (r = check_type(cls, "classification", "reason", JSON_STRING)) != 0 ||
	    (r = check_type(cls, "classification", "counts", JSON_OBJECT)) != 0 ||
	    (r = check_type(cls, "classification", "recommendations", JSON_ARRAY)) != 0)
		return r;
	if (json_array_size(json_object_get(cls, "findings")) > MAX_FINDINGS)
		return cs_err_set(CS_ELIMIT, "more than %zu findings", MAX_FINDINGS);
	return 0;
}

/* The findings in report order. */
static int sorted_findings(json_t **out, const json_t *findings)
{
	struct sortkey *k = NULL;
	json_t *arr = NULL;
	const json_t *f;
	size_t i, n = json_array_size(findings);
	int r;

	*out = NULL;
	if ((arr = json_array()) == NULL || (n > 0 && (k = calloc(n, sizeof(*k))) == NULL)) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(findings, i, f) {
		const json_t *pkg = json_object_get(f, "package");
		const json_t *layer = json_object_get(pkg, "layer");

		if (!json_is_object(f)) {
			r = cs_err_set(CS_EINVAL, "finding %zu is not an object", i);
			goto out;
		}
		k[i].f = f;
		k[i].level = cs_report_finding_level(f);
		k[i].id = cs_report_str(f, "id");
		k[i].name = cs_report_str(pkg, "name");
		k[i].version = cs_report_str(f, "installed_version");
		if (k[i].version == NULL)
			k[i].version = cs_report_str(pkg, "version");
		k[i].layer = json_is_integer(layer) ? json_integer_value(layer) : -1;
		k[i].index = i;
	}
	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_finding);
	/* Shared with the classification, not copied: a report of a large
	 * image would otherwise copy every finding a second time. Nothing
	 * changes a finding once it is classified. */
	for (i = 0; i < n; i++)
		if ((r = cs_report_append(arr, json_incref((json_t *)k[i].f))) != 0)
			goto out;
	*out = arr;
	arr = NULL;
	r = 0;
out:
	free(k);
	json_decref(arr);
	return r;
}

/* Counts per level and ignored, from the findings themselves; used when
 * the classification has none. */
static json_t *count_findings(const json_t *findings)
{
	size_t c[CS_REPORT_NLEVELS + 1] = { 0 }, i;
	const json_t *f;
	json_t *o;
	int l;

	json_array_foreach(findings, i, f) {
		if (cs_report_finding_ignored(f))
			c[CS_REPORT_NLEVELS]++;
		else
			c[cs_report_finding_level(f)]++;
	}
	if ((o = json_object()) == NULL)
		return NULL;
	for (l = 0; l <= CS_REPORT_NLEVELS; l++) {
		if (json_object_set_new(o, l < CS_REPORT_NLEVELS ? cs_report_levels[l] : "ignored",
					json_integer((json_int_t)c[l])) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int build_summary(json_t **out, const json_t *inv, const json_t *cls, const json_t *findings)
{
	json_t *s = NULL, *counts = NULL;
	const json_t *f;
	size_t i, ignored = 0;
	int r;

	*out = NULL;
	json_array_foreach(findings, i, f)
		ignored += cs_report_finding_ignored(f) ? 1 : 0;
	if (json_is_object(json_object_get(cls, "counts")))
		counts = json_deep_copy(json_object_get(cls, "counts"));
	else
		counts = count_findings(findings);
	if ((s = json_object()) == NULL || counts == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set(s, "packages",
			       json_integer((json_int_t)json_array_size(
				       json_object_get(inv, "packages"))))) != 0 ||
	    (r = cs_report_set(s, "layers",
			       json_integer((json_int_t)json_array_size(
				       json_object_get(inv, "layers"))))) != 0 ||
	    (r = cs_report_set(s, "findings",
			       json_integer((json_int_t)json_array_size(findings)))) != 0 ||
	    (r = cs_report_set(s, "reported",
			       json_integer((json_int_t)(json_array_size(findings) - ignored)))) !=
		    0 ||
	    (r = cs_report_set(s, "ignored", json_integer((json_int_t)ignored))) != 0)
		goto out;
	r = cs_report_set(s, "counts", counts);
	counts = NULL;
	if (r != 0 || (r = cs_report_set_str(s, "verdict", cs_report_str(cls, "verdict"))) != 0 ||
	    (r = cs_report_set(s, "reason", member_or_null(cls, "reason"))) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	json_decref(s);
	json_decref(counts);
	return r;
}

/* The policy's effective settings as the classification reports them. */
static int build_policy(json_t **out, const json_t *cls)
{
	static const char *const keys[] = { "threshold", "ignore_unfixed", "repository_override",
					    "expired_rules", "partial" };
	json_t *p;
	size_t i;
	int r;

	*out = NULL;
	if ((p = json_object()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_get(cls, keys[i]) == NULL)
			continue;
		if ((r = cs_report_set(p, keys[i],
				       json_deep_copy(json_object_get(cls, keys[i])))) != 0) {
			json_decref(p);
			return r;
		}
	}
	*out = p;
	return 0;
}

static int build_db(json_t **out, const json_t *match)
{
	const json_t *db = json_object_get(match, "db");
	json_t *o;
	int r;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_report_set(o, "digest", member_or_null(db, "digest"))) != 0 ||
	    (r = cs_report_set(o, "built", member_or_null(db, "built"))) != 0) {
		json_decref(o);
		return r;
	}
	*out = o;
	return 0;
}

/* An array member copied, or an empty array. */
static json_t *array_or_empty(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

int cs_report_build(json_t **out, const json_t *inventory, const json_t *match,
		    const json_t *classification, const struct cs_report_opts *opts)
{
	json_t *doc = NULL, *findings = NULL, *v = NULL;
	const json_t *os_supported;
	char iso[32];
	long long t;
	int have_t, supported, r;

	*out = NULL;
	if ((r = check_inputs(inventory, match, classification)) != 0 ||
	    (r = cs_report_time(opts, 0, &have_t, &t, iso)) != 0)
		goto out;
	os_supported = json_object_get(match, "os_supported");
	/* Absent means "not known to be supported": never claim coverage the
	 * match result did not state. */
	supported = json_is_true(os_supported);
	if ((r = sorted_findings(&findings, json_object_get(classification, "findings"))) != 0)
		goto out;
	if ((doc = json_object()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(doc, "schema", CS_REPORT_SCHEMA)) != 0 ||
	    (r = cs_report_set(doc, "generated", have_t ? json_string(iso) : json_null())) != 0 ||
	    (r = cs_report_set(doc, "tool",
			       json_pack("{s:s, s:s}", "name", CS_REPORT_TOOL, "version",
					 CELLSCAN_VERSION))) != 0 ||
	    (r = cs_report_set(doc, "image",
			       json_deep_copy(json_object_get(inventory, "image")))) != 0 ||
	    (r = cs_report_set(doc, "os", member_or_null(inventory, "os"))) != 0 ||
	    (r = cs_report_set(doc, "ecosystem", member_or_null(match, "ecosystem"))) != 0 ||
	    (r = cs_report_set(doc, "os_supported", json_boolean(supported))) != 0 ||
	    (r = cs_report_set(doc, "unsupported_reason",
			       supported ? json_null() :
					   member_or_null(match, "unsupported_reason"))) != 0)
		goto out;
	if ((r = build_db(&v, match)) != 0)
		goto out;
	r = cs_report_set(doc, "db", v);
	v = NULL;
	if (r != 0 || (r = build_summary(&v, inventory, classification, findings)) != 0)
		goto out;
	r = cs_report_set(doc, "summary", v);
	v = NULL;
	if (r != 0 ||
	    (r = cs_report_set_str(doc, "verdict", cs_report_str(classification, "verdict"))) !=
		    0 ||
	    (r = cs_report_set(doc, "reason", member_or_null(classification, "reason"))) != 0 ||
	    (r = build_policy(&v, classification)) != 0)
		goto out;
	r = cs_report_set(doc, "policy", v);
	v = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(doc, "findings", findings);
	findings = NULL;
	if (r != 0 ||
	    (r = cs_report_set(doc, "recommendations",
			       array_or_empty(classification, "recommendations"))) != 0 ||
	    (r = cs_report_set(doc, "notes", array_or_empty(match, "notes"))) != 0 ||
	    (r = cs_report_set(doc, "warnings", array_or_empty(inventory, "warnings"))) != 0 ||
	    (r = cs_report_set(doc, "layers", array_or_empty(inventory, "layers"))) != 0 ||
	    (r = cs_report_set(doc, "sandbox", member_or_null(inventory, "sandbox"))) != 0)
		goto out;
	*out = doc;
	doc = NULL;
out:
	if (r != 0)
		cs_err_prefix(r, "report");
	json_decref(doc);
	json_decref(findings);
	json_decref(v);
	return r;
}

int cs_report_json(char **out, size_t *len, const json_t *report)
{
	*out = NULL;
	*len = 0;
	if (!json_is_object(report) || cs_report_str(report, "schema") == NULL ||
	    strcmp(cs_report_str(report, "schema"), CS_REPORT_SCHEMA) != 0)
		return cs_err_set(CS_EINVAL, "not a %s document", CS_REPORT_SCHEMA);
	return cs_report_dump(out, len, report);
}
