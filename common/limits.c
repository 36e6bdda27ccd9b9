#include "common/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

#define FIELD(n) { #n, offsetof(struct cs_limits, n) }

static const struct {
	const char *name;
	size_t off;
} fields[] = {
	FIELD(layers), FIELD(layer_bytes), FIELD(image_bytes), FIELD(layer_entries),
	FIELD(path_len), FIELD(analyzer_file), FIELD(worker_as), FIELD(worker_cpu),
	FIELD(worker_wall), FIELD(worker_mem), FIELD(records), FIELD(wire_bytes),
	FIELD(tmpfs_bytes), FIELD(archive_members), FIELD(archive_bytes),
};

void cs_limits_default(struct cs_limits *l)
{
	l->layers = 256;
	l->layer_bytes = 16ull << 30;
	l->image_bytes = 64ull << 30;
	l->layer_entries = 2000000;
	l->path_len = CS_PATH_MAX;
	l->analyzer_file = 128ull << 20;
	l->worker_as = 1ull << 30;
	l->worker_cpu = 600;
	l->worker_wall = 900;
	l->worker_mem = 1ull << 30;
	l->records = 5000000;
	l->wire_bytes = 2ull << 30;
	l->tmpfs_bytes = 1ull << 20;
	l->archive_members = 100000;
	l->archive_bytes = 64ull << 30;
}

static int parse_u64(uint64_t *out, const char *s, size_t n)
{
	char tmp[32];
	char *end;
	unsigned long long v, mul = 1;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] < '0' || tmp[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(tmp, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	default: return -1;
	}
	if (*end != '\0' || __builtin_mul_overflow(v, mul, &v))
		return -1;
	*out = v;
	return 0;
}

int cs_limits_parse(struct cs_limits *l, const char *spec)
{
	const char *p = spec;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		const char *eq;
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		size_t i, nl;
		uint64_t v;

		eq = memchr(p, '=', len);
		if (eq == NULL)
			return cs_err_set(CS_EINVAL, "limit \"%.*s\": expected name=value", (int)len, p);
		nl = (size_t)(eq - p);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strlen(fields[i].name) == nl && memcmp(fields[i].name, p, nl) == 0)
				break;
		if (i == sizeof(fields) / sizeof(fields[0]))
			return cs_err_set(CS_EINVAL, "limit \"%.*s\": unknown name", (int)nl, p);
		if (parse_u64(&v, eq + 1, len - nl - 1) != 0 || v == 0)
			return cs_err_set(CS_EINVAL, "limit \"%.*s\": value must be a positive integer "
					  "(optionally k/m/g)", (int)len, p);
		*(uint64_t *)((char *)l + fields[i].off) = v;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int cs_limits_format(const struct cs_limits *l, char *buf, size_t size)
{
	size_t i, used = 0;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int n = snprintf(buf + used, size - used, "%s%s=%llu", i ? "," : "", fields[i].name,
				 (unsigned long long)*(const uint64_t *)((const char *)l + fields[i].off));
		if (n < 0 || (size_t)n >= size - used)
			return cs_err_set(CS_ELIMIT, "limits spec does not fit in %zu bytes", size);
		used += (size_t)n;
	}
	return 0;
}
