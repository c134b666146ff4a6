/*  store - the job table, attempts and progress history, on SQLite (WAL)  */
#include "store.h"
#include "mt/log.h"
#include "mt/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_SCHEMA_VERSION 5
#define STORE_HISTORY_POINTS 500    // loss-curve points in a STATUS reply

//  Every statement the store runs, prepared once on first use. A list of
//  three or more values after IN makes SQLite build a temporary index each
//  time the statement runs (it more than doubled the cost of a finish), so
//  such tests are spelled out with OR.
typedef enum {
    Q_INSERT, Q_BY_KEY, Q_GET, Q_STARTED, Q_QUEUED, Q_START, Q_RUN, Q_ATTEMPT_INSERT,
    Q_PROGRESS, Q_CHECKPOINT, Q_FINISH, Q_REQUEUE, Q_SET_STATE,
    Q_ACTIVE, Q_JSON, Q_ATTEMPTS, Q_HISTORY, Q_HISTORY_COUNT, Q_LIST, Q_LIST_STATE,
    Q_BLOB_USED, Q_FAILURES, Q_BEGIN, Q_COMMIT, Q_COUNT
} query_t;

static const char *s_sql [Q_COUNT] = {
    [Q_INSERT] = "INSERT INTO jobs (name, key, state, spec, data_hash, priority, max_retries,"
                 " created_at, client) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_BY_KEY] = "SELECT id FROM jobs WHERE key = ?1",
    [Q_GET] = "SELECT id, state, attempt, max_retries, spec, data_hash, model_hash,"
              " checkpoint_hash, checkpoint_epoch, worker, started_at, not_before, priority,"
              " created_at, client FROM jobs WHERE id = ?1",
    //  What a start needs of the row it just changed
    [Q_STARTED] = "SELECT id, attempt, spec, data_hash, checkpoint_hash, checkpoint_epoch,"
                  " started_at FROM jobs WHERE id = ?1",
    //  The queue in memory is loaded from here at start
    [Q_QUEUED] = "SELECT id, priority, created_at, not_before, client FROM jobs"
                 " WHERE state = 'queued'",
    //  The running attempt lives in the job's row until it ends; attempts
    //  holds the attempts that ended
    [Q_START] = "UPDATE jobs SET state = 'running', attempt = attempt + 1, worker = ?2,"
                " started_at = coalesce (started_at, ?3), attempt_started_at = ?3,"
                " resumed_from_epoch = checkpoint_epoch WHERE id = ?1 AND state = 'queued'",
    [Q_RUN] = "SELECT worker, attempt_started_at, resumed_from_epoch FROM jobs"
              " WHERE id = ?1 AND attempt = ?2 AND state IN ('running', 'stopping')",
    [Q_ATTEMPT_INSERT] = "INSERT OR REPLACE INTO attempts (job, attempt, worker, started_at,"
                         " resumed_from_epoch, finished_at, outcome)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    //  A job's latest progress is its newest report in the history
    [Q_PROGRESS] = "INSERT INTO progress (job, attempt, at, epoch, epochs, step, steps, loss,"
                   " val_loss, val_metric, samples_per_sec, eta_s)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
    [Q_JSON] = "SELECT j.id, j.name, j.state, j.attempt, j.worker, j.created_at, j.started_at,"
               " j.finished_at, p.epoch, p.epochs, p.step, p.steps, p.loss, p.val_loss,"
               " p.val_metric, p.samples_per_sec, p.eta_s, j.metrics, j.error, j.model_hash,"
               " j.spec, j.priority, j.checkpoint_epoch, j.not_before, j.attempt_started_at,"
               " j.resumed_from_epoch FROM jobs j LEFT JOIN progress p ON p.rowid ="
               " (SELECT rowid FROM progress WHERE job = j.id ORDER BY attempt DESC, rowid DESC"
               " LIMIT 1) WHERE j.id = ?1",
    [Q_ATTEMPTS] = "SELECT attempt, worker, started_at, finished_at, outcome, resumed_from_epoch"
                   " FROM attempts WHERE job = ?1 ORDER BY attempt",
    [Q_HISTORY] = "SELECT step, epoch, loss, val_loss, val_metric FROM progress"
                  " WHERE job = ?1 AND attempt = ?2 ORDER BY rowid",
    [Q_HISTORY_COUNT] = "SELECT count(*) FROM progress WHERE job = ?1 AND attempt = ?2",
    [Q_LIST] = "SELECT id FROM jobs ORDER BY id DESC LIMIT ?1",
    [Q_LIST_STATE] = "SELECT id FROM jobs WHERE state = ?2 ORDER BY id DESC LIMIT ?1",
    [Q_FAILURES] = "SELECT count(*) FROM attempts WHERE job = ?1"
                   " AND outcome IN ('crashed', 'worker_lost')",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_BLOB_USED] = "SELECT count(*) FROM jobs WHERE data_hash = ?1 OR model_hash = ?1"
                    " OR checkpoint_hash = ?1 OR instr (spec, ?1) > 0",
};

static const char *s_schema =
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT, key TEXT UNIQUE,"
    "  state TEXT NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  data_hash TEXT,"
    "  priority INTEGER NOT NULL DEFAULT 0,"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  max_retries INTEGER NOT NULL DEFAULT 3,"
    "  worker TEXT,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  epoch INTEGER, epochs INTEGER, step INTEGER, steps INTEGER,"
    "  loss REAL, val_loss REAL, val_metric REAL, samples_per_sec REAL, eta_s REAL,"
    "  updated_at INTEGER,"
    "  metrics TEXT, error TEXT, model_hash TEXT,"
    "  checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_queue ON jobs (state, priority DESC, id);"
    "CREATE TABLE attempts ("
    "  job INTEGER NOT NULL REFERENCES jobs (id), attempt INTEGER NOT NULL,"
    "  worker TEXT, started_at INTEGER, finished_at INTEGER, outcome TEXT,"
    "  resumed_from_epoch INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job, attempt));"
    "CREATE TABLE progress ("
    "  job INTEGER NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL,"
    "  epoch INTEGER, step INTEGER, loss REAL, val_loss REAL, val_metric REAL);"
    "CREATE INDEX progress_job ON progress (job, attempt);";

struct store_t {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt [Q_COUNT];
    store_fault_fn *fault;          // the fault-injection seam, NULL normally
    void *fault_arg;
    store_fault_fn *sync_fault;     // the same for store_sync
    void *sync_fault_arg;
    bool in_tx;
    int64_t changes_mark;           // sqlite3_total_changes64 when the last transaction ended
    int wal_fd;                     // the write-ahead log, for store_sync; -1 when closed
};

static sqlite3_stmt *s_stmt (store_t *self, query_t q);
static int s_step_done (store_t *self, sqlite3_stmt *stmt, const char *what);
static int s_exec (store_t *self, const char *sql);
static int s_run (store_t *self, query_t q, const char *what);
static int s_migrate (store_t *self, char **cause);
static void s_bind_text (sqlite3_stmt *stmt, int col, const char *text);
static void s_bind_real (sqlite3_stmt *stmt, int col, double value);
static json_t *s_column_json (sqlite3_stmt *stmt, int col);

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
    //  The schema's migrations use UPDATE ... FROM (SQLite 3.33)
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
    if (s_exec (self, "PRAGMA journal_mode = WAL") || s_exec (self, "PRAGMA synchronous = NORMAL")
    ||  s_exec (self, "PRAGMA wal_autocheckpoint = 10000") || s_migrate (self, cause)) {
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

//  The schema is versioned with PRAGMA user_version; each step migrates one
//  version up inside a transaction.
static int
s_migrate (store_t *self, char **cause)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    int version = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
    sqlite3_finalize (stmt);
    if (version > STORE_SCHEMA_VERSION)
        return mt_fail (cause, "%s: the database has schema version %d; this mtbroker knows"
                        " up to %d: upgrade mtbroker", self->path, version, STORE_SCHEMA_VERSION);
    //  Each step takes the schema one version up, in one transaction
    static const char *steps [STORE_SCHEMA_VERSION] = {
        NULL,       // 0 -> 1: s_schema
        //  1 -> 2: who submitted, and queued jobs per submitter kept by
        //  triggers, so the limit check is one lookup and rolls back with
        //  the rest of a failed transaction
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
        "DROP TRIGGER jobs_enter_queue; DROP TRIGGER jobs_requeue;"
        "DROP TRIGGER jobs_leave_queue; DROP TABLE queue_counts; DROP INDEX jobs_queue;",
        //  3 -> 4: fewer pages written per job: keys are indexed only where
        //  a job has one (a UNIQUE column indexes every NULL too), and an
        //  attempt is one b-tree row keyed by (job, attempt), not a rowid
        //  row plus an index entry
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
        "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;"
    };
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        char pragma [64];
        snprintf (pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (s_exec (self, "BEGIN IMMEDIATE") || s_exec (self, v == 0 ? s_schema : steps [v])
        ||  s_exec (self, pragma) || s_exec (self, "COMMIT")) {
            s_exec (self, "ROLLBACK");
            return -1;
        }
    }
    if (version < STORE_SCHEMA_VERSION)
        mt_info ("store: %s %s (schema %d)", version ? "migrated" : "created", self->path,
                 STORE_SCHEMA_VERSION);
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

int
store_begin (store_t *self)
{
    if (self->in_tx)
        return 0;
    if (s_run (self, Q_BEGIN, "begin"))
        return -1;
    self->in_tx = true;
    return 0;
}

int
store_commit (store_t *self)
{
    if (!self->in_tx) {
        //  Writes made outside a transaction committed one by one
        self->changes_mark = sqlite3_total_changes64 (self->db);
        return 0;
    }
    if (self->fault && self->fault (self->fault_arg)) {
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
    self->changes_mark = sqlite3_total_changes64 (self->db);
}

static sqlite3_stmt *
s_stmt (store_t *self, query_t q)
{
    if (!self->stmt [q]
    &&  sqlite3_prepare_v3 (self->db, s_sql [q], -1, SQLITE_PREPARE_PERSISTENT,
                            &self->stmt [q], NULL) != SQLITE_OK) {
        mt_error ("store: cannot prepare query %d: %s", q, sqlite3_errmsg (self->db));
        return NULL;
    }
    sqlite3_reset (self->stmt [q]);
    sqlite3_clear_bindings (self->stmt [q]);
    return self->stmt [q];
}

//  Run a write statement to its end. The fault seam makes it fail as a full
//  disk would.
static int
s_step_done (store_t *self, sqlite3_stmt *stmt, const char *what)
{
    if (self->fault && self->fault (self->fault_arg)) {
        mt_error ("store: %s: injected I/O error", what);
        sqlite3_reset (stmt);
        return -1;
    }
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        mt_error ("store: %s: %s", what, sqlite3_errmsg (self->db));
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

int64_t
store_job_insert (store_t *self, const char *spec_json, const char *name, const char *data_hash,
                  int priority, int max_retries, const char *key, const char *client,
                  int64_t now_ms, bool *existing)
{
    *existing = false;
    sqlite3_stmt *stmt;
    if (key && (stmt = s_stmt (self, Q_BY_KEY))) {
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64 (stmt, 0);
            sqlite3_reset (stmt);
            *existing = true;
            return id;
        }
        sqlite3_reset (stmt);
    }
    if (!(stmt = s_stmt (self, Q_INSERT)))
        return -1;
    s_bind_text (stmt, 1, name);
    s_bind_text (stmt, 2, key);
    s_bind_text (stmt, 3, spec_json);
    s_bind_text (stmt, 4, data_hash);
    sqlite3_bind_int (stmt, 5, priority);
    sqlite3_bind_int (stmt, 6, max_retries);
    sqlite3_bind_int64 (stmt, 7, now_ms);
    s_bind_text (stmt, 8, client);
    if (s_step_done (self, stmt, "insert job"))
        return -1;
    return sqlite3_last_insert_rowid (self->db);
}

static void
s_copy_column (sqlite3_stmt *stmt, int col, char *out, size_t size)
{
    mt_strlcpy (out, (const char *) sqlite3_column_text (stmt, col), size);
}

//  Q_GET and Q_START return a job's facts in the same columns.
static int
s_job_row (sqlite3_stmt *stmt, store_job_t *job)
{
    job->id = sqlite3_column_int64 (stmt, 0);
    s_copy_column (stmt, 1, job->state, sizeof job->state);
    job->attempt = sqlite3_column_int (stmt, 2);
    job->max_retries = sqlite3_column_int (stmt, 3);
    job->spec = strdup ((const char *) sqlite3_column_text (stmt, 4));
    s_copy_column (stmt, 5, job->data_hash, sizeof job->data_hash);
    s_copy_column (stmt, 6, job->model_hash, sizeof job->model_hash);
    s_copy_column (stmt, 7, job->checkpoint_hash, sizeof job->checkpoint_hash);
    job->checkpoint_epoch = sqlite3_column_int (stmt, 8);
    s_copy_column (stmt, 9, job->worker, sizeof job->worker);
    job->started_at = sqlite3_column_int64 (stmt, 10);
    job->not_before = sqlite3_column_int64 (stmt, 11);
    job->priority = sqlite3_column_int (stmt, 12);
    job->created_at = sqlite3_column_int64 (stmt, 13);
    s_copy_column (stmt, 14, job->client, sizeof job->client);
    return job->spec ? 0 : -1;
}

//  What a start needs of the row (Q_STARTED), the other fields left zero.
static int
s_started_row (sqlite3_stmt *stmt, store_job_t *job)
{
    job->id = sqlite3_column_int64 (stmt, 0);
    job->attempt = sqlite3_column_int (stmt, 1);
    job->spec = strdup ((const char *) sqlite3_column_text (stmt, 2));
    s_copy_column (stmt, 3, job->data_hash, sizeof job->data_hash);
    s_copy_column (stmt, 4, job->checkpoint_hash, sizeof job->checkpoint_hash);
    job->checkpoint_epoch = sqlite3_column_int (stmt, 5);
    job->started_at = sqlite3_column_int64 (stmt, 6);
    return job->spec ? 0 : -1;
}

//  Read job id's row with query q (bound to the id) through row.
static int
s_job_read (store_t *self, query_t q, int64_t id, store_job_t *job,
            int (*row) (sqlite3_stmt *stmt, store_job_t *job))
{
    memset (job, 0, sizeof *job);
    sqlite3_stmt *stmt = s_stmt (self, q);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    int rc = sqlite3_step (stmt) == SQLITE_ROW ? row (stmt, job) : -1;
    sqlite3_reset (stmt);
    return rc;
}

int
store_job_get (store_t *self, int64_t id, store_job_t *job)
{
    return s_job_read (self, Q_GET, id, job, s_job_row);
}

void
store_job_clear (store_job_t *job)
{
    free (job->spec);
    job->spec = NULL;
}

static int64_t
s_scalar (store_t *self, sqlite3_stmt *stmt)
{
    int64_t value = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
    sqlite3_reset (stmt);
    return value;
}

int
store_queued_load (store_t *self, store_queued_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_QUEUED);
    if (!stmt)
        return -1;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *client = (const char *) sqlite3_column_text (stmt, 4);
        rc = fn (arg, sqlite3_column_int64 (stmt, 0), sqlite3_column_int (stmt, 1),
                 sqlite3_column_int64 (stmt, 2), sqlite3_column_int64 (stmt, 3),
                 client ? client : "");
    }
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
    return (int) s_scalar (self, stmt);
}

int
store_job_take (store_t *self, int64_t id, const char *worker, int64_t now_ms, store_job_t *job)
{
    store_job_t row;
    store_job_t *read = job ? job : &row;
    memset (read, 0, sizeof *read);
    sqlite3_stmt *stmt = s_stmt (self, Q_START);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, now_ms);
    if (self->fault && self->fault (self->fault_arg))
        return -1;
    //  A plain update and a read by rowid: cheaper than UPDATE ... RETURNING,
    //  which gathers its rows in a temporary table
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE || sqlite3_changes (self->db) != 1)
        return -1;
    int attempt = s_job_read (self, Q_STARTED, id, read, s_started_row) == 0 ? read->attempt : -1;
    if (attempt < 0 || !job)
        store_job_clear (read);
    return attempt;
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
    return s_step_done (self, stmt, "insert progress");
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
store_job_run (store_t *self, int64_t id, int attempt, store_run_t *run)
{
    memset (run, 0, sizeof *run);
    sqlite3_stmt *stmt = s_stmt (self, Q_RUN);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW) {
        s_copy_column (stmt, 0, run->worker, sizeof run->worker);
        run->started_at = sqlite3_column_int64 (stmt, 1);
        run->resumed_from_epoch = sqlite3_column_int (stmt, 2);
    }
    else
    if (step != SQLITE_DONE)
        mt_error ("store: reading job %lld's attempt: %s", (long long) id,
                  sqlite3_errmsg (self->db));
    sqlite3_reset (stmt);
    return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
}

//  Run stmt, the change that ends attempt (bound already); when it changed
//  the job, write the attempt's row. Without run, what the job's row says
//  of the attempt is read first (and no row is written when it is not
//  running any more).
static int
s_attempt_end (store_t *self, sqlite3_stmt *stmt, int64_t id, int attempt, const char *outcome,
               int64_t now_ms, const store_run_t *run, const char *what)
{
    store_run_t found;
    if (!run) {
        int rc = store_job_run (self, id, attempt, &found);
        if (rc < 0) {
            sqlite3_reset (stmt);
            return -1;          // fail the batch rather than end it unrecorded
        }
        run = rc == 0 ? &found : NULL;
    }
    if (s_step_done (self, stmt, what))
        return -1;
    if (!run || sqlite3_changes (self->db) != 1 || !(stmt = s_stmt (self, Q_ATTEMPT_INSERT)))
        return 0;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    s_bind_text (stmt, 3, run->worker);
    sqlite3_bind_int64 (stmt, 4, run->started_at);
    sqlite3_bind_int (stmt, 5, run->resumed_from_epoch);
    sqlite3_bind_int64 (stmt, 6, now_ms);
    sqlite3_bind_text (stmt, 7, outcome, -1, SQLITE_STATIC);
    return s_step_done (self, stmt, "record attempt");
}

int
store_job_finish (store_t *self, int64_t id, int attempt, const char *state, const char *outcome,
                  const char *metrics, const char *error, const char *model_hash, int64_t now_ms,
                  const store_run_t *run)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_FINISH);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_text (stmt, 3, state, -1, SQLITE_STATIC);
    s_bind_text (stmt, 4, metrics);
    s_bind_text (stmt, 5, error);
    s_bind_text (stmt, 6, model_hash);
    sqlite3_bind_int64 (stmt, 7, now_ms);
    return s_attempt_end (self, stmt, id, attempt, outcome, now_ms, run, "finish job");
}

int
store_job_requeue (store_t *self, int64_t id, int attempt, const char *outcome,
                   int64_t not_before_ms, int64_t now_ms, const store_run_t *run)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_REQUEUE);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    sqlite3_bind_int64 (stmt, 3, not_before_ms);
    return s_attempt_end (self, stmt, id, attempt, outcome, now_ms, run, "requeue job");
}

int
store_job_set_state (store_t *self, int64_t id, const char *state)
{
    sqlite3_stmt *stmt = s_stmt (self, Q_SET_STATE);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, state, -1, SQLITE_STATIC);
    return s_step_done (self, stmt, "set state");
}

json_t *
store_jobs_active (store_t *self)
{
    json_t *ids = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_ACTIVE);
    while (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
    if (stmt)
        sqlite3_reset (stmt);
    return ids;
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

//  The attempts that ended, then the running one, which stmt (the job's
//  Q_JSON row) describes when the job is running or stopping.
static json_t *
s_attempts_json (store_t *self, int64_t id, sqlite3_stmt *job)
{
    static const char *names [] = { "attempt", "worker", "started_at", "finished_at", "outcome",
                                    "resumed_from_epoch" };
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_ATTEMPTS);
    if (!stmt)
        return list;
    json_t *running = NULL;
    const char *state = (const char *) sqlite3_column_text (job, 2);
    if (state && (strcmp (state, "running") == 0 || strcmp (state, "stopping") == 0)) {
        running = json_object ();
        json_object_set_new (running, "attempt", s_column_json (job, 3));
        json_object_set_new (running, "worker", s_column_json (job, 4));
        json_object_set_new (running, "started_at", s_column_json (job, 24));
        json_object_set_new (running, "finished_at", json_null ());
        json_object_set_new (running, "outcome", json_null ());
        json_object_set_new (running, "resumed_from_epoch", s_column_json (job, 25));
    }
    sqlite3_bind_int64 (stmt, 1, id);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        json_t *item = json_object ();
        for (int i = 0; i < 6; i++)
            json_object_set_new (item, names [i], s_column_json (stmt, i));
        json_array_append_new (list, item);
    }
    sqlite3_reset (stmt);
    if (running)
        json_array_append_new (list, running);
    return list;
}

//  The current attempt's progress history, thinned evenly to at most
//  STORE_HISTORY_POINTS points (the last point is always kept).
static json_t *
s_history_json (store_t *self, int64_t id, int attempt)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, Q_HISTORY_COUNT);
    if (!stmt)
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int64_t count = s_scalar (self, stmt);
    int64_t every = count / STORE_HISTORY_POINTS + 1;
    if (!(stmt = s_stmt (self, Q_HISTORY)))
        return list;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    for (int64_t row = 0; sqlite3_step (stmt) == SQLITE_ROW; row++) {
        if (row % every != 0 && row != count - 1)
            continue;
        json_t *point = json_array ();
        for (int i = 0; i < 5; i++)
            json_array_append_new (point, s_column_json (stmt, i));
        json_array_append_new (list, point);
    }
    sqlite3_reset (stmt);
    return list;
}

json_t *
store_job_json (store_t *self, int64_t id, bool history)
{
    static const char *top [] = { "id", "name", "state", "attempt", "worker", "created_at",
                                  "started_at", "finished_at" };
    static const char *progress [] = { "epoch", "epochs", "step", "steps", "loss", "val_loss",
                                       "val_metric", "samples_per_sec", "eta_s" };
    sqlite3_stmt *stmt = s_stmt (self, Q_JSON);
    if (!stmt)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, id);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return NULL;
    }
    json_t *job = json_object ();
    for (int i = 0; i < 8; i++)
        json_object_set_new (job, top [i], s_column_json (stmt, i));
    json_t *p = json_object ();
    for (int i = 0; i < 9; i++)
        json_object_set_new (p, progress [i], s_column_json (stmt, 8 + i));
    json_object_set_new (job, "progress", p);
    json_object_set_new (job, "metrics", s_column_parsed (stmt, 17));
    json_object_set_new (job, "error", s_column_json (stmt, 18));
    json_object_set_new (job, "model_hash", s_column_json (stmt, 19));
    json_object_set_new (job, "spec", s_column_parsed (stmt, 20));
    json_object_set_new (job, "priority", s_column_json (stmt, 21));
    json_object_set_new (job, "checkpoint_epoch", s_column_json (stmt, 22));
    json_object_set_new (job, "not_before", s_column_json (stmt, 23));
    int attempt = sqlite3_column_int (stmt, 3);
    json_t *attempts = s_attempts_json (self, id, stmt);
    sqlite3_reset (stmt);
    json_object_set_new (job, "attempts", attempts);
    if (history)
        json_object_set_new (job, "history", s_history_json (self, id, attempt));
    return job;
}

json_t *
store_job_list (store_t *self, const char *state, int limit)
{
    json_t *list = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, state ? Q_LIST_STATE : Q_LIST);
    if (!stmt)
        return list;
    sqlite3_bind_int (stmt, 1, limit);
    if (state)
        sqlite3_bind_text (stmt, 2, state, -1, SQLITE_STATIC);
    json_t *ids = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
    sqlite3_reset (stmt);
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
    return s_scalar (self, stmt) > 0;
}
