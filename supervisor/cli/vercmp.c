#include <stdio.h>

#include "supervisor/cli/cli.h"

int cs_cmd_vercmp(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cs_cli_error("vercmp: not in this build yet");
	return CS_EXIT_USAGE;
}
