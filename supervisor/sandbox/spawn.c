/*
 * Spawning the worker.
 *
 * The supervisor may have threads (libcurl), so the child between clone and
 * exec uses raw system calls only: no allocation, no locks, no stdio. Every
 * string and array it needs is prepared before clone. Any failed step is
 * reported as one line on the diagnostics pipe and ends the child: security
 * steps never "warn and continue".
 *
 * Order in the child, and why:
 *  1. wait for "go": the parent writes the id maps and cgroup first;
 *  2. mount propagation private, so nothing we mount leaks to the host;
 *  3. dir: mode only: clone the rootfs tree by path while our creds are
 *     still the caller's (as root, the owner check lets us traverse 0700
 *     directories such as /root; the worker's uid could not);
 *  4. become the sandbox uid/gid (a host uid without privileges), keeping
 *     the namespace capabilities for the mounts;
 *  5. mount a tiny tmpfs on /tmp (in our namespace only) that becomes the
 *     worker's root, and attach the rootfs clone read-only, nosuid, nodev,
 *     noexec and nosymfollow at /tmp/rootfs;
 *  6. keep only CAP_SYS_ADMIN (pivot) and CAP_SETPCAP (to empty the bounding
 *     set) as ambient capabilities: the worker drops them itself after
 *     pivoting, once its libraries are loaded;
 *  7. pdeathsig, then make sure the parent did not die meanwhile;
 *  8. descriptors into place, everything else closed;
 *  9. execveat the worker binary by descriptor (it may live under /tmp).
 */
#include "supervisor/sandbox/sandbox.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include <seccomp.h>

#include "common/errors.h"
#include "supervisor/sandbox/cgroup.h"

#define SANDBOX_UID 1000      /* must match worker/lockdown.h CS_SANDBOX_UID */
#define SANDBOX_GID 1000
#define MAX_FDS 300

struct cs_sandbox {
	pid_t pid;
	int out_fd;
	int err_fd;
	int sync_fd;              /* write end; its closing tells the child we died */
	int pidfd;                /* becomes readable when the worker exits */
	int reaped;
	enum cs_end_kind killed;  /* why we killed it, CS_END_OK if we did not */
	uint64_t cpu_limit;
	struct cs_cgroup cg;
	struct cs_sandbox_end end;
};

/* Everything the child needs, prepared before clone. */
struct child_plan {
	int sync_r, sync_w, out_r, out_w, err_r, err_w, exe_fd;
	const int *fds;
	int nfds;
	const char *rootfs;
	char tmpfs_opts[96];
	uid_t uid;
	gid_t gid;
	int weak;
	int root;                 /* real root: drop to uid/gid in weak mode */
	char *const *argv;
	char *const *envp;
};

static int groups_cleared;

/*
 * Root of the initial user namespace: only then do workers get a dedicated
 * host id. "root" inside some other user namespace (a container, unshare -r)
 * is treated like any user: the worker maps to our own id.
 */
static int real_root(void)
{
	static int cached = -1;
	char buf[128] = "";
	int fd;
	ssize_t n;

	if (cached >= 0)
		return cached;
	cached = 0;
	if (geteuid() != 0)
		return cached;
	fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cached;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		unsigned long a, b, c;
		buf[n] = '\0';
		cached = sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
			 c == 4294967295ul;
	}
	return cached;
}

int cs_sandbox_init(void)
{
	if (real_root() && !groups_cleared) {
		/* Workers must not inherit root's supplementary groups, and inside
		 * a user namespace with setgroups denied they could not drop them. */
		if (setgroups(0, NULL) != 0)
			return cs_err_set(CS_ESANDBOX, "setgroups: %s", strerror(errno));
	}
	groups_cleared = 1;
	return 0;
}

void cs_sandbox_default_ids(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("cellscan-sandbox");

	if (pw != NULL && pw->pw_uid != 0) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		*uid = 65534;
		*gid = 65534;
	}
}

/* --- the child: raw syscalls only ------------------------------------- */

static size_t c_strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static void c_fail(const struct child_plan *p, const char *what, int err, int code)
{
	char buf[256];
	size_t n = 0, l;
	const char *pre = "sandbox setup: ";
	const char *e = strerrorname_np(err);

	l = c_strlen(pre);
	memcpy(buf, pre, l);
	n = l;
	l = c_strlen(what);
	if (l > 150)
		l = 150;
	memcpy(buf + n, what, l);
	n += l;
	if (err != 0 && e != NULL) {
		buf[n++] = ':';
		buf[n++] = ' ';
		l = c_strlen(e);
		if (l > 40)
			l = 40;
		memcpy(buf + n, e, l);
		n += l;
	}
	buf[n++] = '\n';
	if (write(p->err_w, buf, n) < 0)
		_exit(code);
	_exit(code);
}

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void child_caps(const struct child_plan *p)
{
	struct cap_hdr h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct cap_data d[2];
	uint32_t keep = (1u << CAP_SYS_ADMIN) | (1u << CAP_SETPCAP);

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = d[0].inheritable = keep;
	if (syscall(SYS_capset, &h, d) != 0)
		c_fail(p, "capset", errno, 122);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETPCAP, 0, 0) != 0)
		c_fail(p, "raise ambient capabilities", errno, 122);
}

static int child_main(const struct child_plan *p)
{
	char go;
	int tree = -1, i, hi;
	struct pollfd pf;
	struct mount_attr ma;

	close(p->sync_w);
	close(p->out_r);
	close(p->err_r);
	if (read(p->sync_r, &go, 1) != 1)
		_exit(120);   /* the parent gave up on us */

	if (!p->weak) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			c_fail(p, "make mounts private", errno, 121);
		if (p->rootfs != NULL) {
			tree = (int)syscall(SYS_open_tree, AT_FDCWD, p->rootfs,
					    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
			if (tree < 0)
				c_fail(p, "bind the rootfs (it must be a directory without mounts "
				       "below it)", errno, 121);
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
			c_fail(p, "keepcaps", errno, 121);
		if (setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
		    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0)
			c_fail(p, "switch to the sandbox uid/gid", errno, 121);
		if (mount("cellscan", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  p->tmpfs_opts) != 0)
			c_fail(p, "mount the worker's tmpfs root", errno, 121);
		if (mkdir("/tmp/.oldroot", 0700) != 0)
			c_fail(p, "mkdir in tmpfs", errno, 121);
		if (tree >= 0) {
			if (mkdir("/tmp/rootfs", 0755) != 0)
				c_fail(p, "mkdir rootfs", errno, 121);
			if (syscall(SYS_move_mount, tree, "", AT_FDCWD, "/tmp/rootfs",
				    MOVE_MOUNT_F_EMPTY_PATH) != 0)
				c_fail(p, "attach the rootfs", errno, 121);
			memset(&ma, 0, sizeof(ma));
			ma.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				      MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW;
			if (syscall(SYS_mount_setattr, AT_FDCWD, "/tmp/rootfs", 0, &ma,
				    sizeof(ma)) != 0)
				c_fail(p, "make the rootfs read-only", errno, 121);
			close(tree);
		}
		child_caps(p);
	} else if (p->root) {
		if (setresgid(p->gid, p->gid, p->gid) != 0 || setresuid(p->uid, p->uid, p->uid) != 0)
			c_fail(p, "switch to the sandbox uid/gid", errno, 121);
	}
	/* pdeathsig is cleared by credential changes, so it comes after them. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		c_fail(p, "pdeathsig", errno, 121);
	pf.fd = p->sync_r;
	pf.events = POLLIN;
	pf.revents = 0;
	if (poll(&pf, 1, 0) != 0 && (pf.revents & (POLLHUP | POLLERR)))
		_exit(120);

	/* Descriptors: move every source above the final range, then down. */
	hi = 3 + p->nfds + 8;
	{
		int src[MAX_FDS + 3];
		int n = p->nfds + 3;
		src[0] = p->out_w;
		src[1] = p->err_w;
		for (i = 0; i < p->nfds; i++)
			src[2 + i] = p->fds[i];
		src[n - 1] = p->exe_fd;
		for (i = 0; i < n; i++) {
			int d = fcntl(src[i], F_DUPFD_CLOEXEC, hi);
			if (d < 0)
				c_fail(p, "dup", errno, 121);
			src[i] = d;
		}
		if (dup2(src[0], 1) != 1 || dup2(src[1], 2) != 2)
			c_fail(p, "dup2", errno, 121);
		for (i = 0; i < p->nfds; i++)
			if (dup2(src[2 + i], 3 + i) != 3 + i)
				c_fail(p, "dup2", errno, 121);
		if (dup2(src[n - 1], 3 + p->nfds) != 3 + p->nfds)
			c_fail(p, "dup2", errno, 121);
		/* The exe descriptor is close-on-exec: gone once we are the worker. */
		if (fcntl(3 + p->nfds, F_SETFD, FD_CLOEXEC) != 0)
			c_fail(p, "cloexec", errno, 121);
	}
	close(0);
	if (syscall(SYS_close_range, (unsigned)(3 + p->nfds + 1), ~0u, 0) != 0)
		c_fail(p, "close_range", errno, 121);
	syscall(SYS_execveat, 3 + p->nfds, "", p->argv, p->envp, AT_EMPTY_PATH);
	/* fd 2 is the diagnostics pipe now */
	{
		struct child_plan q = *p;
		q.err_w = 2;
		c_fail(&q, "exec the worker", errno, 123);
	}
	return 123;
}

/* --- the parent -------------------------------------------------------- */

static int write_proc(pid_t pid, const char *file, const char *data)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, data, strlen(data));
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : -1;
}

static const char *userns_help =
	"unprivileged user namespaces are blocked on this host (check sysctl "
	"user.max_user_namespaces, kernel.unprivileged_userns_clone, Ubuntu's "
	"kernel.apparmor_restrict_unprivileged_userns, or the container runtime's "
	"seccomp profile); allow them for cellscan, or scan without namespace "
	"isolation with --unsafe-no-namespaces (not recommended)";

int cs_sandbox_spawn(struct cs_sandbox **out, const struct cs_sandbox_opts *o)
{
	struct cs_sandbox *sb = NULL;
	struct child_plan plan;
	int sync_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int exe = -1, r = 0;
	unsigned long flags;
	char map[64], cgname[64];
	static char *const envp_empty[] = { NULL };
	char *envp[4];
	int ne = 0;
	char **ev = NULL;
	char asan_env[1024];
	pid_t pid;

	*out = NULL;
	if (o->nfds > MAX_FDS)
		return cs_err_set(CS_ELIMIT, "too many layers for one worker (%zu)", o->nfds);
	if (!groups_cleared && (r = cs_sandbox_init()) != 0)
		return r;
	/*
	 * The worker gets an empty environment. Sanitizer builds pass the
	 * sanitizer settings through, with leak checking forced off: LSan's
	 * stop-the-world needs clone+ptrace, which the filter forbids
	 * (docs/sandbox.md).
	 */
#ifdef CELLSCAN_SANITIZED
	for (ev = environ; *ev != NULL; ev++) {
		if (strncmp(*ev, "ASAN_OPTIONS=", 13) == 0) {
			snprintf(asan_env, sizeof(asan_env), "%s:detect_leaks=0", *ev);
			envp[ne++] = asan_env;
		} else if (strncmp(*ev, "UBSAN_OPTIONS=", 14) == 0) {
			envp[ne++] = *ev;
		}
		if (ne == 2)
			break;
	}
#else
	(void)ev;
	(void)asan_env;
#endif
	envp[ne] = NULL;

	sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	sb->out_fd = sb->err_fd = sb->sync_fd = sb->pidfd = -1;
	sb->cpu_limit = o->lim->worker_cpu;
	sb->pid = -1;
	if (pipe2(sync_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 ||
	    pipe2(err_p, O_CLOEXEC) != 0) {
		r = cs_err_set(CS_ESANDBOX, "pipe: %s", strerror(errno));
		goto fail;
	}
	exe = open(o->worker, O_PATH | O_CLOEXEC);
	if (exe < 0) {
		r = cs_err_set(CS_ESANDBOX, "worker %s: %s", o->worker, strerror(errno));
		goto fail;
	}
	memset(&plan, 0, sizeof(plan));
	plan.sync_r = sync_p[0];
	plan.sync_w = sync_p[1];
	plan.out_r = out_p[0];
	plan.out_w = out_p[1];
	plan.err_r = err_p[0];
	plan.err_w = err_p[1];
	plan.exe_fd = exe;
	plan.fds = o->fds;
	plan.nfds = (int)o->nfds;
	plan.rootfs = o->rootfs;
	plan.uid = o->uid;
	plan.gid = o->gid;
	plan.weak = o->weak;
	plan.root = real_root();
	plan.argv = (char *const *)o->argv;
	plan.envp = ne ? envp : envp_empty;
	snprintf(plan.tmpfs_opts, sizeof(plan.tmpfs_opts), "size=%llu,nr_inodes=32,mode=0755",
		 (unsigned long long)o->lim->tmpfs_bytes);

	flags = SIGCHLD;
	if (!o->weak)
		flags |= CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			 CLONE_NEWUTS | CLONE_NEWCGROUP;
	/* fork-like raw clone: the child runs on a copy of our stack. */
	pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0) {
		int err = errno;
		if (!o->weak && (err == EPERM || err == ENOSPC || err == EINVAL || err == EUSERS))
			r = cs_err_set(CS_ESANDBOX, "cannot create the worker's namespaces (clone: %s): %s",
				       strerror(err), userns_help);
		else
			r = cs_err_set(CS_ESANDBOX, "clone: %s", strerror(err));
		goto fail;
	}
	if (pid == 0)
		_exit(child_main(&plan));
	sb->pid = pid;
	sb->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	close(sync_p[0]);
	sync_p[0] = -1;
	close(out_p[1]);
	out_p[1] = -1;
	close(err_p[1]);
	err_p[1] = -1;
	sb->sync_fd = sync_p[1];
	sync_p[1] = -1;
	sb->out_fd = out_p[0];
	out_p[0] = -1;
	sb->err_fd = err_p[0];
	err_p[0] = -1;
	close(exe);
	exe = -1;
	fcntl(sb->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(sb->err_fd, F_SETFL, O_NONBLOCK);

	if (!o->weak) {
		uid_t hu = real_root() ? o->uid : geteuid();
		gid_t hg = real_root() ? o->gid : getegid();

		snprintf(map, sizeof(map), "%d %u 1\n", SANDBOX_UID, (unsigned)hu);
		if (write_proc(pid, "uid_map", map) != 0) {
			r = cs_err_set(CS_ESANDBOX, "write the worker's uid_map: %s: %s",
				       strerror(errno), userns_help);
			goto fail;
		}
		if (write_proc(pid, "setgroups", "deny") != 0) {
			r = cs_err_set(CS_ESANDBOX, "deny setgroups: %s", strerror(errno));
			goto fail;
		}
		snprintf(map, sizeof(map), "%d %u 1\n", SANDBOX_GID, (unsigned)hg);
		if (write_proc(pid, "gid_map", map) != 0) {
			r = cs_err_set(CS_ESANDBOX, "write the worker's gid_map: %s", strerror(errno));
			goto fail;
		}
	}
	snprintf(cgname, sizeof(cgname), "w%d", (int)pid);
	if ((r = cs_cgroup_create(&sb->cg, cgname, o->lim->worker_mem, 1)) != 0 ||
	    (r = cs_cgroup_attach(&sb->cg, pid)) != 0)
		goto fail;
	if (write(sb->sync_fd, "g", 1) != 1) {
		r = cs_err_set(CS_ESANDBOX, "start worker: %s", strerror(errno));
		goto fail;
	}
	*out = sb;
	return 0;
fail:
	if (sync_p[0] >= 0) close(sync_p[0]);
	if (sync_p[1] >= 0) close(sync_p[1]);
	if (out_p[0] >= 0) close(out_p[0]);
	if (out_p[1] >= 0) close(out_p[1]);
	if (err_p[0] >= 0) close(err_p[0]);
	if (err_p[1] >= 0) close(err_p[1]);
	if (exe >= 0) close(exe);
	cs_sandbox_free(sb);
	return r;
}

pid_t cs_sandbox_pid(const struct cs_sandbox *sb)
{
	return sb->pid;
}

int cs_sandbox_out_fd(const struct cs_sandbox *sb)
{
	return sb->out_fd;
}

int cs_sandbox_err_fd(const struct cs_sandbox *sb)
{
	return sb->err_fd;
}

void cs_sandbox_kill(struct cs_sandbox *sb, enum cs_end_kind why)
{
	if (sb->pid > 0 && !sb->reaped) {
		if (sb->killed == CS_END_OK)
			sb->killed = why;
		kill(sb->pid, SIGKILL);
	}
}

int cs_sandbox_wait_exit(struct cs_sandbox *sb, int timeout_ms)
{
	struct pollfd pf;
	int r;

	if (sb->reaped)
		return 1;
	if (sb->pidfd < 0)
		return 0;
	pf.fd = sb->pidfd;
	pf.events = POLLIN;
	do {
		r = poll(&pf, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 1 : 0;
}

int cs_sandbox_reap(struct cs_sandbox *sb, struct cs_sandbox_end *end)
{
	int st = 0;
	struct rusage ru;
	pid_t w;

	if (!sb->reaped) {
		memset(&ru, 0, sizeof(ru));
		do {
			w = wait4(sb->pid, &st, 0, &ru);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			return cs_err_set(CS_EINTERNAL, "wait4: %s", strerror(errno));
		sb->reaped = 1;
		memset(&sb->end, 0, sizeof(sb->end));
		sb->end.cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		sb->end.max_rss_kb = ru.ru_maxrss;
		if (WIFEXITED(st)) {
			sb->end.exit_code = WEXITSTATUS(st);
			sb->end.kind = sb->end.exit_code == 0 ? CS_END_OK : CS_END_EXIT;
			if (sb->end.exit_code == 12)
				sb->end.kind = CS_END_OOM;
			if (sb->end.exit_code >= 120 && sb->end.exit_code <= 123)
				sb->end.kind = CS_END_SETUP;
			/* the SIGSYS reporter's fallback when the second trap could not
			 * kill (only under a tracer, see worker/lockdown.c) */
			if (sb->end.exit_code == 125)
				sb->end.kind = CS_END_SECCOMP;
		} else if (WIFSIGNALED(st)) {
			sb->end.signal = WTERMSIG(st);
			if (sb->killed != CS_END_OK)
				sb->end.kind = sb->killed;
			else if (sb->end.signal == SIGSYS)
				sb->end.kind = CS_END_SECCOMP;
			else if (sb->end.signal == SIGKILL && cs_cgroup_oom_killed(&sb->cg))
				sb->end.kind = CS_END_OOM;
			else if ((sb->end.signal == SIGKILL || sb->end.signal == SIGXCPU) &&
				 sb->end.cpu_seconds + 0.5 >= (double)sb->cpu_limit)
				sb->end.kind = CS_END_CPU;
			else
				sb->end.kind = CS_END_CRASH;
		}
	}
	*end = sb->end;
	return 0;
}

void cs_sandbox_free(struct cs_sandbox *sb)
{
	struct cs_sandbox_end e;

	if (sb == NULL)
		return;
	if (sb->pid > 0 && !sb->reaped) {
		cs_sandbox_kill(sb, CS_END_CRASH);
		cs_sandbox_reap(sb, &e);
	}
	cs_cgroup_destroy(&sb->cg);
	if (sb->out_fd >= 0)
		close(sb->out_fd);
	if (sb->err_fd >= 0)
		close(sb->err_fd);
	if (sb->sync_fd >= 0)
		close(sb->sync_fd);
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	free(sb);
}

const char *cs_end_kind_name(enum cs_end_kind k)
{
	switch (k) {
	case CS_END_OK: return "ok";
	case CS_END_EXIT: return "exit";
	case CS_END_CRASH: return "crashed";
	case CS_END_SECCOMP: return "seccomp";
	case CS_END_TIMEOUT: return "timeout";
	case CS_END_OOM: return "out-of-memory";
	case CS_END_CPU: return "cpu-limit";
	case CS_END_PROTOCOL: return "protocol";
	case CS_END_SETUP: return "sandbox-setup";
	}
	return "unknown";
}

const char *cs_sandbox_cgroup_status(void)
{
	return cs_cgroup_status();
}

const char *cs_sandbox_syscall_name(int nr, char *buf, size_t n)
{
	char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	if (s != NULL) {
		snprintf(buf, n, "%s", s);
		free(s);
	} else {
		snprintf(buf, n, "syscall %d", nr);
	}
	return buf;
}
