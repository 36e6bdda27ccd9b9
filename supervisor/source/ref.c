/*
 * ref.c - registry references and the source part's command-line options.
 *
 * References follow the grammar of distribution/reference (the one docker
 * uses): [domain/]path[:tag][@digest], where the first component is a
 * domain only when it has a '.' or a ':' or is "localhost"; otherwise the
 * image is on Docker Hub, and a one-component path gets "library/".
 */
#include "supervisor/source/regint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"

#define DOCKERHUB_REGISTRY "registry-1.docker.io"

static int is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ joined by '.', '_', '__' or '-'+. */
static int component_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || !is_alnum_lower(p[0]) || !is_alnum_lower(p[n - 1]))
		return 0;
	for (i = 0; i < n; i++) {
		if (is_alnum_lower(p[i]))
			continue;
		if (p[i] == '.' || p[i] == '_') {
			/* "." and "_" single, "__" allowed; never next to another separator */
			if (p[i] == '_' && p[i + 1] == '_' && i + 2 < n && is_alnum_lower(p[i + 2])) {
				i++;
				continue;
			}
			if (!is_alnum_lower(p[i + 1]))
				return 0;
			continue;
		}
		if (p[i] == '-') {
			while (i + 1 < n && p[i + 1] == '-')
				i++;
			if (!is_alnum_lower(p[i + 1]))
				return 0;
			continue;
		}
		return 0;
	}
	return 1;
}

static int path_ok(const char *p)
{
	const char *s = p, *slash;

	for (;;) {
		slash = strchr(s, '/');
		if (!component_ok(s, slash ? (size_t)(slash - s) : strlen(s)))
			return 0;
		if (slash == NULL)
			return 1;
		s = slash + 1;
	}
}

/* host[:port]: DNS labels or an IPv4 address, or [IPv6]; port 1..65535. */
static int host_ok(const char *h)
{
	const char *p = h, *colon;
	size_t i;

	if (h[0] == '\0' || strlen(h) >= CS_HOST_MAX)
		return 0;
	if (h[0] == '[') {
		const char *rb = strchr(h, ']');
		if (rb == NULL || rb == h + 1)
			return 0;
		for (p = h + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return 0;
	} else {
		colon = strchr(h, ':');
		for (p = h; *p != '\0' && p != colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return 0;
		if (p == h || h[0] == '-' || h[0] == '.')
			return 0;
	}
	if (colon != NULL) {
		unsigned long port = 0;
		if (colon[1] == '\0' || strlen(colon + 1) > 5)
			return 0;
		for (i = 1; colon[i] != '\0'; i++) {
			if (!isdigit((unsigned char)colon[i]))
				return 0;
			port = port * 10 + (unsigned long)(colon[i] - '0');
		}
		if (port == 0 || port > 65535)
			return 0;
	}
	return 1;
}

static int tag_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return 0;
	return 1;
}

int cs_regref_parse(struct cs_regref *r, const char *s)
{
	char buf[CS_HOST_MAX + CS_REPO_MAX + CS_TAG_MAX + 80];
	char *at, *path, *slash, *colon, *tag = NULL;
	char *domain = NULL;
	int n;

	memset(r, 0, sizeof(*r));
	if (strncmp(s, "docker://", 9) == 0)
		s += 9;
	if (strlen(s) >= sizeof(buf))
		return cs_err_set(CS_EINVAL, "image reference is too long");
	memcpy(buf, s, strlen(s) + 1);
	at = strchr(buf, '@');
	if (at != NULL) {
		*at = '\0';
		if (!cs_digest_valid(at + 1))
			return cs_err_set(CS_EINVAL, "image reference: \"%.80s\" is not a sha256 digest "
					  "(sha256:<64 lowercase hex>)", at + 1);
		memcpy(r->digest, at + 1, 72);
	}
	path = buf;
	slash = strchr(buf, '/');
	if (slash != NULL) {
		size_t dl = (size_t)(slash - buf);
		if ((memchr(buf, '.', dl) != NULL || memchr(buf, ':', dl) != NULL ||
		     (dl == 9 && strncmp(buf, "localhost", 9) == 0))) {
			*slash = '\0';
			domain = buf;
			path = slash + 1;
		}
	}
	/* a tag is after the last ':' of the path (the domain's port is gone) */
	colon = strrchr(path, ':');
	if (colon != NULL) {
		*colon = '\0';
		tag = colon + 1;
	}
	if (domain != NULL) {
		for (char *p = domain; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!host_ok(domain))
			return cs_err_set(CS_EINVAL, "image reference: bad registry host \"%.100s\"", domain);
	}
	if (domain == NULL || strcmp(domain, "docker.io") == 0 ||
	    strcmp(domain, "index.docker.io") == 0 || strcmp(domain, DOCKERHUB_REGISTRY) == 0) {
		r->dockerhub = 1;
		snprintf(r->host, sizeof(r->host), "%s", DOCKERHUB_REGISTRY);
		n = snprintf(r->repo, sizeof(r->repo), "%s%s", strchr(path, '/') ? "" : "library/",
			     path);
	} else {
		snprintf(r->host, sizeof(r->host), "%s", domain);
		n = snprintf(r->repo, sizeof(r->repo), "%s", path);
	}
	if (n < 0 || (size_t)n >= sizeof(r->repo))
		return cs_err_set(CS_EINVAL, "image reference: repository name too long");
	if (!path_ok(path))
		return cs_err_set(CS_EINVAL, "image reference: bad repository name \"%.200s\" (lowercase "
				  "letters, digits and . _ - separators)", path);
	if (tag != NULL) {
		if (!tag_ok(tag))
			return cs_err_set(CS_EINVAL, "image reference: bad tag \"%.130s\"", tag);
		if (r->digest[0] == '\0')
			snprintf(r->tag, sizeof(r->tag), "%s", tag);
		/* name:tag@digest pulls by the digest, as docker does */
	} else if (r->digest[0] == '\0') {
		snprintf(r->tag, sizeof(r->tag), "latest");
	}
	snprintf(r->name, sizeof(r->name), "%s/%s", r->dockerhub ? "docker.io" : r->host, r->repo);
	return 0;
}

int cs_url_origin(char *host, size_t n, int *https, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *port = NULL;
	int r = 0;

	host[0] = '\0';
	*https = -1;
	if (u == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		r = cs_err_set(CS_EFORMAT, "not an absolute URL");
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent when default */
	if (strcasecmp(scheme, "https") == 0)
		*https = 1;
	else if (strcasecmp(scheme, "http") == 0)
		*https = 0;
	if ((port != NULL && ((*https == 1 && strcmp(port, "443") == 0) ||
			      (*https == 0 && strcmp(port, "80") == 0))))
		port = (curl_free(port), NULL);
	if ((size_t)snprintf(host, n, "%s%s%s", h, port ? ":" : "", port ? port : "") >= n) {
		host[0] = '\0';
		r = cs_err_set(CS_EFORMAT, "URL host too long");
		goto out;
	}
	for (char *p = host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

int cs_host_listed(const char *host, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] != NULL && strcasecmp(list[i], host) == 0)
			return 1;
	return 0;
}

/* ---- options ---- */

static int parse_uint(uint64_t *out, const char *s, uint64_t max, int suffixes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (suffixes && *end != '\0' && end[1] == '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k': mul = 1ull << 10; break;
		case 'm': mul = 1ull << 20; break;
		case 'g': mul = 1ull << 30; break;
		case 't': mul = 1ull << 40; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || __builtin_mul_overflow((uint64_t)v, mul, out) || *out > max)
		return -1;
	return 0;
}

/* The password read by --password-stdin lives here for the process. */
static char password_store[1024];

static int read_password_stdin(void)
{
	size_t got = 0;
	ssize_t n;

	if (isatty(STDIN_FILENO))
		return cs_err_set(CS_EINVAL, "--password-stdin: stdin is a terminal; pipe the "
				  "password in (printf %%s \"$PASS\" | cellscan ...)");
	for (;;) {
		if (got >= sizeof(password_store) - 1) {
			explicit_bzero(password_store, sizeof(password_store));
			return cs_err_set(CS_EINVAL, "--password-stdin: longer than %zu bytes",
					  sizeof(password_store) - 1);
		}
		n = read(STDIN_FILENO, password_store + got, sizeof(password_store) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cs_err_set(CS_EINVAL, "--password-stdin: %s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	/* one trailing newline (echo's) is not part of the password */
	while (got > 0 && (password_store[got - 1] == '\n' || password_store[got - 1] == '\r'))
		got--;
	password_store[got] = '\0';
	if (got == 0)
		return cs_err_set(CS_EINVAL, "--password-stdin: stdin held no password");
	return 0;
}

static const char help_text[] =
	"image source options:\n"
	"  --cache-dir DIR          blob cache (default $XDG_CACHE_HOME/cellscan)\n"
	"  --cache-max-size SIZE    cache cap, LRU eviction (default 10g)\n"
	"  --ca-file FILE           trust these CAs (PEM) for registries\n"
	"  --insecure-registry HOST use plain HTTP for HOST[:PORT] (repeatable)\n"
	"  --auth-allow-host HOST   let HOST (a token realm or redirect target) see\n"
	"                           the registry's credentials (repeatable)\n"
	"  --username USER --password-stdin   credentials for the image's registry\n"
	"  --no-docker-config       ignore ~/.docker/config.json and credential helpers\n"
	"  --connect-timeout S      connect + TLS handshake (default 30)\n"
	"  --registry-timeout S     per request (default 3600)\n"
	"  --registry-retries N     attempts per request (default 5)\n"
	"  --registry-parallel N    layers downloaded at once (default 4, at most 16)\n";

const char *cs_source_options_help(void)
{
	return help_text;
}

int cs_source_parse_option(struct cs_source_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t u;
	int r;

	if (strcmp(a, "--password-stdin") == 0) {
		if ((r = read_password_stdin()) != 0)
			return r;
		o->password = password_store;
		return 1;
	}
	if (strcmp(a, "--no-docker-config") == 0) {
		o->no_docker_config = 1;
		return 1;
	}
	if (strcmp(a, "--password") == 0 || strncmp(a, "--password=", 11) == 0)
		return cs_err_set(CS_EINVAL, "--password is not accepted (a password in argv is "
				  "visible to every user): use --password-stdin or "
				  "CELLSCAN_REGISTRY_PASSWORD");
	if (strcmp(a, "--cache-dir") != 0 && strcmp(a, "--cache-max-size") != 0 &&
	    strcmp(a, "--ca-file") != 0 && strcmp(a, "--insecure-registry") != 0 &&
	    strcmp(a, "--auth-allow-host") != 0 && strcmp(a, "--username") != 0 &&
	    strcmp(a, "--connect-timeout") != 0 && strcmp(a, "--registry-timeout") != 0 &&
	    strcmp(a, "--registry-retries") != 0 && strcmp(a, "--registry-parallel") != 0)
		return 0;
	if (v == NULL || v[0] == '\0')
		return cs_err_set(CS_EINVAL, "%s needs a value", a);
	if (strcmp(a, "--cache-dir") == 0) {
		o->cache_dir = v;
	} else if (strcmp(a, "--cache-max-size") == 0) {
		if (parse_uint(&u, v, UINT64_MAX, 1) != 0 || u == 0)
			return cs_err_set(CS_EINVAL, "--cache-max-size: \"%.32s\" is not a size "
					  "(like 500m or 20g)", v);
		o->cache_max = u;
	} else if (strcmp(a, "--ca-file") == 0) {
		if (access(v, R_OK) != 0)
			return cs_err_set(CS_EINVAL, "--ca-file %.200s: %s", v, strerror(errno));
		o->ca_file = v;
	} else if (strcmp(a, "--insecure-registry") == 0 || strcmp(a, "--auth-allow-host") == 0) {
		int ins = a[2] == 'i';
		size_t *n = ins ? &o->ninsecure : &o->nauth_allow;
		const char **list = ins ? o->insecure : o->auth_allow;
		if (!host_ok(v))
			return cs_err_set(CS_EINVAL, "%s: \"%.100s\" is not HOST[:PORT]", a, v);
		if (*n >= CS_SOURCE_HOSTS_MAX)
			return cs_err_set(CS_EINVAL, "%s: at most %d hosts", a, CS_SOURCE_HOSTS_MAX);
		list[(*n)++] = v;
	} else if (strcmp(a, "--username") == 0) {
		if (strchr(v, ':') != NULL || strlen(v) > 256)
			return cs_err_set(CS_EINVAL, "--username: must not contain ':' (max 256 bytes)");
		o->username = v;
	} else if (strcmp(a, "--registry-retries") == 0) {
		if (parse_uint(&u, v, 20, 0) != 0 || u == 0)
			return cs_err_set(CS_EINVAL, "%s: \"%.32s\" is not a number from 1 to 20", a, v);
		o->retries = (unsigned)u;
	} else if (strcmp(a, "--registry-parallel") == 0) {
		if (parse_uint(&u, v, 16, 0) != 0 || u == 0)
			return cs_err_set(CS_EINVAL, "%s: \"%.32s\" is not a number from 1 to 16", a, v);
		o->parallel = (unsigned)u;
	} else {
		if (parse_uint(&u, v, 86400, 0) != 0 || u == 0)
			return cs_err_set(CS_EINVAL, "%s: \"%.32s\" is not seconds from 1 to 86400", a, v);
		if (strcmp(a, "--connect-timeout") == 0)
			o->connect_timeout = (unsigned)u;
		else
			o->timeout = (unsigned)u;
	}
	(*i)++;
	return 1;
}
