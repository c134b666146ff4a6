/*  fleet - the workers connected to the broker: who they are, what they run, when last heard  */
#ifndef MT_FLEET_H_INCLUDED
#define MT_FLEET_H_INCLUDED

#include "mt/spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_MAX_WORKERS  4096     // connected workers at most
#define FLEET_MAX_IDENTITY 255      // bytes in a routing id (ZMTP allows 255)
#define FLEET_ABANDONED    8        // (job, attempt) pairs a worker's ABANDONs are remembered for

typedef struct fleet_t fleet_t;
typedef struct fleet_worker_t fleet_worker_t;

//  What a worker says of itself in HELLO (strings borrowed; copied, cut to fit).
typedef struct {
    const char *name;           // host:pid
    const char *instance;       // its process's random id, "" when none
    const char *user;           // the key it connected with (Z85), or "local"
    const char *host;
    const char *version;
    int64_t pid;
    int cores, threads;
} fleet_hello_t;

//  What a DONE's model must fit, from the job's spec: kept with the attempt
//  when it starts, so a DONE reads no row and parses no spec.
typedef struct {
    bool known;                 // false: the spec could not be read
    mt_task_t task;
    int n_features;             // features the spec names, 0 = every other column
    int n_hidden;
    int hidden [MT_SPEC_MAX_HIDDEN];    // units per hidden layer
} fleet_shape_t;

//  The attempt a worker runs, as the broker started (or adopted) it.
typedef struct {
    int64_t job;
    int attempt;
    int64_t started_at;         // wall clock ms the broker started it; 0 when not known
    int resumed_from_epoch;     //   (adopted after a restart), and the epoch it resumed from
    const char *checkpoint;     // the job's latest checkpoint hash, "" when none
    int64_t deadline;           // wall clock ms its time limit ends, 0 = none
    fleet_shape_t shape;        // what its model must fit
} fleet_run_t;

//  A new, empty fleet. NULL when out of memory.
fleet_t *fleet_new (void);
void fleet_destroy (fleet_t **self_p);

//  Transactions: the broker brackets each commit with these, so what its
//  handlers did to the fleet follows the commit. Between begin and commit
//  every change made through this API (a worker added, removed, assigned,
//  released, renamed) is recorded; rollback undoes them, newest first, and
//  commit forgets them (and frees the workers removed). Liveness (when a
//  worker was last heard, its step) and the round-robin order are not
//  recorded: they describe the connection, not what was committed.
//  Outside a transaction changes take effect at once.
void fleet_begin (fleet_t *self);
void fleet_commit (fleet_t *self);
void fleet_rollback (fleet_t *self);

//  Lookups: the worker or NULL. None moves an iteration's place.
fleet_worker_t *fleet_find (fleet_t *self, const void *identity, size_t size);
fleet_worker_t *fleet_find_job (fleet_t *self, int64_t job);
//  Another connection (not except) of the same worker process: the same
//  name, instance and user. NULL when instance is "" (nothing tells it from
//  a namesake) or none matches.
fleet_worker_t *fleet_find_twin (fleet_t *self, const fleet_worker_t *except,
                                 const char *name, const char *instance, const char *user);

//  Add a worker for a routing id (copied), idle and nameless until
//  fleet_worker_hello. NULL when the fleet holds FLEET_MAX_WORKERS, the id
//  is too long or known already, or memory ran out.
fleet_worker_t *fleet_add (fleet_t *self, const void *identity, size_t size, int64_t now_mono);
//  Take a worker out of the fleet; it is freed now, or at commit inside a
//  transaction. The pointer must not be used after.
void fleet_remove (fleet_t *self, fleet_worker_t *worker);

//  The named idle worker least recently chosen, which goes to the back of
//  the line (round robin), or NULL when none is idle.
fleet_worker_t *fleet_idle (fleet_t *self);
size_t fleet_size (fleet_t *self);
size_t fleet_busy (fleet_t *self);

//  Iterate in line order: fleet_next (self, w) is the worker after w, or
//  NULL. Take the next one before removing w.
fleet_worker_t *fleet_first (fleet_t *self);
fleet_worker_t *fleet_next (fleet_t *self, const fleet_worker_t *worker);

//  Every worker's clocks move on by ms, as if the gap had not happened
//  (the reactor did not run for that long).
void fleet_shift (fleet_t *self, int64_t ms);

//  --- One worker ---------------------------------------------------------------

//  What it said in HELLO; recorded.
void fleet_worker_hello (fleet_t *self, fleet_worker_t *worker, const fleet_hello_t *hello);
//  It runs run now; recorded. Its stop and step clocks start over at now_mono.
void fleet_worker_assign (fleet_t *self, fleet_worker_t *worker, const fleet_run_t *run,
                          int64_t now_mono);
//  It is idle again; recorded.
void fleet_worker_release (fleet_t *self, fleet_worker_t *worker);
//  Its job's latest checkpoint is hash; recorded.
void fleet_worker_set_checkpoint (fleet_t *self, fleet_worker_t *worker, const char *hash);
//  A STOP for its job was sent at now_mono; recorded.
void fleet_worker_stop_sent (fleet_t *self, fleet_worker_t *worker, int64_t now_mono);
//  True the first time it is to be told to abandon (job, attempt), which is
//  recorded, so a backlog of stale messages (or a HELLO and the messages
//  after it) gets one ABANDON, not many. The last FLEET_ABANDONED pairs
//  are remembered.
bool fleet_worker_abandon_once (fleet_t *self, fleet_worker_t *worker, int64_t job, int attempt);

//  It was heard from at now_mono; it reported step at now_mono. Not recorded.
void fleet_worker_seen (fleet_worker_t *worker, int64_t now_mono);
void fleet_worker_step (fleet_worker_t *worker, int64_t step, int64_t now_mono);

//  Reads. Strings are borrowed and live as long as the worker.
const void *fleet_worker_identity (const fleet_worker_t *worker, size_t *size);
const char *fleet_worker_name (const fleet_worker_t *worker);     // "" before HELLO
const char *fleet_worker_instance (const fleet_worker_t *worker); // "" when it sent none
const char *fleet_worker_user (const fleet_worker_t *worker);     // its key (Z85), or "local"
int64_t fleet_worker_job (const fleet_worker_t *worker);          // 0 when idle
int fleet_worker_attempt (const fleet_worker_t *worker);
//  The run it holds; started_at is 0 when the broker does not know it.
void fleet_worker_run (const fleet_worker_t *worker, fleet_run_t *run);
int64_t fleet_worker_stop_sent_at (const fleet_worker_t *worker);  // monotonic ms, 0 = none
int64_t fleet_worker_last_seen (const fleet_worker_t *worker);     // monotonic ms
int64_t fleet_worker_step_moved (const fleet_worker_t *worker);    // monotonic ms
int64_t fleet_worker_step_last (const fleet_worker_t *worker);     // -1 before its first PROGRESS

//  A worker as the JSON map of PROTOCOL.md section 10 (new reference).
json_t *fleet_worker_json (const fleet_worker_t *worker, int64_t now_mono);

#endif
