#include "supervisor/source/digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/errors.h"

int cs_digest_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 71 || strncmp(s, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void hexify(char out[72], const unsigned char d[32])
{
	int i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[d[i] & 15];
	}
	out[71] = '\0';
}

int cs_digest_mem(char out[72], const void *p, size_t n)
{
	unsigned char d[32];
	unsigned int dl = 0;

	if (EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		return cs_err_set(CS_EINTERNAL, "sha256 failed");
	hexify(out, d);
	return 0;
}

int cs_digest_fd(char out[72], int fd, uint64_t *bytes)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	unsigned int dl = 0;
	uint8_t *buf = malloc(1 << 20);
	ssize_t n;
	int r = 0;

	*bytes = 0;
	if (md == NULL || buf == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = cs_err_set(CS_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cs_err_set(CS_EIO, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		*bytes += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != 32) {
		r = cs_err_set(CS_EINTERNAL, "sha256 failed");
		goto out;
	}
	hexify(out, d);
out:
	free(buf);
	EVP_MD_CTX_free(md);
	return r;
}
