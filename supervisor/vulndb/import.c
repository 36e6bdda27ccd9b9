/*
 * import.c - building a new database file from sources and swapping it in.
 *
 * One build: take dbpath.lock (flock), copy the current database into
 * dbpath.tmp.XXXXXX with SQLite's backup API (or create the schema), merge
 * every source into it inside one transaction with prepared statements,
 * write the meta rows (digest last), fsync, rename over dbpath, fsync the
 * directory. Any error before the rename unlinks the temporary file, so the
 * published database is the old one or the new one, never a mix.
 *
 * Sources are untrusted: each record is read into a buffer capped at
 * CS_VULNDB_MAX_RECORD + 1 bytes (a zip entry's declared size is not
 * trusted either), parsed with jansson (duplicate keys rejected) and checked
 * by cs_vulndb_osv_check() before anything is written.
 */
#include "supervisor/vulndb/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/errors.h"

/*
 * Reading and parsing a source runs on a second thread (the reader) while
 * this thread merges into SQLite: one bounded queue of items between them,
 * in source order. Everything that touches the database, the counters or
 * the caller's warn callback happens on the calling thread, in the order
 * the reader produced it, so the result and the warnings are those of a
 * single-threaded import. When the thread cannot be started the reader
 * runs inline and each item is applied as it is made.
 */
enum item_kind { IT_RECORD, IT_SKIP, IT_SOURCE_END, IT_ERROR, IT_DONE };

struct item {
	enum item_kind kind;
	json_t *rec;               /* IT_RECORD: checked record */
	char *text;                /* IT_RECORD: its minified text */
	size_t len;                /* IT_RECORD: bytes of text */
	struct cs_vulndb_compiled comp; /* IT_RECORD: its compiled form */
	int seen;                  /* IT_SKIP: counts as a record read */
	enum cs_vulndb_skip why;   /* IT_SKIP */
	char *where, *rule;        /* IT_SKIP; IT_ERROR: rule is the message */
	int code;                  /* IT_ERROR */
	size_t src;                /* IT_SOURCE_END: index into the sources */
	const char *src_kind;      /* IT_SOURCE_END: static string */
};

/* Items and queued text at most: bounds the memory the reader can run
 * ahead by (a record's parse tree is a few times its text). */
#define QUEUE_ITEMS 1024
#define QUEUE_BYTES (32u * 1024 * 1024)

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct item it[QUEUE_ITEMS];
	size_t head, n, bytes;
	int stop;                  /* the merging side failed: reader, give up */
};

struct build {
	sqlite3 *h;
	sqlite3_stmt *sel, *ins, *upd, *del_aff, *del_ali, *ins_aff, *ins_ali, *src;
	struct cs_vulndb_import_stats *st;
	struct cs_buf rec;         /* one record's bytes (reader side) */
	uint64_t src_records;      /* valid records of the current source */
	char now[32];
	struct queue *q;           /* NULL: the reader runs inline */
	int migrate;               /* the current database has schema 1 */
	const struct cs_vulndb_src *srcs;
	size_t nsrcs;
};

static int consume(struct build *b, struct item *it);

static void item_free(struct item *it)
{
	json_decref(it->rec);
	free(it->text);
	cs_vulndb_compiled_free(&it->comp);
	free(it->where);
	free(it->rule);
	memset(it, 0, sizeof(*it));
}

/* Hands an item from the reader to the merging side (ownership moves).
 * Non-zero: stop reading (the merge failed, or, inline, its error). */
static int emit(struct build *b, struct item *it)
{
	struct queue *q = b->q;
	int stop;

	if (q == NULL) {
		int r = consume(b, it);

		item_free(it);
		return r;
	}
	pthread_mutex_lock(&q->mu);
	while (!q->stop && (q->n == QUEUE_ITEMS || (q->n > 0 && q->bytes + it->len > QUEUE_BYTES)))
		pthread_cond_wait(&q->not_full, &q->mu);
	stop = q->stop;
	if (!stop) {
		q->it[(q->head + q->n) % QUEUE_ITEMS] = *it;
		q->n++;
		q->bytes += it->len;
		memset(it, 0, sizeof(*it));
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->mu);
	if (stop) {
		item_free(it);
		return cs_err_set(CS_EINTERNAL, "import stopped");
	}
	return 0;
}

/* A skipped record or file (reader side); seen: it counts as read. */
static void skip_item(struct build *b, int seen, enum cs_vulndb_skip why, const char *where,
		      const char *rule)
{
	struct item it = { .kind = IT_SKIP, .seen = seen, .why = why };

	it.where = strdup(where);
	it.rule = strdup(rule);
	if (it.where == NULL || it.rule == NULL) {
		/* still counted; the warning loses its text */
		free(it.where);
		free(it.rule);
		it.where = it.rule = NULL;
	}
	if (emit(b, &it) != 0)
		cs_err_clear();   /* a stop is seen at the next record */
}

static void skip(struct build *b, enum cs_vulndb_skip why, const char *where, const char *rule)
{
	skip_item(b, 0, why, where, rule);
}

static void skip_seen(struct build *b, enum cs_vulndb_skip why, const char *where,
		      const char *rule)
{
	skip_item(b, 1, why, where, rule);
}

/* Merging side of a skip. */
static void apply_skip(struct build *b, const struct item *it)
{
	if (it->seen)
		b->st->seen++;
	b->st->skipped++;
	b->st->skipped_by[it->why]++;
	if (b->st->warn != NULL)
		b->st->warn(b->st->warn_ctx, it->why, it->where != NULL ? it->where : "?",
			    it->rule != NULL ? it->rule : "(out of memory)");
}

static int sql_prep(struct build *b, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v3(b->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(b->h, rc, "preparing an import statement");
	return 0;
}

/* Steps a write statement to completion and resets it. */
static int sql_run(struct build *b, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return cs_vulndb_sql_err(b->h, rc, what);
	return 0;
}

static void bind_opt(sqlite3_stmt *st, int i, json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	if (json_is_string(v))
		sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Adds (del == 0) or removes (del != 0) the index rows of a record:
 * affected (ecosystem, package) and names. */
static int index_record(struct build *b, json_t *rec, const struct cs_vulndb_compiled *comp,
			sqlite3_int64 rowid, int del)
{
	char base[CS_VULNDB_MAX_NAME + 1], key[CS_VULNDB_MAX_NAME + 1];
	sqlite3_stmt *aff = del ? b->del_aff : b->ins_aff, *ali = del ? b->del_ali : b->ins_ali;
	json_t *v, *aliases = json_object_get(rec, "aliases");
	size_t i;
	int r;

	for (i = 0; !del && i < comp->nrows; i++) {
		const struct cs_vulndb_crow *w = &comp->rows[i];

		sqlite3_bind_text(aff, 1, w->base, -1, SQLITE_STATIC);
		sqlite3_bind_text(aff, 2, w->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(aff, 3, w->full, -1, SQLITE_STATIC);
		sqlite3_bind_int64(aff, 4, rowid);
		sqlite3_bind_text(aff, 5, json_string_value(json_object_get(rec, "id")), -1,
				  SQLITE_STATIC);
		sqlite3_bind_blob(aff, 6, w->prog, (int)w->len, SQLITE_STATIC);
		if ((r = sql_run(b, aff, "indexing a record")) != 0)
			return r;
	}
	json_array_foreach(del ? json_object_get(rec, "affected") : NULL, i, v) {
		json_t *pkg = json_object_get(v, "package");
		const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
		const char *name = json_string_value(json_object_get(pkg, "name"));

		if (eco == NULL || name == NULL)
			continue; /* GIT-only entry: nothing to look up by */
		if ((r = cs_vulndb_ecosystem_base(base, sizeof(base), eco)) != 0 ||
		    (r = cs_vulndb_package_key(key, sizeof(key), eco, name)) != 0)
			return r;
		sqlite3_bind_text(aff, 1, base, -1, SQLITE_STATIC);
		sqlite3_bind_text(aff, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(aff, 3, eco, -1, SQLITE_STATIC);
		sqlite3_bind_int64(aff, 4, rowid);
		if ((r = sql_run(b, aff, "indexing a record")) != 0)
			return r;
	}
	sqlite3_bind_text(ali, 1, json_string_value(json_object_get(rec, "id")), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(ali, 2, rowid);
	if ((r = sql_run(b, ali, "indexing aliases")) != 0)
		return r;
	json_array_foreach(aliases, i, v) {
		sqlite3_bind_text(ali, 1, json_string_value(v), -1, SQLITE_STATIC);
		sqlite3_bind_int64(ali, 2, rowid);
		if ((r = sql_run(b, ali, "indexing aliases")) != 0)
			return r;
	}
	return 0;
}

/* Removes the index rows of the stored record at rowid (before a rewrite). */
static int unindex_old(struct build *b, const void *text, int len, sqlite3_int64 rowid)
{
	json_error_t jerr;
	json_t *old = json_loadb(text != NULL ? text : "", len > 0 ? (size_t)len : 0, 0, &jerr);
	int r;

	if (old == NULL)
		return cs_err_set(CS_EDB, "a stored record does not parse: %s", jerr.text);
	r = index_record(b, old, NULL, rowid, 1);
	json_decref(old);
	return r;
}

/*
 * The record as stored: the bytes as published without the whitespace
 * between tokens (JSON's four insignificant whitespace characters). Only
 * called on text jansson has just accepted, so strings are well formed and
 * the only state needed is "inside a string". Cheaper than re-serialising
 * (which also would rewrite numbers and escapes); NUL-terminated; free().
 */
static char *minify(const uint8_t *p, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	int in_str = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (in_str) {
			*o++ = (char)c;
			if (c == '\\' && i + 1 < len)
				*o++ = (char)p[++i];
			else if (c == '"')
				in_str = 0;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			*o++ = (char)c;
			in_str = c == '"';
		}
	}
	*o = '\0';
	return out;
}

/* Reader side: parses and checks one record's bytes and hands it on. A bad
 * record is counted and skipped; non-zero only when the merge stopped. */
static int add_record(struct build *b, const uint8_t *p, size_t len, const char *where)
{
	struct item it = { .kind = IT_RECORD };
	json_error_t jerr;
	enum cs_vulndb_skip why;
	char rule[256];
	int code;

	if (len > CS_VULNDB_MAX_RECORD) {
		snprintf(rule, sizeof(rule), "record larger than %u bytes", CS_VULNDB_MAX_RECORD);
		skip_seen(b, CS_VULNDB_SKIP_TOO_LARGE, where, rule);
		return 0;
	}
	it.rec = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (it.rec == NULL) {
		snprintf(rule, sizeof(rule), "line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		skip_seen(b, CS_VULNDB_SKIP_JSON, where, rule);
		return 0;
	}
	if (cs_vulndb_osv_check(it.rec, &why, rule, sizeof(rule)) != 0) {
		json_decref(it.rec);
		skip_seen(b, why, where, rule);
		return 0;
	}
	if ((code = cs_vulndb_compile(&it.comp, it.rec)) != 0) {
		json_decref(it.rec);
		if (code == CS_ENOMEM)
			return cs_err_set(CS_ENOMEM, "out of memory");
		snprintf(rule, sizeof(rule), "cannot be compiled for matching: %.200s", cs_err_msg());
		skip_seen(b, CS_VULNDB_SKIP_LIMIT, where, rule);
		return 0;
	}
	it.text = minify(p, len);
	if (it.text == NULL) {
		json_decref(it.rec);
		cs_vulndb_compiled_free(&it.comp);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	it.len = strlen(it.text);
	return emit(b, &it);
}

/* Merging side: merges one checked record (rec, text) into the build. */
static int merge_record(struct build *b, json_t *rec, const char *text,
			const struct cs_vulndb_compiled *comp)
{
	const char *id, *modified;
	sqlite3_int64 rowid = 0;
	int r = 0, rc, exists = 0;

	b->st->seen++;
	b->src_records++;
	id = json_string_value(json_object_get(rec, "id"));
	modified = json_string_value(json_object_get(rec, "modified"));
	sqlite3_bind_text(b->sel, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(b->sel);
	if (rc == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(b->sel, 1);

		exists = 1;
		rowid = sqlite3_column_int64(b->sel, 0);
		/* OSV: `modified` orders versions of a record; a tie keeps what is
		 * there so re-importing the same data changes nothing. */
		if (old != NULL && cs_vulndb_time_cmp(modified, old) <= 0) {
			sqlite3_reset(b->sel);
			sqlite3_clear_bindings(b->sel);
			b->st->unchanged++;
			return 0;
		}
		r = unindex_old(b, sqlite3_column_blob(b->sel, 2), sqlite3_column_bytes(b->sel, 2),
				rowid);
		if (r != 0) {
			sqlite3_reset(b->sel);
			return r;
		}
	}
	sqlite3_reset(b->sel);
	sqlite3_clear_bindings(b->sel);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cs_vulndb_sql_err(b->h, rc, "reading a record");
	if (exists) {
		sqlite3_bind_text(b->upd, 1, modified, -1, SQLITE_STATIC);
		bind_opt(b->upd, 2, rec, "published");
		bind_opt(b->upd, 3, rec, "withdrawn");
		bind_opt(b->upd, 4, rec, "summary");
		sqlite3_bind_text(b->upd, 5, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(b->upd, 6, rowid);
		sqlite3_bind_blob(b->upd, 7, comp->hdr, (int)comp->hlen, SQLITE_STATIC);
		if ((r = sql_run(b, b->upd, "updating a record")) != 0)
			return r;
		b->st->updated++;
	} else {
		sqlite3_bind_text(b->ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(b->ins, 2, modified, -1, SQLITE_STATIC);
		bind_opt(b->ins, 3, rec, "published");
		bind_opt(b->ins, 4, rec, "withdrawn");
		bind_opt(b->ins, 5, rec, "summary");
		sqlite3_bind_text(b->ins, 6, text, -1, SQLITE_STATIC);
		sqlite3_bind_blob(b->ins, 7, comp->hdr, (int)comp->hlen, SQLITE_STATIC);
		if ((r = sql_run(b, b->ins, "inserting a record")) != 0)
			return r;
		rowid = sqlite3_last_insert_rowid(b->h);
		b->st->imported++;
	}
	return index_record(b, rec, comp, rowid, 0);
}

static int ends_with_json(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Reads a whole regular file of at most CS_VULNDB_MAX_RECORD bytes into
 * b->rec and merges it. */
static int add_file(struct build *b, int dirfd, const char *name, const char *where)
{
	uint8_t chunk[65536];
	struct stat sb;
	int fd, r = 0;
	ssize_t got;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cs_err_set(CS_EIO, "%s: %s", where, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return cs_err_set(CS_EIO, "%s: not a regular file", where);
	}
	if ((uint64_t)sb.st_size > CS_VULNDB_MAX_RECORD) {
		close(fd);
		skip_seen(b, CS_VULNDB_SKIP_TOO_LARGE, where, "file larger than the record cap");
		return 0;
	}
	cs_buf_reset(&b->rec);
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = cs_err_set(CS_EIO, "%s: %s", where, strerror(errno));
			break;
		}
		if (cs_buf_add(&b->rec, chunk, (size_t)got) != 0) {
			/* grew while we read it */
			cs_err_clear();
			b->rec.len = CS_VULNDB_MAX_RECORD + 1;
			break;
		}
	}
	close(fd);
	if (r != 0)
		return r;
	return add_record(b, b->rec.data != NULL ? b->rec.data : (const uint8_t *)"", b->rec.len,
			  where);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks dir (an open descriptor, consumed) in name order. */
static int add_dir(struct build *b, int fd, const char *where, int depth)
{
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0, i;
	int r = 0;

	if (depth > CS_VULNDB_MAX_DEPTH) {
		close(fd);
		return cs_err_set(CS_ELIMIT, "%s: directories nested deeper than %d", where,
				  CS_VULNDB_MAX_DEPTH);
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return cs_err_set(CS_EIO, "%s: %s", where, strerror(errno));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;

			if (cap >= CS_VULNDB_MAX_ENTRIES) {
				r = cs_err_set(CS_ELIMIT, "%s: more than %llu entries", where,
					       (unsigned long long)CS_VULNDB_MAX_ENTRIES);
				goto out;
			}
			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (errno != 0) {
		r = cs_err_set(CS_EIO, "%s: %s", where, strerror(errno));
		goto out;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && r == 0; i++) {
		struct stat sb;
		int len = snprintf(path, sizeof(path), "%s/%s", where, names[i]);

		if (len < 0 || (size_t)len >= sizeof(path)) {
			r = cs_err_set(CS_ELIMIT, "%s/%s: path too long", where, names[i]);
			break;
		}
		/* Follow links to files, never to directories (no loops). */
		if (fstatat(dirfd(d), names[i], &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			r = cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					 O_NOFOLLOW);

			if (sub < 0)
				r = cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
			else
				r = add_dir(b, sub, path, depth + 1);
			continue;
		}
		if (S_ISLNK(sb.st_mode) && fstatat(dirfd(d), names[i], &sb, 0) != 0)
			sb.st_mode = 0;
		if (!S_ISREG(sb.st_mode) || !ends_with_json(names[i])) {
			skip(b, CS_VULNDB_SKIP_NOT_JSON, path,
			     S_ISREG(sb.st_mode) ? "not a .json file" :
			     "not a regular file (links to directories are not followed)");
			continue;
		}
		r = add_file(b, dirfd(d), names[i], path);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

/* Reads an OSV zip in place: never extracted, each entry capped. */
static int add_zip(struct build *b, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char where[PATH_MAX + 512];
	uint8_t chunk[65536];
	uint64_t entries = 0;
	int r = 0, ar;

	if (a == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* The seekable zip reader only: it reads the central directory at the
	 * end of the file, so a truncated archive is refused as a whole instead
	 * of yielding the entries before the cut (the streaming reader would).
	 * No other format, and no external filter program. */
	if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		r = cs_err_set(CS_EFORMAT, "%s: not a readable zip archive: %s", path,
			       archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	for (;;) {
		const char *name;
		int corrupt = 0;

		ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			/* The directory or a local header is damaged: we cannot
			 * know what else is lost, so the whole import fails. */
			r = cs_err_set(CS_EFORMAT, "%s: corrupt zip archive: %s", path,
				       archive_error_string(a) ? archive_error_string(a) : "?");
			goto out;
		}
		if (++entries > CS_VULNDB_MAX_ENTRIES) {
			r = cs_err_set(CS_ELIMIT, "%s: more than %llu entries", path,
				       (unsigned long long)CS_VULNDB_MAX_ENTRIES);
			goto out;
		}
		name = archive_entry_pathname(e);
		snprintf(where, sizeof(where), "%s!%.400s", path, name != NULL ? name : "?");
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG || name == NULL || !ends_with_json(name)) {
			skip(b, CS_VULNDB_SKIP_NOT_JSON, where, "not a .json file");
			continue;
		}
		if (archive_entry_size_is_set(e) &&
		    archive_entry_size(e) > (la_int64_t)CS_VULNDB_MAX_RECORD) {
			skip_seen(b, CS_VULNDB_SKIP_TOO_LARGE, where, "entry larger than the record cap");
			continue;
		}
		cs_buf_reset(&b->rec);
		for (;;) {
			la_ssize_t got = archive_read_data(a, chunk, sizeof(chunk));

			if (got == 0)
				break;
			if (got < 0) {
				if (got == ARCHIVE_FATAL) {
					r = cs_err_set(CS_EFORMAT, "%s: corrupt zip entry: %s", where,
						       archive_error_string(a) ?
						       archive_error_string(a) : "?");
					goto out;
				}
				corrupt = 1;
				break;
			}
			if (cs_buf_add(&b->rec, chunk, (size_t)got) != 0) {
				/* Declared size lied (or was absent): stop reading. */
				cs_err_clear();
				b->rec.len = CS_VULNDB_MAX_RECORD + 1;
				break;
			}
		}
		if (corrupt) {
			char rule[256];

			snprintf(rule, sizeof(rule), "cannot be read: %s",
				 archive_error_string(a) ? archive_error_string(a) : "?");
			skip_seen(b, CS_VULNDB_SKIP_CORRUPT, where, rule);
			continue;
		}
		if ((r = add_record(b, b->rec.data != NULL ? b->rec.data : (const uint8_t *)"",
				    b->rec.len, where)) != 0)
			goto out;
	}
out:
	archive_read_free(a);
	return r;
}

/* Reader side: reads one source whole; *kind says what it was. */
static int read_source(struct build *b, const struct cs_vulndb_src *s, const char **kind)
{
	struct stat sb;
	uint8_t magic[4] = { 0 };
	int fd;
	ssize_t got;

	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cs_err_set(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "%s: %s", s->path,
				  strerror(errno));
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return cs_err_set(CS_EIO, "%s: %s", s->path, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode)) {
		*kind = "directory";
		return add_dir(b, fd, s->path, 0); /* consumes fd */
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return cs_err_set(CS_EINVAL, "%s: not a file or directory", s->path);
	}
	got = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	if (got == 4 && magic[0] == 'P' && magic[1] == 'K' &&
	    ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6))) {
		*kind = "zip";
		return add_zip(b, s->path);
	}
	if (ends_with_json(s->path)) {
		*kind = "json";
		return add_file(b, AT_FDCWD, s->path, s->path);
	}
	return cs_err_set(CS_EFORMAT, "%s: neither a zip archive, a directory nor a .json file",
			  s->path);
}

/* Reader side: every source in order, each followed by its IT_SOURCE_END. */
static int read_all(struct build *b)
{
	for (size_t i = 0; i < b->nsrcs; i++) {
		struct item it = { .kind = IT_SOURCE_END, .src = i };
		int r;

		if ((r = read_source(b, &b->srcs[i], &it.src_kind)) != 0 || (r = emit(b, &it)) != 0)
			return r;
	}
	return 0;
}

/* Merging side: records a source that was read whole in the sources table. */
static int record_source(struct build *b, const struct cs_vulndb_src *s, const char *kind)
{
	char abs[PATH_MAX];
	int r;

	if (s->url == NULL && realpath(s->path, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", s->path);
	if (s->url != NULL)
		kind = "osv-zip-url";
	sqlite3_bind_text(b->src, 1, s->url != NULL ? s->url : abs, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->src, 2, kind, -1, SQLITE_STATIC);
	if (s->etag != NULL)
		sqlite3_bind_text(b->src, 3, s->etag, -1, SQLITE_STATIC);
	if (s->last_modified != NULL)
		sqlite3_bind_text(b->src, 4, s->last_modified, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->src, 5, b->now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->src, 6, (sqlite3_int64)b->src_records);
	r = sql_run(b, b->src, "recording a source");
	b->src_records = 0;
	return r;
}

/* Merging side: applies one item. */
static int consume(struct build *b, struct item *it)
{
	switch (it->kind) {
	case IT_RECORD:
		return merge_record(b, it->rec, it->text, &it->comp);
	case IT_SKIP:
		apply_skip(b, it);
		return 0;
	case IT_SOURCE_END:
		return record_source(b, &b->srcs[it->src], it->src_kind);
	case IT_ERROR:
		return cs_err_set(it->code, "%s", it->rule != NULL ? it->rule : "reading a source");
	case IT_DONE:
		break;
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct build *b = arg;
	struct item it = { .kind = IT_DONE };
	int r = read_all(b);

	if (r != 0) {
		it.kind = IT_ERROR;
		it.code = r;
		it.rule = strdup(cs_err_msg());
	}
	if (emit(b, &it) != 0)
		cs_err_clear();   /* the merging side stopped first; its error stands */
	return NULL;
}

/* Reads every source on a reader thread and merges here; inline when no
 * thread can be started. */
static int run_sources(struct build *b)
{
	struct queue *q = calloc(1, sizeof(*q));
	pthread_t t;
	int r = 0, mu = 0, c1 = 0, c2 = 0;

	if (q != NULL) {
		mu = pthread_mutex_init(&q->mu, NULL) == 0;
		c1 = pthread_cond_init(&q->not_empty, NULL) == 0;
		c2 = pthread_cond_init(&q->not_full, NULL) == 0;
	}
	/* Seed jansson's hash function here, before two threads make objects. */
	json_object_seed(0);
	b->q = q;
	if (q == NULL || !mu || !c1 || !c2 || pthread_create(&t, NULL, reader_main, b) != 0) {
		b->q = NULL;
		r = read_all(b);
		goto out;
	}
	for (;;) {
		struct item it;
		int done;

		pthread_mutex_lock(&q->mu);
		while (q->n == 0)
			pthread_cond_wait(&q->not_empty, &q->mu);
		it = q->it[q->head];
		q->head = (q->head + 1) % QUEUE_ITEMS;
		q->n--;
		q->bytes -= it.len;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->mu);
		done = it.kind == IT_DONE || it.kind == IT_ERROR;
		r = consume(b, &it);
		item_free(&it);
		if (r != 0 || done)
			break;
	}
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
	pthread_join(t, NULL);
	for (; q->n > 0; q->n--, q->head = (q->head + 1) % QUEUE_ITEMS)
		item_free(&q->it[q->head]);
	b->q = NULL;
out:
	if (q != NULL) {
		if (mu)
			pthread_mutex_destroy(&q->mu);
		if (c1)
			pthread_cond_destroy(&q->not_empty);
		if (c2)
			pthread_cond_destroy(&q->not_full);
	}
	free(q);
	return r;
}

static int meta_set(struct build *b, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(b->h, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(b->h, rc, "writing meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cs_vulndb_sql_err(b->h, rc, "writing meta");
	return 0;
}

/* Runs one statement with one text parameter. */
static int exec_bound(struct build *b, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(b->h, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : cs_vulndb_sql_err(b->h, rc, sql);
}

/* sha256 over every record in id order: id NUL modified NUL length(8, BE)
 * json. Content only, so two builds of the same records agree. */
static int digest(struct build *b, char out[80], uint64_t *count)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	sqlite3_stmt *st = NULL;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	int r = 0, rc;

	*count = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = cs_err_set(CS_ENOMEM, "sha256 unavailable");
		goto out;
	}
	rc = sqlite3_prepare_v2(b->h, "SELECT id, modified, json FROM records ORDER BY id", -1,
				&st, NULL);
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(b->h, rc, "digest");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t n = (uint64_t)sqlite3_column_bytes(st, 2);
		unsigned char be[8];

		for (int i = 0; i < 8; i++)
			be[i] = (unsigned char)(n >> (56 - 8 * i));
		EVP_DigestUpdate(md, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0) + 1);
		EVP_DigestUpdate(md, sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1) + 1);
		EVP_DigestUpdate(md, be, 8);
		EVP_DigestUpdate(md, sqlite3_column_blob(st, 2), (size_t)n);
		(*count)++;
	}
	if (rc != SQLITE_DONE) {
		r = cs_vulndb_sql_err(b->h, rc, "digest");
		goto out;
	}
	EVP_DigestFinal_ex(md, h, &hl);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < hl && i < 32; i++) {
		out[7 + 2 * i] = hex[h[i] >> 4];
		out[8 + 2 * i] = hex[h[i] & 15];
	}
	out[7 + 64] = '\0';
out:
	sqlite3_finalize(st);
	EVP_MD_CTX_free(md);
	return r;
}

static void build_finalize(struct build *b)
{
	sqlite3_finalize(b->sel);
	sqlite3_finalize(b->ins);
	sqlite3_finalize(b->upd);
	sqlite3_finalize(b->del_aff);
	sqlite3_finalize(b->del_ali);
	sqlite3_finalize(b->ins_aff);
	sqlite3_finalize(b->ins_ali);
	sqlite3_finalize(b->src);
	b->sel = b->ins = b->upd = b->del_aff = b->del_ali = b->ins_aff = b->ins_ali = b->src = NULL;
}

static int create_schema(struct build *b)
{
	char v[64];
	int rc;

	rc = sqlite3_exec(b->h, cs_vulndb_schema_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(b->h, rc, "creating the schema");
	snprintf(v, sizeof(v), "PRAGMA user_version = %d", CS_VULNDB_SCHEMA);
	rc = sqlite3_exec(b->h, v, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return cs_vulndb_sql_err(b->h, rc, "creating the schema");
	snprintf(v, sizeof(v), "%d", CS_VULNDB_SCHEMA);
	return meta_set(b, "schema_version", v);
}

/*
 * Rebuilds a schema-1 database's content in the new schema: its sources as
 * they are, and every record (already checked when it was imported) merged
 * again so it gets its compiled form. The counters of this build are not
 * touched: nothing was imported.
 */
static int migrate(struct build *b, const char *dbpath)
{
	struct cs_vulndb_import_stats keep = *b->st;
	uint64_t keep_src = b->src_records;
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if ((r = exec_bound(b, "ATTACH DATABASE ?1 AS old", dbpath)) != 0)
		return r;
	rc = sqlite3_exec(b->h, "BEGIN; INSERT INTO sources(url, kind, etag, last_modified,"
			  " imported_at, records) SELECT url, kind, etag, last_modified, imported_at,"
			  " records FROM old.sources", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(b->h, "SELECT json FROM old.records ORDER BY rowid", -1, &st,
					NULL);
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(b->h, rc, "migrating the database");
		goto out;
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		struct cs_vulndb_compiled comp;
		json_error_t jerr;
		json_t *rec = json_loads(text != NULL ? text : "", 0, &jerr);

		if (rec == NULL) {
			r = cs_err_set(CS_EDB, "%s: a stored record does not parse: %s", dbpath, jerr.text);
			break;
		}
		if ((r = cs_vulndb_compile(&comp, rec)) == 0)
			r = merge_record(b, rec, text, &comp);
		cs_vulndb_compiled_free(&comp);
		json_decref(rec);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cs_vulndb_sql_err(b->h, rc, "migrating the database");
	sqlite3_finalize(st);
	st = NULL;
	if (r == 0 && (rc = sqlite3_exec(b->h, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		r = cs_vulndb_sql_err(b->h, rc, "migrating the database");
out:
	sqlite3_finalize(st);
	if (r != 0)
		sqlite3_exec(b->h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(b->h, "DETACH DATABASE old", NULL, NULL, NULL);
	*b->st = keep;
	b->src_records = keep_src;
	return r;
}

/* Copies the published database into the build handle, or creates the
 * schema when there is none. */
static int start_from(struct build *b, const char *dbpath)
{
	sqlite3 *old = NULL;
	sqlite3_backup *bk;
	int r, rc, version = 0;

	if (access(dbpath, F_OK) != 0)
		return create_schema(b);
	rc = sqlite3_open_v2(dbpath, &old, SQLITE_OPEN_READONLY | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		r = cs_vulndb_sql_err(old, rc, "opening the current database");
		goto out;
	}
	if ((r = cs_vulndb_sql_schema(old, &version)) != 0)
		goto out;
	if (version == 1) {
		/* The records are all there: the new build recompiles them
		 * (migrate(), once the statements are ready). */
		b->migrate = 1;
		r = create_schema(b);
		goto out;
	}
	if (version != CS_VULNDB_SCHEMA) {
		r = cs_err_set(CS_EUNSUPPORTED, "%s: schema %d, this cellscan writes schema %d: "
			       "move the file away to build a new database", dbpath, version,
			       CS_VULNDB_SCHEMA);
		goto out;
	}
	bk = sqlite3_backup_init(b->h, "main", old, "main");
	if (bk == NULL) {
		r = cs_vulndb_sql_err(b->h, sqlite3_errcode(b->h), "copying the current database");
		goto out;
	}
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		r = cs_vulndb_sql_err(b->h, rc, "copying the current database");
		goto out;
	}
	r = 0;
out:
	sqlite3_close(old);
	return r;
}

static int fsync_path(const char *path, int dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	int r = 0;

	if (fd < 0)
		return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	if (fsync(fd) != 0)
		r = cs_err_set(CS_EIO, "fsync %s: %s", path, strerror(errno));
	close(fd);
	return r;
}

/* Removes dbpath.tmp.* left by a build that was killed (we hold the lock,
 * so no live build owns one). */
static void remove_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char prefix[NAME_MAX + 8];
	size_t pl;

	if (d == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%s.tmp.", base);
	pl = strlen(prefix);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) == 0 && strlen(de->d_name) == pl + 6)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int cs_vulndb_build(const char *dbpath, const struct cs_vulndb_src *srcs, size_t n,
		    struct cs_vulndb_import_stats *stats)
{
	struct build b = { 0 };
	struct cs_vulndb_import_stats dummy = { 0 };
	char tmp[PATH_MAX], lock[PATH_MAX], dir[PATH_MAX], dg[80], cnt[32];
	const char *slash, *base;
	uint64_t count = 0;
	int r, lockfd = -1, tmpfd = -1, have_tmp = 0;

	if (dbpath == NULL || (n > 0 && srcs == NULL))
		return cs_err_set(CS_EINVAL, "import: missing argument");
	b.st = stats != NULL ? stats : &dummy;
	cs_buf_init(&b.rec, CS_VULNDB_MAX_RECORD);
	cs_vulndb_time_now(b.now);
	slash = strrchr(dbpath, '/');
	base = slash != NULL ? slash + 1 : dbpath;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dbpath)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dbpath), dbpath);
	if (base[0] == '\0' || strlen(base) > NAME_MAX - 16 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", dbpath) >= (int)sizeof(tmp) ||
	    snprintf(lock, sizeof(lock), "%s.lock", dbpath) >= (int)sizeof(lock))
		return cs_err_set(CS_EINVAL, "%s: unusable database path", dbpath);

	lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0) {
		r = cs_err_set(CS_EIO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		r = cs_err_set(CS_EIO, "%s: another import or update is running", dbpath);
		goto out;
	}
	remove_stale(dir, base);
	tmpfd = mkstemp(tmp);
	if (tmpfd < 0) {
		r = cs_err_set(CS_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	close(tmpfd);
	if ((r = cs_vulndb_sql_open_rw(&b.h, tmp, 0)) != 0 || (r = start_from(&b, dbpath)) != 0)
		goto out;
	if ((r = sql_prep(&b, &b.sel, "SELECT rowid, modified, json FROM records WHERE id = ?1")) != 0 ||
	    (r = sql_prep(&b, &b.ins, "INSERT INTO records(id, modified, published, withdrawn,"
			  " summary, json, header) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")) != 0 ||
	    (r = sql_prep(&b, &b.upd, "UPDATE records SET modified = ?1, published = ?2,"
			  " withdrawn = ?3, summary = ?4, json = ?5, header = ?7 WHERE rowid = ?6")) != 0 ||
	    (r = sql_prep(&b, &b.del_aff, "DELETE FROM affected WHERE ecosystem_base = ?1 AND"
			  " package_name = ?2 AND ecosystem_full = ?3 AND record_id = ?4")) != 0 ||
	    (r = sql_prep(&b, &b.del_ali, "DELETE FROM aliases WHERE name = ?1 AND"
			  " record_id = ?2")) != 0 ||
	    (r = sql_prep(&b, &b.ins_aff, "INSERT INTO affected(ecosystem_base, package_name,"
			  " ecosystem_full, record_id, id, prog) VALUES(?1, ?2, ?3, ?4, ?5, ?6)")) != 0 ||
	    (r = sql_prep(&b, &b.ins_ali, "INSERT OR IGNORE INTO aliases(name, record_id)"
			  " VALUES(?1, ?2)")) != 0 ||
	    (r = sql_prep(&b, &b.src, "INSERT OR REPLACE INTO sources(url, kind, etag,"
			  " last_modified, imported_at, records) VALUES(?1, ?2, ?3, ?4, ?5, ?6)")) != 0)
		goto out;
	if (b.migrate && (r = migrate(&b, dbpath)) != 0)
		goto out;
	if ((r = sqlite3_exec(b.h, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK) {
		r = cs_vulndb_sql_err(b.h, r, "import");
		goto out;
	}
	b.srcs = srcs;
	b.nsrcs = n;
	if ((r = run_sources(&b)) != 0)
		goto out;
	if ((r = digest(&b, dg, &count)) != 0)
		goto out;
	snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)count);
	if ((r = meta_set(&b, "build_time", b.now)) != 0 ||
	    (r = meta_set(&b, "records", cnt)) != 0 ||
	    (r = meta_set(&b, "generator", "cellscan " CELLSCAN_VERSION)) != 0 ||
	    (r = meta_set(&b, "digest", dg)) != 0)
		goto out;
	if ((r = sqlite3_exec(b.h, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		r = cs_vulndb_sql_err(b.h, r, "import");
		goto out;
	}
	build_finalize(&b);
	r = sqlite3_close(b.h);
	b.h = NULL;
	if (r != SQLITE_OK) {
		r = cs_err_set(CS_EDB, "closing the new database: %s", sqlite3_errstr(r));
		goto out;
	}
	if ((r = fsync_path(tmp, 0)) != 0)
		goto out;
	if (chmod(tmp, 0644) != 0 || rename(tmp, dbpath) != 0) {
		r = cs_err_set(CS_EIO, "publishing %s: %s", dbpath, strerror(errno));
		goto out;
	}
	have_tmp = 0;
	b.st->records = count;
	r = fsync_path(dir, 1);
out:
	build_finalize(&b);
	if (b.h != NULL)
		sqlite3_close(b.h);
	if (have_tmp)
		unlink(tmp);
	if (lockfd >= 0)
		close(lockfd);
	cs_buf_free(&b.rec);
	return r;
}

int cs_vulndb_import(const char *dbpath, const char *const *sources, size_t n,
		     struct cs_vulndb_import_stats *stats)
{
	struct cs_vulndb_src *srcs;
	int r;

	if (n == 0 || sources == NULL)
		return cs_err_set(CS_EINVAL, "import: no source given");
	srcs = calloc(n, sizeof(*srcs));
	if (srcs == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		srcs[i].path = sources[i];
	r = cs_vulndb_build(dbpath, srcs, n, stats);
	free(srcs);
	return r;
}
