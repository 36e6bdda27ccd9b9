/*
 * internal.h - the service part's shared state; not a public header.
 */
#ifndef CS_SUPERVISOR_SERVICE_INTERNAL_H
#define CS_SUPERVISOR_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "supervisor/service/service.h"
#include "supervisor/store/store.h"

struct MHD_Daemon;
struct MHD_Connection;

/* Scan outcomes counted by cellscan_scans_total{outcome}. */
enum svc_outcome {
	SVC_OUT_HEALTHY, SVC_OUT_UNHEALTHY, SVC_OUT_ERROR, SVC_OUT_FAILED, SVC_OUT_DUPLICATE,
	SVC_OUT_SKIPPED, SVC_OUT_LOST, SVC_OUT_N
};
/* How a worker ended, cellscan_worker_endings_total{kind}. */
#define SVC_ENDINGS_N 12
#define SVC_HIST_N 11   /* histogram buckets before +Inf */
enum svc_webhook { SVC_WH_QUEUED, SVC_WH_DEDUPED, SVC_WH_KNOWN, SVC_WH_IGNORED, SVC_WH_N };

struct svc_metrics {
	pthread_mutex_t mu;
	unsigned long long scans[SVC_OUT_N];
	unsigned long long endings[SVC_ENDINGS_N];
	unsigned long long hist[SVC_HIST_N + 1];
	double hist_sum;
	unsigned long long hist_count;
	unsigned long long webhook[SVC_WH_N];
	unsigned long long alerts_ok, alerts_failed;
	unsigned long long http[6];   /* by status class: [1] 1xx ... [5] 5xx, [0] other */
	unsigned long long reviews_allowed, reviews_denied;
	/* re-match after database swaps (rematch.c) */
	unsigned long long rm_swaps, rm_runs_diff, rm_runs_full;
	unsigned long long rm_images, rm_changed, rm_failed;
};

void svc_metrics_init(struct svc_metrics *m);
void svc_metrics_destroy(struct svc_metrics *m);
void svc_metrics_scan(struct svc_metrics *m, enum svc_outcome o);
void svc_metrics_duration(struct svc_metrics *m, double seconds);
void svc_metrics_ending(struct svc_metrics *m, const char *kind);
void svc_metrics_webhook(struct svc_metrics *m, enum svc_webhook w, unsigned n);
void svc_metrics_http(struct svc_metrics *m, unsigned status);
void svc_metrics_alert(struct svc_metrics *m, int ok);
void svc_metrics_review(struct svc_metrics *m, int allowed);
/* The cellscan_rematch_* lines of a snapshot of m (rematch.c); 0 or the
 * cs_buf error. */
struct cs_buf;
int svc_metrics_rematch_text(const struct svc_metrics *snap, struct cs_buf *b);

/* A few store connections for the HTTP threads (a connection is used by
 * one thread at a time). */
#define SVC_POOL_MAX 16
struct svc_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cs_store *conn[SVC_POOL_MAX];
	int busy[SVC_POOL_MAX];
	size_t n;
};

struct svc_worker {
	struct cs_service *svc;
	pthread_t th;
	unsigned idx;
	int started, exited;     /* exited: under svc->mu */
	char id[300];            /* "instance:pid:n" */
	long long job_id;        /* in flight, 0 none; under svc->mu */
};

/*
 * The re-match after a database swap (rematch.c): one thread that checks the
 * vulnerability database file every vulndb_check_ms, diffs a new one against
 * the one the stored results were judged with, and judges the affected
 * images again. Everything below is under mu except the thread's own
 * handles (db, policy), which only that thread touches after start.
 */
#define SVC_RM_STALE_MAX 100000
struct cs_policy;
struct cs_vulndb;
/* A file's identity: a rename() swap gives another inode. */
struct svc_rm_ident {
	int valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};
struct svc_rematch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int started, stop, init;
	char *path;                 /* the database file */
	struct cs_policy *policy;
	struct cs_vulndb *db;       /* the current database, or NULL (none yet) */
	char digest[80];            /* its digest ("" none) */
	struct svc_rm_ident seen;   /* the file when db was opened (set at start) */
	json_t *stale;              /* {digest: true}: results stored against another db */
};

struct cs_service {
	const struct cs_service_config *cfg;
	cs_service_scan_fn scan;
	void *scan_ctx;
	struct cs_store_options sopt;
	char prefix[260];         /* "instance:" (worker ids start with it) */
	struct MHD_Daemon *mhd;
	unsigned port;
	char *tls_cert_pem, *tls_key_pem;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;   /* a job was queued, or stop */
	pthread_cond_t done_cv;   /* a job ended */
	pthread_cond_t alert_cv;  /* an alert may be due, or stop */
	pthread_cond_t hb_cv;     /* stop the heartbeat */
	int stopping;             /* no new claims */
	int alerts_stop;
	struct svc_worker *workers;
	size_t nworkers;
	pthread_t hb_th, alert_th;
	int hb_started, alert_started;
	struct svc_pool pool;
	struct svc_metrics m;
	int mu_init, pool_init, metrics_init;
	int lock_fd;              /* STATE_DIR/serve.lock, flock'd while we run */
	struct svc_rematch rm;
};

int svc_pool_init(struct svc_pool *p, const char *url, const struct cs_store_options *o, size_t n);
struct cs_store *svc_pool_get(struct svc_pool *p);
void svc_pool_put(struct svc_pool *p, struct cs_store *c);
void svc_pool_destroy(struct svc_pool *p);

/* An API answer. */
struct svc_resp {
	unsigned status;
	char *body;               /* malloc'd */
	size_t len;
	const char *ctype;        /* static */
	char location[128];
	const char *allow;        /* static; for 405 */
};
void svc_resp_clear(struct svc_resp *r);
/* {"error": {"status": N, "message": "..."}} */
void svc_resp_error(struct svc_resp *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes a reference of o (json_decref'd here). */
void svc_resp_json(struct svc_resp *r, unsigned status, json_t *o);

/* Request as the router sees it; query parameters are read through conn. */
struct svc_req {
	const char *method;
	const char *path;
	const char *body;         /* NUL-terminated, len bytes */
	size_t len;
	const char *authorization;
	struct MHD_Connection *conn;
};

void svc_route(struct cs_service *s, const struct svc_req *q, struct svc_resp *r);

/* http.c */
int svc_http_start(struct cs_service *s);
void svc_http_quiesce(struct cs_service *s);
void svc_http_stop(struct cs_service *s);

/* workers.c */
int svc_workers_start(struct cs_service *s);
/* Waits up to grace seconds; returns 1 if some worker is still busy. */
int svc_workers_stop(struct cs_service *s, unsigned grace);
void svc_wake_workers(struct cs_service *s);

/* alerts.c */
int svc_alerts_start(struct cs_service *s);
void svc_alerts_stop(struct cs_service *s);
void svc_wake_alerts(struct cs_service *s);

/* rematch.c */
int svc_rematch_start(struct cs_service *s);
/* Stops the thread and closes its handles; svc_rematch_free() (when s is
 * freed) also destroys the lock. */
void svc_rematch_stop(struct cs_service *s);
void svc_rematch_free(struct cs_service *s);
/* A scan stored a result for digest judged against db_digest: when that is
 * not the current database, the image is judged again (a scan that opened
 * the old file just before a swap). */
void svc_rematch_note(struct cs_service *s, const char *digest, const char *db_digest);

/* Shared helpers (api.c). */
long long svc_now(void);
/* 1 when s is "sha256:" + 64 lowercase hex. */
int svc_digest_ok(const char *s);
/* Enqueues a scan; *job and *created as cs_store_job_enqueue. */
int svc_enqueue(struct cs_service *s, struct cs_store *st, const char *ref, const char *digest,
		const char *reason, long long *job, int *created);
/* "host/repo" of an image reference (before "@" and a tag). malloc'd. */
char *svc_repository_of(const char *ref);

/* One line "cellscan serve: MSG" on stderr, control characters replaced
 * (messages carry image names and registry text; STYLE.md 14). */
void svc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
