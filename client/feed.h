/*  feed - a client's subscription to the broker's pushed EVENTs, on a DEALER of its own  */
#ifndef MT_CLIENT_FEED_H_INCLUDED
#define MT_CLIENT_FEED_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct feed_t feed_t;

//  A subscriber's connection to the broker's client socket at endpoint; with
//  cert (this client's NAME_secret file) and broker_key (the broker's public
//  cert) a CurveZMQ one. Nothing is sent yet. NULL with *cause when the
//  endpoint or a file cannot be used.
feed_t *feed_new (const char *endpoint, const char *cert, const char *broker_key, char **cause);
void feed_destroy (feed_t **self_p);

//  SUBSCRIBE, and wait up to timeout_ms for SUBSCRIBED (EVENTs that come
//  first are kept for feed_next). Returns 0, or -1 with *cause: no answer
//  (feed_timed_out), or the broker's ERROR (too_large: 16 subscribers).
int feed_subscribe (feed_t *self, int timeout_ms, char **cause);
//  UNSUBSCRIBE, without waiting for the answer.
void feed_unsubscribe (feed_t *self);

//  The next EVENT's body (caller owns), waiting up to timeout_ms; the
//  subscription is renewed on the way when a third of its ttl has gone (the
//  answer is read here). *gap (optional) is set when events were missed
//  since the last one (a seq skipped: re-read what you show). NULL on a
//  timeout, or with *cause when the broker refused the renewal.
json_t *feed_next (feed_t *self, int timeout_ms, bool *gap, char **cause);

//  True when the last feed_subscribe had no answer.
bool feed_timed_out (const feed_t *self);
//  The socket, to poll with others (borrowed); read it only with feed_next.
zsock_t *feed_socket (feed_t *self);

#endif
