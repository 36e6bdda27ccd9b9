/*
 * rpm.h - the rpm package database analyzer.
 *
 * Reads the three on-disk formats of the rpm database that container images
 * carry, entirely from memory (the worker has no file access):
 *   - BerkeleyDB hash "Packages"      (RHEL/CentOS <= 8, Amazon Linux 2, SLES 12)
 *   - SQLite "rpmdb.sqlite"          (Fedora >= 33, RHEL 9, CBL-Mariner)
 *   - NDB "Packages.db"              (SLES 15 / openSUSE)
 * and the rpm header blob each of them stores per installed package. The
 * format is detected from the bytes, not from the file name.
 *
 * Every package is emitted through struct cs_emit (analyzer.h) with
 * kind CS_PKG_RPM, version "VERSION-RELEASE", and the rpm fields filled in.
 * gpg-pubkey pseudo-packages (imported signing keys) are emitted like any
 * other header, as `rpm -qa` lists them; they have no ARCH and no SOURCERPM.
 */
#ifndef CS_WORKER_RPM_H
#define CS_WORKER_RPM_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/*
 * 1 when path (normalised, relative, no leading '/') is a file this analyzer
 * reads: var/lib/rpm/Packages, var/lib/rpm/rpmdb.sqlite,
 * var/lib/rpm/Packages.db, and the same three under usr/lib/sysimage/rpm/.
 */
int cs_rpm_match(const char *path);

/*
 * Parses the database in data[0..len) (borrowed, not modified) and emits one
 * package per sound header. Malformed, truncated or cyclic input gives
 * warnings naming path and the problem; what parsed soundly is still
 * emitted. Returns 0, or a negative CS_E* code only when memory ran out or
 * a callback of e failed (its return value is passed on).
 */
int cs_rpm_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);

/*
 * Parses one rpm header blob as the databases store it (big-endian entry
 * count, data length, index entries, data store; no lead, no magic) and
 * emits the package, or a warning naming path and what is wrong. Exposed for
 * tests and fuzzers. Same return convention as cs_rpm_parse.
 */
int cs_rpm_header_parse(const struct cs_emit *e, const char *path, const uint8_t *blob, size_t len);

#endif
