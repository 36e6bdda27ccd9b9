/*
 * cmd_cache.c - `cellscan cache status|prune`: the blob cache of the image
 * sources (supervisor/source/cache.c).
 *
 *   cellscan cache status [--cache-dir DIR] [--json]
 *   cellscan cache prune  [--cache-dir DIR] [--cache-max-size SIZE | --all] [--json]
 *
 * prune evicts least-recently-used blobs down to SIZE (default: the cache
 * cap), or every blob with --all, never one a running scan holds, and
 * removes partial downloads left by crashed scans.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/source/source.h"

int cs_cmd_cache(int argc, char **argv);

static void human(char *out, size_t n, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(out, n, "%.1f GiB", (double)b / (double)(1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(out, n, "%.1f MiB", (double)b / (double)(1ull << 20));
	else if (b >= 1024)
		snprintf(out, n, "%.1f KiB", (double)b / 1024.0);
	else
		snprintf(out, n, "%llu B", (unsigned long long)b);
}

static int print(const struct cs_cache_stats *st, uint64_t cap, int prune, int json)
{
	char a[32], b[32], c[32];

	if (json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "dir", st->dir,
				      "blobs", (json_int_t)st->blobs, "bytes", (json_int_t)st->bytes,
				      "max_bytes", (json_int_t)cap,
				      "partial_files", (json_int_t)st->tmp_files,
				      "partial_bytes", (json_int_t)st->tmp_bytes);
		if (o != NULL && prune) {
			json_object_set_new(o, "removed", json_integer((json_int_t)st->removed));
			json_object_set_new(o, "removed_bytes", json_integer((json_int_t)st->removed_bytes));
		}
		if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			json_decref(o);
			return cs_err_set(CS_ENOMEM, "out of memory");
		}
		json_decref(o);
		putchar('\n');
		return 0;
	}
	human(a, sizeof(a), st->bytes);
	human(b, sizeof(b), cap);
	printf("cache:   %s\n", st->dir);
	printf("blobs:   %llu (%s of %s)\n", (unsigned long long)st->blobs, a, b);
	if (st->tmp_files > 0) {
		human(c, sizeof(c), st->tmp_bytes);
		printf("partial: %llu downloads in progress (%s)\n", (unsigned long long)st->tmp_files, c);
	}
	if (prune) {
		human(c, sizeof(c), st->removed_bytes);
		printf("removed: %llu files (%s)\n", (unsigned long long)st->removed, c);
	}
	return 0;
}

int cs_cmd_cache(int argc, char **argv)
{
	struct cs_source_opts so;
	struct cs_cache_stats st;
	const char *sub;
	int i, r, all = 0, json = 0, prune;
	uint64_t cap;

	memset(&so, 0, sizeof(so));
	if (argc < 2 || (strcmp(argv[1], "status") != 0 && strcmp(argv[1], "prune") != 0)) {
		cs_cli_error("usage: cellscan cache status|prune [--cache-dir DIR] "
			     "[--cache-max-size SIZE | --all] [--json]");
		return CS_EXIT_USAGE;
	}
	sub = argv[1];
	prune = strcmp(sub, "prune") == 0;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			json = 1;
			continue;
		}
		if (prune && strcmp(a, "--all") == 0) {
			all = 1;
			continue;
		}
		if (strcmp(a, "--cache-dir") == 0 || strcmp(a, "--cache-max-size") == 0) {
			r = cs_source_parse_option(&so, argc, argv, &i);
			if (r < 0) {
				cs_cli_error("%s", cs_err_msg());
				return CS_EXIT_USAGE;
			}
			continue;
		}
		cs_cli_error("cache %s: unknown argument %.64s", sub, a);
		return CS_EXIT_USAGE;
	}
	cap = so.cache_max ? so.cache_max : CS_CACHE_MAX_DEFAULT;
	if (prune)
		r = cs_cache_prune(&st, so.cache_dir, all ? 0 : cap);
	else
		r = cs_cache_status(&st, so.cache_dir);
	if (r == 0)
		r = print(&st, cap, prune, json);
	if (r != 0) {
		cs_cli_error("cache %s: %s", sub, cs_err_msg());
		return cs_cli_exit_for(r);
	}
	return CS_EXIT_OK;
}
