/*  pool - the gateway's connections to the broker: one DEALER per request in flight, reused  */
//  A ZeroMQ socket must not be used by two threads at once, but may move
//  between threads across a full memory barrier: the mutex here is that
//  barrier. MHD's worker threads each take a conn per request, so the pool
//  holds about as many as there are threads.
#include "pool.h"
#include "mt/log.h"
#include "mt/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX_IDLE 64        // idle conns kept; more are destroyed when given back

struct pool_t {
    pthread_mutex_t lock;
    conn_t *idle [POOL_MAX_IDLE];
    int n_idle;
    char *endpoint;
    char *cert;                 // NULL without CurveZMQ
    char *broker_key;
    int timeout_ms;
    atomic_bool up;             // the last call got an answer
};

pool_t *
pool_new (const char *endpoint, const char *cert, const char *broker_key, int timeout_ms,
          char **cause)
{
    pool_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->endpoint = strdup (endpoint);
    self->cert = cert ? strdup (cert) : NULL;
    self->broker_key = broker_key ? strdup (broker_key) : NULL;
    self->timeout_ms = timeout_ms;
    atomic_init (&self->up, true);
    //  Make the first one now, so a bad endpoint or key file stops the start
    conn_t *conn = pool_get (self, cause);
    if (!conn) {
        pool_destroy (&self);
        return NULL;
    }
    pool_put (self, &conn);
    return self;
}

void
pool_destroy (pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pool_t *self = *self_p;
    for (int i = 0; i < self->n_idle; i++)
        conn_destroy (&self->idle [i]);
    pthread_mutex_destroy (&self->lock);
    free (self->endpoint);
    free (self->cert);
    free (self->broker_key);
    free (self);
    *self_p = NULL;
}

conn_t *
pool_get (pool_t *self, char **cause)
{
    conn_t *conn = NULL;
    pthread_mutex_lock (&self->lock);
    if (self->n_idle > 0)
        conn = self->idle [--self->n_idle];
    pthread_mutex_unlock (&self->lock);
    if (!conn)
        conn = conn_new_curve (self->endpoint, self->timeout_ms, self->cert, self->broker_key,
                               cause);
    return conn;
}

void
pool_put (pool_t *self, conn_t **conn_p)
{
    conn_t *conn = *conn_p;
    *conn_p = NULL;
    if (!conn)
        return;
    if (conn_timed_out (conn)) {
        if (atomic_exchange (&self->up, false))
            mt_warn ("gateway: the broker at %s does not answer", self->endpoint);
        conn_destroy (&conn);
        return;
    }
    atomic_store (&self->up, true);
    pthread_mutex_lock (&self->lock);
    if (self->n_idle < POOL_MAX_IDLE) {
        self->idle [self->n_idle++] = conn;
        conn = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    conn_destroy (&conn);
}

bool pool_up (pool_t *self) { return atomic_load (&self->up); }
const char *pool_endpoint (pool_t *self) { return self->endpoint; }

void
pool_set_up (pool_t *self, bool up)
{
    if (atomic_exchange (&self->up, up) != up)
        mt_info ("gateway: the broker at %s is %s", self->endpoint,
                 up ? "back" : "not answering");
}
