/*
 * version.h - versions both sides must agree on.
 */
#ifndef CS_COMMON_VERSION_H
#define CS_COMMON_VERSION_H

/*
 * What the worker's analyzers are: bump an analyzer's number whenever it
 * may report something different for the same bytes. Cached layer
 * inventories are keyed by it (a change invalidates only what the analyzers
 * produced), and the supervisor refuses a worker that says otherwise.
 */
#define CS_ANALYZERS_VERSION "os-release.1,dpkg.1,apk.1,rpm.1"

#endif
