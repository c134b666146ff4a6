/*  optim - the optimizers (sgd, adam, adamw) with torch 1.13's exact update rules, and the lr schedule  */
#include <math.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif
#include "optim.h"

struct optim_t {
    mt_opt_t kind;
    double momentum, weight_decay, beta1, beta2, eps;
    bool nesterov;
    int64_t steps;              // updates done
    size_t n;                   // parameters
    int n_state;                // state buffers in use
    float *state [2];           // momentum_buffer, or exp_avg and exp_avg_sq
    bool avx;                   // the processor has AVX: Adam runs 8 lanes wide
};

static void s_sgd (optim_t *self, float *p, const float *g, double lr);
static void s_adam (optim_t *self, float *p, const float *g, double lr);
static void s_adam_loop (bool avx, float *p, const float *g, float *m, float *v, size_t n,
                         const float k [7], float neg_step);

optim_t *
optim_new (const mt_spec_t *spec, size_t n_params)
{
    optim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = spec->optimizer;
#if defined (__x86_64__) && defined (__GNUC__)
    self->avx = __builtin_cpu_supports ("avx");
#endif
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

void
optim_set_wide (optim_t *self, bool wide)
{
#if defined (__x86_64__) && defined (__GNUC__)
    self->avx = wide && __builtin_cpu_supports ("avx");
#else
    self->avx = false;
#endif
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
s_sgd (optim_t *self, float *restrict p, const float *restrict g, double lr)
{
    const float wd = (float) self->weight_decay;
    const float mom = (float) self->momentum;
    const float neg_lr = (float) -lr;
    float *restrict buf = self->state [0];
    size_t n = self->n;
    if (!buf) {
        for (size_t i = 0; i < n; i++)
            p [i] = p [i] + neg_lr * (g [i] + wd * p [i]);
        return;
    }
    bool first = self->steps == 0;
    for (size_t i = 0; i < n; i++) {
        float d = g [i] + wd * p [i];
        float b = first ? d : buf [i] * mom + d;
        buf [i] = b;
        d = self->nesterov ? d + mom * b : b;
        p [i] = p [i] + neg_lr * d;
    }
}

static void
s_adam (optim_t *self, float *restrict p, const float *restrict g, double lr)
{
    double t = (double) (self->steps + 1);
    const float b1 = (float) self->beta1, b2 = (float) self->beta2;
    const float one_b1 = (float) (1.0 - self->beta1), one_b2 = (float) (1.0 - self->beta2);
    const float neg_step = (float) -(lr / (1.0 - pow (self->beta1, t)));
    const float bc2_sqrt = (float) sqrt (1.0 - pow (self->beta2, t));
    const float eps = (float) self->eps;
    float wd = (float) self->weight_decay;
    if (self->kind == MT_OPT_ADAMW) {
        const float shrink = (float) (1.0 - lr * self->weight_decay);
        for (size_t i = 0; i < self->n; i++)
            p [i] = p [i] * shrink;
        wd = 0.0f;
    }
    s_adam_loop (self->avx, p, g, self->state [0], self->state [1], self->n,
                 (const float [7]) { wd, b1, one_b1, b2, one_b2, bc2_sqrt, eps }, neg_step);
}

#if defined (__x86_64__) && defined (__GNUC__)
//  The same update 8 lanes wide; returns how many parameters it did (a
//  multiple of 8). AVX only, no FMA: every lane rounds as the scalar code.
__attribute__ ((target ("avx")))
static size_t
s_adam_avx (float *restrict p, const float *restrict g, float *restrict m,
            float *restrict v, size_t n, const float k [7], float neg_step)
{
    __m256 wd = _mm256_set1_ps (k [0]), b1 = _mm256_set1_ps (k [1]), o1 = _mm256_set1_ps (k [2]);
    __m256 b2 = _mm256_set1_ps (k [3]), o2 = _mm256_set1_ps (k [4]), bc = _mm256_set1_ps (k [5]);
    __m256 eps = _mm256_set1_ps (k [6]), ns = _mm256_set1_ps (neg_step);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps (p + i);
        __m256 gi = _mm256_add_ps (_mm256_loadu_ps (g + i), _mm256_mul_ps (wd, pi));
        __m256 mi = _mm256_add_ps (_mm256_mul_ps (_mm256_loadu_ps (m + i), b1),
                                   _mm256_mul_ps (o1, gi));
        __m256 vi = _mm256_add_ps (_mm256_mul_ps (_mm256_loadu_ps (v + i), b2),
                                   _mm256_mul_ps (_mm256_mul_ps (o2, gi), gi));
        __m256 denom = _mm256_add_ps (_mm256_div_ps (_mm256_sqrt_ps (vi), bc), eps);
        _mm256_storeu_ps (m + i, mi);
        _mm256_storeu_ps (v + i, vi);
        _mm256_storeu_ps (p + i, _mm256_add_ps (pi, _mm256_div_ps (_mm256_mul_ps (ns, mi), denom)));
    }
    return i;
}
#endif

//  k = { wd, beta1, 1 - beta1, beta2, 1 - beta2, sqrt (bias2), eps }. AVX
//  and SSE lanes do exactly the scalar tail's IEEE operations, in the same
//  order, so results do not depend on the processor.
static void
s_adam_loop (bool avx, float *restrict p, const float *restrict g, float *restrict m,
             float *restrict v, size_t n, const float k [7], float neg_step)
{
    size_t i = 0;
#if defined (__x86_64__) && defined (__GNUC__)
    if (avx)
        i = s_adam_avx (p, g, m, v, n, k, neg_step);
#endif
#ifdef __SSE2__
    __m128 wd = _mm_set1_ps (k [0]), b1 = _mm_set1_ps (k [1]), o1 = _mm_set1_ps (k [2]);
    __m128 b2 = _mm_set1_ps (k [3]), o2 = _mm_set1_ps (k [4]), bc = _mm_set1_ps (k [5]);
    __m128 eps = _mm_set1_ps (k [6]), ns = _mm_set1_ps (neg_step);
    for (; i + 4 <= n; i += 4) {
        __m128 pi = _mm_loadu_ps (p + i);
        __m128 gi = _mm_add_ps (_mm_loadu_ps (g + i), _mm_mul_ps (wd, pi));
        __m128 mi = _mm_add_ps (_mm_mul_ps (_mm_loadu_ps (m + i), b1), _mm_mul_ps (o1, gi));
        __m128 vi = _mm_add_ps (_mm_mul_ps (_mm_loadu_ps (v + i), b2),
                                _mm_mul_ps (_mm_mul_ps (o2, gi), gi));
        __m128 denom = _mm_add_ps (_mm_div_ps (_mm_sqrt_ps (vi), bc), eps);
        _mm_storeu_ps (m + i, mi);
        _mm_storeu_ps (v + i, vi);
        _mm_storeu_ps (p + i, _mm_add_ps (pi, _mm_div_ps (_mm_mul_ps (ns, mi), denom)));
    }
#endif
    for (; i < n; i++) {
        float gi = g [i] + k [0] * p [i];
        m [i] = m [i] * k [1] + k [2] * gi;
        v [i] = v [i] * k [3] + k [4] * gi * gi;
        float denom = sqrtf (v [i]) / k [5] + k [6];
        p [i] = p [i] + neg_step * m [i] / denom;
    }
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
