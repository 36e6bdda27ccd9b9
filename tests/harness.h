/*
 * harness.h - the few helpers every cellscan C test uses.
 *
 * CHECK(cond) records a failure with file:line and keeps going; a test's
 * main returns cs_test_done(). cs_test_shared() returns the path of
 * ../shared/fixtures' parent, or exits 77 (CTest "skipped") after printing
 * why when it is absent.
 */
#ifndef CS_TESTS_HARNESS_H
#define CS_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int cs_test_failures;
extern int cs_test_checks;

#define CHECK(cond) do { \
	cs_test_checks++; \
	if (!(cond)) { \
		cs_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *cs_a_ = (a), *cs_b_ = (b); \
	cs_test_checks++; \
	if ((cs_a_ == NULL) != (cs_b_ == NULL) || (cs_a_ && strcmp(cs_a_, cs_b_) != 0)) { \
		cs_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", expected \"%s\"\n", \
			__FILE__, __LINE__, #a, cs_a_ ? cs_a_ : "(null)", cs_b_ ? cs_b_ : "(null)"); \
	} \
} while (0)

/* Path of the shared folder (with fixtures/), or exit 77 with a reason. */
const char *cs_test_shared(void);
/* The source tree root. */
const char *cs_test_source_dir(void);
/* Reads a whole file into malloc'd memory (NUL-terminated); NULL on error. */
uint8_t *cs_test_read_file(const char *path, size_t *len);
/* Prints the summary and returns the exit code for main(): 0, or 1 on any
 * failure, or 1 when no check ran at all (a test must be able to fail). */
int cs_test_done(void);

#endif
