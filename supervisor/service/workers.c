/*
 * workers.c - the scan workers and the lease keeper.
 *
 * Each worker thread has its own store connection and claims one job at a
 * time under its own worker id ("instance:pid:n"); its result is stored
 * together with the job's completion in one transaction
 * (cs_store_job_complete), so a job completes exactly once: if the process
 * dies before that transaction, the job is still "running" under a lease
 * that a restart re-queues (cs_store_jobs_requeue_expired with this
 * instance's prefix), and if it dies after, the job is done. The lease
 * keeper renews the leases of the jobs in flight every third of a lease.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"

static void deadline_in(struct timespec *ts, double seconds)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)seconds;
	ts->tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void svc_wake_workers(struct cs_service *s)
{
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
}

void svc_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* messages carry image names and registry text: no control characters
	 * reach the log (STYLE.md 14) */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "cellscan serve: %s\n", line);
}

/* A push or review job for an image whose result is newer than the job
 * needs no scan (a second push of the same digest, a burst of events). */
static int already_scanned(struct cs_store *st, const struct cs_store_job *j)
{
	json_t *img = NULL;
	long long last;
	int done;

	if (j->digest == NULL || j->reason == NULL || strcmp(j->reason, "api") == 0)
		return 0;
	if (cs_store_get_image(st, j->digest, &img) != 0)
		return 0;
	last = json_integer_value(json_object_get(img, "last_scanned"));
	done = json_is_string(json_object_get(img, "verdict")) && last >= j->created;
	json_decref(img);
	return done;
}

static enum svc_outcome outcome_of(const char *verdict)
{
	if (verdict == NULL)
		return SVC_OUT_ERROR;
	if (strcmp(verdict, "healthy") == 0)
		return SVC_OUT_HEALTHY;
	if (strcmp(verdict, "unhealthy") == 0)
		return SVC_OUT_UNHEALTHY;
	return SVC_OUT_ERROR;
}

static void run_job(struct svc_worker *w, struct cs_store *st, struct cs_store_job *j)
{
	struct cs_service *s = w->svc;
	struct cs_service_scan scan;
	long long dup = 0;
	int changed = 0, r;
	double t0;

	if (already_scanned(st, j)) {
		r = cs_store_job_finish(st, j->id, w->id, CS_STORE_OK, "already scanned", svc_now());
		if (r == 0)
			svc_metrics_scan(&s->m, SVC_OUT_SKIPPED);
		return;
	}
	memset(&scan, 0, sizeof(scan));
	scan.ref = j->ref;
	scan.digest = j->digest;
	t0 = mono();
	r = s->scan(s->scan_ctx, &scan);
	svc_metrics_duration(&s->m, mono() - t0);
	svc_metrics_ending(&s->m, scan.worker_end ? scan.worker_end : "none");
	if (r != 0) {
		const char *msg = cs_err_msg();
		svc_log("job %lld (%s): attempt %d failed: %s", j->id, j->ref, j->attempts, msg);
		if (cs_store_job_finish(st, j->id, w->id, CS_STORE_FAILED, msg, svc_now()) == 0)
			svc_metrics_scan(&s->m, SVC_OUT_FAILED);
		else
			svc_metrics_scan(&s->m, SVC_OUT_LOST);
		goto out;
	}
	if (j->digest == NULL && scan.resolved_digest != NULL) {
		r = cs_store_job_set_digest(st, j->id, w->id, scan.resolved_digest, svc_now(), &dup);
		if (r != 0 || dup != 0) {
			svc_metrics_scan(&s->m, r == 0 ? SVC_OUT_DUPLICATE : SVC_OUT_LOST);
			goto out;
		}
	}
	r = cs_store_job_complete(st, j->id, w->id, scan.image, scan.inventory, scan.report_json,
				  svc_now(), &changed, NULL);
	if (r == CS_ETIMEOUT) {
		/* our lease was taken over (we were presumed dead): the other
		 * holder's result counts, ours is dropped */
		svc_log("job %lld: lease lost, result dropped", j->id);
		svc_metrics_scan(&s->m, SVC_OUT_LOST);
	} else if (r != 0) {
		const char *msg = cs_err_msg();
		svc_log("job %lld: storing the result failed: %s", j->id, msg);
		cs_store_job_finish(st, j->id, w->id, CS_STORE_FAILED, msg, svc_now());
		svc_metrics_scan(&s->m, SVC_OUT_FAILED);
	} else {
		svc_metrics_scan(&s->m, outcome_of(json_string_value(json_object_get(scan.image,
										      "verdict"))));
		if (changed)
			svc_wake_alerts(s);
		/* judged against a database the re-match has moved past? */
		svc_rematch_note(s, json_string_value(json_object_get(scan.image, "digest")),
				 json_string_value(json_object_get(scan.image, "db_digest")));
	}
out:
	cs_service_scan_clear(&scan);
}

static void *worker_main(void *arg)
{
	struct svc_worker *w = arg;
	struct cs_service *s = w->svc;
	struct cs_store *st = NULL;
	struct cs_store_job j;
	struct timespec ts;
	int r;

	memset(&j, 0, sizeof(j));
	if ((r = cs_store_open(&st, s->cfg->store_url)) != 0 ||
	    (r = cs_store_set_options(st, &s->sopt)) != 0) {
		svc_log("worker %u: store: %s", w->idx, cs_err_msg());
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		pthread_mutex_unlock(&s->mu);
		r = cs_store_job_claim(st, w->id, (long long)s->cfg->lease_seconds, svc_now(), &j);
		if (r != 0 || j.id == 0) {
			if (r != 0)
				svc_log("worker %u: claim: %s", w->idx, cs_err_msg());
			cs_store_job_clear(&j);
			pthread_mutex_lock(&s->mu);
			if (!s->stopping) {
				/* woken by an enqueue; else poll for retries coming due */
				deadline_in(&ts, 1.0);
				pthread_cond_timedwait(&s->work_cv, &s->mu, &ts);
			}
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		w->job_id = j.id;
		pthread_mutex_unlock(&s->mu);
		run_job(w, st, &j);
		pthread_mutex_lock(&s->mu);
		w->job_id = 0;
		pthread_cond_broadcast(&s->done_cv);
		pthread_mutex_unlock(&s->mu);
		cs_store_job_clear(&j);
	}
out:
	cs_store_close(st);
	pthread_mutex_lock(&s->mu);
	w->exited = 1;
	pthread_cond_broadcast(&s->done_cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *heartbeat_main(void *arg)
{
	struct cs_service *s = arg;
	struct cs_store *st = NULL;
	struct timespec ts;
	double every = (double)s->cfg->lease_seconds / 3.0;
	size_t i;

	if (cs_store_open(&st, s->cfg->store_url) != 0 || cs_store_set_options(st, &s->sopt) != 0) {
		svc_log("lease keeper: store: %s", cs_err_msg());
		cs_store_close(st);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	while (s->hb_started > 0) {
		deadline_in(&ts, every);
		pthread_cond_timedwait(&s->hb_cv, &s->mu, &ts);
		if (s->hb_started <= 0)
			break;
		for (i = 0; i < s->nworkers; i++) {
			long long id = s->workers[i].job_id;
			if (id == 0)
				continue;
			pthread_mutex_unlock(&s->mu);
			if (cs_store_job_heartbeat(st, id, s->workers[i].id,
						   (long long)s->cfg->lease_seconds, svc_now()) != 0)
				svc_log("job %lld: lease renewal failed: %s", id, cs_err_msg());
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	cs_store_close(st);
	return NULL;
}

int svc_workers_start(struct cs_service *s)
{
	size_t i;

	s->workers = calloc(s->cfg->concurrency, sizeof(*s->workers));
	if (s->workers == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	s->nworkers = s->cfg->concurrency;
	for (i = 0; i < s->nworkers; i++) {
		struct svc_worker *w = &s->workers[i];
		w->svc = s;
		w->idx = (unsigned)i;
		snprintf(w->id, sizeof(w->id), "%s%ld:%zu", s->prefix, (long)getpid(), i);
	}
	for (i = 0; i < s->nworkers; i++) {
		if (pthread_create(&s->workers[i].th, NULL, worker_main, &s->workers[i]) != 0)
			return cs_err_set(CS_EIO, "cannot start scan worker threads");
		s->workers[i].started = 1;
	}
	s->hb_started = 1;
	if (pthread_create(&s->hb_th, NULL, heartbeat_main, s) != 0) {
		s->hb_started = 0;
		return cs_err_set(CS_EIO, "cannot start the lease keeper thread");
	}
	return 0;
}

int svc_workers_stop(struct cs_service *s, unsigned grace)
{
	double end = mono() + (double)grace;
	struct timespec ts;
	size_t i, busy;
	int stuck = 0;

	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->work_cv);
	for (;;) {
		busy = 0;
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].started && !s->workers[i].exited)
				busy++;
		if (busy == 0 || mono() >= end)
			break;
		deadline_in(&ts, 0.2);
		pthread_cond_timedwait(&s->done_cv, &s->mu, &ts);
	}
	if (s->hb_started > 0) {
		s->hb_started = -1;
		pthread_cond_broadcast(&s->hb_cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (s->hb_started < 0) {
		pthread_join(s->hb_th, NULL);
		s->hb_started = 0;
	}
	for (i = 0; i < s->nworkers; i++) {
		if (!s->workers[i].started)
			continue;
		pthread_mutex_lock(&s->mu);
		int exited = s->workers[i].exited;
		pthread_mutex_unlock(&s->mu);
		if (exited) {
			pthread_join(s->workers[i].th, NULL);
			s->workers[i].started = 0;
		} else {
			stuck = 1;   /* still scanning after the grace period */
		}
	}
	return stuck;
}
