/*  optim - the optimizers (sgd, adam, adamw) with torch 1.13's exact update rules, and the lr schedule  */
#include <math.h>
#include <stdlib.h>
#include "kernels.h"
#include "optim.h"

struct optim_t {
    mt_opt_t kind;
    double momentum, weight_decay, beta1, beta2, eps;
    bool nesterov;
    int64_t steps;              // updates done
    size_t n;                   // parameters
    int n_state;                // state buffers in use
    float *state [2];           // momentum_buffer, or exp_avg and exp_avg_sq
    const kernels_t *kernels;   // the widest vector unit's passes (kernels_best)
};

static void s_sgd (optim_t *self, float *p, const float *g, double lr);
static void s_adam (optim_t *self, float *p, const float *g, double lr);

optim_t *
optim_new (const mt_spec_t *spec, size_t n_params)
{
    optim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = spec->optimizer;
    self->kernels = kernels_best ();
    self->momentum = spec->momentum;
    self->nesterov = spec->nesterov;
    self->weight_decay = spec->weight_decay;
    self->beta1 = spec->beta1;
    self->beta2 = spec->beta2;
    self->eps = spec->eps;
    self->n = n_params;
    if (self->kind == MT_OPT_SGD)
        self->n_state = self->momentum != 0 ? 1 : 0;
    else
        self->n_state = 2;
    for (int i = 0; i < self->n_state; i++) {
        self->state [i] = calloc (n_params ? n_params : 1, sizeof (float));
        if (!self->state [i]) {
            optim_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
optim_destroy (optim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->state [0]);
    free ((*self_p)->state [1]);
    free (*self_p);
    *self_p = NULL;
}

int
optim_set_path (optim_t *self, kernels_path_t path)
{
    const kernels_t *k = kernels_get (path);
    if (!k)
        return -1;
    self->kernels = k;
    return 0;
}

int64_t optim_steps (const optim_t *self) { return self->steps; }
void optim_set_steps (optim_t *self, int64_t steps) { self->steps = steps; }
int optim_state_count (const optim_t *self) { return self->n_state; }
float *optim_state (optim_t *self, int index) { return self->state [index]; }

const char *
optim_state_name (const optim_t *self, int index)
{
    if (self->kind == MT_OPT_SGD)
        return "momentum_buffer";
    return index == 0 ? "exp_avg" : "exp_avg_sq";
}

void
optim_step (optim_t *self, float *params, const float *grads, double lr)
{
    if (self->kind == MT_OPT_SGD)
        s_sgd (self, params, grads, lr);
    else
        s_adam (self, params, grads, lr);
    self->steps++;
}

static void
s_sgd (optim_t *self, float *p, const float *g, double lr)
{
    kernels_sgd_t k = {
        .wd = (float) self->weight_decay, .momentum = (float) self->momentum,
        .neg_lr = (float) -lr, .nesterov = self->nesterov, .first = self->steps == 0
    };
    self->kernels->sgd (p, g, self->state [0], self->n, &k);
}

//  AdamW's decay is the shrink of p before the step, and then no wd term
static void
s_adam (optim_t *self, float *p, const float *g, double lr)
{
    double t = (double) (self->steps + 1);
    bool decoupled = self->kind == MT_OPT_ADAMW;
    kernels_adam_t k = {
        .shrink = decoupled ? (float) (1.0 - lr * self->weight_decay) : 1.0f,
        .wd = decoupled ? 0.0f : (float) self->weight_decay,
        .beta1 = (float) self->beta1, .one_beta1 = (float) (1.0 - self->beta1),
        .beta2 = (float) self->beta2, .one_beta2 = (float) (1.0 - self->beta2),
        .bc2_sqrt = (float) sqrt (1.0 - pow (self->beta2, t)), .eps = (float) self->eps,
        .neg_step = (float) -(lr / (1.0 - pow (self->beta1, t)))
    };
    self->kernels->adam (p, g, self->state [0], self->state [1], self->n, &k);
}

double
optim_lr (const mt_spec_t *spec, int64_t t, int64_t total)
{
    double factor = 1.0;
    if (spec->warmup_steps > 0 && t < spec->warmup_steps)
        factor = (double) (t + 1) / (double) spec->warmup_steps;
    if (spec->schedule == MT_SCHEDULE_COSINE && total > 0) {
        double tt = t < total ? (double) t : (double) total;
        factor *= 0.5 * (1.0 + cos (M_PI * tt / (double) total));
    }
    return spec->lr * factor;
}
