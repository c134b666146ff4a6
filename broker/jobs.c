/*  jobs - the job's life: its states, the events that move it, and what each move writes and tells  */
//  A job is queued, then runs on a worker, and ends succeeded, failed or
//  stopped; a stop on its way makes it stopping, and a failure a retry may
//  fix sends it back to queued with attempt + 1. Every move is a row of
//  s_rules: the event, the states it applies in, where it goes, and the
//  outcome it writes on the attempt that ends. jobs_event looks the row up,
//  writes the store, keeps the queue in memory in step, and says what the
//  reactor must do; the reactor keeps no rule of its own.
#include "jobs.h"
#include "queue.h"
#include "store.h"
#include "store_pages.h"
#include "mt/log.h"
#include "mt/util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jobs_t {
    store_t *store;             // the truth (borrowed)
    queue_t *queue;             // the store's queued jobs, in dispatch order
    jobs_watch_fn *watch;       // told of every change, or NULL
    void *watch_arg;
    jobs_end_fn *on_end;        // told of every job's end, or NULL
    void *on_end_arg;
};

#define Q (1u << JOB_QUEUED)
#define R (1u << JOB_RUNNING)
#define S (1u << JOB_STOPPING)

//  One move of the state machine.
typedef struct {
    job_event_t event;
    unsigned from;              // the states it applies in: a mask of 1 << state
    job_state_t to;
    const char *outcome;        // the ending attempt's outcome; NULL: no attempt ends
    bool retry;                 // to failed, but queued again after a backoff while
                                //   the job has retries left
    const char *error;          // the job's error when the event gives no reason
} rule_t;

static const rule_t s_rules [] = {
    //  event            from    to             outcome        retry  error
    { JOB_EV_STOP,       Q,      JOB_STOPPED,   NULL,          false, "stopped by request before it started" },
    { JOB_EV_STOP,       R,      JOB_STOPPING,  NULL,          false, NULL },
    { JOB_EV_DONE,       R | S,  JOB_SUCCEEDED, "succeeded",   false, NULL },
    { JOB_EV_FAILED,     R,      JOB_FAILED,    "failed",      false, NULL },
    { JOB_EV_FAILED,     S,      JOB_STOPPED,   "failed",      false, NULL },
    { JOB_EV_CRASHED,    R,      JOB_FAILED,    "crashed",     true,  NULL },
    { JOB_EV_CRASHED,    S,      JOB_STOPPED,   "crashed",     false, NULL },
    { JOB_EV_LOST,       R,      JOB_FAILED,    "worker_lost", true,  NULL },
    { JOB_EV_LOST,       S,      JOB_STOPPED,   "worker_lost", false, NULL },
    { JOB_EV_DRAINED,    R,      JOB_QUEUED,    "drained",     false, NULL },
    { JOB_EV_DRAINED,    S,      JOB_STOPPED,   "stopped",     false, "stopped by request" },
    { JOB_EV_STOPPED,    R | S,  JOB_STOPPED,   "stopped",     false, "stopped by request" },
    { JOB_EV_TIMED_OUT,  R,      JOB_FAILED,    "timed_out",   false, "the job ran past its time limit (--time-limit)" },
    { JOB_EV_STALLED,    R,      JOB_FAILED,    "stalled",     false, NULL },   // s_error says how
    { JOB_EV_STOP_LATE,  S,      JOB_STOPPED,   "stopped",     false, "stopped (the worker did not confirm in time)" },
    { JOB_EV_PRUNED,     R,      JOB_PRUNED,    "pruned",      false, "pruned by its sweep" },
};

//  What each event means for the job's worker, whether or not the job moves:
//  an event the worker reports, or one by which the broker ends its attempt,
//  leaves the worker free; the broker's own ends also tell it to drop the job.
static const struct {
    bool releases;
    bool abandons;
} s_events [JOB_EVENTS] = {
    [JOB_EV_STOP] = { false, false },
    [JOB_EV_DONE] = { true, false }, [JOB_EV_FAILED] = { true, false },
    [JOB_EV_CRASHED] = { true, false }, [JOB_EV_LOST] = { true, false },
    [JOB_EV_DRAINED] = { true, false }, [JOB_EV_STOPPED] = { true, false },
    [JOB_EV_TIMED_OUT] = { true, true }, [JOB_EV_STALLED] = { true, true },
    [JOB_EV_STOP_LATE] = { true, true }, [JOB_EV_PRUNED] = { false, false },
};

static const char *s_state_names [JOB_STATES] = {
    [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running", [JOB_STOPPING] = "stopping",
    [JOB_SUCCEEDED] = "succeeded", [JOB_FAILED] = "failed", [JOB_STOPPED] = "stopped",
    [JOB_PRUNED] = "pruned"
};

static const rule_t *s_rule (job_event_t event, job_state_t state);
static int s_enqueue (void *queue, int64_t id, int priority, int64_t created_at,
                      int64_t not_before, const char *client);
static int s_same_spec (jobs_t *self, int64_t id, const mt_spec_t *spec, bool *same);
static int s_move (jobs_t *self, const store_job_t *job, int attempt, const rule_t *rule,
                   const job_report_t *report, int64_t now_ms, job_move_t *move);
static void s_note (job_move_t *move, const store_job_t *job, int attempt, const rule_t *rule,
                    const job_report_t *report, const char *error, int64_t now_ms);
static const char *s_error (const rule_t *rule, const job_report_t *report, char *buf,
                            size_t size);

const char *
job_state_name (job_state_t state)
{
    return (unsigned) state < JOB_STATES ? s_state_names [state] : "?";
}

int
job_state_parse (const char *name, job_state_t *state)
{
    for (int s = 0; s < JOB_STATES; s++)
        if (name && strcmp (name, s_state_names [s]) == 0) {
            *state = (job_state_t) s;
            return 0;
        }
    return -1;
}

bool
job_state_ended (job_state_t state)
{
    return state == JOB_SUCCEEDED || state == JOB_FAILED || state == JOB_STOPPED
        || state == JOB_PRUNED;
}

jobs_t *
jobs_new (store_t *store, char **cause)
{
    jobs_t *self = calloc (1, sizeof *self);
    if (!self || !(self->queue = queue_new ())) {
        free (self);
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->store = store;
    if (store_queued_load (store, s_enqueue, self->queue)) {
        jobs_destroy (&self);
        mt_fail (cause, "cannot load the queued jobs");
        return NULL;
    }
    return self;
}

void
jobs_destroy (jobs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    queue_destroy (&(*self_p)->queue);
    free (*self_p);
    *self_p = NULL;
}

static int
s_enqueue (void *queue, int64_t id, int priority, int64_t created_at, int64_t not_before,
           const char *client)
{
    return queue_add (queue, id, priority, created_at, not_before, client);
}

void
jobs_watch (jobs_t *self, jobs_watch_fn *fn, void *arg)
{
    self->watch = fn;
    self->watch_arg = arg;
}

//  Tell the watcher of a change of job id.
static void
s_tell (jobs_t *self, int64_t id, int from, int to, const char *outcome,
        int64_t wait_ms, int64_t run_ms)
{
    if (self->watch)
        self->watch (self->watch_arg, &(job_change_t) { .id = id, .from = from, .to = to,
                     .outcome = outcome, .wait_ms = wait_ms, .run_ms = run_ms });
}

void
jobs_on_end (jobs_t *self, jobs_end_fn *fn, void *arg)
{
    self->on_end = fn;
    self->on_end_arg = arg;
}

void jobs_begin (jobs_t *self) { queue_begin (self->queue); }
void jobs_commit (jobs_t *self) { queue_commit (self->queue); }
void jobs_rollback (jobs_t *self) { queue_rollback (self->queue); }

int64_t
jobs_queued (jobs_t *self, const char *client)
{
    return queue_count (self->queue, client);
}

static int64_t s_submit (jobs_t *self, const mt_spec_t *spec, const char *spec_json,
                         const char *key, const char *client, int64_t sweep,
                         const char *params, int64_t now_ms, bool *existing, bool *conflict);

int64_t
jobs_submit (jobs_t *self, const mt_spec_t *spec, const char *spec_json, const char *key,
             const char *client, int64_t now_ms, bool *existing, bool *conflict)
{
    return s_submit (self, spec, spec_json, key, client, 0, NULL, now_ms, existing, conflict);
}

int64_t
jobs_submit_trial (jobs_t *self, const mt_spec_t *spec, const char *spec_json,
                   const char *client, int64_t sweep, const char *params, int64_t now_ms)
{
    bool existing, conflict;
    return s_submit (self, spec, spec_json, NULL, client, sweep, params, now_ms, &existing,
                     &conflict);
}

static int64_t
s_submit (jobs_t *self, const mt_spec_t *spec, const char *spec_json, const char *key,
          const char *client, int64_t sweep, const char *params, int64_t now_ms,
          bool *existing, bool *conflict)
{
    *conflict = false;
    int64_t id = store_job_insert (self->store, spec, spec_json, key, client, now_ms, existing);
    if (id < 0)
        return -1;
    if (!*existing && sweep > 0 && store_job_mark_trial (self->store, id, sweep, params))
        return -1;
    if (*existing) {
        bool same;
        if (s_same_spec (self, id, spec, &same))
            return -1;
        *conflict = !same;
        return id;
    }
    if (queue_add (self->queue, id, spec->priority, now_ms, 0, client)) {
        store_abort (self->store);      // recorded but not queued: undo both
        return -1;
    }
    s_tell (self, id, -1, JOB_QUEUED, NULL, -1, -1);
    return id;
}

//  Whether job id was submitted with the same spec, as a SUBMIT repeated
//  under its key must be: both as the spec module writes them (defaults
//  filled, numbers as numbers, fields in one order). 0, or -1 when the job
//  cannot be read.
static int
s_same_spec (jobs_t *self, int64_t id, const mt_spec_t *spec, bool *same)
{
    store_job_t job;
    if (store_job_get (self->store, id, &job))
        return -1;
    mt_spec_t stored;
    char *a = NULL, *b = NULL;
    int rc = mt_spec_from_json (&stored, job.spec, NULL) == 0
          && (a = mt_spec_to_json (&stored)) && (b = mt_spec_to_json (spec)) ? 0 : -1;
    *same = rc == 0 && strcmp (a, b) == 0;
    free (a);
    free (b);
    mt_spec_clear (&stored);
    store_job_clear (&job);
    return rc;
}

int
jobs_start (jobs_t *self, const store_worker_t *worker, int64_t now_ms, store_job_t *job,
            bool *started)
{
    *started = false;
    int64_t id = queue_next (self->queue, now_ms);
    if (id == 0)
        return 0;
    int64_t since = queue_since (self->queue, id);
    int attempt = store_job_take (self->store, id, worker, now_ms, job);
    //  Out of the queue either way: a job the store would not start is not
    //  startable, and a failed write fails the batch, which puts it back
    queue_remove (self->queue, id);
    if (attempt < 0)
        return -1;
    *started = true;
    s_tell (self, id, JOB_QUEUED, JOB_RUNNING, NULL, since ? now_ms - since : -1, -1);
    return 0;
}

static const rule_t *
s_rule (job_event_t event, job_state_t state)
{
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules [0]; i++)
        if (s_rules [i].event == event && (s_rules [i].from & (1u << state)))
            return &s_rules [i];
    return NULL;
}

int
jobs_event (jobs_t *self, int64_t id, int attempt, job_event_t event,
            const job_report_t *report, int64_t now_ms, job_move_t *move)
{
    static const job_report_t none = { 0 };
    assert ((unsigned) event < JOB_EVENTS);
    memset (move, 0, sizeof *move);
    report = report ? report : &none;
    store_job_t job;
    if (store_job_state (self->store, id, &job))
        return 0;
    move->found = true;
    attempt = attempt < 0 ? job.attempt : attempt;
    move->from = move->to = job.state;
    move->release = s_events [event].releases;
    move->tell = s_events [event].abandons ? JOB_TELL_ABANDON : JOB_TELL_NOBODY;
    const rule_t *rule = attempt == job.attempt ? s_rule (event, job.state) : NULL;
    int rc = 0;
    if (rule)
        rc = s_move (self, &job, attempt, rule, report, now_ms, move);
    else
    if (event == JOB_EV_STOP && job_state_ended (job.state))
        snprintf (move->refusal, sizeof move->refusal, "job %lld already %s; there is nothing"
                  " to stop", (long long) id, job_state_name (job.state));
    store_job_clear (&job);
    return rc;
}

//  Make the move rule says: write it, keep the queue in step, fill *move.
static int
s_move (jobs_t *self, const store_job_t *job, int attempt, const rule_t *rule,
        const job_report_t *report, int64_t now_ms, job_move_t *move)
{
    job_state_t to = rule->to;
    if (rule->retry) {
        int failures = store_job_failures (self->store, job->id);
        if (failures < 0)
            return -1;
        if (failures < job->max_retries) {
            int64_t backoff = JOBS_BACKOFF_MS << (attempt - 1 < 6 ? attempt - 1 : 6);
            move->retry_at = now_ms + (backoff < JOBS_BACKOFF_MAX_MS ? backoff
                                                                     : JOBS_BACKOFF_MAX_MS);
            to = JOB_QUEUED;
        }
    }
    char text [200];
    const char *error = s_error (rule, report, text, sizeof text);
    bool changed = true;
    int rc;
    if (to == JOB_STOPPING)
        rc = store_job_set_state (self->store, job->id, JOB_STOPPING);
    else {
        store_run_t run = { .started_at = report->started_at,
                            .resumed_from_epoch = report->resumed_from_epoch };
        mt_strlcpy (run.worker, report->worker ? report->worker : "", sizeof run.worker);
        store_end_t end = {
            .state = to, .outcome = rule->outcome, .metrics = report->metrics,
            .error = to == JOB_QUEUED || to == JOB_SUCCEEDED ? NULL : error,
            .model_hash = report->model_hash, .not_before_ms = move->retry_at,
            .now_ms = now_ms, .run = report->started_at ? &run : NULL
        };
        rc = store_job_end (self->store, job->id, attempt, &end, &changed);
    }
    if (rc)
        return -1;
    if (!changed)
        return 0;               // the row holds another attempt: nothing moved
    if (job->state == JOB_QUEUED)
        queue_remove (self->queue, job->id);
    if (to == JOB_QUEUED
    &&  queue_add (self->queue, job->id, job->priority, job->created_at, move->retry_at,
                   job->client)) {
        store_abort (self->store);      // requeued in the store, not in memory
        return -1;
    }
    if (to == JOB_QUEUED)
        queue_set_since (self->queue, job->id, now_ms);     // its next wait counts from here
    move->moved = true;
    move->to = to;
    s_tell (self, job->id, job->state, to, rule->outcome, -1,
            rule->outcome && report->started_at ? now_ms - report->started_at : -1);
    //  A pruned trial's worker checkpoints and stops, as for a client's stop
    if (to == JOB_STOPPING || to == JOB_PRUNED)
        move->tell = JOB_TELL_STOP;
    if (job_state_ended (to) && self->on_end && self->on_end (self->on_end_arg, job->id, to)) {
        store_abort (self->store);
        return -1;
    }
    if (mt_log_enabled (MT_LOG_INFO))
        s_note (move, job, attempt, rule, report, error, now_ms);
    return 0;
}

//  The job's error for a move by rule: the event's reason, else the rule's
//  own text. A stall tells an attempt that never reported a step (it did
//  not get to train: look at its worker) from one that stopped moving.
static const char *
s_error (const rule_t *rule, const job_report_t *report, char *buf, size_t size)
{
    if (report->reason || rule->event != JOB_EV_STALLED)
        return report->reason ? report->reason : rule->error;
    double timeout_s = (double) report->stall_ms / 1000.0;
    if (!report->stepped)
        snprintf (buf, size, "its worker %.64s never reported a first step within the stall"
                  " timeout of %g s (mtbroker --stall-timeout); see that worker's log",
                  report->worker && *report->worker ? report->worker : "(unknown)", timeout_s);
    else
        snprintf (buf, size, "the training stalled at step %lld for %g s (mtbroker"
                  " --stall-timeout)", (long long) report->step, timeout_s);
    return buf;
}

//  The log line that announces the move.
static void
s_note (job_move_t *move, const store_job_t *job, int attempt, const rule_t *rule,
        const job_report_t *report, const char *error, int64_t now_ms)
{
    long long id = (long long) job->id;
    const char *worker = report->worker && *report->worker ? report->worker : "its worker";
    if (move->to == JOB_QUEUED && move->retry_at)
        snprintf (move->note, sizeof move->note, "job %lld attempt %d: %s (%s); retry in %lld"
                  " ms", id, attempt, rule->outcome, error ? error : "?",
                  (long long) (move->retry_at - now_ms));
    else
    if (move->to == JOB_QUEUED)
        snprintf (move->note, sizeof move->note, "job %lld handed back by %s; queued again", id,
                  worker);
    else
    if (move->to == JOB_SUCCEEDED)
        snprintf (move->note, sizeof move->note, "job %lld succeeded on %s", id, worker);
    else
    if (move->to == JOB_FAILED)
        snprintf (move->note, sizeof move->note, "job %lld failed (%s): %s", id, rule->outcome,
                  error ? error : "?");
    else
        snprintf (move->note, sizeof move->note, "job %lld %s", id, job_state_name (move->to));
}

int
jobs_resume (jobs_t *self, int64_t id, int64_t now_ms, job_move_t *move)
{
    memset (move, 0, sizeof *move);
    store_job_t job;
    if (store_job_state (self->store, id, &job))
        return 0;
    move->found = true;
    move->from = move->to = job.state;
    int rc = job.state == JOB_FAILED || job.state == JOB_STOPPED
           ? store_job_resume (self->store, id) : 1;
    if (rc == 1)
        snprintf (move->refusal, sizeof move->refusal, "job %lld is %s; only a failed or"
                  " stopped job can be resumed", (long long) id, job_state_name (job.state));
    else
    if (rc == 0 && queue_add (self->queue, id, job.priority, now_ms, 0, job.client)) {
        store_abort (self->store);      // queued in the store, not in memory
        rc = -1;
    }
    else
    if (rc == 0) {
        queue_set_since (self->queue, id, now_ms);      // its wait counts from here
        s_tell (self, id, job.state, JOB_QUEUED, NULL, -1, -1);
        move->moved = true;
        move->to = JOB_QUEUED;
        snprintf (move->note, sizeof move->note, "job %lld resumed: queued again for attempt %d",
                  (long long) id, job.attempt + 1);
    }
    store_job_clear (&job);
    return rc < 0 ? -1 : 0;
}

int
jobs_delete (jobs_t *self, int64_t id, json_t *doomed, job_state_t *state)
{
    store_job_t job;
    if (store_job_state (self->store, id, &job))
        return 1;
    *state = job.state;
    store_job_clear (&job);
    int rc = store_job_delete (self->store, id, doomed);
    if (rc == 0)
        s_tell (self, id, *state, JOB_GONE, NULL, -1, -1);
    return rc;
}
