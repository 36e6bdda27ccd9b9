/*
 * vulndb.h - cellscan's local OSV vulnerability database (one SQLite file).
 *
 * Building: cs_vulndb_import() and cs_vulndb_update() never write the
 * database in place. They copy the current file (if any) into a temporary
 * file beside it, merge the new records into the copy, compute its digest,
 * fsync it and rename() it over the old path. A failed or interrupted build
 * leaves the old file untouched; readers that have the old file open keep
 * reading the old inode. That is also why readers may open the file with
 * SQLite's immutable=1 flag: a published file is never modified again.
 *
 * Reading: cs_vulndb_open() + cs_vulndb_lookup() / cs_vulndb_same() /
 * cs_vulndb_info(). A handle is used by one thread at a time.
 *
 * docs/vulndb.md describes the schema, the validation rules and the caps.
 */
#ifndef CS_SUPERVISOR_VULNDB_H
#define CS_SUPERVISOR_VULNDB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The schema this code reads and writes (PRAGMA user_version, meta table). */
#define CS_VULNDB_SCHEMA 2

/* Caps on one OSV record (documented in docs/vulndb.md). */
#define CS_VULNDB_MAX_RECORD     (4u * 1024 * 1024) /* bytes of JSON */
#define CS_VULNDB_MAX_ID         256                 /* bytes of an id or alias */
#define CS_VULNDB_MAX_ALIASES    1000
#define CS_VULNDB_MAX_AFFECTED   10000   /* affected[] entries */
#define CS_VULNDB_MAX_RANGES     10000   /* ranges, summed over affected[] */
#define CS_VULNDB_MAX_EVENTS     100000  /* events, summed over all ranges */
#define CS_VULNDB_MAX_VERSIONS   200000  /* versions[] strings, summed */
#define CS_VULNDB_MAX_NAME       1024    /* ecosystem / package name bytes */
/* Caps on one source. */
#define CS_VULNDB_MAX_ENTRIES    5000000ull           /* records per source */
#define CS_VULNDB_MAX_DEPTH      32                   /* directory recursion */
#define CS_VULNDB_MAX_DOWNLOAD   (4ull * 1024 * 1024 * 1024) /* bytes per all.zip */

/* Opaque read handle. */
struct cs_vulndb;

/*
 * Opens the database at path. readonly != 0 (what scans use): opened with
 * SQLITE_OPEN_READONLY and immutable=1 (see above). readonly == 0: read-write
 * (tests, tools). The schema version is checked: a file written by another
 * schema is CS_EUNSUPPORTED, a missing file CS_ENOTFOUND, a file that is not
 * a cellscan database CS_EDB. *out is NULL on failure; free with
 * cs_vulndb_close().
 */
int cs_vulndb_open(struct cs_vulndb **out, const char *path, int readonly);

/* Closes; NULL is a no-op. */
void cs_vulndb_close(struct cs_vulndb *db);

/*
 * Calls cb once per record that has an affected[] entry for (ecosystem,
 * package), in record id order, each record once however many of its entries
 * match. ecosystem with a ':' ("Debian:12", "Alpine:v3.19",
 * "Red Hat:enterprise_linux:9") matches that OSV ecosystem string and every
 * one below it ("Red Hat:enterprise_linux:9::appstream"), as
 * cs_match_ecosystem_covers() says; without one ("PyPI", "Debian") it
 * matches the base ecosystem, i.e. every release of it. PyPI names are
 * compared after PEP 503 normalisation, NuGet and Packagist names without
 * regard to ASCII case, others exactly.
 * Withdrawn records are returned too (the record says so; the matcher skips
 * them). record is borrowed: valid only during the callback (json_incref to
 * keep it). A non-zero return from cb stops the walk and is returned.
 * One range of the (ecosystem, package) index, then one rowid read and one
 * parse per record; a scan uses a session (below) to parse each record once.
 */
int cs_vulndb_lookup(struct cs_vulndb *db, const char *ecosystem, const char *package,
		     int (*cb)(void *ctx, json_t *record), void *ctx);

/*
 * A look-up session: cs_vulndb_lookup() with a cache of parsed records, for
 * the look-ups of one scan. A record several packages need (every binary of
 * a Debian source package, a record naming several packages, one library in
 * several places) is then read and parsed once. Bound to db and used by the
 * thread that uses db; close it before db. max_bytes bounds the stored JSON
 * text of the cached records (0: CS_VULNDB_SESSION_CACHE); the parsed form
 * takes several times that on the heap. When one more record would pass the
 * bound the cache is emptied first. *out is NULL on failure; free with
 * cs_vulndb_session_close() (NULL is a no-op).
 */
struct cs_vulndb_session;

#define CS_VULNDB_SESSION_CACHE (32u * 1024 * 1024)

int cs_vulndb_session_open(struct cs_vulndb_session **out, struct cs_vulndb *db,
			   size_t max_bytes);
void cs_vulndb_session_close(struct cs_vulndb_session *s);

/*
 * Exactly cs_vulndb_lookup(): the same records in the same (id) order, the
 * same errors. record is borrowed and shared with later look-ups of the
 * session: valid during the callback, never to be modified (json_incref to
 * keep it longer).
 */
int cs_vulndb_session_lookup(struct cs_vulndb_session *s, const char *ecosystem,
			     const char *package, int (*cb)(void *ctx, json_t *record), void *ctx);

/*
 * The compiled form the matcher reads (supervisor/match/match.h, "Compiled
 * records"); these are the rows and header callbacks of a struct
 * cs_match_source. cs_vulndb_rows: the rows of (ecosystem, package) under
 * the rules of cs_vulndb_lookup(), in index order (not id order); row is
 * borrowed for the callback; a non-zero return from cb
 * stops and is returned. cs_vulndb_header: the header of the record at rowid
 * rec (as given to cb), borrowed until the next call on db; CS_ENOTFOUND.
 */
int cs_vulndb_rows(struct cs_vulndb *db, const char *ecosystem, const char *package,
		   int (*cb)(void *ctx, long long rec, const void *row, size_t len), void *ctx);
int cs_vulndb_header(struct cs_vulndb *db, long long rec, const void **hdr, size_t *len);

/* What a session did, for benchmarks and tests. */
struct cs_vulndb_session_stats {
	uint64_t lookups;     /* cs_vulndb_session_lookup calls */
	uint64_t records;     /* records handed to callbacks (or about to be) */
	uint64_t parsed;      /* records read from the file and parsed */
	uint64_t cache_hits;  /* records served from the cache */
	uint64_t evictions;   /* times the cache was emptied to stay in bounds */
	size_t cached;        /* records in the cache now */
	size_t cached_bytes;  /* their stored text */
};

void cs_vulndb_session_stats(const struct cs_vulndb_session *s,
			     struct cs_vulndb_session_stats *out);

/* The record with this id, or CS_ENOTFOUND. *out is a new reference
 * (json_decref). */
int cs_vulndb_get(struct cs_vulndb *db, const char *id, json_t **out);

/*
 * "Which records are the same vulnerability": calls cb with the id of every
 * record that shares a name (its id or one of its aliases) with record id,
 * the record itself included, in id order. id is borrowed for the callback.
 * A record not in the database yields nothing (returns 0).
 */
int cs_vulndb_same(struct cs_vulndb *db, const char *id,
		   int (*cb)(void *ctx, const char *id), void *ctx);

/*
 * Describes the database: {"schema": 1, "build_time": "...", "digest":
 * "sha256:...", "records": N, "withdrawn": N, "ecosystems": {"Debian:12": N,
 * ...} (records per full ecosystem string), "sources": [{"url", "kind",
 * "etag", "last_modified", "imported_at", "records"}...]}.
 * *out is a new reference (json_decref).
 */
int cs_vulndb_info(struct cs_vulndb *db, json_t **out);

/* The digest ("sha256:<hex>") and build time the database was published
 * with; borrowed, valid until cs_vulndb_close(). For reports. */
const char *cs_vulndb_digest(const struct cs_vulndb *db);
const char *cs_vulndb_build_time(const struct cs_vulndb *db);

/* Why a record or file was skipped. */
enum cs_vulndb_skip {
	CS_VULNDB_SKIP_JSON,      /* not valid JSON (or duplicate keys) */
	CS_VULNDB_SKIP_TOO_LARGE, /* over CS_VULNDB_MAX_RECORD */
	CS_VULNDB_SKIP_SCHEMA,    /* breaks an OSV schema rule */
	CS_VULNDB_SKIP_LIMIT,     /* over a count cap (ranges, events, ...) */
	CS_VULNDB_SKIP_NOT_JSON,  /* a file or zip entry not named *.json */
	CS_VULNDB_SKIP_CORRUPT,   /* an archive entry that cannot be read */
	CS_VULNDB_SKIP_COUNT
};

/* "invalid-json", "too-large", ... ; "unknown" if out of range. */
const char *cs_vulndb_skip_name(enum cs_vulndb_skip why);

/*
 * Import counters. The caller zeroes the struct and may set warn, which is
 * called for every skipped record or file: where = "SOURCE" or
 * "SOURCE!ENTRY" (untrusted text: escape before printing), rule = what was
 * broken. Both borrowed for the call.
 */
struct cs_vulndb_import_stats {
	uint64_t seen;       /* records read (valid or not) */
	uint64_t imported;   /* ids new to the database */
	uint64_t updated;    /* replaced an older `modified` */
	uint64_t unchanged;  /* same or older `modified` than what is there */
	uint64_t skipped;    /* sum of skipped_by[] */
	uint64_t skipped_by[CS_VULNDB_SKIP_COUNT];
	uint64_t records;    /* records in the database after the build */
	void (*warn)(void *ctx, enum cs_vulndb_skip why, const char *where, const char *rule);
	void *warn_ctx;
};

/*
 * Imports sources (OSV zip files read in place with libarchive, directories
 * walked recursively for *.json, single .json files) into dbpath, merging
 * with the records already there (a newer `modified` wins; a tie keeps the
 * existing record). Invalid records are skipped and counted (stats->warn
 * names each one). A source that cannot be read as a whole (missing,
 * structurally corrupt zip, I/O error) fails the import: dbpath is left as it
 * was and the error is returned. The parent directory of dbpath must exist.
 */
int cs_vulndb_import(const char *dbpath, const char *const *sources, size_t n,
		     struct cs_vulndb_import_stats *stats);

/* Options for cs_vulndb_update(); zero means default for every field. */
struct cs_vulndb_update_opts {
	/* Mirror base URL; the URL of an ecosystem is BASE/<Ecosystem>/all.zip
	 * (ecosystem percent-encoded). Default CS_VULNDB_DEFAULT_SOURCE. https
	 * only. */
	const char *source;
	/* Ecosystems to fetch. Default: the ecosystems this source was updated
	 * with before, else CS_VULNDB_DEFAULT_ECOSYSTEMS. */
	const char *const *ecosystems;
	size_t n_ecosystems;
	const char *ca_file;          /* CA bundle (PEM) instead of the system's */
	uint64_t max_download;        /* bytes per archive; default CS_VULNDB_MAX_DOWNLOAD */
	long timeout_s;               /* per request; default 1800 */
};

#define CS_VULNDB_DEFAULT_SOURCE "https://osv-vulnerabilities.storage.googleapis.com"
/* Comma-separated, the ecosystems a container scanner needs most. */
#define CS_VULNDB_DEFAULT_ECOSYSTEMS \
	"Debian,Ubuntu,Alpine,Red Hat,Rocky Linux,AlmaLinux,SUSE,openSUSE,Wolfi," \
	"Chainguard,PyPI,npm,Go,Maven,crates.io,RubyGems,NuGet,Packagist"

struct cs_vulndb_update_stats {
	unsigned requests;      /* HTTP requests made */
	unsigned not_modified;  /* answered 304 */
	unsigned downloaded;    /* answered 200 and fetched whole */
	uint64_t bytes;         /* bytes downloaded */
	int rebuilt;            /* 1 when a new database was swapped in */
	struct cs_vulndb_import_stats import;  /* warn/warn_ctx set by caller */
};

/*
 * Fetches each ecosystem's all.zip with If-None-Match / If-Modified-Since
 * from what the database recorded for that URL; 304 costs nothing more. The
 * changed archives are downloaded to temporary files beside dbpath (capped
 * at max_download), imported like cs_vulndb_import() together with their
 * new ETag / Last-Modified, and swapped in atomically. Any failure (network,
 * HTTP status, size cap, truncated download, corrupt archive) leaves dbpath
 * as it was and returns the error. stats may be NULL.
 */
int cs_vulndb_update(const char *dbpath, const struct cs_vulndb_update_opts *opts,
		     struct cs_vulndb_update_stats *stats);

/*
 * The default database path: $XDG_DATA_HOME/cellscan/vulndb.sqlite, else
 * $HOME/.local/share/cellscan/vulndb.sqlite. mkdirs != 0 creates the
 * directories (mode 0700). CS_ELIMIT if it does not fit in n bytes,
 * CS_ENOTFOUND when neither variable is set.
 */
int cs_vulndb_default_path(char *out, size_t n, int mkdirs);

/*
 * Lookup keys, exposed for the matcher and tests. cs_vulndb_ecosystem_base:
 * the part before the first ':' ("Debian:12" -> "Debian"). cs_vulndb_
 * package_key: the name as indexed for that ecosystem (PEP 503 for PyPI:
 * lower case, runs of '-', '_', '.' become one '-'). Both write a
 * NUL-terminated string; CS_ELIMIT if it does not fit in n.
 */
int cs_vulndb_ecosystem_base(char *out, size_t n, const char *ecosystem);
int cs_vulndb_package_key(char *out, size_t n, const char *ecosystem, const char *name);

#endif
