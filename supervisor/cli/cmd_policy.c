/*
 * cmd_policy.c - `cellscan policy check FILE` and `cellscan policy show
 * [FILE]` (docs/policy.md "Checking a policy").
 *
 * check: loads and validates FILE (and every OpenVEX document it names),
 * prints a one-line summary on stdout and exits 0; otherwise prints one
 * line naming the offending key on stderr and exits 2.
 * show: prints the effective policy as JSON (the built-in default without
 * FILE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/cli/cli.h"


/* Messages can quote the file's bytes (a bad key, a JSON parse error):
 * never raw to a terminal. */
static void perr(const char *what, const char *msg)
{
	char out[2048];
	size_t o = 0;

	for (const char *s = msg; *s != '\0' && o + 5 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c >= 0x80)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	fprintf(stderr, "cellscan: %s: %s\n", what, out);
}

static int usage(void)
{
	fprintf(stderr, "usage: cellscan policy check FILE [--today YYYY-MM-DD]\n"
			"       cellscan policy show [FILE]\n");
	return CS_EXIT_USAGE;
}

static int load_exit(int r)
{
	return r == CS_ENOMEM ? CS_EXIT_INTERNAL : CS_EXIT_USAGE;
}

static size_t count_expired(const json_t *rules, const char *today)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(rules); i++) {
		const char *e =
			json_string_value(json_object_get(json_array_get(rules, i), "expires"));

		if (e != NULL && strcmp(today, e) > 0)
			n++;
	}
	return n;
}

static int check(const char *file, const char *today)
{
	struct cs_policy *p = NULL;
	json_t *d = NULL, *repos, *vex, *src;
	size_t rules = 0, expired = 0, statements = 0, i;
	int r;

	if ((r = cs_policy_load_file(&p, file)) != 0) {
		perr("policy", cs_err_msg());
		return load_exit(r);
	}
	if ((r = cs_policy_describe(&d, p)) != 0) {
		cs_policy_free(p);
		perr("policy", cs_err_msg());
		return CS_EXIT_INTERNAL;
	}
	rules = json_array_size(json_object_get(d, "ignore"));
	expired = count_expired(json_object_get(d, "ignore"), today);
	repos = json_object_get(d, "repositories");
	for (i = 0; i < json_array_size(repos); i++) {
		const json_t *ig = json_object_get(json_array_get(repos, i), "ignore");

		rules += json_array_size(ig);
		expired += count_expired(ig, today);
	}
	vex = json_object_get(d, "vex");
	for (i = 0; i < json_array_size(vex); i++)
		statements += (size_t)json_integer_value(
			json_object_get(json_array_get(vex, i), "statements"));
	printf("policy ok: threshold %s, ignore_unfixed %s, severity ",
	       json_string_value(json_object_get(d, "severity_threshold")),
	       json_is_true(json_object_get(d, "ignore_unfixed")) ? "true" : "false");
	src = json_object_get(d, "severity_source");
	for (i = 0; i < json_array_size(src); i++)
		printf("%s%s", i ? " > " : "", json_string_value(json_array_get(src, i)));
	printf(" (%s), %zu ignore rule%s (%zu expired as of %s), %zu VEX document%s (%zu statements), "
	       "%zu repository override%s\n",
	       json_string_value(json_object_get(d, "severity_pick")), rules, rules == 1 ? "" : "s",
	       expired, today, json_array_size(vex), json_array_size(vex) == 1 ? "" : "s",
	       statements, json_array_size(repos), json_array_size(repos) == 1 ? "" : "s");
	json_decref(d);
	cs_policy_free(p);
	return CS_EXIT_OK;
}

static int show(const char *file)
{
	struct cs_policy *p = NULL;
	json_t *d = NULL;
	char *s;
	int r;

	r = file != NULL ? cs_policy_load_file(&p, file) : cs_policy_default(&p);
	if (r != 0) {
		perr("policy", cs_err_msg());
		return load_exit(r);
	}
	r = cs_policy_describe(&d, p);
	cs_policy_free(p);
	if (r != 0) {
		perr("policy", cs_err_msg());
		return CS_EXIT_INTERNAL;
	}
	s = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (s == NULL) {
		perr("policy", "out of memory");
		return CS_EXIT_INTERNAL;
	}
	puts(s);
	free(s);
	return CS_EXIT_OK;
}

int cs_cmd_policy(int argc, char **argv)
{
	char today[16];

	if (argc >= 3 && strcmp(argv[1], "check") == 0) {
		if (argc == 3) {
			time_t now = time(NULL);
			struct tm tm;

			if (gmtime_r(&now, &tm) == NULL ||
			    strftime(today, sizeof(today), "%Y-%m-%d", &tm) == 0)
				return CS_EXIT_INTERNAL;
		} else if (argc == 5 && strcmp(argv[3], "--today") == 0 && strlen(argv[4]) == 10) {
			snprintf(today, sizeof(today), "%s", argv[4]);
		} else {
			return usage();
		}
		return check(argv[2], today);
	}
	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "show") == 0)
		return show(argc == 3 ? argv[2] : NULL);
	return usage();
}
