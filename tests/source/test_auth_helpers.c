/*
 * Docker credential helpers (credsStore, credHelpers) against the real
 * docker-registry with htpasswd of tests/source/auth_env.sh.
 *
 * The helper is a shell script written here, docker-credential-cstest in a
 * temporary bin/ put first on PATH, that speaks the helper protocol: it
 * records its argv and the exact bytes of its stdin, then answers according
 * to $CSTEST_MODE (ok, notfound, fail, badjson, huge, hang, closed,
 * dribble). docker-credential-cstest-store always answers with a wrong
 * password, to show which helper was used.
 *
 * Checked: pulls succeed with the helper's credentials (image digests from
 * auth_image.py); the helper gets argv "get" and exactly the registry host
 * on stdin; every broken helper gives one line naming the helper and the
 * registry, within the 30 s helper timeout plus a margin, never a hang;
 * credHelpers beats credsStore; the password appears in no message, no
 * stderr and no server log; credentials are not sent to a redirect target
 * on another host nor to a token service on another host (unless
 * allowed), and the helper is never asked for those hosts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/source/source.h"
#include "tests/harness.h"
#include "tests/source/test_auth_env.h"

/* helper timeout in auth.c (30 s) plus slack for a slow sanitizer build */
#define HELPER_DEADLINE_S 45.0

static struct authenv E;
static char reg[128], pass[128];

static const char helper_fmt[] =
	"#!/bin/sh\n"
	"# a docker credential helper for test_auth_helpers.c\n"
	"d='%s'\n"
	"name=${0##*/}\n"
	"f=\"$d/calls/$name.$$\"\n"
	"printf '%%s' \"$*\" >\"$f.argv\"\n"
	"cat >\"$f.stdin\"\n"
	"user=$(sed -n 1p \"$d/secret\")\n"
	"pass=$(sed -n 2p \"$d/secret\")\n"
	"if [ \"$name\" = docker-credential-cstest-store ]; then\n"
	"  printf '{\"ServerURL\":\"%%s\",\"Username\":\"%%s\",\"Secret\":\"wrong-%%s\"}\\n' "
	"\"$(cat \"$f.stdin\")\" \"$user\" \"$pass\"\n"
	"  exit 0\n"
	"fi\n"
	"case \"${CSTEST_MODE:-ok}\" in\n"
	"ok) printf '{\"ServerURL\":\"%%s\",\"Username\":\"%%s\",\"Secret\":\"%%s\"}\\n' "
	"\"$(cat \"$f.stdin\")\" \"$user\" \"$pass\" ;;\n"
	"notfound) echo 'credentials not found in native keychain'; exit 1 ;;\n"
	"fail) echo \"cannot unlock the keychain for $pass\" >&2; echo \"error: $pass\";"
	" exit 3 ;;\n"
	"badjson) printf '{\"ServerURL\":\"x\",\"Username\":\"%%s\",\"Secret\":\"%%s\"' \"$user\" "
	"\"$pass\" ;;\n"
	"huge) yes \"{\\\"Secret\\\":\\\"$pass\\\"}\" | head -c 4000000 ;;\n"
	"hang) exec sleep 120 ;;\n"
	"closed) exec >&-; exec sleep 120 ;;\n"
	"dribble) i=0; while [ $i -lt 40 ]; do printf ' '; sleep 2; i=$((i + 1)); done; "
	"printf '{}' ;;\n"
	"esac\n";

static void setup_helpers(void)
{
	char p[700], q[700], script[4096], secret[300];

	snprintf(p, sizeof(p), "%s/bin", E.dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/calls", E.dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/dc", E.dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/secret", E.dir);
	snprintf(secret, sizeof(secret), "%s\n%s\n", env_var(&E, "REG_USER"), pass);
	CHECK(write_text(p, secret) == 0);
	snprintf(script, sizeof(script), helper_fmt, E.dir);
	snprintf(p, sizeof(p), "%s/bin/docker-credential-cstest", E.dir);
	CHECK(write_text(p, script) == 0);
	CHECK(chmod(p, 0755) == 0);
	snprintf(q, sizeof(q), "%s/bin/docker-credential-cstest-store", E.dir);
	CHECK(symlink(p, q) == 0);
	{
		const char *path = getenv("PATH");
		char np[8192];
		snprintf(np, sizeof(np), "%s/bin:%s", E.dir, path ? path : "/usr/bin:/bin");
		setenv("PATH", np, 1);
	}
	snprintf(p, sizeof(p), "%s/dc", E.dir);
	setenv("DOCKER_CONFIG", p, 1);
	unsetenv("CELLSCAN_REGISTRY_USERNAME");
	unsetenv("CELLSCAN_REGISTRY_PASSWORD");
	unsetenv("CSTEST_MODE");
}

static void docker_config(const char *json)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/dc/config.json", E.dir);
	CHECK(write_text(p, json) == 0);
}

/* Forgets the recorded helper calls. */
static void calls_reset(void)
{
	char p[700];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/calls", E.dir);
	d = opendir(p);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char f[1000];
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
		unlink(f);
	}
	closedir(d);
}

/*
 * The calls recorded since calls_reset(): how many of helper NAME, and
 * whether each had argv "get" and stdin exactly want_stdin.
 */
static int calls_of(const char *name, const char *want_stdin, int *all_right)
{
	char p[700];
	DIR *d;
	struct dirent *de;
	int n = 0;
	size_t nl = strlen(name);

	*all_right = 1;
	snprintf(p, sizeof(p), "%s/calls", E.dir);
	d = opendir(p);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char f[1000];
		size_t len = 0, dl = strlen(de->d_name);
		uint8_t *s;
		/* NAME.PID.stdin, and NAME.PID.argv beside it */
		if (dl < nl + 7 || strncmp(de->d_name, name, nl) != 0 || de->d_name[nl] != '.' ||
		    strspn(de->d_name + nl + 1, "0123456789") != dl - nl - 7 ||
		    strcmp(de->d_name + dl - 6, ".stdin") != 0)
			continue;
		n++;
		snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
		s = cs_test_read_file(f, &len);
		if (s == NULL || len != strlen(want_stdin) || memcmp(s, want_stdin, len) != 0) {
			fprintf(stderr, "helper %s got stdin \"%.*s\", expected \"%s\"\n", name,
				s ? (int)len : 0, s ? (const char *)s : "", want_stdin);
			*all_right = 0;
		}
		free(s);
		snprintf(f + strlen(f) - 6, sizeof(f) - strlen(f) + 6, ".argv");
		s = cs_test_read_file(f, &len);
		if (s == NULL || len != 3 || memcmp(s, "get", 3) != 0) {
			fprintf(stderr, "helper %s got argv \"%s\", expected \"get\"\n", name,
				s ? (const char *)s : "(none)");
			*all_right = 0;
		}
		free(s);
	}
	closedir(d);
	return n;
}

/* A failure message is one line, names the helper and the registry, and
 * holds no secret. */
static void check_helper_error(const struct pull *p, const char *helper, const char *host)
{
	/* the source prefixes the reference (and so the host): the helper's own
	 * message must name the host too, after the helper */
	const char *h = strstr(p->msg, helper);
	int named = h != NULL && strstr(h + strlen(helper), host) != NULL;

	CHECK(p->rc != 0);
	CHECK(strchr(p->msg, '\n') == NULL);
	CHECK(named);
	CHECK(strstr(p->msg, pass) == NULL);
	CHECK(!file_has(p->err_path, pass));
	if (p->rc == 0 || !named)
		fprintf(stderr, "  message was: %s\n", p->msg);
}

static void test_store_and_helpers(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	char ref[300], cfg[2048];
	int right, n;

	snprintf(ref, sizeof(ref), "%s/cs/auth:latest", reg);

	/* no credentials at all: the registry refuses (the helpers below matter) */
	docker_config("{}");
	pull(&p, &E, "anonymous", ref, &o);
	CHECK(p.rc == CS_EAUTH);
	CHECK(strstr(p.msg, "authentication required") != NULL);

	/* credsStore */
	calls_reset();
	docker_config("{\"credsStore\":\"cstest\"}");
	pull(&p, &E, "store", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	n = calls_of("docker-credential-cstest", reg, &right);
	CHECK(n == 1);
	CHECK(right);

	/* credHelpers for the host */
	calls_reset();
	snprintf(cfg, sizeof(cfg), "{\"credHelpers\":{\"%s\":\"cstest\"}}", reg);
	docker_config(cfg);
	pull(&p, &E, "credhelpers", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(calls_of("docker-credential-cstest", reg, &right) == 1);
	CHECK(right);

	/* the store alone, with its wrong password: rejected (so the next case can fail) */
	calls_reset();
	snprintf(cfg, sizeof(cfg), "{\"credsStore\":\"cstest-store\",\"credHelpers\":"
		 "{\"other.example:5000\":\"cstest\"}}");
	docker_config(cfg);
	pull(&p, &E, "store-wrong", ref, &o);
	CHECK(p.rc == CS_EAUTH);
	CHECK(strstr(p.msg, "rejected the credentials from credential helper "
			    "docker-credential-cstest-store") != NULL);
	CHECK(strstr(p.msg, pass) == NULL);
	CHECK(calls_of("docker-credential-cstest-store", reg, &right) == 1 && right);
	CHECK(calls_of("docker-credential-cstest", reg, &right) == 0);

	/* credHelpers for this host wins over credsStore: the store is not even run */
	calls_reset();
	snprintf(cfg, sizeof(cfg), "{\"credsStore\":\"cstest-store\",\"credHelpers\":"
		 "{\"https://%s\":\"cstest\"}}", reg);
	docker_config(cfg);
	pull(&p, &E, "helper-over-store", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(calls_of("docker-credential-cstest", reg, &right) == 1 && right);
	CHECK(calls_of("docker-credential-cstest-store", reg, &right) == 0);

	/* the store's "credentials not found" falls through to auths */
	calls_reset();
	setenv("CSTEST_MODE", "notfound", 1);
	{
		char up[300], b64[600];
		unsigned char *u = (unsigned char *)up;
		static const char tbl[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t i, o2 = 0, l;
		snprintf(up, sizeof(up), "%s:%s", env_var(&E, "REG_USER"), pass);
		l = strlen(up);
		for (i = 0; i < l; i += 3) {
			unsigned v = (unsigned)u[i] << 16 |
				     (i + 1 < l ? (unsigned)u[i + 1] << 8 : 0) |
				     (i + 2 < l ? u[i + 2] : 0);
			b64[o2++] = tbl[v >> 18 & 63];
			b64[o2++] = tbl[v >> 12 & 63];
			b64[o2++] = i + 1 < l ? tbl[v >> 6 & 63] : '=';
			b64[o2++] = i + 2 < l ? tbl[v & 63] : '=';
		}
		b64[o2] = '\0';
		snprintf(cfg, sizeof(cfg), "{\"credsStore\":\"cstest\",\"auths\":{\"%s\":"
			 "{\"auth\":\"%s\"}}}", reg, b64);
	}
	docker_config(cfg);
	pull(&p, &E, "store-notfound-auths", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(calls_of("docker-credential-cstest", reg, &right) == 1 && right);
	unsetenv("CSTEST_MODE");
}

/*
 * Broken helpers, each in a child process at the same time (three of them
 * take the helper timeout). Each child writes "rc secs message" to
 * WORKDIR/res.MODE.
 */
static void test_broken_helpers(void)
{
	static const char *const modes[] = {"fail", "badjson", "huge", "hang", "closed", "dribble"};
	enum { NM = sizeof(modes) / sizeof(modes[0]) };
	pid_t pids[NM];
	struct cs_source_opts o = {0};
	char ref[300];
	size_t i;
	double t0 = now_s();

	snprintf(ref, sizeof(ref), "%s/cs/auth:latest", reg);
	docker_config("{\"credsStore\":\"cstest\"}");
	calls_reset();
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < NM; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct pull p;
			char f[700], name[64], line[2300];
			setenv("CSTEST_MODE", modes[i], 1);
			snprintf(name, sizeof(name), "broken-%s", modes[i]);
			pull(&p, &E, name, ref, &o);
			snprintf(f, sizeof(f), "%s/res.%s", E.dir, modes[i]);
			snprintf(line, sizeof(line), "%d %.3f %s", p.rc, p.secs, p.msg);
			_exit(write_text(f, line) == 0 ? 0 : 1);
		}
		CHECK(pids[i] > 0);
	}
	for (i = 0; i < NM; i++) {
		int st = 0;
		/* a child still running well past the helper timeout is the hang */
		while (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == 0) {
			if (now_s() - t0 > 150) {
				fprintf(stderr, "helper mode %s: the pull hangs\n", modes[i]);
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &st, 0);
				break;
			}
			usleep(100000);
		}
	}
	for (i = 0; i < NM; i++) {
		char f[700], *d, *sp;
		struct pull p;
		memset(&p, 0, sizeof(p));
		snprintf(f, sizeof(f), "%s/res.%s", E.dir, modes[i]);
		snprintf(p.err_path, sizeof(p.err_path), "%s/stderr.broken-%s", E.dir, modes[i]);
		d = (char *)cs_test_read_file(f, NULL);
		CHECK(d != NULL);
		if (d == NULL)
			continue;
		p.rc = (int)strtol(d, &sp, 10);
		p.secs = strtod(sp, &sp);
		snprintf(p.msg, sizeof(p.msg), "%s", *sp == ' ' ? sp + 1 : sp);
		free(d);
		printf("  helper mode %-8s rc %d in %.1f s: %s\n", modes[i], p.rc, p.secs, p.msg);
		check_helper_error(&p, "docker-credential-cstest", reg);
		CHECK(p.rc == CS_EAUTH || p.rc == CS_ETIMEOUT || p.rc == CS_ELIMIT ||
		      p.rc == CS_EFORMAT);
		CHECK(p.secs < HELPER_DEADLINE_S);
		if (strcmp(modes[i], "hang") == 0 || strcmp(modes[i], "closed") == 0 ||
		    strcmp(modes[i], "dribble") == 0) {
			CHECK(p.rc == CS_ETIMEOUT);
			CHECK(p.secs > 25.0); /* the documented 30 s, not an instant failure */
		}
		if (strcmp(modes[i], "huge") == 0)
			CHECK(p.rc == CS_ELIMIT);
	}
}

/* Credentials stay with their host: redirects and token realms elsewhere. */
static void test_other_hosts(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	char ref[300], cfg[2048], rules[1024], tok_log[600];
	const char *px = env_var(&E, "PX"), *treg = env_var(&E, "TREG");
	const char *token_host = env_var(&E, "TOKEN_HOST");
	json_t *log, *tl;
	int right;
	size_t i, authed = 0, ok_authed = 0;
	const json_t *x;

	/* a blob redirected to another host: followed without the Authorization header */
	calls_reset();
	snprintf(cfg, sizeof(cfg), "{\"credHelpers\":{\"%s\":\"cstest\"}}", px);
	docker_config(cfg);
	CHECK(proxy_ctl(&E, px, "reset", NULL) == 0);
	snprintf(rules, sizeof(rules), "[{\"match\": \"/blobs/%s$\", \"action\": \"redirect\", "
		 "\"times\": 1}]", expect_layer(&E, 1));
	CHECK(proxy_ctl(&E, px, "rules", rules) == 0);
	snprintf(ref, sizeof(ref), "%s/cs/auth:latest", px);
	pull(&p, &E, "redirect", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	log = proxy_log(&E, px);
	CHECK(log != NULL);
	CHECK(log_count(log, "other", NULL, 0, -1) == 1);       /* the redirect was followed */
	CHECK(log_count(log, "other", NULL, 0, 1) == 0);        /* without credentials */
	CHECK(log_count(log, "tls", NULL, 307, 1) == 1);        /* the registry got them */
	json_decref(log);
	CHECK(calls_of("docker-credential-cstest", px, &right) == 1 && right);
	CHECK(proxy_ctl(&E, px, "reset", NULL) == 0);

	/* a token realm on another host: the helper's credentials are withheld */
	calls_reset();
	snprintf(tok_log, sizeof(tok_log), "%s", env_var(&E, "TOKEN_LOG"));
	CHECK(write_text(tok_log, "") == 0);
	snprintf(cfg, sizeof(cfg), "{\"credHelpers\":{\"%s\":\"cstest\"}}", treg);
	docker_config(cfg);
	snprintf(ref, sizeof(ref), "%s/private/auth:latest", treg);
	pull(&p, &E, "token-withheld", ref, &o);
	CHECK(p.rc == CS_EAUTH);
	CHECK(strstr(p.msg, "were not sent to the token service") != NULL);
	CHECK(strstr(p.msg, token_host) != NULL);
	CHECK(strstr(p.msg, "docker-credential-cstest") != NULL);
	CHECK(strstr(p.msg, pass) == NULL);
	tl = read_jsonl(tok_log);
	CHECK(json_array_size(tl) >= 1);
	json_array_foreach(tl, i, x)
		authed += json_is_true(json_object_get(x, "auth"));
	CHECK(authed == 0);
	json_decref(tl);
	/* asked for the registry only, never for the token host */
	CHECK(calls_of("docker-credential-cstest", treg, &right) == 1 && right);

	/* allowed with --auth-allow-host: one authenticated token request */
	calls_reset();
	CHECK(write_text(tok_log, "") == 0);
	o.auth_allow[0] = token_host;
	o.nauth_allow = 1;
	pull(&p, &E, "token-allowed", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	tl = read_jsonl(tok_log);
	authed = 0;
	json_array_foreach(tl, i, x) {
		authed += json_is_true(json_object_get(x, "auth"));
		ok_authed += json_is_true(json_object_get(x, "auth")) &&
			     json_is_true(json_object_get(x, "ok"));
	}
	CHECK(authed == 1 && ok_authed == 1);
	json_decref(tl);
	CHECK(calls_of("docker-credential-cstest", treg, &right) == 1 && right);
}

/* The password is nowhere but in the files that must hold it. */
static void test_no_leak(void)
{
	static const char *const files[] = {"px.log", "apx.log", "atoken.log", "atoken-server.log",
					    "atreg.log", "env/token.log", "env/logs/basic.log",
					    "env/logs/token-registry.log",
					    "env/logs/token-server.log", "env.log", "push.log"};
	char p[700];
	size_t i;
	DIR *d;
	struct dirent *de;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		env_path(p, sizeof(p), &E, files[i]);
		if (file_has(p, pass)) {
			fprintf(stderr, "the password is in %s\n", p);
			CHECK(0);
		}
	}
	d = opendir(E.dir);
	CHECK(d != NULL);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "stderr.", 7) != 0 && strncmp(de->d_name, "res.", 4) != 0)
			continue;
		env_path(p, sizeof(p), &E, de->d_name);
		if (file_has(p, pass)) {
			fprintf(stderr, "the password is in %s\n", p);
			CHECK(0);
		}
		CHECK(!file_has(p, "AddressSanitizer") && !file_has(p, "runtime error:"));
	}
	if (d != NULL)
		closedir(d);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (env_start(&E, "authh") != 0) {
		CHECK(0);
		env_stop(&E);
		return cs_test_done();
	}
	snprintf(reg, sizeof(reg), "%s", env_var(&E, "REG"));
	snprintf(pass, sizeof(pass), "%s", env_var(&E, "REG_PASS"));
	CHECK(reg[0] != '\0' && strlen(pass) >= 16);
	setup_helpers();
	test_store_and_helpers();
	test_broken_helpers();
	test_other_hosts();
	test_no_leak();
	env_stop(&E);
	return cs_test_done();
}
