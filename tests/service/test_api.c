/*
 * test_api.c - every endpoint and filter of `cellscan serve` over loopback
 * HTTP, with the fake scanner (fake_scanner.h) in place of the sandboxed
 * pipeline: the webhook (auth, fixtures from ../shared, events that are
 * ignored), scans, images, reports, findings filters, findings by id,
 * ImageReview allowed / denied / on-demand / deadline, alerts delivered and
 * signed (and none for healthy images), metrics, hostile requests (bad JSON,
 * unknown members, wrong secret, oversized body, slow clients), a burst of
 * 200 events for 50 digests, and every path and method of docs/api.yaml.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "supervisor/service/service.h"
#include "tests/harness.h"
#include "tests/service/fake_scanner.h"
#include "tests/service/http_client.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

#define SECRET "s3cret-webhook-token"
#define ALERT_KEY "alert-hmac-key"

static unsigned port;

/* ---- a receiver for the alerts -------------------------------------------------- */

#define MAX_ALERTS 64
static pthread_mutex_t alert_mu = PTHREAD_MUTEX_INITIALIZER;
static char *alert_body[MAX_ALERTS];
static char alert_sig[MAX_ALERTS][80];
static int nalerts;

struct rx { struct cs_buf b; };

static MHD_RESULT rx_handler(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **cc)
{
	struct rx *x = *cc;
	struct MHD_Response *resp;
	MHD_RESULT r;

	(void)cls; (void)url; (void)method; (void)version;
	if (x == NULL) {
		x = calloc(1, sizeof(*x));
		cs_buf_init(&x->b, 1u << 20);
		*cc = x;
		return MHD_YES;
	}
	if (*size != 0) {
		cs_buf_add(&x->b, data, *size);
		*size = 0;
		return MHD_YES;
	}
	cs_buf_cstr(&x->b);
	pthread_mutex_lock(&alert_mu);
	if (nalerts < MAX_ALERTS) {
		const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Cellscan-Signature");
		alert_body[nalerts] = strdup(x->b.data ? (char *)x->b.data : "");
		snprintf(alert_sig[nalerts], sizeof(alert_sig[0]), "%s", sig ? sig : "");
		nalerts++;
	}
	pthread_mutex_unlock(&alert_mu);
	resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	r = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **cc, enum MHD_RequestTerminationCode t)
{
	struct rx *x = *cc;

	(void)cls; (void)c; (void)t;
	if (x != NULL) {
		cs_buf_free(&x->b);
		free(x);
	}
	*cc = NULL;
}

/* ---- helpers ---------------------------------------------------------------------- */

static void digest_into(char o[72], char first, int n)
{
	int i;

	memcpy(o, "sha256:", 7);
	for (i = 0; i < 64; i++)
		o[7 + i] = "0123456789abcdef"[(n >> ((i % 8) * 4)) & 15];
	o[7] = first;
	o[71] = '\0';
}

/* A digest for tests on the main thread (a ring of 8 buffers). */
static const char *dg(char first, int n)
{
	static char buf[8][72];
	static int k;
	char *o = buf[k++ % 8];

	digest_into(o, first, n);
	return o;
}

static char *envelope(const char *const *digests, size_t n, const char *repo, const char *action,
		      const char *mt)
{
	json_t *evs = json_array(), *env;
	char *t;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(evs, json_pack(
			"{s:s, s:s, s:{s:s, s:s, s:i, s:s, s:s}, s:{s:s, s:s}}",
			"id", "ev", "action", action, "target", "mediaType", mt, "digest", digests[i],
			"size", 100, "repository", repo, "tag", "v1",
			"request", "host", "fake.test", "method", "PUT"));
	env = json_pack("{s:o}", "events", evs);
	t = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return t;
}

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

static json_t *get(const char *path, long *st)
{
	return http_json(port, "GET", path, NULL, NULL, st);
}

/* Polls GET /v1/scans/ID until done/dead (bounded); returns the state. */
static char *wait_job(long long id, int seconds)
{
	char path[64], *state = NULL;
	int i;

	snprintf(path, sizeof(path), "/v1/scans/%lld", id);
	for (i = 0; i < seconds * 20; i++) {
		long st;
		json_t *o = get(path, &st);
		const char *s = json_string_value(json_object_get(o, "state"));
		if (s != NULL && (strcmp(s, "done") == 0 || strcmp(s, "dead") == 0)) {
			state = strdup(s);
			json_decref(o);
			break;
		}
		json_decref(o);
		fake_sleep_ms(50);
	}
	return state;
}

/* Waits until nothing is queued or running (bounded). */
static int wait_idle(int seconds)
{
	int i;

	for (i = 0; i < seconds * 20; i++) {
		struct http_answer a;
		int idle = 0;
		if (http_do(&a, port, "GET", "/metrics", NULL, NULL) == 0)
			idle = strstr(a.body, "cellscan_jobs{state=\"queued\"} 0\n") != NULL &&
			       strstr(a.body, "cellscan_jobs{state=\"running\"} 0\n") != NULL;
		http_free(&a);
		if (idle)
			return 1;
		fake_sleep_ms(50);
	}
	return 0;
}

static unsigned long long metric(const char *line_prefix)
{
	struct http_answer a;
	unsigned long long v = 0;
	char *p;

	if (http_do(&a, port, "GET", "/metrics", NULL, NULL) == 0 &&
	    (p = strstr(a.body, line_prefix)) != NULL)
		v = strtoull(p + strlen(line_prefix), NULL, 10);
	http_free(&a);
	return v;
}

static unsigned count_lines(const char *path, const char *needle)
{
	size_t len = 0;
	char *t = (char *)cs_test_read_file(path, &len), *p;
	unsigned n = 0;

	if (t == NULL)
		return 0;
	for (p = t; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(t);
	return n;
}

/* ---- the tests ---------------------------------------------------------------------- */

static void test_health_and_routing(void)
{
	struct http_answer a;
	long st;
	json_t *o = get("/healthz", &st);

	CHECK(st == 200);
	CHECK_STR(json_string_value(json_object_get(o, "status")), "ok");
	json_decref(o);
	o = get("/nope", &st);
	CHECK(st == 404);
	json_decref(o);
	o = http_json(port, "DELETE", "/v1/images", NULL, NULL, &st);
	CHECK(st == 405);
	json_decref(o);
	o = http_json(port, "GET", "/v1/scans", NULL, NULL, &st);
	CHECK(st == 405);
	json_decref(o);
	CHECK(http_do(&a, port, "GET", "/healthz?x=1", NULL, NULL) == 0 && a.status == 400);
	http_free(&a);
}

static void test_webhook_auth_and_bad_bodies(const char *shared)
{
	const char *d[1] = { dg('a', 1) };
	char *env = envelope(d, 1, "app", "push", OCI_MANIFEST), *big;
	struct http_answer a;
	long st;
	json_t *o;

	o = http_json(port, "POST", "/v1/webhooks/registry", env, NULL, &st);
	CHECK(st == 401);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", env, "Bearer wrong", &st);
	CHECK(st == 401);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", env, "Basic " SECRET, &st);
	CHECK(st == 401);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", "{\"events\": [", "Bearer " SECRET, &st);
	CHECK(st == 400);
	CHECK(strstr(json_string_value(json_object_get(json_object_get(o, "error"), "message")),
		      "malformed JSON") != NULL);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", "{\"events\": [], \"extra\": 1}",
		      "Bearer " SECRET, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", "[1,2]", "Bearer " SECRET, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/webhooks/registry", "{\"events\": {}}", "Bearer " SECRET, &st);
	CHECK(st == 400);
	json_decref(o);
	/* a body over the 64 KiB limit: 413, and the service keeps serving */
	big = malloc(200000);
	memset(big, ' ', 199999);
	big[0] = '{';
	big[199998] = '}';
	big[199999] = '\0';
	CHECK(http_do(&a, port, "POST", "/v1/webhooks/registry", big, "Bearer " SECRET) == 0);
	CHECK(a.status == 413);
	http_free(&a);
	free(big);
	o = get("/healthz", &st);
	CHECK(st == 200);
	json_decref(o);
	free(env);

	/* the shared fixtures: a pull and a blob push are ignored, the manifest
	 * push is queued; the docs' push example has 65-hex digests: ignored */
	{
		char path[1024];
		uint8_t *t;
		size_t len;
		snprintf(path, sizeof(path), "%s/fixtures/schemas/examples/distribution-notifications/"
			 "docs-pull-envelope.json", shared);
		t = cs_test_read_file(path, &len);
		CHECK(t != NULL);
		o = http_json(port, "POST", "/v1/webhooks/registry", (char *)t, "Bearer " SECRET, &st);
		CHECK(st == 202);
		CHECK(json_integer_value(json_object_get(o, "ignored")) == 1);
		CHECK(json_integer_value(json_object_get(o, "queued")) == 0);
		json_decref(o);
		free(t);
		snprintf(path, sizeof(path), "%s/fixtures/schemas/examples/distribution-notifications/"
			 "docs-push-envelope.json", shared);
		t = cs_test_read_file(path, &len);
		CHECK(t != NULL);
		o = http_json(port, "POST", "/v1/webhooks/registry", (char *)t, "Bearer " SECRET, &st);
		CHECK(st == 202);
		/* its first event is a manifest push with a good digest (only the
		 * url has 65 hex digits); the two blob pushes are ignored */
		CHECK(json_integer_value(json_object_get(o, "ignored")) == 2);
		CHECK(json_integer_value(json_object_get(o, "queued")) == 1);
		json_decref(o);
		free(t);
	}
}

/* The fixture's manifest push: queued under the digest the registry
 * reported, scanned, its report served. */
static void test_webhook_fixture(const char *shared)
{
	char path[1024], rpath[256];
	const char *digest;
	json_t *env, *o, *ev;
	uint8_t *t;
	size_t len;
	long st;
	char *state, *rep;
	struct http_answer a;

	snprintf(path, sizeof(path), "%s/fixtures/schemas/examples/distribution-notifications/"
		 "push-envelope.json", shared);
	t = cs_test_read_file(path, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	env = json_loads((char *)t, 0, NULL);
	/* the expected digest comes from the fixture: its manifest event */
	ev = json_array_get(json_object_get(env, "events"), 1);
	digest = json_string_value(json_object_get(json_object_get(ev, "target"), "digest"));
	CHECK(digest != NULL);
	o = http_json(port, "POST", "/v1/webhooks/registry", (char *)t, "Bearer " SECRET, &st);
	CHECK(st == 202);
	CHECK(json_integer_value(json_object_get(o, "queued")) == 1);
	CHECK(json_integer_value(json_object_get(o, "ignored")) == 1);
	CHECK(json_array_size(json_object_get(o, "jobs")) == 1);
	/* the fixture's registry is registry.example.com, not fake.test: the
	 * fake scanner refuses it, so the job fails and is retried later */
	state = NULL;
	{
		long long id = json_integer_value(json_array_get(json_object_get(o, "jobs"), 0));
		json_t *j;
		snprintf(rpath, sizeof(rpath), "/v1/scans/%lld", id);
		for (int i = 0; i < 100; i++) {
			j = get(rpath, &st);
			const char *s = json_string_value(json_object_get(j, "state"));
			if (s != NULL && strcmp(s, "failed") == 0) {
				CHECK_STR(json_string_value(json_object_get(j, "digest")), digest);
				CHECK(strstr(json_string_value(json_object_get(j, "image")),
					     "registry.example.com/shop/frontend:1.4.2@") != NULL);
				CHECK(json_is_integer(json_object_get(j, "next_attempt")));
				state = strdup(s);
				json_decref(j);
				break;
			}
			json_decref(j);
			fake_sleep_ms(50);
		}
	}
	CHECK_STR(state, "failed");
	free(state);
	json_decref(o);
	json_decref(env);
	free(t);

	/* a fake.test push of the same shape is scanned and served */
	{
		const char *d[2] = { dg('a', 7), dg('b', 7) };
		char *e = envelope(d, 2, "shop/frontend", "push", OCI_MANIFEST);
		o = http_json(port, "POST", "/v1/webhooks/registry", e, "Bearer " SECRET, &st);
		CHECK(st == 202 && json_integer_value(json_object_get(o, "queued")) == 2);
		state = wait_job(json_integer_value(json_array_get(json_object_get(o, "jobs"), 1)), 10);
		CHECK_STR(state, "done");
		free(state);
		json_decref(o);
		free(e);
		snprintf(rpath, sizeof(rpath), "/v1/images/%s/report", d[1]);
		CHECK(http_do(&a, port, "GET", rpath, NULL, NULL) == 0);
		CHECK(a.status == 200);
		rep = fake_report(d[1], "unhealthy");
		CHECK_STR(a.body, rep);
		CHECK(strncmp(a.ctype, "application/json", 16) == 0);
		free(rep);
		http_free(&a);
	}
}

static void test_scans_and_images(void)
{
	char body[512], path[512];
	const char *bad = dg('b', 42), *good = dg('a', 42);
	long st;
	json_t *o, *imgs;
	char *state;
	size_t i;
	int seen_bad = 0, seen_good = 0;

	o = http_json(port, "POST", "/v1/scans", "{\"image\": \"fake.test/x\", \"force\": true}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/scans", "{\"image\": 5}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/scans", "not json", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/scans", "{\"image\": \"oci:/etc\"}", NULL, &st);
	CHECK(st == 403);
	json_decref(o);
	o = http_json(port, "POST", "/v1/scans", "{\"image\": \"fake.test/x@sha256:abc\"}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = get("/v1/scans/abc", &st);
	CHECK(st == 400);
	json_decref(o);
	o = get("/v1/scans/999999", &st);
	CHECK(st == 404);
	json_decref(o);

	snprintf(body, sizeof(body), "{\"image\": \"fake.test/team/api@%s\"}", bad);
	{
		struct http_answer a;
		CHECK(http_do(&a, port, "POST", "/v1/scans", body, NULL) == 0);
		CHECK(a.status == 202);
		o = json_loads(a.body, 0, NULL);
		snprintf(path, sizeof(path), "/v1/scans/%lld",
			 (long long)json_integer_value(json_object_get(o, "id")));
		CHECK_STR(a.location, path);
		http_free(&a);
	}
	state = wait_job(json_integer_value(json_object_get(o, "id")), 10);
	CHECK_STR(state, "done");
	free(state);
	json_decref(o);
	o = get(path, &st);
	CHECK(st == 200);
	CHECK_STR(json_string_value(json_object_get(o, "verdict")), "unhealthy");
	CHECK_STR(json_string_value(json_object_get(o, "digest")), bad);
	json_decref(o);
	snprintf(body, sizeof(body), "{\"image\": \"fake.test/team/web@%s\"}", good);
	o = http_json(port, "POST", "/v1/scans", body, NULL, &st);
	CHECK(st == 202);
	state = wait_job(json_integer_value(json_object_get(o, "id")), 10);
	CHECK_STR(state, "done");
	free(state);
	json_decref(o);

	/* filters */
	o = get("/v1/images?verdict=unhealthy", &st);
	CHECK(st == 200);
	imgs = json_object_get(o, "images");
	CHECK(json_array_size(imgs) >= 1);
	for (i = 0; i < json_array_size(imgs); i++) {
		const json_t *im = json_array_get(imgs, i);
		CHECK_STR(json_string_value(json_object_get(im, "verdict")), "unhealthy");
		seen_bad |= strcmp(json_string_value(json_object_get(im, "digest")), bad) == 0;
		seen_good |= strcmp(json_string_value(json_object_get(im, "digest")), good) == 0;
	}
	CHECK(seen_bad && !seen_good);
	json_decref(o);
	o = get("/v1/images?repository=fake.test/team/web", &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "images")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "images"), 0),
						    "digest")), good);
	json_decref(o);
	o = get("/v1/images?repository=fake.test/team/*&verdict=healthy", &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "images")) == 1);
	json_decref(o);
	o = get("/v1/images?limit=1", &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "images")) == 1);
	CHECK(json_is_string(json_object_get(o, "next")));
	json_decref(o);
	o = get("/v1/images?verdict=sick", &st);
	CHECK(st == 400);
	json_decref(o);
	o = get("/v1/images?colour=red", &st);
	CHECK(st == 400);
	json_decref(o);
	o = get("/v1/images?limit=0", &st);
	CHECK(st == 400);
	json_decref(o);

	/* findings of an image, with filters (the fake report has a critical
	 * fixed, a high not fixed and a low fixed finding, and an ignored
	 * critical one, which is not listed) */
	snprintf(path, sizeof(path), "/v1/images/%s/findings", bad);
	o = get(path, &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "findings")) == 3);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?severity=critical", bad);
	o = get(path, &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "findings")) == 1);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?severity=high,critical", bad);
	o = get(path, &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "findings")) == 2);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?severity=high,critical&fixable=true", bad);
	o = get(path, &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "findings")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "findings"), 0),
						    "id")), "CVE-FAKE-0001");
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?fixable=false", bad);
	o = get(path, &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "findings")) == 1);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?severity=dire", bad);
	o = get(path, &st);
	CHECK(st == 400);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings?fixable=maybe", bad);
	o = get(path, &st);
	CHECK(st == 400);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/findings", dg('c', 999));
	o = get(path, &st);
	CHECK(st == 404);
	json_decref(o);
	snprintf(path, sizeof(path), "/v1/images/%s/report", dg('c', 999));
	o = get(path, &st);
	CHECK(st == 404);
	json_decref(o);
	o = get("/v1/images/sha256:xyz/report", &st);
	CHECK(st == 400);
	json_decref(o);

	/* which images have a vulnerability (by id and by alias) */
	o = get("/v1/findings?id=CVE-FAKE-0001", &st);
	CHECK(st == 200);
	imgs = json_object_get(o, "images");
	seen_bad = seen_good = 0;
	for (i = 0; i < json_array_size(imgs); i++) {
		const char *d = json_string_value(json_object_get(json_array_get(imgs, i), "digest"));
		seen_bad |= strcmp(d, bad) == 0;
		seen_good |= strcmp(d, good) == 0;
	}
	CHECK(seen_bad && !seen_good);
	json_decref(o);
	o = get("/v1/findings?id=GHSA-fake-0001", &st);
	CHECK(st == 200 && json_array_size(json_object_get(o, "images")) >= 1);
	json_decref(o);
	o = get("/v1/findings", &st);
	CHECK(st == 400);
	json_decref(o);
}

static json_t *review(const char *const *images, size_t n, long *st)
{
	json_t *cs = json_array(), *rq;
	char *t;
	json_t *o;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(cs, json_pack("{s:s}", "image", images[i]));
	rq = json_pack("{s:s, s:s, s:{s:o, s:s}}", "apiVersion", "imagepolicy.k8s.io/v1alpha1",
		       "kind", "ImageReview", "spec", "containers", cs, "namespace", "shop");
	t = json_dumps(rq, 0);
	o = http_json(port, "POST", "/v1/imagereview", t, NULL, st);
	free(t);
	json_decref(rq);
	return o;
}

static int allowed(const json_t *o)
{
	const json_t *a = json_object_get(json_object_get(o, "status"), "allowed");
	return json_is_true(a) ? 1 : json_is_false(a) ? 0 : -1;
}

static void test_imagereview(const char *shared)
{
	char good[200], bad[200];
	const char *imgs[3];
	long st;
	json_t *o;
	const char *reason;

	snprintf(good, sizeof(good), "fake.test/team/web@%s", dg('a', 42));
	snprintf(bad, sizeof(bad), "fake.test/team/api@%s", dg('b', 42));
	imgs[0] = good;
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 1);
	CHECK(json_object_get(json_object_get(o, "status"), "reason") == NULL);
	CHECK_STR(json_string_value(json_object_get(o, "kind")), "ImageReview");
	json_decref(o);
	imgs[1] = bad;
	o = review(imgs, 2, &st);
	CHECK(st == 200 && allowed(o) == 0);
	reason = json_string_value(json_object_get(json_object_get(o, "status"), "reason"));
	CHECK(reason != NULL && strstr(reason, bad) != NULL && strstr(reason, "unhealthy") != NULL);
	json_decref(o);
	/* unknown, by tag: scanned on demand within the deadline */
	imgs[0] = "fake.test/ondemand:a1";
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 1);
	json_decref(o);
	/* and known by that tag afterwards */
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 1);
	json_decref(o);
	imgs[0] = "fake.test/ondemand:b2";
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 0);
	json_decref(o);
	/* a scan slower than the deadline: the default (deny) */
	fake_slow_ms = 3000;
	imgs[0] = "fake.test/slowpoke:a9";
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 0);
	reason = json_string_value(json_object_get(json_object_get(o, "status"), "reason"));
	CHECK(reason != NULL && strstr(reason, "deadline") != NULL);
	json_decref(o);
	/* a registry that cannot be reached: denied, the service keeps going */
	imgs[0] = "fake.test/failing:a1";
	o = review(imgs, 1, &st);
	CHECK(st == 200 && allowed(o) == 0);
	json_decref(o);
	/* bad requests */
	o = http_json(port, "POST", "/v1/imagereview", "{\"apiVersion\": \"v1\", \"kind\": \"ImageReview\", "
		      "\"spec\": {}}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/imagereview", "{\"apiVersion\": \"imagepolicy.k8s.io/v1alpha1\", "
		      "\"kind\": \"ImageReview\", \"spec\": {\"containers\": [{\"image\": \"a\", "
		      "\"pull\": 1}]}}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	o = http_json(port, "POST", "/v1/imagereview", "{\"apiVersion\": \"imagepolicy.k8s.io/v1alpha1\", "
		      "\"kind\": \"ImageReview\", \"spec\": {}, \"bogus\": 1}", NULL, &st);
	CHECK(st == 400);
	json_decref(o);
	/* the shared example request and the API's round-trip fixture are
	 * accepted (their images are on other registries: not allowed by the
	 * default deny, with a reason) */
	{
		static const char *const files[] = { "imagereview-request.json",
			"k8s-api-testdata-ImageReview-roundtrip.json" };
		for (size_t f = 0; f < 2; f++) {
			char path[1024];
			uint8_t *t;
			size_t len;
			snprintf(path, sizeof(path), "%s/fixtures/schemas/examples/k8s-imagepolicy/%s",
				 shared, files[f]);
			t = cs_test_read_file(path, &len);
			CHECK(t != NULL);
			o = http_json(port, "POST", "/v1/imagereview", (char *)t, NULL, &st);
			CHECK(st == 200 && allowed(o) == 0);
			CHECK(json_is_string(json_object_get(json_object_get(o, "status"), "reason")));
			json_decref(o);
			free(t);
		}
	}
	fake_slow_ms = 300;
}

static void check_alert_sig(int i)
{
	unsigned char mac[32];
	unsigned int ml = 0;
	char hex[72];
	int k;

	HMAC(EVP_sha256(), ALERT_KEY, (int)strlen(ALERT_KEY), (const unsigned char *)alert_body[i],
	     strlen(alert_body[i]), mac, &ml);
	snprintf(hex, sizeof(hex), "sha256=");
	for (k = 0; k < 32; k++)
		snprintf(hex + 7 + 2 * k, 3, "%02x", mac[k]);
	CHECK_STR(alert_sig[i], hex);
}

static void test_alerts(void)
{
	int i, n = 0, bad = 0, good = 0;
	const char *bad_d = dg('b', 42), *good_d = dg('a', 42);

	/* the scans above: every unhealthy or error image raised one alert,
	 * no healthy image did; give the sender a moment */
	for (i = 0; i < 100; i++) {
		pthread_mutex_lock(&alert_mu);
		n = nalerts;
		pthread_mutex_unlock(&alert_mu);
		if (n >= 4)
			break;
		fake_sleep_ms(50);
	}
	pthread_mutex_lock(&alert_mu);
	for (i = 0; i < nalerts; i++) {
		json_t *o = json_loads(alert_body[i], 0, NULL);
		const char *v = json_string_value(json_object_get(o, "verdict"));
		const char *d = json_string_value(json_object_get(o, "digest"));
		CHECK(v != NULL && strcmp(v, "healthy") != 0);
		CHECK(d != NULL && d[7] != 'a');
		bad += d != NULL && strcmp(d, bad_d) == 0;
		good += d != NULL && strcmp(d, good_d) == 0;
		check_alert_sig(i);
		json_decref(o);
	}
	CHECK(bad == 1);
	CHECK(good == 0);
	CHECK(nalerts >= 3);
	pthread_mutex_unlock(&alert_mu);
}

struct burst_arg { int part; int status_ok; };

static void *burst_thread(void *p)
{
	struct burst_arg *b = p;
	int k;

	/* 5 envelopes of 10 events per thread, 4 threads: 200 events; event e
	 * names digest e % 50, so each digest comes 4 times from 4 threads */
	(void)b->part;
	for (k = 0; k < 5; k++) {
		char dd[10][72];
		const char *d[10];
		char *env;
		long st;
		json_t *o;
		int e;
		for (e = 0; e < 10; e++) {
			digest_into(dd[e], 'c', 1000 + ((k * 10 + e) % 50));
			d[e] = dd[e];
		}
		env = envelope(d, 10, "burst", "push", OCI_MANIFEST);
		o = http_json(port, "POST", "/v1/webhooks/registry", env, "Bearer " SECRET, &st);
		b->status_ok += st == 202;
		json_decref(o);
		free(env);
	}
	return NULL;
}

static void test_burst(const char *log)
{
	pthread_t th[4];
	struct burst_arg args[4];
	unsigned long long before = metric("cellscan_scans_total{outcome=\"healthy\"} ");
	unsigned long long after;
	int i, ok = 0, once = 1;

	memset(args, 0, sizeof(args));
	for (i = 0; i < 4; i++) {
		args[i].part = i;
		pthread_create(&th[i], NULL, burst_thread, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].status_ok;
	}
	CHECK(ok == 20);
	CHECK(wait_idle(30));
	after = metric("cellscan_scans_total{outcome=\"healthy\"} ");
	CHECK(after - before == 50);
	for (i = 0; i < 50; i++) {
		char line[80];
		snprintf(line, sizeof(line), "%s\n", dg('c', 1000 + i));
		once &= count_lines(log, line) == 1;
	}
	CHECK(once);
	{
		long st;
		json_t *o = get("/v1/images?repository=fake.test/burst&limit=1000", &st);
		CHECK(json_array_size(json_object_get(o, "images")) == 50);
		json_decref(o);
	}
}

static void test_slow_clients(void)
{
	char buf[4096];
	int fd, i, n;
	long st;
	json_t *o;
	struct timespec t0, t1;

	/* headers never finished: cut after the idle timeout (2 s) */
	fd = tcp_connect(port);
	CHECK(fd >= 0);
	CHECK(write(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32) == 32);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o = get("/healthz", &st);   /* meanwhile, others are served */
	CHECK(st == 200);
	json_decref(o);
	n = read_until_close(fd, buf, sizeof(buf), 8000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(n >= 0);
	CHECK(t1.tv_sec - t0.tv_sec <= 6);
	close(fd);
	/* a body trickled slower than the request timeout (2 s): cut off */
	fd = tcp_connect(port);
	CHECK(fd >= 0);
	{
		static const char hdr[] = "POST /v1/scans HTTP/1.1\r\nHost: x\r\nContent-Type: "
			"application/json\r\nContent-Length: 100\r\n\r\n";
		CHECK(write(fd, hdr, sizeof(hdr) - 1) == (ssize_t)(sizeof(hdr) - 1));
		for (i = 0; i < 6; i++) {
			if (write(fd, " ", 1) != 1)
				break;
			fake_sleep_ms(600);
		}
	}
	n = read_until_close(fd, buf, sizeof(buf), 5000);
	CHECK(n >= 0 && strstr(buf, " 20") == NULL);
	close(fd);
	/* too much header: refused */
	{
		size_t hl = 70000;
		char *h = malloc(hl + 64);
		fd = tcp_connect(port);
		int m = snprintf(h, 64, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
		memset(h + m, 'a', hl);
		memcpy(h + m + hl, "\r\n\r\n", 4);
		if (write(fd, h, (size_t)m + hl + 4) < 0)
			fprintf(stderr, "(the server closed early, as it may)\n");
		n = read_until_close(fd, buf, sizeof(buf), 5000);
		CHECK(n >= 0 && strstr(buf, " 200 ") == NULL);
		close(fd);
		free(h);
	}
	o = get("/healthz", &st);
	CHECK(st == 200);
	json_decref(o);
}

static void test_metrics(void)
{
	struct http_answer a;

	CHECK(http_do(&a, port, "GET", "/metrics", NULL, NULL) == 0);
	CHECK(a.status == 200);
	CHECK(strncmp(a.ctype, "text/plain", 10) == 0);
	CHECK(strstr(a.body, "# TYPE cellscan_scans_total counter") != NULL);
	CHECK(strstr(a.body, "cellscan_scans_total{outcome=\"unhealthy\"} ") != NULL);
	CHECK(strstr(a.body, "cellscan_scans_total{outcome=\"failed\"} ") != NULL);
	CHECK(strstr(a.body, "# TYPE cellscan_scan_duration_seconds histogram") != NULL);
	CHECK(strstr(a.body, "cellscan_scan_duration_seconds_bucket{le=\"+Inf\"} ") != NULL);
	CHECK(strstr(a.body, "cellscan_queue_depth ") != NULL);
	CHECK(strstr(a.body, "cellscan_worker_endings_total{kind=\"ok\"} ") != NULL);
	CHECK(metric("cellscan_worker_endings_total{kind=\"ok\"} ") > 0);
	CHECK(metric("cellscan_scans_total{outcome=\"failed\"} ") > 0);
	http_free(&a);
	/* no secret ever leaves through the API */
	CHECK(http_do(&a, port, "GET", "/metrics", NULL, NULL) == 0);
	CHECK(strstr(a.body, SECRET) == NULL && strstr(a.body, ALERT_KEY) == NULL);
	http_free(&a);
}

static int fill_param(char *o, int digest)
{
	const char *v = digest ? dg('a', 42) : "1";

	memcpy(o, v, strlen(v));
	return (int)strlen(v);
}

/* Every path and method of docs/api.yaml is served (not "no such endpoint",
 * not 405), and no other /v1 path is. */
static void test_api_yaml(void)
{
	char path[1024], cur[512] = "";
	size_t len;
	uint8_t *t;
	char *line, *save = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "%s/docs/api.yaml", cs_test_source_dir());
	t = cs_test_read_file(path, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	for (line = strtok_r((char *)t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char m[16], url[600];
		struct http_answer a;
		const char *body = NULL;
		if (strncmp(line, "  /", 3) == 0 && line[strlen(line) - 1] == ':') {
			snprintf(cur, sizeof(cur), "%.*s", (int)strlen(line) - 3, line + 2);
			continue;
		}
		if (cur[0] == '\0' || sscanf(line, "    %15[a-z]:", m) != 1 || line[4] == ' ')
			continue;
		if (strcmp(m, "get") != 0 && strcmp(m, "post") != 0 && strcmp(m, "put") != 0 &&
		    strcmp(m, "delete") != 0)
			continue;
		/* fill the path parameters */
		{
			char *o = url;
			const char *p = cur;
			while (*p && (size_t)(o - url) < sizeof(url) - 100) {
				if (*p == '{') {
					const char *e = strchr(p, '}');
					o += fill_param(o, strncmp(p, "{digest}", 8) == 0);
					p = e ? e + 1 : p + strlen(p);
				} else {
					*o++ = *p++;
				}
			}
			*o = '\0';
		}
		for (char *u = m; *u; u++)
			*u = (char)(*u - 'a' + 'A');
		if (strcmp(m, "POST") == 0)
			body = "{}";
		CHECK(http_do(&a, port, m, url, body, "Bearer " SECRET) == 0);
		if (a.status == 405 || strstr(a.body, "no such endpoint") != NULL) {
			fprintf(stderr, "api.yaml: %s %s is not served (%ld)\n", m, url, a.status);
			CHECK(0);
		}
		http_free(&a);
		n++;
	}
	CHECK(n >= 10);
	free(t);
}


int main(void)
{
	const char *shared = cs_test_shared();
	struct cs_service_config cfg;
	struct cs_service *svc = NULL;
	struct MHD_Daemon *rx;
	char dir[] = "/tmp/cellscan-svc-test.XXXXXX", p[512], log[600], url[128];
	FILE *f;
	struct sockaddr_in lo;
	int r;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(log, sizeof(log), "%s/fake.log", dir);
	fake_log = log;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
			      NULL, NULL, rx_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL,
			      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&lo, MHD_OPTION_END);
	CHECK(rx != NULL);
	if (rx == NULL)
		return cs_test_done();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook",
		 MHD_get_daemon_info(rx, MHD_DAEMON_INFO_BIND_PORT)->port);

	cs_service_config_init(&cfg);
	snprintf(p, sizeof(p), "%s/wh.secret", dir);
	f = fopen(p, "w");
	fputs(SECRET "\n", f);
	fclose(f);
	CHECK(cs_service_read_secret(&cfg.webhook_secret, p) == 0);
	CHECK_STR(cfg.webhook_secret, SECRET);
	cfg.alerts[0].url = strdup(url);
	cfg.alerts[0].secret = strdup(ALERT_KEY);
	cfg.nalerts = 1;
	cfg.state_dir = strdup(dir);
	CHECK(cs_service_config_listen(&cfg, "127.0.0.1:0") == 0);
	cfg.concurrency = 3;
	cfg.max_body = 64u << 10;
	cfg.connection_timeout = 2;
	cfg.request_timeout = 2;
	cfg.max_header = 16u << 10;
	cfg.review_deadline_ms = 1500;
	cfg.backoff_base = 30;
	cfg.lease_seconds = 30;
	cfg.grace_seconds = 5;
	CHECK(cs_service_config_finish(&cfg) == 0);
	r = cs_service_start(&svc, &cfg, fake_scan, NULL);
	CHECK(r == 0);
	if (r != 0) {
		fprintf(stderr, "start: %s\n", cs_err_msg());
		return cs_test_done();
	}
	port = cs_service_port(svc);
	CHECK(port != 0);

	test_health_and_routing();
	test_webhook_auth_and_bad_bodies(shared);
	test_webhook_fixture(shared);
	test_scans_and_images();
	test_imagereview(shared);
	test_alerts();
	test_burst(log);
	test_slow_clients();
	test_metrics();
	test_api_yaml();

	CHECK(cs_service_stop(svc) == 0);
	MHD_stop_daemon(rx);
	for (int i = 0; i < nalerts; i++)
		free(alert_body[i]);
	cs_service_config_clear(&cfg);
	curl_global_cleanup();
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "%s/cellscan.sqlite", dir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/cellscan.sqlite-wal", dir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/cellscan.sqlite-shm", dir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/serve.lock", dir);
		unlink(cmd);
		unlink(log);
		unlink(p);
		CHECK(rmdir(dir) == 0);
	}
	return cs_test_done();
}
