/*
 * rootfs.h - dir: mode: walking an unpacked filesystem that the sandbox
 * bound read-only (nosuid, nodev, noexec, nosymfollow) at CS_ROOTFS_PATH,
 * running the analyzers on the files they want, and reporting it all as one
 * pseudo-layer 0 (docs/protocol.md "dir: mode").
 *
 * Every open is relative to a directory descriptor, read-only, with
 * O_NOFOLLOW: a symlink is reported (file record, link-escape warning when
 * it climbs out) and never followed. The walk is bounded by the entries,
 * path length and depth limits.
 */
#ifndef CS_WORKER_ROOTFS_H
#define CS_WORKER_ROOTFS_H

#include "common/limits.h"

#define CS_ROOTFS_PATH "/rootfs"
/* Directory nesting walked; deeper directories are skipped with a warning.
 * One descriptor per level stays open: lockdown's RLIMIT_NOFILE leaves 64
 * spare in this mode. */
#define CS_ROOTFS_DEPTH 48

struct cs_rootfs_opts {
	const struct cs_limits *lim;
	int emit_files;
};

/*
 * Sends layer_begin 0, the records of the walk, and layer_end 0 with bytes
 * (sum of the regular files' sizes) and entries (every entry walked, the
 * root excluded) and no diff_id. A failure sends an "error" record and
 * returns its CS_E* code.
 */
int cs_rootfs_walk(const struct cs_rootfs_opts *o);

#endif
