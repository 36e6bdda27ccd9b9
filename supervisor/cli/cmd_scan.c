/*
 * cellscan scan IMAGE / cellscan explain IMAGE VULN-ID: the whole pipeline,
 * source -> sandboxed inventory -> matching -> policy -> report.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/cli/cli.h"
#include "supervisor/report/report.h"
#include "supervisor/scan/scan.h"
#include "supervisor/vulndb/vulndb.h"

struct scan_args {
	struct cs_scan_opts so;
	const char *ref;
	const char *vuln;          /* explain */
	const char *out;
	const char *format;
	const char *policy;
	const char *db;
	const char *severity;      /* "high,critical" */
	int ignore_unfixed;
	int exit_code;
	int quiet;
	int progress;
};

static void progress(const struct scan_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct scan_args *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->progress)
		return;
	va_start(ap, fmt);
	fputs("cellscan: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Progress of the pipeline's stages, one line each (stderr, a terminal). */
static void stage(void *ctx, const char *what, size_t done, size_t total, size_t cached)
{
	const struct scan_args *a = ctx;

	if (strcmp(what, "resolving") == 0)
		progress(a, "pulling %s (manifest, config, layer blobs)", a->ref);
	else if (strcmp(what, "layers") == 0)
		progress(a, "analysing layer %zu/%zu in the sandbox%s", done, total,
			 cached ? " (some from the layer cache)" : "");
}

/* The policy, with --ignore-unfixed folded in as the file's own key would. */
static int load_policy(struct cs_policy **out, const struct scan_args *a)
{
	json_t *j = NULL;
	json_error_t je;
	char *text = NULL, dir[4096] = ".";
	const char *slash;
	int r;

	*out = NULL;
	if (a->policy == NULL && !a->ignore_unfixed)
		return cs_policy_default(out);
	if (a->policy != NULL) {
		j = json_load_file(a->policy, JSON_REJECT_DUPLICATES, &je);
		if (j == NULL)
			return cs_err_set(CS_EINVAL, "policy %s: %s (line %d)", a->policy, je.text, je.line);
		slash = strrchr(a->policy, '/');
		if (slash != NULL)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - a->policy), a->policy);
	} else {
		j = json_pack("{s:i}", "version", 1);
	}
	if (a->ignore_unfixed)
		json_object_set_new(j, "ignore_unfixed", json_true());
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	r = cs_policy_load(out, text, strlen(text), dir);
	free(text);
	if (r != 0 && a->policy != NULL)
		cs_err_prefix(r, "policy %s", a->policy);
	return r;
}

/* --severity LIST: findings outside the list are set aside, not counted. */
static int apply_severity_filter(json_t *cls, const char *list)
{
	json_t *f, *counts = json_object_get(cls, "counts");
	size_t i;
	int worst = -1, thr;
	const char *t = json_string_value(json_object_get(cls, "threshold"));
	char buf[128];

	if (list == NULL)
		return 0;
	snprintf(buf, sizeof(buf), ",%s,", list);
	thr = cs_policy_level_rank(t ? t : "high");
	json_array_foreach(json_object_get(cls, "findings"), i, f) {
		json_t *dec = json_object_get(f, "decision");
		const char *lvl = json_string_value(json_object_get(json_object_get(f, "severity"),
								    "level"));
		char key[40];
		if (lvl == NULL)
			continue;
		snprintf(key, sizeof(key), ",%s,", lvl);
		if (strstr(buf, key) == NULL) {
			if (strcmp(json_string_value(json_object_get(dec, "status")), "reported") == 0) {
				json_object_set_new(dec, "status", json_string("ignored"));
				json_object_set_new(dec, "by", json_string("severity-filter"));
				json_object_set_new(counts, lvl, json_integer(
					json_integer_value(json_object_get(counts, lvl)) - 1));
				json_object_set_new(counts, "ignored", json_integer(
					json_integer_value(json_object_get(counts, "ignored")) + 1));
			}
		} else if (strcmp(json_string_value(json_object_get(dec, "status")), "reported") == 0 &&
			   cs_policy_level_rank(lvl) > worst) {
			worst = cs_policy_level_rank(lvl);
		}
	}
	if (strcmp(json_string_value(json_object_get(cls, "verdict")), "error") != 0) {
		int bad = worst >= thr && worst >= 0;
		json_object_set_new(cls, "verdict", json_string(bad ? "unhealthy" : "healthy"));
		json_object_set_new(cls, "reason", json_string(bad ?
			"findings at or above the threshold (after --severity)" :
			"no reported finding at or above the threshold (after --severity)"));
	}
	return 0;
}

static int valid_severity_list(const char *s)
{
	char buf[128], *p, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
		if (cs_policy_level_rank(p) < 0)
			return 0;
	return 1;
}

static int parse(struct scan_args *a, int argc, char **argv, int explain)
{
	int i, r;
	char *end;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		if ((strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) && i + 1 < argc)
			a->out = argv[++i];
		else if (strcmp(s, "--format") == 0 && i + 1 < argc)
			a->format = argv[++i];
		else if (strcmp(s, "--policy") == 0 && i + 1 < argc)
			a->policy = argv[++i];
		else if (strcmp(s, "--db") == 0 && i + 1 < argc)
			a->db = argv[++i];
		else if (strcmp(s, "--severity") == 0 && i + 1 < argc) {
			a->severity = argv[++i];
			if (!valid_severity_list(a->severity))
				return cs_err_set(CS_EINVAL, "--severity: expected a list of critical, "
						  "high, medium, low, unknown");
		} else if (strcmp(s, "--ignore-unfixed") == 0)
			a->ignore_unfixed = 1;
		else if (strcmp(s, "--exit-code") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 0 || v > 255)
				return cs_err_set(CS_EINVAL, "--exit-code: expected 0..255");
			a->exit_code = (int)v;
		} else if (strcmp(s, "--timeout") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v <= 0)
				return cs_err_set(CS_EINVAL, "--timeout: expected seconds");
			a->so.lim.worker_wall = (uint64_t)v;
			a->so.src.timeout = (unsigned)v;
		} else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0)
			a->quiet = 1;
		else if (strcmp(s, "--no-progress") == 0)
			a->progress = 0;
		else if ((r = cs_scan_parse_option(&a->so, argc, argv, &i)) != 0) {
			if (r < 0)
				return r;
		} else if (s[0] == '-' && s[1] != '\0')
			return cs_err_set(CS_EINVAL, "unknown option %.64s", s);
		else if (a->ref == NULL)
			a->ref = s;
		else if (explain && a->vuln == NULL)
			a->vuln = s;
		else
			return cs_err_set(CS_EINVAL, "unexpected argument %.64s", s);
	}
	if (a->ref == NULL || (explain && a->vuln == NULL))
		return cs_err_set(CS_EINVAL, explain ? "usage: cellscan explain IMAGE VULN-ID" :
				  "usage: cellscan scan IMAGE [options] (see cellscan --help)");
	return 0;
}

static const char *repository_of(const char *ref, char *buf, size_t n)
{
	const char *at;

	snprintf(buf, n, "%s", ref);
	at = strchr(buf, '@');
	if (at != NULL)
		buf[at - buf] = '\0';
	/* drop a :tag after the last '/' */
	{
		char *slash = strrchr(buf, '/'), *colon = strrchr(buf, ':');
		if (colon != NULL && (slash == NULL || colon > slash) && strncmp(buf, "oci:", 4) != 0)
			*colon = '\0';
	}
	return buf;
}

/* Runs the pipeline; *report is the cellscan-report/1 document and
 * *inventory (when asked) the merged inventory it was made from. */
static int run_scan(json_t **report, json_t **inventory, struct scan_args *a,
		    const struct cs_scan_opts *so)
{
	struct cs_scan_result res;
	struct cs_vulndb *db = NULL;
	struct cs_policy *pol = NULL;
	struct cs_report_opts ropts;
	json_t *match = NULL, *cls = NULL;
	char dbpath[4096], repo[1024];
	int r;

	*report = NULL;
	if (inventory != NULL)
		*inventory = NULL;
	memset(&res, 0, sizeof(res));
	if ((r = load_policy(&pol, a)) != 0)
		return r;
	if (a->db != NULL)
		snprintf(dbpath, sizeof(dbpath), "%s", a->db);
	else if ((r = cs_vulndb_default_path(dbpath, sizeof(dbpath), 0)) != 0)
		goto out;
	if (access(dbpath, R_OK) != 0) {
		r = cs_err_set(CS_ENOTFOUND, "no vulnerability database at %s: run `cellscan db update` "
			       "or `cellscan db import` first", dbpath);
		goto out;
	}
	if ((r = cs_vulndb_open(&db, dbpath, 1)) != 0)
		goto out;
	{
		struct cs_scan_opts withp = *so;
		if (a->progress) {
			withp.progress = stage;
			withp.progress_ctx = a;
		}
		if ((r = cs_scan_inventory(&res, a->ref, &withp)) != 0)
			goto out;
	}
	progress(a, "matching %zu packages against %s",
		 json_array_size(json_object_get(res.inventory, "packages")), dbpath);
	if ((r = cs_scan_judge(&match, &cls, &res, db, pol,
				 repository_of(a->ref, repo, sizeof(repo)), a->ref)) != 0)
		goto out;
	apply_severity_filter(cls, a->severity);
	memset(&ropts, 0, sizeof(ropts));
	ropts.created = CS_REPORT_TIME_AUTO;
	r = cs_report_build(report, res.inventory, match, cls, &ropts);
	if (r == 0 && inventory != NULL)
		*inventory = json_incref(res.inventory);
out:
	json_decref(match);
	json_decref(cls);
	cs_policy_free(pol);
	cs_vulndb_close(db);
	cs_scan_result_free(&res);
	return r;
}

static int render(char **text, size_t *len, const struct scan_args *a, const json_t *report,
		  const json_t *inventory)
{
	const char *f = a->format;

	if (strcmp(f, "json") == 0)
		return cs_report_json(text, len, report);
	if (strcmp(f, "table") == 0) {
		struct cs_report_table_opts o;
		memset(&o, 0, sizeof(o));
		/* colour only on a terminal, never into a file or a pipe */
		o.color = a->out == NULL && isatty(1) && getenv("NO_COLOR") == NULL;
		o.width = cs_cli_terminal_width();
		return cs_report_table(text, len, report, &o);
	}
	if (strcmp(f, "sarif") == 0)
		return cs_report_sarif(text, len, report);
	if (strcmp(f, "cyclonedx") == 0)
		return cs_report_cyclonedx(text, len, inventory, json_object_get(report, "findings"),
					   NULL);
	if (strcmp(f, "spdx") == 0)
		return cs_report_sbom_spdx(text, len, inventory);
	return cs_err_set(CS_EINVAL, "unknown format \"%.32s\" (table, json, sarif, cyclonedx, spdx)", f);
}

static int exit_for_verdict(const struct scan_args *a, const char *verdict)
{
	if (verdict != NULL && strcmp(verdict, "unhealthy") == 0)
		return a->exit_code;
	if (verdict != NULL && strcmp(verdict, "error") == 0)
		return CS_EXIT_FAILED;
	return CS_EXIT_OK;
}

/* --platform all: one report per image of the index; the exit code is the
 * worst of them. */
static int scan_all(struct scan_args *a)
{
	json_t *list = NULL, *docs = json_array(), *e, *doc = NULL;
	size_t i;
	int r = 0, rc = CS_EXIT_OK;
	char *text = NULL;
	size_t len;

	if (strcmp(a->format, "json") != 0 && strcmp(a->format, "table") != 0) {
		cs_cli_error("scan: --platform all writes JSON or tables (--format json|table)");
		json_decref(docs);
		return CS_EXIT_USAGE;
	}
	if ((r = cs_scan_platforms(&list, a->ref, &a->so)) != 0)
		goto fail;
	json_array_foreach(list, i, e) {
		struct cs_scan_opts one = a->so;
		json_t *report = NULL;
		int prc;

		cs_scan_opts_for_platform(&one, e);
		progress(a, "platform %s", json_string_value(json_object_get(e, "platform")));
		if ((r = run_scan(&report, NULL, a, &one)) != 0)
			goto fail;
		prc = exit_for_verdict(a, json_string_value(json_object_get(report, "verdict")));
		if (prc == CS_EXIT_FAILED || (rc != CS_EXIT_FAILED && prc != CS_EXIT_OK))
			rc = prc;
		json_array_append_new(docs, json_pack("{s:O, s:o}", "platform",
						      json_object_get(e, "platform"), "report", report));
	}
	if (strcmp(a->format, "table") == 0) {
		struct cs_buf b;
		cs_buf_init(&b, 1u << 30);
		json_array_foreach(docs, i, e) {
			struct cs_report_table_opts o;
			char *t = NULL;
			size_t tl = 0;
			memset(&o, 0, sizeof(o));
			o.color = a->out == NULL && isatty(1) && getenv("NO_COLOR") == NULL;
			o.width = cs_cli_terminal_width();
			if ((r = cs_report_table(&t, &tl, json_object_get(e, "report"), &o)) != 0) {
				cs_buf_free(&b);
				goto fail;
			}
			cs_buf_printf(&b, "== platform %s\n", json_string_value(json_object_get(e, "platform")));
			cs_buf_add(&b, t, tl);
			cs_buf_addstr(&b, "\n");
			free(t);
		}
		len = b.len;
		text = (char *)cs_buf_steal(&b, NULL);
	} else {
		doc = json_pack("{s:s, s:s, s:O}", "schema", "cellscan-platforms/1", "image", a->ref,
				"platforms", docs);
		text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
		if (text == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto fail;
		}
		len = strlen(text);
	}
	if ((r = cs_cli_write_out(a->out, text ? text : "", text ? len : 0)) != 0)
		goto fail;
	free(text);
	json_decref(doc);
	json_decref(docs);
	json_decref(list);
	return rc;
fail:
	cs_cli_error("%s", cs_err_msg());
	free(text);
	json_decref(doc);
	json_decref(docs);
	json_decref(list);
	return cs_cli_exit_for(r);
}

int cs_cmd_scan(int argc, char **argv)
{
	struct scan_args a;
	json_t *report = NULL, *inventory = NULL;
	char *text = NULL;
	size_t len = 0;
	int r, rc;

	memset(&a, 0, sizeof(a));
	cs_scan_opts_init(&a.so, cs_cli_worker_path());
	a.format = (isatty(1) ? "table" : "json");
	a.exit_code = CS_EXIT_UNHEALTHY;
	a.progress = isatty(2);
	if ((r = parse(&a, argc, argv, 0)) != 0) {
		cs_cli_error("scan: %s", cs_err_msg());
		return CS_EXIT_USAGE;
	}
	if (a.quiet)
		a.progress = 0;
	cs_cli_warn_weak(a.so.weak);
	if (cs_scan_all_platforms(&a.so))
		return scan_all(&a);
	if ((r = run_scan(&report, &inventory, &a, &a.so)) != 0)
		goto fail;
	if ((r = render(&text, &len, &a, report, inventory)) != 0)
		goto fail;
	if ((r = cs_cli_write_out(a.out, text, len)) != 0)
		goto fail;
	rc = exit_for_verdict(&a, json_string_value(json_object_get(report, "verdict")));
	if (rc == CS_EXIT_FAILED && !a.quiet)
		cs_cli_error("%s: %s", a.ref, json_string_value(json_object_get(report, "reason")));
	free(text);
	json_decref(report);
	json_decref(inventory);
	return rc;
fail:
	cs_cli_error("%s", cs_err_msg());
	free(text);
	json_decref(report);
	json_decref(inventory);
	return cs_cli_exit_for(r);
}

/* The evidence chain of one finding, by id or alias. */
int cs_cmd_explain(int argc, char **argv)
{
	struct scan_args a;
	json_t *report = NULL, *f, *hits;
	size_t i;
	int r;
	char *text;

	memset(&a, 0, sizeof(a));
	cs_scan_opts_init(&a.so, cs_cli_worker_path());
	a.progress = isatty(2);
	if ((r = parse(&a, argc, argv, 1)) != 0) {
		cs_cli_error("explain: %s", cs_err_msg());
		return CS_EXIT_USAGE;
	}
	if ((r = run_scan(&report, NULL, &a, &a.so)) != 0) {
		cs_cli_error("%s", cs_err_msg());
		return cs_cli_exit_for(r);
	}
	hits = json_array();
	json_array_foreach(json_object_get(report, "findings"), i, f) {
		json_t *al;
		size_t k;
		int hit = strcmp(json_string_value(json_object_get(f, "id")), a.vuln) == 0;
		json_array_foreach(json_object_get(f, "aliases"), k, al)
			if (strcmp(json_string_value(al), a.vuln) == 0)
				hit = 1;
		if (hit)
			json_array_append(hits, f);
	}
	if (json_array_size(hits) == 0) {
		cs_cli_error("explain: %s does not affect %s (no finding with that id or alias, "
			     "reported or ignored)", a.vuln, a.ref);
		json_decref(hits);
		json_decref(report);
		return CS_EXIT_OK;
	}
	{
		json_t *doc = json_pack("{s:s, s:s, s:O, s:O, s:O}", "vulnerability", a.vuln,
					"image", a.ref, "db", json_object_get(report, "db"),
					"image_digests", json_object_get(report, "image"),
					"findings", hits);
		text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		json_decref(doc);
	}
	if (text != NULL) {
		puts(text);
		free(text);
	}
	json_decref(hits);
	json_decref(report);
	return CS_EXIT_OK;
}
