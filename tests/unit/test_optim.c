/*  test_optim - single optimizer steps against the torch 1.13 formulas, and the lr schedule  */
#include "testutil.h"
#include "optim.h"

#define N 5

static const float s_p0 [N] = { 1.0f, -0.5f, 0.25f, 2.0f, 0.0f };
static const float s_g1 [N] = { 0.5f, -1.0f, 0.125f, 0.0f, 3.0f };
static const float s_g2 [N] = { -0.25f, 0.5f, 1.0f, 0.75f, -2.0f };

static mt_spec_t
s_spec (mt_opt_t opt, double momentum, bool nesterov, double wd)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.optimizer = opt;
    spec.lr = 0.1;
    spec.momentum = momentum;
    spec.nesterov = nesterov;
    spec.weight_decay = wd;
    spec.beta1 = 0.9;
    spec.beta2 = 0.999;
    spec.eps = 1e-8;
    return spec;
}

//  Two sgd steps by the formula, in double
static void
s_sgd_ref (const mt_spec_t *s, double *p)
{
    double buf [N];
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < N; i++) {
            double d = (t ? s_g2 : s_g1) [i] + s->weight_decay * p [i];
            if (s->momentum != 0) {
                buf [i] = t ? s->momentum * buf [i] + d : d;
                d = s->nesterov ? d + s->momentum * buf [i] : buf [i];
            }
            p [i] -= s->lr * d;
        }
}

//  Two adam or adamw steps by the formula, in double
static void
s_adam_ref (const mt_spec_t *s, double *p)
{
    double m [N] = { 0 }, v [N] = { 0 };
    for (int t = 1; t <= 2; t++)
        for (int i = 0; i < N; i++) {
            double g = (t == 1 ? s_g1 : s_g2) [i];
            if (s->optimizer == MT_OPT_ADAMW)
                p [i] *= 1 - s->lr * s->weight_decay;
            else
                g += s->weight_decay * p [i];
            m [i] = s->beta1 * m [i] + (1 - s->beta1) * g;
            v [i] = s->beta2 * v [i] + (1 - s->beta2) * g * g;
            double step = s->lr / (1 - pow (s->beta1, t));
            double denom = sqrt (v [i]) / sqrt (1 - pow (s->beta2, t)) + s->eps;
            p [i] -= step * m [i] / denom;
        }
}

static void
s_check (mt_spec_t spec, const char *what)
{
    optim_t *optim = optim_new (&spec, N);
    CHECK (optim);
    float p [N];
    memcpy (p, s_p0, sizeof p);
    optim_step (optim, p, s_g1, spec.lr);
    optim_step (optim, p, s_g2, spec.lr);
    CHECK (optim_steps (optim) == 2);
    double ref [N];
    for (int i = 0; i < N; i++)
        ref [i] = s_p0 [i];
    if (spec.optimizer == MT_OPT_SGD)
        s_sgd_ref (&spec, ref);
    else
        s_adam_ref (&spec, ref);
    for (int i = 0; i < N; i++)
        CHECK_MSG (fabs (p [i] - ref [i]) <= 1e-6 * (1 + fabs (ref [i])),
                   "%s: p[%d] = %.9g, formula %.9g", what, i, (double) p [i], ref [i]);
    printf ("%s: ok\n", what);
    optim_destroy (&optim);
    optim_destroy (&optim);
}

static void
s_check_state (void)
{
    mt_spec_t spec = s_spec (MT_OPT_SGD, 0, false, 0);
    optim_t *o = optim_new (&spec, N);
    CHECK (optim_state_count (o) == 0);
    optim_destroy (&o);
    spec.momentum = 0.9;
    o = optim_new (&spec, N);
    CHECK (optim_state_count (o) == 1);
    CHECK (strcmp (optim_state_name (o, 0), "momentum_buffer") == 0);
    optim_destroy (&o);
    spec = s_spec (MT_OPT_ADAM, 0, false, 0);
    o = optim_new (&spec, N);
    CHECK (optim_state_count (o) == 2);
    CHECK (strcmp (optim_state_name (o, 1), "exp_avg_sq") == 0);
    //  first adam step moves every parameter with a gradient by ~lr
    float p [N];
    memcpy (p, s_p0, sizeof p);
    optim_step (o, p, s_g1, 0.1);
    CHECK_NEAR (p [0], 1.0 - 0.1, 1e-6);
    CHECK_NEAR (p [1], -0.5 + 0.1, 1e-6);
    CHECK_NEAR (p [3], 2.0, 0);
    CHECK_NEAR (optim_state (o, 0) [0], 0.05, 1e-8);
    optim_destroy (&o);
}

static void
s_check_schedule (void)
{
    mt_spec_t spec = s_spec (MT_OPT_ADAM, 0, false, 0);
    CHECK_NEAR (optim_lr (&spec, 0, 100), 0.1, 0);
    CHECK_NEAR (optim_lr (&spec, 99, 100), 0.1, 0);
    spec.schedule = MT_SCHEDULE_COSINE;
    CHECK_NEAR (optim_lr (&spec, 0, 100), 0.1, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 50, 100), 0.05, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 25, 100), 0.1 * (1 + cos (M_PI / 4)) / 2, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 100, 100), 0, 1e-15);
    spec.warmup_steps = 10;
    CHECK_NEAR (optim_lr (&spec, 0, 100), 0.1 * 0.1 * 1.0, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 4, 100), 0.1 * 0.5 * (1 + cos (M_PI * 4 / 100)) / 2, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 9, 100), 0.1 * (1 + cos (M_PI * 9 / 100)) / 2, 1e-15);
    spec.schedule = MT_SCHEDULE_CONSTANT;
    CHECK_NEAR (optim_lr (&spec, 1, 100), 0.02, 1e-15);
    CHECK_NEAR (optim_lr (&spec, 10, 100), 0.1, 0);
    printf ("schedule: ok\n");
}

//  Every vector path this processor has gives the scalar path's bits over
//  20 steps (unit_kernels tests each pass on hostile values)
static void
s_check_wide (mt_opt_t kind)
{
    size_t n = 1003;            // not a multiple of 8 or 4: every path runs
    float *p [2], *g = malloc (n * sizeof (float));
    for (int k = 0; k < 2; k++)
        p [k] = malloc (n * sizeof (float));
    mt_spec_t spec = s_spec (kind, 0, false, 0.01);
    optim_t *opt [2] = { optim_new (&spec, n), optim_new (&spec, n) };
    CHECK (optim_set_path (opt [1], KERNELS_SCALAR) == 0);
    CHECK (optim_set_path (opt [0], KERNELS_PATHS) == -1);
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p [0][i] = p [1][i] = ((float) (seed >> 8) / 16777216.0f - 0.5f) * 2.0f;
    }
    for (int step = 0; step < 20; step++) {
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            g [i] = ((float) (seed >> 8) / 16777216.0f - 0.5f) * 1e-2f * (float) (step + 1);
        }
        optim_step (opt [0], p [0], g, 1e-3);
        optim_step (opt [1], p [1], g, 1e-3);
    }
    CHECK (memcmp (p [0], p [1], n * sizeof (float)) == 0);
    for (int k = 0; k < 2; k++) {
        optim_destroy (&opt [k]);
        free (p [k]);
    }
    free (g);
    printf ("%s %s == scalar: ok\n", kind == MT_OPT_ADAM ? "adam" : "adamw",
            kernels_path_name (kernels_best ()->path));
}

int
main (void)
{
    s_check_wide (MT_OPT_ADAM);
    s_check_wide (MT_OPT_ADAMW);
    s_check (s_spec (MT_OPT_SGD, 0, false, 0), "sgd");
    s_check (s_spec (MT_OPT_SGD, 0, false, 0.01), "sgd wd");
    s_check (s_spec (MT_OPT_SGD, 0.9, false, 0), "sgd momentum");
    s_check (s_spec (MT_OPT_SGD, 0.9, true, 0.01), "sgd nesterov wd");
    s_check (s_spec (MT_OPT_ADAM, 0, false, 0), "adam");
    s_check (s_spec (MT_OPT_ADAM, 0, false, 0.1), "adam wd");
    s_check (s_spec (MT_OPT_ADAMW, 0, false, 0.1), "adamw");
    s_check_state ();
    s_check_schedule ();
    printf ("test_optim: ok\n");
    return 0;
}
