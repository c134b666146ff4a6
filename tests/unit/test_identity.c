/*  test_identity - attempts belong to the worker process that started them; a DONE's model is checked  */
//  An in-process broker and DEALER peers, attacked as a script on the
//  workers socket would: after a restart (the broker destroyed and made
//  again on the same folder) a HELLO naming a running (job, attempt) from
//  another instance id gets one ABANDON and cannot adopt or finish the job;
//  the real worker then adopts and finishes it, and the rows name it. With
//  keys, the same holds for another admitted worker key that copies the real
//  worker's name and instance id. A DONE whose model is garbage, truncated
//  or of the wrong shape is refused.
#include "testbroker.h"
#include "testmodel.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/util.h"
#include "store.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>

#define S_REAL   "0123456789abcdef"     // the real worker's instance id
#define S_FORGED "fedcba9876543210"     // the script's
#define S_SPEC   "{\"target\": \"y\", \"data_path\": \"/d.csv\", \"max_retries\": %d}"

typedef struct {
    test_broker_t paths;
    broker_config_t config;
    broker_t *broker;
    pthread_t thread;
} s_broker_t;

static void
s_start (s_broker_t *b)
{
    b->broker = test_broker_new (&b->config);     // s_stop may have just run
    test_broker_start (b->broker, &b->thread);
}

static void
s_stop (s_broker_t *b)
{
    test_broker_stop (&b->broker, b->thread);
}

static int64_t
s_int (mt_msg_t *msg, const char *key)
{
    return json_integer_value (json_object_get (mt_msg_body (msg), key));
}

//  An ERROR whose text holds needle
static void
s_error (zsock_t *sock, const char *needle, int line)
{
    mt_msg_t *msg = test_peer_expect (sock, "ERROR", NULL, line);
    const char *text = json_string_value (json_object_get (mt_msg_body (msg), "text"));
    CHECK_MSG (text && strstr (text, needle), "line %d: '%s' lacks '%s'", line,
               text ? text : "", needle);
    mt_msg_destroy (&msg);
}

//  ABANDON of (job, attempt 1)
static void
s_abandon (zsock_t *sock, int64_t job, int line)
{
    mt_msg_t *msg = test_peer_expect (sock, "ABANDON", NULL, line);
    CHECK_MSG (s_int (msg, "job") == job && s_int (msg, "attempt") == 1, "line %d", line);
    mt_msg_destroy (&msg);
}

//  A worker's DEALER says HELLO as name, with instance ("" = none), and
//  claims (job, attempt 1) when job > 0; WELCOME is taken.
static void
s_hello (zsock_t *sock, const char *name, const char *instance, int64_t job)
{
    char body [512], claim [64] = "", id [64] = "";
    if (job)
        snprintf (claim, sizeof claim, ", \"job\": %lld, \"attempt\": 1", (long long) job);
    if (*instance)
        snprintf (id, sizeof id, ", \"instance\": \"%s\"", instance);
    snprintf (body, sizeof body, "{\"name\": \"%s\", \"host\": \"h\", \"version\": \"t\","
              " \"pid\": 1, \"cores\": 1, \"threads\": 1%s%s}", name, id, claim);
    test_peer_send (sock, "HELLO", body, NULL, 0);
    test_peer_ok (sock, "WELCOME", __LINE__);
}

//  A new worker's DEALER on b's workers socket that has said HELLO as
//  s_hello does; the caller destroys it (s_leave).
static zsock_t *
s_worker (s_broker_t *b, const char *name, const char *instance, int64_t job)
{
    zsock_t *sock = zsock_new_dealer (b->paths.workers);
    CHECK (sock);
    s_hello (sock, name, instance, job);
    return sock;
}

//  A worker leaves (BYE) and its DEALER goes: the broker gives it no more jobs
static void
s_leave (zsock_t **sock_p)
{
    zsock_set_linger (*sock_p, TEST_PEER_WAIT_MS);  // the BYE leaves before the socket goes
    test_peer_send (*sock_p, "BYE", "{}", NULL, 0);
    zsock_destroy (sock_p);
}

static int64_t
s_submit (zsock_t *client, int max_retries)
{
    char spec [256], body [300];
    snprintf (spec, sizeof spec, S_SPEC, max_retries);
    snprintf (body, sizeof body, "{\"spec\": %s}", spec);
    test_peer_send (client, "SUBMIT", body, NULL, 0);
    mt_msg_t *reply = test_peer_expect (client, "SUBMITTED", NULL, __LINE__);
    int64_t id = s_int (reply, "job");
    mt_msg_destroy (&reply);
    return id;
}

//  The job's map as STATUS gives it (caller decrefs)
static json_t *
s_status (zsock_t *client, int64_t job)
{
    char body [64];
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) job);
    test_peer_send (client, "STATUS", body, NULL, 0);
    mt_msg_t *reply = test_peer_expect (client, "JOB", NULL, __LINE__);
    json_t *map = json_incref (json_object_get (mt_msg_body (reply), "job"));
    mt_msg_destroy (&reply);
    return map;
}

static const char *
s_str (json_t *map, const char *key)
{
    const char *text = json_string_value (json_object_get (map, key));
    return text ? text : "";
}

//  Wait until the job is in state; its map (caller decrefs).
static json_t *
s_wait_state (zsock_t *client, int64_t job, const char *state, int line)
{
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    json_t *map;
    while (strcmp (s_str ((map = s_status (client, job)), "state"), state) != 0) {
        CHECK_MSG (zclock_mono () < deadline, "line %d: job %lld is %s, not %s", line,
                   (long long) job, s_str (map, "state"), state);
        json_decref (map);
        zclock_sleep (10);
    }
    return map;
}

//  Upload bytes as a blob; its hash into hash.
static void
s_upload (zsock_t *worker, const void *bytes, size_t size, char hash [65])
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, bytes, size);
    sodium_bin2hex (hash, 65, digest, sizeof digest);
    char body [256];
    snprintf (body, sizeof body, "{\"hash\": \"%s\", \"size\": %zu, \"offset\": 0,"
              " \"last\": true}", hash, size);
    test_peer_send (worker, "UPLOAD", body, bytes, size);
    test_peer_ok (worker, "UPLOADED", __LINE__);
}

//  A DONE of (job, attempt 1) with the model hash
static void
s_done (zsock_t *worker, int64_t job, const char *hash)
{
    char body [256];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 1, \"model_hash\": \"%s\","
              " \"metrics\": {\"loss\": 0.5}}", (long long) job, hash);
    test_peer_send (worker, "DONE", body, NULL, 0);
}

//  A job submitted by client, with max_retries, and assigned to worker: its id
static int64_t
s_running (zsock_t *client, zsock_t *worker, int max_retries, int line)
{
    int64_t job = s_submit (client, max_retries);
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, line);
    CHECK_MSG (s_int (msg, "job") == job, "line %d: ASSIGN of job %lld, not %lld", line,
               (long long) s_int (msg, "job"), (long long) job);
    mt_msg_destroy (&msg);
    return job;
}

//  The model bytes of the test's jobs (max_retries does not shape them)
static char *
s_good_model (size_t *size)
{
    char spec [256];
    snprintf (spec, sizeof spec, S_SPEC, 0);
    return test_model_bytes (spec, 3, size);
}

//  (a) After a restart: a forged HELLO and DONE from another instance id,
//  and one with none, get one ABANDON each and move nothing; the real
//  worker adopts and finishes the job, and the rows name it.
static void
test_forged_adoption (s_broker_t *b, zsock_t *client)
{
    zsock_t *real = s_worker (b, "host:1", S_REAL, 0);
    int64_t job = s_running (client, real, 0, __LINE__);

    s_stop (b);
    s_start (b);
    char hash [65];
    size_t size;
    char *model = s_good_model (&size);

    //  The script knows (job, attempt) from STATUS; it names itself the
    //  real worker's way, but its instance id is another
    zsock_t *forger = s_worker (b, "host:1", S_FORGED, job);
    s_abandon (forger, job, __LINE__);
    s_upload (forger, model, size, hash);
    s_done (forger, job, hash);
    char body [256];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 1, \"epoch\": 1, \"epochs\": 1,"
              " \"step\": 1, \"steps\": 1}", (long long) job);
    test_peer_send (forger, "PROGRESS", body, NULL, 0);
    s_hello (forger, "host:1", S_FORGED, job);          // a second claim: still one ABANDON
    test_peer_quiet (forger, __LINE__);
    //  A HELLO without an instance id never adopts
    zsock_t *bare = s_worker (b, "evil:2", "", job);
    s_abandon (bare, job, __LINE__);
    s_done (bare, job, hash);
    test_peer_quiet (bare, __LINE__);
    json_t *map = s_status (client, job);
    CHECK_STR_EQ (s_str (map, "state"), "running");
    CHECK_STR_EQ (s_str (map, "worker"), "host:1");
    json_decref (map);

    //  The real worker comes back (a new connection) and claims its attempt
    s_hello (real, "host:1", S_REAL, job);
    test_peer_quiet (real, __LINE__);                           // adopted: no ABANDON
    test_peer_send (real, "PROGRESS", body, NULL, 0);
    test_peer_quiet (real, __LINE__);
    s_done (real, job, hash);
    map = s_wait_state (client, job, "succeeded", __LINE__);
    CHECK_STR_EQ (s_str (map, "worker"), "host:1");
    CHECK_STR_EQ (s_str (map, "model_hash"), hash);
    json_t *attempts = json_object_get (map, "attempts");
    CHECK (json_array_size (attempts) == 1);
    CHECK_STR_EQ (s_str (json_array_get (attempts, 0), "worker"), "host:1");
    CHECK_STR_EQ (s_str (json_array_get (attempts, 0), "outcome"), "succeeded");
    json_decref (map);
    free (model);
    s_leave (&forger);
    s_leave (&bare);
    s_leave (&real);
}

//  (b) Live (no restart): the same process's new connection adopts; a
//  twin-named connection with another instance does not, and hears one
//  ABANDON; a HELLO that changes the instance on a busy connection is refused
static void
test_live_binding (s_broker_t *b, zsock_t *client)
{
    zsock_t *real = s_worker (b, "host:3", S_REAL "3", 0);
    int64_t job = s_running (client, real, 0, __LINE__);
    zsock_t *forger = s_worker (b, "host:3", S_FORGED, job);
    s_abandon (forger, job, __LINE__);
    s_done (forger, job, "00");
    test_peer_quiet (forger, __LINE__);
    //  On the real worker's own connection, another instance id
    char body [512];
    snprintf (body, sizeof body, "{\"name\": \"host:3\", \"host\": \"h\", \"version\": \"t\","
              " \"pid\": 1, \"cores\": 1, \"threads\": 1, \"instance\": \"%s\"}", S_FORGED);
    test_peer_send (real, "HELLO", body, NULL, 0);
    s_error (real, "another worker process", __LINE__);
    json_t *map = s_status (client, job);
    CHECK_STR_EQ (s_str (map, "state"), "running");
    json_decref (map);
    //  The real one finishes
    char hash [65];
    size_t size;
    char *model = s_good_model (&size);
    s_upload (real, model, size, hash);
    s_done (real, job, hash);
    map = s_wait_state (client, job, "succeeded", __LINE__);
    CHECK_STR_EQ (s_str (map, "worker"), "host:3");
    json_decref (map);
    free (model);
    s_leave (&forger);
    s_leave (&real);
}

//  One bad model: uploaded, reported DONE for job, refused with needle
static void
s_refused_model (zsock_t *worker, int64_t job, const void *bytes, size_t size,
                 const char *needle, int line)
{
    char hash [65];
    s_upload (worker, bytes, size, hash);
    s_done (worker, job, hash);
    s_error (worker, needle, line);
}

//  (c) A DONE whose model is garbage, truncated or of another shape is
//  refused: the attempt fails with the reason, retried while the job has
//  retries, and the job never succeeds with it
static void
test_bad_models (s_broker_t *b, zsock_t *client)
{
    zsock_t *worker = s_worker (b, "host:4", S_REAL "4", 0);
    //  Garbage, on a job without retries: failed
    int64_t job = s_running (client, worker, 0, __LINE__);
    const char *garbage = "this is not a model";
    s_refused_model (worker, job, garbage, strlen (garbage), "not a safetensors file", __LINE__);
    json_t *map = s_wait_state (client, job, "failed", __LINE__);
    CHECK_STR_CONTAINS (s_str (map, "error"), "its model was refused");
    CHECK_STR_CONTAINS (s_str (map, "error"), "not a safetensors file");
    CHECK (!json_is_string (json_object_get (map, "model_hash")));
    CHECK_STR_EQ (s_str (json_array_get (json_object_get (map, "attempts"), 0), "outcome"),
                  "crashed");
    json_decref (map);
    //  Truncated, on a job with one retry: queued again, then attempt 2
    job = s_running (client, worker, 1, __LINE__);
    size_t size;
    char *model = s_good_model (&size);
    s_refused_model (worker, job, model, size - 4, "outside the", __LINE__);
    map = s_status (client, job);
    CHECK (strcmp (s_str (map, "state"), "succeeded") != 0);
    json_decref (map);
    mt_msg_t *assign = test_peer_expect (worker, "ASSIGN", NULL, __LINE__);    // after the backoff
    CHECK (s_int (assign, "job") == job && s_int (assign, "attempt") == 2);
    mt_msg_destroy (&assign);
    free (model);
    //  ... whose second attempt sends a model of other hidden layers: failed
    model = test_model_bytes ("{\"target\": \"y\", \"data_path\": \"/d.csv\", \"hidden\": [8]}",
                              3, &size);
    char hash [65], body [256];
    s_upload (worker, model, size, hash);
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 2, \"model_hash\": \"%s\","
              " \"metrics\": {}}", (long long) job, hash);
    test_peer_send (worker, "DONE", body, NULL, 0);
    s_error (worker, "wrong shape", __LINE__);
    map = s_wait_state (client, job, "failed", __LINE__);
    CHECK_STR_CONTAINS (s_str (map, "error"), "'0.weight' has the wrong shape");
    json_decref (map);
    free (model);
    //  A classification model for a regression job
    job = s_running (client, worker, 0, __LINE__);
    model = test_model_bytes ("{\"target\": \"y\", \"data_path\": \"/d.csv\","
                              " \"task\": \"classification\"}", 3, &size);
    s_refused_model (worker, job, model, size, "classification model", __LINE__);
    map = s_wait_state (client, job, "failed", __LINE__);
    json_decref (map);
    free (model);
    s_leave (&worker);
}

//  (d) With --keys, after a restart: another admitted worker key that says
//  HELLO with the real worker's name and even its instance id, claims the
//  running attempt and reports DONE with a model that fits, gets one
//  ABANDON and moves nothing, before and after the real worker (its own
//  key) adopts the attempt; the real worker then finishes it, and the rows
//  name it: its model, its name, its instance id and its key.
static void
test_forged_key (void)
{
    s_broker_t b;
    test_broker_config (&b.paths, "identity-keys", &b.config);
    b.config.liveness = 1000;
    char keys [128], dir [160];
    snprintf (keys, sizeof keys, "%s/keys", b.paths.dir);
    CHECK (mkdir (keys, 0700) == 0);
    zcert_t *own = test_cert (keys, "broker_secret", true);
    snprintf (dir, sizeof dir, "%s/clients", keys);
    CHECK (mkdir (dir, 0700) == 0);
    zcert_t *alice = test_cert (dir, "alice", false);
    snprintf (dir, sizeof dir, "%s/workers", keys);
    CHECK (mkdir (dir, 0700) == 0);
    zcert_t *w1 = test_cert (dir, "w1", false);
    zcert_t *w2 = test_cert (dir, "w2", false);       // admitted too: the attacker's
    b.config.keys = keys;
    s_start (&b);
    const char *server = zcert_public_txt (own);
    zsock_t *client = test_curve_dealer (b.paths.clients, alice, server);
    zsock_t *real = test_curve_dealer (b.paths.workers, w1, server);
    s_hello (real, "host:5", S_REAL, 0);
    int64_t job = s_running (client, real, 0, __LINE__);

    s_stop (&b);
    s_start (&b);
    //  A model that fits the job (4 features: the spec names none), not the
    //  real worker's: the job's model_hash says whose DONE ended it
    size_t size, forged_size;
    char *model = s_good_model (&size);
    char spec [256];
    snprintf (spec, sizeof spec, S_SPEC, 0);
    char *forged = test_model_bytes (spec, 4, &forged_size);
    char hash [65], forged_hash [65];
    zsock_t *forger = test_curve_dealer (b.paths.workers, w2, server);
    s_hello (forger, "host:5", S_REAL, job);
    s_abandon (forger, job, __LINE__);
    s_upload (forger, forged, forged_size, forged_hash);
    s_done (forger, job, forged_hash);
    s_hello (forger, "host:5", S_REAL, job);            // a second claim: still one ABANDON
    test_peer_quiet (forger, __LINE__);
    json_t *map = s_status (client, job);
    CHECK_STR_EQ (s_str (map, "state"), "running");
    CHECK (!json_is_string (json_object_get (map, "model_hash")));
    json_decref (map);

    //  The real worker, its own key, adopts; the forger's DONE still moves nothing
    s_hello (real, "host:5", S_REAL, job);
    test_peer_quiet (real, __LINE__);                           // adopted: no ABANDON
    s_hello (forger, "host:5", S_REAL, job);
    s_done (forger, job, forged_hash);
    test_peer_quiet (forger, __LINE__);
    map = s_status (client, job);
    CHECK_STR_EQ (s_str (map, "state"), "running");
    json_decref (map);
    s_upload (real, model, size, hash);
    s_done (real, job, hash);
    map = s_wait_state (client, job, "succeeded", __LINE__);
    CHECK_STR_EQ (s_str (map, "model_hash"), hash);
    CHECK_STR_EQ (s_str (map, "worker"), "host:5");
    json_t *attempts = json_object_get (map, "attempts");
    CHECK (json_array_size (attempts) == 1);
    CHECK_STR_EQ (s_str (json_array_get (attempts, 0), "worker"), "host:5");
    CHECK_STR_EQ (s_str (json_array_get (attempts, 0), "outcome"), "succeeded");
    json_decref (map);
    s_leave (&forger);
    s_leave (&real);
    zsock_destroy (&client);
    s_stop (&b);

    //  The row names the real worker's identity: its instance id and key
    char *cause = NULL;
    store_t *store = store_open (b.paths.db, &cause);
    CHECK_MSG (store, "%s", cause);
    store_job_t row;
    CHECK (store_job_get (store, job, &row) == 0);
    CHECK_STR_EQ (row.worker_instance, S_REAL);
    CHECK_STR_EQ (row.worker_key, zcert_public_txt (w1));
    CHECK_STR_EQ (row.model_hash, hash);
    store_job_clear (&row);
    store_destroy (&store);
    free (model);
    free (forged);
    zcert_destroy (&w2);
    zcert_destroy (&w1);
    zcert_destroy (&alice);
    zcert_destroy (&own);
    test_broker_remove (&b.paths);
}

int
main (void)
{
    s_broker_t b;
    test_broker_config (&b.paths, "identity", &b.config);
    b.config.liveness = 1000;       // the test's workers need send no heartbeat
    mt_log_set_level (MT_LOG_WARN);
    s_start (&b);
    zsock_t *client = zsock_new_dealer (b.paths.clients);
    CHECK (client);
    test_forged_adoption (&b, client);
    test_live_binding (&b, client);
    test_bad_models (&b, client);
    zsock_destroy (&client);
    s_stop (&b);
    test_broker_remove (&b.paths);
    test_forged_key ();
    printf ("test_identity: ok\n");
    return 0;
}
