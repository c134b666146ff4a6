/*  hub - the gateway's one subscription to the broker's EVENTs, fanned out to every SSE stream  */
#ifndef MT_GW_HUB_H_INCLUDED
#define MT_GW_HUB_H_INCLUDED

#include <microhttpd.h>

#include "cache.h"
#include "pool.h"

#define HUB_RENEW_MS        10000       // SUBSCRIBE again this often (the broker's ttl is 30 s)
#define HUB_RETRY_MS        1000        // while the broker is away, try this often
#define HUB_PING_MS         15000       // a ": ping" comment on every stream this often
#define HUB_BATCH_MS        20          // events within this long go to the streams at once
#define HUB_IDLE_MS         50          // without events, check the broker's connection this often
#define HUB_BATCH_MAX       (64 << 10)  // bytes of events that go at once, sooner
#define HUB_MAX_PENDING     (1 << 20)   // bytes a slow stream may have unsent; then it
                                        // loses events and is sent `resync` once it drains

typedef struct hub_t hub_t;

//  Start the hub's thread: it subscribes to the broker at endpoint (through
//  its own feed; cert and broker_key as for pool_new), renews every
//  HUB_RENEW_MS, and marks pool up or down as the broker answers. It keeps
//  cache (borrowed) true to the events: a job's event drops its answer; a
//  gap, a new subscription or the broker's connection dropping flushes all,
//  and the cache is disabled while not subscribed. NULL with *cause when
//  the thread or the feed cannot be made.
hub_t *hub_new (const char *endpoint, const char *cert, const char *broker_key,
                int timeout_ms, pool_t *pool, cache_t *cache, char **cause);
//  End every stream (they see the end of the body), stop the thread.
//  Call before MHD_stop_daemon: no stream is left suspended.
void hub_destroy (hub_t **self_p);

//  A new event stream for connection: a response whose body is the SSE
//  text of every event from now on (the caller queues it and destroys its
//  reference). NULL when out of memory. Thread-safe.
struct MHD_Response *hub_stream (hub_t *self, struct MHD_Connection *connection);

//  The streams open now.
int hub_streams (hub_t *self);

#endif
