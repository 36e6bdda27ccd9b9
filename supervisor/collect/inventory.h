/*
 * inventory.h - an image's inventory as the workers reported it, layer by
 * layer, checked against the image's own metadata.
 */
#ifndef CS_SUPERVISOR_COLLECT_INVENTORY_H
#define CS_SUPERVISOR_COLLECT_INVENTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/limits.h"
#include "supervisor/source/source.h"

struct cs_layer_inv {
	char diff_id[72];
	uint64_t bytes;          /* uncompressed */
	uint64_t entries;        /* tar entries */
	json_t *os;              /* array of os records */
	json_t *packages;        /* array of package records */
	json_t *whiteouts;       /* array of {path, opaque} */
	json_t *warnings;        /* array of {code, path?, message} */
	json_t *files;           /* array of file records, when asked */
};

struct cs_inventory {
	size_t nlayers;
	struct cs_layer_inv *layers;
	json_t *warnings;        /* image-level */
	uint64_t warnings_dropped;
};

struct cs_inventory_opts {
	const char *worker;      /* cellscan-worker path */
	const struct cs_limits *lim;
	int files;               /* ask for file records */
	uid_t uid;               /* sandbox host ids when root */
	gid_t gid;
	int weak;                /* --unsafe-no-namespaces */
};

/* Streams every layer of img through one sandboxed worker. Caller frees
 * with cs_inventory_free(). */
int cs_inventory_collect(struct cs_inventory **out, const struct cs_image *img,
			 const struct cs_inventory_opts *o);
void cs_inventory_free(struct cs_inventory *inv);

#endif
