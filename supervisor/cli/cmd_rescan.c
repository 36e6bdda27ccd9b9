/*
 * cmd_rescan.c - `cellscan rescan`: judge stored images again from their
 * stored inventories, against the current vulnerability database and
 * policy, without pulling or running a worker (docs/rescan.md).
 *
 *   cellscan rescan (--all | --repository R | --from FILE) [-j N]
 *                   [--config FILE | --store URL] [--db FILE] [--policy FILE]
 *                   [--exit-code N] [--no-alerts] [--quiet]
 *
 * It reads serve's configuration file the way serve does (store, database,
 * policy, alert targets), so on the scanning host `--config` is all it
 * needs. The work is cs_service_rematch(), which serve also runs after a
 * database update.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "policy/policy.h"
#include "supervisor/cli/cli.h"
#include "supervisor/collect/collect.h"
#include "supervisor/service/service.h"
#include "supervisor/store/store.h"
#include "supervisor/vulndb/vulndb.h"

#define FROM_MAX_BYTES (1u << 30)   /* --from file */
#define DEFAULT_JOBS_MAX 8          /* default -j: online CPUs, at most this */

static const char rescan_usage[] =
	"usage: cellscan rescan (--all | --repository R | --from FILE) [-j N]\n"
	"                       [--config FILE | --store URL] [--db FILE] [--policy FILE]\n"
	"                       [--exit-code N] [--no-alerts] [--quiet]\n"
	"  --all               every stored image\n"
	"  --repository R      images of repository R (\"host/repo\", or \"host/repo*\" for a prefix)\n"
	"  --from FILE         the digests in FILE, one per line (\"-\": stdin; # comments)\n"
	"  -j N                N threads, each with its own database handle and store\n"
	"                      connection (default: the CPUs, at most 8)\n"
	"  --config FILE       serve's configuration: its store, database, policy, alerts\n"
	"  --store URL         the store (a path, sqlite:PATH, postgresql://...)\n"
	"  --db FILE           vulnerability database (default: the config's, else cellscan db's)\n"
	"  --policy FILE       policy (default: the config's, else the built-in one)\n"
	"  --exit-code N       exit N when an image is unhealthy (or in error) after the rescan\n"
	"  --no-alerts         queue no verdict alerts (with --store alone they are queued)\n"
	"  --quiet             only the final summary and errors\n"
	"Prints one line per image whose verdict changed, then a summary.\n"
	"Exit: 0 done, N (--exit-code) unhealthy, 2 usage, 3 an image or the run failed.\n";

struct rescan_args {
	int all;
	const char *repository;
	const char *from;
	unsigned jobs;
	const char *config;
	const char *store;
	const char *db;
	const char *policy;
	int exit_code;      /* -1: not asked */
	int no_alerts;
	int quiet;
};

static int parse_uint(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse(struct rescan_args *a, int argc, char **argv)
{
	int i, modes;
	long v;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		int more = i + 1 < argc;
		if (strcmp(s, "--all") == 0)
			a->all = 1;
		else if (strcmp(s, "--repository") == 0 && more)
			a->repository = argv[++i];
		else if (strcmp(s, "--from") == 0 && more)
			a->from = argv[++i];
		else if ((strcmp(s, "-j") == 0 || strcmp(s, "--jobs") == 0) && more) {
			if (parse_uint(argv[++i], 1, CS_SERVICE_REMATCH_MAX_THREADS, &v) != 0)
				return cs_err_set(CS_EINVAL, "-j: expected 1..%d",
						  CS_SERVICE_REMATCH_MAX_THREADS);
			a->jobs = (unsigned)v;
		} else if (strcmp(s, "--config") == 0 && more)
			a->config = argv[++i];
		else if (strcmp(s, "--store") == 0 && more)
			a->store = argv[++i];
		else if (strcmp(s, "--db") == 0 && more)
			a->db = argv[++i];
		else if (strcmp(s, "--policy") == 0 && more)
			a->policy = argv[++i];
		else if (strcmp(s, "--exit-code") == 0 && more) {
			if (parse_uint(argv[++i], 0, 255, &v) != 0)
				return cs_err_set(CS_EINVAL, "--exit-code: expected 0..255");
			a->exit_code = (int)v;
		} else if (strcmp(s, "--no-alerts") == 0)
			a->no_alerts = 1;
		else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0)
			a->quiet = 1;
		else
			return cs_err_set(CS_EINVAL, "%s \"%.64s\"",
					  s[0] == '-' && !more ? "a value may be missing after" :
					  "unknown argument", s);
	}
	modes = (a->all != 0) + (a->repository != NULL) + (a->from != NULL);
	if (modes != 1)
		return cs_err_set(CS_EINVAL, "say which images: exactly one of --all, --repository R, "
				  "--from FILE");
	if (a->config == NULL && a->store == NULL)
		return cs_err_set(CS_EINVAL, "say where the results are: --config FILE (serve's) or "
				  "--store URL");
	return 0;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
}

/* serve's configuration with the flags over it; 0 or CS_E* (usage). */
static int load_config(struct cs_service_config *cfg, const struct rescan_args *a)
{
	int r = 0;

	cs_service_config_init(cfg);
	if (a->config != NULL) {
		if ((r = cs_service_config_load(cfg, a->config)) != 0)
			return r;
		/* the same defaults as serve (store under the state directory) */
		if (a->store == NULL && (r = cs_service_config_finish(cfg)) != 0)
			return r;
	}
	if (a->store != NULL && (r = set_str(&cfg->store_url, a->store)) != 0)
		return r;
	if (a->db != NULL && (r = set_str(&cfg->vulndb, a->db)) != 0)
		return r;
	if (a->policy != NULL && (r = set_str(&cfg->policy_file, a->policy)) != 0)
		return r;
	return 0;
}

/* Digests from a file (or stdin), one per line; blank lines and lines
 * starting with '#' are skipped, each digest once. */
static int read_digests(json_t **out, const char *path)
{
	FILE *f;
	json_t *list = json_array(), *seen = json_object();
	char line[CS_STORE_MAX_DIGEST + 8];
	size_t total = 0, lineno = 0;
	int r = 0;

	*out = NULL;
	if (list == NULL || seen == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		r = cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		char *p = line;
		lineno++;
		total += n;
		if (total > FROM_MAX_BYTES) {
			r = cs_err_set(CS_ELIMIT, "%s: larger than %u bytes", path, FROM_MAX_BYTES);
			break;
		}
		if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
			r = cs_err_set(CS_EINVAL, "%s:%zu: line longer than a digest", path, lineno);
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
				 line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "sha256:", 7) != 0 || strlen(p) != 71 ||
		    strspn(p + 7, "0123456789abcdef") != 64) {
			r = cs_err_set(CS_EINVAL, "%s:%zu: not a digest (sha256:<64 hex>)", path,
				       lineno);
			break;
		}
		if (json_object_get(seen, p) != NULL)
			continue;
		if (json_array_size(list) >= CS_SERVICE_REMATCH_MAX) {
			r = cs_err_set(CS_ELIMIT, "%s: more than %u digests", path,
				       CS_SERVICE_REMATCH_MAX);
			break;
		}
		if (json_object_set_new(seen, p, json_true()) != 0 ||
		    json_array_append_new(list, json_string(p)) != 0) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = cs_err_set(CS_EIO, "%s: read error", path);
	if (f != stdin)
		fclose(f);
	if (r == 0) {
		*out = list;
		list = NULL;
	}
out:
	json_decref(list);
	json_decref(seen);
	return r;
}

struct progress {
	int quiet;
};

static void on_image(void *ctx, const struct cs_service_rematch_item *it)
{
	const struct progress *p = ctx;
	char d[200], repo[600];

	if (it->error != 0) {
		cs_cli_error("rescan: %s", it->message);
		return;
	}
	if (!it->changed || p->quiet)
		return;
	/* stored text: escaped before it reaches a terminal */
	cs_collect_escape(d, sizeof(d), it->digest, strlen(it->digest));
	cs_collect_escape(repo, sizeof(repo), it->repository ? it->repository : "",
			  it->repository ? strlen(it->repository) : 0);
	printf("%s %s: %s -> %s\n", d, repo, it->previous ? it->previous : "none",
	       it->verdict ? it->verdict : "?");
	fflush(stdout);
}

static unsigned default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > DEFAULT_JOBS_MAX ? DEFAULT_JOBS_MAX : (unsigned)n;
}

int cs_cmd_rescan(int argc, char **argv)
{
	struct rescan_args a;
	struct cs_service_config cfg;
	struct cs_store_options sopt;
	struct cs_service_rematch_opts o;
	struct cs_service_rematch_stats stats;
	struct cs_policy *pol = NULL;
	struct cs_store *st = NULL;
	struct cs_vulndb *probe = NULL;
	struct progress prog;
	json_t *digests = NULL;
	char dbpath[4096];
	const char *db;
	int i, r, code = CS_EXIT_OK;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(rescan_usage, stdout);
			return CS_EXIT_OK;
		}
	}
	memset(&a, 0, sizeof(a));
	a.exit_code = -1;
	if ((r = parse(&a, argc, argv)) != 0) {
		cs_cli_error("rescan: %s", cs_err_msg());
		fputs(rescan_usage, stderr);
		return CS_EXIT_USAGE;
	}
	if ((r = load_config(&cfg, &a)) != 0) {
		cs_cli_error("rescan: %s", cs_err_msg());
		code = r == CS_ENOMEM ? CS_EXIT_INTERNAL : CS_EXIT_USAGE;
		goto out;
	}
	if (cfg.vulndb != NULL) {
		db = cfg.vulndb;
	} else {
		if ((r = cs_vulndb_default_path(dbpath, sizeof(dbpath), 0)) != 0) {
			cs_cli_error("rescan: vulnerability database: %s (--db FILE)", cs_err_msg());
			code = CS_EXIT_USAGE;
			goto out;
		}
		db = dbpath;
	}
	if (cfg.policy_file != NULL)
		r = cs_policy_load_file(&pol, cfg.policy_file);
	else
		r = cs_policy_default(&pol);
	if (r != 0) {
		cs_cli_error("rescan: policy: %s", cs_err_msg());
		code = r == CS_EINVAL || r == CS_EFORMAT ? CS_EXIT_USAGE : CS_EXIT_FAILED;
		goto out;
	}
	/* a missing database fails the run before anything is read */
	if ((r = cs_vulndb_open(&probe, db, 1)) != 0) {
		cs_cli_error("rescan: vulnerability database %s: %s", db, cs_err_msg());
		code = CS_EXIT_FAILED;
		goto out;
	}
	cs_vulndb_close(probe);
	if (a.config != NULL)
		cs_service_store_options(&cfg, &sopt);   /* alerts as serve queues them */
	else
		cs_store_options_default(&sopt);
	if (a.no_alerts)
		sopt.alerts = 0;
	if ((r = cs_store_open(&st, cfg.store_url)) != 0 ||
	    (r = cs_store_set_options(st, &sopt)) != 0) {
		cs_cli_error("rescan: store %s: %s", cfg.store_url, cs_err_msg());
		code = CS_EXIT_FAILED;
		goto out;
	}
	if (a.from != NULL)
		r = read_digests(&digests, a.from);
	else
		r = cs_service_stored_images(&digests, st, a.all ? NULL : a.repository);
	cs_store_close(st);
	st = NULL;
	if (r != 0) {
		cs_cli_error("rescan: %s", cs_err_msg());
		code = r == CS_EINVAL ? CS_EXIT_USAGE : CS_EXIT_FAILED;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	prog.quiet = a.quiet;
	o.store_url = cfg.store_url;
	o.store_opts = &sopt;
	o.vulndb = db;
	o.policy = pol;
	o.threads = a.jobs ? a.jobs : default_jobs();
	o.on_image = on_image;
	o.ctx = &prog;
	if ((r = cs_service_rematch(&o, digests, &stats)) != 0) {
		cs_cli_error("rescan: %s", cs_err_msg());
		code = CS_EXIT_FAILED;
		goto out;
	}
	printf("rescan: %zu images, %zu changed, %zu failed, %.1f seconds (database %s)\n",
	       stats.images, stats.changed, stats.failed, stats.seconds,
	       stats.db_digest[0] ? stats.db_digest : "?");
	fflush(stdout);
	if (stats.failed > 0)
		code = CS_EXIT_FAILED;
	else if (a.exit_code >= 0 && stats.unhealthy > 0)
		code = a.exit_code;
out:
	json_decref(digests);
	cs_store_close(st);
	cs_policy_free(pol);
	cs_service_config_clear(&cfg);
	return code;
}
