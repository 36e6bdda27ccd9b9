#include "supervisor/match/vercmp.h"

#include "common/errors.h"

int cs_vercmp_hackage(int *out, const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
	(void)out; (void)a; (void)alen; (void)b; (void)blen; (void)flags;
	return cs_err_set(CS_EUNSUPPORTED, "hackage version comparison is not implemented");
}
