/*  events - the clients that subscribed, and the EVENTs pushed to them after each commit  */
#ifndef MT_EVENTS_H_INCLUDED
#define MT_EVENTS_H_INCLUDED

#include "mt/msg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTS_MAX_SUBSCRIBERS 16       // subscribed clients at most
#define EVENTS_TTL_MS          30000    // a subscription lasts this long unless renewed, ms
#define EVENTS_MAX_IDENTITY    255      // bytes in a routing id
#define EVENTS_PROGRESS_MS     100      // a job's progress events are this far apart at least

typedef struct events_t events_t;

//  A new, empty table of subscribers; NULL when out of memory.
events_t *events_new (void);
void events_destroy (events_t **self_p);

//  Subscribe the client with routing id identity (copied) and key user
//  ("local" without keys) until now_mono + EVENTS_TTL_MS, or renew its
//  subscription. Returns 0, or -1 when EVENTS_MAX_SUBSCRIBERS others hold one.
int events_subscribe (events_t *self, const void *identity, size_t size, const char *user,
                      int64_t now_mono);
//  End the client's subscription, if it has one.
void events_unsubscribe (events_t *self, const void *identity, size_t size);
//  Subscriptions that have not expired at now_mono: a caller with none to
//  tell builds no event.
size_t events_live (events_t *self, int64_t now_mono);
//  The seq of the last event sent; 0 before the first.
int64_t events_seq (events_t *self);

//  Whether a progress event of job may go now: 0, and now is its last, when
//  EVENTS_PROGRESS_MS passed since its last or last (its final epoch) is
//  set; else -1, and the event is left out of the stream (not the history).
int events_pace (events_t *self, int64_t job, bool last, int64_t now_mono);

//  A subscriber's view of a job map: changed in place as that user may see
//  it (redacted). 0, or -1 when it cannot be made (that subscriber then
//  misses the event).
typedef int (events_view_fn) (void *arg, const char *user, json_t *job);

//  Send event (an EVENT message, borrowed) to every live subscriber over
//  router, with the next seq: never blocking (a ROUTER drops a message to a
//  peer whose pipe is full; that subscriber sees a gap in seq). When view
//  is set, each subscriber gets the event's "job" map through it.
void events_send (events_t *self, void *router, mt_msg_t *event, events_view_fn *view,
                  void *arg, int64_t now_mono);

#endif
