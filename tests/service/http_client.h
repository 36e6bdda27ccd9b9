/*
 * http_client.h - the service tests' HTTP client (libcurl, loopback only)
 * and raw-socket helpers for the hostile-client cases.
 */
#ifndef CS_TESTS_SERVICE_HTTP_CLIENT_H
#define CS_TESTS_SERVICE_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"

struct http_answer {
	long status;
	char *body;          /* NUL-terminated; free() */
	size_t len;
	char location[256];
	char ctype[128];
};

static size_t hc_write(char *p, size_t sz, size_t n, void *ud)
{
	struct cs_buf *b = ud;

	return cs_buf_add(b, p, sz * n) == 0 ? sz * n : 0;
}

static size_t hc_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http_answer *a = ud;
	size_t len = sz * n;

	if (len > 10 && strncasecmp(p, "Location: ", 10) == 0)
		snprintf(a->location, sizeof(a->location), "%.*s", (int)(len - 12), p + 10);
	if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
		snprintf(a->ctype, sizeof(a->ctype), "%.*s", (int)(len - 16), p + 14);
	return len;
}

/* Sends one request; 0 when an answer came (a->status set). */
static int http_do(struct http_answer *a, unsigned port, const char *method, const char *path,
		   const char *body, const char *authz)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct cs_buf b;
	char url[2048], auth[512];
	CURLcode cc;

	memset(a, 0, sizeof(*a));
	if (c == NULL)
		return -1;
	cs_buf_init(&b, 64u << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	h = curl_slist_append(h, "Expect:");
	if (authz != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: %s", authz);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hc_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hc_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	cs_buf_cstr(&b);
	a->body = (char *)cs_buf_steal(&b, &a->len);
	if (a->body == NULL)
		a->body = strdup("");
	return cc == CURLE_OK ? 0 : -1;
}

static void http_free(struct http_answer *a)
{
	free(a->body);
	a->body = NULL;
}

/* GET/POST returning the parsed JSON body (NULL when not JSON); status in *st. */
static __attribute__((unused)) json_t *http_json(unsigned port, const char *method, const char *path, const char *body,
			 const char *authz, long *st)
{
	struct http_answer a;
	json_t *o = NULL;

	*st = -1;
	if (http_do(&a, port, method, path, body, authz) == 0) {
		*st = a.status;
		o = json_loads(a.body, 0, NULL);
	}
	http_free(&a);
	return o;
}

static __attribute__((unused)) int tcp_connect(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Reads what the server sends until it closes or timeout_ms passes;
 * returns bytes read (into buf, NUL-terminated), -1 on timeout without EOF. */
static __attribute__((unused)) int read_until_close(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long el;
		ssize_t k;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (long)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (el >= timeout_ms) {
			buf[got] = '\0';
			return -1;
		}
		if (poll(&p, 1, (int)(timeout_ms - el)) <= 0)
			continue;
		k = read(fd, buf + got, n - 1 - got);
		if (k <= 0 || got + (size_t)k >= n - 1) {
			if (k > 0)
				got += (size_t)k;
			buf[got] = '\0';
			return (int)got;
		}
		got += (size_t)k;
	}
}

#endif
