/*  test_kernels - every vector path this processor has gives the scalar path's bits, pass by pass; the float exp's error  */
#include <stdint.h>
#include "testutil.h"
#include "fpenv.h"
#include "kernels.h"
#include "mt/spec.h"

#define S_MAX 1003
#define S_COPIES 2              // the scalar reference and the path under test

static const size_t s_sizes [] = { 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 1003 };
#define S_SIZES (sizeof s_sizes / sizeof s_sizes [0])

static uint32_t s_seed = 2463534242u;

static uint32_t
s_next (void)
{
    s_seed ^= s_seed << 13;
    s_seed ^= s_seed >> 17;
    s_seed ^= s_seed << 5;
    return s_seed;
}

//  A float the passes should meet: mostly ordinary values of mixed scale,
//  with zeros of both signs, subnormals, the smallest normal and huge ones
static float
s_value (void)
{
    uint32_t pick = s_next () % 16;
    float unit = (float) (s_next () >> 8) / 16777216.0f * 2.0f - 1.0f;
    switch (pick) {
        case 0: return 0.0f;
        case 1: return -0.0f;
        case 2: return unit * 1e-39f;           // subnormal
        case 3: return unit * 1.1754944e-38f;   // around the smallest normal
        case 4: return unit * 1e30f;            // squares overflow
        case 5: return unit * 1e-20f;           // squares underflow
        default: return unit * (float) (1u << (s_next () % 8));
    }
}

static void
s_fill (float *x, size_t n, bool positive)
{
    for (size_t i = 0; i < n; i++) {
        x [i] = s_value ();
        if (positive)
            x [i] = fabsf (x [i]);
    }
}

static void
s_same (const float *a, const float *b, size_t n, const char *what, const char *path, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t x, y;
        memcpy (&x, a + i, 4);
        memcpy (&y, b + i, 4);
        CHECK_MSG (x == y, "%s on %s, size %zu: [%zu] scalar %a (0x%08x), %s %a (0x%08x)",
                   what, path, at, i, (double) a [i], x, path, (double) b [i], y);
    }
}

//  bias_act for each activation, with and without a bias, rows x out
static void
s_check_bias_act (const kernels_t *ref, const kernels_t *k, size_t out)
{
    static float z [S_COPIES][5 * S_MAX], b [S_MAX];
    int acts [] = { KERNELS_ACT_NONE, MT_ACT_RELU, MT_ACT_TANH, MT_ACT_SIGMOID };
    for (int rows = 1; rows <= 5; rows += 2)
        for (int a = 0; a < 4; a++) {
            size_t n = (size_t) rows * out;
            s_fill (z [0], n, false);
            s_fill (b, out, false);
            memcpy (z [1], z [0], n * sizeof (float));
            bool bias = (rows + a) % 2 == 0;
            ref->bias_act (z [0], bias ? b : NULL, rows, (int) out, acts [a]);
            k->bias_act (z [1], bias ? b : NULL, rows, (int) out, acts [a]);
            s_same (z [0], z [1], n, "bias_act", kernels_path_name (k->path), out);
        }
}

static void
s_check_grads (const kernels_t *ref, const kernels_t *k, size_t n)
{
    static float d [S_COPIES][5 * S_MAX], a [5 * S_MAX], db [S_COPIES][S_MAX];
    int acts [] = { MT_ACT_RELU, MT_ACT_TANH, MT_ACT_SIGMOID };
    for (int i = 0; i < 3; i++) {
        s_fill (d [0], n, false);
        s_fill (a, n, acts [i] == MT_ACT_SIGMOID);
        memcpy (d [1], d [0], n * sizeof (float));
        ref->act_grad (d [0], a, n, acts [i]);
        k->act_grad (d [1], a, n, acts [i]);
        s_same (d [0], d [1], n, "act_grad", kernels_path_name (k->path), n);
    }
    for (int rows = 1; rows <= 5; rows += 4) {
        s_fill (d [0], (size_t) rows * n, false);
        ref->bias_grad (d [0], rows, (int) n, db [0]);
        k->bias_grad (d [0], rows, (int) n, db [1]);
        s_same (db [0], db [1], n, "bias_grad", kernels_path_name (k->path), n);
    }
}

//  Three steps of adam (wd 0.01) and adamw from the same random state
static void
s_check_adam (const kernels_t *ref, const kernels_t *k, size_t n)
{
    static float p [S_COPIES][S_MAX], m [S_COPIES][S_MAX], v [S_COPIES][S_MAX], g [S_MAX];
    for (int adamw = 0; adamw < 2; adamw++) {
        s_fill (p [0], n, false);
        s_fill (m [0], n, false);
        s_fill (v [0], n, true);
        memcpy (p [1], p [0], n * sizeof (float));
        memcpy (m [1], m [0], n * sizeof (float));
        memcpy (v [1], v [0], n * sizeof (float));
        for (int t = 1; t <= 3; t++) {
            kernels_adam_t c = {
                .shrink = adamw ? 1.0f - 1e-3f * 0.01f : 1.0f, .wd = adamw ? 0.0f : 0.01f,
                .beta1 = 0.9f, .one_beta1 = 0.1f, .beta2 = 0.999f, .one_beta2 = 0.001f,
                .bc2_sqrt = sqrtf (1.0f - powf (0.999f, (float) t)), .eps = 1e-8f,
                .neg_step = -1e-3f / (1.0f - powf (0.9f, (float) t))
            };
            s_fill (g, n, false);
            ref->adam (p [0], g, m [0], v [0], n, &c);
            k->adam (p [1], g, m [1], v [1], n, &c);
        }
        const char *what = adamw ? "adamw" : "adam";
        s_same (p [0], p [1], n, what, kernels_path_name (k->path), n);
        s_same (m [0], m [1], n, what, kernels_path_name (k->path), n);
        s_same (v [0], v [1], n, what, kernels_path_name (k->path), n);
    }
}

//  sgd: plain, momentum, nesterov; each three steps (the first is torch's buf = g)
static void
s_check_sgd (const kernels_t *ref, const kernels_t *k, size_t n)
{
    static float p [S_COPIES][S_MAX], buf [S_COPIES][S_MAX], g [S_MAX];
    for (int kind = 0; kind < 3; kind++) {
        s_fill (p [0], n, false);
        memcpy (p [1], p [0], n * sizeof (float));
        for (int t = 0; t < 3; t++) {
            kernels_sgd_t c = { .wd = 0.01f, .momentum = kind ? 0.9f : 0.0f, .neg_lr = -0.1f,
                                .nesterov = kind == 2, .first = t == 0 };
            s_fill (g, n, false);
            ref->sgd (p [0], g, kind ? buf [0] : NULL, n, &c);
            k->sgd (p [1], g, kind ? buf [1] : NULL, n, &c);
        }
        s_same (p [0], p [1], n, "sgd", kernels_path_name (k->path), n);
        if (kind)
            s_same (buf [0], buf [1], n, "sgd buf", kernels_path_name (k->path), n);
    }
}

static void
s_check_mse (const kernels_t *ref, const kernels_t *k, size_t n)
{
    static float out [S_MAX], y [S_MAX], grad [S_COPIES][S_MAX];
    s_fill (out, n, false);
    s_fill (y, n, false);
    double sum [2] = { ref->mse (out, y, n, 2.0f / (float) n, grad [0]),
                       k->mse (out, y, n, 2.0f / (float) n, grad [1]) };
    CHECK (memcmp (&sum [0], &sum [1], sizeof (double)) == 0);
    CHECK (memcmp (&sum [0], (double []) { k->mse (out, y, n, 1.0f, NULL) }, sizeof (double)) == 0);
    s_same (grad [0], grad [1], n, "mse grad", kernels_path_name (k->path), n);
}

//  A logit the softmax should meet: s_value's mix, or one far from the rest
//  of its row (large negative or positive), so that exps underflow to 0
static float
s_logit (void)
{
    uint32_t pick = s_next () % 8;
    float unit = (float) (s_next () >> 8) / 16777216.0f * 2.0f - 1.0f;
    if (pick == 0)
        return unit * 1e4f;
    if (pick == 1)
        return -90.0f - 100.0f * fabsf (unit);
    if (pick == 2)
        return 80.0f + 20.0f * fabsf (unit);
    return s_value ();
}

//  The softmax/cross-entropy pass in each of its modes: the gradient
//  (unweighted and weighted), the probabilities, the loss alone, softmax
//  in place; the same loss and bits as the scalar path
static void
s_check_xent (const kernels_t *ref, const kernels_t *k)
{
    enum { ROWS = 1003, MAX_K = 33 };
    static float z [ROWS * MAX_K], out [S_COPIES][ROWS * MAX_K], weight [MAX_K];
    static int32_t label [ROWS];
    const int ks [] = { 2, 3, 7, 10, 33 };
    const size_t rows [] = { 1, 2, 3, 7, 16, 17, 100, 1003 };
    const char *path = kernels_path_name (k->path);
    for (int ki = 0; ki < 5; ki++)
        for (int ri = 0; ri < 8; ri++) {
            int c = ks [ki];
            size_t n = rows [ri] * (size_t) c;
            for (size_t i = 0; i < n; i++)
                z [i] = s_logit ();
            for (size_t r = 0; r < rows [ri]; r++)
                label [r] = (int32_t) (s_next () % (uint32_t) c);
            for (int j = 0; j < c; j++)
                weight [j] = 0.25f + (float) (s_next () % 8);
            for (int mode = 0; mode < 5; mode++) {
                const float *w = mode == 1 ? weight : NULL;
                const int32_t *lb = mode == 4 ? NULL : label;
                bool prob = mode >= 2;
                double got [2];
                for (int copy = 0; copy < 2; copy++) {
                    const kernels_t *t = copy ? k : ref;
                    float *o = mode == 3 ? NULL : out [copy];
                    if (mode == 4)
                        memcpy (o, z, n * sizeof (float));
                    got [copy] = t->xent (mode == 4 ? o : z, lb, rows [ri], c, w,
                                          1.0 + (double) rows [ri], o, prob);
                }
                CHECK_MSG (memcmp (&got [0], &got [1], sizeof (double)) == 0,
                           "xent mode %d on %s, %zu x %d: loss %.17g vs %.17g", mode, path,
                           rows [ri], c, got [0], got [1]);
                CHECK (mode == 4 ? got [0] == 0 : isfinite (got [0]) && got [0] >= 0);
                if (mode != 3)
                    s_same (out [0], out [1], n, "xent", path, n);
            }
        }
}

//  exp_n against libm's double exp over a dense sweep of [-88, 88], to the
//  stated 2 ulp (of the correctly rounded float: 2^-149 below the smallest
//  normal), and its ends; under FTZ/DAZ results below 2^-126 are 0
static void
s_check_exp (const kernels_t *ref, const kernels_t *k, bool ftz)
{
    enum { CHUNK = 4096, POINTS = 2000000 };
    static float x [CHUNK], e [S_COPIES][CHUNK];
    double worst = 0, worst_x = 0;
    for (int start = 0; start <= POINTS; start += CHUNK) {
        int n = POINTS + 1 - start < CHUNK ? POINTS + 1 - start : CHUNK;
        for (int i = 0; i < n; i++)
            x [i] = (float) (-88.0 + 176.0 * (double) (start + i) / POINTS);
        ref->exp_n (x, (size_t) n, e [0]);
        k->exp_n (x, (size_t) n, e [1]);
        s_same (e [0], e [1], (size_t) n, "exp", kernels_path_name (k->path), (size_t) n);
        for (int i = 0; i < n && !ftz; i++) {
            double want = exp ((double) x [i]);
            double ulp = want < 0x1p-126 ? 0x1p-149 : ldexp (1.0, ilogb (want) - 23);
            double err = fabs ((double) e [1][i] - want) / ulp;
            if (err > worst) {
                worst = err;
                worst_x = x [i];
            }
        }
    }
    CHECK_MSG (worst <= 2.0, "exp on %s: %.3f ulp at x = %.9g", kernels_path_name (k->path),
               worst, worst_x);
    float ends [7] = { 0.0f, -0.0f, -104.5f, -INFINITY, 89.0f, INFINITY, NAN }, got [7];
    k->exp_n (ends, 7, got);
    CHECK (got [0] == 1.0f && got [1] == 1.0f && got [2] == 0.0f && got [3] == 0.0f);
    CHECK (isinf (got [4]) && isinf (got [5]) && isnan (got [6]));
    if (!ftz)
        printf ("exp on %s: worst %.3f ulp over [-88, 88] at x = %.9g\n",
                kernels_path_name (k->path), worst, worst_x);
}

static void
s_check_path (const kernels_t *ref, const kernels_t *k)
{
    for (size_t i = 0; i < S_SIZES; i++) {
        s_check_bias_act (ref, k, s_sizes [i]);
        s_check_grads (ref, k, s_sizes [i]);
        s_check_adam (ref, k, s_sizes [i]);
        s_check_sgd (ref, k, s_sizes [i]);
        s_check_mse (ref, k, s_sizes [i]);
    }
    s_check_xent (ref, k);
}

//  ReLU is max (z, 0) with -0 and NaN going to +0, its gradient a mask
static void
s_check_relu (const kernels_t *k)
{
    float z [4] = { -0.0f, NAN, -1.0f, 2.5f }, d [4] = { 1.0f, 1.0f, 1.0f, 1.0f };
    k->bias_act (z, NULL, 1, 4, MT_ACT_RELU);
    CHECK (z [0] == 0.0f && !signbit (z [0]) && z [1] == 0.0f && z [2] == 0.0f && z [3] == 2.5f);
    k->act_grad (d, z, 4, MT_ACT_RELU);
    CHECK (d [0] == 0.0f && d [1] == 0.0f && d [2] == 0.0f && d [3] == 1.0f);
}

//  kernels_gemm_small against a double reference on odd shapes, with A read
//  straight and transposed, C overwritten and accumulated onto
static void
s_check_gemm (void)
{
    if (!kernels_gemm_small_ok ()) {
        printf ("gemm_small: no AVX2 and FMA here, skipped\n");
        return;
    }
    static float a [40 * 40], b [40 * 40], c [40 * 41], c0 [40 * 41];
    const int dims [] = { 1, 3, 4, 5, 8, 10, 15, 16, 17, 33, 40 };
    int tried = 0;
    for (int mi = 0; mi < 11; mi++)
        for (int ni = 0; ni < 11; ni++)
            for (int ki = 0; ki < 11; ki += 3) {
                int m = dims [mi], n = dims [ni], k = dims [ki], ldc = n + 1;
                bool trans = (mi + ni) % 2, acc = (ni + ki) % 2;
                for (int i = 0; i < 40 * 40; i++) {
                    a [i] = (float) (s_next () >> 8) / 16777216.0f - 0.5f;
                    b [i] = (float) (s_next () >> 8) / 16777216.0f - 0.5f;
                }
                for (int i = 0; i < 40 * 41; i++)
                    c [i] = c0 [i] = (float) (s_next () >> 8) / 16777216.0f;
                size_t a_row = trans ? 1 : (size_t) k, a_col = trans ? (size_t) m : 1;
                kernels_gemm_small (acc, m, n, k, a, a_row, a_col, b, n, c, ldc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < ldc; j++) {
                        double want = acc || j == n ? c0 [i * ldc + j] : 0, size = 0;
                        for (int p = 0; j < n && p < k; p++) {
                            double t = (double) a [i * a_row + p * a_col] * b [p * n + j];
                            want += t;
                            size += fabs (t);
                        }
                        CHECK_MSG (fabs (c [i * ldc + j] - want) <= 1e-6 * (size + 1),
                                   "gemm %dx%dx%d%s%s: c[%d,%d] = %.9g, want %.9g", m, n, k,
                                   trans ? " A^T" : "", acc ? " +=" : "", i, j,
                                   (double) c [i * ldc + j], want);
                        //  and bit for bit the sum over p in order, one FMA each
                        float exact = acc || j == n ? c0 [i * ldc + j] : 0.0f;
                        for (int p = 0; j < n && p < k; p++)
                            exact = fmaf (a [i * a_row + p * a_col], b [p * n + j], exact);
                        CHECK_MSG (memcmp (&c [i * ldc + j], &exact, sizeof exact) == 0,
                                   "gemm %dx%dx%d: c[%d,%d] = %.9g, in-order FMA gives %.9g",
                                   m, n, k, i, j, (double) c [i * ldc + j], (double) exact);
                    }
                for (int i = m * ldc; i < 40 * 41; i++)
                    CHECK (c [i] == c0 [i]);        // nothing past the last row written
                tried++;
            }
    printf ("gemm_small: %d shapes ok\n", tried);
    for (int ri = 0; ri < 11; ri++)
        for (int ci = 0; ci < 11; ci++) {
            int rows = dims [ri], cols = dims [ci];
            for (int i = 0; i < rows * cols; i++)
                a [i] = s_value ();
            memset (b, 0xff, sizeof b);
            kernels_transpose (a, rows, cols, b);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    CHECK (memcmp (&b [j * rows + i], &a [i * cols + j], 4) == 0);
            CHECK (rows * cols == 40 * 40 || ((uint32_t *) b) [rows * cols] == 0xffffffffu);
        }
    printf ("transpose: ok\n");
}

int
main (void)
{
    //  MT_SIMD picks the path, read once at the first kernels_best
    setenv ("MT_SIMD", "scalar", 1);
    CHECK (kernels_best ()->path == KERNELS_SCALAR);
    CHECK (kernels_get (KERNELS_SCALAR) && kernels_get (KERNELS_PATHS) == NULL);
    CHECK (strcmp (kernels_path_name (KERNELS_AVX512), "avx512") == 0);
    const kernels_t *ref = kernels_get (KERNELS_SCALAR);
    int tested = 0;
    for (int ftz = 0; ftz < 2; ftz++) {
        uint32_t saved = ftz ? fpenv_fast () : 0;
        for (int p = KERNELS_SCALAR; p < KERNELS_PATHS; p++) {
            const kernels_t *k = kernels_get ((kernels_path_t) p);
            if (!k) {
                printf ("%s: not on this processor, skipped\n", kernels_path_name (p));
                continue;
            }
            CHECK (k->path == (kernels_path_t) p);
            s_check_relu (k);
            s_check_path (ref, k);
            s_check_exp (ref, k, ftz);
            tested += p != KERNELS_SCALAR;
            printf ("%s == scalar%s: ok\n", kernels_path_name (p), ftz ? " (FTZ/DAZ)" : "");
        }
        if (ftz)
            fpenv_restore (saved);
    }
    s_check_gemm ();
#if defined (__x86_64__)
    CHECK (tested >= 2);        // x86-64 has SSE2 at least, in both MXCSR modes
#endif
    printf ("test_kernels: ok\n");
    return 0;
}
