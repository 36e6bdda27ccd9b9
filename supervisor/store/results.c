/*
 * results.c - storing a scan result (image, inventory, reverse index,
 * report, findings index, verdict history, alert) in one transaction.
 */
#include "supervisor/store/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/errors.h"

static const char *const sev_names[CS_STORE_SEV_N] = {
	"unknown", "low", "medium", "high", "critical",
};

const char *cs_store_severity_name(enum cs_store_severity sev)
{
	if ((int)sev < 0 || sev >= CS_STORE_SEV_N)
		return NULL;
	return sev_names[sev];
}

/* A level name as policies and distributions spell it; -1 if unknown. */
static int sev_word(const char *w, size_t n)
{
	static const struct { const char *w; int level; } words[] = {
		{"unknown", CS_STORE_SEV_UNKNOWN}, {"none", CS_STORE_SEV_UNKNOWN},
		{"negligible", CS_STORE_SEV_LOW}, {"low", CS_STORE_SEV_LOW},
		{"minor", CS_STORE_SEV_LOW},
		{"medium", CS_STORE_SEV_MEDIUM}, {"moderate", CS_STORE_SEV_MEDIUM},
		{"high", CS_STORE_SEV_HIGH}, {"important", CS_STORE_SEV_HIGH},
		{"critical", CS_STORE_SEV_CRITICAL},
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].w) == n && strncasecmp(words[i].w, w, n) == 0)
			return words[i].level;
	return -1;
}

int cs_store_severity_mask(const char *list, unsigned *mask)
{
	const char *p = list;

	*mask = 0;
	if (list == NULL)
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *w = p;
		size_t wn = n;
		int lv;

		while (wn > 0 && isspace((unsigned char)*w)) {
			w++;
			wn--;
		}
		while (wn > 0 && isspace((unsigned char)w[wn - 1]))
			wn--;
		if (wn > 0) {
			lv = sev_word(w, wn);
			/* "none" is accepted as a reading of data, not as a filter */
			if (lv < 0 || (wn == 4 && strncasecmp(w, "none", 4) == 0)) {
				*mask = 0;
				return cs_err_set(CS_EINVAL, "unknown severity '%.*s'",
						  (int)(wn > 64 ? 64 : wn), w);
			}
			*mask |= 1u << lv;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The policy's level of a finding: severity.level as cellscan-report/1
 * writes it, else the first string among severity_level, severity,
 * rating.severity, classification.severity. */
static int finding_severity(const json_t *f)
{
	const json_t *cands[5] = {
		json_object_get(json_object_get(f, "severity"), "level"),
		json_object_get(f, "severity_level"),
		json_object_get(f, "severity"),
		json_object_get(json_object_get(f, "rating"), "severity"),
		json_object_get(json_object_get(f, "classification"), "severity"),
	};

	for (int i = 0; i < 5; i++) {
		if (json_is_string(cands[i])) {
			int lv = sev_word(json_string_value(cands[i]), json_string_length(cands[i]));
			return lv < 0 ? CS_STORE_SEV_UNKNOWN : lv;
		}
	}
	return CS_STORE_SEV_UNKNOWN;
}

static int finding_fixable(const json_t *f)
{
	const json_t *v = json_object_get(f, "fixable");
	const char *st = json_string_value(json_object_get(f, "fix_state"));
	const char *fv = json_string_value(json_object_get(f, "fixed_version"));

	if (json_is_boolean(v))
		return json_is_true(v);
	if (st != NULL)
		return strcmp(st, "fixed") == 0;
	return fv != NULL && fv[0] != '\0';
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A finding reduced to what the index holds; NULL fields are absent. */
struct frow {
	const char *id, *name, *version, *kind, *ecosystem, *fixed_version;
	json_t *aliases;    /* owned: array of strings, without id */
	int severity, fixable;
};

static int text_ok(const char *what, const char *v, size_t max)
{
	if (v != NULL && strlen(v) > max)
		return cs_err_set(CS_ELIMIT, "store: %s longer than %zu bytes", what, max);
	return 0;
}

static int add_alias(json_t *aliases, const char *id, const json_t *v)
{
	size_t i;
	json_t *a;

	if (!json_is_string(v))
		return cs_err_set(CS_EFORMAT, "store: report: an alias is not a string");
	if (json_string_length(v) > CS_STORE_MAX_ID || json_string_length(v) == 0)
		return cs_err_set(CS_ELIMIT, "store: report: alias empty or too long");
	if (strcmp(json_string_value(v), id) == 0)
		return 0;
	json_array_foreach(aliases, i, a) {
		if (strcmp(json_string_value(a), json_string_value(v)) == 0)
			return 0;
	}
	if (json_array_append(aliases, (json_t *)v) != 0)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	return 0;
}

static int frow_from(struct frow *fr, const json_t *f)
{
	const json_t *pkg = json_object_get(f, "package");
	const char *lists[2] = {"aliases", "upstream"};
	int r;

	memset(fr, 0, sizeof(*fr));
	if (!json_is_object(f))
		return cs_err_set(CS_EFORMAT, "store: report: a finding is not an object");
	fr->id = jstr(f, "id");
	if (fr->id == NULL || fr->id[0] == '\0')
		return cs_err_set(CS_EFORMAT, "store: report: a finding has no id");
	if (json_is_object(pkg)) {
		fr->name = jstr(pkg, "name");
		fr->version = jstr(pkg, "version");
		fr->kind = jstr(pkg, "kind");
		fr->ecosystem = jstr(pkg, "ecosystem");
	} else {
		fr->name = json_string_value(pkg);
	}
	if (fr->name == NULL || fr->name[0] == '\0')
		return cs_err_set(CS_EFORMAT, "store: report: finding %.100s has no package name",
				  fr->id);
	if (jstr(f, "installed_version") != NULL)
		fr->version = jstr(f, "installed_version");
	if (jstr(f, "ecosystem") != NULL)
		fr->ecosystem = jstr(f, "ecosystem");
	fr->fixed_version = jstr(f, "fixed_version");
	fr->severity = finding_severity(f);
	fr->fixable = finding_fixable(f);
	if ((r = text_ok("vulnerability id", fr->id, CS_STORE_MAX_ID)) != 0 ||
	    (r = text_ok("package name", fr->name, CS_STORE_MAX_REF)) != 0 ||
	    (r = text_ok("package version", fr->version, CS_STORE_MAX_REF)) != 0 ||
	    (r = text_ok("package kind", fr->kind, CS_STORE_MAX_ID)) != 0 ||
	    (r = text_ok("ecosystem", fr->ecosystem, CS_STORE_MAX_REF)) != 0 ||
	    (r = text_ok("fixed version", fr->fixed_version, CS_STORE_MAX_REF)) != 0)
		return r;
	fr->aliases = json_array();
	if (fr->aliases == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	for (int l = 0; l < 2; l++) {
		const json_t *a = json_object_get(f, lists[l]), *v;
		size_t i;

		if (a == NULL || json_is_null(a))
			continue;
		if (!json_is_array(a))
			return cs_err_set(CS_EFORMAT, "store: report: %s of %.100s is not an array",
					  lists[l], fr->id);
		json_array_foreach(a, i, v) {
			if ((r = add_alias(fr->aliases, fr->id, v)) != 0)
				return r;
		}
	}
	return 0;
}

/* Whether the finding is one the policy set aside (not indexed). */
static int finding_ignored(const json_t *f)
{
	const char *st = json_string_value(json_object_get(json_object_get(f, "decision"), "status"));

	return (st != NULL && strcmp(st, "ignored") == 0) ||
	       json_is_true(json_object_get(f, "ignored")) ||
	       json_is_true(json_object_get(f, "suppressed"));
}

static int verdict_ok(const char *v)
{
	return v != NULL && (strcmp(v, "healthy") == 0 || strcmp(v, "unhealthy") == 0 ||
			     strcmp(v, "error") == 0);
}

/* The verdict a report states: "verdict" as a string, or an object's
 * "verdict"/"status", or summary.verdict. */
static const char *report_verdict(const json_t *rep)
{
	const json_t *v = json_object_get(rep, "verdict");

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_object(v)) {
		if (jstr(v, "verdict") != NULL)
			return jstr(v, "verdict");
		return jstr(v, "status");
	}
	return jstr(json_object_get(rep, "summary"), "verdict");
}

/* "host/repo" of "host/repo:tag", "host/repo@sha256:...", "host:5000/repo:t". */
static char *ref_repository(const char *ref)
{
	size_t n = strcspn(ref, "@");
	const char *slash, *colon;
	char *out;

	slash = NULL;
	for (size_t i = 0; i < n; i++)
		if (ref[i] == '/')
			slash = ref + i;
	colon = NULL;
	for (const char *p = slash != NULL ? slash : ref; p < ref + n; p++)
		if (*p == ':')
			colon = p;
	if (colon != NULL)
		n = (size_t)(colon - ref);
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, ref, n);
	out[n] = '\0';
	return out;
}

static int put_ref(struct cs_store *s, const char *digest, const char *ref, const char *repository,
		   long long now)
{
	static const char sql[] =
		"INSERT INTO image_refs(digest, ref, repository, first_seen, last_seen)"
		" VALUES($1, $2, $3, $4, $4) ON CONFLICT(digest, ref) DO UPDATE SET"
		" last_seen = CASE WHEN excluded.last_seen > image_refs.last_seen"
		" THEN excluded.last_seen ELSE image_refs.last_seen END";
	char *repo = NULL;
	int r;

	if ((r = cs_store_check_text("image reference", ref, CS_STORE_MAX_REF, 1)) != 0)
		return r;
	if (repository == NULL) {
		repo = ref_repository(ref);
		if (repo == NULL)
			return cs_err_set(CS_ENOMEM, "store: out of memory");
		repository = repo;
	}
	struct dbv p[] = {DV_TEXT(digest), DV_TEXT(ref), DV_TEXT(repository), DV_INT(now)};
	r = db_exec(s, sql, p, 4, NULL);
	free(repo);
	return r;
}

static int put_refs(struct cs_store *s, const json_t *image, const char *digest,
		    const char *repository, long long now)
{
	const json_t *refs = json_object_get(image, "refs"), *v;
	const char *ref = jstr(image, "ref");
	char own[CS_STORE_MAX_REF + CS_STORE_MAX_DIGEST + 2];
	size_t i;
	int r;

	/* Every image is reachable by repository@digest, whatever else. */
	if ((size_t)snprintf(own, sizeof(own), "%s@%s", repository, digest) >= sizeof(own))
		return cs_err_set(CS_ELIMIT, "store: reference too long");
	if ((r = put_ref(s, digest, own, repository, now)) != 0)
		return r;
	if (ref != NULL && (r = put_ref(s, digest, ref, NULL, now)) != 0)
		return r;
	if (refs != NULL && !json_is_array(refs))
		return cs_err_set(CS_EINVAL, "store: image refs is not an array");
	json_array_foreach(refs, i, v) {
		if (!json_is_string(v))
			return cs_err_set(CS_EINVAL, "store: an image ref is not a string");
		if ((r = put_ref(s, digest, json_string_value(v), NULL, now)) != 0)
			return r;
	}
	return 0;
}

static int put_packages(struct cs_store *s, const json_t *keys, const char *digest)
{
	static const char sql_del[] = "DELETE FROM inventory_packages WHERE digest = $1";
	static const char sql_add[] =
		"INSERT INTO inventory_packages(ecosystem, name, digest) VALUES($1, $2, $3)"
		" ON CONFLICT DO NOTHING";
	struct dbv d[] = {DV_TEXT(digest)};
	const json_t *k;
	size_t i;
	int r;

	if ((r = db_exec(s, sql_del, d, 1, NULL)) != 0)
		return r;
	if (keys == NULL)
		return 0;
	if (!json_is_array(keys))
		return cs_err_set(CS_EINVAL, "store: package_keys is not an array");
	json_array_foreach(keys, i, k) {
		const char *eco = jstr(k, "ecosystem"), *name = jstr(k, "name");

		if ((r = cs_store_check_text("key ecosystem", eco, CS_STORE_MAX_REF, 1)) != 0 ||
		    (r = cs_store_check_text("key name", name, CS_STORE_MAX_REF, 1)) != 0)
			return r;
		struct dbv p[] = {DV_TEXT(eco), DV_TEXT(name), DV_TEXT(digest)};
		if ((r = db_exec(s, sql_add, p, 3, NULL)) != 0)
			return r;
	}
	return 0;
}

static int put_findings(struct cs_store *s, const json_t *findings, const char *digest,
			long long counts[CS_STORE_SEV_N])
{
	static const char sql_del[] = "DELETE FROM findings WHERE digest = $1";
	static const char sql_add[] =
		"INSERT INTO findings(digest, vuln_id, aliases, package, version, kind, ecosystem,"
		" severity, fixable, fixed_version) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		" RETURNING id";
	static const char sql_key[] =
		"INSERT INTO finding_keys(key, finding) VALUES($1, $2) ON CONFLICT DO NOTHING";
	struct dbv d[] = {DV_TEXT(digest)};
	const json_t *f;
	size_t i;
	int r;

	if ((r = db_exec(s, sql_del, d, 1, NULL)) != 0)
		return r;
	json_array_foreach(findings, i, f) {
		struct frow fr;
		struct dbq q;
		char *al = NULL;
		long long fid = 0;
		int got = 0;

		if (finding_ignored(f))
			continue;
		if ((r = frow_from(&fr, f)) != 0) {
			json_decref(fr.aliases);
			return r;
		}
		al = json_dumps(fr.aliases, JSON_COMPACT);
		if (al == NULL) {
			json_decref(fr.aliases);
			return cs_err_set(CS_ENOMEM, "store: out of memory");
		}
		struct dbv p[] = {DV_TEXT(digest), DV_TEXT(fr.id), DV_TEXT(al), DV_TEXT(fr.name),
				  DV_TEXT(fr.version), DV_TEXT(fr.kind), DV_TEXT(fr.ecosystem),
				  DV_INT(fr.severity), DV_INT(fr.fixable), DV_TEXT(fr.fixed_version)};
		r = db_query(s, &q, sql_add, p, 10);
		if (r == 0) {
			r = db_step(&q);
			if (r > 0) {
				fid = db_int(&q, 0);
				got = 1;
				while ((r = db_step(&q)) > 0)
					;
			}
			db_end(&q);
		}
		free(al);
		if (r == 0 && !got)
			r = cs_err_set(CS_EDB, "store: finding insert returned no id");
		if (r == 0) {
			struct dbv k[] = {DV_TEXT(fr.id), DV_INT(fid)};
			r = db_exec(s, sql_key, k, 2, NULL);
		}
		for (size_t j = 0; r == 0 && j < json_array_size(fr.aliases); j++) {
			struct dbv k[] = {DV_TEXT(json_string_value(json_array_get(fr.aliases, j))),
					  DV_INT(fid)};
			r = db_exec(s, sql_key, k, 2, NULL);
		}
		json_decref(fr.aliases);
		if (r != 0)
			return r;
		counts[fr.severity]++;
	}
	return 0;
}

static int enqueue_verdict_alert(struct cs_store *s, const char *digest, const char *repository,
				 const char *verdict, const char *previous, const char *db_digest,
				 const long long counts[CS_STORE_SEV_N], long long now)
{
	static const char sql[] =
		"INSERT INTO alerts(digest, kind, payload, state, attempts, next_attempt, created,"
		" updated) VALUES($1, 'verdict', $2, 'pending', 0, $3, $3, $3)";
	json_t *o;
	char *text;
	int r;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:I}",
		      "kind", "verdict", "digest", digest, "repository", repository,
		      "verdict", verdict, "previous_verdict", previous, "db_digest", db_digest,
		      "counts", "critical", (json_int_t)counts[CS_STORE_SEV_CRITICAL],
		      "high", (json_int_t)counts[CS_STORE_SEV_HIGH],
		      "medium", (json_int_t)counts[CS_STORE_SEV_MEDIUM],
		      "low", (json_int_t)counts[CS_STORE_SEV_LOW],
		      "unknown", (json_int_t)counts[CS_STORE_SEV_UNKNOWN],
		      "time", (json_int_t)now);
	if (o == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	if (previous == NULL && json_object_set_new(o, "previous_verdict", json_null()) != 0) {
		json_decref(o);
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return cs_err_set(CS_ENOMEM, "store: out of memory");
	struct dbv p[] = {DV_TEXT(digest), DV_TEXT(text), DV_INT(now)};
	r = db_exec(s, sql, p, 3, NULL);
	free(text);
	return r;
}

int cs_store_put_result_tx(struct cs_store *s, const json_t *image, const json_t *inventory,
			   const char *report_json, long long now, int *verdict_changed,
			   char **previous_verdict)
{
	static const char sql_prev[] = "SELECT verdict, created FROM reports WHERE digest = $1";
	static const char sql_image[] =
		"INSERT INTO images(digest, repository, platform, first_seen, last_scanned)"
		" VALUES($1, $2, $3, $4, $4) ON CONFLICT(digest) DO UPDATE SET"
		" repository = excluded.repository,"
		" platform = COALESCE(excluded.platform, images.platform),"
		" last_scanned = excluded.last_scanned";
	static const char sql_image_seen[] =
		"INSERT INTO images(digest, repository, platform, first_seen, last_scanned)"
		" VALUES($1, $2, $3, $4, $4) ON CONFLICT(digest) DO NOTHING";
	static const char sql_inv[] =
		"INSERT INTO inventories(digest, inventory, updated) VALUES($1, $2, $3)"
		" ON CONFLICT(digest) DO UPDATE SET inventory = excluded.inventory,"
		" updated = excluded.updated";
	static const char sql_report[] =
		"INSERT INTO reports(digest, report, db_digest, verdict, n_critical, n_high,"
		" n_medium, n_low, n_unknown, created) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		" ON CONFLICT(digest) DO UPDATE SET report = excluded.report,"
		" db_digest = excluded.db_digest, verdict = excluded.verdict,"
		" n_critical = excluded.n_critical, n_high = excluded.n_high,"
		" n_medium = excluded.n_medium, n_low = excluded.n_low,"
		" n_unknown = excluded.n_unknown, created = excluded.created";
	static const char sql_history[] =
		"INSERT INTO verdict_history(digest, verdict, previous, db_digest, created)"
		" VALUES($1, $2, $3, $4, $5)";
	const char *digest, *repository, *platform, *db_digest, *verdict;
	long long counts[CS_STORE_SEV_N] = {0};
	json_t *rep = NULL;
	json_error_t jerr;
	char *inv = NULL, *prev = NULL;
	const json_t *findings;
	struct dbq q;
	size_t rlen;
	int r, changed = 0, stale = 0;

	if (verdict_changed != NULL)
		*verdict_changed = 0;
	if (previous_verdict != NULL)
		*previous_verdict = NULL;
	if (!json_is_object(image) || !json_is_object(inventory) || report_json == NULL)
		return cs_err_set(CS_EINVAL, "store: a result needs an image object, an inventory "
				  "object and a report");
	digest = jstr(image, "digest");
	repository = jstr(image, "repository");
	platform = jstr(image, "platform");
	db_digest = jstr(image, "db_digest");
	if ((r = cs_store_check_digest("image digest", digest)) != 0 ||
	    (r = cs_store_check_text("repository", repository, CS_STORE_MAX_REF, 1)) != 0 ||
	    (r = cs_store_check_text("platform", platform, CS_STORE_MAX_ID, 0)) != 0 ||
	    (r = cs_store_check_text("database digest", db_digest, CS_STORE_MAX_DIGEST, 1)) != 0)
		return r;
	rlen = strnlen(report_json, s->opt.max_doc + 1);
	if (rlen > s->opt.max_doc)
		return cs_err_set(CS_ELIMIT, "store: report larger than %zu bytes", s->opt.max_doc);
	rep = json_loadb(report_json, rlen, JSON_REJECT_DUPLICATES, &jerr);
	if (rep == NULL)
		return cs_err_set(CS_EFORMAT, "store: report is not JSON: %s (line %d)", jerr.text,
				  jerr.line);
	if (!json_is_object(rep)) {
		r = cs_err_set(CS_EFORMAT, "store: report is not a JSON object");
		goto out;
	}
	verdict = jstr(image, "verdict");
	if (verdict == NULL)
		verdict = report_verdict(rep);
	if (!verdict_ok(verdict)) {
		r = cs_err_set(CS_EFORMAT, "store: verdict must be healthy, unhealthy or error");
		goto out;
	}
	findings = json_object_get(rep, "findings");
	if (findings != NULL && !json_is_array(findings)) {
		r = cs_err_set(CS_EFORMAT, "store: report findings is not an array");
		goto out;
	}
	inv = json_dumps(inventory, JSON_COMPACT);
	if (inv == NULL) {
		r = cs_err_set(CS_ENOMEM, "store: cannot serialise the inventory");
		goto out;
	}
	if (strlen(inv) > s->opt.max_doc) {
		r = cs_err_set(CS_ELIMIT, "store: inventory larger than %zu bytes", s->opt.max_doc);
		goto out;
	}

	struct dbv pd[] = {DV_TEXT(digest)};
	if ((r = db_query(s, &q, sql_prev, pd, 1)) != 0)
		goto out;
	r = db_step(&q);
	if (r > 0) {
		r = cs_store_strdup(&prev, db_text(&q, 0));
		stale = db_int(&q, 1) > now;
	}
	db_end(&q);
	if (r < 0)
		goto out;

	if (stale) {
		/* A newer result is stored (a slow worker lost a race with a
		 * rescan): keep it, only remember where the image was seen. */
		struct dbv p[] = {DV_TEXT(digest), DV_TEXT(repository), DV_TEXT(platform), DV_INT(now)};
		if ((r = db_exec(s, sql_image_seen, p, 4, NULL)) != 0 ||
		    (r = put_refs(s, image, digest, repository, now)) != 0)
			goto out;
		goto done;
	}
	struct dbv pi[] = {DV_TEXT(digest), DV_TEXT(repository), DV_TEXT(platform), DV_INT(now)};
	if ((r = db_exec(s, sql_image, pi, 4, NULL)) != 0 ||
	    (r = put_refs(s, image, digest, repository, now)) != 0)
		goto out;
	struct dbv pv[] = {DV_TEXT(digest), DV_TEXT(inv), DV_INT(now)};
	if ((r = db_exec(s, sql_inv, pv, 3, NULL)) != 0 ||
	    (r = put_packages(s, json_object_get(image, "package_keys"), digest)) != 0 ||
	    (r = put_findings(s, findings, digest, counts)) != 0)
		goto out;
	struct dbv pr[] = {DV_TEXT(digest), DV_TEXTN(report_json, rlen), DV_TEXT(db_digest),
			   DV_TEXT(verdict), DV_INT(counts[CS_STORE_SEV_CRITICAL]),
			   DV_INT(counts[CS_STORE_SEV_HIGH]), DV_INT(counts[CS_STORE_SEV_MEDIUM]),
			   DV_INT(counts[CS_STORE_SEV_LOW]), DV_INT(counts[CS_STORE_SEV_UNKNOWN]),
			   DV_INT(now)};
	if ((r = db_exec(s, sql_report, pr, 10, NULL)) != 0)
		goto out;
	if (prev == NULL || strcmp(prev, verdict) != 0) {
		struct dbv ph[] = {DV_TEXT(digest), DV_TEXT(verdict), DV_TEXT(prev), DV_TEXT(db_digest),
				   DV_INT(now)};
		if ((r = db_exec(s, sql_history, ph, 5, NULL)) != 0)
			goto out;
		/* Healthy images raise nothing the first time. */
		changed = prev != NULL || strcmp(verdict, "healthy") != 0;
	}
	if (changed && s->opt.alerts &&
	    (r = enqueue_verdict_alert(s, digest, repository, verdict, prev, db_digest, counts,
				       now)) != 0)
		goto out;
done:
	if (verdict_changed != NULL)
		*verdict_changed = changed;
	if (previous_verdict != NULL) {
		*previous_verdict = prev;
		prev = NULL;
	}
out:
	json_decref(rep);
	free(inv);
	free(prev);
	return r;
}

int cs_store_put_result(struct cs_store *s, const json_t *image, const json_t *inventory,
			const char *report_json, long long now, int *verdict_changed,
			char **previous_verdict)
{
	int r;

	if (verdict_changed != NULL)
		*verdict_changed = 0;
	if (previous_verdict != NULL)
		*previous_verdict = NULL;
	if ((r = db_begin(s, 1)) != 0)
		return r;
	r = cs_store_put_result_tx(s, image, inventory, report_json, now, verdict_changed,
				   previous_verdict);
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r != 0 && previous_verdict != NULL) {
		free(*previous_verdict);
		*previous_verdict = NULL;
	}
	if (r != 0 && verdict_changed != NULL)
		*verdict_changed = 0;
	return r;
}

int cs_store_job_complete(struct cs_store *s, long long job_id, const char *worker_id,
			  const json_t *image, const json_t *inventory, const char *report_json,
			  long long now, int *verdict_changed, char **previous_verdict)
{
	int r;

	if (verdict_changed != NULL)
		*verdict_changed = 0;
	if (previous_verdict != NULL)
		*previous_verdict = NULL;
	if ((r = db_begin(s, 1)) != 0)
		return r;
	/* The lease check first: a worker that lost its job stores nothing. */
	r = cs_store_job_finish_tx(s, job_id, worker_id, CS_STORE_OK, NULL, now);
	if (r == 0)
		r = cs_store_put_result_tx(s, image, inventory, report_json, now, verdict_changed,
					   previous_verdict);
	if (r == 0)
		r = db_commit(s);
	else
		db_rollback(s);
	if (r != 0 && previous_verdict != NULL) {
		free(*previous_verdict);
		*previous_verdict = NULL;
	}
	if (r != 0 && verdict_changed != NULL)
		*verdict_changed = 0;
	return r;
}
