/*
 * source.h - turning an IMAGE reference into verified documents and layer
 * descriptors the worker can read. The supervisor parses only the small
 * JSON documents (index, manifest, config), each size-bounded and
 * digest-checked; it never decompresses or parses a layer.
 */
#ifndef CS_SUPERVISOR_SOURCE_H
#define CS_SUPERVISOR_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"

struct cs_layer {
	char digest[72];          /* "sha256:..." of the blob as stored */
	char diff_id[72];         /* from the config: sha256 of the uncompressed tar */
	char media_type[128];
	uint64_t size;
	int fd;                   /* read-only, verified, positioned at 0; -1 if closed */
};

struct cs_image {
	char *ref;                /* as given by the user */
	char *name;               /* repository-ish name for reports */
	char manifest_digest[72];
	char config_digest[72];
	char platform[64];        /* "linux/amd64" */
	json_t *config;           /* the image config document */
	size_t nlayers;
	struct cs_layer *layers;
};

struct cs_source_opts {
	const struct cs_limits *lim;
	const char *platform;     /* "os/arch[/variant]" or NULL for the host's */
};

/* Opens IMAGE (for now: oci:DIR[:TAG]). Caller frees with cs_image_free(). */
int cs_source_open(struct cs_image **out, const char *ref, const struct cs_source_opts *o);
void cs_image_free(struct cs_image *img);

/* The host platform as "linux/amd64" (arch named as OCI does). Borrowed. */
const char *cs_source_host_platform(void);

#endif
