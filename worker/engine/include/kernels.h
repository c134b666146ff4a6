/*  kernels - the engine's element-wise passes (bias, activations, optimizers, MSE, softmax), one table per vector unit  */
#ifndef MT_KERNELS_H_INCLUDED
#define MT_KERNELS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The vector units a table is compiled for. Every path does the same IEEE
//  operations per element, in the same order (the engine builds with
//  -ffp-contract=off, so no path fuses a multiply and an add), so all give
//  the same bits; unit_kernels checks it.
typedef enum {
    KERNELS_SCALAR,             // one float at a time: the reference
    KERNELS_SSE2,               // 4 lanes
    KERNELS_AVX2,               // 8 lanes
    KERNELS_AVX512,             // 16 lanes (AVX-512F)
    KERNELS_PATHS
} kernels_path_t;

//  The activations a kernel applies (mt_act_t's values, and none)
#define KERNELS_ACT_NONE (-1)

//  Adam's per-step constants, in float as the update uses them (optim.h
//  gives the rule): wd is 0 for adamw, whose decay is shrink = 1 - lr wd.
typedef struct {
    float shrink;               // adamw: p = p shrink first; adam: 1
    float wd, beta1, one_beta1, beta2, one_beta2, bc2_sqrt, eps, neg_step;
} kernels_adam_t;

//  SGD's constants; buf is NULL without momentum.
typedef struct {
    float wd, momentum, neg_lr;
    bool nesterov, first;       // first: buf = g (torch's first step)
} kernels_sgd_t;

typedef struct {
    //  z [r, j] = act (z [r, j] + b [j]) over rows x out (b may be NULL: no add)
    void (*bias_act) (float *z, const float *b, int rows, int out, int act);
    //  delta *= act' expressed through the activated output a, n values
    void (*act_grad) (float *delta, const float *a, size_t n, int act);
    //  db [j] = sum over rows of delta [r, j], rows in order
    void (*bias_grad) (const float *delta, int rows, int out, float *db);
    //  One Adam or AdamW update of n parameters, m and v the moments
    void (*adam) (float *p, const float *g, float *m, float *v, size_t n,
                  const kernels_adam_t *k);
    //  One SGD update of n parameters (buf: the momentum buffer or NULL)
    void (*sgd) (float *p, const float *g, float *buf, size_t n, const kernels_sgd_t *k);
    //  grad [i] = scale (out [i] - y [i]); returns sum (out - y)^2 in double, in order
    double (*mse) (const float *out, const float *y, size_t n, float scale, float *grad);
    //  A layer of one output, the products sgemm is slow at (n = 1 or k = 1):
    //  z [r] = a [r, :] . w + b, in a fixed order of 16 running sums
    void (*dot_rows) (const float *a, int rows, int in, const float *w, float b, float *z);
    //  dw [i] = sum over rows of delta [r] a [r, i] (rows x in), rows in order
    void (*axpy_rows) (const float *delta, int rows, const float *a, int in, float *dw);
    //  out [r, i] = delta [r] w [i], rows x in
    void (*outer) (const float *delta, int rows, const float *w, int in, float *out);
    //  e [i] = exp (x [i]), n values, by the engine's own float exp (range
    //  reduction and a polynomial, the same operations on every path):
    //  within 2 ulp of exp over [-88, 88], 0 below -104, inf above 88.75
    void (*exp_n) (const float *x, size_t n, float *e);
    //  Softmax cross-entropy of rows x k logits z, a row at a time through
    //  exp_n's exp of z - max: returns sum over rows of w (lse - z [label])
    //  (w = weight [label] or 1; 0 when label is NULL). prob: out = softmax
    //  (out may be z); else out = w (softmax - onehot) / norm, the gradient.
    //  out NULL: the loss alone.
    double (*xent) (const float *z, const int32_t *label, size_t rows, int k,
                    const float *weight, double norm, float *out, bool prob);
    kernels_path_t path;
} kernels_t;

//  Whether kernels_gemm_small runs here (AVX2 and FMA).
bool kernels_gemm_small_ok (void);

//  C [m, n] = sum over p < k of A (i, p) B [p, :], plus C's old values when
//  accumulate; A (i, p) = a [i a_row + p a_col], B row-major (ldb), C (ldc).
//  For products too small for OpenBLAS to pay its packing (kernels_gemm.c);
//  only where kernels_gemm_small_ok. Allocates nothing.
void kernels_gemm_small (bool accumulate, int m, int n, int k, const float *a, size_t a_row,
                         size_t a_col, const float *b, int ldb, float *c, int ldc);

//  wt [cols, rows] = w [rows, cols]^T (exact copies); only where
//  kernels_gemm_small_ok.
void kernels_transpose (const float *w, int rows, int cols, float *wt);

//  The table for path, or NULL when this processor lacks its vector unit.
const kernels_t *kernels_get (kernels_path_t path);

//  The widest table this processor runs, or the one MT_SIMD names
//  (scalar, sse2, avx2, avx512) when it is set and supported; chosen once
//  per process, at the first call. Never NULL.
const kernels_t *kernels_best (void);

//  "scalar", "sse2", "avx2", "avx512"
const char *kernels_path_name (kernels_path_t path);

#endif
