#include "supervisor/cli/cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "supervisor/collect/collect.h"

const char *cs_cli_worker_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	const char *e = getenv("CELLSCAN_WORKER");
	ssize_t n;
	char *slash;

	if (e != NULL && e[0] != '\0')
		return e;
	if (path[0] != '\0')
		return path;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "cellscan-worker";
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	/* bin/cellscan -> libexec/cellscan/cellscan-worker, installed or built */
	snprintf(path, sizeof(path), "%s/../libexec/cellscan/cellscan-worker", self);
	return path;
}

void cs_cli_error(const char *fmt, ...)
{
	char msg[2048], esc[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages can carry image-controlled text: never raw to a terminal. */
	cs_collect_escape(esc, sizeof(esc), msg, strlen(msg));
	fprintf(stderr, "cellscan: %s\n", esc);
}

int cs_cli_exit_for(int err)
{
	switch (err) {
	case 0: return CS_EXIT_OK;
	case CS_EINVAL: return CS_EXIT_USAGE;
	case CS_EINTERNAL: return CS_EXIT_INTERNAL;
	default: return CS_EXIT_FAILED;
	}
}

int cs_cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("cellscan %s\n", CELLSCAN_VERSION);
	return CS_EXIT_OK;
}
