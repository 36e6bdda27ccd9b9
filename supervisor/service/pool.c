/*
 * pool.c - store connections for the HTTP threads. A struct cs_store is used
 * by one thread at a time (store.h), so a request borrows one and gives it
 * back; when all are busy it waits (the pool is as large as the connection
 * limit allows, capped at SVC_POOL_MAX).
 */
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "supervisor/service/internal.h"

int svc_pool_init(struct svc_pool *p, const char *url, const struct cs_store_options *o, size_t n)
{
	size_t i;
	int r;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (n == 0)
		n = 1;
	if (n > SVC_POOL_MAX)
		n = SVC_POOL_MAX;
	for (i = 0; i < n; i++) {
		if ((r = cs_store_open(&p->conn[i], url)) != 0 ||
		    (r = cs_store_set_options(p->conn[i], o)) != 0) {
			p->n = i + 1;
			svc_pool_destroy(p);
			return r;
		}
	}
	p->n = n;
	return 0;
}

struct cs_store *svc_pool_get(struct svc_pool *p)
{
	struct cs_store *c = NULL;
	size_t i;

	pthread_mutex_lock(&p->mu);
	while (c == NULL && p->n > 0) {
		for (i = 0; i < p->n; i++) {
			if (!p->busy[i]) {
				p->busy[i] = 1;
				c = p->conn[i];
				break;
			}
		}
		if (c == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return c;
}

void svc_pool_put(struct svc_pool *p, struct cs_store *c)
{
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n; i++)
		if (p->conn[i] == c)
			p->busy[i] = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void svc_pool_destroy(struct svc_pool *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		cs_store_close(p->conn[i]);
	p->n = 0;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}
