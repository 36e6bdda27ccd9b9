/*
 * Archive mode: an image archive's members to the supervisor, unparsed.
 *
 * The archive is as untrusted as a layer: libarchive reads it here, inside
 * the sandbox, with the same built-in decompressors (never an external
 * program). The supervisor learns nothing from this side but member names,
 * sizes and bytes, and it hashes every byte itself; so this code only has to
 * be strict about names (no "..", no absolute paths, no links leaving the
 * archive) and about the limits, and exact about byte counts.
 */
#include "worker/archive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "common/errors.h"
#include "common/path.h"
#include "worker/records.h"

#define READ_BLOCK (256u * 1024u)
#define COPY_BLOCK (64u * 1024u)

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

int cs_archive_wanted(const char *path)
{
	size_t i;

	if (strcmp(path, "index.json") == 0 || strcmp(path, "oci-layout") == 0 ||
	    strcmp(path, "manifest.json") == 0 || strcmp(path, "repositories") == 0)
		return 1;
	if (strncmp(path, "blobs/sha256/", 13) == 0) {
		const char *h = path + 13;
		for (i = 0; i < 64; i++)
			if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
				return 0;
		return h[64] == '\0';
	}
	if (strncmp(path, "blobs/", 6) == 0)
		return 0;   /* other digest algorithms: the supervisor cannot check them */
	return ends_with(path, ".tar") || ends_with(path, ".tar.gz") || ends_with(path, ".json");
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cs_err_set(CS_EIO, "writing member bytes: %s",
					  w < 0 ? strerror(errno) : "short write");
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Resolves a symlink target lexically from the directory of path, inside
 * the archive: out gets the normalised member name it points at. A target
 * that is absolute or climbs above the archive's root is refused.
 */
static int resolve_symlink(char *out, size_t outsz, const char *path, const char *target)
{
	size_t o = cs_path_base(path), i = 0, n = strlen(target);

	if (target[0] == '/')
		return cs_err_set(CS_EFORMAT, "absolute symlink target");
	if (o > 0)
		o--;   /* drop the '/' before the base name */
	if (o >= outsz)
		return cs_err_set(CS_ELIMIT, "path too long");
	memcpy(out, path, o);
	out[o] = '\0';
	while (i < n) {
		size_t s, len;

		while (i < n && target[i] == '/')
			i++;
		s = i;
		while (i < n && target[i] != '/')
			i++;
		len = i - s;
		if (len == 0 || (len == 1 && target[s] == '.'))
			continue;
		if (len == 2 && target[s] == '.' && target[s + 1] == '.') {
			char *slash;
			if (o == 0)
				return cs_err_set(CS_EFORMAT, "symlink target climbs above the archive root");
			slash = strrchr(out, '/');
			o = slash ? (size_t)(slash - out) : 0;
			out[o] = '\0';
			continue;
		}
		if (o + (o ? 1 : 0) + len + 1 > outsz)
			return cs_err_set(CS_ELIMIT, "path too long");
		if (o)
			out[o++] = '/';
		memcpy(out + o, target + s, len);
		o += len;
		out[o] = '\0';
	}
	if (o == 0)
		return cs_err_set(CS_EFORMAT, "symlink target is the archive root");
	return 0;
}

static int send_member(const char *path, uint64_t size, const char *link)
{
	json_t *rec = json_pack("{s:s, s:I}", "type", "member", "size", (json_int_t)size);
	int lossy = 0;

	if (rec == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_object_set_new(rec, "path", cs_rec_string(path, strlen(path), &lossy));
	if (link != NULL)
		json_object_set_new(rec, "link", cs_rec_string(link, strlen(link), &lossy));
	return cs_rec_send(rec);
}

/* Copies exactly size bytes of the current entry to CS_FD_RAW (sparse
 * holes come back from libarchive as zeros). */
static int copy_data(struct archive *a, uint64_t size, char *buf, const char **why)
{
	uint64_t done = 0;
	int r;

	while (done < size) {
		size_t want = size - done < COPY_BLOCK ? (size_t)(size - done) : COPY_BLOCK;
		la_ssize_t n = archive_read_data(a, buf, want);
		if (n < 0) {
			*why = archive_error_string(a);
			return CS_EFORMAT;
		}
		if (n == 0) {
			*why = "the archive ends inside the member";
			return CS_EFORMAT;
		}
		if ((r = write_all(CS_FD_RAW, buf, (size_t)n)) != 0)
			return r;
		done += (uint64_t)n;
	}
	return 0;
}

static int open_archive(struct archive **out)
{
	struct archive *a = archive_read_new();

	*out = NULL;
	if (a == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* Built-in decompressors only (each returns ARCHIVE_WARN if it would
	 * run a program); the archive itself must be a tar. */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return cs_err_set(CS_ESANDBOX, "libarchive lacks a built-in decompressor");
	}
	*out = a;
	return 0;
}

int cs_archive_stream(const struct cs_limits *lim)
{
	struct archive *a = NULL;
	struct archive_entry *ent;
	char *path = NULL, *target = NULL, *buf = NULL;
	uint64_t entries = 0, members = 0, sent = 0;
	const char *code = NULL, *why = NULL;
	char msg[700];
	int r, ar, flags;

	msg[0] = '\0';
	path = malloc(lim->path_len + 1);
	target = malloc(lim->path_len + 1);
	buf = malloc(COPY_BLOCK);
	if (path == NULL || target == NULL || buf == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = open_archive(&a)) != 0)
		goto out;
	if (archive_read_open_fd(a, CS_FD_ARCHIVE, READ_BLOCK) != ARCHIVE_OK) {
		code = "corrupt";
		snprintf(msg, sizeof(msg), "not a tar archive: %s", archive_error_string(a));
		goto fail;
	}
	for (;;) {
		const char *raw, *hl, *sl;
		la_int64_t size;
		mode_t ft;

		ar = archive_read_next_header(a, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_WARN) {
			if ((r = cs_rec_warning(-1, archive_entry_pathname(ent), "tar", "%s",
						archive_error_string(a))) != 0)
				goto out;
		} else if (ar != ARCHIVE_OK) {
			code = "corrupt";
			snprintf(msg, sizeof(msg), "archive entry %llu: %s",
				 (unsigned long long)entries + 1, archive_error_string(a));
			goto fail;
		}
		if (++entries > lim->layer_entries) {
			code = "limit";
			snprintf(msg, sizeof(msg), "archive has more than %llu entries (limit "
				 "\"layer_entries\")", (unsigned long long)lim->layer_entries);
			goto fail;
		}
		if ((uint64_t)archive_filter_bytes(a, 0) > lim->image_bytes) {
			code = "limit";
			snprintf(msg, sizeof(msg), "archive decompresses to more than %llu bytes "
				 "(limit \"image_bytes\")", (unsigned long long)lim->image_bytes);
			goto fail;
		}
		raw = archive_entry_pathname(ent);
		if (raw == NULL) {
			code = "corrupt";
			snprintf(msg, sizeof(msg), "archive entry %llu has no readable name",
				 (unsigned long long)entries);
			goto fail;
		}
		r = cs_path_normalize(path, lim->path_len + 1, raw, strlen(raw), &flags);
		if (r == CS_ELIMIT) {
			if ((r = cs_rec_warning(-1, NULL, "path-too-long", "archive member name longer "
						"than %llu bytes skipped (limit \"path_len\")",
						(unsigned long long)lim->path_len)) != 0)
				goto out;
			continue;
		}
		if (r != 0) {
			code = "path-escape";
			snprintf(msg, sizeof(msg), "archive member \"%.200s\" has a \"..\" component: "
				 "refused", raw);
			goto fail;
		}
		if (flags & CS_PATH_ABSOLUTE) {
			code = "path-absolute";
			snprintf(msg, sizeof(msg), "archive member \"%.200s\" has an absolute path: "
				 "refused", raw);
			goto fail;
		}
		ft = archive_entry_filetype(ent);
		hl = archive_entry_hardlink(ent);
		sl = ft == AE_IFLNK ? archive_entry_symlink(ent) : NULL;
		if (path[0] == '\0' || !cs_archive_wanted(path))
			continue;
		if (hl != NULL || sl != NULL) {
			if (hl != NULL)
				r = cs_path_normalize(target, lim->path_len + 1, hl, strlen(hl), &flags);
			else
				r = resolve_symlink(target, lim->path_len + 1, path, sl);
			if (r != 0 || (hl != NULL && (flags & CS_PATH_ABSOLUTE))) {
				code = "link-escape";
				snprintf(msg, sizeof(msg), "archive member \"%.200s\" links to \"%.200s\", "
					 "outside the archive: refused", path, hl ? hl : sl);
				goto fail;
			}
			if (++members > lim->archive_members)
				goto too_many;
			if ((r = send_member(path, 0, target)) != 0)
				goto out;
			continue;
		}
		if (ft != AE_IFREG)
			continue;
		size = archive_entry_size(ent);
		if (size < 0 || !archive_entry_size_is_set(ent)) {
			code = "corrupt";
			snprintf(msg, sizeof(msg), "archive member \"%.200s\" has no size", path);
			goto fail;
		}
		if (++members > lim->archive_members)
			goto too_many;
		if ((uint64_t)size > lim->layer_bytes) {
			code = "limit";
			snprintf(msg, sizeof(msg), "archive member \"%.200s\" has %lld bytes, more than "
				 "%llu (limit \"layer_bytes\")", path, (long long)size,
				 (unsigned long long)lim->layer_bytes);
			goto fail;
		}
		if (__builtin_add_overflow(sent, (uint64_t)size, &sent) || sent > lim->archive_bytes) {
			code = "limit";
			snprintf(msg, sizeof(msg), "archive members add up to more than %llu bytes "
				 "(limit \"archive_bytes\")", (unsigned long long)lim->archive_bytes);
			goto fail;
		}
		if ((r = send_member(path, (uint64_t)size, NULL)) != 0)
			goto out;
		r = copy_data(a, (uint64_t)size, buf, &why);
		if (r == CS_EFORMAT) {
			code = "corrupt";
			snprintf(msg, sizeof(msg), "archive member \"%.200s\": %s", path,
				 why ? why : "unreadable");
			goto fail;
		}
		if (r != 0)
			goto out;
	}
	r = 0;
	goto out;
too_many:
	code = "limit";
	snprintf(msg, sizeof(msg), "archive has more than %llu members of interest (limit "
		 "\"archive_members\")", (unsigned long long)lim->archive_members);
fail:
	r = cs_rec_error(-1, NULL, code, "%s", msg);
	if (r == 0)
		r = strcmp(code, "limit") == 0 ? CS_ELIMIT : CS_EFORMAT;
	cs_err_set(r, "%s: %s", code, msg);
out:
	if (a != NULL)
		archive_read_free(a);
	free(path);
	free(target);
	free(buf);
	return r;
}
