#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/cli/cli.h"
#include "supervisor/sandbox/sandbox.h"

static const char usage[] =
	"usage: cellscan COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  scan IMAGE [--format table|json|sarif|cyclonedx|spdx] [-o FILE] [--policy FILE]\n"
	"             [--db FILE] [--severity LIST] [--ignore-unfixed] [--exit-code N]\n"
	"             [--timeout S] [--quiet] [--no-progress] [--platform os/arch[/variant]|all]\n"
	"  explain IMAGE VULN-ID     the evidence chain of one finding\n"
	"  sbom IMAGE [--format json] [-o FILE] [--platform os/arch[/variant]] [--files]\n"
	"             [--limits name=value,...] [--unsafe-no-namespaces]\n"
	"  db import SOURCE... [--db FILE]    OSV zips, directories or JSON files\n"
	"  db update [--source URL] [--ecosystem NAME]... [--db FILE] [--ca-file FILE]\n"
	"  db status [--db FILE] [--json]\n"
	"  serve [--config FILE] [--listen HOST:PORT] [--state-dir DIR] [--db FILE]\n"
	"        [--webhook-secret-file FILE] [--ca-file FILE]      the scanning service (docs/service.md)\n"
	"  rescan (--all | --repository R | --from FILE) [-j N] [--config FILE | --store URL]\n"
	"         [--db FILE] [--policy FILE] [--exit-code N]  re-judge stored inventories (docs/rescan.md)\n"
	"  policy check FILE [--today YYYY-MM-DD] | policy show [FILE]\n"
	"  cache status|prune [--cache-dir DIR] [--cache-max-size SIZE | --all] [--json]\n"
	"  vercmp ECOSYSTEM A B     prints <, = or >\n"
	"  version\n"
	"\n"
	"IMAGE: oci:DIR[:TAG] | host[:port]/repo[:tag|@sha256:...] (docker.io defaults)\n"
	"exit codes: 0 ok, 1 unhealthy, 2 usage, 3 scan failed, 4 internal error\n";

int main(int argc, char **argv)
{
	/* Before anything might start a thread: as root, drop the supplementary
	 * groups no worker may inherit. */
	if (cs_sandbox_init() != 0) {
		cs_cli_error("%s", cs_err_msg());
		return CS_EXIT_INTERNAL;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CS_EXIT_USAGE : CS_EXIT_OK;
	}
	if (strcmp(argv[1], "sbom") == 0)
		return cs_cmd_sbom(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)
		return cs_cmd_version(argc - 1, argv + 1);
	if (strcmp(argv[1], "cache") == 0)
		return cs_cmd_cache(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cs_cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "rescan") == 0)
		return cs_cmd_rescan(argc - 1, argv + 1);
	if (strcmp(argv[1], "scan") == 0)
		return cs_cmd_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return cs_cmd_explain(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return cs_cmd_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "db") == 0)
		return cs_cmd_db(argc - 1, argv + 1);
	if (strcmp(argv[1], "vercmp") == 0)
		return cs_cmd_vercmp(argc - 1, argv + 1);
	cs_cli_error("unknown command \"%.64s\" (see cellscan --help)", argv[1]);
	return CS_EXIT_USAGE;
}
