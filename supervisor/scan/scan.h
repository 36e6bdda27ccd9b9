/*
 * scan.h - the scan pipeline every entry point shares (sbom, scan, rescan,
 * serve): IMAGE -> source -> sandboxed inventory (with the layer cache) ->
 * merged inventory -> findings against the vulnerability database.
 *
 * This part only orchestrates: each step is another part's (source,
 * sandbox/collect, match, vulndb); classification is policy's.
 */
#ifndef CS_SUPERVISOR_SCAN_H
#define CS_SUPERVISOR_SCAN_H

#include <sys/types.h>

#include <jansson.h>

#include "common/limits.h"
#include "policy/policy.h"
#include "supervisor/collect/inventory.h"
#include "supervisor/sandbox/sandbox.h"
#include "supervisor/source/source.h"
#include "supervisor/vulndb/vulndb.h"

struct cs_scan_opts {
	struct cs_limits lim;
	struct cs_source_opts src;  /* its lim is pointed at lim by the pipeline */
	const char *worker;         /* cellscan-worker path */
	int files;                  /* file records (SBOM) */
	int weak;                   /* --unsafe-no-namespaces */
	int no_cache;               /* --no-cache: no layer inventory cache */
	uid_t uid;                  /* sandbox ids when root */
	gid_t gid;
	/* Optional progress: stage is "resolving", "layers" (done/total/cached
	 * set) or "merging". */
	void (*progress)(void *ctx, const char *stage, size_t done, size_t total, size_t cached);
	void *progress_ctx;
};

/* Defaults: DESIGN.md limits, the host platform, the default cache. */
void cs_scan_opts_init(struct cs_scan_opts *o, const char *worker);

/*
 * Consumes one option every image command shares, at argv[*i] (advancing *i
 * past its value): --platform, --limits, --files, --no-cache,
 * --unsafe-no-namespaces and the source options (cs_source_parse_option).
 * Returns 1 if consumed, 0 if not ours, negative on a bad value (message set).
 */
int cs_scan_parse_option(struct cs_scan_opts *o, int argc, char **argv, int *i);

/* Help text for those options. */
const char *cs_scan_options_help(void);

struct cs_scan_result {
	struct cs_image *img;       /* the source's view, layers and digests */
	struct cs_inventory *inv;   /* per-layer records */
	json_t *inventory;          /* merged, "cellscan-inventory/1" */
	/*
	 * How the last sandboxed worker of the call ended (the one that
	 * unpacked an archive, or the one that read the layers), set on
	 * success and on failure alike: worker_ended 1 and worker_end the kind
	 * (cs_end_kind_name() names it), or worker_ended 0 when no worker
	 * ended: none was needed (every layer cached, not an archive), the
	 * source failed before one ran, or the scan failed on a check of ours
	 * rather than through the worker's ending (a digest, the cache). A
	 * sandbox that could not be set up is worker_end CS_END_SETUP; a
	 * worker that exited 0 without finishing, CS_END_EXIT.
	 */
	int worker_ended;
	enum cs_end_kind worker_end;
};

/*
 * For --platform all: the images of ref's index, as a new array of
 * {"platform", "digest"} (cs_source_platforms). Open each with
 * cs_scan_opts_for_platform() then cs_scan_inventory(); layers shared by
 * several platforms are analysed once (the layer cache).
 */
int cs_scan_platforms(json_t **out, const char *ref, const struct cs_scan_opts *o);
/* o with its source pinned to one entry of cs_scan_platforms() (borrowed). */
void cs_scan_opts_for_platform(struct cs_scan_opts *o, const json_t *entry);
/* 1 when o asks for every platform ("--platform all"). */
int cs_scan_all_platforms(const struct cs_scan_opts *o);

/* Opens ref, inventories it in the sandbox and merges. On failure res is
 * empty but for worker_ended and worker_end, and the message names ref.
 * Free with cs_scan_result_free(). */
int cs_scan_inventory(struct cs_scan_result *res, const char *ref, const struct cs_scan_opts *o);
void cs_scan_result_free(struct cs_scan_result *res);

/*
 * Matches a merged inventory against db. *out (new reference):
 *   {"ecosystem": "Debian:12" or null, "os_supported": bool, "unsupported_reason",
 *    "findings": [...], "notes": [...], "packages_matched": N,
 *    "db": {"digest", "built"}}
 * One finding per vulnerability per package (aliases merged). An OS the
 * data does not cover is os_supported false with the reason; its OS
 * packages are not matched (never reported clean).
 */
int cs_scan_match(json_t **out, const json_t *inventory, struct cs_vulndb *db);

/*
 * Matches res's inventory against db and classifies the findings under pol
 * for the image named ref in repository, as of today (UTC): what every
 * entry point (scan, explain, serve) does between the inventory and the
 * report. An OS the data does not cover makes the verdict "error" when the
 * image has packages (never reported clean). *match and *classification are
 * new references (cs_report_build takes them with the inventory).
 */
int cs_scan_judge(json_t **match, json_t **classification, const struct cs_scan_result *res,
		  struct cs_vulndb *db, const struct cs_policy *pol, const char *repository,
		  const char *ref);

#endif
