/*
 * Concurrent layer downloads from a registry (supervisor/source/registry.c,
 * http.c, cache.c), against a small registry served here, in this process,
 * on a loopback port (plain HTTP, reached with --insecure-registry), with
 * bearer-token auth on the same host.
 *
 * The image has four distinct 1 MiB layers and a fifth that repeats the
 * first. The layer bytes, their digests and the documents are made here
 * (digests computed with OpenSSL), never taken from the code under test.
 * The server holds each layer body back until as many layer requests are
 * in flight as the test expects ("barrier"), so it sees the client's
 * concurrency directly, and it can cut a body or answer 429 on cue.
 *
 *   1. parallel 4: four layers in flight at once, one token for everything,
 *      no unauthenticated blob request, the repeated layer fetched once,
 *      every descriptor hashes to its digest, nothing left in tmp/.
 *   2. parallel 2 and 1: never more in flight than asked.
 *   3. parallel 4 with a body cut once: resumed with a Range request.
 *   4. parallel 4 with a 429 + Retry-After once: waited, then fetched.
 *   5. parallel 4, one layer cut mid-way on every attempt: the open fails
 *      with one line naming that layer (its position and digest), the
 *      other transfers are cancelled before their end, and the cache
 *      holds no partial file and no blob of the failed layer.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/errors.h"
#include "supervisor/source/source.h"
#include "tests/harness.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define NLAYERS 4 /* distinct layers; the manifest lists NLAYERS + 1 */
#define LAYER_SIZE (1u << 20)
#define CHUNK (64u << 10)
#define MAXCONN 256
#define TOKEN "cellscan-test-token"
#define TOKEN_DOC "{\"token\": \"" TOKEN "\", \"expires_in\": 300}"

struct blob {
	uint8_t *data;
	size_t size;
	char digest[72];
};

enum { FAULT_NONE, FAULT_CUT, FAULT_429 };

static struct {
	int lfd, port;
	pthread_t acc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct blob layers[NLAYERS], config, manifest;
	/* one scenario's settings and counters, under mu */
	int barrier;			     /* a layer body waits for this many in flight */
	int barrier_done;		     /* reached (or timed out): no more waiting */
	int fault, fault_layer, fault_times; /* fault_times -1: every time */
	int chunk_ms, fail_chunk_ms;	     /* pause after each chunk (of the faulty layer) */
	int inflight, max_inflight, completed, aborted, ranged, answered_429;
	int token_requests, unauth_blob, layer_gets[NLAYERS];
	/* connections */
	pthread_t conns[MAXCONN];
	int nconns, stopping;
} S;

static void sha256_hex(char out[72], const void *p, size_t n)
{
	unsigned char d[32];
	unsigned int dl = 0;
	int i;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the image ---- */

static void make_blob(struct blob *b, const void *p, size_t n)
{
	b->data = malloc(n ? n : 1);
	if (b->data == NULL) {
		perror("malloc");
		exit(1);
	}
	memcpy(b->data, p, n);
	b->size = n;
	sha256_hex(b->digest, p, n);
}

static void make_json_blob(struct blob *b, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	if (s == NULL) {
		fprintf(stderr, "json_dumps failed\n");
		exit(1);
	}
	make_blob(b, s, strlen(s));
	free(s);
	json_decref(doc);
}

static json_t *descriptor(const char *mt, const struct blob *b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", b->digest, "size",
			 (json_int_t)b->size);
}

static void make_image(void)
{
	uint8_t *buf = malloc(LAYER_SIZE);
	json_t *diffs = json_array(), *ls = json_array();
	char d[72], label[32];
	uint64_t x;
	size_t i, j;

	if (buf == NULL || diffs == NULL || ls == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (i = 0; i < NLAYERS; i++) {
		x = 0x9e3779b97f4a7c15ull * (i + 1);
		for (j = 0; j < LAYER_SIZE; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = (uint8_t)x;
		}
		make_blob(&S.layers[i], buf, LAYER_SIZE);
	}
	free(buf);
	/* layer NLAYERS repeats layer 0 (as empty layers repeat in real images) */
	for (i = 0; i <= NLAYERS; i++) {
		snprintf(label, sizeof(label), "diff-%zu", i % NLAYERS);
		sha256_hex(d, label, strlen(label));
		json_array_append_new(diffs, json_string(d));
		json_array_append_new(ls, descriptor(MT_LAYER, &S.layers[i % NLAYERS]));
	}
	make_json_blob(&S.config,
		       json_pack("{s:s, s:s, s:{s:s, s:o}}", "architecture", "amd64", "os", "linux",
				 "rootfs", "type", "layers", "diff_ids", diffs));
	make_json_blob(&S.manifest, json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2,
					      "mediaType", MT_MANIFEST, "config",
					      descriptor(MT_CONFIG, &S.config), "layers", ls));
}

/* ---- the registry ---- */

static int send_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int respond(int fd, int status, const char *reason, const char *extra, const char *ctype,
		   const void *body, size_t n)
{
	char h[1024];
	int hl = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
			  status, reason, n, ctype ? "Content-Type: " : "", ctype ? ctype : "",
			  ctype ? "\r\n" : "", extra ? extra : "");

	if (hl < 0 || (size_t)hl >= sizeof(h))
		return -1;
	if (send_all(fd, h, (size_t)hl) != 0)
		return -1;
	return n > 0 ? send_all(fd, body, n) : 0;
}

/* Reads one request head; -1 at EOF or on a head too large. */
static int read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t k;
		if (n + 1 >= cap)
			return -1;
		k = recv(fd, buf + n, cap - 1 - n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
}

/* The value of header name in head (name like "\r\nRange: "), or NULL. */
static const char *header(const char *head, const char *name)
{
	const char *p = strcasestr(head, name);

	return p ? p + strlen(name) : NULL;
}

/* Sends layer li from byte `from`; -1 when the connection must be closed. */
static int serve_layer(int fd, int li, size_t from, int ranged)
{
	const struct blob *b = &S.layers[li];
	struct timespec dl;
	char head[512];
	size_t off, cut;
	int fault = FAULT_NONE, pause, hl, status = ranged ? 206 : 200;

	pthread_mutex_lock(&S.mu);
	S.layer_gets[li]++;
	S.ranged += ranged;
	if (S.fault != FAULT_NONE && S.fault_layer == li && S.fault_times != 0) {
		fault = S.fault;
		if (S.fault_times > 0)
			S.fault_times--;
	}
	if (fault == FAULT_429) {
		S.answered_429++;
		pthread_mutex_unlock(&S.mu);
		return respond(fd, 429, "Too Many Requests", "Retry-After: 1\r\n", NULL, NULL, 0);
	}
	S.inflight++;
	if (S.inflight > S.max_inflight)
		S.max_inflight = S.inflight;
	pthread_cond_broadcast(&S.cv);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	while (!S.barrier_done && !S.stopping && S.inflight < S.barrier)
		if (pthread_cond_timedwait(&S.cv, &S.mu, &dl) == ETIMEDOUT)
			break;
	S.barrier_done = 1;
	pause = fault == FAULT_CUT ? S.fail_chunk_ms : S.chunk_ms;
	pthread_mutex_unlock(&S.mu);

	if (from > b->size)
		from = b->size;
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n"
		      "Content-Type: application/octet-stream\r\n",
		      status, ranged ? "Partial Content" : "OK", b->size - from);
	if (ranged)
		hl += snprintf(head + hl, sizeof(head) - (size_t)hl,
			       "Content-Range: bytes %zu-%zu/%zu\r\n", from, b->size - 1, b->size);
	hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "\r\n");
	if (send_all(fd, head, (size_t)hl) != 0)
		goto aborted;
	/* the faulty body stops after its first chunk, its headers promising all */
	cut = fault == FAULT_CUT ? from + CHUNK : b->size;
	for (off = from; off < b->size; off += CHUNK) {
		size_t n = b->size - off < CHUNK ? b->size - off : CHUNK;
		if (off >= cut)
			goto aborted;
		if (send_all(fd, b->data + off, n) != 0)
			goto aborted;
		if (pause > 0)
			sleep_ms(pause);
	}
	pthread_mutex_lock(&S.mu);
	S.inflight--;
	S.completed++;
	pthread_mutex_unlock(&S.mu);
	return 0;
aborted:
	pthread_mutex_lock(&S.mu);
	S.inflight--;
	S.aborted++;
	pthread_mutex_unlock(&S.mu);
	return -1;
}

static int serve_one(int fd, const char *head)
{
	char path[512], want[160], tokhdr[80];
	const char *az, *rg, *sp;
	size_t pl, i;
	int authed;

	if (strncmp(head, "GET ", 4) != 0 || (sp = strchr(head + 4, ' ')) == NULL)
		return respond(fd, 405, "Method Not Allowed", NULL, NULL, NULL, 0);
	pl = (size_t)(sp - (head + 4));
	if (pl >= sizeof(path))
		return respond(fd, 414, "URI Too Long", NULL, NULL, NULL, 0);
	memcpy(path, head + 4, pl);
	path[pl] = '\0';
	if (strncmp(path, "/token?", 7) == 0 || strcmp(path, "/token") == 0) {
		pthread_mutex_lock(&S.mu);
		S.token_requests++;
		pthread_mutex_unlock(&S.mu);
		return respond(fd, 200, "OK", NULL, "application/json", TOKEN_DOC,
			       strlen(TOKEN_DOC));
	}
	az = header(head, "\r\nAuthorization: ");
	snprintf(tokhdr, sizeof(tokhdr), "Bearer %s\r\n", TOKEN);
	authed = az != NULL && strncmp(az, tokhdr, strlen(tokhdr)) == 0;
	if (!authed) {
		static const char err[] =
			"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"no\"}]}";
		char www[256];
		if (strstr(path, "/blobs/") != NULL) {
			pthread_mutex_lock(&S.mu);
			S.unauth_blob++;
			pthread_mutex_unlock(&S.mu);
		}
		snprintf(www, sizeof(www),
			 "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
			 "service=\"cellscan-test\",scope=\"repository:test/img:pull\"\r\n",
			 S.port);
		return respond(fd, 401, "Unauthorized", www, "application/json", err,
			       sizeof(err) - 1);
	}
	if (strcmp(path, "/v2/test/img/manifests/latest") == 0)
		return respond(fd, 200, "OK", NULL, MT_MANIFEST, S.manifest.data, S.manifest.size);
	snprintf(want, sizeof(want), "/v2/test/img/blobs/%s", S.config.digest);
	if (strcmp(path, want) == 0)
		return respond(fd, 200, "OK", NULL, "application/octet-stream", S.config.data,
			       S.config.size);
	for (i = 0; i < NLAYERS; i++) {
		snprintf(want, sizeof(want), "/v2/test/img/blobs/%s", S.layers[i].digest);
		if (strcmp(path, want) == 0) {
			size_t from = 0;
			rg = header(head, "\r\nRange: bytes=");
			if (rg != NULL)
				from = (size_t)strtoull(rg, NULL, 10);
			return serve_layer(fd, (int)i, from, rg != NULL);
		}
	}
	return respond(fd, 404, "Not Found", NULL, NULL, NULL, 0);
}

static void *conn_run(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *head = malloc(16384);

	while (head != NULL && read_head(fd, head, 16384) == 0)
		if (serve_one(fd, head) != 0)
			break;
	free(head);
	close(fd);
	return NULL;
}

static void *accept_run(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(S.lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* shut down */
		}
		pthread_mutex_lock(&S.mu);
		if (S.stopping || S.nconns >= MAXCONN ||
		    pthread_create(&S.conns[S.nconns], NULL, conn_run, (void *)(intptr_t)fd) != 0) {
			pthread_mutex_unlock(&S.mu);
			close(fd);
			continue;
		}
		S.nconns++;
		pthread_mutex_unlock(&S.mu);
	}
}

static int server_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	pthread_mutex_init(&S.mu, NULL);
	pthread_cond_init(&S.cv, NULL);
	S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (S.lfd < 0)
		return -1;
	setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(S.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(S.lfd, 64) != 0 ||
	    getsockname(S.lfd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	S.port = ntohs(a.sin_port);
	return pthread_create(&S.acc, NULL, accept_run, NULL) == 0 ? 0 : -1;
}

static void server_stop(void)
{
	int i;

	pthread_mutex_lock(&S.mu);
	S.stopping = 1;
	pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
	shutdown(S.lfd, SHUT_RDWR);
	pthread_join(S.acc, NULL);
	close(S.lfd);
	/* every client session is freed by now: its connections are closed */
	for (i = 0; i < S.nconns; i++)
		pthread_join(S.conns[i], NULL);
}

/* ---- scenarios ---- */

static void scenario(int barrier, int fault, int fault_layer, int fault_times, int chunk_ms,
		     int fail_chunk_ms)
{
	pthread_mutex_lock(&S.mu);
	S.barrier = barrier;
	S.barrier_done = barrier <= 1;
	S.fault = fault;
	S.fault_layer = fault_layer;
	S.fault_times = fault_times;
	S.chunk_ms = chunk_ms;
	S.fail_chunk_ms = fail_chunk_ms;
	S.inflight = S.max_inflight = S.completed = S.aborted = S.ranged = S.answered_429 = 0;
	S.token_requests = S.unauth_blob = 0;
	memset(S.layer_gets, 0, sizeof(S.layer_gets));
	pthread_mutex_unlock(&S.mu);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Entries of dir/sub other than . and .. ; -1 when it cannot be read. */
static int count_entries(const char *dir, const char *sub)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int blob_cached(const char *dir, const struct blob *b)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, b->digest + 7);
	return stat(p, &st) == 0;
}

/* Hashes what fd holds from offset 0, leaving the offset alone. */
static int fd_matches(int fd, const struct blob *b)
{
	uint8_t *buf = malloc(b->size + 1);
	char d[72];
	ssize_t n;
	size_t got = 0;
	int ok;

	if (buf == NULL)
		return 0;
	while ((n = pread(fd, buf + got, b->size + 1 - got, (off_t)got)) > 0)
		got += (size_t)n;
	sha256_hex(d, buf, got);
	ok = got == b->size && strcmp(d, b->digest) == 0;
	free(buf);
	return ok;
}

static int open_image(struct cs_image **img, const char *cache, unsigned parallel, unsigned retries)
{
	struct cs_source_opts o;
	char host[64], ref[128];

	memset(&o, 0, sizeof(o));
	snprintf(host, sizeof(host), "127.0.0.1:%d", S.port);
	snprintf(ref, sizeof(ref), "%s/test/img:latest", host);
	o.cache_dir = cache;
	o.insecure[0] = host;
	o.ninsecure = 1;
	o.no_docker_config = 1;
	o.connect_timeout = 10;
	o.timeout = 120;
	o.retries = retries;
	o.parallel = parallel;
	return cs_source_open(img, ref, &o);
}

/* A good pull: every layer right, nothing partial left. */
static void check_good(const char *name, struct cs_image *img, const char *cache)
{
	/* every body counts: manifest, token response, config, each layer once */
	uint64_t want = S.manifest.size + strlen(TOKEN_DOC) + S.config.size;
	size_t i;

	for (i = 0; i < NLAYERS; i++)
		want += S.layers[i].size;
	CHECK(img != NULL);
	if (img == NULL)
		return;
	CHECK(img->nlayers == NLAYERS + 1);
	for (i = 0; i < img->nlayers && i <= NLAYERS; i++) {
		const struct blob *b = &S.layers[i % NLAYERS];
		CHECK_STR(img->layers[i].digest, b->digest);
		CHECK(img->layers[i].fd >= 0);
		if (img->layers[i].fd >= 0 && !fd_matches(img->layers[i].fd, b)) {
			fprintf(stderr, "%s: layer %zu: the descriptor does not hold the blob\n",
				name, i);
			CHECK(0);
		}
	}
	/* the repeated layer was not downloaded twice; no bytes beyond the blobs */
	if (img->fetched_bytes != want)
		fprintf(stderr, "%s: fetched %llu bytes, want %llu\n", name,
			(unsigned long long)img->fetched_bytes, (unsigned long long)want);
	CHECK(img->fetched_bytes == want);
	CHECK(count_entries(cache, "tmp") == 0);
	CHECK(count_entries(cache, "blobs/sha256") == NLAYERS);
	CHECK(S.layer_gets[0] == 1);
	CHECK(S.unauth_blob == 0);
	CHECK(S.token_requests == 1);
}

int main(void)
{
	char base[] = "/tmp/cellscan-parallel.XXXXXX", cache[256];
	struct cs_image *img = NULL;
	const char *msg;
	int r, i;
	struct {
		unsigned parallel;
		int want_max;
	} bounds[] = { { 4, 4 }, { 2, 2 }, { 1, 1 } };

	signal(SIGPIPE, SIG_IGN);
	unsetenv("CELLSCAN_REGISTRY_USERNAME");
	unsetenv("CELLSCAN_REGISTRY_PASSWORD");
	make_image();
	if (mkdtemp(base) == NULL || server_start() != 0) {
		perror("setup");
		return 1;
	}

	/* 1-2: as many in flight as asked, never more */
	for (i = 0; i < 3; i++) {
		snprintf(cache, sizeof(cache), "%s/c-par%u", base, bounds[i].parallel);
		scenario(bounds[i].want_max, FAULT_NONE, -1, 0, 2, 0);
		r = open_image(&img, cache, bounds[i].parallel, 0);
		if (r != 0)
			fprintf(stderr, "parallel %u: %s\n", bounds[i].parallel, cs_err_msg());
		CHECK(r == 0);
		check_good("parallel", img, cache);
		printf("parallel %u: at most %d layer bodies in flight (want %d)\n",
		       bounds[i].parallel, S.max_inflight, bounds[i].want_max);
		CHECK(S.max_inflight == bounds[i].want_max);
		cs_image_free(img);
		img = NULL;
	}

	/* 3: a body cut once is resumed with Range while the others go on */
	snprintf(cache, sizeof(cache), "%s/c-resume", base);
	scenario(0, FAULT_CUT, 2, 1, 2, 2);
	r = open_image(&img, cache, 4, 0);
	if (r != 0)
		fprintf(stderr, "resume: %s\n", cs_err_msg());
	CHECK(r == 0);
	check_good("resume", img, cache);
	CHECK(S.ranged == 1);
	CHECK(S.layer_gets[2] == 2);
	cs_image_free(img);
	img = NULL;

	/* 4: 429 with Retry-After, once */
	snprintf(cache, sizeof(cache), "%s/c-429", base);
	scenario(0, FAULT_429, 1, 1, 2, 2);
	r = open_image(&img, cache, 4, 0);
	if (r != 0)
		fprintf(stderr, "429: %s\n", cs_err_msg());
	CHECK(r == 0);
	check_good("429", img, cache);
	CHECK(S.answered_429 == 1);
	CHECK(S.layer_gets[1] == 2);
	cs_image_free(img);
	img = NULL;

	/* 5: layer 3 of 5 (index 2) cut after its first chunk on every attempt
	 * (two: the second resumes after a 0.5 s backoff), while the other
	 * three crawl (100 ms a chunk: 1.6 s each) */
	snprintf(cache, sizeof(cache), "%s/c-fail", base);
	scenario(NLAYERS, FAULT_CUT, 2, -1, 100, 0);
	r = open_image(&img, cache, 4, 2);
	msg = cs_err_msg();
	printf("failing layer: r=%d: %s\n", r, msg);
	CHECK(r != 0);
	CHECK(img == NULL);
	CHECK(strchr(msg, '\n') == NULL);
	CHECK(strstr(msg, "layer 3 of 5") != NULL);
	CHECK(strstr(msg, S.layers[2].digest) != NULL);
	/* no other layer is blamed */
	for (i = 0; i < NLAYERS; i++)
		if (i != 2)
			CHECK(strstr(msg, S.layers[i].digest) == NULL);
	CHECK(S.layer_gets[2] == 2); /* two attempts, the second resumed */
	CHECK(S.ranged == 1);
	CHECK(count_entries(cache, "tmp") == 0);
	CHECK(!blob_cached(cache, &S.layers[2]));
	/* the three others were cut short by the failure, not run to their end */
	pthread_mutex_lock(&S.mu);
	printf("failing layer: %d bodies completed, %d cut short\n", S.completed, S.aborted);
	CHECK(S.completed == 0);
	pthread_mutex_unlock(&S.mu);
	for (i = 0; i < NLAYERS; i++)
		if (i != 2 && blob_cached(cache, &S.layers[i]))
			CHECK(0);

	server_stop();
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < NLAYERS; i++)
		free(S.layers[i].data);
	free(S.config.data);
	free(S.manifest.data);
	return cs_test_done();
}
