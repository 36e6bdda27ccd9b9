/*
 * oci-archive:FILE[:TAG] and docker-archive:FILE.
 *
 * The supervisor never parses an archive's container format (DESIGN.md
 * "Processes"): a sandboxed worker in --archive mode streams it (a tar,
 * whole or gzip/zstd/xz/bzip2-compressed) and, for each member of interest,
 * sends a "member" record and then exactly that many raw bytes on a second
 * pipe. Here every byte is hashed into the blob cache as it arrives:
 *
 *   blobs/sha256/<hex>          must hash to <hex>, else the scan fails
 *                               naming the digest;
 *   index.json, oci-layout,     kept in memory (at most CS_DOC_MAX each),
 *   manifest.json, repositories parsed only as bounded JSON;
 *   anything else (docker save's <id>/layer.tar, <hex>.tar, <hex>.json)
 *                               hashed into a temporary file, then filed
 *                               under the digest it has; its name is
 *                               remembered for manifest.json.
 *
 * Links (docker save writes <id>/layer.tar as a symlink to ../<hex>.tar)
 * are names for other members, never files. Then the image is resolved from
 * the documents exactly like an OCI layout (index, platform, manifest,
 * config, diff_ids) or, for docker-archive, from manifest.json, with every
 * document and layer taken from the cache, verified again, by digest; a
 * name or digest the archive did not hold fails the scan.
 */
#include "supervisor/source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/path.h"
#include "common/proto.h"
#include "supervisor/sandbox/ending.h"
#include "supervisor/sandbox/sandbox.h"
#include "supervisor/source/digest.h"
#include "supervisor/source/regint.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define LINK_HOPS 8
#define EOF_GRACE_MS 5000
#define COPY_BLOCK (64u * 1024u)

struct member {
	char *name;
	char *link;               /* another member's name, or NULL */
	char digest[72];          /* blobs and other files: their sha256; "" for docs/links */
	uint64_t size;
	uint8_t *doc;             /* the top-level documents, NUL-terminated */
};

struct arc {
	const char *file;         /* the archive, for messages */
	const struct cs_source_opts *o;
	const struct cs_limits *lim;
	struct cs_cache *cache;
	int tmpdir;               /* where member files are hashed before filing */
	struct member *m;
	size_t n, cap;
	uint64_t bytes;
	/* the worker */
	struct cs_sandbox *sb;
	int raw;                  /* read end of the raw pipe, non-blocking */
	int raw_eof;              /* the worker closed it inside a member */
	int64_t deadline;         /* ms, CLOCK_MONOTONIC */
	struct cs_sandbox_seen seen;  /* what decides how it ended */
	uint8_t *buf;             /* COPY_BLOCK bytes */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void drain_err(struct arc *a)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(cs_sandbox_err_fd(a->sb), buf, sizeof(buf))) > 0)
		cs_sandbox_seen_stderr(&a->seen, buf, (size_t)n);
}

/*
 * Reads exactly n raw bytes from the worker (waiting at most until the
 * deadline, keeping its diagnostics pipe drained) and hands them to fn in
 * blocks; fn NULL discards them.
 */
static int raw_read(struct arc *a, uint64_t n, int (*fn)(void *, const void *, size_t),
		    void *arg)
{
	uint8_t *buf = a->buf;
	struct pollfd pf[2];
	int r;

	while (n > 0) {
		ssize_t got;
		int64_t left = a->deadline - now_ms();

		if (left <= 0) {
			/* how it ended says the rest (cs_sandbox_ending) */
			cs_sandbox_kill(a->sb, CS_END_TIMEOUT);
			return cs_err_set(CS_ETIMEOUT, "worker timed out");
		}
		got = read(a->raw, buf, n < COPY_BLOCK ? (size_t)n : COPY_BLOCK);
		if (got > 0) {
			if (fn != NULL && (r = fn(arg, buf, (size_t)got)) != 0)
				return r;
			n -= (uint64_t)got;
			continue;
		}
		if (got == 0) {
			a->raw_eof = 1;
			return cs_err_set(CS_EFORMAT, "the worker stopped inside a member");
		}
		if (errno != EAGAIN && errno != EINTR)
			return cs_err_set(CS_EIO, "reading from the worker: %s", strerror(errno));
		pf[0].fd = a->raw;
		pf[0].events = POLLIN;
		pf[1].fd = cs_sandbox_err_fd(a->sb);
		pf[1].events = POLLIN;
		if (poll(pf, 2, left > 1000 ? 1000 : (int)left) > 0 && pf[1].revents != 0)
			drain_err(a);
	}
	return 0;
}

/* ---- member sinks ---- */

struct hashfile {
	int fd;
	EVP_MD_CTX *md;
};

static int to_hashfile(void *arg, const void *p, size_t n)
{
	struct hashfile *h = arg;
	const uint8_t *b = p;
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(h->fd, b + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cs_err_set(CS_EIO, "cache: writing an archive member: %s",
					  w < 0 ? strerror(errno) : "short write");
		off += (size_t)w;
	}
	if (EVP_DigestUpdate(h->md, p, n) != 1)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	return 0;
}

static int to_hash(void *arg, const void *p, size_t n)
{
	if (EVP_DigestUpdate((EVP_MD_CTX *)arg, p, n) != 1)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	return 0;
}

/* "sha256:<hex>" of what md has seen. */
static int hash_final(char out[72], EVP_MD_CTX *md)
{
	unsigned char d[32];
	unsigned int dl = 0;
	int i;

	if (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != 32)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[d[i] & 15];
	}
	out[71] = '\0';
	return 0;
}

static int to_sink(void *arg, const void *p, size_t n)
{
	struct cs_sink *s = arg;

	return s->write(s, p, n);
}

static int to_mem(void *arg, const void *p, size_t n)
{
	struct cs_buf *b = arg;

	return cs_buf_add(b, p, n);
}

/* cache fill: the member's bytes, straight from the worker */
struct fill_raw {
	struct arc *a;
	uint64_t size;
};

static int fill_from_raw(void *arg, struct cs_sink *sink)
{
	struct fill_raw *f = arg;

	return raw_read(f->a, f->size, to_sink, sink);
}

/* cache fill: a hashed temporary file */
struct fill_file {
	int fd;
	uint8_t *buf;
};

static int fill_from_file(void *arg, struct cs_sink *sink)
{
	struct fill_file *f = arg;
	off_t off = 0;
	int r;

	for (;;) {
		ssize_t n = pread(f->fd, f->buf, COPY_BLOCK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cs_err_set(CS_EIO, "cache: reading a temporary file: %s", strerror(errno));
		if (n == 0)
			return 0;
		if ((r = sink->write(sink, f->buf, (size_t)n)) != 0)
			return r;
		off += n;
	}
}

/* cache fill when the blob must already be there */
static int fill_gone(void *arg, struct cs_sink *sink)
{
	(void)sink;
	return cs_err_set(CS_ENOTFOUND, "blob %s left the cache during the scan (evicted?)",
			  (const char *)arg);
}

static int is_doc(const char *name)
{
	return strcmp(name, "index.json") == 0 || strcmp(name, "oci-layout") == 0 ||
	       strcmp(name, "manifest.json") == 0 || strcmp(name, "repositories") == 0;
}

static int is_blob_name(const char *name)
{
	return strncmp(name, "blobs/sha256/", 13) == 0 && strlen(name) == 13 + 64;
}

static struct member *find(struct arc *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->m[i].name, name) == 0)
			return &a->m[i];
	return NULL;
}

/* The member a name stands for, following links. */
static struct member *resolve(struct arc *a, const char *name)
{
	struct member *m = find(a, name);
	int hops = 0;

	while (m != NULL && m->link != NULL && hops++ < LINK_HOPS)
		m = find(a, m->link);
	return m != NULL && m->link == NULL ? m : NULL;
}

/* ---- one member record ---- */

static int on_member(struct arc *a, const json_t *rec)
{
	const char *name = jstr(rec, "path"), *link = jstr(rec, "link");
	uint64_t size = (uint64_t)json_integer_value(json_object_get(rec, "size"));
	char norm[CS_PATH_MAX + 1];
	struct member *m;
	struct hashfile h = { -1, NULL };
	int flags, r, fd = -1, fetched = 0;

	if (cs_path_normalize(norm, sizeof(norm), name, strlen(name), &flags) != 0 ||
	    flags != 0 || strcmp(norm, name) != 0 || norm[0] == '\0')
		return cs_err_set(CS_EPROTO, "member record with a path that is not normalised");
	if (link != NULL && (size != 0 || cs_path_normalize(norm, sizeof(norm), link,
							    strlen(link), &flags) != 0 ||
			     flags != 0 || strcmp(norm, link) != 0))
		return cs_err_set(CS_EPROTO, "member record with a bad link");
	if (find(a, name) != NULL)
		return cs_err_set(CS_EFORMAT, "archive %s has the member \"%.200s\" twice (rule: "
				  "duplicate names)", a->file, name);
	if (a->n >= a->lim->archive_members)
		return cs_err_set(CS_ELIMIT, "archive %s has more than %llu members of interest "
				  "(limit \"archive_members\")", a->file,
				  (unsigned long long)a->lim->archive_members);
	if (size > a->lim->layer_bytes)
		return cs_err_set(CS_ELIMIT, "archive %s: member \"%.200s\" has %llu bytes, more "
				  "than %llu (limit \"layer_bytes\")", a->file, name,
				  (unsigned long long)size, (unsigned long long)a->lim->layer_bytes);
	if (__builtin_add_overflow(a->bytes, size, &a->bytes) || a->bytes > a->lim->archive_bytes)
		return cs_err_set(CS_ELIMIT, "archive %s: members add up to more than %llu bytes "
				  "(limit \"archive_bytes\")", a->file,
				  (unsigned long long)a->lim->archive_bytes);
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		struct member *nm = realloc(a->m, nc * sizeof(*nm));
		if (nm == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		a->m = nm;
		a->cap = nc;
	}
	m = &a->m[a->n];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	m->link = link ? strdup(link) : NULL;
	m->size = size;
	if (m->name == NULL || (link != NULL && m->link == NULL)) {
		free(m->name);
		free(m->link);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	a->n++;
	if (link != NULL)
		return 0;
	if (is_doc(name)) {
		struct cs_buf b;
		size_t got;

		if (size > CS_DOC_MAX)
			return cs_err_set(CS_ELIMIT, "archive %s: %s has %llu bytes, more than the "
					  "document limit of %u", a->file, name,
					  (unsigned long long)size, CS_DOC_MAX);
		cs_buf_init(&b, CS_DOC_MAX);
		if ((r = raw_read(a, size, to_mem, &b)) != 0 || (r = cs_buf_cstr(&b)) != 0) {
			cs_buf_free(&b);
			return r;
		}
		if (b.data == NULL) {
			cs_buf_free(&b);
			m->doc = (uint8_t *)strdup("");
			return m->doc ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
		}
		m->doc = cs_buf_steal(&b, &got);
		return 0;
	}
	if (is_blob_name(name)) {
		struct fill_raw f = { a, size };

		snprintf(m->digest, sizeof(m->digest), "sha256:%s", name + 13);
		r = cs_cache_get(a->cache, &fd, m->digest, size, fill_from_raw, &f, &fetched);
		if (fd >= 0)
			close(fd);
		if (r == 0 && !fetched) {
			/* Already cached (and verified): the archive's copy is still
			 * checked, so a corrupt archive fails however warm the cache. */
			char got[72];

			h.md = EVP_MD_CTX_new();
			if (h.md == NULL || EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) != 1) {
				EVP_MD_CTX_free(h.md);
				return cs_err_set(CS_ENOMEM, "out of memory");
			}
			r = raw_read(a, size, to_hash, h.md);
			if (r == 0)
				r = hash_final(got, h.md);
			EVP_MD_CTX_free(h.md);
			if (r == 0 && strcmp(got, m->digest) != 0)
				r = cs_err_set(CS_EDIGEST, "blob %s does not match its digest: the bytes "
					       "received hash to %s", m->digest, got);
		}
		if (r == CS_EDIGEST)
			return cs_err_prefix(r, "archive %s: member %s (rule: digest)", a->file, name);
		return r;
	}
	/* a member named otherwise: its digest is what it hashes to */
	h.fd = openat(a->tmpdir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (h.fd < 0)
		return cs_err_set(CS_EIO, "cache: temporary file: %s", strerror(errno));
	h.md = EVP_MD_CTX_new();
	if (h.md == NULL || EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) != 1) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = raw_read(a, size, to_hashfile, &h)) != 0)
		goto out;
	if ((r = hash_final(m->digest, h.md)) != 0)
		goto out;
	{
		struct fill_file ff = { h.fd, a->buf };
		r = cs_cache_get(a->cache, &fd, m->digest, size, fill_from_file, &ff, &fetched);
	}
	if (fd >= 0)
		close(fd);
out:
	EVP_MD_CTX_free(h.md);
	close(h.fd);
	return r;
}

/* ---- running the worker ---- */

/* The worker's records other than those of its ending (hello, error,
 * fatal, done: cs_sandbox_read_records notes them): members. */
static int on_record(void *ctx, enum cs_rec t, json_t *rec)
{
	struct arc *a = ctx;

	if (t != CS_REC_MEMBER)
		return 0;
	if (a->raw_eof)
		return cs_err_set(CS_EPROTO, "member record after the raw pipe closed");
	return on_member(a, rec);
}

static int run_worker(struct arc *a, int archive_fd)
{
	struct cs_sandbox_opts so;
	struct cs_frame_reader fr;
	struct cs_proto_state ps;
	struct cs_sandbox_end end;
	char limits[1024];
	const char *argv[8];
	int raw[2] = { -1, -1 }, fds[2], r, ac = 0, eof_noted = 0;
	char wpath[4096];
	const char *worker = a->o->worker;
	uid_t uid = a->o->worker_uid;
	gid_t gid = a->o->worker_gid;

	if (worker == NULL) {
		/* The caller did not say (struct cs_source_opts is zeroed by
		 * default): where the command line finds it, beside our own
		 * executable, as cellscan's cli does. */
		const char *e = getenv("CELLSCAN_WORKER");
		char self[3000];
		ssize_t n;

		if (e != NULL && e[0] != '\0') {
			snprintf(wpath, sizeof(wpath), "%s", e);
		} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
			char *slash;
			self[n] = '\0';
			slash = strrchr(self, '/');
			if (slash != NULL)
				*slash = '\0';
			snprintf(wpath, sizeof(wpath), "%s/../libexec/cellscan/cellscan-worker", self);
		} else {
			return cs_err_set(CS_EINTERNAL, "archive sources need the worker's path");
		}
		worker = wpath;
	}
	if (uid == 0 && gid == 0)
		cs_sandbox_default_ids(&uid, &gid);
	if ((r = cs_limits_format(a->lim, limits, sizeof(limits))) != 0)
		return r;
	if (pipe2(raw, O_CLOEXEC) != 0)
		return cs_err_set(CS_EIO, "pipe: %s", strerror(errno));
	argv[ac++] = "cellscan-worker";
	argv[ac++] = "--archive";
	argv[ac++] = "--limits";
	argv[ac++] = limits;
	if (a->o->weak)
		argv[ac++] = "--weak";
	argv[ac] = NULL;
	fds[0] = archive_fd;
	fds[1] = raw[1];
	memset(&so, 0, sizeof(so));
	so.worker = worker;
	so.argv = argv;
	so.fds = fds;
	so.nfds = 2;
	so.lim = a->lim;
	so.uid = uid;
	so.gid = gid;
	so.weak = a->o->weak;
	r = cs_sandbox_spawn(&a->sb, &so);
	close(raw[1]);
	if (r != 0) {
		close(raw[0]);
		return r;
	}
	a->raw = raw[0];
	fcntl(a->raw, F_SETFL, O_NONBLOCK);
	a->deadline = now_ms() + (int64_t)a->lim->worker_wall * 1000;
	cs_sandbox_seen_init(&a->seen);
	if ((r = cs_frame_reader_init(&fr, cs_sandbox_out_fd(a->sb))) != 0)
		return r;
	cs_proto_init(&ps, 0, a->lim->records);
	ps.archive = 1;
	for (;;) {
		struct pollfd pf[2];
		int64_t left = a->deadline - now_ms();

		if (left <= 0) {
			cs_sandbox_kill(a->sb, CS_END_TIMEOUT);
			break;
		}
		pf[0].fd = cs_sandbox_out_fd(a->sb);
		pf[0].events = POLLIN;
		pf[1].fd = cs_sandbox_err_fd(a->sb);
		pf[1].events = POLLIN;
		if (poll(pf, 2, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		if (pf[1].revents != 0)
			drain_err(a);
		if (pf[0].revents == 0)
			continue;
		r = cs_sandbox_read_records(&fr, &ps, a->lim->wire_bytes, &a->seen, on_record, a);
		if (r == 1)
			break;
		if (r < 0 && a->raw_eof && !eof_noted) {
			/* The worker stopped inside a member: its own error record, if
			 * it sent one, says why; read on to the end of its output. */
			eof_noted = 1;
			continue;
		}
		if (r < 0) {
			cs_sandbox_seen_reject(&a->seen, r, cs_err_msg());
			cs_sandbox_kill(a->sb, r == CS_EPROTO ? CS_END_PROTOCOL : CS_END_CRASH);
			break;
		}
	}
	if (!a->seen.rejected && cs_sandbox_wait_exit(a->sb, EOF_GRACE_MS) != 1) {
		cs_sandbox_seen_reject(&a->seen, CS_EPROTO,
				       "worker closed its output but did not exit");
		cs_sandbox_kill(a->sb, CS_END_PROTOCOL);
	}
	drain_err(a);
	cs_sandbox_reap(a->sb, &end);
	cs_frame_reader_free(&fr);
	/* A worker that stopped inside a member must not then finish as if
	 * nothing happened: that, too, ends as a protocol violation. */
	if (a->raw_eof && end.kind == CS_END_OK && a->seen.done)
		cs_sandbox_seen_reject(&a->seen, CS_EPROTO,
				       "worker ended a member early and still finished");
	return cs_sandbox_ending(&end, &a->seen, a->lim);
}

/* ---- resolving the image from the documents ---- */

/* A verified descriptor of a cached member blob; checks the archive held it. */
static int member_fd(struct arc *a, int *fd, const char *digest, uint64_t size, const char *what)
{
	size_t i;
	int fetched;

	*fd = -1;
	for (i = 0; i < a->n; i++)
		if (a->m[i].link == NULL && strcmp(a->m[i].digest, digest) == 0)
			break;
	if (i == a->n)
		return cs_err_set(CS_ENOTFOUND, "archive %s: the %s names blob %s, which the archive "
				  "does not hold (rule: missing blob)", a->file, what, digest);
	if (a->m[i].size != size)
		return cs_err_set(CS_EDIGEST, "archive %s: blob %s has %llu bytes, its descriptor "
				  "says %llu", a->file, digest, (unsigned long long)a->m[i].size,
				  (unsigned long long)size);
	return cs_cache_get(a->cache, fd, digest, size, fill_gone, (void *)digest, &fetched);
}

static int parse_doc(json_t **out, const char *text, size_t len, const char *what)
{
	json_error_t je;

	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		return cs_err_set(CS_EFORMAT, "%s is not valid JSON: %s", what, je.text);
	return 0;
}

static int load_blob_doc(struct arc *a, json_t **out, const char *digest, uint64_t size,
			 const char *what)
{
	char *buf;
	int fd, r;
	size_t got = 0;

	*out = NULL;
	if (size > CS_DOC_MAX)
		return cs_err_set(CS_ELIMIT, "archive %s: %s %s has %llu bytes, more than the "
				  "document limit of %u", a->file, what, digest,
				  (unsigned long long)size, CS_DOC_MAX);
	if ((r = member_fd(a, &fd, digest, size, what)) != 0)
		return r;
	buf = malloc(size + 1);
	if (buf == NULL) {
		close(fd);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != size) {
		free(buf);
		return cs_err_set(CS_EIO, "cache: short read of %s", digest);
	}
	r = parse_doc(out, buf, got, what);
	free(buf);
	if (r == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		r = cs_err_set(CS_EFORMAT, "%s %s is not a JSON object", what, digest);
	}
	return r == 0 ? 0 : cs_err_prefix(r, "archive %s", a->file);
}

static int desc(const json_t *d, const char **digest, const char **mt, uint64_t *size)
{
	json_t *s = json_object_get(d, "size");

	*digest = jstr(d, "digest");
	*mt = jstr(d, "mediaType");
	if (*digest == NULL || !json_is_integer(s) || json_integer_value(s) < 0)
		return cs_err_set(CS_EFORMAT, "descriptor without a digest or size");
	if (!cs_digest_valid(*digest))
		return cs_err_set(CS_EFORMAT, "invalid digest \"%.80s\" (only sha256 is supported)",
				  *digest);
	*size = (uint64_t)json_integer_value(s);
	if (*mt == NULL)
		*mt = "";
	return 0;
}

/* Config and layers, once the manifest's (or manifest.json's) lists are known. */
static int fill_layers(struct arc *a, struct cs_image *img, size_t n)
{
	const json_t *diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");

	if (cs_platform_string(img->platform, sizeof(img->platform), img->config) != 0)
		snprintf(img->platform, sizeof(img->platform), "unknown");
	if (!json_is_array(diffs))
		return cs_err_set(CS_EFORMAT, "archive %s: the image config has no diff_ids", a->file);
	if (json_array_size(diffs) != n)
		return cs_err_set(CS_EFORMAT, "archive %s: the manifest lists %zu layers, the config "
				  "%zu diff_ids", a->file, n, json_array_size(diffs));
	if (n > a->lim->layers)
		return cs_err_set(CS_ELIMIT, "archive %s: image has %zu layers, more than the limit of "
				  "%llu (limit \"layers\")", a->file, n,
				  (unsigned long long)a->lim->layers);
	img->layers = calloc(n ? n : 1, sizeof(*img->layers));
	if (img->layers == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *di = json_string_value(json_array_get(diffs, i));
		img->layers[i].fd = -1;
		if (!cs_digest_valid(di))
			return cs_err_set(CS_EFORMAT, "archive %s: config diff_id %zu is not a sha256 "
					  "digest", a->file, i);
		snprintf(img->layers[i].diff_id, sizeof(img->layers[i].diff_id), "%s", di);
	}
	img->nlayers = n;
	return 0;
}

static int open_layer(struct arc *a, struct cs_layer *l, const char *digest, uint64_t size,
		      const char *mt)
{
	snprintf(l->digest, sizeof(l->digest), "%s", digest);
	snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
	l->size = size;
	return member_fd(a, &l->fd, digest, size, "manifest");
}

static int arc_load_doc(void *arg, json_t **out, const char *digest, uint64_t size,
			const char *what)
{
	return load_blob_doc(arg, out, digest, size, what);
}

/*
 * The image of an OCI layout in the archive, into img; or, when list is not
 * NULL, the entries of cs_source_platforms() appended to list (img unused).
 */
static int resolve_oci(struct arc *a, struct cs_image *img, const char *tag, json_t *list)
{
	struct member *im = resolve(a, "index.json");
	json_t *index = NULL, *cands = NULL, *man = NULL, *config = NULL, *m;
	const json_t *sel = NULL, *ls;
	const char *dg, *mt, *want = a->o->platform ? a->o->platform : cs_source_host_platform();
	char mdigest[72], plat[64];
	uint64_t size;
	size_t i;
	int r, is_index;

	if (im == NULL || im->doc == NULL)
		return cs_err_set(CS_EFORMAT, "archive %s is not an OCI image layout (no index.json)",
				  a->file);
	if ((r = parse_doc(&index, (const char *)im->doc, im->size, "index.json")) != 0)
		goto out;
	if (!json_is_object(index)) {
		r = cs_err_set(CS_EFORMAT, "index.json lists no manifests");
		goto out;
	}
	if ((r = cs_layout_candidates(&cands, &is_index, index, tag, "the archive",
				      "oci-archive:FILE:TAG", arc_load_doc, a)) != 0)
		goto out;
	if (list != NULL && is_index) {
		r = cs_index_platforms(list, cands, "the archive");
		goto out;
	}
	if ((r = cs_layout_choose(&sel, cands, is_index, want, list ? NULL : a->o->manifest_digest,
				  "the archive")) != 0)
		goto out;
	if ((r = desc(sel, &dg, &mt, &size)) != 0)
		goto out;
	if (mt[0] != '\0' && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "manifest %s has media type %s", dg, mt);
		goto out;
	}
	snprintf(mdigest, sizeof(mdigest), "%s", dg);
	if ((r = load_blob_doc(a, &man, dg, size, "manifest")) != 0)
		goto out;
	if ((r = desc(json_object_get(man, "config"), &dg, &mt, &size)) != 0)
		goto out;
	if ((r = load_blob_doc(a, &config, dg, size, "config")) != 0)
		goto out;
	if (list != NULL) {
		/* one manifest: its config says the platform */
		if (cs_platform_string(plat, sizeof(plat), config) != 0)
			snprintf(plat, sizeof(plat), "unknown");
		r = cs_platforms_add(list, plat, mdigest);
		goto out;
	}
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", mdigest);
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", dg);
	img->config = config;
	config = NULL;
	ls = json_object_get(man, "layers");
	if (!json_is_array(ls)) {
		r = cs_err_set(CS_EFORMAT, "manifest lacks its layer list");
		goto out;
	}
	if ((r = fill_layers(a, img, json_array_size(ls))) != 0)
		goto out;
	json_array_foreach(ls, i, m) {
		if ((r = desc(m, &dg, &mt, &size)) != 0)
			goto out;
		if (mt[0] != '\0' && strstr(mt, "tar") == NULL) {
			r = cs_err_set(CS_EUNSUPPORTED, "layer %s has media type %s, not a tar layer",
				       dg, mt);
			goto out;
		}
		if ((r = open_layer(a, &img->layers[i], dg, size, mt)) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(index);
	json_decref(cands);
	json_decref(man);
	json_decref(config);
	return r;
}

/* docker save's manifest.json: [{"Config": NAME, "RepoTags": [...], "Layers": [NAME...]}] */
static int resolve_docker(struct arc *a, struct cs_image *img, json_t *list)
{
	struct member *mm = resolve(a, "manifest.json"), *c;
	json_t *doc = NULL, *config = NULL, *ent, *ls, *l;
	const char *cname;
	char plat[64];
	size_t i;
	int r;

	if (mm == NULL || mm->doc == NULL) {
		if (resolve(a, "index.json") != NULL)
			return resolve_oci(a, img, NULL, list);
		return cs_err_set(CS_EFORMAT, "archive %s is not a docker save archive (no "
				  "manifest.json)", a->file);
	}
	if (list == NULL && a->o->manifest_digest != NULL) {
		r = cs_err_set(CS_ENOTFOUND, "a docker save archive has no manifest digest to choose "
			       "%.80s by", a->o->manifest_digest);
		goto out;
	}
	if ((r = parse_doc(&doc, (const char *)mm->doc, mm->size, "manifest.json")) != 0)
		goto out;
	if (!json_is_array(doc) || json_array_size(doc) == 0) {
		r = cs_err_set(CS_EFORMAT, "manifest.json is not a list of images");
		goto out;
	}
	if (json_array_size(doc) > 1) {
		r = cs_err_set(CS_EUNSUPPORTED, "the archive holds %zu images; cellscan reads "
			       "docker archives of one image", json_array_size(doc));
		goto out;
	}
	ent = json_array_get(doc, 0);
	cname = jstr(ent, "Config");
	ls = json_object_get(ent, "Layers");
	if (cname == NULL || !json_is_array(ls)) {
		r = cs_err_set(CS_EFORMAT, "manifest.json lacks Config or Layers");
		goto out;
	}
	c = resolve(a, cname);
	if (c == NULL || c->digest[0] == '\0') {
		r = cs_err_set(CS_ENOTFOUND, "manifest.json names the config \"%.200s\", which the "
			       "archive does not hold (rule: missing blob)", cname);
		goto out;
	}
	if ((r = load_blob_doc(a, &config, c->digest, c->size, "config")) != 0)
		goto out;
	if (list != NULL) {
		/* one image, and no manifest digest (docs/sources.md) */
		if (cs_platform_string(plat, sizeof(plat), config) != 0)
			snprintf(plat, sizeof(plat), "unknown");
		r = cs_platforms_add(list, plat, "");
		goto out;
	}
	img->config = config;
	config = NULL;
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", c->digest);
	if ((r = fill_layers(a, img, json_array_size(ls))) != 0)
		goto out;
	json_array_foreach(ls, i, l) {
		const char *ln = json_string_value(l);
		struct member *lm = ln ? resolve(a, ln) : NULL;

		if (lm == NULL || lm->digest[0] == '\0') {
			r = cs_err_set(CS_ENOTFOUND, "manifest.json names the layer \"%.200s\", which "
				       "the archive does not hold (rule: missing blob)", ln ? ln : "");
			goto out;
		}
		if ((r = open_layer(a, &img->layers[i], lm->digest, lm->size,
				    is_blob_name(lm->name) ? MT_OCI_LAYER : MT_DOCKER_LAYER)) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(doc);
	json_decref(config);
	if (r != 0 && strncmp(cs_err_msg(), "archive ", 8) != 0)
		cs_err_prefix(r, "archive %s", a->file);
	return r;
}

/* One worker pass over the archive, then the image (list NULL) or the
 * list of its platforms. */
static int archive_read(struct cs_image *img, json_t *list, const char *file, const char *tag,
			int docker, const struct cs_source_opts *o)
{
	struct arc a;
	struct cs_limits deflim;
	struct stat st;
	char dir[4096], tmp[4200];
	int fd = -1, r;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.file = file;
	a.o = o;
	a.raw = a.tmpdir = -1;
	if (o->lim == NULL)
		cs_limits_default(&deflim);
	a.lim = o->lim ? o->lim : &deflim;
	a.buf = malloc(COPY_BLOCK);
	if (a.buf == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = cs_err_set(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "archive %s: %s", file,
			       strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = cs_err_set(CS_EINVAL, "archive %s: not a regular file", file);
		goto out;
	}
	if ((r = cs_cache_open(&a.cache, o->cache_dir, o->cache_max)) != 0)
		goto out;
	if (o->cache_dir != NULL)
		snprintf(dir, sizeof(dir), "%s", o->cache_dir);
	else if ((r = cs_cache_default_dir(dir, sizeof(dir))) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	a.tmpdir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.tmpdir < 0) {
		r = cs_err_set(CS_EIO, "cache directory %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((r = run_worker(&a, fd)) != 0) {
		if (strncmp(cs_err_msg(), "archive ", 8) != 0)
			cs_err_prefix(r, "archive %s", file);
		goto out;
	}
	r = docker ? resolve_docker(&a, img, list) : resolve_oci(&a, img, tag, list);
	if (r != 0 && strncmp(cs_err_msg(), "archive ", 8) != 0)
		cs_err_prefix(r, "archive %s", file);
	if (r == 0)
		cs_cache_trim(a.cache);
out:
	cs_sandbox_free(a.sb);
	if (a.raw >= 0)
		close(a.raw);
	if (a.tmpdir >= 0)
		close(a.tmpdir);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < a.n; i++) {
		free(a.m[i].name);
		free(a.m[i].link);
		free(a.m[i].doc);
	}
	free(a.m);
	free(a.buf);
	cs_cache_close(a.cache);
	return r;
}

int cs_archive_open(struct cs_image *img, const char *file, const char *tag, int docker,
		    const struct cs_source_opts *o)
{
	return archive_read(img, NULL, file, tag, docker, o);
}

int cs_archive_platforms(json_t *arr, const char *file, const char *tag, int docker,
			 const struct cs_source_opts *o)
{
	return archive_read(NULL, arr, file, tag, docker, o);
}
