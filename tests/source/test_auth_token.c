/*
 * Bearer-token expiry and refresh, against a real docker-registry with token
 * auth (tests/source/auth_env.sh: ATREG behind the fault proxy APX, trusting
 * tests/integration/registry/token_server.py on ATOKEN_HOST, whose mode the
 * test writes between pulls).
 *
 * Delays come from the proxy: a 503 with Retry-After on the config blob
 * makes the pull outlive a token. Rejections come from the registry itself
 * (a token whose JWT exp, plus the registry's 60 s leeway, passes during
 * the delay while its expires_in still says 300 s; tokens signed with a key
 * the registry does not trust) or from the proxy (a 401 with an
 * invalid_token challenge).
 *
 * Checked: a pull that outlives expires_in fetches exactly one new token
 * and sends no request with a stale one; a token refused with 401 mid-pull
 * is replaced once and the request retried once; a token service whose
 * tokens are always refused ends the pull with one clear line, after a
 * bounded number of token requests, instead of looping; a refresh sends the
 * credentials again where they may go, and the password is in no message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/source/source.h"
#include "tests/harness.h"
#include "tests/source/test_auth_env.h"

/* the registry's leeway on a JWT's exp (distribution's token.Leeway) */
#define LEEWAY 60

static struct authenv E;
static char apx[128], cfg_path[128], l1_path[128], ref[300], tok_log[600];

static void mode(const char *json)
{
	CHECK(write_text(env_var(&E, "ATOKEN_MODE"), json) == 0);
	CHECK(write_text(tok_log, "") == 0);
	CHECK(proxy_ctl(&E, apx, "reset", NULL) == 0);
}

static void rules(const char *json)
{
	CHECK(proxy_ctl(&E, apx, "rules", json) == 0);
}

/* The config blob answers 503 once, asking for a wait of secs. */
static void delay_config(int secs)
{
	char r[512];

	snprintf(r, sizeof(r), "[{\"match\": \"%s$\", \"action\": \"status\", \"code\": 503, "
		 "\"headers\": {\"Retry-After\": \"%d\"}, \"times\": 1}]", cfg_path, secs);
	rules(r);
}

/* The first layer answers 401 with an invalid_token challenge, times times. */
static void reject_layer(int times)
{
	char r[1024];

	snprintf(r, sizeof(r), "[{\"match\": \"%s$\", \"action\": \"status\", \"code\": 401, "
		 "\"headers\": {\"WWW-Authenticate\": \"Bearer realm=\\\"https://%s/token\\\","
		 "service=\\\"cellscan-auth-test\\\",scope=\\\"repository:cs/auth:pull\\\","
		 "error=\\\"invalid_token\\\"\"}, \"times\": %d}]", l1_path,
		 env_var(&E, "ATOKEN_HOST"), times);
	rules(r);
}

/* Tokens the service issued since mode(); *authed: of them, with credentials. */
static int tokens_issued(int *authed)
{
	json_t *l = read_jsonl(tok_log);
	const json_t *x;
	size_t i;
	int n = 0, a = 0;

	json_array_foreach(l, i, x) {
		const char *p = json_string_value(json_object_get(x, "path"));
		if (p == NULL || strcmp(p, "/token") != 0 ||
		    !json_is_true(json_object_get(x, "ok")))
			continue;
		n++;
		a += json_is_true(json_object_get(x, "auth"));
	}
	json_decref(l);
	if (authed != NULL)
		*authed = a;
	return n;
}

static void show_log(const json_t *log)
{
	const json_t *x;
	size_t i;

	json_array_foreach(log, i, x)
		fprintf(stderr, "    %s %s auth=%d -> %lld\n",
			json_string_value(json_object_get(x, "method")),
			json_string_value(json_object_get(x, "path")),
			json_is_true(json_object_get(x, "auth")),
			(long long)json_integer_value(json_object_get(x, "status")));
}

/* Statuses of the requests for suffix equal want. */
static int statuses_are(const json_t *log, const char *suffix, const char *want)
{
	char got[256];

	log_statuses(got, sizeof(got), log, suffix);
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "  requests for ...%s: %s, expected %s\n",
		suffix + (strlen(suffix) > 20 ? strlen(suffix) - 20 : 0), got, want);
	return 0;
}

/* Every layer was fetched once, with a token, and answered 200. */
static int layers_once(const json_t *log)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < 3; i++) {
		char s[128];
		snprintf(s, sizeof(s), "/blobs/%s", expect_layer(&E, i));
		ok &= statuses_are(log, s, "200");
		ok &= log_count(log, "tls", s, 200, 1) == 1;
	}
	return ok;
}

/* A failure that is one clear line about this registry and its token. */
static void check_token_error(const struct pull *p)
{
	CHECK(p->rc == CS_EAUTH);
	CHECK(strchr(p->msg, '\n') == NULL);
	CHECK(strstr(p->msg, apx) != NULL);
	CHECK(strstr(p->msg, "invalid_token") != NULL);
	/* it blames the token, not missing credentials */
	CHECK(strstr(p->msg, "rejected the token") != NULL);
	CHECK(strlen(p->msg) < 400);
}

static void test_refresh_before_expiry(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	json_t *log;

	/* expires_in 2 s, a pull of about 3.5 s: one new token, used by all that follows */
	mode("{\"expires_in\": 2, \"lifetime\": 2}");
	delay_config(3);
	pull(&p, &E, "expiry-refresh", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(p.secs >= 3.0);
	CHECK(tokens_issued(NULL) == 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(log_count(log, "tls", NULL, 401, 1) == 0);   /* no stale token was sent */
	CHECK(log_count(log, "tls", NULL, 401, 0) == 1);   /* only the first, anonymous try */
	CHECK(statuses_are(log, cfg_path, "503,200"));
	CHECK(layers_once(log));
	if (tokens_issued(NULL) != 2)
		show_log(log);
	json_decref(log);

	/* the same pull with a long expires_in: the first token serves it all */
	mode("{\"expires_in\": 300}");
	delay_config(3);
	pull(&p, &E, "expiry-long", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(tokens_issued(NULL) == 1);
}

static void test_rejected_mid_pull(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	json_t *log;

	/*
	 * The registry stops accepting the token 4 s after it was issued
	 * (exp = now - 56, plus its 60 s leeway); expires_in says 300 s, so
	 * the client cannot know. The config waits 6 s: the registry refuses
	 * it, the token is fetched again once, the config retried once.
	 */
	mode("{\"expires_in\": 300, \"lifetime\": -56}");
	delay_config(6);
	pull(&p, &E, "rejected-by-registry", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(tokens_issued(NULL) == 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(statuses_are(log, cfg_path, "503,401,200"));
	CHECK(log_count(log, "tls", NULL, 401, 1) == 1);
	CHECK(layers_once(log));
	json_decref(log);

	/* the same with the 401 from the proxy, on a layer, once */
	mode("{\"expires_in\": 300}");
	reject_layer(1);
	pull(&p, &E, "rejected-once", ref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(tokens_issued(NULL) == 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(statuses_are(log, l1_path, "401,200"));
	CHECK(log_count(log, "tls", NULL, 401, 1) == 1);
	json_decref(log);
}

static void test_always_rejected(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	json_t *log;

	/* every token is signed with a key the registry does not trust */
	mode("{\"expires_in\": 300, \"reject_after\": 0}");
	pull(&p, &E, "always-rejected", ref, &o);
	check_token_error(&p);
	CHECK(p.secs < 20);
	CHECK(tokens_issued(NULL) >= 1 && tokens_issued(NULL) <= 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(log_count(log, "tls", "/manifests/latest", 0, -1) <= 3);
	CHECK(log_count(log, "tls", "/blobs/", 0, -1) == 0);
	json_decref(log);

	/* good until mid-pull, then the service only hands out refused tokens */
	mode("{\"expires_in\": 300, \"lifetime\": -56, \"reject_after\": 1}");
	delay_config(6);
	pull(&p, &E, "rejected-after-first", ref, &o);
	check_token_error(&p);
	CHECK(tokens_issued(NULL) == 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(statuses_are(log, cfg_path, "503,401,401"));
	CHECK(log_count(log, "tls", l1_path, 0, -1) == 0);
	json_decref(log);

	/* a layer refused however often the token is renewed: one renewal, one retry */
	mode("{\"expires_in\": 300}");
	reject_layer(-1);
	pull(&p, &E, "layer-always-401", ref, &o);
	check_token_error(&p);
	CHECK(tokens_issued(NULL) == 2);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(statuses_are(log, l1_path, "401,401"));
	json_decref(log);

	/* expiry then refused renewals: bounded too */
	mode("{\"expires_in\": 2, \"lifetime\": 2, \"reject_after\": 1}");
	delay_config(3);
	pull(&p, &E, "expired-then-refused", ref, &o);
	check_token_error(&p);
	CHECK(tokens_issued(NULL) >= 2 && tokens_issued(NULL) <= 3);
	log = proxy_log(&E, apx);
	CHECK(log != NULL);
	CHECK(statuses_are(log, cfg_path, "503,401,401"));
	json_decref(log);
}

static void test_refresh_with_credentials(void)
{
	struct cs_source_opts o = {0};
	struct pull p;
	char pref[300];
	const char *pass = env_var(&E, "REG_PASS");
	int authed = 0;

	/* private/ needs the user: the renewed token must be asked for with credentials */
	setenv("CELLSCAN_REGISTRY_USERNAME", env_var(&E, "REG_USER"), 1);
	setenv("CELLSCAN_REGISTRY_PASSWORD", pass, 1);
	o.auth_allow[0] = env_var(&E, "ATOKEN_HOST");
	o.nauth_allow = 1;
	snprintf(pref, sizeof(pref), "%s/private/auth:latest", apx);
	mode("{\"expires_in\": 2, \"lifetime\": 2}");
	delay_config(3);
	pull(&p, &E, "refresh-credentials", pref, &o);
	CHECK(p.rc == 0 && p.matches);
	CHECK(tokens_issued(&authed) == 2);
	CHECK(authed == 2);
	CHECK(strstr(p.msg, pass) == NULL);
	CHECK(!file_has(p.err_path, pass));
	CHECK(!file_has(tok_log, pass));
	unsetenv("CELLSCAN_REGISTRY_USERNAME");
	unsetenv("CELLSCAN_REGISTRY_PASSWORD");
}

int main(void)
{
	char dc[600];

	if (env_start(&E, "autht") != 0) {
		CHECK(0);
		env_stop(&E);
		return cs_test_done();
	}
	snprintf(apx, sizeof(apx), "%s", env_var(&E, "APX"));
	snprintf(tok_log, sizeof(tok_log), "%s", env_var(&E, "ATOKEN_LOG"));
	snprintf(cfg_path, sizeof(cfg_path), "/blobs/%s", expect_str(&E, "config"));
	snprintf(l1_path, sizeof(l1_path), "/blobs/%s", expect_layer(&E, 1));
	snprintf(ref, sizeof(ref), "%s/cs/auth:latest", apx);
	/* anonymous unless a test sets credentials; never the caller's docker config */
	env_path(dc, sizeof(dc), &E, "no-docker-config");
	setenv("DOCKER_CONFIG", dc, 1);
	unsetenv("CELLSCAN_REGISTRY_USERNAME");
	unsetenv("CELLSCAN_REGISTRY_PASSWORD");
	test_refresh_before_expiry();
	test_rejected_mid_pull();
	test_always_rejected();
	test_refresh_with_credentials();
	env_stop(&E);
	return cs_test_done();
}
