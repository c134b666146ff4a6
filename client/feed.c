/*  feed - a client's subscription to the broker's pushed EVENTs, on a DEALER of its own  */
//  The broker keeps a subscription for its ttl_ms (PROTOCOL.md section 5.1),
//  so a subscriber renews it every third of that; EVENTs carry a seq that
//  grows by one per event, and a jump says some were dropped (the broker
//  never waits for a slow subscriber).
#include "feed.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/util.h"

#include <stdlib.h>
#include <string.h>

#define FEED_REQ 1              // the req of our SUBSCRIBEs: replies are told from EVENTs by it

struct feed_t {
    zsock_t *sock;
    zlistx_t *early;            // EVENT bodies read while waiting for SUBSCRIBED
    int64_t ttl_ms;             // from SUBSCRIBED
    int64_t renew_at;           // monotonic ms, 0 = no subscription
    bool renewing;              // a SUBSCRIBE is unanswered
    int64_t last_seq;           // of the last EVENT handed out; -1 before the first
    bool timed_out;
};

static int s_send (feed_t *self, const char *command);
static mt_msg_t *s_recv (feed_t *self, int timeout_ms);
static int s_answer (feed_t *self, mt_msg_t *msg, char **cause);
static void s_body_free (void **item);

feed_t *
feed_new (const char *endpoint, const char *cert, const char *broker_key, char **cause)
{
    feed_t *self = calloc (1, sizeof *self);
    if (!self || !(self->sock = zsock_new (ZMQ_DEALER)) || !(self->early = zlistx_new ())) {
        mt_fail (cause, "cannot create a ZeroMQ socket");
        feed_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->early, s_body_free);
    self->last_seq = -1;
    zsock_set_linger (self->sock, 0);
    zsock_set_sndtimeo (self->sock, 0);     // never wait to send: a full pipe is a lost renewal
    if (cert) {
        mt_curve_t *curve = mt_curve_new (cert, broker_key, cause);
        if (!curve) {
            feed_destroy (&self);
            return NULL;
        }
        mt_curve_apply (curve, self->sock);
        mt_curve_destroy (&curve);
    }
    if (zsock_connect (self->sock, "%s", endpoint)) {
        mt_fail (cause, "cannot connect to '%s' (%s)", endpoint, zmq_strerror (zmq_errno ()));
        feed_destroy (&self);
    }
    return self;
}

void
feed_destroy (feed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy (&(*self_p)->sock);
    zlistx_destroy (&(*self_p)->early);
    free (*self_p);
    *self_p = NULL;
}

static void
s_body_free (void **item)
{
    json_decref (*item);
    *item = NULL;
}

bool feed_timed_out (const feed_t *self) { return self->timed_out; }
zsock_t *feed_socket (feed_t *self) { return self->sock; }

static int
s_send (feed_t *self, const char *command)
{
    mt_msg_t *msg = mt_msg_new (command);
    json_object_set_new (mt_msg_body (msg), "req", json_integer (FEED_REQ));
    int rc = mt_msg_send (msg, self->sock, NULL);
    mt_msg_destroy (&msg);
    return rc;
}

//  The next message within timeout_ms, or NULL (undecodable ones are skipped).
static mt_msg_t *
s_recv (feed_t *self, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (self->sock, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    mt_msg_t *msg = NULL;
    while (!msg && poller && zpoller_wait (poller, (int) (deadline - zclock_mono () > 0
                                                          ? deadline - zclock_mono () : 0))) {
        zmsg_t *zmsg = zmsg_recv (self->sock);
        const char *code;
        char *cause = NULL;
        msg = zmsg ? mt_msg_decode (zmsg, &code, &cause) : NULL;
        if (!msg)
            mt_debug ("feed: dropped a message: %s", cause ? cause : "?");
        zmsg_destroy (&zmsg);
        free (cause);
    }
    zpoller_destroy (&poller);
    return msg;
}

//  The answer to a SUBSCRIBE: 0 and the renewal planned, or -1 with *cause.
static int
s_answer (feed_t *self, mt_msg_t *msg, char **cause)
{
    self->renewing = false;
    if (mt_msg_is (msg, "SUBSCRIBED")) {
        int64_t ttl;
        if (mt_msg_get_int (msg, "ttl_ms", 1, INT64_MAX, &ttl, NULL))
            ttl = 30000;
        self->ttl_ms = ttl;
        self->renew_at = zclock_mono () + ttl / 3;
        int64_t seq;
        if (self->last_seq < 0 && mt_msg_get_int (msg, "seq", 0, INT64_MAX, &seq, NULL) == 0)
            self->last_seq = seq;       // the next event is seq + 1: a gap shows from the first
        return 0;
    }
    const char *text = NULL, *code = NULL;
    mt_msg_get_str (msg, "text", 4096, &text, NULL);
    mt_msg_get_str (msg, "code", 64, &code, NULL);
    self->renew_at = 0;
    return mt_fail (cause, "the broker refused SUBSCRIBE: %s (%s)", text ? text : "?",
                    code ? code : mt_msg_command (msg));
}

int
feed_subscribe (feed_t *self, int timeout_ms, char **cause)
{
    self->timed_out = false;
    if (s_send (self, "SUBSCRIBE"))
        return mt_fail (cause, "cannot send SUBSCRIBE: %s", zmq_strerror (zmq_errno ()));
    int64_t deadline = zclock_mono () + timeout_ms;
    mt_msg_t *msg;
    while ((msg = s_recv (self, (int) (deadline - zclock_mono ())))) {
        if (mt_msg_is (msg, "EVENT")) {
            json_t *body = json_incref (mt_msg_body (msg));
            zlistx_add_end (self->early, body);
            mt_msg_destroy (&msg);
            continue;
        }
        int rc = s_answer (self, msg, cause);
        mt_msg_destroy (&msg);
        return rc;
    }
    self->timed_out = true;
    return mt_fail (cause, "no answer to SUBSCRIBE within %d ms: is the broker running?",
                    timeout_ms);
}

void
feed_unsubscribe (feed_t *self)
{
    s_send (self, "UNSUBSCRIBE");
    self->renew_at = 0;
}

json_t *
feed_next (feed_t *self, int timeout_ms, bool *gap, char **cause)
{
    json_t *body = zlistx_first (self->early);
    if (body)
        zlistx_detach_cur (self->early);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!body) {
        if (self->renew_at && !self->renewing && zclock_mono () >= self->renew_at)
            self->renewing = s_send (self, "SUBSCRIBE") == 0;
        int64_t wait = deadline - zclock_mono ();
        if (self->renew_at && !self->renewing && self->renew_at - zclock_mono () < wait)
            wait = self->renew_at - zclock_mono ();
        mt_msg_t *msg = s_recv (self, wait > 0 ? (int) wait : 0);
        if (msg && mt_msg_is (msg, "EVENT"))
            body = json_incref (mt_msg_body (msg));
        else
        if (msg && !mt_msg_is (msg, "UNSUBSCRIBED") && s_answer (self, msg, cause)) {
            mt_msg_destroy (&msg);
            return NULL;
        }
        mt_msg_destroy (&msg);
        if (!body && zclock_mono () >= deadline)
            return NULL;
    }
    int64_t seq = json_integer_value (json_object_get (body, "seq"));
    if (gap)
        *gap = self->last_seq >= 0 && seq != self->last_seq + 1;
    self->last_seq = seq;
    return body;
}
