/*  events - the clients that subscribed, and the EVENTs pushed to them after each commit  */
//  A handler that changes a job, records progress or moves a worker builds
//  an EVENT (only while someone is subscribed) and queues it in the outbox
//  like a reply (broker_event); the outbox lets it go only after the commit
//  that holds the change is durable, and events_send then gives it its seq
//  and sends it to each subscriber. A subscriber is a routing id with an
//  expiry in a fixed table; nothing here waits on a subscriber.
#include "reactor.h"
#include "events.h"
#include "mt/util.h"

#include <math.h>

typedef struct {
    bool used;
    size_t size;
    unsigned char identity [EVENTS_MAX_IDENTITY];
    char user [64];             // its key (Z85) with --keys, else "local"
    int64_t expires;            // monotonic ms
} subscriber_t;

//  When a job's last progress event went: a slot per job id modulo the
//  table's size (a job that finds another in its slot takes it and sends)
typedef struct {
    int64_t job;
    int64_t sent;               // monotonic ms
} paced_t;

#define S_PACED_SLOTS 256

struct events_t {
    subscriber_t subs [EVENTS_MAX_SUBSCRIBERS];
    int64_t seq;                // of the last event sent
    paced_t paced [S_PACED_SLOTS];
};

static subscriber_t *s_find (events_t *self, const void *identity, size_t size);
static void s_send_one (events_t *self, void *router, subscriber_t *sub, mt_msg_t *event,
                        events_view_fn *view, void *arg);
static json_t *s_real (double value);
static void s_queue (broker_t *self, const char *type, json_t *fields);

events_t *
events_new (void)
{
    return calloc (1, sizeof (events_t));
}

void
events_destroy (events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

static subscriber_t *
s_find (events_t *self, const void *identity, size_t size)
{
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++) {
        subscriber_t *sub = &self->subs [i];
        if (sub->used && sub->size == size && memcmp (sub->identity, identity, size) == 0)
            return sub;
    }
    return NULL;
}

int
events_subscribe (events_t *self, const void *identity, size_t size, const char *user,
                  int64_t now_mono)
{
    if (size > EVENTS_MAX_IDENTITY)
        return -1;
    subscriber_t *sub = s_find (self, identity, size);
    for (int i = 0; !sub && i < EVENTS_MAX_SUBSCRIBERS; i++)
        if (!self->subs [i].used || self->subs [i].expires <= now_mono)
            sub = &self->subs [i];
    if (!sub)
        return -1;
    sub->used = true;
    sub->size = size;
    memcpy (sub->identity, identity, size);
    mt_strlcpy (sub->user, user ? user : "local", sizeof sub->user);
    sub->expires = now_mono + EVENTS_TTL_MS;
    return 0;
}

void
events_unsubscribe (events_t *self, const void *identity, size_t size)
{
    subscriber_t *sub = s_find (self, identity, size);
    if (sub)
        sub->used = false;
}

size_t
events_live (events_t *self, int64_t now_mono)
{
    size_t live = 0;
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        live += self->subs [i].used && self->subs [i].expires > now_mono;
    return live;
}

int64_t
events_seq (events_t *self)
{
    return self->seq;
}

void
events_send (events_t *self, void *router, mt_msg_t *event, events_view_fn *view, void *arg,
             int64_t now_mono)
{
    json_object_set_new (mt_msg_body (event), "seq", json_integer (++self->seq));
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++) {
        subscriber_t *sub = &self->subs [i];
        if (sub->used && sub->expires <= now_mono)
            sub->used = false;          // expired: forgotten
        if (sub->used)
            s_send_one (self, router, sub, event, view, arg);
    }
}

//  One subscriber's copy: the event itself, or, with a view of a job map,
//  a copy of it as that subscriber may see it.
static void
s_send_one (events_t *self, void *router, subscriber_t *sub, mt_msg_t *event,
            events_view_fn *view, void *arg)
{
    json_t *job = json_object_get (mt_msg_body (event), "job");
    if (!view || !json_is_object (job)) {
        mt_msg_send_to (event, router, sub->identity, sub->size);
        return;
    }
    mt_msg_t *copy = mt_msg_new ("EVENT");
    json_t *mine = json_deep_copy (job);
    if (mine && view (arg, sub->user, mine) == 0) {
        json_object_update (mt_msg_body (copy), mt_msg_body (event));
        json_object_set (mt_msg_body (copy), "job", mine);
        mt_msg_send_to (copy, router, sub->identity, sub->size);
    }
    json_decref (mine);
    mt_msg_destroy (&copy);
}

//  --- What the broker tells (its handlers call these) -----------------------------

//  An EVENT of type with fields (taken), for after the commit.
static void
s_queue (broker_t *self, const char *type, json_t *fields)
{
    mt_msg_t *event = mt_msg_new ("EVENT");
    json_t *body = mt_msg_body (event);
    json_object_set_new (body, "type", json_string (type));
    json_object_set_new (body, "at", json_integer (zclock_time ()));
    json_object_update (body, fields);
    json_decref (fields);
    broker_event (self, &event);
}

void
events_job (broker_t *self, int64_t id)
{
    if (!events_live (self->events, zclock_mono ()))
        return;
    json_t *job = store_job_json (self->store, id, false);
    if (job)
        s_queue (self, "state", json_pack ("{s:I, s:o}", "job_id", (json_int_t) id, "job", job));
}

void
events_deleted (broker_t *self, int64_t id, job_state_t state)
{
    if (events_live (self->events, zclock_mono ()))
        s_queue (self, "deleted", json_pack ("{s:I, s:s}", "job_id", (json_int_t) id,
                                             "state", job_state_name (state)));
}

static json_t *
s_real (double value)
{
    return isfinite (value) ? json_real (value) : json_null ();
}

int
events_pace (events_t *self, int64_t job, bool last, int64_t now_mono)
{
    paced_t *slot = &self->paced [(uint64_t) job % S_PACED_SLOTS];
    if (!last && slot->job == job && now_mono - slot->sent < EVENTS_PROGRESS_MS)
        return -1;
    slot->job = job;
    slot->sent = now_mono;
    return 0;
}

void
events_progress (broker_t *self, int64_t job, int attempt, const store_progress_t *p)
{
    int64_t now = zclock_mono ();
    if (!events_live (self->events, now))
        return;
    //  Every report is in the history; the stream carries at most one a
    //  job per EVENTS_PROGRESS_MS, and always the last epoch's
    if (events_pace (self->events, job, p->epochs > 0 && p->epoch >= p->epochs, now))
        return;
    json_t *progress = json_pack ("{s:i, s:i, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
                                  "epoch", p->epoch, "epochs", p->epochs,
                                  "step", (json_int_t) p->step, "steps", (json_int_t) p->steps,
                                  "loss", s_real (p->loss), "val_loss", s_real (p->val_loss),
                                  "val_metric", s_real (p->val_metric),
                                  "samples_per_sec", s_real (p->samples_per_sec),
                                  "eta_s", s_real (p->eta_s));
    json_t *point = json_pack ("[I, i, o, o, o]", (json_int_t) p->step, p->epoch,
                               s_real (p->loss), s_real (p->val_loss), s_real (p->val_metric));
    if (progress && point)
        s_queue (self, "progress", json_pack ("{s:I, s:i, s:o, s:o}", "job_id", (json_int_t) job,
                                              "attempt", attempt, "progress", progress,
                                              "point", point));
    else {
        json_decref (progress);
        json_decref (point);
    }
}

void
events_worker (broker_t *self, fleet_worker_t *worker, const char *what)
{
    if (!events_live (self->events, zclock_mono ()))
        return;
    json_t *map = fleet_worker_json (worker, zclock_mono ());
    if (map)
        s_queue (self, "worker", json_pack ("{s:o, s:s}", "worker", map, "event", what));
}

//  --- SUBSCRIBE and UNSUBSCRIBE (clients socket) -----------------------------------

void
events_client_subscribe (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (events_subscribe (self->events, peer->identity, peer->identity_size, peer->user,
                          zclock_mono ())) {
        broker_error (self, peer, MT_ERR_TOO_LARGE, "the broker has %d subscribers, its limit;"
                      " UNSUBSCRIBE another, or wait for one to expire (%d s without renewal)",
                      EVENTS_MAX_SUBSCRIBERS, EVENTS_TTL_MS / 1000);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("SUBSCRIBED");
    mt_msg_add_int (reply, "ttl_ms", EVENTS_TTL_MS);
    mt_msg_add_int (reply, "seq", events_seq (self->events));
    broker_send (self, peer, &reply);
}

void
events_client_unsubscribe (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    events_unsubscribe (self->events, peer->identity, peer->identity_size);
    mt_msg_t *reply = mt_msg_new ("UNSUBSCRIBED");
    broker_send (self, peer, &reply);
}
