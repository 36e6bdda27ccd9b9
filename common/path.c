#include "common/path.h"

#include <string.h>

#include "common/errors.h"

int cs_path_normalize(char *out, size_t outsz, const char *in, size_t n, int *flags)
{
	size_t i = 0, o = 0;

	*flags = 0;
	if (outsz == 0)
		return cs_err_set(CS_ELIMIT, "no room for a path");
	if (n > 0 && in[0] == '/')
		*flags |= CS_PATH_ABSOLUTE;
	while (i < n) {
		size_t start, len;

		while (i < n && in[i] == '/')
			i++;
		start = i;
		while (i < n && in[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && in[start] == '.'))
			continue;
		if (len == 2 && in[start] == '.' && in[start + 1] == '.')
			return cs_err_set(CS_EFORMAT, "path has a \"..\" component");
		if (memchr(in + start, '\0', len) != NULL)
			return cs_err_set(CS_EFORMAT, "path has a NUL byte");
		if (o + (o ? 1 : 0) + len + 1 > outsz)
			return cs_err_set(CS_ELIMIT, "path longer than %zu bytes", outsz - 1);
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + start, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

int cs_path_link_escapes(const char *path, const char *target)
{
	long depth = 0;
	size_t i;
	const char *p;

	if (target[0] == '/')
		return 0;
	/* depth of the link's directory */
	for (i = 0; path[i] != '\0'; i++)
		if (path[i] == '/')
			depth++;
	p = target;
	while (*p != '\0') {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return 1;
		} else {
			depth++;
		}
	}
	return 0;
}

size_t cs_path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? (size_t)(s - path) + 1 : 0;
}
