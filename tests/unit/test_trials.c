/*  test_trials - a sweep's trials in a broker: their first EVENT, rungs from the spec, a pruned trial's late DONE, DELETE of a trial, deleted events and STATS  */
#include "testbroker.h"
#include "testmodel.h"
#include "mt/blob.h"
#include "mt/msg.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <unistd.h>

#define S_BASE "{\"target\": \"y\", \"data_path\": \"/d.csv\", \"val_split\": 0.2, \"epochs\": 27}"

//  The next EVENT of type on sub, others skipped; the caller destroys it.
static mt_msg_t *
s_event (zsock_t *sub, const char *type, int line)
{
    for (int i = 0; i < 100; i++) {
        mt_msg_t *msg = test_peer_expect (sub, "EVENT", NULL, line);
        const char *got = json_string_value (json_object_get (mt_msg_body (msg), "type"));
        if (got && streq (got, type))
            return msg;
        mt_msg_destroy (&msg);
    }
    CHECK_MSG (false, "line %d: no %s event", line, type);
    return NULL;
}

//  The next message to the worker must be command for job; others (HEARTBEAT aside) fail.
static void
s_told (zsock_t *worker, const char *command, int64_t job, int line)
{
    mt_msg_t *msg = test_peer_expect (worker, command, NULL, line);
    int64_t got = 0;
    CHECK (mt_msg_get_int (msg, "job", 1, INT64_MAX, &got, NULL) == 0);
    CHECK_MSG (got == job, "line %d: %s for job %lld, not %lld", line, command,
               (long long) got, (long long) job);
    mt_msg_destroy (&msg);
}

//  Upload a model for the base spec with n_features inputs; its hash in hash.
static void
s_upload_model (zsock_t *worker, int n_features, char *hash)
{
    size_t size;
    char *model = test_model_bytes (S_BASE, n_features, &size);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) model, size);
    sodium_bin2hex (hash, 65, digest, sizeof digest);
    char body [300];
    snprintf (body, sizeof body, "{\"hash\": \"%s\", \"size\": %zu, \"offset\": 0, \"last\": true}",
              hash, size);
    test_peer_send (worker, "UPLOAD", body, model, size);
    free (model);
    test_peer_ok (worker, "UPLOADED", __LINE__);
}

//  Whether the broker's folder holds blob hash (on disk: blob_store_has
//  remembers what it found)
static bool
s_on_disk (blob_store_t *blobs, const char *hash)
{
    char *path = blob_store_path (blobs, hash);
    CHECK (path);
    bool there = access (path, F_OK) == 0;
    free (path);
    return there;
}

static void
s_progress (zsock_t *worker, int64_t job, int epoch, int epochs, double val_loss)
{
    char body [300];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 1, \"epoch\": %d, \"epochs\": %d,"
              " \"step\": %d, \"steps\": 100, \"loss\": 0.5, \"val_loss\": %g, \"metrics\": {}}",
              (long long) job, epoch, epochs, epoch, val_loss);
    test_peer_send (worker, "PROGRESS", body, NULL, 0);
}

static void
s_done (zsock_t *worker, int64_t job, const char *hash)
{
    char body [300];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 1, \"model_hash\": \"%s\","
              " \"metrics\": {\"loss\": 0.5}}", (long long) job, hash);
    test_peer_send (worker, "DONE", body, NULL, 0);
}

static const char *
s_state (zsock_t *client, int64_t job)
{
    static char state [32];
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    mt_msg_t *reply = test_peer_call (client, "STATUS", body);
    const char *got = json_string_value (json_object_get (json_object_get (mt_msg_body (reply),
                                         "job"), "state"));
    snprintf (state, sizeof state, "%s", got ? got : "");
    mt_msg_destroy (&reply);
    return state;
}

//  STATS' jobs by state must be LIST's count of each state.
static void
s_stats_match_list (zsock_t *client, int line)
{
    mt_msg_t *reply = test_peer_call (client, "LIST", "{\"limit\": 10000}");
    CHECK (mt_msg_is (reply, "JOBS"));
    json_t *counted = json_object ();
    size_t i;
    json_t *job;
    json_array_foreach (json_object_get (mt_msg_body (reply), "jobs"), i, job) {
        const char *state = json_string_value (json_object_get (job, "state"));
        json_int_t n = json_integer_value (json_object_get (counted, state));
        json_object_set_new (counted, state, json_integer (n + 1));
    }
    mt_msg_destroy (&reply);
    reply = test_peer_call (client, "STATS", "{}");
    CHECK (mt_msg_is (reply, "STATS"));
    const char *key;
    json_t *value;
    json_object_foreach (json_object_get (mt_msg_body (reply), "jobs"), key, value) {
        json_int_t want = json_integer_value (json_object_get (counted, key));
        CHECK_MSG (json_integer_value (value) == want, "line %d: STATS says %lld %s, LIST %lld",
                   line, (long long) json_integer_value (value), key, (long long) want);
    }
    mt_msg_destroy (&reply);
    json_decref (counted);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "trials", &config);
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

    zsock_t *sub = test_peer_dealer (paths.clients), *client = test_peer_dealer (paths.clients);
    mt_msg_t *reply = test_peer_call (sub, "SUBSCRIBE", "{}");
    CHECK (mt_msg_is (reply, "SUBSCRIBED"));
    mt_msg_destroy (&reply);

    //  A sweep of two trials, one at a time, ASHA with eta 2 from epoch 1
    reply = test_peer_call (client, "SWEEP", "{\"spec\": " S_BASE ", \"params\": [\"lr=0.1|0.01\"],"
                    " \"search\": \"grid\", \"parallel\": 1, \"early_stop\": \"asha\","
                    " \"min_epochs\": 1, \"reduction\": 2}");
    CHECK_MSG (mt_msg_is (reply, "SWEPT"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    //  The first trial's first state event names its sweep and its params
    mt_msg_t *event = s_event (sub, "state", __LINE__);
    json_t *job = json_object_get (mt_msg_body (event), "job");
    CHECK_STR_EQ (json_string_value (json_object_get (job, "state")), "queued");
    CHECK_MSG (json_integer_value (json_object_get (job, "sweep")) == 1, "%s",
               mt_json_compact (job));
    CHECK_MSG (json_is_object (json_object_get (job, "params"))
               && json_object_get (json_object_get (job, "params"), "lr"), "%s",
               mt_json_compact (job));
    int64_t first = json_integer_value (json_object_get (job, "id"));
    mt_msg_destroy (&event);
    printf ("trials: the first state event of trial job %lld names sweep 1 and its params\n",
            (long long) first);

    zsock_t *worker = test_peer_dealer (paths.workers);
    test_peer_send (worker, "HELLO", "{\"name\": \"w1\", \"host\": \"h\", \"version\": \"t\","
                    " \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    test_peer_ok (worker, "WELCOME", __LINE__);
    s_told (worker, "ASSIGN", first, __LINE__);
    //  The worker says the trial has 1 epoch, the spec 27: the rungs are the
    //  spec's (1, 2, 4, ...), so epoch 1 is a rung all the same
    s_progress (worker, first, 1, 1, 0.1);
    char model_a [65], model_b [65];
    s_upload_model (worker, 3, model_a);
    s_done (worker, first, model_a);
    int64_t second = first + 1;
    s_told (worker, "ASSIGN", second, __LINE__);
    CHECK_STR_EQ (s_state (client, first), "succeeded");
    //  The second trial is worse at rung 1 of two values: pruned, told STOP
    s_progress (worker, second, 1, 1, 0.9);
    s_told (worker, "STOP", second, __LINE__);
    CHECK_STR_EQ (s_state (client, second), "pruned");
    printf ("trials: rung 1 from the spec's epochs though the worker reported 1 epoch; the"
            " worse trial pruned\n");

    //  It finished before the STOP came: its DONE moves nothing (still
    //  pruned, nothing said to the worker), but the trial keeps the model it
    //  made, past the doom delay (0 here), as the job's model
    s_upload_model (worker, 4, model_b);
    CHECK (s_on_disk (blobs, model_b));
    s_done (worker, second, model_b);
    mt_msg_t *said = test_peer_next (worker, TEST_PEER_QUIET_MS);
    CHECK_MSG (!said, "the worker was told %s %s", said ? mt_msg_command (said) : "",
               said ? mt_json_compact (mt_msg_body (said)) : "");
    zclock_sleep (500);                 // five reaper ticks (heartbeat_ms 100)
    CHECK_MSG (s_on_disk (blobs, model_b), "the pruned trial's late model was removed");
    CHECK (s_on_disk (blobs, model_a));
    CHECK_STR_EQ (s_state (client, second), "pruned");
    char status [64];
    snprintf (status, sizeof status, "{\"job\": %lld}", (long long) second);
    reply = test_peer_call (client, "STATUS", status);
    CHECK_STR_EQ (json_string_value (json_object_get (json_object_get (mt_msg_body (reply), "job"),
                                                      "model_hash")), model_b);
    mt_msg_destroy (&reply);
    printf ("trials: a pruned trial's late DONE: it stays pruned and keeps its model\n");

    //  A trial is not deleted while its sweep exists
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) first);
    reply = test_peer_call (client, "DELETE", body);
    CHECK (mt_msg_is (reply, "ERROR"));
    const char *text = NULL, *code = NULL;
    CHECK (mt_msg_get_str (reply, "code", 64, &code, NULL) == 0 && streq (code, MT_ERR_BAD_STATE));
    CHECK (mt_msg_get_str (reply, "text", 1000, &text, NULL) == 0);
    CHECK_STR_CONTAINS (text, "is a trial of sweep 1");
    CHECK_STR_CONTAINS (text, "mtclient delete --sweep 1");
    printf ("trials: DELETE of a trial: %s\n", text);
    mt_msg_destroy (&reply);
    CHECK_STR_EQ (s_state (client, first), "succeeded");
    reply = test_peer_call (client, "SWEEP_STATUS", "{\"sweep\": 1}");
    CHECK (mt_msg_is (reply, "SWEEP"));
    json_t *trials = json_object_get (json_object_get (mt_msg_body (reply), "sweep"), "trials");
    CHECK (json_array_size (trials) == 2);
    CHECK_STR_EQ (json_string_value (json_object_get (json_array_get (trials, 0), "state")),
                  "succeeded");
    mt_msg_destroy (&reply);
    s_stats_match_list (client, __LINE__);

    //  A plain job stopped, resumed, stopped and deleted: STATS follows LIST
    //  all along, and the delete is an event
    test_peer_send (worker, "BYE", "{}", NULL, 0);
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    size_t workers = 1;
    while (workers && zclock_mono () < deadline) {
        reply = test_peer_call (client, "WORKERS", "{}");
        workers = json_array_size (json_object_get (mt_msg_body (reply), "workers"));
        mt_msg_destroy (&reply);
    }
    CHECK_MSG (workers == 0, "the worker's BYE was not taken");
    reply = test_peer_call (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/e.csv\"}}");
    CHECK (mt_msg_is (reply, "SUBMITTED"));
    int64_t plain = 0;
    CHECK (mt_msg_get_int (reply, "job", 1, INT64_MAX, &plain, NULL) == 0);
    mt_msg_destroy (&reply);
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) plain);
    reply = test_peer_call (client, "STOP", body);
    CHECK (mt_msg_is (reply, "JOB"));
    mt_msg_destroy (&reply);
    s_stats_match_list (client, __LINE__);
    reply = test_peer_call (client, "RESUME", body);
    CHECK_MSG (mt_msg_is (reply, "JOB"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    s_stats_match_list (client, __LINE__);
    reply = test_peer_call (client, "STOP", body);
    CHECK (mt_msg_is (reply, "JOB"));
    mt_msg_destroy (&reply);
    reply = test_peer_call (client, "DELETE", body);
    CHECK_MSG (mt_msg_is (reply, "DELETED"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    event = s_event (sub, "deleted", __LINE__);
    CHECK (json_integer_value (json_object_get (mt_msg_body (event), "job_id")) == plain);
    CHECK_STR_EQ (json_string_value (json_object_get (mt_msg_body (event), "state")), "stopped");
    mt_msg_destroy (&event);
    s_stats_match_list (client, __LINE__);
    printf ("trials: STATS matched LIST after a stop, a resume and a delete; the delete an"
            " event\n");

    zsock_destroy (&worker);
    zsock_destroy (&sub);
    zsock_destroy (&client);
    blob_store_destroy (&blobs);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
    printf ("test_trials: ok\n");
    return 0;
}
