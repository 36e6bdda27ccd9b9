/*
 * frame_fuzz.c - what the supervisor does with the worker's bytes: frames,
 * strict JSON, the record schema and the protocol state machine.
 *
 * Input: byte 0 chooses the mode and the number of layers the worker was
 * given (low 3 bits); the rest is
 *   - bit 7 clear: records, one JSON object per line, each decoded with
 *     cs_frame_parse_json();
 *   - bit 7 set: the raw wire (4-byte big-endian length + payload, ...),
 *     written to a pipe and read back with cs_frame_next().
 * Every decoded record goes through cs_proto_check() and, until the first
 * violation (which ends the worker in production), cs_proto_accept().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "common/proto.h"
#include "tests/fuzz/fuzz_util.h"

/* Records accepted per image in this harness (small, so the cap is hit). */
#define FUZZ_MAX_RECORDS 64
/* What fits into an empty pipe without blocking (Linux: 64 KiB). */
#define FUZZ_PIPE_MAX 65536

struct run {
	struct cs_proto_state st;
	int dead;
};

static void record(struct run *run, const uint8_t *p, size_t n)
{
	json_t *j = NULL;
	enum cs_rec t1 = CS_REC_NONE, t2 = CS_REC_NONE;
	int r1, r2;

	if (cs_frame_parse_json(&j, p, n) != 0) {
		FUZZ_ASSERT(j == NULL);
		return;
	}
	FUZZ_ASSERT(json_is_object(j));
	r1 = cs_proto_check(&t1, j);
	FUZZ_ASSERT(r1 <= 0);
	FUZZ_ASSERT(cs_rec_name(t1) != NULL);
	if (!run->dead) {
		uint64_t before = run->st.records;

		r2 = cs_proto_accept(&run->st, &t2, j);
		FUZZ_ASSERT(r2 <= 0);
		/* A record the schema rejects is never accepted. */
		FUZZ_ASSERT(r1 == 0 || r2 != 0);
		if (r2 != 0)
			run->dead = 1;
		else
			FUZZ_ASSERT(run->st.records == before + 1);
		FUZZ_ASSERT(run->st.records <= FUZZ_MAX_RECORDS);
		FUZZ_ASSERT(run->st.layer <= run->st.layers);
	}
	json_decref(j);
}

static void lines(struct run *run, const uint8_t *p, size_t n)
{
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;

		record(run, p, len);
		if (nl == NULL)
			break;
		p += len + 1;
		n -= len + 1;
	}
}

static void wire(struct run *run, const uint8_t *p, size_t n)
{
	struct cs_frame_reader rd;
	int fds[2];
	const uint8_t *payload;
	size_t len;
	int r;

	if (n > FUZZ_PIPE_MAX)
		n = FUZZ_PIPE_MAX;
	if (pipe(fds) != 0)
		abort();
	if (n > 0 && write(fds[1], p, n) != (ssize_t)n)
		abort();
	close(fds[1]);
	if (cs_frame_reader_init(&rd, fds[0]) != 0)
		abort();
	while ((r = cs_frame_next(&rd, &payload, &len)) == CS_FRAME_READY) {
		FUZZ_ASSERT(len >= 1 && len <= CS_FRAME_MAX);
		FUZZ_ASSERT(payload[len] == '\0');
		record(run, payload, len);
	}
	/* A blocking pipe never says "again"; the end is EOF or a violation. */
	FUZZ_ASSERT(r == CS_FRAME_EOF || r == CS_EPROTO);
	FUZZ_ASSERT(rd.total <= n);
	cs_frame_reader_free(&rd);
	close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run;

	if (size == 0)
		return 0;
	memset(&run, 0, sizeof(run));
	cs_proto_init(&run.st, data[0] & 7u, FUZZ_MAX_RECORDS);
	if (data[0] & 0x80u)
		wire(&run, data + 1, size - 1);
	else
		lines(&run, data + 1, size - 1);
	return 0;
}
