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
#include <sys/types.h>

#include <jansson.h>

#include "common/limits.h"

struct cs_layer {
	char digest[72];          /* "sha256:..." of the blob as stored */
	char diff_id[72];         /* from the config: sha256 of the uncompressed tar */
	char media_type[128];
	uint64_t size;
	int fd;                   /* read-only, verified, positioned at 0; -1 if closed */
	int unverified;           /* registry: fd is a cached blob not hashed yet; the
				   * first cs_image_layer_fd() checks it */
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
	uint64_t fetched_bytes;   /* body bytes downloaded from a registry by this open */
	char *rootfs;             /* dir: the directory (absolute), else NULL; the image
				   * then has one pseudo-layer with fd -1 and no digests */
	int lazy;                 /* oci: layer blobs are opened and verified on demand */
	int layout_fd;            /* oci: the layout directory, when lazy */
};

/*
 * The read-only descriptor of layer i's verified blob (borrowed: closed by
 * cs_image_free). For an oci: layout the blob is opened and its digest and
 * size checked now, on first use; a registry blob found in the blob cache is
 * open already and checked now, on first use; other sources have it open and
 * checked already. A layer whose inventory is cached never needs its blob,
 * so it is never hashed.
 */
int cs_image_layer_fd(struct cs_image *img, size_t i, int *fd);

#define CS_SOURCE_HOSTS_MAX 16      /* --insecure-registry / --auth-allow-host each */
#define CS_CACHE_MAX_DEFAULT (10ull << 30)  /* blob cache cap, bytes */

/*
 * Zero-initialise, then set what is wanted; zero means the default. The
 * strings are borrowed (argv) and must outlive cs_source_open().
 */
struct cs_source_opts {
	const struct cs_limits *lim;
	const char *platform;     /* "os/arch[/variant]" or NULL for the host's; an
				   * exact name wins, then "os/arch" matches
				   * "os/arch/VARIANT", then "linux/arm64/v8" (the
				   * default variant) matches "linux/arm64". "all" is
				   * refused: see cs_source_platforms() */
	const char *manifest_digest; /* "sha256:..." or NULL: take this image manifest
				   * of the reference's index instead of choosing by
				   * platform (for a plain manifest it must be that
				   * one); a registry fetches it by digest directly */
	/* blob cache */
	const char *cache_dir;    /* NULL: $XDG_CACHE_HOME/cellscan, else ~/.cache/cellscan */
	uint64_t cache_max;       /* bytes; 0: CS_CACHE_MAX_DEFAULT */
	/* registry transport */
	const char *ca_file;      /* extra trust anchors (PEM), instead of the system CAs */
	const char *insecure[CS_SOURCE_HOSTS_MAX]; /* "host[:port]" reached over plain HTTP */
	size_t ninsecure;
	const char *auth_allow[CS_SOURCE_HOSTS_MAX]; /* other hosts that may see credentials */
	size_t nauth_allow;
	unsigned connect_timeout; /* seconds, connect + TLS handshake; 0: 30 */
	unsigned timeout;         /* seconds per request; 0: 3600 */
	unsigned retries;         /* attempts per request; 0: 5 */
	unsigned parallel;        /* layer blobs downloaded at once; 0: 4; at most 16 */
	/* credentials for the image's registry host (never from argv) */
	const char *username;
	const char *password;     /* set by --password-stdin: storage owned by the source part */
	int no_docker_config;     /* ignore ~/.docker/config.json and its helpers */
	/* archive sources (oci-archive:, docker-archive:) run a sandboxed worker */
	const char *worker;       /* cellscan-worker path; NULL: archives are refused */
	uid_t worker_uid;         /* host ids for the worker when we are root */
	gid_t worker_gid;
	int weak;                 /* --unsafe-no-namespaces */
};

/*
 * Command-line options of the image sources, for the subcommands' option
 * loops: when argv[*i] is one, consumes it (and its value, advancing *i to
 * the last argument used) and returns 1; returns 0 when it is not a source
 * option, and CS_EINVAL with a message on a bad or missing value.
 *   --cache-dir DIR  --cache-max-size SIZE  --ca-file FILE
 *   --insecure-registry HOST  --auth-allow-host HOST  (repeatable)
 *   --username USER  --password-stdin  --no-docker-config
 *   --connect-timeout S  --registry-timeout S  --registry-retries N
 * --password-stdin reads one line from stdin at once.
 */
int cs_source_parse_option(struct cs_source_opts *o, int argc, char **argv, int *i);

/* Usage text of those options (static, for --help). */
const char *cs_source_options_help(void);

/* Opens IMAGE: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE,
 * dir:ROOTFS or a registry reference host[:port]/repo[:tag|@sha256:...]
 * (docker.io defaults). Registry and archive layers come from the blob cache
 * (o->cache_dir). Caller frees with cs_image_free(). */
int cs_source_open(struct cs_image **out, const char *ref, const struct cs_source_opts *o);
void cs_image_free(struct cs_image *img);

/*
 * The images of the index IMAGE points at, for --platform all: *out gets a
 * new array (caller json_decref()s) of {"platform": "linux/arm64/v8",
 * "digest": "sha256:<manifest>"}, in index order, one per image manifest
 * that names a platform. Attestation manifests (platform unknown/unknown or
 * annotation vnd.docker.reference.type = attestation-manifest), nested
 * indexes and other artifacts are left out. A plain manifest gives one
 * entry with its config's platform; docker-archive: gives one with digest
 * "" (a docker save has no manifest digest); dir: gives {"unknown", ""}.
 * o->platform and o->manifest_digest are ignored.
 *
 * To open each: cs_source_open() the same IMAGE with o->platform set to the
 * entry's platform and o->manifest_digest to its digest (NULL when ""). The
 * digest makes the choice exact (two entries may name the same platform, a
 * tag may move between the calls) and lets a registry skip the index.
 * Archives are streamed by a worker again on every call.
 */
int cs_source_platforms(json_t **out, const char *ref, const struct cs_source_opts *o);

/* Internal to supervisor/source/, called by cs_source_open(): */
/* oci-archive:FILE[:TAG] (docker 0) and docker-archive:FILE (docker 1),
 * read by a sandboxed worker into the blob cache (archive.c). */
int cs_archive_open(struct cs_image *img, const char *file, const char *tag, int docker,
		    const struct cs_source_opts *o);
/* dir:ROOTFS (dir.c). */
int cs_dir_open(struct cs_image *img, const char *dir, const struct cs_source_opts *o);
/* cs_source_platforms() of an archive and of a registry reference: append
 * the entries to arr (archive.c, registry.c). */
int cs_archive_platforms(json_t *arr, const char *file, const char *tag, int docker,
			 const struct cs_source_opts *o);
int cs_registry_platforms(json_t *arr, const char *ref, const struct cs_source_opts *o);

/* Index entries and platforms (platform.c). */
/* "os/arch[/variant]" of a platform object (an index entry's "platform" or
 * an image config); -1 when os or architecture is missing, or a part is not
 * a short [A-Za-z0-9._-] name. */
int cs_platform_string(char *out, size_t n, const json_t *p);
/* 1 when some entry of an index's manifests is an image with a platform. */
int cs_index_has_platforms(const json_t *manifests);
/* *out (borrowed from manifests) gets the image entry with digest, or when
 * digest is NULL the best match for the platform want (see
 * cs_source_opts.platform); the error lists the platforms. what names the
 * index in messages. */
int cs_index_pick(const json_t **out, const json_t *manifests, const char *want,
		  const char *digest, const char *what);
/* Appends {"platform", "digest"} for each image entry with a platform;
 * CS_ENOTFOUND when there is none. */
int cs_index_platforms(json_t *arr, const json_t *manifests, const char *what);
/* Appends one {"platform", "digest"} (digest NULL: ""). */
int cs_platforms_add(json_t *arr, const char *platform, const char *digest);
/* Loads a verified JSON object blob of a layout (a directory or an archive). */
typedef int (*cs_doc_load_fn)(void *arg, json_t **out, const char *digest, uint64_t size,
			      const char *what);
/* From an OCI layout's index.json, the entries one image is chosen from:
 * *cands gets a new array, *is_index 1 when they are an index's entries
 * (choose with cs_layout_choose), 0 when it is the one manifest descriptor.
 * tag picks by org.opencontainers.image.ref.name (several entries with the
 * name are all candidates); a chosen nested index is loaded with load. An
 * untagged index.json of several images without platforms fails with
 * "WHAT holds N images: name one as HINT". */
int cs_layout_candidates(json_t **cands, int *is_index, const json_t *index, const char *tag,
			 const char *what, const char *hint, cs_doc_load_fn load, void *arg);
/* *sel (borrowed from cands) gets the manifest descriptor to open. */
int cs_layout_choose(const json_t **sel, const json_t *cands, int is_index, const char *want,
		     const char *digest, const char *what);

/* ---- the blob cache, for `cellscan cache status|prune` ---- */

struct cs_cache_stats {
	char dir[4096];           /* the cache directory */
	uint64_t blobs, bytes;    /* verified-name blobs and their size */
	uint64_t tmp_files, tmp_bytes; /* partial downloads */
	uint64_t removed, removed_bytes; /* by a prune */
};

/* The default cache directory: $XDG_CACHE_HOME/cellscan, else
 * ~/.cache/cellscan. Blobs live in its blobs/, layer inventories in layers/. */
int cs_cache_default_dir(char *out, size_t n);

/* Counts what the cache at dir (NULL: the default) holds. */
int cs_cache_status(struct cs_cache_stats *st, const char *dir);

/*
 * Removes least-recently-used blobs until at most keep bytes remain
 * (keep 0: all), skipping blobs a running scan holds locked, and stale
 * partial downloads. st gets what remains and what was removed.
 */
int cs_cache_prune(struct cs_cache_stats *st, const char *dir, uint64_t keep);

/* The host platform as "linux/amd64" (arch named as OCI does). Borrowed. */
const char *cs_source_host_platform(void);

#endif
