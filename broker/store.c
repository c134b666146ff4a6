/*  store - the job table, attempts and progress history, on SQLite (WAL)  */
#include "store.h"
#include "store_pages.h"
#include "mt/log.h"
#include "mt/util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_SCHEMA_VERSION 12
#define STORE_HISTORY_POINTS 500    // loss-curve points in a STATUS reply
#define STORE_THIN_EVERY 256       // an attempt's progress rows between two thinning checks
#define STORE_THIN_SLOTS 64        // attempts whose rows since their last check are counted
#define STORE_MAX_COLUMNS 32        // result columns of one statement, at most

//  The schema of a new database, version STORE_SCHEMA_VERSION: the one place
//  it is written whole. Its columns stand in the order the migrations leave
//  them (ALTER TABLE adds at the end), so a migrated database is the same as
//  a new one (test_store compares them).
//  - jobs: one row per job. The running attempt lives in it (worker,
//    attempt_started_at, resumed_from_epoch, and the identity it is bound
//    to: worker_instance, worker_key) until it ends; the spec's
//    fields the broker acts on have columns, so nothing reads the spec's text.
//  - attempts: the attempts that ended, one b-tree row each, keyed by (job,
//    attempt) rather than a rowid plus an index entry.
//  - progress: every report; a job's latest progress is its newest row.
//    An epoch end's report with validation carries that epoch's metrics
//    (JSON text; NULL in the other rows).
//  - jobs_key: keys indexed only where a job has one (a UNIQUE column would
//    index every NULL too).
//  - sweeps, sweep_trials, rungs, sweep_epochs, sweep_best: the sweeps (broker/sweeps.c
//    reads and writes them): a sweep's row, its drawn trials (the job that
//    runs each once created; rerun while a resumed trial waits to run that
//    job again), the values recorded at ASHA's rungs with their
//    decisions, and each trial's metric at each epoch end (with its running
//    average to that epoch, for the median rule), and each ended trial's
//    best value (sweep_best, for the leaderboard). A trial's job
//    names its sweep and parameters (jobs.sweep, jobs.params).
//  The sweeps' tables, as schema 9 made them (s_schema and migration 8 -> 9)
#define STORE_SWEEP_TABLES \
    "CREATE INDEX jobs_sweep ON jobs (sweep) WHERE sweep IS NOT NULL;" \
    "CREATE TABLE sweeps (" \
    "  id INTEGER PRIMARY KEY, name TEXT, owner TEXT, spec TEXT NOT NULL, space TEXT NOT NULL," \
    "  search TEXT NOT NULL, seed INTEGER NOT NULL, trials INTEGER NOT NULL," \
    "  parallel INTEGER NOT NULL, early_stop TEXT NOT NULL, min_epochs INTEGER NOT NULL," \
    "  reduction INTEGER NOT NULL, metric TEXT NOT NULL, mode TEXT NOT NULL," \
    "  state TEXT NOT NULL, created_at INTEGER NOT NULL);" \
    "CREATE TABLE sweep_trials (" \
    "  sweep INTEGER NOT NULL, trial INTEGER NOT NULL, params TEXT NOT NULL, job INTEGER," \
    "  runs INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sweep, trial)) WITHOUT ROWID;" \
    "CREATE TABLE rungs (" \
    "  sweep INTEGER NOT NULL, rung INTEGER NOT NULL, job INTEGER NOT NULL, value REAL," \
    "  epoch INTEGER NOT NULL, decision TEXT NOT NULL, cutoff REAL," \
    "  PRIMARY KEY (sweep, rung, job)) WITHOUT ROWID;" \
    "CREATE TABLE sweep_epochs (" \
    "  sweep INTEGER NOT NULL, job INTEGER NOT NULL, epoch INTEGER NOT NULL, value REAL," \
    "  PRIMARY KEY (sweep, job, epoch)) WITHOUT ROWID;"

//  What schema 10 added to the sweeps' tables (s_schema and migration 9 -> 10)
#define STORE_SWEEP_10 \
    "ALTER TABLE sweep_trials ADD COLUMN rerun INTEGER NOT NULL DEFAULT 0;" \
    "CREATE INDEX jobs_sweep_active ON jobs (sweep) WHERE sweep IS NOT NULL" \
    "  AND (state = 'queued' OR state = 'running' OR state = 'stopping');" \
    "CREATE INDEX sweep_trials_pending ON sweep_trials (sweep, trial)" \
    "  WHERE job IS NULL OR rerun = 1;" \
    "ALTER TABLE sweep_epochs ADD COLUMN running REAL;" \
    "UPDATE sweep_epochs SET running = (SELECT avg (e.value) FROM sweep_epochs e" \
    "  WHERE e.sweep = sweep_epochs.sweep AND e.job = sweep_epochs.job" \
    "  AND e.epoch <= sweep_epochs.epoch);" \
    "CREATE INDEX sweep_epochs_at ON sweep_epochs (sweep, epoch);"

//  Schema 11: small blobs (the models a DONE carries, PROTOCOL.md section 6)
//  kept in the database, so they become durable with the batch that names
//  them and cost no file, fsync or rename of their own; and sweep_epochs_at
//  holds only the rows with a running average (the median rule's): ordered
//  by epoch, every trial's epochs land all over it, and kept for every
//  sweep it dirtied most of its pages at each commit of an ASHA sweep
#define STORE_SCHEMA_11 \
    "CREATE TABLE blobs (" \
    "  hash TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_at INTEGER NOT NULL," \
    "  data BLOB NOT NULL);" \
    "DROP INDEX sweep_epochs_at;" \
    "CREATE INDEX sweep_epochs_at ON sweep_epochs (sweep, epoch) WHERE running IS NOT NULL;"

//  Schema 12: each ended trial's best value and whether it succeeded
//  (sweep_best), kept when its job ends, so a leaderboard sorts a sweep's
//  trials in one statement instead of reading every epoch of every trial
//  at each look; the sweeps' ended trials get theirs
#define STORE_SCHEMA_12 \
    "CREATE TABLE sweep_best (" \
    "  sweep INTEGER NOT NULL, job INTEGER NOT NULL, value REAL, succeeded INTEGER NOT NULL," \
    "  PRIMARY KEY (sweep, job)) WITHOUT ROWID;" \
    "INSERT INTO sweep_best (sweep, job, value, succeeded) SELECT t.sweep, t.job," \
    "  (SELECT CASE s.mode WHEN 'max' THEN max (e.value) ELSE min (e.value) END" \
    "   FROM sweep_epochs e WHERE e.sweep = t.sweep AND e.job = t.job), j.state = 'succeeded'" \
    "  FROM sweep_trials t JOIN sweeps s ON s.id = t.sweep JOIN jobs j ON j.id = t.job" \
    "  WHERE j.state IN ('succeeded', 'failed', 'stopped', 'pruned');"

static const char *s_schema =
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY, name TEXT, key TEXT, state TEXT NOT NULL, spec TEXT NOT NULL,"
    "  data_hash TEXT, priority INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"
    "  max_retries INTEGER NOT NULL DEFAULT 3, worker TEXT,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    "  not_before INTEGER NOT NULL DEFAULT 0, attempt_started_at INTEGER,"
    "  resumed_from_epoch INTEGER NOT NULL DEFAULT 0, metrics TEXT, error TEXT,"
    "  model_hash TEXT, checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0,"
    "  client TEXT, time_limit_s INTEGER NOT NULL DEFAULT 0, init_hash TEXT,"
    "  worker_instance TEXT, worker_key TEXT, val_data_hash TEXT, sweep INTEGER, params TEXT);"
    "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;"
    "CREATE TABLE attempts ("
    "  job INTEGER NOT NULL REFERENCES jobs (id), attempt INTEGER NOT NULL,"
    "  worker TEXT, started_at INTEGER, finished_at INTEGER, outcome TEXT,"
    "  resumed_from_epoch INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job, attempt)) WITHOUT ROWID;"
    "CREATE TABLE progress ("
    "  job INTEGER NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL,"
    "  epoch INTEGER, step INTEGER, loss REAL, val_loss REAL, val_metric REAL,"
    "  epochs INTEGER, steps INTEGER, samples_per_sec REAL, eta_s REAL, metrics TEXT);"
    "CREATE INDEX progress_job ON progress (job, attempt);"
    STORE_SWEEP_TABLES
    STORE_SWEEP_10
    STORE_SCHEMA_11
    STORE_SCHEMA_12;

//  An older database climbs to s_schema one version at a time: s_migrations
//  [v] takes version v to v + 1, in one transaction. They are history, to
//  be kept as they were; the first schema is tests/unit/store_v1.sql.
static const char *s_migrations [STORE_SCHEMA_VERSION] = {
    //  1 -> 2: who submitted, and queued jobs per submitter kept by
    //  triggers, so the limit check is one lookup and rolls back with
    //  the rest of a failed transaction
    [1] =
    "ALTER TABLE jobs ADD COLUMN client TEXT;"
    "CREATE TABLE queue_counts (client TEXT PRIMARY KEY, queued INTEGER NOT NULL);"
    "CREATE TRIGGER jobs_enter_queue AFTER INSERT ON jobs WHEN new.state = 'queued' BEGIN"
    "  INSERT INTO queue_counts VALUES (coalesce (new.client, ''), 1)"
    "  ON CONFLICT (client) DO UPDATE SET queued = queued + 1; END;"
    "CREATE TRIGGER jobs_requeue AFTER UPDATE OF state ON jobs"
    "  WHEN old.state != 'queued' AND new.state = 'queued' BEGIN"
    "  INSERT INTO queue_counts VALUES (coalesce (new.client, ''), 1)"
    "  ON CONFLICT (client) DO UPDATE SET queued = queued + 1; END;"
    "CREATE TRIGGER jobs_leave_queue AFTER UPDATE OF state ON jobs"
    "  WHEN old.state = 'queued' AND new.state != 'queued' BEGIN"
    "  UPDATE queue_counts SET queued = queued - 1 WHERE client = coalesce (old.client, '');"
    "  END;"
    "INSERT INTO queue_counts SELECT coalesce (client, ''), count(*) FROM jobs"
    "  WHERE state = 'queued' GROUP BY 1;",
    //  2 -> 3: the queue and its counts live in the broker's memory,
    //  loaded from the jobs at start; the triggers and the queue index
    //  only cost writes
    [2] =
    "DROP TRIGGER jobs_enter_queue; DROP TRIGGER jobs_requeue;"
    "DROP TRIGGER jobs_leave_queue; DROP TABLE queue_counts; DROP INDEX jobs_queue;",
    //  3 -> 4: fewer pages written per job: keys are indexed only where
    //  a job has one, and an attempt is one b-tree row keyed by (job,
    //  attempt), not a rowid row plus an index entry
    [3] =
    "CREATE TABLE jobs_4 ("
    "  id INTEGER PRIMARY KEY, name TEXT, key TEXT, state TEXT NOT NULL, spec TEXT NOT NULL,"
    "  data_hash TEXT, priority INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"
    "  max_retries INTEGER NOT NULL DEFAULT 3, worker TEXT,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  epoch INTEGER, epochs INTEGER, step INTEGER, steps INTEGER,"
    "  loss REAL, val_loss REAL, val_metric REAL, samples_per_sec REAL, eta_s REAL,"
    "  updated_at INTEGER, metrics TEXT, error TEXT, model_hash TEXT,"
    "  checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0, client TEXT);"
    "INSERT INTO jobs_4 SELECT id, name, key, state, spec, data_hash, priority, attempt,"
    "  max_retries, worker, created_at, started_at, finished_at, not_before, epoch, epochs,"
    "  step, steps, loss, val_loss, val_metric, samples_per_sec, eta_s, updated_at, metrics,"
    "  error, model_hash, checkpoint_hash, checkpoint_epoch, client FROM jobs;"
    "CREATE TABLE attempts_4 ("
    "  job INTEGER NOT NULL REFERENCES jobs (id), attempt INTEGER NOT NULL,"
    "  worker TEXT, started_at INTEGER, finished_at INTEGER, outcome TEXT,"
    "  resumed_from_epoch INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job, attempt)) WITHOUT ROWID;"
    "INSERT INTO attempts_4 SELECT job, attempt, worker, started_at, finished_at, outcome,"
    "  resumed_from_epoch FROM attempts;"
    "DROP TABLE attempts; DROP TABLE jobs;"
    "ALTER TABLE jobs_4 RENAME TO jobs; ALTER TABLE attempts_4 RENAME TO attempts;"
    "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;",
    //  4 -> 5: a narrower job row, rewritten at each start and end: the
    //  latest progress is the newest row of the history (which gains
    //  the four fields only the job row had), and the running attempt
    //  is described by the job row until its attempts row is written,
    //  once, when it ends
    [4] =
    "ALTER TABLE progress ADD COLUMN epochs INTEGER;"
    "ALTER TABLE progress ADD COLUMN steps INTEGER;"
    "ALTER TABLE progress ADD COLUMN samples_per_sec REAL;"
    "ALTER TABLE progress ADD COLUMN eta_s REAL;"
    "UPDATE progress SET epochs = j.epochs, steps = j.steps,"
    "  samples_per_sec = j.samples_per_sec, eta_s = j.eta_s FROM jobs j"
    "  WHERE progress.rowid = (SELECT rowid FROM progress WHERE job = j.id"
    "  ORDER BY attempt DESC, rowid DESC LIMIT 1);"
    "CREATE TABLE jobs_5 ("
    "  id INTEGER PRIMARY KEY, name TEXT, key TEXT, state TEXT NOT NULL, spec TEXT NOT NULL,"
    "  data_hash TEXT, priority INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"
    "  max_retries INTEGER NOT NULL DEFAULT 3, worker TEXT,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    "  not_before INTEGER NOT NULL DEFAULT 0, attempt_started_at INTEGER,"
    "  resumed_from_epoch INTEGER NOT NULL DEFAULT 0, metrics TEXT, error TEXT,"
    "  model_hash TEXT, checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0,"
    "  client TEXT);"
    "INSERT INTO jobs_5 SELECT j.id, j.name, j.key, j.state, j.spec, j.data_hash, j.priority,"
    "  j.attempt, j.max_retries, j.worker, j.created_at, j.started_at, j.finished_at,"
    "  j.not_before, a.started_at, coalesce (a.resumed_from_epoch, 0), j.metrics, j.error,"
    "  j.model_hash, j.checkpoint_hash, j.checkpoint_epoch, j.client FROM jobs j"
    "  LEFT JOIN attempts a ON a.job = j.id AND a.attempt = j.attempt AND a.outcome IS NULL;"
    "DELETE FROM attempts WHERE outcome IS NULL;"
    "DROP TABLE jobs; ALTER TABLE jobs_5 RENAME TO jobs;"
    "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;",
    //  5 -> 6: the spec's time limit and warm-start model get columns, so
    //  the broker reads no field out of the spec's text (this is the one
    //  place that does, once)
    [5] =
    "ALTER TABLE jobs ADD COLUMN time_limit_s INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN init_hash TEXT;"
    "UPDATE jobs SET time_limit_s = coalesce (json_extract (spec, '$.time_limit_s'), 0),"
    "  init_hash = nullif (json_extract (spec, '$.init_hash'), '') WHERE json_valid (spec);",
    //  6 -> 7: a running attempt is bound to the worker process that
    //  started it (its HELLO's instance id and its key), so only that
    //  process adopts it after a restart. An attempt left running by an
    //  older broker has no binding: no worker can adopt it, and it is
    //  requeued (from its checkpoint) one liveness period after the start
    [6] =
    "ALTER TABLE jobs ADD COLUMN worker_instance TEXT;"
    "ALTER TABLE jobs ADD COLUMN worker_key TEXT;",
    //  7 -> 8: an epoch end's progress keeps that epoch's validation
    //  metrics, and a job's fixed validation file (--val-data) is a blob
    //  it uses, with a column like its data's (no job before had one)
    [7] =
    "ALTER TABLE progress ADD COLUMN metrics TEXT;"
    "ALTER TABLE jobs ADD COLUMN val_data_hash TEXT;",
    //  8 -> 9: sweeps; a trial is a job that names its sweep and its
    //  parameters (no job before was one)
    [8] =
    "ALTER TABLE jobs ADD COLUMN sweep INTEGER;"
    "ALTER TABLE jobs ADD COLUMN params TEXT;"
    STORE_SWEEP_TABLES,
    //  9 -> 10: a sweep's failed or stopped trial is run again as a new
    //  attempt of its own job, from its checkpoint; rerun marks the trials
    //  that wait for room under the sweep's parallel cap to do so. Two
    //  partial indexes hold only what each trial's end looks for: a sweep's
    //  queued and running jobs, and its trials still to start (without them
    //  each end read every trial so far, and a sweep of N trials cost N^2).
    //  An epoch's row keeps its trial's running average to that epoch, and
    //  the rows are indexed by epoch, so the median rule reads one row per
    //  trial at that epoch rather than every epoch of every trial
    [9] = STORE_SWEEP_10,
    //  10 -> 11: small blobs in the database (a trial's model, say: a file
    //  of its own, fsynced with its folder on the reactor, was a third of a
    //  tiny trial's cost), and sweep_epochs_at for the median rule's rows only
    [10] = STORE_SCHEMA_11,
    //  11 -> 12: each ended trial's best value, for the leaderboard
    [11] = STORE_SCHEMA_12
};

//  Every statement the store runs, prepared once on first use. A list of
//  three or more values after IN makes SQLite build a temporary index each
//  time the statement runs (it more than doubled the cost of a finish), so
//  such tests are spelled out with OR. A statement's columns are read by
//  their names (see s_readers), so each is named as its reader names it.
typedef enum {
    Q_INSERT, Q_BY_KEY, Q_GET, Q_STATE, Q_STARTED, Q_QUEUED, Q_START, Q_ADOPT, Q_RUN,
    Q_ATTEMPT_INSERT,
    Q_PROGRESS, Q_CHECKPOINT, Q_FINISH, Q_REQUEUE, Q_SET_STATE,
    Q_ACTIVE, Q_JSON, Q_ATTEMPTS, Q_HISTORY, Q_HISTORY_COUNT, Q_EPOCHS, Q_EPOCHS_COUNT, Q_LIST, Q_LIST_STATE,
    Q_BLOB_USED, Q_FAILURES, Q_BEGIN, Q_COMMIT, Q_MARK_TRIAL, Q_KEEP_MODEL,
    Q_BLOB_PUT, Q_BLOB_SIZE, Q_BLOB_READ, Q_BLOB_DELETE, Q_BLOB_OLDER, Q_COUNT
} query_t;

static const char *s_sql [Q_COUNT] = {
    [Q_INSERT] = "INSERT INTO jobs (name, key, state, spec, data_hash, init_hash, priority,"
                 " max_retries, time_limit_s, created_at, client, val_data_hash)"
                 " VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [Q_BY_KEY] = "SELECT id FROM jobs WHERE key = ?1",
    [Q_GET] = "SELECT id, state, attempt, max_retries, spec, data_hash, init_hash, val_data_hash,"
              " time_limit_s,"
              " model_hash, checkpoint_hash, checkpoint_epoch, worker, worker_instance,"
              " worker_key, started_at, not_before, priority, created_at, client FROM jobs"
              " WHERE id = ?1",
    //  What a move of the job's state needs: no text but the client's
    [Q_STATE] = "SELECT id, state, attempt, max_retries, priority, created_at, client FROM jobs"
                " WHERE id = ?1",
    //  What a start needs of the row it just changed
    [Q_STARTED] = "SELECT id, state, attempt, spec, data_hash, init_hash, val_data_hash,"
                  " time_limit_s,"
                  " checkpoint_hash, checkpoint_epoch, started_at FROM jobs WHERE id = ?1",
    //  The queue in memory is loaded from here at start
    [Q_QUEUED] = "SELECT id, priority, created_at, not_before, client FROM jobs"
                 " WHERE state = 'queued'",
    //  The running attempt lives in the job's row until it ends; attempts
    //  holds the attempts that ended
    [Q_START] = "UPDATE jobs SET state = 'running', attempt = attempt + 1, worker = ?2,"
                " started_at = coalesce (started_at, ?3), attempt_started_at = ?3,"
                " resumed_from_epoch = checkpoint_epoch, worker_instance = ?4, worker_key = ?5"
                " WHERE id = ?1 AND state = 'queued'",
    [Q_ADOPT] = "UPDATE jobs SET worker = ?3 WHERE id = ?1 AND attempt = ?2"
                " AND state IN ('running', 'stopping')",
    [Q_RUN] = "SELECT worker, attempt_started_at AS started_at, resumed_from_epoch FROM jobs"
              " WHERE id = ?1 AND attempt = ?2 AND state IN ('running', 'stopping')",
    [Q_ATTEMPT_INSERT] = "INSERT OR REPLACE INTO attempts (job, attempt, worker, started_at,"
                         " resumed_from_epoch, finished_at, outcome)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    //  A job's latest progress is its newest report in the history
    [Q_PROGRESS] = "INSERT INTO progress (job, attempt, at, epoch, epochs, step, steps, loss,"
                   " val_loss, val_metric, samples_per_sec, eta_s, metrics)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [Q_CHECKPOINT] = "UPDATE jobs SET checkpoint_hash = ?3, checkpoint_epoch = ?4"
                     " WHERE id = ?1 AND attempt = ?2",
    [Q_FINISH] = "UPDATE jobs SET state = ?3, metrics = coalesce (?4, metrics),"
                 " error = ?5, model_hash = coalesce (?6, model_hash), finished_at = ?7,"
                 " checkpoint_hash = CASE ?3 WHEN 'succeeded' THEN NULL ELSE checkpoint_hash END"
                 " WHERE id = ?1 AND attempt = ?2"
                 " AND (state = 'queued' OR state = 'running' OR state = 'stopping')",
    [Q_REQUEUE] = "UPDATE jobs SET state = 'queued', worker = NULL, not_before = ?3"
                  " WHERE id = ?1 AND attempt = ?2 AND state IN ('running', 'stopping')",
    [Q_SET_STATE] = "UPDATE jobs SET state = ?2 WHERE id = ?1",
    [Q_ACTIVE] = "SELECT id FROM jobs WHERE state IN ('running', 'stopping')",
    //  The job's map, in the order of PROTOCOL.md section 9
    [Q_JSON] = "SELECT j.id, j.name, j.state, j.attempt, j.worker, j.created_at, j.started_at,"
               " j.finished_at, p.epoch, p.epochs, p.step, p.steps, p.loss, p.val_loss,"
               " p.val_metric, p.samples_per_sec, p.eta_s, j.metrics, j.error, j.model_hash,"
               " j.spec, j.priority, j.checkpoint_epoch, j.not_before, j.attempt_started_at,"
               " j.resumed_from_epoch, j.client AS owner, j.sweep, j.params FROM jobs j LEFT JOIN progress p ON p.rowid ="
               " (SELECT rowid FROM progress WHERE job = j.id ORDER BY attempt DESC, rowid DESC"
               " LIMIT 1) WHERE j.id = ?1",
    //  An attempt's map: each column under its name
    [Q_ATTEMPTS] = "SELECT attempt, worker, started_at, finished_at, outcome, resumed_from_epoch"
                   " FROM attempts WHERE job = ?1 ORDER BY attempt",
    //  A history point is [step, epoch, loss, val_loss, val_metric] (PROTOCOL.md
    //  section 9): these columns, in this order
    [Q_HISTORY] = "SELECT step, epoch, loss, val_loss, val_metric FROM progress"
                  " WHERE job = ?1 AND attempt = ?2 ORDER BY rowid",
    [Q_HISTORY_COUNT] = "SELECT count(*) FROM progress WHERE job = ?1 AND attempt = ?2",
    //  Each epoch's latest epoch-end report with metrics, over the attempts
    //  (a resumed attempt reports the epochs after its checkpoint again)
    [Q_EPOCHS] = "SELECT epoch, step, loss, val_loss, val_metric, metrics FROM progress"
                 " WHERE rowid IN (SELECT max(rowid) FROM progress WHERE job = ?1"
                 " AND metrics IS NOT NULL GROUP BY epoch) ORDER BY epoch",
    [Q_EPOCHS_COUNT] = "SELECT count(DISTINCT epoch) FROM progress WHERE job = ?1"
                       " AND metrics IS NOT NULL",
    [Q_LIST] = "SELECT id FROM jobs ORDER BY id DESC LIMIT ?1",
    [Q_LIST_STATE] = "SELECT id FROM jobs WHERE state = ?2 ORDER BY id DESC LIMIT ?1",
    [Q_FAILURES] = "SELECT count(*) FROM attempts WHERE job = ?1"
                   " AND outcome IN ('crashed', 'worker_lost')",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    //  A sweep's base spec names the blobs a SWEEP_RESUME's new trials need,
    //  whether or not a trial's job still does
    //  Every column and spec field that names a blob (store_blobs_named too)
    [Q_BLOB_USED] = "SELECT (SELECT count(*) FROM jobs WHERE data_hash = ?1 OR model_hash = ?1"
                    " OR checkpoint_hash = ?1 OR init_hash = ?1 OR val_data_hash = ?1)"
                    " + (SELECT count(*) FROM sweeps WHERE json_extract (spec, '$.data_hash') = ?1"
                    " OR json_extract (spec, '$.init_hash') = ?1"
                    " OR json_extract (spec, '$.val_data_hash') = ?1)",
    [Q_MARK_TRIAL] = "UPDATE jobs SET sweep = ?2, params = ?3 WHERE id = ?1",
    [Q_KEEP_MODEL] = "UPDATE jobs SET model_hash = ?3 WHERE id = ?1 AND attempt = ?2"
                     " AND state = 'pruned' AND model_hash IS NULL",
    [Q_BLOB_PUT] = "INSERT OR IGNORE INTO blobs (hash, size, stored_at, data)"
                   " VALUES (?1, ?2, ?3, ?4)",
    [Q_BLOB_SIZE] = "SELECT size FROM blobs WHERE hash = ?1",
    [Q_BLOB_READ] = "SELECT substr (data, ?2, ?3) FROM blobs WHERE hash = ?1",
    [Q_BLOB_DELETE] = "DELETE FROM blobs WHERE hash = ?1",
    [Q_BLOB_OLDER] = "SELECT hash FROM blobs WHERE stored_at < ?1",
};

//  Where a result column goes. A statement's columns are matched by name
//  (sqlite3_column_name) to its reader's fields once, when it is prepared:
//  a SELECT lists its columns in any order, and a column no field names
//  fails the prepare.
typedef enum {
    F_INT, F_INT64, F_TEXT, F_TEXT_OWNED, F_STATE,      // a record's field
    F_JSON, F_JSON_PARSED, F_JSON_PROGRESS, F_JSON_RUN  // a key of the job's map
} field_kind_t;

typedef struct {
    const char *name;           // the column's name
    field_kind_t kind;
    size_t offset;              // a record's field: where it is in the record
    size_t size;                // ... and its size (F_TEXT: the buffer's)
} field_t;

typedef struct {
    const field_t *fields;
    size_t count;
} reader_t;

#define S_FIELD(type, kind, field) \
    { #field, kind, offsetof (type, field), sizeof (((type *) 0)->field) }
#define S_KEY(kind, key) { key, kind, 0, 0 }
#define S_READER(fields) { fields, sizeof fields / sizeof fields [0] }

//  The columns of jobs, into a store_job_t
static const field_t s_job_fields [] = {
    S_FIELD (store_job_t, F_INT64, id),
    S_FIELD (store_job_t, F_STATE, state),
    S_FIELD (store_job_t, F_INT, attempt),
    S_FIELD (store_job_t, F_INT, max_retries),
    S_FIELD (store_job_t, F_TEXT_OWNED, spec),
    S_FIELD (store_job_t, F_TEXT, data_hash),
    S_FIELD (store_job_t, F_TEXT, init_hash),
    S_FIELD (store_job_t, F_TEXT, val_data_hash),
    S_FIELD (store_job_t, F_INT64, time_limit_s),
    S_FIELD (store_job_t, F_TEXT, model_hash),
    S_FIELD (store_job_t, F_TEXT, checkpoint_hash),
    S_FIELD (store_job_t, F_INT, checkpoint_epoch),
    S_FIELD (store_job_t, F_TEXT, worker),
    S_FIELD (store_job_t, F_TEXT, worker_instance),
    S_FIELD (store_job_t, F_TEXT, worker_key),
    S_FIELD (store_job_t, F_INT64, started_at),
    S_FIELD (store_job_t, F_INT64, not_before),
    S_FIELD (store_job_t, F_INT, priority),
    S_FIELD (store_job_t, F_INT64, created_at),
    S_FIELD (store_job_t, F_TEXT, client),
};

//  The running attempt's columns of jobs, into a store_run_t
static const field_t s_run_fields [] = {
    S_FIELD (store_run_t, F_TEXT, worker),
    S_FIELD (store_run_t, F_INT64, started_at),
    S_FIELD (store_run_t, F_INT, resumed_from_epoch),
};

//  The columns of Q_JSON: each a key of the job's map, of its progress
//  map, or of the running attempt's map
static const field_t s_json_fields [] = {
    S_KEY (F_JSON, "id"), S_KEY (F_JSON, "name"), S_KEY (F_JSON, "state"),
    S_KEY (F_JSON, "attempt"), S_KEY (F_JSON, "worker"), S_KEY (F_JSON, "created_at"),
    S_KEY (F_JSON, "started_at"), S_KEY (F_JSON, "finished_at"),
    S_KEY (F_JSON_PROGRESS, "epoch"), S_KEY (F_JSON_PROGRESS, "epochs"),
    S_KEY (F_JSON_PROGRESS, "step"), S_KEY (F_JSON_PROGRESS, "steps"),
    S_KEY (F_JSON_PROGRESS, "loss"), S_KEY (F_JSON_PROGRESS, "val_loss"),
    S_KEY (F_JSON_PROGRESS, "val_metric"), S_KEY (F_JSON_PROGRESS, "samples_per_sec"),
    S_KEY (F_JSON_PROGRESS, "eta_s"),
    S_KEY (F_JSON_PARSED, "metrics"), S_KEY (F_JSON, "error"), S_KEY (F_JSON, "model_hash"),
    S_KEY (F_JSON_PARSED, "spec"), S_KEY (F_JSON, "priority"),
    S_KEY (F_JSON, "checkpoint_epoch"), S_KEY (F_JSON, "not_before"),
    S_KEY (F_JSON_RUN, "attempt_started_at"), S_KEY (F_JSON_RUN, "resumed_from_epoch"),
    S_KEY (F_JSON, "owner"), S_KEY (F_JSON, "sweep"), S_KEY (F_JSON_PARSED, "params"),
};

static const reader_t s_job_reader = S_READER (s_job_fields);
static const reader_t s_run_reader = S_READER (s_run_fields);
static const reader_t s_json_reader = S_READER (s_json_fields);

//  The reader of each statement whose rows are read by column name
static const reader_t *s_readers [Q_COUNT] = {
    [Q_GET] = &s_job_reader, [Q_STATE] = &s_job_reader, [Q_STARTED] = &s_job_reader,
    [Q_QUEUED] = &s_job_reader,
    [Q_RUN] = &s_run_reader, [Q_JSON] = &s_json_reader,
};

struct store_t {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt [Q_COUNT];
    //  For a statement with a reader, the reader's field of each column
    unsigned char fields [Q_COUNT][STORE_MAX_COLUMNS];
    store_fault_fn *fault;          // the fault-injection seam, NULL normally
    void *fault_arg;
    store_fault_fn *sync_fault;     // the same for store_sync
    void *sync_fault_arg;
    store_fault_fn *commit_fault;   // the same for the commit alone
    void *commit_fault_arg;
    bool in_tx;
    bool failed;                    // a write in the open transaction failed: it must not commit
    uint64_t writes;                // write statements run or tried, ever
    int64_t changes_mark;           // sqlite3_total_changes64 when the last transaction ended
    int wal_fd;                     // the write-ahead log, for store_sync; -1 when closed
    //  Progress rows recorded per attempt since its last thinning check, by
    //  job id modulo the slots (a slot taken by another attempt is checked at once)
    struct { int64_t job; int attempt; int rows; } thin [STORE_THIN_SLOTS];
};

static int s_migrate (store_t *self, char **cause);
static bool s_write_allowed (store_t *self, const char *what);
static int s_schema_step (store_t *self, const char *sql, int version);
static int s_exec (store_t *self, const char *sql);
static int s_run (store_t *self, query_t q, const char *what);
static sqlite3_stmt *s_stmt (store_t *self, query_t q);
static int s_map_columns (store_t *self, query_t q);
static int s_step_done (store_t *self, sqlite3_stmt *stmt, const char *what);
static void s_bind_text (sqlite3_stmt *stmt, int col, const char *text);
static void s_bind_real (sqlite3_stmt *stmt, int col, double value);
static int s_row_read (store_t *self, query_t q, sqlite3_stmt *stmt, void *record);
static int s_job_read (store_t *self, query_t q, int64_t id, store_job_t *job);
static int64_t s_scalar (sqlite3_stmt *stmt);
static json_t *s_ids (sqlite3_stmt *stmt);
static int s_attempt_end (store_t *self, sqlite3_stmt *stmt, int64_t id, int attempt,
                          const store_end_t *end, bool *changed);
static json_t *s_column_json (sqlite3_stmt *stmt, int col);
static json_t *s_column_parsed (sqlite3_stmt *stmt, int col);
static json_t *s_job_row_json (store_t *self, sqlite3_stmt *stmt, json_t *run);
static json_t *s_attempts_json (store_t *self, int64_t id, json_t *job, json_t *run);
static json_t *s_history_json (store_t *self, int64_t id, int attempt);
static json_t *s_epochs_json (store_t *self, int64_t id);

store_t *
store_open (const char *path, char **cause)
{
    store_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->path = strdup (path);
    self->wal_fd = -1;
    //  The schema's migrations use UPDATE ... FROM (SQLite 3.33) and
    //  json_extract (built in since 3.38, an option before)
    if (sqlite3_libversion_number () < 3033000) {
        mt_fail (cause, "%s: this SQLite is %s; mtbroker needs 3.33 or newer", path,
                 sqlite3_libversion ());
        store_destroy (&self);
        return NULL;
    }
    //  No memory statistics: they put a global mutex around every allocation
    //  (fails harmlessly once SQLite is initialized)
    sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
    int rc = sqlite3_open_v2 (path, &self->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        mt_fail (cause, "%s: cannot open the database: %s", path,
                 self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
        store_destroy (&self);
        return NULL;
    }
    sqlite3_busy_timeout (self->db, 5000);
    //  A commit writes its frames to the write-ahead log without waiting for
    //  the disk (synchronous=NORMAL); store_sync then makes every commit
    //  before it durable with one fdatasync of the log, which is what
    //  synchronous=FULL does at each commit. The broker tells no one of a
    //  commit before its sync, and the sync runs beside the next batch.
    //  A checkpoint runs in the committing thread and syncs the log and the
    //  database: one per 10,000 pages of log (40 MB) rather than SQLite's
    //  1,000, so a page written over and over (the newest jobs' pages)
    //  reaches the database file once per checkpoint. Foreign keys are not
    //  enforced (SQLite's default): the one there is, attempts.job, is only
    //  written right after its job's row was, and checking it cost a lookup.
    //  The page cache holds up to 64 MiB (SQLite's default is 2 MiB): a
    //  leaderboard of 10,000 trials reads 20 MB of job rows, each page
    //  otherwise a pread from the kernel's cache.
    if (s_exec (self, "PRAGMA journal_mode = WAL") || s_exec (self, "PRAGMA synchronous = NORMAL")
    ||  s_exec (self, "PRAGMA wal_autocheckpoint = 10000")
    ||  s_exec (self, "PRAGMA cache_size = -65536") || s_migrate (self, cause)
    ||  store_pages_open (self)) {
        if (cause && !*cause)
            mt_fail (cause, "%s: cannot set up the database: %s", path, sqlite3_errmsg (self->db));
        store_destroy (&self);
        return NULL;
    }
    char wal [4096];
    snprintf (wal, sizeof wal, "%s-wal", path);
    self->wal_fd = open (wal, O_RDWR | O_CLOEXEC);
    if (self->wal_fd < 0) {
        mt_fail (cause, "%s: cannot open the write-ahead log %s: %s", path, wal, strerror (errno));
        store_destroy (&self);
        return NULL;
    }
    return self;
}

void
store_destroy (store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize (self->stmt [i]);
    sqlite3_close (self->db);
    if (self->wal_fd >= 0)
        close (self->wal_fd);
    free (self->path);
    free (self);
    *self_p = NULL;
}

//  The schema is versioned with PRAGMA user_version. A new database gets
//  s_schema; an older one each migration from its version up.
static int
s_migrate (store_t *self, char **cause)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    int version = (int) s_scalar (stmt);
    sqlite3_finalize (stmt);
    if (version > STORE_SCHEMA_VERSION)
        return mt_fail (cause, "%s: the database has schema version %d; this mtbroker knows"
                        " up to %d: upgrade mtbroker", self->path, version, STORE_SCHEMA_VERSION);
    if (version == 0) {
        if (s_schema_step (self, s_schema, STORE_SCHEMA_VERSION))
            return -1;
        mt_info ("store: created %s (schema %d)", self->path, STORE_SCHEMA_VERSION);
        return 0;
    }
    for (int v = version; v < STORE_SCHEMA_VERSION; v++)
        if (s_schema_step (self, s_migrations [v], v + 1))
            return -1;
    if (version < STORE_SCHEMA_VERSION)
        mt_info ("store: migrated %s from schema %d to %d", self->path, version,
                 STORE_SCHEMA_VERSION);
    return 0;
}

//  Run sql and set the schema version to version, in one transaction.
static int
s_schema_step (store_t *self, const char *sql, int version)
{
    char pragma [64];
    snprintf (pragma, sizeof pragma, "PRAGMA user_version = %d", version);
    if (s_exec (self, "BEGIN IMMEDIATE") || s_exec (self, sql) || s_exec (self, pragma)
    ||  s_exec (self, "COMMIT")) {
        s_exec (self, "ROLLBACK");
        return -1;
    }
    return 0;
}

static int
s_exec (store_t *self, const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &error) != SQLITE_OK) {
        mt_error ("store: %.40s: %s", sql, error ? error : "?");
        sqlite3_free (error);
        return -1;
    }
    return 0;
}

//  Run a prepared statement that returns no rows (BEGIN, COMMIT).
static int
s_run (store_t *self, query_t q, const char *what)
{
    sqlite3_stmt *stmt = s_stmt (self, q);
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        mt_error ("store: %s: %s", what, sqlite3_errmsg (self->db));
        return -1;
    }
    return 0;
}

void
store_set_fault (store_t *self, store_fault_fn *fault, void *arg)
{
    self->fault = fault;
    self->fault_arg = arg;
}

void
store_set_commit_fault (store_t *self, store_fault_fn *fault, void *arg)
{
    self->commit_fault = fault;
    self->commit_fault_arg = arg;
}

int
store_begin (store_t *self)
{
    if (self->in_tx)
        return 0;
    if (s_run (self, Q_BEGIN, "begin"))
        return -1;
    self->in_tx = true;
    self->failed = false;
    return 0;
}

void
store_abort (store_t *self)
{
    if (self->in_tx)
        self->failed = true;
}

bool
store_failed (store_t *self)
{
    return self->in_tx && self->failed;
}

sqlite3 *
store_db (store_t *self)
{
    return self->db;
}

bool
store_write_allowed (store_t *self, const char *what)
{
    return s_write_allowed (self, what);
}

uint64_t
store_writes (store_t *self)
{
    return self->writes;
}

//  A write statement is about to run: counted, and failed at once (false)
//  when the fault seam says so, as a full disk would fail it.
static bool
s_write_allowed (store_t *self, const char *what)
{
    self->writes++;
    if (!self->fault || !self->fault (self->fault_arg))
        return true;
    mt_error ("store: %s: injected I/O error", what);
    store_abort (self);
    return false;
}

int
store_commit (store_t *self)
{
    if (!self->in_tx) {
        //  Writes made outside a transaction committed one by one
        self->changes_mark = sqlite3_total_changes64 (self->db);
        return 0;
    }
    if (self->failed) {
        mt_error ("store: commit refused: a write of this transaction failed; rolled back");
        store_rollback (self);
        return -1;
    }
    //  A transaction that wrote nothing commits as a read does, disk full or not
    if (store_dirty (self)
    &&  ((self->fault && self->fault (self->fault_arg))
         || (self->commit_fault && self->commit_fault (self->commit_fault_arg)))) {
        mt_error ("store: commit failed: injected I/O error");
        store_rollback (self);
        return -1;
    }
    if (s_run (self, Q_COMMIT, "commit")) {
        store_rollback (self);
        return -1;
    }
    self->in_tx = false;
    self->changes_mark = sqlite3_total_changes64 (self->db);
    return 0;
}

bool
store_dirty (store_t *self)
{
    return sqlite3_total_changes64 (self->db) != self->changes_mark;
}

bool
store_in_transaction (store_t *self)
{
    return self->in_tx;
}

int
store_sync (store_t *self)
{
    if (self->sync_fault && self->sync_fault (self->sync_fault_arg))
        return EIO;
    return fdatasync (self->wal_fd) == 0 ? 0 : errno;
}

void
store_set_sync_fault (store_t *self, store_fault_fn *fault, void *arg)
{
    self->sync_fault = fault;
    self->sync_fault_arg = arg;
}

void
store_rollback (store_t *self)
{
    if (self->in_tx && !sqlite3_get_autocommit (self->db))
        s_exec (self, "ROLLBACK");
    self->in_tx = false;
    self->failed = false;
    self->changes_mark = sqlite3_total_changes64 (self->db);
}

static sqlite3_stmt *
s_stmt (store_t *self, query_t q)
{
    if (!self->stmt [q]) {
        if (sqlite3_prepare_v3 (self->db, s_sql [q], -1, SQLITE_PREPARE_PERSISTENT,
                                &self->stmt [q], NULL) != SQLITE_OK) {
            mt_error ("store: cannot prepare query %d: %s", q, sqlite3_errmsg (self->db));
            return NULL;
        }
        if (s_readers [q] && s_map_columns (self, q)) {
            sqlite3_finalize (self->stmt [q]);
            self->stmt [q] = NULL;
            return NULL;
        }
    }
    sqlite3_reset (self->stmt [q]);
    sqlite3_clear_bindings (self->stmt [q]);
    return self->stmt [q];
}

//  Match each column of q's statement to the field of q's reader that bears
//  its name (a column's own name, or its AS alias).
static int
s_map_columns (store_t *self, query_t q)
{
    const reader_t *reader = s_readers [q];
    int count = sqlite3_column_count (self->stmt [q]);
    assert (count <= STORE_MAX_COLUMNS);
    for (int col = 0; col < count; col++) {
        const char *name = sqlite3_column_name (self->stmt [q], col);
        size_t f = 0;
        while (f < reader->count && strcmp (reader->fields [f].name, name) != 0)
            f++;
        if (f == reader->count) {
            mt_error ("store: query %d: no field reads its column %s", q, name);
            return -1;
        }
        self->fields [q][col] = (unsigned char) f;
    }
    return 0;
}

//  Run a write statement to its end. A failed write fails its transaction:
//  the commit refuses it, so no transaction commits half a change.
static int
s_step_done (store_t *self, sqlite3_stmt *stmt, const char *what)
{
    if (!s_write_allowed (self, what)) {
        sqlite3_reset (stmt);
        return -1;
    }
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        mt_error ("store: %s: %s", what, sqlite3_errmsg (self->db));
        store_abort (self);
        return -1;
    }
    return 0;
}

//  Text is bound SQLITE_STATIC (not copied): every statement is stepped and
//  reset while the caller's strings live, and s_stmt clears the bindings
//  before the next use.
static void
s_bind_text (sqlite3_stmt *stmt, int col, const char *text)
{
    if (text && *text)
        sqlite3_bind_text (stmt, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, col);
}

static void
s_bind_real (sqlite3_stmt *stmt, int col, double value)
{
    if (isfinite (value))
        sqlite3_bind_double (stmt, col, value);
    else
        sqlite3_bind_null (stmt, col);
}

//  Read the row stmt (query q) stands on into record through q's reader.
//  Returns 0, or -1 when a state is unknown or memory ran out.
static int
s_row_read (store_t *self, query_t q, sqlite3_stmt *stmt, void *record)
{
    const reader_t *reader = s_readers [q];
    int rc = 0;
    for (int col = 0; col < sqlite3_column_count (stmt); col++) {
        const field_t *field = &reader->fields [self->fields [q][col]];
        void *at = (char *) record + field->offset;
        const char *text = NULL;
        if (field->kind == F_TEXT || field->kind == F_TEXT_OWNED || field->kind == F_STATE)
            text = (const char *) sqlite3_column_text (stmt, col);
        switch (field->kind) {
            case F_INT:
                assert (field->size == sizeof (int));
                *(int *) at = sqlite3_column_int (stmt, col);
                break;
            case F_INT64:
                assert (field->size == sizeof (int64_t));
                *(int64_t *) at = sqlite3_column_int64 (stmt, col);
                break;
            case F_TEXT:
                mt_strlcpy (at, text, field->size);
                break;
            case F_TEXT_OWNED:
                assert (field->size == sizeof (char *));
                if (text && !(*(char **) at = strdup (text)))
                    rc = -1;
                break;
            case F_STATE:
                assert (field->size == sizeof (job_state_t));
                if (job_state_parse (text, at)) {
                    mt_error ("store: a job in the unknown state '%s'", text ? text : "");
                    rc = -1;
                }
                break;
            default:
                assert (!"a column of a map read into a record");
        }
    }
    return rc;
}

//  Read job id's row with query q (bound to the id) into job. Returns 0, or
//  -1 with job cleared.
static int
s_job_read (store_t *self, query_t q, int64_t id, store_job_t *job)
{
    memset (job, 0, sizeof *job);
    sqlite3_stmt *stmt = s_stmt (self, q);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    int rc = sqlite3_step (stmt) == SQLITE_ROW ? s_row_read (self, q, stmt, job) : -1;
    sqlite3_reset (stmt);
    if (rc)
        store_job_clear (job);
    return rc;
}

//  The one column of the first row of stmt (0 when there is none).
static int64_t
s_scalar (sqlite3_stmt *stmt)
{
    int64_t value = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
    sqlite3_reset (stmt);
    return value;
}

int64_t
store_job_insert (store_t *self, const mt_spec_t *spec, const char *spec_json, const char *key,
                  const char *client, int64_t now_ms, bool *existing)
{
    *existing = false;
    sqlite3_stmt *stmt;
    if (key && (stmt = s_stmt (self, Q_BY_KEY))) {
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
        int64_t id = s_scalar (stmt);
        if (id > 0) {
            *existing = true;
            return id;
        }
    }
    //  The text as received costs nothing more; writing it again from the
    //  struct would near double the broker's cost per submit
    char *written = spec_json ? NULL : mt_spec_to_json (spec);
    const char *text = spec_json ? spec_json : written;
    if (!text || !(stmt = s_stmt (self, Q_INSERT))) {
        free (written);
        return -1;
    }
    s_bind_text (stmt, 1, spec->name);
    s_bind_text (stmt, 2, key);
    s_bind_text (stmt, 3, text);
    s_bind_text (stmt, 4, spec->data_hash);
    s_bind_text (stmt, 5, spec->init_hash);
    sqlite3_bind_int (stmt, 6, spec->priority);
    sqlite3_bind_int (stmt, 7, spec->max_retries);
    sqlite3_bind_int64 (stmt, 8, spec->time_limit_s);
    sqlite3_bind_int64 (stmt, 9, now_ms);
    s_bind_text (stmt, 10, client);
    s_bind_text (stmt, 11, spec->val_data_hash);
    int rc = s_step_done (self, stmt, "insert job");
    free (written);
    return rc ? -1 : sqlite3_last_insert_rowid (self->db);
}

int
store_job_get (store_t *self, int64_t id, store_job_t *job)
{
    return s_job_read (self, Q_GET, id, job);
}

int
store_job_state (store_t *self, int64_t id, store_job_t *job)
{
    return s_job_read (self, Q_STATE, id, job);
}

void
store_job_clear (store_job_t *job)
{
    free (job->spec);
    job->spec = NULL;
}

int
store_queued_load (store_t *self, store_queued_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_QUEUED);
    if (!stmt)
        return -1;
    store_job_t job = { 0 };
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW)
        rc = s_row_read (self, Q_QUEUED, stmt, &job) ? -1
           : fn (arg, job.id, job.priority, job.created_at, job.not_before, job.client);
    if (rc == 0 && step != SQLITE_DONE) {
        mt_error ("store: reading the queued jobs: %s", sqlite3_errmsg (self->db));
        rc = -1;
    }
    sqlite3_reset (stmt);
    return rc;
}

int
store_job_failures (store_t *self, int64_t id)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_FAILURES);
    if (!stmt)
        return 0;
    sqlite3_bind_int64 (stmt, 1, id);
    return (int) s_scalar (stmt);
}

int
store_job_take (store_t *self, int64_t id, const store_worker_t *worker, int64_t now_ms,
                store_job_t *job)
{
    store_job_t row;
    store_job_t *read = job ? job : &row;
    memset (read, 0, sizeof *read);
    sqlite3_stmt *stmt = s_stmt (self, Q_START);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, worker->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, now_ms);
    s_bind_text (stmt, 4, worker->instance && *worker->instance ? worker->instance : NULL);
    s_bind_text (stmt, 5, worker->key);
    if (!s_write_allowed (self, "start job"))
        return -1;
    //  A plain update and a read by rowid: cheaper than UPDATE ... RETURNING,
    //  which gathers its rows in a temporary table
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        mt_error ("store: start job %lld: %s", (long long) id, sqlite3_errmsg (self->db));
        store_abort (self);
        return -1;
    }
    if (sqlite3_changes (self->db) != 1)
        return -1;
    int attempt = s_job_read (self, Q_STARTED, id, read) == 0 ? read->attempt : -1;
    if (attempt >= 0 && !job)
        store_job_clear (read);
    return attempt;
}

int
store_job_adopt (store_t *self, int64_t id, int attempt, const char *name)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_ADOPT);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_text (stmt, 3, name, -1, SQLITE_STATIC);
    return s_step_done (self, stmt, "record adoption");
}

int
store_job_progress (store_t *self, int64_t id, int attempt, const store_progress_t *p,
                    int64_t now_ms)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_PROGRESS);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_int64 (stmt, 3, now_ms);
    sqlite3_bind_int (stmt, 4, p->epoch);
    sqlite3_bind_int (stmt, 5, p->epochs);
    sqlite3_bind_int64 (stmt, 6, p->step);
    sqlite3_bind_int64 (stmt, 7, p->steps);
    s_bind_real (stmt, 8, p->loss);
    s_bind_real (stmt, 9, p->val_loss);
    s_bind_real (stmt, 10, p->val_metric);
    s_bind_real (stmt, 11, p->samples_per_sec);
    s_bind_real (stmt, 12, p->eta_s);
    s_bind_text (stmt, 13, p->metrics);
    if (s_step_done (self, stmt, "insert progress"))
        return -1;
    //  Every STORE_THIN_EVERY-th row of an attempt, its history is thinned
    //  (to the bound: nothing happens below it). The count is per attempt,
    //  so attempts reporting in turn each get their checks
    int slot = (int) ((uint64_t) id % STORE_THIN_SLOTS);
    bool check;
    if (self->thin [slot].job != id || self->thin [slot].attempt != attempt) {
        self->thin [slot].job = id;
        self->thin [slot].attempt = attempt;
        self->thin [slot].rows = 0;
        check = true;           // what was counted for it is lost: check now
    }
    else
        check = ++self->thin [slot].rows >= STORE_THIN_EVERY;
    if (!check)
        return 0;
    self->thin [slot].rows = 0;
    //  The count first, on a statement prepared once: a new attempt's first
    //  row checks too, and below the bound there is nothing to thin
    sqlite3_stmt *count = s_stmt (self, Q_HISTORY_COUNT);
    if (count) {
        sqlite3_bind_int64 (count, 1, id);
        sqlite3_bind_int (count, 2, attempt);
        if (s_scalar (count) <= STORE_PROGRESS_MAX_ROWS)
            return 0;
    }
    return store_progress_thin (self, id, attempt) < 0 ? -1 : 0;
}

int
store_job_mark_trial (store_t *self, int64_t id, int64_t sweep, const char *params)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_MARK_TRIAL);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int64 (stmt, 2, sweep);
    s_bind_text (stmt, 3, params);
    return s_step_done (self, stmt, "mark the trial's job");
}

int
store_job_checkpoint (store_t *self, int64_t id, int attempt, const char *hash, int epoch)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_CHECKPOINT);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 4, epoch);
    return s_step_done (self, stmt, "record checkpoint");
}

int
store_job_keep_model (store_t *self, int64_t id, int attempt, const char *hash)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_KEEP_MODEL);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_STATIC);
    if (s_step_done (self, stmt, "keep a pruned trial's model"))
        return -1;
    return sqlite3_changes (self->db) == 1;
}

int
store_job_run (store_t *self, int64_t id, int attempt, store_run_t *run)
{
    memset (run, 0, sizeof *run);
    sqlite3_stmt *stmt = s_stmt (self, Q_RUN);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW)
        s_row_read (self, Q_RUN, stmt, run);
    else
    if (step != SQLITE_DONE)
        mt_error ("store: reading job %lld's attempt: %s", (long long) id,
                  sqlite3_errmsg (self->db));
    sqlite3_reset (stmt);
    return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
}

int
store_job_end (store_t *self, int64_t id, int attempt, const store_end_t *end, bool *changed)
{
    assert (end->state == JOB_QUEUED || job_state_ended (end->state));
    bool requeue = end->state == JOB_QUEUED;
    sqlite3_stmt *stmt = s_stmt (self, requeue ? Q_REQUEUE : Q_FINISH);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    if (requeue)
        sqlite3_bind_int64 (stmt, 3, end->not_before_ms);
    else {
        sqlite3_bind_text (stmt, 3, job_state_name (end->state), -1, SQLITE_STATIC);
        s_bind_text (stmt, 4, end->metrics);
        s_bind_text (stmt, 5, end->error);
        s_bind_text (stmt, 6, end->model_hash);
        sqlite3_bind_int64 (stmt, 7, end->now_ms);
    }
    return s_attempt_end (self, stmt, id, attempt, end, changed);
}

//  Run stmt, the change that ends attempt (bound already); when it changed
//  the job and the attempt was running, write the attempt's row with end's
//  outcome. Without end->run, what the job's row says of the attempt is
//  read first (and no row is written when it is not running any more).
static int
s_attempt_end (store_t *self, sqlite3_stmt *stmt, int64_t id, int attempt,
               const store_end_t *end, bool *changed)
{
    const store_run_t *run = end->run;
    store_run_t found;
    if (end->outcome && !run) {
        int rc = store_job_run (self, id, attempt, &found);
        if (rc < 0) {
            sqlite3_reset (stmt);
            return -1;          // fail the batch rather than end it unrecorded
        }
        run = rc == 0 ? &found : NULL;
    }
    if (s_step_done (self, stmt, end->state == JOB_QUEUED ? "requeue job" : "finish job"))
        return -1;
    bool ended = sqlite3_changes (self->db) == 1;
    if (ended && end->outcome && run) {
        if (!(stmt = s_stmt (self, Q_ATTEMPT_INSERT)))
            return -1;
        sqlite3_bind_int64 (stmt, 1, id);
        sqlite3_bind_int (stmt, 2, attempt);
        s_bind_text (stmt, 3, run->worker);
        sqlite3_bind_int64 (stmt, 4, run->started_at);
        sqlite3_bind_int (stmt, 5, run->resumed_from_epoch);
        sqlite3_bind_int64 (stmt, 6, end->now_ms);
        sqlite3_bind_text (stmt, 7, end->outcome, -1, SQLITE_STATIC);
        if (s_step_done (self, stmt, "record attempt"))
            return -1;
    }
    if (changed)
        *changed = ended;
    return 0;
}

int
store_job_set_state (store_t *self, int64_t id, job_state_t state)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_SET_STATE);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, job_state_name (state), -1, SQLITE_STATIC);
    return s_step_done (self, stmt, "set state");
}

//  The ids a one-column SELECT id (bound already; NULL: none) returns, as
//  a new JSON array.
static json_t *
s_ids (sqlite3_stmt *stmt)
{
    json_t *ids = json_array ();
    while (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
    if (stmt)
        sqlite3_reset (stmt);
    return ids;
}

json_t *
store_jobs_active (store_t *self)
{
    return s_ids (s_stmt (self, Q_ACTIVE));
}

static json_t *
s_column_json (sqlite3_stmt *stmt, int col)
{
    switch (sqlite3_column_type (stmt, col)) {
        case SQLITE_INTEGER: return json_integer (sqlite3_column_int64 (stmt, col));
        case SQLITE_FLOAT:   return json_real (sqlite3_column_double (stmt, col));
        case SQLITE_TEXT:    return json_string ((const char *) sqlite3_column_text (stmt, col));
        default:             return json_null ();
    }
}

//  A column that holds JSON text, parsed; null when empty or unparsable.
static json_t *
s_column_parsed (sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *) sqlite3_column_text (stmt, col);
    json_t *value = text ? json_loads (text, 0, NULL) : NULL;
    return value ? value : json_null ();
}

//  The job's map from the row stmt (Q_JSON) stands on, each column under
//  its name; the running attempt's columns go into run.
static json_t *
s_job_row_json (store_t *self, sqlite3_stmt *stmt, json_t *run)
{
    json_t *job = json_object ();
    json_t *progress = NULL;
    for (int col = 0; col < sqlite3_column_count (stmt); col++) {
        const field_t *field = &s_json_fields [self->fields [Q_JSON][col]];
        switch (field->kind) {
            case F_JSON:
                json_object_set_new (job, field->name, s_column_json (stmt, col));
                break;
            case F_JSON_PARSED:
                json_object_set_new (job, field->name, s_column_parsed (stmt, col));
                break;
            case F_JSON_PROGRESS:
                if (!progress)
                    json_object_set_new (job, "progress", progress = json_object ());
                json_object_set_new (progress, field->name, s_column_json (stmt, col));
                break;
            case F_JSON_RUN:
                json_object_set_new (run, field->name, s_column_json (stmt, col));
                break;
            default:
                assert (!"a column of a record read into a map");
        }
    }
    return job;
}

//  The attempts that ended, each column under its name, then the running
//  one, described by the job's map and run when the job is running or
//  stopping.
static json_t *
s_attempts_json (store_t *self, int64_t id, json_t *job, json_t *run)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_ATTEMPTS);
    if (!stmt)
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        json_t *item = json_object ();
        for (int col = 0; col < sqlite3_column_count (stmt); col++)
            json_object_set_new (item, sqlite3_column_name (stmt, col), s_column_json (stmt, col));
        json_array_append_new (list, item);
    }
    sqlite3_reset (stmt);
    job_state_t state;
    if (job_state_parse (json_string_value (json_object_get (job, "state")), &state) == 0
    &&  (state == JOB_RUNNING || state == JOB_STOPPING)) {
        json_t *running = json_object ();
        json_object_set (running, "attempt", json_object_get (job, "attempt"));
        json_object_set (running, "worker", json_object_get (job, "worker"));
        json_object_set (running, "started_at", json_object_get (run, "attempt_started_at"));
        json_object_set_new (running, "finished_at", json_null ());
        json_object_set_new (running, "outcome", json_null ());
        json_object_set (running, "resumed_from_epoch",
                         json_object_get (run, "resumed_from_epoch"));
        json_array_append_new (list, running);
    }
    return list;
}

//  The current attempt's progress history, thinned evenly to at most
//  STORE_HISTORY_POINTS points: of count rows, all when they fit, else rows
//  floor (i * (count - 1) / (POINTS - 1)) for i in 0..POINTS-1, which are
//  POINTS distinct rows, the first and the last among them. A point is
//  Q_HISTORY's columns in their order.
static json_t *
s_history_json (store_t *self, int64_t id, int attempt)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_HISTORY_COUNT);
    if (!stmt)
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int64_t count = s_scalar (stmt);
    int64_t points = count < STORE_HISTORY_POINTS ? count : STORE_HISTORY_POINTS;
    if (points == 0 || !(stmt = s_stmt (self, Q_HISTORY)))
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int64_t taken = 0, next = 0;        // points kept so far; the row of the next one
    for (int64_t row = 0; taken < points && sqlite3_step (stmt) == SQLITE_ROW; row++) {
        if (row != next)
            continue;
        json_t *point = json_array ();
        for (int col = 0; col < sqlite3_column_count (stmt); col++)
            json_array_append_new (point, s_column_json (stmt, col));
        json_array_append_new (list, point);
        taken++;
        next = points > 1 ? taken * (count - 1) / (points - 1) : count;
    }
    sqlite3_reset (stmt);
    return list;
}

json_t *
store_job_json (store_t *self, int64_t id, bool history)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_JSON);
    if (!stmt)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, id);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return NULL;
    }
    json_t *run = json_object ();
    json_t *job = s_job_row_json (self, stmt, run);
    sqlite3_reset (stmt);
    json_object_set_new (job, "attempts", s_attempts_json (self, id, job, run));
    json_decref (run);
    if (history) {
        int attempt = (int) json_integer_value (json_object_get (job, "attempt"));
        json_object_set_new (job, "history", s_history_json (self, id, attempt));
        json_object_set_new (job, "epochs", s_epochs_json (self, id));
    }
    return job;
}

//  The per-epoch validation metrics, one map per epoch in order: epoch,
//  step, loss, val_loss, val_metric and metrics (Q_EPOCHS's columns),
//  thinned as the history is to STORE_HISTORY_POINTS epochs (a fast job
//  may run a million)
static json_t *
s_epochs_json (store_t *self, int64_t id)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_EPOCHS_COUNT);
    if (!stmt)
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    int64_t count = s_scalar (stmt);
    int64_t points = count < STORE_HISTORY_POINTS ? count : STORE_HISTORY_POINTS;
    if (points == 0 || !(stmt = s_stmt (self, Q_EPOCHS)))
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    int64_t taken = 0, next = 0;
    for (int64_t row = 0; taken < points && sqlite3_step (stmt) == SQLITE_ROW; row++) {
        if (row != next)
            continue;
        taken++;
        next = points > 1 ? taken * (count - 1) / (points - 1) : count;
        json_t *point = json_object ();
        for (int col = 0; col < sqlite3_column_count (stmt); col++) {
            const char *name = sqlite3_column_name (stmt, col);
            json_object_set_new (point, name, strcmp (name, "metrics") == 0
                                 ? s_column_parsed (stmt, col) : s_column_json (stmt, col));
        }
        json_array_append_new (list, point);
    }
    sqlite3_reset (stmt);
    return list;
}

json_t *
store_job_list (store_t *self, int state, int limit)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, state >= 0 ? Q_LIST_STATE : Q_LIST);
    if (!stmt)
        return list;
    sqlite3_bind_int (stmt, 1, limit);
    if (state >= 0)
        sqlite3_bind_text (stmt, 2, job_state_name (state), -1, SQLITE_STATIC);
    json_t *ids = s_ids (stmt);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *job = store_job_json (self, json_integer_value (id), false);
        if (job)
            json_array_append_new (list, job);
    }
    json_decref (ids);
    return list;
}

bool
store_blob_in_use (store_t *self, const char *hash)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_USED);
    if (!stmt)
        return true;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
    return s_scalar (stmt) > 0;
}

int
store_blob_put (store_t *self, const char *hash, const void *data, size_t size, int64_t now_ms)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_PUT);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (int64_t) size);
    sqlite3_bind_int64 (stmt, 3, now_ms);
    sqlite3_bind_blob64 (stmt, 4, data, size, SQLITE_STATIC);
    return s_step_done (self, stmt, "store a blob");
}

bool
store_blob_has (store_t *self, const char *hash, int64_t *size)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_SIZE);
    if (!stmt)
        return false;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
    bool found = sqlite3_step (stmt) == SQLITE_ROW;
    if (found && size)
        *size = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return found;
}

int
store_blob_read (store_t *self, const char *hash, int64_t offset, void *buf, size_t len,
                 size_t *got, char **cause)
{
    *got = 0;
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_READ);
    if (!stmt)
        return mt_fail (cause, "blob %.12s cannot be read: %s", hash, sqlite3_errmsg (self->db));
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, offset + 1);
    sqlite3_bind_int64 (stmt, 3, len > INT32_MAX ? INT32_MAX : (int64_t) len);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        const void *bytes = sqlite3_column_blob (stmt, 0);
        *got = (size_t) sqlite3_column_bytes (stmt, 0);
        if (*got > len)
            *got = len;
        if (*got)
            memcpy (buf, bytes, *got);
    }
    sqlite3_reset (stmt);
    if (rc == SQLITE_ROW)
        return 0;
    return mt_fail (cause, rc == SQLITE_DONE ? "blob %.12s is not stored"
                                             : "blob %.12s cannot be read: %s",
                    hash, sqlite3_errmsg (self->db));
}

int
store_blob_delete (store_t *self, const char *hash)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_DELETE);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
    if (s_step_done (self, stmt, "delete a blob"))
        return -1;
    return sqlite3_changes (self->db) == 1;
}

int
store_blobs_older (store_t *self, int64_t before_ms, store_blob_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_BLOB_OLDER);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, before_ms);
    int count = 0, rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        fn ((const char *) sqlite3_column_text (stmt, 0), arg);
        count++;
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? count : -1;
}

//  Once, when the broker starts: the counts its figures are seeded with.
int
store_counts (store_t *self, store_count_fn *fn, void *arg)
{
    static const struct { const char *table, *sql; } queries [] = {
        { "jobs", "SELECT state, count(*) FROM jobs GROUP BY state" },
        { "attempts", "SELECT outcome, count(*) FROM attempts WHERE outcome IS NOT NULL"
                      " GROUP BY outcome" },
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries [0]; i++) {
        sqlite3_stmt *stmt;
        if (sqlite3_prepare_v2 (self->db, queries [i].sql, -1, &stmt, NULL) != SQLITE_OK) {
            mt_error ("store: cannot count %s: %s", queries [i].table, sqlite3_errmsg (self->db));
            return -1;
        }
        int rc;
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
            fn (arg, queries [i].table, (const char *) sqlite3_column_text (stmt, 0),
                sqlite3_column_int64 (stmt, 1));
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE) {
            mt_error ("store: cannot count %s: %s", queries [i].table, sqlite3_errmsg (self->db));
            return -1;
        }
    }
    return 0;
}

//  store_pages.c works on the same database through store_db and this
int
store_write_step (store_t *self, void *stmt, const char *what)
{
    return s_step_done (self, stmt, what);
}
