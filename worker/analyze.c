#include "worker/analyze.h"

#include "common/version.h"

#include "worker/analyzers/apk.h"
#include "worker/analyzers/dpkg.h"
#include "worker/analyzers/os_release.h"
#include "worker/analyzers/rpm.h"

struct analyzer {
	const char *name;
	int (*match)(const char *path);
	int (*parse)(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);
};

static const struct analyzer analyzers[] = {
	{ "os-release", cs_os_release_match, cs_os_release_parse },
	{ "dpkg", cs_dpkg_match, cs_dpkg_parse },
	{ "apk", cs_apk_match, cs_apk_parse },
	{ "rpm", cs_rpm_match, cs_rpm_parse },
	{ NULL, NULL, NULL },
};

int cs_analyze_match(const char *path)
{
	int i;

	for (i = 0; analyzers[i].name != NULL; i++)
		if (analyzers[i].match(path))
			return i;
	return -1;
}

const char *cs_analyze_name(int idx)
{
	return analyzers[idx].name;
}

int cs_analyze_run(int idx, const struct cs_emit *e, const char *path, const uint8_t *data,
		   size_t len)
{
	return analyzers[idx].parse(e, path, data, len);
}

const char *cs_analyze_version(void)
{
	return CS_ANALYZERS_VERSION;
}
