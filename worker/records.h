/*
 * records.h - the worker's side of the wire: builds records and writes them
 * as frames on CS_FD_OUT. Every record is checked against the shared schema
 * (common/proto.h) before it leaves, so a bug here fails in the worker.
 */
#ifndef CS_WORKER_RECORDS_H
#define CS_WORKER_RECORDS_H

#include <stdint.h>

#include <jansson.h>

#include "worker/analyzers/analyzer.h"

/* Takes a reference to rec (steals it), checks and sends it. */
int cs_rec_send(json_t *rec);

int cs_rec_hello(void);
int cs_rec_warning(int64_t layer, const char *path, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int cs_rec_error(int64_t layer, const char *path, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Makes a JSON string from untrusted bytes: valid UTF-8 passes unchanged;
 * otherwise each bad byte becomes U+FFFD and *lossy is set. NULL on ENOMEM.
 */
json_t *cs_rec_string(const char *s, size_t n, int *lossy);

/* A struct cs_emit whose callbacks send os/package/warning records for
 * the given layer. ctx must outlive the emit. */
struct cs_rec_emit_ctx {
	int64_t layer;
	uint64_t records;
};
void cs_rec_emitter(struct cs_emit *e, struct cs_rec_emit_ctx *ctx);

#endif
