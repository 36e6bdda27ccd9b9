/*
 * cvss.c - CVSS v3.0 / v3.1 base scores and CVSS v4.0 scores.
 *
 * Written from the specifications (FIRST CVSS v3.1 section 7 and Appendix A;
 * CVSS v4.0 section 8 "CVSS v4.0 Scoring") and checked against the reference
 * vectors in fixtures/cvss/. The v4.0 numeric data below (MacroVector
 * scores, highest-severity vectors per equivalence class, class depths) are
 * the values the specification's reference calculator publishes, re-typed as
 * C tables.
 */
#include "policy/cvss.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/errors.h"

#define CVSS_MAX_METRICS 32

struct cvss_metric {
	const char *name;
	const char *values[6]; /* allowed values, NULL-terminated */
	int mandatory;
};

/* ---------------------------------------------------------------------- */
/* Metric tables                                                          */

/* v3.0 and v3.1 share their metrics (v3.1 section 6, Table 15). */
enum {
	V3_AV, V3_AC, V3_PR, V3_UI, V3_S, V3_C, V3_I, V3_A,
	V3_NMETRICS = 22
};

static const struct cvss_metric v3_metrics[V3_NMETRICS] = {
	{ "AV", { "N", "A", "L", "P" }, 1 },
	{ "AC", { "L", "H" }, 1 },
	{ "PR", { "N", "L", "H" }, 1 },
	{ "UI", { "N", "R" }, 1 },
	{ "S", { "U", "C" }, 1 },
	{ "C", { "H", "L", "N" }, 1 },
	{ "I", { "H", "L", "N" }, 1 },
	{ "A", { "H", "L", "N" }, 1 },
	{ "E", { "X", "U", "P", "F", "H" }, 0 },
	{ "RL", { "X", "O", "T", "W", "U" }, 0 },
	{ "RC", { "X", "U", "R", "C" }, 0 },
	{ "CR", { "X", "L", "M", "H" }, 0 },
	{ "IR", { "X", "L", "M", "H" }, 0 },
	{ "AR", { "X", "L", "M", "H" }, 0 },
	{ "MAV", { "X", "N", "A", "L", "P" }, 0 },
	{ "MAC", { "X", "L", "H" }, 0 },
	{ "MPR", { "X", "N", "L", "H" }, 0 },
	{ "MUI", { "X", "N", "R" }, 0 },
	{ "MS", { "X", "U", "C" }, 0 },
	{ "MC", { "X", "N", "L", "H" }, 0 },
	{ "MI", { "X", "N", "L", "H" }, 0 },
	{ "MA", { "X", "N", "L", "H" }, 0 },
};

/* v4.0, in the order the specification (section 7) and its JSON schema
 * require. A modified base metric sits V4_MOD places after its base metric. */
enum {
	V4_AV, V4_AC, V4_AT, V4_PR, V4_UI, V4_VC, V4_VI, V4_VA, V4_SC, V4_SI,
	V4_SA, V4_E, V4_CR, V4_IR, V4_AR, V4_MAV,
	V4_MOD = V4_MAV - V4_AV,
	V4_NMETRICS = 32
};

static const struct cvss_metric v4_metrics[V4_NMETRICS] = {
	{ "AV", { "N", "A", "L", "P" }, 1 },
	{ "AC", { "L", "H" }, 1 },
	{ "AT", { "N", "P" }, 1 },
	{ "PR", { "N", "L", "H" }, 1 },
	{ "UI", { "N", "P", "A" }, 1 },
	{ "VC", { "H", "L", "N" }, 1 },
	{ "VI", { "H", "L", "N" }, 1 },
	{ "VA", { "H", "L", "N" }, 1 },
	{ "SC", { "H", "L", "N" }, 1 },
	{ "SI", { "H", "L", "N" }, 1 },
	{ "SA", { "H", "L", "N" }, 1 },
	{ "E", { "X", "A", "P", "U" }, 0 },
	{ "CR", { "X", "H", "M", "L" }, 0 },
	{ "IR", { "X", "H", "M", "L" }, 0 },
	{ "AR", { "X", "H", "M", "L" }, 0 },
	{ "MAV", { "X", "N", "A", "L", "P" }, 0 },
	{ "MAC", { "X", "L", "H" }, 0 },
	{ "MAT", { "X", "N", "P" }, 0 },
	{ "MPR", { "X", "N", "L", "H" }, 0 },
	{ "MUI", { "X", "N", "P", "A" }, 0 },
	{ "MVC", { "X", "H", "L", "N" }, 0 },
	{ "MVI", { "X", "H", "L", "N" }, 0 },
	{ "MVA", { "X", "H", "L", "N" }, 0 },
	{ "MSC", { "X", "H", "L", "N" }, 0 },
	{ "MSI", { "X", "S", "H", "L", "N" }, 0 },
	{ "MSA", { "X", "S", "H", "L", "N" }, 0 },
	{ "S", { "X", "N", "P" }, 0 },
	{ "AU", { "X", "N", "Y" }, 0 },
	{ "R", { "X", "A", "U", "I" }, 0 },
	{ "V", { "X", "D", "C" }, 0 },
	{ "RE", { "X", "L", "M", "H" }, 0 },
	{ "U", { "X", "Clear", "Green", "Amber", "Red" }, 0 },
};

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */

/* Copies IN to OUT as printable ASCII ('"', '\\' and control or non-ASCII
 * bytes escaped), ending with "..." when it does not fit. OUTSZ >= 8. */
static void cvss_escape(char *out, size_t outsz, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = 1;

		if (c == '"' || c == '\\')
			need = 2;
		else if (c < 0x20 || c >= 0x7f)
			need = 4;
		/* Keep room for "..." and the NUL. */
		if (o + need + 4 > outsz) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else if (need == 2) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static int cvss_fail(int code, const char *vec, size_t veclen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cvss_fail(int code, const char *vec, size_t veclen, const char *fmt, ...)
{
	char what[256], ev[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cvss_escape(ev, sizeof(ev), vec, veclen);
	return cs_err_set(code, "CVSS vector \"%s\": %s", ev, what);
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                */

/*
 * Parses the "/NAME:VALUE" components of VEC from offset OFF into SEL
 * (index into the metric's values, -1 when absent). ORDERED: metrics must
 * follow the table's order.
 */
static int cvss_parse(int *sel, const struct cvss_metric *defs, size_t ndefs, int ordered,
		      const char *vec, size_t veclen, size_t off)
{
	const char *p = vec + off, *end = vec + veclen;
	size_t i, last = 0;
	int have_last = 0;

	for (i = 0; i < ndefs; i++)
		sel[i] = -1;

	while (p < end) {
		const char *name, *colon, *val, *next;
		size_t nlen, vlen, m, k;
		char en[48], evv[48];

		if (*p != '/')
			return cvss_fail(CS_EFORMAT, vec, veclen, "expected '/' at offset %zu",
					 (size_t)(p - vec));
		name = ++p;
		next = memchr(p, '/', (size_t)(end - p));
		if (next == NULL)
			next = end;
		if (next == name)
			return cvss_fail(CS_EFORMAT, vec, veclen, "empty metric component at offset %zu",
					 (size_t)(name - vec));
		colon = memchr(p, ':', (size_t)(next - p));
		if (colon == NULL) {
			cvss_escape(en, sizeof(en), name, (size_t)(next - name));
			return cvss_fail(CS_EFORMAT, vec, veclen,
					 "component \"%s\" at offset %zu is not METRIC:VALUE", en,
					 (size_t)(name - vec));
		}
		nlen = (size_t)(colon - name);
		val = colon + 1;
		vlen = (size_t)(next - val);
		cvss_escape(en, sizeof(en), name, nlen);
		cvss_escape(evv, sizeof(evv), val, vlen);
		if (nlen == 0 || vlen == 0)
			return cvss_fail(CS_EFORMAT, vec, veclen,
					 "empty metric name or value at offset %zu",
					 (size_t)(name - vec));
		for (m = 0; m < ndefs; m++)
			if (strlen(defs[m].name) == nlen && memcmp(defs[m].name, name, nlen) == 0)
				break;
		if (m == ndefs)
			return cvss_fail(CS_EFORMAT, vec, veclen, "unknown metric \"%s\"", en);
		if (sel[m] >= 0)
			return cvss_fail(CS_EFORMAT, vec, veclen, "duplicate metric %s", en);
		for (k = 0; defs[m].values[k] != NULL; k++)
			if (strlen(defs[m].values[k]) == vlen &&
			    memcmp(defs[m].values[k], val, vlen) == 0)
				break;
		if (defs[m].values[k] == NULL)
			return cvss_fail(CS_EFORMAT, vec, veclen, "bad value \"%s\" for metric %s",
					 evv, en);
		if (ordered && have_last && m < last)
			return cvss_fail(CS_EFORMAT, vec, veclen,
					 "metric %s out of order (after %s; the specification fixes the order)",
					 en, defs[last].name);
		sel[m] = (int)k;
		last = m;
		have_last = 1;
		p = next;
	}
	for (i = 0; i < ndefs; i++)
		if (defs[i].mandatory && sel[i] < 0)
			return cvss_fail(CS_EFORMAT, vec, veclen, "missing mandatory metric %s",
					 defs[i].name);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* CVSS v3.0 / v3.1 base score (v3.1 specification section 7.1)           */

/* v3.1 Appendix A: round to 5 decimals first so that floating-point noise
 * (4.000000000000001) does not push a score up by 0.1. X >= 0. */
static double cvss_roundup31(double x)
{
	long long i = (long long)(x * 100000.0 + 0.5);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

/* v3.0: the smallest one-decimal number >= X (no pre-rounding). X >= 0. */
static double cvss_roundup30(double x)
{
	double t = x * 10.0;
	long long i = (long long)t;

	if ((double)i < t)
		i++;
	return (double)i / 10.0;
}

static double cvss_v3_base(const int *sel, int version)
{
	/* Weights in the order of the values in v3_metrics. */
	static const double av[] = { 0.85, 0.62, 0.55, 0.2 };
	static const double ac[] = { 0.77, 0.44 };
	static const double pr_unchanged[] = { 0.85, 0.62, 0.27 };
	static const double pr_changed[] = { 0.85, 0.68, 0.5 };
	static const double ui[] = { 0.85, 0.62 };
	static const double cia[] = { 0.56, 0.22, 0.0 };
	int changed = sel[V3_S] == 1;
	double iss, impact, expl, sum;

	iss = 1.0 - ((1.0 - cia[sel[V3_C]]) * (1.0 - cia[sel[V3_I]]) * (1.0 - cia[sel[V3_A]]));
	if (!changed) {
		impact = 6.42 * iss;
	} else {
		/* (ISS - 0.02)^15 by multiplication: no libm needed, and the
		 * Roundup absorbs the last-bit difference from pow(). */
		double pw = 1.0;

		for (int k = 0; k < 15; k++)
			pw *= iss - 0.02;
		impact = 7.52 * (iss - 0.029) - 3.25 * pw;
	}
	expl = 8.22 * av[sel[V3_AV]] * ac[sel[V3_AC]] *
	       (changed ? pr_changed : pr_unchanged)[sel[V3_PR]] * ui[sel[V3_UI]];
	if (impact <= 0.0)
		return 0.0;
	sum = changed ? 1.08 * (impact + expl) : impact + expl;
	if (sum > 10.0)
		sum = 10.0;
	return version == 30 ? cvss_roundup30(sum) : cvss_roundup31(sum);
}

/* ---------------------------------------------------------------------- */
/* CVSS v4.0 (specification section 8)                                    */

/*
 * MacroVector scores in tenths, indexed [EQ1][EQ2][EQ3][EQ4][EQ5 * 2 + EQ6];
 * NA where EQ3=2 and EQ6=0, which cannot happen (EQ6=0 needs a High
 * vulnerable-system impact, EQ3=2 has none). 270 real entries.
 */
#define NA (-1)
static const int16_t v4_macro[3][2][3][3][6] = {
	/*            EQ5,EQ6: 00    01    10    11    20    21 */
	{
		{
			{
				/* 0000 */ { 100,  99,  98,  95,  95,  92 },
				/* 0001 */ { 100,  96,  93,  87,  91,  81 },
				/* 0002 */ {  93,  90,  89,  80,  81,  68 },
			},
			{
				/* 0010 */ {  98,  95,  95,  92,  90,  84 },
				/* 0011 */ {  93,  92,  89,  81,  81,  65 },
				/* 0012 */ {  88,  80,  78,  70,  69,  48 },
			},
			{
				/* 0020 */ {  NA,  92,  NA,  82,  NA,  72 },
				/* 0021 */ {  NA,  79,  NA,  69,  NA,  50 },
				/* 0022 */ {  NA,  69,  NA,  55,  NA,  27 },
			},
		},
		{
			{
				/* 0100 */ {  99,  97,  95,  92,  92,  85 },
				/* 0101 */ {  95,  91,  90,  83,  84,  71 },
				/* 0102 */ {  92,  81,  82,  71,  72,  53 },
			},
			{
				/* 0110 */ {  95,  93,  92,  85,  85,  73 },
				/* 0111 */ {  92,  82,  80,  72,  70,  59 },
				/* 0112 */ {  84,  70,  71,  52,  50,  30 },
			},
			{
				/* 0120 */ {  NA,  86,  NA,  75,  NA,  52 },
				/* 0121 */ {  NA,  71,  NA,  52,  NA,  29 },
				/* 0122 */ {  NA,  63,  NA,  29,  NA,  17 },
			},
		},
	},
	{
		{
			{
				/* 1000 */ {  98,  95,  94,  87,  91,  81 },
				/* 1001 */ {  94,  89,  86,  74,  77,  64 },
				/* 1002 */ {  87,  75,  74,  63,  63,  49 },
			},
			{
				/* 1010 */ {  94,  89,  88,  77,  76,  67 },
				/* 1011 */ {  86,  76,  74,  58,  59,  50 },
				/* 1012 */ {  72,  57,  57,  52,  52,  25 },
			},
			{
				/* 1020 */ {  NA,  83,  NA,  70,  NA,  54 },
				/* 1021 */ {  NA,  65,  NA,  58,  NA,  26 },
				/* 1022 */ {  NA,  53,  NA,  21,  NA,  13 },
			},
		},
		{
			{
				/* 1100 */ {  95,  90,  88,  76,  76,  70 },
				/* 1101 */ {  90,  77,  75,  62,  61,  53 },
				/* 1102 */ {  77,  66,  68,  59,  52,  30 },
			},
			{
				/* 1110 */ {  89,  78,  76,  67,  62,  58 },
				/* 1111 */ {  74,  59,  57,  57,  47,  23 },
				/* 1112 */ {  61,  52,  57,  29,  24,  16 },
			},
			{
				/* 1120 */ {  NA,  71,  NA,  59,  NA,  30 },
				/* 1121 */ {  NA,  58,  NA,  26,  NA,  15 },
				/* 1122 */ {  NA,  23,  NA,  13,  NA,   6 },
			},
		},
	},
	{
		{
			{
				/* 2000 */ {  93,  87,  86,  72,  75,  58 },
				/* 2001 */ {  86,  74,  74,  61,  56,  34 },
				/* 2002 */ {  70,  54,  52,  40,  40,  22 },
			},
			{
				/* 2010 */ {  85,  75,  74,  55,  62,  51 },
				/* 2011 */ {  72,  57,  55,  41,  46,  19 },
				/* 2012 */ {  53,  36,  34,  19,  19,   8 },
			},
			{
				/* 2020 */ {  NA,  64,  NA,  51,  NA,  20 },
				/* 2021 */ {  NA,  47,  NA,  21,  NA,  11 },
				/* 2022 */ {  NA,  24,  NA,   9,  NA,   4 },
			},
		},
		{
			{
				/* 2100 */ {  88,  75,  73,  53,  60,  50 },
				/* 2101 */ {  73,  55,  59,  40,  41,  20 },
				/* 2102 */ {  54,  43,  45,  22,  20,  11 },
			},
			{
				/* 2110 */ {  75,  55,  58,  45,  40,  21 },
				/* 2111 */ {  61,  51,  48,  18,  20,   9 },
				/* 2112 */ {  46,  18,  17,   7,   8,   2 },
			},
			{
				/* 2120 */ {  NA,  53,  NA,  24,  NA,  14 },
				/* 2121 */ {  NA,  24,  NA,  12,  NA,   5 },
				/* 2122 */ {  NA,  10,  NA,   3,  NA,   1 },
			},
		},
	},
};
#undef NA

/* Score of MacroVector e[0..5] in tenths, or -1 when it does not exist. */
static int v4_lookup(const int *e)
{
	if (e[0] < 0 || e[0] > 2 || e[1] < 0 || e[1] > 1 || e[2] < 0 || e[2] > 2 ||
	    e[3] < 0 || e[3] > 2 || e[4] < 0 || e[4] > 2 || e[5] < 0 || e[5] > 1)
		return -1;
	return v4_macro[e[0]][e[1]][e[2]][e[3]][e[4] * 2 + e[5]];
}

/* Score of E with one digit bumped by one, or -1. */
static int v4_lookup_bumped(const int *e, int i, int j)
{
	int t[6];

	memcpy(t, e, sizeof(t));
	t[i]++;
	if (j >= 0)
		t[j]++;
	return v4_lookup(t);
}

/*
 * Depth of each equivalence class: the largest severity distance, in
 * 0.1-steps, from its highest-severity vectors (plus one), as published with
 * the specification.
 */
static const int v4_depth_eq1[3] = { 1, 4, 5 };
static const int v4_depth_eq2[2] = { 1, 2 };
static const int v4_depth_eq3eq6[3][2] = { { 7, 6 }, { 8, 8 }, { 0, 10 } };
static const int v4_depth_eq4[3] = { 6, 5, 4 };

/*
 * The highest-severity vectors of each class, as value letters of the
 * metrics named in the comment, in the specification's order of preference
 * (the first one that the scored vector does not exceed is used).
 */
static const char *const v4_max_eq1[3][3] = {          /* AV PR UI */
	{ "NNN" }, { "ANN", "NLN", "NNP" }, { "PNN", "ALP" },
};
static const char *const v4_max_eq2[2][2] = {          /* AC AT */
	{ "LN" }, { "HN", "LP" },
};
static const char *const v4_max_eq3eq6[3][2][5] = {    /* VC VI VA CR IR AR */
	{ { "HHHHHH" }, { "HHLMMH", "HHHMMM" } },
	{ { "LHHHHH", "HLHHHH" }, { "LHLHMH", "LHHHMM", "HLHMHM", "HLLMHH", "LLHHHM" } },
	{ { NULL }, { "LLLHHH" } },
};
static const char *const v4_max_eq4[3] = { "HSS", "HHH", "LLL" }; /* SC SI SA */

/* Severity level of a value letter: its position in the metric's ladder
 * (0 = most severe). SC shares the SI/SA ladder; it never takes 'S'. */
static int v4_level(const char *ladder, char v)
{
	const char *q = strchr(ladder, v);

	return q != NULL && v != '\0' ? (int)(q - ladder) : 0;
}

struct v4_eff {
	/* Effective letters (modified metric when set, worst-case defaults for
	 * E, CR, IR, AR when not defined). */
	char av, ac, at, pr, ui, vc, vi, va, sc, si, sa, e, cr, ir, ar;
};

static char v4_letter(const int *sel, int m)
{
	return sel[m] < 0 ? 'X' : v4_metrics[m].values[sel[m]][0];
}

static char v4_effective(const int *sel, int m)
{
	char v;

	if (m <= V4_SA) {
		v = v4_letter(sel, m + V4_MOD);
		return v != 'X' ? v : v4_letter(sel, m);
	}
	v = v4_letter(sel, m);
	if (v == 'X')
		return m == V4_E ? 'A' : 'H'; /* E:X is E:A; xR:X is xR:H */
	return v;
}

static double cvss_v4_score(const int *sel)
{
	struct v4_eff f;
	int eq[6], value, lower[5], n, i, a, b, c, d;
	int dist_eq1 = 0, dist_eq2 = 0, dist_eq36 = 0, dist_eq4 = 0;
	int found = 0;
	long long depth[4], dist[4], m, num, den;

	f.av = v4_effective(sel, V4_AV);
	f.ac = v4_effective(sel, V4_AC);
	f.at = v4_effective(sel, V4_AT);
	f.pr = v4_effective(sel, V4_PR);
	f.ui = v4_effective(sel, V4_UI);
	f.vc = v4_effective(sel, V4_VC);
	f.vi = v4_effective(sel, V4_VI);
	f.va = v4_effective(sel, V4_VA);
	f.sc = v4_effective(sel, V4_SC);
	f.si = v4_effective(sel, V4_SI);
	f.sa = v4_effective(sel, V4_SA);
	f.e = v4_effective(sel, V4_E);
	f.cr = v4_effective(sel, V4_CR);
	f.ir = v4_effective(sel, V4_IR);
	f.ar = v4_effective(sel, V4_AR);

	/* No impact on either system scores 0 whatever else is set. */
	if (f.vc == 'N' && f.vi == 'N' && f.va == 'N' && f.sc == 'N' && f.si == 'N' &&
	    f.sa == 'N')
		return 0.0;

	/* Equivalence classes (specification Table 24). */
	if (f.av == 'N' && f.pr == 'N' && f.ui == 'N')
		eq[0] = 0;
	else if ((f.av == 'N' || f.pr == 'N' || f.ui == 'N') && f.av != 'P')
		eq[0] = 1;
	else
		eq[0] = 2;
	eq[1] = f.ac == 'L' && f.at == 'N' ? 0 : 1;
	if (f.vc == 'H' && f.vi == 'H')
		eq[2] = 0;
	else if (f.vc == 'H' || f.vi == 'H' || f.va == 'H')
		eq[2] = 1;
	else
		eq[2] = 2;
	if (f.si == 'S' || f.sa == 'S')
		eq[3] = 0;
	else if (f.sc == 'H' || f.si == 'H' || f.sa == 'H')
		eq[3] = 1;
	else
		eq[3] = 2;
	eq[4] = f.e == 'A' ? 0 : f.e == 'P' ? 1 : 2;
	eq[5] = (f.cr == 'H' && f.vc == 'H') || (f.ir == 'H' && f.vi == 'H') ||
		(f.ar == 'H' && f.va == 'H') ? 0 : 1;

	value = v4_lookup(eq);
	if (value < 0)
		return 0.0; /* unreachable: every reachable class is in the table */

	/* The next lower MacroVector along each EQ (-1: none). EQ3 and EQ6
	 * move together: 00 -> the higher of 01 and 10; 01 -> 11; 10 -> 11;
	 * 11 -> 21; 21 -> none. */
	lower[0] = v4_lookup_bumped(eq, 0, -1);
	lower[1] = v4_lookup_bumped(eq, 1, -1);
	if (eq[2] == 0 && eq[5] == 0) {
		a = v4_lookup_bumped(eq, 5, -1);
		b = v4_lookup_bumped(eq, 2, -1);
		lower[2] = a > b ? a : b;
	} else if (eq[2] == 1 && eq[5] == 0) {
		lower[2] = v4_lookup_bumped(eq, 5, -1);
	} else if (eq[5] == 1 && eq[2] < 2) {
		lower[2] = v4_lookup_bumped(eq, 2, -1);
	} else {
		lower[2] = v4_lookup_bumped(eq, 2, 5);
	}
	lower[3] = v4_lookup_bumped(eq, 3, -1);
	lower[4] = v4_lookup_bumped(eq, 4, -1);

	/* Severity distance from the first highest-severity vector of the
	 * class that the scored vector does not exceed in any metric; if none
	 * qualifies, the reference uses the last one tried, and so do we. */
	for (a = 0; a < 3 && !found && v4_max_eq1[eq[0]][a] != NULL; a++) {
		for (b = 0; b < 2 && !found && v4_max_eq2[eq[1]][b] != NULL; b++) {
			for (c = 0; c < 5 && !found && v4_max_eq3eq6[eq[2]][eq[5]][c] != NULL; c++) {
				const char *m1 = v4_max_eq1[eq[0]][a];
				const char *m2 = v4_max_eq2[eq[1]][b];
				const char *m3 = v4_max_eq3eq6[eq[2]][eq[5]][c];
				const char *m4 = v4_max_eq4[eq[3]];
				int dav = v4_level("NALP", f.av) - v4_level("NALP", m1[0]);
				int dpr = v4_level("NLH", f.pr) - v4_level("NLH", m1[1]);
				int dui = v4_level("NPA", f.ui) - v4_level("NPA", m1[2]);
				int dac = v4_level("LH", f.ac) - v4_level("LH", m2[0]);
				int dat = v4_level("NP", f.at) - v4_level("NP", m2[1]);
				int dvc = v4_level("HLN", f.vc) - v4_level("HLN", m3[0]);
				int dvi = v4_level("HLN", f.vi) - v4_level("HLN", m3[1]);
				int dva = v4_level("HLN", f.va) - v4_level("HLN", m3[2]);
				int dcr = v4_level("HML", f.cr) - v4_level("HML", m3[3]);
				int dir = v4_level("HML", f.ir) - v4_level("HML", m3[4]);
				int dar = v4_level("HML", f.ar) - v4_level("HML", m3[5]);
				int dsc = v4_level("SHLN", f.sc) - v4_level("SHLN", m4[0]);
				int dsi = v4_level("SHLN", f.si) - v4_level("SHLN", m4[1]);
				int dsa = v4_level("SHLN", f.sa) - v4_level("SHLN", m4[2]);

				dist_eq1 = dav + dpr + dui;
				dist_eq2 = dac + dat;
				dist_eq36 = dvc + dvi + dva + dcr + dir + dar;
				dist_eq4 = dsc + dsi + dsa;
				found = dav >= 0 && dpr >= 0 && dui >= 0 && dac >= 0 && dat >= 0 &&
					dvc >= 0 && dvi >= 0 && dva >= 0 && dcr >= 0 && dir >= 0 &&
					dar >= 0 && dsc >= 0 && dsi >= 0 && dsa >= 0;
			}
		}
	}

	/*
	 * Score = value - mean over the EQs that have a lower MacroVector of
	 * (value - lower) * distance / depth (EQ5 counts with distance 0).
	 * All inputs are integers in tenths, so this is done as an exact
	 * fraction num/den and rounded half up: the reference calculator's
	 * floating-point version needed an epsilon to get the same result.
	 */
	depth[0] = v4_depth_eq1[eq[0]];
	depth[1] = v4_depth_eq2[eq[1]];
	depth[2] = v4_depth_eq3eq6[eq[2]][eq[5]];
	depth[3] = v4_depth_eq4[eq[3]];
	dist[0] = dist_eq1;
	dist[1] = dist_eq2;
	dist[2] = dist_eq36;
	dist[3] = dist_eq4;
	m = depth[0] * depth[1] * depth[2] * depth[3];
	if (m == 0)
		return (double)value / 10.0; /* unreachable: EQ3=2 with EQ6=0 */
	n = 0;
	num = 0;
	for (i = 0; i < 4; i++) {
		if (lower[i] < 0)
			continue;
		n++;
		num += (long long)(value - lower[i]) * dist[i] * (m / depth[i]);
	}
	if (lower[4] >= 0)
		n++;
	if (n == 0)
		return (double)value / 10.0;
	den = (long long)n * m;
	num = (long long)value * den - num;
	if (num <= 0)
		return 0.0;
	if (num >= 100 * den)
		return 10.0;
	d = (int)((2 * num + den) / (2 * den));
	return (double)d / 10.0;
}

/* ---------------------------------------------------------------------- */
/* Public                                                                 */

static int cvss_prefix_is(const char *v, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && memcmp(v, pfx, n) == 0 && (len == n || v[n] == '/');
}

int cs_cvss_score(double *score, int *version, const char *vector)
{
	int sel[CVSS_MAX_METRICS];
	size_t len;
	int r;

	if (score != NULL)
		*score = 0.0;
	if (version != NULL)
		*version = 0;
	if (score == NULL || version == NULL || vector == NULL)
		return cs_err_set(CS_EINVAL, "cs_cvss_score: NULL argument");

	len = strnlen(vector, CS_CVSS_MAX_VECTOR + 1);
	if (len > CS_CVSS_MAX_VECTOR)
		return cvss_fail(CS_EFORMAT, vector, 64, "longer than %d bytes",
				 CS_CVSS_MAX_VECTOR);
	if (len == 0)
		return cvss_fail(CS_EFORMAT, vector, len, "empty");

	if (cvss_prefix_is(vector, len, "CVSS:3.0") || cvss_prefix_is(vector, len, "CVSS:3.1")) {
		int v = vector[7] == '0' ? 30 : 31;

		if ((r = cvss_parse(sel, v3_metrics, V3_NMETRICS, 0, vector, len, 8)) != 0)
			return r;
		*score = cvss_v3_base(sel, v);
		*version = v;
		return 0;
	}
	if (cvss_prefix_is(vector, len, "CVSS:4.0")) {
		if ((r = cvss_parse(sel, v4_metrics, V4_NMETRICS, 1, vector, len, 8)) != 0)
			return r;
		*score = cvss_v4_score(sel);
		*version = 40;
		return 0;
	}

	/* v2 has no prefix ("AV:N/AC:L/Au:N/..."), sometimes parenthesised. */
	if (cvss_prefix_is(vector, len, "CVSS:2.0") ||
	    ((strncmp(vector, "AV:", 3) == 0 || strncmp(vector, "(AV:", 4) == 0) &&
	     strstr(vector, "/Au:") != NULL))
		return cvss_fail(CS_EUNSUPPORTED, vector, len, "CVSS v2 is not supported");
	if (len >= 8 && memcmp(vector, "CVSS:", 5) == 0 && vector[5] >= '0' && vector[5] <= '9' &&
	    vector[6] == '.' && vector[7] >= '0' && vector[7] <= '9' &&
	    (len == 8 || vector[8] == '/'))
		return cvss_fail(CS_EUNSUPPORTED, vector, len, "unsupported CVSS version %.3s",
				 vector + 5);
	return cvss_fail(CS_EFORMAT, vector, len,
			 "does not start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/");
}

const char *cs_cvss_rating(double score)
{
	long t;

	/* NaN fails both comparisons. */
	if (!(score >= 0.0 && score <= 10.0))
		return "unknown";
	t = (long)(score * 10.0 + 0.5);
	if (t == 0)
		return "none";
	if (t <= 39)
		return "low";
	if (t <= 69)
		return "medium";
	if (t <= 89)
		return "high";
	return "critical";
}
