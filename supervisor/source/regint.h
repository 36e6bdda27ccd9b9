/*
 * regint.h - internals of the registry source and the blob cache, shared by
 * the .c files of supervisor/source/ only (never include it elsewhere).
 *
 *   ref.c       registry references (host[:port]/repo[:tag|@digest])
 *   auth.c      credentials (flags, environment, docker config, helpers),
 *               WWW-Authenticate parsing, bearer tokens
 *   http.c      libcurl sessions of one image: retries, redirects, resume
 *   cache.c     the content-addressed blob cache
 *   registry.c  manifests, platform choice, config, layers
 */
#ifndef CS_SUPERVISOR_SOURCE_REGINT_H
#define CS_SUPERVISOR_SOURCE_REGINT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "supervisor/source/source.h"

#define CS_HOST_MAX 256
#define CS_REPO_MAX 256
#define CS_TAG_MAX 128
#define CS_URL_MAX 8192

/* ---- references (ref.c) ---- */

struct cs_regref {
	char host[CS_HOST_MAX];    /* where to connect: "registry-1.docker.io", "127.0.0.1:5000" */
	char repo[CS_REPO_MAX];    /* "library/alpine" */
	char tag[CS_TAG_MAX];      /* "" when by digest */
	char digest[72];           /* "" when by tag */
	char name[CS_HOST_MAX + CS_REPO_MAX + 2]; /* "docker.io/library/alpine" for reports */
	int dockerhub;             /* host is Docker Hub */
};

/* Parses a registry reference with the docker.io defaults. CS_EINVAL with
 * a message on a malformed one. */
int cs_regref_parse(struct cs_regref *r, const char *s);

/* Lower-cased "host[:port]" of an absolute URL; "" when it has none.
 * *https is set to 1 for https, 0 for http, -1 for anything else. */
int cs_url_origin(char *host, size_t n, int *https, const char *url);

/* 1 when host (as "host[:port]") is in list, compared case-insensitively. */
int cs_host_listed(const char *host, const char *const *list, size_t n);

/* ---- a byte sink the transport writes a body into (http.c, cache.c) ---- */

struct cs_sink {
	/* Accepts the next n bytes; negative CS_E* stops the transfer. */
	int (*write)(struct cs_sink *s, const void *p, size_t n);
	/* Forgets everything written (the server restarted the body). */
	int (*reset)(struct cs_sink *s);
	uint64_t got;              /* bytes accepted so far */
	uint64_t max;              /* more than this is CS_ELIMIT */
	const char *what;          /* for messages: "manifest", "blob sha256:..." */
};

/* A sink into a capped memory buffer. */
struct cs_memsink {
	struct cs_sink s;
	struct cs_buf buf;
};
void cs_memsink_init(struct cs_memsink *m, uint64_t max, const char *what);
void cs_memsink_free(struct cs_memsink *m);

/* ---- credentials (auth.c) ---- */

struct cs_cred {
	char *user;                /* NULL: anonymous */
	char *secret;              /* password or identity token; wiped on clear */
	int identity_token;        /* secret is an OAuth2 refresh token (docker "identitytoken") */
	char from[96];             /* where it came from, for messages (never the secret) */
};

/* Finds credentials for a registry host: --username/--password-stdin, then
 * CELLSCAN_REGISTRY_USERNAME/PASSWORD, then the docker config (auths,
 * credHelpers, credsStore). Nothing found is not an error (anonymous). */
int cs_cred_lookup(struct cs_cred *c, const struct cs_regref *ref, const struct cs_source_opts *o);
void cs_cred_clear(struct cs_cred *c);

/* A parsed WWW-Authenticate challenge. */
struct cs_challenge {
	int scheme;                /* CS_AUTH_BASIC / CS_AUTH_BEARER / 0 unknown */
	char realm[2048];
	char service[512];
	char scope[1024];
	char error[64];
};
enum { CS_AUTH_NONE = 0, CS_AUTH_BASIC = 1, CS_AUTH_BEARER = 2 };

/* Parses one header value (RFC 7235 auth-params). CS_EFORMAT when malformed. */
int cs_challenge_parse(struct cs_challenge *ch, const char *value);

/* "Basic base64(user:secret)" into out (wiped by the caller). */
int cs_auth_basic(char *out, size_t n, const struct cs_cred *c);

/* ---- HTTP session (http.c) ---- */

struct cs_http;

/* One session per registry image: owns a curl handle, the credentials and
 * the cached token. Caller frees with cs_http_free(). A session is used by
 * one thread at a time. */
int cs_http_new(struct cs_http **out, const struct cs_regref *ref, const struct cs_source_opts *o);
/* Another session for the same image, for another thread: its own curl
 * handle and connections; the credentials, the Authorization value and
 * token, the TLS session and DNS caches, and the byte count are shared with
 * h (thread-safe). Caller frees with cs_http_free(), in any order. */
int cs_http_clone(struct cs_http **out, struct cs_http *h);
/* When *cancel (borrowed; NULL: never) becomes nonzero, the session's
 * transfer in progress, its backoff wait and any later request fail at
 * once with "WHAT: cancelled". */
void cs_http_set_cancel(struct cs_http *h, const atomic_int *cancel);
void cs_http_free(struct cs_http *h);

/* GETs https://HOST/v2/REPO/<path> into sink, authenticating, retrying
 * 429/5xx and cut connections (resuming with Range when the sink has data),
 * following redirects. ctype/dcd get Content-Type and Docker-Content-Digest
 * of the final response (may be NULL). */
int cs_http_get(struct cs_http *h, const char *path, const char *accept, struct cs_sink *sink,
		char *ctype, size_t ctn, char *dcd, size_t dcdn);

/* Bytes of response bodies received from the network so far, by h and
 * every session cloned from it. */
uint64_t cs_http_bytes(const struct cs_http *h);

/* ---- blob cache (cache.c) ---- */

struct cs_cache;

/* Opens (creating) the cache at dir (NULL: the default). max 0: default cap. */
int cs_cache_open(struct cs_cache **out, const char *dir, uint64_t max);
void cs_cache_close(struct cs_cache *c);

/* Fills a sink with a blob's bytes (the download). */
typedef int (*cs_cache_fill_fn)(void *arg, struct cs_sink *sink);

/*
 * *fd gets a read-only descriptor of the verified blob digest (size bytes),
 * positioned at 0; the caller closes it. When the cache lacks it (or holds
 * a corrupt copy), fill() is called under the blob's lock, so concurrent
 * scans download it once. *fetched is set to 1 when fill() ran.
 */
int cs_cache_get(struct cs_cache *c, int *fd, const char *digest, uint64_t size,
		 cs_cache_fill_fn fill, void *arg, int *fetched);

/*
 * *fd gets a read-only descriptor of the cached blob digest when the cache
 * holds one of size bytes, positioned at 0, NOT hashed (the caller closes
 * it): for a layer whose blob may never be read, the hash is left to its
 * first use (cs_image_layer_fd). The descriptor keeps the blob readable
 * even if it is evicted meanwhile. CS_ENOTFOUND when absent or of another
 * size.
 */
int cs_cache_peek(struct cs_cache *c, int *fd, const char *digest, uint64_t size);

/* Evicts least-recently-used blobs until the cache fits its cap. */
int cs_cache_trim(struct cs_cache *c);

/* ---- registry image (registry.c) ---- */

/* Fills img from a registry reference (called by cs_source_open). */
int cs_registry_open(struct cs_image *img, const char *ref, const struct cs_source_opts *o);

/*
 * Once img->config is set: img->platform, and img->layers (nlayers of them,
 * freed with the image) from the manifest's layer list, each with its
 * config diff_id and its descriptor handed to desc_fn (digest, media type,
 * size: desc_fn fills and checks them) before anything is read. Errors name
 * the rule: lists of different lengths, a diff_id that is not a digest, more
 * layers than lim->layers (lim may be NULL).
 */
int cs_image_layers_init(struct cs_image *img, const json_t *man, const struct cs_limits *lim,
			 int (*desc_fn)(void *ctx, struct cs_layer *l, const json_t *desc), void *ctx);

#endif
