/*
 * license.c - deciding whether a package database's license string is an
 * SPDX license expression (SPDX 2.3 annex D) that can be written as such.
 *
 * Conservative by design: only identifiers from the table below (a subset of
 * the SPDX license list, version 3.24, with their exact case; the test
 * checks each against the list) and the operators AND, OR, WITH, "+" and
 * parentheses pass. "GPLv2+", "BSD", "LicenseRef-x" and lowercase operators
 * do not: a wrong "declared license" is worse than NOASSERTION.
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

/* Sorted by strcmp (bsearch). */
static const char *const license_ids[] = {
	"0BSD", "AFL-2.1", "AFL-3.0", "AGPL-1.0", "AGPL-3.0", "AGPL-3.0-only",
	"AGPL-3.0-or-later", "AML", "APSL-2.0", "Apache-1.0", "Apache-1.1", "Apache-2.0",
	"Artistic-1.0", "Artistic-1.0-Perl", "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause",
	"BSD-2-Clause-Patent", "BSD-2-Clause-Views", "BSD-3-Clause", "BSD-3-Clause-Clear",
	"BSD-3-Clause-LBNL", "BSD-4-Clause", "BSD-4-Clause-UC", "BSD-Source-Code", "BSL-1.0",
	"Beerware", "Bitstream-Vera", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0",
	"CC-PDDC", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "CECILL-2.1", "CPL-1.0", "Caldera",
	"ClArtistic", "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "FSFAP", "FSFUL", "FSFULLR",
	"FTL", "GD", "GFDL-1.1", "GFDL-1.1-only", "GFDL-1.1-or-later", "GFDL-1.2",
	"GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3", "GFDL-1.3-only", "GFDL-1.3-or-later",
	"GPL-1.0", "GPL-1.0+", "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0", "GPL-2.0+",
	"GPL-2.0-only", "GPL-2.0-or-later", "GPL-2.0-with-GCC-exception",
	"GPL-2.0-with-autoconf-exception", "GPL-2.0-with-classpath-exception", "GPL-3.0",
	"GPL-3.0+", "GPL-3.0-only", "GPL-3.0-or-later", "GPL-3.0-with-GCC-exception",
	"GPL-3.0-with-autoconf-exception", "HPND", "HPND-sell-variant", "ICU", "IJG", "IPL-1.0",
	"ISC", "ISC-Veillard", "ImageMagick", "Imlib2", "Info-ZIP", "Intel-ACPI", "JSON",
	"LGPL-2.0", "LGPL-2.0+", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1", "LGPL-2.1+",
	"LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0+", "LGPL-3.0-only",
	"LGPL-3.0-or-later", "LGPLLR", "LPL-1.02", "LPPL-1.3c", "Latex2e", "Libpng",
	"Linux-man-pages-copyleft", "MIT", "MIT-0", "MIT-CMU", "MIT-Modern-Variant",
	"MIT-advertising", "MPL-1.0", "MPL-1.1", "MPL-2.0", "MPL-2.0-no-copyleft-exception",
	"MS-PL", "MirOS", "Mup", "NCSA", "NLOD-1.0", "NTP", "Net-SNMP", "Nokia", "OFL-1.1",
	"OLDAP-2.8", "OSL-3.0", "OpenSSL", "PHP-3.01", "PSF-2.0", "Plexus", "PostgreSQL",
	"Python-2.0", "Python-2.0.1", "Qhull", "Ruby", "SGI-B-2.0", "SISSL", "SMLNJ",
	"SSH-OpenSSH", "SSH-short", "Saxpath", "Sendmail", "Sendmail-8.23", "Sleepycat",
	"Spencer-94", "Spencer-99", "TCL", "TCP-wrappers", "TU-Berlin-1.0", "TU-Berlin-2.0",
	"UPL-1.0", "Unicode-3.0", "Unicode-DFS-2015", "Unicode-DFS-2016", "Unicode-TOU",
	"Unlicense", "Vim", "W3C", "WTFPL", "X11", "X11-distribute-modifications-variant",
	"XFree86-1.1", "Xnet", "ZPL-2.1", "Zend-2.0", "Zlib", "blessing", "bzip2-1.0.5",
	"bzip2-1.0.6", "curl", "dtoa", "eCos-2.0", "etalab-2.0", "libpng-2.0", "libselinux-1.0",
	"libtiff", "wxWindows", "zlib-acknowledgement",
};

static const char *const exception_ids[] = {
	"389-exception", "Autoconf-exception-2.0", "Autoconf-exception-3.0",
	"Bison-exception-2.2", "Classpath-exception-2.0", "FLTK-exception",
	"Font-exception-2.0", "GCC-exception-2.0", "GCC-exception-3.1", "GPL-CC-1.0",
	"LLVM-exception", "LZMA-exception", "Libtool-exception", "Linux-syscall-note",
	"OCaml-LGPL-linking-exception", "OpenJDK-assembly-exception-1.0",
	"Qt-GPL-exception-1.0", "Qt-LGPL-exception-1.1", "Swift-exception",
	"Universal-FOSS-exception-1.0", "WxWindows-exception-3.1", "eCos-exception-2.0",
	"i2p-gpl-java-exception", "openvpn-openssl-exception", "u-boot-exception-2.0",
};

/* Longest expression and deepest nesting looked at. */
#define MAX_EXPR 4096
#define MAX_DEPTH 32
#define MAX_TOKEN 128

const char *const *cs_report_license_ids(size_t *n)
{
	*n = sizeof(license_ids) / sizeof(license_ids[0]);
	return license_ids;
}

const char *const *cs_report_exception_ids(size_t *n)
{
	*n = sizeof(exception_ids) / sizeof(exception_ids[0]);
	return exception_ids;
}

static int cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

int cs_report_license_id_ok(const char *s)
{
	return s != NULL && bsearch(s, license_ids, sizeof(license_ids) / sizeof(license_ids[0]),
				    sizeof(license_ids[0]), cmp) != NULL;
}

static int exception_ok(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(exception_ids) / sizeof(exception_ids[0]); i++)
		if (strcmp(s, exception_ids[i]) == 0)
			return 1;
	return 0;
}

enum tok { T_END, T_LP, T_RP, T_AND, T_OR, T_WITH, T_WORD, T_BAD };

struct lex {
	const char *p;
	enum tok t;
	char word[MAX_TOKEN];
};

/* idstring = 1*(ALPHA / DIGIT / "-" / "." ), plus a trailing '+' taken
 * into the word and checked by the caller. */
static int idchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

static void next(struct lex *l)
{
	size_t n = 0;

	while (*l->p == ' ')
		l->p++;
	if (*l->p == '\0') {
		l->t = T_END;
		return;
	}
	if (*l->p == '(' || *l->p == ')') {
		l->t = *l->p == '(' ? T_LP : T_RP;
		l->p++;
		return;
	}
	while (idchar(*l->p) || *l->p == '+') {
		if (n + 1 >= sizeof(l->word)) {
			l->t = T_BAD;
			return;
		}
		l->word[n++] = *l->p++;
		if (l->p[-1] == '+')
			break;   /* '+' only ends an identifier */
	}
	l->word[n] = '\0';
	if (n == 0 || (*l->p != '\0' && *l->p != ' ' && *l->p != '(' && *l->p != ')')) {
		l->t = T_BAD;
		return;
	}
	if (strcmp(l->word, "AND") == 0)
		l->t = T_AND;
	else if (strcmp(l->word, "OR") == 0)
		l->t = T_OR;
	else if (strcmp(l->word, "WITH") == 0)
		l->t = T_WITH;
	else
		l->t = T_WORD;
}

/* A license identifier, optionally with the "+" (or-later) operator. The
 * deprecated "GPL-2.0+" style identifiers are on the list themselves. */
static int license_word_ok(const char *w)
{
	char base[MAX_TOKEN];
	size_t n = strlen(w);

	if (cs_report_license_id_ok(w))
		return 1;
	if (n < 2 || w[n - 1] != '+')
		return 0;
	memcpy(base, w, n - 1);
	base[n - 1] = '\0';
	return cs_report_license_id_ok(base);
}

static int expr_or(struct lex *l, int depth);

/* simple [WITH exception] | "(" expression ")" */
static int expr_term(struct lex *l, int depth)
{
	if (depth > MAX_DEPTH)
		return 0;
	if (l->t == T_LP) {
		next(l);
		if (!expr_or(l, depth + 1) || l->t != T_RP)
			return 0;
		next(l);
		return 1;
	}
	if (l->t != T_WORD || !license_word_ok(l->word))
		return 0;
	next(l);
	if (l->t == T_WITH) {
		next(l);
		if (l->t != T_WORD || !exception_ok(l->word))
			return 0;
		next(l);
	}
	return 1;
}

static int expr_and(struct lex *l, int depth)
{
	if (!expr_term(l, depth))
		return 0;
	while (l->t == T_AND) {
		next(l);
		if (!expr_term(l, depth))
			return 0;
	}
	return 1;
}

static int expr_or(struct lex *l, int depth)
{
	if (!expr_and(l, depth))
		return 0;
	while (l->t == T_OR) {
		next(l);
		if (!expr_and(l, depth))
			return 0;
	}
	return 1;
}

int cs_report_spdx_license_ok(const char *s)
{
	struct lex l;

	if (s == NULL || s[0] == '\0' || strlen(s) > MAX_EXPR)
		return 0;
	l.p = s;
	next(&l);
	return expr_or(&l, 0) && l.t == T_END;
}
