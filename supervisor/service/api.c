/*
 * api.c - the endpoints (docs/api.yaml). Every request body is strict JSON
 * (duplicate keys and unknown members are 400s naming the member), every
 * query parameter is checked (unknown ones are 400s too), and nothing a
 * handler answers comes from the registry credentials: the service never
 * holds them in anything it serialises.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/service/internal.h"

#define MAX_EVENTS 1000        /* per webhook envelope */
#define MAX_REVIEW_IMAGES 100  /* containers per ImageReview */

long long svc_now(void)
{
	return (long long)time(NULL);
}

int svc_digest_ok(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- responses ------------------------------------------------------------ */

void svc_resp_clear(struct svc_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

void svc_resp_json(struct svc_resp *r, unsigned status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(o);
	svc_resp_clear(r);
	if (text == NULL) {
		static const char oom[] = "{\"error\":{\"status\":500,\"message\":\"out of memory\"}}";
		r->status = 500;
		r->body = strdup(oom);
		r->len = r->body ? strlen(r->body) : 0;
		r->ctype = "application/json";
		return;
	}
	r->status = status;
	r->len = strlen(text);
	r->body = text;
	r->ctype = "application/json";
}

void svc_resp_error(struct svc_resp *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* jansson refuses invalid UTF-8: keep what is printable ASCII */
	for (size_t i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			msg[i] = '?';
	svc_resp_json(r, status, json_pack("{s:{s:i, s:s}}", "error", "status", (int)status,
					   "message", msg));
}

static void resp_text(struct svc_resp *r, unsigned status, char *text, const char *ctype)
{
	svc_resp_clear(r);
	r->status = status;
	r->body = text;
	r->len = strlen(text);
	r->ctype = ctype;
}

/* A store error as an answer: not found 404, bad input 400, else 500 (the
 * detail goes to the log, not to the client). */
static void store_error(struct svc_resp *r, int code, const char *what)
{
	if (code == CS_ENOTFOUND) {
		svc_resp_error(r, 404, "%s not found", what);
		return;
	}
	if (code == CS_EINVAL || code == CS_ELIMIT) {
		svc_resp_error(r, 400, "%s", cs_err_msg());
		return;
	}
	fprintf(stderr, "cellscan serve: store: %s: %s\n", what, cs_err_msg());
	svc_resp_error(r, 500, "internal error (see the service log)");
}

/* ---- request helpers ------------------------------------------------------- */

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct qcheck {
	const char *const *allowed;
	char bad[80];
	unsigned seen;   /* bit per allowed name: repeated parameters are refused */
	int dup;
};

static MHD_RESULT on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qcheck *qc = cls;
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; qc->allowed[i] != NULL; i++) {
		if (strcmp(key, qc->allowed[i]) == 0) {
			if (qc->seen & (1u << i))
				qc->dup = 1;
			qc->seen |= 1u << i;
			return MHD_YES;
		}
	}
	snprintf(qc->bad, sizeof(qc->bad), "%s", key);
	return MHD_NO;
}

/* 0 when every query parameter is one of allowed (and given once). */
static int check_query(const struct svc_req *q, const char *const *allowed, struct svc_resp *r)
{
	struct qcheck qc;

	memset(&qc, 0, sizeof(qc));
	qc.allowed = allowed;
	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, on_arg, &qc);
	if (qc.bad[0] != '\0') {
		svc_resp_error(r, 400, "unknown query parameter \"%s\"", qc.bad);
		return -1;
	}
	if (qc.dup) {
		svc_resp_error(r, 400, "a query parameter is given twice");
		return -1;
	}
	return 0;
}

static const char *arg(const struct svc_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The body as one JSON object whose members are all in allowed (NULL:
 * anything). NULL with a 400 answered otherwise. */
static json_t *body_object(const struct svc_req *q, const char *const *allowed, struct svc_resp *r)
{
	json_error_t je;
	json_t *o;
	const char *k;
	json_t *v;

	if (q->len == 0) {
		svc_resp_error(r, 400, "a JSON body is required");
		return NULL;
	}
	o = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		svc_resp_error(r, 400, "malformed JSON at line %d column %d: %s", je.line, je.column,
			       je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		svc_resp_error(r, 400, "the body must be a JSON object");
		return NULL;
	}
	if (allowed == NULL)
		return o;
	json_object_foreach(o, k, v) {
		size_t i;
		int known = 0;
		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				known = 1;
		if (!known) {
			svc_resp_error(r, 400, "unknown member \"%.64s\"", k);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Characters allowed in image references and repository names we accept
 * (printable ASCII without spaces, quotes or backslashes). */
static int ref_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (; s[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= max || ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return 0;
	}
	return 1;
}

static int is_local_ref(const char *ref)
{
	return strncmp(ref, "oci:", 4) == 0 || strncmp(ref, "oci-archive:", 12) == 0 ||
	       strncmp(ref, "docker-archive:", 15) == 0 || strncmp(ref, "dir:", 4) == 0;
}

/* "host[:port]" of a registry reference, docker's rule (registry.md). */
static void host_of(const char *ref, char *out, size_t n)
{
	const char *p = strncmp(ref, "docker://", 9) == 0 ? ref + 9 : ref;
	size_t l = strcspn(p, "/");

	if (p[l] == '/' && (memchr(p, '.', l) || memchr(p, ':', l) ||
			    (l == 9 && strncmp(p, "localhost", 9) == 0)))
		snprintf(out, n, "%.*s", (int)l, p);
	else
		snprintf(out, n, "docker.io");
}

char *svc_repository_of(const char *ref)
{
	const char *p = strncmp(ref, "docker://", 9) == 0 ? ref + 9 : ref;
	size_t n = strcspn(p, "@");
	const char *slash, *colon;
	char *r = strndup(p, n);

	if (r == NULL)
		return NULL;
	slash = strrchr(r, '/');
	colon = strrchr(r, ':');
	/* as `cellscan scan` names it (an oci: path keeps its colon) */
	if (colon != NULL && (slash == NULL || colon > slash) && strncmp(r, "oci:", 4) != 0)
		r[colon - r] = '\0';
	return r;
}

/* Which configured registry host a name (a notification's request.host, an
 * image's host) stands for; with no registries configured, any. */
static const char *registry_for(const struct cs_service *s, const char *name)
{
	size_t i, k;

	if (s->cfg->nregistries == 0)
		return name;
	for (i = 0; i < s->cfg->nregistries; i++) {
		const struct cs_service_registry *g = &s->cfg->registries[i];
		if (strcmp(g->host, name) == 0)
			return g->host;
		for (k = 0; k < g->naliases; k++)
			if (strcmp(g->aliases[k], name) == 0)
				return g->host;
	}
	return NULL;
}

/* May the service fetch ref on a client's request? Local sources only in
 * test setups; registries only those configured (when any are). */
static int may_scan(const struct cs_service *s, const char *ref, char *why, size_t n)
{
	char host[300];

	if (is_local_ref(ref)) {
		if (s->cfg->allow_local_sources)
			return 1;
		snprintf(why, n, "local image sources are not accepted by the service");
		return 0;
	}
	host_of(ref, host, sizeof(host));
	if (registry_for(s, host) == NULL) {
		snprintf(why, n, "registry %s is not one of the configured registries", host);
		return 0;
	}
	return 1;
}

int svc_enqueue(struct cs_service *s, struct cs_store *st, const char *ref, const char *digest,
		const char *reason, long long *job, int *created)
{
	int r = cs_store_job_enqueue(st, ref, digest, reason, svc_now(), job, created);

	if (r == 0 && *created)
		svc_wake_workers(s);
	return r;
}

/* ---- the registry webhook ---------------------------------------------------- */

static int bearer_ok(const char *authz, const char *secret)
{
	size_t n, m = strlen(secret);

	if (authz == NULL || strncmp(authz, "Bearer ", 7) != 0)
		return 0;
	authz += 7;
	n = strlen(authz);
	/* constant time in the secret's content; its length is not secret */
	return n == m && CRYPTO_memcmp(authz, secret, m) == 0;
}

static int manifest_type(const char *mt)
{
	static const char *const types[] = {
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", NULL };
	size_t i;

	for (i = 0; mt != NULL && types[i] != NULL; i++)
		if (strcmp(mt, types[i]) == 0)
			return 1;
	return 0;
}

static int repo_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 255)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '/'))
			return 0;
	}
	return 1;
}

static int tag_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 128)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static void h_webhook(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const keys[] = { "events", NULL };
	json_t *env = NULL, *ev, *jobs = NULL;
	struct cs_store *st = NULL;
	unsigned counts[SVC_WH_N] = { 0 };
	size_t i;

	if (s->cfg->webhook_secret == NULL) {
		svc_resp_error(r, 503, "the registry webhook is not configured (webhook_secret_file)");
		return;
	}
	if (!bearer_ok(q->authorization, s->cfg->webhook_secret)) {
		svc_resp_error(r, 401, "missing or wrong bearer secret");
		return;
	}
	if ((env = body_object(q, keys, r)) == NULL)
		return;
	ev = json_object_get(env, "events");
	if (!json_is_array(ev) || json_array_size(ev) > MAX_EVENTS) {
		svc_resp_error(r, 400, "\"events\" must be an array of at most %d events", MAX_EVENTS);
		goto out;
	}
	jobs = json_array();
	st = svc_pool_get(&s->pool);
	if (jobs == NULL || st == NULL) {
		svc_resp_error(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(ev); i++) {
		const json_t *e = json_array_get(ev, i), *t = json_object_get(e, "target");
		const char *action = json_string_value(json_object_get(e, "action"));
		const char *mt = json_string_value(json_object_get(t, "mediaType"));
		const char *dg = json_string_value(json_object_get(t, "digest"));
		const char *repo = json_string_value(json_object_get(t, "repository"));
		const char *tag = json_string_value(json_object_get(t, "tag"));
		const char *rhost = json_string_value(json_object_get(json_object_get(e, "request"),
								      "host"));
		const char *host;
		char ref[1024];
		json_t *img = NULL;
		long long id = 0;
		int created = 0, rc;

		/* only pushes of manifests and indexes are scans; blobs, pulls,
		 * mounts and deletes are acknowledged and left alone */
		if (action == NULL || strcmp(action, "push") != 0 || !manifest_type(mt) ||
		    !svc_digest_ok(dg) || !repo_name_ok(repo) || rhost == NULL ||
		    !ref_ok(rhost, 255) || (tag != NULL && !tag_ok(tag)) ||
		    (host = registry_for(s, rhost)) == NULL) {
			counts[SVC_WH_IGNORED]++;
			continue;
		}
		if (tag != NULL)
			snprintf(ref, sizeof(ref), "%s/%s:%s@%s", host, repo, tag, dg);
		else
			snprintf(ref, sizeof(ref), "%s/%s@%s", host, repo, dg);
		if (cs_store_get_image(st, dg, &img) == 0 &&
		    json_is_string(json_object_get(img, "verdict"))) {
			json_decref(img);
			counts[SVC_WH_KNOWN]++;
			continue;
		}
		json_decref(img);
		if ((rc = svc_enqueue(s, st, ref, dg, "push", &id, &created)) != 0) {
			store_error(r, rc, "job");
			goto out;
		}
		counts[created ? SVC_WH_QUEUED : SVC_WH_DEDUPED]++;
		json_array_append_new(jobs, json_integer(id));
	}
	for (i = 0; i < SVC_WH_N; i++)
		svc_metrics_webhook(&s->m, (enum svc_webhook)i, counts[i]);
	svc_resp_json(r, 202, json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}",
					"events", (json_int_t)json_array_size(ev),
					"queued", (json_int_t)counts[SVC_WH_QUEUED],
					"deduplicated", (json_int_t)counts[SVC_WH_DEDUPED],
					"known", (json_int_t)counts[SVC_WH_KNOWN],
					"ignored", (json_int_t)counts[SVC_WH_IGNORED], "jobs", jobs));
out:
	svc_pool_put(&s->pool, st);
	json_decref(jobs);
	json_decref(env);
}

/* ---- scans --------------------------------------------------------------------- */

static json_t *job_json(struct cs_store *st, const struct cs_store_job *j)
{
	json_t *o = json_pack("{s:I, s:s, s:s?, s:s, s:s, s:i, s:s?, s:I, s:I}",
			      "id", (json_int_t)j->id, "image", j->ref, "digest", j->digest,
			      "reason", j->reason ? j->reason : "",
			      "state", cs_store_job_state_name(j->state), "attempts", j->attempts,
			      "error", j->error, "created", (json_int_t)j->created,
			      "updated", (json_int_t)j->updated);
	json_t *img = NULL;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "finished", j->finished ? json_integer(j->finished) : json_null());
	if (j->next_attempt && j->state == CS_STORE_JOB_FAILED)
		json_object_set_new(o, "next_attempt", json_integer(j->next_attempt));
	if (j->digest != NULL && cs_store_get_image(st, j->digest, &img) == 0) {
		json_object_set(o, "verdict", json_object_get(img, "verdict"));
		if (json_is_string(json_object_get(img, "verdict"))) {
			char url[128];
			snprintf(url, sizeof(url), "/v1/images/%s/report", j->digest);
			json_object_set_new(o, "report", json_string(url));
		}
		json_decref(img);
	}
	return o;
}

static void h_scan_post(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const keys[] = { "image", NULL };
	json_t *o;
	struct cs_store *st = NULL;
	const char *image, *at;
	const char *digest = NULL;
	char why[400];
	long long id = 0;
	int created = 0, rc;

	if ((o = body_object(q, keys, r)) == NULL)
		return;
	image = json_string_value(json_object_get(o, "image"));
	if (!ref_ok(image, 1024)) {
		svc_resp_error(r, 400, "\"image\" must be an image reference (printable, at most "
			       "1024 characters)");
		goto out;
	}
	if (!may_scan(s, image, why, sizeof(why))) {
		svc_resp_error(r, 403, "%s", why);
		goto out;
	}
	at = strrchr(image, '@');
	if (at != NULL && !is_local_ref(image)) {
		if (!svc_digest_ok(at + 1)) {
			svc_resp_error(r, 400, "\"image\": only sha256 digests are accepted");
			goto out;
		}
		digest = at + 1;
	}
	st = svc_pool_get(&s->pool);
	if ((rc = svc_enqueue(s, st, image, digest, "api", &id, &created)) != 0) {
		store_error(r, rc, "job");
		goto out;
	}
	snprintf(r->location, sizeof(r->location), "/v1/scans/%lld", id);
	svc_resp_json(r, 202, json_pack("{s:I, s:s, s:b, s:s}", "id", (json_int_t)id,
					"image", image, "created", created, "status",
					r->location));
out:
	svc_pool_put(&s->pool, st);
	json_decref(o);
}

static int parse_id(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 18)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static void h_scan_get(struct cs_service *s, const char *ids, struct svc_resp *r)
{
	struct cs_store_job j;
	struct cs_store *st;
	long long id;
	int rc;

	if (parse_id(ids, &id) != 0) {
		svc_resp_error(r, 400, "scan ids are positive integers");
		return;
	}
	memset(&j, 0, sizeof(j));
	st = svc_pool_get(&s->pool);
	if ((rc = cs_store_job_get(st, id, &j)) != 0)
		store_error(r, rc, "scan");
	else
		svc_resp_json(r, 200, job_json(st, &j));
	svc_pool_put(&s->pool, st);
	cs_store_job_clear(&j);
}

/* ---- images and findings ------------------------------------------------------ */

static void h_images(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const params[] = { "verdict", "repository", "limit", "cursor", NULL };
	struct cs_store_image_filter f;
	struct cs_store *st;
	const char *lim;
	json_t *out = NULL;
	int rc;

	if (check_query(q, params, r) != 0)
		return;
	memset(&f, 0, sizeof(f));
	f.verdict = arg(q, "verdict");
	f.repository = arg(q, "repository");
	f.cursor = arg(q, "cursor");
	lim = arg(q, "limit");
	if (f.verdict != NULL && strcmp(f.verdict, "healthy") != 0 &&
	    strcmp(f.verdict, "unhealthy") != 0 && strcmp(f.verdict, "error") != 0) {
		svc_resp_error(r, 400, "verdict must be healthy, unhealthy or error");
		return;
	}
	if (f.repository != NULL && !ref_ok(f.repository, 1024)) {
		svc_resp_error(r, 400, "bad repository");
		return;
	}
	if (f.cursor != NULL && !ref_ok(f.cursor, 1024)) {
		svc_resp_error(r, 400, "bad cursor");
		return;
	}
	if (lim != NULL) {
		long long v;
		if (parse_id(lim, &v) != 0 || v > 1000) {
			svc_resp_error(r, 400, "limit must be 1 to 1000");
			return;
		}
		f.limit = (unsigned)v;
	}
	st = svc_pool_get(&s->pool);
	if ((rc = cs_store_list_images(st, &f, &out)) != 0)
		store_error(r, rc, "images");
	else
		svc_resp_json(r, 200, out);
	svc_pool_put(&s->pool, st);
}

static void h_report(struct cs_service *s, const struct svc_req *q, const char *digest,
		     struct svc_resp *r)
{
	static const char *const none[] = { NULL };
	struct cs_store *st;
	char *text = NULL;
	int rc;

	if (check_query(q, none, r) != 0)
		return;
	st = svc_pool_get(&s->pool);
	rc = cs_store_get_report(st, digest, &text);
	svc_pool_put(&s->pool, st);
	if (rc != 0) {
		store_error(r, rc, "report");
		return;
	}
	resp_text(r, 200, text, "application/json");
}

static void h_findings_of(struct cs_service *s, const struct svc_req *q, const char *digest,
			  struct svc_resp *r)
{
	static const char *const params[] = { "severity", "fixable", NULL };
	struct cs_store_finding_filter f;
	struct cs_store *st;
	const char *sev = arg(q, "severity"), *fix = arg(q, "fixable");
	json_t *out = NULL;
	int rc;

	if (check_query(q, params, r) != 0)
		return;
	memset(&f, 0, sizeof(f));
	f.fixable = -1;
	if (sev != NULL && (cs_store_severity_mask(sev, &f.severities) != 0 || f.severities == 0)) {
		svc_resp_error(r, 400, "severity: a comma-separated list of critical, high, medium, "
			       "low, unknown");
		return;
	}
	if (fix != NULL) {
		if (strcmp(fix, "true") == 0)
			f.fixable = 1;
		else if (strcmp(fix, "false") == 0)
			f.fixable = 0;
		else {
			svc_resp_error(r, 400, "fixable must be true or false");
			return;
		}
	}
	st = svc_pool_get(&s->pool);
	if ((rc = cs_store_image_findings(st, digest, &f, &out)) != 0)
		store_error(r, rc, "image");
	else
		svc_resp_json(r, 200, out);
	svc_pool_put(&s->pool, st);
}

static void h_findings(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const params[] = { "id", NULL };
	const char *id = arg(q, "id");
	struct cs_store *st;
	json_t *out = NULL;
	int rc;

	if (check_query(q, params, r) != 0)
		return;
	if (id == NULL || !ref_ok(id, 256)) {
		svc_resp_error(r, 400, "id (a vulnerability id, e.g. CVE-2024-1234) is required");
		return;
	}
	st = svc_pool_get(&s->pool);
	if ((rc = cs_store_find_images_by_vuln(st, id, &out)) != 0)
		store_error(r, rc, "vulnerability");
	else
		svc_resp_json(r, 200, out);
	svc_pool_put(&s->pool, st);
}

/* ---- ImageReview ------------------------------------------------------------------ */

struct review_item {
	const char *image;
	char *verdict;           /* NULL: unknown */
	json_t *counts;
	long long job;           /* on-demand scan, 0 none */
	char why[200];           /* why it was not scanned */
};

/* The stored image for a reference: by digest, or by a tag the image was
 * scanned under (the latest such scan). */
static json_t *lookup_image(struct cs_store *st, const char *ref)
{
	const char *at = strrchr(ref, '@');
	struct cs_store_image_filter f;
	json_t *list = NULL, *best = NULL, *img, *v;
	char *repo, alt[1100];
	size_t i, k;

	if (at != NULL) {
		if (!svc_digest_ok(at + 1) || cs_store_get_image(st, at + 1, &img) != 0)
			return NULL;
		return img;
	}
	repo = svc_repository_of(ref);
	if (repo == NULL)
		return NULL;
	/* "host/repo" without a tag means ":latest" */
	snprintf(alt, sizeof(alt), "%s%s", ref, strlen(repo) == strlen(ref) ? ":latest" : "");
	memset(&f, 0, sizeof(f));
	f.repository = repo;
	f.limit = 1000;
	if (cs_store_list_images(st, &f, &list) == 0) {
		json_array_foreach(json_object_get(list, "images"), i, img) {
			json_array_foreach(json_object_get(img, "refs"), k, v) {
				const char *rs = json_string_value(v);
				if (rs == NULL)
					continue;
				/* a ref "host/repo:tag@sha256:..." also names the tag */
				size_t n = strcspn(rs, "@");
				if ((strlen(alt) == n && strncmp(rs, alt, n) == 0) ||
				    strcmp(rs, ref) == 0) {
					if (best == NULL ||
					    json_integer_value(json_object_get(img, "last_scanned")) >
					    json_integer_value(json_object_get(best, "last_scanned")))
						best = img;
					break;
				}
			}
		}
	}
	if (best != NULL)
		json_incref(best);
	json_decref(list);
	free(repo);
	return best;
}

static void set_verdict(struct review_item *it, json_t *img)
{
	const char *v = json_string_value(json_object_get(img, "verdict"));

	if (v != NULL) {
		it->verdict = strdup(v);
		json_decref(it->counts);
		it->counts = json_incref(json_object_get(img, "counts"));
	}
}

static void h_review(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
	static const char *const spec_keys[] = { "containers", "annotations", "namespace", NULL };
	struct review_item items[MAX_REVIEW_IMAGES];
	struct cs_store *st = NULL;
	json_t *o, *spec, *cs, *audit = NULL, *status;
	struct cs_buf reason;
	size_t n = 0, i, pending = 0;
	int allowed = 1;
	struct timespec t0, now;
	double budget = (double)s->cfg->review_deadline_ms / 1000.0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(items, 0, sizeof(items));
	cs_buf_init(&reason, 16384);
	if ((o = body_object(q, keys, r)) == NULL)
		return;
	if (!json_is_string(json_object_get(o, "apiVersion")) ||
	    strcmp(json_string_value(json_object_get(o, "apiVersion")),
		   "imagepolicy.k8s.io/v1alpha1") != 0 ||
	    !json_is_string(json_object_get(o, "kind")) ||
	    strcmp(json_string_value(json_object_get(o, "kind")), "ImageReview") != 0) {
		svc_resp_error(r, 400, "expected apiVersion imagepolicy.k8s.io/v1alpha1, kind ImageReview");
		goto out;
	}
	spec = json_object_get(o, "spec");
	if (!json_is_object(spec)) {
		svc_resp_error(r, 400, "spec: must be an object");
		goto out;
	}
	{
		const char *k;
		json_t *v;
		json_object_foreach(spec, k, v) {
			size_t x;
			int known = 0;
			(void)v;
			for (x = 0; spec_keys[x] != NULL; x++)
				known |= strcmp(k, spec_keys[x]) == 0;
			if (!known) {
				svc_resp_error(r, 400, "spec: unknown member \"%.64s\"", k);
				goto out;
			}
		}
	}
	cs = json_object_get(spec, "containers");
	if (cs != NULL && (!json_is_array(cs) || json_array_size(cs) > MAX_REVIEW_IMAGES)) {
		svc_resp_error(r, 400, "spec.containers: an array of at most %d containers",
			       MAX_REVIEW_IMAGES);
		goto out;
	}
	for (i = 0; cs != NULL && i < json_array_size(cs); i++) {
		const json_t *c = json_array_get(cs, i);
		const char *img = json_string_value(json_object_get(c, "image"));
		if (!json_is_object(c) || json_object_size(c) != 1 || !ref_ok(img, 1024)) {
			svc_resp_error(r, 400, "spec.containers[%zu]: an object with one member, "
				       "\"image\" (a printable reference)", i);
			goto out;
		}
		items[n++].image = img;
	}
	st = svc_pool_get(&s->pool);
	for (i = 0; i < n; i++) {
		json_t *img = lookup_image(st, items[i].image);
		int created;
		if (img != NULL) {
			set_verdict(&items[i], img);
			json_decref(img);
		}
		if (items[i].verdict != NULL)
			continue;
		if (budget <= 0.0 || !may_scan(s, items[i].image, items[i].why, sizeof(items[i].why)) ||
		    is_local_ref(items[i].image))
			continue;
		{
			const char *at = strrchr(items[i].image, '@');
			if (svc_enqueue(s, st, items[i].image, at && svc_digest_ok(at + 1) ? at + 1 : NULL,
					"imagereview", &items[i].job, &created) == 0)
				pending++;
			else
				snprintf(items[i].why, sizeof(items[i].why), "could not queue a scan");
		}
	}
	/* wait for the on-demand scans, bounded by the deadline */
	while (pending > 0) {
		struct timespec ts;
		double left;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = budget - ((double)(now.tv_sec - t0.tv_sec) +
				 (double)(now.tv_nsec - t0.tv_nsec) / 1e9);
		if (left <= 0)
			break;
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)((left < 0.2 ? left : 0.2) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->done_cv, &s->mu, &ts);
		pthread_mutex_unlock(&s->mu);
		for (i = 0; i < n; i++) {
			struct cs_store_job j;
			if (items[i].job == 0)
				continue;
			memset(&j, 0, sizeof(j));
			if (cs_store_job_get(st, items[i].job, &j) == 0 &&
			    (j.state == CS_STORE_JOB_DONE || j.state == CS_STORE_JOB_DEAD)) {
				json_t *img = NULL;
				if (j.digest != NULL && cs_store_get_image(st, j.digest, &img) == 0)
					set_verdict(&items[i], img);
				json_decref(img);
				if (items[i].verdict == NULL)
					snprintf(items[i].why, sizeof(items[i].why), "its scan failed");
				items[i].job = 0;
				pending--;
			}
			cs_store_job_clear(&j);
		}
	}
	audit = json_object();
	for (i = 0; i < n; i++) {
		const char *v = items[i].verdict;
		int ok;
		char key[64], why[600];

		why[0] = '\0';
		if (v == NULL) {
			ok = s->cfg->review_default_allow;
			snprintf(why, sizeof(why), "image %s has no scan result (%s)", items[i].image,
				 items[i].why[0] ? items[i].why :
				 "not scanned within the deadline");
			v = "unknown";
		} else if (strcmp(v, "healthy") == 0) {
			ok = 1;
		} else if (strcmp(v, "unhealthy") == 0) {
			const json_t *c = items[i].counts;
			ok = 0;
			snprintf(why, sizeof(why), "image %s is unhealthy (%lld critical, %lld high, "
				 "%lld medium, %lld low)", items[i].image,
				 (long long)json_integer_value(json_object_get(c, "critical")),
				 (long long)json_integer_value(json_object_get(c, "high")),
				 (long long)json_integer_value(json_object_get(c, "medium")),
				 (long long)json_integer_value(json_object_get(c, "low")));
		} else {
			ok = s->cfg->review_allow_error;
			snprintf(why, sizeof(why), "image %s could not be scanned completely (verdict %s)",
				 items[i].image, v);
		}
		snprintf(key, sizeof(key), "image-%zu-verdict", i);
		json_object_set_new(audit, key, json_string(v));
		if (!ok) {
			allowed = 0;
			if (reason.len > 0)
				cs_buf_addstr(&reason, "; ");
			cs_buf_addstr(&reason, why);
		}
	}
	svc_metrics_review(&s->m, allowed);
	cs_buf_cstr(&reason);
	status = json_pack("{s:b}", "allowed", allowed);
	if (!allowed)
		json_object_set_new(status, "reason", json_string(reason.data ? (char *)reason.data :
								  "denied"));
	if (json_object_size(audit) > 0)
		json_object_set(status, "auditAnnotations", audit);
	svc_resp_json(r, 200, json_pack("{s:s, s:s, s:o}", "apiVersion",
					"imagepolicy.k8s.io/v1alpha1", "kind", "ImageReview",
					"status", status));
out:
	for (i = 0; i < n; i++) {
		free(items[i].verdict);
		json_decref(items[i].counts);
	}
	svc_pool_put(&s->pool, st);
	cs_buf_free(&reason);
	json_decref(audit);
	json_decref(o);
}

/* ---- health and metrics --------------------------------------------------------------- */

static void h_health(struct cs_service *s, struct svc_resp *r)
{
	struct cs_store *st = svc_pool_get(&s->pool);
	int version = 0, rc, stopping;

	rc = cs_store_schema_version(st, &version);
	pthread_mutex_lock(&s->mu);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->mu);
	svc_resp_json(r, rc == 0 && !stopping ? 200 : 503,
		      json_pack("{s:s, s:s, s:i, s:i, s:b}", "status",
				rc != 0 ? "store unavailable" : stopping ? "stopping" : "ok",
				"store", cs_store_backend(st), "schema", version,
				"workers", (int)s->nworkers, "stopping", stopping));
	svc_pool_put(&s->pool, st);
}

static void h_metrics(struct cs_service *s, struct svc_resp *r)
{
	char *text = NULL;

	if (cs_service_metrics_text(s, &text) != 0) {
		svc_resp_error(r, 500, "metrics unavailable");
		return;
	}
	resp_text(r, 200, text, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- routing ---------------------------------------------------------------------------- */

static int method_is(const struct svc_req *q, const char *m, const char *allow, struct svc_resp *r)
{
	if (strcmp(q->method, m) == 0)
		return 1;
	r->allow = allow;
	svc_resp_error(r, 405, "method %.16s not allowed here (allowed: %s)", q->method, allow);
	return 0;
}

void svc_route(struct cs_service *s, const struct svc_req *q, struct svc_resp *r)
{
	static const char *const none[] = { NULL };
	const char *p = q->path;

	if (strcmp(p, "/healthz") == 0) {
		if (method_is(q, "GET", "GET", r) && check_query(q, none, r) == 0)
			h_health(s, r);
		return;
	}
	if (strcmp(p, "/metrics") == 0) {
		if (method_is(q, "GET", "GET", r) && check_query(q, none, r) == 0)
			h_metrics(s, r);
		return;
	}
	if (strcmp(p, "/v1/webhooks/registry") == 0) {
		if (method_is(q, "POST", "POST", r))
			h_webhook(s, q, r);
		return;
	}
	if (strcmp(p, "/v1/scans") == 0) {
		if (method_is(q, "POST", "POST", r) && check_query(q, none, r) == 0)
			h_scan_post(s, q, r);
		return;
	}
	if (strncmp(p, "/v1/scans/", 10) == 0 && strchr(p + 10, '/') == NULL) {
		if (method_is(q, "GET", "GET", r) && check_query(q, none, r) == 0)
			h_scan_get(s, p + 10, r);
		return;
	}
	if (strcmp(p, "/v1/images") == 0) {
		if (method_is(q, "GET", "GET", r))
			h_images(s, q, r);
		return;
	}
	if (strncmp(p, "/v1/images/", 11) == 0) {
		const char *d = p + 11, *slash = strchr(d, '/');
		char digest[80];
		if (slash != NULL && (strcmp(slash, "/report") == 0 || strcmp(slash, "/findings") == 0)) {
			if ((size_t)(slash - d) >= sizeof(digest)) {
				svc_resp_error(r, 400, "not an image digest (sha256:<64 hex>)");
				return;
			}
			snprintf(digest, sizeof(digest), "%.*s", (int)(slash - d), d);
			if (!method_is(q, "GET", "GET", r))
				return;
			if (!svc_digest_ok(digest)) {
				svc_resp_error(r, 400, "not an image digest (sha256:<64 hex>)");
				return;
			}
			if (strcmp(slash, "/report") == 0)
				h_report(s, q, digest, r);
			else
				h_findings_of(s, q, digest, r);
			return;
		}
	}
	if (strcmp(p, "/v1/findings") == 0) {
		if (method_is(q, "GET", "GET", r))
			h_findings(s, q, r);
		return;
	}
	if (strcmp(p, "/v1/imagereview") == 0) {
		if (method_is(q, "POST", "POST", r) && check_query(q, none, r) == 0)
			h_review(s, q, r);
		return;
	}
	svc_resp_error(r, 404, "no such endpoint (see docs/api.yaml)");
}
