/*  test_carried - a DONE that carries its model: kept in the database, fetched, refused when its bytes are wrong, removed when deleted  */
#include "testbroker.h"
#include "testmodel.h"
#include "mt/blob.h"
#include "mt/msg.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#define S_SPEC "{\"target\": \"y\", \"data_path\": \"/d.csv\", \"max_retries\": 1}"

static int64_t
s_submit (zsock_t *client)
{
    mt_msg_t *reply = test_peer_call (client, "SUBMIT", "{\"spec\": " S_SPEC "}");
    CHECK_MSG (mt_msg_is (reply, "SUBMITTED"), "%s", mt_json_compact (mt_msg_body (reply)));
    int64_t job = 0;
    CHECK (mt_msg_get_int (reply, "job", 1, INT64_MAX, &job, NULL) == 0);
    mt_msg_destroy (&reply);
    return job;
}

//  The next ASSIGN must be for job; its attempt.
static int
s_assigned (zsock_t *worker, int64_t job, int line)
{
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, line);
    int64_t got = 0, attempt = 0;
    CHECK (mt_msg_get_int (msg, "job", 1, INT64_MAX, &got, NULL) == 0);
    CHECK (mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL) == 0);
    CHECK_MSG (got == job, "line %d: ASSIGN of job %lld, not %lld", line, (long long) got,
               (long long) job);
    mt_msg_destroy (&msg);
    return (int) attempt;
}

//  DONE of (job, attempt) naming hash and carrying size bytes of model.
static void
s_done (zsock_t *worker, int64_t job, int attempt, const char *hash, const void *model,
        size_t size)
{
    char body [300];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": %d, \"model_hash\": \"%s\","
              " \"metrics\": {\"loss\": 0.5}}", (long long) job, attempt, hash);
    test_peer_send (worker, "DONE", body, model, size);
}

//  The next message to the worker must be the refusal of its DONE, saying why.
static void
s_refused (zsock_t *worker, const char *why, int line)
{
    mt_msg_t *error = test_peer_expect (worker, "ERROR", MT_ERR_BAD_MESSAGE, line);
    const char *text = NULL;
    CHECK (mt_msg_get_str (error, "text", 1000, &text, NULL) == 0);
    CHECK_STR_CONTAINS (text, "DONE refused: model ");
    CHECK_STR_CONTAINS (text, why);
    mt_msg_destroy (&error);
}

static json_t *
s_job (zsock_t *client, int64_t job)
{
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    mt_msg_t *reply = test_peer_call (client, "STATUS", body);
    json_t *map = json_incref (json_object_get (mt_msg_body (reply), "job"));
    CHECK (map);
    mt_msg_destroy (&reply);
    return map;
}

//  What one SQL query on the broker's database gives as text ("" for none).
static void
s_query (const char *db, const char *sql, char *out, size_t size)
{
    sqlite3 *conn;
    CHECK (sqlite3_open_v2 (db, &conn, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_busy_timeout (conn, 5000);
    sqlite3_stmt *stmt;
    CHECK_MSG (sqlite3_prepare_v2 (conn, sql, -1, &stmt, NULL) == SQLITE_OK, "%s",
               sqlite3_errmsg (conn));
    out [0] = 0;
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0))
        snprintf (out, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    sqlite3_close (conn);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "carried", &config);
    config.heartbeat_ms = 100;
    config.liveness = 600;              // the test's worker sends no heartbeats
    config.doom_delay_ms = 0;           // a doomed blob goes at the next tick
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    pthread_t thread;
    test_broker_start (broker, &thread);
    blob_store_t *blobs = blob_store_new (paths.data, &cause);
    CHECK_MSG (blobs, "%s", cause);
    zsock_t *client = test_peer_dealer (paths.clients), *worker = test_peer_dealer (paths.workers);

    //  WELCOME says how large a model may come in a DONE
    test_peer_send (worker, "HELLO", "{\"name\": \"w1\", \"host\": \"h\", \"version\": \"t\","
                    " \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    mt_msg_t *welcome = test_peer_expect (worker, "WELCOME", NULL, __LINE__);
    int64_t inline_max = 0;
    CHECK (mt_msg_get_int (welcome, "model_inline_max", 1, INT64_MAX, &inline_max, NULL) == 0);
    CHECK (inline_max == BROKER_SMALL_BLOB_MAX);
    mt_msg_destroy (&welcome);

    size_t size;
    char *model = test_model_bytes (S_SPEC, 3, &size);
    char hash [65];
    CHECK (blob_hash_bytes (model, size, hash) == 0);

    //  Bytes that are not the hash they come with: refused, the attempt
    //  crashed, the job queued again; nothing is kept
    int64_t job = s_submit (client);
    int attempt = s_assigned (worker, job, __LINE__);
    char *bent = malloc (size);
    CHECK (bent);
    memcpy (bent, model, size);
    bent [size - 1] ^= 1;
    s_done (worker, job, attempt, hash, bent, size);
    s_refused (worker, "bytes DONE carries hash to", __LINE__);
    free (bent);
    attempt = s_assigned (worker, job, __LINE__);
    CHECK (attempt == 2);
    char sql [300], got [300];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM blobs WHERE hash = '%s'", hash);
    s_query (paths.db, sql, got, sizeof got);
    CHECK_STR_EQ (got, "0");
    printf ("carried: bytes that are not their hash: refused, the attempt retried\n");

    //  A model that does not fit the job's spec (regression): refused too
    char *other = test_model_bytes ("{\"target\": \"y\", \"data_path\": \"/d.csv\","
                                    " \"task\": \"classification\"}", 3, &size);
    char other_hash [65];
    CHECK (blob_hash_bytes (other, size, other_hash) == 0);
    s_done (worker, job, attempt, other_hash, other, size);
    s_refused (worker, "a classification model", __LINE__);
    free (other);
    json_t *map = s_job (client, job);
    CHECK_STR_EQ (json_string_value (json_object_get (map, "state")), "failed");
    json_decref (map);
    printf ("carried: a model that does not fit its job: refused, the job failed\n");

    //  The model it should carry: the job succeeds with it, kept in the
    //  database and not in the folder, and FETCH reads it back in slices
    free (model);
    model = test_model_bytes (S_SPEC, 3, &size);
    job = s_submit (client);
    attempt = s_assigned (worker, job, __LINE__);
    s_done (worker, job, attempt, hash, model, size);
    test_peer_quiet (worker, __LINE__);
    map = s_job (client, job);
    CHECK_STR_EQ (json_string_value (json_object_get (map, "state")), "succeeded");
    CHECK_STR_EQ (json_string_value (json_object_get (map, "model_hash")), hash);
    json_decref (map);
    snprintf (sql, sizeof sql, "SELECT size FROM blobs WHERE hash = '%s'", hash);
    s_query (paths.db, sql, got, sizeof got);
    CHECK_MSG (atol (got) == (long) size, "the database holds '%s' bytes of %zu", got, size);
    char *path = blob_store_path (blobs, hash);
    CHECK (access (path, F_OK) != 0);
    char *back = malloc (size);
    CHECK (back);
    for (size_t at = 0; at < size; at += 1000) {
        char body [128];
        snprintf (body, sizeof body, "{\"job\": %lld, \"offset\": %zu, \"length\": 1000}",
                  (long long) job, at);
        mt_msg_t *chunk = test_peer_call (client, "FETCH", body);
        CHECK_MSG (mt_msg_is (chunk, "CHUNK"), "%s", mt_json_compact (mt_msg_body (chunk)));
        int64_t total = 0;
        CHECK (mt_msg_get_int (chunk, "size", 0, INT64_MAX, &total, NULL) == 0);
        CHECK (total == (int64_t) size);
        size_t len;
        const void *bytes = mt_msg_payload (chunk, &len);
        CHECK (len == (size - at < 1000 ? size - at : 1000));
        memcpy (back + at, bytes, len);
        mt_msg_destroy (&chunk);
    }
    CHECK (memcmp (back, model, size) == 0);
    free (back);
    printf ("carried: a %zu-byte model kept in the database, not as a file, fetched back\n",
            size);

    //  An UPLOAD of the same blob is complete at once
    char body [300];
    snprintf (body, sizeof body, "{\"hash\": \"%s\", \"size\": %zu, \"offset\": 0,"
              " \"last\": false}", hash, size);
    mt_msg_t *uploaded = test_peer_call (worker, "UPLOAD", body);
    CHECK (mt_msg_is (uploaded, "UPLOADED"));
    bool complete = false;
    CHECK (mt_msg_get_bool (uploaded, "complete", &complete, NULL) == 0 && complete);
    mt_msg_destroy (&uploaded);
    CHECK (access (path, F_OK) != 0);

    //  A payload over the limit is refused whatever its hash
    size_t big = BROKER_SMALL_BLOB_MAX + 1;
    char *large = calloc (1, big);
    CHECK (large);
    char large_hash [65];
    CHECK (blob_hash_bytes (large, big, large_hash) == 0);
    int64_t job2 = s_submit (client);
    attempt = s_assigned (worker, job2, __LINE__);
    s_done (worker, job2, attempt, large_hash, large, big);
    s_refused (worker, "over the 131072 a model may carry", __LINE__);
    free (large);
    s_assigned (worker, job2, __LINE__);        // its retry
    printf ("carried: a payload over %d bytes refused\n", BROKER_SMALL_BLOB_MAX);

    //  Deleting the job removes its model from the database
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    mt_msg_t *reply = test_peer_call (client, "DELETE", body);
    CHECK_MSG (mt_msg_is (reply, "DELETED"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM blobs WHERE hash = '%s'", hash);
    for (int i = 0; i < 50; i++) {
        s_query (paths.db, sql, got, sizeof got);
        if (streq (got, "0"))
            break;
        zclock_sleep (100);
    }
    CHECK_STR_EQ (got, "0");
    printf ("carried: a deleted job's model leaves the database\n");

    free (path);
    free (model);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    blob_store_destroy (&blobs);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
    printf ("test_carried: ok\n");
    return 0;
}
