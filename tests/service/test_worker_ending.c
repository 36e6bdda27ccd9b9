/*
 * test_worker_ending.c - how the end of a sandboxed worker reaches the
 * service. cs_scan_inventory() says which kind of ending it was
 * (cs_scan_result's worker_ended / worker_end, which
 * cellscan_worker_endings_total counts), on failure too, for both workers a
 * scan may run: the one that unpacks an archive (supervisor/source/archive.c)
 * and the one that reads the layers (supervisor/collect/run.c); both decide
 * through supervisor/sandbox/ending.c. The one-line message still names the
 * input and what happened.
 *
 * The worker is this program itself, started by the real sandbox code in
 * its weak mode (--unsafe-no-namespaces: a test binary cannot run in the
 * worker's empty root), and told how to end by a file named after its
 * parent's pid. The kinds expected are DESIGN.md's ("finished, timed out,
 * killed by seccomp (with the syscall), over memory, crashed (signal),
 * protocol violation").
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/limits.h"
#include "common/version.h"
#include "supervisor/scan/scan.h"
#include "supervisor/source/digest.h"
#include "tests/harness.h"

/* ---- the fake worker ---- */

static void say(const char *json)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);

	if (o != NULL)
		cs_frame_write_json(1, o);
	json_decref(o);
}

static void hello(void)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "{\"type\":\"hello\",\"proto\":%d,\"worker\":\"test\","
		 "\"analyzers\":\"%s\"}", CS_PROTO_VERSION, CS_ANALYZERS_VERSION);
	say(buf);
}

static void die_by(int sig)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(99);
}

static int fake_worker(void)
{
	char path[64], how[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/cs-test-ending.%d", (int)getppid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 98;
	n = read(fd, how, sizeof(how) - 1);
	close(fd);
	how[n > 0 ? n : 0] = '\0';
	if (strcmp(how, "exit3") == 0)
		return 3;
	hello();
	if (strcmp(how, "exit0") == 0)
		return 0;
	if (strcmp(how, "term") == 0)
		die_by(SIGTERM);
	if (strcmp(how, "sigsys") == 0) {
		char rec[128];
		snprintf(rec, sizeof(rec), "{\"type\":\"fatal\",\"what\":\"seccomp\",\"syscall\":%d}",
			 (int)SYS_socket);
		say(rec);
		die_by(SIGSYS);
	}
	if (strcmp(how, "limit") == 0) {
		say("{\"type\":\"error\",\"code\":\"limit\",\"message\":\"too many\\nentries\"}");
		return 1;
	}
	if (strcmp(how, "garbage") == 0) {
		/* a frame header claiming 4 GiB */
		if (write(1, "\xff\xff\xff\xff", 4) != 4)
			return 97;
	}
	/* "hang", and "garbage" after its header: until killed */
	for (;;)
		pause();
}

/* ---- the supervisor side ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static char tmp[64], behaviour[64];

static void set_behaviour(const char *how)
{
	FILE *f = fopen(behaviour, "w");

	if (f == NULL) {
		perror(behaviour);
		exit(1);
	}
	fputs(how, f);
	fclose(f);
	chmod(behaviour, 0644);   /* the worker runs as the sandbox uid when we are root */
}

static void put_blob(const char *dir, const char *digest, const char *data, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* A one-layer OCI layout (the layer's bytes never matter: the fake worker
 * does not read them). */
static void make_layout(const char *dir)
{
	static const char layer[] = "not really a tar";
	char ld[72], cd[72], md[72], path[512], config[512], manifest[1024], index[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	if (mkdir(dir, 0755) != 0 || snprintf(config, sizeof(config), "%s/blobs", dir) < 0 ||
	    mkdir(config, 0755) != 0 || mkdir(path, 0755) != 0) {
		perror(dir);
		exit(1);
	}
	cs_digest_mem(ld, layer, sizeof(layer) - 1);
	snprintf(config, sizeof(config), "{\"architecture\":\"amd64\",\"os\":\"linux\","
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", ld);
	cs_digest_mem(cd, config, strlen(config));
	snprintf(manifest, sizeof(manifest), "{\"schemaVersion\":2,\"mediaType\":"
		 "\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
		 "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
		 "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
		 "\"digest\":\"%s\",\"size\":%zu}]}", cd, strlen(config), ld, sizeof(layer) - 1);
	cs_digest_mem(md, manifest, strlen(manifest));
	put_blob(dir, ld, layer, sizeof(layer) - 1);
	put_blob(dir, cd, config, strlen(config));
	put_blob(dir, md, manifest, strlen(manifest));
	snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		 "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}",
		 md, strlen(manifest));
	snprintf(path, sizeof(path), "%s/index.json", dir);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(index, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("{\"imageLayoutVersion\":\"1.0.0\"}", f);
		fclose(f);
	}
}

struct want {
	const char *how;          /* the fake worker's behaviour */
	int code;                 /* cs_scan_inventory's result */
	enum cs_end_kind kind;    /* how the worker ended */
	const char *says;         /* what the message must say */
};

static void one(const char *ref, const char *name, const struct want *w,
		const struct cs_scan_opts *o)
{
	struct cs_scan_result res;
	const char *msg;
	int r;

	if (w->how != NULL)
		set_behaviour(w->how);
	r = cs_scan_inventory(&res, ref, o);
	msg = cs_err_msg();
	printf("%-5s %-8s -> %d %s, %s\n", name, w->how ? w->how : "-", r,
	       res.worker_ended ? cs_end_kind_name(res.worker_end) : "(none)", msg);
	CHECK(r == w->code);
	CHECK(res.worker_ended == 1);
	CHECK(res.worker_end == w->kind);
	CHECK(strstr(msg, w->says) != NULL);
	/* one line, naming the input */
	CHECK(strchr(msg, '\n') == NULL);
	CHECK(strstr(msg, name) != NULL);
	CHECK(res.img == NULL && res.inv == NULL && res.inventory == NULL);
	cs_scan_result_free(&res);
}

int main(int argc, char **argv)
{
	static const struct want cases[] = {
		{ "exit3", CS_ESANDBOX, CS_END_EXIT, "exited with status 3" },
		{ "exit0", CS_ESANDBOX, CS_END_EXIT, "without finishing" },
		{ "term", CS_ESANDBOX, CS_END_CRASH, "signal 15" },
		{ "sigsys", CS_ESANDBOX, CS_END_SECCOMP, "forbidden syscall socket" },
		{ "limit", CS_ELIMIT, CS_END_EXIT, "limit: too many | entries" },
		{ "garbage", CS_EPROTO, CS_END_PROTOCOL, "protocol violation" },
		{ "hang", CS_ETIMEOUT, CS_END_TIMEOUT, "limit \"worker_wall\"" },
	};
	struct cs_scan_opts o;
	struct cs_scan_result res;
	char self[4096], archive[128], layout[128], ref[256], cache[128];
	ssize_t n;
	size_t i;
	int r, fd;

	/* _exit: no sanitizer work at exit (LSan needs ptrace) in the worker */
	if (argc > 0 && strcmp(argv[0], "cellscan-worker") == 0)
		_exit(fake_worker());
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		printf("SKIP: no /proc/self/exe to run as the worker\n");
		return 77;
	}
	self[n] = '\0';
	snprintf(tmp, sizeof(tmp), "/tmp/cs-ending-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	chmod(tmp, 0755);
	snprintf(behaviour, sizeof(behaviour), "/tmp/cs-test-ending.%d", (int)getpid());
	snprintf(archive, sizeof(archive), "%s/input.tar", tmp);
	fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1) {
		perror(archive);
		return 1;
	}
	close(fd);
	snprintf(layout, sizeof(layout), "%s/layout", tmp);
	make_layout(layout);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);

	cs_scan_opts_init(&o, self);
	o.weak = 1;
	o.no_cache = 1;
	o.src.cache_dir = cache;
	o.lim.worker_wall = 1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the archive's worker (source) */
		snprintf(ref, sizeof(ref), "oci-archive:%s", archive);
		one(ref, "input.tar", &cases[i], &o);
		/* the layers' worker (collect) */
		snprintf(ref, sizeof(ref), "oci:%s", layout);
		one(ref, layout, &cases[i], &o);
	}

	/* a sandbox that cannot start its worker */
	{
		static const struct want setup = { NULL, CS_ESANDBOX, CS_END_SETUP, "no-such-worker" };
		struct cs_scan_opts bad = o;
		char missing[160];

		snprintf(missing, sizeof(missing), "%s/no-such-worker", tmp);
		bad.worker = missing;
		snprintf(ref, sizeof(ref), "oci-archive:%s", archive);
		one(ref, "input.tar", &setup, &bad);
		snprintf(ref, sizeof(ref), "oci:%s", layout);
		one(ref, layout, &setup, &bad);
	}

	/* no worker at all: the input is not there */
	snprintf(ref, sizeof(ref), "oci-archive:%s/missing.tar", tmp);
	r = cs_scan_inventory(&res, ref, &o);
	printf("none  missing  -> %d %s, %s\n", r,
	       res.worker_ended ? cs_end_kind_name(res.worker_end) : "(none)", cs_err_msg());
	CHECK(r == CS_ENOTFOUND);
	CHECK(res.worker_ended == 0);
	cs_scan_result_free(&res);

	unlink(behaviour);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return cs_test_done();
}
