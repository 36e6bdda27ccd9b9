#include <string.h>

#include "common/errors.h"
#include "common/limits.h"
#include "tests/harness.h"

int main(void)
{
	struct cs_limits l, m;
	char buf[1024];

	cs_limits_default(&l);
	CHECK(l.layers == 256 && l.layer_bytes == (16ull << 30) && l.layer_entries == 2000000);
	CHECK(cs_limits_parse(&l, "layer_bytes=1g,worker_cpu=5,records=10k") == 0);
	CHECK(l.layer_bytes == (1ull << 30) && l.worker_cpu == 5 && l.records == 10240);
	CHECK(cs_limits_parse(&l, "nope=1") == CS_EINVAL);
	CHECK(strstr(cs_err_msg(), "nope") != NULL);
	CHECK(cs_limits_parse(&l, "layers=") == CS_EINVAL);
	CHECK(cs_limits_parse(&l, "layers=-1") == CS_EINVAL);
	CHECK(cs_limits_parse(&l, "layers=0") == CS_EINVAL);
	CHECK(cs_limits_parse(&l, "layers=99999999999999999999") == CS_EINVAL);
	CHECK(cs_limits_parse(&l, "layers=16777216t") == CS_EINVAL);
	CHECK(cs_limits_parse(&l, "layers=17179869184g") == CS_EINVAL);
	/* round trip, as the worker receives it */
	CHECK(cs_limits_format(&l, buf, sizeof(buf)) == 0);
	cs_limits_default(&m);
	CHECK(cs_limits_parse(&m, buf) == 0);
	CHECK(memcmp(&l, &m, sizeof(l)) == 0);
	CHECK(cs_limits_format(&l, buf, 10) == CS_ELIMIT);
	return cs_test_done();
}
