#include "common/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char cs_errbuf[1024];

int cs_err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cs_errbuf, sizeof(cs_errbuf), fmt, ap);
	va_end(ap);
	return code;
}

int cs_err_prefix(int code, const char *fmt, ...)
{
	char pre[512];
	size_t pl, ol;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	if (n < 0)
		return code;
	pl = strlen(pre);
	ol = strlen(cs_errbuf);
	if (ol == 0) {
		memcpy(cs_errbuf, pre, pl + 1);
		return code;
	}
	/* "PRE: OLD", keeping as much of OLD as fits. */
	if (pl + 2 + ol + 1 > sizeof(cs_errbuf))
		ol = sizeof(cs_errbuf) - pl - 3;
	memmove(cs_errbuf + pl + 2, cs_errbuf, ol);
	memcpy(cs_errbuf, pre, pl);
	cs_errbuf[pl] = ':';
	cs_errbuf[pl + 1] = ' ';
	cs_errbuf[pl + 2 + ol] = '\0';
	return code;
}

const char *cs_err_msg(void)
{
	return cs_errbuf;
}

void cs_err_clear(void)
{
	cs_errbuf[0] = '\0';
}

const char *cs_err_name(int code)
{
	switch (code) {
	case CS_OK: return "ok";
	case CS_ENOMEM: return "nomem";
	case CS_EINVAL: return "invalid";
	case CS_EIO: return "io";
	case CS_ELIMIT: return "limit";
	case CS_EPROTO: return "protocol";
	case CS_EFORMAT: return "format";
	case CS_ESANDBOX: return "sandbox";
	case CS_ENOTFOUND: return "notfound";
	case CS_EDIGEST: return "digest";
	case CS_EUNSUPPORTED: return "unsupported";
	case CS_ETIMEOUT: return "timeout";
	case CS_EAUTH: return "auth";
	case CS_ENET: return "network";
	case CS_EDB: return "database";
	default: return "internal";
	}
}
