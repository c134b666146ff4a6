/*  test_commit - an in-process broker whose commits fail or wait: nothing is told or changed early  */
#include "testbroker.h"
#include "testmodel.h"
#include "store.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/util.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <unistd.h>

static char s_log [300];            // the broker's log lines (stderr)
static int s_stderr = -1;           // the real stderr, for the log at exit

static void
s_refused (zsock_t *sock, int line)
{
    mt_msg_t *msg = test_peer_expect (sock, "ERROR", MT_ERR_STORAGE, line);
    mt_msg_destroy (&msg);
}

static int64_t
s_submit (zsock_t *client)
{
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    mt_msg_t *reply = test_peer_expect (client, "SUBMITTED", NULL, __LINE__);
    int64_t id = json_integer_value (json_object_get (mt_msg_body (reply), "job"));
    mt_msg_destroy (&reply);
    return id;
}

//  The job's state as STATUS tells it ("" when there is no such job).
static char *
s_state (zsock_t *client, int64_t job)
{
    static char state [32];
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    test_peer_send (client, "STATUS", body, NULL, 0);
    mt_msg_t *reply = test_peer_next (client, TEST_PEER_WAIT_MS);
    CHECK (reply);
    json_t *value = json_object_get (json_object_get (mt_msg_body (reply), "job"), "state");
    mt_strlcpy (state, json_is_string (value) ? json_string_value (value) : "", sizeof state);
    mt_msg_destroy (&reply);
    return state;
}

//  Wait for the job to reach state: a worker's report and a client's
//  STATUS come in on two sockets, in either order.
static void
s_wait_state (zsock_t *client, int64_t job, const char *state, int line)
{
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    while (strcmp (s_state (client, job), state) != 0) {
        CHECK_MSG (zclock_mono () < deadline, "line %d: job %lld is %s, not %s", line,
                   (long long) job, s_state (client, job), state);
        usleep (10 * 1000);
    }
}

//  The job the one worker runs, as WORKERS tells it (0 when idle).
static int64_t
s_worker_job (zsock_t *client)
{
    test_peer_send (client, "WORKERS", "{}", NULL, 0);
    mt_msg_t *reply = test_peer_expect (client, "WORKERS", NULL, __LINE__);
    json_t *list = json_object_get (mt_msg_body (reply), "workers");
    CHECK (json_array_size (list) == 1);
    int64_t job = json_integer_value (json_object_get (json_array_get (list, 0), "job"));
    mt_msg_destroy (&reply);
    return job;
}

//  The worker takes its next ASSIGN: the job's id.
static int64_t
s_assigned (zsock_t *worker)
{
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, __LINE__);
    int64_t job = json_integer_value (json_object_get (mt_msg_body (msg), "job"));
    mt_msg_destroy (&msg);
    return job;
}

//  At exit (a failed check exits too): the log, and the check's message at
//  its end, where ctest shows them
static void
s_show_log (void)
{
    if (!s_log [0])
        return;
    fflush (stderr);
    FILE *file = fopen (s_log, "r");
    char line [1024];
    while (file && fgets (line, sizeof line, file))
        if (write (s_stderr, line, strlen (line)) < 0)
            break;
    if (file)
        fclose (file);
}

static bool
s_logged (const char *needle)
{
    fflush (stderr);
    char *text = NULL;
    size_t size = 0;
    FILE *file = fopen (s_log, "r");
    CHECK (file);
    bool found = getdelim (&text, &size, 0, file) > 0 && strstr (text, needle);
    free (text);
    fclose (file);
    return found;
}

static void
s_job_body (char *body, size_t size, int64_t job, const char *extra)
{
    snprintf (body, size, "{\"job\": %lld, \"attempt\": 1%s}", (long long) job, extra);
}

//  (a) A commit that fails while a client submits or stops, or while a
//  worker reports DONE, FAILED or STOPPED: the sender hears 'storage', and
//  the job, the fleet and the log are as before; sent again once the disk
//  is back, the report is taken.
static void
test_failed_commits (zsock_t *client, zsock_t *worker)
{
    char body [512];
    int64_t first = s_submit (client);
    CHECK (s_assigned (worker) == first);

    //  SUBMIT
    atomic_store (&test_commit_fails, 1);
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    s_refused (client, __LINE__);
    CHECK_STR_EQ (s_state (client, first + 1), "");
    CHECK (!s_logged ("job 2 queued"));

    //  STOP of a running job: not stopping, and its worker hears nothing
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) first);
    test_peer_send (client, "STOP", body, NULL, 0);
    s_refused (client, __LINE__);
    CHECK_STR_EQ (s_state (client, first), "running");
    test_peer_quiet (worker, __LINE__);
    atomic_store (&test_commit_fails, 0);
    test_peer_send (client, "STOP", body, NULL, 0);
    test_peer_ok (client, "JOB", __LINE__);
    test_peer_ok (worker, "STOP", __LINE__);
    CHECK_STR_EQ (s_state (client, first), "stopping");

    //  STOPPED
    atomic_store (&test_commit_fails, 1);
    s_job_body (body, sizeof body, first, "");
    test_peer_send (worker, "STOPPED", body, NULL, 0);
    s_refused (worker, __LINE__);
    CHECK_STR_EQ (s_state (client, first), "stopping");
    CHECK (s_worker_job (client) == first);
    atomic_store (&test_commit_fails, 0);
    test_peer_send (worker, "STOPPED", body, NULL, 0);
    s_wait_state (client, first, "stopped", __LINE__);
    CHECK (s_worker_job (client) == 0);

    //  DONE, with a model uploaded
    int64_t second = s_submit (client);
    CHECK (second == first + 1 && s_assigned (worker) == second);
    size_t model_size;
    char *model = test_model_bytes ("{\"target\": \"y\", \"data_path\": \"/d.csv\"}", 3,
                                    &model_size);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) model, model_size);
    char hash [65];
    sodium_bin2hex (hash, sizeof hash, digest, sizeof digest);
    snprintf (body, sizeof body, "{\"hash\": \"%s\", \"size\": %zu, \"offset\": 0, \"last\": true}",
              hash, model_size);
    test_peer_send (worker, "UPLOAD", body, model, model_size);
    free (model);
    test_peer_ok (worker, "UPLOADED", __LINE__);
    atomic_store (&test_commit_fails, 1);
    char extra [200];
    snprintf (extra, sizeof extra, ", \"model_hash\": \"%s\", \"metrics\": {\"loss\": 0.5}", hash);
    s_job_body (body, sizeof body, second, extra);
    test_peer_send (worker, "DONE", body, NULL, 0);
    s_refused (worker, __LINE__);
    CHECK_STR_EQ (s_state (client, second), "running");
    CHECK (s_worker_job (client) == second);
    CHECK (!s_logged ("succeeded"));
    atomic_store (&test_commit_fails, 0);
    test_peer_send (worker, "DONE", body, NULL, 0);
    s_wait_state (client, second, "succeeded", __LINE__);
    CHECK (s_worker_job (client) == 0);
    CHECK (s_logged ("succeeded on"));

    //  FAILED: after it is taken the worker gets the next job, not before
    int64_t third = s_submit (client);
    CHECK (s_assigned (worker) == third);
    int64_t fourth = s_submit (client);
    atomic_store (&test_commit_fails, 1);
    s_job_body (body, sizeof body, third, ", \"reason\": \"bad data\", \"retryable\": false");
    test_peer_send (worker, "FAILED", body, NULL, 0);
    s_refused (worker, __LINE__);
    test_peer_quiet (worker, __LINE__);
    CHECK_STR_EQ (s_state (client, third), "running");
    CHECK_STR_EQ (s_state (client, fourth), "queued");
    atomic_store (&test_commit_fails, 0);
    test_peer_send (worker, "FAILED", body, NULL, 0);
    CHECK (s_assigned (worker) == fourth);
    CHECK_STR_EQ (s_state (client, third), "failed");
    CHECK (s_logged ("broker: a commit failed"));

    //  Reads go on while the disk is full
    atomic_store (&test_commit_fails, 1);
    CHECK_STR_EQ (s_state (client, third), "failed");
    atomic_store (&test_commit_fails, 0);
}

//  (b) No handler can let a reply out early: while a commit is not yet
//  durable, nothing composed in its batch or after it leaves (the
//  submitter's reply, a read that came later, the log line); what joins the
//  open transaction meanwhile commits with the next one, and fails with it.
static void
test_held_sync (zsock_t *client, zsock_t *worker)
{
    char body [512];
    int64_t running = s_worker_job (client);
    CHECK (running > 0);
    atomic_store (&test_sync_held, 1);
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    test_peer_quiet (client, __LINE__);
    //  Meanwhile: the worker's job ends and a client reads, into the open
    //  transaction, which then fails to commit
    s_job_body (body, sizeof body, running, ", \"reason\": \"x\", \"retryable\": false");
    test_peer_send (worker, "FAILED", body, NULL, 0);
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) running);
    test_peer_send (client, "STATUS", body, NULL, 0);
    test_peer_send (client, "SUBMIT", "{\"spec\": {\"target\": \"z\", \"data_path\": \"/d.csv\"}}",
                    NULL, 0);
    test_peer_quiet (client, __LINE__);
    test_peer_quiet (worker, __LINE__);
    CHECK (!s_logged ("failed (failed): x"));
    atomic_store (&test_commit_fails, 1);
    atomic_store (&test_sync_held, 0);
    //  The durable commit's reply leaves; the failed one's writer hears storage
    mt_msg_t *reply = test_peer_expect (client, "SUBMITTED", NULL, __LINE__);
    int64_t held = json_integer_value (json_object_get (mt_msg_body (reply), "job"));
    mt_msg_destroy (&reply);
    reply = test_peer_next (client, TEST_PEER_WAIT_MS);            // the STATUS: JOB or storage
    CHECK (reply);
    mt_msg_destroy (&reply);
    s_refused (client, __LINE__);                       // the submit that joined: not acked
    s_refused (worker, __LINE__);
    atomic_store (&test_commit_fails, 0);
    CHECK (!s_logged ("failed (failed): x"));
    CHECK_STR_EQ (s_state (client, running), "running");
    CHECK_STR_EQ (s_state (client, held), "queued");
    CHECK_STR_EQ (s_state (client, held + 1), "");
    //  Sent again, the end is taken and the worker gets the held job
    s_job_body (body, sizeof body, running, ", \"reason\": \"x\", \"retryable\": false");
    test_peer_send (worker, "FAILED", body, NULL, 0);
    CHECK (s_assigned (worker) == held);
    CHECK_STR_EQ (s_state (client, running), "failed");
    CHECK (s_logged ("failed (failed): x"));
}

int
main (void)
{
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "commit", &config);
    snprintf (s_log, sizeof s_log, "%s/broker.log", paths.dir);
    //  The broker's log goes to a file the test reads
    s_stderr = dup (2);
    CHECK (s_stderr >= 0 && freopen (s_log, "w", stderr));
    setvbuf (stderr, NULL, _IOLBF, 0);
    mt_log_set_level (MT_LOG_INFO);

    pthread_t thread;
    broker_t *broker = test_broker_hooked (&config, &thread);

    zsock_t *client = zsock_new_dealer (paths.clients);
    zsock_t *worker = zsock_new_dealer (paths.workers);
    CHECK (client && worker);
    atexit (s_show_log);            // after czmq's own, so it runs before them
    test_peer_send (worker, "HELLO", "{\"name\": \"host:1\", \"host\": \"host\","
                    " \"version\": \"t\", \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    test_peer_ok (worker, "WELCOME", __LINE__);

    test_failed_commits (client, worker);
    test_held_sync (client, worker);

    zsock_destroy (&client);
    zsock_destroy (&worker);
    test_broker_stop (&broker, thread);
    s_show_log ();
    s_log [0] = 0;
    test_broker_remove (&paths);
    printf ("test_commit: ok\n");
    return 0;
}
