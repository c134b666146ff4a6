/*  test_events - SUBSCRIBE and pushed EVENTs: after the commit, in order, bounded, not blocking  */
#include "testbroker.h"
#include "events.h"
#include "feed.h"
#include "store.h"
#include "mt/msg.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

static atomic_int s_fault;          // shared with the broker's thread
static int64_t s_seq;               // the last seq seen by the main subscriber

static int
s_fault_fn (void *arg)
{
    return atomic_load (&s_fault);
}

//  The next EVENT on sock must be of type, with the next seq; returns its
//  body (borrowed from *msg_p, which the caller destroys).
static json_t *
s_event (zsock_t *sock, const char *type, mt_msg_t **msg_p, int line)
{
    *msg_p = test_peer_expect (sock, "EVENT", NULL, line);
    json_t *body = mt_msg_body (*msg_p);
    const char *got = json_string_value (json_object_get (body, "type"));
    CHECK_MSG (got && streq (got, type), "line %d: expected a %s event, got %s", line, type,
               mt_json_compact (body));
    int64_t seq = json_integer_value (json_object_get (body, "seq"));
    CHECK_MSG (seq == s_seq + 1, "line %d: seq %lld after %lld", line, (long long) seq,
               (long long) s_seq);
    s_seq = seq;
    CHECK (json_integer_value (json_object_get (body, "at")) > 0);
    return body;
}

static const char *
s_str (json_t *map, const char *key)
{
    const char *value = json_string_value (json_object_get (map, key));
    CHECK_MSG (value, "no string '%s' in %s", key, mt_json_compact (map));
    return value;
}

//  The subscribers' table alone: renewal, expiry, the limit.
static void
test_table (void)
{
    events_t *events = events_new ();
    CHECK (events && events_live (events, 0) == 0 && events_seq (events) == 0);
    CHECK (events_subscribe (events, "a", 1, "local", 1000) == 0);
    CHECK (events_live (events, 1000 + EVENTS_TTL_MS - 1) == 1);
    CHECK (events_live (events, 1000 + EVENTS_TTL_MS) == 0);            // expired
    CHECK (events_subscribe (events, "a", 1, "local", 20000) == 0);     // renewed
    CHECK (events_live (events, 1000 + EVENTS_TTL_MS) == 1);
    char id [EVENTS_MAX_SUBSCRIBERS + 1][4];
    for (int i = 1; i < EVENTS_MAX_SUBSCRIBERS; i++) {
        snprintf (id [i], sizeof id [i], "s%02d", i);
        CHECK (events_subscribe (events, id [i], 3, "local", 20000) == 0);
    }
    CHECK (events_live (events, 20000) == EVENTS_MAX_SUBSCRIBERS);
    CHECK (events_subscribe (events, "late", 4, "local", 20000) == -1);
    CHECK (events_subscribe (events, "a", 1, "local", 20001) == 0);     // a renewal still is
    //  An expired subscription's place is free again
    CHECK (events_subscribe (events, "late", 4, "local", 20000 + EVENTS_TTL_MS) == 0);
    CHECK (events_live (events, 20000 + EVENTS_TTL_MS) == 2);           // "a" (20001) and "late"
    events_unsubscribe (events, "a", 1);
    events_unsubscribe (events, "nobody", 6);
    CHECK (events_live (events, 20000 + EVENTS_TTL_MS) == 1);
    CHECK (events_subscribe (events, "x", EVENTS_MAX_IDENTITY + 1, "local", 0) == -1);
    events_destroy (&events);
    events_destroy (&events);
}

//  With keys: every client key may subscribe, and a state event's job map
//  is shown to each as LIST would show it: whole to its owner, redacted to
//  another client
static void
test_keys (void)
{
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "events-keys", &config);
    char keys [128], dir [160];
    snprintf (keys, sizeof keys, "%s/keys", paths.dir);
    CHECK (mkdir (keys, 0700) == 0);
    zcert_t *own = test_cert (keys, "broker_secret", true);
    snprintf (dir, sizeof dir, "%s/clients", keys);
    CHECK (mkdir (dir, 0700) == 0);
    zcert_t *alice = test_cert (dir, "alice", false), *bob = test_cert (dir, "bob", false);
    snprintf (dir, sizeof dir, "%s/workers", keys);
    CHECK (mkdir (dir, 0700) == 0);
    config.keys = keys;
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    pthread_t thread;
    test_broker_start (broker, &thread);
    const char *server = zcert_public_txt (own);
    zsock_t *a = test_curve_dealer (paths.clients, alice, server);
    zsock_t *b = test_curve_dealer (paths.clients, bob, server);
    mt_msg_t *reply = test_peer_call (a, "SUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    mt_msg_destroy (&reply);
    reply = test_peer_call (b, "SUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    mt_msg_destroy (&reply);
    test_peer_send (a, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    //  alice hears her SUBMITTED and the event, in either order
    mt_msg_t *first = test_peer_next (a, TEST_PEER_WAIT_MS);
    mt_msg_t *second = test_peer_next (a, TEST_PEER_WAIT_MS);
    CHECK (first && second);
    mt_msg_t *mine = mt_msg_is (first, "EVENT") ? first : second;
    CHECK (mt_msg_is (mine, "EVENT") && mt_msg_is (mine == first ? second : first, "SUBMITTED"));
    json_t *job = json_object_get (mt_msg_body (mine), "job");
    CHECK_STR_EQ (s_str (job, "owner"), "alice");
    CHECK (!json_object_get (job, "redacted"));
    mt_msg_t *theirs = test_peer_expect (b, "EVENT", NULL, __LINE__);
    job = json_object_get (mt_msg_body (theirs), "job");
    CHECK_STR_EQ (s_str (job, "owner"), "alice");
    CHECK (json_is_true (json_object_get (job, "redacted")));
    CHECK (json_integer_value (json_object_get (mt_msg_body (theirs), "seq"))
           == json_integer_value (json_object_get (mt_msg_body (mine), "seq")));
    mt_msg_destroy (&first);
    mt_msg_destroy (&second);
    mt_msg_destroy (&theirs);
    zsock_destroy (&a);
    zsock_destroy (&b);
    test_broker_stop (&broker, thread);
    zcert_destroy (&alice);
    zcert_destroy (&bob);
    zcert_destroy (&own);
    test_broker_remove (&paths);
}

//  The pace of a job's progress events: one per EVENTS_PROGRESS_MS, the
//  final epoch's always, each job on its own, a slot shared by two jobs
//  lets both through rather than hold one back.
static void
test_pace (void)
{
    events_t *events = events_new ();
    CHECK (events_pace (events, 7, false, 1000) == 0);                      // a first
    CHECK (events_pace (events, 7, false, 1001) == -1);
    CHECK (events_pace (events, 7, false, 1000 + EVENTS_PROGRESS_MS - 1) == -1);
    CHECK (events_pace (events, 8, false, 1001) == 0);                      // another job
    CHECK (events_pace (events, 7, false, 1000 + EVENTS_PROGRESS_MS) == 0);
    CHECK (events_pace (events, 7, true, 1000 + EVENTS_PROGRESS_MS + 1) == 0);  // the last
    CHECK (events_pace (events, 7, false, 1000 + EVENTS_PROGRESS_MS + 2) == -1);
    //  7 + 256 lands in 7's slot: it goes, and so does 7 after it
    CHECK (events_pace (events, 7 + 256, false, 1000 + EVENTS_PROGRESS_MS + 3) == 0);
    CHECK (events_pace (events, 7, false, 1000 + EVENTS_PROGRESS_MS + 4) == 0);
    events_destroy (&events);
}

int
main (void)
{
    test_table ();
    test_pace ();
    test_keys ();

    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "events", &config);
    config.heartbeat_ms = 200;
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    store_set_fault (broker_store (broker), s_fault_fn, NULL);
    pthread_t thread;
    test_broker_start (broker, &thread);

    zsock_t *sub = test_peer_dealer (paths.clients), *client = test_peer_dealer (paths.clients);
    mt_msg_t *reply = test_peer_call (sub, "SUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    int64_t ttl, seq;
    CHECK (mt_msg_get_int (reply, "ttl_ms", 1, INT64_MAX, &ttl, NULL) == 0 && ttl == EVENTS_TTL_MS);
    CHECK (mt_msg_get_int (reply, "seq", 0, INT64_MAX, &seq, NULL) == 0 && seq == 0);
    mt_msg_destroy (&reply);

    //  A submit: its state event, after the SUBMITTED that the commit allowed
    reply = test_peer_call (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}");
    CHECK (mt_msg_is (reply, "SUBMITTED"));
    mt_msg_destroy (&reply);
    mt_msg_t *event;
    json_t *body = s_event (sub, "state", &event, __LINE__);
    CHECK (json_integer_value (json_object_get (body, "job_id")) == 1);
    json_t *job = json_object_get (body, "job");
    CHECK (json_integer_value (json_object_get (job, "id")) == 1);
    CHECK_STR_EQ (s_str (job, "state"), "queued");
    CHECK (!json_object_get (job, "history") && !json_object_get (job, "redacted"));
    mt_msg_destroy (&event);

    //  A change that does not commit tells nobody
    atomic_store (&s_fault, 1);
    reply = test_peer_call (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/e.csv\"}}");
    CHECK (mt_msg_is (reply, "ERROR"));
    mt_msg_destroy (&reply);
    test_peer_quiet (sub, __LINE__);
    atomic_store (&s_fault, 0);

    //  A worker connects and starts the job: connected, the job running, the worker busy
    zsock_t *worker = test_peer_dealer (paths.workers);
    test_peer_send (worker, "HELLO", "{\"name\": \"w1\", \"host\": \"h\", \"version\": \"t\","
                    " \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    test_peer_ok (worker, "WELCOME", __LINE__);
    test_peer_ok (worker, "ASSIGN", __LINE__);
    body = s_event (sub, "worker", &event, __LINE__);
    CHECK_STR_EQ (s_str (body, "event"), "connected");
    CHECK_STR_EQ (s_str (json_object_get (body, "worker"), "name"), "w1");
    mt_msg_destroy (&event);
    body = s_event (sub, "state", &event, __LINE__);
    CHECK_STR_EQ (s_str (json_object_get (body, "job"), "state"), "running");
    CHECK_STR_EQ (s_str (json_object_get (body, "job"), "worker"), "w1");
    mt_msg_destroy (&event);
    body = s_event (sub, "worker", &event, __LINE__);
    CHECK_STR_EQ (s_str (body, "event"), "busy");
    CHECK_STR_EQ (s_str (json_object_get (body, "worker"), "state"), "busy");
    mt_msg_destroy (&event);

    //  A progress report: its point
    test_peer_send (worker, "PROGRESS", "{\"job\": 1, \"attempt\": 1, \"epoch\": 1, \"epochs\": 2,"
                    " \"step\": 5, \"steps\": 10, \"loss\": 0.5}", NULL, 0);
    body = s_event (sub, "progress", &event, __LINE__);
    CHECK (json_integer_value (json_object_get (body, "job_id")) == 1);
    CHECK (json_integer_value (json_object_get (body, "attempt")) == 1);
    json_t *point = json_object_get (body, "point");
    CHECK (json_array_size (point) == 5);
    CHECK (json_integer_value (json_array_get (point, 0)) == 5
           && json_integer_value (json_array_get (point, 1)) == 1);
    CHECK_NEAR (json_real_value (json_array_get (point, 2)), 0.5, 0);
    CHECK (json_is_null (json_array_get (point, 3)));
    json_t *progress = json_object_get (body, "progress");
    CHECK (json_integer_value (json_object_get (progress, "steps")) == 10);
    mt_msg_destroy (&event);

    //  A stop: stopping; the worker confirms: stopped, the worker idle
    reply = test_peer_call (client, "STOP", "{\"job\": 1}");
    CHECK (mt_msg_is (reply, "JOB"));
    mt_msg_destroy (&reply);
    test_peer_ok (worker, "STOP", __LINE__);
    body = s_event (sub, "state", &event, __LINE__);
    CHECK_STR_EQ (s_str (json_object_get (body, "job"), "state"), "stopping");
    mt_msg_destroy (&event);
    test_peer_send (worker, "STOPPED", "{\"job\": 1, \"attempt\": 1}", NULL, 0);
    body = s_event (sub, "state", &event, __LINE__);
    CHECK_STR_EQ (s_str (json_object_get (body, "job"), "state"), "stopped");
    mt_msg_destroy (&event);
    body = s_event (sub, "worker", &event, __LINE__);
    CHECK_STR_EQ (s_str (body, "event"), "idle");
    mt_msg_destroy (&event);

    //  The client's feed: subscribed, it reads the next change without a gap
    feed_t *feed = feed_new (paths.clients, NULL, NULL, &cause);
    CHECK_MSG (feed, "%s", cause);
    CHECK_MSG (feed_subscribe (feed, TEST_PEER_WAIT_MS, &cause) == 0, "%s", cause);
    reply = test_peer_call (client, "SUBMIT",
                    "{\"spec\": {\"target\": \"y\", \"data_path\": \"/g.csv\"}}");
    CHECK (mt_msg_is (reply, "SUBMITTED"));
    mt_msg_destroy (&reply);
    bool gap = true;
    json_t *got_body = feed_next (feed, TEST_PEER_WAIT_MS, &gap, &cause);
    CHECK_MSG (got_body, "feed: %s", cause ? cause : "no event");
    CHECK (!gap);
    CHECK_STR_EQ (s_str (got_body, "type"), "state");
    CHECK_STR_EQ (s_str (json_object_get (got_body, "job"), "state"), "queued");
    json_decref (got_body);
    body = s_event (sub, "state", &event, __LINE__);        // the same event, to sub
    mt_msg_destroy (&event);
    //  The idle worker takes it (job 2: the id of the rolled-back insert is free again)
    test_peer_ok (worker, "ASSIGN", __LINE__);
    body = s_event (sub, "state", &event, __LINE__);
    CHECK_STR_EQ (s_str (json_object_get (body, "job"), "state"), "running");
    CHECK (json_integer_value (json_object_get (body, "job_id")) == 2);
    mt_msg_destroy (&event);
    body = s_event (sub, "worker", &event, __LINE__);
    CHECK_STR_EQ (s_str (body, "event"), "busy");
    mt_msg_destroy (&event);
    feed_unsubscribe (feed);
    feed_destroy (&feed);

    //  At most EVENTS_MAX_SUBSCRIBERS: the next is refused until one leaves
    zsock_t *more [EVENTS_MAX_SUBSCRIBERS];
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++) {
        more [i] = test_peer_dealer (paths.clients);
        reply = test_peer_call (more [i], "SUBSCRIBE", "{}");
        CHECK_MSG (mt_msg_is (reply, i < EVENTS_MAX_SUBSCRIBERS - 1 ? "SUBSCRIBED" : "ERROR"),
                   "subscriber %d: %s", i + 2, mt_msg_command (reply));
        if (i == EVENTS_MAX_SUBSCRIBERS - 1) {
            const char *code = NULL;
            CHECK (mt_msg_get_str (reply, "code", 64, &code, NULL) == 0
                   && streq (code, MT_ERR_TOO_LARGE));
        }
        mt_msg_destroy (&reply);
    }
    reply = test_peer_call (sub, "SUBSCRIBE", "{}");            // a renewal is not refused
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    mt_msg_destroy (&reply);
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS - 1; i++) {
        reply = test_peer_call (more [i], "UNSUBSCRIBE", "{}");
        CHECK (mt_msg_is (reply, "UNSUBSCRIBED"));
        mt_msg_destroy (&reply);
    }
    reply = test_peer_call (more [EVENTS_MAX_SUBSCRIBERS - 1], "SUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    mt_msg_destroy (&reply);
    reply = test_peer_call (sub, "UNSUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "UNSUBSCRIBED"));
    mt_msg_destroy (&reply);

    //  A subscriber that never reads holds nobody up: 10,000 events later
    //  the broker still answers at once
    zsock_t *lazy = more [EVENTS_MAX_SUBSCRIBERS - 1];
    zsock_set_rcvhwm (lazy, 10);
    int64_t job_id = 2;
    for (int i = 0; i < 10000; i++) {
        char text [200];
        snprintf (text, sizeof text, "{\"job\": %lld, \"attempt\": 1, \"epoch\": 0, \"epochs\": 1,"
                  " \"step\": %d, \"steps\": 10000, \"loss\": 1.0}", (long long) job_id, i);
        test_peer_send (worker, "PROGRESS", text, NULL, 0);
    }
    //  The broker reads the worker's reports in its own time: ask until the last is in
    int64_t step = -1, deadline = zclock_mono () + 60000;
    while (step != 9999 && zclock_mono () < deadline) {
        reply = test_peer_call (client, "STATUS", "{\"job\": 2}");
        CHECK (mt_msg_is (reply, "JOB"));
        step = json_integer_value (json_object_get (json_object_get (json_object_get (
               mt_msg_body (reply), "job"), "progress"), "step"));
        mt_msg_destroy (&reply);
        if (step != 9999)
            zclock_sleep (50);
    }
    CHECK_MSG (step == 9999, "the broker did not take the 10,000 reports (at step %lld)",
               (long long) step);
    reply = test_peer_call (client, "PING", "{}");
    CHECK (mt_msg_is (reply, "PONG"));
    mt_msg_destroy (&reply);
    //  What it reads at last comes in seq order
    int64_t last = 0;
    int got = 0;
    mt_msg_t *msg;
    while ((msg = test_peer_next (lazy, TEST_PEER_QUIET_MS))) {
        int64_t s = json_integer_value (json_object_get (mt_msg_body (msg), "seq"));
        CHECK_MSG (s > last, "seq %lld after %lld", (long long) s, (long long) last);
        last = s;
        got++;
        mt_msg_destroy (&msg);
    }
    CHECK (got > 0);
    printf ("test_events: the lazy subscriber read %d events, the last seq %lld\n", got,
            (long long) last);

    zsock_destroy (&worker);
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        zsock_destroy (&more [i]);
    zsock_destroy (&sub);
    zsock_destroy (&client);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
    printf ("test_events: ok\n");
    return 0;
}
