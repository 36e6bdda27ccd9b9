/*
 * frame.h - length-prefixed frames on a pipe.
 *
 * A frame is a 4-byte big-endian length N (1 <= N <= CS_FRAME_MAX) followed
 * by N bytes holding one JSON object. The reader checks the length before it
 * stores a byte of the payload, and never holds more than one frame.
 */
#ifndef CS_COMMON_FRAME_H
#define CS_COMMON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Writes one frame (blocking, retries short writes and EINTR). */
int cs_frame_write(int fd, const void *payload, size_t len);
/* Encodes obj compactly and writes it; CS_ELIMIT if it exceeds CS_FRAME_MAX.
 * Uses one static buffer: for the single-threaded worker only. */
int cs_frame_write_json(int fd, const json_t *obj);

enum {
	CS_FRAME_AGAIN = 0,   /* need more bytes (the fd would block) */
	CS_FRAME_READY = 1,   /* a whole frame is available */
	CS_FRAME_EOF = 2,     /* the writer closed the pipe between frames */
};

struct cs_frame_reader {
	int fd;
	uint8_t hdr[4];
	size_t hdr_got;
	uint32_t len;
	size_t got;
	uint8_t *buf;          /* CS_FRAME_MAX + 1 bytes, allocated once */
	uint64_t total;        /* bytes consumed so far, headers included */
};

int cs_frame_reader_init(struct cs_frame_reader *r, int fd);
void cs_frame_reader_free(struct cs_frame_reader *r);

/*
 * Reads what is available from r->fd (which may be non-blocking). Returns
 * CS_FRAME_READY with *payload (borrowed until the next call, NUL-terminated)
 * and *len set; CS_FRAME_AGAIN; CS_FRAME_EOF; or CS_EPROTO for a zero or
 * oversized length or EOF inside a frame, CS_EIO for a read error.
 */
int cs_frame_next(struct cs_frame_reader *r, const uint8_t **payload, size_t *len);

/*
 * Decodes a whole frame payload from memory (for tests and fuzzing): the
 * same checks as the reader, then strict JSON (an object, no duplicate keys).
 * Caller frees *out with json_decref().
 */
int cs_frame_parse_json(json_t **out, const uint8_t *payload, size_t len);

#endif
