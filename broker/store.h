/*  store - the job table, attempts and progress history, on SQLite (WAL)  */
#ifndef MT_STORE_H_INCLUDED
#define MT_STORE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct store_t store_t;

//  A job's scheduling facts, as the broker needs them to dispatch.
typedef struct {
    int64_t id;
    char state [16];            // queued, running, stopping, succeeded, failed, stopped
    int attempt;                // current attempt, 0 before the first start
    int max_retries;
    char *spec;                 // the spec as JSON (owned)
    char data_hash [65];
    char model_hash [65];
    char checkpoint_hash [65];  // latest checkpoint, "" when none
    int checkpoint_epoch;
    char worker [129];          // current worker's name, "" when none
    int64_t started_at;         // first start, ms since epoch; 0 before it
    int64_t not_before;         // queued: not to start before, ms since epoch
    int priority;
    int64_t created_at;         // ms since epoch
    char client [64];           // who submitted it ("" when unknown)
} store_job_t;

//  Who runs an attempt and since when: what its attempts row will say.
typedef struct {
    char worker [129];
    int64_t started_at;         // ms since epoch
    int resumed_from_epoch;
} store_run_t;

//  Progress of a running attempt.
typedef struct {
    int epoch, epochs;
    int64_t step, steps;
    double loss, val_loss, val_metric;  // NAN when unknown
    double samples_per_sec, eta_s;
} store_progress_t;

//  Open (creating or migrating) the database at path. Returns a new store,
//  or NULL with *cause.
store_t *store_open (const char *path, char **cause);
void store_destroy (store_t **self_p);

//  Transactions: the broker wraps each batch of messages in one, so commits
//  are grouped across peers. Return 0, or -1 with the error logged.
//  store_begin inside a transaction does nothing. A commit is visible at
//  once but durable only after a store_sync that starts after it.
int store_begin (store_t *self);
int store_commit (store_t *self);
void store_rollback (store_t *self);
bool store_in_transaction (store_t *self);

//  True when something was written since the last commit or rollback.
bool store_dirty (store_t *self);

//  Make every commit so far durable (fdatasync of the write-ahead log).
//  Safe to call from another thread while this one goes on. Returns 0, or
//  the errno of the failure.
int store_sync (store_t *self);

//  Fault-injection seam: when set, every write statement first calls it and
//  fails with SQLITE_IOERR if it returns non-zero. NULL restores normal writes.
typedef int (store_fault_fn) (void *arg);
void store_set_fault (store_t *self, store_fault_fn *fault, void *arg);

//  Fault-injection seam for store_sync, which then fails with EIO while
//  fault returns non-zero; fault runs on the thread that calls store_sync.
void store_set_sync_fault (store_t *self, store_fault_fn *fault, void *arg);

//  Insert a queued job. spec_json is validated already. key (optional)
//  makes it idempotent: an existing job with that key is returned instead,
//  with *existing set. client names the submitter (its key), or NULL.
//  Returns the job id, or -1.
int64_t store_job_insert (store_t *self, const char *spec_json, const char *name,
                          const char *data_hash, int priority, int max_retries,
                          const char *key, const char *client, int64_t now_ms,
                          bool *existing);

//  Call fn for every queued job, in no particular order (the broker's queue
//  is loaded from here). Stops at the first non-zero return of fn. Returns
//  0, or -1 when reading failed or fn said stop.
typedef int (store_queued_fn) (void *arg, int64_t id, int priority, int64_t created_at,
                               int64_t not_before, const char *client);
int store_queued_load (store_t *self, store_queued_fn *fn, void *arg);

//  Read a job's scheduling facts into job (caller frees job->spec via
//  store_job_clear). Returns 0, or -1 when there is no such job.
int store_job_get (store_t *self, int64_t id, store_job_t *job);

void store_job_clear (store_job_t *job);

//  Attempts of a job that ended in a failure a retry may fix (crashed,
//  worker_lost): what counts against max_retries.
int store_job_failures (store_t *self, int64_t id);

//  queued -> running with attempt + 1 on worker, resuming from the job's
//  checkpoint epoch. job (optional) gets what the start needs, as it is
//  after the start: id, attempt, spec, data_hash, checkpoint_hash,
//  checkpoint_epoch and started_at (the other fields are zero; the caller
//  frees them via store_job_clear; nothing to free on failure). Returns the
//  new attempt, or -1.
int store_job_take (store_t *self, int64_t id, const char *worker, int64_t now_ms,
                    store_job_t *job);

//  What the job's row says of its running attempt. Returns 0, 1 when that
//  attempt is not running (or stopping), or -1 when the database failed.
int store_job_run (store_t *self, int64_t id, int attempt, store_run_t *run);

int store_job_progress (store_t *self, int64_t id, int attempt, const store_progress_t *p,
                        int64_t now_ms);
int store_job_checkpoint (store_t *self, int64_t id, int attempt, const char *hash, int epoch);

//  End the job's attempt: state is succeeded, failed or stopped. metrics
//  (JSON text), error and model_hash may be NULL. When the attempt was
//  running its attempts row is written, from run when the caller knows the
//  attempt (as store_job_take started it), else from the job's row. A
//  queued job (attempt 0, or requeued) just takes state; a job that has
//  ended already, or a job whose attempt is not attempt, is left as it is.
int store_job_finish (store_t *self, int64_t id, int attempt, const char *state,
                      const char *outcome, const char *metrics, const char *error,
                      const char *model_hash, int64_t now_ms, const store_run_t *run);

//  End the running attempt with outcome (e.g. worker_lost) and queue the job
//  again, not before not_before_ms; run as for store_job_finish. Changes
//  nothing unless that attempt is running or stopping.
int store_job_requeue (store_t *self, int64_t id, int attempt, const char *outcome,
                       int64_t not_before_ms, int64_t now_ms, const store_run_t *run);

//  Set a job's state only (running -> stopping).
int store_job_set_state (store_t *self, int64_t id, const char *state);

//  Jobs in state running or stopping (for recovery after a restart).
//  Returns a JSON array of ids (caller decrefs).
json_t *store_jobs_active (store_t *self);

//  The job as the JSON map of PROTOCOL.md section 9; history adds the thinned
//  loss curve. Returns a new reference, or NULL when there is no such job.
json_t *store_job_json (store_t *self, int64_t id, bool history);

//  Jobs newest first, optionally in one state; a new JSON array.
json_t *store_job_list (store_t *self, const char *state, int limit);

//  True when a job still names the blob as its data, model, checkpoint or
//  warm start (or when the store cannot tell).
bool store_blob_in_use (store_t *self, const char *hash);

#endif
