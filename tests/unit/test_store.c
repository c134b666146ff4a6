/*  test_store - the job store: insert, start, idempotent keys, retries, faults, migration  */
#include "testutil.h"
#include "store.h"

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
    CHECK (store_job_start (store, high, "w1", 0, now) == 1);
    CHECK (store_job_start (store, high, "w1", 0, now) == -1);     // not queued any more
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
    CHECK (store_job_start (store, a, "w1", 0, 3000) == 1);
    CHECK (s_load (store).count == 0);
    CHECK (store_job_requeue (store, a, 1, "worker_lost", 5000, 4000) == 0);
    CHECK (s_load (store).count == 1);
    CHECK (store_job_start (store, a, "w2", 0, 5000) == 2);
    CHECK (store_job_requeue (store, a, 2, "drained", 0, 6000) == 0);
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
    test_faults (store);
    store_destroy (&store);
    //  Reopening finds the schema and the jobs
    store = store_open (path, &cause);
    CHECK (store);
    json_t *list = store_job_list (store, NULL, 1000);
    CHECK (json_array_size (list) == 4);
    json_decref (list);
    store_destroy (&store);
    store_destroy (&store);
    //  A version-1 database is migrated through every step to the current
    //  schema; its jobs and attempts are still there, its queued jobs load
    char jobs [32], attempts [32], after [256];
    s_query (path, "SELECT count(*) FROM jobs", jobs, sizeof jobs);
    s_query (path, "SELECT count(*) FROM attempts", attempts, sizeof attempts);
    CHECK (atoi (jobs) == 4 && atoi (attempts) > 0);
    char cmd [512];
    snprintf (cmd, sizeof cmd, "sqlite3 %s 'CREATE INDEX jobs_queue ON jobs (state,"
              " priority DESC, id); ALTER TABLE jobs DROP COLUMN client;"
              " PRAGMA user_version = 1'", path);
    CHECK (system (cmd) == 0);
    store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    queued_t q = s_load (store);
    CHECK (q.count == 2 && strcmp (q.client, "") == 0);     // submitters unknown before v2
    bool existing = false;
    CHECK (store_job_insert (store, s_spec, "named", NULL, 0, 2, "key-1", "alice", 3000,
                             &existing) > 0 && existing);  // keys still found
    store_destroy (&store);
    s_query (path, "SELECT count(*) FROM jobs", after, sizeof after);
    CHECK (strcmp (after, jobs) == 0);
    s_query (path, "SELECT count(*) FROM attempts", after, sizeof after);
    CHECK (strcmp (after, attempts) == 0);
    //  Schema 4: attempts keyed by (job, attempt), keys indexed where set
    s_query (path, "SELECT sql FROM sqlite_master WHERE name = 'attempts'", after, sizeof after);
    CHECK_STR_CONTAINS (after, "WITHOUT ROWID");
    s_query (path, "SELECT sql FROM sqlite_master WHERE name = 'jobs_key'", after, sizeof after);
    CHECK_STR_CONTAINS (after, "WHERE key IS NOT NULL");
    //  A database from a newer mt is refused
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
