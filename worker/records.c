#include "worker/records.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "common/proto.h"
#include "common/version.h"
#include "worker/lockdown.h"

int cs_rec_send(json_t *rec)
{
	enum cs_rec t;
	int r;

	if (rec == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory building a record");
	if ((r = cs_proto_check(&t, rec)) != 0) {
		json_decref(rec);
		return cs_err_prefix(CS_EINTERNAL, "worker built a bad record");
	}
	r = cs_frame_write_json(CS_FD_OUT, rec);
	json_decref(rec);
	return r;
}

int cs_rec_hello(void)
{
	return cs_rec_send(json_pack("{s:s, s:i, s:s, s:s}", "type", "hello", "proto",
				     CS_PROTO_VERSION, "worker", "cellscan-worker " CELLSCAN_VERSION,
				     "analyzers", CS_ANALYZERS_VERSION));
}

static int utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t need, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return (int)need;
}

json_t *cs_rec_string(const char *s, size_t n, int *lossy)
{
	const unsigned char *p = (const unsigned char *)s;
	char *tmp;
	size_t i = 0, o = 0;
	json_t *j;
	int bad = 0;

	for (i = 0; i < n;) {
		int l = p[i] == 0 ? 0 : utf8_len(p + i, n - i);
		if (l == 0) {
			bad = 1;
			break;
		}
		i += (size_t)l;
	}
	if (!bad)
		return json_stringn(s, n);
	if (lossy != NULL)
		*lossy = 1;
	/* Worst case every byte becomes the 3-byte U+FFFD. */
	if (n > CS_STR_MAX)
		n = CS_STR_MAX;
	tmp = malloc(n * 3 + 1);
	if (tmp == NULL)
		return NULL;
	for (i = 0; i < n;) {
		int l = p[i] == 0 ? 0 : utf8_len(p + i, n - i);
		if (l == 0) {
			memcpy(tmp + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(tmp + o, p + i, (size_t)l);
			o += (size_t)l;
			i += (size_t)l;
		}
	}
	if (o > CS_STR_MAX)
		o = CS_STR_MAX;
	/* Don't cut a sequence in half. */
	while (o > 0 && ((unsigned char)tmp[o] & 0xc0) == 0x80 && o < n * 3)
		o--;
	j = json_stringn(tmp, o);
	free(tmp);
	return j;
}

static int send_diag(const char *type, int64_t layer, const char *path, const char *code,
		     const char *fmt, va_list ap)
{
	char msg[1024];
	json_t *rec;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	rec = json_pack("{s:s, s:s}", "type", type, "code", code);
	if (rec == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	json_object_set_new(rec, "message", cs_rec_string(msg, strlen(msg), NULL));
	if (layer >= 0)
		json_object_set_new(rec, "layer", json_integer(layer));
	if (path != NULL)
		json_object_set_new(rec, "path", cs_rec_string(path, strnlen(path, CS_STR_MAX), NULL));
	return cs_rec_send(rec);
}

int cs_rec_warning(int64_t layer, const char *path, const char *code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_diag("warning", layer, path, code, fmt, ap);
	va_end(ap);
	return r;
}

int cs_rec_error(int64_t layer, const char *path, const char *code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_diag("error", layer, path, code, fmt, ap);
	va_end(ap);
	return r;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, cs_rec_string(v, strnlen(v, CS_STR_MAX), NULL));
}

static int emit_os(void *vctx, const struct cs_os *os)
{
	struct cs_rec_emit_ctx *ctx = vctx;
	json_t *o;

	if (os->id == NULL || os->source == NULL)
		return 0;
	o = json_pack("{s:s, s:I}", "type", "os", "layer", (json_int_t)ctx->layer);
	if (o == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	set_str(o, "id", os->id);
	set_str(o, "version_id", os->version_id);
	set_str(o, "codename", os->codename);
	set_str(o, "pretty_name", os->pretty_name);
	set_str(o, "id_like", os->id_like);
	set_str(o, "variant_id", os->variant_id);
	set_str(o, "source", os->source);
	ctx->records++;
	return cs_rec_send(o);
}

static const char *kind_name(enum cs_pkg_kind k)
{
	switch (k) {
	case CS_PKG_DPKG: return "dpkg";
	case CS_PKG_APK: return "apk";
	case CS_PKG_RPM: return "rpm";
	}
	return "unknown";
}

static int emit_package(void *vctx, const struct cs_pkg *p)
{
	struct cs_rec_emit_ctx *ctx = vctx;
	json_t *o, *files;
	size_t i, budget;

	if (p->name == NULL || p->version == NULL || p->db_path == NULL)
		return 0;
	o = json_pack("{s:s, s:I, s:s}", "type", "package", "layer", (json_int_t)ctx->layer,
		      "kind", kind_name(p->kind));
	if (o == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	set_str(o, "name", p->name);
	set_str(o, "version", p->version);
	set_str(o, "db", p->db_path);
	set_str(o, "arch", p->arch);
	set_str(o, "source_name", p->source_name);
	set_str(o, "source_version", p->source_version);
	set_str(o, "multi_arch", p->multi_arch);
	set_str(o, "origin", p->origin);
	set_str(o, "license", p->license);
	set_str(o, "maintainer", p->maintainer);
	if (p->has_epoch)
		json_object_set_new(o, "epoch", json_integer(p->epoch));
	set_str(o, "rpm_version", p->rpm_version);
	set_str(o, "rpm_release", p->rpm_release);
	set_str(o, "source_rpm", p->source_rpm);
	set_str(o, "modularity_label", p->modularity_label);
	set_str(o, "vendor", p->vendor);
	if (p->n_files > 0) {
		/*
		 * The file list is a hint (which package owns a path), not
		 * inventory; it is cut to what fits one frame and the cut said.
		 */
		files = json_array();
		budget = CS_FRAME_MAX / 2;
		for (i = 0; files != NULL && i < p->n_files && i < CS_PKG_FILES_MAX; i++) {
			size_t l = strnlen(p->files[i], CS_STR_MAX);
			if (l + 4 > budget)
				break;
			budget -= l + 4;
			json_array_append_new(files, cs_rec_string(p->files[i], l, NULL));
		}
		json_object_set_new(o, "files", files);
	}
	ctx->records++;
	return cs_rec_send(o);
}

static int emit_warning(void *vctx, const char *path, const char *message)
{
	struct cs_rec_emit_ctx *ctx = vctx;

	return cs_rec_warning(ctx->layer, path, "analyzer", "%s", message);
}

void cs_rec_emitter(struct cs_emit *e, struct cs_rec_emit_ctx *ctx)
{
	e->os = emit_os;
	e->package = emit_package;
	e->warning = emit_warning;
	e->ctx = ctx;
}
