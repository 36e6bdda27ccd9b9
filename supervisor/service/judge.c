/*
 * judge.c - from a merged inventory to what the store keeps: the judge step
 * (cs_scan_judge: match and policy), the cellscan-report/1 document and the
 * store's image object with the reverse-index keys. serve's scans
 * (scanner.c), `cellscan rescan` and serve's re-match after a database
 * update (rematch.c) all go through here, so a stored report is the same
 * whichever of them wrote it. (Moved out of scanner.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/match/match.h"
#include "supervisor/report/report.h"
#include "supervisor/scan/scan.h"
#include "supervisor/service/internal.h"
#include "supervisor/vulndb/vulndb.h"

/* The reverse-index keys of every package (store.h "package_keys"). */
static json_t *package_keys(const json_t *inventory, const char *eco)
{
	json_t *out = json_array(), *seen = json_object(), *pkg, *keys, *k;
	size_t i, j;

	if (out == NULL || seen == NULL) {
		json_decref(out);
		json_decref(seen);
		return NULL;
	}
	json_array_foreach(json_object_get(inventory, "packages"), i, pkg) {
		keys = NULL;
		if (cs_match_query_keys(&keys, pkg, eco) != 0) {
			json_decref(keys);
			continue;
		}
		json_array_foreach(keys, j, k) {
			const char *e = json_string_value(json_object_get(k, "ecosystem"));
			const char *n = json_string_value(json_object_get(k, "name"));
			char key[2200];
			if (e == NULL || n == NULL || strlen(e) + strlen(n) + 2 > sizeof(key))
				continue;
			snprintf(key, sizeof(key), "%s\n%s", e, n);
			if (json_object_get(seen, key) != NULL)
				continue;
			json_object_set_new(seen, key, json_true());
			json_array_append_new(out, json_pack("{s:s, s:s}", "ecosystem", e, "name", n));
		}
		json_decref(keys);
	}
	json_decref(seen);
	return out;
}

int cs_service_judge(json_t **image, char **report_json, const struct cs_scan_result *res,
		     struct cs_vulndb *db, const struct cs_policy *pol, const char *digest,
		     const char *repository, const char *ref)
{
	struct cs_report_opts ropts;
	json_t *match = NULL, *cls = NULL, *rep = NULL, *img = NULL, *keys;
	char *text = NULL;
	const char *eco;
	size_t len = 0;
	int r;

	*image = NULL;
	*report_json = NULL;
	if (res == NULL || res->img == NULL || res->inventory == NULL || db == NULL ||
	    pol == NULL || digest == NULL || repository == NULL || ref == NULL)
		return cs_err_set(CS_EINVAL, "judge: missing input");
	/* the same step as `cellscan scan`, so the report is the one
	 * `scan --format json` writes for this image */
	if ((r = cs_scan_judge(&match, &cls, res, db, pol, repository, ref)) != 0)
		goto out;
	memset(&ropts, 0, sizeof(ropts));
	ropts.created = CS_REPORT_TIME_AUTO;
	if ((r = cs_report_build(&rep, res->inventory, match, cls, &ropts)) != 0 ||
	    (r = cs_report_json(&text, &len, rep)) != 0)
		goto out;
	eco = json_string_value(json_object_get(match, "ecosystem"));
	keys = package_keys(res->inventory, eco);
	img = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O?, s:o?}",
			"digest", digest, "repository", repository,
			"platform", res->img->platform, "manifest_digest", res->img->manifest_digest,
			"db_digest", cs_vulndb_digest(db), "verdict", json_object_get(cls, "verdict"),
			"package_keys", keys);
	if (img == NULL || keys == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	*image = img;
	img = NULL;
	*report_json = text;
	text = NULL;
out:
	free(text);
	json_decref(img);
	json_decref(rep);
	json_decref(cls);
	json_decref(match);
	return r;
}
