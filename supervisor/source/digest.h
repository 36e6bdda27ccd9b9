/*
 * digest.h - sha256 of files and memory, and digest string checks.
 * Internal to supervisor/source/.
 */
#ifndef CS_SUPERVISOR_SOURCE_DIGEST_H
#define CS_SUPERVISOR_SOURCE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s is "sha256:" followed by 64 lowercase hex digits. */
int cs_digest_valid(const char *s);
/* out gets "sha256:<hex>" (72 bytes). */
int cs_digest_mem(char out[72], const void *p, size_t n);
/* Hashes fd from its current offset to EOF, counting bytes; leaves the
 * offset at EOF. */
int cs_digest_fd(char out[72], int fd, uint64_t *bytes);

#endif
