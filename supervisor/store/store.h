/*
 * store.h - cellscan's results and job queue: the only door to the SQL that
 * holds them (docs/store.md has the schema, the queue's rules and the
 * exactly-once argument).
 *
 * Backends, chosen by the URL given to cs_store_open():
 *   PATH, sqlite:PATH        an embedded SQLite file (WAL), the default
 *   postgresql://..., postgres://...   a PostgreSQL server (libpq), when
 *                            cellscan was built with libpq; otherwise
 *                            CS_EUNSUPPORTED
 * Callers never see the difference.
 *
 * A struct cs_store is one connection: use it from one thread at a time,
 * and never across fork() (a child opens its own). Every function returns 0
 * or a negative CS_E* code with a message recorded (common/errors.h).
 * Out-parameters are cleared on entry and filled only on success.
 * Times are integers (seconds since the Unix epoch) given by the caller; the
 * store never reads the clock. Every write runs in one transaction: a crash
 * leaves either all of it or none of it.
 *
 * Inputs are borrowed for the duration of a call. json_t out-parameters are
 * new references (json_decref()); char * out-parameters are malloc'd and
 * freed with free(); structs filled by the store are released with their
 * _clear() function.
 */
#ifndef CS_SUPERVISOR_STORE_H
#define CS_SUPERVISOR_STORE_H

#include <stddef.h>

#include <jansson.h>

/* The schema this code writes; older stores are migrated on open. */
#define CS_STORE_SCHEMA_VERSION 2

/* Caps on strings the store accepts (longer ones are CS_ELIMIT). */
#define CS_STORE_MAX_REF 4096      /* image reference, repository */
#define CS_STORE_MAX_DIGEST 256    /* "algorithm:encoded" */
#define CS_STORE_MAX_ID 1024       /* worker ids, vulnerability ids, verdicts, kinds */
#define CS_STORE_MAX_ERROR 4096    /* error texts are cut (at a UTF-8 boundary) to this */
/* Rows one query may return (findings by id, images for packages); past it,
 * the answer says "truncated": true. */
#define CS_STORE_MAX_ROWS 100000

struct cs_store;

struct cs_store_options {
	int max_attempts;         /* claims of a job before it is dead; default 5 */
	long long backoff_base;   /* seconds before the 2nd attempt; doubles; default 30 */
	long long backoff_max;    /* cap of that delay; default 3600 */
	int alert_max_attempts;   /* deliveries of an alert before it is dead; default 10 */
	int busy_timeout_ms;      /* SQLite: wait this long for a lock; default 10000 */
	size_t max_doc;           /* largest report or inventory JSON; default 256 MiB */
	int alerts;               /* put_result enqueues verdict alerts; default 1 */
};

/* Fills o with the defaults above. */
void cs_store_options_default(struct cs_store_options *o);

/*
 * Opens (creating if needed) the store at url and brings its schema to
 * CS_STORE_SCHEMA_VERSION, migrating older ones in a transaction per step.
 * A store newer than this code is CS_EUNSUPPORTED (never touched).
 * Default options apply. Close with cs_store_close().
 */
int cs_store_open(struct cs_store **out, const char *url);
/* Closes; NULL is a no-op. */
void cs_store_close(struct cs_store *s);
/* Replaces the options (checked: CS_EINVAL for nonsense). */
int cs_store_set_options(struct cs_store *s, const struct cs_store_options *o);
/* The schema version found in the store (CS_STORE_SCHEMA_VERSION after open). */
int cs_store_schema_version(struct cs_store *s, int *version);
/* "sqlite" or "postgresql". Borrowed, static. */
const char *cs_store_backend(const struct cs_store *s);
/* Runs the backend's consistency check (SQLite: PRAGMA integrity_check and
 * foreign_key_check); CS_EDB with the first problem in the message. */
int cs_store_check(struct cs_store *s);

/* ---- jobs: the durable scan queue --------------------------------------- */

enum cs_store_job_state {
	CS_STORE_JOB_QUEUED = 0,   /* waiting for a worker */
	CS_STORE_JOB_RUNNING = 1,  /* leased by a worker until lease_until */
	CS_STORE_JOB_FAILED = 2,   /* failed, retried at next_attempt */
	CS_STORE_JOB_DONE = 3,     /* finished (ok), terminal */
	CS_STORE_JOB_DEAD = 4,     /* gave up after max_attempts, terminal */
	CS_STORE_JOB_NSTATES = 5,
};

struct cs_store_job {
	long long id;              /* 0: none (cs_store_job_claim found nothing) */
	char *ref;                 /* the image reference as given */
	char *digest;              /* NULL while unknown */
	char *reason;              /* why it was queued ("push", "api", "rescan", ...) */
	enum cs_store_job_state state;
	int attempts;              /* claims so far, this one included */
	char *worker;              /* holder of the lease (running), or last holder; NULL */
	long long lease_until;     /* running: the lease ends; else 0 */
	long long next_attempt;    /* failed: runnable again at; else 0 */
	char *error;               /* last failure's text, or NULL */
	long long created, updated, finished;  /* finished: 0 until done/dead */
};

/* Frees the strings of j and zeroes it; NULL is a no-op. */
void cs_store_job_clear(struct cs_store_job *j);
/* "queued", "running", "failed", "done", "dead"; NULL for other values. */
const char *cs_store_job_state_name(enum cs_store_job_state st);

/*
 * Queues a scan of ref. digest (may be NULL when not known yet) is what
 * deduplicates: while a job for the same digest is queued, running or
 * waiting for a retry, enqueueing it again returns that job with
 * *created = 0. Without a digest, the same ref deduplicates against jobs that
 * have no digest either. Otherwise a new job is queued (*created = 1).
 * reason may be NULL ("").
 */
int cs_store_job_enqueue(struct cs_store *s, const char *ref, const char *digest,
			 const char *reason, long long now, long long *job_id, int *created);

/*
 * Atomically takes the oldest runnable job: queued, or running with a lease
 * that ended at or before now (its worker is presumed dead), or failed with
 * next_attempt <= now. It becomes running, held by worker_id (which must be
 * unique per claiming thread, e.g. "host:pid:n") until now + lease_seconds,
 * and its attempts grow by one. A candidate that has already used
 * max_attempts claims becomes dead instead (a job that keeps killing its
 * worker ends). When nothing is runnable, 0 with job->id == 0.
 * job is filled (cs_store_job_clear() it) on success.
 */
int cs_store_job_claim(struct cs_store *s, const char *worker_id, long long lease_seconds,
		       long long now, struct cs_store_job *job);

/* Extends the lease to now + lease_seconds. CS_ETIMEOUT when worker_id no
 * longer holds the job (it was taken over or finished): stop working on it. */
int cs_store_job_heartbeat(struct cs_store *s, long long job_id, const char *worker_id,
			   long long lease_seconds, long long now);

/*
 * Records the digest a running job resolved its ref to. When another job for
 * that digest is already pending, this one is finished as a duplicate
 * (state done, error "duplicate of job N") and *duplicate_of = N (else 0).
 * CS_ETIMEOUT when worker_id does not hold the job.
 */
int cs_store_job_set_digest(struct cs_store *s, long long job_id, const char *worker_id,
			    const char *digest, long long now, long long *duplicate_of);

enum cs_store_outcome { CS_STORE_OK = 0, CS_STORE_FAILED = 1 };

/*
 * Ends worker_id's attempt at a job. OK: done. FAILED: retried at now +
 * min(backoff_base * 2^(attempts-1), backoff_max), or dead when attempts
 * reached max_attempts; error_text (may be NULL) is kept (cut, invalid UTF-8
 * replaced). CS_ETIMEOUT, and nothing changes, when worker_id does not hold
 * the job any more (its lease was taken over): a job completes once.
 */
int cs_store_job_finish(struct cs_store *s, long long job_id, const char *worker_id,
			enum cs_store_outcome outcome, const char *error_text, long long now);

/* The job with that id (CS_ENOTFOUND). */
int cs_store_job_get(struct cs_store *s, long long job_id, struct cs_store_job *job);

/* Number of jobs in each state, indexed by enum cs_store_job_state. */
int cs_store_job_counts(struct cs_store *s, long long counts[CS_STORE_JOB_NSTATES]);

/*
 * On service start: puts running jobs back in the queue when their lease
 * ended at or before now, and also, when worker_prefix is not NULL, those
 * held by a worker id starting with worker_prefix (this host's previous
 * life, whose leases have not ended yet). *n (may be NULL) = jobs requeued.
 */
int cs_store_jobs_requeue_expired(struct cs_store *s, long long now, const char *worker_prefix,
				  long long *n);

/* ---- results ------------------------------------------------------------- */

/*
 * Stores one scan result in one transaction: the image, its inventory, the
 * reverse index, the report, the findings index and the verdict history;
 * and, when the verdict is alert-worthy (below) and alerts are on, an alert
 * in the outbox. Storing a result again for the same image replaces the
 * previous one (no duplicates); a result older (now) than the stored one is
 * ignored except for the refs it adds.
 *
 * image: {"digest": "sha256:...", "repository": "host/repo", "ref": "...",
 *         "refs": [...], "platform": "linux/amd64", "db_digest": "...",
 *         "verdict": "healthy"|"unhealthy"|"error",
 *         "package_keys": [{"ecosystem": "Debian:12", "name": "openssl"}, ...]}
 *   digest, repository and db_digest are required; verdict is taken from the
 *   report when absent here; package_keys (what cs_match_query_keys() gave
 *   for every package) feed the reverse index.
 * inventory: the merged image inventory (stored as compact JSON).
 * report_json: the report text exactly as `cellscan scan --format json`
 *   writes it (stored byte for byte); its "findings" are indexed (see
 *   docs/store.md for the fields read).
 *
 * *verdict_changed = 1 when the image is judged for the first time and not
 * healthy, or its verdict differs from the stored one; *previous_verdict is
 * the stored verdict (malloc'd) or NULL. Both out-params may be NULL.
 */
int cs_store_put_result(struct cs_store *s, const json_t *image, const json_t *inventory,
			const char *report_json, long long now, int *verdict_changed,
			char **previous_verdict);

/*
 * cs_store_put_result() and cs_store_job_finish(OK) in one transaction: the
 * result is stored if and only if worker_id still holds the job
 * (CS_ETIMEOUT, nothing stored, otherwise).
 */
int cs_store_job_complete(struct cs_store *s, long long job_id, const char *worker_id,
			  const json_t *image, const json_t *inventory, const char *report_json,
			  long long now, int *verdict_changed, char **previous_verdict);

/* The stored report text of an image (CS_ENOTFOUND). */
int cs_store_get_report(struct cs_store *s, const char *digest, char **json);
/* The stored inventory (compact JSON text) of an image (CS_ENOTFOUND). */
int cs_store_get_inventory(struct cs_store *s, const char *digest, char **json);

/*
 * One image as an object: {"digest", "repository", "refs": [...], "platform",
 * "first_seen", "last_scanned", "verdict", "db_digest", "scanned",
 * "counts": {"critical", "high", "medium", "low", "unknown"}} (verdict,
 * db_digest, scanned and counts null / absent before a report). CS_ENOTFOUND.
 */
int cs_store_get_image(struct cs_store *s, const char *digest, json_t **out);

struct cs_store_image_filter {
	const char *verdict;     /* NULL: any */
	const char *repository;  /* NULL: any; "a/b" exactly; "a/b*": the prefix before the star */
	unsigned limit;          /* 0: 100; at most 1000 */
	const char *cursor;      /* NULL: first page; else the previous page's "next" */
};

/* {"images": [image objects as above, by digest], "next": cursor or null}.
 * filter may be NULL. */
int cs_store_list_images(struct cs_store *s, const struct cs_store_image_filter *filter,
			 json_t **out);

/* Severity levels (their bit in a mask is 1u << level). */
enum cs_store_severity {
	CS_STORE_SEV_UNKNOWN = 0,
	CS_STORE_SEV_LOW = 1,
	CS_STORE_SEV_MEDIUM = 2,
	CS_STORE_SEV_HIGH = 3,
	CS_STORE_SEV_CRITICAL = 4,
	CS_STORE_SEV_N = 5,
};
#define CS_STORE_SEV_ALL 0x1fu

/* "critical", "high", ...; NULL past the range. */
const char *cs_store_severity_name(enum cs_store_severity sev);
/* A comma-separated list of level names ("high,critical") to a mask;
 * CS_EINVAL (naming the word) for an unknown one; "" gives 0. */
int cs_store_severity_mask(const char *list, unsigned *mask);

/*
 * Which images have vulnerability id (as the finding's id, one of its
 * aliases or upstream ids): {"id": id, "images": [{"digest", "repository",
 * "verdict", "findings": [finding objects]}], "truncated": bool}.
 * A finding object: {"id", "aliases", "package": {"name", "version", "kind"},
 * "ecosystem", "severity", "fixable", "fixed_version"}.
 */
int cs_store_find_images_by_vuln(struct cs_store *s, const char *id, json_t **out);

struct cs_store_finding_filter {
	unsigned severities;     /* mask of 1u << level; 0 means all */
	int fixable;             /* -1 any, 0 only unfixable, 1 only fixable */
};

/* {"digest", "findings": [finding objects, most severe first]};
 * CS_ENOTFOUND for an unknown image. filter may be NULL. */
int cs_store_image_findings(struct cs_store *s, const char *digest,
			    const struct cs_store_finding_filter *filter, json_t **out);

/*
 * The reverse index: for pairs (eco_pkg_pairs[2i], eco_pkg_pairs[2i+1]) =
 * (an advisory's affected ecosystem, package name), i < n, calls cb once per
 * image digest whose inventory has a package key covering it (the key's
 * ecosystem equals the advisory's or is a prefix of it ending before a ':',
 * as cs_match_ecosystem_covers() decides), in digest order, after the
 * reading is over (cb may use the store). A non-zero return from cb stops
 * and is returned.
 */
typedef int (*cs_store_digest_cb)(void *ctx, const char *digest);
int cs_store_images_for_packages(struct cs_store *s, const char *const *eco_pkg_pairs,
				 size_t n, cs_store_digest_cb cb, void *ctx);

/* ---- the alerts outbox ---------------------------------------------------- */

struct cs_store_alert {
	long long id;              /* 0: none */
	char *digest;              /* may be NULL */
	char *kind;                /* "verdict", ... */
	char *payload;             /* JSON text to send */
	int attempts;              /* deliveries tried, this one included */
	long long created;
};

void cs_store_alert_clear(struct cs_store_alert *a);

/* Queues an alert; payload must be JSON text. *id may be NULL. */
int cs_store_alert_enqueue(struct cs_store *s, const char *digest, const char *kind,
			   const char *payload, long long now, long long *id);
/* Takes the oldest alert due for delivery (pending with next_attempt <= now,
 * or being sent with an ended lease) under worker_id until now +
 * lease_seconds; a->id == 0 when none. */
int cs_store_alert_claim(struct cs_store *s, const char *worker_id, long long lease_seconds,
			 long long now, struct cs_store_alert *a);
/* Delivery result: OK: done. FAILED: retried with the jobs' backoff, dead
 * after alert_max_attempts. CS_ETIMEOUT when worker_id does not hold it. */
int cs_store_alert_done(struct cs_store *s, long long id, const char *worker_id,
			enum cs_store_outcome outcome, const char *error_text, long long now);
/* Alerts not yet delivered (pending or being sent), for metrics. */
int cs_store_alert_pending(struct cs_store *s, long long *n);

#endif
