/*
 * Fills a store for the rescan benchmark (bench/rescan_bench.sh): one real
 * scan of an image through serve's pipeline (cs_service_scanner_run:
 * source, sandboxed worker, cs_service_judge, report), then that result
 * stored N times with cs_store_put_result() under N synthetic digests
 * (sha256 of "cellscan-rescan-bench-I"), each in its own repository. The
 * image object is the scan's own, package_keys included, so the store
 * builds each copy's reverse index as it does for a scanned image. The
 * image the scan saw is not stored itself: the store holds exactly N.
 *
 *   rescan_bench WORKER STATE_DIR DB REF STORE N [INVENTORY_OUT]
 *
 * WORKER: cellscan-worker; STATE_DIR: serve's state directory (its blob
 * cache); DB: the vulnerability database the scan is judged against;
 * REF: the image (oci:DIR:TAG); STORE: the store URL (a new SQLite path);
 * INVENTORY_OUT: where the merged inventory is written (the script picks
 * its hand-made records from it). Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/errors.h"
#include "supervisor/service/service.h"
#include "supervisor/store/store.h"

#define MAX_IMAGES 1000000L

static int sha256_hex(char out[72], const void *p, size_t n)
{
	unsigned char d[32];
	unsigned int dl = 0;
	int i;

	if (EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		return cs_err_set(CS_EIO, "sha256 failed");
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
	return 0;
}

static int set_str(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	return *field != NULL ? 0 : cs_err_set(CS_ENOMEM, "out of memory");
}

/* The scan's image object under another digest and repository (new
 * reference in *out). */
static int copy_image(json_t **out, const json_t *image, size_t i)
{
	char digest[72], seed[64], repo[96], ref[200];
	json_t *c;
	int r;

	*out = NULL;
	snprintf(seed, sizeof(seed), "cellscan-rescan-bench-%zu", i);
	if ((r = sha256_hex(digest, seed, strlen(seed))) != 0)
		return r;
	snprintf(repo, sizeof(repo), "bench.example/rescan/debian-%04zu", i);
	snprintf(ref, sizeof(ref), "%s@%s", repo, digest);
	c = json_deep_copy(image);
	if (c == NULL || json_object_set_new(c, "digest", json_string(digest)) != 0 ||
	    json_object_set_new(c, "repository", json_string(repo)) != 0 ||
	    json_object_set_new(c, "ref", json_string(ref)) != 0 ||
	    json_object_set_new(c, "refs", json_pack("[s]", ref)) != 0) {
		json_decref(c);
		return cs_err_set(CS_ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

int main(int argc, char **argv)
{
	struct cs_service_config cfg;
	struct cs_service_scanner *sc = NULL;
	struct cs_service_scan scan;
	struct cs_store_options so;
	struct cs_store *st = NULL;
	long n;
	char *end;
	size_t i;
	long long now = (long long)time(NULL) - 3600;   /* scanned an hour ago */
	int r;

	cs_service_config_init(&cfg);
	memset(&scan, 0, sizeof(scan));
	if (argc < 7 || argc > 8) {
		fprintf(stderr, "usage: rescan_bench WORKER STATE_DIR DB REF STORE N [INVENTORY_OUT]\n");
		return 2;
	}
	n = strtol(argv[6], &end, 10);
	if (*end != '\0' || n < 1 || n > MAX_IMAGES) {
		fprintf(stderr, "rescan_bench: N: expected 1..%ld\n", MAX_IMAGES);
		return 2;
	}
	if ((r = set_str(&cfg.worker, argv[1])) != 0 || (r = set_str(&cfg.state_dir, argv[2])) != 0 ||
	    (r = set_str(&cfg.vulndb, argv[3])) != 0 || (r = set_str(&cfg.store_url, argv[5])) != 0 ||
	    (r = set_str(&cfg.instance, "rescan-bench")) != 0 ||
	    (r = cs_service_config_finish(&cfg)) != 0)
		goto out;
	if ((r = cs_service_scanner_new(&sc, &cfg)) != 0)
		goto out;
	scan.ref = argv[4];
	if ((r = cs_service_scanner_run(sc, &scan)) != 0) {
		cs_err_prefix(r, "scan of %s", argv[4]);
		goto out;
	}
	if (argc == 8 && json_dump_file(scan.inventory, argv[7], JSON_COMPACT) != 0) {
		r = cs_err_set(CS_EIO, "cannot write %s", argv[7]);
		goto out;
	}
	/* serve's store options: alerts are queued only with alert targets,
	 * and this configuration has none */
	cs_service_store_options(&cfg, &so);
	if ((r = cs_store_open(&st, cfg.store_url)) != 0 || (r = cs_store_set_options(st, &so)) != 0)
		goto out;
	for (i = 0; i < (size_t)n; i++) {
		json_t *img = NULL;
		if ((r = copy_image(&img, scan.image, i)) != 0)
			goto out;
		r = cs_store_put_result(st, img, scan.inventory, scan.report_json, now, NULL, NULL);
		json_decref(img);
		if (r != 0)
			goto out;
	}
	printf("rescan_bench: %s (%s, worker %s) stored under %ld digests in %s\n", argv[4],
	       scan.resolved_digest, scan.worker_end, n, cfg.store_url);
out:
	if (r != 0)
		fprintf(stderr, "rescan_bench: %s\n", cs_err_msg());
	cs_store_close(st);
	cs_service_scan_clear(&scan);
	cs_service_scanner_free(sc);
	cs_service_config_clear(&cfg);
	return r == 0 ? 0 : 1;
}
