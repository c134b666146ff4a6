/*  jobs - the job's life: its states, the events that move it, and what each move writes and tells  */
#ifndef MT_JOBS_H_INCLUDED
#define MT_JOBS_H_INCLUDED

#include "mt/spec.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>

#define JOBS_BACKOFF_MS     1000    // first retry delay; doubles per attempt
#define JOBS_BACKOFF_MAX_MS 60000

//  A job's state. The names are those of the wire and the database.
typedef enum {
    JOB_QUEUED,                 // waiting for a worker (attempt 0, or requeued)
    JOB_RUNNING,                // an attempt runs on a worker
    JOB_STOPPING,               // a stop is on its way to the worker
    JOB_SUCCEEDED,              // ended with a model
    JOB_FAILED,                 // ended without one
    JOB_STOPPED,                // ended by request
    JOB_PRUNED,                 // a sweep's trial its early-stopping rule ended (sweeps.c)
    JOB_STATES                  // (the count)
} job_state_t;

//  What happens to a job. Each (event, state) pair that moves a job is one
//  row of the transition table in jobs.c; any other pair changes nothing.
typedef enum {
    JOB_EV_STOP,                // a client asks: queued -> stopped, running -> stopping
    JOB_EV_DONE,                // its worker reports a model
    JOB_EV_FAILED,              // its worker reports a failure no retry can fix (bad data)
    JOB_EV_CRASHED,             // its worker reports a failure a retry may fix
    JOB_EV_LOST,                // its worker is gone, or never came back after a restart
    JOB_EV_DRAINED,             // its worker hands it back (drain): queued again, no retry spent
    JOB_EV_STOPPED,             // its worker confirms a stop
    JOB_EV_TIMED_OUT,           // it ran past its time limit
    JOB_EV_STALLED,             // its step did not move for the stall timeout (or it
                                //   reported none in that time)
    JOB_EV_STOP_LATE,           // its worker did not confirm a stop in time
    JOB_EV_PRUNED,              // a sweep's rule prunes the trial at an epoch end: it ends
                                //   pruned at once, and its worker is told STOP
    JOB_EVENTS
} job_event_t;

//  What the job's worker must be told after a move.
typedef enum {
    JOB_TELL_NOBODY,
    JOB_TELL_STOP,              // STOP: checkpoint and end
    JOB_TELL_ABANDON            // ABANDON: drop it, the broker has ended it
} job_tell_t;

typedef struct jobs_t jobs_t;
typedef struct store_t store_t;
struct store_job_t;             // store.h
struct store_worker_t;

//  What an event brings; every field may be NULL.
typedef struct {
    const char *reason;         // why it failed or was lost, for a person
    const char *metrics;        // DONE: the final metrics, JSON text
    const char *model_hash;     // DONE: the model, uploaded already
    const char *worker;         // the attempt as the fleet knows it: the worker's name,
    int64_t started_at;         //   when it started (wall ms; 0 = read the job's row)
    int resumed_from_epoch;     //   and the epoch it resumed from
    bool stepped;               // STALLED: the attempt reported a step at all,
    int64_t step;               //   the last step it reported,
    int64_t stall_ms;           //   and the stall timeout it ran into, ms
} job_report_t;

//  What a move did, for the reactor to carry out.
typedef struct {
    bool found;                 // the job exists
    bool moved;                 // the job changed state; false: the event did not apply
    job_state_t from, to;       // to = from when it did not move
    job_tell_t tell;            // what its worker must hear
    bool release;               // its worker is free of it (whether or not it moved)
    int64_t retry_at;           // to queued: not to start before, ms since epoch
    char refusal [160];         // STOP of an ended job: why not, for the client; else ""
    char note [300];            // the log line that announces the move; "" when none, or
                                //   when the log does not take info lines
} job_move_t;

//  A change of a job, told to the watcher (jobs_watch) as it is made: a
//  new job, a start, a move of jobs_event, a resume or a delete.
#define JOB_GONE (-1)           // job_change_t.to of a deleted job
typedef struct {
    int64_t id;
    int from;                   // the job_state_t before; -1 for a new job
    int to;                     // the job_state_t after; JOB_GONE: deleted
    const char *outcome;        // the outcome of the attempt that ended; NULL when none
    int64_t wait_ms;            // a start: how long it was queued; -1 when not known
    int64_t run_ms;             // an attempt ended: how long it ran; -1 when not known
} job_change_t;
typedef void (jobs_watch_fn) (void *arg, const job_change_t *change);

//  The job's state name ("queued", ...); "?" for a value out of range.
const char *job_state_name (job_state_t state);
//  The state named name. Returns 0, or -1 when no state has that name.
int job_state_parse (const char *name, job_state_t *state);
//  True for the states a job never leaves.
bool job_state_ended (job_state_t state);

//  The job's life over store (borrowed), with the queued jobs mirrored in
//  memory (loaded from the store here). NULL with *cause when the store
//  cannot be read.
jobs_t *jobs_new (store_t *store, char **cause);
void jobs_destroy (jobs_t **self_p);

//  Tell fn (with arg) of every change from now on; NULL: nobody.
void jobs_watch (jobs_t *self, jobs_watch_fn *fn, void *arg);

//  The queue in memory follows the store's transaction: begin with it,
//  then commit or roll back with it.
void jobs_begin (jobs_t *self);
void jobs_commit (jobs_t *self);
void jobs_rollback (jobs_t *self);

//  Called in the move's transaction when a job ends (moves to an ended
//  state); a non-zero return fails the batch. One hook, NULL for none.
typedef int (jobs_end_fn) (void *arg, int64_t id, job_state_t state);
void jobs_on_end (jobs_t *self, jobs_end_fn *fn, void *arg);

//  Jobs queued by client, for the per-client limit.
int64_t jobs_queued (jobs_t *self, const char *client);

//  Record and queue a new job for spec (validated; spec_json is the text it
//  was parsed from, or NULL for the spec module's own), submitted by client
//  (NULL: unknown) under key (optional). A key the store knows returns that
//  job with *existing set, and with *conflict set when its spec differs
//  (nothing is recorded then). Returns the job's id, or -1 when the store
//  failed.
int64_t jobs_submit (jobs_t *self, const mt_spec_t *spec, const char *spec_json,
                     const char *key, const char *client, int64_t now_ms, bool *existing,
                     bool *conflict);

//  The same for trial of sweep (> 0) with params (JSON text): the job's row
//  names them before the watcher hears of it, so the first EVENT has them.
int64_t jobs_submit_trial (jobs_t *self, const mt_spec_t *spec, const char *spec_json,
                           const char *client, int64_t sweep, const char *params,
                           int64_t now_ms);

//  Start the next queued job due at now_ms on worker (queued -> running),
//  the attempt bound to the worker's identity.
//  *job gets the row as started (the caller frees it with store_job_clear);
//  *started says whether one started. Returns 0, or -1 when the store failed.
int jobs_start (jobs_t *self, const struct store_worker_t *worker, int64_t now_ms,
                struct store_job_t *job, bool *started);

//  Apply event to job id's attempt (-1: whatever attempt is current, as a
//  client's STOP names none), as the transition table says, and fill *move
//  with what to do and tell. Returns 0, or -1 when the store failed (the
//  batch must then fail; *move says nothing moved).
int jobs_event (jobs_t *self, int64_t id, int attempt, job_event_t event,
                const job_report_t *report, int64_t now_ms, job_move_t *move);

//  RESUME: a failed or stopped job goes back to the queue with its
//  checkpoint, to start again as attempt + 1 from the checkpoint's epoch.
//  *move says whether it was found and moved, or why not (refusal).
//  Returns 0, or -1 when the store failed.
int jobs_resume (jobs_t *self, int64_t id, int64_t now_ms, job_move_t *move);

//  DELETE: an ended job goes with its history (store_job_delete; the blobs
//  nobody names any more are appended to doomed), and the watcher hears of
//  it (to JOB_GONE). Returns 0, 1 when there is no such job or it has not
//  ended (nothing changed; *state says which state it is in, when found),
//  or -1 when the store failed.
int jobs_delete (jobs_t *self, int64_t id, json_t *doomed, job_state_t *state);

#endif
