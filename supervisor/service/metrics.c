/*
 * metrics.c - the counters behind GET /metrics, in the Prometheus text
 * exposition format (version 0.0.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/service/internal.h"

static const char *const outcome_names[SVC_OUT_N] = {
	"healthy", "unhealthy", "error", "failed", "duplicate", "skipped", "lost" };
static const char *const ending_names[SVC_ENDINGS_N] = {
	"ok", "cached", "exit", "crashed", "seccomp", "timeout", "out-of-memory", "cpu-limit",
	"protocol", "sandbox-setup", "none", "other" };
static const double buckets[SVC_HIST_N] = { 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900 };
static const char *const webhook_names[SVC_WH_N] = { "queued", "deduplicated", "known", "ignored" };

void svc_metrics_init(struct svc_metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
}

void svc_metrics_destroy(struct svc_metrics *m)
{
	pthread_mutex_destroy(&m->mu);
}

void svc_metrics_scan(struct svc_metrics *m, enum svc_outcome o)
{
	pthread_mutex_lock(&m->mu);
	m->scans[o]++;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_duration(struct svc_metrics *m, double seconds)
{
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < SVC_HIST_N && seconds > buckets[i]; i++)
		;
	m->hist[i]++;
	m->hist_sum += seconds;
	m->hist_count++;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_ending(struct svc_metrics *m, const char *kind)
{
	size_t i;

	for (i = 0; i < SVC_ENDINGS_N - 1; i++)
		if (strcmp(kind, ending_names[i]) == 0)
			break;
	pthread_mutex_lock(&m->mu);
	m->endings[i]++;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_webhook(struct svc_metrics *m, enum svc_webhook w, unsigned n)
{
	pthread_mutex_lock(&m->mu);
	m->webhook[w] += n;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_http(struct svc_metrics *m, unsigned status)
{
	unsigned c = status / 100;

	pthread_mutex_lock(&m->mu);
	m->http[c >= 1 && c <= 5 ? c : 0]++;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_alert(struct svc_metrics *m, int ok)
{
	pthread_mutex_lock(&m->mu);
	if (ok)
		m->alerts_ok++;
	else
		m->alerts_failed++;
	pthread_mutex_unlock(&m->mu);
}

void svc_metrics_review(struct svc_metrics *m, int allowed)
{
	pthread_mutex_lock(&m->mu);
	if (allowed)
		m->reviews_allowed++;
	else
		m->reviews_denied++;
	pthread_mutex_unlock(&m->mu);
}

int cs_service_metrics_text(struct cs_service *s, char **out)
{
	struct svc_metrics snap;
	long long counts[CS_STORE_JOB_NSTATES];
	long long alerts_pending = -1;
	struct cs_store *st;
	struct cs_buf b;
	unsigned long long cum = 0;
	int have_counts = 0, r = 0;
	size_t i;

	*out = NULL;
	pthread_mutex_lock(&s->m.mu);
	memcpy(&snap, &s->m, sizeof(snap));
	pthread_mutex_unlock(&s->m.mu);
	st = svc_pool_get(&s->pool);
	if (st != NULL) {
		have_counts = cs_store_job_counts(st, counts) == 0;
		if (cs_store_alert_pending(st, &alerts_pending) != 0)
			alerts_pending = -1;
		svc_pool_put(&s->pool, st);
	}
	cs_buf_init(&b, 1u << 20);
	r |= cs_buf_addstr(&b, "# HELP cellscan_scans_total Scans finished, by outcome.\n"
			   "# TYPE cellscan_scans_total counter\n");
	for (i = 0; i < SVC_OUT_N; i++)
		r |= cs_buf_printf(&b, "cellscan_scans_total{outcome=\"%s\"} %llu\n",
				   outcome_names[i], snap.scans[i]);
	r |= cs_buf_addstr(&b, "# HELP cellscan_scan_duration_seconds Wall-clock time of one scan.\n"
			   "# TYPE cellscan_scan_duration_seconds histogram\n");
	for (i = 0; i < SVC_HIST_N; i++) {
		cum += snap.hist[i];
		r |= cs_buf_printf(&b, "cellscan_scan_duration_seconds_bucket{le=\"%g\"} %llu\n",
				   buckets[i], cum);
	}
	cum += snap.hist[SVC_HIST_N];
	r |= cs_buf_printf(&b, "cellscan_scan_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			   "cellscan_scan_duration_seconds_sum %.6f\n"
			   "cellscan_scan_duration_seconds_count %llu\n",
			   cum, snap.hist_sum, snap.hist_count);
	r |= cs_buf_addstr(&b, "# HELP cellscan_worker_endings_total How sandboxed workers ended "
			   "(cached: no worker was needed; none: the scan failed before one ran).\n"
			   "# TYPE cellscan_worker_endings_total counter\n");
	for (i = 0; i < SVC_ENDINGS_N; i++)
		r |= cs_buf_printf(&b, "cellscan_worker_endings_total{kind=\"%s\"} %llu\n",
				   ending_names[i], snap.endings[i]);
	if (have_counts) {
		r |= cs_buf_addstr(&b, "# HELP cellscan_queue_depth Jobs waiting or running "
				   "(queued, running, failed awaiting retry).\n"
				   "# TYPE cellscan_queue_depth gauge\n");
		r |= cs_buf_printf(&b, "cellscan_queue_depth %lld\n",
				   counts[CS_STORE_JOB_QUEUED] + counts[CS_STORE_JOB_RUNNING] +
				   counts[CS_STORE_JOB_FAILED]);
		r |= cs_buf_addstr(&b, "# HELP cellscan_jobs Jobs in the store, by state.\n"
				   "# TYPE cellscan_jobs gauge\n");
		for (i = 0; i < CS_STORE_JOB_NSTATES; i++)
			r |= cs_buf_printf(&b, "cellscan_jobs{state=\"%s\"} %lld\n",
					   cs_store_job_state_name((enum cs_store_job_state)i), counts[i]);
	}
	if (alerts_pending >= 0)
		r |= cs_buf_printf(&b, "# HELP cellscan_alerts_pending Alerts not delivered yet.\n"
				   "# TYPE cellscan_alerts_pending gauge\n"
				   "cellscan_alerts_pending %lld\n", alerts_pending);
	r |= cs_buf_printf(&b, "# HELP cellscan_alert_deliveries_total Alert deliveries, by result.\n"
			   "# TYPE cellscan_alert_deliveries_total counter\n"
			   "cellscan_alert_deliveries_total{result=\"delivered\"} %llu\n"
			   "cellscan_alert_deliveries_total{result=\"failed\"} %llu\n",
			   snap.alerts_ok, snap.alerts_failed);
	r |= cs_buf_addstr(&b, "# HELP cellscan_webhook_events_total Registry events, by what "
			   "became of them.\n# TYPE cellscan_webhook_events_total counter\n");
	for (i = 0; i < SVC_WH_N; i++)
		r |= cs_buf_printf(&b, "cellscan_webhook_events_total{result=\"%s\"} %llu\n",
				   webhook_names[i], snap.webhook[i]);
	r |= cs_buf_printf(&b, "# HELP cellscan_imagereviews_total ImageReview answers.\n"
			   "# TYPE cellscan_imagereviews_total counter\n"
			   "cellscan_imagereviews_total{allowed=\"true\"} %llu\n"
			   "cellscan_imagereviews_total{allowed=\"false\"} %llu\n",
			   snap.reviews_allowed, snap.reviews_denied);
	r |= cs_buf_addstr(&b, "# HELP cellscan_http_responses_total HTTP responses, by status class.\n"
			   "# TYPE cellscan_http_responses_total counter\n");
	for (i = 1; i <= 5; i++)
		r |= cs_buf_printf(&b, "cellscan_http_responses_total{code=\"%zuxx\"} %llu\n", i,
				   snap.http[i]);
	r |= svc_metrics_rematch_text(&snap, &b);
	r |= cs_buf_cstr(&b);
	if (r != 0) {
		cs_buf_free(&b);
		return cs_err_set(CS_ENOMEM, "metrics: out of memory");
	}
	*out = (char *)cs_buf_steal(&b, NULL);
	return 0;
}
