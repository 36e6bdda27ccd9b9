/*
 * service.h - `cellscan serve`: the HTTP API (libmicrohttpd, JSON by jansson),
 * the registry webhook, the pool of scan workers that drain the store's
 * durable queue, the ImageReview admission endpoint, verdict alerts and the
 * Prometheus metrics. docs/service.md describes the configuration and the
 * operations; docs/api.yaml (OpenAPI 3.0) every endpoint.
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by
 * max_connections); N scan workers each hold their own store connection and
 * vulnerability-database handle; one thread renews the leases of the jobs in
 * flight; one delivers alerts. The API borrows store connections from a
 * small pool. Errors follow common/errors.h.
 */
#ifndef CS_SUPERVISOR_SERVICE_H
#define CS_SUPERVISOR_SERVICE_H

#include <stddef.h>

#include <jansson.h>

#define CS_SERVICE_MAX_REGISTRIES 16
#define CS_SERVICE_MAX_ALIASES 8
#define CS_SERVICE_MAX_ALERT_TARGETS 8
#define CS_SERVICE_MAX_CONFIG (1u << 20)   /* config file bytes */
#define CS_SERVICE_MAX_SECRET 4096         /* secret file bytes */

struct cs_service_registry {
	char *host;                              /* "host[:port]" images are pulled from */
	char *aliases[CS_SERVICE_MAX_ALIASES];   /* other names its notifications carry */
	size_t naliases;
	int insecure;                            /* plain HTTP (tests only) */
};

struct cs_service_alert_target {
	char *url;        /* http(s) URL the alert is POSTed to */
	char *secret;     /* HMAC-SHA256 key (file contents); wiped when cleared */
};

/*
 * Everything `cellscan serve` is told. Strings are malloc'd and owned by the
 * struct: cs_service_config_clear() frees them (and wipes the secrets).
 */
struct cs_service_config {
	char *listen_host;            /* default "127.0.0.1" */
	unsigned listen_port;         /* default 8080; 0: any free port (tests) */
	char *tls_cert, *tls_key;     /* PEM files; both or neither (HTTPS) */
	char *state_dir;              /* required: store, cache default here */
	char *store_url;              /* default STATE_DIR/cellscan.sqlite */
	char *vulndb;                 /* default cs_vulndb_default_path() */
	char *policy_file;            /* NULL: the built-in default policy */
	char *webhook_secret;         /* file contents; NULL: webhook answers 503 */
	char *ca_file;                /* registry CAs (PEM) */
	char *cache_dir;              /* blob cache; default STATE_DIR/cache */
	char *docker_config;          /* DOCKER_CONFIG for credentials; NULL: inherited */
	char *instance;               /* worker-id prefix; default the host name */
	char *worker;                 /* cellscan-worker path; NULL: the CLI's */
	struct cs_service_registry registries[CS_SERVICE_MAX_REGISTRIES];
	size_t nregistries;           /* 0: any registry the webhook names */
	struct cs_service_alert_target alerts[CS_SERVICE_MAX_ALERT_TARGETS];
	size_t nalerts;
	unsigned concurrency;         /* scan workers (sandboxes at once); default 2 */
	unsigned max_connections;     /* HTTP connections at once; default 64 */
	unsigned connection_timeout;  /* idle seconds before a connection is cut; 30 */
	unsigned request_timeout;     /* seconds to receive a whole body; default 30 */
	size_t max_body;              /* request body bytes; default 1 MiB */
	size_t max_header;            /* per-connection header memory; default 32 KiB */
	unsigned lease_seconds;       /* job lease; default 120 (renewed every third) */
	unsigned grace_seconds;       /* SIGTERM: wait for scans this long; default 30 */
	unsigned max_attempts;        /* claims of a job; default 5 */
	unsigned backoff_base;        /* seconds; default 30 */
	unsigned backoff_max;         /* seconds; default 3600 */
	unsigned review_deadline_ms;  /* on-demand scan of an unknown image; 10000 */
	int review_default_allow;     /* unknown after the deadline; default 0 (deny) */
	int review_allow_error;       /* verdict "error" is allowed; default 0 */
	unsigned alert_timeout;       /* seconds per delivery; default 10 */
	int allow_local_sources;      /* accept oci:/dir:/archives in POST /v1/scans (tests) */
	unsigned scan_timeout;        /* registry request timeout for scans; 0: default */
	unsigned vulndb_check_ms;     /* how often the database file is checked for a
				       * swap (re-match, docs/rescan.md); 0: 2000 */
};

/* Defaults as listed above; state_dir stays NULL. */
void cs_service_config_init(struct cs_service_config *c);
/* Frees and wipes; c is left as after init. */
void cs_service_config_clear(struct cs_service_config *c);

/*
 * Reads a JSON config file (docs/service.md) into c, over what c holds.
 * Unknown keys, wrong types and bad values are CS_EINVAL naming the key.
 * Secrets are read from the files the config names (webhook_secret_file,
 * alert targets' secret_file), never written in the config itself.
 */
int cs_service_config_load(struct cs_service_config *c, const char *path);
/* Reads a secret file (at most CS_SERVICE_MAX_SECRET bytes, one trailing
 * newline dropped, not empty) into *out (malloc'd; wipe and free). */
int cs_service_read_secret(char **out, const char *path);
/* "HOST:PORT" (IPv6 as "[::1]:PORT") into c. */
int cs_service_config_listen(struct cs_service_config *c, const char *hostport);
/* Fills the defaults that depend on state_dir; CS_EINVAL when incomplete. */
int cs_service_config_finish(struct cs_service_config *c);

/*
 * One scan, as a worker thread runs it. The scanner fills the out fields on
 * success; the service then stores them with cs_store_job_complete().
 */
struct cs_service_scan {
	/* in (borrowed) */
	const char *ref;          /* image reference of the job */
	const char *digest;       /* the digest the job was queued with, or NULL */
	/* out (owned by the struct, released by cs_service_scan_clear()) */
	char *resolved_digest;    /* the digest the result is stored under */
	json_t *image;            /* store.h's image object */
	json_t *inventory;        /* merged inventory */
	char *report_json;        /* "cellscan-report/1" text */
	const char *worker_end;   /* static: "ok", "cached", "timeout", ..., "none" */
};
void cs_service_scan_clear(struct cs_service_scan *s);

/* Runs one scan; 0 or CS_E* with a message (the job then fails and is
 * retried with backoff). Called from several threads at once. */
typedef int (*cs_service_scan_fn)(void *ctx, struct cs_service_scan *scan);

/*
 * The real pipeline (source, sandbox, match, policy, report). Its context is
 * made by cs_service_scanner_new() from the config (policy loaded once,
 * vulnerability database opened per thread) and freed with
 * cs_service_scanner_free().
 */
struct cs_service_scanner;
int cs_service_scanner_new(struct cs_service_scanner **out, const struct cs_service_config *c);
void cs_service_scanner_free(struct cs_service_scanner *sc);
int cs_service_scanner_run(void *ctx, struct cs_service_scan *scan);

struct cs_service;

/*
 * Opens the store (migrating it), re-queues the jobs this instance held
 * when it last died, starts the scan workers, the alert sender and the
 * HTTP listener. c and scan_ctx are borrowed until cs_service_stop().
 */
int cs_service_start(struct cs_service **out, const struct cs_service_config *c,
		     cs_service_scan_fn scan, void *scan_ctx);
/* The port the listener is bound to (useful with listen_port 0). */
unsigned cs_service_port(const struct cs_service *s);

/*
 * Graceful stop: no new connections, no new claims; running scans get
 * grace_seconds, then their jobs are put back in the queue. Returns 1 when
 * some scan threads could not be joined (the caller must then _exit(),
 * their sandboxes die with the process), else 0. Frees s.
 */
int cs_service_stop(struct cs_service *s);

/*
 * Starts, waits for SIGTERM or SIGINT (blocked in every thread, taken with
 * sigwait), stops. Returns 0, or CS_E* when the start failed.
 */
int cs_service_run(const struct cs_service_config *c, cs_service_scan_fn scan, void *scan_ctx);

/* The Prometheus text of the service's counters (also GET /metrics).
 * *out malloc'd. */
int cs_service_metrics_text(struct cs_service *s, char **out);

/* HMAC-SHA256 of body with key as "sha256=<64 hex>" (the
 * X-Cellscan-Signature header value); out must hold 72 bytes. */
int cs_service_sign(char out[72], const char *key, const void *body, size_t len);

/* ---- judging stored inventories again (docs/rescan.md) ------------------ */

struct cs_scan_result;
struct cs_vulndb;
struct cs_policy;
struct cs_store;
struct cs_store_options;

/*
 * The step between a merged inventory and a stored result, shared by serve's
 * scans (cs_service_scanner_run), `cellscan rescan` and serve's re-match
 * after a database update: cs_scan_judge() of res against db under pol for
 * the image named ref in repository, the cellscan-report/1 text (what
 * `cellscan scan --format json` writes), and store.h's image object
 * {"digest", "repository", "platform", "manifest_digest", "db_digest",
 * "verdict", "package_keys"} for cs_store_put_result(). No "ref"/"refs": a
 * caller with new references adds them. res->img gives manifest_digest and
 * platform. *image is a new reference and *report_json malloc'd (free());
 * both NULL on failure.
 */
int cs_service_judge(json_t **image, char **report_json, const struct cs_scan_result *res,
		     struct cs_vulndb *db, const struct cs_policy *pol, const char *digest,
		     const char *repository, const char *ref);

/* The store options `cellscan serve` runs with under c (queue retries, and
 * verdict alerts queued only when c has alert targets). */
void cs_service_store_options(const struct cs_service_config *c, struct cs_store_options *o);

/* Digests of the stored images, sorted; of repository only when it is not
 * NULL ("host/repo" exactly, or "host/repo*" as a prefix). *out: a new
 * array of strings (json_decref). At most CS_SERVICE_REMATCH_MAX images. */
#define CS_SERVICE_REMATCH_MAX 10000000u
int cs_service_stored_images(json_t **out, struct cs_store *st, const char *repository);

/* One image's outcome, handed to the on_image callback; every string is
 * borrowed for the callback. */
struct cs_service_rematch_item {
	const char *digest;
	const char *repository;  /* NULL when the image could not be read */
	int error;               /* 0: judged and stored; else CS_E* */
	const char *message;     /* error != 0: one line, starting with the digest */
	const char *verdict;     /* error == 0: the new verdict */
	const char *previous;    /* the stored verdict before, or NULL */
	int changed;             /* the verdict changed (cs_store_put_result) */
};

#define CS_SERVICE_REMATCH_MAX_THREADS 64

struct cs_service_rematch_opts {
	const char *store_url;                       /* each thread opens its own connection */
	const struct cs_store_options *store_opts;   /* NULL: the store's defaults */
	const char *vulndb;                          /* path; each thread opens it read-only */
	struct cs_vulndb *db;                        /* or this open handle (threads must be 1) */
	const struct cs_policy *policy;              /* shared, read-only */
	unsigned threads;                            /* 0 means 1 */
	/* Optional. on_image is called once per image, never by two threads
	 * at once; stop is asked before each image: non-zero takes no more. */
	void (*on_image)(void *ctx, const struct cs_service_rematch_item *it);
	int (*stop)(void *ctx);
	void *ctx;
};

struct cs_service_rematch_stats {
	size_t images;       /* images taken (judged or failed) */
	size_t changed;      /* stored with another verdict than before */
	size_t failed;       /* could not be judged or stored; their stored data is untouched */
	size_t unhealthy;    /* stored with verdict "unhealthy" or "error" */
	size_t not_taken;    /* left when stop asked */
	double seconds;
	char db_digest[80];  /* the database judged against (the first thread's) */
};

/*
 * Judges every image of digests (an array of strings) again from its stored
 * inventory, without pulling or running a worker: read the image and its
 * inventory, cs_service_judge() it with the image's stored repository and
 * the reference its inventory was taken from, and store the result with
 * cs_store_put_result() (its verdict history and verdict alerts). An image
 * whose inventory is missing, does not parse, or fails to judge is counted
 * as failed and nothing of it is written. Returns 0 when the run happened
 * (per-image failures are in stats), or CS_E* when it could not start
 * (store, database); stats is filled in both cases.
 */
int cs_service_rematch(const struct cs_service_rematch_opts *o, const json_t *digests,
		       struct cs_service_rematch_stats *stats);

/* What serve's re-match after database swaps has done (GET /metrics has
 * the same as cellscan_rematch_*). */
struct cs_service_rematch_counters {
	unsigned long long swaps;          /* new databases seen */
	unsigned long long runs_diff;      /* re-matches of the images a diff named */
	unsigned long long runs_full;      /* re-matches of every image (no diff) */
	unsigned long long images;         /* images re-judged (failed ones included) */
	unsigned long long changed;        /* of them, verdict changes */
	unsigned long long failed;         /* of them, failures */
	char db_digest[80];                /* the database results are brought to ("" none) */
};
void cs_service_rematch_counters(struct cs_service *s, struct cs_service_rematch_counters *out);

#endif
