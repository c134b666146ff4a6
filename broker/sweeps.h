/*  sweeps - many trials of one base spec over a parameter space, pruned by ASHA or the median rule  */
#ifndef MT_SWEEPS_H_INCLUDED
#define MT_SWEEPS_H_INCLUDED

#include "reactor.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWEEPS_MAX_TRIALS   10000   // trials in one sweep
#define SWEEPS_MAX_PARAMS   32      // --param flags in one sweep
#define SWEEPS_MAX_VALUES   256     // values in one list
#define SWEEPS_MAX_RUNGS    32

typedef struct sweeps_t sweeps_t;

//  The sweeps of broker (borrowed; its store and jobs must exist): hooks
//  itself into the jobs' ends. NULL with *cause.
sweeps_t *sweeps_new (broker_t *broker, char **cause);
void sweeps_destroy (sweeps_t **self_p);

//  *sweep: the sweep job is a trial of, while that sweep exists; else 0.
//  Returns 0, or -1 when the store could not be read.
int sweeps_trial_of (sweeps_t *self, int64_t job, int64_t *sweep);

//  A trial's epoch end (p with metrics): records the sweep's metric, then
//  applies the sweep's rule. Returns 1 when the trial is to be pruned, with
//  why in reason; 0 when it goes on (or job is no trial); -1 when the store
//  failed (the batch fails).
int sweeps_epoch_end (sweeps_t *self, int64_t job, const store_progress_t *p, char *reason,
                      size_t size);

//  The jobs of sweep, newest first, at most limit, of state (-1: any), each
//  as store_job_json makes it. Returns a new JSON array.
json_t *sweeps_job_list (sweeps_t *self, int64_t sweep, int state, int limit);

//  The clients socket's commands (clients.c lists them).
void sweeps_client_sweep (broker_t *self, peer_t *peer, mt_msg_t *msg);
void sweeps_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg);
void sweeps_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg);
void sweeps_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg);
void sweeps_client_resume (broker_t *self, peer_t *peer, mt_msg_t *msg);
void sweeps_client_delete (broker_t *self, peer_t *peer, mt_msg_t *msg);

//  --- The parts with no state, for the handlers and the tests -------------------

//  One parameter, "NAME=SPACE", against base (a spec's full map, as
//  mt_spec_to_value writes it, which gives each field's type): NAME a spec
//  field (batch_size or batch-size), SPACE a list "a|b|c" (a list field's
//  items are split at commas: hidden=32|64,64) or a range
//  "log-uniform:A:B", "uniform:A:B", "int-uniform:A:B" of a number field.
//  Returns {"name", "kind": "list"|"log-uniform"|"uniform"|"int-uniform",
//  "values": [...] or "lo", "hi", "integer": bool} (caller owns), or NULL
//  with *cause naming the parameter.
json_t *sweeps_param_parse (const char *text, json_t *base, char **cause);

//  The trials of space (an array of parameters as sweeps_param_parse
//  makes them): "grid", the cartesian product of the lists, the first
//  parameter slowest (a range is an error naming it); "random", trials
//  draws from seed (xoshiro256** seeded by splitmix64; a list is sampled
//  uniformly). Returns an array of {name: value} maps (caller owns), or
//  NULL with *cause.
json_t *sweeps_draw (json_t *space, const char *search, int64_t trials, uint64_t seed,
                     char **cause);

//  Base (borrowed) with params applied: a new map (caller owns), parsed
//  and validated into spec by the spec module (caller clears it). NULL with
//  *cause naming the parameters, and spec cleared.
json_t *sweeps_trial_spec (json_t *base, json_t *params, mt_spec_t *spec, char **cause);

//  The rungs for min_epochs R, reduction eta and epochs: R, R eta, R eta^2,
//  ... below epochs, into rungs (at most max). Returns their count.
int sweeps_rungs (int min_epochs, int eta, int epochs, int *rungs, int max);

//  ASHA at a rung: value (NAN: undefined, worse than any number) goes on
//  when fewer than eta values are recorded there counting it, or when fewer
//  than k = floor(n / eta) of the n - 1 others are strictly better (a tie
//  with the k-th best goes on). *cutoff gets the k-th best value of all n
//  (NAN when k = 0). Returns true to continue.
bool sweeps_asha_continue (const double *others, size_t n_others, double value, bool higher,
                           int eta, double *cutoff);

//  The median stopping rule: best (the trial's best value so far) goes on
//  unless it is strictly worse than the median of the other trials' running
//  averages at this epoch (averages, n of them; none: it goes on). *median
//  gets that median (NAN when n = 0). Returns true to continue.
bool sweeps_median_continue (const double *averages, size_t n, double best, bool higher,
                             double *median);

#endif
