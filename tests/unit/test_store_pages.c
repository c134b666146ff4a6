/*  test_store_pages - paging 20,000 jobs by size with no gap or duplicate, filters, resume, delete with no orphan or missing blob, thinning  */
#include "testutil.h"
#include "store.h"
#include "store_pages.h"
#include "mt/blob.h"
#include "mt/util.h"

#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#define S_JOBS 20000

static const store_worker_t s_w = { "w", "", "local" };
static mt_spec_t s_spec;

static int64_t s_rows (store_t *store, int64_t id);

static int64_t
s_insert (store_t *store, const char *name, const char *data_hash, int64_t now)
{
    bool existing;
    mt_spec_t spec = s_spec;
    spec.name = (char *) name;      // borrowed: the store only reads it
    mt_strlcpy (spec.data_hash, data_hash ? data_hash : "", sizeof spec.data_hash);
    return store_job_insert (store, &spec, NULL, NULL, NULL, now, &existing);
}

static void
s_finish (store_t *store, int64_t id, job_state_t state, const char *model, int64_t now)
{
    int attempt = store_job_take (store, id, &s_w, now, NULL);
    CHECK (attempt >= 1);
    store_end_t end = { .state = state, .outcome = job_state_name (state),
                        .model_hash = model, .now_ms = now };
    bool changed = false;
    CHECK (store_job_end (store, id, attempt, &end, &changed) == 0 && changed);
}

//  Every page in order: ids strictly falling, each page within its size (or
//  a single job), the last one saying there is no next. Returns the count.
static int64_t
s_page_all (store_t *store, store_page_t page, int64_t *sum)
{
    int64_t count = 0, last = INT64_MAX, next = 0;
    *sum = 0;
    do {
        json_t *jobs = store_job_page (store, &page, &next);
        CHECK (jobs);
        size_t bytes = json_dumpb (jobs, NULL, 0, JSON_COMPACT);
        CHECK_MSG (json_array_size (jobs) == 1 || bytes <= page.max_bytes + json_array_size (jobs),
                   "a page of %zu jobs is %zu bytes", json_array_size (jobs), bytes);
        CHECK ((int) json_array_size (jobs) <= page.limit);
        CHECK (json_array_size (jobs) > 0 || next == 0);
        size_t i;
        json_t *job;
        json_array_foreach (jobs, i, job) {
            int64_t id = json_integer_value (json_object_get (job, "id"));
            CHECK_MSG (id < last, "id %lld after %lld", (long long) id, (long long) last);
            last = id;
            *sum += id;
            count++;
            if (page.name)
                CHECK_STR_EQ (json_string_value (json_object_get (job, "name")), page.name);
            if (page.state >= 0)
                CHECK_STR_EQ (json_string_value (json_object_get (job, "state")),
                              job_state_name (page.state));
        }
        CHECK (next == 0 || next == last);
        json_decref (jobs);
        page.before = next;
    } while (next);
    return count;
}

static void
test_paging (store_t *store)
{
    CHECK (store_begin (store) == 0);
    for (int i = 1; i <= S_JOBS; i++) {
        CHECK (s_insert (store, i % 2 ? "odd" : "even", NULL, i) == i);
        if (i % 4 == 0)
            s_finish (store, i, JOB_SUCCEEDED, NULL, i);
    }
    CHECK (store_commit (store) == 0);
    //  All of them, a page at most 64 kB: no gap (the ids sum to 1 + ... + N), no duplicate
    store_page_t page = { .state = -1, .limit = 10000, .max_bytes = 65536 };
    int64_t sum;
    CHECK (s_page_all (store, page, &sum) == S_JOBS);
    CHECK (sum == (int64_t) S_JOBS * (S_JOBS + 1) / 2);
    //  By count alone (the page's bytes allow more), from a cursor
    page.limit = 7;
    page.before = 2001;
    page.max_bytes = STORE_PAGE_MAX_BYTES;
    CHECK (s_page_all (store, page, &sum) == 2000 && sum == 2000 * 2001 / 2);
    page.before = 0;
    //  Filters, in SQL
    page.limit = 10000;
    page.name = "odd";
    CHECK (s_page_all (store, page, &sum) == S_JOBS / 2);
    CHECK (sum == (int64_t) (S_JOBS / 2) * (S_JOBS / 2));     // 1 + 3 + ... + (2n - 1) = n^2
    page.name = NULL;
    page.state = JOB_SUCCEEDED;
    CHECK (s_page_all (store, page, &sum) == S_JOBS / 4);
    page.name = "even";
    CHECK (s_page_all (store, page, &sum) == S_JOBS / 4);
    page.name = "odd";
    CHECK (s_page_all (store, page, &sum) == 0);
    //  From a cursor: only older jobs
    page = (store_page_t) { .state = -1, .before = 101, .limit = 10000,
                            .max_bytes = STORE_PAGE_MAX_BYTES };
    CHECK (s_page_all (store, page, &sum) == 100 && sum == 5050);
    printf ("paging: %d jobs in pages of 64 kB and of 7 jobs, filters by name and state\n",
            S_JOBS);
}

//  A blob stored under the hash of its bytes; its hash into hex.
static void
s_blob (blob_store_t *blobs, const char *text, char hex [65])
{
    unsigned char digest [32];
    crypto_hash_sha256 (digest, (const unsigned char *) text, strlen (text));
    sodium_bin2hex (hex, 65, digest, sizeof digest);
    bool complete = false;
    int64_t next;
    CHECK (blob_store_write (blobs, hex, (int64_t) strlen (text), 0, text, strlen (text),
                             &complete, &next, NULL) == 0 && complete);
}

//  Every blob in the folder is named by a job (no orphan), and every blob
//  a job names is in the folder (none missing).
static void
s_check_blobs (store_t *store, blob_store_t *blobs, const char *dir, const char *names [],
               int count)
{
    char path [300];
    snprintf (path, sizeof path, "%s/blobs", dir);
    DIR *folder = opendir (path);
    CHECK (folder);
    struct dirent *entry;
    int found = 0;
    while ((entry = readdir (folder))) {
        if (entry->d_name [0] == '.')
            continue;
        found++;
        CHECK_MSG (store_blob_in_use (store, entry->d_name), "orphan blob %.12s", entry->d_name);
    }
    closedir (folder);
    int named = 0;
    for (int i = 0; i < count; i++)
        if (store_blob_in_use (store, names [i])) {
            named++;
            CHECK_MSG (blob_store_has (blobs, names [i], NULL), "missing blob %.12s", names [i]);
        }
    CHECK (found == named);
}

//  Remove what a delete doomed, as the broker does once it commits.
static void
s_reap (store_t *store, blob_store_t *blobs, json_t *doomed)
{
    size_t i;
    json_t *hash;
    json_array_foreach (doomed, i, hash)
        if (!store_blob_in_use (store, json_string_value (hash)))
            CHECK (blob_store_remove (blobs, json_string_value (hash)) == 0);
    json_array_clear (doomed);
}

static void
test_delete (store_t *store, const char *dir)
{
    char *cause = NULL;
    char blob_dir [300];
    snprintf (blob_dir, sizeof blob_dir, "%s/data", dir);
    blob_store_t *blobs = blob_store_new (blob_dir, &cause);
    CHECK_MSG (blobs, "%s", cause);
    char shared [65], own [65], model_a [65], model_b [65], ckpt [65];
    s_blob (blobs, "x,y\n1,2\n", shared);
    s_blob (blobs, "x,y\n3,4\n", own);
    s_blob (blobs, "model a", model_a);
    s_blob (blobs, "model b", model_b);
    s_blob (blobs, "checkpoint c", ckpt);
    const char *names [] = { shared, own, model_a, model_b, ckpt };
    int64_t a = s_insert (store, "a", shared, 1), b = s_insert (store, "b", shared, 2);
    int64_t c = s_insert (store, "c", own, 3);
    s_finish (store, a, JOB_SUCCEEDED, model_a, 10);
    s_finish (store, b, JOB_SUCCEEDED, model_b, 10);
    int attempt = store_job_take (store, c, &s_w, 11, NULL);
    CHECK (store_job_checkpoint (store, c, attempt, ckpt, 3) == 0);
    s_check_blobs (store, blobs, blob_dir, names, 5);
    json_t *doomed = json_array ();
    //  A running job is not deleted
    CHECK (store_job_delete (store, c, doomed) == 1 && json_array_size (doomed) == 0);
    //  a: its model goes, the data b still names stays
    CHECK (store_job_delete (store, a, doomed) == 0);
    CHECK (json_array_size (doomed) == 1);
    CHECK_STR_EQ (json_string_value (json_array_get (doomed, 0)), model_a);
    CHECK (store_job_get (store, a, &(store_job_t) { 0 }) == -1);
    s_reap (store, blobs, doomed);
    s_check_blobs (store, blobs, blob_dir, names, 5);
    CHECK (store_job_delete (store, a, doomed) == 1);       // gone already
    //  b: now its data and its model go
    CHECK (store_job_delete (store, b, doomed) == 0 && json_array_size (doomed) == 2);
    s_reap (store, blobs, doomed);
    s_check_blobs (store, blobs, blob_dir, names, 5);
    CHECK (!blob_store_has (blobs, shared, NULL) && blob_store_has (blobs, own, NULL));
    //  c stopped, resumed from its checkpoint, stopped again, deleted: data and checkpoint go
    store_end_t end = { .state = JOB_STOPPED, .outcome = "stopped", .now_ms = 12 };
    CHECK (store_job_end (store, c, attempt, &end, NULL) == 0);
    CHECK (store_job_resume (store, c) == 0);
    CHECK (store_job_resume (store, c) == 1);               // queued now: not again
    store_job_t job;
    CHECK (store_job_take (store, c, &s_w, 13, &job) == attempt + 1);
    CHECK (job.checkpoint_epoch == 3 && strcmp (job.checkpoint_hash, ckpt) == 0);
    store_job_clear (&job);
    store_run_t run;
    CHECK (store_job_run (store, c, attempt + 1, &run) == 0 && run.resumed_from_epoch == 3);
    end.now_ms = 14;
    CHECK (store_job_end (store, c, attempt + 1, &end, NULL) == 0);
    CHECK (store_job_delete (store, c, doomed) == 0 && json_array_size (doomed) == 2);
    s_reap (store, blobs, doomed);
    s_check_blobs (store, blobs, blob_dir, names, 5);
    CHECK (!blob_store_has (blobs, own, NULL) && !blob_store_has (blobs, ckpt, NULL));
    json_decref (doomed);
    blob_store_destroy (&blobs);
    printf ("delete: no orphan and no missing blob after each of 3 deletes; resume from epoch 3\n");
}

//  --keep-days: an ended job's history and checkpoint go once it is old enough, once
static void
test_prune (store_t *store)
{
    int64_t id = s_insert (store, "old", NULL, 1);
    int attempt = store_job_take (store, id, &s_w, 2, NULL);
    store_progress_t p = { .epoch = 1, .epochs = 9, .step = 1, .steps = 9, .loss = 0.5,
                           .val_loss = NAN, .val_metric = NAN };
    CHECK (store_job_progress (store, id, attempt, &p, 3) == 0);
    const char *ckpt = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    CHECK (store_job_checkpoint (store, id, attempt, ckpt, 1) == 0);
    store_end_t end = { .state = JOB_STOPPED, .outcome = "stopped", .now_ms = 1000 };
    CHECK (store_job_end (store, id, attempt, &end, NULL) == 0);
    json_t *doomed = json_array ();
    CHECK (store_prune (store, 1000, 100, doomed) >= 0);    // ended at 1000: not before it
    CHECK (s_rows (store, id) == 1);
    int pruned = store_prune (store, 1001, 100, doomed);
    CHECK (pruned >= 1 && s_rows (store, id) == 0);
    CHECK (json_array_size (doomed) == 1);
    CHECK_STR_EQ (json_string_value (json_array_get (doomed, 0)), ckpt);
    store_job_t job;
    CHECK (store_job_get (store, id, &job) == 0 && job.checkpoint_hash [0] == 0
           && job.state == JOB_STOPPED);
    store_job_clear (&job);
    json_array_clear (doomed);
    CHECK (store_prune (store, 1001, 100, doomed) == 0 && json_array_size (doomed) == 0);
    //  A pruned trial has ended too: its history and checkpoint go as well
    int64_t trial = s_insert (store, "trial", NULL, 1);
    attempt = store_job_take (store, trial, &s_w, 2, NULL);
    CHECK (store_job_progress (store, trial, attempt, &p, 3) == 0);
    const char *kept = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    CHECK (store_job_checkpoint (store, trial, attempt, kept, 1) == 0);
    end = (store_end_t) { .state = JOB_PRUNED, .outcome = "pruned", .now_ms = 1000 };
    CHECK (store_job_end (store, trial, attempt, &end, NULL) == 0);
    CHECK (store_prune (store, 1001, 100, doomed) == 1 && s_rows (store, trial) == 0);
    CHECK (json_array_size (doomed) == 1);
    CHECK_STR_EQ (json_string_value (json_array_get (doomed, 0)), kept);
    CHECK (store_job_get (store, trial, &job) == 0 && job.checkpoint_hash [0] == 0
           && job.state == JOB_PRUNED);
    store_job_clear (&job);
    json_decref (doomed);
    printf ("prune: an ended job's history and checkpoint go once (a pruned one too), the job"
            " stays\n");
}

static int64_t
s_count (store_t *store, int64_t id)
{
    json_t *job = store_job_json (store, id, true);
    int64_t n = (int64_t) json_array_size (json_object_get (job, "history"));
    json_decref (job);
    return n;
}

//  The progress rows the job has, counted in the database itself
static int64_t
s_rows (store_t *store, int64_t id)
{
    sqlite3_stmt *stmt = NULL;
    CHECK (sqlite3_prepare_v2 (store_db (store), "SELECT count(*) FROM progress WHERE job = ?1",
                               -1, &stmt, NULL) == SQLITE_OK);
    sqlite3_bind_int64 (stmt, 1, id);
    CHECK (sqlite3_step (stmt) == SQLITE_ROW);
    int64_t n = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return n;
}

static void
test_thin (store_t *store)
{
    int64_t id = s_insert (store, "long", NULL, 1);
    int attempt = store_job_take (store, id, &s_w, 2, NULL);
    CHECK (store_begin (store) == 0);
    int rows = 3 * STORE_PROGRESS_MAX_ROWS;
    for (int i = 0; i < rows; i++) {
        store_progress_t p = { .epoch = i / 100, .epochs = rows / 100, .step = i, .steps = rows,
                               .loss = 1.0 / (1 + i), .val_loss = NAN, .val_metric = NAN,
                               .metrics = i % 100 == 99 ? "{\"r2\": 0.5}" : NULL };
        CHECK (store_job_progress (store, id, attempt, &p, 3 + i) == 0);
    }
    CHECK (store_commit (store) == 0);
    //  Thinned as it went: within the bound plus the rows between two checks
    CHECK (s_rows (store, id) <= STORE_PROGRESS_MAX_ROWS + 256);
    CHECK (store_progress_thin (store, id, attempt) >= 0);
    CHECK (s_rows (store, id) <= STORE_PROGRESS_MAX_ROWS);
    json_t *job = store_job_json (store, id, true);
    json_t *epochs = json_object_get (job, "epochs");
    CHECK_MSG (json_array_size (epochs) == (size_t) rows / 100, "%zu epochs kept",
               json_array_size (epochs));     // every epoch end is kept
    json_t *history = json_object_get (job, "history");
    CHECK (json_integer_value (json_array_get (json_array_get (history, 0), 0)) == 0);
    json_decref (job);
    CHECK (s_count (store, id) <= 500);     // STATUS's rule on top
    printf ("thin: %d progress rows kept within the bound, every epoch end kept\n", rows);
}

//  An attempt of epoch ends alone (many short epochs), or mostly (a step
//  report every tenth epoch): bounded too, its first and last epochs kept,
//  the rest thinned evenly
static void
test_thin_epochs (store_t *store, int steps_every)
{
    int64_t id = s_insert (store, "short epochs", NULL, 1);
    int attempt = store_job_take (store, id, &s_w, 2, NULL);
    CHECK (store_begin (store) == 0);
    int rows = 5 * STORE_PROGRESS_MAX_ROWS;
    for (int i = 1; i <= rows; i++) {
        store_progress_t p = { .epoch = i, .epochs = rows, .step = i, .steps = rows,
                               .loss = 1.0 / i, .val_loss = 2.0 / i, .val_metric = NAN,
                               .metrics = "{\"r2\": 0.5}" };
        CHECK (store_job_progress (store, id, attempt, &p, 3 + i) == 0);
        if (steps_every && i % steps_every == 0) {
            store_progress_t step = p;
            step.metrics = NULL;
            CHECK (store_job_progress (store, id, attempt, &step, 3 + i) == 0);
        }
    }
    CHECK (store_commit (store) == 0);
    CHECK_MSG (s_rows (store, id) <= STORE_PROGRESS_MAX_ROWS + 256, "%lld rows kept",
               (long long) s_rows (store, id));
    int64_t kept = s_rows (store, id);
    CHECK (kept > STORE_PROGRESS_MAX_ROWS / 2);
    json_t *job = store_job_json (store, id, true);
    json_t *epochs = json_object_get (job, "epochs");
    size_t n = json_array_size (epochs);
    CHECK (n >= 2);
    CHECK (json_integer_value (json_object_get (json_array_get (epochs, 0), "epoch")) == 1);
    CHECK (json_integer_value (json_object_get (json_array_get (epochs, n - 1), "epoch")) == rows);
    json_decref (job);
    printf ("thin: %d epoch ends (a step report every %d), %lld rows kept, the first and the"
            " last epochs among them\n", rows, steps_every, (long long) kept);
}

//  Jobs reporting in turn: each one's history stays within the bound (four:
//  a count of rows over all jobs would check one of them only)
static void
test_thin_rotation (store_t *store)
{
    enum { JOBS = 4 };
    int64_t ids [JOBS];
    int attempts [JOBS];
    for (int j = 0; j < JOBS; j++) {
        ids [j] = s_insert (store, "turn", NULL, 1);
        attempts [j] = store_job_take (store, ids [j], &s_w, 2, NULL);
        CHECK (attempts [j] >= 1);
    }
    CHECK (store_begin (store) == 0);
    int rows = STORE_PROGRESS_MAX_ROWS + 3 * 256;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < JOBS; j++) {
            store_progress_t p = { .epoch = i / 100, .epochs = rows / 100, .step = i,
                                   .steps = rows, .loss = 1.0 / (1 + i), .val_loss = NAN,
                                   .val_metric = NAN };
            CHECK (store_job_progress (store, ids [j], attempts [j], &p, 3 + i) == 0);
        }
    CHECK (store_commit (store) == 0);
    for (int j = 0; j < JOBS; j++)
        CHECK_MSG (s_rows (store, ids [j]) <= STORE_PROGRESS_MAX_ROWS + 256,
                   "job %d of %d in turn kept %lld rows", j + 1, JOBS,
                   (long long) s_rows (store, ids [j]));
    printf ("thin: %d jobs reporting in turn, %d rows each: each kept within the bound\n", JOBS,
            rows);
}

//  A sweep's base spec keeps its blobs in use after its trials are gone
static void
test_sweep_blobs (store_t *store)
{
    const char *data = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const char *val = "1111111111111111111111111111111111111111111111111111111111111111";
    CHECK (!store_blob_in_use (store, data) && !store_blob_in_use (store, val));
    char sql [600];
    snprintf (sql, sizeof sql, "INSERT INTO sweeps (spec, space, search, seed, trials, parallel,"
              " early_stop, min_epochs, reduction, metric, mode, state, created_at) VALUES"
              " ('{\"target\": \"y\", \"data_hash\": \"%s\", \"val_data_hash\": \"%s\"}',"
              " '[]', 'grid', 0, 1, 1, 'none', 1, 3, 'val_loss', 'min', 'stopped', 1)", data, val);
    CHECK (sqlite3_exec (store_db (store), sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK (store_blob_in_use (store, data) && store_blob_in_use (store, val));
    //  A trial's job that named them, deleted: nothing doomed
    int64_t id = s_insert (store, "trial", data, 1);
    s_finish (store, id, JOB_STOPPED, NULL, 2);
    json_t *doomed = json_array ();
    CHECK (store_job_delete (store, id, doomed) == 0 && json_array_size (doomed) == 0);
    json_decref (doomed);
    CHECK (sqlite3_exec (store_db (store), "DELETE FROM sweeps", NULL, NULL, NULL) == SQLITE_OK);
    CHECK (!store_blob_in_use (store, data));
    printf ("blobs: a sweep's base spec keeps its data in use after its trial is deleted\n");
}

int
main (void)
{
    char *cause = NULL;
    CHECK (sodium_init () >= 0);
    CHECK_MSG (mt_spec_from_json (&s_spec, "{\"target\":\"y\",\"data_path\":\"/x.csv\"}",
                                  &cause) == 0, "%s", cause);
    char dir [256];
    test_temp_dir (dir, sizeof dir, "mt-pages");
    store_t *store = store_open (test_path (dir, "mt.db"), &cause);
    CHECK_MSG (store, "%s", cause);
    test_paging (store);
    test_delete (store, dir);
    test_thin (store);
    test_thin_epochs (store, 0);
    test_thin_epochs (store, 10);
    test_thin_rotation (store);
    test_prune (store);
    test_sweep_blobs (store);
    store_destroy (&store);
    mt_spec_clear (&s_spec);
    test_remove_dir (dir);
    printf ("test_store_pages: ok\n");
    return 0;
}
