/*
 * internal.h - shared between the .c files of supervisor/vulndb only; the
 * part's door for everyone else is vulndb.h.
 */
#ifndef CS_SUPERVISOR_VULNDB_INTERNAL_H
#define CS_SUPERVISOR_VULNDB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "supervisor/vulndb/vulndb.h"

/* The DDL of schema CS_VULNDB_SCHEMA (one string for sqlite3_exec). */
extern const char cs_vulndb_schema_sql[];

/*
 * Checks one parsed OSV record against the rules in docs/vulndb.md. 0 when
 * valid; otherwise a negative code, *why set and rule filled with a short
 * NUL-terminated description naming the field ("affected[2].ranges[0]:
 * type \"FOO\" is not SEMVER, ECOSYSTEM or GIT").
 */
int cs_vulndb_osv_check(json_t *rec, enum cs_vulndb_skip *why, char *rule, size_t rule_n);

/* 1 when s is an RFC 3339 date-time; then *sec and *nsec hold it in UTC. */
int cs_vulndb_time_parse(const char *s, int64_t *sec, long *nsec);
/* <0, 0, >0 as time a is before, equal to, after time b (both valid). */
int cs_vulndb_time_cmp(const char *a, const char *b);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void cs_vulndb_time_now(char out[32]);

/* A read handle (vulndb.h). The statements are prepared once at open and
 * reused by every call (SQLITE_PREPARE_PERSISTENT). */
struct cs_vulndb {
	sqlite3 *h;
	sqlite3_stmt *ids_full, *ids_base, *by_rowid, *get, *same, *rows_full, *rows_base, *header;
	char *digest, *build_time;
};

/* One record a look-up found: its rowid, id (borrowed from rec) and parsed
 * record (a reference the holder owns). */
struct cs_vulndb_hit {
	sqlite3_int64 rowid;
	const char *id;
	json_t *rec;
};

/*
 * The record ids (rowids) with an affected row for (ecosystem, package), per
 * the rules of cs_vulndb_lookup(), each once, in ascending rowid order, into
 * *ids (grown with realloc, *cap its capacity; the caller frees it). *n is
 * the count. A name longer than any stored one yields 0 ids.
 */
int cs_vulndb_lookup_ids(struct cs_vulndb *db, const char *ecosystem, const char *package,
			 sqlite3_int64 **ids, size_t *n, size_t *cap);
/* The record at rowid, parsed: *out a new reference; *text_len (when not
 * NULL) the size of its stored text. CS_ENOTFOUND when there is none,
 * CS_EDB when the stored text does not parse or names another id. */
int cs_vulndb_fetch(struct cs_vulndb *db, sqlite3_int64 rowid, json_t **out, size_t *text_len);
/* Sorts hits by record id (byte order, as SQLite's ORDER BY id). */
void cs_vulndb_sort_hits(struct cs_vulndb_hit *hits, size_t n);

/* Opens path read-write (creating it when create != 0) with our pragmas for
 * a private build file. */
int cs_vulndb_sql_open_rw(sqlite3 **out, const char *path, int create);
/* Maps a SQLite failure to CS_EDB with a message naming what. */
int cs_vulndb_sql_err(sqlite3 *h, int rc, const char *what);
/* user_version of an open handle, or CS_EDB. */
int cs_vulndb_sql_schema(sqlite3 *h, int *version);

/* One source of a build: a local path, and for update the URL it came from
 * with the validators the server gave. */
struct cs_vulndb_src {
	const char *path;
	const char *url;            /* NULL: the source is the path itself */
	const char *etag;           /* may be NULL */
	const char *last_modified;  /* may be NULL */
};

/* The build behind cs_vulndb_import() and cs_vulndb_update(); see there. */
int cs_vulndb_build(const char *dbpath, const struct cs_vulndb_src *srcs, size_t n,
		    struct cs_vulndb_import_stats *stats);

/* The compiled form of one record (compile.c): the matcher's header, and
 * one row per (ecosystem base, package key, full ecosystem) its affected[]
 * entries name. All malloc'd; cs_vulndb_compiled_free. */
struct cs_vulndb_crow {
	char *base, *key, *full;
	uint8_t *prog;
	size_t len;
};

struct cs_vulndb_compiled {
	uint8_t *hdr;
	size_t hlen;
	struct cs_vulndb_crow *rows;
	size_t nrows;
};

int cs_vulndb_compile(struct cs_vulndb_compiled *c, const json_t *rec);
void cs_vulndb_compiled_free(struct cs_vulndb_compiled *c);

#endif
