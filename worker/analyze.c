#include "worker/analyze.h"

struct analyzer {
	const char *name;
	int (*match)(const char *path);
	int (*parse)(const struct cs_emit *e, const char *path, const uint8_t *data, size_t len);
};

static const struct analyzer analyzers[] = {
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

int cs_analyze_run(int idx, const struct cs_emit *e, const char *path, const uint8_t *data,
		   size_t len)
{
	return analyzers[idx].parse(e, path, data, len);
}

const char *cs_analyze_version(void)
{
	return "none@1";
}
