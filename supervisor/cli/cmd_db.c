/*
 * cmd_db.c - `cellscan db import|update|status`: the local vulnerability
 * database (supervisor/vulndb/vulndb.h, docs/vulndb.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/collect/collect.h"
#include "supervisor/vulndb/vulndb.h"


/* Warnings printed one by one before only counting. */
#define MAX_WARNINGS_SHOWN 1000
#define MAX_ARGS 4096

static const char db_usage[] =
	"usage: cellscan db import SOURCE... [--db FILE] [--quiet]\n"
	"       cellscan db update [--source URL] [--ecosystem NAME]... [--ca-file FILE]\n"
	"                          [--db FILE] [--quiet]\n"
	"       cellscan db status [--db FILE] [--json]\n"
	"\n"
	"SOURCE: an OSV all.zip, a directory of OSV .json files (recursive) or a .json file.\n"
	"--db FILE defaults to $XDG_DATA_HOME/cellscan/vulndb.sqlite\n"
	"          (else ~/.local/share/cellscan/vulndb.sqlite).\n"
	"--source URL: mirror base; fetches URL/<Ecosystem>/all.zip (default\n"
	"          " CS_VULNDB_DEFAULT_SOURCE ").\n";

struct warn_ctx {
	uint64_t shown;
	int quiet;
};

static void on_warn(void *ctx, enum cs_vulndb_skip why, const char *where, const char *rule)
{
	struct warn_ctx *w = ctx;

	if (w->quiet)
		return;
	if (++w->shown <= MAX_WARNINGS_SHOWN)
		cs_cli_error("warning: %s: skipped (%s): %s", where, cs_vulndb_skip_name(why), rule);
	else if (w->shown == MAX_WARNINGS_SHOWN + 1)
		cs_cli_error("warning: more records skipped; the summary counts them all");
}

/* Prints untrusted text (record data, URLs) escaped. */
static void put_esc(FILE *f, const char *s)
{
	char esc[4096];

	cs_collect_escape(esc, sizeof(esc), s, strlen(s));
	fputs(esc, f);
}

/* Matches "--name VALUE" and "--name=VALUE"; *i advanced past VALUE. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		cs_cli_error("%s needs a value", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

static int db_path(char *out, size_t n, const char *given, int mkdirs)
{
	if (given != NULL) {
		if (given[0] == '\0' || strlen(given) >= n) {
			cs_cli_error("--db: bad path");
			return CS_EXIT_USAGE;
		}
		memcpy(out, given, strlen(given) + 1);
		return 0;
	}
	if (cs_vulndb_default_path(out, n, mkdirs) != 0) {
		cs_cli_error("%s", cs_err_msg());
		return CS_EXIT_USAGE;
	}
	return 0;
}

static void print_import(FILE *f, const struct cs_vulndb_import_stats *st)
{
	int first = 1;

	fprintf(f, "records read: %llu: %llu new, %llu updated, %llu unchanged, %llu skipped\n",
		(unsigned long long)st->seen, (unsigned long long)st->imported,
		(unsigned long long)st->updated, (unsigned long long)st->unchanged,
		(unsigned long long)st->skipped);
	if (st->skipped == 0)
		return;
	fputs("skipped by reason:", f);
	for (int i = 0; i < CS_VULNDB_SKIP_COUNT; i++) {
		if (st->skipped_by[i] == 0)
			continue;
		fprintf(f, "%s %s %llu", first ? "" : ",", cs_vulndb_skip_name((enum cs_vulndb_skip)i),
			(unsigned long long)st->skipped_by[i]);
		first = 0;
	}
	fputc('\n', f);
}

static void print_digest(const char *path)
{
	struct cs_vulndb *db = NULL;

	if (cs_vulndb_open(&db, path, 1) != 0) {
		cs_err_clear();
		return;
	}
	printf("database %s: digest %s, built %s\n", path, cs_vulndb_digest(db),
	       cs_vulndb_build_time(db));
	cs_vulndb_close(db);
}

static int cmd_import(int argc, char **argv)
{
	struct cs_vulndb_import_stats st = { 0 };
	struct warn_ctx w = { 0, 0 };
	const char **srcs = NULL;
	const char *dbarg = NULL;
	char path[4096];
	size_t n = 0;
	int i, r, rc;

	srcs = calloc((size_t)argc + 1, sizeof(*srcs));
	if (srcs == NULL) {
		cs_cli_error("out of memory");
		return CS_EXIT_INTERNAL;
	}
	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--db", &dbarg)) != 0) {
			if (r < 0) {
				rc = CS_EXIT_USAGE;
				goto out;
			}
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			w.quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cs_cli_error("db import: unknown option %.64s", argv[i]);
			rc = CS_EXIT_USAGE;
			goto out;
		} else {
			srcs[n++] = argv[i];
		}
	}
	if (n == 0) {
		fputs(db_usage, stderr);
		rc = CS_EXIT_USAGE;
		goto out;
	}
	if ((rc = db_path(path, sizeof(path), dbarg, 1)) != 0)
		goto out;
	st.warn = on_warn;
	st.warn_ctx = &w;
	r = cs_vulndb_import(path, srcs, n, &st);
	print_import(r == 0 ? stdout : stderr, &st);
	if (r != 0) {
		cs_cli_error("db import failed, database unchanged: %s", cs_err_msg());
		rc = cs_cli_exit_for(r);
		goto out;
	}
	print_digest(path);
	rc = CS_EXIT_OK;
out:
	free(srcs);
	return rc;
}

static int cmd_update(int argc, char **argv)
{
	struct cs_vulndb_update_opts o = { 0 };
	struct cs_vulndb_update_stats st = { 0 };
	struct warn_ctx w = { 0, 0 };
	const char **ecos = NULL, *dbarg = NULL, *v;
	char path[4096];
	size_t n = 0;
	int i, r, rc;

	ecos = calloc((size_t)argc + 1, sizeof(*ecos));
	if (ecos == NULL) {
		cs_cli_error("out of memory");
		return CS_EXIT_INTERNAL;
	}
	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--db", &dbarg)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--source", &o.source)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--ca-file", &o.ca_file)) != 0) {
			if (r < 0) {
				rc = CS_EXIT_USAGE;
				goto out;
			}
		} else if ((r = opt_value(argc, argv, &i, "--ecosystem", &v)) != 0) {
			if (r < 0) {
				rc = CS_EXIT_USAGE;
				goto out;
			}
			ecos[n++] = v;
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			w.quiet = 1;
		} else {
			cs_cli_error("db update: unknown argument %.64s", argv[i]);
			rc = CS_EXIT_USAGE;
			goto out;
		}
	}
	if ((rc = db_path(path, sizeof(path), dbarg, 1)) != 0)
		goto out;
	o.ecosystems = ecos;
	o.n_ecosystems = n;
	st.import.warn = on_warn;
	st.import.warn_ctx = &w;
	r = cs_vulndb_update(path, &o, &st);
	printf("requests: %u, not modified: %u, downloaded: %u (%llu bytes)\n", st.requests,
	       st.not_modified, st.downloaded, (unsigned long long)st.bytes);
	if (r != 0) {
		cs_cli_error("db update failed, database unchanged: %s", cs_err_msg());
		rc = cs_cli_exit_for(r);
		goto out;
	}
	if (st.rebuilt) {
		print_import(stdout, &st.import);
		print_digest(path);
	} else {
		printf("database %s is up to date\n", path);
	}
	rc = CS_EXIT_OK;
out:
	free(ecos);
	return rc;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static int cmd_status(int argc, char **argv)
{
	struct cs_vulndb *db = NULL;
	json_t *info = NULL, *v;
	const char *dbarg = NULL, *k;
	char path[4096];
	int i, r, rc, as_json = 0;
	size_t j;

	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--db", &dbarg)) != 0) {
			if (r < 0)
				return CS_EXIT_USAGE;
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else {
			cs_cli_error("db status: unknown argument %.64s", argv[i]);
			return CS_EXIT_USAGE;
		}
	}
	if ((rc = db_path(path, sizeof(path), dbarg, 0)) != 0)
		return rc;
	if ((r = cs_vulndb_open(&db, path, 1)) != 0 || (r = cs_vulndb_info(db, &info)) != 0) {
		cs_cli_error("%s", cs_err_msg());
		rc = cs_cli_exit_for(r);
		goto out;
	}
	json_object_set_new(info, "path", json_string(path));
	if (as_json) {
		if (json_dumpf(info, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
			rc = CS_EXIT_INTERNAL;
			goto out;
		}
		fputc('\n', stdout);
		rc = CS_EXIT_OK;
		goto out;
	}
	fputs("database:    ", stdout);
	put_esc(stdout, path);
	printf("\nschema:      %lld\n", json_integer_value(json_object_get(info, "schema")));
	printf("build time:  %s\n", jstr(info, "build_time"));
	printf("digest:      %s\n", jstr(info, "digest"));
	printf("records:     %lld (%lld withdrawn)\n",
	       json_integer_value(json_object_get(info, "records")),
	       json_integer_value(json_object_get(info, "withdrawn")));
	printf("sources:\n");
	json_array_foreach(json_object_get(info, "sources"), j, v) {
		fputs("  ", stdout);
		put_esc(stdout, jstr(v, "url"));
		printf("\n    %s, imported %s, %lld records", jstr(v, "kind"), jstr(v, "imported_at"),
		       json_integer_value(json_object_get(v, "records")));
		if (json_is_string(json_object_get(v, "etag"))) {
			fputs(", etag ", stdout);
			put_esc(stdout, jstr(v, "etag"));
		}
		if (json_is_string(json_object_get(v, "last_modified"))) {
			fputs(", last-modified ", stdout);
			put_esc(stdout, jstr(v, "last_modified"));
		}
		fputc('\n', stdout);
	}
	printf("records per ecosystem:\n");
	json_object_foreach(json_object_get(info, "ecosystems"), k, v) {
		fputs("  ", stdout);
		put_esc(stdout, k);
		printf("  %lld\n", json_integer_value(v));
	}
	rc = CS_EXIT_OK;
out:
	json_decref(info);
	cs_vulndb_close(db);
	return rc;
}

int cs_cmd_db(int argc, char **argv)
{
	if (argc > MAX_ARGS) {
		cs_cli_error("db: too many arguments");
		return CS_EXIT_USAGE;
	}
	if (argc < 2) {
		fputs(db_usage, stderr);
		return CS_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(db_usage, stdout);
		return CS_EXIT_OK;
	}
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "update") == 0)
		return cmd_update(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	cs_cli_error("db: unknown command \"%.64s\" (import, update or status)", argv[1]);
	return CS_EXIT_USAGE;
}
