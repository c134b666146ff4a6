/*  kernels - the engine's element-wise passes (bias, activations, optimizers, MSE, softmax), one table per vector unit  */
//  Each pass is written once, as an always-inline body; a wrapper per path
//  compiles it for that path's vector unit (target attributes), and the
//  compiler vectorises the loops (this file builds with -ftree-vectorize,
//  -fno-math-errno so sqrtf is one instruction, and the engine's
//  -ffp-contract=off). The scalar path turns the vectoriser off: it is the
//  reference the others match bit for bit. Vectorising an element-wise loop
//  does not reorder anyone's arithmetic, and no body reduces across lanes
//  (the bias gradient sums down columns, row by row; MSE's double sum runs
//  in its own scalar loop), so every path gives the same bits. Softmax's
//  exp is ours (s_expf: +, *, conversions and bit moves, no libm call), so
//  the vector bodies compute it as the scalar one does.
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "mt/spec.h"

#define S_INLINE static inline __attribute__ ((always_inline))

S_INLINE void
s_bias_act (float *restrict z, const float *restrict b, int rows, int out, int act)
{
    for (int r = 0; r < rows; r++) {
        float *restrict zr = z + (size_t) r * (size_t) out;
        if (b)
            for (int j = 0; j < out; j++)
                zr [j] = zr [j] + b [j];
        if (act == MT_ACT_RELU)
            for (int j = 0; j < out; j++)
                zr [j] = zr [j] > 0.0f ? zr [j] : 0.0f;
        else
        if (act == MT_ACT_TANH)
            for (int j = 0; j < out; j++)
                zr [j] = tanhf (zr [j]);
        else
        if (act == MT_ACT_SIGMOID)
            for (int j = 0; j < out; j++)
                zr [j] = 1.0f / (1.0f + expf (-zr [j]));
    }
}

S_INLINE void
s_act_grad (float *restrict delta, const float *restrict a, size_t n, int act)
{
    if (act == MT_ACT_RELU)
        for (size_t i = 0; i < n; i++)
            delta [i] = a [i] > 0.0f ? delta [i] : 0.0f;
    else
    if (act == MT_ACT_TANH)
        for (size_t i = 0; i < n; i++)
            delta [i] = delta [i] * (1.0f - a [i] * a [i]);
    else
    if (act == MT_ACT_SIGMOID)
        for (size_t i = 0; i < n; i++)
            delta [i] = delta [i] * (a [i] * (1.0f - a [i]));
}

S_INLINE void
s_bias_grad (const float *restrict delta, int rows, int out, float *restrict db)
{
    memset (db, 0, (size_t) out * sizeof (float));
    for (int r = 0; r < rows; r++) {
        const float *restrict dr = delta + (size_t) r * (size_t) out;
        for (int j = 0; j < out; j++)
            db [j] = db [j] + dr [j];
    }
}

//  Adam and AdamW in one pass: shrink is 1 for adam, wd 0 for adamw
S_INLINE void
s_adam (float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
        size_t n, const kernels_adam_t *k)
{
    const float shrink = k->shrink, wd = k->wd, b1 = k->beta1, o1 = k->one_beta1;
    const float b2 = k->beta2, o2 = k->one_beta2, bc = k->bc2_sqrt, eps = k->eps;
    const float ns = k->neg_step;
    for (size_t i = 0; i < n; i++) {
        float pi = p [i] * shrink;
        float gi = g [i] + wd * pi;
        float mi = m [i] * b1 + o1 * gi;
        float vi = v [i] * b2 + o2 * gi * gi;
        float denom = sqrtf (vi) / bc + eps;
        m [i] = mi;
        v [i] = vi;
        p [i] = pi + ns * mi / denom;
    }
}

S_INLINE void
s_sgd (float *restrict p, const float *restrict g, float *restrict buf, size_t n,
       const kernels_sgd_t *k)
{
    const float wd = k->wd, mom = k->momentum, neg_lr = k->neg_lr;
    if (!buf)
        for (size_t i = 0; i < n; i++)
            p [i] = p [i] + neg_lr * (g [i] + wd * p [i]);
    else
    if (k->first)
        for (size_t i = 0; i < n; i++) {
            float d = g [i] + wd * p [i];
            buf [i] = d;
            p [i] = p [i] + neg_lr * (k->nesterov ? d + mom * d : d);
        }
    else
    if (k->nesterov)
        for (size_t i = 0; i < n; i++) {
            float d = g [i] + wd * p [i];
            float b = buf [i] * mom + d;
            buf [i] = b;
            p [i] = p [i] + neg_lr * (d + mom * b);
        }
    else
        for (size_t i = 0; i < n; i++) {
            float b = buf [i] * mom + (g [i] + wd * p [i]);
            buf [i] = b;
            p [i] = p [i] + neg_lr * b;
        }
}

S_INLINE double
s_mse (const float *restrict out, const float *restrict y, size_t n, float scale,
       float *restrict grad)
{
    if (grad)
        for (size_t i = 0; i < n; i++)
            grad [i] = scale * (out [i] - y [i]);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        float d = out [i] - y [i];
        sum += (double) d * d;
    }
    return sum;
}

//  2^n as a float, n in [-126, 127]: the exponent field's bits
S_INLINE float
s_pow2i (int32_t n)
{
    union { uint32_t u; float f; } v = { .u = (uint32_t) (n + 127) << 23 };
    return v.f;
}

//  exp (x) in float: x = n ln2 + r with |r| <= ln2 / 2 (n rounded by the
//  1.5 2^23 trick, ln2 in two parts so that n ln2's high part is exact),
//  exp (r) by its Taylor series to r^7 (truncation under 0.12 ulp), times
//  2^n in two steps so that subnormal and overflowing results round once.
//  Inputs below -104 give 0, above 88.75 infinity, NaN stays NaN.
S_INLINE float
s_expf (float x)
{
    const float x0 = x;
    x = x > -104.0f ? x : -104.0f;
    x = x < 88.75f ? x : 88.75f;
    float kf = x * 1.44269504f + 12582912.0f;
    kf = kf - 12582912.0f;
    float r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float q = 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    float y = 1.0f + (r + r * r * q);
    int32_t n = (int32_t) kf;
    int32_t half = n / 2;
    y = y * s_pow2i (half) * s_pow2i (n - half);
    return x0 == x0 ? y : x0;
}

S_INLINE void
s_exp (const float *restrict x, size_t n, float *restrict e)
{
    for (size_t i = 0; i < n; i++)
        e [i] = s_expf (x [i]);
}

//  Softmax cross-entropy a row at a time: the row's largest logit m,
//  e = exp (z - m) into out (element-wise), their sum in double in order
//  (a scalar loop), the row's loss w (m + log sum - z [label]) added to the
//  total, then out = e / sum (prob) or w (e / sum - onehot) / norm (the
//  gradient). out may be z (prob), or NULL (the loss alone).
S_INLINE double
s_xent (const float *z, const int32_t *label, size_t rows, int k, const float *weight,
        double norm, float *out, bool prob)
{
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *zr = z + r * (size_t) k;
        float m = zr [0];
        for (int j = 1; j < k; j++)
            m = zr [j] > m ? zr [j] : m;
        const float zl = label ? zr [label [r]] : 0.0f;     // before out overwrites z
        double sum = 0;
        float *o = out ? out + r * (size_t) k : NULL;
        if (o) {
            for (int j = 0; j < k; j++)
                o [j] = s_expf (zr [j] - m);
            for (int j = 0; j < k; j++)
                sum += (double) o [j];
        }
        else
            for (int j = 0; j < k; j++)
                sum += (double) s_expf (zr [j] - m);
        double w = weight && label ? (double) weight [label [r]] : 1.0;
        if (label)
            total += w * ((double) m + log (sum) - (double) zl);
        if (!o)
            continue;
        if (prob) {
            const float s = (float) sum;
            for (int j = 0; j < k; j++)
                o [j] = o [j] / s;
        }
        else {
            const float s = (float) (w / (sum * norm));
            for (int j = 0; j < k; j++)
                o [j] = o [j] * s;
            o [label [r]] -= (float) (w / norm);
        }
    }
    return total;
}

//  z [r] = dot (a [r, :], w) + b for rows of in: 16 running sums, each
//  taking every 16th product in order, added pairwise at the end; the same
//  order on every path (16 lanes are one AVX-512, two AVX or four SSE
//  registers)
S_INLINE void
s_dot_rows (const float *restrict a, int rows, int in, const float *restrict w, float b,
            float *restrict z)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict ar = a + (size_t) r * (size_t) in;
        float s [16] = { 0 };
        int i = 0;
        for (; i + 16 <= in; i += 16)
            for (int j = 0; j < 16; j++)
                s [j] = s [j] + ar [i + j] * w [i + j];
        for (int j = 0; i + j < in; j++)
            s [j] = s [j] + ar [i + j] * w [i + j];
        for (int half = 8; half >= 1; half /= 2)
            for (int j = 0; j < half; j++)
                s [j] = s [j] + s [j + half];
        z [r] = s [0] + b;
    }
}

//  dw [i] = sum over rows of delta [r] a [r, i], rows in order
S_INLINE void
s_axpy_rows (const float *restrict delta, int rows, const float *restrict a, int in,
             float *restrict dw)
{
    for (int i = 0; i < in; i++)
        dw [i] = delta [0] * a [i];
    for (int r = 1; r < rows; r++) {
        const float *restrict ar = a + (size_t) r * (size_t) in;
        const float d = delta [r];
        for (int i = 0; i < in; i++)
            dw [i] = dw [i] + d * ar [i];
    }
}

//  out [r, i] = delta [r] w [i], rows x in
S_INLINE void
s_outer (const float *restrict delta, int rows, const float *restrict w, int in,
         float *restrict out)
{
    for (int r = 0; r < rows; r++) {
        float *restrict o = out + (size_t) r * (size_t) in;
        const float d = delta [r];
        for (int i = 0; i < in; i++)
            o [i] = d * w [i];
    }
}

//  One path's wrappers and table, each body compiled under ATTR
#define S_PATH(NAME, PATH, ATTR) \
ATTR static void s_bias_act_##NAME (float *z, const float *b, int rows, int out, int act) \
{ s_bias_act (z, b, rows, out, act); } \
ATTR static void s_act_grad_##NAME (float *delta, const float *a, size_t n, int act) \
{ s_act_grad (delta, a, n, act); } \
ATTR static void s_bias_grad_##NAME (const float *delta, int rows, int out, float *db) \
{ s_bias_grad (delta, rows, out, db); } \
ATTR static void s_adam_##NAME (float *p, const float *g, float *m, float *v, size_t n, \
                                const kernels_adam_t *k) \
{ s_adam (p, g, m, v, n, k); } \
ATTR static void s_sgd_##NAME (float *p, const float *g, float *buf, size_t n, \
                               const kernels_sgd_t *k) \
{ s_sgd (p, g, buf, n, k); } \
ATTR static double s_mse_##NAME (const float *out, const float *y, size_t n, float scale, \
                                 float *grad) \
{ return s_mse (out, y, n, scale, grad); } \
ATTR static void s_dot_rows_##NAME (const float *a, int rows, int in, const float *w, \
                                    float b, float *z) \
{ s_dot_rows (a, rows, in, w, b, z); } \
ATTR static void s_axpy_rows_##NAME (const float *delta, int rows, const float *a, int in, \
                                     float *dw) \
{ s_axpy_rows (delta, rows, a, in, dw); } \
ATTR static void s_outer_##NAME (const float *delta, int rows, const float *w, int in, \
                                 float *out) \
{ s_outer (delta, rows, w, in, out); } \
ATTR static void s_exp_##NAME (const float *x, size_t n, float *e) \
{ s_exp (x, n, e); } \
ATTR static double s_xent_##NAME (const float *z, const int32_t *label, size_t rows, int k, \
                                  const float *weight, double norm, float *out, bool prob) \
{ return s_xent (z, label, rows, k, weight, norm, out, prob); } \
static const kernels_t s_table_##NAME = { \
    s_bias_act_##NAME, s_act_grad_##NAME, s_bias_grad_##NAME, s_adam_##NAME, s_sgd_##NAME, \
    s_mse_##NAME, s_dot_rows_##NAME, s_axpy_rows_##NAME, s_outer_##NAME, s_exp_##NAME, \
    s_xent_##NAME, PATH };

/* gcc keeps the scalar path scalar; clang has no per-function optimize attribute (its
   vectorised scalar path is still SSE2 at most, and no pass sums across lanes) */
#if defined (__clang__)
#define S_SCALAR_ATTR
#else
#define S_SCALAR_ATTR __attribute__ ((optimize ("no-tree-vectorize")))
#endif
S_PATH (scalar, KERNELS_SCALAR, S_SCALAR_ATTR)
#if defined (__x86_64__) && defined (__GNUC__)
#define S_X86 1
S_PATH (sse2, KERNELS_SSE2, __attribute__ ((target ("sse2"))))
S_PATH (avx2, KERNELS_AVX2, __attribute__ ((target ("avx2"))))
S_PATH (avx512, KERNELS_AVX512, __attribute__ ((target ("avx512f"))))
#endif

static const char *s_names [KERNELS_PATHS] = { "scalar", "sse2", "avx2", "avx512" };
static const kernels_t *s_widest (void);

const kernels_t *
kernels_get (kernels_path_t path)
{
    if (path == KERNELS_SCALAR)
        return &s_table_scalar;
#ifdef S_X86
    __builtin_cpu_init ();
    if (path == KERNELS_SSE2 && __builtin_cpu_supports ("sse2"))
        return &s_table_sse2;
    if (path == KERNELS_AVX2 && __builtin_cpu_supports ("avx2"))
        return &s_table_avx2;
    if (path == KERNELS_AVX512 && __builtin_cpu_supports ("avx512f"))
        return &s_table_avx512;
#endif
    return NULL;
}

static const kernels_t *s_best;     // chosen once per process, then only read
static pthread_once_t s_best_once = PTHREAD_ONCE_INIT;

static void
s_choose (void)
{
    s_best = s_widest ();
}

const kernels_t *
kernels_best (void)
{
    pthread_once (&s_best_once, s_choose);
    return s_best;
}

//  MT_SIMD's path when set and supported, else the widest this processor has
static const kernels_t *
s_widest (void)
{
    const char *want = getenv ("MT_SIMD");
    for (int p = KERNELS_SCALAR; want && p < KERNELS_PATHS; p++)
        if (strcmp (want, s_names [p]) == 0 && kernels_get ((kernels_path_t) p))
            return kernels_get ((kernels_path_t) p);
    for (int p = KERNELS_PATHS - 1; p > KERNELS_SCALAR; p--)
        if (kernels_get ((kernels_path_t) p))
            return kernels_get ((kernels_path_t) p);
    return &s_table_scalar;
}

const char *
kernels_path_name (kernels_path_t path)
{
    return path >= 0 && path < KERNELS_PATHS ? s_names [path] : "unknown";
}
