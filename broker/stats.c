/*  stats - the broker's figures: jobs by state, totals by outcome, histograms of waits, times  */
//  The counters are seeded from the store when the broker starts and then
//  moved by each job change (jobs.c tells of them), inside the batch's
//  transaction: a rolled-back batch puts them back, as it puts the rows
//  back. Everything is fixed-size, so a change costs a few increments and
//  a bucket search, and a transaction a copy of a few hundred bytes.
#include "stats.h"
#include "store.h"
#include "mt/log.h"
#include "mt/version.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

//  The attempts' outcomes (PROTOCOL.md section 9), in the order STATS lists them.
static const char *s_outcomes [] = {
    "succeeded", "failed", "crashed", "worker_lost", "drained", "stopped", "timed_out",
    "stalled", "pruned"
};
#define OUTCOMES (sizeof s_outcomes / sizeof s_outcomes [0])

//  Bucket upper bounds, seconds, ascending; +Inf follows the last.
static const struct {
    const char *name;
    size_t count;
    double le [STATS_MAX_BOUNDS];
} s_bounds [STATS_HISTOGRAMS] = {
    [STATS_QUEUE_WAIT] = { "queue_wait_seconds", 14,
        { 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400 } },
    [STATS_JOB_DURATION] = { "job_duration_seconds", 13,
        { 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400 } },
    [STATS_COMMIT] = { "commit_seconds", 12,
        { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 } },
};

typedef struct {
    int64_t counts [STATS_MAX_BOUNDS + 1];  // per bucket, not cumulative; the last is +Inf
    double sum;                             // seconds
    int64_t count;
} histogram_t;

//  What a rollback puts back: everything.
typedef struct {
    int64_t jobs [JOB_STATES];
    int64_t submitted;
    int64_t finished [JOB_STATES];      // jobs that ended in each ended state, ever
    int64_t attempts [OUTCOMES];
    histogram_t hist [STATS_HISTOGRAMS];
} figures_t;

struct stats_t {
    figures_t now;
    figures_t saved;            // at stats_begin
    bool recording;
    int64_t started_at;         // wall clock, ms since epoch
};

static void s_count (void *arg, const char *table, const char *name, int64_t count);
static int s_outcome (const char *name);
static json_t *s_histogram_json (const histogram_t *h, stats_histogram_t which);

stats_t *
stats_new (int64_t started_at)
{
    stats_t *self = calloc (1, sizeof *self);
    if (self)
        self->started_at = started_at;
    return self;
}

void
stats_destroy (stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

int
stats_seed (stats_t *self, store_t *store)
{
    memset (&self->now, 0, sizeof self->now);
    if (store_counts (store, s_count, self) == 0)
        return 0;
    memset (&self->now, 0, sizeof self->now);
    return -1;
}

//  One count from store_counts: jobs in a state, or attempts with an outcome.
static void
s_count (void *arg, const char *table, const char *name, int64_t count)
{
    stats_t *self = arg;
    job_state_t state;
    int outcome;
    if (strcmp (table, "jobs") == 0 && job_state_parse (name, &state) == 0) {
        self->now.jobs [state] += count;
        self->now.submitted += count;
        if (job_state_ended (state))
            self->now.finished [state] += count;
    }
    else
    if (strcmp (table, "attempts") == 0 && (outcome = s_outcome (name)) >= 0)
        self->now.attempts [outcome] += count;
    else
        mt_debug ("stats: %s '%s' is not counted", table, name);
}

static int
s_outcome (const char *name)
{
    for (size_t i = 0; name && i < OUTCOMES; i++)
        if (strcmp (name, s_outcomes [i]) == 0)
            return (int) i;
    return -1;
}

void
stats_begin (stats_t *self)
{
    self->saved = self->now;
    self->recording = true;
}

void
stats_commit (stats_t *self)
{
    self->recording = false;
}

void
stats_rollback (stats_t *self)
{
    if (self->recording)
        self->now = self->saved;
    self->recording = false;
}

void
stats_job_changed (stats_t *self, const job_change_t *change)
{
    figures_t *f = &self->now;
    if (change->from < 0)
        f->submitted++;
    else
    if ((unsigned) change->from < JOB_STATES)
        f->jobs [change->from]--;
    if ((unsigned) change->to < JOB_STATES) {
        f->jobs [change->to]++;
        f->finished [change->to] += job_state_ended (change->to);
    }
    int outcome = change->outcome ? s_outcome (change->outcome) : -1;
    if (outcome >= 0)
        f->attempts [outcome]++;
    if (change->wait_ms >= 0)
        stats_observe (self, STATS_QUEUE_WAIT, (double) change->wait_ms / 1000.0);
    if (change->run_ms >= 0 && job_state_ended (change->to))
        stats_observe (self, STATS_JOB_DURATION, (double) change->run_ms / 1000.0);
}

int
stats_bucket (stats_histogram_t h, double seconds)
{
    size_t i = 0;
    while (i < s_bounds [h].count && !(seconds <= s_bounds [h].le [i]))
        i++;
    return (int) i;
}

void
stats_observe (stats_t *self, stats_histogram_t h, double seconds)
{
    if ((unsigned) h >= STATS_HISTOGRAMS || isnan (seconds))
        return;
    histogram_t *hist = &self->now.hist [h];
    hist->counts [stats_bucket (h, seconds)]++;
    hist->sum += seconds;
    hist->count++;
}

int64_t
stats_jobs (stats_t *self, job_state_t state)
{
    return (unsigned) state < JOB_STATES ? self->now.jobs [state] : 0;
}

//  A histogram as STATS shows it: the bounds, cumulative counts (one more
//  than the bounds: +Inf), the sum and the count.
static json_t *
s_histogram_json (const histogram_t *h, stats_histogram_t which)
{
    json_t *le = json_array (), *counts = json_array ();
    int64_t total = 0;
    for (size_t i = 0; i <= s_bounds [which].count; i++) {
        if (i < s_bounds [which].count)
            json_array_append_new (le, json_real (s_bounds [which].le [i]));
        total += h->counts [i];
        json_array_append_new (counts, json_integer (total));
    }
    return json_pack ("{s:o, s:o, s:f, s:I}", "le", le, "counts", counts, "sum", h->sum,
                      "count", (json_int_t) h->count);
}

json_t *
stats_json (stats_t *self, int64_t idle, int64_t busy)
{
    const figures_t *f = &self->now;
    json_t *jobs = json_object (), *attempts = json_object (), *hist = json_object ();
    for (int s = 0; s < JOB_STATES; s++)
        json_object_set_new (jobs, job_state_name ((job_state_t) s), json_integer (f->jobs [s]));
    for (size_t i = 0; i < OUTCOMES; i++)
        json_object_set_new (attempts, s_outcomes [i], json_integer (f->attempts [i]));
    for (int h = 0; h < STATS_HISTOGRAMS; h++)
        json_object_set_new (hist, s_bounds [h].name,
                             s_histogram_json (&f->hist [h], (stats_histogram_t) h));
    return json_pack ("{s:s, s:I, s:o, s:{s:I, s:I}, s:I, s:{s:I, s:I, s:I}, s:o, s:o}",
                      "version", MT_VERSION, "started_at", (json_int_t) self->started_at,
                      "jobs", jobs, "workers", "idle", (json_int_t) idle,
                      "busy", (json_int_t) busy, "submitted_total", (json_int_t) f->submitted,
                      "finished_total", "succeeded", (json_int_t) f->finished [JOB_SUCCEEDED],
                      "failed", (json_int_t) f->finished [JOB_FAILED],
                      "stopped", (json_int_t) f->finished [JOB_STOPPED],
                      "attempts_total", attempts, "histograms", hist);
}
