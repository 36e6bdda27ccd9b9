/*
 * http.c - libmicrohttpd glue: one thread per connection (at most
 * max_connections), an idle timeout per connection, a cap on header memory
 * (431 from libmicrohttpd), and request bodies capped and timed while they
 * are read: a declared Content-Length over the cap is a 413 before any of
 * the body is read; a streamed body over the cap, or one still arriving
 * after request_timeout, ends the connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/errors.h"
#include "supervisor/service/internal.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct conn_state {
	struct cs_buf body;
	struct timespec start;
	int failed;            /* an error answer is queued; the rest is dropped */
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static MHD_RESULT send_resp(struct cs_service *s, struct MHD_Connection *c, struct svc_resp *r,
			    int close_conn)
{
	struct MHD_Response *resp;
	MHD_RESULT ret;

	if (r->body == NULL)
		svc_resp_error(r, r->status ? r->status : 500, "no answer");
	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		svc_resp_clear(r);
		return MHD_NO;
	}
	r->body = NULL;   /* the response owns it now */
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	if (r->allow != NULL)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"cellscan\"");
	if (close_conn)
		MHD_add_response_header(resp, "Connection", "close");
	svc_metrics_http(&s->m, r->status);
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	svc_resp_clear(r);
	return ret;
}

static MHD_RESULT fail_early(struct cs_service *s, struct MHD_Connection *c,
			     struct conn_state *st, unsigned status, const char *msg)
{
	struct svc_resp r;

	memset(&r, 0, sizeof(r));
	st->failed = 1;
	cs_buf_free(&st->body);
	svc_resp_error(&r, status, "%s", msg);
	return send_resp(s, c, &r, 1);
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct cs_service *s = cls;
	struct conn_state *st = *con_cls;
	struct svc_resp r;
	struct svc_req q;

	(void)version;
	if (st == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		cs_buf_init(&st->body, s->cfg->max_body);
		clock_gettime(CLOCK_MONOTONIC, &st->start);
		*con_cls = st;
		if (cl != NULL) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (end == cl || *end != '\0' || n > s->cfg->max_body)
				return fail_early(s, c, st, 413, "request body over the limit");
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (st->failed)
			return MHD_YES;
		/* libmicrohttpd 0.9 lets an application answer only before the
		 * body (the Content-Length check above: 413) or after it; a body
		 * that outgrows the cap while it streams (chunked) or comes in too
		 * slowly is cut off by closing the connection */
		if (elapsed(&st->start) > (double)s->cfg->request_timeout) {
			svc_metrics_http(&s->m, 408);
			return MHD_NO;
		}
		if (cs_buf_add(&st->body, upload_data, n) != 0) {
			svc_metrics_http(&s->m, 413);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (st->failed)
		return MHD_YES;
	if (elapsed(&st->start) > (double)s->cfg->request_timeout)
		return fail_early(s, c, st, 408, "request body not received in time");
	if (cs_buf_cstr(&st->body) != 0)
		return fail_early(s, c, st, 413, "request body over the limit");
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = url;
	q.body = st->body.data ? (const char *)st->body.data : "";
	q.len = st->body.len;
	q.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_AUTHORIZATION);
	q.conn = c;
	svc_route(s, &q, &r);
	return send_resp(s, c, &r, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st != NULL) {
		cs_buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	fprintf(stderr, "cellscan serve: http: %s\n", line);
}

static int read_pem(char **out, const char *path)
{
	FILE *f;
	long n;
	char *p;

	*out = NULL;
	f = fopen(path, "rbe");
	if (f == NULL)
		return cs_err_set(CS_EIO, "tls: cannot read %s", path);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1L << 20) ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return cs_err_set(CS_EIO, "tls: %s is not a readable PEM file under 1 MiB", path);
	}
	p = malloc((size_t)n + 1);
	if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return cs_err_set(CS_EIO, "tls: cannot read %s", path);
	}
	p[n] = '\0';
	fclose(f);
	*out = p;
	return 0;
}

int svc_http_start(struct cs_service *s)
{
	const struct cs_service_config *c = s->cfg;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG | MHD_USE_ITC;
	const union MHD_DaemonInfo *di;
	int r;

	memset(&ss, 0, sizeof(ss));
	if (strchr(c->listen_host, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)c->listen_port);
		if (inet_pton(AF_INET6, c->listen_host, &a->sin6_addr) != 1)
			return cs_err_set(CS_EINVAL, "listen: %s is not an IPv6 address", c->listen_host);
		flags |= MHD_USE_IPv6;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)c->listen_port);
		if (strcmp(c->listen_host, "localhost") == 0)
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, c->listen_host, &a->sin_addr) != 1)
			return cs_err_set(CS_EINVAL, "listen: %s is not an IPv4 address (or \"localhost\")",
					  c->listen_host);
		sl = sizeof(*a);
	}
	(void)sl;
	if (c->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return cs_err_set(CS_EUNSUPPORTED, "tls: this libmicrohttpd was built without TLS");
		if ((r = read_pem(&s->tls_cert_pem, c->tls_cert)) != 0 ||
		    (r = read_pem(&s->tls_key_pem, c->tls_key)) != 0)
			return r;
		flags |= MHD_USE_TLS;
		s->mhd = MHD_start_daemon(flags, (uint16_t)c->listen_port, NULL, NULL, on_request, s,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)c->max_header,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
			MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert_pem,
			MHD_OPTION_HTTPS_MEM_KEY, s->tls_key_pem,
			MHD_OPTION_END);
	} else {
		s->mhd = MHD_start_daemon(flags, (uint16_t)c->listen_port, NULL, NULL, on_request, s,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)c->max_header,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
			MHD_OPTION_END);
	}
	if (s->mhd == NULL)
		return cs_err_set(CS_EIO, "cannot listen on %s:%u (in use, or not an address of this "
				  "host)", c->listen_host, c->listen_port);
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : c->listen_port;
	return 0;
}

void svc_http_quiesce(struct cs_service *s)
{
	if (s->mhd != NULL) {
		MHD_socket fd = MHD_quiesce_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

void svc_http_stop(struct cs_service *s)
{
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	if (s->tls_key_pem != NULL)
		explicit_bzero(s->tls_key_pem, strlen(s->tls_key_pem));
	free(s->tls_key_pem);
	free(s->tls_cert_pem);
	s->tls_key_pem = s->tls_cert_pem = NULL;
}
