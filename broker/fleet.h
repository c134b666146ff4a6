/*  fleet - the workers connected to the broker: who they are, what they run, when last heard  */
#ifndef MT_FLEET_H_INCLUDED
#define MT_FLEET_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FLEET_MAX_WORKERS 4096      // connected workers at most

typedef struct {
    zframe_t *identity;         // ROUTER routing id (owned)
    char name [129];            // host:pid as the worker announced it
    char instance [33];         // its process's random instance id from HELLO, "" when none
    char user [64];             // the key it connected with (Z85) with --keys, else "local"
    char host [129];
    char version [33];
    int64_t pid;
    int cores, threads;
    int64_t job;                // job it runs, 0 when idle
    int attempt;
    int64_t attempt_started_at; // wall clock ms the broker started it; 0 when not known
    int resumed_from_epoch;     //   (adopted after a restart) and the epoch it resumed from
    char checkpoint [65];       // the job's latest checkpoint hash, "" when none
    int64_t connected_at;       // wall clock, ms since epoch
    int64_t last_seen;          // monotonic ms of its last message
    int64_t stop_sent;          // monotonic ms a STOP was sent, 0 when none
    int64_t deadline;           // wall clock ms the job's time limit ends, 0 = none
    int64_t last_step;          // the job's last reported step
    int64_t step_moved;         // monotonic ms the step last changed (or the job started)
    int64_t abandoned_job;      // the last (job, attempt) it was told to abandon, so a
    int abandoned_attempt;      //   backlog of stale messages gets one ABANDON, not many
} fleet_worker_t;

typedef struct fleet_t fleet_t;

fleet_t *fleet_new (void);
void fleet_destroy (fleet_t **self_p);

//  The worker with this routing id, or NULL.
fleet_worker_t *fleet_find (fleet_t *self, zframe_t *identity);
//  The worker running job, or NULL.
fleet_worker_t *fleet_find_job (fleet_t *self, int64_t job);
//  Add a worker for identity (copied). NULL when the fleet is full.
fleet_worker_t *fleet_add (fleet_t *self, zframe_t *identity);
//  Remove and free a worker.
void fleet_remove (fleet_t *self, fleet_worker_t *worker);

//  The idle worker that has waited longest, or NULL.
fleet_worker_t *fleet_idle (fleet_t *self);
size_t fleet_size (fleet_t *self);
size_t fleet_busy (fleet_t *self);

//  Iterate: first/next over all workers (removal during iteration is not allowed).
fleet_worker_t *fleet_first (fleet_t *self);
fleet_worker_t *fleet_next (fleet_t *self);

//  A worker as the JSON map of PROTOCOL.md section 10 (new reference).
json_t *fleet_worker_json (const fleet_worker_t *worker, int64_t now_mono);

#endif
