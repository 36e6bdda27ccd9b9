/*
 * The worker's seccomp allowlist. Everything not listed traps (SIGSYS); the
 * handler installed by cs_lockdown_early() names the syscall to the
 * supervisor and the process then dies by SIGSYS (see lockdown.c for why
 * this is as strict as SECCOMP_RET_KILL_PROCESS). Other architectures (x32,
 * i386 compat via int 0x80) kill the process outright.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/ioctl.h>

#include <seccomp.h>

#include "common/errors.h"
#include "worker/lockdown.h"

#define ALLOW(nr) do { \
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(nr), 0)) != 0) goto out; \
} while (0)
#define ALLOW1(nr, a) do { \
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(nr), 1, a)) != 0) goto out; \
} while (0)

int cs_seccomp_load(int rootfs, int raw_fd)
{
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL)
		return cs_err_set(CS_ESANDBOX, "seccomp_init failed");
	/* Foreign syscall ABIs never get a chance. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0)
		goto out;
	/* No new privileges is set by lockdown already; keep libseccomp from
	 * toggling it behind our back. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) != 0)
		goto out;

	/* Input: the layer descriptors are inherited, read-only. */
	ALLOW(read);
	ALLOW(readv);
	ALLOW(pread64);
	ALLOW(lseek);
	ALLOW(fstat);
	ALLOW(newfstatat);
	ALLOW(close);
	/* Output only to the record pipe and the diagnostics pipe. */
	ALLOW1(write, SCMP_A0_32(SCMP_CMP_EQ, CS_FD_OUT));
	ALLOW1(write, SCMP_A0_32(SCMP_CMP_EQ, CS_FD_ERR));
	ALLOW1(writev, SCMP_A0_32(SCMP_CMP_EQ, CS_FD_OUT));
	ALLOW1(writev, SCMP_A0_32(SCMP_CMP_EQ, CS_FD_ERR));
	/* Archive mode: member bytes go to the raw pipe, and only there. */
	if (raw_fd > CS_FD_ERR)
		ALLOW1(write, SCMP_A0_32(SCMP_CMP_EQ, (unsigned)raw_fd));
	/* Memory, never executable: no new code can appear in the worker. */
	ALLOW1(mmap, SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW1(mprotect, SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(munmap);
	ALLOW(mremap);
	ALLOW(brk);
	ALLOW(madvise);
	/* Signals: SIGSYS belongs to the reporter and cannot be changed. */
	ALLOW(rt_sigreturn);
	ALLOW(rt_sigprocmask);
	ALLOW1(rt_sigaction, SCMP_A0_32(SCMP_CMP_NE, SIGSYS));
	ALLOW(sigaltstack);
	ALLOW(restart_syscall);
	ALLOW(exit);
	ALLOW(exit_group);
	/* libc and library internals that touch nothing outside the process. */
	ALLOW(futex);
	ALLOW(getpid);
	ALLOW(gettid);
	ALLOW(clock_gettime);
	ALLOW(clock_getres);
	ALLOW(gettimeofday);
	ALLOW(getrandom);
	ALLOW(sched_yield);
	ALLOW1(fcntl, SCMP_A1_32(SCMP_CMP_EQ, F_GETFL));
	ALLOW1(fcntl, SCMP_A1_32(SCMP_CMP_EQ, F_GETFD));
	/* stdio asks whether a descriptor is a terminal: answer no, harmlessly.
	 * Every other ioctl (TIOCSTI among them) traps. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
				  SCMP_A1_32(SCMP_CMP_EQ, TCGETS))) != 0)
		goto out;
	if (rootfs) {
		/* dir: mode reads the read-only, nosymfollow bind at /rootfs; an
		 * open may only read (no write, create, truncate or tmpfile).
		 * glibc's __O_TMPFILE includes O_DIRECTORY, which the walk needs:
		 * only the tmpfile bit itself is masked. */
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
					  SCMP_A2_32(SCMP_CMP_MASKED_EQ,
						     O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND |
						     (__O_TMPFILE & ~O_DIRECTORY) | O_PATH,
						     O_RDONLY))) != 0)
			goto out;
		ALLOW(getdents64);
		ALLOW(readlinkat);
		ALLOW(fchdir);
	}
#ifdef CELLSCAN_SANITIZED
	/*
	 * Sanitizer builds only: the ASan/UBSan runtime reads its own maps
	 * when it reports. Those opens fail with EACCES instead of trapping,
	 * so a report is still printed (unsymbolised). Nothing else changes:
	 * the sandbox tests also run against the normal build, whose filter
	 * has none of this.
	 */
	if (!rootfs) {
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0)) != 0)
			goto out;
	}
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 0)) != 0)
		goto out;
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(readlink), 0)) != 0)
		goto out;
#endif
	if ((r = seccomp_load(ctx)) != 0)
		goto out;
	r = 0;
out:
	seccomp_release(ctx);
	if (r != 0)
		return cs_err_set(CS_ESANDBOX, "seccomp filter: %s", strerror(-r));
	return 0;
}
