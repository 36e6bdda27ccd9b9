/*
 * query.c - reading results back: reports, images (filtered, paged),
 * findings by image and by vulnerability id, and the reverse index.
 */
#include "supervisor/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/errors.h"

static int oom(void)
{
	return cs_err_set(CS_ENOMEM, "store: out of memory");
}

static int get_text(struct cs_store *s, const char *sql, const char *digest, const char *what,
		    char **out)
{
	struct dbv p[] = {DV_TEXT(digest)};
	struct dbq q;
	int r;

	*out = NULL;
	if ((r = cs_store_check_text("digest", digest, CS_STORE_MAX_DIGEST, 1)) != 0)
		return r;
	if ((r = db_query(s, &q, sql, p, 1)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		size_t n = db_len(&q, 0);
		const char *t = db_text(&q, 0);
		*out = malloc(n + 1);
		if (*out == NULL) {
			r = oom();
		} else {
			memcpy(*out, t != NULL ? t : "", n);
			(*out)[n] = '\0';
			r = 0;
		}
	} else if (r == 0) {
		r = cs_err_set(CS_ENOTFOUND, "store: no %s for %.100s", what, digest);
	}
	db_end(&q);
	return r;
}

int cs_store_get_report(struct cs_store *s, const char *digest, char **json)
{
	return get_text(s, "SELECT report FROM reports WHERE digest = $1", digest, "report", json);
}

int cs_store_get_inventory(struct cs_store *s, const char *digest, char **json)
{
	return get_text(s, "SELECT inventory FROM inventories WHERE digest = $1", digest,
			"inventory", json);
}

#define IMAGE_COLS "i.digest, i.repository, i.platform, i.first_seen, i.last_scanned," \
	" r.verdict, r.db_digest, r.created, r.n_critical, r.n_high, r.n_medium, r.n_low," \
	" r.n_unknown"

static json_t *jtext(struct dbq *q, int col)
{
	const char *t = db_text(q, col);

	return t != NULL ? json_string(t) : json_null();
}

static json_t *image_from_row(struct dbq *q)
{
	json_t *o = json_pack("{s:o, s:o, s:o, s:I, s:I, s:o, s:o}",
			      "digest", jtext(q, 0), "repository", jtext(q, 1),
			      "platform", jtext(q, 2), "first_seen", (json_int_t)db_int(q, 3),
			      "last_scanned", (json_int_t)db_int(q, 4), "verdict", jtext(q, 5),
			      "db_digest", jtext(q, 6));

	if (o == NULL)
		return NULL;
	if (!db_isnull(q, 7)) {
		if (json_object_set_new(o, "scanned", json_integer(db_int(q, 7))) != 0 ||
		    json_object_set_new(o, "counts", json_pack("{s:I, s:I, s:I, s:I, s:I}",
			"critical", (json_int_t)db_int(q, 8), "high", (json_int_t)db_int(q, 9),
			"medium", (json_int_t)db_int(q, 10), "low", (json_int_t)db_int(q, 11),
			"unknown", (json_int_t)db_int(q, 12))) != 0) {
			json_decref(o);
			return NULL;
		}
	} else if (json_object_set_new(o, "scanned", json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int add_refs(struct cs_store *s, json_t *img)
{
	static const char sql[] = "SELECT ref FROM image_refs WHERE digest = $1 ORDER BY ref";
	struct dbv p[] = {DV_TEXT(json_string_value(json_object_get(img, "digest")))};
	json_t *refs = json_array();
	struct dbq q;
	int r;

	if (refs == NULL || json_object_set_new(img, "refs", refs) != 0)
		return oom();
	if ((r = db_query(s, &q, sql, p, 1)) != 0)
		return r;
	while ((r = db_step(&q)) > 0) {
		if (json_array_append_new(refs, jtext(&q, 0)) != 0) {
			r = oom();
			break;
		}
	}
	db_end(&q);
	return r;
}

int cs_store_get_image(struct cs_store *s, const char *digest, json_t **out)
{
	static const char sql[] =
		"SELECT " IMAGE_COLS " FROM images i LEFT JOIN reports r ON r.digest = i.digest"
		" WHERE i.digest = $1";
	struct dbv p[] = {DV_TEXT(digest)};
	json_t *img = NULL;
	struct dbq q;
	int r;

	*out = NULL;
	if ((r = cs_store_check_text("digest", digest, CS_STORE_MAX_DIGEST, 1)) != 0)
		return r;
	if ((r = db_query(s, &q, sql, p, 1)) != 0)
		return r;
	r = db_step(&q);
	if (r > 0) {
		img = image_from_row(&q);
		r = img != NULL ? 0 : oom();
	} else if (r == 0) {
		r = cs_err_set(CS_ENOTFOUND, "store: no image %.100s", digest);
	}
	db_end(&q);
	if (r == 0)
		r = add_refs(s, img);
	if (r != 0) {
		json_decref(img);
		return r;
	}
	*out = img;
	return 0;
}

int cs_store_list_images(struct cs_store *s, const struct cs_store_image_filter *filter,
			 json_t **out)
{
	/* One statement for every combination of filters: an absent filter
	 * is a NULL parameter that switches its clause off (CAST gives
	 * PostgreSQL the parameter's type). */
	static const char sql[] =
		"SELECT " IMAGE_COLS " FROM images i LEFT JOIN reports r ON r.digest = i.digest"
		" WHERE (CAST($1 AS TEXT) IS NULL OR r.verdict = $1)"
		" AND (CAST($2 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM image_refs f"
		"  WHERE f.digest = i.digest AND f.repository = $2))"
		" AND (CAST($3 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM image_refs f"
		"  WHERE f.digest = i.digest AND f.repository >= $3 AND f.repository < $4))"
		" AND (CAST($5 AS TEXT) IS NULL OR i.digest > $5)"
		" ORDER BY i.digest LIMIT $6";
	struct cs_store_image_filter none = {0};
	const char *exact = NULL, *prefix = NULL;
	char *pfx = NULL, *upper = NULL, *star;
	json_t *res = NULL, *list, *img;
	unsigned limit;
	struct dbq q;
	size_t i;
	int r, n = 0, more = 0;

	*out = NULL;
	if (filter == NULL)
		filter = &none;
	limit = filter->limit == 0 ? 100 : filter->limit;
	if (limit > 1000)
		limit = 1000;
	if ((r = cs_store_check_text("verdict", filter->verdict, CS_STORE_MAX_ID, 0)) != 0 ||
	    (r = cs_store_check_text("repository", filter->repository, CS_STORE_MAX_REF, 0)) != 0 ||
	    (r = cs_store_check_text("cursor", filter->cursor, CS_STORE_MAX_DIGEST, 0)) != 0)
		return r;
	if (filter->repository != NULL) {
		star = strchr(filter->repository, '*');
		if (star == NULL) {
			exact = filter->repository;
		} else {
			if (star[1] != '\0')
				return cs_err_set(CS_EINVAL, "store: '*' only at the end of a "
						  "repository filter");
			if (star != filter->repository) {
				pfx = strndup(filter->repository, (size_t)(star - filter->repository));
				if (pfx == NULL)
					return oom();
				if ((r = cs_store_prefix_upper(&upper, pfx)) != 0)
					goto out;
				prefix = pfx;
			}
		}
	}
	res = json_object();
	list = json_array();
	if (res == NULL || list == NULL || json_object_set_new(res, "images", list) != 0) {
		json_decref(list);
		r = oom();
		goto out;
	}
	/* One more row than asked says whether there is a next page. */
	struct dbv p[] = {DV_TEXT(filter->verdict), DV_TEXT(exact), DV_TEXT(prefix), DV_TEXT(upper),
			  DV_TEXT(filter->cursor), DV_INT((long long)limit + 1)};
	if ((r = db_query(s, &q, sql, p, 6)) != 0)
		goto out;
	while ((r = db_step(&q)) > 0) {
		if ((unsigned)n == limit) {
			more = 1;
			continue;
		}
		img = image_from_row(&q);
		if (img == NULL || json_array_append_new(list, img) != 0) {
			r = oom();
			break;
		}
		n++;
	}
	db_end(&q);
	if (r < 0)
		goto out;
	json_array_foreach(list, i, img) {
		if ((r = add_refs(s, img)) != 0)
			goto out;
	}
	img = json_array_get(list, json_array_size(list) - 1);
	if (json_object_set(res, "next", more && img != NULL ?
			    json_object_get(img, "digest") : json_null()) != 0) {
		r = oom();
		goto out;
	}
	*out = res;
	res = NULL;
out:
	json_decref(res);
	free(pfx);
	free(upper);
	return r;
}

#define FINDING_COLS "f.vuln_id, f.aliases, f.package, f.version, f.kind, f.ecosystem," \
	" f.severity, f.fixable, f.fixed_version"

/* A finding object from FINDING_COLS starting at column c. */
static json_t *finding_from_row(struct dbq *q, int c)
{
	const char *al = db_text(q, c + 1);
	json_t *aliases = al != NULL ? json_loads(al, 0, NULL) : NULL;
	long long sev = db_int(q, c + 6);
	json_t *o;

	if (!json_is_array(aliases)) {
		json_decref(aliases);
		aliases = json_array();
	}
	o = json_pack("{s:o, s:o, s:{s:o, s:o, s:o}, s:o, s:s, s:b, s:o}",
		      "id", jtext(q, c), "aliases", aliases,
		      "package", "name", jtext(q, c + 2), "version", jtext(q, c + 3),
		      "kind", jtext(q, c + 4),
		      "ecosystem", jtext(q, c + 5),
		      "severity", cs_store_severity_name(sev >= 0 && sev < CS_STORE_SEV_N ?
							 (enum cs_store_severity)sev :
							 CS_STORE_SEV_UNKNOWN),
		      "fixable", (int)db_int(q, c + 7),
		      "fixed_version", jtext(q, c + 8));
	return o;
}

int cs_store_image_findings(struct cs_store *s, const char *digest,
			    const struct cs_store_finding_filter *filter, json_t **out)
{
	static const char sql_has[] = "SELECT 1 FROM images WHERE digest = $1";
	static const char sql[] =
		"SELECT " FINDING_COLS " FROM findings f WHERE f.digest = $1"
		" AND ((CAST($2 AS BIGINT) >> CAST(f.severity AS INTEGER)) & 1) = 1"
		" AND (CAST($3 AS BIGINT) < 0 OR f.fixable = $3)"
		" ORDER BY f.severity DESC, f.vuln_id, f.package, f.id";
	struct cs_store_finding_filter all = {CS_STORE_SEV_ALL, -1};
	json_t *res = NULL, *list, *f;
	unsigned mask;
	long long one;
	struct dbq q;
	int r, found;

	*out = NULL;
	if (filter == NULL)
		filter = &all;
	mask = filter->severities == 0 ? CS_STORE_SEV_ALL : (filter->severities & CS_STORE_SEV_ALL);
	if (filter->fixable < -1 || filter->fixable > 1)
		return cs_err_set(CS_EINVAL, "store: fixable filter must be -1, 0 or 1");
	if ((r = cs_store_check_text("digest", digest, CS_STORE_MAX_DIGEST, 1)) != 0)
		return r;
	struct dbv ph[] = {DV_TEXT(digest)};
	if ((r = db_one_int(s, sql_has, ph, 1, &one, &found)) != 0)
		return r;
	if (!found)
		return cs_err_set(CS_ENOTFOUND, "store: no image %.100s", digest);
	list = json_array();
	res = json_pack("{s:s, s:o}", "digest", digest, "findings", list);
	if (res == NULL)
		return oom();
	struct dbv p[] = {DV_TEXT(digest), DV_INT(mask), DV_INT(filter->fixable)};
	if ((r = db_query(s, &q, sql, p, 3)) != 0)
		goto out;
	while ((r = db_step(&q)) > 0) {
		f = finding_from_row(&q, 0);
		if (f == NULL || json_array_append_new(list, f) != 0) {
			r = oom();
			break;
		}
	}
	db_end(&q);
	if (r == 0) {
		*out = res;
		res = NULL;
	}
out:
	json_decref(res);
	return r;
}

int cs_store_find_images_by_vuln(struct cs_store *s, const char *id, json_t **out)
{
	static const char sql[] =
		"SELECT f.digest, i.repository, r.verdict, " FINDING_COLS
		" FROM finding_keys k JOIN findings f ON f.id = k.finding"
		" JOIN images i ON i.digest = f.digest LEFT JOIN reports r ON r.digest = f.digest"
		" WHERE k.key = $1 ORDER BY f.digest, f.id LIMIT $2";
	json_t *res = NULL, *images, *cur = NULL, *f;
	const char *last = NULL;
	struct dbq q;
	long long rows = 0;
	int r;

	*out = NULL;
	if ((r = cs_store_check_text("vulnerability id", id, CS_STORE_MAX_ID, 1)) != 0)
		return r;
	images = json_array();
	res = json_pack("{s:s, s:o, s:b}", "id", id, "images", images, "truncated", 0);
	if (res == NULL)
		return oom();
	struct dbv p[] = {DV_TEXT(id), DV_INT(CS_STORE_MAX_ROWS + 1)};
	if ((r = db_query(s, &q, sql, p, 2)) != 0)
		goto out;
	while ((r = db_step(&q)) > 0) {
		const char *d = db_text(&q, 0);

		if (++rows > CS_STORE_MAX_ROWS) {
			if (json_object_set_new(res, "truncated", json_true()) != 0)
				r = oom();
			break;
		}
		if (cur == NULL || last == NULL || d == NULL || strcmp(last, d) != 0) {
			cur = json_pack("{s:o, s:o, s:o, s:[]}", "digest", jtext(&q, 0),
					"repository", jtext(&q, 1), "verdict", jtext(&q, 2),
					"findings");
			if (cur == NULL || json_array_append_new(images, cur) != 0) {
				r = oom();
				break;
			}
			last = json_string_value(json_object_get(cur, "digest"));
		}
		f = finding_from_row(&q, 3);
		if (f == NULL || json_array_append_new(json_object_get(cur, "findings"), f) != 0) {
			r = oom();
			break;
		}
	}
	db_end(&q);
	if (r >= 0) {
		r = 0;
		*out = res;
		res = NULL;
	}
out:
	json_decref(res);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cs_store_images_for_packages(struct cs_store *s, const char *const *eco_pkg_pairs,
				 size_t n, cs_store_digest_cb cb, void *ctx)
{
	static const char sql[] =
		"SELECT digest FROM inventory_packages WHERE ecosystem = $1 AND name = $2";
	json_t *set = json_object();
	const char **list = NULL;
	const char *k;
	json_t *v;
	size_t cnt = 0, i;
	int r = 0;

	if (set == NULL)
		return oom();
	if (cb == NULL || (n > 0 && eco_pkg_pairs == NULL)) {
		json_decref(set);
		return cs_err_set(CS_EINVAL, "store: images_for_packages needs pairs and a callback");
	}
	for (i = 0; i < n && r == 0; i++) {
		const char *eco = eco_pkg_pairs[2 * i], *name = eco_pkg_pairs[2 * i + 1];
		size_t len;

		if ((r = cs_store_check_text("ecosystem", eco, CS_STORE_MAX_REF, 1)) != 0 ||
		    (r = cs_store_check_text("package name", name, CS_STORE_MAX_REF, 1)) != 0)
			break;
		/* Keys that cover eco: eco itself and each prefix of it that ends
		 * before a ':' ("Red Hat:enterprise_linux:9::appstream" is covered
		 * by "Red Hat:enterprise_linux:9"). */
		len = strlen(eco);
		for (;;) {
			char *e = strndup(eco, len);
			struct dbq q;

			if (e == NULL) {
				r = oom();
				break;
			}
			struct dbv p[] = {DV_TEXT(e), DV_TEXT(name)};
			r = db_query(s, &q, sql, p, 2);
			while (r == 0 && (r = db_step(&q)) > 0) {
				if (json_object_size(set) >= CS_STORE_MAX_ROWS) {
					r = cs_err_set(CS_ELIMIT, "store: more than %d images match",
						       CS_STORE_MAX_ROWS);
					break;
				}
				if (json_object_set_new(set, db_text(&q, 0), json_true()) != 0)
					r = oom();
				else
					r = 0;
			}
			db_end(&q);
			free(e);
			if (r < 0)
				break;
			r = 0;
			while (len > 0 && eco[len - 1] != ':')
				len--;
			if (len == 0)
				break;
			len--;  /* drop the ':' */
			if (len == 0)
				break;
		}
	}
	if (r != 0)
		goto out;
	cnt = json_object_size(set);
	list = calloc(cnt > 0 ? cnt : 1, sizeof(*list));
	if (list == NULL) {
		r = oom();
		goto out;
	}
	i = 0;
	json_object_foreach(set, k, v) {
		(void)v;
		list[i++] = k;
	}
	qsort(list, cnt, sizeof(*list), cmp_str);
	for (i = 0; i < cnt; i++) {
		if ((r = cb(ctx, list[i])) != 0)
			break;
	}
out:
	free(list);
	json_decref(set);
	return r;
}
