/*
 * os_release.h - the OS identity analyzer.
 *
 * Files and what each yields (struct cs_os, source = the path given):
 *   etc/os-release, usr/lib/os-release
 *       ID, VERSION_ID, VERSION_CODENAME (else UBUNTU_CODENAME), PRETTY_NAME,
 *       ID_LIKE, VARIANT_ID, with values unquoted as os-release(5) says:
 *       shell-style "..." (backslash escapes \" \\ \$ \`), '...' (literal)
 *       and unquoted text with backslash escapes; pieces may be
 *       concatenated; surrounding blanks and trailing unquoted blanks are
 *       dropped; # lines are comments; later assignments win. Empty values
 *       are absent (NULL). A file without ID yields a warning and no record
 *       (nothing to match on); a file without VERSION_ID still yields one
 *       (Debian testing/sid and rolling distributions have none).
 *   etc/alpine-release   id "alpine", version_id = the first line ("3.20.3").
 *   etc/debian_version   id "debian"; the first line is version_id when it
 *       starts with a digit ("12.5"), else it names the next release
 *       ("trixie/sid") and its first part becomes codename.
 *   etc/redhat-release, etc/centos-release, etc/system-release
 *       "<Name> release <version> (<codename>)": pretty_name is the line,
 *       version_id and codename as written, id from the name: Red Hat
 *       Enterprise Linux -> rhel, CentOS (incl. Stream) -> centos, Rocky Linux
 *       -> rocky, AlmaLinux -> almalinux, Fedora -> fedora, Amazon Linux ->
 *       amzn, Oracle Linux -> ol, Scientific Linux -> scientific,
 *       EuroLinux -> eurolinux; other names leave id NULL (with a warning).
 *
 * Precedence (for the supervisor, which sees all records of an image):
 * etc/os-release is authoritative, then usr/lib/os-release (what
 * etc/os-release normally links to); the distribution files are fallbacks
 * for images without either. Note that Ubuntu also ships etc/debian_version
 * (naming the Debian release it derives from), so it must never override an
 * os-release record.
 *
 * Identity fields must be valid UTF-8 without control characters; an unfit
 * value is dropped with a warning. PRETTY_NAME is repaired instead (invalid
 * bytes become U+FFFD). Values are capped at 1024 bytes.
 */
#ifndef CS_WORKER_ANALYZERS_OS_RELEASE_H
#define CS_WORKER_ANALYZERS_OS_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/* 1 for the seven paths listed above (normalised, no leading '/'). */
int cs_os_release_match(const char *path);

/*
 * Parses data[0..len) (not NUL-terminated) as the file named by path (its
 * base name picks the format; unknown names are read as os-release). Emits at
 * most one cs_os. Returns 0, or a negative CS_E* code when a callback returns
 * non-zero (a positive value becomes CS_EINTERNAL) or memory runs out.
 */
int cs_os_release_parse(const struct cs_emit *e, const char *path, const uint8_t *data,
			size_t len);

#endif
