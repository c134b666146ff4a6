/*  testbroker - an in-process broker with its folder, and the test's DEALER peers on it  */
#ifndef MT_TESTBROKER_H_INCLUDED
#define MT_TESTBROKER_H_INCLUDED

#include "testutil.h"
#include "broker.h"
#include "store.h"
#include "mt/msg.h"
#include "mt/util.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define TEST_PEER_WAIT_MS  5000     // longest wait for an expected message
#define TEST_PEER_QUIET_MS 400      // how long "nothing arrives" is watched for

//  A peer on 127.0.0.1 that accepts connections and never answers, as a
//  broker that hangs (or a refused CurveZMQ key) looks; its endpoint (the
//  caller frees). It stays bound, so no other process can take its port
//  meanwhile. *silent_p gets the socket.
static inline char *
test_silent_endpoint (zsock_t **silent_p)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    CHECK (sock);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    *silent_p = sock;
    char *endpoint = NULL;
    CHECK (asprintf (&endpoint, "tcp://127.0.0.1:%d", port) > 0);
    return endpoint;
}

//  Store fault hooks (store_set_commit_fault, store_set_sync_fault) that
//  the test drives from its own thread: commits fail while
//  test_commit_fails is set, and the sync thread waits while test_sync_held
//  is (a commit stays not yet durable for as long as the test likes).
static atomic_int test_commit_fails;
static atomic_int test_sync_held;

static inline int
test_commit_fault (void *arg)
{
    return atomic_load (&test_commit_fails);
}

static inline int
test_sync_gate (void *arg)
{
    while (atomic_load (&test_sync_held))
        usleep (1000);
    return 0;
}

//  A fresh temp folder and what a broker keeps there: its two ipc://
//  endpoints, its database and its blobs.
typedef struct {
    char dir [64];
    char clients [256], workers [256], db [256], data [256];
} test_broker_t;

//  Make the folder (named after tag) and fill config with the defaults and
//  the folder's endpoints and files; config borrows paths' strings.
static inline void
test_broker_config (test_broker_t *paths, const char *tag, broker_config_t *config)
{
    snprintf (paths->dir, sizeof paths->dir, "/tmp/mt-%s.XXXXXX", tag);
    CHECK (mkdtemp (paths->dir));
    snprintf (paths->clients, sizeof paths->clients, "ipc://%s/clients", paths->dir);
    snprintf (paths->workers, sizeof paths->workers, "ipc://%s/workers", paths->dir);
    snprintf (paths->db, sizeof paths->db, "%s/mt.db", paths->dir);
    snprintf (paths->data, sizeof paths->data, "%s/data", paths->dir);
    broker_config_init (config);
    config->clients = paths->clients;
    config->workers = paths->workers;
    config->db = paths->db;
    config->data_dir = paths->data;
}

//  Remove the folder and all in it.
static inline void
test_broker_remove (test_broker_t *paths)
{
    test_remove_dir (paths->dir);
}

static inline void *
s_test_broker_run (void *broker)
{
    broker_run (broker);
    return NULL;
}

//  Run broker's reactor in a new thread; the broker stays the caller's.
static inline void
test_broker_start (broker_t *broker, pthread_t *thread)
{
    zsys_interrupted = 0;
    CHECK (pthread_create (thread, NULL, s_test_broker_run, broker) == 0);
}

//  A new broker on config (a failure fails the test). One on the same
//  endpoints may have just been destroyed in this process: libzmq closes a
//  socket's listener in its own I/O thread, after zsock_destroy returns, so
//  broker_new may find it still listening for a moment (a restart in a new
//  process cannot: its old listener went with the old process). Retried
//  meanwhile.
static inline broker_t *
test_broker_new (const broker_config_t *config)
{
    char *cause = NULL;
    broker_t *broker = NULL;
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    while (!(broker = broker_new (config, &cause)) && cause
           && strstr (cause, "another process listens there") && zclock_mono () < deadline) {
        free (cause);
        cause = NULL;
        zclock_sleep (20);
    }
    CHECK_MSG (broker, "%s", cause);
    return broker;
}

//  A broker on config whose store takes the test's fault hooks
//  (test_commit_fault, test_sync_gate), started on its own thread; its
//  worker need send no heartbeat.
static inline broker_t *
test_broker_hooked (broker_config_t *config, pthread_t *thread)
{
    config->liveness = 1000;
    broker_t *broker = test_broker_new (config);
    store_set_commit_fault (broker_store (broker), test_commit_fault, NULL);
    store_set_sync_fault (broker_store (broker), test_sync_gate, NULL);
    test_broker_start (broker, thread);
    return broker;
}

//  Interrupt the broker's reactor, wait for its thread and destroy it.
static inline void
test_broker_stop (broker_t **broker_p, pthread_t thread)
{
    zsys_interrupted = 1;
    pthread_join (thread, NULL);
    zsys_interrupted = 0;
    broker_destroy (broker_p);
}

//  Send command with body (JSON text of an object) and payload (NULL: none).
static inline void
test_peer_send (zsock_t *sock, const char *command, const char *body, const void *payload,
                size_t size)
{
    mt_msg_t *msg = mt_msg_new (command);
    json_t *fields = json_loads (body, 0, NULL);
    CHECK_MSG (fields, "bad test body %s", body);
    json_object_update (mt_msg_body (msg), fields);
    json_decref (fields);
    if (payload)
        mt_msg_set_payload (msg, payload, size);
    CHECK (mt_msg_send (msg, sock, NULL) == 0);
    mt_msg_destroy (&msg);
}

//  The next message within timeout_ms, HEARTBEATs skipped; NULL if none
//  (or none that decodes). The caller destroys it.
static inline mt_msg_t *
test_peer_next (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    mt_msg_t *msg = NULL;
    while (!msg && zclock_mono () < deadline
    &&     zpoller_wait (poller, (int) (deadline - zclock_mono ()))) {
        zmsg_t *zmsg = zmsg_recv (sock);
        const char *code;
        char *cause = NULL;
        msg = zmsg ? mt_msg_decode (zmsg, &code, &cause) : NULL;
        zmsg_destroy (&zmsg);
        free (cause);
        if (msg && mt_msg_is (msg, "HEARTBEAT"))
            mt_msg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return msg;
}

//  The next message must be command (for an ERROR, with code unless NULL)
//  within TEST_PEER_WAIT_MS; returns it (caller destroys). line names the
//  test's line in the failure.
static inline mt_msg_t *
test_peer_expect (zsock_t *sock, const char *command, const char *code, int line)
{
    mt_msg_t *msg = test_peer_next (sock, TEST_PEER_WAIT_MS);
    CHECK_MSG (msg, "line %d: no %s within %d ms", line, command, TEST_PEER_WAIT_MS);
    CHECK_MSG (mt_msg_is (msg, command), "line %d: expected %s, got %s %s", line, command,
               mt_msg_command (msg), mt_json_compact (mt_msg_body (msg)));
    const char *got = NULL;
    if (code)
        CHECK_MSG (mt_msg_get_str (msg, "code", 64, &got, NULL) == 0 && streq (got, code),
                   "line %d: expected code %s, got %s", line, code, got ? got : "none");
    return msg;
}

//  The same, for a message whose body does not matter.
static inline void
test_peer_ok (zsock_t *sock, const char *command, int line)
{
    mt_msg_t *msg = test_peer_expect (sock, command, NULL, line);
    mt_msg_destroy (&msg);
}

//  Nothing but HEARTBEATs arrives for TEST_PEER_QUIET_MS.
static inline void
test_peer_quiet (zsock_t *sock, int line)
{
    mt_msg_t *msg = test_peer_next (sock, TEST_PEER_QUIET_MS);
    CHECK_MSG (!msg, "line %d: expected nothing, got %s", line, msg ? mt_msg_command (msg) : "");
}

//  The one reply to request, within the socket's receive timeout; a missing
//  or undecodable reply fails the test. The caller destroys it.
static inline mt_msg_t *
test_peer_reply (zsock_t *sock, const char *request)
{
    zmsg_t *zmsg = zmsg_recv (sock);
    CHECK_MSG (zmsg, "no reply to %s", request);
    const char *code;
    char *cause = NULL;
    mt_msg_t *reply = mt_msg_decode (zmsg, &code, &cause);
    CHECK_MSG (reply, "%s", cause);
    zmsg_destroy (&zmsg);
    return reply;
}

//  A DEALER on endpoint that waits TEST_PEER_WAIT_MS for a message.
static inline zsock_t *
test_peer_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new_dealer (endpoint);
    CHECK (sock);
    zsock_set_rcvtimeo (sock, TEST_PEER_WAIT_MS);
    return sock;
}

//  Send command with body (JSON text) and return its one reply, which the
//  caller destroys.
static inline mt_msg_t *
test_peer_call (zsock_t *sock, const char *command, const char *body)
{
    test_peer_send (sock, command, body, NULL, 0);
    return test_peer_reply (sock, command);
}

//  A new key pair whose public cert is saved as dir/name (the secret one too
//  when secret), for a broker's --keys folder; the caller destroys it.
static inline zcert_t *
test_cert (const char *dir, const char *name, bool secret)
{
    zcert_t *cert = zcert_new ();
    CHECK (cert);
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    CHECK ((secret ? zcert_save_secret (cert, path) : zcert_save_public (cert, path)) == 0);
    return cert;
}

//  A DEALER connected to endpoint that speaks CURVE with cert to the broker
//  whose public key (Z85) is server; replies wait TEST_PEER_WAIT_MS at most.
static inline zsock_t *
test_curve_dealer (const char *endpoint, zcert_t *cert, const char *server)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    CHECK (sock);
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, server);
    zsock_set_rcvtimeo (sock, TEST_PEER_WAIT_MS);
    CHECK (zsock_connect (sock, "%s", endpoint) == 0);
    return sock;
}

#endif
