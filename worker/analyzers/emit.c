#include "worker/analyzers/analyzer.h"

#include <stdarg.h>
#include <stdio.h>

int cs_emit_warnf(const struct cs_emit *e, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->warning == NULL)
		return 0;
	return e->warning(e->ctx, path, msg);
}
