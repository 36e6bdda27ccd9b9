/*
 * dbwatch.c - serve's re-match after a vulnerability-database update
 * (docs/rescan.md, docs/service.md "Re-match after a database update").
 *
 * `cellscan db update` / `db import` publish a new database by rename(), so
 * a new file is a new inode. One thread stat()s the path every
 * vulndb_check_ms (default 2 s: a stat is cheap, and scans open the path
 * themselves, so only stored results lag behind). On a new inode (or size or
 * mtime) it opens the file; a new digest is a new database. It keeps the
 * previous database open (the old inode stays readable after the rename),
 * so the two can be compared (cs_vulndb_diff): the (ecosystem, package)
 * pairs of records added, removed or changed give, through the store's
 * reverse index (cs_store_images_for_packages), the only images the update
 * can affect, and those are judged again by cs_service_rematch() - the same
 * function as `cellscan rescan` - on this thread, against the new handle.
 * Verdict changes queue alerts through cs_store_put_result() as a scan
 * would. When there is no previous database to compare with, or the diff
 * fails or is too large, every stored image is re-matched and the log says
 * why.
 *
 * Two races are closed:
 * - a scan that opened the old file just before the swap and stores its
 *   result after the re-match: workers.c calls svc_rematch_note() after
 *   storing, and a result judged against another database than the current
 *   one is judged again here;
 * - serve stopping (or dying) in the middle of a re-match, or a database
 *   swapped while serve was down: STATE_DIR/rematch.db holds the digest the
 *   stored results were last completely brought to; at start, when it names
 *   another database than the current one, every image whose stored result
 *   was judged against another database is re-matched. (A first start
 *   writes the file and re-matches nothing.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/service/internal.h"
#include "supervisor/vulndb/diff.h"
#include "supervisor/vulndb/vulndb.h"

#define DEFAULT_CHECK_MS 2000u

static int ident_of(struct svc_rm_ident *id, const char *path)
{
	struct stat sb;

	memset(id, 0, sizeof(*id));
	if (stat(path, &sb) != 0)
		return -1;
	id->valid = 1;
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->size = sb.st_size;
	id->mtime = sb.st_mtim;
	return 0;
}

static int ident_same(const struct svc_rm_ident *a, const struct svc_rm_ident *b)
{
	return a->valid == b->valid && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* What the watcher thread alone touches. */
struct watch {
	struct cs_service *s;
	struct cs_store *st;
	struct svc_rm_ident seen;         /* the file as last looked at */
	char state_path[4200];     /* STATE_DIR/rematch.db */
};

static int stopping(void *ctx)
{
	struct cs_service *s = ctx;
	int stop;

	pthread_mutex_lock(&s->rm.mu);
	stop = s->rm.stop;
	pthread_mutex_unlock(&s->rm.mu);
	return stop;
}

static void on_image(void *ctx, const struct cs_service_rematch_item *it)
{
	struct cs_service *s = ctx;

	pthread_mutex_lock(&s->m.mu);
	s->m.rm_images++;
	if (it->error != 0)
		s->m.rm_failed++;
	else if (it->changed)
		s->m.rm_changed++;
	pthread_mutex_unlock(&s->m.mu);
	if (it->error != 0)
		svc_log("re-match: %s", it->message);
	else if (it->changed)
		svc_log("re-match: %.100s %.300s: %s -> %s", it->digest,
		       it->repository ? it->repository : "", it->previous ? it->previous : "none",
		       it->verdict ? it->verdict : "?");
}

/* Judges digests again against the current database (this thread's). */
static int run_rematch(struct watch *w, const json_t *digests, struct cs_service_rematch_stats *stats)
{
	struct cs_service *s = w->s;
	struct cs_service_rematch_opts o;
	int r;

	memset(stats, 0, sizeof(*stats));
	if (json_array_size(digests) == 0)
		return 0;
	memset(&o, 0, sizeof(o));
	o.store_url = s->cfg->store_url;
	o.store_opts = &s->sopt;
	o.db = s->rm.db;
	o.policy = s->rm.policy;
	/* one thread: the scan workers keep their CPUs; bulk re-judging of a
	 * whole fleet is `cellscan rescan -j N` */
	o.threads = 1;
	o.on_image = on_image;
	o.stop = stopping;
	o.ctx = s;
	r = cs_service_rematch(&o, digests, stats);
	if (stats->changed > 0)
		svc_wake_alerts(s);
	return r;
}

/* STATE_DIR/rematch.db: the digest the stored results were completely
 * brought to. Written by rename, so it is either the old or the new one. */
static void state_write(struct watch *w, const char *digest)
{
	char tmp[4300];
	int fd;
	size_t len = strlen(digest);

	snprintf(tmp, sizeof(tmp), "%s.tmp", w->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		svc_log("re-match: %s: %s", tmp, strerror(errno));
		return;
	}
	if (write(fd, digest, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, w->state_path) != 0) {
		svc_log("re-match: %s: %s", w->state_path, strerror(errno));
		unlink(tmp);
	}
}

/* The digest in STATE_DIR/rematch.db, or "" when there is none. */
static void state_read(struct watch *w, char out[80])
{
	char buf[81];
	ssize_t n;
	int fd;

	out[0] = '\0';
	fd = open(w->state_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strlen(buf) < 80)
		memcpy(out, buf, strlen(buf) + 1);
}

/* Images whose stored result was judged against another database than
 * digest. *out: a new array. */
static int images_not_judged_against(struct watch *w, const char *digest, json_t **out)
{
	json_t *all = NULL, *list = json_array(), *v, *img;
	size_t i;
	int r;

	*out = NULL;
	if (list == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = cs_service_stored_images(&all, w->st, NULL)) != 0)
		goto out;
	json_array_foreach(all, i, v) {
		const char *d;
		img = NULL;
		if (cs_store_get_image(w->st, json_string_value(v), &img) != 0)
			continue;
		d = json_string_value(json_object_get(img, "db_digest"));
		if (d != NULL && strcmp(d, digest) != 0)
			json_array_append(list, v);
		json_decref(img);
	}
	*out = list;
	list = NULL;
out:
	json_decref(all);
	json_decref(list);
	return r;
}

static int collect_digest(void *ctx, const char *digest)
{
	json_t *list = ctx;

	if (json_array_append_new(list, json_string(digest)) != 0)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

/* The images a diff's pairs can affect. */
static int images_for_pairs(struct watch *w, const json_t *pairs, json_t **out)
{
	const char **flat = NULL;
	json_t *list = json_array(), *p;
	size_t i, n = json_array_size(pairs);
	int r = 0;

	*out = NULL;
	if (list == NULL || (flat = calloc(2 * n + 1, sizeof(*flat))) == NULL) {
		json_decref(list);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	json_array_foreach(pairs, i, p) {
		flat[2 * i] = json_string_value(json_array_get(p, 0));
		flat[2 * i + 1] = json_string_value(json_array_get(p, 1));
	}
	if (n > 0)
		r = cs_store_images_for_packages(w->st, flat, n, collect_digest, list);
	free(flat);
	if (r != 0) {
		json_decref(list);
		return r;
	}
	*out = list;
	return 0;
}

static void count_run(struct cs_service *s, int full)
{
	pthread_mutex_lock(&s->m.mu);
	if (full)
		s->m.rm_runs_full++;
	else
		s->m.rm_runs_diff++;
	pthread_mutex_unlock(&s->m.mu);
}

static void report_run(const char *what, int r, const struct cs_service_rematch_stats *st)
{
	if (r != 0)
		svc_log("re-match (%s): could not run: %s", what, cs_err_msg());
	else if (st->images > 0 || st->not_taken > 0)
		svc_log("re-match (%s): %zu image(s), %zu verdict change(s), %zu failed, %.1f s%s",
		       what, st->images, st->changed, st->failed, st->seconds,
		       st->not_taken > 0 ? "; stopped before the rest" : "");
}

/* Looks at the file; on a new database, re-matches what it can affect. */
static void check_swap(struct watch *w)
{
	struct cs_service *s = w->s;
	struct cs_service_rematch_stats stats;
	struct cs_vulndb *nw = NULL, *old = s->rm.db;
	struct svc_rm_ident now;
	json_t *pairs = NULL, *digests = NULL;
	const char *nd;
	char why[600] = "";
	size_t nrec = 0;
	int r, full = 0;

	if (ident_of(&now, s->rm.path) != 0) {
		if (w->seen.valid)
			svc_log("vulnerability database %s: %s (keeping the one open)", s->rm.path,
			       strerror(errno));
		w->seen.valid = 0;
		return;
	}
	if (ident_same(&now, &w->seen))
		return;
	/* remembered before opening: a swap after this stat is seen next time */
	w->seen = now;
	if ((r = cs_vulndb_open(&nw, s->rm.path, 1)) != 0) {
		svc_log("vulnerability database %s changed but cannot be opened: %s", s->rm.path,
		       cs_err_msg());
		return;
	}
	nd = cs_vulndb_digest(nw) ? cs_vulndb_digest(nw) : "";
	if (old != NULL && cs_vulndb_digest(old) != NULL && strcmp(cs_vulndb_digest(old), nd) == 0) {
		/* the same database again (a touch, a copy): nothing to judge */
		cs_vulndb_close(old);
		s->rm.db = nw;
		return;
	}
	pthread_mutex_lock(&s->m.mu);
	s->m.rm_swaps++;
	pthread_mutex_unlock(&s->m.mu);
	/* from here, a scan stored against another database is judged again */
	pthread_mutex_lock(&s->rm.mu);
	snprintf(s->rm.digest, sizeof(s->rm.digest), "%s", nd);
	pthread_mutex_unlock(&s->rm.mu);
	if (old == NULL) {
		full = 1;
		snprintf(why, sizeof(why), "no previous database to compare with");
	} else if ((r = cs_vulndb_diff(&pairs, &nrec, old, nw)) != 0) {
		full = 1;
		snprintf(why, sizeof(why), "the databases cannot be compared: %s", cs_err_msg());
	} else if ((r = images_for_pairs(w, pairs, &digests)) != 0) {
		full = 1;
		snprintf(why, sizeof(why), "the reverse index cannot be read: %s", cs_err_msg());
	}
	s->rm.db = nw;
	cs_vulndb_close(old);
	if (full) {
		svc_log("vulnerability database changed (now %s): %s; re-matching every stored image",
		       nd, why);
		json_decref(digests);
		digests = NULL;
		if ((r = cs_service_stored_images(&digests, w->st, NULL)) != 0) {
			svc_log("re-match: listing the stored images failed: %s", cs_err_msg());
			goto out;
		}
	} else {
		svc_log("vulnerability database changed (now %s): %zu record(s) changed, naming %zu "
		       "package(s); %zu stored image(s) have one of them", nd, nrec,
		       json_array_size(pairs), json_array_size(digests));
	}
	count_run(s, full);
	r = run_rematch(w, digests, &stats);
	report_run(full ? "every image" : "affected images", r, &stats);
	if (r == 0 && stats.not_taken == 0 && stats.failed == 0)
		state_write(w, nd);
out:
	json_decref(pairs);
	json_decref(digests);
}

/* Results scans stored against another database than the current one. */
static void judge_stale(struct watch *w)
{
	struct cs_service *s = w->s;
	struct cs_service_rematch_stats stats;
	json_t *stale, *list = json_array(), *img;
	const char *d;
	void *tmp;
	char cur[80];
	int r;

	pthread_mutex_lock(&s->rm.mu);
	stale = s->rm.stale;
	s->rm.stale = json_object();
	snprintf(cur, sizeof(cur), "%s", s->rm.digest);
	pthread_mutex_unlock(&s->rm.mu);
	if (list == NULL || s->rm.db == NULL || cur[0] == '\0')
		goto out;
	json_object_foreach_safe(stale, tmp, d, img) {
		json_t *stored = NULL;
		const char *dd;
		if (cs_store_get_image(w->st, d, &stored) != 0)
			continue;
		dd = json_string_value(json_object_get(stored, "db_digest"));
		if (dd != NULL && strcmp(dd, cur) != 0)
			json_array_append_new(list, json_string(d));
		json_decref(stored);
	}
	if (json_array_size(list) == 0)
		goto out;
	r = run_rematch(w, list, &stats);
	report_run("results of scans that used another database", r, &stats);
out:
	json_decref(list);
	json_decref(stale);
}

/* At start: finish what a previous run left (see the top of the file). */
static void catch_up(struct watch *w)
{
	struct cs_service *s = w->s;
	struct cs_service_rematch_stats stats;
	json_t *digests = NULL;
	char done[80];
	const char *cur = s->rm.digest;
	int r;

	if (s->rm.db == NULL || cur[0] == '\0')
		return;
	state_read(w, done);
	if (done[0] == '\0') {
		state_write(w, cur);
		return;
	}
	if (strcmp(done, cur) == 0)
		return;
	if ((r = images_not_judged_against(w, cur, &digests)) != 0) {
		svc_log("re-match at start: listing the stored images failed: %s", cs_err_msg());
		return;
	}
	svc_log("vulnerability database %s is not the one the stored results were last brought to "
	       "(%s); re-matching the %zu image(s) judged against another database", cur, done,
	       json_array_size(digests));
	count_run(s, 1);
	r = run_rematch(w, digests, &stats);
	report_run("at start", r, &stats);
	if (r == 0 && stats.not_taken == 0 && stats.failed == 0)
		state_write(w, cur);
	json_decref(digests);
}

static void deadline_in_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *watch_main(void *arg)
{
	struct cs_service *s = arg;
	struct watch w;
	unsigned every = s->cfg->vulndb_check_ms ? s->cfg->vulndb_check_ms : DEFAULT_CHECK_MS;
	struct timespec ts;

	memset(&w, 0, sizeof(w));
	w.s = s;
	snprintf(w.state_path, sizeof(w.state_path), "%s/rematch.db", s->cfg->state_dir);
	/* the identity was taken at start, before the first open */
	w.seen = s->rm.seen;
	if (cs_store_open(&w.st, s->cfg->store_url) != 0 ||
	    cs_store_set_options(w.st, &s->sopt) != 0) {
		svc_log("re-match: store: %s; re-match after database updates is off", cs_err_msg());
		cs_store_close(w.st);
		return NULL;
	}
	catch_up(&w);
	for (;;) {
		int stop, pending;

		pthread_mutex_lock(&s->rm.mu);
		if (!s->rm.stop && json_object_size(s->rm.stale) == 0) {
			deadline_in_ms(&ts, every);
			pthread_cond_timedwait(&s->rm.cv, &s->rm.mu, &ts);
		}
		stop = s->rm.stop;
		pending = json_object_size(s->rm.stale) > 0;
		pthread_mutex_unlock(&s->rm.mu);
		if (stop)
			break;
		check_swap(&w);
		if (pending)
			judge_stale(&w);
	}
	cs_store_close(w.st);
	return NULL;
}

int svc_rematch_start(struct cs_service *s)
{
	struct svc_rematch *rm = &s->rm;
	char path[4096];
	int r;

	pthread_mutex_init(&rm->mu, NULL);
	pthread_cond_init(&rm->cv, NULL);
	rm->init = 1;
	rm->stale = json_object();
	if (rm->stale == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (s->cfg->vulndb != NULL) {
		rm->path = strdup(s->cfg->vulndb);
	} else if (cs_vulndb_default_path(path, sizeof(path), 0) == 0) {
		rm->path = strdup(path);
	} else {
		svc_log("no vulnerability database path: re-match after database updates is off");
		return 0;
	}
	if (rm->path == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (s->cfg->policy_file != NULL)
		r = cs_policy_load_file(&rm->policy, s->cfg->policy_file);
	else
		r = cs_policy_default(&rm->policy);
	if (r != 0)
		return cs_err_prefix(r, "policy");
	/* the file's identity before it is opened (see check_swap) */
	if (ident_of(&rm->seen, rm->path) != 0)
		memset(&rm->seen, 0, sizeof(rm->seen));
	if (cs_vulndb_open(&rm->db, rm->path, 1) != 0) {
		svc_log("vulnerability database %s: %s; every stored image is re-matched when one "
		       "appears", rm->path, cs_err_msg());
		rm->db = NULL;
	} else if (cs_vulndb_digest(rm->db) != NULL) {
		snprintf(rm->digest, sizeof(rm->digest), "%s", cs_vulndb_digest(rm->db));
	}
	if (pthread_create(&rm->th, NULL, watch_main, s) != 0)
		return cs_err_set(CS_EIO, "cannot start the database watcher thread");
	rm->started = 1;
	return 0;
}

void svc_rematch_stop(struct cs_service *s)
{
	struct svc_rematch *rm = &s->rm;

	if (!rm->init)
		return;
	pthread_mutex_lock(&rm->mu);
	rm->stop = 1;
	pthread_cond_broadcast(&rm->cv);
	pthread_mutex_unlock(&rm->mu);
	if (rm->started)
		pthread_join(rm->th, NULL);
	/* a scan thread still running past the grace period may call
	 * svc_rematch_note() later: it finds started == 0 under mu, which
	 * lives until svc_rematch_free() */
	pthread_mutex_lock(&rm->mu);
	rm->started = 0;
	json_decref(rm->stale);
	rm->stale = NULL;
	pthread_mutex_unlock(&rm->mu);
	cs_vulndb_close(rm->db);
	rm->db = NULL;
	cs_policy_free(rm->policy);
	rm->policy = NULL;
	free(rm->path);
	rm->path = NULL;
}

void svc_rematch_free(struct cs_service *s)
{
	if (!s->rm.init)
		return;
	svc_rematch_stop(s);
	pthread_cond_destroy(&s->rm.cv);
	pthread_mutex_destroy(&s->rm.mu);
	s->rm.init = 0;
}

void svc_rematch_note(struct cs_service *s, const char *digest, const char *db_digest)
{
	struct svc_rematch *rm = &s->rm;

	if (!rm->init || digest == NULL || db_digest == NULL)
		return;
	pthread_mutex_lock(&rm->mu);
	if (rm->started && rm->stale != NULL && rm->digest[0] != '\0' &&
	    strcmp(rm->digest, db_digest) != 0 && json_object_size(rm->stale) < SVC_RM_STALE_MAX &&
	    json_object_set_new(rm->stale, digest, json_true()) == 0)
		pthread_cond_broadcast(&rm->cv);
	pthread_mutex_unlock(&rm->mu);
}

void cs_service_rematch_counters(struct cs_service *s, struct cs_service_rematch_counters *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->m.mu);
	out->swaps = s->m.rm_swaps;
	out->runs_diff = s->m.rm_runs_diff;
	out->runs_full = s->m.rm_runs_full;
	out->images = s->m.rm_images;
	out->changed = s->m.rm_changed;
	out->failed = s->m.rm_failed;
	pthread_mutex_unlock(&s->m.mu);
	if (s->rm.init) {
		pthread_mutex_lock(&s->rm.mu);
		snprintf(out->db_digest, sizeof(out->db_digest), "%s", s->rm.digest);
		pthread_mutex_unlock(&s->rm.mu);
	}
}

int svc_metrics_rematch_text(const struct svc_metrics *snap, struct cs_buf *b)
{
	int r = 0;

	r |= cs_buf_printf(b, "# HELP cellscan_rematch_images_total Stored images judged again "
			   "after a vulnerability-database update, by result.\n"
			   "# TYPE cellscan_rematch_images_total counter\n"
			   "cellscan_rematch_images_total{result=\"unchanged\"} %llu\n"
			   "cellscan_rematch_images_total{result=\"changed\"} %llu\n"
			   "cellscan_rematch_images_total{result=\"failed\"} %llu\n",
			   snap->rm_images - snap->rm_changed - snap->rm_failed, snap->rm_changed,
			   snap->rm_failed);
	r |= cs_buf_printf(b, "# HELP cellscan_rematch_runs_total Re-matches, by how the images "
			   "were chosen (diff: the changed packages; full: every image).\n"
			   "# TYPE cellscan_rematch_runs_total counter\n"
			   "cellscan_rematch_runs_total{kind=\"diff\"} %llu\n"
			   "cellscan_rematch_runs_total{kind=\"full\"} %llu\n",
			   snap->rm_runs_diff, snap->rm_runs_full);
	r |= cs_buf_printf(b, "# HELP cellscan_vulndb_swaps_total New vulnerability databases "
			   "seen by the service.\n# TYPE cellscan_vulndb_swaps_total counter\n"
			   "cellscan_vulndb_swaps_total %llu\n", snap->rm_swaps);
	return r != 0 ? CS_ENOMEM : 0;
}
