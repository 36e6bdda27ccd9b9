/*
 * cellscan-worker: the sandboxed extractor. Started only by cellscan's
 * sandbox spawner, never by hand. Descriptors: 1 records, 2 diagnostics,
 * and by mode:
 *
 *   cellscan-worker --layers N [--files] [--limits SPEC] [--weak]
 *       3.. the layers in order (read-only)
 *   cellscan-worker --archive [--limits SPEC] [--weak]
 *       3 an image archive (read-only), 4 the raw member pipe (write-only)
 *   cellscan-worker --rootfs [--files] [--limits SPEC]
 *       no input descriptor: the rootfs is bound read-only at /rootfs
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/limits.h"
#include "worker/archive.h"
#include "worker/lockdown.h"
#include "worker/records.h"
#include "worker/rootfs.h"
#include "worker/stream.h"

static int die(int code, const char *what)
{
	char msg[1200];
	int n = snprintf(msg, sizeof(msg), "cellscan-worker: %s: %s\n", what, cs_err_msg());

	if (n > 0) {
		ssize_t w = write(CS_FD_ERR, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
		(void)w;
	}
	return code;
}

int main(int argc, char **argv)
{
	struct cs_limits lim;
	struct cs_lockdown ld;
	struct cs_stream_opts so;
	long layers = -1;
	int files = 0, weak = 0, archive = 0, rootfs = 0, i, r;
	char *end;

	/* First: a forbidden syscall from here on is reported, not silent. */
	if (cs_lockdown_early() != 0)
		return die(3, "lockdown");
	cs_limits_default(&lim);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--layers") == 0 && i + 1 < argc) {
			layers = strtol(argv[++i], &end, 10);
			if (*end != '\0' || layers < 0 || layers > 4096)
				return die(2, "usage: bad --layers");
		} else if (strcmp(argv[i], "--archive") == 0) {
			archive = 1;
		} else if (strcmp(argv[i], "--rootfs") == 0) {
			rootfs = 1;
		} else if (strcmp(argv[i], "--files") == 0) {
			files = 1;
		} else if (strcmp(argv[i], "--weak") == 0) {
			weak = 1;
		} else if (strcmp(argv[i], "--limits") == 0 && i + 1 < argc) {
			if (cs_limits_parse(&lim, argv[++i]) != 0)
				return die(2, "usage");
		} else {
			cs_err_set(CS_EINVAL, "unknown argument %.64s", argv[i]);
			return die(2, "usage");
		}
	}
	if ((layers >= 0) + archive + rootfs != 1) {
		cs_err_set(CS_EINVAL, "one of --layers N, --archive or --rootfs is required");
		return die(2, "usage");
	}
	if (rootfs && weak) {
		/* without namespaces there is no private mount of the rootfs */
		cs_err_set(CS_EINVAL, "--rootfs needs the namespace sandbox");
		return die(2, "usage");
	}
	/* Everything that might load or open something happens now. A UTF-8
	 * locale lets libarchive keep pax (UTF-8) names as they are instead of
	 * converting them with iconv, which would load gconv modules from disk
	 * after lockdown. */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		return die(3, "init: the C.UTF-8 locale is missing");
	json_object_seed(1);
	if (cs_stream_init() != 0)
		return die(3, "init");
	memset(&ld, 0, sizeof(ld));
	ld.lim = &lim;
	if (archive) {
		ld.last_fd = CS_FD_RAW;
		ld.raw_fd = CS_FD_RAW;
	} else if (rootfs) {
		ld.last_fd = CS_FD_ERR;
		ld.rootfs = 1;
	} else {
		ld.last_fd = CS_FD_FIRST_LAYER + (int)layers - 1;
	}
	if (ld.last_fd < CS_FD_ERR)
		ld.last_fd = CS_FD_ERR;
	ld.weak = weak;
	if (cs_lockdown(&ld) != 0)
		return die(3, "lockdown");

	if (cs_rec_hello() != 0)
		return die(1, "hello");
	if (archive || rootfs) {
		struct cs_rootfs_opts ro = { &lim, files };

		r = archive ? cs_archive_stream(&lim) : cs_rootfs_walk(&ro);
		if (r == CS_ENOMEM)
			return die(12, "out of memory");
		if (r != 0)
			return die(1, archive ? "archive" : "rootfs");
		if (cs_rec_send(json_pack("{s:s, s:I}", "type", "done", "layers",
					  (json_int_t)(rootfs ? 1 : 0))) != 0)
			return die(1, "done");
		return 0;
	}
	memset(&so, 0, sizeof(so));
	so.lim = &lim;
	so.emit_files = files;
	for (i = 0; i < layers; i++) {
		r = cs_stream_layer(&so, CS_FD_FIRST_LAYER + i, i);
		if (r == CS_ENOMEM)
			return die(12, "out of memory");
		if (r != 0)
			return die(1, "layer");
	}
	if (cs_rec_send(json_pack("{s:s, s:I}", "type", "done", "layers", (json_int_t)layers)) != 0)
		return die(1, "done");
	return 0;
}
