/*
 * errors.h - the one error idiom of cellscan.
 *
 * Functions return int: 0 on success, a negative CS_E* code otherwise, after
 * recording a one-line message with cs_err_set(). The message is thread-local
 * and valid until the next cs_err_set() on the same thread.
 */
#ifndef CS_COMMON_ERRORS_H
#define CS_COMMON_ERRORS_H

enum cs_err {
	CS_OK = 0,
	CS_ENOMEM = -1,       /* allocation failed */
	CS_EINVAL = -2,       /* bad argument or usage */
	CS_EIO = -3,          /* read/write/system call failed */
	CS_ELIMIT = -4,       /* a configured limit was exceeded */
	CS_EPROTO = -5,       /* wire protocol violation */
	CS_EFORMAT = -6,      /* malformed input data */
	CS_ESANDBOX = -7,     /* sandbox could not be set up, or worker failed */
	CS_ENOTFOUND = -8,    /* a named thing does not exist */
	CS_EDIGEST = -9,      /* content does not match its digest */
	CS_EUNSUPPORTED = -10,/* valid but not supported */
	CS_ETIMEOUT = -11,    /* a deadline passed */
	CS_EAUTH = -12,       /* authentication failed */
	CS_ENET = -13,        /* network failure */
	CS_EDB = -14,         /* database failure */
	CS_EINTERNAL = -15,   /* a bug */
};

/* Records a message (printf-style) for the current thread; returns code. */
int cs_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "PREFIX: " (e.g. the input's name). */
int cs_err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). Borrowed. */
const char *cs_err_msg(void);

/* A short stable name for a code ("limit", "format", ...). */
const char *cs_err_name(int code);

void cs_err_clear(void);

#endif
