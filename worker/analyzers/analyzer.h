/*
 * analyzer.h - the contract every analyzer in worker/analyzers/ implements.
 *
 * An analyzer is a pure function from the bytes of one file (already read
 * into memory by the worker, bounded by CS_LIMIT_ANALYZER_FILE) to records,
 * delivered through a struct cs_emit. Analyzers never open files, allocate
 * without bound, or keep state between calls. Whatever was parsed soundly is
 * emitted even when the input is partly malformed; problems become warnings
 * that name the file and what was wrong. The return value is 0, or a negative
 * CS_E* code only for failures that must stop the worker (out of memory, an
 * emit callback failing); malformed input is a warning, not an error.
 *
 * All strings passed to the callbacks are borrowed for the duration of the
 * call and are NUL-terminated; NULL means "absent".
 */
#ifndef CS_WORKER_ANALYZER_H
#define CS_WORKER_ANALYZER_H

#include <stddef.h>
#include <stdint.h>

/* OS identity from os-release or distribution files. */
struct cs_os {
	const char *id;           /* "debian", "alpine", "rhel", "ubuntu", ... */
	const char *version_id;   /* "12", "3.20.3", "9.4" */
	const char *codename;     /* VERSION_CODENAME, "bookworm" */
	const char *pretty_name;
	const char *id_like;      /* space-separated, as in os-release */
	const char *variant_id;
	const char *source;       /* the file it came from, "etc/os-release" */
};

/* The package database kinds. */
enum cs_pkg_kind {
	CS_PKG_DPKG = 1,
	CS_PKG_APK,
	CS_PKG_RPM,
};

/* One installed package. Fields that do not apply to a kind stay NULL / 0. */
struct cs_pkg {
	enum cs_pkg_kind kind;
	const char *name;
	/*
	 * The full version as the ecosystem writes it for comparison:
	 *   dpkg: "[epoch:]upstream[-revision]" exactly as in the Version field
	 *   apk:  "1.2.3-r4"
	 *   rpm:  "version-release" (epoch kept separately below)
	 */
	const char *version;
	const char *arch;
	/* dpkg: source package and its version (defaults to name/version). */
	const char *source_name;
	const char *source_version;
	const char *multi_arch;   /* dpkg Multi-Arch */
	const char *status;       /* dpkg Status line */
	/* apk */
	const char *origin;
	const char *license;
	const char *maintainer;
	/* rpm */
	int has_epoch;            /* rpm: an epoch tag was present */
	int epoch;
	const char *rpm_version;  /* rpm VERSION tag */
	const char *rpm_release;  /* rpm RELEASE tag */
	const char *source_rpm;   /* "bash-5.1.8-6.el9.src.rpm" */
	const char *modularity_label;
	const char *vendor;
	/* Files the package owns (apk, rpm; optional). Paths without leading '/'. */
	const char *const *files;
	size_t n_files;
	/* The package database file the record came from, "var/lib/dpkg/status". */
	const char *db_path;
};

struct cs_emit {
	int (*os)(void *ctx, const struct cs_os *os);
	int (*package)(void *ctx, const struct cs_pkg *pkg);
	/* path: the input file; message: one line, no trailing newline. */
	int (*warning)(void *ctx, const char *path, const char *message);
	void *ctx;
};

/* Emits a printf-formatted warning through e; returns what the callback does. */
int cs_emit_warnf(const struct cs_emit *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
