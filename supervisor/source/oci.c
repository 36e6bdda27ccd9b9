/*
 * oci:DIR[:TAG] - an OCI image layout on disk (image-spec image-layout.md).
 */
#include "supervisor/source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"
#include "supervisor/source/regint.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1S "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define ANN_REF "org.opencontainers.image.ref.name"

const char *cs_source_host_platform(void)
{
	static char buf[64];
	struct utsname u;
	const char *arch;

	if (buf[0] != '\0')
		return buf;
	if (uname(&u) != 0)
		return "linux/amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		arch = "amd64";
	else if (strcmp(u.machine, "aarch64") == 0)
		arch = "arm64";
	else if (strncmp(u.machine, "armv7", 5) == 0)
		arch = "arm/v7";
	else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
		arch = "386";
	else
		arch = u.machine;
	snprintf(buf, sizeof(buf), "linux/%s", arch);
	return buf;
}

void cs_image_free(struct cs_image *img)
{
	size_t i;

	if (img == NULL)
		return;
	for (i = 0; i < img->nlayers; i++)
		if (img->layers[i].fd >= 0)
			close(img->layers[i].fd);
	if (img->lazy && img->layout_fd >= 0)
		close(img->layout_fd);
	free(img->layers);
	json_decref(img->config);
	free(img->ref);
	free(img->name);
	free(img->rootfs);
	free(img);
}

/* Reads a whole small file, refusing more than max bytes. */
static int read_small(uint8_t **out, size_t *len, int dirfd, const char *path, uint64_t max)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t n;

	*out = NULL;
	if (fd < 0)
		return cs_err_set(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "%s: %s", path,
				  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cs_err_set(CS_EFORMAT, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return cs_err_set(CS_ELIMIT, "%s: %lld bytes exceed the document limit of %llu",
				  path, (long long)st.st_size, (unsigned long long)max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return cs_err_set(CS_EIO, "%s: short read", path);
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static int blob_path(char *p, size_t n, const char *digest)
{
	if (!cs_digest_valid(digest))
		return cs_err_set(CS_EFORMAT, "invalid digest \"%.80s\" (only sha256 is supported)",
				  digest);
	snprintf(p, n, "blobs/sha256/%s", digest + 7);
	return 0;
}

/* Loads a JSON document blob, checking size, digest and that it is an object. */
static int load_doc(json_t **out, int dirfd, const char *digest, uint64_t size, uint64_t max)
{
	char path[128], got[72];
	uint8_t *buf;
	size_t len;
	json_error_t je;
	int r;

	*out = NULL;
	if ((r = blob_path(path, sizeof(path), digest)) != 0)
		return r;
	if (size > max)
		return cs_err_set(CS_ELIMIT, "document %s of %llu bytes exceeds the limit of %llu",
				  digest, (unsigned long long)size, (unsigned long long)max);
	if ((r = read_small(&buf, &len, dirfd, path, max)) != 0)
		return r;
	if (len != size) {
		free(buf);
		return cs_err_set(CS_EDIGEST, "blob %s has %zu bytes, its descriptor says %llu", digest,
				  len, (unsigned long long)size);
	}
	if ((r = cs_digest_mem(got, buf, len)) != 0 || strcmp(got, digest) != 0) {
		free(buf);
		return r ? r : cs_err_set(CS_EDIGEST, "blob %s does not match its digest (got %s)",
					  digest, got);
	}
	*out = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cs_err_set(CS_EFORMAT, "document %s is not a JSON object: %s", digest, je.text);
	}
	return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Descriptor fields, checked. */
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

static int platform_of(char *out, size_t n, const json_t *p)
{
	const char *os = jstr(p, "os"), *arch = jstr(p, "architecture"), *var = jstr(p, "variant");

	if (os == NULL || arch == NULL)
		return -1;
	if (var != NULL && var[0] != '\0')
		snprintf(out, n, "%s/%s/%s", os, arch, var);
	else
		snprintf(out, n, "%s/%s", os, arch);
	return 0;
}

static int platform_match(const char *want, const char *have)
{
	size_t wl = strlen(want);

	if (strcmp(want, have) == 0)
		return 1;
	/* "linux/arm64" (no variant asked) matches "linux/arm64/v8" */
	const char *slash = strchr(want, '/');
	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		return 0;
	return strncmp(want, have, wl) == 0 && have[wl] == '/';
}

/* From an index, the manifest descriptor for the platform. */
static int pick_platform(const json_t **out, const json_t *index, const char *want,
			 const char *what)
{
	json_t *ms = json_object_get(index, "manifests"), *m;
	char have[64], list[512] = "";
	size_t i, used = 0;

	*out = NULL;
	json_array_foreach(ms, i, m) {
		json_t *p = json_object_get(m, "platform");
		if (p == NULL || platform_of(have, sizeof(have), p) != 0)
			continue;
		if (platform_match(want, have)) {
			*out = m;
			return 0;
		}
		if (used < sizeof(list) - 1) {
			int k = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
					 have);
			if (k > 0)
				used += (size_t)k;
		}
	}
	return cs_err_set(CS_ENOTFOUND, "%s has no image for platform %s (it has: %s); choose one "
			  "with --platform", what, want, used ? list : "none");
}

/* Records a layer descriptor; the blob itself is opened and verified only
 * when a worker needs it (cs_image_layer_fd), so a layer whose inventory is
 * cached (keyed by the diff_id of a digest-checked config) is never read. */
static int open_layer(struct cs_layer *l, const json_t *d)
{
	const char *dg, *mt;
	uint64_t size;
	int r;

	l->fd = -1;
	if ((r = desc(d, &dg, &mt, &size)) != 0)
		return r;
	if (mt[0] != '\0' && strstr(mt, "tar") == NULL)
		return cs_err_set(CS_EUNSUPPORTED, "layer %s has media type %s, not a tar layer", dg, mt);
	snprintf(l->digest, sizeof(l->digest), "%s", dg);
	snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
	l->size = size;
	return 0;
}

int cs_image_layer_fd(struct cs_image *img, size_t i, int *fd)
{
	struct cs_layer *l;
	uint64_t got;
	char path[128], hex[72];
	int r;

	*fd = -1;
	if (i >= img->nlayers)
		return cs_err_set(CS_EINVAL, "no layer %zu", i);
	l = &img->layers[i];
	if (l->fd >= 0 || !img->lazy) {
		*fd = l->fd;
		return 0;
	}
	blob_path(path, sizeof(path), l->digest);
	l->fd = openat(img->layout_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l->fd < 0)
		return cs_err_set(CS_ENOTFOUND, "layer blob %s: %s", l->digest, strerror(errno));
	if ((r = cs_digest_fd(hex, l->fd, &got)) != 0)
		return r;
	if (got != l->size)
		return cs_err_set(CS_EDIGEST, "layer blob %s has %llu bytes, its descriptor says %llu",
				  l->digest, (unsigned long long)got, (unsigned long long)l->size);
	if (strcmp(hex, l->digest) != 0)
		return cs_err_set(CS_EDIGEST, "layer blob %s does not match its digest (got %s)",
				  l->digest, hex);
	if (lseek(l->fd, 0, SEEK_SET) != 0)
		return cs_err_set(CS_EIO, "seek: %s", strerror(errno));
	*fd = l->fd;
	return 0;
}

static int open_oci(struct cs_image *img, const char *dir, const char *tag,
		    const struct cs_source_opts *o)
{
	int dirfd, r;
	uint8_t *buf = NULL;
	size_t len, i;
	json_t *index = NULL, *sub = NULL, *man = NULL, *m;
	json_error_t je;
	const json_t *sel = NULL;
	const char *dg, *mt;
	uint64_t size;
	const json_t *ms, *ls, *diffs;
	const char *want = o->platform ? o->platform : cs_source_host_platform();

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cs_err_set(CS_ENOTFOUND, "OCI layout %s: %s", dir, strerror(errno));
	if ((r = read_small(&buf, &len, dirfd, "index.json", o->lim ? CS_DOC_MAX : CS_DOC_MAX)) != 0)
		goto out;
	index = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	buf = NULL;
	if (index == NULL || !json_is_object(index)) {
		r = cs_err_set(CS_EFORMAT, "index.json: not a JSON object (%s)", je.text);
		goto out;
	}
	ms = json_object_get(index, "manifests");
	if (!json_is_array(ms) || json_array_size(ms) == 0) {
		r = cs_err_set(CS_EFORMAT, "index.json lists no manifests");
		goto out;
	}
	if (tag != NULL) {
		json_array_foreach(ms, i, m) {
			const char *rn = jstr(json_object_get(m, "annotations"), ANN_REF);
			if (rn != NULL && strcmp(rn, tag) == 0) {
				sel = m;
				break;
			}
		}
		if (sel == NULL) {
			r = cs_err_set(CS_ENOTFOUND, "no image tagged \"%.100s\" in %s", tag, dir);
			goto out;
		}
	} else if (json_array_size(ms) == 1) {
		sel = json_array_get(ms, 0);
	} else {
		/* several: a platform pick if they carry platforms, else ambiguous */
		if ((r = pick_platform(&sel, index, want, dir)) != 0) {
			r = cs_err_set(CS_EINVAL, "%s holds %zu images: name one as oci:DIR:TAG", dir,
				       json_array_size(ms));
			goto out;
		}
	}
	if ((r = desc(sel, &dg, &mt, &size)) != 0)
		goto out;
	if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0) {
		if ((r = load_doc(&sub, dirfd, dg, size, CS_DOC_MAX)) != 0)
			goto out;
		if ((r = pick_platform(&sel, sub, want, dir)) != 0)
			goto out;
		if ((r = desc(sel, &dg, &mt, &size)) != 0)
			goto out;
	}
	if (strcmp(mt, MT_DOCKER_V1) == 0 || strcmp(mt, MT_DOCKER_V1S) == 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "Docker schema 1 manifests are unsupported (%s)", dg);
		goto out;
	}
	if (mt[0] != '\0' && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		r = cs_err_set(CS_EUNSUPPORTED, "manifest %s has media type %s", dg, mt);
		goto out;
	}
	if ((r = load_doc(&man, dirfd, dg, size, CS_DOC_MAX)) != 0)
		goto out;
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", dg);
	if ((r = desc(json_object_get(man, "config"), &dg, &mt, &size)) != 0)
		goto out;
	if ((r = load_doc(&img->config, dirfd, dg, size, CS_DOC_MAX)) != 0)
		goto out;
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", dg);
	if (platform_of(img->platform, sizeof(img->platform), img->config) != 0)
		snprintf(img->platform, sizeof(img->platform), "unknown");
	ls = json_object_get(man, "layers");
	diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
	if (!json_is_array(ls) || !json_is_array(diffs)) {
		r = cs_err_set(CS_EFORMAT, "manifest or config lacks its layer list");
		goto out;
	}
	if (json_array_size(ls) != json_array_size(diffs)) {
		r = cs_err_set(CS_EFORMAT, "manifest lists %zu layers, config %zu diff_ids",
			       json_array_size(ls), json_array_size(diffs));
		goto out;
	}
	if (o->lim != NULL && json_array_size(ls) > o->lim->layers) {
		r = cs_err_set(CS_ELIMIT, "image has %zu layers, more than the limit of %llu (limit "
			       "\"layers\")", json_array_size(ls), (unsigned long long)o->lim->layers);
		goto out;
	}
	img->layers = calloc(json_array_size(ls) ? json_array_size(ls) : 1, sizeof(*img->layers));
	if (img->layers == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(ls, i, m) {
		const char *di = json_string_value(json_array_get(diffs, i));
		img->nlayers = i + 1;
		if ((r = open_layer(&img->layers[i], m)) != 0)
			goto out;
		if (!cs_digest_valid(di)) {
			r = cs_err_set(CS_EFORMAT, "config diff_id %zu is not a sha256 digest", i);
			goto out;
		}
		snprintf(img->layers[i].diff_id, sizeof(img->layers[i].diff_id), "%s", di);
	}
	/* blobs are opened on demand through the layout's directory */
	img->lazy = 1;
	img->layout_fd = dirfd;
	dirfd = -1;
	r = 0;
out:
	json_decref(index);
	json_decref(sub);
	json_decref(man);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

int cs_source_open(struct cs_image **out, const char *ref, const struct cs_source_opts *o)
{
	struct cs_image *img;
	char *dir = NULL, *tag = NULL, *colon;
	int r;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (img == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	img->ref = strdup(ref);
	if (img->ref == NULL) {
		free(img);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if (strncmp(ref, "oci:", 4) == 0) {
		dir = strdup(ref + 4);
		if (dir == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		/* DIR:TAG, where DIR itself has no ':' after its last '/'. */
		colon = strrchr(dir, ':');
		if (colon != NULL && strchr(colon, '/') == NULL) {
			*colon = '\0';
			tag = colon + 1;
		}
		img->name = strdup(dir);
		r = open_oci(img, dir, tag, o);
	} else if (strncmp(ref, "oci-archive:", 12) == 0) {
		dir = strdup(ref + 12);
		if (dir == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
		/* FILE:TAG as for oci:, FILE itself with no ':' after its last '/' */
		colon = strrchr(dir, ':');
		if (colon != NULL && strchr(colon, '/') == NULL) {
			*colon = '\0';
			tag = colon + 1;
		}
		img->name = strdup(dir);
		r = cs_archive_open(img, dir, tag, 0, o);
	} else if (strncmp(ref, "docker-archive:", 15) == 0) {
		img->name = strdup(ref + 15);
		r = cs_archive_open(img, ref + 15, NULL, 1, o);
	} else if (strncmp(ref, "dir:", 4) == 0) {
		img->name = strdup(ref + 4);
		r = cs_dir_open(img, ref + 4, o);
	} else {
		/* anything else is host[:port]/repo[:tag|@digest] (docker.io defaults) */
		r = cs_registry_open(img, ref, o);
	}
out:
	if (r != 0)
		cs_err_prefix(r, "%.200s", ref);
	free(dir);
	if (r != 0) {
		cs_image_free(img);
		return r;
	}
	*out = img;
	return 0;
}
