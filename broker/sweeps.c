/*  sweeps - many trials of one base spec over a parameter space, pruned by ASHA or the median rule  */
//  A sweep is a row of sweeps (its base spec, space, search and rule) and
//  its trials, drawn once at SWEEP and stored (sweep_trials), so a broker
//  that restarts goes on with the same trials. A trial becomes an ordinary
//  job only when the sweep's --parallel cap has room: at SWEEP, and each
//  time one of its jobs ends (the jobs module calls s_job_ended in that
//  move's transaction). Each epoch end of a trial records its metric
//  (sweep_epochs), and the rule decides in the same batch: ASHA records
//  the value at a rung (rungs, with the decision and the cut-off) and
//  prunes a trial outside the top 1/eta there; the median rule prunes a
//  trial whose best is worse than the median of the others' running
//  averages. A pruned trial ends at once (job state pruned) and its
//  worker is told STOP, so it checkpoints; no trial ever waits for another.
//  A resumed sweep's failed and stopped trials run their own jobs again
//  (sweep_trials.rerun until there is room), from their checkpoints.
#include "sweeps.h"
#include "store_pages.h"
#include "rng.h"
#include "mt/spec.h"
#include "mt/util.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define SWEEPS_DEFAULT_TRIALS 10
//  A leaderboard's trials as compact JSON, at most: 1 MiB, as a LIST page's,
//  so their msgpack (a float 9 bytes where JSON may spell it in 3) stays
//  well under MT_MAX_BODY's 4 MiB
#define SWEEPS_STATUS_MAX_BYTES (1 << 20)

typedef enum {
    S_INSERT, S_TRIAL_INSERT, S_GET, S_OF_JOB, S_RUNNING_TRIAL, S_ACTIVE, S_PENDING, S_TRIAL_JOB,
    S_SET_STATE, S_EPOCH, S_RUNG_HAS, S_RUNG_VALUES, S_RUNG_INSERT, S_BEST_SO_FAR,
    S_RUNNING, S_AVERAGES, S_ENDED_BEST, S_BEST_DROP, S_BOARD_MIN, S_BOARD_MAX, S_TRIAL,
    S_BEST_MIN, S_BEST_MAX, S_LIST, S_COUNTS, S_JOBS, S_JOBS_STATE, S_RERUN, S_SPEC_NAMES,
    S_DEL_TRIALS, S_DEL_RUNGS, S_DEL_EPOCHS, S_DEL_BEST, S_DEL_SWEEP, S_COUNT
} stmt_t;

//  The leaderboard's order for AGG (min or max) and DIR (ASC or DESC): each
//  trial's best value is the one its job kept when it ended, or else its
//  epochs' (a trial not started has none)
#define S_BOARD(AGG, DIR) \
    "SELECT trial FROM (SELECT t.trial AS trial, b.succeeded AS succeeded," \
    " CASE WHEN b.job IS NOT NULL THEN b.value WHEN t.job IS NOT NULL THEN" \
    "  (SELECT " AGG "(e.value) FROM sweep_epochs e WHERE e.sweep = t.sweep AND e.job = t.job)" \
    "  END AS value" \
    " FROM sweep_trials t LEFT JOIN sweep_best b ON b.sweep = t.sweep AND b.job = t.job" \
    " WHERE t.sweep = ?1)" \
    " WHERE ?3 = 0 OR (succeeded = 1 AND value IS NOT NULL)" \
    " ORDER BY value IS NULL, value " DIR ", trial LIMIT ?2"

static const char *s_sql [S_COUNT] = {
    [S_INSERT] = "INSERT INTO sweeps (name, owner, spec, space, search, seed, trials, parallel,"
                 " early_stop, min_epochs, reduction, metric, mode, state, created_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'running', ?14)",
    [S_TRIAL_INSERT] = "INSERT INTO sweep_trials (sweep, trial, params) VALUES (?1, ?2, ?3)",
    [S_GET] = "SELECT id, name, owner, spec, search, seed, trials, parallel, early_stop,"
              " min_epochs, reduction, metric, mode, state, created_at FROM sweeps WHERE id = ?1",
    [S_OF_JOB] = "SELECT s.id, s.early_stop, s.min_epochs, s.reduction, s.metric, s.mode"
                 " FROM jobs j JOIN sweeps s ON s.id = j.sweep WHERE j.id = ?1",
    //  Only a running trial's reports count: a pruned one may report the
    //  epochs it ran before its STOP arrived. The epochs are the spec's, not
    //  the worker's report: a worker does not move the rungs
    [S_RUNNING_TRIAL] = "SELECT s.id, s.early_stop, s.min_epochs, s.reduction, s.metric, s.mode,"
                        " json_extract (j.spec, '$.epochs'), EXISTS (SELECT 1 FROM sweep_best b"
                        " WHERE b.sweep = s.id AND b.job = j.id)"
                        " FROM jobs j JOIN sweeps s ON s.id = j.sweep WHERE j.id = ?1"
                        " AND j.state = 'running'",
    //  S_ACTIVE and S_PENDING read only their partial index's rows (their
    //  WHERE is the index's): the planner would take the sweep's whole range
    [S_ACTIVE] = "SELECT count(*) FROM jobs INDEXED BY jobs_sweep_active WHERE sweep = ?1"
                 " AND sweep IS NOT NULL"
                 " AND (state = 'queued' OR state = 'running' OR state = 'stopping')",
    //  The trials to start: the never started, and the resumed (their job
    //  in the third column, run again as its next attempt)
    [S_PENDING] = "SELECT trial, params, CASE WHEN rerun = 1 THEN job END FROM sweep_trials"
                  " INDEXED BY sweep_trials_pending WHERE sweep = ?1 AND (job IS NULL OR rerun = 1) ORDER BY trial LIMIT ?2",
    [S_TRIAL_JOB] = "UPDATE sweep_trials SET job = ?3, rerun = 0, runs = runs + 1"
                    " WHERE sweep = ?1 AND trial = ?2",
    [S_SET_STATE] = "UPDATE sweeps SET state = ?2 WHERE id = ?1",
    [S_EPOCH] = "INSERT OR REPLACE INTO sweep_epochs (sweep, job, epoch, value)"
                " VALUES (?1, ?2, ?3, ?4)",
    [S_RUNG_HAS] = "SELECT count(*) FROM rungs WHERE sweep = ?1 AND rung = ?2 AND job = ?3",
    [S_RUNG_VALUES] = "SELECT value FROM rungs WHERE sweep = ?1 AND rung = ?2",
    [S_RUNG_INSERT] = "INSERT INTO rungs (sweep, rung, job, value, epoch, decision, cutoff)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    //  ?4: 1 when higher is better
    [S_BEST_SO_FAR] = "SELECT CASE ?4 WHEN 1 THEN max(value) ELSE min(value) END"
                      " FROM sweep_epochs WHERE sweep = ?1 AND job = ?2 AND epoch <= ?3",
    //  A trial's running average to each epoch from ?3 on, after its
    //  value at ?3 was recorded (a resumed attempt reports again the epochs
    //  after its checkpoint, so the later rows are brought up to date too)
    [S_RUNNING] = "UPDATE sweep_epochs SET running = (SELECT avg (e.value) FROM sweep_epochs e"
                  " WHERE e.sweep = ?1 AND e.job = ?2 AND e.epoch <= sweep_epochs.epoch)"
                  " WHERE sweep = ?1 AND job = ?2 AND epoch >= ?3",
    //  The running average to this epoch of every other trial that reached it
    [S_AVERAGES] = "SELECT running FROM sweep_epochs INDEXED BY sweep_epochs_at"
                   " WHERE sweep = ?1 AND epoch = ?3 AND job != ?2 AND value IS NOT NULL"
                   " AND running IS NOT NULL",
    //  An ended trial's best value (?3: 1 when higher is better), kept so a
    //  leaderboard need not read its epochs, and whether it succeeded (a
    //  succeeded job never runs again). Its epochs change only at an epoch
    //  end, which drops the row first (S_BEST_DROP)
    [S_ENDED_BEST] = "INSERT OR REPLACE INTO sweep_best (sweep, job, value, succeeded)"
                     " VALUES (?1, ?2, (SELECT CASE ?3 WHEN 1 THEN max(value) ELSE min(value)"
                     " END FROM sweep_epochs WHERE sweep = ?1 AND job = ?2), ?4)",
    [S_BEST_DROP] = "DELETE FROM sweep_best WHERE sweep = ?1 AND job = ?2",
    //  The leaderboard: the sweep's trials, best value first (none last),
    //  then by trial; at most ?2 (-1: all); with ?3 = 1 only the succeeded
    //  that have a value (the sweep's best is the first)
    [S_BOARD_MIN] = S_BOARD ("min", "ASC"),
    [S_BOARD_MAX] = S_BOARD ("max", "DESC"),
    //  One trial's leaderboard entry. epochs_run: the highest epoch
    //  reported, from the progress history, or (once --keep-days pruned
    //  that) from the epochs the rule recorded
    [S_TRIAL] = "SELECT t.trial, t.job, t.params, CASE WHEN t.rerun = 0 OR NOT (j.state = 'failed'"
                " OR j.state = 'stopped') THEN j.state END, j.error,"
                " CASE WHEN j.state IN ('succeeded', 'failed', 'stopped', 'pruned') THEN"
                " (SELECT outcome FROM attempts a WHERE a.job = t.job"
                "  ORDER BY a.attempt DESC LIMIT 1) END,"
                " max (coalesce ((SELECT max(epoch) FROM progress p WHERE p.job = t.job), 0),"
                "  coalesce ((SELECT max(epoch) FROM sweep_epochs e WHERE e.sweep = t.sweep"
                "  AND e.job = t.job), 0))"
                " FROM sweep_trials t LEFT JOIN jobs j ON j.id = t.job"
                " WHERE t.sweep = ?1 AND t.trial = ?2",
    [S_BEST_MIN] = "SELECT epoch, value FROM sweep_epochs WHERE sweep = ?1 AND job = ?2"
                   " AND value IS NOT NULL ORDER BY value ASC, epoch ASC LIMIT 1",
    [S_BEST_MAX] = "SELECT epoch, value FROM sweep_epochs WHERE sweep = ?1 AND job = ?2"
                   " AND value IS NOT NULL ORDER BY value DESC, epoch ASC LIMIT 1",
    [S_LIST] = "SELECT id FROM sweeps ORDER BY id DESC LIMIT ?1",
    //  A resumed trial is pending while its job waits, failed or stopped, to run again
    [S_COUNTS] = "SELECT CASE WHEN t.rerun = 0 OR NOT (j.state = 'failed' OR j.state = 'stopped')"
                 " THEN coalesce (j.state, 'pending') ELSE 'pending' END,"
                 " count(*) FROM sweep_trials t"
                 " LEFT JOIN jobs j ON j.id = t.job WHERE t.sweep = ?1 GROUP BY 1",
    [S_JOBS] = "SELECT id FROM jobs WHERE sweep = ?1 ORDER BY id DESC LIMIT ?2",
    [S_JOBS_STATE] = "SELECT id FROM jobs WHERE sweep = ?1 AND state = ?3"
                     " ORDER BY id DESC LIMIT ?2",
    //  Resume: the trials whose job failed or was stopped are to run it
    //  again, from its checkpoint, as room opens under the parallel cap
    [S_RERUN] = "UPDATE sweep_trials SET rerun = 1 WHERE sweep = ?1 AND rerun = 0 AND job IN"
                " (SELECT id FROM jobs WHERE sweep = ?1"
                " AND (state = 'failed' OR state = 'stopped'))",
    //  Another sweep's base spec names blob ?2 (its unstarted trials need it)
    [S_SPEC_NAMES] = "SELECT count(*) FROM sweeps WHERE id != ?1 AND instr (spec, ?2) > 0",
    //  Delete: the sweep's own rows, once its jobs are gone
    [S_DEL_TRIALS] = "DELETE FROM sweep_trials WHERE sweep = ?1",
    [S_DEL_RUNGS] = "DELETE FROM rungs WHERE sweep = ?1",
    [S_DEL_EPOCHS] = "DELETE FROM sweep_epochs WHERE sweep = ?1",
    [S_DEL_BEST] = "DELETE FROM sweep_best WHERE sweep = ?1",
    [S_DEL_SWEEP] = "DELETE FROM sweeps WHERE id = ?1",
};

struct sweeps_t {
    broker_t *broker;           // borrowed
    sqlite3 *db;                // the store's connection (borrowed)
    sqlite3_stmt *stmt [S_COUNT];
};

//  A sweep's row, as the handlers need it.
typedef struct {
    int64_t id;
    char name [257];
    char owner [64];
    char *spec;                 // the base spec, JSON text (owned)
    char search [16];
    int64_t seed, trials, parallel;
    char early_stop [16];
    int min_epochs, reduction;
    char metric [32];
    bool higher;                // mode max
    char state [16];
    int64_t created_at;
} sweep_row_t;

static sqlite3_stmt *s_stmt (sweeps_t *self, stmt_t q);
static int s_step_write (sweeps_t *self, sqlite3_stmt *stmt, const char *what);
static int64_t s_scalar (sqlite3_stmt *stmt);
static void s_bind_text (sqlite3_stmt *stmt, int col, const char *text);
static void s_bind_real (sqlite3_stmt *stmt, int col, double value);
static int s_job_ended (void *arg, int64_t id, job_state_t state);
static const char *s_delete_refused (sweeps_t *self, const sweep_row_t *row, char *why,
                                     size_t size);
static int s_delete_rows (sweeps_t *self, int64_t sweep, json_t *doomed, int64_t *jobs);
static void s_delete (broker_t *self, peer_t *peer, int64_t sweep);
static int s_row_get (sweeps_t *self, int64_t id, sweep_row_t *row);
static void s_row_clear (sweep_row_t *row);
static int s_fill (sweeps_t *self, const sweep_row_t *row);
static int s_rerun_trial (sweeps_t *self, const sweep_row_t *row, int trial, int64_t job);
static int s_trial_ran (sweeps_t *self, int64_t sweep, int trial, int64_t job);
static int s_start_trial (sweeps_t *self, const sweep_row_t *row, json_t *base, int trial,
                          const char *params_text);
static double s_metric_value (const char *metric, const store_progress_t *p);
static int s_rung_decide (sweeps_t *self, int64_t sweep, int64_t job, int rung, int epoch,
                          double value, bool higher, int eta, char *reason, size_t size);
static int s_median_decide (sweeps_t *self, int64_t sweep, int64_t job, int epoch, bool higher,
                            const char *metric, char *reason, size_t size);
static json_t *s_status_json (sweeps_t *self, const sweep_row_t *row, int64_t limit);
static json_t *s_counts_json (sweeps_t *self, int64_t sweep);
static int s_better (const void *a, const void *b, void *higher);
static int s_sweep_arg (broker_t *self, peer_t *peer, mt_msg_t *msg, sweep_row_t *row);
static void s_reply_status (broker_t *self, peer_t *peer, const sweep_row_t *row, int64_t limit,
                            int64_t resumed);
static double s_uniform01 (rng_t *rng);
static json_t *s_value_parse (const char *name, const char *text, json_t *like, char **cause);
static json_t *s_param_space (const char *name, const char *space, json_t *like, char **cause);

//  --- The object ------------------------------------------------------------------

sweeps_t *
sweeps_new (broker_t *broker, char **cause)
{
    sweeps_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->broker = broker;
    self->db = store_db (broker->store);
    jobs_on_end (broker->jobs, s_job_ended, self);
    return self;
}

void
sweeps_destroy (sweeps_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sweeps_t *self = *self_p;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize (self->stmt [i]);
    free (self);
    *self_p = NULL;
}

static sqlite3_stmt *
s_stmt (sweeps_t *self, stmt_t q)
{
    if (!self->stmt [q]
    &&  sqlite3_prepare_v3 (self->db, s_sql [q], -1, SQLITE_PREPARE_PERSISTENT, &self->stmt [q],
                            NULL) != SQLITE_OK) {
        mt_error ("sweeps: cannot prepare statement %d: %s", q, sqlite3_errmsg (self->db));
        self->stmt [q] = NULL;
        return NULL;
    }
    sqlite3_reset (self->stmt [q]);
    sqlite3_clear_bindings (self->stmt [q]);
    return self->stmt [q];
}

//  Run a write to its end; a failed one fails the transaction (as store's do).
static int
s_step_write (sweeps_t *self, sqlite3_stmt *stmt, const char *what)
{
    if (!store_write_allowed (self->broker->store, what)) {
        sqlite3_reset (stmt);
        return -1;
    }
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        mt_error ("sweeps: %s: %s", what, sqlite3_errmsg (self->db));
        store_abort (self->broker->store);
        return -1;
    }
    return 0;
}

static int64_t
s_scalar (sqlite3_stmt *stmt)
{
    int64_t value = stmt && sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
    if (stmt)
        sqlite3_reset (stmt);
    return value;
}

//  Bound SQLITE_STATIC: every statement is stepped and reset while the strings live
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

static const char *
s_col_text (sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *) sqlite3_column_text (stmt, col);
    return text ? text : "";
}

static int
s_row_get (sweeps_t *self, int64_t id, sweep_row_t *row)
{
    memset (row, 0, sizeof *row);
    sqlite3_stmt *stmt = s_stmt (self, S_GET);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        row->id = sqlite3_column_int64 (stmt, 0);
        mt_strlcpy (row->name, s_col_text (stmt, 1), sizeof row->name);
        mt_strlcpy (row->owner, s_col_text (stmt, 2), sizeof row->owner);
        row->spec = strdup (s_col_text (stmt, 3));
        mt_strlcpy (row->search, s_col_text (stmt, 4), sizeof row->search);
        row->seed = sqlite3_column_int64 (stmt, 5);
        row->trials = sqlite3_column_int64 (stmt, 6);
        row->parallel = sqlite3_column_int64 (stmt, 7);
        mt_strlcpy (row->early_stop, s_col_text (stmt, 8), sizeof row->early_stop);
        row->min_epochs = sqlite3_column_int (stmt, 9);
        row->reduction = sqlite3_column_int (stmt, 10);
        mt_strlcpy (row->metric, s_col_text (stmt, 11), sizeof row->metric);
        row->higher = strcmp (s_col_text (stmt, 12), "max") == 0;
        mt_strlcpy (row->state, s_col_text (stmt, 13), sizeof row->state);
        row->created_at = sqlite3_column_int64 (stmt, 14);
        rc = row->spec ? 0 : -1;
    }
    sqlite3_reset (stmt);
    return rc;
}

static void
s_row_clear (sweep_row_t *row)
{
    free (row->spec);
    row->spec = NULL;
}

static int
s_set_state (sweeps_t *self, int64_t sweep, const char *state)
{
    sqlite3_stmt *stmt = s_stmt (self, S_SET_STATE);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_text (stmt, 2, state, -1, SQLITE_STATIC);
    return s_step_write (self, stmt, "set the sweep's state");
}

//  --- Trials become jobs -------------------------------------------------------

//  A job ended: when it is a running sweep's trial, the next trials start.
static int
s_job_ended (void *arg, int64_t id, job_state_t state)
{
    sweeps_t *self = arg;
    sqlite3_stmt *stmt = s_stmt (self, S_OF_JOB);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    int64_t sweep = s_scalar (stmt);
    if (sweep == 0)
        return 0;
    sweep_row_t row;
    if (s_row_get (self, sweep, &row))
        return -1;
    //  Its best value, kept for the leaderboard while the job stays ended
    int rc = -1;
    if ((stmt = s_stmt (self, S_ENDED_BEST))) {
        sqlite3_bind_int64 (stmt, 1, sweep);
        sqlite3_bind_int64 (stmt, 2, id);
        sqlite3_bind_int (stmt, 3, row.higher);
        sqlite3_bind_int (stmt, 4, state == JOB_SUCCEEDED);
        rc = s_step_write (self, stmt, "keep the trial's best value");
    }
    if (rc == 0 && strcmp (row.state, "running") == 0)
        rc = s_fill (self, &row);
    s_row_clear (&row);
    return rc;
}

//  Start pending trials while the sweep has fewer than its parallel cap
//  queued or running; a sweep with none left to start or running is
//  finished.
static int
s_fill (sweeps_t *self, const sweep_row_t *row)
{
    sqlite3_stmt *stmt = s_stmt (self, S_ACTIVE);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, row->id);
    int64_t active = s_scalar (stmt);
    int64_t room = row->parallel - active;
    json_t *base = json_loads (row->spec, 0, NULL);
    if (!base)
        return -1;
    //  The pending trials are read first: starting one writes the table
    json_t *pending = json_array ();
    if (room > 0 && (stmt = s_stmt (self, S_PENDING))) {
        sqlite3_bind_int64 (stmt, 1, row->id);
        sqlite3_bind_int64 (stmt, 2, room);
        while (sqlite3_step (stmt) == SQLITE_ROW)
            json_array_append_new (pending, json_pack ("[IsI]", (json_int_t) sqlite3_column_int64 (stmt, 0),
                                                       s_col_text (stmt, 1),
                                                       (json_int_t) sqlite3_column_int64 (stmt, 2)));
        sqlite3_reset (stmt);
    }
    int rc = 0;
    size_t i;
    json_t *item;
    json_array_foreach (pending, i, item) {
        int trial = (int) json_integer_value (json_array_get (item, 0));
        int64_t job = json_integer_value (json_array_get (item, 2));
        if (rc == 0)
            rc = job ? s_rerun_trial (self, row, trial, job)
                     : s_start_trial (self, row, base, trial,
                                      json_string_value (json_array_get (item, 1)));
    }
    if (rc == 0 && active == 0 && json_array_size (pending) == 0)
        rc = s_set_state (self, row->id, "finished");
    json_decref (pending);
    json_decref (base);
    return rc;
}

//  Trial number trial of sweep runs as job (once more): recorded, its
//  rerun mark cleared. 0, or -1 (the batch is to be aborted).
static int
s_trial_ran (sweeps_t *self, int64_t sweep, int trial, int64_t job)
{
    sqlite3_stmt *stmt = s_stmt (self, S_TRIAL_JOB);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int (stmt, 2, trial);
    sqlite3_bind_int64 (stmt, 3, job);
    return s_step_write (self, stmt, "record the trial's job");
}

//  Trial number trial becomes a queued job: base with its params, named
//  after the sweep and the trial (NAME:K, or sweepS:K).
static int
s_start_trial (sweeps_t *self, const sweep_row_t *row, json_t *base, int trial,
               const char *params_text)
{
    json_t *params = json_loads (params_text, 0, NULL);
    char name [300];
    if (row->name [0])
        snprintf (name, sizeof name, "%s:%d", row->name, trial);
    else
        snprintf (name, sizeof name, "sweep%lld:%d", (long long) row->id, trial);
    if (params)
        json_object_set_new (params, "name", json_string (name));
    mt_spec_t spec;
    char *cause = NULL;
    json_t *value = params ? sweeps_trial_spec (base, params, &spec, &cause) : NULL;
    if (!value) {
        mt_error ("sweeps: sweep %lld trial %d: %s", (long long) row->id, trial,
                  cause ? cause : "unreadable parameters");
        free (cause);
        json_decref (params);
        store_abort (self->broker->store);
        return -1;
    }
    //  The job's row names its sweep and params before its first EVENT
    char *text = mt_json_compact (value);
    int64_t job = text ? jobs_submit_trial (self->broker->jobs, &spec, text,
                                            row->owner [0] ? row->owner : NULL, row->id,
                                            params_text, zclock_time ()) : -1;
    free (text);
    mt_spec_clear (&spec);
    json_decref (value);
    json_decref (params);
    if (job < 0 || s_trial_ran (self, row->id, trial, job))
        return -1;
    broker_announce (self->broker, MT_LOG_INFO, "broker: sweep %lld trial %d queued as job %lld",
                     (long long) row->id, trial, (long long) job);
    return 0;
}

//  Resumed trial number trial runs its job again: the job's next attempt,
//  from its last checkpoint, as RESUME does. A job no longer failed or
//  stopped (resumed by hand meanwhile) is left as it is.
static int
s_rerun_trial (sweeps_t *self, const sweep_row_t *row, int trial, int64_t job)
{
    job_move_t move;
    if (jobs_resume (self->broker->jobs, job, zclock_time (), &move)
    ||  s_trial_ran (self, row->id, trial, job))
        return -1;
    if (move.moved)
        broker_announce (self->broker, MT_LOG_INFO, "broker: sweep %lld trial %d: %s",
                         (long long) row->id, trial, move.note);
    return 0;
}

//  --- The rules ------------------------------------------------------------------

//  The sweep's metric at this epoch end: val_loss from the report, any
//  other from its metrics map; NAN when undefined.
static double
s_metric_value (const char *metric, const store_progress_t *p)
{
    if (strcmp (metric, "val_loss") == 0)
        return p->val_loss;
    json_t *map = p->metrics ? json_loads (p->metrics, 0, NULL) : NULL;
    json_t *value = json_object_get (map, metric);
    double v = json_is_number (value) ? json_number_value (value) : NAN;
    json_decref (map);
    return v;
}

//  The epochs of a spec that names none.
static int
s_default_epochs (void)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    int epochs = spec.epochs;
    mt_spec_clear (&spec);
    return epochs;
}

int
sweeps_trial_of (sweeps_t *self, int64_t job, int64_t *sweep)
{
    *sweep = 0;
    sqlite3_stmt *stmt = s_stmt (self, S_OF_JOB);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, job);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *sweep = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
sweeps_epoch_end (sweeps_t *self, int64_t job, const store_progress_t *p, char *reason,
                  size_t size)
{
    sqlite3_stmt *stmt = s_stmt (self, S_RUNNING_TRIAL);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, job);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return 0;               // not a trial: the cost is one lookup by id
    }
    int64_t sweep = sqlite3_column_int64 (stmt, 0);
    char rule [16], metric [32];
    mt_strlcpy (rule, s_col_text (stmt, 1), sizeof rule);
    int min_epochs = sqlite3_column_int (stmt, 2);
    int eta = sqlite3_column_int (stmt, 3);
    mt_strlcpy (metric, s_col_text (stmt, 4), sizeof metric);
    bool higher = strcmp (s_col_text (stmt, 5), "max") == 0;
    int epochs = sqlite3_column_type (stmt, 6) == SQLITE_INTEGER ? sqlite3_column_int (stmt, 6)
                                                                 : s_default_epochs ();
    bool kept_best = sqlite3_column_int (stmt, 7);
    sqlite3_reset (stmt);
    //  A job that ended and runs again: the best it kept goes with the epochs it changes
    if (kept_best) {
        if (!(stmt = s_stmt (self, S_BEST_DROP)))
            return -1;
        sqlite3_bind_int64 (stmt, 1, sweep);
        sqlite3_bind_int64 (stmt, 2, job);
        if (s_step_write (self, stmt, "drop the trial's kept best"))
            return -1;
    }

    double value = s_metric_value (metric, p);
    if (!(stmt = s_stmt (self, S_EPOCH)))
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int64 (stmt, 2, job);
    sqlite3_bind_int (stmt, 3, p->epoch);
    s_bind_real (stmt, 4, value);
    if (s_step_write (self, stmt, "record the trial's metric"))
        return -1;
    //  The running averages only the median rule reads
    if (strcmp (rule, "median") == 0) {
        if (!(stmt = s_stmt (self, S_RUNNING)))
            return -1;
        sqlite3_bind_int64 (stmt, 1, sweep);
        sqlite3_bind_int64 (stmt, 2, job);
        sqlite3_bind_int (stmt, 3, p->epoch);
        if (s_step_write (self, stmt, "record the trial's running average"))
            return -1;
    }
    if (strcmp (rule, "asha") == 0) {
        int rungs [SWEEPS_MAX_RUNGS];
        int n = sweeps_rungs (min_epochs, eta, epochs, rungs, SWEEPS_MAX_RUNGS);
        for (int k = 0; k < n; k++)
            if (rungs [k] == p->epoch)
                return s_rung_decide (self, sweep, job, k, p->epoch, value, higher, eta, reason,
                                      size);
        return 0;
    }
    if (strcmp (rule, "median") == 0 && p->epoch >= min_epochs)
        return s_median_decide (self, sweep, job, p->epoch, higher, metric, reason, size);
    return 0;
}

//  ASHA at rung k: once per trial (a resumed attempt that reports the
//  rung's epoch again passed it already); the value and the decision are
//  recorded in this batch.
static int
s_rung_decide (sweeps_t *self, int64_t sweep, int64_t job, int rung, int epoch, double value,
               bool higher, int eta, char *reason, size_t size)
{
    sqlite3_stmt *stmt = s_stmt (self, S_RUNG_HAS);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int (stmt, 2, rung);
    sqlite3_bind_int64 (stmt, 3, job);
    if (s_scalar (stmt) > 0)
        return 0;
    if (!(stmt = s_stmt (self, S_RUNG_VALUES)))
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int (stmt, 2, rung);
    size_t n = 0, cap = 64;
    double *others = malloc (cap * sizeof *others);
    while (others && sqlite3_step (stmt) == SQLITE_ROW) {
        if (n == cap) {
            double *more = realloc (others, (cap *= 2) * sizeof *others);
            if (!more) {
                free (others);
                others = NULL;
                break;
            }
            others = more;
        }
        others [n++] = sqlite3_column_type (stmt, 0) == SQLITE_NULL
                     ? NAN : sqlite3_column_double (stmt, 0);
    }
    sqlite3_reset (stmt);
    if (!others)
        return -1;
    double cutoff;
    bool go_on = sweeps_asha_continue (others, n, value, higher, eta, &cutoff);
    free (others);
    if (!(stmt = s_stmt (self, S_RUNG_INSERT)))
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int (stmt, 2, rung);
    sqlite3_bind_int64 (stmt, 3, job);
    s_bind_real (stmt, 4, value);
    sqlite3_bind_int (stmt, 5, epoch);
    sqlite3_bind_text (stmt, 6, go_on ? "continue" : "prune", -1, SQLITE_STATIC);
    s_bind_real (stmt, 7, cutoff);
    if (s_step_write (self, stmt, "record the rung"))
        return -1;
    if (go_on)
        return 0;
    snprintf (reason, size, "pruned by ASHA at rung %d (epoch %d): its value %.6g is outside"
              " the top 1/%d of the %zu trials at that rung (cut-off %.6g, %s is better)",
              rung, epoch, value, eta, n + 1, cutoff, higher ? "higher" : "lower");
    return 1;
}

static int
s_median_decide (sweeps_t *self, int64_t sweep, int64_t job, int epoch, bool higher,
                 const char *metric, char *reason, size_t size)
{
    sqlite3_stmt *stmt = s_stmt (self, S_BEST_SO_FAR);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int64 (stmt, 2, job);
    sqlite3_bind_int (stmt, 3, epoch);
    sqlite3_bind_int (stmt, 4, higher ? 1 : 0);
    double best = NAN;
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        best = sqlite3_column_double (stmt, 0);
    sqlite3_reset (stmt);
    if (!(stmt = s_stmt (self, S_AVERAGES)))
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int64 (stmt, 2, job);
    sqlite3_bind_int (stmt, 3, epoch);
    size_t n = 0, cap = 64;
    double *averages = malloc (cap * sizeof *averages);
    while (averages && sqlite3_step (stmt) == SQLITE_ROW) {
        if (sqlite3_column_type (stmt, 0) == SQLITE_NULL)
            continue;
        if (n == cap) {
            double *more = realloc (averages, (cap *= 2) * sizeof *averages);
            if (!more) {
                free (averages);
                averages = NULL;
                break;
            }
            averages = more;
        }
        averages [n++] = sqlite3_column_double (stmt, 0);
    }
    sqlite3_reset (stmt);
    if (!averages)
        return -1;
    double median;
    bool go_on = sweeps_median_continue (averages, n, best, higher, &median);
    free (averages);
    if (go_on)
        return 0;
    snprintf (reason, size, "pruned by the median rule at epoch %d: its best %s so far, %.6g,"
              " is worse than %.6g, the median of the running averages of the %zu other trials"
              " at that epoch", epoch, metric, best, median, n);
    return 1;
}

//  --- The rules' arithmetic -------------------------------------------------------

int
sweeps_rungs (int min_epochs, int eta, int epochs, int *rungs, int max)
{
    int n = 0;
    if (min_epochs < 1 || eta < 2)
        return 0;
    for (int64_t r = min_epochs; r < epochs && n < max; r *= eta)
        rungs [n++] = (int) r;
    return n;
}

//  a better than b; NAN is worse than any number
static bool
s_is_better (double a, double b, bool higher)
{
    if (isnan (a))
        return false;
    if (isnan (b))
        return true;
    return higher ? a > b : a < b;
}

bool
sweeps_asha_continue (const double *others, size_t n_others, double value, bool higher,
                      int eta, double *cutoff)
{
    size_t n = n_others + 1;
    size_t k = n / (size_t) eta;
    *cutoff = NAN;
    if (k == 0)
        return true;
    //  The k-th best of all n: sort a copy, better first
    double *all = malloc (n * sizeof *all);
    if (!all)
        return true;
    memcpy (all, others, n_others * sizeof *all);
    all [n_others] = value;
    qsort_r (all, n, sizeof *all, s_better, &higher);
    *cutoff = all [k - 1];
    free (all);
    size_t better = 0;
    for (size_t i = 0; i < n_others; i++)
        better += s_is_better (others [i], value, higher);
    return better < k;
}

bool
sweeps_median_continue (const double *averages, size_t n, double best, bool higher,
                        double *median)
{
    *median = NAN;
    if (n == 0)
        return true;
    double *sorted = malloc (n * sizeof *sorted);
    if (!sorted)
        return true;
    memcpy (sorted, averages, n * sizeof *sorted);
    bool ascending = false;     // "lower is better" sorts ascending
    qsort_r (sorted, n, sizeof *sorted, s_better, &ascending);
    *median = n % 2 ? sorted [n / 2] : (sorted [n / 2 - 1] + sorted [n / 2]) / 2;
    free (sorted);
    return !s_is_better (*median, best, higher);
}

//  qsort_r order: better first (higher points at a bool)
static int
s_better (const void *a, const void *b, void *higher)
{
    double x = *(const double *) a, y = *(const double *) b;
    bool h = *(bool *) higher;
    return s_is_better (x, y, h) ? -1 : s_is_better (y, x, h) ? 1 : 0;
}

//  --- Spaces and draws ------------------------------------------------------------

//  [0, 1), 53 bits
static double
s_uniform01 (rng_t *rng)
{
    return (double) (rng_next (rng) >> 11) * 0x1.0p-53;
}

//  The spec field a parameter names: batch-size and batch_size alike
static void
s_field_name (const char *text, size_t len, char *name, size_t size)
{
    size_t i;
    for (i = 0; i < len && i + 1 < size; i++)
        name [i] = text [i] == '-' ? '_' : text [i];
    name [i] = 0;
}

//  One value of parameter name, as the spec field like (the base's value)
//  holds it: a number, a bool, a string, or a list of numbers or strings.
static json_t *
s_value_parse (const char *name, const char *text, json_t *like, char **cause)
{
    char *end;
    if (json_is_integer (like) || json_is_real (like)) {
        errno = 0;
        double v = strtod (text, &end);
        if (end == text || *end || errno || !isfinite (v)) {
            mt_fail (cause, "--param %s: '%s' is not a number", name, text);
            return NULL;
        }
        if (json_is_integer (like)) {
            if (v != floor (v) || fabs (v) > 9007199254740992.0) {
                mt_fail (cause, "--param %s: '%s' is not a whole number", name, text);
                return NULL;
            }
            return json_integer ((json_int_t) v);
        }
        return json_real (v);
    }
    if (json_is_boolean (like)) {
        if (strcmp (text, "true") == 0 || strcmp (text, "false") == 0)
            return json_boolean (strcmp (text, "true") == 0);
        mt_fail (cause, "--param %s: '%s' is not true or false", name, text);
        return NULL;
    }
    if (json_is_array (like)) {
        json_t *list = json_array ();
        if (*text == 0 || strcmp (text, "0") == 0)
            return list;                // hidden=0: no hidden layer, as on the command line
        bool numbers = strcmp (name, "hidden") == 0;
        const char *at = text;
        while (list) {
            const char *comma = strchr (at, ',');
            size_t len = comma ? (size_t) (comma - at) : strlen (at);
            char item [512];
            if (len == 0 || len >= sizeof item) {
                mt_fail (cause, "--param %s: '%s' has an empty or over-long item", name, text);
                json_decref (list);
                return NULL;
            }
            memcpy (item, at, len);
            item [len] = 0;
            long long v = numbers ? strtoll (item, &end, 10) : 0;
            if (numbers && *end) {
                mt_fail (cause, "--param %s: '%s' is not a list of whole numbers", name, text);
                json_decref (list);
                return NULL;
            }
            json_array_append_new (list, numbers ? json_integer (v) : json_string (item));
            if (!comma)
                break;
            at = comma + 1;
        }
        return list;
    }
    return json_string (text);
}

//  "kind:A:B" into lo, hi
static int
s_range_parse (const char *name, const char *spec, double *lo, double *hi, char **cause)
{
    char *end;
    errno = 0;
    *lo = strtod (spec, &end);
    if (end == spec || *end != ':' || errno)
        return mt_fail (cause, "--param %s: a range is KIND:LOW:HIGH, such as"
                        " log-uniform:1e-4:1e-1", name);
    const char *at = end + 1;
    *hi = strtod (at, &end);
    if (end == at || *end || errno || !isfinite (*lo) || !isfinite (*hi))
        return mt_fail (cause, "--param %s: a range is KIND:LOW:HIGH, such as"
                        " log-uniform:1e-4:1e-1", name);
    if (*lo > *hi)
        return mt_fail (cause, "--param %s: the range's low end %g is above its high end %g",
                        name, *lo, *hi);
    return 0;
}

json_t *
sweeps_param_parse (const char *text, json_t *base, char **cause)
{
    const char *eq = strchr (text, '=');
    char name [64];
    if (!eq || eq == text || (size_t) (eq - text) >= sizeof name) {
        mt_fail (cause, "--param '%s': give NAME=SPACE, such as lr=0.1|0.01 or"
                 " lr=log-uniform:1e-4:1e-1", text);
        return NULL;
    }
    s_field_name (text, (size_t) (eq - text), name, sizeof name);
    static const char *fixed [] = { "data_hash", "data_path", "target", "val_data_hash",
                                    "init_hash", "name" };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed [0]; i++)
        if (strcmp (name, fixed [i]) == 0) {
            mt_fail (cause, "--param %s: every trial shares the sweep's %s; it cannot be a"
                     " parameter", name, name);
            return NULL;
        }
    json_t *like = json_object_get (base, name);
    //  The fields a spec leaves out when unset, by their type
    static const char *lists [] = { "features", "categorical", "numeric", "ignore", "na_values" };
    json_t *stand_in = NULL;
    for (size_t i = 0; !like && i < sizeof lists / sizeof lists [0]; i++)
        if (strcmp (name, lists [i]) == 0)
            like = stand_in = json_array ();
    if (!like && strcmp (name, "stratify") == 0)
        like = stand_in = json_false ();
    if (!like && (strcmp (name, "metric") == 0 || strcmp (name, "class_weight") == 0))
        like = stand_in = json_string ("");
    json_t *param = NULL;
    if (like)
        param = s_param_space (name, eq + 1, like, cause);
    else
        mt_fail (cause, "--param %s: no spec field is called '%s' (spec fields are as in"
                 " PROTOCOL.md section 8: lr, batch_size, hidden, optimizer, ...)", name, name);
    json_decref (stand_in);
    return param;
}

//  The space text of parameter name, whose field holds values like like
static json_t *
s_param_space (const char *name, const char *space, json_t *like, char **cause)
{
    json_t *param = json_pack ("{ss}", "name", name);
    static const char *kinds [] = { "log-uniform:", "uniform:", "int-uniform:" };
    for (size_t i = 0; i < 3; i++)
        if (strncmp (space, kinds [i], strlen (kinds [i])) == 0) {
            double lo = 0, hi = 0;
            bool number = json_is_integer (like) || json_is_real (like);
            if (!number) {
                mt_fail (cause, "--param %s: a range needs a number field; give a list of"
                         " values (a|b|c)", name);
                json_decref (param);
                return NULL;
            }
            if (s_range_parse (name, space + strlen (kinds [i]), &lo, &hi, cause)
            ||  (i == 0 && lo <= 0 && mt_fail (cause, "--param %s: log-uniform needs a low end"
                                               " above 0", name))
            ||  (i == 2 && (lo != floor (lo) || hi != floor (hi))
                 && mt_fail (cause, "--param %s: int-uniform needs whole ends", name))) {
                json_decref (param);
                return NULL;
            }
            char kind [16];
            mt_strlcpy (kind, kinds [i], sizeof kind);
            kind [strlen (kind) - 1] = 0;
            json_object_set_new (param, "kind", json_string (kind));
            json_object_set_new (param, "lo", json_real (lo));
            json_object_set_new (param, "hi", json_real (hi));
            json_object_set_new (param, "integer", json_boolean (i == 2 || json_is_integer (like)));
            return param;
        }
    json_t *values = json_array ();
    const char *at = space;
    for (;;) {
        const char *bar = strchr (at, '|');
        size_t len = bar ? (size_t) (bar - at) : strlen (at);
        char item [1024];
        json_t *value = NULL;
        if (len >= sizeof item)
            mt_fail (cause, "--param %s: a value is over %zu bytes", name, sizeof item - 1);
        else {
            memcpy (item, at, len);
            item [len] = 0;
            value = s_value_parse (name, item, like, cause);
        }
        if (!value || json_array_size (values) >= SWEEPS_MAX_VALUES) {
            if (value)
                mt_fail (cause, "--param %s: more than %d values", name, SWEEPS_MAX_VALUES);
            json_decref (value);
            json_decref (values);
            json_decref (param);
            return NULL;
        }
        json_array_append_new (values, value);
        if (!bar)
            break;
        at = bar + 1;
    }
    json_object_set_new (param, "kind", json_string ("list"));
    json_object_set_new (param, "values", values);
    return param;
}

//  One random draw of param
static json_t *
s_draw_one (json_t *param, rng_t *state)
{
    const char *kind = json_string_value (json_object_get (param, "kind"));
    double u = s_uniform01 (state);
    if (strcmp (kind, "list") == 0) {
        json_t *values = json_object_get (param, "values");
        size_t n = json_array_size (values);
        size_t i = (size_t) (u * (double) n);
        return json_incref (json_array_get (values, i < n ? i : n - 1));
    }
    double lo = json_real_value (json_object_get (param, "lo"));
    double hi = json_real_value (json_object_get (param, "hi"));
    bool integer = json_is_true (json_object_get (param, "integer"));
    double v;
    if (strcmp (kind, "int-uniform") == 0) {
        v = lo + floor (u * (hi - lo + 1));
        v = v > hi ? hi : v;
    }
    else
    if (strcmp (kind, "log-uniform") == 0)
        v = exp (log (lo) + u * (log (hi) - log (lo)));
    else
        v = lo + u * (hi - lo);
    //  A whole-number field drawn from a real range takes the nearest whole number
    return integer ? json_integer ((json_int_t) llround (v)) : json_real (v);
}

json_t *
sweeps_draw (json_t *space, const char *search, int64_t trials, uint64_t seed, char **cause)
{
    size_t n = json_array_size (space);
    size_t i;
    json_t *param;
    json_t *out = json_array ();
    if (strcmp (search, "grid") == 0) {
        int64_t total = 1;
        json_array_foreach (space, i, param) {
            json_t *values = json_object_get (param, "values");
            if (!values) {
                mt_fail (cause, "--param %s: grid search takes lists of values, not a range"
                         " (%s); use --search random", json_string_value (json_object_get (param, "name")),
                         json_string_value (json_object_get (param, "kind")));
                json_decref (out);
                return NULL;
            }
            total *= (int64_t) json_array_size (values);
            if (total > SWEEPS_MAX_TRIALS) {
                mt_fail (cause, "the grid has over %d combinations; give fewer values",
                         SWEEPS_MAX_TRIALS);
                json_decref (out);
                return NULL;
            }
        }
        for (int64_t t = 0; t < total; t++) {
            json_t *trial = json_object ();
            int64_t rest = t, stride = total;
            json_array_foreach (space, i, param) {
                json_t *values = json_object_get (param, "values");
                stride /= (int64_t) json_array_size (values);
                json_object_set (trial, json_string_value (json_object_get (param, "name")),
                                 json_array_get (values, (size_t) (rest / stride)));
                rest %= stride;
            }
            json_array_append_new (out, trial);
        }
        return out;
    }
    if (strcmp (search, "random") != 0) {
        mt_fail (cause, "--search: '%s' is not grid or random", search);
        json_decref (out);
        return NULL;
    }
    if (trials < 1 || trials > SWEEPS_MAX_TRIALS) {
        mt_fail (cause, "--trials: give 1 to %d", SWEEPS_MAX_TRIALS);
        json_decref (out);
        return NULL;
    }
    rng_t state;
    rng_seed (&state, seed);
    for (int64_t t = 0; t < trials; t++) {
        json_t *trial = json_object ();
        for (i = 0; i < n; i++) {
            param = json_array_get (space, i);
            json_object_set_new (trial, json_string_value (json_object_get (param, "name")),
                                 s_draw_one (param, &state));
        }
        json_array_append_new (out, trial);
    }
    return out;
}

json_t *
sweeps_trial_spec (json_t *base, json_t *params, mt_spec_t *spec, char **cause)
{
    json_t *value = json_deep_copy (base);
    const char *key;
    json_t *item;
    json_object_foreach (params, key, item)
        json_object_set (value, key, item);
    char *why = NULL;
    if (!value || mt_spec_from_value (spec, value, &why)) {
        char *shown = json_dumps (params, JSON_COMPACT);
        mt_fail (cause, "the trial %s is not a valid spec: %s", shown ? shown : "?",
                 why ? why : "out of memory");
        free (shown);
        free (why);
        json_decref (value);
        mt_spec_init (spec);
        return NULL;
    }
    return value;
}

//  --- The commands ----------------------------------------------------------------

static void
s_bad (broker_t *self, peer_t *peer, const char *code, char **cause)
{
    broker_error (self, peer, code, "%s", *cause ? *cause : code);
    free (*cause);
    *cause = NULL;
}

//  The SWEEP's base spec: parsed, validated and its blobs stored; with
//  validation rows, since trials are compared on them. NULL (answered).
static json_t *
s_base_spec (broker_t *self, peer_t *peer, mt_msg_t *msg, const char *metric)
{
    json_t *given = json_object_get (mt_msg_body (msg), "spec");
    char *cause = NULL;
    if (!json_is_object (given)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "SWEEP: field 'spec' must be a map");
        return NULL;
    }
    json_t *copy = json_deep_copy (given);
    if (metric)
        json_object_set_new (copy, "metric", json_string (metric));
    mt_spec_t spec;
    if (mt_spec_from_value (&spec, copy, &cause)) {
        json_decref (copy);
        char *text = NULL;
        mt_fail (&text, "bad spec: %s", cause ? cause : "?");
        free (cause);
        s_bad (self, peer, MT_ERR_BAD_SPEC, &text);
        return NULL;
    }
    json_decref (copy);
    const char *hashes [] = { spec.data_hash, spec.init_hash, spec.val_data_hash };
    for (size_t i = 0; i < 3 && !cause; i++)
        if (hashes [i][0] && !blobs_has (self, hashes [i], NULL))
            mt_fail (&cause, "blob %.12s was not uploaded; send it with UPLOAD first", hashes [i]);
    if (cause) {
        mt_spec_clear (&spec);
        s_bad (self, peer, MT_ERR_NOT_FOUND, &cause);
        return NULL;
    }
    if (spec.val_split <= 0 && !spec.val_data_hash [0]) {
        mt_spec_clear (&spec);
        broker_error (self, peer, MT_ERR_BAD_SPEC, "a sweep compares its trials on validation"
                      " rows: give --val-split above 0 or --val-data");
        return NULL;
    }
    json_t *full = mt_spec_to_value (&spec);
    mt_spec_clear (&spec);
    return full;
}

//  What a SWEEP asks for beyond the spec
typedef struct {
    const char *search, *early_stop, *metric, *name;
    int64_t trials, seed, parallel, min_epochs, reduction;
} sweep_args_t;

static int
s_sweep_args (mt_msg_t *msg, sweep_args_t *a, char **cause)
{
    *a = (sweep_args_t) { .search = "random", .early_stop = "asha", .trials = 0, .seed = 0,
                          .parallel = 0, .min_epochs = 1, .reduction = 3 };
    if (mt_msg_opt_str (msg, "search", 16, &a->search, cause)
    ||  mt_msg_opt_str (msg, "early_stop", 16, &a->early_stop, cause)
    ||  mt_msg_opt_str (msg, "metric", 32, &a->metric, cause)
    ||  mt_msg_opt_str (msg, "name", 256, &a->name, cause)
    ||  mt_msg_opt_int (msg, "trials", 0, SWEEPS_MAX_TRIALS, &a->trials, cause)
    ||  mt_msg_opt_int (msg, "seed", 0, INT64_MAX, &a->seed, cause)
    ||  mt_msg_opt_int (msg, "parallel", 0, SWEEPS_MAX_TRIALS, &a->parallel, cause)
    ||  mt_msg_opt_int (msg, "min_epochs", 1, INT32_MAX, &a->min_epochs, cause)
    ||  mt_msg_opt_int (msg, "reduction", 2, 1000, &a->reduction, cause))
        return -1;
    if (strcmp (a->early_stop, "asha") && strcmp (a->early_stop, "median")
    &&  strcmp (a->early_stop, "none"))
        return mt_fail (cause, "--early-stop: '%s' is not asha, median or none", a->early_stop);
    mt_metric_t metric;
    if (a->metric && mt_metric_parse (a->metric, &metric))
        return mt_fail (cause, "--metric: '%s' is not one of val_loss, accuracy,"
                        " balanced_accuracy, f1_macro, log_loss, roc_auc, r2, mae, rmse",
                        a->metric);
    if (strcmp (a->search, "grid") == 0 && a->trials)
        return mt_fail (cause, "--trials: a grid search runs every combination once; leave"
                        " --trials out, or use --search random");
    if (strcmp (a->search, "random") == 0 && a->trials == 0)
        a->trials = SWEEPS_DEFAULT_TRIALS;
    return 0;
}

//  The space from the SWEEP's params, each checked alone against base
static json_t *
s_space (mt_msg_t *msg, json_t *base, char **cause)
{
    json_t *given = json_object_get (mt_msg_body (msg), "params");
    if (!json_is_array (given) || json_array_size (given) == 0
    ||  json_array_size (given) > SWEEPS_MAX_PARAMS) {
        mt_fail (cause, "SWEEP: field 'params' must be a list of 1 to %d \"NAME=SPACE\" strings"
                 " (mtclient sweep --param)", SWEEPS_MAX_PARAMS);
        return NULL;
    }
    json_t *space = json_array ();
    size_t i;
    json_t *item;
    json_array_foreach (given, i, item) {
        json_t *param = json_is_string (item)
                      ? sweeps_param_parse (json_string_value (item), base, cause) : NULL;
        if (!param) {
            if (!json_is_string (item))
                mt_fail (cause, "SWEEP: every item of 'params' must be a string");
            json_decref (space);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp (json_string_value (json_object_get (json_array_get (space, j), "name")),
                        json_string_value (json_object_get (param, "name"))) == 0) {
                mt_fail (cause, "--param %s: given twice",
                         json_string_value (json_object_get (param, "name")));
                json_decref (param);
                json_decref (space);
                return NULL;
            }
        json_array_append_new (space, param);
    }
    return space;
}

//  Every trial's spec is valid, else the first bad one is named
static int
s_check_trials (json_t *base, json_t *trials, char **cause)
{
    size_t i;
    json_t *params;
    json_array_foreach (trials, i, params) {
        mt_spec_t spec;
        json_t *value = sweeps_trial_spec (base, params, &spec, cause);
        if (!value)
            return -1;
        mt_spec_clear (&spec);
        json_decref (value);
    }
    return 0;
}

static int64_t
s_insert (sweeps_t *self, peer_t *peer, json_t *base, json_t *space, json_t *trials,
          const sweep_args_t *a)
{
    char *spec_text = mt_json_compact (base), *space_text = mt_json_compact (space);
    const char *metric = json_string_value (json_object_get (base, "metric"));
    mt_metric_t m = MT_METRIC_VAL_LOSS;
    mt_metric_parse (metric, &m);
    int64_t count = (int64_t) json_array_size (trials);
    sqlite3_stmt *stmt = spec_text && space_text ? s_stmt (self, S_INSERT) : NULL;
    int64_t id = -1;
    if (stmt) {
        s_bind_text (stmt, 1, a->name);
        s_bind_text (stmt, 2, peer->user);
        s_bind_text (stmt, 3, spec_text);
        s_bind_text (stmt, 4, space_text);
        sqlite3_bind_text (stmt, 5, a->search, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 6, a->seed);
        sqlite3_bind_int64 (stmt, 7, count);
        sqlite3_bind_int64 (stmt, 8, a->parallel > 0 ? a->parallel : count);
        sqlite3_bind_text (stmt, 9, a->early_stop, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 10, a->min_epochs);
        sqlite3_bind_int64 (stmt, 11, a->reduction);
        sqlite3_bind_text (stmt, 12, mt_metric_name (m), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 13, mt_metric_higher_better (m) ? "max" : "min", -1,
                           SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 14, zclock_time ());
        if (s_step_write (self, stmt, "insert the sweep") == 0)
            id = sqlite3_last_insert_rowid (self->db);
    }
    free (spec_text);
    free (space_text);
    size_t i;
    json_t *params;
    json_array_foreach (trials, i, params) {
        char *text = mt_json_compact (params);
        if (id > 0 && text && (stmt = s_stmt (self, S_TRIAL_INSERT))) {
            sqlite3_bind_int64 (stmt, 1, id);
            sqlite3_bind_int64 (stmt, 2, (int64_t) i + 1);
            s_bind_text (stmt, 3, text);
            if (s_step_write (self, stmt, "insert a trial"))
                id = -1;
        }
        else
            id = -1;
        free (text);
    }
    return id;
}

void
sweeps_client_sweep (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    sweep_args_t a;
    char *cause = NULL;
    if (s_sweep_args (msg, &a, &cause)) {
        s_bad (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    json_t *base = s_base_spec (self, peer, msg, a.metric);
    if (!base)
        return;
    json_t *space = s_space (msg, base, &cause);
    json_t *trials = space ? sweeps_draw (space, a.search, a.trials, (uint64_t) a.seed, &cause)
                           : NULL;
    int64_t queued = jobs_queued (self->jobs, peer->user);
    int64_t first = trials ? (int64_t) json_array_size (trials) : 0;
    first = a.parallel > 0 && a.parallel < first ? a.parallel : first;
    if (!trials || s_check_trials (base, trials, &cause))
        s_bad (self, peer, MT_ERR_BAD_SPEC, &cause);
    else
    if (queued + first > self->config.max_queued)
        broker_error (self, peer, MT_ERR_TOO_LARGE, "this sweep would queue %lld trials beside"
                      " your %lld queued jobs, past the limit per client of %lld (mtbroker"
                      " --max-queued); give a smaller --parallel", (long long) first,
                      (long long) queued, (long long) self->config.max_queued);
    else {
        int64_t id = s_insert (self->sweeps, peer, base, space, trials, &a);
        sweep_row_t row;
        if (id < 0 || s_row_get (self->sweeps, id, &row) || s_fill (self->sweeps, &row)) {
            if (id > 0)
                s_row_clear (&row);
            store_abort (self->store);
            broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the sweep"
                          " (disk full or I/O error); retry later");
        }
        else {
            broker_announce (self, MT_LOG_INFO, "broker: sweep %lld created: %zu trials, %s"
                             " search, early stop %s", (long long) id, json_array_size (trials),
                             a.search, a.early_stop);
            mt_msg_t *reply = mt_msg_new ("SWEPT");
            json_object_set_new (mt_msg_body (reply), "sweep", json_integer (id));
            json_object_set_new (mt_msg_body (reply), "trials",
                                 json_integer ((json_int_t) json_array_size (trials)));
            broker_send (self, peer, &reply);
            s_row_clear (&row);
        }
    }
    json_decref (trials);
    json_decref (space);
    json_decref (base);
}

//  Read the request's "sweep" into row; -1 when it is missing or unknown (answered)
static int
s_sweep_arg (broker_t *self, peer_t *peer, mt_msg_t *msg, sweep_row_t *row)
{
    int64_t id;
    char *cause = NULL;
    if (mt_msg_get_int (msg, "sweep", 1, INT64_MAX, &id, &cause)) {
        s_bad (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return -1;
    }
    if (s_row_get (self->sweeps, id, row)) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no sweep %lld", (long long) id);
        return -1;
    }
    return 0;
}

//  With keys, only the sweep's owner or an admin may act on it
static int
s_may_act (broker_t *self, peer_t *peer, const sweep_row_t *row, const char *verb)
{
    if (auth_may_act (self->auth, peer->user, row->owner))
        return 0;
    broker_error (self, peer, MT_ERR_FORBIDDEN, "sweep %lld belongs to another key; you may"
                  " not %s it: ask its owner, or an admin", (long long) row->id, verb);
    return -1;
}

static void
s_reply_status (broker_t *self, peer_t *peer, const sweep_row_t *row, int64_t limit,
                int64_t resumed)
{
    json_t *map = s_status_json (self->sweeps, row, limit);
    if (!map) {
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not read the sweep; retry"
                      " later");
        return;
    }
    mt_msg_t *reply = mt_msg_new ("SWEEP");
    json_object_set_new (mt_msg_body (reply), "sweep", map);
    if (resumed >= 0)
        json_object_set_new (mt_msg_body (reply), "resumed", json_integer (resumed));
    broker_send (self, peer, &reply);
}

void
sweeps_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t limit = 0;
    char *cause = NULL;
    if (mt_msg_opt_int (msg, "limit", 1, SWEEPS_MAX_TRIALS, &limit, &cause)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    sweep_row_t row;
    if (s_sweep_arg (self, peer, msg, &row))
        return;
    s_reply_status (self, peer, &row, limit, -1);
    s_row_clear (&row);
}

void
sweeps_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t limit = 100;
    char *cause = NULL;
    if (mt_msg_opt_int (msg, "limit", 1, 1000, &limit, &cause)) {
        s_bad (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    sqlite3_stmt *stmt = s_stmt (self->sweeps, S_LIST);
    json_t *ids = json_array (), *list = json_array ();
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, limit);
        while (sqlite3_step (stmt) == SQLITE_ROW)
            json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
        sqlite3_reset (stmt);
    }
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        sweep_row_t row;
        if (s_row_get (self->sweeps, json_integer_value (id), &row))
            continue;
        json_array_append_new (list, json_pack ("{sI ss ss ss ss ss sI so sI}",
                                                "id", (json_int_t) row.id, "name", row.name,
                                                "state", row.state, "search", row.search,
                                                "early_stop", row.early_stop,
                                                "metric", row.metric,
                                                "trials", (json_int_t) row.trials,
                                                "counts", s_counts_json (self->sweeps, row.id),
                                                "created_at", (json_int_t) row.created_at));
        s_row_clear (&row);
    }
    json_decref (ids);
    mt_msg_t *reply = mt_msg_new ("SWEEPS");
    json_object_set_new (mt_msg_body (reply), "sweeps", list);
    broker_send (self, peer, &reply);
}

void
sweeps_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    sweep_row_t row;
    if (s_sweep_arg (self, peer, msg, &row))
        return;
    if (s_may_act (self, peer, &row, "stop")) {
        s_row_clear (&row);
        return;
    }
    if (strcmp (row.state, "running") != 0) {
        broker_error (self, peer, MT_ERR_BAD_STATE, "sweep %lld is %s already; there is nothing"
                      " to stop", (long long) row.id, row.state);
        s_row_clear (&row);
        return;
    }
    int rc = s_set_state (self->sweeps, row.id, "stopped");
    json_t *jobs = rc ? NULL : sweeps_job_list (self->sweeps, row.id, -1, SWEEPS_MAX_TRIALS);
    size_t i;
    json_t *job;
    json_array_foreach (jobs, i, job) {
        job_state_t state;
        if (rc || job_state_parse (json_string_value (json_object_get (job, "state")), &state)
        ||  job_state_ended (state) || state == JOB_STOPPING)
            continue;
        int64_t id = json_integer_value (json_object_get (job, "id"));
        job_move_t move;
        rc = jobs_event (self->jobs, id, -1, JOB_EV_STOP, NULL, zclock_time (), &move);
        fleet_worker_t *worker = fleet_find_job (self->fleet, id);
        if (rc == 0 && worker && move.tell == JOB_TELL_STOP) {
            broker_tell (self, worker, "STOP", id, fleet_worker_attempt (worker));
            fleet_worker_stop_sent (self->fleet, worker, zclock_mono ());
        }
    }
    json_decref (jobs);
    strcpy (row.state, "stopped");
    if (rc)
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the stop (disk full"
                      " or I/O error); retry later");
    else {
        broker_announce (self, MT_LOG_INFO, "broker: sweep %lld stopped", (long long) row.id);
        s_reply_status (self, peer, &row, 0, -1);
    }
    s_row_clear (&row);
}

void
sweeps_client_resume (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    sweep_row_t row;
    if (s_sweep_arg (self, peer, msg, &row))
        return;
    if (s_may_act (self, peer, &row, "resume")) {
        s_row_clear (&row);
        return;
    }
    sqlite3_stmt *stmt = s_stmt (self->sweeps, S_RERUN);
    int rc = stmt ? 0 : -1;
    int64_t resumed = 0;
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, row.id);
        rc = s_step_write (self->sweeps, stmt, "resume the trials");
        resumed = rc ? 0 : sqlite3_changes (self->sweeps->db);
    }
    //  Trials never started (a stopped sweep's) start too
    if (rc == 0 && (stmt = s_stmt (self->sweeps, S_COUNTS))) {
        sqlite3_bind_int64 (stmt, 1, row.id);
        int64_t pending = 0;
        while (sqlite3_step (stmt) == SQLITE_ROW)
            if (strcmp (s_col_text (stmt, 0), "pending") == 0)
                pending = sqlite3_column_int64 (stmt, 1);
        sqlite3_reset (stmt);
        if (pending == 0 && strcmp (row.state, "running") != 0 && resumed == 0) {
            broker_error (self, peer, MT_ERR_BAD_STATE, "sweep %lld has no failed, stopped or"
                          " unstarted trial; its finished and pruned trials are never run"
                          " again", (long long) row.id);
            s_row_clear (&row);
            return;
        }
    }
    if (rc == 0 && (rc = s_set_state (self->sweeps, row.id, "running")) == 0) {
        strcpy (row.state, "running");
        rc = s_fill (self->sweeps, &row);
    }
    if (rc) {
        store_abort (self->store);
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the resume (disk"
                      " full or I/O error); retry later");
    }
    else {
        sweep_row_t now;
        broker_announce (self, MT_LOG_INFO, "broker: sweep %lld resumed: %lld trials run again",
                         (long long) row.id, (long long) resumed);
        if (s_row_get (self->sweeps, row.id, &now) == 0) {
            s_reply_status (self, peer, &now, 0, resumed);
            s_row_clear (&now);
        }
    }
    s_row_clear (&row);
}

//  SWEEP_DELETE: every trial of an ended sweep (their jobs, as DELETE
//  deletes one) and the sweep's rows; refused while a trial is queued or
//  running, or one is still to start. Blobs no job names any more are
//  removed after the commit.
void
sweeps_client_delete (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    sweep_row_t row;
    if (s_sweep_arg (self, peer, msg, &row))
        return;
    char why [300];
    if (s_may_act (self, peer, &row, "delete") == 0) {
        if (s_delete_refused (self->sweeps, &row, why, sizeof why))
            broker_error (self, peer, MT_ERR_BAD_STATE, "%s", why);
        else
            s_delete (self, peer, row.id);
    }
    s_row_clear (&row);
}

//  The deletion itself, and its reply (sent after the commit, as every reply).
static void
s_delete (broker_t *self, peer_t *peer, int64_t sweep)
{
    json_t *doomed = json_array ();
    int64_t jobs = 0;
    if (s_delete_rows (self->sweeps, sweep, doomed, &jobs)) {
        store_abort (self->store);
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not delete sweep %lld"
                      " (disk full or I/O error); retry later", (long long) sweep);
        json_decref (doomed);
        return;
    }
    size_t i;
    json_t *hash;
    json_array_foreach (doomed, i, hash)
        broker_doom (self, json_string_value (hash));
    broker_announce (self, MT_LOG_INFO, "broker: sweep %lld deleted with its %lld jobs (%zu"
                     " blobs to remove)", (long long) sweep, (long long) jobs,
                     json_array_size (doomed));
    mt_msg_t *reply = mt_msg_new ("SWEEP_DELETED");
    json_t *body = mt_msg_body (reply);
    json_object_set_new (body, "sweep", json_integer (sweep));
    json_object_set_new (body, "jobs", json_integer (jobs));
    json_object_set_new (body, "blobs", json_integer ((json_int_t) json_array_size (doomed)));
    broker_send (self, peer, &reply);
    json_decref (doomed);
}

//  Why sweep row may not be deleted now (written to why), or NULL.
static const char *
s_delete_refused (sweeps_t *self, const sweep_row_t *row, char *why, size_t size)
{
    sqlite3_stmt *stmt = s_stmt (self, S_ACTIVE);
    if (stmt)
        sqlite3_bind_int64 (stmt, 1, row->id);
    int64_t active = s_scalar (stmt), pending = 0;
    if (strcmp (row->state, "running") == 0 && (stmt = s_stmt (self, S_COUNTS))) {
        sqlite3_bind_int64 (stmt, 1, row->id);
        while (sqlite3_step (stmt) == SQLITE_ROW)
            if (strcmp (s_col_text (stmt, 0), "pending") == 0)
                pending = sqlite3_column_int64 (stmt, 1);
        sqlite3_reset (stmt);
    }
    if (active == 0 && pending == 0)
        return NULL;
    snprintf (why, size, "sweep %lld has %lld trials queued or running and %lld still to start;"
              " stop it first (mtclient sweep stop %lld), then delete it", (long long) row->id,
              (long long) active, (long long) pending, (long long) row->id);
    return why;
}

//  Delete every job of sweep (their unused blobs appended to doomed, their
//  count in *jobs), then the sweep's own rows. 0, or -1 (the batch is to
//  be aborted).
static int
s_delete_rows (sweeps_t *self, int64_t sweep, json_t *doomed, int64_t *jobs)
{
    sqlite3_stmt *stmt = s_stmt (self, S_JOBS);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, sweep);
    sqlite3_bind_int64 (stmt, 2, -1);       // no limit: resumed trials leave their old jobs
    json_t *ids = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
    sqlite3_reset (stmt);
    int rc = 0;
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        job_state_t state;      // through jobs: the figures and subscribers hear of it
        if (rc == 0 && jobs_delete (self->broker->jobs, json_integer_value (id), doomed, &state))
            rc = -1;        // 1 (not ended) cannot be: none is active, and we hold the reactor
    }
    size_t n_ids = json_array_size (ids);
    json_decref (ids);
    //  No job names them now, but another sweep's trials to come may
    for (i = json_array_size (doomed); rc == 0 && i-- > 0; ) {
        stmt = s_stmt (self, S_SPEC_NAMES);
        if (stmt) {
            sqlite3_bind_int64 (stmt, 1, sweep);
            s_bind_text (stmt, 2, json_string_value (json_array_get (doomed, i)));
        }
        if (!stmt || s_scalar (stmt) > 0)
            json_array_remove (doomed, i);
    }
    const stmt_t rows [] = { S_DEL_TRIALS, S_DEL_RUNGS, S_DEL_EPOCHS, S_DEL_BEST, S_DEL_SWEEP };
    for (size_t r = 0; rc == 0 && r < sizeof rows / sizeof rows [0]; r++) {
        stmt = s_stmt (self, rows [r]);
        if (stmt)
            sqlite3_bind_int64 (stmt, 1, sweep);
        rc = stmt ? s_step_write (self, stmt, "delete the sweep") : -1;
    }
    *jobs = rc ? 0 : (int64_t) n_ids;
    return rc;
}

json_t *
sweeps_job_list (sweeps_t *self, int64_t sweep, int state, int limit)
{
    json_t *list = json_array (), *ids = json_array ();
    sqlite3_stmt *stmt = s_stmt (self, state >= 0 ? S_JOBS_STATE : S_JOBS);
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, sweep);
        sqlite3_bind_int (stmt, 2, limit);
        if (state >= 0)
            sqlite3_bind_text (stmt, 3, job_state_name ((job_state_t) state), -1, SQLITE_STATIC);
        while (sqlite3_step (stmt) == SQLITE_ROW)
            json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
        sqlite3_reset (stmt);
    }
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        json_t *job = store_job_json (self->broker->store, json_integer_value (id), false);
        if (job)
            json_array_append_new (list, job);
    }
    json_decref (ids);
    return list;
}

//  --- The leaderboard -------------------------------------------------------------

static json_t *
s_counts_json (sweeps_t *self, int64_t sweep)
{
    json_t *counts = json_object ();
    sqlite3_stmt *stmt = s_stmt (self, S_COUNTS);
    if (!stmt)
        return counts;
    sqlite3_bind_int64 (stmt, 1, sweep);
    while (sqlite3_step (stmt) == SQLITE_ROW)
        json_object_set_new (counts, s_col_text (stmt, 0),
                             json_integer (sqlite3_column_int64 (stmt, 1)));
    sqlite3_reset (stmt);
    return counts;
}

//  Trial number n's leaderboard entry, or NULL
static json_t *
s_trial_json (sweeps_t *self, const sweep_row_t *row, int64_t n)
{
    sqlite3_stmt *stmt = s_stmt (self, S_TRIAL);
    if (!stmt)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, row->id);
    sqlite3_bind_int64 (stmt, 2, n);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return NULL;
    }
    json_t *trial = json_object ();
    int64_t job = sqlite3_column_int64 (stmt, 1);
    bool started = sqlite3_column_type (stmt, 1) != SQLITE_NULL;
    json_object_set_new (trial, "trial", json_integer (sqlite3_column_int64 (stmt, 0)));
    json_object_set_new (trial, "job", started ? json_integer (job) : json_null ());
    json_t *params = json_loads (s_col_text (stmt, 2), 0, NULL);
    json_object_set_new (trial, "params", params ? params : json_object ());
    //  A resumed trial that waits to run its job again is pending too
    bool waits = sqlite3_column_type (stmt, 3) == SQLITE_NULL;
    json_object_set_new (trial, "state", json_string (waits ? "pending" : s_col_text (stmt, 3)));
    json_object_set_new (trial, "outcome", sqlite3_column_type (stmt, 5) != SQLITE_NULL
                         ? json_string (s_col_text (stmt, 5)) : json_null ());
    json_object_set_new (trial, "epochs_run", json_integer (sqlite3_column_int64 (stmt, 6)));
    json_object_set_new (trial, "error", sqlite3_column_type (stmt, 4) != SQLITE_NULL
                         ? json_string (s_col_text (stmt, 4)) : json_null ());
    json_object_set_new (trial, "best_metric", json_null ());
    json_object_set_new (trial, "best_epoch", json_null ());
    sqlite3_stmt *best = started ? s_stmt (self, row->higher ? S_BEST_MAX : S_BEST_MIN) : NULL;
    if (best) {
        sqlite3_bind_int64 (best, 1, row->id);
        sqlite3_bind_int64 (best, 2, job);
        if (sqlite3_step (best) == SQLITE_ROW) {
            json_object_set_new (trial, "best_epoch", json_integer (sqlite3_column_int64 (best, 0)));
            json_object_set_new (trial, "best_metric", json_real (sqlite3_column_double (best, 1)));
        }
        sqlite3_reset (best);
    }
    sqlite3_reset (stmt);
    return trial;
}

static json_t *
s_status_json (sweeps_t *self, const sweep_row_t *row, int64_t limit)
{
    sqlite3_stmt *stmt = s_stmt (self, row->higher ? S_BOARD_MAX : S_BOARD_MIN);
    if (!stmt)
        return NULL;
    json_t *counts = s_counts_json (self, row->id);
    json_int_t n = 0;
    const char *state;
    json_t *count;
    json_object_foreach (counts, state, count)
        n += json_integer_value (count);
    //  The leaderboard's head, in the order SQL sorts it: limit trials (0:
    //  all), and no more than SWEEPS_STATUS_MAX_BYTES of them encoded, so
    //  the reply stays under the message limit however many trials the
    //  sweep has; `more` counts the rest
    sqlite3_bind_int64 (stmt, 1, row->id);
    sqlite3_bind_int64 (stmt, 2, limit > 0 ? limit : -1);
    sqlite3_bind_int (stmt, 3, 0);
    json_t *sorted = json_array ();
    size_t bytes = 0;
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        json_t *trial = s_trial_json (self, row, sqlite3_column_int64 (stmt, 0));
        if (!trial)
            continue;
        bytes += json_dumpb (trial, NULL, 0, JSON_COMPACT) + 1;     // the size alone
        if (json_array_size (sorted) > 0 && bytes > SWEEPS_STATUS_MAX_BYTES) {
            json_decref (trial);
            break;
        }
        json_array_append_new (sorted, trial);
    }
    sqlite3_reset (stmt);
    //  The best trial is the best that finished: the one with a model
    json_t *best = json_null ();
    sqlite3_bind_int64 (stmt, 2, 1);
    sqlite3_bind_int (stmt, 3, 1);
    json_t *top = sqlite3_step (stmt) == SQLITE_ROW
                ? s_trial_json (self, row, sqlite3_column_int64 (stmt, 0)) : NULL;
    sqlite3_reset (stmt);
    if (top) {
        best = json_pack ("{sO sO sO}", "job", json_object_get (top, "job"),
                          "params", json_object_get (top, "params"),
                          "best_metric", json_object_get (top, "best_metric"));
        json_decref (top);
    }
    return json_pack ("{sI ss ss ss ss ss ss sI sI sI sI sI so so so sI}",
                      "id", (json_int_t) row->id, "name", row->name, "state", row->state,
                      "metric", row->metric, "mode", row->higher ? "max" : "min",
                      "search", row->search, "early_stop", row->early_stop,
                      "min_epochs", (json_int_t) row->min_epochs,
                      "reduction", (json_int_t) row->reduction,
                      "parallel", (json_int_t) row->parallel,
                      "seed", (json_int_t) row->seed,
                      "created_at", (json_int_t) row->created_at,
                      "counts", counts, "trials", sorted, "best", best,
                      "more", n - (json_int_t) json_array_size (sorted));
}
