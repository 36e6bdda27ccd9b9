/*
 * test_cvss.c - CVSS calculators against the reference vectors in
 * fixtures/cvss/ (see its README: scores from FIRST's calculators via the
 * RedHatProductSecurity/cvss test data), plus invalid vectors and relations
 * the specifications state (metric order in v3.x, "X" = not defined,
 * modified metrics replace base metrics in v4.0).
 */
#include "policy/cvss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "tests/harness.h"

#define MAX_SHOWN 20

static int shown;

static int tenths(double s)
{
	return (int)(s * 10.0 + 0.5);
}

/* "9.8", "10.0", "0.0" -> 98, 100, 0; -1 when malformed. */
static int parse_tenths(const char *s)
{
	int ip = 0, nd = 0;

	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (nd >= 2)
			return -1;
		ip = ip * 10 + (*s - '0');
	}
	if (nd == 0 || s[0] != '.' || s[1] < '0' || s[1] > '9' || s[2] != '\0')
		return -1;
	return ip * 10 + (s[1] - '0');
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Splits LINE in place at tabs into at most 4 fields; returns the count. */
static int split_tabs(char *line, char **f)
{
	int n = 0;

	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p == '\t') {
			*p = '\0';
			if (n == 4)
				return 5;
			f[n++] = p + 1;
		}
	}
	return n;
}

/* Scores every line of fixtures/cvss/NAME; returns the number checked. */
static int run_file(const char *shared, const char *name, int want_version)
{
	char path[4096];
	char *buf, *line, *next;
	size_t len;
	int lines = 0, checked = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/fixtures/cvss/%s", shared, name);
	buf = (char *)cs_test_read_file(path, &len);
	CHECK(buf != NULL);
	if (buf == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return 0;
	}
	for (line = buf; line < buf + len; line = next) {
		char *f[5];
		int nf, want, r, version = -1, ok;
		double score = -1.0;

		next = strchr(line, '\n');
		if (next == NULL)
			next = buf + len;
		else
			*next++ = '\0';
		if (line[0] == '\0')
			continue;
		lines++;
		nf = split_tabs(line, f);
		want = nf >= 2 ? parse_tenths(f[1]) : -1;
		CHECK(nf == 2 || nf == 3);
		CHECK(want >= 0);
		if (want < 0 || nf < 2 || nf > 3) {
			fprintf(stderr, "%s:%d: malformed fixture line\n", name, lines);
			bad++;
			continue;
		}
		r = cs_cvss_score(&score, &version, f[0]);
		ok = r == 0 && version == want_version && tenths(score) == want;
		CHECK(ok);
		if (nf == 3) {
			char sev[32];

			snprintf(sev, sizeof(sev), "%s", f[2]);
			lower(sev);
			CHECK_STR(cs_cvss_rating(score), sev);
			/* The rating scale itself, on the fixture's score. */
			CHECK_STR(cs_cvss_rating(want / 10.0), sev);
			ok = ok && strcmp(cs_cvss_rating(score), sev) == 0;
		}
		if (!ok) {
			bad++;
			if (shown++ < MAX_SHOWN)
				fprintf(stderr, "%s:%d: %s: got r=%d (%s) version=%d score=%.1f, want %s%s%s\n",
					name, lines, f[0], r, cs_err_msg(), version, score, f[1],
					nf == 3 ? " " : "", nf == 3 ? f[2] : "");
		}
		checked++;
	}
	printf("%s: %d lines, %d vectors checked, %d mismatches\n", name, lines, checked, bad);
	CHECK(checked > 0);
	CHECK(checked == lines);
	free(buf);
	return checked;
}

struct bad_vector {
	const char *vector;
	int code;
	const char *msg; /* substring the message must contain */
};

static const struct bad_vector bad_vectors[] = {
	{ "", CS_EFORMAT, "empty" },
	{ "CVSS:3.1", CS_EFORMAT, "missing mandatory metric AV" },
	{ "CVSS:3.1/", CS_EFORMAT, "empty metric" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", CS_EFORMAT, "missing mandatory metric A" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", CS_EFORMAT, "empty metric" },
	{ "CVSS:3.1//AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "empty metric" },
	{ "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "duplicate metric AV" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:F/E:F", CS_EFORMAT, "duplicate metric E" },
	{ "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "bad value \"X\" for metric AV" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:h", CS_EFORMAT, "bad value" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:P/S:U/C:H/I:H/A:H", CS_EFORMAT, "bad value \"P\" for metric UI" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H:H", CS_EFORMAT, "bad value" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:Q", CS_EFORMAT, "unknown metric \"ZZ\"" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AT:N", CS_EFORMAT, "unknown metric \"AT\"" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A", CS_EFORMAT, "not METRIC:VALUE" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/:H", CS_EFORMAT, "empty metric" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:", CS_EFORMAT, "empty metric" },
	{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H ", CS_EFORMAT, "bad value" },
	{ " CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "does not start" },
	{ "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "does not start" },
	{ "CVSS:3.10/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "does not start" },
	{ "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "does not start" },
	{ "CVSS:4.0", CS_EFORMAT, "missing mandatory metric AV" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", CS_EFORMAT,
	  "missing mandatory metric SA" },
	{ "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CS_EFORMAT,
	  "missing mandatory metric AT" },
	{ "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CS_EFORMAT,
	  "metric AV out of order" },
	/* The interleaved order seen in some advisories (github/advisory-database#7448). */
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N", CS_EFORMAT,
	  "out of order" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/E:A/SA:N", CS_EFORMAT,
	  "metric SA out of order" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MAV:N/CR:H", CS_EFORMAT,
	  "out of order" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Red/S:N", CS_EFORMAT,
	  "out of order" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N", CS_EFORMAT,
	  "bad value \"S\" for metric SI" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSC:S", CS_EFORMAT,
	  "bad value \"S\" for metric MSC" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:RED", CS_EFORMAT,
	  "bad value \"RED\" for metric U" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/E:X", CS_EFORMAT,
	  "duplicate metric E" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:U", CS_EFORMAT,
	  "bad value \"U\" for metric S" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/RL:O", CS_EFORMAT,
	  "unknown metric \"RL\"" },
	{ "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CS_EFORMAT,
	  "bad value \"R\" for metric UI" },
	{ "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EFORMAT, "" },
	{ "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CS_EFORMAT,
	  "unknown metric \"AT\"" },
	{ "AV:N/AC:L/Au:N/C:P/I:P/A:P", CS_EUNSUPPORTED, "v2" },
	{ "(AV:N/AC:L/Au:N/C:P/I:P/A:P)", CS_EUNSUPPORTED, "v2" },
	{ "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", CS_EUNSUPPORTED, "v2" },
	{ "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CS_EUNSUPPORTED, "version 3.2" },
	{ "CVSS:5.0/AV:N", CS_EUNSUPPORTED, "version 5.0" },
};

static void test_bad_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_vectors) / sizeof(bad_vectors[0]); i++) {
		const struct bad_vector *b = &bad_vectors[i];
		double score = -1.0;
		int version = -1, r;

		cs_err_clear();
		r = cs_cvss_score(&score, &version, b->vector);
		CHECK(r == b->code);
		CHECK(score == 0.0 && version == 0);
		CHECK(strstr(cs_err_msg(), "CVSS vector \"") != NULL);
		CHECK(strstr(cs_err_msg(), b->msg) != NULL);
		if (r != b->code || strstr(cs_err_msg(), b->msg) == NULL)
			fprintf(stderr, "bad vector %zu \"%s\": r=%d msg \"%s\", want %d \"%s\"\n", i,
				b->vector, r, cs_err_msg(), b->code, b->msg);
	}
}

static void test_hostile_bytes(void)
{
	char big[CS_CVSS_MAX_VECTOR + 64];
	double score;
	int version;
	size_t i;

	/* Control bytes must not reach the message (it may be logged). */
	CHECK(cs_cvss_score(&score, &version,
			    "CVSS:3.1/AV:\x1b[31mN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == CS_EFORMAT);
	CHECK(strchr(cs_err_msg(), 0x1b) == NULL);
	CHECK(strstr(cs_err_msg(), "\\x1b") != NULL);
	CHECK(cs_cvss_score(&score, &version,
			    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/\xff\xfe:N") == CS_EFORMAT);
	CHECK(strstr(cs_err_msg(), "\\xff") != NULL);

	/* Too long: valid-looking but past the cap. */
	snprintf(big, sizeof(big), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	for (i = strlen(big); i < sizeof(big) - 1; i++)
		big[i] = 'x';
	big[sizeof(big) - 1] = '\0';
	CHECK(cs_cvss_score(&score, &version, big) == CS_EFORMAT);
	CHECK(strstr(cs_err_msg(), "longer than") != NULL);
	CHECK(strlen(cs_err_msg()) < 400);

	CHECK(cs_cvss_score(NULL, &version, "CVSS:3.1/AV:N") == CS_EINVAL);
	CHECK(cs_cvss_score(&score, NULL, "CVSS:3.1/AV:N") == CS_EINVAL);
	CHECK(cs_cvss_score(&score, &version, NULL) == CS_EINVAL);
}

/* Scores A, requiring success; -1 otherwise. */
static int score_of(const char *v, int *version)
{
	double s = -1.0;
	int ver = 0, r = cs_cvss_score(&s, &ver, v);

	if (r != 0) {
		fprintf(stderr, "unexpected failure for %s: %s\n", v, cs_err_msg());
		return -1;
	}
	if (version != NULL)
		*version = ver;
	return tenths(s);
}

static void test_relations(void)
{
	int v = 0, base;

	/* v3.x: any metric order (the FIRST v3.1 JSON schema's pattern allows
	 * it); temporal and environmental metrics do not change the base
	 * score; v3.0 is accepted. 9.8 is the fixture's expectation. */
	base = score_of("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", &v);
	CHECK(base == 98 && v == 31);
	CHECK(score_of("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", NULL) == base);
	CHECK(score_of("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/IR:L/AR:L/"
		       "MAV:P/MAC:H/MPR:H/MUI:R/MS:C/MC:N/MI:N/MA:N", NULL) == base);
	CHECK(score_of("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", &v) == base && v == 30);

	/* v4.0: "X" means not defined; E:X is E:A and CR/IR/AR:X are H. */
	base = score_of("CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:N/SA:H", &v);
	CHECK(base >= 0 && v == 40);
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:N/SA:H/E:X/CR:X/"
		       "IR:X/AR:X/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X/"
		       "S:X/AU:X/R:X/V:X/RE:X/U:X", NULL) == base);
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:N/SA:H/E:A/CR:H/"
		       "IR:H/AR:H", NULL) == base);
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:N/SA:H/S:P/AU:Y/"
		       "R:I/V:C/RE:H/U:Amber", NULL) == base);

	/* By hand from the specification: with MSI:S and MSA:S every EQ is
	 * 0, MacroVector 000000 scores 10.0 and its lower neighbours along
	 * EQ4 and EQ3/EQ6 score 10.0 too, so nothing is subtracted. */
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S/MSA:S",
		       NULL) == 100);
	/* The example in the header of the reference calculator (cvss40.js). */
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N/E:A/MAV:A",
		       NULL) == 87);
	/* All impacts None (after modification) scores 0.0. */
	CHECK(score_of("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MVC:N/MVI:N/"
		       "MVA:N/MSC:N/MSI:N/MSA:N", NULL) == 0);
}

/*
 * v4.0 modified metrics replace their base metric (specification section
 * 4.2), so base(A) + modified(B's base values) must score like B. Pairs
 * the lines of cvss40.tsv; the expectation is the fixture's score of B.
 */
static void test_modified_from_fixture(const char *shared)
{
	static const char *const names[] = { "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA",
					     "SC", "SI", "SA" };
	char path[4096], vec[512];
	char *buf, *line, *next, *prev = NULL;
	size_t len;
	int checked = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/fixtures/cvss/cvss40.tsv", shared);
	buf = (char *)cs_test_read_file(path, &len);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	for (line = buf; line < buf + len; line = next) {
		char *tab;
		int want, got, k;
		size_t o;
		const char *p;

		next = strchr(line, '\n');
		if (next == NULL)
			next = buf + len;
		else
			*next++ = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		if (prev == NULL) {
			prev = line;
			continue;
		}
		/* B = this line (expected score), A = previous line. */
		{
			char *t2 = strchr(tab + 1, '\t');

			if (t2 != NULL)
				*t2 = '\0';
			want = parse_tenths(tab + 1);
		}
		o = (size_t)snprintf(vec, sizeof(vec), "%s", prev);
		p = line + strlen("CVSS:4.0");
		for (k = 0; k < 11 && o < sizeof(vec); k++) {
			const char *q = strstr(p, "/");
			const char *val;
			size_t vl;

			/* B's components are in order: "/NAME:VALUE". */
			if (q == NULL)
				break;
			val = strchr(q, ':');
			if (val == NULL)
				break;
			val++;
			vl = strcspn(val, "/");
			o += (size_t)snprintf(vec + o, sizeof(vec) - o, "/M%s:%.*s", names[k], (int)vl,
					      val);
			p = val + vl;
		}
		got = score_of(vec, NULL);
		CHECK(k == 11 && got == want);
		if (got != want) {
			bad++;
			if (shown++ < MAX_SHOWN)
				fprintf(stderr, "modified: %s: got %d want %d\n", vec, got, want);
		}
		checked++;
		prev = line;
	}
	printf("cvss40.tsv as modified metrics: %d vectors checked, %d mismatches\n", checked, bad);
	CHECK(checked > 0);
	free(buf);
}

static void test_rating(void)
{
	/* The qualitative scale of v3.1 section 5 / v4.0 section 6. */
	CHECK_STR(cs_cvss_rating(0.0), "none");
	CHECK_STR(cs_cvss_rating(0.1), "low");
	CHECK_STR(cs_cvss_rating(3.9), "low");
	CHECK_STR(cs_cvss_rating(4.0), "medium");
	CHECK_STR(cs_cvss_rating(6.9), "medium");
	CHECK_STR(cs_cvss_rating(7.0), "high");
	CHECK_STR(cs_cvss_rating(8.9), "high");
	CHECK_STR(cs_cvss_rating(9.0), "critical");
	CHECK_STR(cs_cvss_rating(10.0), "critical");
	CHECK_STR(cs_cvss_rating(-0.1), "unknown");
	CHECK_STR(cs_cvss_rating(10.1), "unknown");
	CHECK_STR(cs_cvss_rating(NAN), "unknown");
}

int main(void)
{
	const char *shared = cs_test_shared();

	run_file(shared, "cvss31.tsv", 31);
	run_file(shared, "cvss40.tsv", 40);
	run_file(shared, "cvss40-extended.tsv", 40);
	test_modified_from_fixture(shared);
	test_bad_vectors();
	test_hostile_bytes();
	test_relations();
	test_rating();
	return cs_test_done();
}
