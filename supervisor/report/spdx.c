/*
 * spdx.c - the inventory as an SPDX 2.3 JSON document
 * (https://spdx.github.io/spdx-spec/v2.3/); docs/formats.md lists the fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* How much of a package name goes into its SPDXID (the hash makes it
 * unique; the name only makes it readable). */
#define ID_NAME_MAX 64

struct ctx {
	const char *annotator;    /* "Tool: cellscan-x.y.z" */
	const char *created;      /* ISO 8601 */
	json_t *ids;              /* SPDXIDs given out, as a set */
};

/* SPDXRef-<prefix>-<name, made safe>-<16 hex of SHA-256(key)>: only
 * [A-Za-z0-9.-] may follow "SPDXRef-" (SPDX 2.3 section 3.2). */
static int spdx_id(struct ctx *x, char **out, const char *prefix, const char *name,
		   const char *key)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct cs_buf b;
	size_t i, n, mark;
	int r, k;

	*out = NULL;
	cs_buf_init(&b, 1024);
	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8) {
		r = cs_err_set(CS_EINTERNAL, "SHA-256 failed");
		goto out;
	}
	if ((r = cs_buf_addstr(&b, "SPDXRef-")) != 0 || (r = cs_buf_addstr(&b, prefix)) != 0 ||
	    (r = cs_buf_add(&b, "-", 1)) != 0)
		goto out;
	for (i = 0; name[i] != '\0' && i < ID_NAME_MAX; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			c = '-';
		if ((r = cs_buf_add(&b, &c, 1)) != 0)
			goto out;
	}
	if ((r = cs_buf_add(&b, "-", 1)) != 0)
		goto out;
	for (i = 0; i < 8; i++) {
		char h[2] = { hex[md[i] >> 4], hex[md[i] & 15] };
		if ((r = cs_buf_add(&b, h, 2)) != 0)
			goto out;
	}
	/* A 64-bit collision, or the same key twice: number the newcomer. */
	mark = b.len;
	for (k = 2; ; k++) {
		if ((r = cs_buf_cstr(&b)) != 0)
			goto out;
		if (json_object_get(x->ids, (const char *)b.data) == NULL)
			break;
		b.len = mark;
		if ((r = cs_buf_printf(&b, "-%d", k)) != 0)
			goto out;
	}
	if ((r = cs_report_set(x->ids, (const char *)b.data, json_true())) != 0)
		goto out;
	*out = (char *)cs_buf_steal(&b, &n);
out:
	cs_buf_free(&b);
	return r;
}

static int purl_ref(json_t *p, const char *purl)
{
	json_t *refs, *ref;
	int r;

	if (purl == NULL)
		return 0;
	if ((refs = json_array()) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((ref = json_object()) == NULL) {
		json_decref(refs);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if ((r = cs_report_set_str(ref, "referenceCategory", "PACKAGE-MANAGER")) != 0 ||
	    (r = cs_report_set_str(ref, "referenceType", "purl")) != 0 ||
	    (r = cs_report_set_str(ref, "referenceLocator", purl)) != 0) {
		json_decref(ref);
		json_decref(refs);
		return r;
	}
	if ((r = cs_report_append(refs, ref)) != 0) {
		json_decref(refs);
		return r;
	}
	return cs_report_set(p, "externalRefs", refs);
}

/* One annotation "cellscan:<name>=<value>" (SPDX 2.3 has no key-value
 * properties; Trivy carries layer data the same way). */
static int note(struct ctx *x, json_t *notes, const char *name, const char *value)
{
	json_t *a;
	char *c;
	size_t n;
	int r;

	if (value == NULL)
		return 0;
	n = strlen(name) + strlen(value) + 2;
	if ((c = malloc(n)) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	snprintf(c, n, "%s=%s", name, value);
	if ((a = json_object()) == NULL) {
		free(c);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if ((r = cs_report_set_str(a, "annotationDate", x->created)) != 0 ||
	    (r = cs_report_set_str(a, "annotationType", "OTHER")) != 0 ||
	    (r = cs_report_set_str(a, "annotator", x->annotator)) != 0 ||
	    (r = cs_report_set_str(a, "comment", c)) != 0) {
		free(c);
		json_decref(a);
		return r;
	}
	free(c);
	return cs_report_append(notes, a);
}

static int note_int(struct ctx *x, json_t *notes, const char *name, const json_t *v)
{
	char s[32];

	if (!json_is_integer(v))
		return 0;
	snprintf(s, sizeof(s), "%lld", (long long)json_integer_value(v));
	return note(x, notes, name, s);
}

/* The fields every SPDX package here has. */
static int base(json_t *p, const char *id, const char *name, const char *version)
{
	int r;

	if ((r = cs_report_set_str(p, "SPDXID", id)) != 0 ||
	    (r = cs_report_set_str(p, "name", name)) != 0 ||
	    (r = cs_report_set_str(p, "versionInfo", version)) != 0 ||
	    (r = cs_report_set_str(p, "downloadLocation", "NOASSERTION")) != 0 ||
	    (r = cs_report_set(p, "filesAnalyzed", json_false())) != 0)
		return r;
	return 0;
}

/* "built package from: <source>" when the source differs from the binary. */
static int source_info(json_t *p, const json_t *pkg)
{
	const char *name = cs_report_str(pkg, "name");
	const char *version = cs_report_str(pkg, "version");
	const char *sn = cs_report_str(pkg, "source_name");
	const char *sv = cs_report_str(pkg, "source_version");
	const char *src = cs_report_str(pkg, "source_rpm");
	char *s;
	size_t n;
	int r;

	if (src == NULL)
		src = cs_report_str(pkg, "origin");
	if (sn != NULL) {
		if (strcmp(sn, name) == 0 && (sv == NULL || strcmp(sv, version) == 0))
			return 0;
		n = strlen(sn) + (sv != NULL ? strlen(sv) : 0) + 32;
		if ((s = malloc(n)) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		snprintf(s, n, "built package from: %s%s%s", sn, sv != NULL ? " " : "",
			 sv != NULL ? sv : "");
	} else if (src != NULL && strcmp(src, name) != 0) {
		n = strlen(src) + 32;
		if ((s = malloc(n)) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		snprintf(s, n, "built package from: %s", src);
	} else {
		return 0;
	}
	r = cs_report_set_str(p, "sourceInfo", s);
	free(s);
	return r;
}

static int package(struct ctx *x, json_t **out, const json_t *pkg, const char *id,
		   const char *purl)
{
	json_t *p = json_object(), *notes = json_array();
	const char *lic = cs_report_str(pkg, "license");
	int r;

	*out = NULL;
	if (p == NULL || notes == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = base(p, id, cs_report_str(pkg, "name"), cs_report_str(pkg, "version"))) != 0 ||
	    (r = source_info(p, pkg)) != 0 ||
	    (r = cs_report_set_str(p, "licenseConcluded", "NOASSERTION")) != 0 ||
	    /* What the database says, when it is an expression SPDX tools
	     * accept; otherwise we cannot assert anything. */
	    (r = cs_report_set_str(p, "licenseDeclared",
				   lic != NULL && cs_report_spdx_license_ok(lic) ? lic
										 : "NOASSERTION")) != 0 ||
	    (r = cs_report_set_str(p, "copyrightText", "NOASSERTION")) != 0 ||
	    (r = purl_ref(p, purl)) != 0)
		goto out;
	if ((r = note(x, notes, "cellscan:package:type", cs_report_str(pkg, "kind"))) != 0 ||
	    (r = note(x, notes, "cellscan:package:db", cs_report_str(pkg, "db"))) != 0 ||
	    (r = note_int(x, notes, "cellscan:layer:index", json_object_get(pkg, "layer"))) != 0 ||
	    (r = note(x, notes, "cellscan:layer:diff_id", cs_report_str(pkg, "layer_diff_id"))) != 0 ||
	    /* The verbatim license, when licenseDeclared could not carry it. */
	    (lic != NULL && !cs_report_spdx_license_ok(lic) &&
	     (r = note(x, notes, "cellscan:package:license", lic)) != 0))
		goto out;
	r = cs_report_set(p, "annotations", notes);
	notes = NULL;
	if (r != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	json_decref(p);
	json_decref(notes);
	return r;
}

static int relationship(json_t *rels, const char *a, const char *type, const char *b)
{
	json_t *o = json_object();
	int r;

	if (o == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_report_set_str(o, "spdxElementId", a)) != 0 ||
	    (r = cs_report_set_str(o, "relationshipType", type)) != 0 ||
	    (r = cs_report_set_str(o, "relatedSpdxElement", b)) != 0) {
		json_decref(o);
		return r;
	}
	return cs_report_append(rels, o);
}

/* documentNamespace: urn:uuid: + UUIDv5(URL namespace, "cellscan:spdx:" +
 * manifest digest + ":" + creation time), so it is unique per document yet
 * reproducible under SOURCE_DATE_EPOCH. */
static int doc_namespace(char out[64], const json_t *inv, long long t)
{
	const char *digest = cs_report_str(json_object_get(inv, "image"), "manifest_digest");
	char uuid[CS_REPORT_UUID_LEN];
	char *name = NULL, *content = NULL;
	size_t n;
	int r;

	if (digest == NULL) {
		if ((content = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		digest = content;
	}
	n = strlen(digest) + 64;
	if ((name = malloc(n)) == NULL) {
		free(content);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	snprintf(name, n, "cellscan:spdx:%s:%lld", digest, t);
	r = cs_report_uuid5(uuid, cs_report_uuid_ns_url, name, strlen(name));
	free(name);
	free(content);
	if (r == 0)
		snprintf(out, 64, "urn:uuid:%s", uuid);
	return r;
}

int cs_report_spdx(char **out, size_t *len, const json_t *inventory,
		   const struct cs_report_opts *opts)
{
	const json_t *image, *os, *packages, *pkg, *layers, *l;
	json_t *doc = NULL, *ci = NULL, *creators = NULL, *pkgs = NULL, *rels = NULL;
	json_t *p = NULL, *notes = NULL, *refs = NULL, *purls = NULL;
	char *img_purl = NULL, *img_id = NULL, *os_id = NULL, *id = NULL;
	char iso[32], ns[64], annotator[128];
	const char *name;
	struct ctx x = { NULL, NULL, NULL };
	long long t;
	int have_t, r;
	size_t i;

	*out = NULL;
	*len = 0;
	if (!json_is_object(inventory) || !json_is_object(json_object_get(inventory, "image")))
		return cs_err_set(CS_EINVAL, "SPDX: inventory has no \"image\" object");
	image = json_object_get(inventory, "image");
	packages = json_object_get(inventory, "packages");
	if (packages != NULL && !json_is_array(packages))
		return cs_err_set(CS_EINVAL, "SPDX: inventory \"packages\" is not an array");
	os = json_object_get(inventory, "os");
	if (!json_is_object(os) || cs_report_str(os, "id") == NULL)
		os = NULL;
	snprintf(annotator, sizeof(annotator), "Tool: %s-%s", CS_REPORT_TOOL, CELLSCAN_VERSION);
	x.annotator = annotator;
	x.created = iso;
	if ((x.ids = json_object()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_time(opts, 1, &have_t, &t, iso)) != 0 ||
	    (r = doc_namespace(ns, inventory, t)) != 0 ||
	    (r = cs_report_image_purl(&img_purl, image)) != 0 ||
	    (r = cs_report_package_refs(&refs, &purls, packages, os)) != 0)
		goto out;
	name = cs_report_str(image, "name");
	if (name == NULL)
		name = cs_report_str(image, "ref");
	if (name == NULL)
		name = "image";

	if ((doc = json_object()) == NULL || (ci = json_object()) == NULL ||
	    (creators = json_array()) == NULL || (pkgs = json_array()) == NULL ||
	    (rels = json_array()) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cs_report_set_str(doc, "spdxVersion", "SPDX-2.3")) != 0 ||
	    (r = cs_report_set_str(doc, "dataLicense", "CC0-1.0")) != 0 ||
	    (r = cs_report_set_str(doc, "SPDXID", "SPDXRef-DOCUMENT")) != 0 ||
	    (r = cs_report_set_str(doc, "name", name)) != 0 ||
	    (r = cs_report_set_str(doc, "documentNamespace", ns)) != 0 ||
	    (r = cs_report_append(creators, json_string(annotator))) != 0 ||
	    (r = cs_report_set_str(ci, "created", iso)) != 0)
		goto out;
	r = cs_report_set(ci, "creators", creators);
	creators = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(doc, "creationInfo", ci);
	ci = NULL;
	if (r != 0)
		goto out;

	/* The image. */
	if ((r = spdx_id(&x, &img_id, "Image", name, img_purl != NULL ? img_purl : name)) != 0 ||
	    (p = json_object()) == NULL || (notes = json_array()) == NULL) {
		if (r == 0)
			r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = base(p, img_id, name, cs_report_str(image, "manifest_digest"))) != 0 ||
	    (r = cs_report_set_str(p, "primaryPackagePurpose", "CONTAINER")) != 0 ||
	    (r = purl_ref(p, img_purl)) != 0 ||
	    (r = note(&x, notes, "cellscan:image:ref", cs_report_str(image, "ref"))) != 0 ||
	    (r = note(&x, notes, "cellscan:image:config_digest",
		      cs_report_str(image, "config_digest"))) != 0 ||
	    (r = note(&x, notes, "cellscan:image:platform", cs_report_str(image, "platform"))) != 0)
		goto out;
	layers = json_object_get(inventory, "layers");
	json_array_foreach(layers, i, l) {
		char k[64];
		snprintf(k, sizeof(k), "cellscan:image:layer_diff_id:%zu", i);
		if ((r = note(&x, notes, k, cs_report_str(l, "diff_id"))) != 0)
			goto out;
	}
	if (json_array_size(notes) > 0) {
		r = cs_report_set(p, "annotations", notes);
		notes = NULL;
		if (r != 0)
			goto out;
	}
	r = cs_report_append(pkgs, p);
	p = NULL;
	if (r != 0 || (r = relationship(rels, "SPDXRef-DOCUMENT", "DESCRIBES", img_id)) != 0)
		goto out;

	/* The operating system. */
	if (os != NULL) {
		json_decref(notes);
		notes = NULL;
		if ((r = spdx_id(&x, &os_id, "OperatingSystem", cs_report_str(os, "id"),
				 cs_report_str(os, "id"))) != 0 ||
		    (p = json_object()) == NULL || (notes = json_array()) == NULL) {
			if (r == 0)
				r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = base(p, os_id, cs_report_str(os, "id"), cs_report_str(os, "version_id"))) != 0 ||
		    (r = cs_report_set_str(p, "primaryPackagePurpose", "OPERATING_SYSTEM")) != 0 ||
		    (r = cs_report_set_str(p, "description", cs_report_str(os, "pretty_name"))) != 0 ||
		    (r = note(&x, notes, "cellscan:os:codename", cs_report_str(os, "codename"))) != 0 ||
		    (r = note(&x, notes, "cellscan:os:source", cs_report_str(os, "source"))) != 0 ||
		    (r = note_int(&x, notes, "cellscan:layer:index", json_object_get(os, "layer"))) != 0)
			goto out;
		if (json_array_size(notes) > 0) {
			r = cs_report_set(p, "annotations", notes);
			notes = NULL;
			if (r != 0)
				goto out;
		}
		r = cs_report_append(pkgs, p);
		p = NULL;
		if (r != 0 || (r = relationship(rels, img_id, "CONTAINS", os_id)) != 0)
			goto out;
	}

	json_array_foreach(packages, i, pkg) {
		const char *ref = json_string_value(json_array_get(refs, i));
		const char *kind = cs_report_str(pkg, "kind");
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "Package-%s", kind != NULL ? kind : "x");
		if ((r = spdx_id(&x, &id, prefix, cs_report_str(pkg, "name"), ref)) != 0 ||
		    (r = package(&x, &p, pkg, id, json_string_value(json_array_get(purls, i)))) != 0) {
			cs_err_prefix(r, "package %zu", i);
			goto out;
		}
		r = cs_report_append(pkgs, p);
		p = NULL;
		if (r != 0 || (r = relationship(rels, img_id, "CONTAINS", id)) != 0)
			goto out;
		free(id);
		id = NULL;
	}
	r = cs_report_set(doc, "packages", pkgs);
	pkgs = NULL;
	if (r != 0)
		goto out;
	r = cs_report_set(doc, "relationships", rels);
	rels = NULL;
	if (r != 0)
		goto out;
	r = cs_report_dump(out, len, doc);
out:
	if (r != 0)
		cs_err_prefix(r, "SPDX");
	free(img_purl);
	free(img_id);
	free(os_id);
	free(id);
	json_decref(x.ids);
	json_decref(refs);
	json_decref(purls);
	json_decref(doc);
	json_decref(ci);
	json_decref(creators);
	json_decref(pkgs);
	json_decref(rels);
	json_decref(p);
	json_decref(notes);
	return r;
}

int cs_report_sbom_spdx(char **out, size_t *len, const json_t *inventory)
{
	return cs_report_spdx(out, len, inventory, NULL);
}
