#include "supervisor/cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

int cs_cli_write_out(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int fd;
	size_t off = 0;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return cs_err_set(CS_EIO, "write to stdout: %s", strerror(errno));
		return 0;
	}
	{
		/* Only a regular file is replaced by rename: "-o /dev/null", a FIFO
		 * or a terminal is written in place (renaming over /dev/null would
		 * replace the device with a file). */
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
			while (off < len) {
				ssize_t w = write(fd, data + off, len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					close(fd);
					return cs_err_set(CS_EIO, "%s: %s", path, strerror(errno));
				}
				off += (size_t)w;
			}
			close(fd);
			return 0;
		}
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return cs_err_set(CS_EINVAL, "output path too long");
	/* temp file + fsync + rename: a reader never sees half a report */
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

void cs_cli_warn_weak(int weak)
{
	if (weak)
		fprintf(stderr, "cellscan: WARNING: --unsafe-no-namespaces: the worker runs WITHOUT "
			"namespace isolation; a hostile image is far less contained\n");
}

int cs_cli_terminal_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	long v;

	if (c != NULL && (v = strtol(c, NULL, 10)) >= 40 && v <= 1000)
		return (int)v;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 120;
}
