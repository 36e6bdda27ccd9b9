#include "common/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/limits.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return cs_err_set(CS_EIO, "write to record pipe: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cs_frame_write(int fd, const void *payload, size_t len)
{
	uint8_t hdr[4];
	int r;

	if (len == 0 || len > CS_FRAME_MAX)
		return cs_err_set(CS_ELIMIT, "record of %zu bytes exceeds the frame limit of %u", len,
				  CS_FRAME_MAX);
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	if ((r = write_all(fd, hdr, 4)) != 0)
		return r;
	return write_all(fd, payload, len);
}

struct sizebuf {
	char *p;
	size_t len;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct sizebuf *b = data;

	if (size > CS_FRAME_MAX - b->len)
		return -1;
	memcpy(b->p + b->len, buf, size);
	b->len += size;
	return 0;
}

int cs_frame_write_json(int fd, const json_t *obj)
{
	static char out[CS_FRAME_MAX];
	struct sizebuf b = { out, 0 };

	if (json_dump_callback(obj, dump_cb, &b, JSON_COMPACT | JSON_ENSURE_ASCII) != 0)
		return cs_err_set(CS_ELIMIT, "record exceeds the frame limit of %u bytes", CS_FRAME_MAX);
	return cs_frame_write(fd, out, b.len);
}

int cs_frame_reader_init(struct cs_frame_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->buf = malloc(CS_FRAME_MAX + 1);
	if (r->buf == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	return 0;
}

void cs_frame_reader_free(struct cs_frame_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

int cs_frame_next(struct cs_frame_reader *r, const uint8_t **payload, size_t *len)
{
	ssize_t n;

	*payload = NULL;
	*len = 0;
	/* A frame handed out last time is consumed now. */
	if (r->hdr_got == 4 && r->got == r->len) {
		r->hdr_got = 0;
		r->got = 0;
	}
	while (r->hdr_got < 4) {
		n = read(r->fd, r->hdr + r->hdr_got, 4 - r->hdr_got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return CS_FRAME_AGAIN;
			return cs_err_set(CS_EIO, "read from worker: %s", strerror(errno));
		}
		if (n == 0) {
			if (r->hdr_got == 0)
				return CS_FRAME_EOF;
			return cs_err_set(CS_EPROTO, "worker output ended inside a frame header");
		}
		r->hdr_got += (size_t)n;
		r->total += (uint64_t)n;
		if (r->hdr_got == 4) {
			r->len = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
				 (uint32_t)r->hdr[2] << 8 | r->hdr[3];
			if (r->len == 0)
				return cs_err_set(CS_EPROTO, "empty frame from worker");
			if (r->len > CS_FRAME_MAX)
				return cs_err_set(CS_EPROTO, "frame of %u bytes from worker exceeds the "
						  "limit of %u", r->len, CS_FRAME_MAX);
			r->got = 0;
		}
	}
	while (r->got < r->len) {
		n = read(r->fd, r->buf + r->got, r->len - r->got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return CS_FRAME_AGAIN;
			return cs_err_set(CS_EIO, "read from worker: %s", strerror(errno));
		}
		if (n == 0)
			return cs_err_set(CS_EPROTO, "worker output ended inside a frame (%zu of %u bytes)",
					  r->got, r->len);
		r->got += (size_t)n;
		r->total += (uint64_t)n;
	}
	r->buf[r->len] = '\0';
	*payload = r->buf;
	*len = r->len;
	return CS_FRAME_READY;
}

int cs_frame_parse_json(json_t **out, const uint8_t *payload, size_t len)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len == 0 || len > CS_FRAME_MAX)
		return cs_err_set(CS_EPROTO, "frame of %zu bytes outside 1..%u", len, CS_FRAME_MAX);
	j = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return cs_err_set(CS_EPROTO, "invalid JSON in frame at byte %d: %s", jerr.position,
				  jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return cs_err_set(CS_EPROTO, "frame is not a JSON object");
	}
	*out = j;
	return 0;
}
