/*
 * sandbox_escape: every sandbox property DESIGN.md lists, attacked from
 * inside a real worker (the test-only probe worker runs the real lockdown
 * first), plus hostile-protocol workers, plus checks from outside in /proc.
 * Each case must end blocked (seccomp naming the syscall, or the operation
 * failing) or with the specific ending expected; anything else fails.
 *
 * Environment: CS_BUILD_DIR (binaries under libexec/cellscan/),
 * CS_SANDBOX_UNPRIVILEGED=1 when run as an ordinary user by the wrapper.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "supervisor/collect/collect.h"
#include "supervisor/sandbox/sandbox.h"
#include "tests/harness.h"

enum expect {
	BLOCKED,         /* seccomp kill naming want, or a BLOCKED report */
	ENDS,            /* the run fails with end kind `kind` and `msg` in the error */
};

struct pcase {
	const char *probe;
	enum expect ex;
	const char *want;          /* syscall name for BLOCKED (NULL: any), message part for ENDS */
	enum cs_end_kind kind;
	const char *limits;
	int fd;                    /* 0 none, 1 pipe, 2 pty */
};

static char probe_path[PATH_MAX], worker_path[PATH_MAX], self_path[PATH_MAX];
static char pidbuf[32], portbuf[32];
static int unprivileged;

struct seen {
	char report[600];
};

static int on_rec(void *ctx, enum cs_rec t, json_t *rec)
{
	struct seen *s = ctx;
	const char *code = json_string_value(json_object_get(rec, "code"));

	if (t == CS_REC_WARNING && code && strcmp(code, "probe") == 0)
		snprintf(s->report, sizeof(s->report), "%s",
			 json_string_value(json_object_get(rec, "message")));
	return 0;
}

static const char *rootfs_dir;   /* set for the dir: mode cases */

static int run(const char *probe, const char *limits, int fdkind, int no_seccomp,
	       struct seen *seen, struct cs_collect_result *res, char *err, size_t errn)
{
	struct cs_limits lim;
	struct cs_sandbox *sb = NULL;
	struct cs_sandbox_opts so;
	struct cs_collect_opts co;
	const char *argv[12];
	char lims[1024];
	int fds[1], p[2] = { -1, -1 }, r, a = 0, nfd = 0;

	cs_limits_default(&lim);
	lim.worker_wall = 20;
	if (limits && cs_limits_parse(&lim, limits) != 0)
		return -1;
	cs_limits_format(&lim, lims, sizeof(lims));
	if (fdkind == 1) {
		if (pipe(p) != 0)
			return -1;
		fds[0] = p[0];
		nfd = 1;
	} else if (fdkind == 2) {
		int m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0)
			return -1;
		fds[0] = open(ptsname(m), O_RDWR | O_NOCTTY);
		p[0] = fds[0];
		p[1] = m;
		nfd = 1;
	}
	argv[a++] = "cellscan-worker-probe";
	argv[a++] = "--layers";
	argv[a++] = nfd ? "1" : "0";
	argv[a++] = "--limits";
	argv[a++] = lims;
	argv[a++] = "--probe";
	argv[a++] = probe;
	argv[a++] = "--arg";
	argv[a++] = strcmp(probe, "connect-tcp") == 0 ? portbuf :
		    strcmp(probe, "supervisor-file") == 0 ? self_path : pidbuf;
	if (no_seccomp)
		argv[a++] = "--no-seccomp";
	if (rootfs_dir != NULL)
		argv[a++] = "--rootfs";
	argv[a] = NULL;
	memset(&so, 0, sizeof(so));
	so.worker = probe_path;
	so.argv = argv;
	so.fds = fds;
	so.nfds = (size_t)nfd;
	so.lim = &lim;
	so.rootfs = rootfs_dir;
	cs_sandbox_default_ids(&so.uid, &so.gid);
	memset(seen, 0, sizeof(*seen));
	r = cs_sandbox_spawn(&sb, &so);
	if (r == 0) {
		memset(&co, 0, sizeof(co));
		co.lim = &lim;
		co.layers = 0;
		co.on_record = on_rec;
		co.ctx = seen;
		r = cs_collect_run(sb, &co, res);
	}
	snprintf(err, errn, "%s", r ? cs_err_msg() : "");
	cs_sandbox_free(sb);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}

static void check_case(const struct pcase *c, int no_seccomp)
{
	struct seen seen;
	struct cs_collect_result res;
	char err[1024], sc[64];
	int r, ok = 0;

	memset(&res, 0, sizeof(res));
	r = run(c->probe, c->limits, c->fd, no_seccomp, &seen, &res, err, sizeof(err));
	if (c->ex == BLOCKED) {
		if (strncmp(seen.report, "ESCAPED", 7) == 0)
			ok = 0;
		else if (strncmp(seen.report, "BLOCKED", 7) == 0)
			ok = 1;
		else if (r != 0 && res.end.kind == CS_END_SECCOMP && !no_seccomp) {
			if (c->want == NULL)
				ok = 1;
			else
				ok = res.syscall >= 0 &&
				     strcmp(cs_sandbox_syscall_name(res.syscall, sc, sizeof(sc)),
					    c->want) == 0;
		}
	} else {
		ok = r != 0 && res.end.kind == c->kind && strstr(err, c->want) != NULL;
	}
	printf("%-4s %-18s %s%s -> %s\n", ok ? "ok" : "FAIL", c->probe,
	       no_seccomp ? "[no seccomp] " : "", seen.report[0] ? seen.report : "",
	       r ? err : "finished");
	CHECK(ok);
}

/* The real worker still works after all of the above. */
static void check_next_image_works(void)
{
	struct cs_limits lim;
	struct cs_sandbox *sb = NULL;
	struct cs_sandbox_opts so;
	struct cs_collect_opts co;
	struct cs_collect_result res;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	const char *argv[6];
	char lims[1024];
	int fd = memfd_create("layer", 0), r;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_fd(a, fd);
	archive_entry_set_pathname(e, "etc/.wh.motd");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	archive_write_header(a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "etc/hello");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 3);
	archive_write_header(a, e);
	archive_write_data(a, "hi\n", 3);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	lseek(fd, 0, SEEK_SET);

	cs_limits_default(&lim);
	cs_limits_format(&lim, lims, sizeof(lims));
	argv[0] = "cellscan-worker";
	argv[1] = "--layers";
	argv[2] = "1";
	argv[3] = "--limits";
	argv[4] = lims;
	argv[5] = NULL;
	memset(&so, 0, sizeof(so));
	so.worker = worker_path;
	so.argv = argv;
	so.fds = &fd;
	so.nfds = 1;
	so.lim = &lim;
	cs_sandbox_default_ids(&so.uid, &so.gid);
	r = cs_sandbox_spawn(&sb, &so);
	if (r == 0) {
		memset(&co, 0, sizeof(co));
		co.lim = &lim;
		co.layers = 1;
		r = cs_collect_run(sb, &co, &res);
	}
	printf("%-4s real worker after the hostile ones: %s\n", r == 0 ? "ok" : "FAIL",
	       r ? cs_err_msg() : "finished");
	CHECK(r == 0);
	cs_sandbox_free(sb);
	close(fd);
}

static int read_status(pid_t pid, const char *key, char *out, size_t n)
{
	char path[64], buf[8192];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		size_t kl = strlen(key);
		if (strncmp(buf, key, kl) == 0 && buf[kl] == ':') {
			char *v = buf + kl + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, n, "%s", v);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

/* From outside: the running, locked-down worker as /proc shows it. */
static void check_from_outside(void)
{
	struct cs_limits lim;
	struct cs_sandbox *sb = NULL;
	struct cs_sandbox_opts so;
	struct cs_frame_reader fr;
	const char *argv[10];
	char lims[1024], v[256];
	int p[2], ready = 0, r;
	const char *nss[] = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup" };
	pid_t pid;

	if (pipe(p) != 0)
		return;
	cs_limits_default(&lim);
	lim.worker_wall = 20;
	cs_limits_format(&lim, lims, sizeof(lims));
	argv[0] = "cellscan-worker-probe";
	argv[1] = "--layers";
	argv[2] = "1";
	argv[3] = "--limits";
	argv[4] = lims;
	argv[5] = "--probe";
	argv[6] = "ready";
	argv[7] = NULL;
	memset(&so, 0, sizeof(so));
	so.worker = probe_path;
	so.argv = argv;
	so.fds = &p[0];
	so.nfds = 1;
	so.lim = &lim;
	cs_sandbox_default_ids(&so.uid, &so.gid);
	r = cs_sandbox_spawn(&sb, &so);
	CHECK(r == 0);
	if (r != 0) {
		printf("FAIL spawn: %s\n", cs_err_msg());
		return;
	}
	pid = cs_sandbox_pid(sb);
	cs_frame_reader_init(&fr, cs_sandbox_out_fd(sb));
	for (int i = 0; i < 500 && !ready; i++) {
		struct pollfd pf = { cs_sandbox_out_fd(sb), POLLIN, 0 };
		const uint8_t *pl;
		size_t len;
		poll(&pf, 1, 20);
		while (cs_frame_next(&fr, &pl, &len) == CS_FRAME_READY)
			if (memmem(pl, len, "READY", 5) != NULL)
				ready = 1;
	}
	cs_frame_reader_free(&fr);
	CHECK(ready);
	if (ready) {
		CHECK(read_status(pid, "CapEff", v, sizeof(v)) == 0 && strcmp(v, "0000000000000000") == 0);
		printf("     CapEff %s\n", v);
		CHECK(read_status(pid, "CapPrm", v, sizeof(v)) == 0 && strcmp(v, "0000000000000000") == 0);
		CHECK(read_status(pid, "CapBnd", v, sizeof(v)) == 0 && strcmp(v, "0000000000000000") == 0);
		printf("     CapBnd %s\n", v);
		CHECK(read_status(pid, "CapAmb", v, sizeof(v)) == 0 && strcmp(v, "0000000000000000") == 0);
		CHECK(read_status(pid, "NoNewPrivs", v, sizeof(v)) == 0 && strcmp(v, "1") == 0);
		printf("     NoNewPrivs %s\n", v);
		CHECK(read_status(pid, "Seccomp", v, sizeof(v)) == 0 && strcmp(v, "2") == 0);
		printf("     Seccomp %s\n", v);
		CHECK(read_status(pid, "Uid", v, sizeof(v)) == 0 && strtol(v, NULL, 10) != 0);
		printf("     host Uid %s\n", v);
		CHECK(strtol(v, NULL, 10) == (long)(geteuid() == 0 ? so.uid : geteuid()));
		if (geteuid() == 0) {
			char a[128], b[128], pa[64], pb[64];
			for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
				ssize_t la, lb;
				snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", (int)pid, nss[i]);
				snprintf(pb, sizeof(pb), "/proc/self/ns/%s", nss[i]);
				la = readlink(pa, a, sizeof(a) - 1);
				lb = readlink(pb, b, sizeof(b) - 1);
				CHECK(la > 0 && lb > 0);
				if (la > 0 && lb > 0) {
					a[la] = b[lb] = '\0';
					printf("     ns %-6s worker %s, supervisor %s\n", nss[i], a, b);
					CHECK(strcmp(a, b) != 0);
				}
			}
			snprintf(pa, sizeof(pa), "/proc/%d/setgroups", (int)pid);
			{
				FILE *f = fopen(pa, "r");
				char sg[32] = "";
				if (f) {
					if (fgets(sg, sizeof(sg), f) == NULL)
						sg[0] = '\0';
					fclose(f);
				}
				printf("     setgroups %s", sg);
				CHECK(strncmp(sg, "deny", 4) == 0);
			}
		} else {
			printf("     (namespace links need CAP_SYS_PTRACE for a non-dumpable process: "
			       "checked in the root run)\n");
		}
	}
	cs_sandbox_free(sb);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const char *bd = getenv("CS_BUILD_DIR");
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int lsock, c;
	ssize_t n;
	static const struct pcase cases[] = {
		{ "open-passwd", BLOCKED, "openat", 0, NULL, 0 },
		{ "list-root", BLOCKED, "openat", 0, NULL, 0 },
		{ "proc-environ", BLOCKED, "openat", 0, NULL, 0 },
		{ "supervisor-file", BLOCKED, "openat", 0, NULL, 0 },
		{ "socket-inet", BLOCKED, "socket", 0, NULL, 0 },
		{ "socket-unix", BLOCKED, "socket", 0, NULL, 0 },
		{ "connect-tcp", BLOCKED, "socket", 0, NULL, 0 },
		{ "ptrace-supervisor", BLOCKED, "ptrace", 0, NULL, 0 },
		{ "kill-supervisor", BLOCKED, "kill", 0, NULL, 0 },
		{ "host-pids", BLOCKED, "kill", 0, NULL, 0 },
		{ "execve-shell", BLOCKED, "execve", 0, NULL, 0 },
		{ "mount", BLOCKED, "mount", 0, NULL, 0 },
		{ "unshare", BLOCKED, "unshare", 0, NULL, 0 },
		{ "setns", BLOCKED, "setns", 0, NULL, 1 },
		{ "chroot", BLOCKED, "chroot", 0, NULL, 0 },
		{ "io_uring", BLOCKED, "io_uring_setup", 0, NULL, 0 },
		{ "bpf", BLOCKED, "bpf", 0, NULL, 0 },
		{ "perf_event_open", BLOCKED, "perf_event_open", 0, NULL, 0 },
		{ "keyctl", BLOCKED, "keyctl", 0, NULL, 0 },
		{ "userfaultfd", BLOCKED, "userfaultfd", 0, NULL, 0 },
		{ "tiocsti", BLOCKED, "ioctl", 0, NULL, 2 },
		{ "raise-cap", BLOCKED, "capset", 0, NULL, 0 },
		{ "setuid-bit", BLOCKED, "chmod", 0, NULL, 0 },
		{ "write-outside", BLOCKED, "openat", 0, NULL, 0 },
		{ "fill-tmpfs", BLOCKED, "openat", 0, NULL, 0 },
		{ "fork-bomb", BLOCKED, "clone", 0, NULL, 0 },
		{ "mmap-exec", BLOCKED, "mmap", 0, NULL, 0 },
		{ "x32", BLOCKED, NULL, 0, NULL, 0 },
		{ "sigsys-handler", BLOCKED, "rt_sigaction", 0, NULL, 0 },
		{ "spin", ENDS, "CPU limit", CS_END_CPU, "worker_cpu=1", 0 },
		{ "sleep", ENDS, "timed out", CS_END_TIMEOUT, "worker_wall=2", 1 },
		/* hostile protocol */
		{ "oversized-frame", ENDS, "exceeds the limit", CS_END_PROTOCOL, NULL, 0 },
		{ "garbage", ENDS, "protocol violation", CS_END_PROTOCOL, NULL, 0 },
		{ "invalid-json", ENDS, "invalid JSON", CS_END_PROTOCOL, NULL, 0 },
		{ "unknown-record", ENDS, "unknown record type", CS_END_PROTOCOL, NULL, 0 },
		{ "unknown-field", ENDS, "unknown field", CS_END_PROTOCOL, NULL, 0 },
		{ "long-string", ENDS, "bad value", CS_END_PROTOCOL, NULL, 0 },
		{ "flood", ENDS, "more than 1000 records", CS_END_PROTOCOL, "records=1000", 0 },
		{ "half-frame", ENDS, "inside a frame header", CS_END_PROTOCOL, NULL, 0 },
		{ "never-exits", ENDS, "timed out", CS_END_TIMEOUT, "worker_wall=2", 1 },
		{ "exit0-nodone", ENDS, "without finishing", CS_END_OK, NULL, 0 },
		{ "after-done", ENDS, "after done", CS_END_PROTOCOL, NULL, 0 },
		{ "close-and-linger", ENDS, "did not exit", CS_END_PROTOCOL, NULL, 1 },
	};
	/* With seccomp off, the other layers must still hold on their own. */
	static const struct pcase defence[] = {
		{ "open-passwd", BLOCKED, NULL, 0, NULL, 0 },
		{ "proc-environ", BLOCKED, NULL, 0, NULL, 0 },
		{ "supervisor-file", BLOCKED, NULL, 0, NULL, 0 },
		{ "connect-tcp", BLOCKED, NULL, 0, NULL, 0 },
		{ "ptrace-supervisor", BLOCKED, NULL, 0, NULL, 0 },
		{ "kill-supervisor", BLOCKED, NULL, 0, NULL, 0 },
		{ "host-pids", BLOCKED, NULL, 0, NULL, 0 },
		{ "execve-shell", BLOCKED, NULL, 0, NULL, 0 },
		{ "mount", BLOCKED, NULL, 0, NULL, 0 },
		{ "chroot", BLOCKED, NULL, 0, NULL, 0 },
		{ "raise-cap", BLOCKED, NULL, 0, NULL, 0 },
		{ "setuid-bit", BLOCKED, NULL, 0, NULL, 0 },
		{ "write-outside", BLOCKED, NULL, 0, NULL, 0 },
		{ "fill-tmpfs", BLOCKED, NULL, 0, NULL, 0 },
		{ "fork-bomb", BLOCKED, NULL, 0, NULL, 0 },
	};
	size_t i;

	if (bd == NULL) {
		printf("SKIP: CS_BUILD_DIR not set\n");
		return 77;
	}
	unprivileged = getenv("CS_SANDBOX_UNPRIVILEGED") != NULL;
	snprintf(probe_path, sizeof(probe_path), "%s/libexec/cellscan/cellscan-worker-probe", bd);
	snprintf(worker_path, sizeof(worker_path), "%s/libexec/cellscan/cellscan-worker", bd);
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	self_path[n > 0 ? n : 0] = '\0';
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
	if (cs_sandbox_init() != 0) {
		printf("FAIL init: %s\n", cs_err_msg());
		return 1;
	}
	printf("running as uid %d; cgroup: %s\n", (int)geteuid(), cs_sandbox_cgroup_status());

	lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lsock, 4) != 0 ||
	    getsockname(lsock, (struct sockaddr *)&sa, &sl) != 0) {
		printf("FAIL: cannot open a loopback listener\n");
		return 1;
	}
	snprintf(portbuf, sizeof(portbuf), "%d", ntohs(sa.sin_port));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], 0);
	for (i = 0; i < sizeof(defence) / sizeof(defence[0]); i++)
		check_case(&defence[i], 1);
	{
		/* memory: bounded by RLIMIT_AS (normal build) or the cgroup */
		static const struct pcase mem = { "alloc", BLOCKED, NULL, 0,
						  "worker_as=256m,worker_mem=256m", 0 };
		struct seen seen;
		struct cs_collect_result res;
		char err[1024];
#ifdef CELLSCAN_SANITIZED
		if (strncmp(cs_sandbox_cgroup_status(), "none", 4) == 0) {
			printf("skip alloc: a sanitizer build has no RLIMIT_AS (ASan needs the address "
			       "space) and this host gives no cgroup; checked in the normal build\n");
		} else
#endif
		{
			int r = run(mem.probe, mem.limits, 0, 0, &seen, &res, err, sizeof(err));
			int ok = (r == 0 && strncmp(seen.report, "BLOCKED", 7) == 0) ||
				 (r != 0 && res.end.kind == CS_END_OOM);
			printf("%-4s alloc -> %s %s\n", ok ? "ok" : "FAIL", seen.report, r ? err : "");
			CHECK(ok);
		}
	}
	{
		/* dir: mode: a rootfs with a symlink pointing out of it */
		static const struct pcase rc[] = {
			{ "rootfs-symlink-out", BLOCKED, NULL, 0, NULL, 0 },
			{ "rootfs-dotdot", BLOCKED, NULL, 0, NULL, 0 },
			{ "rootfs-write", BLOCKED, "openat", 0, NULL, 0 },
			{ "rootfs-create", BLOCKED, "openat", 0, NULL, 0 },
			{ "rootfs-write-fd", BLOCKED, "write", 0, NULL, 0 },
			{ "open-passwd", BLOCKED, NULL, 0, NULL, 0 },
			{ "socket-inet", BLOCKED, "socket", 0, NULL, 0 },
		};
		char dir[] = "/tmp/cellscan-rootfs.XXXXXX", p2[256];
		FILE *hf;
		if (mkdtemp(dir) != NULL) {
			snprintf(p2, sizeof(p2), "%s/etc", dir);
			mkdir(p2, 0755);
			snprintf(p2, sizeof(p2), "%s/etc/hostname", dir);
			hf = fopen(p2, "w");
			if (hf) {
				fputs("rootfs\n", hf);
				fclose(hf);
			}
			snprintf(p2, sizeof(p2), "%s/passwd-link", dir);
			if (symlink("/etc/passwd", p2) != 0)
				perror("symlink");
			chmod(dir, 0755);
			rootfs_dir = dir;
			{
				/* the control must succeed, or the cases prove nothing */
				static const struct pcase ctl = { "rootfs-read", BLOCKED, NULL, 0, NULL, 0 };
				struct seen seen;
				struct cs_collect_result res;
				char err[1024];
				int r = run(ctl.probe, NULL, 0, 0, &seen, &res, err, sizeof(err));
				int ok = r == 0 && strstr(seen.report, "works") != NULL;
				printf("%-4s rootfs-read (control) -> %s %s\n", ok ? "ok" : "FAIL",
				       seen.report, r ? err : "");
				CHECK(ok);
			}
			for (i = 0; i < sizeof(rc) / sizeof(rc[0]); i++)
				check_case(&rc[i], 0);
			rootfs_dir = NULL;
			snprintf(p2, sizeof(p2), "%s/passwd-link", dir);
			unlink(p2);
			snprintf(p2, sizeof(p2), "%s/etc/hostname", dir);
			unlink(p2);
			snprintf(p2, sizeof(p2), "%s/etc", dir);
			rmdir(p2);
			rmdir(dir);
		}
	}
	/* nothing reached the listener */
	c = accept(lsock, NULL, NULL);
	CHECK(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	close(lsock);
	check_from_outside();
	check_next_image_works();
	return cs_test_done();
}
