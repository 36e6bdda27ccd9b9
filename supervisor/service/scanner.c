/*
 * scanner.c - the real scan a worker thread runs for a job: the image
 * through the source and a sandboxed worker (cs_scan_inventory), then
 * judged (match and policy) into the cellscan-report/1 document by
 * cs_service_judge() (judge.c, shared with rescan and the re-match after a
 * database update) - the same JSON as `cellscan scan --format json`.
 *
 * Several threads run this at once: everything mutable is per call (the
 * vulnerability database is opened per scan, read-only and immutable, which
 * also picks up a database swapped in by `db update`); the policy is loaded
 * once and only read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/scan/scan.h"
#include "supervisor/service/internal.h"
#include "supervisor/vulndb/vulndb.h"

struct cs_service_scanner {
	struct cs_policy *policy;
	char *vulndb;
	char *worker;
	char *cache_dir;
	char *ca_file;
	const char *insecure[CS_SOURCE_HOSTS_MAX];
	size_t ninsecure;
	unsigned timeout;
	/* Filled once on the starting thread: cs_scan_opts_init() calls
	 * getpwnam() (not thread-safe), so scans copy this instead. */
	struct cs_scan_opts base;
};

void cs_service_scan_clear(struct cs_service_scan *s)
{
	free(s->resolved_digest);
	json_decref(s->image);
	json_decref(s->inventory);
	free(s->report_json);
	s->resolved_digest = NULL;
	s->image = NULL;
	s->inventory = NULL;
	s->report_json = NULL;
	s->worker_end = NULL;
}

void cs_service_scanner_free(struct cs_service_scanner *sc)
{
	size_t i;

	if (sc == NULL)
		return;
	cs_policy_free(sc->policy);
	free(sc->vulndb);
	free(sc->worker);
	free(sc->cache_dir);
	free(sc->ca_file);
	for (i = 0; i < sc->ninsecure; i++)
		free((char *)sc->insecure[i]);
	free(sc);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int cs_service_scanner_new(struct cs_service_scanner **out, const struct cs_service_config *c)
{
	struct cs_service_scanner *sc;
	char path[4096];
	size_t i;
	int r, nomem = 0;

	*out = NULL;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (c->policy_file != NULL)
		r = cs_policy_load_file(&sc->policy, c->policy_file);
	else
		r = cs_policy_default(&sc->policy);
	if (r != 0) {
		cs_err_prefix(r, "policy");
		goto fail;
	}
	if (c->vulndb != NULL) {
		sc->vulndb = strdup(c->vulndb);
	} else {
		if ((r = cs_vulndb_default_path(path, sizeof(path), 0)) != 0)
			goto fail;
		sc->vulndb = strdup(path);
	}
	sc->worker = dup_or_null(c->worker);
	sc->cache_dir = dup_or_null(c->cache_dir);
	sc->ca_file = dup_or_null(c->ca_file);
	for (i = 0; i < c->nregistries && sc->ninsecure < CS_SOURCE_HOSTS_MAX; i++)
		if (c->registries[i].insecure)
			sc->insecure[sc->ninsecure++] = strdup(c->registries[i].host);
	for (i = 0; i < sc->ninsecure; i++)
		if (sc->insecure[i] == NULL)
			nomem = 1;
	sc->timeout = c->scan_timeout;
	cs_scan_opts_init(&sc->base, NULL);
	if (nomem || sc->vulndb == NULL || (c->worker && !sc->worker) || (c->cache_dir && !sc->cache_dir) ||
	    (c->ca_file && !sc->ca_file)) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto fail;
	}
	/* a missing or foreign database would fail every scan: say so now */
	{
		struct cs_vulndb *db = NULL;
		if ((r = cs_vulndb_open(&db, sc->vulndb, 1)) != 0) {
			cs_err_prefix(r, "vulnerability database %s (cellscan db import/update make it)",
				      sc->vulndb);
			goto fail;
		}
		cs_vulndb_close(db);
	}
	*out = sc;
	return 0;
fail:
	cs_service_scanner_free(sc);
	return r;
}

int cs_service_scanner_run(void *ctx, struct cs_service_scan *scan)
{
	struct cs_service_scanner *sc = ctx;
	struct cs_scan_opts so;
	struct cs_scan_result res;
	struct cs_vulndb *db = NULL;
	json_t *img = NULL, *refs = NULL;
	char *text = NULL, *repo = NULL;
	const char *digest;
	size_t i;
	int r;

	memset(&res, 0, sizeof(res));
	cs_service_scan_clear(scan);
	scan->worker_end = "none";
	so = sc->base;
	so.worker = sc->worker;
	so.src.cache_dir = sc->cache_dir;
	so.src.ca_file = sc->ca_file;
	so.src.timeout = sc->timeout;
	for (i = 0; i < sc->ninsecure; i++)
		so.src.insecure[i] = sc->insecure[i];
	so.src.ninsecure = sc->ninsecure;
	so.src.worker = sc->worker;
	so.src.worker_uid = so.uid;
	so.src.worker_gid = so.gid;
	/* how the worker ended, as the sandbox decided it (never read back
	 * from the message) */
	if ((r = cs_scan_inventory(&res, scan->ref, &so)) != 0) {
		scan->worker_end = res.worker_ended ? cs_end_kind_name(res.worker_end) : "none";
		goto out;
	}
	scan->worker_end = res.inv->worker_ran ? "ok" : "cached";
	if ((r = cs_vulndb_open(&db, sc->vulndb, 1)) != 0) {
		cs_err_prefix(r, "vulnerability database %s", sc->vulndb);
		goto out;
	}
	/* the digest the job was queued with (the one the registry reported,
	 * possibly an index) names the result; else the manifest's */
	digest = scan->digest != NULL ? scan->digest : res.img->manifest_digest;
	repo = svc_repository_of(scan->ref);
	if (repo == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	/* match, policy and report as every stored result gets them (judge.c) */
	if ((r = cs_service_judge(&img, &text, &res, db, sc->policy, digest, repo, scan->ref)) != 0)
		goto out;
	refs = json_array();
	json_array_append_new(refs, json_string(scan->ref));
	if (strcmp(digest, res.img->manifest_digest) != 0 || strchr(scan->ref, '@') == NULL) {
		char byd[4200];
		snprintf(byd, sizeof(byd), "%s@%s", repo, digest);
		json_array_append_new(refs, json_string(byd));
	}
	/* json_object_set_new takes refs, also when it fails */
	r = refs != NULL ? json_object_set_new(img, "refs", refs) : -1;
	refs = NULL;
	if (r != 0 || json_object_set_new(img, "ref", json_string(scan->ref)) != 0 ||
	    (scan->resolved_digest = strdup(digest)) == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	scan->image = img;
	img = NULL;
	scan->inventory = json_incref(res.inventory);
	scan->report_json = text;
	text = NULL;
out:
	free(text);
	free(repo);
	json_decref(refs);
	json_decref(img);
	cs_vulndb_close(db);
	cs_scan_result_free(&res);
	if (r != 0) {
		const char *end = scan->worker_end;
		cs_service_scan_clear(scan);
		scan->worker_end = end;
	}
	return r;
}
