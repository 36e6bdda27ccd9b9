#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

void cs_buf_init(struct cs_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int cs_buf_reserve(struct cs_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (__builtin_add_overflow(b->len, n, &need) || need > b->max)
		return cs_err_set(CS_ELIMIT, "buffer limit of %zu bytes reached", b->max);
	/* one spare byte for cs_buf_cstr */
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need + 1) {
		if (__builtin_mul_overflow(ncap, 2, &ncap))
			return cs_err_set(CS_ELIMIT, "buffer size overflow");
	}
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory (%zu bytes)", ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int cs_buf_add(struct cs_buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = cs_buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int cs_buf_addstr(struct cs_buf *b, const char *s)
{
	return cs_buf_add(b, s, strlen(s));
}

int cs_buf_printf(struct cs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return cs_err_set(CS_EINVAL, "bad format");
	if ((r = cs_buf_reserve(b, (size_t)n)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int cs_buf_cstr(struct cs_buf *b)
{
	int r;

	if (b->len + 1 > b->cap && (r = cs_buf_reserve(b, 0)) != 0)
		return r;
	if (b->data == NULL) {
		b->data = malloc(1);
		if (b->data == NULL)
			return cs_err_set(CS_ENOMEM, "out of memory");
		b->cap = 1;
	}
	b->data[b->len] = '\0';
	return 0;
}

void cs_buf_reset(struct cs_buf *b)
{
	b->len = 0;
}

void cs_buf_free(struct cs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

uint8_t *cs_buf_steal(struct cs_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
