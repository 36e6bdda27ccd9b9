#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/report/report.h"
#include "supervisor/scan/scan.h"

/* The per-layer view (--format layers): what each layer's worker run said. */
static json_t *layers_doc(const struct cs_scan_result *res, int files)
{
	json_t *layers = json_array();
	size_t k;

	for (k = 0; layers != NULL && k < res->img->nlayers; k++) {
		const struct cs_layer *src = &res->img->layers[k];
		const struct cs_layer_inv *L = &res->inv->layers[k];
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:b, s:O, s:O, s:O, s:O}",
				      "index", (json_int_t)k, "digest", src->digest,
				      "media_type", src->media_type, "size", (json_int_t)src->size,
				      "diff_id", L->diff_id, "bytes", (json_int_t)L->bytes,
				      "entries", (json_int_t)L->entries, "cached", L->cached,
				      "os", L->os, "packages", L->packages, "whiteouts", L->whiteouts,
				      "warnings", L->warnings);
		if (o != NULL && files)
			json_object_set(o, "files", L->files);
		json_array_append_new(layers, o);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:O}", "schema", "cellscan-layers/1",
			 "image", res->img->ref, "manifest_digest", res->img->manifest_digest,
			 "config_digest", res->img->config_digest, "platform", res->img->platform,
			 "layers", layers, "warnings", res->inv->warnings,
			 "sandbox", json_object_get(res->inventory, "sandbox"));
}

/* --platform all: one inventory per image of the index. */
static int sbom_all(struct cs_scan_opts *so, const char *ref, const char *format, const char *out)
{
	json_t *list = NULL, *docs = NULL, *e, *doc = NULL;
	struct cs_scan_result res;
	size_t i;
	int r;
	char *text = NULL;

	memset(&res, 0, sizeof(res));
	if (strcmp(format, "json") != 0) {
		cs_cli_error("sbom: --platform all writes one JSON document (--format json)");
		return CS_EXIT_USAGE;
	}
	if ((r = cs_scan_platforms(&list, ref, so)) != 0)
		goto fail;
	docs = json_array();
	json_array_foreach(list, i, e) {
		struct cs_scan_opts one = *so;
		json_t *inv;
		size_t len;

		cs_scan_opts_for_platform(&one, e);
		if ((r = cs_scan_inventory(&res, ref, &one)) != 0)
			goto fail;
		if ((r = cs_report_sbom_json(&text, &len, res.inventory)) != 0)
			goto fail;
		inv = json_loadb(text, len, 0, NULL);
		free(text);
		text = NULL;
		json_array_append_new(docs, json_pack("{s:O, s:o}", "platform",
						      json_object_get(e, "platform"), "inventory",
						      inv ? inv : json_null()));
		cs_scan_result_free(&res);
	}
	doc = json_pack("{s:s, s:s, s:O}", "schema", "cellscan-platforms/1", "image", ref,
			"platforms", docs);
	text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	if (text == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto fail;
	}
	{
		size_t tl = strlen(text);
		char *t2 = realloc(text, tl + 2);
		if (t2 != NULL) {
			text = t2;
			text[tl++] = '\n';
			text[tl] = '\0';
		}
		if ((r = cs_cli_write_out(out, text, tl)) != 0)
			goto fail;
	}
	free(text);
	json_decref(doc);
	json_decref(docs);
	json_decref(list);
	return CS_EXIT_OK;
fail:
	cs_cli_error("%s", cs_err_msg());
	free(text);
	json_decref(doc);
	json_decref(docs);
	json_decref(list);
	cs_scan_result_free(&res);
	return cs_cli_exit_for(r);
}

int cs_cmd_sbom(int argc, char **argv)
{
	struct cs_scan_opts so;
	struct cs_scan_result res;
	const char *ref = NULL, *out = NULL, *format = "json";
	int r = 0, i;
	char *text = NULL;
	size_t len = 0;

	cs_scan_opts_init(&so, cs_cli_worker_path());
	memset(&res, 0, sizeof(res));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(a, "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if ((r = cs_scan_parse_option(&so, argc, argv, &i)) != 0) {
			if (r < 0) {
				cs_cli_error("sbom: %s", cs_err_msg());
				return CS_EXIT_USAGE;
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			cs_cli_error("sbom: unknown option %.64s", a);
			return CS_EXIT_USAGE;
		} else if (ref == NULL)
			ref = a;
		else {
			cs_cli_error("sbom: one IMAGE only");
			return CS_EXIT_USAGE;
		}
	}
	if (ref == NULL) {
		cs_cli_error("usage: cellscan sbom IMAGE [--format json|cyclonedx|spdx|layers] [-o FILE]");
		return CS_EXIT_USAGE;
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "cyclonedx") != 0 &&
	    strcmp(format, "spdx") != 0 && strcmp(format, "layers") != 0) {
		cs_cli_error("sbom: unknown format \"%.32s\" (json, cyclonedx, spdx, layers)", format);
		return CS_EXIT_USAGE;
	}
	cs_cli_warn_weak(so.weak);
	if (cs_scan_all_platforms(&so))
		return sbom_all(&so, ref, format, out);
	if ((r = cs_scan_inventory(&res, ref, &so)) != 0)
		goto fail;
	if (strcmp(format, "json") == 0) {
		r = cs_report_sbom_json(&text, &len, res.inventory);
	} else if (strcmp(format, "cyclonedx") == 0) {
		r = cs_report_sbom_cyclonedx(&text, &len, res.inventory);
	} else if (strcmp(format, "spdx") == 0) {
		r = cs_report_sbom_spdx(&text, &len, res.inventory);
	} else {
		json_t *doc = layers_doc(&res, so.files);
		text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
		json_decref(doc);
		r = text ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
		len = text ? strlen(text) : 0;
		if (text != NULL) {
			char *t2 = realloc(text, len + 2);
			if (t2 != NULL) {
				text = t2;
				text[len++] = '\n';
				text[len] = '\0';
			}
		}
	}
	if (r != 0)
		goto fail;
	if ((r = cs_cli_write_out(out, text, len)) != 0)
		goto fail;
	free(text);
	cs_scan_result_free(&res);
	return CS_EXIT_OK;
fail:
	cs_cli_error("%s", cs_err_msg());
	free(text);
	cs_scan_result_free(&res);
	return cs_cli_exit_for(r);
}
