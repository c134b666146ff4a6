/*  test_store - the job store: insert, idempotent keys, dispatch order, aging, retries, faults  */
#include "testutil.h"
#include "store.h"

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

static void
test_order_and_aging (store_t *store)
{
    int64_t now = 10 * 60000;
    CHECK (store_begin (store) == 0);
    int64_t low = s_insert (store, 0, now, NULL);
    int64_t high = s_insert (store, 5, now, NULL);
    int64_t high2 = s_insert (store, 5, now, NULL);
    CHECK (store_commit (store) == 0);
    //  Highest priority first, then oldest
    CHECK (store_job_next (store, now) == high);
    CHECK (store_job_start (store, high, "w1", 0, now) == 1);
    CHECK (store_job_next (store, now) == high2);
    CHECK (store_job_start (store, high2, "w1", 0, now) == 1);
    CHECK (store_job_next (store, now) == low);
    //  A priority-3 job arriving two minutes later runs first; another arriving
    //  at five minutes does not: the priority-0 job has gained five levels
    int64_t mid = s_insert (store, 3, now + 2 * 60000, NULL);
    CHECK (store_job_next (store, now + 2 * 60000) == mid);
    CHECK (store_job_start (store, mid, "w2", 0, now + 2 * 60000) == 1);
    int64_t mid2 = s_insert (store, 3, now + 5 * 60000, NULL);
    CHECK (store_job_next (store, now + 5 * 60000) == low);
    CHECK (store_job_start (store, low, "w2", 0, now + 5 * 60000) == 1);
    CHECK (store_job_next (store, now + 5 * 60000) == mid2);
    CHECK (store_job_start (store, mid2, "w2", 0, now + 5 * 60000) == 1);
    CHECK (store_job_next (store, now) == 0);
}

static void
test_keys_and_retries (store_t *store)
{
    bool existing;
    int64_t a = store_job_insert (store, s_spec, "named", NULL, 0, 2, "key-1", "alice", 1000, &existing);
    CHECK (a > 0 && !existing);
    int64_t b = store_job_insert (store, s_spec, "named", NULL, 0, 2, "key-1", "alice", 2000, &existing);
    CHECK (b == a && existing);
    CHECK (store_client_queued (store, "alice") == 1);
    CHECK (store_client_queued (store, "bob") == 0);
    //  Counts follow the job: out of the queue on start, back on requeue
    //  Two lost attempts count against max_retries; a drained one does not
    CHECK (store_job_start (store, a, "w1", 0, 3000) == 1);
    CHECK (store_client_queued (store, "alice") == 0);
    CHECK (store_job_requeue (store, a, 1, "worker_lost", 5000, 4000) == 0);
    CHECK (store_client_queued (store, "alice") == 1);
    CHECK (store_job_next (store, 4500) != a);       // backing off
    CHECK (store_job_start (store, a, "w2", 0, 5000) == 2);
    CHECK (store_job_requeue (store, a, 2, "drained", 0, 6000) == 0);
    CHECK (store_job_failures (store, a) == 1);
    store_job_t job;
    CHECK (store_job_get (store, a, &job) == 0);
    CHECK (strcmp (job.state, "queued") == 0 && job.attempt == 2 && job.started_at == 3000);
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
    test_order_and_aging (store);
    test_keys_and_retries (store);
    test_faults (store);
    store_destroy (&store);
    //  Reopening finds the schema and the jobs
    store = store_open (path, &cause);
    CHECK (store);
    json_t *list = store_job_list (store, NULL, 1000);
    CHECK (json_array_size (list) >= 5);
    json_decref (list);
    store_destroy (&store);
    store_destroy (&store);
    //  A version-1 database is migrated: the submitter column and the queue
    //  counts come back, counted from the jobs
    char cmd [512];
    snprintf (cmd, sizeof cmd, "sqlite3 %s 'DROP TRIGGER jobs_enter_queue; DROP TRIGGER"
              " jobs_requeue; DROP TRIGGER jobs_leave_queue; DROP TABLE queue_counts;"
              " ALTER TABLE jobs DROP COLUMN client; PRAGMA user_version = 1'", path);
    CHECK (system (cmd) == 0);
    store = store_open (path, &cause);
    CHECK_MSG (store, "%s", cause);
    CHECK (store_client_queued (store, NULL) == 2);     // the two queued jobs, submitters gone
    store_destroy (&store);
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
