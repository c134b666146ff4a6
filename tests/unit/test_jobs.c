/*  test_jobs - the job's state machine over a real store: every move, its writes and what it tells  */
#include "testjobs.h"

#include <czmq.h>

static char s_dir [] = "/tmp/mt-jobs.XXXXXX";
static store_t *s_store;
static jobs_t *s_jobs;

static const store_worker_t s_host1 = { "host:1", "", "local" };

//  Start the next job on worker; its id, or 0 when none is due.
static int64_t
s_start (const char *worker, int expect_attempt)
{
    store_job_t job;
    bool started;
    CHECK (jobs_start (s_jobs, &(store_worker_t) { worker, "", "local" }, 2000, &job,
                       &started) == 0);
    if (!started)
        return 0;
    CHECK (job.attempt == expect_attempt);
    int64_t id = job.id;
    store_job_clear (&job);
    return id;
}

static job_state_t
s_state (int64_t id)
{
    store_job_t job;
    CHECK (store_job_get (s_store, id, &job) == 0);
    job_state_t state = job.state;
    store_job_clear (&job);
    return state;
}

static job_move_t
s_event (int64_t id, int attempt, job_event_t event, const char *reason)
{
    job_move_t move;
    job_report_t report = { .reason = reason, .worker = "host:1", .started_at = 2000 };
    CHECK (jobs_event (s_jobs, id, attempt, event, &report, 3000, &move) == 0);
    CHECK (move.found);
    return move;
}

static void
test_names (void)
{
    for (int s = 0; s < JOB_STATES; s++) {
        job_state_t back;
        CHECK (job_state_parse (job_state_name ((job_state_t) s), &back) == 0 && (int) back == s);
    }
    job_state_t state;
    CHECK (job_state_parse ("running ", &state) == -1 && job_state_parse (NULL, &state) == -1);
    CHECK_STR_EQ (job_state_name (JOB_STATES), "?");
    CHECK (job_state_ended (JOB_STOPPED) && !job_state_ended (JOB_STOPPING));
}

static void
test_life (void)
{
    //  queued -> running -> succeeded
    int64_t a = test_jobs_submit (s_jobs, 3);
    CHECK (jobs_queued (s_jobs, "alice") == 1);
    CHECK (s_start ("host:1", 1) == a && jobs_queued (s_jobs, "alice") == 0);
    CHECK (s_start ("host:1", 1) == 0);
    job_move_t move = s_event (a, 1, JOB_EV_DONE, NULL);
    CHECK (move.moved && move.from == JOB_RUNNING && move.to == JOB_SUCCEEDED && move.release);
    CHECK (move.tell == JOB_TELL_NOBODY);
    CHECK_STR_CONTAINS (move.note, "succeeded on host:1");
    CHECK (s_state (a) == JOB_SUCCEEDED);
    //  An ended job: a stop is refused, a late report changes nothing
    move = s_event (a, -1, JOB_EV_STOP, NULL);
    CHECK (!move.moved && move.to == JOB_SUCCEEDED);
    CHECK_STR_CONTAINS (move.refusal, "already succeeded");
    move = s_event (a, 1, JOB_EV_FAILED, "late");
    CHECK (!move.moved && move.release && s_state (a) == JOB_SUCCEEDED);

    //  A queued job stops at once and leaves the queue
    int64_t b = test_jobs_submit (s_jobs, 3);
    move = s_event (b, -1, JOB_EV_STOP, NULL);
    CHECK (move.moved && move.to == JOB_STOPPED && !move.release && !move.refusal [0]);
    CHECK (s_start ("host:1", 1) == 0 && jobs_queued (s_jobs, "alice") == 0);

    //  running -> stopping (the worker is told) -> stopped
    int64_t c = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:1", 1) == c);
    move = s_event (c, -1, JOB_EV_STOP, NULL);
    CHECK (move.moved && move.to == JOB_STOPPING && move.tell == JOB_TELL_STOP && !move.release);
    move = s_event (c, -1, JOB_EV_STOP, NULL);     // again: on its way already
    CHECK (!move.moved && !move.refusal [0] && move.to == JOB_STOPPING);
    move = s_event (c, 1, JOB_EV_CRASHED, "boom");  // a failure while stopping ends it stopped
    CHECK (move.moved && move.to == JOB_STOPPED && s_state (c) == JOB_STOPPED);
}

static void
test_retries (void)
{
    //  A failure a retry may fix: queued again after a backoff, until the retries run out
    int64_t d = test_jobs_submit (s_jobs, 1);
    CHECK (s_start ("host:1", 1) == d);
    job_move_t move = s_event (d, 1, JOB_EV_CRASHED, "out of memory");
    CHECK (move.moved && move.to == JOB_QUEUED && move.retry_at == 3000 + JOBS_BACKOFF_MS);
    CHECK_STR_CONTAINS (move.note, "retry in 1000 ms");
    store_job_t job;
    bool started;
    CHECK (jobs_start (s_jobs, &s_host1, 3000, &job, &started) == 0 && !started);  // backing off
    CHECK (jobs_start (s_jobs, &s_host1, 4000, &job, &started) == 0 && started);
    CHECK (job.id == d && job.attempt == 2);
    store_job_clear (&job);
    move = s_event (d, 1, JOB_EV_LOST, "stale");       // an old attempt: nothing moves
    CHECK (!move.moved && s_state (d) == JOB_RUNNING);
    move = s_event (d, 2, JOB_EV_LOST, "its worker stopped answering heartbeats");
    CHECK (move.moved && move.to == JOB_FAILED && s_state (d) == JOB_FAILED);
    CHECK_STR_CONTAINS (move.note, "worker_lost");

    //  A failure no retry fixes fails at once
    int64_t e = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:1", 1) == e);
    move = s_event (e, 1, JOB_EV_FAILED, "bad data");
    CHECK (move.moved && move.to == JOB_FAILED);

    //  A drained job is queued again at once, and costs no retry
    int64_t f = test_jobs_submit (s_jobs, 0);
    CHECK (s_start ("host:1", 1) == f);
    move = s_event (f, 1, JOB_EV_DRAINED, NULL);
    CHECK (move.moved && move.to == JOB_QUEUED && move.retry_at == 0 && move.release);
    CHECK (s_start ("host:2", 2) == f);

    //  The broker's own ends tell the worker to drop the job
    move = s_event (f, 2, JOB_EV_TIMED_OUT, NULL);
    CHECK (move.moved && move.to == JOB_FAILED && move.tell == JOB_TELL_ABANDON);
    json_t *status = store_job_json (s_store, f, false);
    CHECK_STR_CONTAINS (json_string_value (json_object_get (status, "error")), "time limit");
    json_decref (status);
    //  ... even when the job has moved on
    move = s_event (f, 2, JOB_EV_STALLED, NULL);
    CHECK (!move.moved && move.tell == JOB_TELL_ABANDON && move.release);

    //  A stop that is never confirmed
    int64_t g = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:1", 1) == g);
    s_event (g, -1, JOB_EV_STOP, NULL);
    move = s_event (g, 1, JOB_EV_STOP_LATE, NULL);
    CHECK (move.moved && move.to == JOB_STOPPED && move.tell == JOB_TELL_ABANDON);

    //  No such job
    job_move_t none;
    CHECK (jobs_event (s_jobs, 999, -1, JOB_EV_STOP, NULL, 0, &none) == 0 && !none.found);
}

//  The error of a job, as its status shows it (caller frees).
static char *
s_error_of (int64_t id)
{
    json_t *status = store_job_json (s_store, id, false);
    const char *error = json_string_value (json_object_get (status, "error"));
    char *copy = error ? strdup (error) : NULL;
    json_decref (status);
    return copy;
}

//  A stalled attempt that never reported a step reads apart from one that
//  stopped moving mid-run, both naming the timeout and its flag
static void
test_stalls (void)
{
    int64_t never = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:1", 1) == never);
    job_move_t move;
    job_report_t report = { .worker = "host:1", .started_at = 2000, .stall_ms = 600000 };
    CHECK (jobs_event (s_jobs, never, 1, JOB_EV_STALLED, &report, 3000, &move) == 0);
    CHECK (move.moved && move.to == JOB_FAILED && move.tell == JOB_TELL_ABANDON);
    char *error = s_error_of (never);
    CHECK_STR_EQ (error, "its worker host:1 never reported a first step within the stall"
                  " timeout of 600 s (mtbroker --stall-timeout); see that worker's log");
    free (error);
    CHECK_STR_CONTAINS (move.note, "stalled");

    int64_t mid = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:2", 1) == mid);
    report = (job_report_t) { .worker = "host:2", .started_at = 2000, .stepped = true,
                              .step = 1234, .stall_ms = 1500 };
    CHECK (jobs_event (s_jobs, mid, 1, JOB_EV_STALLED, &report, 3000, &move) == 0);
    CHECK (move.moved && move.to == JOB_FAILED);
    error = s_error_of (mid);
    CHECK_STR_EQ (error, "the training stalled at step 1234 for 1.5 s (mtbroker --stall-timeout)");
    free (error);
    //  a step of 0 reported is a step reported
    int64_t zero = test_jobs_submit (s_jobs, 3);
    CHECK (s_start ("host:3", 1) == zero);
    report.stepped = true;
    report.step = 0;
    report.stall_ms = 2000;
    CHECK (jobs_event (s_jobs, zero, 1, JOB_EV_STALLED, &report, 3000, &move) == 0);
    error = s_error_of (zero);
    CHECK_STR_CONTAINS (error, "stalled at step 0 for 2 s");
    free (error);
}

static void
test_keys (void)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.target = strdup ("y");
    spec.data_path = strdup ("/data.csv");
    bool existing, conflict;
    int64_t id = jobs_submit (s_jobs, &spec, NULL, "k1", NULL, 1000, &existing, &conflict);
    CHECK (id > 0 && !existing);
    CHECK (jobs_submit (s_jobs, &spec, NULL, "k1", NULL, 1000, &existing, &conflict) == id);
    CHECK (existing && !conflict);
    spec.epochs = 7;
    CHECK (jobs_submit (s_jobs, &spec, NULL, "k1", NULL, 1000, &existing, &conflict) == id);
    CHECK (existing && conflict);
    mt_spec_clear (&spec);
    CHECK (s_event (id, -1, JOB_EV_STOP, NULL).to == JOB_STOPPED);    // the queue is empty again
}

//  A move whose write fails fails the batch: the commit refuses, and the
//  queue rolls back with the store
static int s_fail_writes;
static int s_fault (void *arg) { return s_fail_writes; }

static void
test_failed_write (void)
{
    store_set_fault (s_store, s_fault, NULL);
    CHECK (store_begin (s_store) == 0);
    jobs_begin (s_jobs);
    int64_t h = test_jobs_submit (s_jobs, 3);
    CHECK (store_commit (s_store) == 0);
    jobs_commit (s_jobs);

    CHECK (store_begin (s_store) == 0);
    jobs_begin (s_jobs);
    CHECK (s_start ("host:1", 1) == h);
    s_fail_writes = 1;
    job_move_t move;
    CHECK (jobs_event (s_jobs, h, 1, JOB_EV_DRAINED, NULL, 3000, &move) == -1);
    CHECK (!move.moved);
    CHECK (store_commit (s_store) == -1);
    jobs_rollback (s_jobs);
    s_fail_writes = 0;
    CHECK (s_state (h) == JOB_QUEUED && jobs_queued (s_jobs, "alice") == 1);
    CHECK (s_start ("host:1", 1) == h);
    store_set_fault (s_store, NULL, NULL);
}

int
main (void)
{
    test_jobs_open (s_dir, &s_store, &s_jobs);
    test_names ();
    test_life ();
    test_retries ();
    test_stalls ();
    test_keys ();
    test_failed_write ();
    jobs_destroy (&s_jobs);
    test_jobs_close (s_dir, &s_store, &s_jobs);     // jobs_destroy is safe twice
    printf ("test_jobs: ok\n");
    return 0;
}
