/*
 * alerts.c - delivers the store's alert outbox to the configured targets:
 * an HTTP POST of the alert's JSON with
 *   Content-Type: application/json
 *   X-Cellscan-Signature: sha256=<hex HMAC-SHA256 of the body, target's secret>
 *   X-Cellscan-Alert-Id: <outbox id>   (receivers deduplicate retries by it)
 * A delivery counts when every target answered 2xx; otherwise the alert is
 * retried with the store's backoff (every target again: the id lets a
 * receiver drop what it already has).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"

int cs_service_sign(char out[72], const char *key, const void *body, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	unsigned i;

	out[0] = '\0';
	if (HMAC(EVP_sha256(), key, (int)strlen(key), body, len, mac, &ml) == NULL || ml != 32)
		return cs_err_set(CS_EINTERNAL, "HMAC-SHA256 failed");
	memcpy(out, "sha256=", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[mac[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[mac[i] & 15];
	}
	out[71] = '\0';
	return 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* 0 when the target answered 2xx; else CS_ENET with the reason. */
static int post_one(const struct cs_service_alert_target *t, const struct cs_store_alert *a,
		    unsigned timeout, const char *ca_file)
{
	struct curl_slist *h = NULL;
	char sig[72], hdr[128], idh[64];
	CURL *c;
	CURLcode cc;
	long code = 0;
	int r = 0;

	if ((r = cs_service_sign(sig, t->secret, a->payload, strlen(a->payload))) != 0)
		return r;
	c = curl_easy_init();
	if (c == NULL)
		return cs_err_set(CS_ENOMEM, "out of memory");
	snprintf(hdr, sizeof(hdr), "X-Cellscan-Signature: %s", sig);
	snprintf(idh, sizeof(idh), "X-Cellscan-Alert-Id: %lld", a->id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, idh);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, a->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(a->payload));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cellscan/" CELLSCAN_VERSION);
	if (ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		r = cs_err_set(CS_ENET, "alert target: %s", curl_easy_strerror(cc));
	else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
		 code < 200 || code > 299)
		r = cs_err_set(CS_ENET, "alert target answered HTTP %ld", code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

void svc_wake_alerts(struct cs_service *s)
{
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->alert_cv);
	pthread_mutex_unlock(&s->mu);
}

static void *alerts_main(void *arg)
{
	struct cs_service *s = arg;
	const struct cs_service_config *c = s->cfg;
	struct cs_store *st = NULL;
	struct cs_store_alert a;
	char id[300];
	long long lease = (long long)(c->alert_timeout * 2 * (c->nalerts ? c->nalerts : 1) + 10);
	size_t i;

	memset(&a, 0, sizeof(a));
	snprintf(id, sizeof(id), "%s%ld:alerts", s->prefix, (long)getpid());
	if (cs_store_open(&st, c->store_url) != 0 || cs_store_set_options(st, &s->sopt) != 0) {
		fprintf(stderr, "cellscan serve: alerts: store: %s\n", cs_err_msg());
		cs_store_close(st);
		return NULL;
	}
	for (;;) {
		int stop, r, failed = 0;
		char err[512] = "";

		pthread_mutex_lock(&s->mu);
		stop = s->alerts_stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		r = cs_store_alert_claim(st, id, lease, svc_now(), &a);
		if (r != 0 || a.id == 0) {
			struct timespec ts;
			cs_store_alert_clear(&a);
			pthread_mutex_lock(&s->mu);
			if (!s->alerts_stop) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				pthread_cond_timedwait(&s->alert_cv, &s->mu, &ts);
			}
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		for (i = 0; i < c->nalerts; i++) {
			if (post_one(&c->alerts[i], &a, c->alert_timeout, c->ca_file) != 0) {
				failed = 1;
				snprintf(err, sizeof(err), "%s", cs_err_msg());
			}
		}
		svc_metrics_alert(&s->m, !failed);
		if (failed)
			fprintf(stderr, "cellscan serve: alert %lld: %s (will retry)\n", a.id, err);
		cs_store_alert_done(st, a.id, id, failed ? CS_STORE_FAILED : CS_STORE_OK,
				    failed ? err : NULL, svc_now());
		cs_store_alert_clear(&a);
	}
	cs_store_close(st);
	return NULL;
}

int svc_alerts_start(struct cs_service *s)
{
	if (s->cfg->nalerts == 0)
		return 0;
	if (pthread_create(&s->alert_th, NULL, alerts_main, s) != 0)
		return cs_err_set(CS_EIO, "cannot start the alert thread");
	s->alert_started = 1;
	return 0;
}

void svc_alerts_stop(struct cs_service *s)
{
	if (!s->alert_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->alerts_stop = 1;
	pthread_cond_broadcast(&s->alert_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->alert_th, NULL);
	s->alert_started = 0;
}
