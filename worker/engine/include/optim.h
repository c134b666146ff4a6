/*  optim - the optimizers (sgd, adam, adamw) with torch 1.13's exact update rules, and the lr schedule  */
#ifndef MT_OPTIM_H_INCLUDED
#define MT_OPTIM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mt/spec.h"
#include "kernels.h"

//  Update rules, per parameter p with gradient g, in float32, in this order
//  (hyper-parameters rounded to float as torch does for a float tensor):
//  sgd:   if wd: g = g + wd p
//         if momentum: buf = g on the first step, else buf = momentum buf + g
//                      g = nesterov ? g + momentum buf : buf
//         p = p - lr g
//  adam:  t += 1; if wd: g = g + wd p
//         m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g g
//         step = lr / (1 - beta1^t);  denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//         p = p - step m / denom
//  adamw: p = p (1 - lr wd), then adam without the wd term.
//  Each update is one pass over the parameters (kernels.h).
typedef struct optim_t optim_t;

//  An optimizer for n_params parameters with the spec's optimizer and
//  hyper-parameters; state starts at zero. NULL when memory runs out.
optim_t *optim_new (const mt_spec_t *spec, size_t n_params);
void optim_destroy (optim_t **self_p);

//  One update of params from grads with learning rate lr. Allocates nothing.
void optim_step (optim_t *self, float *params, const float *grads, double lr);

//  Run the updates on path's vector unit (kernels_best's by default: the
//  widest, or MT_SIMD's). Every path gives the same bits; unit_optim and
//  unit_kernels check it. -1 when this processor lacks the unit.
int optim_set_path (optim_t *self, kernels_path_t path);

//  Steps taken so far (torch's state 'step'); settable when resuming.
int64_t optim_steps (const optim_t *self);
void optim_set_steps (optim_t *self, int64_t steps);

//  The state buffers, each n_params floats laid out like the parameters:
//  sgd with momentum has "momentum_buffer", adam and adamw have "exp_avg"
//  and "exp_avg_sq", plain sgd none. Borrowed.
int optim_state_count (const optim_t *self);
const char *optim_state_name (const optim_t *self, int index);
float *optim_state (optim_t *self, int index);

//  The learning rate for step t (0-based, the step about to be taken) of
//  total steps: lr x warm (t) x cos (t), where warm (t) = (t + 1) / warmup
//  while t < warmup_steps, else 1 (torch LinearLR with start_factor
//  1/warmup, total_iters warmup - 1), and for the cosine schedule
//  cos (t) = (1 + cos (pi t / total)) / 2 (CosineAnnealingLR closed form,
//  T_max = total, eta_min 0, stepped once per optimizer step), else 1.
//  Computed in double.
double optim_lr (const mt_spec_t *spec, int64_t t, int64_t total);

#endif
