/*
 * program.c - the compiled form of OSV records (match.h, "Compiled
 * records"): writing it, reading it back with every length checked, and the
 * OSV evaluation over it. docs/matching.md describes the layout.
 *
 * Layout (all integers little-endian u32; a string is its length, its bytes
 * and a NUL, or the length 0xffffffff for "absent"):
 *   header: 'H' flags id summary modified published ds_source ds_severity
 *           severity_json upstream_json n_aliases alias... n_upstream up...
 *           n_severity (type score)...
 *   row:    'R' flags id n_entries entry...
 *   entry:  byte_len index ecosystem name urgency ds_source ds_severity
 *           severity_json n_ranges range... n_versions version...
 *   range:  byte_len type n_events (kind:u8 value)...
 * flags bit 0: the record is withdrawn; bit 1: severity is the (type, score)
 * list, not severity_json; bit 2: upstream is the string list alone, not
 * upstream_json. (The lists are used when they say exactly what the JSON
 * says, key order included, so findings need no JSON parse.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/match/match_internal.h"

#define STR_ABSENT 0xffffffffu

static const char *const ev_names[] = {"", "introduced", "fixed", "last_affected", "limit"};

/* ---- writing ------------------------------------------------------------ */

static int put_u32(struct cs_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	return cs_buf_add(b, x, 4);
}

static void patch_u32(struct cs_buf *b, size_t at, uint32_t v)
{
	b->data[at] = (uint8_t)v;
	b->data[at + 1] = (uint8_t)(v >> 8);
	b->data[at + 2] = (uint8_t)(v >> 16);
	b->data[at + 3] = (uint8_t)(v >> 24);
}

/* A C string (json_string_value semantics: up to the first NUL). */
static int put_str(struct cs_buf *b, const char *s)
{
	size_t l;
	int r;

	if (s == NULL)
		return put_u32(b, STR_ABSENT);
	l = strlen(s);
	if (l >= STR_ABSENT)
		return cs_err_set(CS_ELIMIT, "string too long for the compiled form");
	if ((r = put_u32(b, (uint32_t)l)) != 0 || (r = cs_buf_add(b, s, l)) != 0)
		return r;
	return cs_buf_add(b, "", 1);
}

/* A JSON value as compact text, or absent when v is not of the wanted kind. */
static int put_json_if_array(struct cs_buf *b, const json_t *v)
{
	char *t;
	int r;

	if (!json_is_array(v))
		return put_str(b, NULL);
	t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (t == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory (or text that is not UTF-8)");
	r = put_str(b, t);
	free(t);
	return r;
}

static int put_strings(struct cs_buf *b, const json_t *a)
{
	size_t i, n = 0, at = b->len;
	int r;

	if ((r = put_u32(b, 0)) != 0)
		return r;
	for (i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (s == NULL)
			continue;
		if ((r = put_str(b, s)) != 0)
			return r;
		n++;
	}
	patch_u32(b, at, (uint32_t)n);
	return 0;
}

static uint8_t flags_of(const json_t *record)
{
	const json_t *w = json_object_get(record, "withdrawn");

	return w != NULL && !json_is_null(w) ? 1 : 0;
}

/* 1 when every item of a is {"type": string, "score": string}, keys in
 * that order and nothing else. */
static int plain_severity(const json_t *a)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		void *it = json_object_iter(o);

		if (!json_is_object(o) || json_object_size(o) != 2 || it == NULL ||
		    strcmp(json_object_iter_key(it), "type") != 0 || !json_is_string(json_object_iter_value(it)))
			return 0;
		it = json_object_iter_next(o, it);
		if (it == NULL || strcmp(json_object_iter_key(it), "score") != 0 ||
		    !json_is_string(json_object_iter_value(it)))
			return 0;
		/* a NUL inside would not survive the C string */
		if (strlen(json_string_value(json_object_get(o, "type"))) !=
			    json_string_length(json_object_get(o, "type")) ||
		    strlen(json_string_value(json_object_get(o, "score"))) !=
			    json_string_length(json_object_get(o, "score")))
			return 0;
	}
	return 1;
}

/* 1 when every item of a is a string without NUL. */
static int plain_strings(const json_t *a)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return 0;
	}
	return 1;
}

int cs_match_compile_header(struct cs_buf *out, const json_t *record)
{
	const json_t *ds = json_object_get(record, "database_specific");
	const json_t *sev = json_object_get(record, "severity"), *up = json_object_get(record, "upstream");
	int sev_plain = json_is_array(sev) && plain_severity(sev);
	int up_plain = json_is_array(up) && plain_strings(up);
	uint8_t head[2] = {'H', 0};
	size_t i;
	int r;

	if (out == NULL || !json_is_object(record) || cs_match_jstr(record, "id") == NULL)
		return cs_err_set(CS_EFORMAT, "OSV record is not an object with an id");
	head[1] = (uint8_t)(flags_of(record) | (sev_plain ? 2 : 0) | (up_plain ? 4 : 0));
	if ((r = cs_buf_add(out, head, 2)) != 0 || (r = put_str(out, cs_match_jstr(record, "id"))) != 0 ||
	    (r = put_str(out, cs_match_jstr(record, "summary"))) != 0 ||
	    (r = put_str(out, cs_match_jstr(record, "modified"))) != 0 ||
	    (r = put_str(out, cs_match_jstr(record, "published"))) != 0 ||
	    (r = put_str(out, cs_match_jstr(ds, "source"))) != 0 ||
	    (r = put_str(out, cs_match_jstr(ds, "severity"))) != 0 ||
	    (r = put_json_if_array(out, sev_plain ? NULL : sev)) != 0 ||
	    (r = put_json_if_array(out, up_plain ? NULL : up)) != 0 ||
	    (r = put_strings(out, json_object_get(record, "aliases"))) != 0 ||
	    (r = put_strings(out, up)) != 0)
		return r;
	if ((r = put_u32(out, sev_plain ? (uint32_t)json_array_size(sev) : 0)) != 0)
		return r;
	for (i = 0; sev_plain && i < json_array_size(sev); i++) {
		json_t *o = json_array_get(sev, i);

		if ((r = put_str(out, cs_match_jstr(o, "type"))) != 0 ||
		    (r = put_str(out, cs_match_jstr(o, "score"))) != 0)
			return r;
	}
	return 0;
}

/* One event: its kind, or 0 when it is not exactly one of the four. */
static int ev_kind(const json_t *e, const char **val)
{
	int i, k = 0, n = 0;

	*val = NULL;
	if (!json_is_object(e))
		return 0;
	for (i = CS_EV_INTRO; i <= CS_EV_LIMIT; i++) {
		json_t *v = json_object_get(e, ev_names[i]);

		if (v == NULL)
			continue;
		if (!json_is_string(v) || json_string_length(v) == 0)
			return 0;
		n++;
		k = i;
		*val = json_string_value(v);
	}
	if (n != 1) {
		*val = NULL;
		return 0;
	}
	return k;
}

static int put_range(struct cs_buf *b, const json_t *range)
{
	const json_t *events = json_object_get(range, "events");
	size_t at = b->len, i, n;
	int r;

	if ((r = put_u32(b, 0)) != 0 || (r = put_str(b, cs_match_jstr(range, "type"))) != 0)
		return r;
	n = json_is_array(events) ? json_array_size(events) : 0;
	if (n >= STR_ABSENT)
		return cs_err_set(CS_ELIMIT, "too many events");
	if ((r = put_u32(b, (uint32_t)n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const char *val;
		uint8_t k = (uint8_t)ev_kind(json_array_get(events, i), &val);

		if ((r = cs_buf_add(b, &k, 1)) != 0 || (r = put_str(b, val)) != 0)
			return r;
	}
	if (b->len - at - 4 >= STR_ABSENT)
		return cs_err_set(CS_ELIMIT, "range too large for the compiled form");
	patch_u32(b, at, (uint32_t)(b->len - at - 4));
	return 0;
}

static int put_entry(struct cs_buf *b, const json_t *entry, size_t index)
{
	const json_t *pkg = json_object_get(entry, "package"), *ranges = json_object_get(entry, "ranges");
	const json_t *es = json_object_get(entry, "ecosystem_specific");
	const json_t *ds = json_object_get(entry, "database_specific");
	const char *urgency = cs_match_jstr(es, "urgency");
	size_t at = b->len, i, n;
	int r;

	if (index >= STR_ABSENT)
		return cs_err_set(CS_ELIMIT, "too many affected entries");
	if (urgency == NULL)
		urgency = cs_match_jstr(ds, "urgency");
	if ((r = put_u32(b, 0)) != 0 || (r = put_u32(b, (uint32_t)index)) != 0 ||
	    (r = put_str(b, cs_match_jstr(pkg, "ecosystem"))) != 0 ||
	    (r = put_str(b, cs_match_jstr(pkg, "name"))) != 0 || (r = put_str(b, urgency)) != 0 ||
	    (r = put_str(b, cs_match_jstr(ds, "source"))) != 0 ||
	    (r = put_str(b, cs_match_jstr(ds, "severity"))) != 0 ||
	    (r = put_json_if_array(b, json_object_get(entry, "severity"))) != 0)
		return r;
	n = json_is_array(ranges) ? json_array_size(ranges) : 0;
	if ((r = put_u32(b, (uint32_t)n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = put_range(b, json_array_get(ranges, i))) != 0)
			return r;
	if ((r = put_strings(b, json_object_get(entry, "versions"))) != 0)
		return r;
	if (b->len - at - 4 >= STR_ABSENT)
		return cs_err_set(CS_ELIMIT, "affected entry too large for the compiled form");
	patch_u32(b, at, (uint32_t)(b->len - at - 4));
	return 0;
}

int cs_match_compile_row(struct cs_buf *out, const json_t *record, const size_t *entries, size_t n)
{
	const json_t *affected = json_object_get(record, "affected");
	uint8_t head[2] = {'R', 0};
	size_t i, at, count = 0;
	int r;

	if (out == NULL || (n > 0 && entries == NULL) || !json_is_object(record) ||
	    cs_match_jstr(record, "id") == NULL)
		return cs_err_set(CS_EFORMAT, "OSV record is not an object with an id");
	head[1] = flags_of(record);
	if ((r = cs_buf_add(out, head, 2)) != 0 || (r = put_str(out, cs_match_jstr(record, "id"))) != 0)
		return r;
	at = out->len;
	if ((r = put_u32(out, 0)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(affected, entries[i]);
		const json_t *pkg = json_object_get(e, "package");

		if (i > 0 && entries[i] <= entries[i - 1])
			return cs_err_set(CS_EINVAL, "entries not ascending");
		if (cs_match_jstr(pkg, "ecosystem") == NULL || cs_match_jstr(pkg, "name") == NULL)
			continue;
		if ((r = put_entry(out, e, entries[i])) != 0)
			return r;
		count++;
	}
	patch_u32(out, at, (uint32_t)count);
	return 0;
}

/* ---- reading -------------------------------------------------------------- */

void cs_match_rd_init(struct cs_match_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->e = r->p + n;
	r->bad = 0;
}

uint32_t cs_match_rd_u32(struct cs_match_rd *r)
{
	uint32_t v;

	if (r->bad || (size_t)(r->e - r->p) < 4) {
		r->bad = 1;
		r->p = r->e;
		return 0;
	}
	v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	return v;
}

uint8_t cs_match_rd_u8(struct cs_match_rd *r)
{
	if (r->bad || r->p >= r->e) {
		r->bad = 1;
		r->p = r->e;
		return 0;
	}
	return *r->p++;
}

const char *cs_match_rd_str(struct cs_match_rd *r)
{
	uint32_t l = cs_match_rd_u32(r);
	const char *s;

	if (r->bad || l == STR_ABSENT)
		return NULL;
	if ((size_t)(r->e - r->p) <= (size_t)l || r->p[l] != 0) {
		r->bad = 1;
		r->p = r->e;
		return NULL;
	}
	s = (const char *)r->p;
	r->p += (size_t)l + 1;
	return s;
}

/* A sub-block of len bytes: sub reads it, r skips it. */
static void rd_block(struct cs_match_rd *r, struct cs_match_rd *sub)
{
	uint32_t l = cs_match_rd_u32(r);

	if (r->bad || (size_t)(r->e - r->p) < (size_t)l) {
		r->bad = 1;
		r->p = r->e;
		cs_match_rd_init(sub, r->e, 0);
		sub->bad = 1;
		return;
	}
	cs_match_rd_init(sub, r->p, l);
	r->p += l;
}

int cs_match_header_read(struct cs_match_header *h, const void *p, size_t n)
{
	struct cs_match_rd r;

	memset(h, 0, sizeof(*h));
	cs_match_rd_init(&r, p, n);
	if (cs_match_rd_u8(&r) != 'H')
		return cs_err_set(CS_EDB, "compiled record header is damaged");
	h->flags = cs_match_rd_u8(&r);
	h->id = cs_match_rd_str(&r);
	h->summary = cs_match_rd_str(&r);
	h->modified = cs_match_rd_str(&r);
	h->published = cs_match_rd_str(&r);
	h->ds_source = cs_match_rd_str(&r);
	h->ds_severity = cs_match_rd_str(&r);
	h->severity_json = cs_match_rd_str(&r);
	h->upstream_json = cs_match_rd_str(&r);
	h->naliases = cs_match_rd_u32(&r);
	h->aliases = r;
	for (uint32_t i = 0; i < h->naliases && !r.bad; i++)
		cs_match_rd_str(&r);
	h->nupstream = cs_match_rd_u32(&r);
	h->upstream = r;
	for (uint32_t i = 0; i < h->nupstream && !r.bad; i++)
		cs_match_rd_str(&r);
	h->nseverity = cs_match_rd_u32(&r);
	h->severity = r;
	for (uint32_t i = 0; i < h->nseverity && !r.bad; i++) {
		if (cs_match_rd_str(&r) == NULL || cs_match_rd_str(&r) == NULL)
			r.bad = 1;
	}
	if (r.bad || h->id == NULL)
		return cs_err_set(CS_EDB, "compiled record header is damaged");
	return 0;
}

int cs_match_row_read(struct cs_match_row *w, const void *p, size_t n)
{
	struct cs_match_rd r;

	memset(w, 0, sizeof(*w));
	cs_match_rd_init(&r, p, n);
	if (cs_match_rd_u8(&r) != 'R')
		return cs_err_set(CS_EDB, "compiled record row is damaged");
	w->flags = cs_match_rd_u8(&r);
	w->id = cs_match_rd_str(&r);
	w->nentries = cs_match_rd_u32(&r);
	w->entries = r;
	/* An entry takes at least its length and its index (8 bytes): a count
	 * the bytes cannot hold is damage, not something to allocate for. */
	if (r.bad || w->id == NULL || w->nentries > (size_t)(r.e - r.p) / 8)
		return cs_err_set(CS_EDB, "compiled record row is damaged");
	return 0;
}

int cs_match_entry_next(struct cs_match_entry *e, struct cs_match_rd *r)
{
	struct cs_match_rd b;

	memset(e, 0, sizeof(*e));
	rd_block(r, &b);
	e->index = cs_match_rd_u32(&b);
	e->eco = cs_match_rd_str(&b);
	e->name = cs_match_rd_str(&b);
	e->urgency = cs_match_rd_str(&b);
	e->ds_source = cs_match_rd_str(&b);
	e->ds_severity = cs_match_rd_str(&b);
	e->severity_json = cs_match_rd_str(&b);
	e->nranges = cs_match_rd_u32(&b);
	e->ranges = b;
	for (uint32_t i = 0; i < e->nranges && !b.bad; i++) {
		struct cs_match_rd x;

		rd_block(&b, &x);
	}
	e->nversions = cs_match_rd_u32(&b);
	e->versions = b;
	for (uint32_t i = 0; i < e->nversions && !b.bad; i++)
		cs_match_rd_str(&b);
	if (b.bad || r->bad || e->eco == NULL || e->name == NULL)
		return cs_err_set(CS_EDB, "compiled affected entry is damaged");
	return 0;
}

int cs_match_range_next(struct cs_match_range *g, struct cs_match_rd *r)
{
	struct cs_match_rd b;

	memset(g, 0, sizeof(*g));
	rd_block(r, &b);
	g->type = cs_match_rd_str(&b);
	g->nevents = cs_match_rd_u32(&b);
	g->events = b;
	if (b.bad)
		return cs_err_set(CS_EDB, "compiled range is damaged");
	return 0;
}

int cs_match_event_next(int *kind, const char **val, struct cs_match_rd *r)
{
	*kind = cs_match_rd_u8(r);
	*val = cs_match_rd_str(r);
	if (r->bad || *kind > CS_EV_LIMIT || (*kind != CS_EV_NONE && *val == NULL))
		return cs_err_set(CS_EDB, "compiled event is damaged");
	return 0;
}

const char *cs_match_ev_name(int kind)
{
	return kind >= CS_EV_INTRO && kind <= CS_EV_LIMIT ? ev_names[kind] : "";
}
