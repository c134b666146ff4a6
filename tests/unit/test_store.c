/*  test_store - the job store: insert, start, attempts, progress, keys, retries, faults, migration  */
#include "testutil.h"
#include "store.h"
#include "store_pages.h"
#include "mt/util.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

//  Workers that start jobs here: a name, no instance id, no key
static const store_worker_t s_w = { "w", "", "local" };
static const store_worker_t s_w1 = { "w1", "", "local" };
static const store_worker_t s_w2 = { "w2", "", "local" };

#define S_INIT_HASH "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static mt_spec_t s_spec;            // a plain spec, set up by main
static char *s_spec_json;           // ... as the store writes it

static int
s_fault_on (void *arg)
{
    return *(int *) arg;
}

static int64_t
s_insert (store_t *store, int priority, int64_t created, const char *key)
{
    bool existing;
    mt_spec_t spec = s_spec;        // a shallow copy: the store only reads it
    spec.priority = priority;
    return store_job_insert (store, &spec, NULL, key, NULL, created, &existing);
}

//  End job id's attempt as a broker would; the job's row must change or not as changed says
static void
s_end (store_t *store, int64_t id, int attempt, store_end_t end, bool changed)
{
    bool did = !changed;
    CHECK (store_job_end (store, id, attempt, &end, &did) == 0);
    CHECK_MSG (did == changed, "job %lld attempt %d to %s", (long long) id, attempt,
               job_state_name (end.state));
}

//  A pruned trial whose attempt finished before its STOP came keeps that
//  attempt's model, once; no other job takes a model this way
static void
test_keep_model (store_t *store)
{
    int64_t id = s_insert (store, 0, 100, NULL);
    CHECK (store_job_take (store, id, &s_w, 200, NULL) == 1);
    CHECK (store_begin (store) == 0);
    CHECK (store_job_keep_model (store, id, 1, "m1") == 0);        // running: not pruned
    s_end (store, id, 1, (store_end_t) { .state = JOB_PRUNED, .outcome = "pruned",
                                         .error = "pruned by ASHA", .now_ms = 300 }, true);
    CHECK (store_job_keep_model (store, id, 2, "m1") == 0);        // another attempt
    CHECK (store_job_keep_model (store, id, 1, "m1") == 1);
    CHECK (store_job_keep_model (store, id, 1, "m2") == 0);        // one model
    CHECK (store_commit (store) == 0);
    store_job_t job;
    CHECK (store_job_get (store, id, &job) == 0);
    CHECK (job.state == JOB_PRUNED);
    CHECK_STR_EQ (job.model_hash, "m1");
    store_job_clear (&job);
    CHECK (store_blob_in_use (store, "m1"));
}

static void
s_count_blob (const char *hash, void *arg)
{
    CHECK (strlen (hash) == 2);
    (*(int *) arg)++;
}

//  Blobs in the database: stored with the transaction's commit (or not at
//  all when it rolls back), read in slices at any offset, listed by age,
//  deleted once
static void
test_blobs (store_t *store)
{
    unsigned char bytes [3000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes [i] = (unsigned char) (i * 7);
    CHECK (store_begin (store) == 0);
    CHECK (store_blob_put (store, "b1", bytes, sizeof bytes, 1000) == 0);
    CHECK (store_blob_put (store, "b1", "other", 5, 2000) == 0);      // kept as it was
    CHECK (store_commit (store) == 0);
    //  A transaction that fails takes its blob with it
    CHECK (store_begin (store) == 0);
    CHECK (store_blob_put (store, "b2", bytes, 10, 1000) == 0);
    CHECK (store_blob_has (store, "b2", NULL));
    store_abort (store);
    CHECK (store_commit (store) == -1);
    CHECK (!store_blob_has (store, "b2", NULL));
    int64_t size = 0;
    CHECK (store_blob_has (store, "b1", &size) && size == (int64_t) sizeof bytes);
    unsigned char buf [4096];
    size_t got = 0;
    char *cause = NULL;
    CHECK (store_blob_read (store, "b1", 0, buf, sizeof buf, &got, &cause) == 0);
    CHECK (got == sizeof bytes && memcmp (buf, bytes, got) == 0);
    CHECK (store_blob_read (store, "b1", 2990, buf, 100, &got, &cause) == 0);
    CHECK (got == 10 && memcmp (buf, bytes + 2990, 10) == 0);
    CHECK (store_blob_read (store, "b1", 100, buf, 7, &got, &cause) == 0);
    CHECK (got == 7 && memcmp (buf, bytes + 100, 7) == 0);
    CHECK (store_blob_read (store, "b1", 3000, buf, 7, &got, &cause) == 0 && got == 0);
    CHECK (store_blob_read (store, "b9", 0, buf, 7, &got, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "blob b9 is not stored");
    free (cause);
    int older = 0;
    CHECK (store_blobs_older (store, 1001, s_count_blob, &older) == 1 && older == 1);
    CHECK (store_blobs_older (store, 1000, s_count_blob, &older) == 0 && older == 1);
    CHECK (store_begin (store) == 0);
    CHECK (store_blob_delete (store, "b1") == 1);
    CHECK (store_blob_delete (store, "b1") == 0);
    CHECK (store_commit (store) == 0);
    CHECK (!store_blob_has (store, "b1", NULL));
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

//  The rows of query on the database at path, one line each, their columns
//  joined by spaces and white space folded to one space ("" when none).
//  Caller frees.
static char *
s_query_all (const char *path, const char *query)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    CHECK (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_MSG (sqlite3_prepare_v2 (db, query, -1, &stmt, NULL) == SQLITE_OK, "%s",
               sqlite3_errmsg (db));
    size_t size = 0;
    char *text = NULL;
    FILE *out = open_memstream (&text, &size);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        for (int col = 0; col < sqlite3_column_count (stmt); col++) {
            const char *value = (const char *) sqlite3_column_text (stmt, col);
            bool space = col > 0;
            for (const char *c = value ? value : ""; *c; c++)
                if (isspace ((unsigned char) *c))
                    space = true;
                else {
                    if (space)
                        fputc (' ', out);
                    fputc (*c, out);
                    space = false;
                }
        }
        fputc ('\n', out);
    }
    fclose (out);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return text;
}

//  The first column of the first row of query on the database at path, as
//  text ("" when there is none).
static void
s_query (const char *path, const char *query, char *out, size_t size)
{
    char *text = s_query_all (path, query);
    text [strcspn (text, " \n")] = 0;
    snprintf (out, size, "%s", text);
    free (text);
}

//  The schema of the database at path, normalized: one line for every object,
//  table, column, foreign key, index, index column, and the text of every
//  index, trigger and view (SQLite keeps a table's text as the statements
//  that made it wrote it, so tables are compared by what their pragmas say).
//  Two databases with the same text have the same schema. Caller frees.
static char *
s_schema_text (const char *path)
{
    return s_query_all (path,
        "SELECT printf ('object %s %s on %s', type, name, tbl_name) FROM sqlite_schema"
        " UNION ALL SELECT printf ('table %s without rowid %d strict %d', name, wr, strict)"
        "  FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite%'"
        " UNION ALL SELECT printf ('column %s %d %s %s not null %d default %s pk %d hidden %d',"
        "  m.name, c.cid, c.name, c.type, c.\"notnull\", coalesce (c.dflt_value, '-'), c.pk,"
        "  c.hidden) FROM sqlite_schema m, pragma_table_xinfo (m.name) c WHERE m.type = 'table'"
        " UNION ALL SELECT printf ('foreign key %s %d %d %s -> %s (%s) %s %s %s', m.name, f.id,"
        "  f.seq, f.\"from\", f.\"table\", coalesce (f.\"to\", '-'), f.on_update, f.on_delete,"
        "  f.\"match\") FROM sqlite_schema m, pragma_foreign_key_list (m.name) f"
        "  WHERE m.type = 'table'"
        " UNION ALL SELECT printf ('index %s on %s unique %d origin %s partial %d', l.name, m.name,"
        "  l.\"unique\", l.origin, l.partial)"
        "  FROM sqlite_schema m, pragma_index_list (m.name) l WHERE m.type = 'table'"
        " UNION ALL SELECT printf ('index column %s %d %d %s desc %d %s key %d', l.name, x.seqno,"
        "  x.cid, coalesce (x.name, '-'), x.\"desc\", x.coll, x.\"key\") FROM sqlite_schema m,"
        "  pragma_index_list (m.name) l, pragma_index_xinfo (l.name) x WHERE m.type = 'table'"
        " UNION ALL SELECT printf ('text %s %s: %s', type, name, replace (sql, '\"', ''))"
        "  FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL"
        " ORDER BY 1");
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
    CHECK (store_job_take (store, high, &s_w1, now, NULL) == 1);
    CHECK (store_job_take (store, high, &s_w1, now, NULL) == -1);   // not queued any more
    store_job_t job;
    CHECK (store_job_take (store, low, &s_w2, now + 5, &job) == 1);
    CHECK (job.id == low && job.attempt == 1 && job.started_at == now + 5);
    CHECK (job.state == JOB_RUNNING);
    CHECK (job.spec && strcmp (job.spec, s_spec_json) == 0 && job.checkpoint_hash [0] == 0);
    CHECK (job.init_hash [0] == 0 && job.time_limit_s == 0);
    store_job_clear (&job);
    CHECK (store_job_get (store, low, &job) == 0);
    CHECK (job.priority == 0 && job.created_at == now);
    CHECK (job.state == JOB_RUNNING && strcmp (job.worker, "w2") == 0);
    store_job_clear (&job);
    CHECK (store_job_take (store, low, &s_w2, now, &job) == -1);
    CHECK (s_load (store).count == 0);
    //  running -> stopping
    CHECK (store_job_set_state (store, low, JOB_STOPPING) == 0);
    CHECK (store_job_get (store, low, &job) == 0 && job.state == JOB_STOPPING);
    store_job_clear (&job);
}

//  A start binds the attempt to its worker's instance id and key; an
//  adoption renames the worker in the row, and the ended attempt's row
//  names the worker that adopted it
static void
test_binding (store_t *store)
{
    CHECK (store_begin (store) == 0);
    int64_t id = s_insert (store, 0, 500, NULL);
    CHECK (store_commit (store) == 0);
    store_worker_t who = { "h:7", "0123456789abcdef", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID" };
    CHECK (store_job_take (store, id, &who, 600, NULL) == 1);
    store_job_t job;
    CHECK (store_job_get (store, id, &job) == 0);
    CHECK_STR_EQ (job.worker, "h:7");
    CHECK_STR_EQ (job.worker_instance, "0123456789abcdef");
    CHECK_STR_EQ (job.worker_key, who.key);
    store_job_clear (&job);
    CHECK (store_job_adopt (store, id, 2, "h:9") == 0);        // another attempt: nothing
    CHECK (store_job_get (store, id, &job) == 0);
    CHECK_STR_EQ (job.worker, "h:7");
    store_job_clear (&job);
    CHECK (store_job_adopt (store, id, 1, "h:8") == 0);
    CHECK (store_job_get (store, id, &job) == 0);
    CHECK_STR_EQ (job.worker, "h:8");
    CHECK_STR_EQ (job.worker_instance, "0123456789abcdef");   // the binding stays
    store_job_clear (&job);
    s_end (store, id, 1, (store_end_t) { .state = JOB_SUCCEEDED, .outcome = "succeeded",
                                         .model_hash = "m", .now_ms = 900 }, true);
    json_t *json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "worker"), "h:8");
    CHECK_STR_EQ (s_attempt_str (json, 0, "worker"), "h:8");
    json_decref (json);
}

//  The spec's fields the broker acts on are columns of the job's row, as
//  the spec says them; the spec's text is the spec module's
static void
test_spec_columns (store_t *store)
{
    mt_spec_t spec;
    char *cause = NULL;
    CHECK_MSG (mt_spec_from_json (&spec, "{\"name\":\"warm\",\"target\":\"y\",\"data_hash\":\""
                                  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                                  "\",\"init_hash\":\"" S_INIT_HASH "\",\"time_limit_s\":90,"
                                  "\"priority\":7,\"max_retries\":1}", &cause) == 0, "%s", cause);
    bool existing;
    int64_t id = store_job_insert (store, &spec, NULL, NULL, "bob", 100, &existing);
    CHECK (id > 0 && !existing);
    store_job_t job;
    CHECK (store_job_get (store, id, &job) == 0);
    CHECK (job.state == JOB_QUEUED && job.priority == 7 && job.max_retries == 1);
    CHECK_STR_EQ (job.init_hash, S_INIT_HASH);
    CHECK (job.time_limit_s == 90 && job.data_hash [0] == 'd' && job.checkpoint_hash [0] == 0);
    CHECK_STR_EQ (job.client, "bob");
    char *text = mt_spec_to_json (&spec);
    CHECK_STR_EQ (job.spec, text);
    free (text);
    store_job_clear (&job);
    json_t *json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "name"), "warm");
    CHECK_STR_EQ (s_field_str (json_object_get (json, "spec"), "init_hash"), S_INIT_HASH);
    json_decref (json);
    //  ... and what a start hands the broker
    CHECK (store_job_take (store, id, &s_w, 200, &job) == 1);
    CHECK_STR_EQ (job.init_hash, S_INIT_HASH);
    CHECK (job.time_limit_s == 90 && job.started_at == 200);
    store_job_clear (&job);
    //  A warm start's model is in use while a job names it, even once ended
    CHECK (store_blob_in_use (store, S_INIT_HASH));
    CHECK (store_blob_in_use (store, spec.data_hash));
    CHECK (!store_blob_in_use (store, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
    s_end (store, id, 1, (store_end_t) { .state = JOB_SUCCEEDED, .outcome = "succeeded",
                                         .model_hash = "m1", .now_ms = 300 }, true);
    CHECK (store_blob_in_use (store, S_INIT_HASH) && store_blob_in_use (store, "m1"));
    mt_spec_clear (&spec);
}

static void
test_keys_and_retries (store_t *store)
{
    bool existing;
    mt_spec_t spec = s_spec;
    spec.name = "named";
    spec.max_retries = 2;
    int64_t a = store_job_insert (store, &spec, NULL, "key-1", "alice", 1000, &existing);
    CHECK (a > 0 && !existing);
    int64_t b = store_job_insert (store, &spec, NULL, "key-1", "alice", 2000, &existing);
    CHECK (b == a && existing);
    queued_t q = s_load (store);
    CHECK (q.count == 1 && q.ids == a && strcmp (q.client, "alice") == 0);
    //  Out of the queue on start, back on requeue; two lost attempts count
    //  against max_retries, a drained one does not
    CHECK (store_job_take (store, a, &s_w1, 3000, NULL) == 1);
    CHECK (s_load (store).count == 0);
    s_end (store, a, 1, (store_end_t) { .state = JOB_QUEUED, .outcome = "worker_lost",
                                        .not_before_ms = 5000, .now_ms = 4000 }, true);
    CHECK (s_load (store).count == 1);
    //  A queued job is not requeued again
    s_end (store, a, 1, (store_end_t) { .state = JOB_QUEUED, .outcome = "worker_lost",
                                        .now_ms = 4500 }, false);
    CHECK (store_job_take (store, a, &s_w2, 5000, NULL) == 2);
    s_end (store, a, 2, (store_end_t) { .state = JOB_QUEUED, .outcome = "drained",
                                        .now_ms = 6000 }, true);
    CHECK (store_job_failures (store, a) == 1);
    store_job_t job;
    CHECK (store_job_get (store, a, &job) == 0);
    CHECK (job.state == JOB_QUEUED && job.attempt == 2 && job.started_at == 3000);
    CHECK (job.not_before == 0 && job.created_at == 1000 && strcmp (job.client, "alice") == 0);
    CHECK (job.max_retries == 2);
    store_job_clear (&job);
    json_t *json = store_job_json (store, a, true);
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK (strcmp (json_string_value (json_object_get (json, "name")), "named") == 0);
    json_decref (json);
    CHECK (store_job_json (store, 999999, false) == NULL);
    //  A stop while queued ends no attempt: the last one keeps its outcome
    s_end (store, a, 2, (store_end_t) { .state = JOB_STOPPED, .error = "stopped",
                                        .now_ms = 7000 }, true);
    json = store_job_json (store, a, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "stopped");
    CHECK_STR_EQ (s_field_str (json, "error"), "stopped");
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
    s_end (store, id, 0, (store_end_t) { .state = JOB_QUEUED, .outcome = "drained",
                                         .now_ms = 150 }, false);             // not running
    CHECK (store_job_take (store, id, &s_w1, 200, NULL) == 1);
    CHECK (store_job_checkpoint (store, id, 1, "c1", 2) == 0);
    //  Lost: the next attempt resumes from epoch 2
    s_end (store, id, 1, (store_end_t) { .state = JOB_QUEUED, .outcome = "worker_lost",
                                         .now_ms = 300 }, true);
    store_job_t job;
    CHECK (store_job_take (store, id, &s_w2, 400, &job) == 2);
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
    json_t *history = json_object_get (json, "history");
    CHECK (json_array_size (history) == 2);
    CHECK (json_integer_value (json_array_get (json_array_get (history, 1), 0)) == 40);  // step
    CHECK (json_integer_value (json_array_get (json_array_get (history, 1), 1)) == 4);   // epoch
    CHECK (json_array_size (json_object_get (json, "epochs")) == 0);    // no metrics yet
    json_decref (json);
    //  Epoch ends with metrics make the per-epoch list, one entry per epoch
    //  (its latest report), in epoch order; the reports between do not
    p.metrics = "{\"accuracy\":0.5,\"roc_auc\":null,\"undefined\":{\"roc_auc\":\"why\"}}";
    p.epoch = 5, p.step = 50, p.val_loss = 0.7, p.val_metric = 0.5;
    CHECK (store_job_progress (store, id, 2, &p, 610) == 0);
    p.metrics = NULL, p.step = 55;
    CHECK (store_job_progress (store, id, 2, &p, 620) == 0);
    p.metrics = "{\"accuracy\":0.75}";
    p.epoch = 6, p.step = 60;
    CHECK (store_job_progress (store, id, 2, &p, 630) == 0);
    json = store_job_json (store, id, true);
    json_t *epochs = json_object_get (json, "epochs");
    CHECK (json_array_size (epochs) == 2);
    json_t *first = json_array_get (epochs, 0);
    CHECK (json_integer_value (json_object_get (first, "epoch")) == 5);
    CHECK (json_integer_value (json_object_get (first, "step")) == 50);
    CHECK (json_real_value (json_object_get (first, "val_loss")) == 0.7);
    json_t *metrics = json_object_get (first, "metrics");
    CHECK (json_real_value (json_object_get (metrics, "accuracy")) == 0.5);
    CHECK (json_is_null (json_object_get (metrics, "roc_auc")));
    CHECK_STR_EQ (json_string_value (json_object_get (json_object_get (metrics, "undefined"),
                                                      "roc_auc")), "why");
    CHECK (json_real_value (json_object_get (json_object_get (json_array_get (epochs, 1),
                                             "metrics"), "accuracy")) == 0.75);
    CHECK (json_array_size (json_object_get (json, "history")) == 5);
    json_decref (json);
    //  STATUS alone carries it: a list's jobs do not
    json = store_job_json (store, id, false);
    CHECK (!json_object_get (json, "epochs"));
    json_decref (json);
    //  Done, with what the caller knows of the attempt; a second end of the
    //  ended job changes nothing
    mt_strlcpy (run.worker, "w2", sizeof run.worker);
    s_end (store, id, 2, (store_end_t) { .state = JOB_SUCCEEDED, .outcome = "succeeded",
                                         .metrics = "{\"loss\":0.25}", .model_hash = "m",
                                         .now_ms = 700, .run = &run }, true);
    s_end (store, id, 2, (store_end_t) { .state = JOB_STOPPED, .outcome = "stopped",
                                         .now_ms = 800, .run = &run }, false);
    s_end (store, id, 2, (store_end_t) { .state = JOB_QUEUED, .outcome = "worker_lost",
                                         .now_ms = 800, .run = &run }, false);
    json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "succeeded");
    CHECK_STR_EQ (s_field_str (json, "model_hash"), "m");
    CHECK (json_real_value (json_object_get (json_object_get (json, "metrics"), "loss")) == 0.25);
    CHECK (json_array_size (json_object_get (json, "attempts")) == 2);
    CHECK_STR_EQ (s_attempt_str (json, 1, "outcome"), "succeeded");
    CHECK (s_attempt_int (json, 1, "started_at") == 400 && s_attempt_int (json, 1, "finished_at") == 700);
    CHECK (json_integer_value (json_object_get (json_object_get (json, "progress"), "epoch")) == 6);
    json_decref (json);
    //  An end that names another attempt changes nothing
    s_end (store, id, 1, (store_end_t) { .state = JOB_FAILED, .outcome = "failed", .error = "x",
                                         .now_ms = 900, .run = &run }, false);
    json = store_job_json (store, id, false);
    CHECK_STR_EQ (s_field_str (json, "state"), "succeeded");
    CHECK_STR_EQ (s_attempt_str (json, 0, "outcome"), "worker_lost");
    json_decref (json);
}

//  Lists are newest first, in one state or all
static void
test_list (store_t *store)
{
    json_t *all = store_job_list (store, -1, 1000);
    json_t *queued = store_job_list (store, JOB_QUEUED, 1000);
    json_t *succeeded = store_job_list (store, JOB_SUCCEEDED, 1);
    CHECK (json_array_size (all) > json_array_size (queued) && json_array_size (succeeded) == 1);
    CHECK (json_integer_value (json_object_get (json_array_get (all, 0), "id"))
         > json_integer_value (json_object_get (json_array_get (all, 1), "id")));
    size_t i;
    json_t *job;
    json_array_foreach (queued, i, job)
        CHECK_STR_EQ (s_field_str (job, "state"), "queued");
    CHECK_STR_EQ (s_field_str (json_array_get (succeeded, 0), "state"), "succeeded");
    json_decref (all);
    json_decref (queued);
    json_decref (succeeded);
}

//  A failing disk: writes fail, the commit fails and changes nothing, reads go on
static void
test_faults (store_t *store)
{
    int fault = 0;
    store_set_fault (store, s_fault_on, &fault);
    json_t *before = store_job_list (store, -1, 1000);
    CHECK (store_begin (store) == 0);
    int64_t id = s_insert (store, 0, 1, NULL);
    CHECK (id > 0);
    fault = 1;
    CHECK (store_commit (store) == -1);
    json_t *after = store_job_list (store, -1, 1000);
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
    after = store_job_list (store, -1, 1000);
    CHECK (json_array_size (after) == json_array_size (before) + 1);
    json_decref (after);
    json_decref (before);
    store_set_fault (store, NULL, NULL);
}

//  A database at path made from the fixture tests/unit/store_vVERSION.sql
static void
s_fixture_db (const char *path, int version)
{
    char fixture [4096];
    snprintf (fixture, sizeof fixture, "%s/tests/unit/store_v%d.sql",
              getenv ("MT_SOURCE_DIR") ? getenv ("MT_SOURCE_DIR") : ".", version);
    FILE *file = fopen (fixture, "r");
    CHECK_MSG (file, "%s: %s", fixture, strerror (errno));
    CHECK (fseek (file, 0, SEEK_END) == 0);
    long size = ftell (file);
    CHECK (size > 0);
    rewind (file);
    char *sql = malloc ((size_t) size + 1);
    CHECK (sql && fread (sql, 1, (size_t) size, file) == (size_t) size);
    sql [size] = 0;
    fclose (file);
    unlink (path);
    sqlite3 *db;
    CHECK (sqlite3_open (path, &db) == SQLITE_OK);
    CHECK_MSG (sqlite3_exec (db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", fixture,
               sqlite3_errmsg (db));
    sqlite3_close (db);
    free (sql);
    char text [64];
    s_query (path, "PRAGMA user_version", text, sizeof text);
    CHECK (atoi (text) == version);
}

//  A database of schema version (tests/unit/store_vVERSION.sql, each with
//  the same jobs) is migrated through every later step: its schema is then
//  the same as a new database's, and its jobs, ended attempts, running
//  attempt, latest progress, keys, queue and the spec's columns are all there
static void
test_migration (const char *dir, int version, const char *fresh_schema)
{
    char path [256];
    snprintf (path, sizeof path, "%s/v%d.db", dir, version);
    s_fixture_db (path, version);

    char *cause = NULL;
    store_t *store = store_open (path, &cause);
    CHECK_MSG (store, "v%d: %s", version, cause);
    queued_t q = s_load (store);
    CHECK (q.count == 3 && q.ids == 3 + 4 + 5 && strcmp (q.client, "") == 0);
    bool existing = false;
    CHECK (store_job_insert (store, &s_spec, NULL, "key-1", "alice", 3000, &existing) == 3
           && existing);                                            // keys still found
    //  The spec's fields got their columns
    store_job_t job;
    CHECK (store_job_get (store, 5, &job) == 0);
    CHECK (job.state == JOB_QUEUED && job.time_limit_s == 90 && job.created_at == 1400);
    CHECK_STR_EQ (job.init_hash, S_INIT_HASH);
    store_job_clear (&job);
    CHECK (store_job_get (store, 1, &job) == 0);
    CHECK (job.state == JOB_SUCCEEDED && job.time_limit_s == 0 && job.init_hash [0] == 0);
    CHECK_STR_EQ (job.model_hash, "aa");
    store_job_clear (&job);
    CHECK (store_blob_in_use (store, S_INIT_HASH));
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
    CHECK (store_job_get (store, 2, &job) == 0);
    CHECK (job.state == JOB_RUNNING && job.attempt == 2 && job.checkpoint_epoch == 3);
    CHECK_STR_EQ (job.worker, "h:2");
    CHECK_STR_EQ (job.checkpoint_hash, "cc");
    //  ... bound to no worker process: none can adopt it
    CHECK_STR_EQ (job.worker_instance, "");
    CHECK_STR_EQ (job.worker_key, "");
    store_job_clear (&job);
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
    s_end (store, 2, 2, (store_end_t) { .state = JOB_SUCCEEDED, .outcome = "succeeded",
                                        .model_hash = "m", .now_ms = 6000 }, true);
    json = store_job_json (store, 2, false);
    CHECK_STR_EQ (s_attempt_str (json, 1, "outcome"), "succeeded");
    CHECK (s_attempt_int (json, 1, "started_at") == 5000);
    CHECK (s_attempt_int (json, 1, "finished_at") == 6000);
    json_decref (json);
    store_destroy (&store);

    char text [512];
    s_query (path, "SELECT count(*) FROM jobs", text, sizeof text);
    CHECK_STR_EQ (text, "5");
    s_query (path, "SELECT count(*) FROM attempts", text, sizeof text);
    CHECK_STR_EQ (text, "3");
    s_query (path, "SELECT count(*) FROM progress", text, sizeof text);
    CHECK_STR_EQ (text, "4");
    s_query (path, "PRAGMA user_version", text, sizeof text);
    CHECK_STR_EQ (text, "12");
    //  No job of an older schema is a sweep's trial; the sweeps' tables are
    //  there, empty before schema 9. Schema 9's sweep keeps its two trials,
    //  neither waiting to run again
    s_query (path, "SELECT count(*) FROM jobs WHERE sweep IS NOT NULL OR params IS NOT NULL",
             text, sizeof text);
    CHECK_STR_EQ (text, "0");
    s_query (path, "SELECT (SELECT count(*) FROM sweeps) + (SELECT count(*) FROM sweep_trials)"
             " + (SELECT count(*) FROM rungs) + (SELECT count(*) FROM sweep_epochs)",
             text, sizeof text);
    CHECK_STR_EQ (text, version < 9 ? "0" : "5");
    s_query (path, "SELECT count(*) FROM sweep_trials WHERE rerun != 0", text, sizeof text);
    CHECK_STR_EQ (text, "0");
    //  ... and its epochs get their running averages
    s_query (path, "SELECT group_concat (running, '|') FROM (SELECT running FROM sweep_epochs"
             " ORDER BY epoch)", text, sizeof text);
    CHECK_STR_EQ (text, version < 9 ? "" : "0.5|0.375");
    char *schema = s_schema_text (path);
    CHECK_MSG (strcmp (schema, fresh_schema) == 0, "v%d migrated:\n%s\nnew:\n%s", version,
               schema, fresh_schema);
    free (schema);
}

//  A history of points rows is thinned to at most 500, evenly: the first
//  and the last rows kept, steps increasing, gaps that differ by one at most
static void
s_check_history (store_t *store, int64_t points)
{
    bool existing;
    mt_spec_t spec = s_spec;
    int64_t id = store_job_insert (store, &spec, NULL, NULL, "alice-key", 0, &existing);
    CHECK (id > 0 && store_job_take (store, id, &s_w1, 1, NULL) == 1);
    CHECK (store_begin (store) == 0);
    store_progress_t p = { .epoch = 1, .epochs = 1, .steps = points, .loss = 1,
                           .val_loss = NAN, .val_metric = NAN };
    for (int64_t step = 0; step < points; step++) {
        p.step = step;
        CHECK (store_job_progress (store, id, 1, &p, 10 + step) == 0);
    }
    CHECK (store_commit (store) == 0);
    json_t *json = store_job_json (store, id, true);
    CHECK_STR_EQ (json_string_value (json_object_get (json, "owner")), "alice-key");
    json_t *history = json_object_get (json, "history");
    size_t size = json_array_size (history);
    CHECK_MSG (size == (size_t) (points < 500 ? points : 500), "%lld rows gave %zu points",
               (long long) points, size);
    int64_t last = -1, min_gap = INT64_MAX, max_gap = 0;
    for (size_t i = 0; i < size; i++) {
        int64_t step = json_integer_value (json_array_get (json_array_get (history, i), 0));
        if (i > 0) {
            CHECK (step > last);
            min_gap = step - last < min_gap ? step - last : min_gap;
            max_gap = step - last > max_gap ? step - last : max_gap;
        }
        else
            CHECK (step == 0);
        last = step;
    }
    CHECK_MSG (last == points - 1, "%lld rows: the last point is step %lld", (long long) points,
               (long long) last);
    //  Past the rows kept per attempt the store thinned the older half as
    //  the rows came (store_pages.h), so its points are sparser there
    CHECK (points > STORE_PROGRESS_MAX_ROWS || max_gap - min_gap <= 1);
    json_decref (json);
}

static void
test_history (const char *dir)
{
    char path [256];
    snprintf (path, sizeof path, "%s/history.db", dir);
    char *cause = NULL;
    store_t *store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    int64_t edges [] = { 1, 2, 499, 500, 501, 998, 999, 1000, 1499, 10007 };
    for (size_t i = 0; i < sizeof edges / sizeof edges [0]; i++)
        s_check_history (store, edges [i]);
    store_destroy (&store);
}

int
main (void)
{
    char *cause = NULL;
    CHECK_MSG (mt_spec_from_json (&s_spec, "{\"target\":\"y\",\"data_path\":\"/x.csv\"}",
                                  &cause) == 0, "%s", cause);
    CHECK ((s_spec_json = mt_spec_to_json (&s_spec)));
    char dir [] = "/tmp/mt-store.XXXXXX";
    CHECK (mkdtemp (dir));
    char path [256];
    snprintf (path, sizeof path, "%s/mt.db", dir);
    store_t *store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    test_start (store);
    test_binding (store);
    test_spec_columns (store);
    test_keys_and_retries (store);
    test_keep_model (store);
    test_blobs (store);
    test_attempts_and_progress (store);
    test_list (store);
    test_faults (store);
    store_destroy (&store);
    test_history (dir);
    //  Reopening finds the schema and the jobs
    store = store_open (path, &cause);
    CHECK (store);
    json_t *list = store_job_list (store, -1, 1000);
    CHECK (json_array_size (list) == 8);
    json_decref (list);
    store_destroy (&store);
    store_destroy (&store);
    //  A new database has the current schema, which every older one reaches
    char text [64];
    s_query (path, "PRAGMA user_version", text, sizeof text);
    CHECK_STR_EQ (text, "12");
    //  No job of an older schema is a sweep's trial; the sweeps' tables are there, empty
    s_query (path, "SELECT count(*) FROM jobs WHERE sweep IS NOT NULL OR params IS NOT NULL",
             text, sizeof text);
    CHECK_STR_EQ (text, "0");
    s_query (path, "SELECT (SELECT count(*) FROM sweeps) + (SELECT count(*) FROM sweep_trials)"
             " + (SELECT count(*) FROM rungs) + (SELECT count(*) FROM sweep_epochs)",
             text, sizeof text);
    CHECK_STR_EQ (text, "0");
    char *fresh_schema = s_schema_text (path);
    CHECK_STR_CONTAINS (fresh_schema, "column jobs 22 time_limit_s INTEGER not null 1 default 0");
    CHECK_STR_CONTAINS (fresh_schema, "column jobs 23 init_hash TEXT not null 0 default -");
    CHECK_STR_CONTAINS (fresh_schema, "column jobs 24 worker_instance TEXT not null 0 default -");
    CHECK_STR_CONTAINS (fresh_schema, "column jobs 25 worker_key TEXT not null 0 default -");
    CHECK_STR_CONTAINS (fresh_schema, "column jobs 26 val_data_hash TEXT not null 0 default -");
    CHECK_STR_CONTAINS (fresh_schema, "column progress 12 metrics TEXT not null 0 default -");
    CHECK_STR_CONTAINS (fresh_schema, "column sweep_trials 5 rerun INTEGER not null 1 default 0");
    CHECK_STR_CONTAINS (fresh_schema, "text index jobs_sweep_active: CREATE INDEX jobs_sweep_active"
                        " ON jobs (sweep) WHERE sweep IS NOT NULL");
    CHECK_STR_CONTAINS (fresh_schema, "text index sweep_trials_pending: CREATE INDEX"
                        " sweep_trials_pending ON sweep_trials (sweep, trial)");
    CHECK_STR_CONTAINS (fresh_schema, "table attempts without rowid 1");
    CHECK_STR_CONTAINS (fresh_schema, "text index jobs_key: CREATE UNIQUE INDEX jobs_key ON jobs"
                        " (key) WHERE key IS NOT NULL");
    test_migration (dir, 1, fresh_schema);                  // through every step
    test_migration (dir, 5, fresh_schema);
    test_migration (dir, 6, fresh_schema);
    test_migration (dir, 7, fresh_schema);
    test_migration (dir, 8, fresh_schema);
    test_migration (dir, 9, fresh_schema);                  // the last step alone
    free (fresh_schema);
    //  A database from a newer mt is refused
    char cmd [512];
    snprintf (cmd, sizeof cmd, "sqlite3 %s 'PRAGMA user_version = 99'", path);
    CHECK (system (cmd) == 0);
    CHECK (store_open (path, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "schema version 99");
    free (cause);
    test_remove_dir (dir);
    free (s_spec_json);
    mt_spec_clear (&s_spec);
    printf ("test_store: ok\n");
    return 0;
}
