/*
 * dir: mode: the walk of a read-only bound rootfs.
 *
 * Three layers keep the walk inside the rootfs, each enough on its own for
 * symlinks: the bind mount is nosymfollow (the kernel refuses to follow any
 * symlink on it), every open here is relative to a directory descriptor
 * with O_NOFOLLOW (a symlink as the last component fails), and names come
 * from getdents64, so they have no '/' and are never "." or "..". The
 * mount namespace holds nothing but the empty tmpfs root and the rootfs, so
 * an open that somehow escaped would find nothing either. The seccomp
 * filter allows only read-only opens.
 */
#include "worker/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/errors.h"
#include "common/path.h"
#include "worker/analyze.h"
#include "worker/records.h"

#define WARN_BUDGET 200            /* as worker/stream.c, per (pseudo-)layer */
#define DIR_NAMES_MAX (16u << 20)  /* bytes of names read from one directory */
#define DENTS_BUF 32768

struct walk {
	const struct cs_rootfs_opts *o;
	char *path;                /* the current normalised path, path_len + 1 bytes */
	char *link;                /* readlinkat buffer, path_len + 1 bytes */
	uint64_t entries;
	uint64_t bytes;
	unsigned warnings;
	unsigned suppressed;
	const char *code;          /* set on a fatal condition */
	char msg[600];
};

static int warn(struct walk *w, const char *path, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int warn(struct walk *w, const char *path, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (w->warnings >= WARN_BUDGET) {
		w->suppressed++;
		return 0;
	}
	w->warnings++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_rec_warning(0, path, code, "%s", msg);
}

static int fail(struct walk *w, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct walk *w, const char *code, const char *fmt, ...)
{
	va_list ap;

	w->code = code;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return strcmp(code, "limit") == 0 ? CS_ELIMIT : CS_EFORMAT;
}

static const char *ftype_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown";
	}
}

static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int emit_file(struct walk *w, const struct stat *st, const char *link)
{
	json_t *rec;
	int lossy = 0;

	rec = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I}", "type", "file", "layer",
			(json_int_t)0, "ftype", ftype_name(st->st_mode),
			"mode", (json_int_t)(st->st_mode & 07777),
			"size", (json_int_t)(S_ISREG(st->st_mode) && st->st_size > 0 ? st->st_size : 0),
			"uid", (json_int_t)st->st_uid, "gid", (json_int_t)st->st_gid);
	if (rec == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_object_set_new(rec, "path", cs_rec_string(w->path, strlen(w->path), &lossy));
	if (link != NULL)
		json_object_set_new(rec, "link", cs_rec_string(link, strnlen(link, CS_STR_MAX),
								&lossy));
	return cs_rec_send(rec);
}

/* Reads a regular file the analyzer wants, checking it is still the file
 * fstatat saw, and runs the analyzer. */
static int analyze(struct walk *w, int dfd, const char *name, const struct stat *st, int idx)
{
	struct cs_rec_emit_ctx ec = { 0, 0 };
	struct cs_emit e;
	struct stat fs;
	uint8_t *data = NULL;
	size_t got = 0;
	json_t *rec;
	int fd, r;

	if ((uint64_t)st->st_size > w->o->lim->analyzer_file)
		return warn(w, w->path, "file-too-large", "%lld bytes exceed the analyzer limit of "
			    "%llu (limit \"analyzer_file\"); not analysed", (long long)st->st_size,
			    (unsigned long long)w->o->lim->analyzer_file);
	/* O_NONBLOCK: should the name have become a fifo since fstatat, the
	 * open must not wait for a writer. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return warn(w, w->path, "unreadable", "cannot open: %s", strerror(errno));
	if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode) || fs.st_ino != st->st_ino ||
	    fs.st_dev != st->st_dev || (uint64_t)fs.st_size > w->o->lim->analyzer_file) {
		close(fd);
		return warn(w, w->path, "unreadable", "the file changed while it was walked; not "
			    "analysed");
	}
	data = malloc(fs.st_size > 0 ? (size_t)fs.st_size : 1);
	if (data == NULL) {
		close(fd);
		return cs_err_set(CS_ENOMEM, "out of memory reading %lld bytes",
				  (long long)fs.st_size);
	}
	while (got < (size_t)fs.st_size) {
		ssize_t n = read(fd, data + got, (size_t)fs.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rec = json_pack("{s:s, s:I, s:s}", "type", "analyzed", "layer", (json_int_t)0,
			"analyzer", cs_analyze_name(idx));
	if (rec != NULL)
		json_object_set_new(rec, "path", cs_rec_string(w->path, strlen(w->path), NULL));
	if ((r = cs_rec_send(rec)) != 0) {
		free(data);
		return r;
	}
	cs_rec_emitter(&e, &ec);
	r = cs_analyze_run(idx, &e, w->path, data, got);
	free(data);
	return r;
}

/*
 * Heapsort of the names. Not qsort(3): glibc's may ask the kernel for the
 * machine's memory size (sysinfo) to size its buffer, a call the seccomp
 * filter rightly forbids.
 */
static void sift(char **v, size_t root, size_t n)
{
	for (;;) {
		size_t c = 2 * root + 1;
		char *t;

		if (c >= n)
			return;
		if (c + 1 < n && strcmp(v[c], v[c + 1]) < 0)
			c++;
		if (strcmp(v[root], v[c]) >= 0)
			return;
		t = v[root];
		v[root] = v[c];
		v[c] = t;
		root = c;
	}
}

static void sort_names(char **v, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (i = n; i-- > 1;) {
		char *t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift(v, 0, i);
	}
}

/* The names of one directory (without "." and ".."), sorted so the walk
 * and its records do not depend on the filesystem's order. *names points
 * into *store; both are the caller's to free. */
static int list_dir(struct walk *w, int dfd, struct cs_buf *store, char ***names, size_t *n)
{
	char dents[DENTS_BUF];
	size_t count = 0, i, off;
	char **v;
	int r;

	*names = NULL;
	*n = 0;
	for (;;) {
		ssize_t got = getdents64(dfd, dents, sizeof(dents));
		size_t p = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return warn(w, w->path[0] ? w->path : "/", "unreadable", "cannot list the "
				    "directory: %s", strerror(errno));
		if (got == 0)
			break;
		while (p + offsetof(struct dirent64, d_name) < (size_t)got) {
			const struct dirent64 *d = (const struct dirent64 *)(dents + p);
			size_t maxlen, len;

			if (d->d_reclen == 0 || p + d->d_reclen > (size_t)got ||
			    d->d_reclen < offsetof(struct dirent64, d_name))
				return fail(w, "corrupt", "getdents64 returned a malformed record");
			maxlen = d->d_reclen - offsetof(struct dirent64, d_name);
			len = strnlen(d->d_name, maxlen);
			if (len == maxlen)
				return fail(w, "corrupt", "getdents64 returned an unterminated name");
			p += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			r = cs_buf_add(store, d->d_name, len + 1);
			if (r == CS_ELIMIT)
				return fail(w, "limit", "directory %s has more than %u bytes of names",
					    w->path[0] ? w->path : "/", DIR_NAMES_MAX);
			if (r != 0)
				return r;
			count++;
		}
	}
	if (count == 0)
		return 0;
	v = calloc(count, sizeof(*v));
	if (v == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (i = 0, off = 0; i < count; i++) {
		v[i] = (char *)store->data + off;
		off += strlen(v[i]) + 1;
	}
	sort_names(v, count);
	*names = v;
	*n = count;
	return 0;
}

static int walk_dir(struct walk *w, int dfd, size_t plen, unsigned depth);

static int walk_entry(struct walk *w, int dfd, size_t plen, unsigned depth, const char *name)
{
	const struct cs_limits *lim = w->o->lim;
	size_t nlen = strlen(name), len;
	struct stat st;
	const char *link = NULL;
	int r, lossy = 0, idx;
	json_t *probe;

	if (++w->entries > lim->layer_entries)
		return fail(w, "limit", "the rootfs has more than %llu entries (limit "
			    "\"layer_entries\")", (unsigned long long)lim->layer_entries);
	len = plen + (plen ? 1 : 0) + nlen;
	if (len > lim->path_len)
		return warn(w, w->path, "path-too-long", "an entry below this directory has a path "
			    "longer than %llu bytes (limit \"path_len\"); skipped",
			    (unsigned long long)lim->path_len);
	if (plen)
		w->path[plen] = '/';
	memcpy(w->path + plen + (plen ? 1 : 0), name, nlen + 1);
	probe = cs_rec_string(w->path, len, &lossy);
	json_decref(probe);
	if (lossy && (r = warn(w, w->path, "bad-name", "name is not valid UTF-8; bad bytes shown "
			       "as U+FFFD")) != 0)
		goto out;
	if (!lossy && has_control(w->path) &&
	    (r = warn(w, w->path, "bad-name", "name has control characters")) != 0)
		goto out;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		r = warn(w, w->path, "unreadable", "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, w->link, lim->path_len);
		if (n < 0) {
			r = warn(w, w->path, "unreadable", "cannot read the symlink: %s",
				 strerror(errno));
			goto out;
		}
		w->link[n] = '\0';
		link = w->link;
		if (cs_path_link_escapes(w->path, link) &&
		    (r = warn(w, w->path, "link-escape", "symlink target climbs above the image "
			      "root; it is never followed")) != 0)
			goto out;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
		   S_ISSOCK(st.st_mode)) {
		if ((r = warn(w, w->path, "special-file", "%s recorded, never opened",
			      ftype_name(st.st_mode))) != 0)
			goto out;
	}
	if (w->o->emit_files && (r = emit_file(w, &st, link)) != 0)
		goto out;
	r = 0;
	if (S_ISREG(st.st_mode)) {
		w->bytes += (uint64_t)(st.st_size > 0 ? st.st_size : 0);
		if ((idx = cs_analyze_match(w->path)) >= 0)
			r = analyze(w, dfd, name, &st, idx);
	} else if (S_ISDIR(st.st_mode)) {
		int sub;

		if (depth + 1 > CS_ROOTFS_DEPTH) {
			r = warn(w, w->path, "too-deep", "directory nested deeper than %d levels; not "
				 "walked", CS_ROOTFS_DEPTH);
			goto out;
		}
		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (sub < 0) {
			r = warn(w, w->path, "unreadable", "cannot open the directory: %s",
				 strerror(errno));
			goto out;
		}
		r = walk_dir(w, sub, len, depth + 1);
		close(sub);
	}
out:
	w->path[plen] = '\0';
	return r;
}

static int walk_dir(struct walk *w, int dfd, size_t plen, unsigned depth)
{
	struct cs_buf store;
	char **names = NULL;
	size_t n = 0, i;
	int r;

	cs_buf_init(&store, DIR_NAMES_MAX);
	if ((r = list_dir(w, dfd, &store, &names, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = walk_entry(w, dfd, plen, depth, names[i])) != 0)
			goto out;
out:
	free(names);
	cs_buf_free(&store);
	return r;
}

int cs_rootfs_walk(const struct cs_rootfs_opts *o)
{
	struct walk w;
	int root = -1, r;

	memset(&w, 0, sizeof(w));
	w.o = o;
	if ((r = cs_rec_send(json_pack("{s:s, s:I}", "type", "layer_begin", "layer",
				       (json_int_t)0))) != 0)
		return r;
	w.path = calloc(1, o->lim->path_len + 1);
	w.link = calloc(1, o->lim->path_len + 1);
	if (w.path == NULL || w.link == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	root = openat(AT_FDCWD, CS_ROOTFS_PATH, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		r = fail(&w, "corrupt", "the rootfs is not mounted at %s: %s", CS_ROOTFS_PATH,
			 strerror(errno));
		goto out;
	}
	if ((r = walk_dir(&w, root, 0, 0)) != 0)
		goto out;
	if (w.suppressed > 0 &&
	    (r = cs_rec_warning(0, NULL, "warnings-suppressed", "%u more warnings in this "
				"layer not shown", w.suppressed)) != 0)
		goto out;
	r = cs_rec_send(json_pack("{s:s, s:I, s:I, s:I}", "type", "layer_end", "layer",
				  (json_int_t)0, "bytes", (json_int_t)w.bytes, "entries",
				  (json_int_t)w.entries));
out:
	if (r != 0 && w.code != NULL) {
		int e = cs_rec_error(0, NULL, w.code, "%s", w.msg);
		if (e != 0)
			r = e;
		cs_err_set(r, "%s: %s", w.code, w.msg);
	}
	if (root >= 0)
		close(root);
	free(w.path);
	free(w.link);
	return r;
}
