/*  test_client - mtclient without a broker: flags into specs, rendering, timeouts, transfers  */
#include "cmd.h"
#include "cmd_submit.h"
#include "conn.h"
#include "render.h"
#include "testutil.h"

#include "mt/msg.h"
#include "mt/blob.h"
#include "mt/util.h"

#include <czmq.h>
#include <sodium.h>
#include <unistd.h>

#define FAKE_MODEL_SIZE (3 * CONN_CHUNK + 1234)     // bytes the fake broker serves

//  Run submit_parse on a NULL-terminated list of arguments.
static int
s_parse (client_t *client, mt_spec_t *spec, submit_opts_t *opts, char **cause,
         const char **args)
{
    char *argv [64];
    int argc = 0;
    argv [argc++] = "submit";
    while (*args)
        argv [argc++] = (char *) *args++;
    argv [argc] = NULL;
    cmd_client_init (client);
    return submit_parse (client, argc, argv, spec, opts, cause);
}

#define PARSE_OK(...) do { const char *a_ [] = { __VA_ARGS__, NULL }; char *c_ = NULL; \
    int rc_ = s_parse (&client, &spec, &opts, &c_, a_); \
    CHECK_MSG (rc_ == 0, "%s", c_ ? c_ : "?"); free (c_); } while (0)

//  Parsing must fail with a message that holds needle.
static void
s_parse_fails (bool usage, const char *needle, const char **args)
{
    client_t client;
    mt_spec_t spec;
    submit_opts_t opts;
    char *cause = NULL;
    int rc = s_parse (&client, &spec, &opts, &cause, args);
    CHECK_MSG (rc == -1, "expected a failure with '%s'", needle);
    CHECK_STR_CONTAINS (cause, needle);
    CHECK_MSG (client.usage_error == usage, "usage_error for '%s'", cause);
    free (cause);
    mt_spec_clear (&spec);
}
#define PARSE_FAILS(usage, needle, ...) do { const char *a_ [] = { __VA_ARGS__, NULL }; \
    s_parse_fails (usage, needle, a_); } while (0)

static void
test_submit_every_flag (void)
{
    client_t client;
    mt_spec_t spec;
    submit_opts_t opts;
    PARSE_OK ("--data", "train.csv", "--format", "csv", "--target", "y", "--features", "a,b,c",
              "--task", "classification", "--hidden", "64,32", "--activation", "tanh",
              "--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.9", "--nesterov",
              "--weight-decay", "0.001", "--beta1", "0.8", "--beta2", "0.99", "--eps", "1e-6",
              "--schedule", "cosine", "--warmup-steps", "100", "--batch-size", "32",
              "--epochs", "7", "--seed", "42", "--val-split", "0.25", "--no-shuffle",
              "--patience", "3", "--init", "init.safetensors", "--checkpoint-every", "2",
              "--priority", "-5", "--max-retries", "1", "--time-limit", "3600",
              "--name", "my-job", "--key", "k-1", "--watch");
    CHECK (strcmp (opts.data_file, "train.csv") == 0);
    CHECK (strcmp (opts.init_file, "init.safetensors") == 0);
    CHECK (strcmp (opts.key, "k-1") == 0);
    CHECK (opts.watch);
    CHECK (spec.format == MT_FORMAT_CSV);
    CHECK (strcmp (spec.target, "y") == 0);
    CHECK (spec.n_features == 3 && strcmp (spec.features [2], "c") == 0);
    CHECK (spec.task == MT_TASK_CLASSIFICATION);
    CHECK (spec.n_hidden == 2 && spec.hidden [0] == 64 && spec.hidden [1] == 32);
    CHECK (spec.activation == MT_ACT_TANH);
    CHECK (spec.optimizer == MT_OPT_SGD);
    CHECK (spec.lr == 0.5 && spec.momentum == 0.9 && spec.nesterov);
    CHECK (spec.weight_decay == 0.001 && spec.beta1 == 0.8 && spec.beta2 == 0.99);
    CHECK (spec.eps == 1e-6);
    CHECK (spec.schedule == MT_SCHEDULE_COSINE && spec.warmup_steps == 100);
    CHECK (spec.batch_size == 32 && spec.epochs == 7 && spec.seed == 42);
    CHECK (spec.val_split == 0.25 && !spec.shuffle && spec.patience == 3);
    CHECK (spec.checkpoint_every == 2 && spec.priority == -5 && spec.max_retries == 1);
    CHECK (spec.time_limit_s == 3600);
    CHECK (strcmp (spec.name, "my-job") == 0);
    CHECK (!client.json && client.timeout_s == CMD_DEFAULT_TIMEOUT);
    mt_spec_clear (&spec);

    //  Defaults from mt_spec_init; --data-path; options in --flag=value form
    PARSE_OK ("--data-path=/shared/x.jsonl", "--target=label");
    CHECK (spec.optimizer == MT_OPT_ADAM && spec.lr == 0.01);
    CHECK (spec.batch_size == 16 && spec.epochs == 100 && spec.shuffle);
    CHECK (strcmp (spec.data_path, "/shared/x.jsonl") == 0 && spec.data_hash [0] == 0);
    CHECK (opts.data_file == NULL && !opts.watch);
    mt_spec_clear (&spec);

    //  No hidden layer, two ways
    PARSE_OK ("--data", "d.csv", "--target", "y", "--hidden", "");
    CHECK (spec.n_hidden == 0);
    mt_spec_clear (&spec);
    PARSE_OK ("--data", "d.csv", "--target", "y", "--hidden", "0");
    CHECK (spec.n_hidden == 0);
    mt_spec_clear (&spec);

    //  Global options after the command name
    PARSE_OK ("--data", "d.csv", "--json", "--target", "y", "--broker", "tcp://10.0.0.1:7",
              "--timeout", "2.5", "-v");
    CHECK (client.json && client.verbose == 1 && client.timeout_s == 2.5);
    CHECK (strcmp (client.broker, "tcp://10.0.0.1:7") == 0);
    mt_spec_clear (&spec);
}

static void
test_submit_bad_flags (void)
{
    PARSE_FAILS (false, "--lr: 'abc' is not a number", "--data", "d", "--target", "y", "--lr", "abc");
    PARSE_FAILS (false, "--lr", "--data", "d", "--target", "y", "--lr", "nan");
    PARSE_FAILS (false, "--lr", "--data", "d", "--target", "y", "--lr", "1e999");
    PARSE_FAILS (false, "--lr", "--data", "d", "--target", "y", "--lr", "-1");
    PARSE_FAILS (false, "--lr", "--data", "d", "--target", "y", "--lr", "0.1x");
    PARSE_FAILS (false, "--epochs: '1.5' is not a whole number", "--data", "d", "--target", "y",
                 "--epochs", "1.5");
    PARSE_FAILS (false, "--epochs", "--data", "d", "--target", "y", "--epochs", "0");
    PARSE_FAILS (false, "--batch-size", "--data", "d", "--target", "y", "--batch-size", "99999999999");
    PARSE_FAILS (false, "--seed", "--data", "d", "--target", "y", "--seed", "-1");
    PARSE_FAILS (false, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,,64");
    PARSE_FAILS (false, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,x");
    PARSE_FAILS (false, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,0");
    PARSE_FAILS (false, "--features", "--data", "d", "--target", "y", "--features", "a,,b");
    PARSE_FAILS (false, "--features", "--data", "d", "--target", "y", "--features", "a,y");
    PARSE_FAILS (false, "--task: 'foo' is not one of", "--data", "d", "--target", "y", "--task", "foo");
    PARSE_FAILS (false, "--optimizer", "--data", "d", "--target", "y", "--optimizer", "rmsprop");
    PARSE_FAILS (false, "--activation", "--data", "d", "--target", "y", "--activation", "gelu");
    PARSE_FAILS (false, "--schedule", "--data", "d", "--target", "y", "--schedule", "step");
    PARSE_FAILS (false, "--format", "--data", "d", "--target", "y", "--format", "xml");
    PARSE_FAILS (false, "--momentum", "--data", "d", "--target", "y", "--momentum", "1.5");
    PARSE_FAILS (false, "--val-split", "--data", "d", "--target", "y", "--val-split", "0.95");
    PARSE_FAILS (false, "--nesterov", "--data", "d", "--target", "y", "--nesterov");
    PARSE_FAILS (false, "--patience", "--data", "d", "--target", "y", "--patience", "2",
                 "--val-split", "0");
    PARSE_FAILS (false, "--priority", "--data", "d", "--target", "y", "--priority", "5000");
    PARSE_FAILS (false, "--time-limit", "--data", "d", "--target", "y", "--time-limit", "-3");
    PARSE_FAILS (false, "--name", "--data", "d", "--target", "y", "--name", "a/b");
    PARSE_FAILS (false, "--key", "--data", "d", "--target", "y", "--key", "");
    PARSE_FAILS (false, "--target", "--data", "d");
    PARSE_FAILS (false, "--data-path", "--target", "y");
    PARSE_FAILS (false, "--data-path", "--data", "d", "--data-path", "p", "--target", "y");
    PARSE_FAILS (false, "--timeout", "--data", "d", "--target", "y", "--timeout", "0");
    //  Usage errors: unknown options, missing values, stray operands
    PARSE_FAILS (true, "unknown option '--bogus'", "--data", "d", "--target", "y", "--bogus");
    PARSE_FAILS (true, "--target needs a value", "--data", "d", "--target");
    PARSE_FAILS (true, "unexpected argument 'extra'", "--data", "d", "--target", "y", "extra");
}

static void
test_numbers (void)
{
    double real;
    int64_t whole;
    char *cause = NULL;
    CHECK (cmd_parse_real ("--x", "1e-3", -1, 1, &real, &cause) == 0 && real == 1e-3);
    CHECK (cmd_parse_real ("--x", "", -1, 1, &real, &cause) == -1);
    CHECK (cmd_parse_real ("--x", "inf", -HUGE_VAL, HUGE_VAL, &real, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "--x: 'inf' is not a number");
    CHECK (cmd_parse_real ("--x", "2", -1, 1, &real, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "out of range");
    CHECK (cmd_parse_int ("--n", "12", 0, 100, &whole, &cause) == 0 && whole == 12);
    CHECK (cmd_parse_int ("--n", "99999999999999999999", INT64_MIN, INT64_MAX, &whole, &cause) == -1);
    CHECK (cmd_parse_int ("--n", "0x10", 0, 100, &whole, &cause) == -1);
    CHECK (cmd_parse_job ("17", &whole, &cause) == 0 && whole == 17);
    CHECK (cmd_parse_job ("0", &whole, &cause) == -1);
    CHECK (cmd_parse_job ("-3", &whole, &cause) == -1);
    CHECK (cmd_parse_job ("3x", &whole, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "not a job id");
    free (cause);
}

static int
s_count_lines (const char *text)
{
    int lines = 0;
    for (; text && *text; text++)
        lines += *text == '\n';
    return lines;
}

static json_t *
s_history (int points, bool with_val)
{
    json_t *history = json_array ();
    for (int i = 0; i < points; i++)
        json_array_append_new (history, json_pack ("[iifo]", i * 10, i / 5 + 1, 2.0 / (i + 1),
                               with_val ? json_real (2.5 / (i + 1)) : json_null ()));
    return history;
}

static void
test_curve (void)
{
    bool modes [] = { true, false };
    for (int m = 0; m < 2; m++) {
        bool utf8 = modes [m];
        json_t *history = s_history (200, true);
        char *text = render_curve (history, 60, 12, utf8);
        CHECK_MSG (s_count_lines (text) == 15, "%d lines:\n%s", s_count_lines (text), text);
        CHECK_STR_CONTAINS (text, "step");
        CHECK_STR_CONTAINS (text, utf8 ? "\u2022" : "o");
        free (text);
        text = render_curve (history, 30, 5, utf8);
        CHECK (s_count_lines (text) == 8);
        free (text);
        json_decref (history);

        //  Empty, not a list, all nil, NaN-free one point, constant
        history = json_array ();
        text = render_curve (history, 60, 12, utf8);
        CHECK (s_count_lines (text) == 1);
        CHECK_STR_CONTAINS (text, "no loss history");
        free (text);
        text = render_curve (NULL, 60, 12, utf8);
        CHECK (s_count_lines (text) == 1);
        free (text);
        json_array_append_new (history, json_pack ("[iinnn]", 5, 1));
        json_array_append_new (history, json_pack ("[s]", "junk"));
        json_array_append_new (history, json_string ("junk"));
        text = render_curve (history, 60, 12, utf8);
        CHECK (s_count_lines (text) == 1);
        free (text);
        json_array_append_new (history, json_pack ("[iifn]", 7, 1, 0.5));
        text = render_curve (history, 60, 12, utf8);
        CHECK_MSG (s_count_lines (text) == 15, "one point:\n%s", text);
        free (text);
        json_array_append_new (history, json_pack ("[iiff]", 9, 1, 0.5, 0.5));
        text = render_curve (history, 60, 12, utf8);
        CHECK (s_count_lines (text) == 15);
        free (text);
        json_decref (history);

        //  Losses over many decades switch to a log scale; negative too
        history = json_pack ("[[iifn],[iifn],[iifn]]", 0, 1, 1000.0, 1, 1, 1.0, 2, 1, 0.001);
        text = render_curve (history, 60, 12, utf8);
        CHECK (s_count_lines (text) == 15);
        CHECK_STR_CONTAINS (text, "log scale");
        free (text);
        json_decref (history);
        history = json_pack ("[[iifn],[iifn]]", 0, 1, -3.0, 100, 1, 2.0);
        text = render_curve (history, 2, 2, utf8);
        CHECK (s_count_lines (text) == 5);
        free (text);
        json_decref (history);
    }
}

static void
test_render_job (void)
{
    //  A minimal map, a map with nils, and a full one: none may crash
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    json_t *job = json_pack ("{si}", "id", 1);
    render_job (out, job, true);
    json_decref (job);
    job = json_pack ("{sisssisnsnsnsnsnsnsnsn}", "id", 2, "state", "queued", "attempt", 0,
                     "worker", "created_at", "started_at", "finished_at", "progress",
                     "metrics", "error", "spec", "history");
    render_job (out, job, false);
    char *line = render_progress (job, 10, false);
    CHECK (line && strstr (line, "[..........]"));
    free (line);
    json_decref (job);
    job = json_pack ("{sisssssisssIsIsI s{sisisisisfsfsfsfsf} s{sfsf} ssss"
                     "s{sss[ii]sssisf} s[{sisssIsIsssi}] so}",
                     "id", 3, "name", "iris", "state", "succeeded", "attempt", 2,
                     "worker", "host:1", "created_at", (json_int_t) 1700000000000,
                     "started_at", (json_int_t) 1700000001000, "finished_at", (json_int_t) 1700000065000,
                     "progress", "epoch", 10, "epochs", 10, "step", 100, "steps", 100,
                     "loss", 0.1, "val_loss", 0.2, "val_metric", 0.9, "samples_per_sec", 1e4,
                     "eta_s", 0.0,
                     "metrics", "val_accuracy", 0.95, "loss", 0.05,
                     "error", "", "model_hash", "ab",
                     "spec", "task", "classification", "hidden", 8, 8, "optimizer", "adam",
                     "epochs", 10, "lr", 0.01,
                     "attempts", "attempt", 1, "worker", "host:0", "started_at", (json_int_t) 1700000000500,
                     "finished_at", (json_int_t) 1700000000900, "outcome", "worker_lost",
                     "resumed_from_epoch", 0,
                     "history", s_history (20, true));
    CHECK (job);
    render_job (out, job, true);
    line = render_progress (job, 10, true);
    CHECK_STR_CONTAINS (line, "100%");
    CHECK_STR_CONTAINS (line, "val_acc 0.9");
    free (line);
    json_t *jobs = json_pack ("[o,{si}]", job, "id", 4);
    render_jobs (out, jobs);
    json_decref (jobs);
    json_t *workers = json_pack ("[{sssssssisisI},{}]", "name", "h:1", "host", "h", "state", "busy",
                                 "job", 3, "threads", 4, "last_seen_ms", (json_int_t) 250);
    CHECK (workers);
    render_workers (out, workers);
    json_decref (workers);
    fclose (out);
    CHECK_STR_CONTAINS (text, "job 3  iris");
    CHECK_STR_CONTAINS (text, "took 1m04s");
    CHECK_STR_CONTAINS (text, "worker_lost");
    CHECK_STR_CONTAINS (text, "val_accuracy 0.95");
    CHECK_STR_CONTAINS (text, "LAST SEEN");
    CHECK_STR_CONTAINS (text, "0.2 s ago");
    free (text);
    char buf [32];
    render_duration (3725, buf, sizeof buf);
    CHECK (strcmp (buf, "1h02m") == 0);
    render_duration (NAN, buf, sizeof buf);
    CHECK (strcmp (buf, "-") == 0);
    render_time (0, buf, sizeof buf);
    CHECK (strcmp (buf, "-") == 0);
}

//  A peer on 127.0.0.1 that accepts connections and never answers, as a
//  broker that hangs (or a refused CurveZMQ key) looks. It stays bound, so
//  no other process can take its port meanwhile. *silent_p gets the socket.
static char *
s_silent_endpoint (zsock_t **silent_p)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    *silent_p = sock;
    char *endpoint = NULL;
    CHECK (asprintf (&endpoint, "tcp://127.0.0.1:%d", port) > 0);
    return endpoint;
}

static void
test_no_broker (void)
{
    zsock_t *silent;
    char *endpoint = s_silent_endpoint (&silent);
    char *cause = NULL;
    conn_t *conn = conn_new (endpoint, 1000, &cause);
    CHECK (conn);
    mt_msg_t *request = mt_msg_new ("PING");
    mt_msg_t *reply = NULL;
    int64_t started = mt_mono_ms ();
    CHECK (conn_call (conn, &request, "PONG", &reply, &cause) == -1);
    int64_t took = mt_mono_ms () - started;
    //  It waited for the timeout, and did not hang (a generous bound)
    CHECK_MSG (took >= 900 && took < 30000, "took %lld ms", (long long) took);
    CHECK (request == NULL && reply == NULL);
    CHECK (conn_timed_out (conn));
    char expect [256];
    snprintf (expect, sizeof expect, "no answer from the broker at %s within 1 s; "
              "is mtbroker running? (--broker, MT_BROKER)", endpoint);
    CHECK_STR_CONTAINS (cause, expect);
    conn_destroy (&conn);
    conn_destroy (&conn);

    //  Through the command table too: exit code 3, within the timeout
    char *argv [] = { "mtclient", "--timeout", "1", "--broker", endpoint, "list", NULL };
    started = mt_mono_ms ();
    CHECK (cmd_main (6, argv) == CMD_EXIT_NO_BROKER);
    CHECK (mt_mono_ms () - started < 30000);
    zsock_destroy (&silent);
    CHECK (conn_new ("nonsense", 1000, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "--broker");
    free (cause);
    free (endpoint);
}

static void
test_usage (void)
{
    char *bad [] = { "mtclient", "frobnicate", NULL };
    CHECK (cmd_main (2, bad) == CMD_EXIT_USAGE);
    char *none [] = { "mtclient", NULL };
    CHECK (cmd_main (1, none) == CMD_EXIT_USAGE);
    char *unknown [] = { "mtclient", "status", "1", "--frob", NULL };
    CHECK (cmd_main (4, unknown) == CMD_EXIT_USAGE);
    char *missing [] = { "mtclient", "status", NULL };
    CHECK (cmd_main (2, missing) == CMD_EXIT_USAGE);
    char *badjob [] = { "mtclient", "stop", "x", NULL };
    CHECK (cmd_main (3, badjob) == CMD_EXIT_ERROR);
    char *predict [] = { "mtclient", "predict", "--model", "/nonexistent/m", "--data", "/nonexistent/d", NULL };
    CHECK (cmd_main (6, predict) == CMD_EXIT_ERROR);
    for (const char *name = "submit"; name; name = NULL)
        CHECK (cmd_find (name) == &cmd_submit_entry);
    CHECK (cmd_find ("nope") == NULL);
}

//  A stand-in for mtbroker's client socket: answers UPLOAD (checking order
//  and the hash), FETCH (from a fixed buffer) and SUBMIT.
typedef struct {
    unsigned char *model;
    crypto_hash_sha256_state upload;
    int64_t upload_next;
    int chunks;
    bool held;                  // the upload completed
    char model_hash [MT_HASH_HEX + 1];
} s_fake_t;

static void
s_fake_reply (zsock_t *router, zframe_t *identity, mt_msg_t *reply, mt_msg_t *request)
{
    json_t *req = json_object_get (mt_msg_body (request), "req");
    if (req)
        json_object_set (mt_msg_body (reply), "req", req);
    mt_msg_send (reply, router, identity);
    mt_msg_destroy (&reply);
}

static mt_msg_t *
s_fake_upload (s_fake_t *fake, mt_msg_t *request)
{
    int64_t offset = 0, size = 0;
    bool last = false;
    const char *hash = NULL;
    size_t len = 0;
    const void *data = mt_msg_payload (request, &len);
    CHECK (mt_msg_get_int (request, "offset", 0, INT64_MAX, &offset, NULL) == 0);
    CHECK (mt_msg_get_int (request, "size", 0, INT64_MAX, &size, NULL) == 0);
    CHECK (mt_msg_get_bool (request, "last", &last, NULL) == 0);
    CHECK (mt_msg_get_str (request, "hash", 64, &hash, NULL) == 0);
    mt_msg_t *reply = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (reply), "hash", json_string (hash));
    if (offset == 0 && len == 0 && !last) {
        //  The probe: where to start, or complete when the blob is held
        json_object_set_new (mt_msg_body (reply), "offset", json_integer (fake->upload_next));
        json_object_set_new (mt_msg_body (reply), "complete", json_boolean (fake->held));
        return reply;
    }
    if (offset != fake->upload_next) {
        mt_msg_destroy (&reply);
        return mt_msg_error ("bad_message", "chunk out of order");
    }
    if (len > 0) {
        crypto_hash_sha256_update (&fake->upload, data, len);
        fake->chunks++;
    }
    fake->upload_next += (int64_t) len;
    bool complete = last && fake->upload_next == size;
    if (complete) {
        unsigned char digest [32];
        char hex [65];
        crypto_hash_sha256_final (&fake->upload, digest);
        sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
        fake->held = true;
        if (strcmp (hex, hash)) {
            mt_msg_destroy (&reply);
            return mt_msg_error ("bad_hash", "uploaded bytes do not match");
        }
    }
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (fake->upload_next));
    json_object_set_new (mt_msg_body (reply), "complete", json_boolean (complete));
    return reply;
}

static mt_msg_t *
s_fake_fetch (s_fake_t *fake, mt_msg_t *request)
{
    int64_t job = 0, offset = 0, length = 0;
    CHECK (mt_msg_get_int (request, "job", 1, INT64_MAX, &job, NULL) == 0);
    CHECK (mt_msg_get_int (request, "offset", 0, INT64_MAX, &offset, NULL) == 0);
    CHECK (mt_msg_get_int (request, "length", 1, MT_MAX_PAYLOAD, &length, NULL) == 0);
    if (job != 7)
        return mt_msg_error ("not_found", "no job 9 has a model");
    if (offset > FAKE_MODEL_SIZE)
        return mt_msg_error ("bad_message", "offset past the end");
    if (offset + length > FAKE_MODEL_SIZE)
        length = FAKE_MODEL_SIZE - offset;
    mt_msg_t *reply = mt_msg_new ("CHUNK");
    json_object_set_new (mt_msg_body (reply), "job", json_integer (job));
    json_object_set_new (mt_msg_body (reply), "hash", json_string (fake->model_hash));
    json_object_set_new (mt_msg_body (reply), "size", json_integer (FAKE_MODEL_SIZE));
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (offset));
    mt_msg_set_payload (reply, fake->model + offset, (size_t) length);
    return reply;
}

static void
s_fake_broker (zsock_t *pipe, void *arg)
{
    s_fake_t *fake = arg;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != router)
            break;
        zmsg_t *zmsg = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (zmsg);
        const char *code;
        mt_msg_t *request = mt_msg_decode (zmsg, &code, NULL);
        CHECK (request);
        mt_msg_t *reply;
        if (mt_msg_is (request, "UPLOAD"))
            reply = s_fake_upload (fake, request);
        else
        if (mt_msg_is (request, "FETCH"))
            reply = s_fake_fetch (fake, request);
        else {
            reply = mt_msg_new ("SUBMITTED");
            json_object_set_new (mt_msg_body (reply), "job", json_integer (7));
            json_object_set_new (mt_msg_body (reply), "existing", json_false ());
        }
        s_fake_reply (router, identity, reply, request);
        mt_msg_destroy (&request);
        zframe_destroy (&identity);
        zmsg_destroy (&zmsg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static void
test_transfers (void)
{
    s_fake_t fake = { 0 };
    fake.model = malloc (FAKE_MODEL_SIZE);
    for (int i = 0; i < FAKE_MODEL_SIZE; i++)
        fake.model [i] = (unsigned char) (i * 7 + i / 1000);
    unsigned char digest [32];
    crypto_hash_sha256 (digest, fake.model, FAKE_MODEL_SIZE);
    sodium_bin2hex (fake.model_hash, sizeof fake.model_hash, digest, sizeof digest);
    crypto_hash_sha256_init (&fake.upload);
    zactor_t *actor = zactor_new (s_fake_broker, &fake);
    char *port = zstr_recv (actor);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%s", port);
    free (port);

    char dir [256];
    const char *tmp = getenv ("TMPDIR");
    snprintf (dir, sizeof dir, "%s/test_client.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK (mkdtemp (dir));
    char data [300], model [300];
    snprintf (data, sizeof data, "%s/data.csv", dir);
    snprintf (model, sizeof model, "%s/model.safetensors", dir);
    FILE *file = fopen (data, "wb");
    CHECK (fwrite (fake.model, 1, FAKE_MODEL_SIZE, file) == FAKE_MODEL_SIZE);
    fclose (file);

    char hash [MT_HASH_HEX + 1];
    int64_t size = 0;
    char *cause = NULL;
    CHECK (blob_hash_file (data, hash, &size, &cause) == 0);
    CHECK (size == FAKE_MODEL_SIZE && strcmp (hash, fake.model_hash) == 0);
    CHECK (blob_hash_file ("/nonexistent/file", hash, &size, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "/nonexistent/file");

    conn_t *conn = conn_new (endpoint, 5000, &cause);
    CHECK (conn);
    CHECK_MSG (conn_upload (conn, data, fake.model_hash, FAKE_MODEL_SIZE, &cause) == 0, "%s", cause);
    CHECK (fake.chunks == 4 && fake.upload_next == FAKE_MODEL_SIZE);

    char *got_hash = NULL;
    CHECK_MSG (conn_fetch (conn, 7, model, &got_hash, &size, &cause) == 0, "%s", cause);
    CHECK (size == FAKE_MODEL_SIZE && strcmp (got_hash, fake.model_hash) == 0);
    free (got_hash);
    file = fopen (model, "rb");
    unsigned char *back = malloc (FAKE_MODEL_SIZE + 1);
    CHECK (fread (back, 1, FAKE_MODEL_SIZE + 1, file) == FAKE_MODEL_SIZE);
    CHECK (memcmp (back, fake.model, FAKE_MODEL_SIZE) == 0);
    fclose (file);
    free (back);
    //  An ERROR reply becomes the cause, and no temp file is left behind
    CHECK (conn_fetch (conn, 9, model, NULL, NULL, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "(not_found)");
    CHECK (strcmp (conn_error_code (conn), "not_found") == 0 && !conn_timed_out (conn));

    //  submit end to end against the fake: prints the id
    char *argv [] = { "mtclient", "--broker", endpoint, "submit", "--data", data, "--target", "y",
                      "--json", NULL };
    CHECK (cmd_main (9, argv) == CMD_EXIT_OK);
    CHECK (fake.chunks == 4);   // the probe found the blob: nothing sent again
    conn_destroy (&conn);
    zactor_destroy (&actor);

    unlink (data);
    unlink (model);
    CHECK_MSG (rmdir (dir) == 0, "temp files left in %s", dir);
    free (fake.model);
    free (cause);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_submit_every_flag ();
    test_submit_bad_flags ();
    test_numbers ();
    test_curve ();
    test_render_job ();
    test_usage ();
    test_no_broker ();
    test_transfers ();
    printf ("test_client: ok\n");
    return 0;
}
