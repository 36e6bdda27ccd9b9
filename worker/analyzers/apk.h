/*
 * apk.h - the Alpine apk installed-database analyzer.
 *
 * Reads lib/apk/db/installed: records separated by blank lines, one "X:value"
 * line per field. Emits one struct cs_pkg (kind CS_PKG_APK) per record with
 * P: name, V: version, A: arch, o: origin, L: license, m: maintainer, and
 * the files it owns: each R: line names a file in the directory of the last
 * F: line, emitted as "dir/file" (no leading '/'; "file" alone for an R:
 * before any F:, or after "F:" with an empty value). Directories themselves
 * are not listed.
 *
 * A record without P: or V: is skipped with a warning. A second P: inside a
 * record (a missing blank line) starts a new record, with a warning. Lines
 * that are not "X:value" are warned about and skipped. Name, version and
 * arch must be clean UTF-8 tokens (no blanks or controls) of at most 4096
 * bytes or the record is skipped (arch alone is dropped); origin, license
 * and maintainer are repaired (invalid bytes become U+FFFD); file paths that
 * are not clean UTF-8, or longer than 4096 bytes, are left out and counted in
 * a warning. At most 1,000,000 files and 64 MiB of path text per package are
 * kept; past that the package is emitted with the files kept so far and a
 * warning. Warnings per file are capped (the rest are counted).
 *
 * One linear pass; file paths are collected in growable buffers with
 * amortised doubling, so the work is linear in the input.
 */
#ifndef CS_WORKER_ANALYZERS_APK_H
#define CS_WORKER_ANALYZERS_APK_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/* 1 for "lib/apk/db/installed"; 0 otherwise. */
int cs_apk_match(const char *path);

/*
 * Parses data[0..len) (not NUL-terminated) read from path (copied to
 * cs_pkg.db_path). Returns 0, or a negative CS_E* code when memory runs out
 * or a callback returns non-zero (a positive value becomes CS_EINTERNAL).
 * cs_pkg.files and its strings are borrowed for the duration of the callback.
 */
int cs_apk_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);

#endif
