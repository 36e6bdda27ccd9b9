#include "supervisor/scan/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "supervisor/match/vercmp.h"
#include "supervisor/sandbox/ending.h"
#include "supervisor/sandbox/sandbox.h"

void cs_scan_opts_init(struct cs_scan_opts *o, const char *worker)
{
	memset(o, 0, sizeof(*o));
	cs_limits_default(&o->lim);
	o->worker = worker;
	cs_sandbox_default_ids(&o->uid, &o->gid);
}

const char *cs_scan_options_help(void)
{
	return "  --platform os/arch[/variant]   image of an index to scan (default: this host's)\n"
	       "  --limits name=value,...        work limits (docs/protocol.md)\n"
	       "  --files                        also list every file (SBOM)\n"
	       "  --no-cache                     neither use nor fill the layer inventory cache\n"
	       "  --unsafe-no-namespaces         run the worker without namespaces (not recommended)\n";
}

int cs_scan_parse_option(struct cs_scan_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--platform") == 0) {
		if (*i + 1 >= argc)
			return cs_err_set(CS_EINVAL, "--platform needs os/arch[/variant]");
		o->src.platform = argv[++*i];
		return 1;
	}
	if (strcmp(a, "--limits") == 0) {
		if (*i + 1 >= argc)
			return cs_err_set(CS_EINVAL, "--limits needs name=value,...");
		if (cs_limits_parse(&o->lim, argv[++*i]) != 0)
			return cs_err_prefix(CS_EINVAL, "--limits");
		return 1;
	}
	if (strcmp(a, "--files") == 0) {
		o->files = 1;
		return 1;
	}
	if (strcmp(a, "--no-cache") == 0) {
		o->no_cache = 1;
		return 1;
	}
	if (strcmp(a, "--unsafe-no-namespaces") == 0) {
		o->weak = 1;
		return 1;
	}
	return cs_source_parse_option(&o->src, argc, argv, i);
}

static void source_opts(struct cs_source_opts *so, const struct cs_scan_opts *o)
{
	*so = o->src;
	so->lim = &o->lim;
	/* archives are unpacked by a sandboxed worker too */
	so->worker = o->worker;
	so->worker_uid = o->uid;
	so->worker_gid = o->gid;
	so->weak = o->weak;
}

int cs_scan_all_platforms(const struct cs_scan_opts *o)
{
	return o->src.platform != NULL && strcmp(o->src.platform, "all") == 0;
}

int cs_scan_platforms(json_t **out, const char *ref, const struct cs_scan_opts *o)
{
	struct cs_source_opts so;

	source_opts(&so, o);
	so.platform = NULL;
	return cs_source_platforms(out, ref, &so);
}

void cs_scan_opts_for_platform(struct cs_scan_opts *o, const json_t *entry)
{
	const char *d = json_string_value(json_object_get(entry, "digest"));

	o->src.platform = json_string_value(json_object_get(entry, "platform"));
	o->src.manifest_digest = d != NULL && d[0] != '\0' ? d : NULL;
}

void cs_scan_result_free(struct cs_scan_result *res)
{
	json_decref(res->inventory);
	cs_inventory_free(res->inv);
	cs_image_free(res->img);
	memset(res, 0, sizeof(*res));
}

static void layer_progress(void *ctx, size_t done, size_t total, size_t cached)
{
	const struct cs_scan_opts *o = ctx;

	o->progress(o->progress_ctx, "layers", done, total, cached);
}

/*
 * After a step that may have run a worker (and was preceded by
 * cs_sandbox_ending_forget()) returned r: how that worker ended, as
 * cs_sandbox_ending() decided it. A step that failed with CS_ESANDBOX when
 * no worker ended could not start one: before a worker ends, only
 * cs_sandbox_spawn() (and the cgroup it sets up) fails with that code.
 */
static void note_worker(struct cs_scan_result *res, int r)
{
	enum cs_end_kind k;

	if (cs_sandbox_last_ending(&k)) {
		res->worker_ended = 1;
		res->worker_end = k;
	} else if (r == CS_ESANDBOX) {
		res->worker_ended = 1;
		res->worker_end = CS_END_SETUP;
	}
}

/* cs_scan_result_free() on failure, keeping how the worker ended. */
static void drop_but_ending(struct cs_scan_result *res)
{
	int ended = res->worker_ended;
	enum cs_end_kind end = res->worker_end;

	cs_scan_result_free(res);
	res->worker_ended = ended;
	res->worker_end = end;
}

int cs_scan_inventory(struct cs_scan_result *res, const char *ref, const struct cs_scan_opts *o)
{
	struct cs_source_opts so;
	struct cs_inventory_opts io;
	int r;

	memset(res, 0, sizeof(*res));
	source_opts(&so, o);
	if (o->progress != NULL)
		o->progress(o->progress_ctx, "resolving", 0, 0, 0);
	/* an archive is unpacked by a worker of its own */
	cs_sandbox_ending_forget();
	r = cs_source_open(&res->img, ref, &so);
	note_worker(res, r);
	if (r != 0) {
		drop_but_ending(res);
		return r;
	}
	memset(&io, 0, sizeof(io));
	io.worker = o->worker;
	io.lim = &o->lim;
	io.files = o->files;
	io.weak = o->weak;
	io.uid = o->uid;
	io.gid = o->gid;
	io.cache_dir = o->src.cache_dir;
	io.no_cache = o->no_cache;
	if (o->progress != NULL) {
		io.progress = layer_progress;
		io.progress_ctx = (void *)o;
	}
	cs_sandbox_ending_forget();
	r = cs_inventory_collect(&res->inv, res->img, &io);
	note_worker(res, r);
	if (r != 0) {
		cs_err_prefix(r, "%s", ref);
		drop_but_ending(res);
		return r;
	}
	if ((r = cs_inventory_merge(&res->inventory, res->inv, res->img)) != 0) {
		cs_err_prefix(r, "%s: merging layers", ref);
		drop_but_ending(res);
		return r;
	}
	json_object_set_new(json_object_get(res->inventory, "image"), "fetched_bytes",
			    json_integer((json_int_t)res->img->fetched_bytes));
	json_object_set_new(res->inventory, "sandbox",
			    json_pack("{s:s, s:b, s:I, s:f}", "cgroup", cs_sandbox_cgroup_status(),
				      "worker_ran", res->inv->worker_ran,
				      "worker_max_rss_kb", (json_int_t)res->inv->worker_max_rss_kb,
				      "worker_cpu_seconds", res->inv->worker_cpu_seconds));
	return 0;
}

/* The database side of cs_match_inventory(). */
static int src_rows(void *ctx, const char *ecosystem, const char *name,
		    int (*cb)(void *cbctx, long long rec, const void *row, size_t len), void *cbctx)
{
	return cs_vulndb_rows(ctx, ecosystem, name, cb, cbctx);
}

static int src_header(void *ctx, long long rec, const void **hdr, size_t *len)
{
	return cs_vulndb_header(ctx, rec, hdr, len);
}

int cs_scan_match(json_t **out, const json_t *inventory, struct cs_vulndb *db)
{
	char eco[CS_MATCH_ECOSYSTEM_MAX];
	const json_t *os = json_object_get(inventory, "os");
	json_t *findings = json_array(), *notes = json_array(), *doc = NULL;
	struct cs_match_source src = { db, src_rows, src_header };
	int supported, r = 0;
	char reason[512] = "";
	size_t matched = 0;

	*out = NULL;
	if (findings == NULL || notes == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	supported = cs_match_ecosystem_for_os(eco, sizeof(eco), json_is_object(os) ? os : NULL) == 0;
	if (!supported)
		snprintf(reason, sizeof(reason), "%s", cs_err_msg());
	/* Packages of an OS the data does not cover are not looked up: said
	 * once, in unsupported_reason. */
	if ((r = cs_match_inventory(findings, notes, &matched, json_object_get(inventory, "packages"),
				    supported ? eco : NULL, &src)) != 0)
		goto out;
	doc = json_pack("{s:o, s:b, s:O, s:O, s:I, s:{s:s, s:s}}",
			"ecosystem", supported ? json_string(eco) : json_null(),
			"os_supported", supported, "findings", findings, "notes", notes,
			"packages_matched", (json_int_t)matched,
			"db", "digest", cs_vulndb_digest(db), "built", cs_vulndb_build_time(db));
	if (doc != NULL && !supported)
		json_object_set_new(doc, "unsupported_reason", json_string(reason));
	if (doc == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	json_decref(findings);
	json_decref(notes);
	if (r == 0)
		*out = doc;
	return r;
}

/* Recommendations compare fixed versions the way matching does. */
static int judge_vercmp(void *ctx, const char *ecosystem, const char *a, const char *b, int *out)
{
	enum cs_verscheme s;

	(void)ctx;
	if (ecosystem == NULL || cs_verscheme_for_ecosystem(&s, ecosystem) != 0)
		return -1;
	return cs_vercmp_flags(out, s, a, b, CS_VERCMP_LENIENT) != 0 ? -1 : 0;
}

int cs_scan_judge(json_t **match, json_t **classification, const struct cs_scan_result *res,
		  struct cs_vulndb *db, const struct cs_policy *pol, const char *repository,
		  const char *ref)
{
	struct cs_policy_input in;
	json_t *m = NULL, *img = NULL;
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	*match = NULL;
	*classification = NULL;
	if ((r = cs_scan_match(&m, res->inventory, db)) != 0)
		return r;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	img = json_pack("{s:s, s:s, s:s}", "repository", repository ? repository : "", "ref", ref,
			"digest", res->img->manifest_digest);
	if (img == NULL) {
		json_decref(m);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	memset(&in, 0, sizeof(in));
	in.image = img;
	in.today = today;
	in.vercmp = judge_vercmp;
	if (!json_is_true(json_object_get(m, "os_supported")) &&
	    json_array_size(json_object_get(res->inventory, "packages")) > 0)
		in.scan_error = json_string_value(json_object_get(m, "unsupported_reason"));
	r = cs_policy_classify(classification, pol, json_object_get(m, "findings"), &in);
	json_decref(img);
	if (r != 0) {
		json_decref(m);
		return r;
	}
	*match = m;
	return 0;
}
