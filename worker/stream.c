#include "worker/stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
/* The low-level digest: no provider machinery to initialise in the worker. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "common/errors.h"
#include "common/path.h"
#include "worker/analyze.h"
#include "worker/records.h"

#define READ_BLOCK (256u * 1024u)
#define WARN_BUDGET 200   /* per layer; then one summary */

struct src {
	struct archive *raw;       /* the decompressor, format "raw" */
	SHA256_CTX md;
	uint64_t bytes;
	uint64_t *image_bytes;
	const struct cs_limits *lim;
	int eof;
	int failed;                /* limit or corrupt: error already chosen */
	const char *code;
	char msg[512];
};

struct layer_ctx {
	int64_t layer;
	const struct cs_limits *lim;
	int emit_files;
	unsigned warnings;
	unsigned suppressed;
};

static int open_raw(struct archive **out, int fd)
{
	struct archive *a = archive_read_new();

	*out = NULL;
	if (a == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* Only filters built into libarchive; each returns ARCHIVE_WARN if it
	 * would run an external program, which we refuse (and the seccomp
	 * filter would kill anyway). */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    archive_read_support_format_raw(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return cs_err_set(CS_ESANDBOX, "libarchive lacks a built-in decompressor");
	}
	if (fd >= 0 && archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK) {
		int r = cs_err_set(CS_EFORMAT, "%s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

int cs_stream_init(void)
{
	struct archive *a, *t;
	SHA256_CTX md;
	unsigned char d[32];
	int r;

	if ((r = open_raw(&a, -1)) != 0)
		return r;
	archive_read_free(a);
	t = archive_read_new();
	if (t == NULL || archive_read_support_format_tar(t) != ARCHIVE_OK) {
		archive_read_free(t);
		return cs_err_set(CS_ESANDBOX, "libarchive has no tar reader");
	}
	archive_read_free(t);
	/* One digest now: whatever OpenSSL sets up on first use happens before
	 * lockdown. */
	if (SHA256_Init(&md) != 1 || SHA256_Update(&md, "", 0) != 1 || SHA256_Final(d, &md) != 1)
		return cs_err_set(CS_ESANDBOX, "OpenSSL SHA-256 unavailable");
	return 0;
}

static void src_fail(struct src *s, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void src_fail(struct src *s, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = 1;
	s->code = code;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
}

static la_ssize_t src_read(struct archive *tar, void *ud, const void **buf)
{
	struct src *s = ud;
	size_t size = 0;
	la_int64_t off;
	int r;

	*buf = NULL;
	if (s->eof || s->failed)
		return 0;
	r = archive_read_data_block(s->raw, buf, &size, &off);
	if (r == ARCHIVE_EOF) {
		s->eof = 1;
		return 0;
	}
	if (r != ARCHIVE_OK) {
		src_fail(s, "corrupt", "decompressing: %s", archive_error_string(s->raw));
		archive_set_error(tar, EIO, "decompression failed");
		return -1;
	}
	if (SHA256_Update(&s->md, *buf, size) != 1) {
		src_fail(s, "internal", "sha256 failed");
		return -1;
	}
	s->bytes += size;
	*s->image_bytes += size;
	if (s->bytes > s->lim->layer_bytes) {
		src_fail(s, "limit", "layer decompresses to more than %llu bytes (limit "
			 "\"layer_bytes\")", (unsigned long long)s->lim->layer_bytes);
		archive_set_error(tar, EFBIG, "limit");
		return -1;
	}
	if (*s->image_bytes > s->lim->image_bytes) {
		src_fail(s, "limit", "image decompresses to more than %llu bytes (limit "
			 "\"image_bytes\")", (unsigned long long)s->lim->image_bytes);
		archive_set_error(tar, EFBIG, "limit");
		return -1;
	}
	return (la_ssize_t)size;
}

static int warn(struct layer_ctx *lc, const char *path, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int warn(struct layer_ctx *lc, const char *path, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (lc->warnings >= WARN_BUDGET) {
		lc->suppressed++;
		return 0;
	}
	lc->warnings++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_rec_warning(lc->layer, path, code, "%s", msg);
}

static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static const char *ftype_name(mode_t t)
{
	switch (t) {
	case AE_IFREG: return "file";
	case AE_IFDIR: return "dir";
	case AE_IFLNK: return "symlink";
	case AE_IFCHR: return "char";
	case AE_IFBLK: return "block";
	case AE_IFIFO: return "fifo";
	case AE_IFSOCK: return "socket";
	default: return "unknown";
	}
}

/* Reads the entry's data (at most lim bytes) into a fresh buffer. */
static int read_data(struct archive *tar, uint8_t **out, size_t *len, int64_t size)
{
	uint8_t *buf;
	size_t got = 0;
	la_ssize_t n;

	*out = NULL;
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory reading %lld bytes", (long long)size);
	while (got < (size_t)size) {
		n = archive_read_data(tar, buf + got, (size_t)size - got);
		if (n < 0) {
			free(buf);
			return cs_err_set(CS_EFORMAT, "%s", archive_error_string(tar));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

static int handle_entry(struct layer_ctx *lc, struct archive *tar, struct archive_entry *ent,
			char *path, size_t pathsz)
{
	const char *raw = archive_entry_pathname(ent);
	const char *base;
	int flags = 0, lossy = 0, r, idx;
	mode_t ft = archive_entry_filetype(ent);
	const char *hl = archive_entry_hardlink(ent);
	const char *sl = archive_entry_symlink(ent);
	json_t *rec;

	if (raw == NULL)
		return warn(lc, NULL, "path-unreadable", "entry without a readable name skipped");
	r = cs_path_normalize(path, pathsz, raw, strlen(raw), &flags);
	if (r == CS_ELIMIT)
		return warn(lc, raw, "path-too-long", "path longer than %llu bytes (limit \"path_len\") "
			    "skipped", (unsigned long long)lc->lim->path_len);
	if (r != 0)
		return warn(lc, raw, "path-escape", "path with \"..\" skipped: it is never resolved");
	if (path[0] == '\0')
		return 0;   /* the layer root itself */
	if (flags & CS_PATH_ABSOLUTE) {
		if ((r = warn(lc, path, "path-absolute", "absolute path taken relative to the "
			      "layer root")) != 0)
			return r;
	}
	base = path + cs_path_base(path);
	if (strncmp(base, ".wh.", 4) == 0) {
		int opaque = strcmp(base, ".wh..wh..opq") == 0;
		size_t dirlen = (size_t)(base - path);
		char *target;

		if (!opaque && strncmp(base, ".wh..wh.", 8) == 0)
			return 0;   /* aufs bookkeeping (.wh..wh.plnk etc.), not a deletion */
		if (!opaque && (base[4] == '\0' || strcmp(base + 4, ".") == 0 ||
				strcmp(base + 4, "..") == 0))
			return warn(lc, path, "whiteout-invalid", "whiteout names nothing");
		target = opaque ? strndup(path, dirlen ? dirlen - 1 : 0) : NULL;
		if (!opaque) {
			/* "dir/.wh.name" -> "dir/name" */
			memmove((char *)base, base + 4, strlen(base + 4) + 1);
		}
		rec = json_pack("{s:s, s:I, s:b}", "type", "whiteout", "layer", (json_int_t)lc->layer,
				"opaque", opaque);
		if (rec != NULL)
			json_object_set_new(rec, "path", cs_rec_string(opaque ? target : path,
								      strlen(opaque ? target : path),
								      &lossy));
		free(target);
		return cs_rec_send(rec);
	}
	if (hl != NULL) {
		char tgt[CS_PATH_MAX + 1];
		int f2;
		if (cs_path_normalize(tgt, sizeof(tgt), hl, strlen(hl), &f2) != 0) {
			if ((r = warn(lc, path, "link-escape", "hard link target leaves the layer "
				      "root; not followed")) != 0)
				return r;
		}
	} else if (sl != NULL && cs_path_link_escapes(path, sl)) {
		if ((r = warn(lc, path, "link-escape", "symlink target climbs above the image "
			      "root; it is never followed")) != 0)
			return r;
	}
	if (ft == AE_IFCHR || ft == AE_IFBLK || ft == AE_IFIFO || ft == AE_IFSOCK) {
		if ((r = warn(lc, path, "special-file", "%s recorded, never opened",
			      ftype_name(ft))) != 0)
			return r;
	}
	if (lc->emit_files) {
		rec = json_pack("{s:s, s:I, s:s, s:I, s:I}", "type", "file", "layer",
				(json_int_t)lc->layer, "ftype", hl ? "hardlink" : ftype_name(ft),
				"mode", (json_int_t)(archive_entry_mode(ent) & 07777),
				"size", (json_int_t)(archive_entry_size(ent) > 0 ? archive_entry_size(ent) : 0));
		if (rec == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		json_object_set_new(rec, "path", cs_rec_string(path, strlen(path), &lossy));
		if (hl != NULL || sl != NULL)
			json_object_set_new(rec, "link", cs_rec_string(hl ? hl : sl,
								       strnlen(hl ? hl : sl, CS_STR_MAX),
								       &lossy));
		json_object_set_new(rec, "uid", json_integer(archive_entry_uid(ent) & 0xffffffffll));
		json_object_set_new(rec, "gid", json_integer(archive_entry_gid(ent) & 0xffffffffll));
		if ((r = cs_rec_send(rec)) != 0)
			return r;
	}
	if (lossy && (r = warn(lc, path, "bad-name", "name is not valid UTF-8; bad bytes "
			       "shown as U+FFFD")) != 0)
		return r;
	if (!lossy && has_control(path) &&
	    (r = warn(lc, path, "bad-name", "name has control characters")) != 0)
		return r;
	if (ft == AE_IFREG && hl == NULL && (idx = cs_analyze_match(path)) >= 0) {
		struct cs_rec_emit_ctx ec = { lc->layer, 0 };
		struct cs_emit e;
		int64_t size = archive_entry_size(ent);
		uint8_t *data = NULL;
		size_t len = 0;

		if (size < 0 || (uint64_t)size > lc->lim->analyzer_file)
			return warn(lc, path, "file-too-large", "%lld bytes exceed the analyzer limit of "
				    "%llu (limit \"analyzer_file\"); not analysed", (long long)size,
				    (unsigned long long)lc->lim->analyzer_file);
		if ((r = read_data(tar, &data, &len, size)) != 0)
			return r;
		rec = json_pack("{s:s, s:I, s:s}", "type", "analyzed", "layer", (json_int_t)lc->layer,
				"analyzer", cs_analyze_name(idx));
		if (rec != NULL)
			json_object_set_new(rec, "path", cs_rec_string(path, strlen(path), NULL));
		if ((r = cs_rec_send(rec)) != 0) {
			free(data);
			return r;
		}
		cs_rec_emitter(&e, &ec);
		r = cs_analyze_run(idx, &e, path, data, len);
		free(data);
		return r;
	}
	return 0;
}

int cs_stream_layer(struct cs_stream_opts *o, int fd, int64_t layer)
{
	struct src s;
	struct layer_ctx lc;
	struct archive *tar = NULL;
	struct archive_entry *ent = NULL, *rawent = NULL;
	uint64_t entries = 0;
	unsigned char dig[32];
	char hex[72];
	char *path = NULL;
	int r, ar, i;

	memset(&s, 0, sizeof(s));
	memset(&lc, 0, sizeof(lc));
	lc.layer = layer;
	lc.lim = o->lim;
	lc.emit_files = o->emit_files;
	s.lim = o->lim;
	s.image_bytes = &o->image_bytes;
	if ((r = cs_rec_send(json_pack("{s:s, s:I}", "type", "layer_begin", "layer",
				       (json_int_t)layer))) != 0)
		return r;
	path = malloc(o->lim->path_len + 1);
	if (path == NULL || SHA256_Init(&s.md) != 1) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	{
		/* A zero-byte blob is an empty layer (sha256 of nothing), not a
		 * corrupt one; libarchive would refuse to identify it. */
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
			s.eof = 1;
			goto finish;
		}
	}
	if ((r = open_raw(&s.raw, fd)) != 0) {
		src_fail(&s, "corrupt", "%s", cs_err_msg());
		goto fail;
	}
	ar = archive_read_next_header(s.raw, &rawent);
	if (ar == ARCHIVE_EOF) {
		s.eof = 1;   /* zero bytes: an empty layer */
	} else if (ar != ARCHIVE_OK) {
		src_fail(&s, "corrupt", "%s", archive_error_string(s.raw));
		goto fail;
	} else {
		tar = archive_read_new();
		if (tar == NULL || archive_read_support_format_tar(tar) != ARCHIVE_OK ||
		    archive_read_open(tar, &s, NULL, src_read, NULL) != ARCHIVE_OK) {
			src_fail(&s, "corrupt", "not a tar stream: %s",
				 tar ? archive_error_string(tar) : "out of memory");
			goto fail;
		}
		ent = archive_entry_new();
		if (ent == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		for (;;) {
			ar = archive_read_next_header2(tar, ent);
			if (ar == ARCHIVE_EOF)
				break;
			if (ar == ARCHIVE_WARN) {
				if ((r = warn(&lc, archive_entry_pathname(ent), "tar",
					      "%s", archive_error_string(tar))) != 0)
					goto out;
			} else if (ar != ARCHIVE_OK) {
				src_fail(&s, "corrupt", "tar entry %llu: %s",
					 (unsigned long long)entries + 1, archive_error_string(tar));
				goto fail;
			}
			if (++entries > o->lim->layer_entries) {
				src_fail(&s, "limit", "layer has more than %llu entries (limit "
					 "\"layer_entries\")", (unsigned long long)o->lim->layer_entries);
				goto fail;
			}
			r = handle_entry(&lc, tar, ent, path, o->lim->path_len + 1);
			if (s.failed)
				goto fail;
			if (r == CS_EFORMAT) {
				/* the entry's data could not be read: the stream is broken */
				src_fail(&s, "corrupt", "tar entry %llu: %s",
					 (unsigned long long)entries, cs_err_msg());
				goto fail;
			}
			if (r != 0)
				goto out;
		}
		/* The diff_id covers every byte, padding after the tar end too. */
		while (!s.eof && !s.failed) {
			const void *b;
			if (src_read(tar, &s, &b) <= 0 && !s.eof)
				break;
		}
		if (s.failed)
			goto fail;
	}
finish:
	if (lc.suppressed > 0 &&
	    (r = cs_rec_warning(layer, NULL, "warnings-suppressed", "%u more warnings in this "
				"layer not shown", lc.suppressed)) != 0)
		goto out;
	if (SHA256_Final(dig, &s.md) != 1) {
		r = cs_err_set(CS_EINTERNAL, "sha256 final");
		goto out;
	}
	memcpy(hex, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		hex[7 + 2 * i] = "0123456789abcdef"[dig[i] >> 4];
		hex[8 + 2 * i] = "0123456789abcdef"[dig[i] & 15];
	}
	hex[71] = '\0';
	r = cs_rec_send(json_pack("{s:s, s:I, s:s, s:I, s:I}", "type", "layer_end", "layer",
				  (json_int_t)layer, "diff_id", hex, "bytes", (json_int_t)s.bytes,
				  "entries", (json_int_t)entries));
	goto out;
fail:
	r = cs_rec_error(layer, NULL, s.code ? s.code : "corrupt", "%s", s.msg);
	if (r == 0)
		r = strcmp(s.code ? s.code : "", "limit") == 0 ? CS_ELIMIT : CS_EFORMAT;
out:
	if (tar != NULL)
		archive_read_free(tar);
	if (s.raw != NULL)
		archive_read_free(s.raw);
	archive_entry_free(ent);
	free(path);
	return r;
}
