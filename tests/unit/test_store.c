/*  test_store - the job store: insert, start, attempts, progress, keys, retries, faults, migration  */
#include "testutil.h"
#include "store.h"
#include "mt/util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

static const char *s_spec = "{\"target\":\"y\",\"data_path\":\"/x.csv\"}";

static int
s_fault_on (void *arg)
{
    return *(int *) arg;
}

static int64_t
s_insert (store_t *store, int priority, int64_t created, const char *key)
{
    bool existing;
    return store_job_insert (store, s_spec, NULL, NULL, priority, 3, key, NULL, created, &existing);
}

//  The queued jobs as store_queued_load reports them: a sum of ids and a count
typedef struct {
    int64_t ids, count;
    char client [64];
} queued_t;

static int
s_queued (void *arg, int64_t id, int priority, int64_t created_at, int64_t not_before,
          const char *client)
{
    queued_t *q = arg;
    q->ids += id;
    q->count++;
    snprintf (q->client, sizeof q->client, "%s", client);
    return 0;
}

//  The first column of the first row of query on the database at path, as
//  text ("" when there is none).
static void
s_query (const char *path, const char *query, char *out, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    out [0] = 0;
    CHECK (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK (sqlite3_prepare_v2 (db, query, -1, &stmt, NULL) == SQLITE_OK);
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0))
        snprintf (out, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
}

static queued_t
s_load (store_t *store)
{
    queued_t q = { 0 };
    CHECK (store_queued_load (store, s_queued, &q) == 0);
    return q;
}

//  A job's field as a string ("" when null or not a string)
static const char *
s_field_str (json_t *job, const char *field)
{
    const char *text = json_string_value (json_object_get (job, field));
    return text ? text : "";
}

//  An attempt's field as a string ("" when null), i counting from 0
static const char *
s_attempt_str (json_t *job, size_t i, const char *field)
{
    const char *text = json_string_value (json_object_get (
        json_array_get (json_object_get (job, "attempts"), i), field));
    return text ? text : "";
}

static int64_t
s_attempt_int (json_t *job, size_t i, const char *field)
{
    return json_integer_value (json_object_get (
        json_array_get (json_object_get (job, "attempts"), i), field));
}

//  Jobs start once, from queued only; the queued ones are what the broker loads
static void
test_start (store_t *store)
{
    int64_t now = 10 * 60000;
    CHECK (store_begin (store) == 0);
    int64_t low = s_insert (store, 0, now, NULL);
    int64_t high = s_insert (store, 5, now, NULL);
    CHECK (store_commit (store) == 0);
    queued_t q = s_load (store);
    CHECK (q.count == 2 && q.ids == low + high);
    CHECK (store_job_take (store, high, "w1", now, NULL) == 1);
    CHECK (store_job_take (store, high, "w1", now, NULL) == -1);   // not queued any more
    store_job_t job;
    CHECK (store_job_take (store, low, "w2", now + 5, &job) == 1);
    CHECK (job.id == low && job.attempt == 1 && job.started_at == now + 5);
    CHECK (job.spec && strcmp (job.spec, s_spec) == 0 && job.checkpoint_hash [0] == 0);
    store_job_clear (&job);
    CHECK (store_job_get (store, low, &job) == 0);
    CHECK (job.priority == 0 && job.created_at == now);
    CHECK (strcmp (job.state, "running") == 0 && strcmp (job.worker, "w2") == 0);
    store_job_clear (&job);
    CHECK (store_job_take (store, low, "w2", now, &job) == -1);
    CHECK (s_load (store).count == 0);
}

static void
test_keys_and_retries (store_t *store)
{
    bool existing;
    int64_t a = store_job_insert (store, s_spec, "named", NULL, 0, 2, "key-1", "alice", 1000, &existing);
    CHECK (a > 0 && !existing);
    int64_t b = store_job_insert (store, s_spec, "named", NULL, 0, 2, "key-1", "alice", 2000, &existing);
    CHECK (b == a && existing);
    queued_t q = s_load (store);
    CHECK (q.count == 1 && q.ids == a && strcmp (q.client, "alice") == 0);
    //  Out of the queue on start, back on requeue; two lost attempts count
    //  against max_retries, a drained one does not
    CHECK (store_job_take (store, a, "w1", 3000, NULL) == 1);
    CHECK (s_load (store).count == 0);
    CHECK (store_job_requeue (store, a, 1, "worker_lost", 5000, 4000, NULL) == 0);
    CHECK (s_load (store).count == 1);
    CHECK (store_job_take (store, a, "w2", 5000, NULL) == 2);
    CHECK (store_job_requeue (store, a, 2, "drained", 0, 6000, NULL) == 0);
    CHECK (store_job_failures (store, a) == 1);
    store_job_t job;
    CHECK (store_job_get (store, a, &job) == 0);
    CHECK (strcmp (job.state, "queued") == 0 && job.attempt == 2 && job.started_at == 3000);
    CHECK (job.not_before == 0 && job.created_at == 1000 && strcmp (job.client, "alice") == 0);
    store_job_clear (&job);
    json_t *json = store_job_json (store, a, true);
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK (strcmp (json_string_value (json_object_get (json, "name")), "named") == 0);
    json_decref (json);
    CHECK (store_job_json (store, 999999, false) == NULL);
    //  A stop while queued ends no attempt: the last one keeps its outcome
    CHECK (store_job_finish (store, a, 2, "stopped", "stopped", NULL, "stopped", NULL, 7000,
                             NULL) == 0);
    json = store_job_json (store, a, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "stopped");
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK_STR_EQ (s_attempt_str (json, 1, "outcome"), "drained");
    json_decref (json);
}

//  The running attempt is described by the job until it ends, then by its
//  own row; the latest progress is the newest report of the history
static void
test_attempts_and_progress (store_t *store)
{
    int64_t id = s_insert (store, 0, 100, NULL);
    CHECK (store_job_requeue (store, id, 0, "drained", 0, 150, NULL) == 0);   // not running
    CHECK (store_job_take (store, id, "w1", 200, NULL) == 1);
    CHECK (store_job_checkpoint (store, id, 1, "c1", 2) == 0);
    //  Lost: the next attempt resumes from epoch 2
    CHECK (store_job_requeue (store, id, 1, "worker_lost", 0, 300, NULL) == 0);
    store_job_t job;
    CHECK (store_job_take (store, id, "w2", 400, &job) == 2);
    CHECK (job.checkpoint_epoch == 2 && strcmp (job.checkpoint_hash, "c1") == 0);
    CHECK (job.started_at == 200);                                  // the first start
    store_job_clear (&job);
    store_run_t run;
    CHECK (store_job_run (store, id, 1, &run) == 1);                // not the running one
    CHECK (store_job_run (store, id, 2, &run) == 0);
    CHECK (strcmp (run.worker, "w2") == 0 && run.started_at == 400 && run.resumed_from_epoch == 2);
    json_t *json = store_job_json (store, id, true);
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK_STR_EQ (s_attempt_str (json, 0, "worker"), "w1");
    CHECK_STR_EQ (s_attempt_str (json, 0, "outcome"), "worker_lost");
    CHECK (s_attempt_int (json, 0, "started_at") == 200 && s_attempt_int (json, 0, "finished_at") == 300);
    CHECK_STR_EQ (s_attempt_str (json, 1, "worker"), "w2");
    CHECK (json_is_null (json_object_get (json_array_get (json_object_get (json, "attempts"), 1),
                                          "outcome")));
    CHECK (s_attempt_int (json, 1, "started_at") == 400);
    CHECK (s_attempt_int (json, 1, "resumed_from_epoch") == 2);
    CHECK (json_is_null (json_object_get (json_object_get (json, "progress"), "epoch")));
    json_decref (json);
    //  Two reports: the job shows the second, the history both
    store_progress_t p = { .epoch = 3, .epochs = 10, .step = 30, .steps = 100, .loss = 0.5,
                           .val_loss = NAN, .val_metric = NAN, .samples_per_sec = 1000,
                           .eta_s = 7 };
    CHECK (store_job_progress (store, id, 2, &p, 500) == 0);
    p.epoch = 4, p.step = 40, p.loss = 0.25, p.eta_s = 6;
    CHECK (store_job_progress (store, id, 2, &p, 600) == 0);
    json = store_job_json (store, id, true);
    json_t *progress = json_object_get (json, "progress");
    CHECK (json_integer_value (json_object_get (progress, "epoch")) == 4);
    CHECK (json_integer_value (json_object_get (progress, "epochs")) == 10);
    CHECK (json_integer_value (json_object_get (progress, "steps")) == 100);
    CHECK (json_real_value (json_object_get (progress, "loss")) == 0.25);
    CHECK (json_real_value (json_object_get (progress, "eta_s")) == 6);
    CHECK (json_is_null (json_object_get (progress, "val_loss")));
    CHECK (json_array_size (json_object_get (json, "history")) == 2);
    json_decref (json);
    //  Done, with what the caller knows of the attempt; a second end of the
    //  ended job changes nothing
    mt_strlcpy (run.worker, "w2", sizeof run.worker);
    CHECK (store_job_finish (store, id, 2, "succeeded", "succeeded", "{\"loss\":0.25}", NULL,
                             "m", 700, &run) == 0);
    CHECK (store_job_finish (store, id, 2, "stopped", "stopped", NULL, NULL, NULL, 800,
                             &run) == 0);
    CHECK (store_job_requeue (store, id, 2, "worker_lost", 0, 800, &run) == 0);
    json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "succeeded");
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK_STR_EQ (s_attempt_str (json, 1, "outcome"), "succeeded");
    CHECK (s_attempt_int (json, 1, "started_at") == 400 && s_attempt_int (json, 1, "finished_at") == 700);
    CHECK (json_integer_value (json_object_get (json_object_get (json, "progress"), "epoch")) == 4);
    json_decref (json);
    //  An end that names another attempt changes nothing
    CHECK (store_job_finish (store, id, 1, "failed", "failed", NULL, "x", NULL, 900, &run) == 0);
    json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "succeeded");
    CHECK_STR_EQ (s_attempt_str (json, 0, "outcome"), "worker_lost");
    json_decref (json);
}

//  A failing disk: writes fail, the commit fails and changes nothing, reads go on
static void
test_faults (store_t *store)
{
    int fault = 0;
    store_set_fault (store, s_fault_on, &fault);
    json_t *before = store_job_list (store, NULL, 1000);
    CHECK (store_begin (store) == 0);
    int64_t id = s_insert (store, 0, 1, NULL);
    CHECK (id > 0);
    fault = 1;
    CHECK (store_commit (store) == -1);
    json_t *after = store_job_list (store, NULL, 1000);
    CHECK (json_array_size (after) == json_array_size (before));
    CHECK (store_job_json (store, id, false) == NULL);
    json_decref (after);
    CHECK (store_begin (store) == 0);
    CHECK (s_insert (store, 0, 1, NULL) == -1);
    store_rollback (store);
    fault = 0;
    CHECK (store_begin (store) == 0);
    CHECK (s_insert (store, 0, 1, NULL) > 0);
    CHECK (store_commit (store) == 0);
    after = store_job_list (store, NULL, 1000);
    CHECK (json_array_size (after) == json_array_size (before) + 1);
    json_decref (after);
    json_decref (before);
    store_set_fault (store, NULL, NULL);
}

//  A database made by the first schema (tests/unit/store_v1.sql) is migrated
//  through every step: its jobs, ended attempts, running attempt, latest
//  progress, keys and queue are all still there, in the current layout
static void
test_migration (const char *dir)
{
    char path [256], fixture [4096];
    snprintf (path, sizeof path, "%s/v1.db", dir);
    snprintf (fixture, sizeof fixture, "%s/tests/unit/store_v1.sql",
              getenv ("MT_SOURCE_DIR") ? getenv ("MT_SOURCE_DIR") : ".");
    FILE *file = fopen (fixture, "r");
    CHECK_MSG (file, "%s: %s", fixture, strerror (errno));
    static char sql [16384];
    size_t size = fread (sql, 1, sizeof sql - 1, file);
    fclose (file);
    CHECK (size > 0 && size < sizeof sql - 1);
    sql [size] = 0;
    sqlite3 *db;
    CHECK (sqlite3_open (path, &db) == SQLITE_OK);
    CHECK_MSG (sqlite3_exec (db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg (db));
    sqlite3_close (db);

    char *cause = NULL;
    store_t *store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    queued_t q = s_load (store);
    CHECK (q.count == 2 && q.ids == 3 + 4 && strcmp (q.client, "") == 0);
    bool existing = false;
    CHECK (store_job_insert (store, s_spec, "keyed", NULL, 0, 2, "key-1", "alice", 3000,
                             &existing) == 3 && existing);          // keys still found
    //  The succeeded job: its attempt, metrics and last report
    json_t *json = store_job_json (store, 1, true);
    CHECK_STR_EQ (s_field_str (json, "state"), "succeeded");
    CHECK (json_array_size (json_object_get (json, "attempts")) == 1);
    CHECK_STR_EQ (s_attempt_str (json, 0, "outcome"), "succeeded");
    json_t *progress = json_object_get (json, "progress");
    CHECK (json_integer_value (json_object_get (progress, "epoch")) == 2);
    CHECK (json_integer_value (json_object_get (progress, "epochs")) == 2);
    CHECK (json_real_value (json_object_get (progress, "samples_per_sec")) == 400.0);
    CHECK (json_array_size (json_object_get (json, "history")) == 2);
    CHECK (json_real_value (json_object_get (json_object_get (json, "metrics"), "loss")) == 0.5);
    json_decref (json);
    //  The running job: one ended attempt, the running one now in its row
    json = store_job_json (store, 2, false);
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK_STR_EQ (s_attempt_str (json, 0, "outcome"), "worker_lost");
    CHECK_STR_EQ (s_attempt_str (json, 1, "worker"), "h:2");
    CHECK (s_attempt_int (json, 1, "started_at") == 5000);
    CHECK (s_attempt_int (json, 1, "resumed_from_epoch") == 3);
    progress = json_object_get (json, "progress");
    CHECK (json_integer_value (json_object_get (progress, "epoch")) == 4);
    CHECK (json_integer_value (json_object_get (progress, "steps")) == 100);
    CHECK (json_real_value (json_object_get (progress, "val_metric")) == 0.75);
    CHECK (json_real_value (json_object_get (progress, "eta_s")) == 12.5);
    json_decref (json);
    //  ... which ends as any running attempt does
    CHECK (store_job_finish (store, 2, 2, "succeeded", "succeeded", NULL, NULL, "m", 6000,
                             NULL) == 0);
    json = store_job_json (store, 2, false);
    CHECK_STR_EQ (s_attempt_str (json, 1, "outcome"), "succeeded");
    CHECK (s_attempt_int (json, 1, "started_at") == 5000);
    CHECK (s_attempt_int (json, 1, "finished_at") == 6000);
    json_decref (json);
    store_destroy (&store);

    char text [512];
    s_query (path, "SELECT count(*) FROM jobs", text, sizeof text);
    CHECK_STR_EQ (text, "4");
    s_query (path, "SELECT count(*) FROM attempts", text, sizeof text);
    CHECK_STR_EQ (text, "3");
    s_query (path, "PRAGMA user_version", text, sizeof text);
    CHECK (atoi (text) >= 5);
    //  Attempts keyed by (job, attempt), keys indexed where set, no
    //  progress columns in the job row
    s_query (path, "SELECT sql FROM sqlite_master WHERE name = 'attempts'", text, sizeof text);
    CHECK_STR_CONTAINS (text, "WITHOUT ROWID");
    s_query (path, "SELECT sql FROM sqlite_master WHERE name = 'jobs_key'", text, sizeof text);
    CHECK_STR_CONTAINS (text, "WHERE key IS NOT NULL");
    s_query (path, "SELECT count(*) FROM pragma_table_info ('jobs') WHERE name = 'loss'",
             text, sizeof text);
    CHECK_STR_EQ (text, "0");
}

int
main (void)
{
    char dir [] = "/tmp/mt-store.XXXXXX";
    CHECK (mkdtemp (dir));
    char path [256];
    snprintf (path, sizeof path, "%s/mt.db", dir);
    char *cause = NULL;
    store_t *store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    test_start (store);
    test_keys_and_retries (store);
    test_attempts_and_progress (store);
    test_faults (store);
    store_destroy (&store);
    //  Reopening finds the schema and the jobs
    store = store_open (path, &cause);
    CHECK (store);
    json_t *list = store_job_list (store, NULL, 1000);
    CHECK (json_array_size (list) == 5);
    json_decref (list);
    store_destroy (&store);
    store_destroy (&store);
    test_migration (dir);
    //  A database from a newer mt is refused
    char cmd [512];
    snprintf (cmd, sizeof cmd, "sqlite3 %s 'PRAGMA user_version = 99'", path);
    CHECK (system (cmd) == 0);
    CHECK (store_open (path, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "schema version 99");
    free (cause);
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK (system (cmd) == 0);
    printf ("test_store: ok\n");
    return 0;
}
