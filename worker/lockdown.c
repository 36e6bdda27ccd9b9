/*
 * The worker's lockdown, run before it reads a byte of input.
 *
 * Why SIGSYS-then-die instead of SECCOMP_RET_KILL_PROCESS as the filter's
 * default: the supervisor must name the syscall that broke the rules, and a
 * process killed by the kernel leaves nothing behind that says which one.
 * With SECCOMP_RET_TRAP the forbidden call never runs either; our handler
 * (installed with SA_RESETHAND, its signal made immutable by the filter,
 * which traps rt_sigaction on SIGSYS) writes one "fatal" record and then
 * makes a second forbidden call, which the kernel now delivers with the
 * default action: the process dies by SIGSYS, even as its pid namespace's
 * init. A worker that blocks SIGSYS first gains nothing: a forced SIGSYS
 * that is blocked is unblocked and reset to the default by the kernel.
 */
#include "worker/lockdown.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/securebits.h>

#include <sys/capability.h>

#include "common/errors.h"

static char sigsys_stack[16384];

#ifdef CELLSCAN_SANITIZED
/*
 * LeakSanitizer stops the world at exit with clone + ptrace, which the
 * filter forbids; leaks in worker code are found by the unit and fuzz tests,
 * which run the same parsers in-process with LSan on.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static size_t put_uint(char *p, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char a[] = "{\"type\":\"fatal\",\"what\":\"seccomp\",\"syscall\":";
	char frame[4 + sizeof(a) + 24];
	size_t n = 4;
	ssize_t w;

	(void)sig;
	(void)uc;
	memcpy(frame + n, a, sizeof(a) - 1);
	n += sizeof(a) - 1;
	n += put_uint(frame + n, (unsigned long)(unsigned int)si->si_syscall);
	frame[n++] = '}';
	frame[0] = 0;
	frame[1] = 0;
	frame[2] = (char)((n - 4) >> 8);
	frame[3] = (char)(n - 4);
	w = write(CS_FD_OUT, frame, n);
	(void)w;
	/* SIGSYS is back to its default: this forbidden call kills us. */
	syscall(SYS_reboot, 0, 0, 0, 0);
	_exit(125);
}

int cs_lockdown_early(void)
{
	struct sigaction sa;
	stack_t ss;

	ss.ss_sp = sigsys_stack;
	ss.ss_size = sizeof(sigsys_stack);
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0)
		return cs_err_set(CS_ESANDBOX, "sigaltstack: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return cs_err_set(CS_ESANDBOX, "sigaction(SIGSYS): %s", strerror(errno));
	return 0;
}

static int check_start(void)
{
	cap_t c;
	cap_flag_value_t v = CAP_CLEAR;

	if (getuid() != CS_SANDBOX_UID || geteuid() != CS_SANDBOX_UID ||
	    getgid() != CS_SANDBOX_GID || getegid() != CS_SANDBOX_GID)
		return cs_err_set(CS_ESANDBOX, "worker started as uid %d gid %d, not the sandbox's "
				  "%d/%d: it must be started by cellscan", (int)getuid(), (int)getgid(),
				  CS_SANDBOX_UID, CS_SANDBOX_GID);
	c = cap_get_proc();
	if (c == NULL)
		return cs_err_set(CS_ESANDBOX, "cap_get_proc: %s", strerror(errno));
	cap_get_flag(c, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v);
	cap_free(c);
	if (v != CAP_SET)
		return cs_err_set(CS_ESANDBOX, "worker lacks its namespace's CAP_SYS_ADMIN to pivot");
	return 0;
}

/* Makes the tmpfs on /tmp our root and detaches the host's. */
static int pivot(void)
{
	if (chdir("/tmp") != 0)
		return cs_err_set(CS_ESANDBOX, "chdir to the sandbox tmpfs: %s", strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".oldroot") != 0)
		return cs_err_set(CS_ESANDBOX, "pivot_root: %s", strerror(errno));
	if (chdir("/") != 0)
		return cs_err_set(CS_ESANDBOX, "chdir /: %s", strerror(errno));
	/* Lazy detach: nothing of the host stays reachable from our tree. */
	if (umount2("/.oldroot", MNT_DETACH) != 0)
		return cs_err_set(CS_ESANDBOX, "detach old root: %s", strerror(errno));
	if (rmdir("/.oldroot") != 0)
		return cs_err_set(CS_ESANDBOX, "rmdir old root: %s", strerror(errno));
	/* The root stays empty and read-only for the worker's whole life. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL) != 0)
		return cs_err_set(CS_ESANDBOX, "remount root read-only: %s", strerror(errno));
	return 0;
}

static int drop_caps(void)
{
	cap_t c;
	int cap, r;
	cap_flag_value_t v;

	/* Bounding set first: it needs CAP_SETPCAP, which goes last. */
	for (cap = 0; cap <= CAP_LAST_CAP || prctl(PR_CAPBSET_READ, cap) >= 0; cap++) {
		if (prctl(PR_CAPBSET_READ, cap) < 0)
			break;
		if (cap_drop_bound((cap_value_t)cap) != 0)
			return cs_err_set(CS_ESANDBOX, "drop capability %d from bounding set: %s", cap,
					  strerror(errno));
	}
	/* Lock root semantics off for good: no regaining caps by any uid dance. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP |
		  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) != 0)
		return cs_err_set(CS_ESANDBOX, "securebits: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return cs_err_set(CS_ESANDBOX, "clear ambient capabilities: %s", strerror(errno));
	c = cap_init();
	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "cap_init");
	r = cap_set_proc(c);
	cap_free(c);
	if (r != 0)
		return cs_err_set(CS_ESANDBOX, "clear capabilities: %s", strerror(errno));
	/* Verify rather than trust. */
	c = cap_get_proc();
	if (c == NULL)
		return cs_err_set(CS_ESANDBOX, "cap_get_proc: %s", strerror(errno));
	for (cap = 0; cap <= CAP_LAST_CAP; cap++) {
		cap_flag_t f;
		for (f = CAP_EFFECTIVE; f <= CAP_INHERITABLE; f++) {
			v = CAP_CLEAR;
			cap_get_flag(c, (cap_value_t)cap, f, &v);
			if (v != CAP_CLEAR) {
				cap_free(c);
				return cs_err_set(CS_ESANDBOX, "capability %d still set", cap);
			}
		}
		if (prctl(PR_CAPBSET_READ, cap) != 0 ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) != 0) {
			cap_free(c);
			return cs_err_set(CS_ESANDBOX, "capability %d still bounded/ambient", cap);
		}
	}
	cap_free(c);
	return 0;
}

static int set_limit(int res, const char *name, uint64_t v)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) != 0)
		return cs_err_set(CS_ESANDBOX, "setrlimit %s: %s", name, strerror(errno));
	return 0;
}

static int limits(const struct cs_lockdown *l)
{
	int r;

#ifndef CELLSCAN_SANITIZED
	/* ASan reserves terabytes of shadow address space; sanitizer builds rely
	 * on the cgroup memory limit instead (docs/sandbox.md). */
	if ((r = set_limit(RLIMIT_AS, "AS", l->lim->worker_as)) != 0)
		return r;
#endif
	/* soft == hard: the kernel then sends SIGKILL, which even a pid
	 * namespace's init cannot ignore (SIGXCPU it would). */
	if ((r = set_limit(RLIMIT_CPU, "CPU", l->lim->worker_cpu)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_NOFILE, "NOFILE", (uint64_t)l->last_fd + 1 +
			   (l->rootfs ? 64 : 0))) != 0)
		return r;
	if ((r = set_limit(RLIMIT_FSIZE, "FSIZE", 0)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_NPROC, "NPROC", 1)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_CORE, "CORE", 0)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_MEMLOCK, "MEMLOCK", 0)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_MSGQUEUE, "MSGQUEUE", 0)) != 0)
		return r;
	if ((r = set_limit(RLIMIT_LOCKS, "LOCKS", 0)) != 0)
		return r;
	return 0;
}

int cs_lockdown(const struct cs_lockdown *l)
{
	int r;

	if (!l->weak) {
		if ((r = check_start()) != 0)
			return r;
		if ((r = pivot()) != 0)
			return r;
	}
	if (!l->weak || prctl(PR_CAPBSET_READ, CAP_SETPCAP) == 1) {
		if ((r = drop_caps()) != 0 && !l->weak)
			return r;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return cs_err_set(CS_ESANDBOX, "no_new_privs: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cs_err_set(CS_ESANDBOX, "dumpable: %s", strerror(errno));
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return cs_err_set(CS_ESANDBOX, "pdeathsig: %s", strerror(errno));
	if ((r = limits(l)) != 0)
		return r;
	/* Nothing but stdin-less stdout/stderr and the layer fds survives. */
	if (syscall(SYS_close_range, (unsigned)l->last_fd + 1, ~0u, 0) != 0)
		return cs_err_set(CS_ESANDBOX, "close_range: %s", strerror(errno));
	if (l->no_seccomp)
		return 0;
	return cs_seccomp_load(l->rootfs, l->raw_fd);
}
