/*  test_stats - the broker's figures: buckets, counters moved by the job's life, a store's seed  */
#include "testjobs.h"
#include "stats.h"

static char s_dir [] = "/tmp/mt-stats.XXXXXX";
static store_t *s_store;
static jobs_t *s_jobs;
static stats_t *s_stats;        // told of every change of s_jobs

static void
s_watch (void *arg, const job_change_t *change)
{
    stats_job_changed (arg, change);
}

//  Submitted at 1000 ms, with the default max_retries.
static int64_t
s_submit (void)
{
    return test_jobs_submit (s_jobs, 3);
}

//  Start the next job at 2000 ms; its id.
static int64_t
s_start (void)
{
    store_job_t job;
    bool started;
    CHECK (jobs_start (s_jobs, &(store_worker_t) { "host:1", "", "local" }, 2000, &job,
                       &started) == 0 && started);
    int64_t id = job.id;
    store_job_clear (&job);
    return id;
}

//  Event on job id's attempt 1 at 3000 ms, which started at 2000.
static void
s_event (int64_t id, job_event_t event)
{
    job_move_t move;
    job_report_t report = { .reason = "why", .worker = "host:1", .started_at = 2000,
                            .model_hash = "ab", .metrics = "{}" };
    CHECK (jobs_event (s_jobs, id, 1, event, &report, 3000, &move) == 0 && move.moved);
}

static json_int_t
s_int (json_t *stats, const char *path)
{
    char copy [128];
    snprintf (copy, sizeof copy, "%s", path);
    json_t *value = stats;
    for (char *key = strtok (copy, "."); key; key = strtok (NULL, "."))
        value = json_object_get (value, key);
    CHECK_MSG (json_is_integer (value), "no integer at %s", path);
    return json_integer_value (value);
}

static void
test_buckets (void)
{
    //  A bound is inclusive (Prometheus' le): 0.01 s is in the first bucket
    CHECK (stats_bucket (STATS_QUEUE_WAIT, 0) == 0);
    CHECK (stats_bucket (STATS_QUEUE_WAIT, 0.01) == 0);
    CHECK (stats_bucket (STATS_QUEUE_WAIT, 0.0101) == 1);
    CHECK (stats_bucket (STATS_QUEUE_WAIT, 1) == 4);
    CHECK (stats_bucket (STATS_QUEUE_WAIT, 1e9) == 14);      // +Inf
    CHECK (stats_bucket (STATS_COMMIT, 0.0004) == 0);
    CHECK (stats_bucket (STATS_COMMIT, 3) == 12);
    CHECK (stats_bucket (STATS_JOB_DURATION, 61) == 5);

    stats_t *stats = stats_new (42);
    CHECK (stats);
    stats_observe (stats, STATS_COMMIT, 0.0002);
    stats_observe (stats, STATS_COMMIT, 0.003);
    stats_observe (stats, STATS_COMMIT, 0.003);
    stats_observe (stats, STATS_COMMIT, 100);
    json_t *json = stats_json (stats, 3, 2);
    CHECK (json);
    CHECK (s_int (json, "started_at") == 42 && s_int (json, "workers.idle") == 3
           && s_int (json, "workers.busy") == 2);
    json_t *h = json_object_get (json_object_get (json, "histograms"), "commit_seconds");
    json_t *le = json_object_get (h, "le"), *counts = json_object_get (h, "counts");
    CHECK (json_array_size (le) == 12 && json_array_size (counts) == 13);
    //  Cumulative: 1 at <= 0.0005, 3 from <= 0.005 on, 4 at +Inf
    CHECK (json_integer_value (json_array_get (counts, 0)) == 1);
    CHECK (json_integer_value (json_array_get (counts, 2)) == 1);
    CHECK (json_integer_value (json_array_get (counts, 3)) == 3);
    CHECK (json_integer_value (json_array_get (counts, 11)) == 3);
    CHECK (json_integer_value (json_array_get (counts, 12)) == 4);
    CHECK (s_int (h, "count") == 4);
    CHECK_NEAR (json_real_value (json_object_get (h, "sum")), 100.0062, 1e-9);
    json_decref (json);
    stats_destroy (&stats);
    stats_destroy (&stats);
}

//  Jobs in every state, moved through s_jobs, counted by s_stats as they move.
static void
test_life (void)
{
    int64_t a = s_submit (), b = s_submit (), c = s_submit (), d = s_submit (), e = s_submit ();
    int64_t f = s_submit (), g = s_submit ();
    CHECK (s_start () == a && s_start () == b);
    s_event (a, JOB_EV_DONE);                   // succeeded
    s_event (b, JOB_EV_FAILED);                 // failed
    job_move_t move;
    CHECK (jobs_event (s_jobs, c, -1, JOB_EV_STOP, NULL, 3000, &move) == 0 && move.moved);
    CHECK (s_start () == d && s_start () == e && s_start () == f);
    s_event (d, JOB_EV_STOP);                   // stopping
    s_event (f, JOB_EV_CRASHED);                // queued again (it has retries)
    (void) g;                                   // queued
    json_t *json = stats_json (s_stats, 0, 0);
    CHECK (s_int (json, "jobs.queued") == 2 && s_int (json, "jobs.running") == 1
           && s_int (json, "jobs.stopping") == 1 && s_int (json, "jobs.succeeded") == 1
           && s_int (json, "jobs.failed") == 1 && s_int (json, "jobs.stopped") == 1);
    CHECK (s_int (json, "submitted_total") == 7);
    CHECK (s_int (json, "finished_total.succeeded") == 1
           && s_int (json, "finished_total.failed") == 1
           && s_int (json, "finished_total.stopped") == 1);
    CHECK (s_int (json, "attempts_total.succeeded") == 1
           && s_int (json, "attempts_total.failed") == 1
           && s_int (json, "attempts_total.crashed") == 1
           && s_int (json, "attempts_total.stopped") == 0);
    //  Five starts, each 1 s after its submit; two attempts ran to an end of
    //  their job, 1 s each (the crash requeued its job: no duration)
    CHECK (s_int (json, "histograms.queue_wait_seconds.count") == 5);
    CHECK (s_int (json, "histograms.job_duration_seconds.count") == 2);
    json_t *wait = json_object_get (json_object_get (json_object_get (json, "histograms"),
                                    "queue_wait_seconds"), "counts");
    CHECK (json_integer_value (json_array_get (wait, 3)) == 0);     // <= 0.5 s
    CHECK (json_integer_value (json_array_get (wait, 4)) == 5);     // <= 1 s
    CHECK_NEAR (json_real_value (json_object_get (json_object_get (json_object_get (json,
                "histograms"), "job_duration_seconds"), "sum")), 2.0, 1e-12);

    //  A broker started now counts the same from the store (its histograms empty)
    stats_t *seeded = stats_new (0);
    CHECK (stats_seed (seeded, s_store) == 0);
    json_t *again = stats_json (seeded, 0, 0);
    const char *keys [] = { "jobs", "submitted_total", "finished_total", "attempts_total" };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        CHECK_MSG (json_equal (json_object_get (json, keys [i]), json_object_get (again, keys [i])),
                   "%s: seeded %s, counted %s", keys [i],
                   json_dumps (json_object_get (again, keys [i]), JSON_COMPACT),
                   json_dumps (json_object_get (json, keys [i]), JSON_COMPACT));
    CHECK (s_int (again, "histograms.queue_wait_seconds.count") == 0);
    CHECK (stats_jobs (seeded, JOB_QUEUED) == 2 && stats_jobs (seeded, JOB_STATES) == 0);
    json_decref (again);
    json_decref (json);
    stats_destroy (&seeded);
}

//  What a rolled-back transaction changed is put back; commit keeps it.
static void
test_rollback (void)
{
    int64_t queued = stats_jobs (s_stats, JOB_QUEUED);
    CHECK (store_begin (s_store) == 0);
    jobs_begin (s_jobs);
    stats_begin (s_stats);
    s_submit ();
    stats_observe (s_stats, STATS_QUEUE_WAIT, 1);
    CHECK (stats_jobs (s_stats, JOB_QUEUED) == queued + 1);
    store_rollback (s_store);
    jobs_rollback (s_jobs);
    stats_rollback (s_stats);
    CHECK (stats_jobs (s_stats, JOB_QUEUED) == queued);
    json_t *json = stats_json (s_stats, 0, 0);
    CHECK (s_int (json, "submitted_total") == 7);
    CHECK (s_int (json, "histograms.queue_wait_seconds.count") == 5);
    json_decref (json);

    CHECK (store_begin (s_store) == 0);
    jobs_begin (s_jobs);
    stats_begin (s_stats);
    s_submit ();
    CHECK (store_commit (s_store) == 0);
    jobs_commit (s_jobs);
    stats_commit (s_stats);
    stats_rollback (s_stats);           // nothing open: nothing to undo
    CHECK (stats_jobs (s_stats, JOB_QUEUED) == queued + 1);
}

//  The jobs by state as counted must be the store's count, as a broker
//  started now would seed them.
static void
s_jobs_match_store (int line)
{
    stats_t *seeded = stats_new (0);
    CHECK (seeded && stats_seed (seeded, s_store) == 0);
    for (int s = 0; s < JOB_STATES; s++)
        CHECK_MSG (stats_jobs (s_stats, (job_state_t) s) == stats_jobs (seeded, (job_state_t) s),
                   "line %d: %s: counted %lld, the store holds %lld", line,
                   job_state_name ((job_state_t) s),
                   (long long) stats_jobs (s_stats, (job_state_t) s),
                   (long long) stats_jobs (seeded, (job_state_t) s));
    stats_destroy (&seeded);
}

//  RESUME and DELETE move the counts as they move the rows; a resumed job's
//  wait counts from its resume
static void
test_resume_delete (void)
{
    //  Start every queued job, then end them all failed
    store_job_t job;
    bool started = true;
    int64_t ids [16];
    int n = 0;
    while (n < 16) {
        CHECK (jobs_start (s_jobs, &(store_worker_t) { "host:1", "", "local" }, 2000, &job,
                           &started) == 0);
        if (!started)
            break;
        ids [n++] = job.id;
        store_job_clear (&job);
    }
    CHECK (n >= 1);
    for (int i = 0; i < n; i++)
        s_event (ids [i], JOB_EV_FAILED);
    s_jobs_match_store (__LINE__);
    int64_t id = ids [0];
    int64_t queued = stats_jobs (s_stats, JOB_QUEUED), failed = stats_jobs (s_stats, JOB_FAILED);
    job_move_t move;
    CHECK (jobs_resume (s_jobs, id, 3500, &move) == 0 && move.moved);
    CHECK (stats_jobs (s_stats, JOB_QUEUED) == queued + 1
           && stats_jobs (s_stats, JOB_FAILED) == failed - 1);
    s_jobs_match_store (__LINE__);
    json_t *before = stats_json (s_stats, 0, 0);
    //  (before the crashed job's backoff ends at 4000)
    CHECK (jobs_start (s_jobs, &(store_worker_t) { "host:1", "", "local" }, 3900, &job,
                       &started) == 0 && started && job.id == id);
    store_job_clear (&job);
    s_jobs_match_store (__LINE__);
    //  Its wait: 0.4 s from the resume (the <= 0.5 s bucket), not 2.9 s from its submit
    json_t *after = stats_json (s_stats, 0, 0);
    json_t *was = json_object_get (json_object_get (json_object_get (before, "histograms"),
                                   "queue_wait_seconds"), "counts");
    json_t *is = json_object_get (json_object_get (json_object_get (after, "histograms"),
                                  "queue_wait_seconds"), "counts");
    CHECK (json_integer_value (json_array_get (is, 2)) == json_integer_value (json_array_get (was, 2)));
    CHECK (json_integer_value (json_array_get (is, 3)) == json_integer_value (json_array_get (was, 3)) + 1);
    json_decref (before);
    json_decref (after);
    CHECK (jobs_event (s_jobs, id, 2, JOB_EV_STOPPED, NULL, 8000, &move) == 0 && move.moved);
    s_jobs_match_store (__LINE__);
    //  Delete an ended job: gone from its state's count; a running one is refused
    int64_t stopped = stats_jobs (s_stats, JOB_STOPPED);
    json_t *doomed = json_array ();
    job_state_t state;
    CHECK (jobs_delete (s_jobs, id, doomed, &state) == 0 && state == JOB_STOPPED);
    CHECK (stats_jobs (s_stats, JOB_STOPPED) == stopped - 1);
    s_jobs_match_store (__LINE__);
    CHECK (jobs_delete (s_jobs, id, doomed, &state) == 1);      // gone already
    int64_t live = s_submit ();
    CHECK (jobs_start (s_jobs, &(store_worker_t) { "host:1", "", "local" }, 2000, &job,
                       &started) == 0 && started && job.id == live);
    store_job_clear (&job);
    CHECK (jobs_delete (s_jobs, live, doomed, &state) == 1 && state == JOB_RUNNING);
    s_jobs_match_store (__LINE__);
    json_decref (doomed);
    printf ("stats: the counts match the store after a resume, a start, a stop and a delete\n");
}

int
main (void)
{
    test_jobs_open (s_dir, &s_store, &s_jobs);
    s_stats = stats_new (0);
    CHECK (s_stats && stats_seed (s_stats, s_store) == 0);
    jobs_watch (s_jobs, s_watch, s_stats);
    test_buckets ();
    test_life ();
    test_rollback ();
    test_resume_delete ();
    stats_destroy (&s_stats);
    test_jobs_close (s_dir, &s_store, &s_jobs);
    printf ("test_stats: ok\n");
    return 0;
}
