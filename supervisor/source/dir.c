/*
 * dir:ROOTFS - an unpacked filesystem. The supervisor does not read it: it
 * only checks that it is a directory and names it; the worker sees it as a
 * read-only, nosymfollow bind mount at /rootfs inside its sandbox and walks
 * it there (worker/rootfs.c). The image is one pseudo-layer: no blob, no
 * digest, no diff_id (docs/sources.md).
 */
#include "supervisor/source/source.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/errors.h"

#define MT_ROOTFS "application/vnd.cellscan.rootfs.directory"

int cs_dir_open(struct cs_image *img, const char *dir, const struct cs_source_opts *o)
{
	char *abs;
	struct stat st;

	if (o != NULL && o->weak)
		return cs_err_set(CS_EUNSUPPORTED, "dir: needs the namespace sandbox (its read-only "
				  "bind mount); it cannot be scanned with --unsafe-no-namespaces");
	if (dir[0] == '\0')
		return cs_err_set(CS_EINVAL, "dir: needs a directory");
	abs = realpath(dir, NULL);
	if (abs == NULL)
		return cs_err_set(errno == ENOENT ? CS_ENOTFOUND : CS_EIO, "rootfs %s: %s", dir,
				  strerror(errno));
	if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(abs);
		return cs_err_set(CS_EINVAL, "rootfs %s: not a directory", dir);
	}
	img->layers = calloc(1, sizeof(*img->layers));
	if (img->layers == NULL) {
		free(abs);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	img->rootfs = abs;
	img->nlayers = 1;
	img->layers[0].fd = -1;
	snprintf(img->layers[0].media_type, sizeof(img->layers[0].media_type), "%s", MT_ROOTFS);
	/* No manifest or config: the OS comes from the analyzers. */
	snprintf(img->platform, sizeof(img->platform), "unknown");
	return 0;
}
