/*
 * fuzz_util.c - the checking cs_emit of fuzz_util.h.
 *
 * Each string is walked byte by byte up to its NUL so that ASan reports a
 * string that is not NUL-terminated inside its allocation, and its UTF-8 is
 * checked where the analyzer promises it (the worker would otherwise have to
 * repair it, and the analyzer headers say they do that themselves).
 */
#include "tests/fuzz/fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

unsigned long cs_fuzz_total_os, cs_fuzz_total_packages, cs_fuzz_total_warnings;

void cs_fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what);
	abort();
}

int cs_fuzz_check_known(void)
{
	static int known = -1;

	if (known < 0)
		known = getenv("CS_FUZZ_CHECK_KNOWN") != NULL;
	return known;
}

int cs_fuzz_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t need, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07u;
		} else {
			return 0;
		}
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* Walks s to its NUL; checks UTF-8 when must_utf8. NULL is "absent". */
static void check_str(struct cs_fuzz_emit *e, const char *s, int must_utf8)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	e->bytes += n;
	if (must_utf8)
		FUZZ_ASSERT(cs_fuzz_utf8_valid((const uint8_t *)s, n));
}

static int on_os(void *ctx, const struct cs_os *os)
{
	struct cs_fuzz_emit *e = ctx;
	int all = (e->utf8 & CS_FUZZ_UTF8_ALL) != 0;
	int id = all || (e->utf8 & CS_FUZZ_UTF8_IDENTITY) != 0;

	FUZZ_ASSERT(os != NULL);
	check_str(e, os->id, id);
	check_str(e, os->version_id, id);
	check_str(e, os->codename, id);
	check_str(e, os->pretty_name, all);
	check_str(e, os->id_like, id);
	check_str(e, os->variant_id, id);
	check_str(e, os->source, all);
	/* os_release.h: empty values are absent. */
	FUZZ_ASSERT(os->id == NULL || os->id[0] != '\0');
	FUZZ_ASSERT(os->version_id == NULL || os->version_id[0] != '\0');
	e->os++;
	cs_fuzz_total_os++;
	return 0;
}

static int on_package(void *ctx, const struct cs_pkg *p)
{
	struct cs_fuzz_emit *e = ctx;
	int all = (e->utf8 & CS_FUZZ_UTF8_ALL) != 0;
	int id = all || (e->utf8 & CS_FUZZ_UTF8_IDENTITY) != 0;
	size_t i;

	FUZZ_ASSERT(p != NULL);
	FUZZ_ASSERT(p->kind == CS_PKG_DPKG || p->kind == CS_PKG_APK || p->kind == CS_PKG_RPM);
	/* Every emitted package has a name and a version (the analyzers skip
	 * records without, with a warning). */
	FUZZ_ASSERT(p->name != NULL && p->name[0] != '\0');
	FUZZ_ASSERT(p->version != NULL);
	check_str(e, p->name, id);
	check_str(e, p->version, id);
	check_str(e, p->arch, id);
	check_str(e, p->source_name, id);
	check_str(e, p->source_version, id);
	check_str(e, p->multi_arch, all);
	check_str(e, p->status, all);
	check_str(e, p->origin, all);
	check_str(e, p->license, all);
	check_str(e, p->maintainer, all);
	check_str(e, p->rpm_version, all);
	check_str(e, p->rpm_release, all);
	check_str(e, p->source_rpm, all);
	check_str(e, p->modularity_label, all);
	check_str(e, p->vendor, all);
	check_str(e, p->db_path, 1);
	FUZZ_ASSERT(p->db_path != NULL && strcmp(p->db_path, e->path) == 0);
	FUZZ_ASSERT(p->n_files == 0 || p->files != NULL);
	for (i = 0; i < p->n_files; i++) {
		FUZZ_ASSERT(p->files[i] != NULL);
		check_str(e, p->files[i], all);
		/* analyzer.h: file paths have no leading '/'. Known: apk emits
		 * "/x" for "R:/x" without a directory (crashes/apk/). */
		if (p->kind != CS_PKG_APK || cs_fuzz_check_known())
			FUZZ_ASSERT(p->files[i][0] != '/');
	}
	e->files += p->n_files;
	e->packages++;
	cs_fuzz_total_packages++;
	return 0;
}

static int on_warning(void *ctx, const char *path, const char *message)
{
	struct cs_fuzz_emit *e = ctx;

	FUZZ_ASSERT(path != NULL && message != NULL);
	check_str(e, path, 0);
	check_str(e, message, 0);
	/* analyzer.h: one line, no trailing newline. */
	FUZZ_ASSERT(strchr(message, '\n') == NULL);
	e->warnings++;
	cs_fuzz_total_warnings++;
	return 0;
}

void cs_fuzz_emit_init(struct cs_fuzz_emit *e, const char *path, unsigned utf8)
{
	memset(e, 0, sizeof(*e));
	e->emit.os = on_os;
	e->emit.package = on_package;
	e->emit.warning = on_warning;
	e->emit.ctx = e;
	e->path = path;
	e->utf8 = utf8;
}
