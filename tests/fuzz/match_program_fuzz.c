/*
 * match_program_fuzz.c - the compiled form of OSV records (supervisor/match
 * "Compiled records") as a database could hand it over after damage on
 * disk: arbitrary bytes as one record's header and row, matched for a few
 * packages through cs_match_inventory(). Input: a little-endian u16 header
 * length, the header bytes, then the row bytes (the same row is returned
 * for every key, under two record numbers so the merge paths run too).
 *
 * Properties: never a crash or a sanitizer report; cs_match_inventory
 * succeeds (a damaged form is a note, not an error) or fails only with
 * CS_ENOMEM; every finding is an object with a string "id"; every note has
 * a string "reason".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"
#include "supervisor/match/match.h"
#include "tests/fuzz/fuzz_util.h"

struct blobs {
	const uint8_t *hdr, *row;
	size_t hlen, rlen;
};

static int rows(void *ctx, const char *eco, const char *name,
		int (*cb)(void *, long long, const void *, size_t), void *cbctx)
{
	const struct blobs *b = ctx;
	int r;

	(void)eco;
	(void)name;
	if ((r = cb(cbctx, 1, b->row, b->rlen)) != 0)
		return r;
	return cb(cbctx, 2, b->row, b->rlen);
}

static int header(void *ctx, long long rec, const void **hdr, size_t *len)
{
	const struct blobs *b = ctx;

	(void)rec;
	*hdr = b->hdr;
	*len = b->hlen;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const os[] = {"Debian:12", "Alpine:v3.20", NULL};
	struct blobs b;
	struct cs_match_source src = { &b, rows, header };
	json_t *pkgs, *findings, *notes, *v;
	size_t i, k;
	int r;

	if (size < 2)
		return 0;
	b.hlen = (size_t)data[0] | (size_t)data[1] << 8;
	if (b.hlen > size - 2)
		b.hlen = size - 2;
	b.hdr = data + 2;
	b.row = data + 2 + b.hlen;
	b.rlen = size - 2 - b.hlen;
	pkgs = json_pack("[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]",
			 "kind", "dpkg", "name", "zlib1g", "source_name", "zlib", "version", "1:1.2.13-1",
			 "kind", "apk", "name", "musl", "version", "1.2.5-r0",
			 "kind", "pypi", "name", "Foo_Bar", "version", "1.0",
			 "kind", "npm", "name", "left-pad", "version", "1.3.0");
	if (pkgs == NULL)
		return 0;
	for (k = 0; k < sizeof(os) / sizeof(os[0]); k++) {
		findings = json_array();
		notes = json_array();
		if (findings == NULL || notes == NULL)
			cs_fuzz_fail(__FILE__, __LINE__, "out of memory");
		r = cs_match_inventory(findings, notes, NULL, pkgs, os[k], &src);
		if (r != 0 && r != CS_ENOMEM)
			cs_fuzz_fail(__FILE__, __LINE__, "a damaged compiled form must be a note, not an error");
		json_array_foreach(findings, i, v)
			if (!json_is_object(v) || !json_is_string(json_object_get(v, "id")))
				cs_fuzz_fail(__FILE__, __LINE__, "finding without an id");
		json_array_foreach(notes, i, v)
			if (!json_is_string(json_object_get(v, "reason")))
				cs_fuzz_fail(__FILE__, __LINE__, "note without a reason");
		json_decref(findings);
		json_decref(notes);
	}
	json_decref(pkgs);
	return 0;
}
