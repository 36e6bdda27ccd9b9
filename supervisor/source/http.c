/*
 * http.c - the registry transport: one libcurl easy handle per image.
 *
 * Redirects are followed here, not by libcurl, so that every hop is
 * checked: https only (http only for hosts named with --insecure-registry),
 * and the Authorization header goes to the registry host itself and to
 * hosts the user allow-listed, never to a blob store elsewhere. Transient
 * failures (429, 5xx, cut or reset connections) are retried with
 * exponential backoff, honouring Retry-After; a body cut after some bytes
 * is resumed with a Range request. Bodies go to a sink with a hard cap.
 *
 * Several sessions may work for one image at once, one per thread
 * (cs_http_clone): each has its own curl handle and connections, and they
 * share the credentials, the Authorization value and the bearer token
 * (under one mutex, so a token is fetched once and refreshed once), the
 * TLS session cache and the DNS cache (a curl share), and the byte count.
 */
#include "supervisor/source/regint.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/errors.h"

#define MAX_HOPS 5
#define ERRBODY_MAX 8192
#define TOKEN_DOC_MAX (256u << 10)
#define RETRY_AFTER_CAP 60
#define BACKOFF_CAP_MS 8000
#define AUTHZ_MAX 65536
#define SECRET_MAX_B64 24576   /* "Basic " + base64 of 1 KiB user + 16 KiB secret */

/* What the sessions of one image share (cs_http_clone). */
struct shared {
	pthread_mutex_t mu;          /* guards the authentication state below */
	struct cs_cred cred;
	int cred_loaded;
	char *authz;                 /* Authorization for the registry host; wiped */
	int authz_scheme;
	unsigned gen;                /* bumped whenever authz changes */
	time_t token_expiry;
	struct cs_challenge ch;      /* the last Bearer challenge, to refresh the token */
	int have_ch;
	int withheld;                /* credentials kept from a token realm on another host */
	char withheld_host[CS_HOST_MAX];
	atomic_uint_fast64_t bytes;  /* body bytes received by every session */
	atomic_int refs;             /* sessions using this; the last frees it */
	CURLSH *share;               /* TLS sessions and DNS, NULL if libcurl refused */
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

struct cs_http {
	CURL *curl;
	struct cs_regref ref;
	const struct cs_source_opts *o;
	int https;                   /* scheme of the registry itself */
	struct shared *sh;
	const atomic_int *cancel;    /* nonzero: give up now (borrowed, may be NULL) */
	char errbuf[CURL_ERROR_SIZE];
};

/* What one exchange (one URL, no redirects) produced. */
struct resp {
	struct cs_http *h;
	struct cs_sink *sink;
	uint64_t range_from;
	long status;
	int to_sink;                 /* -1 undecided, 0 error body, 1 sink */
	int sink_err;
	char ctype[256], dcd[128], crange[128];
	char location[CS_URL_MAX];
	char www[4096];
	struct cs_buf errbody;
};

/* ---- memory sink ---- */

static int mem_write(struct cs_sink *s, const void *p, size_t n)
{
	struct cs_memsink *m = (struct cs_memsink *)s;

	if (s->got + n > s->max || cs_buf_add(&m->buf, p, n) != 0)
		return cs_err_set(CS_ELIMIT, "%s is larger than the limit of %llu bytes", s->what,
				  (unsigned long long)s->max);
	s->got += n;
	return 0;
}

static int mem_reset(struct cs_sink *s)
{
	struct cs_memsink *m = (struct cs_memsink *)s;

	cs_buf_reset(&m->buf);
	s->got = 0;
	return 0;
}

void cs_memsink_init(struct cs_memsink *m, uint64_t max, const char *what)
{
	memset(m, 0, sizeof(*m));
	m->s.write = mem_write;
	m->s.reset = mem_reset;
	m->s.max = max;
	m->s.what = what;
	cs_buf_init(&m->buf, max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max);
}

void cs_memsink_free(struct cs_memsink *m)
{
	cs_buf_free(&m->buf);
}

/* ---- session ---- */

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Under sh->mu. */
static void set_authz(struct shared *sh, char *v, int scheme)
{
	wipe_free(sh->authz);
	sh->authz = v;
	sh->authz_scheme = v ? scheme : CS_AUTH_NONE;
	sh->gen++;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *u)
{
	struct shared *sh = u;

	(void)c;
	(void)a;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&sh->share_mu[d]);
}

static void share_unlock(CURL *c, curl_lock_data d, void *u)
{
	struct shared *sh = u;

	(void)c;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&sh->share_mu[d]);
}

static void shared_free(struct shared *sh)
{
	int i;

	if (sh == NULL || atomic_fetch_sub(&sh->refs, 1) != 1)
		return;
	set_authz(sh, NULL, 0);
	cs_cred_clear(&sh->cred);
	/* every easy handle that used the share is gone: cleanup cannot fail */
	if (sh->share != NULL)
		curl_share_cleanup(sh->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&sh->share_mu[i]);
	pthread_mutex_destroy(&sh->mu);
	explicit_bzero(sh, sizeof(*sh));
	free(sh);
}

static struct shared *shared_new(void)
{
	struct shared *sh = calloc(1, sizeof(*sh));
	int i;

	if (sh == NULL)
		return NULL;
	pthread_mutex_init(&sh->mu, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&sh->share_mu[i], NULL);
	atomic_init(&sh->bytes, 0);
	atomic_init(&sh->refs, 1);
	/* without a share every session just does its own full handshakes */
	sh->share = curl_share_init();
	if (sh->share != NULL &&
	    (curl_share_setopt(sh->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	     curl_share_setopt(sh->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	     curl_share_setopt(sh->share, CURLSHOPT_USERDATA, sh) != CURLSHE_OK ||
	     curl_share_setopt(sh->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	     curl_share_setopt(sh->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
		curl_share_cleanup(sh->share);
		sh->share = NULL;
	}
	return sh;
}

/* A session on sh (which it then holds a reference of). */
static int session_new(struct cs_http **out, const struct cs_regref *ref,
		       const struct cs_source_opts *o, struct shared *sh)
{
	struct cs_http *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		free(h);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	h->ref = *ref;
	h->o = o;
	h->https = !cs_host_listed(ref->host, o->insecure, o->ninsecure);
	h->sh = sh;
	*out = h;
	return 0;
}

int cs_http_new(struct cs_http **out, const struct cs_regref *ref, const struct cs_source_opts *o)
{
	struct shared *sh;
	int r;

	*out = NULL;
	/* curl_global_init is not thread-safe itself: once per process */
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return cs_err_set(CS_EINTERNAL, "libcurl initialisation failed");
	sh = shared_new();
	if (sh == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = session_new(out, ref, o, sh)) != 0)
		shared_free(sh);
	return r;
}

int cs_http_clone(struct cs_http **out, struct cs_http *h)
{
	int r;

	atomic_fetch_add(&h->sh->refs, 1);
	if ((r = session_new(out, &h->ref, h->o, h->sh)) != 0)
		shared_free(h->sh);
	return r;
}

void cs_http_set_cancel(struct cs_http *h, const atomic_int *cancel)
{
	h->cancel = cancel;
}

void cs_http_free(struct cs_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	shared_free(h->sh);
	free(h);
}

uint64_t cs_http_bytes(const struct cs_http *h)
{
	return atomic_load(&h->sh->bytes);
}

static int cancelled(const struct cs_http *h)
{
	return h->cancel != NULL && atomic_load(h->cancel) != 0;
}

/* ---- one exchange ---- */

static void copy_hval(char *dst, size_t n, const char *v, size_t vl)
{
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	if (vl >= n)
		vl = n - 1;   /* truncated values fail their later checks */
	memcpy(dst, v, vl);
	dst[vl] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct resp *rs = arg;
	size_t n = sz * nm;
	const char *colon;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue or a redirect): start over */
		const char *sp = memchr(p, ' ', n);
		rs->status = 0;
		if (sp != NULL && (size_t)(sp - p) + 4 <= n && isdigit((unsigned char)sp[1]) &&
		    isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
			rs->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
		rs->ctype[0] = rs->dcd[0] = rs->crange[0] = rs->location[0] = rs->www[0] = '\0';
		return n;
	}
	colon = memchr(p, ':', n);
	if (colon == NULL)
		return n;
#define HDR(name, dst)                                                                     \
	if ((size_t)(colon - p) == sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) \
		copy_hval(dst, sizeof(dst), colon + 1, n - (size_t)(colon + 1 - p));
	HDR("content-type", rs->ctype)
	HDR("docker-content-digest", rs->dcd)
	HDR("content-range", rs->crange)
	HDR("location", rs->location)
	if ((size_t)(colon - p) == 16 && strncasecmp(p, "www-authenticate", 16) == 0) {
		char v[sizeof(rs->www)];
		copy_hval(v, sizeof(v), colon + 1, n - (size_t)(colon + 1 - p));
		/* several challenges: prefer Bearer */
		if (rs->www[0] == '\0' || strncasecmp(v, "bearer", 6) == 0)
			memcpy(rs->www, v, sizeof(v));
	}
#undef HDR
	return n;
}

/* "bytes FROM-TO/TOTAL" must start where we asked. */
static int range_ok(const char *cr, uint64_t from)
{
	char *end;
	unsigned long long v;

	if (strncasecmp(cr, "bytes ", 6) != 0 || !isdigit((unsigned char)cr[6]))
		return 0;
	errno = 0;
	v = strtoull(cr + 6, &end, 10);
	return errno == 0 && *end == '-' && v == from;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct resp *rs = arg;
	size_t n = sz * nm;
	int r;

	if (rs->to_sink < 0) {
		rs->to_sink = 0;
		if (rs->status == 200 || rs->status == 206) {
			rs->to_sink = 1;
			if (rs->status == 206 && !range_ok(rs->crange, rs->range_from)) {
				rs->sink_err = cs_err_set(CS_ENET, "%s: the server answered a range "
							  "request with the wrong range", rs->sink->what);
				return 0;
			}
			if (rs->status == 200 && rs->sink->got > 0 && (r = rs->sink->reset(rs->sink)) != 0) {
				rs->sink_err = r;
				return 0;
			}
		}
	}
	if (!rs->to_sink) {
		cs_buf_add(&rs->errbody, p, n < ERRBODY_MAX - rs->errbody.len ? n :
			   ERRBODY_MAX - rs->errbody.len);
		return n;
	}
	if (cancelled(rs->h)) {
		rs->sink_err = cs_err_set(CS_ENET, "%s: cancelled", rs->sink->what);
		return 0;
	}
	if ((r = rs->sink->write(rs->sink, p, n)) != 0) {
		rs->sink_err = r;
		return 0;
	}
	atomic_fetch_add(&rs->h->sh->bytes, n);
	return n;
}

/* Stops a transfer (even a stalled one) once the session is cancelled. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return cancelled(arg);
}

/*
 * Performs one request to url (no redirect following). post: a form body
 * or NULL. Returns the CURLcode; rs has the status and headers.
 */
static CURLcode exchange(struct cs_http *h, struct resp *rs, const char *url, const char *accept,
			 const char *authz, const char *post, struct cs_sink *sink)
{
	struct curl_slist *hl = NULL, *t;
	char line[AUTHZ_MAX + 32];
	CURLcode cc;
	CURL *c = h->curl;
	const struct cs_source_opts *o = h->o;

	cs_buf_free(&rs->errbody);
	memset(rs, 0, sizeof(*rs));
	rs->h = h;
	rs->sink = sink;
	rs->to_sink = -1;
	rs->range_from = sink->got;
	cs_buf_init(&rs->errbody, ERRBODY_MAX);
	curl_easy_reset(c);
	/* the reset keeps the share, but leaves libcurl's count of shared TLS
	 * sessions at its default: attaching again sets both */
	if (h->sh->share != NULL)
		curl_easy_setopt(c, CURLOPT_SHARE, h->sh->share);
	h->errbuf[0] = '\0';
#define ADD(s)                                           \
	do {                                             \
		t = curl_slist_append(hl, (s));          \
		if (t == NULL) {                         \
			cc = CURLE_OUT_OF_MEMORY;        \
			goto out;                        \
		}                                        \
		hl = t;                                  \
	} while (0)
	if (accept != NULL) {
		snprintf(line, sizeof(line), "Accept: %s", accept);
		ADD(line);
	}
	if (authz != NULL) {
		snprintf(line, sizeof(line), "Authorization: %s", authz);
		ADD(line);
		explicit_bzero(line, sizeof(line));
	}
	if (rs->range_from > 0) {
		snprintf(line, sizeof(line), "Range: bytes=%llu-", (unsigned long long)rs->range_from);
		ADD(line);
	}
	ADD("Expect:");
#undef ADD
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* HTTP/1.1: a blob moves over its own connection anyway (one session per
	 * download lane), and libcurl's HTTP/2 framing cost a third more time
	 * and CPU per byte on loopback (docs/registry.md, "Speed") */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cellscan/" CELLSCAN_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(o->connect_timeout ? o->connect_timeout : 30));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(o->timeout ? o->timeout : 3600));
	/* a stalled transfer is a cut one: give it to the retry loop */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (h->cancel != NULL) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK && rs->status == 0) {
		long st = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		rs->status = st;
	}
out:
	/* the handle keeps pointers to the list and the body: drop them */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	for (t = hl; t != NULL; t = t->next)
		explicit_bzero(t->data, strlen(t->data));
	curl_slist_free_all(hl);
	return cc;
}

static int transient_cc(CURLcode cc)
{
	switch (cc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int transient_status(long st)
{
	return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

static int net_error(struct cs_http *h, CURLcode cc, const char *host)
{
	const char *e = h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return cs_err_set(CS_ENET, "cannot resolve registry host %s", host);
	case CURLE_COULDNT_CONNECT:
		return cs_err_set(CS_ENET, "cannot connect to %s: %s", host, e);
	case CURLE_OPERATION_TIMEDOUT:
		return cs_err_set(CS_ETIMEOUT, "%s did not answer in time (%s; --connect-timeout %u s, "
				  "--registry-timeout %u s)", host, e,
				  h->o->connect_timeout ? h->o->connect_timeout : 30,
				  h->o->timeout ? h->o->timeout : 3600);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return cs_err_set(CS_ENET, "TLS with %s failed: %s (a private CA goes in --ca-file; "
				  "plain HTTP needs --insecure-registry %s)", host, e, host);
	default:
		return cs_err_set(CS_ENET, "%s: %s", host, e);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Sleeps ms, in slices, returning early when the session is cancelled. */
static void nap(const struct cs_http *h, long ms)
{
	while (ms > 0 && !cancelled(h)) {
		long s = ms > 50 ? 50 : ms;
		sleep_ms(s);
		ms -= s;
	}
}

/* Waits before attempt number att (1-based retries), honouring Retry-After. */
static void backoff(struct cs_http *h, int att, int use_retry_after)
{
	long ms = 500L << (att > 5 ? 5 : att - 1);
	curl_off_t ra = 0;

	if (ms > BACKOFF_CAP_MS)
		ms = BACKOFF_CAP_MS;
	if (use_retry_after && curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		ms = (long)(ra > RETRY_AFTER_CAP ? RETRY_AFTER_CAP : ra) * 1000L;
	nap(h, ms);
}

/* The registry's error document, reduced to "CODE: message" (escaped later). */
static void errdoc(char *out, size_t n, const struct resp *rs)
{
	json_t *d, *e;
	const char *code, *msg;

	out[0] = '\0';
	if (rs->errbody.len == 0)
		return;
	d = json_loadb((const char *)rs->errbody.data, rs->errbody.len, 0, NULL);
	e = json_array_get(json_object_get(d, "errors"), 0);
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code != NULL)
		snprintf(out, n, " (%.64s%s%.160s)", code, msg ? ": " : "", msg ? msg : "");
	json_decref(d);
}

/* ---- tokens ---- */

static int url_escape(char *out, size_t n, CURL *c, const char *s)
{
	char *e = curl_easy_escape(c, s, 0);
	int r = 0;

	if (e == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (strlen(e) >= n)
		r = cs_err_set(CS_ELIMIT, "token request parameter too long");
	else
		memcpy(out, e, strlen(e) + 1);
	curl_free(e);
	return r;
}

static int header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* load_creds, fetch_token and on_401 run under h->sh->mu. */
static int load_creds(struct cs_http *h)
{
	int r;

	if (h->sh->cred_loaded)
		return 0;
	if ((r = cs_cred_lookup(&h->sh->cred, &h->ref, h->o)) != 0)
		return r;
	h->sh->cred_loaded = 1;
	return 0;
}

/* May the host of a token realm or a redirect see the registry's credentials? */
static int may_see_creds(const struct cs_http *h, const char *host)
{
	if (strcasecmp(host, h->ref.host) == 0)
		return 1;
	if (cs_host_listed(host, h->o->auth_allow, h->o->nauth_allow))
		return 1;
	/* Docker Hub's own token service */
	return h->ref.dockerhub && strcasecmp(host, "auth.docker.io") == 0;
}

static int scheme_allowed(const struct cs_http *h, const char *host, int https)
{
	return https == 1 || (https == 0 && cs_host_listed(host, h->o->insecure, h->o->ninsecure));
}

/* Gets a bearer token for the challenge (distribution token spec; OAuth2
 * refresh-token grant for identity tokens). */
static int fetch_token(struct cs_http *h, const struct cs_challenge *ch)
{
	char rhost[CS_HOST_MAX], scope[1200], svc[1600], esc_scope[3600];
	char *url = NULL, *post = NULL, *tok = NULL;
	char basic[SECRET_MAX_B64];
	struct cs_memsink ms;
	struct resp rs;
	int https, r, send = 0, att = 0;
	size_t ul;
	CURLcode cc;
	json_t *doc = NULL;
	const char *t;
	json_int_t exp = 60;

	memset(&rs, 0, sizeof(rs));
	basic[0] = '\0';
	cs_memsink_init(&ms, TOKEN_DOC_MAX, "token response");
	if ((r = cs_url_origin(rhost, sizeof(rhost), &https, ch->realm)) != 0) {
		r = cs_err_set(CS_EAUTH, "%s: the token realm is not a URL", h->ref.host);
		goto out;
	}
	if (!scheme_allowed(h, rhost, https)) {
		r = cs_err_set(CS_EAUTH, "%s: token realm on %s is not https (plain HTTP needs "
			       "--insecure-registry %s)", h->ref.host, rhost, rhost);
		goto out;
	}
	if ((r = load_creds(h)) != 0)
		goto out;
	h->sh->withheld = 0;
	if (h->sh->cred.user != NULL) {
		if (may_see_creds(h, rhost)) {
			send = 1;
		} else {
			h->sh->withheld = 1;
			snprintf(h->sh->withheld_host, sizeof(h->sh->withheld_host), "%s", rhost);
		}
	}
	if (ch->scope[0] != '\0')
		snprintf(scope, sizeof(scope), "%s", ch->scope);
	else
		snprintf(scope, sizeof(scope), "repository:%s:pull", h->ref.repo);
	if ((r = url_escape(svc, sizeof(svc), h->curl, ch->service)) != 0 ||
	    (r = url_escape(esc_scope, sizeof(esc_scope), h->curl, scope)) != 0)
		goto out;
	ul = strlen(ch->realm) + strlen(svc) + strlen(esc_scope) + 32;
	url = malloc(ul);
	if (url == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if (send && h->sh->cred.identity_token) {
		char *rt = curl_easy_escape(h->curl, h->sh->cred.secret, 0);
		size_t pl;
		if (rt == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		pl = strlen(rt) + strlen(svc) + strlen(esc_scope) + 96;
		post = malloc(pl);
		if (post != NULL)
			snprintf(post, pl, "grant_type=refresh_token&client_id=cellscan&service=%s"
				 "&scope=%s&refresh_token=%s", svc, esc_scope, rt);
		explicit_bzero(rt, strlen(rt));
		curl_free(rt);
		if (post == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(url, ul, "%s", ch->realm);
	} else {
		snprintf(url, ul, "%s%c%s%s%sscope=%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?',
			 svc[0] ? "service=" : "", svc, svc[0] ? "&" : "", esc_scope);
		if (send && (r = cs_auth_basic(basic, sizeof(basic), &h->sh->cred)) != 0)
			goto out;
	}
	for (;;) {
		cc = exchange(h, &rs, url, "application/json", basic[0] ? basic : NULL, post, &ms.s);
		if (rs.sink_err != 0) {
			r = rs.sink_err;
			goto out;
		}
		if ((cc != CURLE_OK && transient_cc(cc)) || (cc == CURLE_OK && transient_status(rs.status))) {
			if (++att < (int)(h->o->retries ? h->o->retries : 5)) {
				backoff(h, att, cc == CURLE_OK);
				ms.s.reset(&ms.s);
				continue;
			}
		}
		break;
	}
	if (cc != CURLE_OK) {
		r = net_error(h, cc, rhost);
		cs_err_prefix(r, "token service");
		goto out;
	}
	if (rs.status == 401 || rs.status == 403) {
		if (send)
			r = cs_err_set(CS_EAUTH, "authentication failed: the token service at %s rejected "
				       "the credentials from %s for %s (HTTP %ld)", rhost, h->sh->cred.from,
				       h->ref.repo, rs.status);
		else
			r = cs_err_set(CS_EAUTH, "authentication failed: the token service at %s refused "
				       "a token for %s without credentials (HTTP %ld)%s%s", rhost,
				       h->ref.repo, rs.status,
				       h->sh->withheld ? "; credentials were withheld from that host: "
				       "allow it with --auth-allow-host " : "", h->sh->withheld ? rhost : "");
		goto out;
	}
	if (rs.status != 200) {
		r = cs_err_set(CS_EAUTH, "token service at %s answered HTTP %ld", rhost, rs.status);
		goto out;
	}
	doc = json_loadb((const char *)ms.buf.data, ms.buf.len, 0, NULL);
	t = json_string_value(json_object_get(doc, "token"));
	if (t == NULL || t[0] == '\0')
		t = json_string_value(json_object_get(doc, "access_token"));
	if (t == NULL || t[0] == '\0' || strlen(t) > AUTHZ_MAX - 16 || !header_safe(t)) {
		r = cs_err_set(CS_EAUTH, "token service at %s gave no usable token", rhost);
		goto out;
	}
	if (json_is_integer(json_object_get(doc, "expires_in")))
		exp = json_integer_value(json_object_get(doc, "expires_in"));
	/* the spec's minimum is 60 s; a smaller or absurd value means "short" */
	if (exp < 1)
		exp = 60;
	if (exp > 86400)
		exp = 86400;
	tok = malloc(strlen(t) + 8);
	if (tok == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(tok, strlen(t) + 8, "Bearer %s", t);
	set_authz(h->sh, tok, CS_AUTH_BEARER);
	h->sh->token_expiry = time(NULL) + (time_t)exp - (exp > 10 ? 5 : 0);
	h->sh->ch = *ch;
	h->sh->have_ch = 1;
	r = 0;
out:
	if (doc != NULL) {
		json_t *tv = json_object_get(doc, "token"), *av = json_object_get(doc, "access_token");
		if (json_is_string(tv))
			explicit_bzero((char *)json_string_value(tv), json_string_length(tv));
		if (json_is_string(av))
			explicit_bzero((char *)json_string_value(av), json_string_length(av));
		json_decref(doc);
	}
	if (ms.buf.data != NULL)
		explicit_bzero(ms.buf.data, ms.buf.len);
	cs_memsink_free(&ms);
	cs_buf_free(&rs.errbody);
	explicit_bzero(basic, sizeof(basic));
	if (post != NULL) {
		explicit_bzero(post, strlen(post));
		free(post);
	}
	free(url);
	return r;
}

/* A 401 from the registry: answer its challenge, or explain why we cannot. */
static int on_401(struct cs_http *h, const char *www, int round)
{
	struct cs_challenge ch;
	char basic[SECRET_MAX_B64], *v;
	int r;

	if (www[0] == '\0')
		return cs_err_set(CS_EAUTH, "%s answered 401 without a WWW-Authenticate challenge",
				  h->ref.host);
	if ((r = cs_challenge_parse(&ch, www)) != 0)
		return cs_err_prefix(CS_EAUTH, "%s", h->ref.host);
	if ((r = load_creds(h)) != 0)
		return r;
	if (ch.scheme == CS_AUTH_BASIC) {
		if (h->sh->cred.user == NULL)
			return cs_err_set(CS_EAUTH, "authentication required: %s asks for credentials and "
					  "none were found for it (--username with --password-stdin, "
					  "CELLSCAN_REGISTRY_USERNAME/PASSWORD, or docker login)",
					  h->ref.host);
		if (h->sh->authz_scheme == CS_AUTH_BASIC || h->sh->cred.identity_token)
			return cs_err_set(CS_EAUTH, "authentication failed: %s rejected the credentials "
					  "from %s (HTTP 401)", h->ref.host, h->sh->cred.from);
		if ((r = cs_auth_basic(basic, sizeof(basic), &h->sh->cred)) != 0)
			return r;
		v = strdup(basic);
		explicit_bzero(basic, sizeof(basic));
		if (v == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		set_authz(h->sh, v, CS_AUTH_BASIC);
		return 0;
	}
	/* Bearer: a token we just got and still refused means no access */
	if (round > 0 && h->sh->authz_scheme == CS_AUTH_BEARER) {
		if (h->sh->withheld)
			return cs_err_set(CS_EAUTH, "authentication failed: %s refused access to %s; the "
					  "credentials from %s were not sent to the token service "
					  "on %s (another host): allow it with --auth-allow-host %s",
					  h->ref.host, h->ref.repo, h->sh->cred.from, h->sh->withheld_host,
					  h->sh->withheld_host);
		/* The registry itself says the token is bad (not the access it
		 * grants): a broken token service, a clock skew, another
		 * registry's key. Credentials would not help; say so. */
		if (strcmp(ch.error, "invalid_token") == 0)
			return cs_err_set(CS_EAUTH, "authentication failed: %s rejected the token its token "
					  "service issued for %s (invalid_token): check the token "
					  "service and the clocks", h->ref.host, h->ref.repo);
		if (h->sh->cred.user == NULL)
			return cs_err_set(CS_EAUTH, "authentication required: %s refused anonymous access "
					  "to %s%s%s%s and no credentials were found for it", h->ref.host,
					  h->ref.repo, ch.error[0] ? " (" : "", ch.error, ch.error[0] ? ")" : "");
		return cs_err_set(CS_EAUTH, "authentication failed: %s refused access to %s with the "
				  "credentials from %s%s%s", h->ref.host, h->ref.repo, h->sh->cred.from,
				  ch.error[0] ? ": " : "", ch.error);
	}
	return fetch_token(h, &ch);
}

int cs_http_get(struct cs_http *h, const char *path, const char *accept, struct cs_sink *sink,
		char *ctype, size_t ctn, char *dcd, size_t dcdn)
{
	char *url0 = NULL, *url = NULL, *authz = NULL, host[CS_HOST_MAX], detail[256];
	unsigned gen = 0;
	struct resp rs;
	int r, att = 0, rounds = 0, hops, https, attempts = (int)(h->o->retries ? h->o->retries : 5);
	size_t n = strlen(h->ref.host) + strlen(h->ref.repo) + strlen(path) + 16;
	CURLcode cc;
	uint64_t before;

	memset(&rs, 0, sizeof(rs));
	url0 = malloc(n);
	if (url0 == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	snprintf(url0, n, "%s://%s/v2/%s/%s", h->https ? "https" : "http", h->ref.host,
		 h->ref.repo, path);
	for (;;) {
		free(url);
		url = strdup(url0);
		if (url == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		if (cancelled(h)) {
			r = cs_err_set(CS_ENET, "%s: cancelled", sink->what);
			goto out;
		}
		/* this attempt's Authorization: a copy, as another session may
		 * replace the shared one meanwhile */
		pthread_mutex_lock(&h->sh->mu);
		r = 0;
		if (h->sh->authz_scheme == CS_AUTH_BEARER && h->sh->have_ch &&
		    time(NULL) >= h->sh->token_expiry) {
			struct cs_challenge ch = h->sh->ch;
			r = fetch_token(h, &ch);
		}
		wipe_free(authz);
		authz = NULL;
		if (r == 0 && h->sh->authz != NULL && (authz = strdup(h->sh->authz)) == NULL)
			r = cs_err_set(CS_ENOMEM, "out of memory");
		gen = h->sh->gen;
		pthread_mutex_unlock(&h->sh->mu);
		if (r != 0)
			goto out;
		before = sink->got;
		for (hops = 0;; hops++) {
			const char *az = NULL;
			if ((r = cs_url_origin(host, sizeof(host), &https, url)) != 0)
				goto out;
			if (!scheme_allowed(h, host, https)) {
				r = cs_err_set(CS_ENET, "%s: refusing a plain-HTTP or non-HTTP URL on %s "
					       "(plain HTTP needs --insecure-registry %s)", sink->what, host,
					       host);
				goto out;
			}
			if (may_see_creds(h, host))
				az = authz;
			cc = exchange(h, &rs, url, accept, az, NULL, sink);
			if (cc != CURLE_OK || rs.status < 300 || rs.status > 308 || rs.status == 304 ||
			    rs.status == 305 || rs.status == 306)
				break;
			if (hops >= MAX_HOPS || rs.location[0] == '\0') {
				r = cs_err_set(CS_ENET, "%s: too many redirects or one without a Location",
					       sink->what);
				goto out;
			}
			{
				/* resolve a relative Location against the current URL */
				CURLU *u = curl_url();
				char *nu = NULL;
				if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
				    curl_url_set(u, CURLUPART_URL, rs.location, 0) != CURLUE_OK ||
				    curl_url_get(u, CURLUPART_URL, &nu, 0) != CURLUE_OK) {
					curl_url_cleanup(u);
					r = cs_err_set(CS_ENET, "%s: bad redirect Location", sink->what);
					goto out;
				}
				curl_url_cleanup(u);
				free(url);
				url = strdup(nu);
				curl_free(nu);
				if (url == NULL) {
					r = cs_err_set(CS_ENOMEM, "out of memory");
					goto out;
				}
			}
		}
		if (cancelled(h)) {
			r = cs_err_set(CS_ENET, "%s: cancelled", sink->what);
			goto out;
		}
		if (rs.sink_err != 0) {
			r = rs.sink_err;
			goto out;
		}
		if (cc != CURLE_OK) {
			/* a cut after progress is worth resuming, however it was cut */
			int progress = sink->got > before;
			if ((transient_cc(cc) || (progress && cc == CURLE_OPERATION_TIMEDOUT)) &&
			    ++att < attempts) {
				backoff(h, att, 0);
				continue;
			}
			r = net_error(h, cc, host);
			if (att > 0)
				cs_err_prefix(r, "%s after %d attempt%s", sink->what, att, att > 1 ? "s" : "");
			else
				cs_err_prefix(r, "%s", sink->what);
			goto out;
		}
		if (rs.status == 200 || rs.status == 206)
			break;
		errdoc(detail, sizeof(detail), &rs);
		if (rs.status == 401 && strcasecmp(host, h->ref.host) == 0) {
			if (rounds >= 2) {
				r = cs_err_set(CS_EAUTH, "authentication failed: %s keeps answering 401 for %s",
					       h->ref.host, h->ref.repo);
				goto out;
			}
			pthread_mutex_lock(&h->sh->mu);
			/* another session changed the credentials since this attempt
			 * took them (a new token, Basic after anonymous): try those */
			if (h->sh->gen != gen)
				r = 0;
			else
				r = on_401(h, rs.www, rounds);
			pthread_mutex_unlock(&h->sh->mu);
			rounds++;
			if (r != 0)
				goto out;
			continue;
		}
		if (transient_status(rs.status) && ++att < attempts) {
			backoff(h, att, 1);
			continue;
		}
		if (rs.status == 416 && sink->got > 0 && ++att < attempts) {
			/* our resume offset is wrong for the server: start over */
			if ((r = sink->reset(sink)) != 0)
				goto out;
			continue;
		}
		if (rs.status == 404)
			r = cs_err_set(CS_ENOTFOUND, "%s: not found on %s%s", sink->what, host, detail);
		else if (rs.status == 401 || rs.status == 403)
			r = cs_err_set(CS_EAUTH, "%s: access denied by %s (HTTP %ld)%s", sink->what, host,
				       rs.status, detail);
		else
			r = cs_err_set(CS_ENET, "%s: %s answered HTTP %ld%s%s", sink->what, host, rs.status,
				       detail, att > 0 ? " after retries" : "");
		goto out;
	}
	if (ctype != NULL)
		snprintf(ctype, ctn, "%s", rs.ctype);
	if (dcd != NULL)
		snprintf(dcd, dcdn, "%s", rs.dcd);
	r = 0;
out:
	cs_buf_free(&rs.errbody);
	wipe_free(authz);
	free(url0);
	free(url);
	return r;
}
