/*
 * diff.h - what changed between two published vulnerability databases, for
 * `cellscan serve`'s re-match after `cellscan db update` (docs/rescan.md):
 * only images with a package some changed record names need judging again.
 */
#ifndef CS_SUPERVISOR_VULNDB_DIFF_H
#define CS_SUPERVISOR_VULNDB_DIFF_H

#include <stddef.h>

#include <jansson.h>

#include "supervisor/vulndb/vulndb.h"

/* Past this many changed records or (ecosystem, package) pairs the diff is
 * CS_ELIMIT: the caller then re-matches everything, which is cheaper than
 * looking that many pairs up one by one. */
#define CS_VULNDB_DIFF_MAX_RECORDS 2000000u
#define CS_VULNDB_DIFF_MAX_PAIRS 1000000u

/*
 * Compares two databases record by record (by id). A record counts as
 * changed when it is in one database only, or when its "modified",
 * "published" or "withdrawn" time differs (OSV requires "modified" to move
 * with every change, and an import keeps the stored record on a tie, so equal
 * times mean equal records). For every changed record, each (ecosystem,
 * package) of its affected[] entries, in the old and in the new database, is
 * one pair: the full OSV ecosystem string ("Alpine:v3.20", "PyPI") and the
 * package name as indexed (PEP 503 for PyPI), which is what the store's
 * reverse index holds (cs_store_images_for_packages).
 *
 * *pairs: a new array of [ecosystem, package] string pairs, sorted, each
 * once (json_decref). *records (may be NULL): changed records. Both handles
 * are used by the calling thread only during the call and are not modified.
 * CS_ELIMIT past the caps above, CS_EDB on a read failure; *pairs is NULL
 * then.
 */
int cs_vulndb_diff(json_t **pairs, size_t *records, struct cs_vulndb *old_db,
		   struct cs_vulndb *new_db);

#endif
