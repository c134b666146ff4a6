/*  test_defer - an in-process broker: writes with nothing to send wait for a commit, never for a reader  */
#include "testbroker.h"
#include "store.h"
#include "mt/msg.h"
#include "mt/util.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <unistd.h>


//  A PROGRESS of job's attempt 1 at step, as a worker sends it (no reply).
static void
s_progress (zsock_t *worker, int64_t job, int step)
{
    char body [512];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 1, \"epoch\": 1, \"epochs\": 1,"
              " \"step\": %d, \"steps\": 100, \"loss\": 0.5, \"val_loss\": null,"
              " \"val_metric\": null, \"samples_per_sec\": 10.0, \"eta_s\": 1.0}",
              (long long) job, step);
    test_peer_send (worker, "PROGRESS", body, NULL, 0);
}

//  Progress rows of job committed in the database, as another connection
//  (a reader of the file, such as sqlite3) sees them.
static int
s_committed_rows (const char *db, int64_t job)
{
    sqlite3 *conn = NULL;
    CHECK (sqlite3_open_v2 (db, &conn, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_busy_timeout (conn, 5000);
    sqlite3_stmt *stmt = NULL;
    CHECK (sqlite3_prepare_v2 (conn, "SELECT count(*) FROM progress WHERE job = ?1", -1, &stmt,
                               NULL) == SQLITE_OK);
    sqlite3_bind_int64 (stmt, 1, job);
    CHECK (sqlite3_step (stmt) == SQLITE_ROW);
    int rows = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (conn);
    return rows;
}

//  Wait until job has rows progress rows committed; fails past TEST_PEER_WAIT_MS.
static void
s_wait_rows (const char *db, int64_t job, int rows, int line)
{
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    int got;
    while ((got = s_committed_rows (db, job)) != rows) {
        CHECK_MSG (zclock_mono () < deadline, "line %d: %d progress rows committed, not %d",
                   line, got, rows);
        usleep (10 * 1000);
    }
}

//  The step of job's latest progress, as STATUS tells it.
static int64_t
s_step (mt_msg_t *reply)
{
    json_t *job = json_object_get (mt_msg_body (reply), "job");
    return json_integer_value (json_object_get (json_object_get (job, "progress"), "step"));
}

//  An UPLOAD of the whole blob text (its hash computed here), last chunk.
static void
s_upload (zsock_t *sock, const char *text)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) text, strlen (text));
    char hex [65], body [256];
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf (hex + 2 * i, 3, "%02x", digest [i]);
    snprintf (body, sizeof body, "{\"hash\": \"%s\", \"size\": %zu, \"offset\": 0,"
              " \"last\": true}", hex, strlen (text));
    test_peer_send (sock, "UPLOAD", body, text, strlen (text));
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "defer", &config);
    pthread_t thread;
    broker_t *broker = test_broker_hooked (&config, &thread);

    zsock_t *client = zsock_new_dealer (paths.clients);
    zsock_t *worker = zsock_new_dealer (paths.workers);
    CHECK (client && worker);
    test_peer_send (worker, "HELLO", "{\"name\": \"host:1\", \"host\": \"host\","
                    " \"version\": \"t\", \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    test_peer_ok (worker, "WELCOME", __LINE__);
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    test_peer_ok (client, "SUBMITTED", __LINE__);
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, __LINE__);
    int64_t job = json_integer_value (json_object_get (mt_msg_body (msg), "job"));
    mt_msg_destroy (&msg);

    //  (a) A report alone, with no other traffic at all, is committed all the
    //  same (the deferred commit's timer), where another reader sees it
    s_progress (worker, job, 1);
    s_wait_rows (paths.db, job, 1, __LINE__);

    //  (b) A read that sees a waiting report is answered only after the
    //  commit that holds the report is durable, and then tells of it. The
    //  worker's UPLOADED (which waits for no commit, see (c)) shows that
    //  its report was taken before the read comes in on the other socket
    atomic_store (&test_sync_held, 1);
    s_progress (worker, job, 2);
    s_upload (worker, "a checkpoint, say");
    test_peer_ok (worker, "UPLOADED", __LINE__);
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    test_peer_send (client, "STATUS", body, NULL, 0);
    test_peer_quiet (client, __LINE__);
    atomic_store (&test_sync_held, 0);
    msg = test_peer_expect (client, "JOB", NULL, __LINE__);
    CHECK (s_step (msg) == 2);
    mt_msg_destroy (&msg);
    CHECK (s_committed_rows (paths.db, job) == 2);

    //  (c) UPLOADED speaks of the blob store only: it leaves while a sync is
    //  held, unless a message to the same peer waits (it never overtakes one)
    atomic_store (&test_sync_held, 1);
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"z\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    test_peer_quiet (client, __LINE__);
    s_upload (worker, "a model, say");
    msg = test_peer_expect (worker, "UPLOADED", NULL, __LINE__);
    CHECK (json_is_true (json_object_get (mt_msg_body (msg), "complete")));
    mt_msg_destroy (&msg);
    s_upload (client, "a data set, say");
    test_peer_quiet (client, __LINE__);
    atomic_store (&test_sync_held, 0);
    test_peer_ok (client, "SUBMITTED", __LINE__);
    test_peer_ok (client, "UPLOADED", __LINE__);

    //  (d) A waiting report whose commit fails is not kept waiting: its
    //  worker hears 'storage' with no other traffic, and nothing was stored
    atomic_store (&test_commit_fails, 1);
    s_progress (worker, job, 3);
    msg = test_peer_expect (worker, "ERROR", MT_ERR_STORAGE, __LINE__);
    mt_msg_destroy (&msg);
    atomic_store (&test_commit_fails, 0);
    CHECK (s_committed_rows (paths.db, job) == 2);
    //  Sent again, it is taken
    s_progress (worker, job, 3);
    s_wait_rows (paths.db, job, 3, __LINE__);

    zsock_destroy (&client);
    zsock_destroy (&worker);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
    printf ("test_defer: ok\n");
    return 0;
}
