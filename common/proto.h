/*
 * proto.h - the records the worker sends and the rules both sides enforce.
 *
 * Record types and their fields (every record is one JSON object with a
 * "type"; a field not listed is a protocol violation):
 *
 *   hello        proto, worker, analyzers          first record, once
 *   analyzed     layer, path, analyzer             a file an analyzer read (even
 *                                                  when it yielded nothing: the
 *                                                  file replaces lower copies)
 *   layer_begin  layer                             layers in order 0..n-1
 *   os           layer, id, [version_id, codename, pretty_name, id_like,
 *                variant_id], source
 *   package      layer, kind, name, version, db, [arch, source_name,
 *                source_version, multi_arch, origin, license, maintainer,
 *                epoch, rpm_version, rpm_release, source_rpm,
 *                modularity_label, vendor, files]
 *   file         layer, path, ftype, mode, size, [link, uid, gid]
 *   whiteout     layer, path, opaque
 *   warning      [layer, path], code, message
 *   error        [layer, path], code, message       the worker then exits
 *   layer_end    layer, [diff_id], bytes, entries  diff_id absent only in
 *                                                  dir: (rootfs) mode
 *   done         layers                            last record
 *   fatal        what, [syscall]                   from a dying worker
 *   member       path, size, [link]                archive mode only: then
 *                                                  exactly size raw bytes on
 *                                                  the raw pipe (none for a link)
 *
 * os, analyzed, package, file, whiteout and warning-with-layer are allowed only
 * between layer_begin and layer_end of the same layer; member only between
 * hello and done when the state's archive flag is set.
 */
#ifndef CS_COMMON_PROTO_H
#define CS_COMMON_PROTO_H

#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"

enum cs_rec {
	CS_REC_NONE = 0,
	CS_REC_HELLO,
	CS_REC_LAYER_BEGIN,
	CS_REC_OS,
	CS_REC_ANALYZED,
	CS_REC_PACKAGE,
	CS_REC_FILE,
	CS_REC_WHITEOUT,
	CS_REC_WARNING,
	CS_REC_ERROR,
	CS_REC_LAYER_END,
	CS_REC_DONE,
	CS_REC_FATAL,
	CS_REC_MEMBER,
};

const char *cs_rec_name(enum cs_rec t);

/*
 * Checks one record against its schema: known type, only known fields,
 * required fields present, types right, strings at most CS_STR_MAX bytes
 * without NUL, integers in 0..2^53, digests "sha256:" + 64 lowercase hex.
 */
int cs_proto_check(enum cs_rec *type, const json_t *rec);

enum cs_proto_phase {
	CS_PHASE_HELLO = 0,  /* expecting hello */
	CS_PHASE_BETWEEN,    /* expecting layer_begin or done */
	CS_PHASE_LAYER,      /* inside a layer */
	CS_PHASE_DONE,       /* nothing more may come */
};

struct cs_proto_state {
	enum cs_proto_phase phase;
	uint64_t layers;         /* how many layers the worker was given */
	uint64_t layer;          /* current or next layer index */
	uint64_t records;        /* records accepted so far */
	uint64_t max_records;
	int failed;              /* worker sent "error" or "fatal" */
	int archive;             /* archive mode: member records allowed; set
				  * after cs_proto_init() */
};

void cs_proto_init(struct cs_proto_state *s, uint64_t layers, uint64_t max_records);

/*
 * Checks rec (schema and state) and advances the state. *type is set even
 * on some errors (CS_REC_NONE when unknown).
 */
int cs_proto_accept(struct cs_proto_state *s, enum cs_rec *type, const json_t *rec);

#endif
