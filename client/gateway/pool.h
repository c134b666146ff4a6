/*  pool - the gateway's connections to the broker: one DEALER per request in flight, reused  */
#ifndef MT_GW_POOL_H_INCLUDED
#define MT_GW_POOL_H_INCLUDED

#include <stdbool.h>

#include "conn.h"

typedef struct pool_t pool_t;

//  A pool of conn_t to the broker's client socket at endpoint (with cert and
//  broker_key, both or neither, as CurveZMQ), each waiting timeout_ms for a
//  reply. Nothing connects yet. NULL with *cause when a conn cannot be made
//  (a malformed endpoint, a key file that cannot be read).
pool_t *pool_new (const char *endpoint, const char *cert, const char *broker_key,
                  int timeout_ms, char **cause);
void pool_destroy (pool_t **self_p);

//  A connection for one request (caller gives it back with pool_put), taken
//  from the idle ones or made; NULL with *cause when none can be made.
//  Thread-safe.
conn_t *pool_get (pool_t *self, char **cause);
//  Give a connection back. One whose last call timed out is destroyed
//  instead (a late reply or a queued request must not reach the next user)
//  and the broker is marked down. Thread-safe; *conn_p is set to NULL.
void pool_put (pool_t *self, conn_t **conn_p);

//  The broker's last known reachability, set by pool_put and pool_set_up.
bool pool_up (pool_t *self);
void pool_set_up (pool_t *self, bool up);

//  The endpoint (borrowed).
const char *pool_endpoint (pool_t *self);

#endif
