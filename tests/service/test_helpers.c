/*
 * test_helpers.c - the service's small pure helpers: image repository
 * names and digest syntax. (How a worker ended is no longer read from a
 * message: tests/service/test_worker_ending.c.)
 */
#include <stdlib.h>
#include <string.h>

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

	return cs_test_done();
}
