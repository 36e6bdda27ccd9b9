/*
 * purl.c - package URLs (https://github.com/package-url/purl-spec) for OS
 * packages and for the image itself.
 *
 * The conventions (docs/formats.md, "Package URLs") follow the specification
 * where it decides and Syft where it does not: namespace = the vendor from
 * os-release ID (rhel -> redhat, openSUSE/SLES folded), distro qualifier =
 * "<ID>-<VERSION_ID>" exactly as os-release writes them, upstream qualifier =
 * the source package, epoch as a qualifier for rpm (the version is
 * version-release) but inside the version for dpkg (the spec's own deb
 * examples do so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/report/report.h"
#include "supervisor/report/report_internal.h"

enum ptype { P_DEB, P_APK, P_RPM };

/* At most this many qualifiers are ever written (arch, distro, epoch,
 * modularitylabel, upstream). */
#define MAXQ 6

struct qual {
	const char *key;
	const char *val;    /* borrowed or points into a scratch buffer */
};

/*
 * Percent-encodes s into b (purl spec, "Character encoding"): the
 * alphanumerics, the punctuation ".-_~" and ':' stay (a colon is never
 * encoded); every other byte of the UTF-8 string becomes %XX with
 * upper-case hex. lower folds ASCII letters (deb and apk names and every
 * namespace are case-insensitive and canonically lowercase).
 */
static int enc(struct cs_buf *b, const char *s, int lower)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char t[3];
	int r;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_' || c == '~' || c == ':') {
			r = cs_buf_add(b, &c, 1);
		} else if (c >= 'A' && c <= 'Z') {
			if (lower)
				c = (unsigned char)(c - 'A' + 'a');
			r = cs_buf_add(b, &c, 1);
		} else {
			t[0] = '%';
			t[1] = hex[c >> 4];
			t[2] = hex[c & 15];
			r = cs_buf_add(b, t, 3);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

/* A namespace taken from os-release must be a plain token: os-release(5)
 * promises [a-z0-9._-] for ID; anything else is not trusted as a vendor. */
static int token_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Whether the space-separated list has the word w. */
static int has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	if (list == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, w, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	return 0;
}

/* rpm vendors by os-release ID; NULL when the ID is not an rpm vendor we
 * know, in which case a plain-token ID of an rpm family member is kept. */
static const char *rpm_vendor(const char *id)
{
	static const struct { const char *id, *ns; } map[] = {
		{ "rhel", "redhat" },
		{ "redhat", "redhat" },
		{ "centos", "centos" },
		{ "rocky", "rocky" },
		{ "almalinux", "almalinux" },
		{ "fedora", "fedora" },
		{ "amzn", "amzn" },
		{ "ol", "ol" },
		{ "opensuse", "opensuse" },
		{ "opensuse-leap", "opensuse" },
		{ "opensuse-tumbleweed", "opensuse" },
		{ "opensuse-microos", "opensuse" },
		{ "sles", "suse" },
		{ "sled", "suse" },
		{ "sle-micro", "suse" },
		{ "sle_hpc", "suse" },
		{ "suse", "suse" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(id, map[i].id) == 0)
			return map[i].ns;
	return NULL;
}

/* Without an OS, an rpm's VENDOR tag still names the distribution for the
 * big ones; the match is on a prefix the vendors have used for decades. */
static const char *rpm_vendor_from_tag(const char *vendor)
{
	static const struct { const char *prefix, *ns; } map[] = {
		{ "Red Hat", "redhat" },
		{ "Fedora Project", "fedora" },
		{ "CentOS", "centos" },
		{ "Rocky Enterprise Software Foundation", "rocky" },
		{ "AlmaLinux", "almalinux" },
		{ "Amazon Linux", "amzn" },
		{ "Amazon.com", "amzn" },
		{ "Oracle America", "ol" },
		{ "openSUSE", "opensuse" },
		{ "SUSE", "suse" },
	};
	size_t i;

	if (vendor == NULL)
		return NULL;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(vendor, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].ns;
	return NULL;
}

/*
 * The namespace for a package of type t on OS (id, id_like). *from_os says
 * whether it came from the OS identity (then the distro qualifier applies).
 * NULL: no namespace (an rpm on an unknown system from an unknown vendor).
 */
static const char *namespace_for(enum ptype t, const char *id, const char *id_like,
				 const json_t *pkg, int *from_os)
{
	const char *ns;

	*from_os = 0;
	if (!token_ok(id))
		id = NULL;
	switch (t) {
	case P_DEB:
		if (id != NULL && (strcmp(id, "debian") == 0 || strcmp(id, "ubuntu") == 0 ||
				   has_word(id_like, "debian") || has_word(id_like, "ubuntu"))) {
			*from_os = 1;
			return id;
		}
		return "debian";
	case P_APK:
		if (id != NULL && (strcmp(id, "alpine") == 0 || strcmp(id, "wolfi") == 0 ||
				   strcmp(id, "chainguard") == 0 || has_word(id_like, "alpine"))) {
			*from_os = 1;
			return id;
		}
		return "alpine";
	case P_RPM:
		if (id != NULL && (ns = rpm_vendor(id)) != NULL) {
			*from_os = 1;
			return ns;
		}
		if (id != NULL && (has_word(id_like, "rhel") || has_word(id_like, "fedora") ||
				   has_word(id_like, "centos") || has_word(id_like, "suse") ||
				   has_word(id_like, "opensuse"))) {
			*from_os = 1;
			return id;
		}
		/* cbl-mariner, azurelinux, photon, ...: their own ID is all
		 * there is; without any OS, fall back to the vendor tag. */
		if (id != NULL && strcmp(id, "debian") != 0 && strcmp(id, "ubuntu") != 0 &&
		    strcmp(id, "alpine") != 0) {
			*from_os = 1;
			return id;
		}
		return rpm_vendor_from_tag(cs_report_str(pkg, "vendor"));
	}
	return NULL;
}

/* "<ID>-<VERSION_ID>", or "<ID>-<VERSION_CODENAME>" for a release without
 * a version (Debian testing/sid), or "<ID>". */
static int distro_value(struct cs_buf *b, const json_t *os)
{
	const char *id = cs_report_str(os, "id");
	const char *v = cs_report_str(os, "version_id");
	int r;

	if (v == NULL)
		v = cs_report_str(os, "codename");
	if ((r = cs_buf_addstr(b, id)) != 0)
		return r;
	if (v != NULL && ((r = cs_buf_add(b, "-", 1)) != 0 || (r = cs_buf_addstr(b, v)) != 0))
		return r;
	return cs_buf_cstr(b);
}

static int qcmp(const void *a, const void *b)
{
	return strcmp(((const struct qual *)a)->key, ((const struct qual *)b)->key);
}

int cs_report_purl(char **out, const json_t *pkg, const json_t *os)
{
	const char *kind, *name, *version, *ns, *arch;
	const char *os_id = NULL, *os_like = NULL;
	struct cs_buf b, distro, up, ep;
	struct qual q[MAXQ];
	size_t nq = 0, i, n;
	enum ptype t;
	int from_os, r;

	*out = NULL;
	cs_buf_init(&b, CS_REPORT_MAX_PURL);
	cs_buf_init(&distro, CS_REPORT_MAX_PURL);
	cs_buf_init(&up, CS_REPORT_MAX_PURL);
	cs_buf_init(&ep, 32);
	if (!json_is_object(pkg)) {
		r = cs_err_set(CS_EINVAL, "package record is not an object");
		goto out;
	}
	kind = cs_report_str(pkg, "kind");
	name = cs_report_str(pkg, "name");
	version = cs_report_str(pkg, "version");
	if (kind == NULL || name == NULL || version == NULL) {
		r = cs_err_set(CS_EINVAL, "package record without %s",
			       kind == NULL ? "kind" : name == NULL ? "name" : "version");
		goto out;
	}
	if (strcmp(kind, "dpkg") == 0)
		t = P_DEB;
	else if (strcmp(kind, "apk") == 0)
		t = P_APK;
	else if (strcmp(kind, "rpm") == 0)
		t = P_RPM;
	else {
		r = cs_err_set(CS_EINVAL, "package kind \"%.32s\" has no package URL type", kind);
		goto out;
	}
	if (json_is_object(os)) {
		os_id = cs_report_str(os, "id");
		os_like = cs_report_str(os, "id_like");
	}
	ns = namespace_for(t, os_id, os_like, pkg, &from_os);

	if ((arch = cs_report_str(pkg, "arch")) != NULL)
		q[nq++] = (struct qual){ "arch", arch };
	if (from_os) {
		if ((r = distro_value(&distro, os)) != 0)
			goto out;
		q[nq++] = (struct qual){ "distro", (const char *)distro.data };
	}
	if (t == P_RPM) {
		const json_t *e = json_object_get(pkg, "epoch");
		const char *ml = cs_report_str(pkg, "modularity_label");
		const char *srpm = cs_report_str(pkg, "source_rpm");
		/* Present means the EPOCH tag was there, even when 0 (as Syft). */
		if (json_is_integer(e) && json_integer_value(e) >= 0) {
			if ((r = cs_buf_printf(&ep, "%lld", (long long)json_integer_value(e))) != 0 ||
			    (r = cs_buf_cstr(&ep)) != 0)
				goto out;
			q[nq++] = (struct qual){ "epoch", (const char *)ep.data };
		}
		if (ml != NULL)
			q[nq++] = (struct qual){ "modularitylabel", ml };
		if (srpm != NULL)
			q[nq++] = (struct qual){ "upstream", srpm };
	} else if (t == P_DEB) {
		const char *sn = cs_report_str(pkg, "source_name");
		const char *sv = cs_report_str(pkg, "source_version");
		int other_v = sv != NULL && strcmp(sv, version) != 0;
		if (sn != NULL && (strcmp(sn, name) != 0 || other_v)) {
			if ((r = cs_buf_addstr(&up, sn)) != 0 ||
			    (other_v && ((r = cs_buf_add(&up, "@", 1)) != 0 ||
					 (r = cs_buf_addstr(&up, sv)) != 0)) ||
			    (r = cs_buf_cstr(&up)) != 0)
				goto out;
			q[nq++] = (struct qual){ "upstream", (const char *)up.data };
		}
	} else {
		const char *origin = cs_report_str(pkg, "origin");
		if (origin != NULL && strcmp(origin, name) != 0)
			q[nq++] = (struct qual){ "upstream", origin };
	}
	qsort(q, nq, sizeof(q[0]), qcmp);

	if ((r = cs_buf_addstr(&b, t == P_DEB ? "pkg:deb/" : t == P_APK ? "pkg:apk/" : "pkg:rpm/")) != 0)
		goto out;
	if (ns != NULL && ((r = enc(&b, ns, 1)) != 0 || (r = cs_buf_add(&b, "/", 1)) != 0))
		goto out;
	/* deb and apk names are case-insensitive (lowercase canonical), rpm
	 * names are case-sensitive. */
	if ((r = enc(&b, name, t != P_RPM)) != 0 || (r = cs_buf_add(&b, "@", 1)) != 0 ||
	    (r = enc(&b, version, 0)) != 0)
		goto out;
	for (i = 0; i < nq; i++) {
		if ((r = cs_buf_add(&b, i == 0 ? "?" : "&", 1)) != 0 ||
		    (r = cs_buf_addstr(&b, q[i].key)) != 0 || (r = cs_buf_add(&b, "=", 1)) != 0 ||
		    (r = enc(&b, q[i].val, 0)) != 0)
			goto out;
	}
	if ((r = cs_buf_cstr(&b)) != 0)
		goto out;
	*out = (char *)cs_buf_steal(&b, &n);
out:
	if (r != 0 && r == CS_ELIMIT)
		cs_err_prefix(r, "package URL");
	cs_buf_free(&b);
	cs_buf_free(&distro);
	cs_buf_free(&up);
	cs_buf_free(&ep);
	return r;
}

/*
 * pkg:oci/<name>@<manifest digest>?arch=<arch>&repository_url=<repo> (the
 * purl spec's oci type): name is the last path segment of the repository,
 * lowercased; repository_url only for registry references, with Docker Hub's
 * defaults made explicit (docker.io, library/).
 */
int cs_report_image_purl(char **out, const json_t *image)
{
	const char *digest = cs_report_str(image, "manifest_digest");
	const char *ref = cs_report_str(image, "ref");
	const char *platform = cs_report_str(image, "platform");
	const char *iname = cs_report_str(image, "name");
	struct cs_buf b, repo, arch;
	struct qual q[2];
	size_t nq = 0, i, n, rlen;
	const char *slash, *at, *colon, *last;
	int r = 0;

	*out = NULL;
	if (digest == NULL)
		return 0;
	cs_buf_init(&b, CS_REPORT_MAX_PURL);
	cs_buf_init(&repo, CS_REPORT_MAX_PURL);
	cs_buf_init(&arch, 256);

	/* A registry reference has no transport prefix. */
	if (ref != NULL && strncmp(ref, "oci:", 4) != 0 && strncmp(ref, "oci-archive:", 12) != 0 &&
	    strncmp(ref, "docker-archive:", 15) != 0 && strncmp(ref, "dir:", 4) != 0) {
		at = strchr(ref, '@');
		rlen = at != NULL ? (size_t)(at - ref) : strlen(ref);
		slash = memchr(ref, '/', rlen);
		last = ref;
		for (i = 0; i < rlen; i++)
			if (ref[i] == '/')
				last = ref + i + 1;
		colon = memchr(last, ':', rlen - (size_t)(last - ref));
		if (colon != NULL)
			rlen = (size_t)(colon - ref);
		/* The first component is a host when it has '.' or ':' or is
		 * localhost (the Docker reference grammar). */
		if (slash == NULL || (memchr(ref, '.', (size_t)(slash - ref)) == NULL &&
				      memchr(ref, ':', (size_t)(slash - ref)) == NULL &&
				      !((size_t)(slash - ref) == 9 && strncmp(ref, "localhost", 9) == 0))) {
			if ((r = cs_buf_addstr(&repo, slash == NULL ? "docker.io/library/" : "docker.io/")) != 0)
				goto out;
		}
		if ((r = cs_buf_add(&repo, ref, rlen)) != 0 || (r = cs_buf_cstr(&repo)) != 0)
			goto out;
		iname = NULL;
		for (i = 0, last = (const char *)repo.data; i < repo.len; i++)
			if (repo.data[i] == '/')
				last = (const char *)repo.data + i + 1;
		if (*last != '\0')
			iname = last;
	}
	if (iname == NULL)
		iname = "image";
	if (platform != NULL && (slash = strchr(platform, '/')) != NULL && slash[1] != '\0') {
		const char *end = strchr(slash + 1, '/');
		size_t alen = end != NULL ? (size_t)(end - slash - 1) : strlen(slash + 1);
		if ((r = cs_buf_add(&arch, slash + 1, alen)) != 0 || (r = cs_buf_cstr(&arch)) != 0)
			goto out;
		q[nq++] = (struct qual){ "arch", (const char *)arch.data };
	}
	if (repo.len > 0)
		q[nq++] = (struct qual){ "repository_url", (const char *)repo.data };

	if ((r = cs_buf_addstr(&b, "pkg:oci/")) != 0 || (r = enc(&b, iname, 1)) != 0 ||
	    (r = cs_buf_add(&b, "@", 1)) != 0 || (r = enc(&b, digest, 0)) != 0)
		goto out;
	for (i = 0; i < nq; i++) {
		if ((r = cs_buf_add(&b, i == 0 ? "?" : "&", 1)) != 0 ||
		    (r = cs_buf_addstr(&b, q[i].key)) != 0 || (r = cs_buf_add(&b, "=", 1)) != 0 ||
		    (r = enc(&b, q[i].val, 0)) != 0)
			goto out;
	}
	if ((r = cs_buf_cstr(&b)) != 0)
		goto out;
	*out = (char *)cs_buf_steal(&b, &n);
out:
	cs_buf_free(&b);
	cs_buf_free(&repo);
	cs_buf_free(&arch);
	return r;
}

int cs_report_package_refs(json_t **refs, json_t **purls, const json_t *packages,
			   const json_t *os)
{
	json_t *seen = json_object(), *rs = json_array(), *ps = json_array();
	char *purl = NULL;
	char *ref = NULL;
	size_t i, len;
	const json_t *pkg;
	int r = 0;

	*refs = NULL;
	*purls = NULL;
	if (seen == NULL || rs == NULL || ps == NULL) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(packages, i, pkg) {
		if ((r = cs_report_purl(&purl, pkg, os)) != 0) {
			cs_err_prefix(r, "package %zu", i);
			goto out;
		}
		if (json_object_get(seen, purl) == NULL) {
			if ((r = cs_report_set(seen, purl, json_true())) != 0 ||
			    (r = cs_report_append(rs, json_string(purl))) != 0)
				goto out;
		} else {
			/* The same package URL twice (the same package in two
			 * databases, e.g. status and status.d): the bom-ref
			 * must still be unique. */
			len = strlen(purl) + 32;
			if ((ref = malloc(len)) == NULL) {
				r = cs_err_set(CS_ENOMEM, "out of memory");
				goto out;
			}
			snprintf(ref, len, "%s#%zu", purl, i);
			if ((r = cs_report_set(seen, ref, json_true())) != 0 ||
			    (r = cs_report_append(rs, json_string(ref))) != 0)
				goto out;
			free(ref);
			ref = NULL;
		}
		if ((r = cs_report_append(ps, json_string(purl))) != 0)
			goto out;
		free(purl);
		purl = NULL;
	}
	*refs = rs;
	*purls = ps;
	rs = ps = NULL;
out:
	free(purl);
	free(ref);
	json_decref(seen);
	json_decref(rs);
	json_decref(ps);
	return r;
}
