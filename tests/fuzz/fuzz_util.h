/*
 * fuzz_util.h - what the fuzz harnesses share: a struct cs_emit whose
 * callbacks check the analyzer contract (worker/analyzers/analyzer.h) on
 * every record, and a few checks that abort() on a broken property so that
 * libFuzzer and the CTest replay both see a crash.
 *
 * Nothing here is part of cellscan; it is linked only into the harnesses.
 */
#ifndef CS_TESTS_FUZZ_UTIL_H
#define CS_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "worker/analyzers/analyzer.h"

/* Every harness defines this (the libFuzzer entry point). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz property failed: <what>" with file:line and aborts. */
#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) \
		cs_fuzz_fail(__FILE__, __LINE__, #cond); \
} while (0)

void cs_fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * Known, reported and not yet fixed findings (tests/fuzz/crashes/<name>/)
 * would stop every fuzzing run at once; their checks are skipped unless the
 * environment has CS_FUZZ_CHECK_KNOWN set (to replay the crash inputs).
 * Returns 1 when they are to be checked.
 */
int cs_fuzz_check_known(void);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF); NUL bytes count as valid. */
int cs_fuzz_utf8_valid(const uint8_t *s, size_t n);

/* Which strings of an analyzer's records must be valid UTF-8: the header
 * of each analyzer says which fields it validates or repairs. */
enum {
	CS_FUZZ_UTF8_IDENTITY = 1,   /* name, version, arch, source name/version */
	CS_FUZZ_UTF8_ALL = 2,        /* every string of the record */
};

struct cs_fuzz_emit {
	struct cs_emit emit;         /* callbacks; ctx points back here */
	const char *path;            /* the path given to the parser */
	unsigned utf8;               /* CS_FUZZ_UTF8_* */
	unsigned long os, packages, warnings, files;
	unsigned long bytes;         /* string bytes seen (keeps the reads alive) */
};

/* Totals over every cs_fuzz_emit of the process (the replay driver prints
 * them, so a corpus that no longer reaches the parser shows). */
extern unsigned long cs_fuzz_total_os, cs_fuzz_total_packages, cs_fuzz_total_warnings;

/* Sets up e for one parser call on path. */
void cs_fuzz_emit_init(struct cs_fuzz_emit *e, const char *path, unsigned utf8);

#endif
