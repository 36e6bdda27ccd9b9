/*
 * cli.h - the subcommands of `cellscan`, each a function from argv to an
 * exit code (DESIGN.md "Command line": 0 healthy, 1 unhealthy, 2 usage,
 * 3 scan failed, 4 internal error).
 */
#ifndef CS_SUPERVISOR_CLI_H
#define CS_SUPERVISOR_CLI_H

#include <stddef.h>

enum {
	CS_EXIT_OK = 0,
	CS_EXIT_UNHEALTHY = 1,
	CS_EXIT_USAGE = 2,
	CS_EXIT_FAILED = 3,
	CS_EXIT_INTERNAL = 4,
};

/* Where cellscan-worker is: $CELLSCAN_WORKER, else ../libexec/cellscan/
 * beside our own executable. Borrowed. */
const char *cs_cli_worker_path(void);

/* Prints "cellscan: MSG" (escaped) on stderr. */
void cs_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes data to path atomically (temp file, fsync, rename), or to stdout
 * when path is NULL or "-". */
int cs_cli_write_out(const char *path, const char *data, size_t len);

/* Columns of the terminal on stdout ($COLUMNS, else the tty, else 120). */
int cs_cli_terminal_width(void);

/* The loud warning --unsafe-no-namespaces prints on every run. */
void cs_cli_warn_weak(int weak);

/* Maps a CS_E* code of a failed scan to an exit code. */
int cs_cli_exit_for(int err);

int cs_cmd_sbom(int argc, char **argv);
int cs_cmd_cache(int argc, char **argv);
int cs_cmd_version(int argc, char **argv);
int cs_cmd_vercmp(int argc, char **argv);
int cs_cmd_db(int argc, char **argv);
int cs_cmd_scan(int argc, char **argv);
int cs_cmd_serve(int argc, char **argv);
int cs_cmd_explain(int argc, char **argv);
int cs_cmd_policy(int argc, char **argv);
int cs_cmd_rescan(int argc, char **argv);

#endif
