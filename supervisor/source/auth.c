/*
 * auth.c - registry credentials and authentication challenges.
 *
 * Credentials belong to one registry host. They come, first match wins,
 * from --username/--password-stdin, from CELLSCAN_REGISTRY_USERNAME and
 * CELLSCAN_REGISTRY_PASSWORD, or from the docker client's config
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): credHelpers for
 * the host, then credsStore, then auths. Helpers are run as
 * `docker-credential-NAME get` with the server on stdin (their protocol),
 * spawned directly, never through a shell; a secret is never put in argv,
 * never logged and never part of an error message (CVE-2024-35192 in Trivy
 * and GHSA-6gxw-85q2-q646 in Grype printed registry credentials).
 */
#include "supervisor/source/regint.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/errors.h"

extern char **environ;

#define CONFIG_MAX (1u << 20)    /* docker config.json */
#define HELPER_OUT_MAX (64u << 10)
#define HELPER_TIMEOUT_MS 30000
#define SECRET_MAX 16384
#define DOCKERHUB_KEY "https://index.docker.io/v1/"

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void cs_cred_clear(struct cs_cred *c)
{
	wipe_free(c->user);
	wipe_free(c->secret);
	memset(c, 0, sizeof(*c));
}

static int cred_set(struct cs_cred *c, const char *user, size_t ul, const char *secret,
		    size_t sl, const char *from)
{
	if (ul > 1024 || sl > SECRET_MAX)
		return cs_err_set(CS_EFORMAT, "credentials from %s are too long", from);
	c->user = strndup(user, ul);
	c->secret = strndup(secret, sl);
	if (c->user == NULL || c->secret == NULL) {
		cs_cred_clear(c);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	snprintf(c->from, sizeof(c->from), "%s", from);
	return 0;
}

/* The key docker uses for a host in its config and with helpers. */
static const char *server_key(const struct cs_regref *ref)
{
	return ref->dockerhub ? DOCKERHUB_KEY : ref->host;
}

/* "https://Host:5000/v1/" -> "host:5000"; Docker Hub's aliases -> one name. */
static void normalize_key(char *out, size_t n, const char *key)
{
	const char *p = key;
	size_t i = 0;

	if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	while (*p != '\0' && *p != '/' && i + 1 < n)
		out[i++] = (char)tolower((unsigned char)*p++);
	out[i] = '\0';
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "docker.io") == 0 ||
	    strcmp(out, "registry-1.docker.io") == 0)
		snprintf(out, n, "docker.io");
}

static int b64_decode(char **out, size_t *len, const char *in)
{
	size_t il = strlen(in), pad = 0;
	unsigned char *buf;
	int n;

	*out = NULL;
	if (il == 0 || il % 4 != 0 || il > SECRET_MAX * 2)
		return -1;
	buf = malloc(il / 4 * 3 + 1);
	if (buf == NULL)
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)il);
	if (n < 0) {
		free(buf);
		return -1;
	}
	if (in[il - 1] == '=')
		pad++;
	if (in[il - 2] == '=')
		pad++;
	*len = (size_t)n - pad;
	buf[*len] = '\0';
	*out = (char *)buf;
	return 0;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Runs docker-credential-NAME get. Returns 0 with c filled, 0 with c empty
 * when the helper has nothing for the server, or an error naming the helper
 * and the server (never quoting what the helper printed: it may hold the
 * secret). The helper gets HELPER_TIMEOUT_MS in all, from its start to its
 * exit: a helper that trickles bytes, or closes its stdout and lingers, is
 * killed then like one that never answers.
 */
static int run_helper(struct cs_cred *c, const char *name, const char *server)
{
	char prog[128], from[96];
	char *argv[3];
	int in[2] = {-1, -1}, out[2] = {-1, -1}, r = 0, status = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	struct cs_buf buf;
	json_t *doc = NULL;
	const char *u, *s;
	size_t i;
	long deadline;

	cs_buf_init(&buf, HELPER_OUT_MAX);
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return cs_err_set(CS_EINVAL, "docker config names a credential helper with "
					  "unexpected characters");
	if (i == 0 || i > 64)
		return cs_err_set(CS_EINVAL, "docker config names an empty or long credential helper");
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	snprintf(from, sizeof(from), "credential helper %s", prog);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		r = cs_err_set(CS_EIO, "pipe: %s", strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	{
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
		posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
		/* its diagnostics could echo what it read; keep them off our stderr */
		if (devnull >= 0)
			posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO);
		argv[0] = prog;
		argv[1] = (char *)"get";
		argv[2] = NULL;
		r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		if (devnull >= 0)
			close(devnull);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (r != 0) {
		pid = -1;
		r = cs_err_set(CS_EAUTH, "%s (for %.200s): cannot run it: %s", from, server,
			       strerror(r));
		goto out;
	}
	deadline = mono_ms() + HELPER_TIMEOUT_MS;
	{
		/* The helper reads the whole server URL; a closed pipe ends it.
		 * SIGPIPE is blocked in this thread only (pulls run on several
		 * threads: changing the process's disposition would race), and
		 * the one our write raised is taken back before unblocking. */
		size_t sl = strlen(server), off = 0;
		sigset_t pipe_set, old_mask, pending;
		int was_pending, broke = 0;

		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		sigemptyset(&pending);
		sigpending(&pending);
		was_pending = sigismember(&pending, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
		while (off < sl) {
			ssize_t w = write(in[1], server + off, sl - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				broke = w < 0 && errno == EPIPE;
				break;
			}
			off += (size_t)w;
		}
		if (broke && !was_pending) {
			struct timespec zero = {0, 0};

			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
		}
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		close(in[1]);
		in[1] = -1;
	}
	for (;;) {
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		char tmp[4096];
		ssize_t n;
		long left = deadline - mono_ms();
		int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			r = cs_err_set(CS_ETIMEOUT, "%s gave no complete answer for %.200s "
				       "within %d s", from, server, HELPER_TIMEOUT_MS / 1000);
			goto out;
		}
		n = read(out[0], tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (cs_buf_add(&buf, tmp, (size_t)n) != 0) {
			explicit_bzero(tmp, sizeof(tmp));
			r = cs_err_set(CS_ELIMIT, "%s gave an answer for %.200s longer than "
				       "%u bytes", from, server, HELPER_OUT_MAX);
			goto out;
		}
		explicit_bzero(tmp, sizeof(tmp));
	}
	/* its stdout is closed; it must still exit within the same deadline */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct timespec ts = {0, 10 * 1000000L};
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = cs_err_set(CS_EIO, "%s (for %.200s): waitpid: %s", from, server,
				       strerror(errno));
			goto out;
		}
		if (mono_ms() >= deadline) {
			r = cs_err_set(CS_ETIMEOUT, "%s did not exit within %d s (for %.200s)",
				       from, HELPER_TIMEOUT_MS / 1000, server);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the protocol's "not found" answer is a normal miss */
		if (buf.len > 0 && memmem(buf.data, buf.len, "credentials not found", 21) != NULL) {
			r = 0;
			goto out;
		}
		r = cs_err_set(CS_EAUTH, "%s failed for %.200s (exit status %d)", from, server,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		goto out;
	}
	doc = json_loadb((const char *)buf.data, buf.len, 0, NULL);
	if (!json_is_object(doc)) {
		r = cs_err_set(CS_EAUTH, "%s gave an answer for %.200s that is not a JSON object",
			       from, server);
		goto out;
	}
	u = json_string_value(json_object_get(doc, "Username"));
	s = json_string_value(json_object_get(doc, "Secret"));
	if (u == NULL || s == NULL) {
		r = cs_err_set(CS_EAUTH, "%s gave an answer for %.200s without Username and Secret",
			       from, server);
		goto out;
	}
	if (s[0] == '\0')
		goto out;
	if ((r = cred_set(c, u, strlen(u), s, strlen(s), from)) != 0)
		goto out;
	/* helpers mark an identity (refresh) token with this user name */
	if (strcmp(u, "<token>") == 0)
		c->identity_token = 1;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (doc != NULL) {
		/* jansson keeps its own copies of the strings; wipe what we can */
		json_t *sv = json_object_get(doc, "Secret");
		if (json_is_string(sv))
			explicit_bzero((char *)json_string_value(sv), json_string_length(sv));
		json_decref(doc);
	}
	if (buf.data != NULL)
		explicit_bzero(buf.data, buf.len);
	cs_buf_free(&buf);
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return r;
}

static int from_auths(struct cs_cred *c, json_t *auths, const struct cs_regref *ref)
{
	const char *key;
	json_t *e;
	char want[CS_HOST_MAX], have[CS_HOST_MAX];

	normalize_key(want, sizeof(want), server_key(ref));
	json_object_foreach(auths, key, e) {
		const char *a, *u, *p, *it;
		char *dec = NULL, *colon;
		size_t dl;
		int r;

		normalize_key(have, sizeof(have), key);
		if (strcmp(have, want) != 0 || !json_is_object(e))
			continue;
		it = json_string_value(json_object_get(e, "identitytoken"));
		a = json_string_value(json_object_get(e, "auth"));
		u = json_string_value(json_object_get(e, "username"));
		p = json_string_value(json_object_get(e, "password"));
		if (it != NULL && it[0] != '\0') {
			if ((r = cred_set(c, "<token>", 7, it, strlen(it), "docker config (auths)")) != 0)
				return r;
			c->identity_token = 1;
			return 0;
		}
		if (a != NULL && a[0] != '\0') {
			if (b64_decode(&dec, &dl, a) != 0 || (colon = memchr(dec, ':', dl)) == NULL) {
				if (dec != NULL)
					explicit_bzero(dec, dl);
				free(dec);
				return cs_err_set(CS_EFORMAT, "docker config: the \"auth\" of %.100s is not "
						  "base64 of user:password", have);
			}
			r = cred_set(c, dec, (size_t)(colon - dec), colon + 1,
				     dl - (size_t)(colon - dec) - 1, "docker config (auths)");
			explicit_bzero(dec, dl);
			free(dec);
			return r;
		}
		if (u != NULL && p != NULL)
			return cred_set(c, u, strlen(u), p, strlen(p), "docker config (auths)");
	}
	return 0;
}

static int from_docker_config(struct cs_cred *c, const struct cs_regref *ref)
{
	char path[4096];
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	json_t *doc = NULL, *helpers;
	json_error_t je;
	const char *key, *store;
	json_t *v;
	char want[CS_HOST_MAX], have[CS_HOST_MAX];
	struct stat st;
	int r = 0, fd;
	FILE *f;

	if (dc != NULL && dc[0] != '\0')
		snprintf(path, sizeof(path), "%s/config.json", dc);
	else if (home != NULL && home[0] != '\0')
		snprintf(path, sizeof(path), "%s/.docker/config.json", home);
	else
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX) {
		close(fd);
		return cs_err_set(CS_EFORMAT, "%s: not a regular file of at most 1 MiB", path);
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!json_is_object(doc)) {
		/* je.text may quote the file (secrets): say where, not what */
		r = cs_err_set(CS_EFORMAT, "%s: not valid JSON (line %d)", path, je.line);
		goto out;
	}
	normalize_key(want, sizeof(want), server_key(ref));
	helpers = json_object_get(doc, "credHelpers");
	json_object_foreach(helpers, key, v) {
		normalize_key(have, sizeof(have), key);
		if (strcmp(have, want) == 0 && json_is_string(v)) {
			r = run_helper(c, json_string_value(v), server_key(ref));
			goto out;
		}
	}
	store = json_string_value(json_object_get(doc, "credsStore"));
	if (store != NULL && store[0] != '\0') {
		if ((r = run_helper(c, store, server_key(ref))) != 0 || c->user != NULL)
			goto out;
	}
	r = from_auths(c, json_object_get(doc, "auths"), ref);
out:
	json_decref(doc);
	return r;
}

int cs_cred_lookup(struct cs_cred *c, const struct cs_regref *ref, const struct cs_source_opts *o)
{
	const char *eu = getenv("CELLSCAN_REGISTRY_USERNAME");
	const char *ep = getenv("CELLSCAN_REGISTRY_PASSWORD");

	memset(c, 0, sizeof(*c));
	if (o->username != NULL || o->password != NULL) {
		if (o->username == NULL || o->password == NULL)
			return cs_err_set(CS_EINVAL, "--username and --password-stdin go together");
		return cred_set(c, o->username, strlen(o->username), o->password,
				strlen(o->password), "--username/--password-stdin");
	}
	if (eu != NULL && eu[0] != '\0') {
		if (ep == NULL)
			return cs_err_set(CS_EINVAL, "CELLSCAN_REGISTRY_USERNAME is set but "
					  "CELLSCAN_REGISTRY_PASSWORD is not");
		return cred_set(c, eu, strlen(eu), ep, strlen(ep), "environment");
	}
	if (o->no_docker_config)
		return 0;
	return from_docker_config(c, ref);
}

int cs_auth_basic(char *out, size_t n, const struct cs_cred *c)
{
	size_t ul = strlen(c->user), sl = strlen(c->secret), raw_len, need;
	char *raw;

	if (__builtin_add_overflow(ul, sl + 1, &raw_len))
		return cs_err_set(CS_ELIMIT, "credentials too long");
	need = 6 + (raw_len + 2) / 3 * 4 + 1;
	if (need > n)
		return cs_err_set(CS_ELIMIT, "credentials too long");
	raw = malloc(raw_len + 1);
	if (raw == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	memcpy(raw, c->user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, c->secret, sl);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)raw, (int)raw_len);
	explicit_bzero(raw, raw_len);
	free(raw);
	return 0;
}

/* ---- WWW-Authenticate (RFC 7235 section 4.1, RFC 6750 section 3) ---- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int cs_challenge_parse(struct cs_challenge *ch, const char *value)
{
	const char *p = skip_ws(value), *s;
	size_t n, nparams = 0;

	memset(ch, 0, sizeof(*ch));
	for (s = p; is_tchar(*p); p++)
		;
	n = (size_t)(p - s);
	if (n == 5 && strncasecmp(s, "Basic", 5) == 0)
		ch->scheme = CS_AUTH_BASIC;
	else if (n == 6 && strncasecmp(s, "Bearer", 6) == 0)
		ch->scheme = CS_AUTH_BEARER;
	else
		return cs_err_set(CS_EUNSUPPORTED, "the registry asks for authentication scheme "
				  "\"%.*s\" (only Basic and Bearer are supported)", (int)(n > 32 ? 32 : n), s);
	p = skip_ws(p);
	while (*p != '\0') {
		char name[32], val[2048];
		size_t nl = 0, vl = 0;
		char *dst = NULL;
		size_t dn = 0;

		for (s = p; is_tchar(*p); p++)
			if (nl + 1 < sizeof(name))
				name[nl++] = *p;
		name[nl] = '\0';
		if (p == s)
			return cs_err_set(CS_EFORMAT, "malformed WWW-Authenticate header");
		p = skip_ws(p);
		if (*p != '=') {
			/* "Basic realm=x, Bearer realm=y": a second challenge; keep the first */
			if (nparams > 0)
				break;
			return cs_err_set(CS_EFORMAT, "malformed WWW-Authenticate header");
		}
		nparams++;
		p = skip_ws(p + 1);
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return cs_err_set(CS_EFORMAT, "malformed WWW-Authenticate header");
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (vl + 1 >= sizeof(val))
					return cs_err_set(CS_ELIMIT, "WWW-Authenticate parameter too long");
				val[vl++] = *p;
			}
			p++;
		} else {
			for (; is_tchar(*p) || *p == '/' || *p == ':'; p++) {
				if (vl + 1 >= sizeof(val))
					return cs_err_set(CS_ELIMIT, "WWW-Authenticate parameter too long");
				val[vl++] = *p;
			}
		}
		val[vl] = '\0';
		if (strcasecmp(name, "realm") == 0)
			dst = ch->realm, dn = sizeof(ch->realm);
		else if (strcasecmp(name, "service") == 0)
			dst = ch->service, dn = sizeof(ch->service);
		else if (strcasecmp(name, "scope") == 0)
			dst = ch->scope, dn = sizeof(ch->scope);
		else if (strcasecmp(name, "error") == 0)
			dst = ch->error, dn = sizeof(ch->error);
		if (dst != NULL) {
			if (vl >= dn)
				return cs_err_set(CS_ELIMIT, "WWW-Authenticate %s too long", name);
			memcpy(dst, val, vl + 1);
		}
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p != '\0')
			return cs_err_set(CS_EFORMAT, "malformed WWW-Authenticate header");
	}
	if (ch->scheme == CS_AUTH_BEARER && ch->realm[0] == '\0')
		return cs_err_set(CS_EFORMAT, "Bearer challenge without a realm");
	return 0;
}
