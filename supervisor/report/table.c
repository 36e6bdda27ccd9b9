/*
 * table.c - the report as text for a terminal (docs/formats.md "Table").
 *
 * Everything printed from the report (image names, package names and
 * versions, advisory ids and titles, reasons) comes from the image or the
 * advisory data and goes through esc(): no control character, no bidi
 * control, no invalid UTF-8 reaches the terminal (STYLE.md 14; CVE-2021-42574
 * "Trojan Source" for the bidi ones). Widths are counted in display columns
 * with a small built-in table (wide East Asian ranges count 2, combining
 * marks 0), not wcwidth(), so the output does not depend on the locale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

#define MIN_WIDTH 60
#define DEFAULT_WIDTH 80
#define MAX_WIDTH 4096
#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */
#define DASH "\xe2\x80\x94"	/* U+2014 */

/* ANSI SGR sequences; written only with color=1, never counted as width. */
static const char *const level_color[CS_REPORT_NLEVELS] = {
	"\x1b[1;31m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[2m",
};
#define C_RESET "\x1b[0m"
#define C_BOLD "\x1b[1m"
#define C_GREEN "\x1b[1;32m"
#define C_RED "\x1b[1;31m"
#define C_MAGENTA "\x1b[1;35m"
#define C_YELLOW "\x1b[1;33m"

struct out {
	struct cs_buf b;
	int color;
	size_t width;
	int r; /* first error; later writes are skipped */
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->r == 0)
		o->r = cs_buf_add(&o->b, p, n);
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void color_on(struct out *o, const char *sgr)
{
	if (o->color)
		puts_(o, sgr);
}

static void color_off(struct out *o)
{
	if (o->color)
		puts_(o, C_RESET);
}

static void spaces(struct out *o, size_t n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		put(o, sp, k);
		n -= k;
	}
}

/* ---- escaping and display width ----------------------------------------- */

/* Decodes one UTF-8 sequence strictly (no overlong forms, no surrogates,
 * nothing past U+10FFFF). Returns its length, or 0 if p[0] starts none. */
static size_t utf8_decode(const unsigned char *p, unsigned *cp)
{
	unsigned c = p[0], v;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		/* The NUL terminator fails this test, so no read past it. */
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Code points shown as \u{XXXX}: C1 controls, and invisible characters
 * that reorder or hide text (bidi embeddings, overrides and isolates,
 * zero-width spaces and joiners, line/paragraph separators, BOM,
 * interlinear annotation, tags). */
static int must_escape(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0xad ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
	       (cp >= 0xe0000 && cp <= 0xe007f);
}

/* Display columns of a printable code point: 0 for combining marks and
 * variation selectors, 2 for East Asian wide/fullwidth and emoji blocks. */
static int cp_width(unsigned cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x483 && cp <= 0x489) ||
	    (cp >= 0x591 && cp <= 0x5bd) || (cp >= 0x610 && cp <= 0x61a) ||
	    (cp >= 0x64b && cp <= 0x65f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
	    (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xfe20 && cp <= 0xfe2f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
	    (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/*
 * The next display token of s: either the bytes of one printable code
 * point, or the escape text standing for a byte or code point that must
 * not reach the terminal. tok gets the bytes (NUL-terminated), *cols
 * its width; returns the number of input bytes consumed (0 at the end).
 */
static size_t next_token(const unsigned char *s, char tok[16], size_t *toklen, size_t *cols)
{
	unsigned cp;
	size_t n;

	if (*s == '\0')
		return 0;
	n = utf8_decode(s, &cp);
	if (n == 0) {
		*toklen = (size_t)snprintf(tok, 16, "\\x%02X", *s);
		*cols = *toklen;
		return 1;
	}
	if (cp < 0x20 || cp == 0x7f) {
		*toklen = (size_t)snprintf(tok, 16, "\\x%02X", cp);
		*cols = *toklen;
	} else if (cp == '\\') {
		memcpy(tok, "\\\\", 3);
		*toklen = 2;
		*cols = 2;
	} else if (must_escape(cp)) {
		*toklen = (size_t)snprintf(tok, 16, "\\u{%04X}", cp);
		*cols = *toklen;
	} else {
		memcpy(tok, s, n);
		tok[n] = '\0';
		*toklen = n;
		*cols = (size_t)cp_width(cp);
	}
	return n;
}

/* Display width of s once escaped, counting at most up to limit. */
static size_t esc_width(const char *s, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, tl, tw, n;
	char tok[16];

	if (s == NULL)
		return 0;
	while (w <= limit && (n = next_token(p, tok, &tl, &tw)) > 0) {
		w += tw;
		p += n;
	}
	return w;
}

/*
 * Writes s escaped, in at most max columns: when it does not fit, as much
 * as fits in max - 1 followed by an ellipsis. Returns the columns written.
 */
static size_t esc(struct out *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, tl, tw, n, full;
	char tok[16];

	if (s == NULL || max == 0)
		return 0;
	full = esc_width(s, max);
	if (full <= max) {
		while ((n = next_token(p, tok, &tl, &tw)) > 0) {
			put(o, tok, tl);
			p += n;
		}
		return full;
	}
	while ((n = next_token(p, tok, &tl, &tw)) > 0 && w + tw <= max - 1) {
		put(o, tok, tl);
		w += tw;
		p += n;
	}
	puts_(o, ELLIPSIS);
	return w + 1;
}

/*
 * Writes text word-wrapped: the first line starts after `used` columns
 * already on it, continuation lines are indented by indent. Words longer
 * than a line are cut with an ellipsis. Every line ends with a newline.
 */
static void wrap(struct out *o, const char *text, size_t used, size_t indent)
{
	const char *p = text, *e;
	size_t col = used, room;
	char *word = NULL;
	int first = 1;

	while (p != NULL && *p != '\0' && o->r == 0) {
		size_t n, ww;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, ' ');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		free(word);
		if ((word = malloc(n + 1)) == NULL) {
			o->r = cs_err_set(CS_ENOMEM, "out of memory");
			break;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		ww = esc_width(word, o->width);
		if (!first && col + 1 + ww > o->width) {
			puts_(o, "\n");
			spaces(o, indent);
			col = indent;
			first = 1;
		}
		if (!first) {
			puts_(o, " ");
			col++;
		}
		room = o->width > col ? o->width - col : 1;
		col += esc(o, word, room);
		first = 0;
	}
	free(word);
	puts_(o, "\n");
}

/* ---- the findings table --------------------------------------------------- */

enum { COL_PKG, COL_INST, COL_FIXED, COL_ID, COL_LAYER, COL_TITLE, NCOLS };

static const char *const col_name[NCOLS] = {
	"PACKAGE", "INSTALLED", "FIXED", "ID", "LAYER", "TITLE",
};
/* Narrowest a column gets (the sum, with the 2-space gaps, is MIN_WIDTH),
 * and widest the fitting gives it before the title takes the rest. */
static const size_t col_min[NCOLS] = { 8, 7, 7, 13, 5, 10 };
static const size_t col_cap[NCOLS] = { 40, 32, 32, 32, 5, 0 };
/* What the first fitting pass leaves: a Debian version like
 * 3.0.11-1~deb12u2 and an id like CVE-2024-12345 whole. */
static const size_t col_soft[NCOLS] = { 12, 16, 16, 14, 5, 10 };
#define GAP 2

/* The cells of one finding, borrowed from the report (layer in buf). */
struct row {
	const char *cell[NCOLS];
	char layer[24];
};

static void make_row(struct row *rw, const json_t *f, int ignored)
{
	const json_t *pkg = json_object_get(f, "package");
	const json_t *fix = json_object_get(f, "fix");
	const json_t *layer = json_object_get(pkg, "layer");
	const char *state = cs_report_str(fix, "state");
	const char *fixed = cs_report_str(fix, "version");

	memset(rw, 0, sizeof(*rw));
	rw->cell[COL_PKG] = cs_report_str(pkg, "name");
	rw->cell[COL_INST] = cs_report_str(f, "installed_version");
	if (rw->cell[COL_INST] == NULL)
		rw->cell[COL_INST] = cs_report_str(pkg, "version");
	if (state != NULL && strcmp(state, "fixed") == 0 && fixed != NULL)
		rw->cell[COL_FIXED] = fixed;
	else if (state != NULL && strcmp(state, "not-fixed") == 0)
		rw->cell[COL_FIXED] = "not fixed";
	else if (state != NULL && strcmp(state, "will-not-fix") == 0)
		rw->cell[COL_FIXED] = "will not fix";
	else
		rw->cell[COL_FIXED] = DASH;
	rw->cell[COL_ID] = cs_report_str(f, "id");
	if (json_is_integer(layer))
		snprintf(rw->layer, sizeof(rw->layer), "%lld",
			 (long long)json_integer_value(layer));
	else
		snprintf(rw->layer, sizeof(rw->layer), "-");
	rw->cell[COL_LAYER] = rw->layer;
	rw->cell[COL_TITLE] = cs_report_str(f, "summary");
	if (ignored) {
		const json_t *d = json_object_get(f, "decision");
		const char *by = cs_report_str(d, "by");
		rw->cell[COL_TITLE] = by == NULL	      ? "ignored" :
				      strcmp(by, "vex") == 0  ? "ignored by VEX" :
				      strcmp(by, "rule") == 0 ? "ignored by a policy rule" :
				      strcmp(by, "ignore-unfixed") == 0 ?
								"ignored: no fix (ignore-unfixed)" :
								"ignored";
	}
}

/* Narrows the columns before the layer, the widest first, each not
 * below min, until title columns are left in avail (or none can give). */
static void shrink(size_t w[NCOLS], const size_t min[NCOLS], size_t avail, size_t title)
{
	size_t c, best, sum;

	for (;;) {
		sum = w[COL_PKG] + w[COL_INST] + w[COL_FIXED] + w[COL_ID];
		if (sum + title <= avail)
			return;
		best = NCOLS;
		for (c = 0; c < COL_LAYER; c++)
			if (w[c] > min[c] && (best == NCOLS || w[c] > w[best]))
				best = c;
		if (best == NCOLS)
			return;
		w[best]--;
	}
}

/* Column widths for the listed findings, fitted to o->width. */
static void fit_columns(size_t w[NCOLS], const json_t *findings, int show_ignored, size_t width)
{
	size_t nat[NCOLS], i, c, sum, avail, title;
	const json_t *f;
	struct row rw;

	for (c = 0; c < NCOLS; c++)
		nat[c] = strlen(col_name[c]);
	json_array_foreach(findings, i, f) {
		int ign = cs_report_finding_ignored(f);
		if (ign && !show_ignored)
			continue;
		make_row(&rw, f, ign);
		for (c = 0; c < NCOLS; c++) {
			size_t limit = col_cap[c] != 0 ? col_cap[c] : width;
			size_t cw = esc_width(rw.cell[c], limit);
			if (cw > nat[c])
				nat[c] = cw;
		}
	}
	for (c = 0; c < NCOLS; c++)
		w[c] = col_cap[c] != 0 && nat[c] > col_cap[c] ? col_cap[c] : nat[c];
	/* The columns before the title shrink, the widest first: first to
	 * soft minimums that keep typical versions and ids whole while the
	 * title gets up to a third of the line, then to the hard minimums
	 * (MIN_WIDTH in all) while the title keeps its own. */
	avail = width - GAP * (NCOLS - 1) - w[COL_LAYER];
	title = width / 3 < nat[COL_TITLE] ? width / 3 : nat[COL_TITLE];
	if (title < col_min[COL_TITLE])
		title = col_min[COL_TITLE];
	shrink(w, col_soft, avail, title);
	shrink(w, col_min, avail, col_min[COL_TITLE]);
	sum = w[COL_PKG] + w[COL_INST] + w[COL_FIXED] + w[COL_ID];
	w[COL_TITLE] = avail > sum ? avail - sum : col_min[COL_TITLE];
	if (w[COL_TITLE] > nat[COL_TITLE])
		w[COL_TITLE] = nat[COL_TITLE];
}

static void cells(struct out *o, const char *const cell[NCOLS], const size_t w[NCOLS])
{
	/* The title is last: no padding after it, and none after the layer
	 * when there is no title (no trailing blanks). */
	size_t last = cell[COL_TITLE] == NULL || cell[COL_TITLE][0] == '\0' ? COL_LAYER : COL_TITLE;
	size_t c, used;

	for (c = 0; c <= last; c++) {
		if (c > 0)
			spaces(o, GAP);
		used = esc(o, cell[c] != NULL ? cell[c] : "", w[c]);
		if (c != last && used < w[c])
			spaces(o, w[c] - used);
	}
	puts_(o, "\n");
}

static void header(struct out *o, const size_t w[NCOLS])
{
	color_on(o, C_BOLD);
	cells(o, col_name, w);
	color_off(o);
}

static void group(struct out *o, const json_t *findings, const size_t w[NCOLS], int level,
		  int ignored, size_t count)
{
	char title[64];
	const json_t *f;
	struct row rw;
	size_t i;

	if (ignored)
		snprintf(title, sizeof(title), "IGNORED (%zu)", count);
	else
		snprintf(title, sizeof(title), "%s (%zu)", cs_report_levels[level], count);
	if (!ignored)
		for (i = 0; title[i] != '\0' && title[i] != ' '; i++)
			title[i] = (char)(title[i] - 'a' + 'A');
	puts_(o, "\n");
	color_on(o, ignored ? level_color[CS_REPORT_NLEVELS - 1] : level_color[level]);
	puts_(o, title);
	color_off(o);
	puts_(o, "\n");
	header(o, w);
	json_array_foreach(findings, i, f) {
		int ign = cs_report_finding_ignored(f);
		if (ign != ignored || (!ignored && cs_report_finding_level(f) != level))
			continue;
		make_row(&rw, f, ign);
		cells(o, rw.cell, w);
	}
}

/* ---- the summary -------------------------------------------------------- */

static json_int_t count_of(const json_t *counts, const char *key)
{
	const json_t *v = json_object_get(counts, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* "0123456789ab" from "sha256:0123456789abcdef..." */
static void short_digest(char out[16], const char *d)
{
	const char *c;
	size_t i;

	snprintf(out, 16, "unknown");
	if (d == NULL)
		return;
	c = strchr(d, ':');
	c = c != NULL ? c + 1 : d;
	for (i = 0; i < 12 && c[i] != '\0'; i++) {
		char ch = c[i];
		/* A digest is hex; anything else is shown as '?'. */
		out[i] = (char)(((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) ? ch : '?');
	}
	out[i] = '\0';
}

static void summary(struct out *o, const json_t *rep)
{
	const json_t *image = json_object_get(rep, "image");
	const json_t *sum = json_object_get(rep, "summary");
	const json_t *counts = json_object_get(sum, "counts");
	const json_t *os = json_object_get(rep, "os");
	const char *verdict = cs_report_str(rep, "verdict");
	const char *ref = cs_report_str(image, "ref");
	const char *vcolor = C_MAGENTA;
	char vtext[16], line[512], dig[16];
	size_t used, i, vlen;
	int l;

	if (ref == NULL)
		ref = cs_report_str(image, "name");
	if (verdict == NULL)
		verdict = "error";
	snprintf(vtext, sizeof(vtext), "%s",
		 strcmp(verdict, "healthy") == 0   ? "HEALTHY" :
		 strcmp(verdict, "unhealthy") == 0 ? "UNHEALTHY" :
						     "ERROR");
	if (strcmp(verdict, "healthy") == 0)
		vcolor = C_GREEN;
	else if (strcmp(verdict, "unhealthy") == 0)
		vcolor = C_RED;
	vlen = strlen(vtext);

	/* <image>: VERDICT, the image cut to leave room for the verdict. */
	esc(o, ref != NULL ? ref : "(unnamed image)", o->width - vlen - 2);
	puts_(o, ": ");
	color_on(o, vcolor);
	puts_(o, vtext);
	color_off(o);
	puts_(o, "\n");

	/* Counts by severity, the ignored ones, the database. */
	spaces(o, 2);
	used = 2;
	for (l = 0; l < CS_REPORT_NLEVELS; l++) {
		json_int_t n = count_of(counts, cs_report_levels[l]);
		int len =
			snprintf(line, sizeof(line), "%lld %s", (long long)n, cs_report_levels[l]);
		if (used + (l ? 2 : 0) + (size_t)len > o->width) {
			puts_(o, "\n");
			spaces(o, 2);
			used = 2;
		} else if (l) {
			puts_(o, ", ");
			used += 2;
		}
		if (n > 0)
			color_on(o, level_color[l]);
		puts_(o, line);
		if (n > 0)
			color_off(o);
		used += (size_t)len;
	}
	short_digest(dig, cs_report_str(json_object_get(rep, "db"), "digest"));
	{
		char tail[128];
		size_t tl;

		snprintf(tail, sizeof(tail), "; %lld ignored; %lld packages; db %s",
			 (long long)count_of(counts, "ignored"),
			 (long long)count_of(sum, "packages"), dig);
		/* Break before a "; " part that would not fit. */
		for (i = 0; tail[i] != '\0';) {
			const char *next = strstr(tail + i + 1, "; ");
			size_t n = next != NULL ? (size_t)(next - (tail + i)) : strlen(tail + i);
			tl = n;
			if (used + tl > o->width) {
				puts_(o, ";\n");
				spaces(o, 2);
				used = 2;
				put(o, tail + i + 2, n - 2);
				used += n - 2;
			} else {
				put(o, tail + i, n);
				used += n;
			}
			i += n;
		}
	}
	puts_(o, "\n");

	if (cs_report_str(rep, "reason") != NULL) {
		puts_(o, "  ");
		wrap(o, cs_report_str(rep, "reason"), 2, 4);
	}
	if (json_is_object(os) || cs_report_str(rep, "ecosystem") != NULL) {
		const char *pretty = cs_report_str(os, "pretty_name");
		const char *eco = cs_report_str(rep, "ecosystem");
		struct cs_buf b;

		cs_buf_init(&b, 64 * 1024);
		if (cs_buf_addstr(&b, pretty != NULL		      ? pretty :
				      cs_report_str(os, "id") != NULL ? cs_report_str(os, "id") :
									"unknown OS") == 0 &&
		    (eco == NULL || cs_buf_printf(&b, " (%s)", eco) == 0) && cs_buf_cstr(&b) == 0) {
			puts_(o, "  os: ");
			wrap(o, (const char *)b.data, 6, 6);
		} else if (o->r == 0) {
			o->r = cs_err_set(CS_ENOMEM, "out of memory");
		}
		cs_buf_free(&b);
	}
}

/* The unsupported-OS warning, wrapped (said in full, never truncated). */
static void unsupported(struct out *o, const json_t *rep)
{
	const char *why = cs_report_str(rep, "unsupported_reason");

	if (json_is_true(json_object_get(rep, "os_supported")))
		return;
	color_on(o, C_YELLOW);
	puts_(o, "WARNING:");
	color_off(o);
	puts_(o, " ");
	wrap(o,
	     "unsupported OS: its OS packages were NOT checked for vulnerabilities, so no "
	     "findings does not mean clean.",
	     9, 2);
	if (why != NULL) {
		puts_(o, "  reason: ");
		wrap(o, why, 10, 4);
	}
}

int cs_report_table(char **out, size_t *len, const json_t *report,
		    const struct cs_report_table_opts *opts)
{
	const json_t *findings, *recs, *f, *rec;
	size_t w[NCOLS], i, per[CS_REPORT_NLEVELS] = { 0 }, nignored = 0, nreported = 0;
	struct out o;
	int show_ignored = opts != NULL && opts->show_ignored;
	int l, r;

	*out = NULL;
	*len = 0;
	if (!json_is_object(report) || cs_report_str(report, "schema") == NULL ||
	    strcmp(cs_report_str(report, "schema"), CS_REPORT_SCHEMA) != 0)
		return cs_err_set(CS_EINVAL, "table: not a %s document", CS_REPORT_SCHEMA);
	findings = json_object_get(report, "findings");
	recs = json_object_get(report, "recommendations");
	memset(&o, 0, sizeof(o));
	cs_buf_init(&o.b, CS_REPORT_MAX_DOC);
	o.color = opts != NULL && opts->color == 1;
	o.width = opts != NULL && opts->width > 0 ? (size_t)opts->width : DEFAULT_WIDTH;
	if (o.width < MIN_WIDTH)
		o.width = MIN_WIDTH;
	if (o.width > MAX_WIDTH)
		o.width = MAX_WIDTH;

	json_array_foreach(findings, i, f) {
		if (cs_report_finding_ignored(f)) {
			nignored++;
		} else {
			per[cs_report_finding_level(f)]++;
			nreported++;
		}
	}
	summary(&o, report);
	unsupported(&o, report);
	fit_columns(w, findings, show_ignored, o.width);
	if (nreported == 0) {
		puts_(&o, "\n");
		puts_(&o, json_is_true(json_object_get(report, "os_supported")) ?
				  "No vulnerabilities found.\n" :
				  "No vulnerabilities found in what could be checked.\n");
	}
	for (l = 0; l < CS_REPORT_NLEVELS; l++)
		if (per[l] > 0)
			group(&o, findings, w, l, 0, per[l]);
	if (nignored > 0) {
		if (show_ignored) {
			group(&o, findings, w, 0, 1, nignored);
		} else {
			char line[160];
			snprintf(
				line, sizeof(line),
				"%zu ignored finding%s not listed (policy rules, VEX statements or "
				"ignore-unfixed; see the JSON report).",
				nignored, nignored == 1 ? "" : "s");
			puts_(&o, "\n");
			wrap(&o, line, 0, 0);
		}
	}
	if (json_array_size(json_object_get(report, "warnings")) > 0 ||
	    json_array_size(json_object_get(report, "notes")) > 0) {
		char line[160];
		snprintf(line, sizeof(line),
			 "%zu analysis warning%s, %zu matching note%s (see the JSON report).",
			 json_array_size(json_object_get(report, "warnings")),
			 json_array_size(json_object_get(report, "warnings")) == 1 ? "" : "s",
			 json_array_size(json_object_get(report, "notes")),
			 json_array_size(json_object_get(report, "notes")) == 1 ? "" : "s");
		puts_(&o, "\n");
		wrap(&o, line, 0, 0);
	}
	if (json_array_size(recs) > 0) {
		puts_(&o, "\n");
		color_on(&o, C_BOLD);
		puts_(&o, "Recommendations:");
		color_off(&o);
		puts_(&o, "\n");
		json_array_foreach(recs, i, rec) {
			const char *text = cs_report_str(rec, "text");
			if (text == NULL)
				continue;
			puts_(&o, "  - ");
			wrap(&o, text, 4, 4);
		}
	}
	if ((r = o.r) == 0 && (r = cs_buf_cstr(&o.b)) == 0)
		*out = (char *)cs_buf_steal(&o.b, len);
	cs_buf_free(&o.b);
	if (r != 0)
		cs_err_prefix(r, "table");
	return r;
}
