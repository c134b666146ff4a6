/*  test_board - a sweep's leaderboard in a broker against a reference sort: best values kept at each trial's end, read live while it runs, dropped when a resumed trial reports again, and rebuilt by the migration to schema 12  */
#include "testbroker.h"
#include "testmodel.h"
#include "mt/msg.h"

#include <czmq.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>

#define S_BASE "{\"target\": \"y\", \"data_path\": \"/d.csv\", \"val_split\": 0.2, \"epochs\": 3}"
#define S_TRIALS 8
#define S_EPOCHS 3

//  The reference, by trial number - 1: each trial's job, the value it
//  reported at each epoch (NAN: none), and whether it succeeded
static int64_t s_job [S_TRIALS];
static double s_value [S_TRIALS][S_EPOCHS + 1];
static bool s_succeeded [S_TRIALS];

static void
s_forget (int trial)
{
    for (int e = 0; e <= S_EPOCHS; e++)
        s_value [trial][e] = NAN;
}

//  Trial's best value (NAN: none) and the first epoch that reached it
static double
s_best (int trial, int *epoch)
{
    double best = NAN;
    *epoch = 0;
    for (int e = 1; e <= S_EPOCHS; e++)
        if (!isnan (s_value [trial][e]) && (isnan (best) || s_value [trial][e] < best)) {
            best = s_value [trial][e];
            *epoch = e;
        }
    return best;
}

//  The reference order: best value first (lower is better), none last, then by trial
static int
s_order (const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b, e;
    double bx = s_best (x, &e), by = s_best (y, &e);
    if (isnan (bx) != isnan (by))
        return isnan (bx) ? 1 : -1;
    if (!isnan (bx) && bx != by)
        return bx < by ? -1 : 1;
    return x - y;
}

//  Whether the broker's leaderboard (limit trials, 0: all) is the
//  reference's; if not, why says how it differs
static bool
s_board_is (zsock_t *client, int limit, char *why, size_t size)
{
    int order [S_TRIALS];
    for (int i = 0; i < S_TRIALS; i++)
        order [i] = i;
    qsort (order, S_TRIALS, sizeof order [0], s_order);
    char body [64];
    snprintf (body, sizeof body, limit ? "{\"sweep\": 1, \"limit\": %d}" : "{\"sweep\": 1}", limit);
    mt_msg_t *reply = test_peer_call (client, "SWEEP_STATUS", body);
    CHECK_MSG (mt_msg_is (reply, "SWEEP"), "%s", mt_json_compact (mt_msg_body (reply)));
    json_t *sweep = json_object_get (mt_msg_body (reply), "sweep");
    json_t *trials = json_object_get (sweep, "trials");
    int shown = limit ? limit : S_TRIALS;
    bool same = (int) json_array_size (trials) == shown
             && json_integer_value (json_object_get (sweep, "more")) == S_TRIALS - shown;
    if (!same)
        snprintf (why, size, "%zu trials, more %lld", json_array_size (trials),
                  (long long) json_integer_value (json_object_get (sweep, "more")));
    for (int i = 0; same && i < shown; i++) {
        json_t *trial = json_array_get (trials, (size_t) i);
        int want = order [i], epoch;
        double best = s_best (want, &epoch);
        json_t *metric = json_object_get (trial, "best_metric");
        same = json_integer_value (json_object_get (trial, "trial")) == want + 1
            && (isnan (best) ? json_is_null (metric)
                : json_is_number (metric) && json_number_value (metric) == best)
            && json_integer_value (json_object_get (trial, "best_epoch")) == epoch;
        if (!same) {
            char *text = mt_json_compact (trials);
            snprintf (why, size, "place %d should be trial %d (best %g at epoch %d): %s", i,
                      want + 1, best, epoch, text);
            free (text);
        }
    }
    //  The sweep's best: the best of those that succeeded with a value
    int want = -1, epoch;
    for (int i = 0; i < S_TRIALS && want < 0; i++)
        if (s_succeeded [order [i]] && !isnan (s_best (order [i], &epoch)))
            want = order [i];
    json_t *best = json_object_get (sweep, "best");
    if (same) {
        same = want < 0 ? json_is_null (best)
             : json_integer_value (json_object_get (best, "job")) == s_job [want]
               && json_number_value (json_object_get (best, "best_metric"))
                  == s_best (want, &epoch);
        if (!same) {
            char *text = mt_json_compact (best);
            snprintf (why, size, "best %s, not trial %d's", text, want + 1);
            free (text);
        }
    }
    mt_msg_destroy (&reply);
    return same;
}

//  The leaderboard, whole and its best 3, must come to be the reference's
//  (the worker's reports reach the broker on a connection of their own)
static void
s_check (zsock_t *client, int line)
{
    char why [8192] = "";
    int64_t deadline = zclock_mono () + TEST_PEER_WAIT_MS;
    while (!(s_board_is (client, 0, why, sizeof why) && s_board_is (client, 3, why, sizeof why))
           && zclock_mono () < deadline)
        zclock_sleep (10);
    CHECK_MSG (s_board_is (client, 0, why, sizeof why) && s_board_is (client, 3, why, sizeof why),
               "line %d: %s", line, why);
}

//  The next ASSIGN must be for trial's job (its number in *attempt)
static void
s_assigned (zsock_t *worker, int trial, int *attempt, int line)
{
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, line);
    int64_t job = 0, n = 0;
    CHECK (mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, NULL) == 0);
    CHECK (mt_msg_get_int (msg, "attempt", 1, 1000, &n, NULL) == 0);
    mt_msg_destroy (&msg);
    if (!s_job [trial])
        s_job [trial] = job;
    CHECK_MSG (job == s_job [trial], "line %d: ASSIGN of job %lld, not trial %d's %lld", line,
               (long long) job, trial, (long long) s_job [trial]);
    *attempt = (int) n;
}

//  An epoch end of trial, with value as its val_loss (NAN: none)
static void
s_epoch (zsock_t *worker, int trial, int attempt, int epoch, double value)
{
    char body [400], loss [64] = "";
    if (!isnan (value))
        snprintf (loss, sizeof loss, ", \"val_loss\": %.17g", value);
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": %d, \"epoch\": %d, \"epochs\": %d,"
              " \"step\": %d, \"steps\": %d, \"loss\": 0.5%s, \"metrics\": {}}",
              (long long) s_job [trial], attempt, epoch, S_EPOCHS, epoch, S_EPOCHS, loss);
    test_peer_send (worker, "PROGRESS", body, NULL, 0);
    s_value [trial][epoch] = value;
}

//  Trial's job ends: DONE (with a model in the DONE), FAILED or STOPPED
static void
s_end (zsock_t *worker, zsock_t *client, int trial, int attempt, const char *how)
{
    char body [400];
    if (streq (how, "DONE")) {
        size_t size;
        char *model = test_model_bytes (S_BASE, 3, &size);
        unsigned char digest [crypto_hash_sha256_BYTES];
        crypto_hash_sha256 (digest, (const unsigned char *) model, size);
        char hash [65];
        sodium_bin2hex (hash, sizeof hash, digest, sizeof digest);
        snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": %d, \"model_hash\": \"%s\","
                  " \"metrics\": {\"loss\": 0.5}}", (long long) s_job [trial], attempt, hash);
        test_peer_send (worker, "DONE", body, model, size);
        free (model);
        s_succeeded [trial] = true;
        return;
    }
    if (streq (how, "FAILED")) {
        snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": %d, \"reason\": \"bad\","
                  " \"retryable\": false}", (long long) s_job [trial], attempt);
        test_peer_send (worker, "FAILED", body, NULL, 0);
        return;
    }
    snprintf (body, sizeof body, "{\"job\": %lld}", (long long) s_job [trial]);
    mt_msg_t *reply = test_peer_call (client, "STOP", body);
    CHECK_MSG (mt_msg_is (reply, "JOB"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    mt_msg_t *stop = test_peer_expect (worker, "STOP", NULL, __LINE__);
    mt_msg_destroy (&stop);
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": %d}", (long long) s_job [trial],
              attempt);
    test_peer_send (worker, "STOPPED", body, NULL, 0);
}

static zsock_t *
s_worker (const char *endpoint)
{
    zsock_t *worker = test_peer_dealer (endpoint);
    test_peer_send (worker, "HELLO", "{\"name\": \"w1\", \"host\": \"h\", \"version\": \"t\","
                    " \"pid\": 1, \"cores\": 1, \"threads\": 1}", NULL, 0);
    mt_msg_t *welcome = test_peer_expect (worker, "WELCOME", NULL, __LINE__);
    mt_msg_destroy (&welcome);
    return worker;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    for (int t = 0; t < S_TRIALS; t++)
        s_forget (t);
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "board", &config);
    config.heartbeat_ms = 100;
    config.liveness = 600;              // the test's worker sends no heartbeats
    broker_t *broker = test_broker_new (&config);
    pthread_t thread;
    test_broker_start (broker, &thread);
    zsock_t *client = test_peer_dealer (paths.clients);

    //  Eight trials, one at a time (in trial order), no early stopping
    mt_msg_t *reply = test_peer_call (client, "SWEEP", "{\"spec\": " S_BASE ", \"params\":"
                                      " [\"lr=0.1|0.2|0.3|0.4|0.5|0.6|0.7|0.8\"], \"search\":"
                                      " \"grid\", \"parallel\": 1, \"early_stop\": \"none\"}");
    CHECK_MSG (mt_msg_is (reply, "SWEPT"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    s_check (client, __LINE__);
    zsock_t *worker = s_worker (paths.workers);
    int attempt;
    //  Each row: the values at epochs 1 to 3 (NAN: none reported, 0: the
    //  epoch not reached) and how the job ends
    const struct { double v [S_EPOCHS]; const char *end; } plan [] = {
        { { 0.5, 0.3, 0.4 }, "DONE" },          // best at its second epoch
        { { 0.3, 0.3, 0.6 }, "DONE" },          // ties trial 0: after it, by trial
        { { NAN, NAN, NAN }, "DONE" },          // succeeded with no value: last
        { { 0.2, 0.25, 0 }, "FAILED" },
        { { 0.9, 0.1, 0 }, "STOPPED" },
        { { 0.35, 0.32, 0.31 }, "DONE" },
        { { 0.05, 0, 0 }, NULL },               // left running: its live value ranks it
    };
    for (int t = 0; t < (int) (sizeof plan / sizeof plan [0]); t++) {
        s_assigned (worker, t, &attempt, __LINE__);
        for (int e = 1; e <= S_EPOCHS && plan [t].v [e - 1] != 0; e++) {
            s_epoch (worker, t, attempt, e, plan [t].v [e - 1]);
            s_check (client, __LINE__);
        }
        if (plan [t].end) {
            s_end (worker, client, t, attempt, plan [t].end);
            s_check (client, __LINE__);
        }
    }
    printf ("board: a running trial ranks by its live best, the ended by the best kept\n");
    //  The running trial stopped, the last one runs and succeeds
    s_end (worker, client, 6, 1, "STOPPED");
    s_assigned (worker, 7, &attempt, __LINE__);
    s_epoch (worker, 7, attempt, 1, 0.6);
    s_end (worker, client, 7, attempt, "DONE");
    s_check (client, __LINE__);

    //  Resumed, the failed trial runs again from its start: until it
    //  reports, it keeps its best (0.2); its epochs reported again replace
    //  the old ones, so its best gets worse, and it is kept so at its end
    reply = test_peer_call (client, "SWEEP_RESUME", "{\"sweep\": 1}");
    CHECK_MSG (mt_msg_is (reply, "SWEEP"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    s_assigned (worker, 3, &attempt, __LINE__);
    CHECK (attempt == 2);
    s_check (client, __LINE__);
    s_epoch (worker, 3, attempt, 1, 0.7);
    s_check (client, __LINE__);     // 0.25 now, its old second epoch's
    s_epoch (worker, 3, attempt, 2, 0.8);
    s_check (client, __LINE__);     // 0.7: below every other trial that has a value
    s_epoch (worker, 3, attempt, 3, 0.65);
    s_end (worker, client, 3, attempt, "DONE");
    s_check (client, __LINE__);
    printf ("board: a resumed trial's epochs reported again replace its kept best\n");
    reply = test_peer_call (client, "SWEEP_STOP", "{\"sweep\": 1}");
    CHECK_MSG (mt_msg_is (reply, "SWEEP"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    mt_msg_t *msg = test_peer_expect (worker, "ASSIGN", NULL, __LINE__);    // trial 4's rerun
    mt_msg_destroy (&msg);
    msg = test_peer_expect (worker, "STOP", NULL, __LINE__);
    mt_msg_destroy (&msg);
    char body [128];
    snprintf (body, sizeof body, "{\"job\": %lld, \"attempt\": 2}", (long long) s_job [4]);
    test_peer_send (worker, "STOPPED", body, NULL, 0);
    s_check (client, __LINE__);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    test_broker_stop (&broker, thread);

    //  A database of schema 11 (no kept bests) migrates to the same board
    sqlite3 *db;
    CHECK (sqlite3_open (paths.db, &db) == SQLITE_OK);
    CHECK (sqlite3_exec (db, "DROP TABLE sweep_best; PRAGMA user_version = 11", NULL, NULL,
                         NULL) == SQLITE_OK);
    sqlite3_close (db);
    broker = test_broker_new (&config);
    test_broker_start (broker, &thread);
    client = test_peer_dealer (paths.clients);
    s_check (client, __LINE__);
    zsock_destroy (&client);
    test_broker_stop (&broker, thread);
    CHECK (sqlite3_open (paths.db, &db) == SQLITE_OK);
    sqlite3_stmt *stmt;
    CHECK (sqlite3_prepare_v2 (db, "SELECT count(*), sum(succeeded) FROM sweep_best", -1, &stmt,
                               NULL) == SQLITE_OK);
    CHECK (sqlite3_step (stmt) == SQLITE_ROW);
    CHECK_MSG (sqlite3_column_int (stmt, 0) == S_TRIALS && sqlite3_column_int (stmt, 1) == 6,
               "kept after the migration: %d, succeeded %d", sqlite3_column_int (stmt, 0),
               sqlite3_column_int (stmt, 1));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    printf ("board: the migration to schema 12 keeps every ended trial's best\n");
    test_broker_remove (&paths);
    printf ("test_board: ok\n");
    return 0;
}
