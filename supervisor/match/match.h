/*
 * match.h - does an OSV record affect an installed package? Pure functions
 * over parsed JSON (jansson); no database, no I/O, no global state, so they
 * are safe to call from any thread. The rules and every decision behind them
 * are in docs/matching.md.
 *
 * Inputs are borrowed for the duration of a call and never modified (except
 * the array given to cs_match_dedupe()). Every json_t handed out through an
 * out-parameter is a new reference the caller releases with json_decref().
 * Out-parameters are set to NULL on entry.
 *
 * Flow for one image:
 *   cs_match_ecosystem_for_os(eco, os)          "Debian:12", or CS_EUNSUPPORTED
 *   for each package:
 *     cs_match_query_keys(&keys, pkg, eco)      which (ecosystem, name) to look up
 *     for each record the database returns for a key:
 *       cs_match_record(&f, record, pkg, eco, notes)
 *   cs_match_dedupe(findings)                   one finding per vulnerability per package
 */
#ifndef CS_MATCH_MATCH_H
#define CS_MATCH_MATCH_H

#include <stddef.h>

#include <jansson.h>

/* Room for any ecosystem string this module produces, NUL included. */
#define CS_MATCH_ECOSYSTEM_MAX 256

/*
 * The OSV ecosystem of the image's distribution release, from its OS
 * identity {"id", "version_id", "codename", "pretty_name", "id_like"} (os may
 * be NULL: unknown). Writes e.g. "Debian:12", "Ubuntu:22.04:LTS",
 * "Alpine:v3.19", "Rocky Linux:9", "AlmaLinux:9",
 * "Red Hat:enterprise_linux:9", "SUSE:Linux Enterprise Server 15 SP5",
 * "openSUSE:Leap 15.5", "Wolfi", "Chainguard" into out (n bytes).
 * CS_EUNSUPPORTED (message names the OS) for an OS the OSV data does not
 * cover: the caller reports such an image as unsupported, never as clean.
 * CS_ELIMIT when out is too small, CS_EINVAL for bad arguments.
 */
int cs_match_ecosystem_for_os(char *out, size_t n, const json_t *os);

/*
 * The database look-ups for one package: *out is a new array of
 *   {"ecosystem": E, "name": N, "via": "source"|"binary"|"origin"|"name",
 *    "version": the version that will be compared}
 * A record is a candidate for a key when one of its affected[].package has
 * name N and an ecosystem equal to E or starting with E followed by ':'
 * (cs_match_ecosystem_covers()); cs_match_record() then applies the exact
 * release rules, so a database may return more than that, never less.
 * os_ecosystem is the result of cs_match_ecosystem_for_os() and is required
 * for OS packages (kind dpkg, apk, rpm); language packages (pypi, npm, go,
 * maven, cargo, gem, nuget, composer, pub, hex, ...) ignore it.
 * CS_EUNSUPPORTED for an unknown kind or an OS package without a matching
 * distribution ecosystem, CS_EINVAL for a package without name or version.
 */
int cs_match_query_keys(json_t **out, const json_t *pkg, const char *os_ecosystem);

/* 1 when record_ecosystem equals key_ecosystem or starts with it followed by
 * ':' (the coarse look-up rule of cs_match_query_keys()), else 0. */
int cs_match_ecosystem_covers(const char *key_ecosystem, const char *record_ecosystem);

/* 1 when an affected[] entry with record_ecosystem speaks for packages of
 * the image/language ecosystem target (the exact rule), else 0. */
int cs_match_ecosystem_applies(const char *target, const char *record_ecosystem);

/*
 * Decides, per the OSV specification's evaluation algorithm, whether record
 * affects pkg. ecosystem is the image's OS ecosystem for OS packages (as for
 * cs_match_query_keys(); it may be NULL for language packages).
 * On 0, *finding is a new finding object (see docs/matching.md) or NULL when
 * the package is not affected (or the record is withdrawn). Whatever could
 * not be evaluated (unparsable versions, malformed events, unknown range
 * types) is never counted as a match; when notes is not NULL an object
 * {"id", "package", "version", "reason"} is appended to it for each such case.
 * Errors: CS_EINVAL (bad arguments), CS_EFORMAT (record is not an OSV object
 * with an id), CS_EUNSUPPORTED (as for cs_match_query_keys()), CS_ENOMEM.
 */
int cs_match_record(json_t **finding, const json_t *record, const json_t *pkg,
		    const char *ecosystem, json_t *notes);

/*
 * Merges, in place, findings (an array of cs_match_record() findings) that
 * describe the same vulnerability of the same package: records whose ids
 * and aliases overlap (see docs/matching.md for the identity used and which
 * id becomes primary). The merged finding keeps the union of aliases, lists
 * every record it came from under "advisories" and the other records'
 * evidence under "merged". Order of first appearance is kept.
 */
int cs_match_dedupe(json_t *findings);

/* ---- Compiled records (docs/matching.md, "Compiled records") ----------
 *
 * A vulnerability database stores each record twice over for matching: one
 * header (what a finding and the alias merge need: id, aliases, summary,
 * times, severity, upstream) and one row per (ecosystem, package name) the
 * record's affected[] entries name (those entries, already split into ranges
 * and events). Matching then needs no JSON parse and no allocation per
 * (package, record) pair; only a match builds JSON. Both forms are opaque
 * byte strings made here and read here; a reader checks every length, so a
 * damaged form is CS_EDB, never a crash. cs_match_record() runs the same
 * evaluation on a record it compiles on the fly.
 */
struct cs_buf;

/* Appends the header of record (an OSV object with an id) to out. */
int cs_match_compile_header(struct cs_buf *out, const json_t *record);

/* Appends a row made of the affected[] entries of record at the given
 * indices (ascending; entries without a package name and ecosystem are
 * left out) to out. */
int cs_match_compile_row(struct cs_buf *out, const json_t *record, const size_t *entries, size_t n);

/*
 * What cs_match_inventory() asks of a database.
 * rows: calls cb once per row whose ecosystem is covered by ecosystem
 *   (cs_match_ecosystem_covers(); a key without ':' covers the whole base
 *   ecosystem) and whose package name is name (as the database keys names),
 *   in any order. row is borrowed for the callback. A non-zero return
 *   from cb is returned. (Findings come out in record id order whatever
 *   the order of the rows.)
 * header: the header of record rec, borrowed until the next call.
 */
struct cs_match_source {
	void *ctx;
	int (*rows)(void *ctx, const char *ecosystem, const char *name,
		    int (*cb)(void *cbctx, long long rec, const void *row, size_t len), void *cbctx);
	int (*header)(void *ctx, long long rec, const void **hdr, size_t *len);
};

/*
 * Matches every package of packages (an inventory's "packages" array)
 * against src: what cs_match_query_keys() + cs_match_record() per record +
 * cs_match_dedupe() do, with the same findings in the same order (a package's
 * findings are merged among themselves). os_ecosystem as for
 * cs_match_query_keys() (NULL: OS packages are not matched). Findings are
 * appended to findings, notes to notes (a record that cannot be evaluated
 * is a note {"id", "reason"}, never an error); *matched (may be NULL) counts
 * the packages that were looked up. Errors: CS_ENOMEM, CS_EDB (a damaged
 * compiled form or a source error), CS_EINVAL.
 */
int cs_match_inventory(json_t *findings, json_t *notes, size_t *matched, const json_t *packages,
		       const char *os_ecosystem, const struct cs_match_source *src);

/*
 * cs_match_inventory() in its two steps, for callers that time or use them
 * apart. cs_match_run: the matching itself (look-ups, evaluation, the
 * matched records' headers, which findings will merge); notes are appended
 * to notes; src is not used after it returns. *out keeps packages (a
 * reference) and everything read; free with cs_match_result_free().
 * cs_match_result_findings: the findings as JSON, appended to findings.
 * _hits: the (package, record) matches before merging; _matched: the
 * packages looked up.
 */
struct cs_match_result;
int cs_match_run(struct cs_match_result **out, const json_t *packages, const char *os_ecosystem,
		 const struct cs_match_source *src, json_t *notes);
int cs_match_result_findings(struct cs_match_result *r, json_t *findings);
size_t cs_match_result_hits(const struct cs_match_result *r);
size_t cs_match_result_matched(const struct cs_match_result *r);
void cs_match_result_free(struct cs_match_result *r);

#endif
