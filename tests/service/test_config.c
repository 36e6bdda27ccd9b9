/*
 * test_config.c - the serve configuration: docs/serve-example.json loads
 * (its secret files pointed at temporary ones) and every value arrives;
 * unknown keys, wrong types, out-of-range values, missing or oversized
 * secret files and bad listen addresses are refused with the key named;
 * the signature helper gives the HMAC-SHA256 of RFC 4231's test case 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/service/service.h"
#include "tests/harness.h"

static char dir[] = "/tmp/cellscan-svc-cfg.XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* Loads the example after applying edit (a JSON object merged over it);
 * returns the load's result, the message in msg. */
static int load_variant(struct cs_service_config *c, const char *edit, char *msg, size_t n)
{
	char src[1024], path[700], wh[700], al[700];
	json_t *ex, *e;
	int r;

	snprintf(src, sizeof(src), "%s/docs/serve-example.json", cs_test_source_dir());
	ex = json_load_file(src, 0, NULL);
	if (ex == NULL)
		return -100;
	snprintf(wh, sizeof(wh), "%s/webhook.secret", dir);
	snprintf(al, sizeof(al), "%s/alert.secret", dir);
	json_object_set_new(ex, "webhook_secret_file", json_string(wh));
	json_object_set_new(json_array_get(json_object_get(ex, "alerts"), 0), "secret_file",
			    json_string(al));
	if (edit != NULL) {
		e = json_loads(edit, 0, NULL);
		json_object_update(ex, e);
		json_decref(e);
	}
	snprintf(path, sizeof(path), "%s/serve.json", dir);
	json_dump_file(ex, path, JSON_INDENT(2));
	json_decref(ex);
	cs_service_config_init(c);
	r = cs_service_config_load(c, path);
	snprintf(msg, n, "%s", r != 0 ? cs_err_msg() : "");
	return r;
}

static void test_example(void)
{
	struct cs_service_config c;
	char msg[512];

	CHECK(load_variant(&c, NULL, msg, sizeof(msg)) == 0);
	if (msg[0])
		fprintf(stderr, "load: %s\n", msg);
	CHECK_STR(c.listen_host, "0.0.0.0");
	CHECK(c.listen_port == 8443);
	CHECK_STR(c.tls_cert, "/etc/cellscan/tls/server.crt");
	CHECK_STR(c.tls_key, "/etc/cellscan/tls/server.key");
	CHECK_STR(c.state_dir, "/var/lib/cellscan");
	CHECK_STR(c.store_url, "sqlite:/var/lib/cellscan/cellscan.sqlite");
	CHECK_STR(c.vulndb, "/var/lib/cellscan/vulndb.sqlite");
	CHECK_STR(c.policy_file, "/etc/cellscan/policy.json");
	CHECK_STR(c.webhook_secret, "webhook-token-123");
	CHECK_STR(c.ca_file, "/etc/cellscan/registry-ca.pem");
	CHECK_STR(c.cache_dir, "/var/cache/cellscan");
	CHECK_STR(c.docker_config, "/etc/cellscan/docker");
	CHECK_STR(c.instance, "scanner-1");
	CHECK(c.concurrency == 4);
	CHECK(c.nregistries == 1);
	CHECK_STR(c.registries[0].host, "registry.example.com:5000");
	CHECK(c.registries[0].naliases == 2);
	CHECK_STR(c.registries[0].aliases[1], "registry-0.registry.example.internal:5000");
	CHECK(c.nalerts == 1);
	CHECK_STR(c.alerts[0].url, "https://alerts.example.com/hooks/cellscan");
	CHECK_STR(c.alerts[0].secret, "alert key with spaces");
	CHECK(c.max_connections == 64 && c.connection_timeout == 30 && c.request_timeout == 30);
	CHECK(c.max_body == 1048576 && c.max_header == 32768);
	CHECK(c.lease_seconds == 120 && c.grace_seconds == 30 && c.max_attempts == 5);
	CHECK(c.backoff_base == 30 && c.backoff_max == 3600);
	CHECK(c.review_deadline_ms == 10000 && !c.review_default_allow && !c.review_allow_error);
	CHECK(c.alert_timeout == 10 && c.scan_timeout == 3600 && !c.allow_local_sources);
	cs_service_config_clear(&c);
	CHECK(c.webhook_secret == NULL && c.nalerts == 0);
}

static void bad(const char *edit, const char *needle)
{
	struct cs_service_config c;
	char msg[512];
	int r = load_variant(&c, edit, msg, sizeof(msg));

	CHECK(r == CS_EINVAL || r == CS_EIO || r == CS_ELIMIT);
	if (strstr(msg, needle) == NULL) {
		fprintf(stderr, "edit %s: message \"%s\" lacks \"%s\"\n", edit, msg, needle);
		CHECK(0);
	}
	cs_service_config_clear(&c);
}

static void test_errors(void)
{
	struct cs_service_config c;
	char big[CS_SERVICE_MAX_SECRET + 100], path[700];
	char *sec = NULL;

	bad("{\"colour\": 1}", "colour: unknown key");
	bad("{\"concurrency\": 0}", "concurrency");
	bad("{\"concurrency\": \"4\"}", "concurrency");
	bad("{\"limits\": {\"max_body\": 10}}", "limits.max_body");
	bad("{\"limits\": {\"max_bodies\": 10}}", "limits.max_bodies: unknown key");
	bad("{\"queue\": {\"lease_seconds\": -1}}", "queue.lease_seconds");
	bad("{\"imagereview\": {\"default_allow\": 1}}", "imagereview.default_allow");
	bad("{\"listen\": \"localhost\"}", "listen");
	bad("{\"listen\": \"127.0.0.1:99999\"}", "listen");
	bad("{\"tls\": {\"cert\": \"/a\"}}", "tls.key");
	bad("{\"registries\": [{\"host\": \"r\", \"user\": \"x\"}]}", "registries[0].user: unknown key");
	bad("{\"alerts\": [{\"url\": \"ftp://x\", \"secret_file\": \"/nonexistent\"}]}", "alerts[0].url");
	bad("{\"alerts\": [{\"url\": \"https://x\"}]}", "secret_file");
	bad("{\"alerts\": [{\"url\": \"https://x\", \"secret_file\": \"/nonexistent/s\"}]}",
	    "/nonexistent/s");
	bad("{\"webhook_secret_file\": \"/nonexistent/w\"}", "webhook_secret_file");
	bad("{\"state_dir\": \"\"}", "state_dir");

	/* secrets: a trailing newline is dropped; empty and oversized refused */
	snprintf(path, sizeof(path), "%s/s1", dir);
	write_file(path, "abc\n");
	CHECK(cs_service_read_secret(&sec, path) == 0);
	CHECK_STR(sec, "abc");
	free(sec);
	write_file(path, "\n");
	CHECK(cs_service_read_secret(&sec, path) == CS_EINVAL && sec == NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(path, big);
	CHECK(cs_service_read_secret(&sec, path) == CS_ELIMIT && sec == NULL);
	unlink(path);

	/* listen forms and the state-dir defaults */
	cs_service_config_init(&c);
	CHECK(cs_service_config_listen(&c, "[::1]:9000") == 0);
	CHECK_STR(c.listen_host, "::1");
	CHECK(c.listen_port == 9000);
	CHECK(cs_service_config_listen(&c, "[::1]9000") == CS_EINVAL);
	CHECK(cs_service_config_listen(&c, ":80") == CS_EINVAL);
	CHECK(cs_service_config_finish(&c) == CS_EINVAL);   /* no state dir */
	c.state_dir = strdup(dir);
	CHECK(cs_service_config_finish(&c) == 0);
	snprintf(path, sizeof(path), "%s/cellscan.sqlite", dir);
	CHECK_STR(c.store_url, path);
	snprintf(path, sizeof(path), "%s/cache", dir);
	CHECK_STR(c.cache_dir, path);
	CHECK(c.instance != NULL && strchr(c.instance, ':') == NULL);
	cs_service_config_clear(&c);
}

static void test_sign(void)
{
	char out[72];

	/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
	CHECK(cs_service_sign(out, "Jefe", "what do ya want for nothing?", 28) == 0);
	CHECK_STR(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
	char p[700];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(p, sizeof(p), "%s/webhook.secret", dir);
	write_file(p, "webhook-token-123\n");
	snprintf(p, sizeof(p), "%s/alert.secret", dir);
	write_file(p, "alert key with spaces");
	test_example();
	test_errors();
	test_sign();
	unlink(p);
	snprintf(p, sizeof(p), "%s/webhook.secret", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/serve.json", dir);
	unlink(p);
	rmdir(dir);
	return cs_test_done();
}
