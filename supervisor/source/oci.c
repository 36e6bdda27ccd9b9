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

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1S "application/vnd.docker.distribution.manifest.v1+prettyjws"

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
	if (l->fd >= 0 && l->unverified) {
		/* a registry blob from the cache, hashed on its first use */
		if ((r = cs_digest_fd(hex, l->fd, &got)) != 0)
			return r;
		if (got != l->size || strcmp(hex, l->digest) != 0)
			return cs_err_set(CS_EDIGEST, "cached layer blob %s is damaged (%llu bytes, "
					  "digest %s): run `cellscan cache prune` and scan again",
					  l->digest, (unsigned long long)got, hex);
		if (lseek(l->fd, 0, SEEK_SET) != 0)
			return cs_err_set(CS_EIO, "seek: %s", strerror(errno));
		l->unverified = 0;
	}
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

/* cs_image_layers_init's descriptor step for a layout. */
static int oci_layer(void *ctx, struct cs_layer *l, const json_t *d)
{
	(void)ctx;
	return open_layer(l, d);
}

static int oci_load_doc(void *arg, json_t **out, const char *digest, uint64_t size,
			const char *what)
{
	(void)what;
	return load_doc(out, *(const int *)arg, digest, size, CS_DOC_MAX);
}

/*
 * Opens the layout (*dirfd, caller closes) and finds the entries the image
 * is chosen from (cs_layout_candidates).
 */
static int oci_candidates(int *dirfd, json_t **cands, int *is_index, const char *dir,
			  const char *tag)
{
	uint8_t *buf = NULL;
	size_t len;
	json_t *index = NULL;
	json_error_t je;
	int r;

	*cands = NULL;
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return cs_err_set(CS_ENOTFOUND, "OCI layout %s: %s", dir, strerror(errno));
	if ((r = read_small(&buf, &len, *dirfd, "index.json", CS_DOC_MAX)) != 0)
		return r;
	index = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (index == NULL || !json_is_object(index)) {
		json_decref(index);
		return cs_err_set(CS_EFORMAT, "index.json: not a JSON object (%s)", je.text);
	}
	r = cs_layout_candidates(cands, is_index, index, tag, dir, "oci:DIR:TAG", oci_load_doc,
				 dirfd);
	json_decref(index);
	return r;
}

/* Checks that a descriptor names an image manifest we read. */
static int manifest_type_ok(const char *dg, const char *mt)
{
	if (strcmp(mt, MT_DOCKER_V1) == 0 || strcmp(mt, MT_DOCKER_V1S) == 0)
		return cs_err_set(CS_EUNSUPPORTED, "Docker schema 1 manifests are unsupported (%s)", dg);
	if (mt[0] != '\0' && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return cs_err_set(CS_EUNSUPPORTED, "manifest %s has media type %s", dg, mt);
	return 0;
}

/* The manifest a descriptor names and its config, both verified. */
static int load_manifest(json_t **man, json_t **config, int dirfd, const json_t *sel)
{
	const char *dg, *mt;
	uint64_t size;
	int r;

	*man = *config = NULL;
	if ((r = desc(sel, &dg, &mt, &size)) != 0)
		return r;
	if ((r = manifest_type_ok(dg, mt)) != 0)
		return r;
	if ((r = load_doc(man, dirfd, dg, size, CS_DOC_MAX)) != 0)
		return r;
	if ((r = desc(json_object_get(*man, "config"), &dg, &mt, &size)) != 0 ||
	    (r = load_doc(config, dirfd, dg, size, CS_DOC_MAX)) != 0) {
		json_decref(*man);
		*man = NULL;
		return r;
	}
	return 0;
}

static int open_oci(struct cs_image *img, const char *dir, const char *tag,
		    const struct cs_source_opts *o)
{
	int dirfd = -1, r, is_index;
	json_t *cands = NULL, *man = NULL;
	const json_t *sel = NULL;
	const char *dg, *mt;
	uint64_t size;
	const char *want = o->platform ? o->platform : cs_source_host_platform();

	if ((r = oci_candidates(&dirfd, &cands, &is_index, dir, tag)) != 0)
		goto out;
	if ((r = cs_layout_choose(&sel, cands, is_index, want, o->manifest_digest, dir)) != 0)
		goto out;
	if ((r = load_manifest(&man, &img->config, dirfd, sel)) != 0)
		goto out;
	desc(sel, &dg, &mt, &size);
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", dg);
	desc(json_object_get(man, "config"), &dg, &mt, &size);
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", dg);
	if ((r = cs_image_layers_init(img, man, o->lim, oci_layer, NULL)) != 0)
		goto out;
	/* blobs are opened on demand through the layout's directory */
	img->lazy = 1;
	img->layout_fd = dirfd;
	dirfd = -1;
	r = 0;
out:
	json_decref(cands);
	json_decref(man);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

static int platforms_oci(json_t *arr, const char *dir, const char *tag)
{
	int dirfd = -1, r, is_index;
	json_t *cands = NULL, *man = NULL, *config = NULL;
	const json_t *sel;
	const char *dg, *mt;
	uint64_t size;
	char plat[64];

	if ((r = oci_candidates(&dirfd, &cands, &is_index, dir, tag)) != 0)
		goto out;
	if (is_index) {
		r = cs_index_platforms(arr, cands, dir);
		goto out;
	}
	/* one manifest: its config says the platform */
	sel = json_array_get(cands, 0);
	if ((r = load_manifest(&man, &config, dirfd, sel)) != 0)
		goto out;
	if (cs_platform_string(plat, sizeof(plat), config) != 0)
		snprintf(plat, sizeof(plat), "unknown");
	desc(sel, &dg, &mt, &size);
	r = cs_platforms_add(arr, plat, dg);
out:
	json_decref(cands);
	json_decref(man);
	json_decref(config);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* The local forms of IMAGE, split: kind and a copy of the path (caller
 * frees *path) with the ":TAG" cut off into *tag (pointing into *path). */
enum { REF_OCI, REF_OCI_ARCHIVE, REF_DOCKER_ARCHIVE, REF_DIR, REF_REGISTRY };

static int split_ref(int *kind, char **path, char **tag, const char *ref)
{
	static const struct {
		const char *prefix;
		int kind, tagged;
	} forms[] = {
		{ "oci:", REF_OCI, 1 },
		{ "oci-archive:", REF_OCI_ARCHIVE, 1 },
		{ "docker-archive:", REF_DOCKER_ARCHIVE, 0 },
		{ "dir:", REF_DIR, 0 },
	};
	size_t k;
	char *colon;

	*path = *tag = NULL;
	*kind = REF_REGISTRY;
	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		size_t pl = strlen(forms[k].prefix);
		if (strncmp(ref, forms[k].prefix, pl) != 0)
			continue;
		*kind = forms[k].kind;
		*path = strdup(ref + pl);
		if (*path == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		/* PATH:TAG, where PATH itself has no ':' after its last '/' */
		colon = strrchr(*path, ':');
		if (forms[k].tagged && colon != NULL && strchr(colon, '/') == NULL) {
			*colon = '\0';
			*tag = colon + 1;
		}
		return 0;
	}
	return 0;
}

int cs_source_open(struct cs_image **out, const char *ref, const struct cs_source_opts *o)
{
	struct cs_image *img;
	char *path = NULL, *tag = NULL;
	int r, kind;

	*out = NULL;
	if (o->platform != NULL && strcmp(o->platform, "all") == 0)
		/* the CLI lists them with cs_source_platforms() and opens each */
		return cs_err_set(CS_EINVAL, "%.200s: --platform all is not supported here: it names "
				  "several images, and this opens one", ref);
	img = calloc(1, sizeof(*img));
	if (img == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	img->layout_fd = -1;
	img->ref = strdup(ref);
	if (img->ref == NULL) {
		free(img);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	if (o->manifest_digest != NULL && !cs_digest_valid(o->manifest_digest)) {
		r = cs_err_set(CS_EINVAL, "manifest digest \"%.80s\" is not sha256:<64 hex>",
			       o->manifest_digest);
		goto out;
	}
	if ((r = split_ref(&kind, &path, &tag, ref)) != 0)
		goto out;
	if (kind != REF_REGISTRY) {
		img->name = strdup(path);
		if (img->name == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto out;
		}
	}
	switch (kind) {
	case REF_OCI:
		r = open_oci(img, path, tag, o);
		break;
	case REF_OCI_ARCHIVE:
		r = cs_archive_open(img, path, tag, 0, o);
		break;
	case REF_DOCKER_ARCHIVE:
		r = cs_archive_open(img, path, NULL, 1, o);
		break;
	case REF_DIR:
		r = cs_dir_open(img, path, o);
		break;
	default:
		/* anything else is host[:port]/repo[:tag|@digest] (docker.io defaults) */
		r = cs_registry_open(img, ref, o);
		break;
	}
out:
	if (r != 0)
		cs_err_prefix(r, "%.200s", ref);
	free(path);
	if (r != 0) {
		cs_image_free(img);
		return r;
	}
	*out = img;
	return 0;
}

int cs_source_platforms(json_t **out, const char *ref, const struct cs_source_opts *o)
{
	struct cs_image *img = NULL;
	json_t *arr;
	char *path = NULL, *tag = NULL;
	int r, kind;

	*out = NULL;
	arr = json_array();
	if (arr == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	if ((r = split_ref(&kind, &path, &tag, ref)) != 0)
		goto out;
	switch (kind) {
	case REF_OCI:
		r = platforms_oci(arr, path, tag);
		break;
	case REF_OCI_ARCHIVE:
		r = cs_archive_platforms(arr, path, tag, 0, o);
		break;
	case REF_DOCKER_ARCHIVE:
		r = cs_archive_platforms(arr, path, NULL, 1, o);
		break;
	case REF_DIR:
		/* checked as an open would check it; one pseudo-platform */
		img = calloc(1, sizeof(*img));
		if (img == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			break;
		}
		img->layout_fd = -1;
		if ((r = cs_dir_open(img, path, o)) == 0)
			r = cs_platforms_add(arr, img->platform, "");
		break;
	default:
		r = cs_registry_platforms(arr, ref, o);
		break;
	}
out:
	cs_image_free(img);
	free(path);
	if (r != 0) {
		cs_err_prefix(r, "%.200s", ref);
		json_decref(arr);
		return r;
	}
	*out = arr;
	return 0;
}
