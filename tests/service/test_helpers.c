/*
 * test_helpers.c - the service's small pure helpers: image repository
 * names, digest syntax, and how a failed scan's message maps to a worker
 * ending for cellscan_worker_endings_total (the messages are those
 * supervisor/collect/run.c writes; if they change, this test says so).
 */
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"
#include "tests/harness.h"

static void repo(const char *ref, const char *want)
{
	char *r = svc_repository_of(ref);

	CHECK_STR(r, want);
	free(r);
}

int main(void)
{
	repo("registry.example.com:5000/shop/frontend:1.4.2", "registry.example.com:5000/shop/frontend");
	repo("registry.example.com:5000/shop/frontend", "registry.example.com:5000/shop/frontend");
	repo("reg:5000/a/b:t@sha256:0123", "reg:5000/a/b");
	repo("reg:5000/a/b@sha256:0123", "reg:5000/a/b");
	repo("docker://alpine:3", "alpine");
	repo("oci:/srv/images/alpine", "oci:/srv/images/alpine");

	CHECK(svc_digest_ok("sha256:43899599a3532013e05eba8634b762796d2201593185a7a0a37c04b0e2085205"));
	CHECK(!svc_digest_ok("sha256:43899599a3532013e05eba8634b762796d2201593185a7a0a37c04b0e208520"));
	CHECK(!svc_digest_ok("sha256:43899599a3532013e05eba8634b762796d2201593185a7a0a37c04b0e20852055"));
	CHECK(!svc_digest_ok("sha256:43899599A3532013e05eba8634b762796d2201593185a7a0a37c04b0e2085205"));
	CHECK(!svc_digest_ok("sha512:43899599a3532013e05eba8634b762796d2201593185a7a0a37c04b0e2085205"));
	CHECK(!svc_digest_ok(NULL));

	CHECK_STR(svc_ending_from_error(CS_EPROTO, "x: worker protocol violation, worker killed: y"),
		  "protocol");
	CHECK_STR(svc_ending_from_error(CS_ETIMEOUT, "x: worker timed out after 900 s (limit "
					"\"worker_wall\"), killed"), "timeout");
	CHECK_STR(svc_ending_from_error(CS_ESANDBOX, "x: worker killed by seccomp for the forbidden "
					"syscall socket"), "seccomp");
	CHECK_STR(svc_ending_from_error(CS_ELIMIT, "x: worker ran out of memory (limits ...)"),
		  "out-of-memory");
	CHECK_STR(svc_ending_from_error(CS_ELIMIT, "x: worker exceeded its CPU limit of 600 s"),
		  "cpu-limit");
	CHECK_STR(svc_ending_from_error(CS_ESANDBOX, "x: worker crashed (signal 11, Segmentation "
					"fault)"), "crashed");
	CHECK_STR(svc_ending_from_error(CS_ESANDBOX, "x: worker exited with status 3"), "exit");
	CHECK_STR(svc_ending_from_error(CS_ESANDBOX, "cannot create the worker's namespaces"),
		  "sandbox-setup");
	CHECK_STR(svc_ending_from_error(CS_ENET, "x: connection refused"), "none");
	CHECK_STR(svc_ending_from_error(CS_ETIMEOUT, "registry timed out"), "none");
	return cs_test_done();
}
