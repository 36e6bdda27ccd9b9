/*
 * cyclonedx.c - the inventory as a CycloneDX 1.6 JSON BOM
 * (https://cyclonedx.org/docs/1.6/json/), with vulnerabilities when
 * findings are given (cdx_vuln.c); docs/formats.md lists the fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* Property names live under "cellscan:" (CycloneDX property taxonomy:
 * a namespace of one's own for unregistered names). */
static int prop(json_t *props, const char *name, const char *value)
{
	json_t *p;
	int r;

	if (value == NULL)
		return 0;
	if ((p = json_object()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_report_set_str(p, "name", name)) != 0 ||
	    (r = cs_report_set_str(p, "value", value)) != 0) {
		json_decref(p);
		return r;
	}
	return cs_report_append(props, p);
}

static int prop_int(json_t *props, const char *name, const json_t *v)
{
	char s[32];

	if (!json_is_integer(v))
		return 0;
	snprintf(s, sizeof(s), "%lld", (long long)json_integer_value(v));
	return prop(props, name, s);
}

/* Attaches props to o as "properties" unless it is empty; takes props. */
static int set_props(json_t *o, json_t *props)
{
	if (json_array_size(props) == 0) {
		json_decref(props);
		return 0;
	}
	return cs_report_set(o, "properties", props);
}

/*
 * licenses: one SPDX identifier as {"license": {"id"}}, a recognised
 * expression as {"expression"}, anything else verbatim as
 * {"license": {"name"}}. All are what the package database declares.
 */
static int licenses(json_t *comp, const char *lic)
{
	json_t *arr = NULL, *item = NULL, *l = NULL;
	int r;

	if (lic == NULL)
		return 0;
	if ((arr = json_array()) == NULL || (item = json_object()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (cs_report_license_id_ok(lic) || !cs_report_spdx_license_ok(lic)) {
		if ((l = json_object()) == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = cs_report_set_str(l, cs_report_license_id_ok(lic) ? "id" : "name", lic)) !=
			    0 ||
		    (r = cs_report_set_str(l, "acknowledgement", "declared")) != 0)
			goto out;
		r = cs_report_set(item, "license", l);
		l = NULL;
		if (r != 0)
			goto out;
	} else if ((r = cs_report_set_str(item, "expression", lic)) != 0 ||
		   (r = cs_report_set_str(item, "acknowledgement", "declared")) != 0) {
		goto out;
	}
	r = cs_report_append(arr, item);
	item = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(comp, "licenses", arr);
	arr = NULL;
out:
	json_decref(arr);
	json_decref(item);
	json_decref(l);
	return r;
}

/* The version as the ecosystem writes it whole: rpm gets "epoch:" when the
 * epoch is non-zero (dpkg versions already carry theirs). *tmp is freed by
 * the caller. */
static const char *full_version(const json_t *pkg, char **tmp)
{
	const char *v = cs_report_str(pkg, "version");
	const char *kind = cs_report_str(pkg, "kind");
	const json_t *e = json_object_get(pkg, "epoch");
	size_t n;

	*tmp = NULL;
	if (v == NULL || kind == NULL || strcmp(kind, "rpm") != 0 || !json_is_integer(e) ||
	    json_integer_value(e) <= 0)
		return v;
	n = strlen(v) + 24;
	if ((*tmp = malloc(n)) == NULL)
		return NULL;
	snprintf(*tmp, n, "%lld:%s", (long long)json_integer_value(e), v);
	return *tmp;
}

static int package_component(json_t **out, const json_t *pkg, const char *ref, const char *purl)
{
	json_t *c = json_object(), *props = json_array();
	const char *kind = cs_report_str(pkg, "kind");
	const char *publisher;
	char *ver = NULL;
	const char *v;
	int r;

	*out = NULL;
	if (c == NULL || props == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((v = full_version(pkg, &ver)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	publisher = cs_report_str(pkg, "maintainer");
	if (publisher == NULL)
		publisher = cs_report_str(pkg, "vendor");
	if ((r = cs_report_set_str(c, "type", "library")) != 0 ||
	    (r = cs_report_set_str(c, "bom-ref", ref)) != 0 ||
	    (r = cs_report_set_str(c, "publisher", publisher)) != 0 ||
	    (r = cs_report_set_str(c, "name", cs_report_str(pkg, "name"))) != 0 ||
	    (r = cs_report_set_str(c, "version", v)) != 0 ||
	    (r = licenses(c, cs_report_str(pkg, "license"))) != 0 ||
	    (r = cs_report_set_str(c, "purl", purl)) != 0)
		goto out;
	if ((r = prop(props, "cellscan:package:type", kind)) != 0 ||
	    (r = prop(props, "cellscan:package:db", cs_report_str(pkg, "db"))) != 0 ||
	    (r = prop(props, "cellscan:package:arch", cs_report_str(pkg, "arch"))) != 0 ||
	    (r = prop_int(props, "cellscan:layer:index", json_object_get(pkg, "layer"))) != 0 ||
	    (r = prop(props, "cellscan:layer:diff_id", cs_report_str(pkg, "layer_diff_id"))) != 0 ||
	    (r = prop(props, "cellscan:source:name", cs_report_str(pkg, "source_name"))) != 0 ||
	    (r = prop(props, "cellscan:source:version", cs_report_str(pkg, "source_version"))) !=
		    0 ||
	    (r = prop(props, "cellscan:dpkg:multi_arch", cs_report_str(pkg, "multi_arch"))) != 0 ||
	    (r = prop(props, "cellscan:apk:origin", cs_report_str(pkg, "origin"))) != 0 ||
	    (r = prop_int(props, "cellscan:rpm:epoch", json_object_get(pkg, "epoch"))) != 0 ||
	    (r = prop(props, "cellscan:rpm:version", cs_report_str(pkg, "rpm_version"))) != 0 ||
	    (r = prop(props, "cellscan:rpm:release", cs_report_str(pkg, "rpm_release"))) != 0 ||
	    (r = prop(props, "cellscan:rpm:source_rpm", cs_report_str(pkg, "source_rpm"))) != 0 ||
	    (r = prop(props, "cellscan:rpm:modularity_label",
		      cs_report_str(pkg, "modularity_label"))) != 0)
		goto out;
	r = set_props(c, props);
	props = NULL;
	if (r != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	free(ver);
	json_decref(c);
	json_decref(props);
	return r;
}

static int image_component(json_t **out, const json_t *inv, const char *ref, const char *purl)
{
	const json_t *image = json_object_get(inv, "image");
	const json_t *layers = json_object_get(inv, "layers");
	const json_t *l;
	json_t *c = json_object(), *props = json_array();
	const char *name;
	size_t i;
	int r;

	*out = NULL;
	if (c == NULL || props == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	name = cs_report_str(image, "name");
	if (name == NULL)
		name = cs_report_str(image, "ref");
	if ((r = cs_report_set_str(c, "type", "container")) != 0 ||
	    (r = cs_report_set_str(c, "bom-ref", ref)) != 0 ||
	    (r = cs_report_set_str(c, "name", name != NULL ? name : "image")) != 0 ||
	    (r = cs_report_set_str(c, "version", cs_report_str(image, "manifest_digest"))) != 0 ||
	    (r = cs_report_set_str(c, "purl", purl)) != 0)
		goto out;
	if ((r = prop(props, "cellscan:image:ref", cs_report_str(image, "ref"))) != 0 ||
	    (r = prop(props, "cellscan:image:manifest_digest",
		      cs_report_str(image, "manifest_digest"))) != 0 ||
	    (r = prop(props, "cellscan:image:config_digest",
		      cs_report_str(image, "config_digest"))) != 0 ||
	    (r = prop(props, "cellscan:image:platform", cs_report_str(image, "platform"))) != 0)
		goto out;
	/* In layer order, so the n-th is layer n. */
	json_array_foreach(layers, i, l) {
		if ((r = prop(props, "cellscan:image:layer_diff_id",
			      cs_report_str(l, "diff_id"))) != 0)
			goto out;
	}
	if (json_is_array(json_object_get(inv, "warnings"))) {
		char n[32];
		snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(inv, "warnings")));
		if ((r = prop(props, "cellscan:image:warnings", n)) != 0)
			goto out;
	}
	r = set_props(c, props);
	props = NULL;
	if (r != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	json_decref(c);
	json_decref(props);
	return r;
}

static int os_component(json_t **out, const json_t *os, const char *ref)
{
	json_t *c = json_object(), *props = json_array();
	int r;

	*out = NULL;
	if (c == NULL || props == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(c, "type", "operating-system")) != 0 ||
	    (r = cs_report_set_str(c, "bom-ref", ref)) != 0 ||
	    (r = cs_report_set_str(c, "name", cs_report_str(os, "id"))) != 0 ||
	    (r = cs_report_set_str(c, "version", cs_report_str(os, "version_id"))) != 0 ||
	    (r = cs_report_set_str(c, "description", cs_report_str(os, "pretty_name"))) != 0)
		goto out;
	if ((r = prop(props, "cellscan:os:codename", cs_report_str(os, "codename"))) != 0 ||
	    (r = prop(props, "cellscan:os:id_like", cs_report_str(os, "id_like"))) != 0 ||
	    (r = prop(props, "cellscan:os:source", cs_report_str(os, "source"))) != 0 ||
	    (r = prop_int(props, "cellscan:layer:index", json_object_get(os, "layer"))) != 0)
		goto out;
	r = set_props(c, props);
	props = NULL;
	if (r != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	json_decref(c);
	json_decref(props);
	return r;
}

/* serialNumber: urn:uuid: + UUIDv5(URL namespace, "cellscan:cyclonedx:" +
 * manifest digest [+ ":" + creation time]); without a digest the compact,
 * key-sorted inventory stands in for it. */
static int serial(char out[64], const json_t *inv, int have_t, long long t)
{
	const char *digest = cs_report_str(json_object_get(inv, "image"), "manifest_digest");
	char uuid[CS_REPORT_UUID_LEN];
	char *name = NULL, *content = NULL;
	size_t n;
	int r;

	if (digest == NULL) {
		content = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS);
		if (content == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		digest = content;
	}
	n = strlen(digest) + 64;
	if ((name = malloc(n)) == NULL) {
		free(content);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if (have_t)
		snprintf(name, n, "cellscan:cyclonedx:%s:%lld", digest, t);
	else
		snprintf(name, n, "cellscan:cyclonedx:%s", digest);
	r = cs_report_uuid5(uuid, cs_report_uuid_ns_url, name, strlen(name));
	free(name);
	free(content);
	if (r == 0)
		snprintf(out, 64, "urn:uuid:%s", uuid);
	return r;
}

static int check_inventory(const json_t *inv)
{
	const json_t *p = json_object_get(inv, "packages");

	if (!json_is_object(inv))
		return cs_err_set(CS_EINVAL, "inventory is not a JSON object");
	if (!json_is_object(json_object_get(inv, "image")))
		return cs_err_set(CS_EINVAL, "inventory has no \"image\" object");
	if (p != NULL && !json_is_array(p))
		return cs_err_set(CS_EINVAL, "inventory \"packages\" is not an array");
	return 0;
}

int cs_report_cyclonedx(char **out, size_t *len, const json_t *inventory, const json_t *findings,
			const struct cs_report_opts *opts)
{
	const json_t *packages, *os, *pkg;
	json_t *doc = NULL, *meta = NULL, *tools = NULL, *tool = NULL, *tcomps = NULL;
	json_t *comps = NULL, *comp = NULL, *deps = NULL, *dep = NULL, *on = NULL;
	json_t *refs = NULL, *purls = NULL, *idx = NULL, *vulns = NULL;
	char *img_purl = NULL;
	char sn[64], iso[32];
	const char *img_ref;
	const char *os_ref = "cellscan:os";
	long long t;
	int have_t, r;
	size_t i;

	*out = NULL;
	*len = 0;
	if (findings != NULL && !json_is_array(findings))
		return cs_err_set(CS_EINVAL, "CycloneDX: findings is not an array");
	if ((r = check_inventory(inventory)) != 0)
		return r;
	packages = json_object_get(inventory, "packages");
	os = json_object_get(inventory, "os");
	if (!json_is_object(os) || cs_report_str(os, "id") == NULL)
		os = NULL;
	if ((r = cs_report_time(opts, 0, &have_t, &t, iso)) != 0 ||
	    (r = serial(sn, inventory, have_t, t)) != 0 ||
	    (r = cs_report_image_purl(&img_purl, json_object_get(inventory, "image"))) != 0 ||
	    (r = cs_report_package_refs(&refs, &purls, packages, os)) != 0)
		goto out;
	/* Package bom-refs are purls ("pkg:..."), so these cannot collide. */
	img_ref = img_purl != NULL ? img_purl : "cellscan:image";

	if ((doc = json_object()) == NULL || (meta = json_object()) == NULL ||
	    (tools = json_object()) == NULL || (tcomps = json_array()) == NULL ||
	    (tool = json_object()) == NULL || (comps = json_array()) == NULL ||
	    (deps = json_array()) == NULL || (dep = json_object()) == NULL ||
	    (on = json_array()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(doc, "$schema",
				   "http://cyclonedx.org/schema/bom-1.6.schema.json")) != 0 ||
	    (r = cs_report_set_str(doc, "bomFormat", "CycloneDX")) != 0 ||
	    (r = cs_report_set_str(doc, "specVersion", "1.6")) != 0 ||
	    (r = cs_report_set_str(doc, "serialNumber", sn)) != 0 ||
	    (r = cs_report_set(doc, "version", json_integer(1))) != 0)
		goto out;

	if (have_t && (r = cs_report_set_str(meta, "timestamp", iso)) != 0)
		goto out;
	if ((r = cs_report_set_str(tool, "type", "application")) != 0 ||
	    (r = cs_report_set_str(tool, "name", CS_REPORT_TOOL)) != 0 ||
	    (r = cs_report_set_str(tool, "version", CELLSCAN_VERSION)) != 0)
		goto out;
	r = cs_report_append(tcomps, tool);
	tool = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(tools, "components", tcomps);
	tcomps = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(meta, "tools", tools);
	tools = NULL;
	if (r != 0 || (r = image_component(&comp, inventory, img_ref, img_purl)) != 0)
		goto out;
	r = cs_report_set(meta, "component", comp);
	comp = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(doc, "metadata", meta);
	meta = NULL;
	if (r != 0)
		goto out;

	if (os != NULL) {
		if ((r = os_component(&comp, os, os_ref)) != 0)
			goto out;
		r = cs_report_append(comps, comp);
		comp = NULL;
		if (r != 0 || (r = cs_report_append(on, json_string(os_ref))) != 0)
			goto out;
	}
	json_array_foreach(packages, i, pkg) {
		const char *ref = json_string_value(json_array_get(refs, i));
		if ((r = package_component(&comp, pkg, ref,
					   json_string_value(json_array_get(purls, i)))) != 0) {
			cs_err_prefix(r, "package %zu", i);
			goto out;
		}
		r = cs_report_append(comps, comp);
		comp = NULL;
		if (r != 0 || (r = cs_report_append(on, json_string(ref))) != 0)
			goto out;
	}
	r = cs_report_set(doc, "components", comps);
	comps = NULL;
	if (r != 0)
		goto out;

	/* Only what is known: the image holds the OS and the packages. The
	 * packages' own dependencies are not read, so they get no entries
	 * (CycloneDX: absent from the graph = unknown, not "none"). */
	if ((r = cs_report_set_str(dep, "ref", img_ref)) != 0)
		goto out;
	r = cs_report_set(dep, "dependsOn", on);
	on = NULL;
	if (r != 0)
		goto out;
	r = cs_report_append(deps, dep);
	dep = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(doc, "dependencies", deps);
	deps = NULL;
	if (r != 0)
		goto out;

	if (findings != NULL) {
		if ((r = cs_report_cdx_index(&idx, packages, refs, purls)) != 0 ||
		    (r = cs_report_cdx_vulnerabilities(&vulns, findings, idx, img_ref)) != 0)
			goto out;
		r = cs_report_set(doc, "vulnerabilities", vulns);
		vulns = NULL;
		if (r != 0)
			goto out;
	}

	r = cs_report_dump(out, len, doc);
out:
	if (r != 0)
		cs_err_prefix(r, "CycloneDX");
	free(img_purl);
	json_decref(refs);
	json_decref(purls);
	json_decref(idx);
	json_decref(vulns);
	json_decref(doc);
	json_decref(meta);
	json_decref(tools);
	json_decref(tcomps);
	json_decref(tool);
	json_decref(comps);
	json_decref(comp);
	json_decref(deps);
	json_decref(dep);
	json_decref(on);
	return r;
}

int cs_report_sbom_cyclonedx(char **out, size_t *len, const json_t *inventory)
{
	return cs_report_cyclonedx(out, len, inventory, NULL, NULL);
}
