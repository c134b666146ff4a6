/*  test_broker - an in-process broker: a failing disk and sync, the uploads and workers limits  */
#include "testbroker.h"
#include "store.h"
#include "mt/msg.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int s_fault;          // shared with the broker's thread
static atomic_int s_sync_fault;     // shared with the broker's sync thread
static int s_run_rc = -1;

static int
s_fault_fn (void *arg)
{
    return atomic_load (&s_fault);
}

static int
s_sync_fault_fn (void *arg)
{
    return atomic_load (&s_sync_fault);
}

static void *
s_run (void *arg)
{
    s_run_rc = broker_run (arg);
    return NULL;
}

static const char *s_submit = "{\"spec\": {\"target\": \"y\", \"data_path\": \"/nowhere.csv\"}}";

int
main (void)
{
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "broker", &config);
    config.heartbeat_ms = 100;
    config.max_workers = 2;
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    store_set_fault (broker_store (broker), s_fault_fn, NULL);
    store_set_sync_fault (broker_store (broker), s_sync_fault_fn, NULL);
    pthread_t thread;
    CHECK (pthread_create (&thread, NULL, s_run, broker) == 0);

    zsock_t *sock = zsock_new_dealer (paths.clients);
    CHECK (sock);
    zsock_set_rcvtimeo (sock, 5000);
    mt_msg_t *reply = test_peer_call (sock, "SUBMIT", s_submit);
    CHECK (mt_msg_is (reply, "SUBMITTED"));
    mt_msg_destroy (&reply);

    //  The disk fails: a submit is refused with storage, nothing is recorded
    atomic_store (&s_fault, 1);
    reply = test_peer_call (sock, "SUBMIT", s_submit);
    CHECK (mt_msg_is (reply, "ERROR"));
    const char *code = NULL, *text = NULL;
    CHECK (mt_msg_get_str (reply, "code", 64, &code, NULL) == 0 && streq (code, MT_ERR_STORAGE));
    CHECK (mt_msg_get_str (reply, "text", 4096, &text, NULL) == 0);
    CHECK_STR_CONTAINS (text, "retry");
    mt_msg_destroy (&reply);
    //  ... while reads go on
    reply = test_peer_call (sock, "STATUS", "{\"job\": 1}");
    CHECK (mt_msg_is (reply, "JOB"));
    mt_msg_destroy (&reply);
    reply = test_peer_call (sock, "LIST", "{}");
    CHECK (mt_msg_is (reply, "JOBS"));
    CHECK (json_array_size (json_object_get (mt_msg_body (reply), "jobs")) == 1);
    mt_msg_destroy (&reply);
    reply = test_peer_call (sock, "STOP", "{\"job\": 1}");
    CHECK (mt_msg_is (reply, "ERROR"));
    mt_msg_destroy (&reply);

    //  The disk is back: submits work again and the job refused earlier is not there
    atomic_store (&s_fault, 0);
    reply = test_peer_call (sock, "SUBMIT", s_submit);
    CHECK (mt_msg_is (reply, "SUBMITTED"));
    mt_msg_destroy (&reply);
    reply = test_peer_call (sock, "LIST", "{}");
    CHECK (json_array_size (json_object_get (mt_msg_body (reply), "jobs")) == 2);
    mt_msg_destroy (&reply);
    reply = test_peer_call (sock, "STATUS", "{\"job\": 1}");
    CHECK (mt_msg_is (reply, "JOB"));
    json_t *state = json_object_get (json_object_get (mt_msg_body (reply), "job"), "state");
    CHECK (streq (json_string_value (state), "queued"));
    mt_msg_destroy (&reply);

    //  At most 8 uploads in progress per client (here, per connection: no
    //  keys), 64 in all: past a limit, retry_later with the offset reached;
    //  the broker goes on
    zsock_t *more [8];
    for (int c = 0; c < 8; c++) {
        more [c] = c == 0 ? sock : zsock_new_dealer (paths.clients);
        CHECK (more [c]);
        for (int i = 0; i < 9; i++) {
            char body [256];
            snprintf (body, sizeof body, "{\"hash\": \"%064x\", \"size\": 4, \"offset\": 0,"
                      " \"last\": false}", c * 9 + i + 1);
            test_peer_send (more [c], "UPLOAD", body, "ab", 2);
            reply = test_peer_reply (more [c], "UPLOAD");
            if (i < 8)
                CHECK (mt_msg_is (reply, "UPLOADED"));
            else {
                CHECK (mt_msg_is (reply, "ERROR"));
                CHECK (mt_msg_get_str (reply, "code", 64, &code, NULL) == 0
                       && streq (code, MT_ERR_RETRY_LATER));
                CHECK (mt_msg_get_str (reply, "text", 256, &text, NULL) == 0
                       && strstr (text, "the limit per client"));
            }
            mt_msg_destroy (&reply);
        }
    }
    //  All 64 slots held: a ninth client's first upload waits too
    zsock_t *ninth = zsock_new_dealer (paths.clients);
    test_peer_send (ninth, "UPLOAD", "{\"hash\": \"" "ffffffffffffffffffffffffffffffff"
                    "ffffffffffffffffffffffffffffffff\", \"size\": 4, \"offset\": 0,"
                    " \"last\": false}", "ab", 2);
    reply = test_peer_reply (ninth, "UPLOAD");
    CHECK (mt_msg_is (reply, "ERROR") && mt_msg_get_str (reply, "text", 256, &text, NULL) == 0
           && strstr (text, "too many uploads in progress (64)"));
    mt_msg_destroy (&reply);
    zsock_destroy (&ninth);
    for (int c = 1; c < 8; c++)
        zsock_destroy (&more [c]);
    reply = test_peer_call (sock, "PING", "{}");
    CHECK (mt_msg_is (reply, "PONG"));
    mt_msg_destroy (&reply);

    //  At most max_workers workers: the third is refused, the first two stay
    zsock_t *w [3];
    for (int i = 0; i < 3; i++) {
        w [i] = zsock_new_dealer (paths.workers);
        zsock_set_rcvtimeo (w [i], 5000);
        char body [200];
        snprintf (body, sizeof body, "{\"name\": \"w%d\", \"host\": \"h\", \"version\":"
                  " \"t\", \"pid\": %d, \"cores\": 1, \"threads\": 1}", i, i + 1);
        reply = test_peer_call (w [i], "HELLO", body);
        CHECK (mt_msg_is (reply, i < 2 ? "WELCOME" : "ERROR"));
        if (i == 2) {
            CHECK (mt_msg_get_str (reply, "text", 4096, &text, NULL) == 0);
            CHECK_STR_CONTAINS (text, "--max-workers");
        }
        mt_msg_destroy (&reply);
    }
    reply = test_peer_call (sock, "WORKERS", "{}");
    CHECK (json_array_size (json_object_get (mt_msg_body (reply), "workers")) == 2);
    mt_msg_destroy (&reply);
    for (int i = 0; i < 3; i++)
        zsock_destroy (&w [i]);

    //  The log cannot be made durable: the broker stops with an error and
    //  acknowledges nothing it committed since
    atomic_store (&s_sync_fault, 1);
    test_peer_send (sock, "SUBMIT", s_submit, NULL, 0);
    zsock_set_rcvtimeo (sock, 1000);
    zmsg_t *none = zmsg_recv (sock);
    CHECK (none == NULL);
    pthread_join (thread, NULL);
    CHECK (s_run_rc == 1);
    broker_destroy (&broker);
    zsock_destroy (&sock);
    test_broker_remove (&paths);
    printf ("test_broker: ok\n");
    return 0;
}
