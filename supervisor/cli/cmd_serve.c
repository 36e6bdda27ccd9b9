/*
 * cmd_serve.c - `cellscan serve`: the scanning service (docs/service.md).
 *
 *   cellscan serve [--config FILE] [--listen HOST:PORT] [--state-dir DIR]
 *                  [--db FILE] [--webhook-secret-file FILE] [--ca-file FILE]
 *
 * The flags override the file's settings. Registry credentials come from
 * the Docker config ($DOCKER_CONFIG, or "docker_config" in the file), as
 * for `cellscan scan`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/service/service.h"
#include "supervisor/source/source.h"


static const char serve_usage[] =
	"usage: cellscan serve [--config FILE] [--listen HOST:PORT] [--state-dir DIR]\n"
	"                      [--db FILE] [--webhook-secret-file FILE] [--ca-file FILE]\n"
	"  --config FILE               JSON configuration (docs/service.md)\n"
	"  --listen HOST:PORT          address of the HTTP API (default 127.0.0.1:8080)\n"
	"  --state-dir DIR             results store, queue and blob cache live here\n"
	"  --db FILE                   vulnerability database (default: cellscan db's)\n"
	"  --webhook-secret-file FILE  shared secret the registry sends as a Bearer token\n"
	"  --ca-file FILE              CA certificates (PEM) for registries and alert targets\n"
	"SIGTERM or SIGINT stop it gracefully.\n";

static int set_path(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
}

int cs_cmd_serve(int argc, char **argv)
{
	struct cs_service_config cfg;
	struct cs_service_scanner *sc = NULL;
	const char *config = NULL, *listen = NULL, *state = NULL, *db = NULL, *secret = NULL;
	const char *ca = NULL;
	int i, r, code = CS_EXIT_OK;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(serve_usage, stdout);
			return CS_EXIT_OK;
		}
		if (strcmp(a, "--config") == 0)
			dst = &config;
		else if (strcmp(a, "--listen") == 0)
			dst = &listen;
		else if (strcmp(a, "--state-dir") == 0)
			dst = &state;
		else if (strcmp(a, "--db") == 0)
			dst = &db;
		else if (strcmp(a, "--webhook-secret-file") == 0)
			dst = &secret;
		else if (strcmp(a, "--ca-file") == 0)
			dst = &ca;
		if (dst == NULL || i + 1 >= argc) {
			cs_cli_error("serve: %s \"%.64s\"", dst ? "a value is needed after" :
				     "unknown argument", a);
			fputs(serve_usage, stderr);
			return CS_EXIT_USAGE;
		}
		*dst = argv[++i];
	}
	cs_service_config_init(&cfg);
	r = 0;
	if (config != NULL)
		r = cs_service_config_load(&cfg, config);
	if (r == 0 && listen != NULL)
		r = cs_service_config_listen(&cfg, listen);
	if (r == 0 && state != NULL)
		r = set_path(&cfg.state_dir, state);
	if (r == 0 && db != NULL)
		r = set_path(&cfg.vulndb, db);
	if (r == 0 && ca != NULL)
		r = set_path(&cfg.ca_file, ca);
	if (r == 0 && secret != NULL) {
		free(cfg.webhook_secret);
		cfg.webhook_secret = NULL;
		r = cs_service_read_secret(&cfg.webhook_secret, secret);
	}
	if (r == 0 && cfg.worker == NULL)
		r = set_path(&cfg.worker, cs_cli_worker_path());
	if (r == 0)
		r = cs_service_config_finish(&cfg);
	if (r != 0) {
		cs_cli_error("serve: %s", cs_err_msg());
		code = CS_EXIT_USAGE;
		goto out;
	}
	/* before any thread: the environment is read by the credential lookup,
	 * and the host platform is computed once into a static buffer */
	if (cfg.docker_config != NULL && setenv("DOCKER_CONFIG", cfg.docker_config, 1) != 0) {
		cs_cli_error("serve: cannot set DOCKER_CONFIG");
		code = CS_EXIT_INTERNAL;
		goto out;
	}
	(void)cs_source_host_platform();
	if ((r = cs_service_scanner_new(&sc, &cfg)) != 0) {
		cs_cli_error("serve: %s", cs_err_msg());
		code = r == CS_EINVAL ? CS_EXIT_USAGE : CS_EXIT_FAILED;
		goto out;
	}
	if ((r = cs_service_run(&cfg, cs_service_scanner_run, sc)) != 0) {
		cs_cli_error("serve: %s", cs_err_msg());
		code = CS_EXIT_FAILED;
	}
out:
	cs_service_scanner_free(sc);
	cs_service_config_clear(&cfg);
	return code;
}
