/*  store - the job table, attempts and progress history on SQLite (WAL): the schema, its migrations  */
#ifndef MT_STORE_H_INCLUDED
#define MT_STORE_H_INCLUDED

#include "jobs.h"
#include "mt/spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct store_t store_t;

//  A job's scheduling facts, as the broker needs them to dispatch.
typedef struct store_job_t {
    int64_t id;
    job_state_t state;
    int attempt;                // current attempt, 0 before the first start
    int max_retries;
    char *spec;                 // the spec as JSON, as submitted; parse it with mt_spec_from_json (owned)
    char data_hash [65];
    char init_hash [65];        // warm-start model, "" when none
    char val_data_hash [65];    // fixed validation file, "" when none
    int64_t time_limit_s;       // wall clock for the whole job, s; 0 = none
    char model_hash [65];
    char checkpoint_hash [65];  // latest checkpoint, "" when none
    int checkpoint_epoch;
    char worker [129];          // current worker's name, "" when none
    char worker_instance [33];  // ... the instance id it is bound to, "" when none
    char worker_key [64];       // ... and its key (Z85), "local" without --keys
    int64_t started_at;         // first start, ms since epoch; 0 before it
    int64_t not_before;         // queued: not to start before, ms since epoch
    int priority;
    int64_t created_at;         // ms since epoch
    char client [64];           // who submitted it ("" when unknown)
} store_job_t;

//  Who starts an attempt: the attempt is bound to its instance and key, so
//  only that worker process can adopt it after a restart (strings borrowed).
typedef struct store_worker_t {
    const char *name;           // host:pid, as its HELLO said
    const char *instance;       // its process's random id from HELLO, "" when none
    const char *key;            // the key it connected with (Z85), or "local"
} store_worker_t;

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
    const char *metrics;        // an epoch end's validation metrics, JSON text; NULL = none
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

//  Write statements run or tried since the store opened, failed ones too:
//  the broker tells from it whether a handler wrote.
uint64_t store_writes (store_t *self);

//  Fail the open transaction: its commit will roll it back and return -1.
//  A write statement that fails does this itself, so no transaction
//  commits half a change; a caller does it when a change it made in
//  memory alongside cannot be made. Outside a transaction, nothing.
void store_abort (store_t *self);

//  True when the open transaction failed (a write failed, or store_abort):
//  its commit will roll it back.
bool store_failed (store_t *self);

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

//  Fault-injection seam for the commit alone: while fault returns non-zero,
//  statements succeed and the commit fails (as when the log cannot grow).
void store_set_commit_fault (store_t *self, store_fault_fn *fault, void *arg);

//  Insert a queued job from a validated spec: its JSON text (spec_json, the
//  text the spec was parsed from; NULL: as mt_spec_to_json writes it),
//  name, data_hash, init_hash, priority, max_retries and time_limit_s go in
//  its row. key (optional) makes it idempotent: an existing job with that
//  key is returned instead, with *existing set. client names the submitter,
//  or NULL. Returns the job id, or -1.
int64_t store_job_insert (store_t *self, const mt_spec_t *spec, const char *spec_json,
                          const char *key, const char *client, int64_t now_ms,
                          bool *existing);

//  Name job id as a trial of sweep with params (JSON text). 0 or -1.
int store_job_mark_trial (store_t *self, int64_t id, int64_t sweep, const char *params);

//  Call fn for every queued job, in no particular order (the broker's queue
//  is loaded from here). Stops at the first non-zero return of fn. Returns
//  0, or -1 when reading failed or fn said stop.
typedef int (store_queued_fn) (void *arg, int64_t id, int priority, int64_t created_at,
                               int64_t not_before, const char *client);
int store_queued_load (store_t *self, store_queued_fn *fn, void *arg);

//  Read a job's scheduling facts into job (caller frees job->spec via
//  store_job_clear). Returns 0, or -1 when there is no such job.
int store_job_get (store_t *self, int64_t id, store_job_t *job);

//  The same, of only what a move of its state needs: id, state, attempt,
//  max_retries, priority, created_at and client (the rest zero, no spec);
//  the cheap read on every job's end. Returns 0, or -1 when there is no such job.
int store_job_state (store_t *self, int64_t id, store_job_t *job);
void store_job_clear (store_job_t *job);

//  Attempts of a job that ended in a failure a retry may fix (crashed,
//  worker_lost): what counts against max_retries.
int store_job_failures (store_t *self, int64_t id);

//  queued -> running with attempt + 1 on worker (bound to its identity), resuming from the job's
//  checkpoint epoch. job (optional) gets what the start needs, as it is
//  after the start: id, state, attempt, spec, data_hash, init_hash,
//  time_limit_s, checkpoint_hash, checkpoint_epoch and started_at (the
//  other fields are zero; the caller frees them via store_job_clear;
//  nothing to free on failure). Returns the new attempt, or -1.
int store_job_take (store_t *self, int64_t id, const store_worker_t *worker, int64_t now_ms,
                    store_job_t *job);

//  The running attempt of job id was adopted after a restart by the worker
//  it is bound to, now named name: its row names it so. Returns 0 or -1.
int store_job_adopt (store_t *self, int64_t id, int attempt, const char *name);

//  What the job's row says of its running attempt. Returns 0, 1 when that
//  attempt is not running (or stopping), or -1 when the database failed.
int store_job_run (store_t *self, int64_t id, int attempt, store_run_t *run);

int store_job_progress (store_t *self, int64_t id, int attempt, const store_progress_t *p,
                        int64_t now_ms);
int store_job_checkpoint (store_t *self, int64_t id, int attempt, const char *hash, int epoch);
//  A pruned job's attempt that finished before its STOP came keeps the model
//  it made (the job stays pruned; FETCH gets it). 1 when kept, 0 when the
//  job is not that (another state or attempt, a model already), -1.
int store_job_keep_model (store_t *self, int64_t id, int attempt, const char *hash);

//  How an attempt ends (store_job_end).
typedef struct {
    job_state_t state;          // succeeded, failed, stopped; or queued: requeue the job
    const char *outcome;        // the attempts row's outcome; NULL when no attempt was running
    const char *metrics;        // JSON text, or NULL
    const char *error;          // why, for a person, or NULL
    const char *model_hash;     // or NULL
    int64_t not_before_ms;      // queued: not to start before, ms since epoch
    int64_t now_ms;
    const store_run_t *run;     // the running attempt as the caller knows it, or NULL: read the row
} store_end_t;

//  End job id's attempt as end says: finish it (when queued, running or stopping), or requeue
//  it when end->state is JOB_QUEUED (when running or stopping). A job whose attempt is not
//  attempt, or that has ended already, is left as it is. *changed (optional) says whether the
//  job's row changed. Returns 0, or -1 when the database failed.
int store_job_end (store_t *self, int64_t id, int attempt, const store_end_t *end, bool *changed);

//  Set a job's state only (running -> stopping). Returns 0 or -1.
int store_job_set_state (store_t *self, int64_t id, job_state_t state);

//  Jobs in state running or stopping (for recovery after a restart).
//  Returns a JSON array of ids (caller decrefs).
json_t *store_jobs_active (store_t *self);

//  The job as the JSON map of PROTOCOL.md section 9; history adds the thinned
//  loss curve. Returns a new reference, or NULL when there is no such job.
json_t *store_job_json (store_t *self, int64_t id, bool history);

//  At most limit jobs newest first, each as store_job_json makes it (without history); state is
//  a job_state_t, or -1 for all. Returns a new JSON array (caller decrefs).
json_t *store_job_list (store_t *self, int state, int limit);

//  For the modules that keep their tables in this database (sweeps): the
//  connection (borrowed; its statements are theirs to prepare and finalize),
//  and the check every write statement makes first: counted, and false (the
//  transaction failed) when the fault seam fails it.
struct sqlite3 *store_db (store_t *self);
bool store_write_allowed (store_t *self, const char *what);

//  True when a job still names the blob as its data, model, checkpoint or
//  warm start (init_hash), or when the store cannot tell.
bool store_blob_in_use (store_t *self, const char *hash);

//  Blobs kept in the database (schema 11), for small ones: a blob stored in
//  the open transaction is durable with its commit. store_blob_put stores
//  size bytes at data as blob hash (the caller has checked the hash; a blob
//  already there is kept); 0, or -1 (the batch fails). store_blob_has is true
//  when it is there, with *size (if not NULL). store_blob_read copies up to
//  len bytes from offset into buf (*got: how many); 0, or -1 with *cause.
//  store_blob_delete returns 1 when it removed it, 0 when it was not there,
//  -1 on a failed write. store_blobs_older calls fn for each blob stored
//  before before_ms (wall clock); returns how many, or -1.
typedef void (store_blob_fn) (const char *hash, void *arg);
int store_blob_put (store_t *self, const char *hash, const void *data, size_t size,
                    int64_t now_ms);
bool store_blob_has (store_t *self, const char *hash, int64_t *size);
int store_blob_read (store_t *self, const char *hash, int64_t offset, void *buf, size_t len,
                     size_t *got, char **cause);
int store_blob_delete (store_t *self, const char *hash);
int store_blobs_older (store_t *self, int64_t before_ms, store_blob_fn *fn, void *arg);

//  Counts for the broker's figures: fn (arg, "jobs", state, n) for each
//  state that has jobs, then fn (arg, "attempts", outcome, n) for each
//  outcome of an ended attempt. Returns 0, or -1 when reading failed.
typedef void (store_count_fn) (void *arg, const char *table, const char *name, int64_t count);
int store_counts (store_t *self, store_count_fn *fn, void *arg);

#endif
