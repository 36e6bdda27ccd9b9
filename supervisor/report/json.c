/*
 * json.c - the native format: the inventory itself with a "purl" on every
 * package (docs/formats.md, "Native JSON").
 */
#include <stdlib.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

int cs_report_sbom_json(char **out, size_t *len, const json_t *inventory)
{
	json_t *doc = NULL, *packages, *pkg, *purls = NULL, *refs = NULL;
	size_t i;
	int r;

	*out = NULL;
	*len = 0;
	if (!json_is_object(inventory))
		return cs_err_set(CS_EINVAL, "inventory is not a JSON object");
	/* A deep copy: the caller's inventory stays as it was. */
	if ((doc = json_deep_copy(inventory)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	packages = json_object_get(doc, "packages");
	if (packages != NULL && !json_is_array(packages)) {
		r = cs_err_set(CS_EINVAL, "inventory \"packages\" is not an array");
		goto out;
	}
	if ((r = cs_report_package_refs(&refs, &purls, packages,
					json_object_get(inventory, "os"))) != 0)
		goto out;
	json_array_foreach(packages, i, pkg) {
		if ((r = cs_report_set(pkg, "purl", json_copy(json_array_get(purls, i)))) != 0)
			goto out;
	}
	r = cs_report_dump(out, len, doc);
out:
	if (r != 0)
		cs_err_prefix(r, "JSON");
	json_decref(doc);
	json_decref(refs);
	json_decref(purls);
	return r;
}
