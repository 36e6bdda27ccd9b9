/*
 * buf.h - a growable byte buffer with a hard cap set at init.
 */
#ifndef CS_COMMON_BUF_H
#define CS_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cs_buf {
	uint8_t *data;
	size_t len;
	size_t cap;   /* allocated */
	size_t max;   /* never grows past this */
};

/* Initialises an empty buffer that may hold at most max bytes. */
void cs_buf_init(struct cs_buf *b, size_t max);
/* Appends; CS_ELIMIT past max, CS_ENOMEM on allocation failure. */
int cs_buf_add(struct cs_buf *b, const void *p, size_t n);
int cs_buf_addstr(struct cs_buf *b, const char *s);
int cs_buf_printf(struct cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ensures room for n more bytes past len. */
int cs_buf_reserve(struct cs_buf *b, size_t n);
/* Appends a NUL without counting it in len, so data can be used as a C string. */
int cs_buf_cstr(struct cs_buf *b);
void cs_buf_reset(struct cs_buf *b);
/* Frees the storage; the buffer can be reused after cs_buf_init. */
void cs_buf_free(struct cs_buf *b);
/* Hands the storage to the caller (free with free()); the buffer is emptied. */
uint8_t *cs_buf_steal(struct cs_buf *b, size_t *len);

#endif
