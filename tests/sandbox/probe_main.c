/*
 * cellscan-worker-probe: a TEST-ONLY worker. It runs exactly the real
 * worker's lockdown (cs_worker_core) and then, instead of reading layers,
 * attempts one escape or misbehaves on the wire, and reports:
 *   warning code "probe", message "BLOCKED: ..." or "ESCAPED: ..."
 * A forbidden syscall kills it before it can report, which the driver
 * sees as a seccomp ending naming the syscall. Never installed.
 *
 *   cellscan-worker-probe --layers N --probe NAME [--no-seccomp]
 *                         [--limits SPEC] [--arg VALUE]
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "worker/lockdown.h"
#include "worker/records.h"
#include "worker/stream.h"

static const char *arg = "";

static int report(int blocked, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int report(int blocked, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cs_rec_warning(-1, NULL, "probe", "%s: %s", blocked ? "BLOCKED" : "ESCAPED", msg);
}

/* res < 0 means the call failed: blocked. */
static int outcome(const char *what, long res)
{
	if (res < 0)
		return report(1, "%s: %s", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return report(0, "%s succeeded (%ld)", what, res);
}

static void raw(const void *p, size_t n)
{
	ssize_t w = write(CS_FD_OUT, p, n);
	(void)w;
}

static void frame(const char *json)
{
	size_t n = strlen(json);
	uint8_t h[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	raw(h, 4);
	raw(json, n);
}

static void block_forever(void)
{
	char c;

	/* fd 3 is a pipe the driver never writes to */
	for (;;)
		if (read(CS_FD_FIRST_LAYER, &c, 1) <= 0)
			break;
	for (;;)
		;
}

static int run_probe(const char *p)
{
	char buf[64];

	if (strcmp(p, "open-passwd") == 0)
		return outcome("open /etc/passwd", open("/etc/passwd", O_RDONLY));
	if (strcmp(p, "list-root") == 0)
		return outcome("open / for listing", open("/", O_RDONLY | O_DIRECTORY));
	if (strcmp(p, "proc-environ") == 0)
		return outcome("open /proc/1/environ", open("/proc/1/environ", O_RDONLY));
	if (strcmp(p, "supervisor-file") == 0)
		return outcome("open the supervisor's executable", open(arg, O_RDONLY));
	if (strcmp(p, "socket-inet") == 0)
		return outcome("socket(AF_INET)", socket(AF_INET, SOCK_STREAM, 0));
	if (strcmp(p, "socket-unix") == 0)
		return outcome("socket(AF_UNIX)", socket(AF_UNIX, SOCK_STREAM, 0));
	if (strcmp(p, "connect-tcp") == 0) {
		struct sockaddr_in sa;
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return outcome("socket for connect", s);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)strtol(arg, NULL, 10));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return outcome("connect to the test's loopback listener",
			       connect(s, (struct sockaddr *)&sa, sizeof(sa)));
	}
	if (strcmp(p, "ptrace-supervisor") == 0)
		return outcome("ptrace attach to the supervisor",
			       ptrace(PTRACE_ATTACH, (pid_t)strtol(arg, NULL, 10), NULL, NULL));
	if (strcmp(p, "kill-supervisor") == 0)
		return outcome("kill the supervisor", kill((pid_t)strtol(arg, NULL, 10), SIGKILL));
	if (strcmp(p, "host-pids") == 0) {
		if (getpid() != 1)
			return report(0, "pid is %d, not 1 of a private pid namespace", (int)getpid());
		return outcome("signal 0 to the supervisor's host pid",
			       kill((pid_t)strtol(arg, NULL, 10), 0));
	}
	if (strcmp(p, "execve-shell") == 0) {
		char *const av[] = { (char *)"/bin/sh", (char *)"-c", (char *)"true", NULL };
		char *const ev[] = { NULL };
		return outcome("execve /bin/sh", execve("/bin/sh", av, ev));
	}
	if (strcmp(p, "mount") == 0)
		return outcome("mount tmpfs", mount("none", "/", "tmpfs", 0, NULL));
	if (strcmp(p, "unshare") == 0)
		return outcome("unshare(CLONE_NEWUSER|CLONE_NEWNS)", unshare(CLONE_NEWUSER | CLONE_NEWNS));
	if (strcmp(p, "setns") == 0)
		return outcome("setns", setns(CS_FD_FIRST_LAYER, 0));
	if (strcmp(p, "chroot") == 0)
		return outcome("chroot", chroot("/"));
	if (strcmp(p, "io_uring") == 0) {
		char params[120];
		memset(params, 0, sizeof(params));
		return outcome("io_uring_setup", syscall(SYS_io_uring_setup, 8, params));
	}
	if (strcmp(p, "bpf") == 0) {
		char attr[128];
		memset(attr, 0, sizeof(attr));
		return outcome("bpf", syscall(SYS_bpf, 0, attr, sizeof(attr)));
	}
	if (strcmp(p, "perf_event_open") == 0) {
		char attr[128];
		memset(attr, 0, sizeof(attr));
		return outcome("perf_event_open", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0));
	}
	if (strcmp(p, "keyctl") == 0)
		return outcome("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	if (strcmp(p, "userfaultfd") == 0)
		return outcome("userfaultfd", syscall(SYS_userfaultfd, 0));
	if (strcmp(p, "tiocsti") == 0) {
		char c = 'x';
		return outcome("TIOCSTI on the inherited tty", ioctl(CS_FD_FIRST_LAYER, TIOCSTI, &c));
	}
	if (strcmp(p, "raise-cap") == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		memset(d, 0xff, sizeof(d));
		return outcome("capset all", syscall(SYS_capset, &h, d));
	}
	if (strcmp(p, "setuid-bit") == 0)
		return outcome("chmod u+s", chmod("/", 04755));
	if (strcmp(p, "write-outside") == 0)
		return outcome("create /escape", open("/escape", O_WRONLY | O_CREAT, 0644));
	if (strcmp(p, "fill-tmpfs") == 0) {
		int fd = open("/fill", O_WRONLY | O_CREAT, 0644);
		long total = 0;
		char chunk[65536];
		if (fd < 0)
			return outcome("create a file in the root tmpfs", fd);
		memset(chunk, 'x', sizeof(chunk));
		for (;;) {
			ssize_t w = write(fd, chunk, sizeof(chunk));
			if (w < 0)
				return report(1, "filling the tmpfs stopped after %ld bytes: %s", total,
					      strerrorname_np(errno));
			total += w;
			if (total > (64l << 20))
				return report(0, "wrote %ld bytes into the root tmpfs", total);
		}
	}
	if (strcmp(p, "fork-bomb") == 0) {
		int i;
		for (i = 0; i < 64; i++) {
			pid_t c = fork();
			if (c < 0)
				return outcome("fork", c);
			if (c == 0)
				_exit(0);
		}
		return report(0, "forked 64 children");
	}
	if (strcmp(p, "alloc") == 0) {
		size_t total = 0, step = 16u << 20;
		for (;;) {
			char *m = malloc(step);
			if (m == NULL)
				return report(1, "allocation refused after %zu MiB", total >> 20);
			memset(m, 1, step);
			total += step;
			if (total > (8ull << 30))
				return report(0, "allocated %zu MiB", total >> 20);
		}
	}
	if (strcmp(p, "spin") == 0) {
		volatile unsigned long x = 0;
		for (;;)
			x++;
	}
	if (strcmp(p, "sleep") == 0)
		block_forever();
	if (strcmp(p, "mmap-exec") == 0) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return outcome("mmap PROT_EXEC", m == MAP_FAILED ? -1 : 0);
	}
	if (strcmp(p, "x32") == 0)
		return outcome("x32 getpid", syscall(0x40000000 | SYS_getpid));
	if (strcmp(p, "sigsys-handler") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		return outcome("replace the SIGSYS handler", sigaction(SIGSYS, &sa, NULL));
	}
	/* --- hostile protocol (hello was sent already) --- */
	if (strcmp(p, "oversized-frame") == 0) {
		uint8_t h[4] = { 0, 0x10, 0, 0 };
		raw(h, 4);
		memset(buf, 'a', sizeof(buf));
		for (int i = 0; i < 100; i++)
			raw(buf, sizeof(buf));
		return 0;
	}
	if (strcmp(p, "garbage") == 0) {
		for (int i = 0; i < 1000; i++) {
			for (size_t k = 0; k < sizeof(buf); k++)
				buf[k] = (char)(i * 31 + k * 7);
			raw(buf, sizeof(buf));
		}
		return 0;
	}
	if (strcmp(p, "invalid-json") == 0) {
		frame("{\"type\": \"warning\", \"code\": ");
		return 0;
	}
	if (strcmp(p, "unknown-record") == 0) {
		frame("{\"type\":\"backdoor\",\"layer\":0}");
		return 0;
	}
	if (strcmp(p, "unknown-field") == 0) {
		frame("{\"type\":\"warning\",\"code\":\"x\",\"message\":\"y\",\"extra\":1}");
		return 0;
	}
	if (strcmp(p, "long-string") == 0) {
		static char big[CS_STR_MAX + 200];
		static const char pre[] = "{\"type\":\"warning\",\"code\":\"x\",\"message\":\"";
		size_t pl = sizeof(pre) - 1;
		memcpy(big, pre, pl);
		memset(big + pl, 'a', CS_STR_MAX + 10);
		memcpy(big + pl + CS_STR_MAX + 10, "\"}", 3);
		frame(big);
		return 0;
	}
	if (strcmp(p, "flood") == 0) {
		for (;;)
			frame("{\"type\":\"warning\",\"code\":\"flood\",\"message\":\"xxxxxxxxxxxxxxxx\"}");
	}
	if (strcmp(p, "half-frame") == 0) {
		uint8_t h[2] = { 0, 0 };
		raw(h, 2);
		_exit(0);
	}
	if (strcmp(p, "never-exits") == 0)
		block_forever();
	if (strcmp(p, "exit0-nodone") == 0)
		_exit(0);
	if (strcmp(p, "after-done") == 0) {
		frame("{\"type\":\"done\",\"layers\":0}");
		frame("{\"type\":\"warning\",\"code\":\"late\",\"message\":\"after done\"}");
		_exit(0);
	}
	if (strcmp(p, "close-and-linger") == 0) {
		close(CS_FD_OUT);
		block_forever();
	}
	/* --- dir: mode (the rootfs is bound read-only, nosymfollow, at /rootfs) --- */
	if (strcmp(p, "rootfs-read") == 0) {
		/* the control: reading a regular file of the rootfs works */
		int fd = open("/rootfs/etc/hostname", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char b[64];
		if (fd < 0 || read(fd, b, sizeof(b)) <= 0)
			return report(0, "could not read a file of the rootfs (%s)", strerrorname_np(errno));
		return report(1, "read inside the rootfs works, as it should");
	}
	if (strcmp(p, "rootfs-symlink-out") == 0)
		return outcome("open a symlink pointing at /etc/passwd",
			       open("/rootfs/passwd-link", O_RDONLY | O_CLOEXEC));
	if (strcmp(p, "rootfs-dotdot") == 0)
		return outcome("open /rootfs/../../etc/passwd",
			       open("/rootfs/../../etc/passwd", O_RDONLY | O_CLOEXEC));
	if (strcmp(p, "rootfs-write") == 0)
		return outcome("open a rootfs file for writing",
			       open("/rootfs/etc/hostname", O_WRONLY | O_CLOEXEC));
	if (strcmp(p, "rootfs-create") == 0)
		return outcome("create a file in the rootfs",
			       open("/rootfs/new", O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
	if (strcmp(p, "rootfs-write-fd") == 0) {
		int fd = open("/rootfs/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return outcome("open for the write test", fd);
		return outcome("write(2) to a read-only rootfs descriptor", write(fd, "x", 1));
	}
	if (strcmp(p, "ready") == 0) {
		/* for inspection from outside: say so, then wait to be killed */
		cs_rec_warning(-1, NULL, "probe", "READY");
		block_forever();
	}
	return report(0, "unknown probe %s", p);
}

int main(int argc, char **argv)
{
	struct cs_limits lim;
	struct cs_lockdown ld;
	const char *probe = NULL;
	long layers = 0;
	int i, no_seccomp = 0, rootfs = 0;

	if (cs_lockdown_early() != 0)
		return 3;
	cs_limits_default(&lim);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--layers") == 0 && i + 1 < argc)
			layers = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--probe") == 0 && i + 1 < argc)
			probe = argv[++i];
		else if (strcmp(argv[i], "--arg") == 0 && i + 1 < argc)
			arg = argv[++i];
		else if (strcmp(argv[i], "--no-seccomp") == 0)
			no_seccomp = 1;
		else if (strcmp(argv[i], "--rootfs") == 0)
			rootfs = 1;
		else if (strcmp(argv[i], "--limits") == 0 && i + 1 < argc) {
			if (cs_limits_parse(&lim, argv[++i]) != 0)
				return 2;
		} else
			return 2;
	}
	if (probe == NULL)
		return 2;
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		return 3;
	json_object_seed(1);
	if (cs_stream_init() != 0)
		return 3;
	memset(&ld, 0, sizeof(ld));
	ld.lim = &lim;
	ld.last_fd = CS_FD_FIRST_LAYER + (int)layers - 1;
	if (ld.last_fd < CS_FD_ERR)
		ld.last_fd = CS_FD_ERR;
	ld.no_seccomp = no_seccomp;
	ld.rootfs = rootfs;
	if (cs_lockdown(&ld) != 0) {
		fprintf(stderr, "probe lockdown: %s\n", cs_err_msg());
		return 3;
	}
	if (cs_rec_hello() != 0)
		return 1;
	run_probe(probe);
	if (cs_rec_send(json_pack("{s:s, s:I}", "type", "done", "layers", (json_int_t)0)) != 0)
		return 1;
	return 0;
}
