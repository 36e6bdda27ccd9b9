/*
 * cache.c - the content-addressed blob cache.
 *
 *   DIR/blobs/sha256/<hex>    verified blobs, read-only (0444)
 *   DIR/locks/<hex>.lock      one flock(2) lock per digest
 *   DIR/tmp/<hex>.<pid>.<n>   downloads in progress
 *
 * A blob is only ever written under its digest's lock, into a temporary
 * file that is hashed while it is written and renamed into place once its
 * digest and size are right; so a process never sees a name under blobs/
 * that did not hold a complete, verified blob, and two scans that need one
 * blob download it once (the second waits for the lock, then finds it).
 * Every later use hashes the blob again through the very descriptor handed
 * out (a cache is just another untrusted disk); the download that stored it
 * hands on its descriptor without hashing twice.
 *
 * Nothing is fsync'd. A process crash cannot leave a partial blob under
 * blobs/ (rename is atomic), only a temporary file in tmp/. A power loss
 * or kernel crash can: the renamed name may survive while the data, never
 * synced, does not (an empty or short file). That is safe only because of
 * the hash on every use: such a blob fails it, is deleted and downloaded
 * again. Durability buys nothing in a cache that re-verifies, and an fsync
 * of a 50 MB layer costs 30-45 ms (docs/registry.md).
 *
 * Least-recently-used eviction orders blobs by atime, which each use sets
 * explicitly (so noatime/relatime mounts don't matter). A temporary file
 * whose digest lock is free is left over from a crash. cs_cache_get may be
 * called from several threads at once with the same cache (each call takes
 * its own lock descriptor, and flock(2) locks belong to those).
 */
#include "supervisor/source/regint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"

struct cs_cache {
	char dir[4096];
	int root, blobs, locks, tmp;
	uint64_t max;
};

int cs_cache_default_dir(char *out, size_t n)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	/* the XDG spec: relative values are invalid and ignored */
	if (x != NULL && x[0] == '/') {
		if ((size_t)snprintf(out, n, "%s/cellscan", x) >= n)
			return cs_err_set(CS_EINVAL, "XDG_CACHE_HOME is too long");
		return 0;
	}
	if (home == NULL || home[0] != '/')
		return cs_err_set(CS_EINVAL, "no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME");
	if ((size_t)snprintf(out, n, "%s/.cache/cellscan", home) >= n)
		return cs_err_set(CS_EINVAL, "HOME is too long");
	return 0;
}

/* mkdir -p, each new level 0700. */
static int mkdirs(const char *path)
{
	char p[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(p))
		return cs_err_set(CS_EINVAL, "bad cache directory");
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return cs_err_set(CS_EIO, "cache directory %s: %s", p, strerror(errno));
		p[i] = i == n ? '\0' : '/';
	}
	return 0;
}

static int subdir(int root, const char *name, int create)
{
	if (create && mkdirat(root, name, 0700) != 0 && errno != EEXIST)
		return -1;
	return openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

void cs_cache_close(struct cs_cache *c)
{
	if (c == NULL)
		return;
	if (c->root >= 0)
		close(c->root);
	if (c->blobs >= 0)
		close(c->blobs);
	if (c->locks >= 0)
		close(c->locks);
	if (c->tmp >= 0)
		close(c->tmp);
	free(c);
}

static int cache_open(struct cs_cache **out, const char *dir, uint64_t max, int create)
{
	struct cs_cache *c;
	int r, b;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	c->root = c->blobs = c->locks = c->tmp = -1;
	c->max = max ? max : CS_CACHE_MAX_DEFAULT;
	if (dir != NULL) {
		if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s", dir) >= sizeof(c->dir)) {
			r = cs_err_set(CS_EINVAL, "--cache-dir too long");
			goto out;
		}
	} else if ((r = cs_cache_default_dir(c->dir, sizeof(c->dir))) != 0) {
		goto out;
	}
	if (create && (r = mkdirs(c->dir)) != 0)
		goto out;
	c->root = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->root < 0) {
		r = cs_err_set(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "cache directory %s: %s",
			       c->dir, strerror(errno));
		goto out;
	}
	b = subdir(c->root, "blobs", create);
	if (b >= 0) {
		c->blobs = subdir(b, "sha256", create);
		close(b);
	}
	c->locks = subdir(c->root, "locks", create);
	c->tmp = subdir(c->root, "tmp", create);
	if (create && (c->blobs < 0 || c->locks < 0 || c->tmp < 0)) {
		r = cs_err_set(CS_EIO, "cache directory %s: cannot create its layout: %s", c->dir,
			       strerror(errno));
		goto out;
	}
	*out = c;
	return 0;
out:
	cs_cache_close(c);
	return r;
}

int cs_cache_open(struct cs_cache **out, const char *dir, uint64_t max)
{
	return cache_open(out, dir, max, 1);
}

/*
 * Takes the lock of a digest. A lock file may be unlinked by an evictor
 * holding it; so after flock() the name must still be this inode, else
 * start again. *fd < 0 with 0 returned: busy (nonblocking only).
 */
static int lock_digest(struct cs_cache *c, const char *hex, int nonblock, int *fd)
{
	char name[80];
	struct stat a, b;

	*fd = -1;
	snprintf(name, sizeof(name), "%.64s.lock", hex);
	for (;;) {
		int f = openat(c->locks, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f < 0)
			return cs_err_set(CS_EIO, "cache lock %s: %s", name, strerror(errno));
		while (flock(f, LOCK_EX | (nonblock ? LOCK_NB : 0)) != 0) {
			if (errno == EINTR)
				continue;
			close(f);
			if (errno == EWOULDBLOCK)
				return 0;
			return cs_err_set(CS_EIO, "cache lock %s: %s", name, strerror(errno));
		}
		if (fstat(f, &a) == 0 && fstatat(c->locks, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*fd = f;
			return 0;
		}
		close(f);
	}
}

/* Unlinks a lock file while holding it, then releases it. */
static void unlock_remove(struct cs_cache *c, const char *hex, int fd)
{
	char name[80];

	snprintf(name, sizeof(name), "%.64s.lock", hex);
	unlinkat(c->locks, name, 0);
	close(fd);
}

static void touch(int fd)
{
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};

	futimens(fd, ts);
}

/* Checks an open cached blob: regular, right size, right digest. */
static int verify_fd(int fd, const char *digest, uint64_t size)
{
	struct stat st;
	char got[72];
	uint64_t n;
	int r;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return cs_err_set(CS_EDIGEST, "cached blob %s is not a regular file", digest);
	if ((uint64_t)st.st_size != size)
		return cs_err_set(CS_EDIGEST, "cached blob %s has %lld bytes, expected %llu", digest,
				  (long long)st.st_size, (unsigned long long)size);
	if (lseek(fd, 0, SEEK_SET) != 0)
		return cs_err_set(CS_EIO, "seek: %s", strerror(errno));
	if ((r = cs_digest_fd(got, fd, &n)) != 0)
		return r;
	if (n != size || strcmp(got, digest) != 0)
		return cs_err_set(CS_EDIGEST, "cached blob %s does not match its digest", digest);
	if (lseek(fd, 0, SEEK_SET) != 0)
		return cs_err_set(CS_EIO, "seek: %s", strerror(errno));
	return 0;
}

/* ---- the download sink: a temporary file hashed while written ---- */

/* Bodies arrive in pieces of at most 16 KiB (one TLS record, one HTTP/2
 * frame): gathering them saves 15 of 16 write(2) calls. */
#define WBUF_SIZE (256u << 10)

struct filesink {
	struct cs_sink s;
	int fd;
	EVP_MD_CTX *md;
	const char *digest;
	uint8_t *wbuf;
	size_t wlen;
};

static int write_all(struct filesink *f, const uint8_t *b, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(f->fd, b + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cs_err_set(CS_EIO, "cache: writing blob %s: %s", f->digest,
					  w < 0 ? strerror(errno) : "short write");
		off += (size_t)w;
	}
	return 0;
}

static int file_flush(struct filesink *f)
{
	int r = write_all(f, f->wbuf, f->wlen);

	f->wlen = 0;
	return r;
}

static int file_write(struct cs_sink *s, const void *p, size_t n)
{
	struct filesink *f = (struct filesink *)s;
	int r;

	if (s->got + n > s->max)
		return cs_err_set(CS_EDIGEST, "blob %s: the registry sent more than the %llu bytes "
				  "its descriptor says", f->digest, (unsigned long long)s->max);
	if (EVP_DigestUpdate(f->md, p, n) != 1)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	if (n > WBUF_SIZE - f->wlen && (r = file_flush(f)) != 0)
		return r;
	if (n >= WBUF_SIZE) {
		if ((r = write_all(f, p, n)) != 0)
			return r;
	} else {
		memcpy(f->wbuf + f->wlen, p, n);
		f->wlen += n;
	}
	s->got += n;
	return 0;
}

static int file_reset(struct cs_sink *s)
{
	struct filesink *f = (struct filesink *)s;

	f->wlen = 0;
	if (ftruncate(f->fd, 0) != 0 || lseek(f->fd, 0, SEEK_SET) != 0)
		return cs_err_set(CS_EIO, "cache: %s", strerror(errno));
	if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	s->got = 0;
	return 0;
}

static void hexify(char out[72], const unsigned char d[32])
{
	int i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[d[i] & 15];
	}
	out[71] = '\0';
}

/* Downloads digest into the cache; under the digest's lock. */
static int fetch_into(struct cs_cache *c, const char *digest, uint64_t size,
		      cs_cache_fill_fn fill, void *arg)
{
	/* several threads may download at once: the names must differ */
	static atomic_uint seq;
	const char *hex = digest + 7;
	char tmpname[128], got[72], what[96];
	struct filesink f;
	unsigned char d[32];
	unsigned int dl = 0;
	int r;

	memset(&f, 0, sizeof(f));
	snprintf(tmpname, sizeof(tmpname), "%.64s.%d.%u", hex, (int)getpid(),
		 atomic_fetch_add(&seq, 1));
	snprintf(what, sizeof(what), "blob %s", digest);
	f.fd = openat(c->tmp, tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f.fd < 0)
		return cs_err_set(CS_EIO, "cache: %s/tmp/%s: %s", c->dir, tmpname, strerror(errno));
	f.md = EVP_MD_CTX_new();
	f.wbuf = malloc(WBUF_SIZE);
	if (f.md == NULL || f.wbuf == NULL || EVP_DigestInit_ex(f.md, EVP_sha256(), NULL) != 1) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	f.s.write = file_write;
	f.s.reset = file_reset;
	f.s.max = size;
	f.s.what = what;
	f.digest = digest;
	if ((r = fill(arg, &f.s)) != 0 || (r = file_flush(&f)) != 0)
		goto out;
	if (EVP_DigestFinal_ex(f.md, d, &dl) != 1 || dl != 32) {
		r = cs_err_set(CS_EINTERNAL, "sha256 failed");
		goto out;
	}
	hexify(got, d);
	if (f.s.got != size) {
		r = cs_err_set(CS_EDIGEST, "blob %s: got %llu bytes, its descriptor says %llu", digest,
			       (unsigned long long)f.s.got, (unsigned long long)size);
		goto out;
	}
	if (strcmp(got, digest) != 0) {
		r = cs_err_set(CS_EDIGEST, "blob %s does not match its digest: the bytes received hash "
			       "to %s", digest, got);
		goto out;
	}
	/* no fsync of the file or of blobs/: see the top of this file */
	if (fchmod(f.fd, 0444) != 0 || renameat(c->tmp, tmpname, c->blobs, hex) != 0) {
		r = cs_err_set(CS_EIO, "cache: storing blob %s: %s", digest, strerror(errno));
		goto out;
	}
	tmpname[0] = '\0';
	r = 0;
out:
	if (tmpname[0] != '\0')
		unlinkat(c->tmp, tmpname, 0);
	EVP_MD_CTX_free(f.md);
	free(f.wbuf);
	close(f.fd);
	return r;
}

int cs_cache_get(struct cs_cache *c, int *fd, const char *digest, uint64_t size,
		 cs_cache_fill_fn fill, void *arg, int *fetched)
{
	int lk = -1, f = -1, r;

	*fd = -1;
	*fetched = 0;
	if (!cs_digest_valid(digest))
		return cs_err_set(CS_EFORMAT, "invalid digest \"%.80s\" (only sha256 is supported)",
				  digest);
	if ((r = lock_digest(c, digest + 7, 0, &lk)) != 0)
		return r;
	f = openat(c->blobs, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f >= 0 && verify_fd(f, digest, size) != 0) {
		/* corrupt or truncated copy (a disk error, a meddler): fetch it again */
		close(f);
		f = -1;
		unlinkat(c->blobs, digest + 7, 0);
	}
	if (f < 0) {
		struct stat a, b;
		int w;
		if ((r = fetch_into(c, digest, size, fill, arg)) != 0)
			goto out;
		*fetched = 1;
		f = openat(c->blobs, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (f < 0) {
			r = cs_err_set(CS_EIO, "cache: reopening blob %s: %s", digest, strerror(errno));
			goto out;
		}
		/* the inode we just hashed while writing, unchanged since: we hold the lock */
		w = fstat(f, &a);
		if (w != 0 || fstatat(c->blobs, digest + 7, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
		    a.st_ino != b.st_ino || (uint64_t)a.st_size != size) {
			r = cs_err_set(CS_EIO, "cache: blob %s changed while stored", digest);
			goto out;
		}
	}
	touch(f);
	*fd = f;
	f = -1;
	r = 0;
out:
	if (f >= 0)
		close(f);
	close(lk);
	return r;
}

int cs_cache_peek(struct cs_cache *c, int *fd, const char *digest, uint64_t size)
{
	struct stat st;
	int f, lk, r;

	*fd = -1;
	if (!cs_digest_valid(digest))
		return cs_err_set(CS_EFORMAT, "invalid digest \"%.80s\" (only sha256 is supported)",
				  digest);
	/* under the blob's lock: never a blob another scan is writing */
	if ((r = lock_digest(c, digest + 7, 0, &lk)) != 0)
		return r;
	f = openat(c->blobs, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f >= 0 && (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)) {
		close(f);
		f = -1;
	}
	close(lk);
	if (f < 0)
		return cs_err_set(CS_ENOTFOUND, "cache: no blob %s", digest);
	touch(f);
	*fd = f;
	return 0;
}

/* ---- status, eviction, prune ---- */

struct entry {
	char hex[65];
	uint64_t size;
	struct timespec atime;
};

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* Lists the blobs (caller frees *out). */
static int list_blobs(struct cs_cache *c, struct entry **out, size_t *n)
{
	DIR *d;
	struct dirent *de;
	struct entry *v = NULL, *nv;
	size_t cap = 0;
	int dfd = dup(c->blobs);

	*out = NULL;
	*n = 0;
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return cs_err_set(CS_EIO, "cache: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!is_hex64(de->d_name) ||
		    fstatat(c->blobs, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(d);
				return cs_err_set(CS_ENOMEM, "out of memory");
			}
			v = nv;
		}
		memcpy(v[*n].hex, de->d_name, 65);
		v[*n].size = (uint64_t)st.st_size;
		v[*n].atime = st.st_atim;
		(*n)++;
	}
	closedir(d);
	*out = v;
	return 0;
}

static int by_atime(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->atime.tv_sec != y->atime.tv_sec)
		return x->atime.tv_sec < y->atime.tv_sec ? -1 : 1;
	if (x->atime.tv_nsec != y->atime.tv_nsec)
		return x->atime.tv_nsec < y->atime.tv_nsec ? -1 : 1;
	return strcmp(x->hex, y->hex);
}

/* Removes leftovers of crashed downloads: their digest lock is free. */
static void sweep_tmp(struct cs_cache *c, struct cs_cache_stats *st, int remove)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(c->tmp);

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat s;
		char hex[65];
		int lk = -1;
		if (de->d_name[0] == '.' || strlen(de->d_name) < 66 || de->d_name[64] != '.' ||
		    fstatat(c->tmp, de->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		memcpy(hex, de->d_name, 64);
		hex[64] = '\0';
		if (!is_hex64(hex))
			continue;
		if (remove && lock_digest(c, hex, 1, &lk) == 0 && lk >= 0) {
			if (unlinkat(c->tmp, de->d_name, 0) == 0) {
				st->removed++;
				st->removed_bytes += (uint64_t)s.st_size;
			}
			close(lk);
			continue;
		}
		st->tmp_files++;
		st->tmp_bytes += (uint64_t)s.st_size;
	}
	closedir(d);
}

/* Evicts LRU blobs until at most keep bytes remain. */
static int evict(struct cs_cache *c, uint64_t keep, struct cs_cache_stats *st)
{
	struct entry *v;
	size_t n, i;
	uint64_t total = 0;
	int r;

	if ((r = list_blobs(c, &v, &n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		total += v[i].size;
	qsort(v, n, sizeof(*v), by_atime);
	for (i = 0; i < n && total > keep; i++) {
		int lk = -1;
		/* a blob locked right now is being checked or fetched: leave it */
		if (lock_digest(c, v[i].hex, 1, &lk) != 0 || lk < 0)
			continue;
		if (unlinkat(c->blobs, v[i].hex, 0) == 0) {
			total -= v[i].size;
			if (st != NULL) {
				st->removed++;
				st->removed_bytes += v[i].size;
			}
		}
		/* descriptors already handed out stay valid: unlink only drops the name */
		unlock_remove(c, v[i].hex, lk);
	}
	free(v);
	return 0;
}

int cs_cache_trim(struct cs_cache *c)
{
	return evict(c, c->max, NULL);
}

static int count(struct cs_cache *c, struct cs_cache_stats *st)
{
	struct entry *v;
	size_t n, i;
	int r;

	st->blobs = st->bytes = 0;
	if (c->blobs < 0)
		return 0;
	if ((r = list_blobs(c, &v, &n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		st->bytes += v[i].size;
	st->blobs = n;
	free(v);
	return 0;
}

int cs_cache_status(struct cs_cache_stats *st, const char *dir)
{
	struct cs_cache *c;
	int r;

	memset(st, 0, sizeof(*st));
	r = cache_open(&c, dir, 0, 0);
	if (r == CS_ENOTFOUND) {
		/* no cache yet: empty */
		if (dir != NULL)
			snprintf(st->dir, sizeof(st->dir), "%s", dir);
		else
			cs_cache_default_dir(st->dir, sizeof(st->dir));
		return 0;
	}
	if (r != 0)
		return r;
	snprintf(st->dir, sizeof(st->dir), "%s", c->dir);
	if (c->tmp >= 0)
		sweep_tmp(c, st, 0);
	r = count(c, st);
	cs_cache_close(c);
	return r;
}

int cs_cache_prune(struct cs_cache_stats *st, const char *dir, uint64_t keep)
{
	struct cs_cache *c;
	int r;

	memset(st, 0, sizeof(*st));
	r = cache_open(&c, dir, 0, 0);
	if (r == CS_ENOTFOUND)
		return cs_cache_status(st, dir);
	if (r != 0)
		return r;
	snprintf(st->dir, sizeof(st->dir), "%s", c->dir);
	if (c->tmp >= 0 && c->locks >= 0)
		sweep_tmp(c, st, 1);
	if (c->blobs >= 0 && c->locks >= 0 && (r = evict(c, keep, st)) != 0)
		goto out;
	r = count(c, st);
out:
	cs_cache_close(c);
	return r;
}
