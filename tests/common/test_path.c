#include <string.h>

#include "common/errors.h"
#include "common/path.h"
#include "tests/harness.h"

static void norm(const char *in, int want_r, const char *want, int want_abs)
{
	char out[64];
	int flags = 0, r = cs_path_normalize(out, sizeof(out), in, strlen(in), &flags);

	CHECK(r == want_r);
	if (r == 0 && want_r == 0) {
		CHECK_STR(out, want);
		CHECK(((flags & CS_PATH_ABSOLUTE) != 0) == want_abs);
	}
}

int main(void)
{
	norm("./etc/passwd", 0, "etc/passwd", 0);
	norm("/etc//passwd/", 0, "etc/passwd", 1);
	norm(".", 0, "", 0);
	norm("./", 0, "", 0);
	norm("a/./b/.", 0, "a/b", 0);
	norm("../etc/passwd", CS_EFORMAT, NULL, 0);
	norm("a/../../b", CS_EFORMAT, NULL, 0);
	norm("a/..", CS_EFORMAT, NULL, 0);
	norm("..a/b..", 0, "..a/b..", 0);
	norm("/a/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	     CS_ELIMIT, NULL, 0);
	{
		char out[16];
		int f;
		/* an embedded NUL is never part of a path */
		CHECK(cs_path_normalize(out, sizeof(out), "a\0b", 3, &f) == CS_EFORMAT);
	}
	CHECK(cs_path_link_escapes("a/b/link", "../../../etc/passwd") == 1);
	CHECK(cs_path_link_escapes("a/b/link", "../../etc/passwd") == 0);
	CHECK(cs_path_link_escapes("link", "../x") == 1);
	CHECK(cs_path_link_escapes("link", "/etc/passwd") == 0);
	CHECK(cs_path_link_escapes("a/link", "./../x") == 0);
	CHECK(cs_path_link_escapes("a/link", "b/../../../x") == 1);
	CHECK(cs_path_base("a/b/c") == 4);
	CHECK(cs_path_base("c") == 0);
	return cs_test_done();
}
