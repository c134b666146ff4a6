/*  test_agent - the agent against a broker played by the test: a job's end resent, drains  */
#include "agent.h"
#include "testutil.h"

#include "mt/blob.h"
#include "mt/msg.h"
#include "mt/util.h"

#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

//  Every wait for the agent's next message gives up after this long: a
//  guard against a hang, not a bound on how fast it is
#define WAIT_MS 120000

//  The test's broker: a ROUTER the agent connects to, and the agent's
//  routing identity once it has said HELLO.
typedef struct {
    zsock_t *router;
    char endpoint [64];
    zframe_t *peer;
    agent_t *agent;
    pthread_t thread;
    volatile sig_atomic_t signals;
    char dir [256];
    int rc;                     // what agent_run returned
    char cause [1024];          //   and its cause, "" when none
} s_broker_t;

static void *
s_agent_thread (void *arg)
{
    s_broker_t *broker = arg;
    char *cause = NULL;
    broker->rc = agent_run (broker->agent, &cause);
    mt_strlcpy (broker->cause, cause ? cause : "", sizeof broker->cause);
    free (cause);
    return NULL;
}

//  Files in dir (recursively), to see that nothing was left behind.
static int
s_files (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (d))) {
        if (entry->d_name [0] == '.')
            continue;
        char path [1024];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        count += entry->d_type == DT_DIR ? s_files (path) : 1;
    }
    closedir (d);
    return count;
}

//  The next message from the agent, heartbeats skipped.
static mt_msg_t *
s_recv (s_broker_t *broker)
{
    while (true) {
        zmsg_t *zmsg = zmsg_recv (broker->router);
        CHECK_MSG (zmsg, "no message from the agent within %d ms", WAIT_MS);
        zframe_t *identity = zmsg_pop (zmsg);
        const char *code;
        char *cause = NULL;
        mt_msg_t *msg = mt_msg_decode (zmsg, &code, &cause);
        zmsg_destroy (&zmsg);
        CHECK_MSG (msg, "the agent sent a bad message: %s", cause);
        if (mt_msg_is (msg, "HELLO")) {
            zframe_destroy (&broker->peer);
            broker->peer = identity;
        }
        else
            zframe_destroy (&identity);
        if (!mt_msg_is (msg, "HEARTBEAT"))
            return msg;
        mt_msg_destroy (&msg);
    }
}

//  The next message must be command about job (0: any); the caller destroys it.
static mt_msg_t *
s_expect (s_broker_t *broker, const char *command, int64_t job)
{
    mt_msg_t *msg = s_recv (broker);
    CHECK_MSG (mt_msg_is (msg, command), "the agent sent %s where %s was due",
               mt_msg_command (msg), command);
    int64_t got = 0;
    mt_msg_opt_int (msg, "job", 0, INT64_MAX, &got, NULL);
    CHECK_MSG (job == 0 || got == job, "%s of job %lld, not %lld", command, (long long) got,
               (long long) job);
    return msg;
}

//  The same, for a message whose body does not matter.
static void
s_skip (s_broker_t *broker, const char *command, int64_t job)
{
    mt_msg_t *msg = s_expect (broker, command, job);
    mt_msg_destroy (&msg);
}

static void
s_send (s_broker_t *broker, mt_msg_t *msg)
{
    CHECK (broker->peer);
    CHECK (mt_msg_send (msg, broker->router, broker->peer) == 0);
    mt_msg_destroy (&msg);
}

static mt_msg_t *
s_job_msg (const char *command, int64_t job, int attempt)
{
    mt_msg_t *msg = mt_msg_new (command);
    json_object_set_new (mt_msg_body (msg), "job", json_integer (job));
    json_object_set_new (mt_msg_body (msg), "attempt", json_integer (attempt));
    return msg;
}

static void
s_assign (s_broker_t *broker, int64_t job, const char *spec, const char *data_hash,
          int64_t data_size)
{
    mt_msg_t *msg = s_job_msg ("ASSIGN", job, 1);
    json_object_set_new (mt_msg_body (msg), "spec", json_string (spec));
    if (data_hash) {
        json_object_set_new (mt_msg_body (msg), "data_hash", json_string (data_hash));
        json_object_set_new (mt_msg_body (msg), "data_size", json_integer (data_size));
    }
    s_send (broker, msg);
}

//  A broker on a fresh port and an agent connected to it in its own
//  thread; its HELLO (returned, the caller destroys it) is not answered.
static mt_msg_t *
s_open (s_broker_t *broker)
{
    memset (broker, 0, sizeof *broker);
    const char *tmp = getenv ("TMPDIR");
    snprintf (broker->dir, sizeof broker->dir, "%s/test_agent.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK (mkdtemp (broker->dir));
    broker->router = zsock_new (ZMQ_ROUTER);
    zsock_set_rcvtimeo (broker->router, WAIT_MS);
    int port = zsock_bind (broker->router, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    snprintf (broker->endpoint, sizeof broker->endpoint, "tcp://127.0.0.1:%d", port);
    agent_config_t config;
    agent_config_init (&config);
    config.broker = broker->endpoint;
    config.cache_dir = test_path (broker->dir, "cache");
    config.data_root = getenv ("MT_TEST_DATA") ? getenv ("MT_TEST_DATA") : "test_data";
    config.signals = &broker->signals;
    char *cause = NULL;
    broker->agent = agent_new (&config, &cause);
    CHECK_MSG (broker->agent, "%s", cause);
    CHECK (pthread_create (&broker->thread, NULL, s_agent_thread, broker) == 0);
    return s_expect (broker, "HELLO", 0);
}

//  The same, the HELLO answered with a WELCOME whose liveness outlasts any test.
static void
s_start (s_broker_t *broker)
{
    mt_msg_t *hello = s_open (broker);
    mt_msg_destroy (&hello);
    mt_msg_t *welcome = mt_msg_new ("WELCOME");
    json_object_set_new (mt_msg_body (welcome), "heartbeat_ms", json_integer (1000));
    json_object_set_new (mt_msg_body (welcome), "liveness", json_integer (1000));
    s_send (broker, welcome);
}

//  The agent's thread must end by itself (the test waits for it).
static void
s_stop (s_broker_t *broker)
{
    pthread_join (broker->thread, NULL);
    agent_destroy (&broker->agent);
    CHECK_MSG (s_files (test_path (broker->dir, "cache/blobs")) == 0, "a fetch left a file");
    zframe_destroy (&broker->peer);
    zsock_destroy (&broker->router);
    test_remove_dir (broker->dir);
}

static void
s_storage_error (s_broker_t *broker)
{
    s_send (broker, mt_msg_error ("storage", "the broker could not write its database (disk"
                                  " full or I/O error); nothing was changed: retry later"));
}

//  A finished job's DONE refused with ERROR storage is sent again, once per
//  delay however many errors come; the ABANDON a duplicate gets after
//  success leaves the agent idle, and it takes the next job. That job's
//  FAILED is kept the same way, and a drain sees it through
static void
test_done_again (void)
{
    s_broker_t broker;
    s_start (&broker);
    s_assign (&broker, 1, "{\"data_path\": \"iris.csv\", \"target\": \"species\", \"task\":"
              " \"classification\", \"hidden\": [4], \"epochs\": 2, \"checkpoint_every\": 0}",
              NULL, 0);
    //  Progress, maybe the last epoch's checkpoint, then the model: every
    //  upload's probe answered as for a blob held already
    char model [65] = "";
    mt_msg_t *msg = s_recv (&broker);
    while (!mt_msg_is (msg, "DONE")) {
        CHECK_MSG (mt_msg_is (msg, "PROGRESS") || mt_msg_is (msg, "CHECKPOINT")
                   || mt_msg_is (msg, "UPLOAD"), "the agent sent %s", mt_msg_command (msg));
        if (mt_msg_is (msg, "UPLOAD")) {
            const char *hash = NULL;
            int64_t size = 0;
            CHECK (mt_msg_get_str (msg, "hash", 64, &hash, NULL) == 0);
            CHECK (mt_msg_get_int (msg, "size", 1, INT64_MAX, &size, NULL) == 0);
            mt_strlcpy (model, hash, sizeof model);
            mt_msg_t *uploaded = mt_msg_new ("UPLOADED");
            json_object_set_new (mt_msg_body (uploaded), "hash", json_string (model));
            json_object_set_new (mt_msg_body (uploaded), "offset", json_integer (size));
            json_object_set_new (mt_msg_body (uploaded), "complete", json_true ());
            s_send (&broker, uploaded);
        }
        mt_msg_destroy (&msg);
        msg = s_recv (&broker);
    }
    int64_t job = 0;
    CHECK (mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, NULL) == 0 && job == 1);
    const char *sent = NULL;
    CHECK (mt_msg_get_str (msg, "model_hash", 64, &sent, NULL) == 0);
    CHECK_STR_EQ (sent, model);
    CHECK (json_is_object (json_object_get (mt_msg_body (msg), "metrics")));
    char *first = json_dumps (mt_msg_body (msg), JSON_SORT_KEYS);
    mt_msg_destroy (&msg);
    //  Two errors (the DONE's and, say, a PROGRESS's before it): one DONE again
    s_storage_error (&broker);
    s_storage_error (&broker);
    msg = s_expect (&broker, "DONE", 1);
    char *again = json_dumps (mt_msg_body (msg), JSON_SORT_KEYS);
    CHECK_STR_EQ (again, first);
    free (first);
    free (again);
    mt_msg_destroy (&msg);

    //  The broker took it, and fences the duplicate: the agent stays idle
    s_send (&broker, s_job_msg ("ABANDON", 1, 1));
    //  A job whose data is outside --data-root fails at once, not retryable;
    //  nothing of job 1 comes before its FAILED
    s_assign (&broker, 2, "{\"data_path\": \"/nonexistent/x.csv\", \"target\": \"y\"}", NULL, 0);
    msg = s_expect (&broker, "FAILED", 2);
    bool retryable = true;
    CHECK (mt_msg_get_bool (msg, "retryable", &retryable, NULL) == 0 && !retryable);
    mt_msg_destroy (&msg);
    s_storage_error (&broker);
    s_skip (&broker, "FAILED", 2);

    //  Drained while idle with a final message sent: BYE, then the broker's
    //  word (unknown_peer to the heartbeat after it) lets it go
    broker.signals = 1;
    s_skip (&broker, "BYE", 0);
    s_send (&broker, mt_msg_error ("unknown_peer", "send HELLO first"));
    s_stop (&broker);
}

//  A worker drained while it fetches hands the job back with RELEASE; a
//  RELEASE the broker could not record is sent again, with the BYE after
//  it, and the worker leaves once the broker has taken them
static void
test_release_again (void)
{
    s_broker_t broker;
    s_start (&broker);
    const char *hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    s_assign (&broker, 3, "{\"data_hash\": \"0123456789abcdef0123456789abcdef0123456789abcdef"
              "0123456789abcdef\", \"target\": \"y\"}", hash, 1000);
    mt_msg_t *msg = s_expect (&broker, "FETCH", 0);
    int64_t length = 0;
    CHECK (mt_msg_get_int (msg, "length", 1, INT64_MAX, &length, NULL) == 0 && length == 1000);
    mt_msg_destroy (&msg);
    broker.signals = 1;
    msg = s_expect (&broker, "RELEASE", 3);
    CHECK (!json_object_get (mt_msg_body (msg), "checkpoint_hash"));
    mt_msg_destroy (&msg);
    s_skip (&broker, "BYE", 0);
    s_storage_error (&broker);
    s_skip (&broker, "RELEASE", 3);
    s_skip (&broker, "BYE", 0);
    s_send (&broker, mt_msg_error ("unknown_peer", "send HELLO first"));
    s_stop (&broker);

    //  A broker that never answers: the worker leaves all the same, in time
    s_start (&broker);
    s_assign (&broker, 4, "{\"data_hash\": \"0123456789abcdef0123456789abcdef0123456789abcdef"
              "0123456789abcdef\", \"target\": \"y\"}", hash, 1000);
    s_skip (&broker, "FETCH", 0);
    broker.signals = 1;
    s_skip (&broker, "RELEASE", 4);
    s_skip (&broker, "BYE", 0);
    s_stop (&broker);
}

//  The next message that is not a PROGRESS (a running job's reports).
static mt_msg_t *
s_expect_past_progress (s_broker_t *broker, const char *command, int64_t job)
{
    mt_msg_t *msg = s_recv (broker);
    while (mt_msg_is (msg, "PROGRESS")) {
        mt_msg_destroy (&msg);
        msg = s_recv (broker);
    }
    CHECK_MSG (mt_msg_is (msg, command), "the agent sent %s where %s was due",
               mt_msg_command (msg), command);
    int64_t got = 0;
    mt_msg_opt_int (msg, "job", 0, INT64_MAX, &got, NULL);
    CHECK_MSG (got == job, "%s of job %lld, not %lld", command, (long long) got, (long long) job);
    return msg;
}

//  The ASSIGN's FAILED must come next: not retryable, its reason holding needle.
static void
s_expect_refused (s_broker_t *broker, int64_t job, const char *needle)
{
    mt_msg_t *msg = s_expect (broker, "FAILED", job);
    bool retryable = true;
    const char *reason = NULL;
    int64_t attempt = 0;
    CHECK (mt_msg_get_bool (msg, "retryable", &retryable, NULL) == 0 && !retryable);
    CHECK (mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL) == 0 && attempt == 1);
    CHECK (mt_msg_get_str (msg, "reason", 4096, &reason, NULL) == 0);
    CHECK_STR_CONTAINS (reason, needle);
    mt_msg_destroy (&msg);
}

#define IRIS_SPEC(epochs) "{\"data_path\": \"iris.csv\", \"target\": \"species\", \"task\":" \
    " \"classification\", \"hidden\": [4], \"epochs\": " #epochs ", \"checkpoint_every\": 0}"

//  An ASSIGN the agent cannot take is answered FAILED (not retryable) with
//  the reason, whatever is wrong with it, and the agent takes the next job.
//  Busy, an ASSIGN of another job is handed back with RELEASE and a HELLO
//  naming the job it runs; one that names no attempt cannot be answered
static void
test_bad_assign (void)
{
    s_broker_t broker;
    s_start (&broker);
    //  A spec string holding a NUL (msgpack allows it), as a peer could send
    mt_msg_t *msg = s_job_msg ("ASSIGN", 5, 1);
    json_object_set_new (mt_msg_body (msg), "spec",
                         json_stringn ("{\"target\": \"y\0\", \"data_path\": \"d\"}", 35));
    s_send (&broker, msg);
    s_expect_refused (&broker, 5, "ASSIGN: field 'spec' holds a NUL byte");
    //  A NUL, and a control byte, as escapes in the spec's JSON text
    s_assign (&broker, 6, "{\"data_path\": \"iris.csv\", \"target\": \"spe\\u0000cies\"}", NULL, 0);
    s_expect_refused (&broker, 6, "bad spec: spec is not valid JSON");
    s_assign (&broker, 7, "{\"data_path\": \"iris.csv\", \"target\": \"spe\\u0001cies\"}", NULL, 0);
    s_expect_refused (&broker, 7, "bad spec: spec field 'target' holds a control character"
                      " (0x01 at byte 3)");
    s_assign (&broker, 8, "{\"data_path\": \"iris.csv\", \"target\": \"species\", \"lr\": -1}",
              NULL, 0);
    s_expect_refused (&broker, 8, "--lr");
    s_assign (&broker, 9, "not json", NULL, 0);
    s_expect_refused (&broker, 9, "bad spec");
    //  Fields missing or wrong
    s_send (&broker, s_job_msg ("ASSIGN", 10, 1));
    s_expect_refused (&broker, 10, "ASSIGN: field 'spec' is missing");
    msg = s_job_msg ("ASSIGN", 11, 1);
    json_object_set_new (mt_msg_body (msg), "spec", json_integer (42));
    s_send (&broker, msg);
    s_expect_refused (&broker, 11, "field 'spec' must be a string");
    msg = s_job_msg ("ASSIGN", 12, 1);
    json_object_set_new (mt_msg_body (msg), "spec", json_string ("{\"data_path\": \"iris.csv\","
                         " \"target\": \"species\"}"));
    json_object_set_new (mt_msg_body (msg), "resume_hash", json_string ("../../etc/passwd"));
    s_send (&broker, msg);
    s_expect_refused (&broker, 12, "resume_hash");
    msg = s_job_msg ("ASSIGN", 13, 1);
    json_object_set_new (mt_msg_body (msg), "spec", json_string ("{\"data_path\": \"iris.csv\","
                         " \"target\": \"species\"}"));
    json_object_set_new (mt_msg_body (msg), "data_size", json_integer (-5));
    s_send (&broker, msg);
    s_expect_refused (&broker, 13, "data_size");
    //  No attempt to answer for: nothing is sent, and the agent stays idle
    msg = mt_msg_new ("ASSIGN");
    json_object_set_new (mt_msg_body (msg), "job", json_integer (14));
    json_object_set_new (mt_msg_body (msg), "spec", json_string ("{}"));
    s_send (&broker, msg);

    //  The next good job runs: its first message is about it, and the agent
    //  is busy with it
    const char *spec = IRIS_SPEC (1000000);
    s_assign (&broker, 15, spec, NULL, 0);
    msg = s_expect (&broker, "PROGRESS", 15);
    mt_msg_destroy (&msg);
    //  The same attempt again changes nothing; another job while busy is
    //  handed back, and a HELLO names the job it runs
    s_assign (&broker, 15, spec, NULL, 0);
    s_assign (&broker, 16, spec, NULL, 0);
    msg = s_expect_past_progress (&broker, "RELEASE", 16);
    int64_t attempt = 0;
    CHECK (mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL) == 0 && attempt == 1);
    mt_msg_destroy (&msg);
    msg = s_expect_past_progress (&broker, "HELLO", 15);
    CHECK (mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL) == 0 && attempt == 1);
    mt_msg_destroy (&msg);
    //  The broker has moved on from job 15: ABANDON, and the agent is idle
    //  and takes the next job (its first message is about that one)
    s_send (&broker, s_job_msg ("ABANDON", 15, 1));
    s_assign (&broker, 17, IRIS_SPEC (1), NULL, 0);
    msg = s_expect_past_progress (&broker, "UPLOAD", 0);
    mt_msg_destroy (&msg);
    //  Leave at once (a second signal)
    broker.signals = 2;
    s_stop (&broker);
    CHECK (broker.rc == 0);
}

//  Pointed at a socket that answers its HELLO with bad_command (the broker's
//  clients socket), the agent ends with a cause that says so; a bad_command
//  that answers something else does not end it
static void
test_wrong_socket (void)
{
    s_broker_t broker;
    mt_msg_t *hello = s_open (&broker);
    int64_t req = -1;
    CHECK (mt_msg_get_int (hello, "req", 0, INT64_MAX, &req, NULL) == 0);
    mt_msg_destroy (&hello);
    mt_msg_t *error = mt_msg_error ("bad_command", "unknown command FOO on the clients socket");
    s_send (&broker, error);
    error = mt_msg_error ("bad_command", "unknown command FOO on the clients socket");
    json_object_set_new (mt_msg_body (error), "req", json_integer (req + 1000));
    s_send (&broker, error);
    //  still serving: an ASSIGN is answered
    s_send (&broker, s_job_msg ("ASSIGN", 20, 1));
    s_expect_refused (&broker, 20, "spec");
    error = mt_msg_error ("bad_command", "unknown command HELLO on the clients socket");
    json_object_set_new (mt_msg_body (error), "req", json_integer (req));
    s_send (&broker, error);
    s_stop (&broker);
    CHECK (broker.rc == -1);
    CHECK_STR_CONTAINS (broker.cause, "reached the broker's clients socket");
    CHECK_STR_CONTAINS (broker.cause, "unknown command HELLO on the clients socket");
    CHECK_STR_CONTAINS (broker.cause, broker.endpoint);
    CHECK_STR_CONTAINS (broker.cause, "point --broker at the broker's workers socket");
}

//  The broker has no upload slot free (ERROR retry_later): the agent's model
//  upload waits, probes again and goes on, as mtclient's does, and the job
//  ends DONE and not FAILED
static void
test_upload_retry_later (void)
{
    s_broker_t broker;
    s_start (&broker);
    s_assign (&broker, 5, "{\"data_path\": \"iris.csv\", \"target\": \"species\", \"task\":"
              " \"classification\", \"hidden\": [4], \"epochs\": 1, \"checkpoint_every\": 0}",
              NULL, 0);
    char model [65] = "";
    int refused = 0, probes = 0;
    mt_msg_t *msg = s_expect_past_progress (&broker, "UPLOAD", 0);
    while (!mt_msg_is (msg, "DONE")) {
        CHECK_MSG (mt_msg_is (msg, "PROGRESS") || mt_msg_is (msg, "UPLOAD"),
                   "the agent sent %s", mt_msg_command (msg));
        if (mt_msg_is (msg, "UPLOAD")) {
            const char *hash = NULL;
            int64_t size = 0, offset = -1;
            size_t len = 0;
            mt_msg_payload (msg, &len);
            CHECK (mt_msg_get_str (msg, "hash", 64, &hash, NULL) == 0);
            CHECK (mt_msg_get_int (msg, "size", 1, INT64_MAX, &size, NULL) == 0);
            CHECK (mt_msg_get_int (msg, "offset", 0, INT64_MAX, &offset, NULL) == 0);
            mt_strlcpy (model, hash, sizeof model);
            mt_msg_t *reply = NULL;
            if (refused < 2) {
                //  Twice, so the wait doubles and still ends
                refused++;
                reply = mt_msg_error ("retry_later", "64 uploads are in progress: retry later");
                json_object_set_new (mt_msg_body (reply), "offset", json_integer (0));
            }
            else {
                probes += len == 0 && offset == 0;
                reply = mt_msg_new ("UPLOADED");
                json_object_set_new (mt_msg_body (reply), "offset", json_integer (size));
                json_object_set_new (mt_msg_body (reply), "complete", json_true ());
            }
            json_object_set_new (mt_msg_body (reply), "hash", json_string (model));
            s_send (&broker, reply);
        }
        mt_msg_destroy (&msg);
        msg = s_recv (&broker);
    }
    CHECK_MSG (refused == 2 && probes == 1, "refused %d, probes %d", refused, probes);
    const char *sent = NULL;
    CHECK (mt_msg_get_str (msg, "model_hash", 64, &sent, NULL) == 0);
    CHECK_STR_EQ (sent, model);
    mt_msg_destroy (&msg);
    broker.signals = 1;
    s_skip (&broker, "BYE", 0);
    s_send (&broker, mt_msg_error ("unknown_peer", "send HELLO first"));
    s_stop (&broker);
}

static mt_msg_t *
s_welcome (int64_t model_inline_max)
{
    mt_msg_t *welcome = mt_msg_new ("WELCOME");
    json_object_set_new (mt_msg_body (welcome), "heartbeat_ms", json_integer (1000));
    json_object_set_new (mt_msg_body (welcome), "liveness", json_integer (1000));
    json_object_set_new (mt_msg_body (welcome), "model_inline_max",
                         json_integer (model_inline_max));
    return welcome;
}

//  With a WELCOME that allows it, a model no larger than model_inline_max
//  comes in the DONE (its SHA-256 as model_hash), with no UPLOAD, and goes
//  again whole after ERROR storage; a model over it is uploaded
static void
test_done_carries (void)
{
    s_broker_t broker;
    mt_msg_t *hello = s_open (&broker);
    mt_msg_destroy (&hello);
    s_send (&broker, s_welcome (131072));
    const char *spec = "{\"data_path\": \"iris.csv\", \"target\": \"species\", \"task\":"
                       " \"classification\", \"hidden\": [4], \"epochs\": 2,"
                       " \"checkpoint_every\": 0}";
    s_assign (&broker, 1, spec, NULL, 0);
    mt_msg_t *msg = s_recv (&broker);
    while (!mt_msg_is (msg, "DONE")) {
        CHECK_MSG (mt_msg_is (msg, "PROGRESS"), "the agent sent %s", mt_msg_command (msg));
        mt_msg_destroy (&msg);
        msg = s_recv (&broker);
    }
    size_t size = 0;
    const void *model = mt_msg_payload (msg, &size);
    CHECK (model && size > 8 && size <= 131072);
    char hex [65];
    CHECK (blob_hash_bytes (model, size, hex) == 0);
    const char *sent = NULL;
    CHECK (mt_msg_get_str (msg, "model_hash", 64, &sent, NULL) == 0);
    CHECK_STR_EQ (sent, hex);
    char first [65];
    mt_strlcpy (first, hex, sizeof first);
    CHECK (memcmp ((const char *) model + 8, "{", 1) == 0);       // a safetensors header
    mt_msg_destroy (&msg);
    s_storage_error (&broker);
    msg = s_expect (&broker, "DONE", 1);
    const void *again = mt_msg_payload (msg, &size);
    CHECK (again && blob_hash_bytes (again, size, hex) == 0);
    CHECK_STR_EQ (hex, first);
    mt_msg_destroy (&msg);
    printf ("agent: a %zu-byte model came in the DONE, and again whole after ERROR storage\n",
            size);

    //  A broker that takes less: the model is uploaded
    s_send (&broker, s_job_msg ("ABANDON", 1, 1));
    s_send (&broker, s_welcome (100));
    s_assign (&broker, 2, spec, NULL, 0);
    msg = s_expect_past_progress (&broker, "UPLOAD", 0);
    mt_msg_destroy (&msg);
    printf ("agent: over model_inline_max it is uploaded\n");
    broker.signals = 2;                 // a second signal: leave at once
    s_stop (&broker);
}

int
main (int argc, char **argv)
{
    //  The agent runs its training children as this program
    if (argc > 1 && strcmp (argv [1], "--train-child") == 0)
        return agent_child_main (argc, argv);
    zsys_handler_set (NULL);
    zsys_init ();
    zsys_set_logstream (NULL);
    test_done_again ();
    test_done_carries ();
    test_release_again ();
    test_upload_retry_later ();
    test_bad_assign ();
    test_wrong_socket ();
    printf ("test_agent: ok\n");
    return 0;
}
