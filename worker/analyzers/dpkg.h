/*
 * dpkg.h - the dpkg package database analyzer.
 *
 * Reads the deb822 stanzas of var/lib/dpkg/status and of the distroless
 * layout var/lib/dpkg/status.d/<name> (one file per package, without the
 * maintainer-script and md5sums files beside it) and emits one struct cs_pkg
 * (kind CS_PKG_DPKG) per installed package.
 *
 * Which stanzas count as installed:
 *   - status: those whose Status field has "installed" as its third word (the
 *     package state), whatever the wanted action and error flag are. So
 *     "install ok installed", "hold ok installed" (held packages) and
 *     "deinstall ok installed" (marked for removal, files still on disk) are
 *     emitted; "deinstall ok config-files", "install ok unpacked",
 *     "... half-installed", "... triggers-pending" etc. are not. Every
 *     skipped stanza is counted and the file gets one warning summarising the
 *     counts per state, rather than one warning per stanza.
 *   - status.d: these files carry no Status field; a stanza without one is
 *     installed. A stanza that does have Status is judged as above.
 * A stanza without Package or Version is skipped with a warning.
 *
 * Fields: Package, Version (kept exactly as written, surrounding blanks
 * trimmed), Architecture, Multi-Arch, Maintainer, Status (as written), and
 * Source in its "name" and "name (version)" forms; source_name/version
 * default to the binary name/version. Field names are case-insensitive as in
 * deb822; continuation lines (starting with space or tab) belong to the
 * previous field and are skipped. Identity fields must be valid UTF-8 without
 * control characters or blanks; the Maintainer field is repaired (invalid
 * bytes become U+FFFD) instead. Values longer than 4096 bytes are refused.
 *
 * The parser is one linear pass over the bytes with constant work per line;
 * warnings per file are capped (the rest are counted in a last warning).
 * The same parser reads opkg status files, which share the format, but
 * cs_dpkg_match() does not claim them: they are not Debian packages and the
 * contract has no opkg kind.
 */
#ifndef CS_WORKER_ANALYZERS_DPKG_H
#define CS_WORKER_ANALYZERS_DPKG_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/*
 * 1 for "var/lib/dpkg/status" and for files directly inside
 * "var/lib/dpkg/status.d/" other than dotfiles and dpkg control-file
 * companions (*.md5sums, *.list, *.conffiles, *.preinst, *.postinst,
 * *.prerm, *.postrm, *.config, *.templates, *.triggers, *.shlibs,
 * *.symbols); 0 otherwise.
 */
int cs_dpkg_match(const char *path);

/*
 * Parses data[0..len) (not NUL-terminated) read from path (normalised,
 * relative to the image root; decides status vs status.d rules and is copied
 * to cs_pkg.db_path). Emits through e. Returns 0, or a negative CS_E* code
 * when memory runs out or a callback returns non-zero (a positive callback
 * value becomes CS_EINTERNAL). All emitted strings are borrowed for the
 * duration of the callback only.
 */
int cs_dpkg_parse(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);

#endif
