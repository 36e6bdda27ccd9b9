/*
 * rematch.c - judging stored images again from their stored inventories,
 * against the current vulnerability database and policy, without pulling or
 * running a worker: `cellscan rescan` and serve's re-match after a database
 * update (dbwatch.c) both call cs_service_rematch() (docs/rescan.md).
 *
 * Each image: its stored image row (repository) and inventory are read, the
 * inventory is parsed and judged by cs_service_judge() (judge.c, the step
 * serve's scans use), and the result is stored with cs_store_put_result(),
 * which keeps the verdict history and queues the verdict alert. Nothing is
 * written for an image until its new result is complete, so an image that
 * fails keeps everything it had.
 *
 * Threads: each has its own store connection and database handle (a handle
 * is single-thread); the policy is immutable and shared; the digest list is
 * handed out one index at a time under a mutex, which also serialises the
 * per-image callback and the counters.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/scan/scan.h"
#include "supervisor/service/internal.h"
#include "supervisor/vulndb/vulndb.h"

#define INVENTORY_SCHEMA "cellscan-inventory/1"

void cs_service_store_options(const struct cs_service_config *c, struct cs_store_options *o)
{
	cs_store_options_default(o);
	o->max_attempts = (int)c->max_attempts;
	o->backoff_base = c->backoff_base;
	o->backoff_max = c->backoff_max;
	/* docs/service.md: with no alert targets nothing is queued */
	o->alerts = c->nalerts > 0;
}

int cs_service_stored_images(json_t **out, struct cs_store *st, const char *repository)
{
	struct cs_store_image_filter f;
	json_t *list = json_array(), *page = NULL, *img;
	char *cursor = NULL;
	size_t i;
	int r = 0;

	*out = NULL;
	if (list == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (;;) {
		const char *next;

		memset(&f, 0, sizeof(f));
		f.repository = repository;
		f.limit = 1000;
		f.cursor = cursor;
		if ((r = cs_store_list_images(st, &f, &page)) != 0)
			goto out;
		json_array_foreach(json_object_get(page, "images"), i, img) {
			const char *d = json_string_value(json_object_get(img, "digest"));
			if (d == NULL)
				continue;
			if (json_array_size(list) >= CS_SERVICE_REMATCH_MAX) {
				r = cs_err_set(CS_ELIMIT, "more than %u stored images",
					       CS_SERVICE_REMATCH_MAX);
				goto out;
			}
			if (json_array_append_new(list, json_string(d)) != 0) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
		}
		next = json_string_value(json_object_get(page, "next"));
		free(cursor);
		cursor = NULL;
		if (next == NULL || json_array_size(json_object_get(page, "images")) == 0)
			break;
		if ((cursor = strdup(next)) == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		json_decref(page);
		page = NULL;
	}
	*out = list;
	list = NULL;
out:
	free(cursor);
	json_decref(page);
	json_decref(list);
	return r;
}

/* One image's work and what the item borrows from. */
struct one {
	struct cs_service_rematch_item it;
	json_t *stored;      /* cs_store_get_image */
	json_t *image;       /* the new image object */
	char *prev;
	char msg[1400];
};

static void one_clear(struct one *o)
{
	json_decref(o->stored);
	json_decref(o->image);
	free(o->prev);
	memset(o, 0, sizeof(*o));
}

/* A string member of o, or NULL when absent or not a string. */
static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Copies s into a fixed field; CS_EFORMAT when it does not fit. */
static int field(char *dst, size_t n, const char *s, const char *what)
{
	if (s == NULL)
		s = "";
	if (strlen(s) >= n)
		return cs_err_set(CS_EFORMAT, "stored inventory: %s longer than %zu bytes", what,
				  n - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int judge_stored(struct one *o, struct cs_store *st, struct cs_vulndb *db,
			const struct cs_policy *pol, const char *digest)
{
	struct cs_scan_result res;
	struct cs_image im;
	json_t *inv = NULL;
	const json_t *ii;
	json_error_t jerr;
	char *text = NULL, *report = NULL, *own = NULL;
	const char *repo, *ref;
	int r, changed = 0;

	o->it.digest = digest;
	if ((r = cs_store_get_image(st, digest, &o->stored)) != 0)
		goto out;
	repo = jstr(o->stored, "repository");
	if (repo == NULL) {
		r = cs_err_set(CS_EFORMAT, "stored image has no repository");
		goto out;
	}
	o->it.repository = repo;
	if ((r = cs_store_get_inventory(st, digest, &text)) != 0) {
		if (r == CS_ENOTFOUND)
			r = cs_err_set(CS_ENOTFOUND, "no stored inventory (never scanned?)");
		goto out;
	}
	inv = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (inv == NULL) {
		r = cs_err_set(CS_EFORMAT, "stored inventory is not JSON: %s (line %d)", jerr.text,
			       jerr.line);
		goto out;
	}
	ii = json_object_get(inv, "image");
	if (!json_is_object(inv) || jstr(inv, "schema") == NULL ||
	    strcmp(jstr(inv, "schema"), INVENTORY_SCHEMA) != 0 || !json_is_object(ii) ||
	    !json_is_array(json_object_get(inv, "packages"))) {
		r = cs_err_set(CS_EFORMAT, "stored inventory is not a " INVENTORY_SCHEMA " document");
		goto out;
	}
	/* the judge step reads the image's identity from the source's view;
	 * here it is what the inventory recorded when it was taken */
	memset(&im, 0, sizeof(im));
	memset(&res, 0, sizeof(res));
	if ((r = field(im.manifest_digest, sizeof(im.manifest_digest),
		       jstr(ii, "manifest_digest"), "manifest digest")) != 0 ||
	    (r = field(im.config_digest, sizeof(im.config_digest), jstr(ii, "config_digest"),
		       "config digest")) != 0 ||
	    (r = field(im.platform, sizeof(im.platform),
		       jstr(o->stored, "platform") ? jstr(o->stored, "platform") :
		       jstr(ii, "platform"), "platform")) != 0)
		goto out;
	if (im.manifest_digest[0] == '\0')
		(void)field(im.manifest_digest, sizeof(im.manifest_digest), digest, "digest");
	/* the reference the image was scanned as (policy rules match it) */
	ref = jstr(ii, "ref");
	if (ref == NULL || ref[0] == '\0') {
		size_t n = strlen(repo) + strlen(digest) + 2;
		if ((own = malloc(n)) == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(own, n, "%s@%s", repo, digest);
		ref = own;
	}
	im.ref = (char *)ref;
	res.img = &im;
	res.inventory = inv;
	if ((r = cs_service_judge(&o->image, &report, &res, db, pol, digest, repo, ref)) != 0)
		goto out;
	if ((r = cs_store_put_result(st, o->image, inv, report, (long long)time(NULL), &changed,
				     &o->prev)) != 0)
		goto out;
	o->it.verdict = jstr(o->image, "verdict");
	o->it.previous = o->prev;
	o->it.changed = changed;
out:
	if (r != 0) {
		char esc[1024];
		size_t i;
		snprintf(esc, sizeof(esc), "%s", cs_err_msg());
		for (i = 0; esc[i] != '\0'; i++)
			if ((unsigned char)esc[i] < 0x20 || esc[i] == 0x7f)
				esc[i] = '?';
		snprintf(o->msg, sizeof(o->msg), "%.300s: %s", digest, esc);
		o->it.error = r;
		o->it.message = o->msg;
	}
	free(own);
	free(report);
	free(text);
	json_decref(inv);
	return r;
}

struct run {
	const struct cs_service_rematch_opts *o;
	const json_t *digests;
	size_t next;
	int stopped;
	pthread_mutex_t mu;
	struct cs_service_rematch_stats *stats;
};

struct lane {
	struct run *run;
	struct cs_store *st;
	struct cs_vulndb *db;
	int own_db;
	pthread_t th;
	int started;
};

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct run *run = l->run;
	const struct cs_service_rematch_opts *o = run->o;
	struct one one;

	memset(&one, 0, sizeof(one));
	for (;;) {
		const char *digest;
		size_t i;
		int r;

		pthread_mutex_lock(&run->mu);
		if (!run->stopped && o->stop != NULL && o->stop(o->ctx))
			run->stopped = 1;
		i = run->next;
		if (run->stopped || i >= json_array_size(run->digests)) {
			pthread_mutex_unlock(&run->mu);
			break;
		}
		run->next++;
		pthread_mutex_unlock(&run->mu);

		digest = json_string_value(json_array_get(run->digests, i));
		if (digest == NULL)
			continue;
		r = judge_stored(&one, l->st, l->db, o->policy, digest);
		pthread_mutex_lock(&run->mu);
		run->stats->images++;
		if (r != 0) {
			run->stats->failed++;
		} else {
			if (one.it.changed)
				run->stats->changed++;
			if (one.it.verdict != NULL && strcmp(one.it.verdict, "healthy") != 0)
				run->stats->unhealthy++;
		}
		if (o->on_image != NULL)
			o->on_image(o->ctx, &one.it);
		pthread_mutex_unlock(&run->mu);
		one_clear(&one);
	}
	return NULL;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void close_lanes(struct lane *lanes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		cs_store_close(lanes[i].st);
		if (lanes[i].own_db)
			cs_vulndb_close(lanes[i].db);
		lanes[i].st = NULL;
		lanes[i].db = NULL;
	}
}

/* Every lane's connection and database, opened before any image is touched
 * so that a store or database that cannot be opened changes nothing. The
 * lanes must judge against one database: when `db update` swapped the file
 * between two opens, they are opened again. */
static int open_lanes(struct lane *lanes, size_t n, const struct cs_service_rematch_opts *o)
{
	int attempt, r = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((r = cs_store_open(&lanes[i].st, o->store_url)) != 0) {
			cs_err_prefix(r, "store %s", o->store_url);
			return r;
		}
		if (o->store_opts != NULL && (r = cs_store_set_options(lanes[i].st, o->store_opts)) != 0)
			return r;
	}
	if (o->db != NULL) {
		lanes[0].db = o->db;
		return 0;
	}
	for (attempt = 0; attempt < 3; attempt++) {
		int same = 1;
		for (i = 0; i < n; i++) {
			if ((r = cs_vulndb_open(&lanes[i].db, o->vulndb, 1)) != 0) {
				cs_err_prefix(r, "vulnerability database %s", o->vulndb);
				return r;
			}
			lanes[i].own_db = 1;
			if (strcmp(cs_vulndb_digest(lanes[i].db) ? cs_vulndb_digest(lanes[i].db) : "",
				   cs_vulndb_digest(lanes[0].db) ? cs_vulndb_digest(lanes[0].db) : "") != 0)
				same = 0;
		}
		if (same)
			return 0;
		for (i = 0; i < n; i++) {
			cs_vulndb_close(lanes[i].db);
			lanes[i].db = NULL;
			lanes[i].own_db = 0;
		}
	}
	return cs_err_set(CS_EDB, "vulnerability database %s: replaced while it was being opened, "
			  "three times", o->vulndb);
}

int cs_service_rematch(const struct cs_service_rematch_opts *o, const json_t *digests,
		       struct cs_service_rematch_stats *stats)
{
	struct lane *lanes = NULL;
	struct run run;
	size_t n, i;
	double t0 = mono();
	int r;

	memset(stats, 0, sizeof(*stats));
	if (o == NULL || o->store_url == NULL || o->policy == NULL || !json_is_array(digests) ||
	    (o->db == NULL && o->vulndb == NULL))
		return cs_err_set(CS_EINVAL, "rematch: store, database, policy and digests needed");
	n = o->threads == 0 ? 1 : o->threads;
	if (n > CS_SERVICE_REMATCH_MAX_THREADS)
		return cs_err_set(CS_EINVAL, "rematch: at most %d threads",
				  CS_SERVICE_REMATCH_MAX_THREADS);
	if (o->db != NULL && n != 1)
		return cs_err_set(CS_EINVAL, "rematch: a given database handle serves one thread");
	/* more lanes than images would only open connections */
	if (n > json_array_size(digests))
		n = json_array_size(digests) > 0 ? json_array_size(digests) : 1;
	lanes = calloc(n, sizeof(*lanes));
	if (lanes == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	memset(&run, 0, sizeof(run));
	run.o = o;
	run.digests = digests;
	run.stats = stats;
	pthread_mutex_init(&run.mu, NULL);
	if ((r = open_lanes(lanes, n, o)) != 0)
		goto out;
	if (cs_vulndb_digest(lanes[0].db) != NULL)
		snprintf(stats->db_digest, sizeof(stats->db_digest), "%s",
			 cs_vulndb_digest(lanes[0].db));
	for (i = 0; i < n; i++)
		lanes[i].run = &run;
	/* lane 0 runs on the calling thread */
	for (i = 1; i < n; i++) {
		if (pthread_create(&lanes[i].th, NULL, lane_main, &lanes[i]) != 0) {
			fprintf(stderr, "cellscan: rematch: could not start thread %zu; going on "
				"with %zu\n", i, i);
			break;
		}
		lanes[i].started = 1;
	}
	lane_main(&lanes[0]);
	for (i = 1; i < n; i++)
		if (lanes[i].started)
			pthread_join(lanes[i].th, NULL);
	stats->not_taken = json_array_size(digests) - run.next;
	r = 0;
out:
	close_lanes(lanes, n);
	pthread_mutex_destroy(&run.mu);
	free(lanes);
	stats->seconds = mono() - t0;
	return r;
}
