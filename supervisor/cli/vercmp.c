#include <stdio.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/match/vercmp.h"

int cs_cmd_vercmp(int argc, char **argv)
{
	enum cs_verscheme s;
	int c, r;

	if (argc != 4) {
		cs_cli_error("usage: cellscan vercmp ECOSYSTEM A B");
		return CS_EXIT_USAGE;
	}
	if ((r = cs_verscheme_for_ecosystem(&s, argv[1])) != 0) {
		cs_cli_error("vercmp: %s", cs_err_msg());
		return CS_EXIT_USAGE;
	}
	if ((r = cs_vercmp(&c, s, argv[2], argv[3])) != 0) {
		cs_cli_error("vercmp: %s", cs_err_msg());
		return CS_EXIT_USAGE;
	}
	puts(c < 0 ? "<" : c > 0 ? ">" : "=");
	return CS_EXIT_OK;
}
