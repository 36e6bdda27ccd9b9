/*
 * util.c - globs, dates and message escaping for policy/.
 *
 * Globs are our own small language (docs/policy.md "Patterns") rather than
 * fnmatch(3): fnmatch's behaviour for bad patterns is unspecified, and we
 * must reject bad patterns at load with a reason. Matching is a dynamic
 * programme over (token, position), O(tokens * length) with no backtracking,
 * so no pattern can make it slow.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/errors.h"
#include "policy/policy_internal.h"

const char *const cs_policy_level_names[CS_LVL_COUNT] = { "unknown", "low", "medium", "high",
							  "critical" };

enum tok_kind { T_LIT, T_ANY, T_CLASS, T_STAR, T_DSTAR };

struct tok {
	enum tok_kind kind;
	unsigned char c;
	int negate;
	uint8_t set[32]; /* bitmap for T_CLASS */
};

/* Compiles pat into toks (at most CS_POLICY_MAX_GLOB); 0 or -1 with *why. */
static int compile(const char *pat, struct tok *toks, size_t *ntok, const char **why)
{
	size_t n = 0, len = strlen(pat), i = 0;

	if (len == 0) {
		*why = "empty pattern";
		return -1;
	}
	if (len > CS_POLICY_MAX_GLOB) {
		*why = "pattern longer than 256 bytes";
		return -1;
	}
	while (i < len) {
		unsigned char c = (unsigned char)pat[i];
		struct tok *t = &toks[n];

		if (c < 0x20 || c == 0x7f) {
			*why = "control character in pattern";
			return -1;
		}
		memset(t, 0, sizeof(*t));
		if (c == '*') {
			size_t run = 0;

			while (i < len && pat[i] == '*') {
				run++;
				i++;
			}
			if (run > 2) {
				*why = "more than two * in a row";
				return -1;
			}
			t->kind = run == 2 ? T_DSTAR : T_STAR;
		} else if (c == '?') {
			t->kind = T_ANY;
			i++;
		} else if (c == '\\') {
			if (i + 1 >= len) {
				*why = "trailing backslash";
				return -1;
			}
			t->kind = T_LIT;
			t->c = (unsigned char)pat[i + 1];
			i += 2;
		} else if (c == '[') {
			size_t j = i + 1;
			int members = 0;

			t->kind = T_CLASS;
			if (j < len && pat[j] == '!') {
				t->negate = 1;
				j++;
			}
			/* POSIX: a ']' first in the class is a member. */
			while (j < len && (pat[j] != ']' || members == 0)) {
				unsigned char lo = (unsigned char)pat[j], hi = lo;

				if (lo == '\\') {
					if (j + 1 >= len) {
						*why = "trailing backslash";
						return -1;
					}
					lo = hi = (unsigned char)pat[++j];
				}
				if (j + 2 < len && pat[j + 1] == '-' && pat[j + 2] != ']') {
					hi = (unsigned char)pat[j + 2];
					if (hi == '\\') {
						*why = "escaped range end in [...]";
						return -1;
					}
					if (hi < lo) {
						*why = "reversed range in [...]";
						return -1;
					}
					j += 2;
				}
				for (unsigned v = lo; v <= hi; v++)
					t->set[v >> 3] |= (uint8_t)(1u << (v & 7));
				members++;
				j++;
			}
			if (j >= len) {
				*why = "unclosed [";
				return -1;
			}
			i = j + 1;
		} else if (c == ']') {
			*why = "unmatched ]";
			return -1;
		} else {
			t->kind = T_LIT;
			t->c = c;
			i++;
		}
		n++;
	}
	*ntok = n;
	return 0;
}

int cs_policy_glob_check(const char *pat, const char **why)
{
	struct tok toks[CS_POLICY_MAX_GLOB];
	size_t n;

	if (compile(pat, toks, &n, why) != 0)
		return CS_EINVAL;
	return 0;
}

void cs_policy_glob_specificity(const char *pat, size_t *literal, size_t *wild)
{
	struct tok toks[CS_POLICY_MAX_GLOB];
	const char *why;
	size_t n, i;

	*literal = *wild = 0;
	if (compile(pat, toks, &n, &why) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (toks[i].kind == T_LIT)
			(*literal)++;
		else
			(*wild)++;
	}
}

static int tok_one(const struct tok *t, unsigned char c)
{
	int in;

	switch (t->kind) {
	case T_LIT: return c == t->c;
	case T_ANY: return c != '/';
	case T_CLASS:
		if (c == '/')
			return 0;
		in = (t->set[c >> 3] >> (c & 7)) & 1;
		return t->negate ? !in : in;
	default: return 0;
	}
}

int cs_policy_glob_match(const char *pat, const char *s)
{
	struct tok toks[CS_POLICY_MAX_GLOB];
	unsigned char a[CS_POLICY_MAX_SUBJECT + 1], b[CS_POLICY_MAX_SUBJECT + 1];
	unsigned char *cur = a, *nxt = b, *tmp;
	const char *why;
	size_t n, i, j, len = strlen(s);

	if (len > CS_POLICY_MAX_SUBJECT || compile(pat, toks, &n, &why) != 0)
		return 0;
	memset(cur, 0, len + 1);
	cur[0] = 1;
	for (i = 0; i < n; i++) {
		const struct tok *t = &toks[i];

		for (j = 0; j <= len; j++) {
			if (t->kind == T_STAR)
				nxt[j] = cur[j] || (j > 0 && nxt[j - 1] && s[j - 1] != '/');
			else if (t->kind == T_DSTAR)
				nxt[j] = cur[j] || (j > 0 && nxt[j - 1]);
			else
				nxt[j] = j > 0 && cur[j - 1] && tok_one(t, (unsigned char)s[j - 1]);
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	return cur[len] ? 1 : 0;
}

static int is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int days_in_month(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* "YYYY-MM-DD" at s (10 bytes, no terminator needed); 0 and the fields, or -1. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
	if (!is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
	    !is_digits(s + 8, 2))
		return -1;
	*y = num(s, 4);
	*m = num(s + 5, 2);
	*d = num(s + 8, 2);
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	return 0;
}

int cs_policy_date_valid(const char *s)
{
	int y, m, d;

	return s != NULL && strlen(s) == 10 && parse_date(s, &y, &m, &d) == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil algorithm, written from its description). */
static long long days_from_civil(int y, int m, int d)
{
	long long yy = y - (m <= 2);
	long long era = (yy >= 0 ? yy : yy - 399) / 400;
	long long yoe = yy - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int cs_policy_datetime_parse(const char *s, long long *secs, long *nanos)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	size_t len = strlen(s), i = 19, fd = 0;
	long frac = 0;

	/* RFC 3339 section 5.6: full-date "T" time-hour ":" time-minute ":"
	 * time-second [time-secfrac] time-offset; 't' and 'z' allowed. */
	if (len < 20 || parse_date(s, &y, &mo, &d) != 0 || (s[10] != 'T' && s[10] != 't') ||
	    !is_digits(s + 11, 2) || s[13] != ':' || !is_digits(s + 14, 2) || s[16] != ':' ||
	    !is_digits(s + 17, 2))
		return -1;
	h = num(s + 11, 2);
	mi = num(s + 14, 2);
	se = num(s + 17, 2);
	if (h > 23 || mi > 59 || se > 60)
		return -1;
	if (s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (fd < 9) {
				frac = frac * 10 + (s[i] - '0');
				fd++;
			}
			i++;
		}
		if (fd == 0)
			return -1;
		for (size_t k = fd; k < 9; k++)
			frac *= 10;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && is_digits(s + i + 1, 2) &&
		   s[i + 3] == ':' && is_digits(s + i + 4, 2)) {
		sign = s[i] == '+' ? 1 : -1;
		oh = num(s + i + 1, 2);
		om = num(s + i + 4, 2);
		if (oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	*secs = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se -
		sign * (oh * 3600LL + om * 60LL);
	*nanos = frac;
	return 0;
}

char *cs_policy_esc(char *dst, size_t n, const char *s, size_t max)
{
	size_t o = 0, k = 0;

	if (n == 0)
		return dst;
	for (; s != NULL && s[k] != '\0'; k++) {
		unsigned char c = (unsigned char)s[k];
		char tmp[8];
		size_t tl;

		if (k >= max) {
			if (o + 4 > n)
				break;
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else if (c == '"' || c == '\\')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else {
			tmp[0] = (char)c;
			tl = 1;
		}
		if (o + tl + 1 > n)
			break;
		memcpy(dst + o, tmp, tl);
		o += tl;
	}
	dst[o] = '\0';
	return dst;
}

int cs_policy_streq_ci(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}

int cs_policy_bad(const char *path, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_err_set(CS_EINVAL, "%s: %s", path, msg);
}

const char *cs_policy_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

int cs_policy_only_keys(const json_t *obj, const char *path, const char *const *allowed)
{
	const char *k;
	json_t *v;
	char p[CS_POLICY_MAX_PATHMSG], esc[160];

	json_object_foreach((json_t *)obj, k, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			cs_policy_esc(esc, sizeof(esc), k, 64);
			if (path[0] == '\0')
				snprintf(p, sizeof(p), "%s", esc);
			else
				snprintf(p, sizeof(p), "%s.%s", path, esc);
			return cs_policy_bad(p, "unknown key");
		}
	}
	return 0;
}
