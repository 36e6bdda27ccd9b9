/*
 * osv.c - the OSV record rules applied at import, RFC 3339 times, and the
 * lookup keys (base ecosystem, PEP 503 names).
 *
 * The rules are the essentials of the OSV schema (ossf/osv-schema
 * validation/schema.json) that the matcher relies on, plus count caps that
 * bound the work one record can cause. Unknown fields are allowed (the
 * schema allows them and grows); unknown ecosystems too (new ones appear
 * every few months), as long as the string has a non-empty base.
 */
#include "supervisor/vulndb/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/errors.h"

const char *cs_vulndb_skip_name(enum cs_vulndb_skip why)
{
	switch (why) {
	case CS_VULNDB_SKIP_JSON: return "invalid-json";
	case CS_VULNDB_SKIP_TOO_LARGE: return "too-large";
	case CS_VULNDB_SKIP_SCHEMA: return "schema";
	case CS_VULNDB_SKIP_LIMIT: return "limit";
	case CS_VULNDB_SKIP_NOT_JSON: return "not-json";
	case CS_VULNDB_SKIP_CORRUPT: return "corrupt-entry";
	case CS_VULNDB_SKIP_COUNT: break;
	}
	return "unknown";
}

/* ---- times ---- */

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int cs_vulndb_time_parse(const char *s, int64_t *sec, long *nsec)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	long ns = 0;
	const char *p;
	int nd = 0;

	if (s == NULL || strlen(s) < 20)
		return 0;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &se))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return 0;
	p = s + 19;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (nd < 9) {
				ns = ns * 10 + (*p - '0');
				nd++;
			}
			p++;
			if (p - s > 64)
				return 0;
		}
		if (nd == 0)
			return 0;
		for (; nd < 9; nd++)
			ns *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return 0;
		p += 6;
	} else {
		return 0;
	}
	if (*p != '\0')
		return 0;
	if (sec != NULL)
		*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
		       sign * (oh * 3600 + om * 60);
	if (nsec != NULL)
		*nsec = ns;
	return 1;
}

int cs_vulndb_time_cmp(const char *a, const char *b)
{
	int64_t sa = 0, sb = 0;
	long na = 0, nb = 0;
	int va = cs_vulndb_time_parse(a, &sa, &na), vb = cs_vulndb_time_parse(b, &sb, &nb);

	/* Only valid times reach the database; still, order invalid first. */
	if (!va || !vb)
		return va - vb;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

void cs_vulndb_time_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- keys ---- */

int cs_vulndb_ecosystem_base(char *out, size_t n, const char *ecosystem)
{
	const char *c = strchr(ecosystem, ':');
	size_t len = c != NULL ? (size_t)(c - ecosystem) : strlen(ecosystem);

	if (len >= n)
		return cs_err_set(CS_ELIMIT, "ecosystem name longer than %zu bytes", n - 1);
	memcpy(out, ecosystem, len);
	out[len] = '\0';
	return 0;
}

/* 1 when ecosystem is base or base:... */
static int base_is(const char *ecosystem, const char *base)
{
	size_t l = strlen(base);

	return strncmp(ecosystem, base, l) == 0 && (ecosystem[l] == '\0' || ecosystem[l] == ':');
}

int cs_vulndb_package_key(char *out, size_t n, const char *ecosystem, const char *name)
{
	size_t len = strlen(name), o = 0;

	if (strncmp(ecosystem, "PyPI", 4) != 0 || (ecosystem[4] != '\0' && ecosystem[4] != ':')) {
		/* NuGet and Packagist names are case-insensitive: keyed in
		 * lower case, so any spelling finds them. */
		int fold = base_is(ecosystem, "NuGet") || base_is(ecosystem, "Packagist");

		if (len >= n)
			return cs_err_set(CS_ELIMIT, "package name longer than %zu bytes", n - 1);
		for (size_t i = 0; i <= len; i++)
			out[i] = fold && name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
		return 0;
	}
	/* PEP 503: re.sub(r"[-_.]+", "-", name).lower() */
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '-' || c == '_' || c == '.') {
			while (i + 1 < len && (name[i + 1] == '-' || name[i + 1] == '_' || name[i + 1] == '.'))
				i++;
			c = '-';
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		if (o + 1 >= n)
			return cs_err_set(CS_ELIMIT, "package name longer than %zu bytes", n - 1);
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* ---- record rules ---- */

struct chk {
	enum cs_vulndb_skip why;
	char *rule;
	size_t rule_n;
	size_t ranges, events, versions;
};

static int fail(struct chk *c, enum cs_vulndb_skip why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct chk *c, enum cs_vulndb_skip why, const char *fmt, ...)
{
	va_list ap;

	c->why = why;
	va_start(ap, fmt);
	vsnprintf(c->rule, c->rule_n, fmt, ap);
	va_end(ap);
	return why == CS_VULNDB_SKIP_LIMIT ? CS_ELIMIT : CS_EFORMAT;
}

/* A string member that, when present (and not null), must be a string. */
static int opt_string(struct chk *c, json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "%s: not a string", key);
	*out = json_string_value(v);
	return 0;
}

static int has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int check_time(struct chk *c, json_t *o, const char *key, int required)
{
	const char *s;
	int r;

	if ((r = opt_string(c, o, key, &s)) != 0)
		return r;
	if (s == NULL)
		return required ? fail(c, CS_VULNDB_SKIP_SCHEMA, "%s: missing", key) : 0;
	if (!cs_vulndb_time_parse(s, NULL, NULL))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "%s: \"%.40s\" is not an RFC 3339 date-time",
			    key, s);
	return 0;
}

static const char *const event_keys[] = { "introduced", "fixed", "last_affected", "limit" };

static int check_range(struct chk *c, json_t *rg, size_t ai, size_t ri)
{
	json_t *t = json_object_get(rg, "type"), *ev = json_object_get(rg, "events"), *e;
	const char *type;
	size_t ei;
	int git, has_introduced = 0, has_fixed = 0, has_last = 0;

	if (!json_is_object(rg))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].ranges[%zu]: not an object",
			    ai, ri);
	if (!json_is_string(t))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].ranges[%zu].type: missing",
			    ai, ri);
	type = json_string_value(t);
	if (strcmp(type, "SEMVER") != 0 && strcmp(type, "ECOSYSTEM") != 0 &&
	    strcmp(type, "GIT") != 0)
		return fail(c, CS_VULNDB_SKIP_SCHEMA,
			    "affected[%zu].ranges[%zu].type: \"%.32s\" is not SEMVER, ECOSYSTEM or GIT",
			    ai, ri, type);
	git = type[0] == 'G';
	if (git && !json_is_string(json_object_get(rg, "repo")))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].ranges[%zu]: GIT range without repo",
			    ai, ri);
	if (!json_is_array(ev) || json_array_size(ev) == 0)
		return fail(c, CS_VULNDB_SKIP_SCHEMA,
			    "affected[%zu].ranges[%zu].events: missing or empty", ai, ri);
	c->events += json_array_size(ev);
	if (c->events > CS_VULNDB_MAX_EVENTS)
		return fail(c, CS_VULNDB_SKIP_LIMIT, "more than %u events", CS_VULNDB_MAX_EVENTS);
	json_array_foreach(ev, ei, e) {
		size_t n = 0, k;
		int which = -1;

		if (!json_is_object(e))
			return fail(c, CS_VULNDB_SKIP_SCHEMA,
				    "affected[%zu].ranges[%zu].events[%zu]: not an object", ai, ri, ei);
		for (k = 0; k < 4; k++) {
			json_t *v = json_object_get(e, event_keys[k]);

			if (v == NULL)
				continue;
			n++;
			which = (int)k;
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > CS_VULNDB_MAX_NAME)
				return fail(c, CS_VULNDB_SKIP_SCHEMA,
					    "affected[%zu].ranges[%zu].events[%zu].%s: not a non-empty string",
					    ai, ri, ei, event_keys[k]);
		}
		if (n != 1)
			return fail(c, CS_VULNDB_SKIP_SCHEMA,
				    "affected[%zu].ranges[%zu].events[%zu]: needs exactly one of "
				    "introduced, fixed, last_affected, limit (has %zu)", ai, ri, ei, n);
		has_introduced |= which == 0;
		has_fixed |= which == 1;
		has_last |= which == 2;
	}
	if (!has_introduced)
		return fail(c, CS_VULNDB_SKIP_SCHEMA,
			    "affected[%zu].ranges[%zu].events: no introduced event", ai, ri);
	if (has_fixed && has_last)
		return fail(c, CS_VULNDB_SKIP_SCHEMA,
			    "affected[%zu].ranges[%zu].events: both fixed and last_affected", ai, ri);
	return 0;
}

static int check_affected(struct chk *c, json_t *a, size_t ai)
{
	json_t *pkg, *ranges, *versions, *v;
	size_t i;
	int r;

	if (!json_is_object(a))
		return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu]: not an object", ai);
	pkg = json_object_get(a, "package");
	/* package is optional in OSV (GIT-only entries); when present it needs
	 * both names. */
	if (pkg != NULL && !json_is_null(pkg)) {
		json_t *eco = json_object_get(pkg, "ecosystem"), *name = json_object_get(pkg, "name");

		if (!json_is_object(pkg))
			return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].package: not an object", ai);
		if (!json_is_string(eco) || json_string_length(eco) == 0 ||
		    json_string_value(eco)[0] == ':')
			return fail(c, CS_VULNDB_SKIP_SCHEMA,
				    "affected[%zu].package.ecosystem: missing or empty", ai);
		if (!json_is_string(name) || json_string_length(name) == 0)
			return fail(c, CS_VULNDB_SKIP_SCHEMA,
				    "affected[%zu].package.name: missing or empty", ai);
		if (json_string_length(eco) > CS_VULNDB_MAX_NAME ||
		    json_string_length(name) > CS_VULNDB_MAX_NAME)
			return fail(c, CS_VULNDB_SKIP_LIMIT,
				    "affected[%zu].package: name longer than %d bytes", ai,
				    CS_VULNDB_MAX_NAME);
		if (strlen(json_string_value(eco)) != json_string_length(eco) ||
		    strlen(json_string_value(name)) != json_string_length(name))
			return fail(c, CS_VULNDB_SKIP_SCHEMA,
				    "affected[%zu].package: NUL byte in a name", ai);
	}
	ranges = json_object_get(a, "ranges");
	if (ranges != NULL && !json_is_null(ranges)) {
		if (!json_is_array(ranges))
			return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].ranges: not an array", ai);
		c->ranges += json_array_size(ranges);
		if (c->ranges > CS_VULNDB_MAX_RANGES)
			return fail(c, CS_VULNDB_SKIP_LIMIT, "more than %u ranges",
				    CS_VULNDB_MAX_RANGES);
		json_array_foreach(ranges, i, v) {
			if ((r = check_range(c, v, ai, i)) != 0)
				return r;
		}
	}
	versions = json_object_get(a, "versions");
	if (versions != NULL && !json_is_null(versions)) {
		if (!json_is_array(versions))
			return fail(c, CS_VULNDB_SKIP_SCHEMA, "affected[%zu].versions: not an array", ai);
		c->versions += json_array_size(versions);
		if (c->versions > CS_VULNDB_MAX_VERSIONS)
			return fail(c, CS_VULNDB_SKIP_LIMIT, "more than %u versions",
				    CS_VULNDB_MAX_VERSIONS);
		json_array_foreach(versions, i, v) {
			if (!json_is_string(v))
				return fail(c, CS_VULNDB_SKIP_SCHEMA,
					    "affected[%zu].versions[%zu]: not a string", ai, i);
		}
	}
	return 0;
}

int cs_vulndb_osv_check(json_t *rec, enum cs_vulndb_skip *why, char *rule, size_t rule_n)
{
	struct chk c = { CS_VULNDB_SKIP_SCHEMA, rule, rule_n, 0, 0, 0 };
	json_t *id, *aliases, *affected, *v;
	const char *s;
	size_t i;
	int r;

	rule[0] = '\0';
	if (!json_is_object(rec)) {
		r = fail(&c, CS_VULNDB_SKIP_SCHEMA, "record is not a JSON object");
		goto out;
	}
	id = json_object_get(rec, "id");
	if (!json_is_string(id) || json_string_length(id) == 0) {
		r = fail(&c, CS_VULNDB_SKIP_SCHEMA, "id: missing or empty");
		goto out;
	}
	s = json_string_value(id);
	if (json_string_length(id) > CS_VULNDB_MAX_ID || strlen(s) != json_string_length(id) ||
	    has_ctl(s)) {
		r = fail(&c, CS_VULNDB_SKIP_SCHEMA,
			 "id: longer than %d bytes or has control characters", CS_VULNDB_MAX_ID);
		goto out;
	}
	if ((r = check_time(&c, rec, "modified", 1)) != 0 ||
	    (r = check_time(&c, rec, "published", 0)) != 0 ||
	    (r = check_time(&c, rec, "withdrawn", 0)) != 0 ||
	    (r = opt_string(&c, rec, "summary", &s)) != 0)
		goto out;
	aliases = json_object_get(rec, "aliases");
	if (aliases != NULL && !json_is_null(aliases)) {
		if (!json_is_array(aliases)) {
			r = fail(&c, CS_VULNDB_SKIP_SCHEMA, "aliases: not an array");
			goto out;
		}
		if (json_array_size(aliases) > CS_VULNDB_MAX_ALIASES) {
			r = fail(&c, CS_VULNDB_SKIP_LIMIT, "more than %d aliases",
				 CS_VULNDB_MAX_ALIASES);
			goto out;
		}
		json_array_foreach(aliases, i, v) {
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > CS_VULNDB_MAX_ID ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				r = fail(&c, CS_VULNDB_SKIP_SCHEMA,
					 "aliases[%zu]: not a non-empty string of at most %d bytes", i,
					 CS_VULNDB_MAX_ID);
				goto out;
			}
		}
	}
	affected = json_object_get(rec, "affected");
	if (affected != NULL && !json_is_null(affected)) {
		if (!json_is_array(affected)) {
			r = fail(&c, CS_VULNDB_SKIP_SCHEMA, "affected: not an array");
			goto out;
		}
		if (json_array_size(affected) > CS_VULNDB_MAX_AFFECTED) {
			r = fail(&c, CS_VULNDB_SKIP_LIMIT, "more than %d affected entries",
				 CS_VULNDB_MAX_AFFECTED);
			goto out;
		}
		json_array_foreach(affected, i, v) {
			if ((r = check_affected(&c, v, i)) != 0)
				goto out;
		}
	}
	r = 0;
out:
	*why = c.why;
	return r;
}
