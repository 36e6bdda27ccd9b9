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
	json_t *analyzed;        /* array of {path, analyzer}: files the analyzers read */
	json_t *records;         /* every record of the layer as accepted (for the cache) */
	int cached;              /* came from the layer cache, no worker ran for it */
};

struct cs_inventory {
	size_t nlayers;
	struct cs_layer_inv *layers;
	json_t *warnings;        /* image-level */
	uint64_t warnings_dropped;
	int worker_ran;          /* 0 when every layer came from the cache */
	long worker_max_rss_kb;  /* the worker's peak resident memory */
	double worker_cpu_seconds;
};

struct cs_inventory_opts {
	const char *worker;      /* cellscan-worker path */
	const struct cs_limits *lim;
	int files;               /* ask for file records */
	uid_t uid;               /* sandbox host ids when root */
	gid_t gid;
	int weak;                /* --unsafe-no-namespaces */
	const char *cache_dir;   /* NULL: cs_cache_default_dir() */
	int no_cache;            /* neither read nor write cached layer inventories */
	/* Optional: told as layers finish (cached ones first, at once). */
	void (*progress)(void *ctx, size_t done, size_t total, size_t cached);
	void *progress_ctx;
};

/*
 * Streams every layer of img that has no cached inventory (opening its blob
 * only then: cs_image_layer_fd) (keyed by diff_id,
 * CS_ANALYZERS_VERSION and --files) through one sandboxed worker, and
 * caches what it reports. Caller frees with cs_inventory_free().
 */
int cs_inventory_collect(struct cs_inventory **out, struct cs_image *img,
			 const struct cs_inventory_opts *o);
void cs_inventory_free(struct cs_inventory *inv);

/*
 * Merges the layers in order into the image inventory (schema
 * "cellscan-inventory/1", docs/inventory.md): whiteouts and opaque
 * directories remove what lower layers had, a later copy of an analysed file
 * replaces the earlier, and each package names the lowest layer from which it
 * is continuously present with that version. *out is a new reference.
 */
int cs_inventory_merge(json_t **out, const struct cs_inventory *inv, const struct cs_image *img);

#endif
