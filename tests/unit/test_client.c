/*  test_client - mtclient without a broker: flags into specs, rendering, timeouts, transfers  */
#include "cmd.h"
#include "cmd_submit.h"
#include "conn.h"
#include "model.h"
#include "render.h"
#include "testbroker.h"

#include "mt/msg.h"
#include "mt/blob.h"
#include "mt/transfer.h"
#include "mt/util.h"

#include <czmq.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAKE_MODEL_SIZE (3 * MT_TRANSFER_CHUNK + 1234)     // bytes the fake broker serves

static void
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "wb");
    CHECK (file);
    CHECK (fwrite (text, 1, strlen (text), file) == strlen (text));
    fclose (file);
}

//  What fd 1 or 2 got while it pointed at path; caller frees.
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "rb");
    CHECK (file);
    char *text = calloc (1, 1 << 20);
    size_t got = fread (text, 1, (1 << 20) - 1, file);
    text [got] = 0;
    fclose (file);
    return text;
}

//  The file at path holds want, to the byte; line names the test's line.
static void
s_holds (const char *path, const char *want, int line)
{
    char *text = s_slurp (path);
    CHECK_MSG (streq (text, want), "line %d: %s holds '%s', not '%s'", line, path, text, want);
    free (text);
}

//  Run mtclient with argv (NULL-terminated, argv [0] "mtclient") and its
//  stdout and stderr in files. Returns the exit code; *out and *err (caller
//  frees) get what it printed.
static int
s_run (char **argv, char **out, char **err)
{
    int argc = 0;
    while (argv [argc])
        argc++;
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_client");
    const char *out_path = test_path (dir, "stdout"), *err_path = test_path (dir, "stderr");
    fflush (stdout);
    fflush (stderr);
    int saved_out = dup (1), saved_err = dup (2);
    int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK (saved_out >= 0 && saved_err >= 0 && out_fd >= 0 && err_fd >= 0);
    dup2 (out_fd, 1);
    dup2 (err_fd, 2);
    int code = cmd_main (argc, argv);
    fflush (stdout);
    fflush (stderr);
    dup2 (saved_out, 1);
    dup2 (saved_err, 2);
    close (saved_out);
    close (saved_err);
    close (out_fd);
    close (err_fd);
    *out = s_slurp (out_path);
    *err = s_slurp (err_path);
    unlink (out_path);
    unlink (err_path);
    CHECK (rmdir (dir) == 0);
    return code;
}

//  mtclient with these arguments must exit code, print one line on stderr
//  that holds needle, and nothing on stdout.
static void
s_exits (int code, const char *needle, char **argv)
{
    char *out = NULL, *err = NULL;
    int got = s_run (argv, &out, &err);
    CHECK_MSG (got == code, "'%s %s ...' exited %d, not %d: %s", argv [1], argv [2], got, code, err);
    CHECK_STR_CONTAINS (err, needle);
    CHECK_MSG (strchr (err, '\n') == err + strlen (err) - 1, "more than one line: %s", err);
    CHECK_STR_EQ (out, "");
    free (out);
    free (err);
}
#define EXITS(code, needle, ...) do { char *a_ [] = { "mtclient", __VA_ARGS__, NULL }; \
    s_exits (code, needle, a_); } while (0)

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
    PARSE_FAILS (true, "--lr: 'abc' is not a number", "--data", "d", "--target", "y", "--lr", "abc");
    PARSE_FAILS (true, "--lr", "--data", "d", "--target", "y", "--lr", "nan");
    PARSE_FAILS (true, "--lr", "--data", "d", "--target", "y", "--lr", "1e999");
    PARSE_FAILS (true, "--lr", "--data", "d", "--target", "y", "--lr", "-1");
    PARSE_FAILS (true, "--lr", "--data", "d", "--target", "y", "--lr", "0.1x");
    PARSE_FAILS (true, "--epochs: '1.5' is not a whole number", "--data", "d", "--target", "y",
                 "--epochs", "1.5");
    PARSE_FAILS (true, "--epochs", "--data", "d", "--target", "y", "--epochs", "0");
    PARSE_FAILS (true, "--batch-size", "--data", "d", "--target", "y", "--batch-size", "99999999999");
    PARSE_FAILS (true, "--seed", "--data", "d", "--target", "y", "--seed", "-1");
    PARSE_FAILS (true, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,,64");
    PARSE_FAILS (true, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,x");
    PARSE_FAILS (true, "--hidden", "--data", "d", "--target", "y", "--hidden", "64,0");
    PARSE_FAILS (true, "--features", "--data", "d", "--target", "y", "--features", "a,,b");
    PARSE_FAILS (true, "--features", "--data", "d", "--target", "y", "--features", "a,y");
    PARSE_FAILS (true, "--task: 'foo' is not one of", "--data", "d", "--target", "y", "--task", "foo");
    PARSE_FAILS (true, "--optimizer", "--data", "d", "--target", "y", "--optimizer", "rmsprop");
    PARSE_FAILS (true, "--activation", "--data", "d", "--target", "y", "--activation", "gelu");
    PARSE_FAILS (true, "--schedule", "--data", "d", "--target", "y", "--schedule", "step");
    PARSE_FAILS (true, "--format", "--data", "d", "--target", "y", "--format", "xml");
    PARSE_FAILS (true, "--momentum", "--data", "d", "--target", "y", "--momentum", "1.5");
    PARSE_FAILS (true, "--val-split", "--data", "d", "--target", "y", "--val-split", "0.95");
    PARSE_FAILS (true, "--nesterov", "--data", "d", "--target", "y", "--nesterov");
    PARSE_FAILS (true, "--patience", "--data", "d", "--target", "y", "--patience", "2",
                 "--val-split", "0");
    PARSE_FAILS (true, "--priority", "--data", "d", "--target", "y", "--priority", "5000");
    PARSE_FAILS (true, "--time-limit", "--data", "d", "--target", "y", "--time-limit", "-3");
    PARSE_FAILS (true, "--name", "--data", "d", "--target", "y", "--name", "a/b");
    PARSE_FAILS (true, "--key", "--data", "d", "--target", "y", "--key", "");
    PARSE_FAILS (true, "--target", "--data", "d");
    PARSE_FAILS (true, "--data-path", "--target", "y");
    PARSE_FAILS (true, "--data-path", "--data", "d", "--data-path", "p", "--target", "y");
    PARSE_FAILS (true, "--timeout", "--data", "d", "--target", "y", "--timeout", "0");
    //  Unknown options, missing values, stray operands
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
    //  A spec the spec module refuses is said to be so, not half read
    job = json_pack ("{sis{sisi}}", "id", 5, "spec", "epochs", 3, "bogus", 1);
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
                     "s{sss[ii]sssisfss} s[{sisssIsIsssi}] so}",
                     "id", 3, "name", "iris", "state", "succeeded", "attempt", 2,
                     "worker", "host:1", "created_at", (json_int_t) 1700000000000,
                     "started_at", (json_int_t) 1700000001000, "finished_at", (json_int_t) 1700000065000,
                     "progress", "epoch", 10, "epochs", 10, "step", 100, "steps", 100,
                     "loss", 0.1, "val_loss", 0.2, "val_metric", 0.9, "samples_per_sec", 1e4,
                     "eta_s", 0.0,
                     "metrics", "val_accuracy", 0.95, "loss", 0.05,
                     "error", "", "model_hash", "ab",
                     "spec", "task", "classification", "hidden", 8, 8, "optimizer", "adam",
                     "epochs", 10, "lr", 0.01, "target", "species",
                     "attempts", "attempt", 1, "worker", "host:0", "started_at", (json_int_t) 1700000000500,
                     "finished_at", (json_int_t) 1700000000900, "outcome", "worker_lost",
                     "resumed_from_epoch", 0,
                     "history", s_history (20, true));
    CHECK (job);
    json_object_set_new (json_object_get (job, "spec"), "data_hash", json_string (
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    render_job (out, job, true);
    line = render_progress (job, 10, true);
    CHECK_STR_CONTAINS (line, "100%");
    CHECK_STR_CONTAINS (line, "val_acc 0.9");
    free (line);
    //  With --metric, val_metric is that metric, and the line says which
    json_object_set_new (json_object_get (job, "spec"), "metric", json_string ("f1_macro"));
    line = render_progress (job, 10, true);
    CHECK_STR_CONTAINS (line, "val_f1 0.9");
    CHECK (!strstr (line, "val_acc"));
    free (line);
    json_object_del (json_object_get (job, "spec"), "metric");
    json_t *jobs = json_pack ("[o,{si}]", job, "id", 4);
    render_jobs (out, jobs);
    json_decref (jobs);
    json_t *workers = json_pack ("[{sssssssisisI},{}]", "name", "h:1", "host", "h", "state", "busy",
                                 "job", 3, "threads", 4, "last_seen_ms", (json_int_t) 250);
    CHECK (workers);
    render_workers (out, workers);
    json_decref (workers);
    fclose (out);
    CHECK_STR_CONTAINS (text, "  spec      (unreadable: spec has an unknown field 'bogus')\n");
    CHECK_STR_CONTAINS (text, "job 3  iris");
    //  The spec as the spec module reads it, its defaults filled in
    CHECK_STR_CONTAINS (text, "  spec      classification of 'species', hidden [8,8] relu, adam "
                        "lr 0.01, batch 16, 10 epochs\n  data      sha256 0123456789abcdef");
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

static void
test_no_broker (void)
{
    zsock_t *silent;
    char *endpoint = test_silent_endpoint (&silent);
    char *cause = NULL;
    conn_t *conn = conn_new (endpoint, 1000, &cause);
    CHECK (conn);
    mt_msg_t *request = mt_msg_new ("PING");
    mt_msg_t *reply = NULL;
    int64_t started = mt_mono_ms ();
    CHECK (conn_call (conn, &request, "PONG", &reply, &cause) == -1);
    int64_t took = mt_mono_ms () - started;
    //  It waited for the timeout (a lower bound, which load cannot break;
    //  a hang is caught by ctest's timeout, not by a clock here)
    CHECK_MSG (took >= 900, "gave up after %lld ms, before its 1 s timeout", (long long) took);
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


//  Endpoints refused before use, with the flag and what is wrong named
static void
test_endpoints (void)
{
    char *cause = NULL;
    const char *good [] = { "tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:65535",
                            "tcp://host.example:5556", "ipc://broker.sock", NULL };
    for (int i = 0; good [i]; i++)
        CHECK_MSG (mt_endpoint_check ("--broker", good [i], false, &cause) == 0, "%s", cause);
    CHECK (mt_endpoint_check ("--clients", "tcp://*:5555", true, &cause) == 0);
    struct { const char *endpoint; const char *said; } bad [] = {
        { "tcp://127.0.0.1:99999", "--broker: 'tcp://127.0.0.1:99999': port 99999 is out of range (1 to 65535)" },
        { "tcp://127.0.0.1:0", "port 0 is out of range (1 to 65535)" },
        { "tcp://127.0.0.1:", "'tcp://127.0.0.1:' has no port" },
        { "tcp://127.0.0.1", "'tcp://127.0.0.1' has no port" },
        { "tcp://:5555", "'tcp://:5555' has an empty host" },
        { "tcp://[]:5555", "has an empty host" },
        { "tcp://[::1]", "has no port" },
        { "tcp://::1:5555", "an IPv6 address goes in brackets" },
        { "tcp://h:55a5", "port '55a5' is not a number from 1 to 65535" },
        { "tcp://h:-1", "port '-1' is not a number" },
        { "tcp://h:99999999999999999999", "is not a number" },
        { "tcp://*:5555", "* (every interface) is for binding" },
        { "udp://127.0.0.1:5555", "unknown transport 'udp' (tcp and ipc are known)" },
        { "inproc://x", "unknown transport 'inproc'" },
        { "ipc://", "'ipc://' has no path" },
        { "127.0.0.1:5555", "'127.0.0.1:5555' is not an endpoint; give one like tcp://HOST:PORT" },
        { "", "is not an endpoint" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        CHECK_MSG (mt_endpoint_check ("--broker", bad [i].endpoint, false, &cause) == -1,
                   "'%s' was accepted", bad [i].endpoint);
        CHECK_STR_CONTAINS (cause, bad [i].said);
        CHECK_STR_CONTAINS (cause, "--broker");
    }
    char long_ipc [200];
    snprintf (long_ipc, sizeof long_ipc, "ipc://%0150d", 0);
    CHECK (mt_endpoint_check ("--workers", long_ipc, true, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "more than the 107");
    free (cause);
}

//  Output files as users mean them: a new file and a replaced one (0644
//  under the umask), a link's target replaced and the link kept (absolute,
//  relative, dangling, chained), a folder and a loop refused, a FIFO written
//  straight through, an abandoned output leaving the old bytes and no temp
static void
test_output (void)
{
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_output");
    const char *file = test_path (dir, "file"), *link = test_path (dir, "link"),
               *rel = test_path (dir, "rel"), *dangling = test_path (dir, "dangling"),
               *made = test_path (dir, "made"), *chain = test_path (dir, "chain"),
               *loop = test_path (dir, "loop"), *fifo = test_path (dir, "fifo"),
               *sub = test_path (dir, "sub"), *to_sub = test_path (dir, "to_sub");
    mode_t mask = umask (022);
    char *cause = NULL;
    CHECK_MSG (mt_output_file (file, "one", 3, &cause) == 0, "%s", cause);
    struct stat st;
    CHECK (stat (file, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0777) == 0644);
    umask (077);
    CHECK (mt_output_file (file, "two", 3, &cause) == 0);
    CHECK (stat (file, &st) == 0 && (st.st_mode & 0777) == 0600);
    umask (022);
    s_holds (file, "two", __LINE__);

    CHECK (symlink (file, link) == 0);
    CHECK (symlink ("file", rel) == 0);
    CHECK (symlink ("made", dangling) == 0);
    CHECK (symlink ("rel", chain) == 0);
    CHECK (mt_output_file (link, "three", 5, &cause) == 0);
    CHECK (lstat (link, &st) == 0 && S_ISLNK (st.st_mode));
    s_holds (file, "three", __LINE__);
    CHECK (mt_output_file (chain, "four", 4, &cause) == 0);
    CHECK (lstat (chain, &st) == 0 && S_ISLNK (st.st_mode));
    CHECK (lstat (rel, &st) == 0 && S_ISLNK (st.st_mode));
    s_holds (file, "four", __LINE__);
    CHECK (mt_output_file (dangling, "five", 4, &cause) == 0);
    CHECK (lstat (dangling, &st) == 0 && S_ISLNK (st.st_mode));
    s_holds (made, "five", __LINE__);

    //  Refused, whatever the output: nothing made
    CHECK (mkdir (sub, 0700) == 0);
    CHECK (mt_output_check (sub, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "is a folder; give a file name");
    CHECK (!mt_output_new (sub, &cause));
    CHECK (symlink ("sub", to_sub) == 0);
    CHECK (!mt_output_new (to_sub, &cause));
    CHECK_STR_CONTAINS (cause, "is a folder");
    CHECK (symlink ("loop", loop) == 0);
    CHECK (mt_output_check (loop, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "symbolic links in a row");
    CHECK (mt_output_check ("-", &cause) == 0);

    //  Abandoned: the old bytes stay, no temp file is left
    mt_output_t *output = mt_output_new (file, &cause);
    CHECK (output);
    CHECK (mt_output_write (output, "partial", 7, &cause) == 0);
    mt_output_destroy (&output);
    mt_output_destroy (&output);
    s_holds (file, "four", __LINE__);

    //  A FIFO is written into, not replaced (its reader opened first, so
    //  the writer's open does not wait)
    CHECK (mkfifo (fifo, 0600) == 0);
    int reader = open (fifo, O_RDONLY | O_NONBLOCK);
    CHECK (reader >= 0);
    CHECK (mt_output_file (fifo, "piped", 5, &cause) == 0);
    char buf [16] = "";
    CHECK (read (reader, buf, sizeof buf) == 5 && memcmp (buf, "piped", 5) == 0);
    close (reader);
    CHECK (lstat (fifo, &st) == 0 && S_ISFIFO (st.st_mode));
    umask (mask);

    const char *names [] = { "file", "link", "rel", "dangling", "made", "chain", "loop", "fifo",
                             "to_sub", NULL };
    for (int i = 0; names [i]; i++)
        CHECK (unlink (test_path (dir, names [i])) == 0);
    CHECK (rmdir (sub) == 0);
    CHECK_MSG (rmdir (dir) == 0, "temp files left in %s", dir);
    free (cause);
}

//  An undefined metric is null with its reason, shown as n/a (reason),
//  never as 0; a progress line without val_metric shows none
static void
test_undefined_metrics (void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    json_t *metrics = json_pack ("{sfsnsns{ss}}", "loss", 0.25, "val_metric", "train_metric",
                                 "undefined", "val_metric", "the validation split is empty");
    render_metrics (out, metrics);
    fclose (out);
    CHECK_STR_EQ (text, "loss 0.25  val_metric n/a (the validation split is empty)  "
                  "train_metric n/a (undefined for this split)");
    free (text);
    json_t *job = json_pack ("{sss{sisisisisfsn}so}", "state", "running", "progress", "epoch", 1,
                             "epochs", 4, "step", 10, "steps", 40, "loss", 0.5, "val_metric",
                             "metrics", metrics);
    char *line = render_progress (job, 0, false);
    CHECK_STR_EQ (line, "25%  epoch 1/4  step 10  loss 0.5");
    free (line);
    text = NULL;
    out = open_memstream (&text, &size);
    render_job (out, job, false);
    fclose (out);
    CHECK_STR_CONTAINS (text, "  metrics   loss 0.25  val_metric n/a (the validation split is empty)");
    CHECK (!strstr (text, "val_r2 0") && !strstr (text, "undefined -"));
    free (text);
    json_decref (job);
}

//  mtclient --json with argv: exit code, and one JSON line on stdout
//  {"error": {"code", "message"}} whose code is code_name and whose
//  message holds needle; nothing on stderr.
static void
s_exits_json (int code, const char *code_name, const char *needle, char **argv)
{
    char *out = NULL, *err = NULL;
    int got = s_run (argv, &out, &err);
    CHECK_MSG (got == code, "'%s %s ...' exited %d, not %d: %s", argv [1], argv [2], got, code, out);
    CHECK_MSG (strchr (out, '\n') == out + strlen (out) - 1, "not one line: %s", out);
    json_error_t error;
    json_t *doc = json_loads (out, 0, &error);
    CHECK_MSG (doc, "not JSON: %s", out);
    CHECK (json_object_size (doc) == 1 && json_object_size (json_object_get (doc, "error")) == 2);
    CHECK_STR_EQ (json_string_value (json_object_get (json_object_get (doc, "error"), "code")),
                  code_name);
    CHECK_STR_CONTAINS (json_string_value (json_object_get (json_object_get (doc, "error"),
                                                            "message")), needle);
    CHECK_MSG (!strstr (err, "mtclient:"), "text on stderr too: %s", err);
    json_decref (doc);
    free (out);
    free (err);
}
#define EXITS_JSON(code, name, needle, ...) do { \
    char *a_ [] = { "mtclient", __VA_ARGS__, NULL }; s_exits_json (code, name, needle, a_); \
    } while (0)

//  --json errors without a broker: usage errors anywhere on the line, a bad
//  endpoint, no broker
static void
test_json_errors (void)
{
    EXITS_JSON (2, "usage", "unknown command 'frobnicate'", "--json", "frobnicate");
    EXITS_JSON (2, "usage", "unknown command 'frobnicate'", "frobnicate", "--json");
    EXITS_JSON (2, "usage", "give a command", "--json");
    EXITS_JSON (2, "usage", "'abc' is not a job id", "status", "abc", "--json");
    EXITS_JSON (2, "usage", "--limit", "list", "--limit", "0", "--json");
    EXITS_JSON (2, "usage", "--timeout", "--timeout", "abc", "--json", "list");
    EXITS_JSON (2, "usage", "--reconnect", "watch", "3", "--reconnect", "-1", "--json");
    EXITS_JSON (2, "usage", "port 99999 is out of range (1 to 65535)", "--json", "--broker",
                "tcp://127.0.0.1:99999", "list");
    EXITS_JSON (2, "usage", "-o - writes the model to stdout", "fetch", "1", "-o", "-", "--json");
    EXITS (2, "--broker (or MT_BROKER): 'tcp://:5555' has an empty host", "--broker",
           "tcp://:5555", "status", "1");
    EXITS (2, "unknown transport 'http'", "--broker", "http://127.0.0.1:5555", "stop", "1");
    EXITS (2, "-o: . is a folder", "fetch", "1", "-o", ".");
    EXITS (2, "--out: . is a folder", "predict", "--model", (char *) test_data ("iris.csv"),
           "--data", (char *) test_data ("iris.csv"), "--out", ".");
    zsock_t *silent;
    char *endpoint = test_silent_endpoint (&silent);
    EXITS_JSON (3, "no_broker", "no answer from the broker", "--json", "--timeout", "0.5",
                "--broker", endpoint, "list");
    zsock_destroy (&silent);
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
    CHECK (cmd_main (3, badjob) == CMD_EXIT_USAGE);
    char *predict [] = { "mtclient", "predict", "--model", "/nonexistent/m", "--data", "/nonexistent/d", NULL };
    CHECK (cmd_main (6, predict) == CMD_EXIT_USAGE);
    for (const char *name = "submit"; name; name = NULL)
        CHECK (cmd_find (name) == &cmd_submit_entry);
    CHECK (cmd_find ("nope") == NULL);
}

//  Every value refused before a request is sent is a usage error (exit 2),
//  with one line naming what to fix; the help says so
static void
test_exit_codes (void)
{
    //  Nothing answers there: a request sent by mistake exits 3, not 2
    setenv ("MT_BROKER", "tcp://127.0.0.1:9", 1);
    char data [4096];
    snprintf (data, sizeof data, "%s", test_data ("sample_dataset.csv"));
    EXITS (2, "--hidden", "submit", "--data", data, "--target", "y", "--hidden", "abc");
    EXITS (2, "--hidden", "submit", "--data", data, "--target", "y", "--hidden", "64,,64");
    EXITS (2, "--lr", "submit", "--data", data, "--target", "y", "--lr", "-1");
    EXITS (2, "--lr", "submit", "--data", data, "--target", "y", "--lr", "0");
    EXITS (2, "--target", "submit", "--data", data);
    EXITS (2, "--data", "submit", "--target", "y");
    EXITS (2, "--epochs", "submit", "--data", data, "--target", "y", "--epochs", "0");
    EXITS (2, "nonexistent.csv", "submit", "--data", "/nonexistent.csv", "--target", "y");
    EXITS (2, "--target: no column 'z' in sample_dataset.csv; its columns are: x, y",
           "submit", "--data", data, "--target", "z");
    EXITS (2, "--features: no column 'nope' in sample_dataset.csv; its columns are: x, y",
           "submit", "--data", data, "--target", "y", "--features", "nope");
    EXITS (2, "'abc' is not a job id", "status", "abc");
    EXITS (2, "'0' is not a job id", "watch", "0");
    EXITS (2, "'x' is not a job id", "fetch", "x");
    EXITS (2, "--state: 'nope' is not one of", "list", "--state", "nope");
    EXITS (2, "--limit: 0 is out of range", "list", "--limit", "0");
    EXITS (2, "--timeout: 0 is out of range", "list", "--timeout", "0");
    EXITS (2, "--timeout: 'abc' is not a number", "--timeout", "abc", "list");
    EXITS (2, "--timeout: 'abc' is not a number", "workers", "--timeout", "abc");
    //  So is a connection that cannot be set up (tests/integration/test_keys.sh)
    EXITS (2, "--broker", "--broker", "nonsense", "list");
    EXITS (2, "--broker-key", "list", "--cert", "/nonexistent/alice_secret");
    EXITS (2, "is not a key name", "keygen", ".hidden");
    EXITS (2, "sample_dataset.csv: not a safetensors file", "predict", "--model", data,
           "--data", data);
    unsetenv ("MT_BROKER");

    char *help [] = { "mtclient", "help", NULL };
    char *out = NULL, *err = NULL;
    CHECK (s_run (help, &out, &err) == 0);
    CHECK_STR_CONTAINS (out, "  1  the work failed: the broker answered with an error");
    CHECK_STR_CONTAINS (out, "  2  a usage error, refused before anything is sent or written");
    CHECK_STR_CONTAINS (out, "a bad value of an option or argument");
    CHECK_STR_CONTAINS (out, "  3  no answer from the broker within --timeout");
    free (out);
    free (err);
}

//  The table flags reach the spec; the spec's rules on them are usage
//  errors; a column they name that the data's header lacks is one too
static void
test_submit_table_flags (void)
{
    client_t client;
    mt_spec_t spec;
    submit_opts_t opts;
    PARSE_OK ("--data", "t.csv", "--target", "y", "--categorical", "pclass,year",
              "--numeric", "age", "--ignore", "id,name", "--na-values", ",-,missing",
              "--max-categories", "5", "--on-missing-target", "error");
    CHECK (spec.n_categorical == 2 && strcmp (spec.categorical [1], "year") == 0);
    CHECK (spec.n_numeric == 1 && strcmp (spec.numeric [0], "age") == 0);
    CHECK (spec.n_ignore == 2 && strcmp (spec.ignore [1], "name") == 0);
    CHECK (spec.n_na_values == 3 && strcmp (spec.na_values [0], "") == 0
           && strcmp (spec.na_values [2], "missing") == 0);
    CHECK (spec.max_categories == 5 && spec.on_missing_target == MT_MISSING_TARGET_ERROR);
    mt_spec_clear (&spec);
    PARSE_OK ("--data", "t.csv", "--target", "y", "--on-missing-target", "skip");
    CHECK (spec.on_missing_target == MT_MISSING_TARGET_SKIP && spec.max_categories == 64);
    CHECK (spec.categorical == NULL && spec.na_values == NULL);
    mt_spec_clear (&spec);

    PARSE_FAILS (true, "--max-categories", "--data", "d", "--target", "y", "--max-categories", "0");
    PARSE_FAILS (true, "--max-categories", "--data", "d", "--target", "y",
                 "--max-categories", "65537");
    PARSE_FAILS (true, "--max-categories", "--data", "d", "--target", "y", "--max-categories", "x");
    PARSE_FAILS (true, "--on-missing-target: 'drop' is not one of skip, error", "--data", "d",
                 "--target", "y", "--on-missing-target", "drop");
    PARSE_FAILS (true, "column 'a' is in both categorical (--categorical) and numeric (--numeric)",
                 "--data", "d", "--target", "y", "--categorical", "a", "--numeric", "a");
    PARSE_FAILS (true, "ignore (--ignore) names the target 'y'", "--data", "d", "--target", "y",
                 "--ignore", "y");
    PARSE_FAILS (true, "--categorical", "--data", "d", "--target", "y", "--categorical", "a,,b");
    PARSE_FAILS (true, "na_values (--na-values) lists 'NA' twice", "--data", "d",
                 "--target", "y", "--na-values", "NA,NA");
    PARSE_FAILS (true, "ignore (--ignore) cannot be given with features (--features)",
                 "--data", "d", "--target", "y", "--features", "a,b", "--ignore", "c");

    //  Against the data's header
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_client");
    const char *data = test_path (dir, "t.csv");
    FILE *f = fopen (data, "w");
    CHECK (f);
    fprintf (f, "id,pclass,age,y\n1,3,22,0\n2,1,,1\n");
    fclose (f);
    struct { const char *flag, *needle; } cases [] = {
        { "--categorical", "--categorical: no column 'nope' in t.csv; its columns are: id, pclass, age, y" },
        { "--numeric", "--numeric: no column 'nope' in t.csv" },
        { "--ignore", "--ignore: no column 'nope' in t.csv" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        PARSE_OK ("--data", data, "--target", "y", cases [i].flag, "nope");
        char *cause = NULL;
        CHECK (submit_check_data (&client, &spec, &opts, &cause) == -1);
        CHECK_STR_CONTAINS (cause, cases [i].needle);
        CHECK (client.usage_error);
        free (cause);
        mt_spec_clear (&spec);
    }
    PARSE_OK ("--data", data, "--target", "y", "--categorical", "pclass", "--numeric", "age",
              "--ignore", "id");
    char *cause = NULL;
    CHECK_MSG (submit_check_data (&client, &spec, &opts, &cause) == 0, "%s", cause);
    CHECK (spec.format == MT_FORMAT_CSV);
    mt_spec_clear (&spec);
    test_remove_dir (dir);
    printf ("submit table flags: ok\n");
}

//  A column missing from a data file is named with the file's columns, the
//  first CMD_COLUMNS_SHOWN of them
static void
test_require_column (void)
{
    char *names [1000], *cause = NULL;
    for (int i = 0; i < 1000; i++)
        CHECK (asprintf (&names [i], "col%04d", i) > 0);
    dataset_columns_t columns = { MT_FORMAT_CSV, names, 1000 };
    CHECK (cmd_require_column (&columns, "/d/wide.csv", "--target", "col0999", &cause) == 0);
    CHECK (cause == NULL);
    CHECK (cmd_require_column (&columns, "/d/wide.csv", "--target", "z", &cause) == -1);
    CHECK_STR_CONTAINS (cause, "--target: no column 'z' in wide.csv; its columns are: col0000, "
                        "col0001, ");
    CHECK_STR_CONTAINS (cause, ", col0019, ... (1000 in all)");
    CHECK (!strstr (cause, "col0020"));
    free (cause);
    cause = NULL;
    columns.count = 2;
    CHECK (cmd_require_column (&columns, "d.csv", "--features", "y", &cause) == -1);
    CHECK_STR_EQ (cause, "--features: no column 'y' in d.csv; its columns are: col0000, col0001");
    free (cause);
    for (int i = 0; i < 1000; i++)
        free (names [i]);

    //  Only what a reader would be left: a pipe is special, a file or a folder not
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_client");
    const char *fifo = test_path (dir, "fifo.csv");
    CHECK (mkfifo (fifo, 0600) == 0);
    CHECK (cmd_special_file (fifo));
    CHECK (!cmd_special_file (dir) && !cmd_special_file (test_path (dir, "none.csv")));
    unlink (fifo);
    CHECK (rmdir (dir) == 0);
}

//  Characters on screen of a UTF-8 line.
static int
s_screen_width (const char *text)
{
    int width = 0;
    for (; *text; text++)
        width += (*text & 0xc0) != 0x80;
    return width;
}

//  Every part of line after its percent is a whole part of full.
static void
s_whole_parts (const char *line, const char *full)
{
    const char *p = strchr (line, '%');
    CHECK (p);
    for (p = strstr (p, "  "); p; ) {
        const char *next = strstr (p + 2, "  ");
        size_t len = next ? (size_t) (next - p) : strlen (p);
        char part [128];
        snprintf (part, sizeof part, "%.*s", (int) len, p);
        const char *at = strstr (full, part);
        CHECK_MSG (at && (at [len] == 0 || at [len] == ' '), "'%s' is cut in '%s'", part, line);
        p = next;
    }
}

static void
test_progress_fit (void)
{
    json_t *job = json_pack ("{sss{sisisisisfsfsfsfsf}s{ss}}", "state", "running", "progress",
                             "epoch", 37, "epochs", 100, "step", 12345, "steps", 40000,
                             "loss", 0.0123456, "val_loss", 0.0234567, "val_metric", 0.95678,
                             "samples_per_sec", 123456.0, "eta_s", 65.0,
                             "spec", "task", "classification");
    json_object_set_new (json_object_get (job, "spec"), "target", json_string ("y"));
    json_object_set_new (json_object_get (job, "spec"), "data_path", json_string ("d.csv"));
    CHECK (job);
    for (int utf8 = 0; utf8 < 2; utf8++) {
        char *full = render_progress (job, RENDER_BAR_MAX, utf8);
        CHECK (s_screen_width (full) > 79);
        int widths [] = { 500, 132, 100, 79, 70, 60, 45, 30, 12, 3 };
        for (size_t i = 0; i < sizeof widths / sizeof widths [0]; i++) {
            char *line = render_progress_fit (job, widths [i], utf8);
            CHECK (line);
            CHECK_MSG (s_screen_width (line) <= widths [i] || strcmp (line, "31%") == 0,
                       "%d columns: '%s'", widths [i], line);
            s_whole_parts (line, full);
            if (widths [i] == 500)
                CHECK_STR_EQ (line, full);
            if (widths [i] == 79) {
                //  An 80-column terminal shows what matters most, the bar too
                CHECK_STR_CONTAINS (line, "[");
                CHECK_STR_CONTAINS (line, "31%  epoch 37/100");
                CHECK_STR_CONTAINS (line, "loss 0.01235");
                CHECK_STR_CONTAINS (line, "val_acc 0.9568");
                CHECK_STR_CONTAINS (line, "ETA 1m05s");
            }
            free (line);
        }
        free (full);
    }
    //  Without a bar: the plain line for logs and pipes
    char *plain = render_progress (job, 0, false);
    CHECK_MSG (strncmp (plain, "31%  epoch 37/100  step 12345  loss", 35) == 0, "%s", plain);
    CHECK (!strchr (plain, '['));
    free (plain);
    json_decref (job);

    if (!isatty (STDOUT_FILENO)) {
        setenv ("COLUMNS", "100", 1);
        CHECK (cmd_terminal_width () == 99);
        setenv ("COLUMNS", "wide", 1);
        CHECK (cmd_terminal_width () == 79);
        unsetenv ("COLUMNS");
        CHECK (cmd_terminal_width () == 79);
    }
}

//  A model with zero weights (so every row gets the same prediction).
static void
s_write_model (const char *path, const char *const *classes, int n_classes)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.data_path = strdup ("rows.csv");
    spec.target = strdup ("y");
    spec.task = n_classes ? MT_TASK_CLASSIFICATION : MT_TASK_REGRESSION;
    spec.n_hidden = 1;
    spec.hidden [0] = 3;
    const char *features [] = { "x" };
    char *cause = NULL;
    model_t *model = model_new (&spec, features, 1, "y", classes, n_classes, 8, &cause);
    CHECK_MSG (model && model_save (model, path, &cause) == 0, "%s", cause);
    model_destroy (&model);
    mt_spec_clear (&spec);
}

//  submit_check_data on dir/name (written with text) and the flags after
//  it: 0, or -1 with a usage error whose cause holds needle
static void
s_check_submit (const char *needle, const char **args)
{
    client_t client;
    mt_spec_t spec;
    submit_opts_t opts;
    char *cause = NULL;
    CHECK_MSG (s_parse (&client, &spec, &opts, &cause, args) == 0, "%s", cause);
    int rc = submit_check_data (&client, &spec, &opts, &cause);
    if (needle) {
        CHECK_MSG (rc == -1, "expected a failure with '%s'", needle);
        CHECK_STR_CONTAINS (cause, needle);
        CHECK (client.usage_error);
    }
    else
        CHECK_MSG (rc == 0, "%s", cause);
    free (cause);
    mt_spec_clear (&spec);
}
#define CHECK_SUBMIT(needle, ...) do { const char *a_ [] = { __VA_ARGS__, NULL }; \
    s_check_submit (needle, a_); } while (0)

//  What submit can tell of --val-data, --init and --ignore from the files
//  is refused there (exit 2), not left for the worker to fail the job on
static void
test_submit_check_files (void)
{
    char dir [256], data [300], val [300], init [300], big [300], ids [300];
    test_temp_dir (dir, sizeof dir, "test_client");
    snprintf (data, sizeof data, "%s/t.csv", dir);
    snprintf (val, sizeof val, "%s/v.csv", dir);
    snprintf (init, sizeof init, "%s/x.safetensors", dir);
    snprintf (big, sizeof big, "%s/big.csv", dir);
    snprintf (ids, sizeof ids, "%s/ids.csv", dir);
    s_write_file (data, "x,z,y\n1,5,2\n2,6,3\n3,7,4\n");

    //  --val-data: the target, every input, readable text, the same format
    s_write_file (val, "x,z,y\n1,5,2\n");
    CHECK_SUBMIT (NULL, "--data", data, "--target", "y", "--val-data", val);
    s_write_file (val, "x,y\n1,2\n");
    CHECK_SUBMIT ("--val-data: no column 'z' in v.csv; its columns are: x, y",
                  "--data", data, "--target", "y", "--val-data", val);
    CHECK_SUBMIT (NULL, "--data", data, "--target", "y", "--val-data", val, "--ignore", "z");
    s_write_file (val, "x,z\n1,5\n");
    CHECK_SUBMIT ("--val-data: no column 'y' in v.csv", "--data", data, "--target", "y",
                  "--val-data", val);
    s_write_file (val, "a,b,c\n1,2,3\n");
    CHECK_SUBMIT ("--val-data: no column 'y' in v.csv", "--data", data, "--target", "y",
                  "--features", "x", "--val-data", val);
    s_write_file (val, "x,y\n1,2\n");
    CHECK_SUBMIT ("--val-data: no column 'z' in v.csv", "--data", data, "--target", "y",
                  "--features", "x,z", "--val-data", val);
    CHECK_SUBMIT ("--val-data: no column 'z' in v.csv", "--data-path", "/shared/t.csv",
                  "--target", "y", "--features", "z", "--val-data", val);
    FILE *f = fopen (val, "wb");
    CHECK (f);
    static const char utf16 [] = "\xff\xfex\0,\0y\0\n\0";
    CHECK (fwrite (utf16, 1, sizeof utf16 - 1, f) == sizeof utf16 - 1);    // UTF-16
    fclose (f);
    CHECK_SUBMIT ("--val-data: ", "--data", data, "--target", "y", "--val-data", val);
    snprintf (val, sizeof val, "%s/v.jsonl", dir);
    s_write_file (val, "{\"x\": 1, \"z\": 5, \"y\": 2}\n");
    CHECK_SUBMIT ("--val-data: v.jsonl reads as jsonl, but the training data as csv",
                  "--data", data, "--target", "y", "--val-data", val);
    //  A column the worker leaves out (all distinct text: an id) need not be there
    s_write_file (ids, "x,name,y\n1,ann,2\n2,bob,3\n3,cy,4\n4,di,5\n");
    snprintf (val, sizeof val, "%s/v.csv", dir);
    s_write_file (val, "x,y\n1,2\n");
    CHECK_SUBMIT (NULL, "--data", ids, "--target", "y", "--val-data", val);

    //  --ignore of every input; a table of the target alone
    CHECK_SUBMIT ("--ignore: it leaves no feature column in t.csv, only the target 'y'",
                  "--data", data, "--target", "y", "--ignore", "x,z");
    s_write_file (val, "y\n1\n2\n");
    CHECK_SUBMIT ("--data: v.csv has no column but the target 'y'", "--data", val,
                  "--target", "y");

    //  --init: x.safetensors reads x alone (numeric), hidden 3
    s_write_model (init, NULL, 0);
    s_write_file (big, "x,y\n1,2\n2,3\n3,4\n");
    CHECK_SUBMIT (NULL, "--data", big, "--target", "y", "--hidden", "3", "--init", init);
    CHECK_SUBMIT ("has hidden layers '3', but this job's --hidden is '8'", "--data", big,
                  "--target", "y", "--hidden", "8", "--init", init);
    CHECK_SUBMIT ("has hidden layers '3', but this job's --hidden is '16'", "--data-path",
                  "/shared/t.csv", "--target", "y", "--init", init);
    CHECK_SUBMIT ("inputs and classes are matched by name, and these differ: {'z'} only in"
                  " this job's data; (columns)", "--data", data, "--target", "y",
                  "--hidden", "3", "--init", init);
    CHECK_SUBMIT (NULL, "--data", data, "--target", "y", "--hidden", "3", "--ignore", "z",
                  "--init", init);
    CHECK_SUBMIT (NULL, "--data", ids, "--target", "y", "--hidden", "3", "--init", init);
    CHECK_SUBMIT ("'x' is categorical here but numeric in the init model (--categorical,"
                  " --numeric);", "--data", big, "--target", "y", "--hidden", "3",
                  "--categorical", "x", "--init", init);
    CHECK_SUBMIT ("'x' is categorical here but numeric in the init model", "--data", data,
                  "--target", "y", "--hidden", "3", "--categorical", "x", "--ignore", "z",
                  "--init", init);

    unlink (data);
    unlink (val);
    unlink (init);
    unlink (big);
    unlink (ids);
    snprintf (val, sizeof val, "%s/v.jsonl", dir);
    unlink (val);
    CHECK_MSG (rmdir (dir) == 0, "temp files left in %s", dir);
    printf ("submit checks --val-data, --init and --ignore against the files: ok\n");
}

static void
test_predict_json (void)
{
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_client");
    char regression [300], classes [300], data [300], nox [300], bad [300], out_path [300];
    snprintf (regression, sizeof regression, "%s/r.safetensors", dir);
    snprintf (classes, sizeof classes, "%s/c.safetensors", dir);
    snprintf (data, sizeof data, "%s/rows.csv", dir);
    snprintf (nox, sizeof nox, "%s/nox.csv", dir);
    snprintf (bad, sizeof bad, "%s/bad.csv", dir);
    snprintf (out_path, sizeof out_path, "%s/out.json", dir);
    s_write_model (regression, NULL, 0);
    const char *names [] = { "a \"quoted\" one", "b,c" };
    s_write_model (classes, names, 2);
    s_write_file (data, "x,z\n1,a\n2,b\n3,c\n");
    s_write_file (nox, "z\n1\n");
    s_write_file (bad, "x\n1\nabc\n");

    //  Regression, to stdout: the CSV's column and one list per row
    char *out = NULL, *err = NULL;
    char *argv [] = { "mtclient", "predict", "--model", regression, "--data", data, "--json", NULL };
    CHECK_MSG (s_run (argv, &out, &err) == CMD_EXIT_OK, "%s", err);
    json_error_t error;
    json_t *doc = json_loads (out, 0, &error);
    CHECK_MSG (doc, "not JSON (%s): %s", error.text, out);
    json_t *want = json_pack ("[s]", "prediction");
    CHECK (json_equal (json_object_get (doc, "columns"), want));
    json_decref (want);
    json_t *rows = json_object_get (doc, "predictions");
    CHECK (json_array_size (rows) == 3);
    CHECK (json_array_size (json_array_get (rows, 2)) == 1
           && json_is_number (json_array_get (json_array_get (rows, 2), 0)));
    json_decref (doc);
    free (out);
    free (err);

    //  Classification, to a file: label and a probability per class
    char *to_file [] = { "mtclient", "predict", "--json", "--model", classes, "--data", data,
                         "--out", out_path, NULL };
    CHECK_MSG (s_run (to_file, &out, &err) == CMD_EXIT_OK, "%s", err);
    CHECK_STR_EQ (out, "");
    doc = json_load_file (out_path, 0, &error);
    CHECK_MSG (doc, "not JSON: %s", error.text);
    want = json_pack ("[sss]", "label", "p_a \"quoted\" one", "p_b,c");
    CHECK (json_equal (json_object_get (doc, "columns"), want));
    json_decref (want);
    rows = json_object_get (doc, "predictions");
    CHECK (json_array_size (rows) == 3);
    json_t *row = json_array_get (rows, 0);
    CHECK (json_array_size (row) == 3 && json_is_string (json_array_get (row, 0)));
    CHECK_NEAR (json_number_value (json_array_get (row, 1))
                + json_number_value (json_array_get (row, 2)), 1, 1e-6);
    json_decref (doc);
    free (out);
    free (err);
    unlink (out_path);

    //  Refused before predicting (exit 2): not a model, no feature column;
    //  a bad row is found while predicting (exit 1)
    EXITS (2, "rows.csv: not a safetensors file", "predict", "--model", data,
           "--data", data);
    EXITS (2, "--data: no column 'x' in nox.csv; its columns are: z", "predict", "--model",
           regression, "--data", nox);
    EXITS (1, "bad.csv:3: column 'x'", "predict", "--model", regression, "--data", bad);
    unlink (regression);
    unlink (classes);
    unlink (data);
    unlink (nox);
    unlink (bad);
    CHECK (rmdir (dir) == 0);
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
    int polls;                  // STATUS requests for job 12
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
    if (job == 8)
        return mt_msg_error ("bad_state", "job 8 is failed and has no model yet");
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

//  STATUS: job 8 failed, job 11 succeeded, job 12 runs for three polls
//  (the first before any progress report), then succeeds.
static mt_msg_t *
s_fake_status (s_fake_t *fake, mt_msg_t *request)
{
    int64_t id = 0;
    CHECK (mt_msg_get_int (request, "job", 1, INT64_MAX, &id, NULL) == 0);
    json_t *job = json_pack ("{sisiss}", "id", (int) id, "attempt", 1, "worker", "h:1");
    json_object_set_new (job, "spec", json_pack ("{sssissss}", "task", "regression", "epochs", 100,
                                                 "target", "y", "data_path", "d.csv"));
    const char *state = id == 8 ? "failed" : id == 11 ? "succeeded" : "running";
    if (id == 8)
        json_object_set_new (job, "error", json_string ("d.csv:3: column 'y': 'abc' is not a number"));
    if (id == 12) {
        int n = fake->polls++;
        state = n < 3 ? "running" : "succeeded";
        json_object_set_new (job, "progress", n == 0 ? json_null ()
                           : json_pack ("{sisisisisf}", "epoch", n, "epochs", 100, "step", n * 10,
                                        "steps", 1000, "loss", 0.5 / n));
    }
    json_object_set_new (job, "state", json_string (state));
    json_object_set_new (job, "metrics", json_pack ("{sf}", "loss", 0.125));
    mt_msg_t *reply = mt_msg_new ("JOB");
    json_object_set_new (mt_msg_body (reply), "job", job);
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
        else
        if (mt_msg_is (request, "STATUS"))
            reply = s_fake_status (fake, request);
        else
        if (mt_msg_is (request, "LIST"))   // as the broker's workers socket answers
            reply = mt_msg_error ("bad_command", "unknown command LIST on the workers socket");
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

//  Messages that say what to do: a job that ended without a model, a client
//  pointed at the workers socket
static void
s_fake_messages (const char *endpoint, const char *dir)
{
    char *broker = (char *) endpoint;
    char *model = (char *) test_path (dir, "none.safetensors");
    EXITS (1, "job 8 ended without a model (it is failed: d.csv:3: column 'y': 'abc' is not a "
           "number); there is nothing to fetch", "--broker", broker, "fetch", "8", "-o", model);
    char hint [512];
    snprintf (hint, sizeof hint, "%s is the broker's workers socket, not its clients socket (it "
              "answered 'unknown command LIST on the workers socket'); point --broker (or "
              "MT_BROKER) at its clients socket (default tcp://127.0.0.1:5555, mtbroker "
              "--clients)", endpoint);
    EXITS (1, hint, "--broker", broker, "list");
    EXITS_JSON (1, "wrong_socket", "is the broker's workers socket", "--broker", broker, "list",
                "--json");
    EXITS_JSON (1, "bad_state", "job 8 ended without a model", "--json", "--broker", broker,
                "fetch", "8", "-o", model);
    EXITS_JSON (1, "not_found", "(not_found)", "--json", "--broker", broker, "fetch", "9", "-o",
                model);
}

//  watch with stdout not a terminal: a job over at the first look prints its
//  final line only; a running one prints plain lines, no bar, nothing before
//  the first progress report
static void
s_fake_watch (const char *endpoint)
{
    char *out = NULL, *err = NULL;
    char *ended [] = { "mtclient", "--broker", (char *) endpoint, "watch", "11", NULL };
    CHECK (s_run (ended, &out, &err) == CMD_EXIT_OK);
    CHECK_MSG (strncmp (out, "job 11 succeeded in ", 20) == 0 && s_count_lines (out) == 1,
               "watch of an ended job printed:\n%s", out);
    free (out);
    free (err);
    char *running [] = { "mtclient", "--broker", (char *) endpoint, "watch", "12", NULL };
    CHECK (s_run (running, &out, &err) == CMD_EXIT_OK);
    CHECK_MSG (!strchr (out, '[') && !strstr (out, "epoch 0/") && !strchr (out, '\r'),
               "watch into a file drew a bar:\n%s", out);
    CHECK_STR_CONTAINS (out, "job 12: running (attempt 1, worker h:1)\n1%  epoch 1/100  step 10  loss 0.5\n");
    CHECK_STR_CONTAINS (out, "job 12: succeeded (attempt 1, worker h:1)\njob 12 succeeded in ");
    free (out);
    free (err);
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

    //  submit end to end against the fake: prints the id (the fake holds
    //  every blob after the first upload, so the probe finds this one too)
    char table [300];
    snprintf (table, sizeof table, "%s/table.csv", dir);
    file = fopen (table, "wb");
    fputs ("x,y\n1,2\n", file);
    fclose (file);
    char *argv [] = { "mtclient", "--broker", endpoint, "submit", "--data", table, "--target", "y",
                      "--json", NULL };
    CHECK (cmd_main (9, argv) == CMD_EXIT_OK);
    CHECK (fake.chunks == 4);   // the probe found the blob: nothing sent again
    unlink (table);
    s_fake_messages (endpoint, dir);
    s_fake_watch (endpoint);
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
    test_submit_table_flags ();
    test_numbers ();
    test_curve ();
    test_render_job ();
    test_usage ();
    test_exit_codes ();
    test_require_column ();
    test_progress_fit ();
    test_predict_json ();
    test_submit_check_files ();
    test_no_broker ();
    test_transfers ();
    test_endpoints ();
    test_output ();
    test_undefined_metrics ();
    test_json_errors ();
    printf ("test_client: ok\n");
    return 0;
}
