/*
 * image.c - the part of opening an image every source shares once it holds
 * the manifest and the config: the platform, and the layer list checked
 * against the config's diff_ids and the layer limit (regint.h).
 */
#include "supervisor/source/regint.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/errors.h"
#include "supervisor/source/digest.h"

int cs_image_layers_init(struct cs_image *img, const json_t *man, const struct cs_limits *lim,
			 int (*desc_fn)(void *ctx, struct cs_layer *l, const json_t *desc), void *ctx)
{
	const json_t *ls, *diffs, *m;
	size_t i;
	int r;

	if (cs_platform_string(img->platform, sizeof(img->platform), img->config) != 0)
		snprintf(img->platform, sizeof(img->platform), "unknown");
	ls = json_object_get(man, "layers");
	diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
	if (!json_is_array(ls) || !json_is_array(diffs))
		return cs_err_set(CS_EFORMAT, "manifest or config lacks its layer list");
	if (json_array_size(ls) != json_array_size(diffs))
		return cs_err_set(CS_EFORMAT, "manifest lists %zu layers, config %zu diff_ids",
				  json_array_size(ls), json_array_size(diffs));
	if (lim != NULL && json_array_size(ls) > lim->layers)
		return cs_err_set(CS_ELIMIT, "image has %zu layers, more than the limit of %llu (limit "
				  "\"layers\")", json_array_size(ls), (unsigned long long)lim->layers);
	img->layers = calloc(json_array_size(ls) ? json_array_size(ls) : 1, sizeof(*img->layers));
	if (img->layers == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	/* every descriptor is checked before the first byte of a layer is read */
	json_array_foreach(ls, i, m) {
		const char *di = json_string_value(json_array_get(diffs, i));

		img->nlayers = i + 1;
		img->layers[i].fd = -1;
		if (!cs_digest_valid(di))
			return cs_err_set(CS_EFORMAT, "config diff_id %zu is not a sha256 digest", i);
		snprintf(img->layers[i].diff_id, sizeof(img->layers[i].diff_id), "%s", di);
		if ((r = desc_fn(ctx, &img->layers[i], m)) != 0)
			return r;
	}
	return 0;
}
