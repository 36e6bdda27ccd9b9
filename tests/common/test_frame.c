/* The frame reader and the record rules, fed every kind of bad input. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "common/proto.h"
#include "common/version.h"
#include "tests/harness.h"

/* Feeds bytes through a real pipe and returns what the reader says first. */
static int read_one(const void *bytes, size_t n, char *payload_out, size_t outn)
{
	int p[2], r;
	struct cs_frame_reader fr;
	const uint8_t *pl;
	size_t len;

	if (pipe(p) != 0)
		return -999;
	if (n > 0 && write(p[1], bytes, n) != (ssize_t)n)
		return -998;
	close(p[1]);
	cs_frame_reader_init(&fr, p[0]);
	r = cs_frame_next(&fr, &pl, &len);
	if (r == CS_FRAME_READY && payload_out != NULL)
		snprintf(payload_out, outn, "%.*s", (int)len, (const char *)pl);
	cs_frame_reader_free(&fr);
	close(p[0]);
	return r;
}

static int accept_seq(const char *const *recs, size_t n, uint64_t layers, uint64_t maxrec)
{
	struct cs_proto_state s;
	enum cs_rec t;
	size_t i;
	int r = 0;

	cs_proto_init(&s, layers, maxrec);
	for (i = 0; i < n && r == 0; i++) {
		json_t *j = json_loads(recs[i], 0, NULL);
		if (j == NULL)
			return -999;
		r = cs_proto_accept(&s, &t, j);
		json_decref(j);
	}
	return r;
}

int main(void)
{
	char got[256];
	uint8_t buf[8];

	/* good frame */
	memcpy(buf, "\0\0\0\2{}", 6);
	CHECK(read_one(buf, 6, got, sizeof(got)) == CS_FRAME_READY);
	CHECK_STR(got, "{}");
	/* clean EOF */
	CHECK(read_one("", 0, NULL, 0) == CS_FRAME_EOF);
	/* zero length, oversize, header cut, body cut */
	CHECK(read_one("\0\0\0\0", 4, NULL, 0) == CS_EPROTO);
	CHECK(read_one("\0\x01\0\x01", 4, NULL, 0) == CS_EPROTO);
	CHECK(read_one("\xff\xff\xff\xff", 4, NULL, 0) == CS_EPROTO);
	CHECK(read_one("\0\0", 2, NULL, 0) == CS_EPROTO);
	CHECK(read_one("\0\0\0\x10{}", 6, NULL, 0) == CS_EPROTO);
	/* exactly the limit is fine */
	{
		size_t n = CS_FRAME_MAX;
		uint8_t *big = malloc(n + 4);
		int p[2];
		struct cs_frame_reader fr;
		const uint8_t *pl;
		size_t len;
		pid_t w;

		big[0] = 0;
		big[1] = (uint8_t)(n >> 16);
		big[2] = (uint8_t)(n >> 8);
		big[3] = (uint8_t)n;
		memset(big + 4, ' ', n);
		big[4] = '{';
		big[n + 3] = '}';
		CHECK(pipe(p) == 0);
		w = fork();
		if (w == 0) {
			ssize_t k = write(p[1], big, n + 4);
			_exit(k == (ssize_t)(n + 4) ? 0 : 1);
		}
		close(p[1]);
		cs_frame_reader_init(&fr, p[0]);
		CHECK(cs_frame_next(&fr, &pl, &len) == CS_FRAME_READY && len == n);
		cs_frame_reader_free(&fr);
		close(p[0]);
		free(big);
	}
	/* JSON rules */
	{
		json_t *j = NULL;
		CHECK(cs_frame_parse_json(&j, (const uint8_t *)"{\"a\":1,\"a\":2}", 13) == CS_EPROTO);
		CHECK(cs_frame_parse_json(&j, (const uint8_t *)"[1]", 3) == CS_EPROTO);
		CHECK(cs_frame_parse_json(&j, (const uint8_t *)"{\"a\":", 5) == CS_EPROTO);
		CHECK(cs_frame_parse_json(&j, (const uint8_t *)"{\"a\":\"\xff\"}", 9) == CS_EPROTO);
		CHECK(cs_frame_parse_json(&j, (const uint8_t *)"{\"a\":1}", 7) == 0 && j != NULL);
		json_decref(j);
	}
	/* protocol state machine */
	{
		static const char *hello = "{\"type\":\"hello\",\"proto\":1,\"worker\":\"t\",\"analyzers\":\"" CS_ANALYZERS_VERSION "\"}";
		static const char *ok[] = {
			"{\"type\":\"hello\",\"proto\":1,\"worker\":\"t\",\"analyzers\":\"" CS_ANALYZERS_VERSION "\"}",
			"{\"type\":\"layer_begin\",\"layer\":0}",
			"{\"type\":\"whiteout\",\"layer\":0,\"path\":\"a\",\"opaque\":false}",
			"{\"type\":\"warning\",\"layer\":0,\"code\":\"c\",\"message\":\"m\"}",
			"{\"type\":\"layer_end\",\"layer\":0,\"diff_id\":\"sha256:"
			"0000000000000000000000000000000000000000000000000000000000000000\","
			"\"bytes\":1,\"entries\":1}",
			"{\"type\":\"done\",\"layers\":1}",
		};
		const char *seq[8];

		CHECK(accept_seq(ok, 6, 1, 100) == 0);
		/* records limit */
		CHECK(accept_seq(ok, 6, 1, 3) == CS_ELIMIT);
		/* no hello first */
		CHECK(accept_seq(ok + 1, 5, 1, 100) == CS_EPROTO);
		/* wrong protocol version */
		seq[0] = "{\"type\":\"hello\",\"proto\":2,\"worker\":\"t\",\"analyzers\":\"" CS_ANALYZERS_VERSION "\"}";
		CHECK(accept_seq(seq, 1, 1, 100) == CS_EPROTO);
		/* done before all layers */
		seq[0] = hello;
		seq[1] = "{\"type\":\"done\",\"layers\":1}";
		CHECK(accept_seq(seq, 2, 1, 100) == CS_EPROTO);
		/* layer out of order */
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":1}";
		CHECK(accept_seq(seq, 2, 2, 100) == CS_EPROTO);
		/* record for another layer */
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":0}";
		seq[2] = "{\"type\":\"whiteout\",\"layer\":1,\"path\":\"a\",\"opaque\":true}";
		CHECK(accept_seq(seq, 3, 2, 100) == CS_EPROTO);
		/* package outside a layer */
		seq[1] = "{\"type\":\"package\",\"layer\":0,\"kind\":\"dpkg\",\"name\":\"a\","
			 "\"version\":\"1\",\"db\":\"x\"}";
		CHECK(accept_seq(seq, 2, 1, 100) == CS_EPROTO);
		/* unknown field, bad types, bad digest, negative ints, embedded NUL */
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":0,\"x\":1}";
		CHECK(accept_seq(seq, 2, 1, 100) == CS_EPROTO);
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":\"0\"}";
		CHECK(accept_seq(seq, 2, 1, 100) == CS_EPROTO);
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":-1}";
		CHECK(accept_seq(seq, 2, 1, 100) == CS_EPROTO);
		seq[1] = "{\"type\":\"layer_begin\",\"layer\":0}";
		seq[2] = "{\"type\":\"layer_end\",\"layer\":0,\"diff_id\":\"sha256:ABC\",\"bytes\":1,"
			 "\"entries\":1}";
		CHECK(accept_seq(seq, 3, 1, 100) == CS_EPROTO);
		{
			/* an embedded NUL never reaches the schema check */
			static const char nul[] = "{\"type\":\"warning\",\"code\":\"a\\u0000b\","
						  "\"message\":\"m\"}";
			json_t *j = NULL;
			CHECK(cs_frame_parse_json(&j, (const uint8_t *)nul, strlen(nul)) == CS_EPROTO);
			j = json_loads(nul, JSON_ALLOW_NUL, NULL);
			CHECK(j != NULL);
			if (j != NULL) {
				enum cs_rec t;
				CHECK(cs_proto_check(&t, j) == CS_EPROTO);
				json_decref(j);
			}
		}
		seq[2] = "{\"type\":\"warning\",\"message\":\"m\"}";
		CHECK(accept_seq(seq, 3, 1, 100) == CS_EPROTO);
		/* after done */
		seq[0] = hello;
		seq[1] = "{\"type\":\"done\",\"layers\":0}";
		seq[2] = "{\"type\":\"warning\",\"code\":\"c\",\"message\":\"m\"}";
		CHECK(accept_seq(seq, 3, 0, 100) == CS_EPROTO);
		/* a dying worker may say why anywhere before done */
		seq[1] = "{\"type\":\"fatal\",\"what\":\"seccomp\",\"syscall\":41}";
		CHECK(accept_seq(seq, 2, 0, 100) == 0);
	}
	return cs_test_done();
}
