/*
 * test_rpm_hostile.c - the rpm analyzer on hostile input: synthetic header
 * blobs with out-of-range offsets, huge counts and broken regions;
 * databases cut at many offsets; BerkeleyDB page loops; a big-endian copy
 * of a BerkeleyDB file; random bytes behind each format's magic. Every case
 * must return 0, never crash (ASan/UBSan), report problems as warnings that
 * name the file, and emit only packages that the intact input also has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tests/harness.h"
#include "worker/analyzers/rpm.h"

#define TEST_PATH "var/lib/rpm/Packages"

struct got {
	size_t n, warnings, bad_warning_path;
	char last_name[256];
	char last_version[256];
	char last_arch[64];
	int last_has_epoch, last_epoch;
	size_t last_n_files;
	char first_file[256];
	/* names+versions seen, to compare a damaged database with the intact one */
	char *seen;
	size_t seen_len, seen_cap;
};

static int on_package(void *ctx, const struct cs_pkg *p)
{
	struct got *g = ctx;
	size_t need;

	g->n++;
	snprintf(g->last_name, sizeof(g->last_name), "%s", p->name ? p->name : "(null)");
	snprintf(g->last_version, sizeof(g->last_version), "%s", p->version ? p->version : "(null)");
	snprintf(g->last_arch, sizeof(g->last_arch), "%s", p->arch ? p->arch : "(null)");
	g->last_has_epoch = p->has_epoch;
	g->last_epoch = p->epoch;
	g->last_n_files = p->n_files;
	snprintf(g->first_file, sizeof(g->first_file), "%s", p->n_files ? p->files[0] : "");
	need = g->seen_len + strlen(p->name) + strlen(p->version) + 3;
	if (need > g->seen_cap) {
		g->seen_cap = need * 2;
		g->seen = realloc(g->seen, g->seen_cap);
		if (g->seen == NULL)
			abort();
	}
	g->seen_len += (size_t)snprintf(g->seen + g->seen_len, g->seen_cap - g->seen_len, "|%s %s", p->name, p->version);
	return 0;
}

static int verbose;

static int on_warning(void *ctx, const char *path, const char *msg)
{
	struct got *g = ctx;

	if (verbose > 1)
		printf("  warning: %s: %s\n", path, msg);

	g->warnings++;
	if (path == NULL || strcmp(path, TEST_PATH) != 0 || msg == NULL || msg[0] == '\0')
		g->bad_warning_path++;
	return 0;
}

static void parse(struct got *g, const uint8_t *data, size_t len)
{
	struct cs_emit e = { NULL, on_package, on_warning, g };

	free(g->seen);
	memset(g, 0, sizeof(*g));
	CHECK(cs_rpm_parse(&e, TEST_PATH, data, len) == 0);
	CHECK(g->bad_warning_path == 0);
}

static void parse_header(struct got *g, const uint8_t *blob, size_t len)
{
	struct cs_emit e = { NULL, on_package, on_warning, g };

	free(g->seen);
	memset(g, 0, sizeof(*g));
	CHECK(cs_rpm_header_parse(&e, TEST_PATH, blob, len) == 0);
	CHECK(g->bad_warning_path == 0);
}

/* Every "|name version" of sub also occurs in full. */
static int subset(const struct got *sub, const struct got *full)
{
	const char *p = sub->seen;

	if (sub->n == 0)
		return 1;
	while (p != NULL && *p == '|') {
		const char *q = strchr(p + 1, '|');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		const char *f = full->seen;
		int found = 0;

		while (f != NULL && (f = strstr(f, "|")) != NULL) {
			if (strncmp(f, p, l) == 0 && (f[l] == '|' || f[l] == '\0')) {
				found = 1;
				break;
			}
			f++;
		}
		if (!found)
			return 0;
		p = q;
	}
	return 1;
}

/* ---- a tiny header blob builder ---- */

struct hb {
	uint8_t idx[64 * 16];
	size_t il;
	uint8_t data[8192];
	size_t dl;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void hb_entry(struct hb *h, uint32_t tag, uint32_t type, uint32_t off, uint32_t count)
{
	uint8_t *p = h->idx + h->il * 16;

	put32(p, tag);
	put32(p + 4, type);
	put32(p + 8, off);
	put32(p + 12, count);
	h->il++;
}

static void hb_str(struct hb *h, uint32_t tag, const char *s)
{
	size_t l = strlen(s) + 1;

	hb_entry(h, tag, 6, (uint32_t)h->dl, 1);
	memcpy(h->data + h->dl, s, l);
	h->dl += l;
}

static void hb_strs(struct hb *h, uint32_t tag, const char *const *s, size_t n)
{
	size_t i;

	hb_entry(h, tag, 8, (uint32_t)h->dl, (uint32_t)n);
	for (i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;
		memcpy(h->data + h->dl, s[i], l);
		h->dl += l;
	}
}

static void hb_i32(struct hb *h, uint32_t tag, const uint32_t *v, size_t n)
{
	size_t i;

	while (h->dl % 4)
		h->data[h->dl++] = 0;
	hb_entry(h, tag, 4, (uint32_t)h->dl, (uint32_t)n);
	for (i = 0; i < n; i++, h->dl += 4)
		put32(h->data + h->dl, v[i]);
}

/* Blob with an immutable region spanning all entries (region entry first). */
static size_t hb_finish(const struct hb *h, uint8_t *out, int region)
{
	size_t il = h->il + (region ? 1 : 0), dl = h->dl + (region ? 16 : 0), o = 8;

	put32(out, (uint32_t)il);
	put32(out + 4, (uint32_t)dl);
	if (region) {
		put32(out + o, 63);
		put32(out + o + 4, 7);
		put32(out + o + 8, (uint32_t)h->dl);
		put32(out + o + 12, 16);
		o += 16;
	}
	memcpy(out + o, h->idx, h->il * 16);
	o += h->il * 16;
	memcpy(out + o, h->data, h->dl);
	o += h->dl;
	if (region) {
		put32(out + o, 63);
		put32(out + o + 4, 7);
		put32(out + o + 8, (uint32_t)(0u - (uint32_t)(il * 16)));
		put32(out + o + 12, 16);
		o += 16;
	}
	return o;
}

static const char *const dirs[] = { "/usr/bin/", "/etc/" };
static const char *const bases[] = { "hello", "hello.conf" };

static void hb_base(struct hb *h)
{
	static const uint32_t epoch = 3, di[] = { 0, 1 };

	memset(h, 0, sizeof(*h));
	hb_str(h, 1000, "hello");
	hb_str(h, 1001, "1.0");
	hb_str(h, 1002, "2.el9");
	hb_i32(h, 1003, &epoch, 1);
	hb_str(h, 1022, "x86_64");
	hb_str(h, 1044, "hello-1.0-2.el9.src.rpm");
	hb_strs(h, 1117, bases, 2);
	hb_i32(h, 1116, di, 2);
	hb_strs(h, 1118, dirs, 2);
}

/* Offset of entry i's field f (0 tag, 1 type, 2 offset, 3 count) in a region blob. */
static size_t fld(size_t i, size_t f)
{
	return 8 + 16 + i * 16 + f * 4;
}

static void headers(void)
{
	struct hb h;
	uint8_t blob[16384];
	uint8_t bad[16384];
	size_t len, cut;
	struct got g = { 0 };

	/* the sound one */
	hb_base(&h);
	len = hb_finish(&h, blob, 1);
	parse_header(&g, blob, len);
	CHECK(g.n == 1 && g.warnings == 0);
	CHECK_STR(g.last_name, "hello");
	CHECK_STR(g.last_version, "1.0-2.el9");
	CHECK(g.last_has_epoch == 1 && g.last_epoch == 3);
	CHECK(g.last_n_files == 2);
	CHECK_STR(g.first_file, "usr/bin/hello");

	/* no region (legacy header) is accepted too */
	len = hb_finish(&h, blob, 0);
	parse_header(&g, blob, len);
	CHECK(g.n == 1 && g.warnings == 0);
	len = hb_finish(&h, blob, 1);

	/* NAME offset beyond the data store */
	memcpy(bad, blob, len);
	put32(bad + fld(0, 2), 0x7ffffff0);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);

	/* BASENAMES with a huge count */
	memcpy(bad, blob, len);
	put32(bad + fld(6, 3), 0xffffffff);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);

	/* DIRINDEXES count that overflows count * 4 */
	memcpy(bad, blob, len);
	put32(bad + fld(7, 3), 0x40000001);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);

	/* a directory index past DIRNAMES: package kept, files dropped, warned */
	memcpy(bad, blob, len);
	{
		uint32_t off = (uint32_t)bad[fld(7, 2)] << 24 | (uint32_t)bad[fld(7, 2) + 1] << 16 |
			       (uint32_t)bad[fld(7, 2) + 2] << 8 | bad[fld(7, 2) + 3];
		put32(bad + 8 + 16 * (h.il + 1) + off + 4, 7);
	}
	parse_header(&g, bad, len);
	CHECK(g.n == 1 && g.warnings == 1 && g.last_n_files == 0);

	/*
	 * The last string array runs past the end: no NUL before the store
	 * ends (without a region, whose trailer would hold NULs).
	 */
	len = hb_finish(&h, bad, 0);
	bad[len - 1] = 'x';
	parse_header(&g, bad, len);
	CHECK(g.n == 1 && g.warnings >= 1 && g.last_n_files == 0);
	len = hb_finish(&h, blob, 1);

	/* an unknown type, an unaligned INT32, a bad region trailer, a huge il / dl */
	memcpy(bad, blob, len);
	put32(bad + fld(2, 1), 99);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);
	memcpy(bad, blob, len);
	put32(bad + fld(3, 2), 1 + ((uint32_t)bad[fld(3, 2) + 3]));
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);
	memcpy(bad, blob, len);
	put32(bad + len - 8, 0u - 16u * 1000u);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings >= 1);
	memcpy(bad, blob, len);
	put32(bad, 0x7fffffff);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings == 1);
	memcpy(bad, blob, len);
	put32(bad + 4, 0xfffffff0);
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings == 1);
	memcpy(bad, blob, len);
	put32(bad, 0x10000000);  /* il * 16 overflows 32 bits */
	parse_header(&g, bad, len);
	CHECK(g.n == 0 && g.warnings == 1);

	/* every truncation of the blob: a warning, never a package */
	for (cut = 0; cut < len; cut++) {
		parse_header(&g, blob, cut);
		CHECK(g.n == 0 && g.warnings >= 1);
	}

	/* a dribble entry after the region replaces the region's value */
	hb_base(&h);
	hb_str(&h, 1001, "9.9");
	len = hb_finish(&h, blob, 1);
	parse_header(&g, blob, len);
	CHECK(g.n == 1 && g.warnings == 0);
	CHECK_STR(g.last_version, "9.9-2.el9");

	/* gpg-pubkey: listed by rpm -qa, so emitted; no ARCH, no SOURCERPM */
	memset(&h, 0, sizeof(h));
	hb_str(&h, 1000, "gpg-pubkey");
	hb_str(&h, 1001, "fd431d51");
	hb_str(&h, 1002, "4ae0493b");
	len = hb_finish(&h, blob, 1);
	parse_header(&g, blob, len);
	CHECK(g.n == 1 && g.warnings == 0);
	CHECK_STR(g.last_name, "gpg-pubkey");
	CHECK_STR(g.last_arch, "(null)");

	/* no NAME: skipped with a warning */
	memset(&h, 0, sizeof(h));
	hb_str(&h, 1001, "1");
	len = hb_finish(&h, blob, 1);
	parse_header(&g, blob, len);
	CHECK(g.n == 0 && g.warnings == 1);

	/* 65535 entries all pointing at one long string array: bounded work */
	{
		size_t il = 65535, dl = 1 << 16, n = 8 + il * 16 + dl, i;
		uint8_t *big = calloc(1, n);

		CHECK(big != NULL);
		if (big != NULL) {
			put32(big, (uint32_t)il);
			put32(big + 4, (uint32_t)dl);
			for (i = 0; i < il; i++) {
				put32(big + 8 + i * 16, i == 0 ? 1000 : 1117);
				put32(big + 8 + i * 16 + 4, i == 0 ? 6 : 8);
				put32(big + 8 + i * 16 + 8, 0);
				put32(big + 8 + i * 16 + 12, i == 0 ? 1 : (uint32_t)dl);
			}
			parse_header(&g, big, n);
			CHECK(g.n == 0 && g.warnings >= 1);  /* empty NAME */
			free(big);
		}
	}
	free(g.seen);
}

/* ---- random blobs ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void random_headers(void)
{
	static const uint32_t tags[] = { 63, 1000, 1001, 1002, 1003, 1022, 1044, 1014, 1011, 5096,
					 1116, 1117, 1118, 1027, 61, 62 };
	uint8_t blob[4096];
	struct got g = { 0 };
	int it;

	for (it = 0; it < 20000; it++) {
		uint32_t il = 1 + rnd() % 12, dl = rnd() % 256, i;
		size_t len = 8 + il * 16 + dl;

		put32(blob, il);
		put32(blob + 4, dl);
		for (i = 0; i < il; i++) {
			put32(blob + 8 + i * 16, tags[rnd() % (sizeof(tags) / sizeof(tags[0]))]);
			put32(blob + 8 + i * 16 + 4, rnd() % 11);
			put32(blob + 8 + i * 16 + 8, rnd() % 2 ? rnd() % (dl + 2) : rnd());
			put32(blob + 8 + i * 16 + 12, rnd() % 4 ? rnd() % 6 : rnd());
		}
		for (i = 0; i < dl; i++)
			blob[8 + il * 16 + i] = rnd() % 3 ? (uint8_t)('a' + rnd() % 4) : (rnd() % 2 ? 0 : (uint8_t)rnd());
		parse_header(&g, blob, rnd() % 8 ? len : rnd() % (len + 1));
	}
	free(g.seen);
}

/* ---- databases ---- */

static const char *shared;

static uint8_t *load(const char *rel, size_t *len)
{
	char p[4096];
	uint8_t *d;

	snprintf(p, sizeof(p), "%s/fixtures/pkgdb/rpm/%s", shared, rel);
	d = cs_test_read_file(p, len);
	CHECK(d != NULL);
	return d;
}

/* Cuts the database at about `cuts` offsets (and the first 600 bytes finely). */
static void truncations(const char *rel, size_t cuts, int may_lose_silently)
{
	size_t len, cut, step, n = 0;
	uint8_t *data = load(rel, &len), *copy;
	struct got full = { 0 }, g = { 0 };

	if (data == NULL)
		return;
	parse(&full, data, len);
	CHECK(full.n > 0 && full.warnings == 0);
	step = len / cuts + 1;
	for (cut = 0; cut < len; cut += cut < 600 ? 37 : step) {
		copy = malloc(cut + 1);  /* exact size, so ASan sees overreads */
		memcpy(copy, data, cut);
		parse(&g, copy, cut);
		CHECK(g.n <= full.n);
		CHECK(subset(&g, &full));
		/* losing packages must be reported */
		if (g.n < full.n && !may_lose_silently)
			CHECK(g.warnings >= 1);
		if (verbose)
			printf("  cut %zu: %zu packages, %zu warnings\n", cut, g.n, g.warnings);
		free(copy);
		n++;
	}
	printf("%s: %zu truncations\n", rel, n);
	free(full.seen);
	free(g.seen);
	free(data);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void setle32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void swap16(uint8_t *p)
{
	uint8_t t = p[0];

	p[0] = p[1];
	p[1] = t;
}

static void swap32(uint8_t *p)
{
	swap16(p);
	swap16(p + 2);
	{
		uint8_t a = p[0], b = p[1];
		p[0] = p[2];
		p[1] = p[3];
		p[2] = a;
		p[3] = b;
	}
}

/* Rewrites a little-endian BerkeleyDB hash file as its big-endian twin. */
static void bdb_to_big_endian(uint8_t *d, size_t len)
{
	uint32_t ps = le32(d + 20), npg = (uint32_t)(len / ps), pg, i;

	for (pg = 1; pg < npg; pg++) {
		uint8_t *p = d + (size_t)pg * ps;
		uint16_t n = (uint16_t)(p[20] | p[21] << 8);
		int hash = p[25] == 13 || p[25] == 2;

		for (i = 0; hash && i < n; i++) {
			uint16_t off = (uint16_t)(p[26 + 2 * i] | p[27 + 2 * i] << 8);
			if (p[off] == 3) {
				swap32(p + off + 4);
				swap32(p + off + 8);
			} else if (p[off] == 1 && i % 2 == 0 && (uint32_t)off + 5 <= ps) {
				swap32(p + off + 1);  /* the header number key */
			}
			swap16(p + 26 + 2 * i);
		}
		swap32(p + 8);
		swap32(p + 12);
		swap32(p + 16);
		swap16(p + 20);
		swap16(p + 22);
	}
	for (i = 8; i < 224; i += 4)
		if (i != 24)
			swap32(d + i);
}

static void bdb_cases(void)
{
	size_t len;
	uint8_t *data = load("go-rpmdb/libuuid/Packages", &len), *c;
	struct got full = { 0 }, g = { 0 };
	const uint32_t ps = 4096;

	if (data == NULL)
		return;
	parse(&full, data, len);
	CHECK(full.n == 1 && full.warnings == 0);
	c = malloc(len);

	/* big-endian twin: the same packages */
	memcpy(c, data, len);
	bdb_to_big_endian(c, len);
	CHECK(le32(c + 12) != le32(data + 12));
	parse(&g, c, len);
	CHECK(g.n == full.n && g.warnings == 0);
	CHECK(g.seen && full.seen && strcmp(g.seen, full.seen) == 0);

	/*
	 * The file's layout (read from its pages): page 1 and 2 are the two
	 * buckets' hash pages, 3..22 one overflow chain. Check it, then break it.
	 */
	CHECK(c[ps * 1 + 25] == 13 && data[ps * 2 + 25] == 13 && data[ps * 3 + 25] == 7);

	/* hash page chain loops onto itself, and onto the other bucket */
	memcpy(c, data, len);
	setle32(c + ps * 1 + 16, 1);
	setle32(c + ps * 2 + 16, 1);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 1);

	/* overflow chain loops back */
	memcpy(c, data, len);
	setle32(c + ps * 10 + 16, 5);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);
	memcpy(c, data, len);
	setle32(c + ps * 21 + 16, 21);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);

	/* overflow chain into the metadata page / past the file / wrong page type */
	memcpy(c, data, len);
	setle32(c + ps * 7 + 16, 0);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);
	memcpy(c, data, len);
	setle32(c + ps * 7 + 16, 0x7fffffff);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);
	memcpy(c, data, len);
	setle32(c + ps * 7 + 16, 2);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);

	/* absurd bucket count and spares; bad page size; bad version */
	memcpy(c, data, len);
	setle32(c + 72, 0xffffffff);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n <= 1);
	memcpy(c, data, len);
	setle32(c + 96, 0x7ffffff0);
	setle32(c + 100, 0xfffffff0);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);
	memcpy(c, data, len);
	setle32(c + 20, 4095);
	parse(&g, c, len);
	CHECK(g.warnings == 1 && g.n == 0);
	memcpy(c, data, len);
	setle32(c + 16, 77);
	parse(&g, c, len);
	CHECK(g.warnings == 1 && g.n == 0);

	/* hash page with a huge entry count, and with offsets outside the page */
	memcpy(c, data, len);
	c[ps * 2 + 20] = 0xff;
	c[ps * 2 + 21] = 0xff;
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);
	memcpy(c, data, len);
	c[ps * 2 + 26] = 0xff;
	c[ps * 2 + 27] = 0xff;
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);

	/* the off-page item claims a length longer than the chain / the file */
	memcpy(c, data, len);
	{
		uint16_t voff = (uint16_t)(c[ps * 2 + 28] | c[ps * 2 + 29] << 8);
		CHECK(c[ps * 2 + voff] == 3);
		setle32(c + ps * 2 + voff + 8, le32(c + ps * 2 + voff + 8) + 100000);
	}
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n == 0);

	/* random bit flips: anything may happen except crashes and foreign packages */
	{
		int it, k;
		for (it = 0; it < 3000; it++) {
			memcpy(c, data, len);
			for (k = 0; k < 1 + (int)(rnd() % 8); k++) {
				size_t at = rnd() % 3 ? rnd() % (ps * 3) : rnd() % len;
				c[at] ^= (uint8_t)(1u << (rnd() % 8));
			}
			parse(&g, c, len);
			CHECK(g.n <= 1);
		}
	}
	free(c);
	free(full.seen);
	free(g.seen);
	free(data);
}

static void ndb_cases(void)
{
	size_t len;
	uint8_t *data = load("go-rpmdb/sle15-bci/Packages.db", &len), *c;
	struct got full = { 0 }, g = { 0 };
	int it, k;

	if (data == NULL)
		return;
	parse(&full, data, len);
	CHECK(full.n == 35 && full.warnings == 0);
	c = malloc(len);

	/* many slots point at the first blob: it is emitted once, the rest warned */
	memcpy(c, data, len);
	for (k = 1; k < 200; k++)
		memcpy(c + 32 + 16 * k, c + 32, 16);
	parse(&g, c, len);
	CHECK(g.warnings >= 1 && g.n >= 1 && g.n < 35);
	CHECK(subset(&g, &full));

	/* a flipped blob byte fails its checksum: one package lost, warned */
	memcpy(c, data, len);
	c[le32(c + 32 + 8) * 16 + 40] ^= 1;
	parse(&g, c, len);
	CHECK(g.n == full.n - 1 && g.warnings == 1);

	/* absurd slot page count */
	memcpy(c, data, len);
	setle32(c + 12, 0xffffffff);
	parse(&g, c, len);
	CHECK(g.n == 0 && g.warnings == 1);

	for (it = 0; it < 300; it++) {
		memcpy(c, data, len);
		for (k = 0; k < 1 + (int)(rnd() % 8); k++) {
			size_t at = rnd() % 2 ? rnd() % 4096 : rnd() % len;
			c[at] ^= (uint8_t)(1u << (rnd() % 8));
		}
		parse(&g, c, len);
		CHECK(g.n <= full.n);
		CHECK(subset(&g, &full));
	}
	free(c);
	free(full.seen);
	free(g.seen);
	free(data);
}

static void sqlite_cases(void)
{
	size_t len;
	uint8_t *data = load("go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite", &len), *c;
	struct got full = { 0 }, g = { 0 };
	int it, k;

	if (data == NULL)
		return;
	parse(&full, data, len);
	CHECK(full.n == 129 && full.warnings == 0);
	c = malloc(len);
	for (it = 0; it < 40; it++) {
		memcpy(c, data, len);
		for (k = 0; k < 1 + (int)(rnd() % 16); k++) {
			size_t at = rnd() % 2 ? rnd() % 65536 : rnd() % len;
			c[at] ^= (uint8_t)(1u << (rnd() % 8));
		}
		/* keep the magic so the SQLite path runs */
		memcpy(c, data, 16);
		parse(&g, c, len);
		CHECK(g.n <= full.n);
	}
	free(c);
	free(full.seen);
	free(g.seen);
	free(data);
}

/* An in-memory SQLite database image made by sql, with blobs inserted as rows. */
static unsigned char *make_db(const char *sql, const uint8_t *blob, size_t bloblen, int rows, size_t *len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 n = 0;
	unsigned char *img = NULL;
	int i;

	*len = 0;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		printf("  (sqlite cannot build: %s)\n", sqlite3_errmsg(db));
		goto out;
	}
	if (blob != NULL) {
		if (sqlite3_prepare_v2(db, "INSERT INTO Packages(blob) VALUES(?)", -1, &st, NULL) != SQLITE_OK)
			goto out;
		for (i = 0; i < rows; i++) {
			sqlite3_bind_blob(st, 1, blob, (int)bloblen, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				goto out;
			sqlite3_reset(st);
		}
	}
	img = sqlite3_serialize(db, "main", &n, 0);
	*len = (size_t)n;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return img;
}

static void sqlite_synthetic(void)
{
	struct hb h;
	uint8_t blob[16384];
	size_t blen, len;
	unsigned char *img;
	struct got g = { 0 };
	static const char table[] = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";

	hb_base(&h);
	blen = hb_finish(&h, blob, 1);

	/* rpm's own schema with one good header, one text value and one garbage blob */
	img = make_db("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);"
		      "INSERT INTO Packages(blob) VALUES('text'), (x'00000001ffffffff');", blob, blen, 1, &len);
	CHECK(img != NULL);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 1 && g.warnings == 2);
		CHECK_STR(g.last_name, "hello");
		/* the same image marked as WAL mode, as rpm leaves it */
		img[18] = img[19] = 2;
		parse(&g, img, len);
		CHECK(g.n == 1 && g.warnings == 2);
		sqlite3_free(img);
	}

	/* 5000 broken rows: warnings are capped, the walk finishes */
	img = make_db(table, (const uint8_t *)"\0\0\0\1", 4, 5000, &len);
	CHECK(img != NULL);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 0 && g.warnings >= 50 && g.warnings <= 101);
		sqlite3_free(img);
	}

	/* Packages as an endless view, with a virtual generated blob, or missing */
	img = make_db("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
		      "SELECT x AS hnum, zeroblob(100000) AS blob FROM c;", NULL, 0, 0, &len);
	CHECK(img != NULL);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 0 && g.warnings == 1);
		sqlite3_free(img);
	}
	img = make_db("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, n INT, "
		      "blob BLOB GENERATED ALWAYS AS (zeroblob(n)) VIRTUAL);"
		      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) "
		      "INSERT INTO Packages(hnum, n) SELECT x, 100000000 FROM c;", NULL, 0, 0, &len);
	CHECK(img != NULL);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 0 && g.warnings == 1);
		sqlite3_free(img);
	}
	img = make_db("CREATE TABLE Other (x);", NULL, 0, 0, &len);
	CHECK(img != NULL);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 0 && g.warnings == 1);
		sqlite3_free(img);
	}
	img = make_db("CREATE VIRTUAL TABLE Packages USING fts5(hnum, blob);", NULL, 0, 0, &len);
	if (img != NULL) {
		parse(&g, img, len);
		CHECK(g.n == 0 && g.warnings == 1);
		sqlite3_free(img);
	}
	free(g.seen);
}

static void random_databases(void)
{
	static const char *const magics[] = { "RpmP", "SQLite format 3", "" };
	uint8_t *buf = malloc(1 << 16);
	struct got g = { 0 };
	int it;
	size_t i;

	for (it = 0; it < 600; it++) {
		size_t len = rnd() % (1 << 16);
		int kind = it % 4;

		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		if (kind < 2 && len >= 16)
			memcpy(buf, magics[kind], strlen(magics[kind]) + 1);
		if (kind == 0 && len >= 32) {
			/* NDB header and slots with small random fields, so the walk gets deep */
			uint32_t np = 1 + rnd() % 2;
			setle32(buf + 4, 0);
			setle32(buf + 12, np);
			for (i = 32; i + 16 <= len && i < np * 4096; i += 16) {
				memcpy(buf + i, "Slot", 4);
				setle32(buf + i + 4, rnd() % 4 ? rnd() % 50 : 0);
				setle32(buf + i + 8, rnd() % 2 ? 0 : np * 256 + rnd() % (uint32_t)(len / 16 + 1));
				setle32(buf + i + 12, rnd() % 300);
			}
			for (i = np * 4096; i + 16 <= len; i += 16)
				if (rnd() % 4 == 0) {
					memcpy(buf + i, "BlbS", 4);
					setle32(buf + i + 4, rnd() % 50);
					setle32(buf + i + 12, rnd() % 4096);
				}
		}
		if (kind == 2 && len >= 512) {
			/* BerkeleyDB hash metadata, sane page size, random rest */
			setle32(buf + 12, 0x061561);
			setle32(buf + 16, 9);
			setle32(buf + 20, 512u << (rnd() % 4));
			buf[24] = 0;
			buf[25] = 8;
			setle32(buf + 32, rnd() % 200);
			setle32(buf + 72, rnd() % 64);
			for (i = 0; i < 32; i++)
				setle32(buf + 96 + 4 * i, rnd() % 4);
		}
		parse(&g, buf, len);
	}
	/* empty and tiny inputs */
	parse(&g, buf, 0);
	CHECK(g.warnings == 1);
	parse(&g, (const uint8_t *)"RpmP", 4);
	CHECK(g.warnings == 1);
	free(g.seen);
	free(buf);
}

int main(int argc, char **argv)
{
	verbose = argc > 1 && argv[1] != NULL ? (int)strlen(argv[1]) : 0;
	headers();
	random_headers();
	random_databases();
	sqlite_synthetic();
	shared = cs_test_shared();
	bdb_cases();
	ndb_cases();
	sqlite_cases();
	truncations("go-rpmdb/libuuid/Packages", 200, 0);
	truncations("osv-scalibr/Packages_epoch", 200, 0);
	truncations("go-rpmdb/sle15-bci/Packages.db", 200, 0);
	truncations("go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite", 60, 0);
	return cs_test_done();
}
