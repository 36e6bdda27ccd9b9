#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/limits.h"
#include "supervisor/cli/cli.h"
#include "supervisor/collect/inventory.h"
#include "supervisor/sandbox/sandbox.h"
#include "supervisor/source/source.h"

/* Writes data to path atomically (temp file + rename), or to stdout. */
static int write_out(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int fd;
	size_t off = 0;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return cs_err_set(CS_EIO, "write to stdout: %s", strerror(errno));
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return cs_err_set(CS_EINVAL, "output path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cs_err_set(CS_EIO, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return cs_err_set(CS_EIO, "%s: %s", tmp, strerror(errno));
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
	}
	return 0;
}

static json_t *layer_json(const struct cs_layer *src, const struct cs_layer_inv *L, size_t i,
			  int files)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:O, s:O, s:O, s:O}",
			      "index", (json_int_t)i, "digest", src->digest,
			      "media_type", src->media_type, "size", (json_int_t)src->size,
			      "diff_id", L->diff_id, "bytes", (json_int_t)L->bytes,
			      "entries", (json_int_t)L->entries, "os", L->os,
			      "packages", L->packages, "whiteouts", L->whiteouts,
			      "warnings", L->warnings);
	if (o != NULL && files)
		json_object_set(o, "files", L->files);
	return o;
}

int cs_cmd_sbom(int argc, char **argv)
{
	struct cs_limits lim;
	struct cs_source_opts so;
	struct cs_inventory_opts io;
	struct cs_image *img = NULL;
	struct cs_inventory *inv = NULL;
	const char *ref = NULL, *out = NULL, *format = "json", *platform = NULL;
	int files = 0, weak = 0, r, i;
	json_t *doc = NULL, *layers;
	char *text = NULL;

	cs_limits_default(&lim);
	memset(&so, 0, sizeof(so));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(a, "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(a, "--platform") == 0 && i + 1 < argc)
			platform = argv[++i];
		else if (strcmp(a, "--files") == 0)
			files = 1;
		else if (strcmp(a, "--limits") == 0 && i + 1 < argc) {
			if (cs_limits_parse(&lim, argv[++i]) != 0) {
				cs_cli_error("--limits: %s", cs_err_msg());
				return CS_EXIT_USAGE;
			}
		} else if (strcmp(a, "--unsafe-no-namespaces") == 0)
			weak = 1;
		else if ((r = cs_source_parse_option(&so, argc, argv, &i)) != 0) {
			if (r < 0) {
				cs_cli_error("%s", cs_err_msg());
				return CS_EXIT_USAGE;
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			cs_cli_error("sbom: unknown option %.64s", a);
			return CS_EXIT_USAGE;
		} else if (ref == NULL)
			ref = a;
		else {
			cs_cli_error("sbom: one IMAGE only");
			return CS_EXIT_USAGE;
		}
	}
	if (ref == NULL) {
		cs_cli_error("usage: cellscan sbom IMAGE [--format json] [-o FILE]");
		return CS_EXIT_USAGE;
	}
	if (strcmp(format, "json") != 0) {
		cs_cli_error("sbom: format \"%.32s\" is not available (json)", format);
		return CS_EXIT_USAGE;
	}
	if (weak)
		fprintf(stderr, "cellscan: WARNING: --unsafe-no-namespaces: the worker runs WITHOUT "
			"namespace isolation; a hostile image is far less contained\n");
	so.lim = &lim;
	so.platform = platform;
	if ((r = cs_source_open(&img, ref, &so)) != 0)
		goto fail;
	memset(&io, 0, sizeof(io));
	io.worker = cs_cli_worker_path();
	io.lim = &lim;
	io.files = files;
	io.weak = weak;
	cs_sandbox_default_ids(&io.uid, &io.gid);
	if ((r = cs_inventory_collect(&inv, img, &io)) != 0) {
		cs_err_prefix(r, "%s", ref);
		goto fail;
	}
	layers = json_array();
	for (size_t k = 0; layers != NULL && k < img->nlayers; k++)
		json_array_append_new(layers, layer_json(&img->layers[k], &inv->layers[k], k, files));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:{s:s}}",
			"schema", "cellscan-sbom/0", "image", ref,
			"manifest_digest", img->manifest_digest,
			"config_digest", img->config_digest, "platform", img->platform,
			"layers", layers, "warnings", inv->warnings,
			"sandbox", "cgroup", cs_sandbox_cgroup_status());
	text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	if (text == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto fail;
	}
	{
		size_t tl = strlen(text);
		char *nl = realloc(text, tl + 2);
		if (nl == NULL) {
			r = cs_err_set(CS_ENOMEM, "out of memory");
			goto fail;
		}
		text = nl;
		text[tl] = '\n';
		text[tl + 1] = '\0';
	}
	if ((r = write_out(out, text, strlen(text))) != 0)
		goto fail;
	free(text);
	json_decref(doc);
	cs_inventory_free(inv);
	cs_image_free(img);
	return CS_EXIT_OK;
fail:
	cs_cli_error("%s", cs_err_msg());
	free(text);
	json_decref(doc);
	cs_inventory_free(inv);
	cs_image_free(img);
	return cs_cli_exit_for(r);
}
