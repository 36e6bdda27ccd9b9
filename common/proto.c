#include "common/proto.h"

#include <string.h>

#include "common/errors.h"
#include "common/version.h"

enum fkind { F_STR, F_INT, F_BOOL, F_DIGEST, F_STRARR };

struct field {
	const char *name;
	enum fkind kind;
	int required;
};

struct schema {
	enum cs_rec type;
	const char *name;
	const struct field *fields;
};

#define REQ 1
#define OPT 0

static const struct field f_hello[] = {
	{ "proto", F_INT, REQ }, { "worker", F_STR, REQ }, { "analyzers", F_STR, REQ },
	{ NULL, 0, 0 } };
static const struct field f_analyzed[] = {
	{ "layer", F_INT, REQ }, { "path", F_STR, REQ }, { "analyzer", F_STR, REQ },
	{ NULL, 0, 0 } };
static const struct field f_layer_begin[] = { { "layer", F_INT, REQ }, { NULL, 0, 0 } };
static const struct field f_os[] = {
	{ "layer", F_INT, REQ }, { "id", F_STR, REQ }, { "version_id", F_STR, OPT },
	{ "codename", F_STR, OPT }, { "pretty_name", F_STR, OPT }, { "id_like", F_STR, OPT },
	{ "variant_id", F_STR, OPT }, { "source", F_STR, REQ }, { NULL, 0, 0 } };
static const struct field f_package[] = {
	{ "layer", F_INT, REQ }, { "kind", F_STR, REQ }, { "name", F_STR, REQ },
	{ "version", F_STR, REQ }, { "db", F_STR, REQ }, { "arch", F_STR, OPT },
	{ "source_name", F_STR, OPT }, { "source_version", F_STR, OPT },
	{ "multi_arch", F_STR, OPT }, { "origin", F_STR, OPT }, { "license", F_STR, OPT },
	{ "maintainer", F_STR, OPT }, { "epoch", F_INT, OPT }, { "rpm_version", F_STR, OPT },
	{ "rpm_release", F_STR, OPT }, { "source_rpm", F_STR, OPT },
	{ "modularity_label", F_STR, OPT }, { "vendor", F_STR, OPT },
	{ "files", F_STRARR, OPT }, { NULL, 0, 0 } };
static const struct field f_file[] = {
	{ "layer", F_INT, REQ }, { "path", F_STR, REQ }, { "ftype", F_STR, REQ },
	{ "mode", F_INT, REQ }, { "size", F_INT, REQ }, { "link", F_STR, OPT },
	{ "uid", F_INT, OPT }, { "gid", F_INT, OPT }, { NULL, 0, 0 } };
static const struct field f_whiteout[] = {
	{ "layer", F_INT, REQ }, { "path", F_STR, REQ }, { "opaque", F_BOOL, REQ },
	{ NULL, 0, 0 } };
static const struct field f_warning[] = {
	{ "layer", F_INT, OPT }, { "path", F_STR, OPT }, { "code", F_STR, REQ },
	{ "message", F_STR, REQ }, { NULL, 0, 0 } };
static const struct field f_layer_end[] = {
	{ "layer", F_INT, REQ }, { "diff_id", F_DIGEST, OPT }, { "bytes", F_INT, REQ },
	{ "entries", F_INT, REQ }, { NULL, 0, 0 } };
static const struct field f_done[] = { { "layers", F_INT, REQ }, { NULL, 0, 0 } };
static const struct field f_fatal[] = {
	{ "what", F_STR, REQ }, { "syscall", F_INT, OPT }, { NULL, 0, 0 } };

static const struct field f_member[] = {
	{ "path", F_STR, REQ }, { "size", F_INT, REQ }, { "link", F_STR, OPT },
	{ NULL, 0, 0 } };

static const struct schema schemas[] = {
	{ CS_REC_HELLO, "hello", f_hello },
	{ CS_REC_LAYER_BEGIN, "layer_begin", f_layer_begin },
	{ CS_REC_OS, "os", f_os },
	{ CS_REC_ANALYZED, "analyzed", f_analyzed },
	{ CS_REC_PACKAGE, "package", f_package },
	{ CS_REC_FILE, "file", f_file },
	{ CS_REC_WHITEOUT, "whiteout", f_whiteout },
	{ CS_REC_WARNING, "warning", f_warning },
	{ CS_REC_ERROR, "error", f_warning },
	{ CS_REC_LAYER_END, "layer_end", f_layer_end },
	{ CS_REC_DONE, "done", f_done },
	{ CS_REC_FATAL, "fatal", f_fatal },
	{ CS_REC_MEMBER, "member", f_member },
};

const char *cs_rec_name(enum cs_rec t)
{
	size_t i;

	for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (schemas[i].type == t)
			return schemas[i].name;
	return "unknown";
}

static int check_str(const json_t *v)
{
	size_t n;

	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n > CS_STR_MAX || strlen(json_string_value(v)) != n)
		return -1;
	return 0;
}

static int check_digest(const json_t *v)
{
	const char *s;
	size_t i;

	if (!json_is_string(v) || json_string_length(v) != 71)
		return -1;
	s = json_string_value(v);
	if (strncmp(s, "sha256:", 7) != 0)
		return -1;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return 0;
}

static int check_field(const struct field *f, const json_t *v)
{
	size_t i;
	json_t *e;

	switch (f->kind) {
	case F_STR:
		return check_str(v);
	case F_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (1ll << 53))
			return -1;
		return 0;
	case F_BOOL:
		return json_is_boolean(v) ? 0 : -1;
	case F_DIGEST:
		return check_digest(v);
	case F_STRARR:
		if (!json_is_array(v) || json_array_size(v) > CS_PKG_FILES_MAX)
			return -1;
		json_array_foreach(v, i, e)
			if (check_str(e) != 0)
				return -1;
		return 0;
	}
	return -1;
}

int cs_proto_check(enum cs_rec *type, const json_t *rec)
{
	const struct schema *sc = NULL;
	const json_t *t, *v;
	const char *key;
	size_t i;

	*type = CS_REC_NONE;
	if (!json_is_object(rec))
		return cs_err_set(CS_EPROTO, "record is not a JSON object");
	t = json_object_get(rec, "type");
	if (!json_is_string(t))
		return cs_err_set(CS_EPROTO, "record without a string \"type\"");
	for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (strcmp(schemas[i].name, json_string_value(t)) == 0)
			sc = &schemas[i];
	if (sc == NULL)
		return cs_err_set(CS_EPROTO, "unknown record type \"%.64s\"", json_string_value(t));
	*type = sc->type;
	/* json_object_foreach needs a non-const object; we only read. */
	json_object_foreach((json_t *)rec, key, v) {
		const struct field *f;

		if (strcmp(key, "type") == 0)
			continue;
		for (f = sc->fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			return cs_err_set(CS_EPROTO, "%s record has unknown field \"%.64s\"", sc->name, key);
		if (check_field(f, v) != 0)
			return cs_err_set(CS_EPROTO, "%s record field \"%s\" has a bad value (type, "
					  "range or length)", sc->name, key);
	}
	for (i = 0; sc->fields[i].name != NULL; i++)
		if (sc->fields[i].required && json_object_get(rec, sc->fields[i].name) == NULL)
			return cs_err_set(CS_EPROTO, "%s record lacks field \"%s\"", sc->name,
					  sc->fields[i].name);
	return 0;
}

void cs_proto_init(struct cs_proto_state *s, uint64_t layers, uint64_t max_records)
{
	memset(s, 0, sizeof(*s));
	s->layers = layers;
	s->max_records = max_records;
}

static uint64_t get_u(const json_t *rec, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(rec, k));
}

int cs_proto_accept(struct cs_proto_state *s, enum cs_rec *type, const json_t *rec)
{
	int r;
	enum cs_rec t;
	const json_t *lay;

	if ((r = cs_proto_check(type, rec)) != 0)
		return r;
	t = *type;
	if (++s->records > s->max_records)
		return cs_err_set(CS_ELIMIT, "worker sent more than %llu records (limit \"records\")",
				  (unsigned long long)s->max_records);
	if (t == CS_REC_FATAL || t == CS_REC_ERROR) {
		/* Allowed anywhere before done: the worker is dying and says why. */
		if (s->phase == CS_PHASE_DONE)
			return cs_err_set(CS_EPROTO, "%s record after done", cs_rec_name(t));
		s->failed = 1;
		return 0;
	}
	switch (s->phase) {
	case CS_PHASE_HELLO:
		if (t != CS_REC_HELLO)
			return cs_err_set(CS_EPROTO, "expected hello, got %s", cs_rec_name(t));
		if (get_u(rec, "proto") != CS_PROTO_VERSION)
			return cs_err_set(CS_EPROTO, "worker speaks protocol %llu, supervisor %d",
					  (unsigned long long)get_u(rec, "proto"), CS_PROTO_VERSION);
		if (strcmp(json_string_value(json_object_get(rec, "analyzers")), CS_ANALYZERS_VERSION) != 0)
			return cs_err_set(CS_EPROTO, "worker has analyzers \"%.100s\", supervisor expects "
					  "\"%s\": install matching binaries",
					  json_string_value(json_object_get(rec, "analyzers")),
					  CS_ANALYZERS_VERSION);
		s->phase = CS_PHASE_BETWEEN;
		return 0;
	case CS_PHASE_BETWEEN:
		if (t == CS_REC_LAYER_BEGIN) {
			if (get_u(rec, "layer") != s->layer || s->layer >= s->layers)
				return cs_err_set(CS_EPROTO, "layer_begin for layer %llu, expected %llu of %llu",
						  (unsigned long long)get_u(rec, "layer"),
						  (unsigned long long)s->layer,
						  (unsigned long long)s->layers);
			s->phase = CS_PHASE_LAYER;
			return 0;
		}
		if (t == CS_REC_DONE) {
			if (get_u(rec, "layers") != s->layers || s->layer != s->layers)
				return cs_err_set(CS_EPROTO, "done after %llu of %llu layers",
						  (unsigned long long)s->layer,
						  (unsigned long long)s->layers);
			s->phase = CS_PHASE_DONE;
			return 0;
		}
		if (t == CS_REC_WARNING && json_object_get(rec, "layer") == NULL)
			return 0;
		if (t == CS_REC_MEMBER) {
			if (s->archive)
				return 0;
			return cs_err_set(CS_EPROTO, "member record from a worker not in archive mode");
		}
		return cs_err_set(CS_EPROTO, "%s record outside a layer", cs_rec_name(t));
	case CS_PHASE_LAYER:
		lay = json_object_get(rec, "layer");
		if (t == CS_REC_HELLO || t == CS_REC_LAYER_BEGIN || t == CS_REC_DONE ||
		    t == CS_REC_MEMBER)
			return cs_err_set(CS_EPROTO, "%s record inside layer %llu", cs_rec_name(t),
					  (unsigned long long)s->layer);
		if (lay != NULL && (uint64_t)json_integer_value(lay) != s->layer)
			return cs_err_set(CS_EPROTO, "%s record for layer %lld inside layer %llu",
					  cs_rec_name(t), (long long)json_integer_value(lay),
					  (unsigned long long)s->layer);
		if (t == CS_REC_LAYER_END) {
			s->layer++;
			s->phase = CS_PHASE_BETWEEN;
		}
		return 0;
	case CS_PHASE_DONE:
		return cs_err_set(CS_EPROTO, "%s record after done", cs_rec_name(t));
	}
	return cs_err_set(CS_EINTERNAL, "bad protocol state");
}
