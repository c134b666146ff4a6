/*  stats - the broker's figures: jobs by state, totals by outcome, histograms of waits, times  */
#ifndef MT_STATS_H_INCLUDED
#define MT_STATS_H_INCLUDED

#include "jobs.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define STATS_MAX_BOUNDS 16         // upper bounds per histogram at most (+Inf is extra)

typedef struct stats_t stats_t;
struct store_t;

//  The histograms the broker keeps, each with fixed bucket bounds in seconds.
typedef enum {
    STATS_QUEUE_WAIT,               // a job's submit or requeue -> its start
    STATS_JOB_DURATION,             // an ending attempt's start -> the job's end
    STATS_COMMIT,                   // one batch's store_commit
    STATS_HISTOGRAMS
} stats_histogram_t;

//  New, empty figures of a broker started at started_at (wall clock, ms
//  since epoch); NULL when out of memory.
stats_t *stats_new (int64_t started_at);
void stats_destroy (stats_t **self_p);

//  Count what the store holds (jobs by state, attempts by outcome), so the
//  figures match LIST from the start; the histograms start empty. Returns
//  0, or -1 when the store could not be read (the figures are then zero).
int stats_seed (stats_t *self, struct store_t *store);

//  The figures follow the broker's transaction: what changes between begin
//  and rollback is undone, as the store's rows are. Commit times are kept
//  whatever the outcome (stats_observe after the commit or rollback).
void stats_begin (stats_t *self);
void stats_commit (stats_t *self);
void stats_rollback (stats_t *self);

//  A job changed as change says (jobs.h): counters moved, waits and
//  durations observed. A few increments and a bucket search; no allocation.
void stats_job_changed (stats_t *self, const job_change_t *change);

//  Observe seconds in histogram h.
void stats_observe (stats_t *self, stats_histogram_t h, double seconds);

//  Jobs in state now, as counted.
int64_t stats_jobs (stats_t *self, job_state_t state);

//  The STATS body of PROTOCOL.md section 5 (new reference): the figures,
//  the workers idle and busy (the fleet's, given by the caller), the
//  version and started_at. NULL when out of memory.
json_t *stats_json (stats_t *self, int64_t idle, int64_t busy);

//  The bucket of histogram h that seconds falls in: the first bound it does
//  not exceed, or the count of bounds (+Inf). For tests.
int stats_bucket (stats_histogram_t h, double seconds);

#endif
