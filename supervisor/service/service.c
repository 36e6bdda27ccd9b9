/*
 * service.c - start and stop: store (migrated on open), re-queue of this
 * instance's leases from a previous life, workers, alerts, listener; and
 * the graceful stop on SIGTERM (docs/service.md "Operations").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"

unsigned cs_service_port(const struct cs_service *s)
{
	return s->port;
}

static void free_service(struct cs_service *s)
{
	svc_rematch_free(s);
	if (s->pool_init)
		svc_pool_destroy(&s->pool);
	if (s->metrics_init)
		svc_metrics_destroy(&s->m);
	if (s->mu_init) {
		pthread_cond_destroy(&s->work_cv);
		pthread_cond_destroy(&s->done_cv);
		pthread_cond_destroy(&s->alert_cv);
		pthread_cond_destroy(&s->hb_cv);
		pthread_mutex_destroy(&s->mu);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->workers);
	free(s);
}

/* One service per state directory: a second one would re-queue the first
 * one's running jobs as its own "previous life". */
static int lock_state_dir(struct cs_service *s)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/serve.lock", s->cfg->state_dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0)
		return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return cs_err_set(errno == EWOULDBLOCK ? CS_EINVAL : CS_EIO,
				  "another cellscan serve is running with the state directory %s",
				  s->cfg->state_dir);
	return 0;
}

/* Puts back the jobs this instance holds (all of them, the leases need not
 * have ended): after a crash (on start) or after the grace period (stop). */
static int requeue_mine(struct cs_service *s, struct cs_store *st, long long *n)
{
	return cs_store_jobs_requeue_expired(st, svc_now(), s->prefix, n);
}

int cs_service_start(struct cs_service **out, const struct cs_service_config *c,
		     cs_service_scan_fn scan, void *scan_ctx)
{
	struct cs_service *s;
	struct cs_store *st = NULL;
	long long n = 0;
	size_t pool;
	int r;

	*out = NULL;
	if (c->state_dir == NULL || c->store_url == NULL || c->listen_host == NULL ||
	    c->instance == NULL || scan == NULL || c->concurrency == 0)
		return cs_err_set(CS_EINVAL, "service: incomplete configuration "
				  "(cs_service_config_finish)");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	s->cfg = c;
	s->lock_fd = -1;
	s->scan = scan;
	s->scan_ctx = scan_ctx;
	snprintf(s->prefix, sizeof(s->prefix), "%s:", c->instance);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	pthread_cond_init(&s->alert_cv, NULL);
	pthread_cond_init(&s->hb_cv, NULL);
	s->mu_init = 1;
	svc_metrics_init(&s->m);
	s->metrics_init = 1;
	cs_service_store_options(c, &s->sopt);   /* shared with `cellscan rescan` */

	if ((r = lock_state_dir(s)) != 0)
		goto fail;
	/* the first open creates or migrates the schema, before any thread */
	if ((r = cs_store_open(&st, c->store_url)) != 0) {
		cs_err_prefix(r, "store %s", c->store_url);
		goto fail;
	}
	if ((r = cs_store_set_options(st, &s->sopt)) != 0 || (r = requeue_mine(s, st, &n)) != 0) {
		cs_store_close(st);
		goto fail;
	}
	cs_store_close(st);
	if (n > 0)
		fprintf(stderr, "cellscan serve: %lld job(s) of a previous run put back in the queue\n",
			n);
	pool = c->max_connections < SVC_POOL_MAX ? c->max_connections : SVC_POOL_MAX;
	if ((r = svc_pool_init(&s->pool, c->store_url, &s->sopt, pool)) != 0)
		goto fail;
	s->pool_init = 1;
	/* the database watcher first: workers report results to it */
	if ((r = svc_rematch_start(s)) != 0 || (r = svc_workers_start(s)) != 0 ||
	    (r = svc_alerts_start(s)) != 0 || (r = svc_http_start(s)) != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", cs_err_msg());
		if (cs_service_stop(s) != 0)
			_exit(3);
		return cs_err_set(r, "%s", msg);
	}
	*out = s;
	return 0;
fail:
	free_service(s);
	return r;
}

int cs_service_stop(struct cs_service *s)
{
	struct cs_store *st = NULL;
	int stuck;

	if (s == NULL)
		return 0;
	/* 1. no new connections (requests in progress finish); a re-match
	 * after a database update stops after its current image (docs/rescan.md) */
	svc_http_quiesce(s);
	svc_rematch_stop(s);
	/* 2. no new claims; running scans get the grace period */
	stuck = svc_workers_stop(s, s->cfg->grace_seconds);
	/* 3. what is still running goes back to the queue for the next run */
	if (stuck && cs_store_open(&st, s->cfg->store_url) == 0) {
		long long n = 0;
		if (requeue_mine(s, st, &n) == 0 && n > 0)
			fprintf(stderr, "cellscan serve: %lld running job(s) put back in the queue\n", n);
		cs_store_close(st);
	}
	svc_alerts_stop(s);
	svc_http_stop(s);
	if (stuck)
		return 1;   /* threads still use s: the caller exits the process */
	free_service(s);
	return 0;
}

int cs_service_run(const struct cs_service_config *c, cs_service_scan_fn scan, void *scan_ctx)
{
	struct cs_service *s = NULL;
	sigset_t set, old;
	int r, sig = 0;

	/* every thread started from here inherits the mask: only sigwait below
	 * takes SIGTERM/SIGINT; a peer closing a socket is EPIPE, not a signal */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return cs_err_set(CS_EINTERNAL, "libcurl initialisation failed");
	}
	if ((r = cs_service_start(&s, c, scan, scan_ctx)) != 0) {
		curl_global_cleanup();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	fprintf(stderr, "cellscan serve: listening on %s%s:%u (%s), %u scan worker(s), store %s\n",
		c->tls_cert ? "https://" : "http://", c->listen_host, cs_service_port(s),
		c->instance, c->concurrency, c->store_url);
	sigdelset(&set, SIGPIPE);
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(&set, &sig) != 0)
			break;
	}
	fprintf(stderr, "cellscan serve: %s: stopping (grace %u s)\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM", c->grace_seconds);
	if (cs_service_stop(s) != 0) {
		fprintf(stderr, "cellscan serve: stopped; scans still running were re-queued\n");
		fflush(NULL);
		_exit(0);
	}
	curl_global_cleanup();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fprintf(stderr, "cellscan serve: stopped\n");
	return 0;
}
