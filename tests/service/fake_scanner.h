/*
 * fake_scanner.h - a stand-in for the scan pipeline in the service tests:
 * no registry, no sandbox, a result decided by the image's digest, so the
 * HTTP API, the queue, the alerts and the shutdown paths can be tested fast
 * and deterministically. The real pipeline runs in the integration test
 * (tests/service/e2e_registry.sh).
 *
 * Images: "fake.test/REPO@sha256:HEX" or "fake.test/REPO:TAG". The digest
 * of a tag is sha256 of the reference (OpenSSL) with its first hex digit
 * replaced by the TAG's first letter when that is a hex digit. The verdict:
 * first hex digit 'b' unhealthy, 'e' error, anything else healthy.
 * A REPO containing "slow" sleeps FAKE_SLOW_MS first; "fail" fails (CS_ENET).
 * Each call is logged (one line "DIGEST\n") to fake_log when set, under
 * O_APPEND (so a forked service's runs are seen by the test).
 */
#ifndef CS_TESTS_SERVICE_FAKE_SCANNER_H
#define CS_TESTS_SERVICE_FAKE_SCANNER_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "common/errors.h"
#include "supervisor/service/service.h"

static unsigned fake_slow_ms = 300;
static unsigned fake_base_ms = 0;     /* every scan sleeps this long */
static const char *fake_log = NULL;

static void fake_sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static __attribute__((unused)) void fake_digest_of(char out[72], const char *ref)
{
	unsigned char d[32];
	const char *colon = strrchr(ref, ':'), *slash = strrchr(ref, '/');
	int i;

	SHA256((const unsigned char *)ref, strlen(ref), d);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[d[i] & 15];
	}
	out[71] = '\0';
	if (colon != NULL && slash != NULL && colon > slash && strchr("0123456789abcdef", colon[1]) &&
	    colon[1] != '\0')
		out[7] = colon[1];
}

/* The report text the fake stores for a digest (also what the tests
 * expect back from GET /v1/images/{digest}/report). */
static __attribute__((unused)) char *fake_report(const char *digest, const char *verdict)
{
	/* shaped as docs/report-schema.json's findings: severity and decision
	 * are objects; the fourth finding is ignored by a policy rule */
	json_t *f = json_pack(
		"[{s:s, s:[s], s:{s:s, s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:s, s:{s:s, s:s},"
		"  s:{s:s}},"
		" {s:s, s:[], s:{s:s, s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:{s:s}, s:{s:s}},"
		" {s:s, s:[], s:{s:s, s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:s, s:{s:s, s:s},"
		"  s:{s:s}},"
		" {s:s, s:[], s:{s:s, s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:{s:s}, s:{s:s, s:s}}]",
		"id", "CVE-FAKE-0001", "aliases", "GHSA-fake-0001", "package", "name", "openssl",
		"version", "3.0.11-1", "kind", "dpkg", "ecosystem", "Debian:12", "severity", "level",
		"critical", "source", "cvss_v3", "fix_state", "fixed", "fixed_version", "3.0.15-1",
		"fix", "state", "fixed", "version", "3.0.15-1", "decision", "status", "reported",
		"id", "CVE-FAKE-0002", "aliases", "package", "name", "zlib", "version", "1.2.13",
		"kind", "dpkg", "ecosystem", "Debian:12", "severity", "level", "high", "source",
		"cvss_v3", "fix_state", "not-fixed", "fix", "state", "not-fixed", "decision", "status",
		"reported",
		"id", "CVE-FAKE-0003", "aliases", "package", "name", "curl", "version", "7.88.1",
		"kind", "dpkg", "ecosystem", "Debian:12", "severity", "level", "low", "source",
		"cvss_v3", "fix_state", "fixed", "fixed_version", "7.88.2", "fix", "state", "fixed",
		"version", "7.88.2", "decision", "status", "reported",
		"id", "CVE-FAKE-0004", "aliases", "package", "name", "pcre2", "version", "10.42",
		"kind", "dpkg", "ecosystem", "Debian:12", "severity", "level", "critical", "source",
		"cvss_v3", "fix_state", "not-fixed", "fix", "state", "not-fixed", "decision",
		"status", "ignored", "by", "rule");
	json_t *rep;
	char *text;

	if (strcmp(verdict, "healthy") == 0) {
		json_decref(f);
		f = json_array();
	}
	rep = json_pack("{s:s, s:{s:s}, s:s, s:o}", "schema", "cellscan-report/1", "image",
			"digest", digest, "verdict", verdict, "findings", f);
	text = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(rep);
	return text;
}

static int fake_scan(void *ctx, struct cs_service_scan *sc)
{
	char dg[72], repo[512];
	const char *at = strrchr(sc->ref, '@'), *verdict;
	size_t rl;

	(void)ctx;
	sc->worker_end = "ok";
	if (strncmp(sc->ref, "fake.test/", 10) != 0)
		return cs_err_set(CS_ENOTFOUND, "%s: not a fake image", sc->ref);
	rl = strcspn(sc->ref, "@");
	snprintf(repo, sizeof(repo), "%.*s", (int)rl, sc->ref);
	if (strrchr(repo, ':') != NULL && strrchr(repo, ':') > strrchr(repo, '/'))
		*strrchr(repo, ':') = '\0';
	if (at != NULL)
		snprintf(dg, sizeof(dg), "%s", at + 1);
	else
		fake_digest_of(dg, sc->ref);
	if (fake_log != NULL) {
		int fd = open(fake_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		char line[80];
		if (fd >= 0) {
			int n = snprintf(line, sizeof(line), "%s\n", dg);
			if (write(fd, line, (size_t)n) != n)
				fprintf(stderr, "fake scanner: short log write\n");
			close(fd);
		}
	}
	if (fake_base_ms)
		fake_sleep_ms(fake_base_ms);
	if (strstr(repo, "slow") != NULL)
		fake_sleep_ms(fake_slow_ms);
	if (strstr(repo, "fail") != NULL) {
		sc->worker_end = "none";
		return cs_err_set(CS_ENET, "%s: registry unreachable (fake)", sc->ref);
	}
	verdict = dg[7] == 'b' ? "unhealthy" : dg[7] == 'e' ? "error" : "healthy";
	sc->resolved_digest = strdup(dg);
	sc->report_json = fake_report(dg, verdict);
	sc->inventory = json_pack("{s:s, s:[]}", "schema", "cellscan-inventory/1", "packages");
	sc->image = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:[{s:s, s:s}]}",
			      "digest", dg, "repository", repo, "ref", sc->ref, "refs", sc->ref,
			      "platform", "linux/amd64", "db_digest", "sha256:fakedb",
			      "verdict", verdict, "package_keys", "ecosystem", "Debian:12",
			      "name", "openssl");
	if (sc->resolved_digest == NULL || sc->report_json == NULL || sc->inventory == NULL ||
	    sc->image == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

#endif
