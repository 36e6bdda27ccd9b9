/*
 * test_policy_cli.c - `cellscan policy check FILE` / `policy show`: the
 * summary line, the one-line error naming the key, the exit codes (0 valid,
 * 2 invalid or usage). The subcommand is compiled in here from its source
 * (it only needs policy/ and cli.h's exit codes), so the test runs without
 * the whole cellscan binary.
 */
#include "supervisor/cli/cmd_policy.c"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/harness.h"

static char datadir[4096];

/* Runs cs_cmd_policy with stdout and stderr captured into out/err. */
static int run(char **argv, int argc, char *out, size_t on, char *err, size_t en)
{
	char fo[] = "/tmp/cs-policy-cli-outXXXXXX", fe[] = "/tmp/cs-policy-cli-errXXXXXX";
	int o = mkstemp(fo), e = mkstemp(fe), so, se, rc;
	ssize_t n;

	if (o < 0 || e < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	rc = cs_cmd_policy(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	n = pread(o, out, on - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	n = pread(e, err, en - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(o);
	close(e);
	unlink(fo);
	unlink(fe);
	return rc;
}

int main(void)
{
	char file[4200], bad[4200], out[8192], err[8192];
	char *check[] = { "policy", "check", file, "--today", "2024-06-01", NULL };
	char *show[] = { "policy", "show", NULL };
	char *usage_argv[] = { "policy", "frobnicate", NULL };
	FILE *f;
	int rc;

	snprintf(datadir, sizeof(datadir), "%s/tests/policy/data", cs_test_source_dir());
	snprintf(file, sizeof(file), "%s/example-policy.json", datadir);

	rc = run(check, 5, out, sizeof(out), err, sizeof(err));
	CHECK(rc == 0);
	CHECK_STR(
		out,
		"policy ok: threshold high, ignore_unfixed false, severity distro > cvss_v4 > cvss_v3 (first), "
		"4 ignore rules (1 expired as of 2024-06-01), 1 VEX document (7 statements), "
		"3 repository overrides\n");
	CHECK_STR(err, "");

	/* an invalid policy: one line on stderr naming the key, exit 2 */
	snprintf(bad, sizeof(bad), "/tmp/cs-policy-cli-bad-%d.json", (int)getpid());
	f = fopen(bad, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("{\"version\": 1, \"ignore\": [{\"id\": \"CVE-1\", \"reason\": \"r\"}, {\"id\": \"CVE-2\","
		      " \"reason\": \"r\"}, {\"id\": \"CVE-3\", \"reason\": \"r\", \"expires\": \"31.12.2024\"}]}\n",
		      f);
		fclose(f);
	}
	check[2] = bad;
	rc = run(check, 5, out, sizeof(out), err, sizeof(err));
	CHECK(rc == CS_EXIT_USAGE);
	CHECK_STR(out, "");
	CHECK_STR(err, "cellscan: policy: ignore[2].expires: not a date (YYYY-MM-DD)\n");
	unlink(bad);

	/* a control character in a key is escaped on the terminal */
	f = fopen(bad, "w");
	if (f != NULL) {
		fputs("{\"version\": 1, \"x\\u001b[31m\": 1}\n", f);
		fclose(f);
	}
	rc = run(check, 5, out, sizeof(out), err, sizeof(err));
	CHECK(rc == CS_EXIT_USAGE);
	CHECK(strchr(err, 0x1b) == NULL);
	CHECK_STR(err, "cellscan: policy: x\\x1b[31m: unknown key\n");
	unlink(bad);

	/* a missing file */
	check[2] = "/nonexistent/policy.json";
	rc = run(check, 5, out, sizeof(out), err, sizeof(err));
	CHECK(rc == CS_EXIT_USAGE);
	CHECK(strstr(err, "cannot open") != NULL);

	/* show: the built-in default as JSON */
	rc = run(show, 2, out, sizeof(out), err, sizeof(err));
	CHECK(rc == 0);
	{
		json_error_t je;
		json_t *d = json_loads(out, 0, &je);

		CHECK(d != NULL);
		CHECK_STR(json_string_value(json_object_get(d, "severity_threshold")), "high");
		json_decref(d);
	}

	rc = run(usage_argv, 2, out, sizeof(out), err, sizeof(err));
	CHECK(rc == CS_EXIT_USAGE);
	CHECK(strstr(err, "usage: cellscan policy check FILE") != NULL);
	return cs_test_done();
}
