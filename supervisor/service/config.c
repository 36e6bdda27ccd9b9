/*
 * config.c - the serve configuration: defaults, the JSON file, the secrets
 * it names. Strict: an unknown key is an error naming it, so a typo never
 * silently falls back to a default (docs/service.md).
 */
#include "supervisor/service/service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"

void cs_service_config_init(struct cs_service_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_port = 8080;
	c->concurrency = 2;
	c->max_connections = 64;
	c->connection_timeout = 30;
	c->request_timeout = 30;
	c->max_body = 1u << 20;
	c->max_header = 32u << 10;
	c->lease_seconds = 120;
	c->grace_seconds = 30;
	c->max_attempts = 5;
	c->backoff_base = 30;
	c->backoff_max = 3600;
	c->review_deadline_ms = 10000;
	c->alert_timeout = 10;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void cs_service_config_clear(struct cs_service_config *c)
{
	size_t i, k;

	free(c->listen_host);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->state_dir);
	free(c->store_url);
	free(c->vulndb);
	free(c->policy_file);
	wipe_free(c->webhook_secret);
	free(c->ca_file);
	free(c->cache_dir);
	free(c->docker_config);
	free(c->instance);
	free(c->worker);
	for (i = 0; i < c->nregistries; i++) {
		free(c->registries[i].host);
		for (k = 0; k < c->registries[i].naliases; k++)
			free(c->registries[i].aliases[k]);
	}
	for (i = 0; i < c->nalerts; i++) {
		free(c->alerts[i].url);
		wipe_free(c->alerts[i].secret);
	}
	cs_service_config_init(c);
}

int cs_service_read_secret(char **out, const char *path)
{
	char buf[CS_SERVICE_MAX_SECRET + 2];
	size_t got = 0;
	ssize_t n;
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cs_err_set(CS_EIO, "secret file %s: %s", path, strerror(errno));
	for (;;) {
		if (got >= sizeof(buf) - 1) {
			r = cs_err_set(CS_ELIMIT, "secret file %s: longer than %u bytes", path,
				       CS_SERVICE_MAX_SECRET);
			goto out;
		}
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cs_err_set(CS_EIO, "secret file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > CS_SERVICE_MAX_SECRET) {
		r = cs_err_set(CS_ELIMIT, "secret file %s: longer than %u bytes", path,
			       CS_SERVICE_MAX_SECRET);
		goto out;
	}
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		got--;
	buf[got] = '\0';
	if (got == 0 || memchr(buf, '\0', got) != NULL) {
		r = cs_err_set(CS_EINVAL, "secret file %s: empty or not text", path);
		goto out;
	}
	*out = strdup(buf);
	if (*out == NULL)
		r = cs_err_set(CS_ENOMEM, "out of memory");
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

int cs_service_config_listen(struct cs_service_config *c, const char *hostport)
{
	const char *colon, *host = hostport;
	size_t hl;
	char *end;
	unsigned long port;

	if (hostport[0] == '[') {
		const char *rb = strchr(hostport, ']');
		if (rb == NULL || rb[1] != ':')
			return cs_err_set(CS_EINVAL, "listen: \"%.64s\" is not [IPV6]:PORT", hostport);
		host = hostport + 1;
		hl = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (colon == NULL)
			return cs_err_set(CS_EINVAL, "listen: \"%.64s\" is not HOST:PORT", hostport);
		hl = (size_t)(colon - hostport);
	}
	if (hl == 0 || hl > 255)
		return cs_err_set(CS_EINVAL, "listen: bad host in \"%.64s\"", hostport);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535)
		return cs_err_set(CS_EINVAL, "listen: bad port in \"%.64s\"", hostport);
	free(c->listen_host);
	c->listen_host = strndup(host, hl);
	if (c->listen_host == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	c->listen_port = (unsigned)port;
	return 0;
}

/* ---- the JSON file ------------------------------------------------------- */

static int set_str(char **dst, const json_t *v, const char *key)
{
	const char *s = json_string_value(v);

	if (s == NULL || s[0] == '\0' || strlen(s) > PATH_MAX)
		return cs_err_set(CS_EINVAL, "%s: must be a non-empty string", key);
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
}

static int set_uint(unsigned *dst, const json_t *v, const char *key, unsigned lo, unsigned hi)
{
	json_int_t n;

	if (!json_is_integer(v))
		return cs_err_set(CS_EINVAL, "%s: must be an integer", key);
	n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return cs_err_set(CS_EINVAL, "%s: must be between %u and %u", key, lo, hi);
	*dst = (unsigned)n;
	return 0;
}

static int set_bool(int *dst, const json_t *v, const char *key)
{
	if (!json_is_boolean(v))
		return cs_err_set(CS_EINVAL, "%s: must be true or false", key);
	*dst = json_is_true(v);
	return 0;
}

/* Every key of o must be in names (NULL-terminated). */
static int only_keys(const json_t *o, const char *where, const char *const *names)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return cs_err_set(CS_EINVAL, "%s: must be an object", where);
	json_object_foreach((json_t *)o, k, v) {
		size_t i;
		int known = 0;
		(void)v;
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(k, names[i]) == 0)
				known = 1;
		if (!known)
			return cs_err_set(CS_EINVAL, "%s%s%.64s: unknown key", where,
					  where[0] ? "." : "", k);
	}
	return 0;
}

static int load_registries(struct cs_service_config *c, const json_t *a)
{
	static const char *const keys[] = { "host", "aliases", "insecure", NULL };
	const json_t *e, *al;
	size_t i, k;
	char where[64];
	int r;

	if (!json_is_array(a) || json_array_size(a) > CS_SERVICE_MAX_REGISTRIES)
		return cs_err_set(CS_EINVAL, "registries: must be an array of at most %d objects",
				  CS_SERVICE_MAX_REGISTRIES);
	json_array_foreach((json_t *)a, i, e) {
		struct cs_service_registry *g = &c->registries[c->nregistries];
		snprintf(where, sizeof(where), "registries[%zu]", i);
		if ((r = only_keys(e, where, keys)) != 0)
			return r;
		if (c->nregistries >= CS_SERVICE_MAX_REGISTRIES)
			return cs_err_set(CS_EINVAL, "registries: too many");
		c->nregistries++;
		if ((r = set_str(&g->host, json_object_get(e, "host"), "registries[].host")) != 0)
			return r;
		if (json_object_get(e, "insecure") != NULL &&
		    (r = set_bool(&g->insecure, json_object_get(e, "insecure"), "registries[].insecure")) != 0)
			return r;
		al = json_object_get(e, "aliases");
		if (al == NULL)
			continue;
		if (!json_is_array(al) || json_array_size(al) > CS_SERVICE_MAX_ALIASES)
			return cs_err_set(CS_EINVAL, "%s.aliases: an array of at most %d strings", where,
					  CS_SERVICE_MAX_ALIASES);
		for (k = 0; k < json_array_size(al); k++) {
			if ((r = set_str(&g->aliases[g->naliases], json_array_get(al, k),
					 "registries[].aliases[]")) != 0)
				return r;
			g->naliases++;
		}
	}
	return 0;
}

static int load_alerts(struct cs_service_config *c, const json_t *a)
{
	static const char *const keys[] = { "url", "secret_file", NULL };
	const json_t *e;
	size_t i;
	char where[64];
	int r;

	if (!json_is_array(a) || json_array_size(a) > CS_SERVICE_MAX_ALERT_TARGETS)
		return cs_err_set(CS_EINVAL, "alerts: must be an array of at most %d objects",
				  CS_SERVICE_MAX_ALERT_TARGETS);
	json_array_foreach((json_t *)a, i, e) {
		struct cs_service_alert_target *t = &c->alerts[c->nalerts];
		const char *url;
		snprintf(where, sizeof(where), "alerts[%zu]", i);
		if ((r = only_keys(e, where, keys)) != 0)
			return r;
		c->nalerts++;
		if ((r = set_str(&t->url, json_object_get(e, "url"), "alerts[].url")) != 0)
			return r;
		url = t->url;
		if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
			return cs_err_set(CS_EINVAL, "%s.url: must be an http or https URL", where);
		if (json_string_value(json_object_get(e, "secret_file")) == NULL)
			return cs_err_set(CS_EINVAL, "%s.secret_file: required (alerts are signed)",
					  where);
		if ((r = cs_service_read_secret(&t->secret, json_string_value(
							json_object_get(e, "secret_file")))) != 0)
			return cs_err_prefix(r, "%s.secret_file", where);
	}
	return 0;
}

static int load_object(struct cs_service_config *c, const json_t *root)
{
	static const char *const keys[] = {
		"listen", "tls", "state_dir", "store", "vulndb", "policy", "webhook_secret_file",
		"ca_file", "cache_dir", "docker_config", "instance", "worker", "concurrency",
		"registries", "alerts", "limits", "queue", "imagereview", "alert_timeout",
		"allow_local_sources", "scan_timeout", "vulndb_check_ms", NULL };
	static const char *const tls_keys[] = { "cert", "key", NULL };
	static const char *const lim_keys[] = { "max_connections", "connection_timeout",
		"request_timeout", "max_body", "max_header", NULL };
	static const char *const q_keys[] = { "lease_seconds", "grace_seconds", "max_attempts",
		"backoff_base", "backoff_max", NULL };
	static const char *const ir_keys[] = { "deadline_ms", "default_allow", "allow_error",
		NULL };
	const json_t *v, *o;
	unsigned u;
	int r;

	if ((r = only_keys(root, "", keys)) != 0)
		return r;
#define STR(key, field) \
	if ((v = json_object_get(root, key)) != NULL && (r = set_str(&c->field, v, key)) != 0) \
		return r
	if ((v = json_object_get(root, "listen")) != NULL) {
		if (!json_is_string(v))
			return cs_err_set(CS_EINVAL, "listen: must be \"HOST:PORT\"");
		if ((r = cs_service_config_listen(c, json_string_value(v))) != 0)
			return r;
	}
	STR("state_dir", state_dir);
	STR("store", store_url);
	STR("vulndb", vulndb);
	STR("policy", policy_file);
	STR("ca_file", ca_file);
	STR("cache_dir", cache_dir);
	STR("docker_config", docker_config);
	STR("instance", instance);
	STR("worker", worker);
#undef STR
	if ((v = json_object_get(root, "webhook_secret_file")) != NULL) {
		if (!json_is_string(v))
			return cs_err_set(CS_EINVAL, "webhook_secret_file: must be a path");
		free(c->webhook_secret);
		c->webhook_secret = NULL;
		if ((r = cs_service_read_secret(&c->webhook_secret, json_string_value(v))) != 0)
			return cs_err_prefix(r, "webhook_secret_file");
	}
	if ((o = json_object_get(root, "tls")) != NULL) {
		if ((r = only_keys(o, "tls", tls_keys)) != 0 ||
		    (r = set_str(&c->tls_cert, json_object_get(o, "cert"), "tls.cert")) != 0 ||
		    (r = set_str(&c->tls_key, json_object_get(o, "key"), "tls.key")) != 0)
			return r;
	}
	if ((v = json_object_get(root, "concurrency")) != NULL &&
	    (r = set_uint(&c->concurrency, v, "concurrency", 1, 64)) != 0)
		return r;
	if ((v = json_object_get(root, "alert_timeout")) != NULL &&
	    (r = set_uint(&c->alert_timeout, v, "alert_timeout", 1, 300)) != 0)
		return r;
	if ((v = json_object_get(root, "scan_timeout")) != NULL &&
	    (r = set_uint(&c->scan_timeout, v, "scan_timeout", 1, 86400)) != 0)
		return r;
	if ((v = json_object_get(root, "vulndb_check_ms")) != NULL &&
	    (r = set_uint(&c->vulndb_check_ms, v, "vulndb_check_ms", 100, 3600000)) != 0)
		return r;
	if ((v = json_object_get(root, "allow_local_sources")) != NULL &&
	    (r = set_bool(&c->allow_local_sources, v, "allow_local_sources")) != 0)
		return r;
	if ((v = json_object_get(root, "registries")) != NULL && (r = load_registries(c, v)) != 0)
		return r;
	if ((v = json_object_get(root, "alerts")) != NULL && (r = load_alerts(c, v)) != 0)
		return r;
	if ((o = json_object_get(root, "limits")) != NULL) {
		if ((r = only_keys(o, "limits", lim_keys)) != 0)
			return r;
		if ((v = json_object_get(o, "max_connections")) != NULL &&
		    (r = set_uint(&c->max_connections, v, "limits.max_connections", 1, 10000)) != 0)
			return r;
		if ((v = json_object_get(o, "connection_timeout")) != NULL &&
		    (r = set_uint(&c->connection_timeout, v, "limits.connection_timeout", 1, 3600)) != 0)
			return r;
		if ((v = json_object_get(o, "request_timeout")) != NULL &&
		    (r = set_uint(&c->request_timeout, v, "limits.request_timeout", 1, 3600)) != 0)
			return r;
		if ((v = json_object_get(o, "max_body")) != NULL) {
			if ((r = set_uint(&u, v, "limits.max_body", 1024, 64u << 20)) != 0)
				return r;
			c->max_body = u;
		}
		if ((v = json_object_get(o, "max_header")) != NULL) {
			if ((r = set_uint(&u, v, "limits.max_header", 4096, 1u << 20)) != 0)
				return r;
			c->max_header = u;
		}
	}
	if ((o = json_object_get(root, "queue")) != NULL) {
		if ((r = only_keys(o, "queue", q_keys)) != 0)
			return r;
		if ((v = json_object_get(o, "lease_seconds")) != NULL &&
		    (r = set_uint(&c->lease_seconds, v, "queue.lease_seconds", 3, 86400)) != 0)
			return r;
		if ((v = json_object_get(o, "grace_seconds")) != NULL &&
		    (r = set_uint(&c->grace_seconds, v, "queue.grace_seconds", 0, 3600)) != 0)
			return r;
		if ((v = json_object_get(o, "max_attempts")) != NULL &&
		    (r = set_uint(&c->max_attempts, v, "queue.max_attempts", 1, 100)) != 0)
			return r;
		if ((v = json_object_get(o, "backoff_base")) != NULL &&
		    (r = set_uint(&c->backoff_base, v, "queue.backoff_base", 1, 86400)) != 0)
			return r;
		if ((v = json_object_get(o, "backoff_max")) != NULL &&
		    (r = set_uint(&c->backoff_max, v, "queue.backoff_max", 1, 86400 * 7)) != 0)
			return r;
	}
	if ((o = json_object_get(root, "imagereview")) != NULL) {
		if ((r = only_keys(o, "imagereview", ir_keys)) != 0)
			return r;
		if ((v = json_object_get(o, "deadline_ms")) != NULL &&
		    (r = set_uint(&c->review_deadline_ms, v, "imagereview.deadline_ms", 0, 600000)) != 0)
			return r;
		if ((v = json_object_get(o, "default_allow")) != NULL &&
		    (r = set_bool(&c->review_default_allow, v, "imagereview.default_allow")) != 0)
			return r;
		if ((v = json_object_get(o, "allow_error")) != NULL &&
		    (r = set_bool(&c->review_allow_error, v, "imagereview.allow_error")) != 0)
			return r;
	}
	return 0;
}

int cs_service_config_load(struct cs_service_config *c, const char *path)
{
	json_error_t je;
	json_t *root;
	int r;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return cs_err_set(CS_EINVAL, "%s:%d: %s", path, je.line, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return cs_err_set(CS_EINVAL, "%s: must hold one JSON object", path);
	}
	r = load_object(c, root);
	json_decref(root);
	if (r != 0)
		return cs_err_prefix(r, "%s", path);
	return 0;
}

static int join_path(char **dst, const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;

	if (n > PATH_MAX)
		return cs_err_set(CS_ELIMIT, "path too long: %.64s/%s", dir, name);
	*dst = malloc(n);
	if (*dst == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	snprintf(*dst, n, "%s/%s", dir, name);
	return 0;
}

int cs_service_config_finish(struct cs_service_config *c)
{
	int r;

	if (c->state_dir == NULL)
		return cs_err_set(CS_EINVAL, "no state directory (--state-dir DIR or \"state_dir\")");
	if (mkdir(c->state_dir, 0700) != 0 && errno != EEXIST)
		return cs_err_set(CS_EIO, "state directory %s: %s", c->state_dir, strerror(errno));
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return cs_err_set(CS_EINVAL, "tls: give both cert and key");
	if (c->listen_host == NULL && (c->listen_host = strdup("127.0.0.1")) == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if (c->store_url == NULL && (r = join_path(&c->store_url, c->state_dir, "cellscan.sqlite")) != 0)
		return r;
	if (c->cache_dir == NULL && (r = join_path(&c->cache_dir, c->state_dir, "cache")) != 0)
		return r;
	if (c->instance == NULL) {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		if ((c->instance = strdup(host)) == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if (strchr(c->instance, ':') != NULL || strlen(c->instance) > 200)
		return cs_err_set(CS_EINVAL, "instance: at most 200 characters, no ':'");
	if (c->backoff_max < c->backoff_base)
		return cs_err_set(CS_EINVAL, "queue.backoff_max is below queue.backoff_base");
	return 0;
}
