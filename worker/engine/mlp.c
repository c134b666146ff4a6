/*  mlp - a multi-layer perceptron in float32: layers, activations, forward, backward, losses  */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include "kernels.h"
#include "mlp.h"
#include "mt/log.h"

struct mlp_t {
    int n_layers;                       // Linear layers
    int in [MLP_MAX_LAYERS];            // inputs of each layer
    int out [MLP_MAX_LAYERS];           // outputs of each layer
    size_t w_off [MLP_MAX_LAYERS];      // weight offset in params
    size_t b_off [MLP_MAX_LAYERS];      // bias offset in params
    size_t n_params;
    mt_act_t act;
    int max_batch;                      // rows the workspaces hold
    int max_width;                      // widest layer output
    float *params;
    float *grads;
    float *acts [MLP_MAX_LAYERS];       // each layer's output (activated), max_batch x out
    float *delta [MLP_MAX_LAYERS];      // d loss / d pre-activation, max_batch x out
    const kernels_t *kernels;           // the element-wise passes' vector unit
    bool small;                         // small products through kernels_gemm_small
    float *wt;                          // a layer's W^T [in, out], packed once a forward
                                        // (and the first layer's dW^T in backward)
};

static void s_layer_forward (const kernels_t *k, const float *a, int rows, int in, int out,
                             const float *w, const float *b, float *z, int act);
static void s_small_forward (mlp_t *self, int l, const float *a, int rows, int act);
static bool s_small (const mlp_t *self, int m, int n, int k);
static void s_weight_grad (mlp_t *self, int l, const float *a, int rows);
static void s_input_grad (mlp_t *self, int l, int rows);
static int s_layout (mlp_t *self, int n_in, const int *hidden, int n_hidden, int n_out);
static void s_threads_for (int m, int n, int k);

#define S_NO_ACT KERNELS_ACT_NONE
#define S_SMALL_GEMM (64 * 64 * 64)     // m n k at most this: kernels_gemm_small
#define S_NARROW 16                     // kernels_gemm_small's column block
#define S_THREADED_GEMM (1 << 20)       // m n k under this: one OpenBLAS thread

mlp_t *
mlp_new (int n_in, const int *hidden, int n_hidden, int n_out, mt_act_t act, int max_batch)
{
    if (n_hidden < 0 || n_hidden > MT_SPEC_MAX_HIDDEN || max_batch < 1
    ||  max_batch > MT_SPEC_MAX_BATCH)
        return NULL;
    mlp_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->act = act;
    self->max_batch = max_batch;
    self->kernels = kernels_best ();
    self->small = kernels_gemm_small_ok () && self->kernels->path >= KERNELS_AVX2;
    if (s_layout (self, n_in, hidden, n_hidden, n_out))
        goto err;
    self->params = calloc (self->n_params, sizeof (float));
    self->grads = calloc (self->n_params, sizeof (float));
    size_t most = 0;
    for (int l = 0; l < self->n_layers; l++)
        if ((size_t) self->in [l] * (size_t) self->out [l] > most)
            most = (size_t) self->in [l] * (size_t) self->out [l];
    self->wt = malloc (most * sizeof (float));
    if (!self->params || !self->grads || !self->wt)
        goto err;
    for (int l = 0; l < self->n_layers; l++) {
        size_t n = (size_t) max_batch * (size_t) self->out [l];
        self->acts [l] = calloc (n, sizeof (float));
        self->delta [l] = calloc (n, sizeof (float));
        if (!self->acts [l] || !self->delta [l])
            goto err;
    }
    return self;
err:
    mlp_destroy (&self);
    return NULL;
}

//  Sizes and offsets of every layer; -1 when a width is out of range
static int
s_layout (mlp_t *self, int n_in, const int *hidden, int n_hidden, int n_out)
{
    self->n_layers = n_hidden + 1;
    size_t offset = 0;
    int in = n_in;
    for (int l = 0; l < self->n_layers; l++) {
        int out = l < n_hidden ? hidden [l] : n_out;
        if (in < 1 || out < 1 || in > MT_SPEC_MAX_FEATURES * 8 || out > MT_SPEC_MAX_WIDTH)
            return -1;
        self->in [l] = in;
        self->out [l] = out;
        self->w_off [l] = offset;
        offset += (size_t) in * (size_t) out;
        self->b_off [l] = offset;
        offset += (size_t) out;
        if (out > self->max_width)
            self->max_width = out;
        in = out;
    }
    self->n_params = offset;
    return 0;
}

void
mlp_destroy (mlp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mlp_t *self = *self_p;
    for (int l = 0; l < MLP_MAX_LAYERS; l++) {
        free (self->acts [l]);
        free (self->delta [l]);
    }
    free (self->params);
    free (self->grads);
    free (self->wt);
    free (self);
    *self_p = NULL;
}

void
mlp_init (mlp_t *self, rng_t *rng)
{
    for (int l = 0; l < self->n_layers; l++) {
        float k = (float) (1.0 / sqrt ((double) self->in [l]));
        float *w = self->params + self->w_off [l];
        size_t n_w = (size_t) self->in [l] * (size_t) self->out [l];
        for (size_t i = 0; i < n_w; i++)
            w [i] = rng_uniform (rng, -k, k);
        float *b = self->params + self->b_off [l];
        for (int i = 0; i < self->out [l]; i++)
            b [i] = rng_uniform (rng, -k, k);
    }
}

int mlp_layers (const mlp_t *self) { return self->n_layers; }
int mlp_layer_in (const mlp_t *self, int layer) { return self->in [layer]; }
int mlp_layer_out (const mlp_t *self, int layer) { return self->out [layer]; }
int mlp_inputs (const mlp_t *self) { return self->in [0]; }
int mlp_outputs (const mlp_t *self) { return self->out [self->n_layers - 1]; }
int mlp_max_batch (const mlp_t *self) { return self->max_batch; }
mt_act_t mlp_activation (const mlp_t *self) { return self->act; }
size_t mlp_param_count (const mlp_t *self) { return self->n_params; }
float *mlp_params (mlp_t *self) { return self->params; }
const float *mlp_params_const (const mlp_t *self) { return self->params; }
float *mlp_grads (mlp_t *self) { return self->grads; }
float *mlp_weight (mlp_t *self, int layer) { return self->params + self->w_off [layer]; }
float *mlp_bias (mlp_t *self, int layer) { return self->params + self->b_off [layer]; }
size_t mlp_weight_offset (const mlp_t *self, int layer) { return self->w_off [layer]; }
size_t mlp_bias_offset (const mlp_t *self, int layer) { return self->b_off [layer]; }
float *mlp_output_grad (mlp_t *self) { return self->delta [self->n_layers - 1]; }

int
mlp_set_path (mlp_t *self, kernels_path_t path)
{
    const kernels_t *k = kernels_get (path);
    if (!k)
        return -1;
    self->kernels = k;
    self->small = kernels_gemm_small_ok () && path >= KERNELS_AVX2;
    return 0;
}

//  Whether a product of m x n x k goes to kernels_gemm_small
static bool
s_small (const mlp_t *self, int m, int n, int k)
{
    return self->small && (size_t) m * (size_t) n * (size_t) k <= S_SMALL_GEMM;
}

//  mlp_set_threads' count, and the count OpenBLAS was last set to for a
//  product (process-wide, as OpenBLAS's own; relaxed: a stale read only
//  costs a call to openblas_set_num_threads)
static atomic_int s_threads = 1;
static atomic_int s_blas_threads = 1;

//  Before each cblas_sgemm: products under S_THREADED_GEMM (m n k) run on
//  one thread even when more are set. Measured on a 2-core Zen (bench_train
//  shapes, README-train.md "Threads"): case (c)'s output layer products
//  (m n k = 327,680: 128 x 10 x 256 and its two gradients) ran at 0.24 to
//  0.83 of their 1-thread rate on 2, and OpenBLAS's own threshold (262,144)
//  splits them; openblas_set_num_threads costs under 10 ns a call.
static void
s_threads_for (int m, int n, int k)
{
    int set = atomic_load_explicit (&s_threads, memory_order_relaxed);
    int want = (double) m * n * k < S_THREADED_GEMM ? 1 : set;
    if (want != atomic_load_explicit (&s_blas_threads, memory_order_relaxed)) {
        openblas_set_num_threads (want);
        atomic_store_explicit (&s_blas_threads, want, memory_order_relaxed);
    }
}

//  z = a . w^T + b, then the activation (or none), rows x out: z starts as
//  the bias and sgemm adds onto it (beta 1: no pass of OpenBLAS's to zero
//  z, none of ours to add b); a layer of one output is a dot per row
static void
s_layer_forward (const kernels_t *k, const float *a, int rows, int in, int out,
                 const float *w, const float *b, float *z, int act)
{
    if (out == 1) {
        k->dot_rows (a, rows, in, w, b [0], z);
        k->bias_act (z, NULL, rows, 1, act);
        return;
    }
    for (int r = 0; r < rows; r++)
        memcpy (z + (size_t) r * (size_t) out, b, (size_t) out * sizeof (float));
    s_threads_for (rows, out, in);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in,
                 1.0f, a, in, w, in, 1.0f, z, out);
    k->bias_act (z, NULL, rows, out, act);
}

//  The forward of layer l through kernels_gemm_small: W^T packed into wt,
//  z = b, then z += a . W^T
static void
s_small_forward (mlp_t *self, int l, const float *a, int rows, int act)
{
    int in = self->in [l], out = self->out [l];
    const float *w = self->params + self->w_off [l], *b = self->params + self->b_off [l];
    float *z = self->acts [l];
    kernels_transpose (w, out, in, self->wt);
    for (int r = 0; r < rows; r++)
        memcpy (z + (size_t) r * (size_t) out, b, (size_t) out * sizeof (float));
    kernels_gemm_small (true, rows, out, in, a, (size_t) in, 1, self->wt, out, z, out);
    self->kernels->bias_act (z, NULL, rows, out, act);
}

const float *
mlp_forward (mlp_t *self, const float *x, int rows)
{
    assert (rows >= 1 && rows <= self->max_batch);
    const float *a = x;
    for (int l = 0; l < self->n_layers; l++) {
        int act = l + 1 < self->n_layers ? (int) self->act : S_NO_ACT;
        if (self->out [l] > 1 && s_small (self, rows, self->out [l], self->in [l])) {
            s_small_forward (self, l, a, rows, act);
            a = self->acts [l];
            continue;
        }
        s_layer_forward (self->kernels, a, rows, self->in [l], self->out [l],
                         self->params + self->w_off [l],
                         self->params + self->b_off [l], self->acts [l], act);
        a = self->acts [l];
    }
    return a;
}

//  dW = delta^T . a [out, in] of layer l: one output is a sum of rows
static void
s_weight_grad (mlp_t *self, int l, const float *a, int rows)
{
    int in = self->in [l], out = self->out [l];
    float *dw = self->grads + self->w_off [l];
    if (out == 1)
        self->kernels->axpy_rows (self->delta [l], rows, a, in, dw);
    else
    if (s_small (self, out, in, rows) && in < S_NARROW && out >= S_NARROW) {
        //  few inputs (the first layer): dW^T = a^T . delta in whole column
        //  blocks into wt, then transposed, rather than masked lanes
        kernels_gemm_small (false, in, out, rows, a, 1, (size_t) in, self->delta [l], out,
                            self->wt, out);
        kernels_transpose (self->wt, in, out, dw);
    }
    else
    if (s_small (self, out, in, rows))
        kernels_gemm_small (false, out, in, rows, self->delta [l], 1, (size_t) out, a, in,
                            dw, in);
    else {
        s_threads_for (out, in, rows);
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows,
                     1.0f, self->delta [l], out, a, in, 0.0f, dw, in);
    }
}

//  d a_prev = delta . W [rows, in] of layer l: one output is an outer product
static void
s_input_grad (mlp_t *self, int l, int rows)
{
    int in = self->in [l], out = self->out [l];
    const float *w = self->params + self->w_off [l];
    if (out == 1)
        self->kernels->outer (self->delta [l], rows, w, in, self->delta [l - 1]);
    else
    if (s_small (self, rows, in, out))
        kernels_gemm_small (false, rows, in, out, self->delta [l], (size_t) out, 1, w, in,
                            self->delta [l - 1], in);
    else {
        s_threads_for (rows, in, out);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out,
                     1.0f, self->delta [l], out, w, in, 0.0f, self->delta [l - 1], in);
    }
}

void
mlp_backward (mlp_t *self, const float *x, int rows)
{
    assert (rows >= 1 && rows <= self->max_batch);
    for (int l = self->n_layers - 1; l >= 0; l--) {
        s_weight_grad (self, l, l > 0 ? self->acts [l - 1] : x, rows);
        self->kernels->bias_grad (self->delta [l], rows, self->out [l],
                                  self->grads + self->b_off [l]);
        if (l == 0)
            break;
        s_input_grad (self, l, rows);
        self->kernels->act_grad (self->delta [l - 1], self->acts [l - 1],
                                 (size_t) rows * (size_t) self->in [l], (int) self->act);
    }
}

size_t
mlp_scratch_floats (const mlp_t *self, int chunk)
{
    return 2 * (size_t) chunk * (size_t) self->max_width;
}

void
mlp_infer (const mlp_t *self, const float *x, size_t rows, float *out, float *scratch,
           int chunk)
{
    float *ping = scratch;
    float *pong = scratch + (size_t) chunk * (size_t) self->max_width;
    int n_out = mlp_outputs (self);
    for (size_t start = 0; start < rows; start += (size_t) chunk) {
        int n = rows - start < (size_t) chunk ? (int) (rows - start) : chunk;
        const float *a = x + start * (size_t) self->in [0];
        for (int l = 0; l < self->n_layers; l++) {
            bool last = l + 1 == self->n_layers;
            float *z = last ? out + start * (size_t) n_out : (l % 2 ? pong : ping);
            s_layer_forward (self->kernels, a, n, self->in [l], self->out [l],
                             self->params + self->w_off [l],
                             self->params + self->b_off [l], z,
                             last ? S_NO_ACT : (int) self->act);
            a = z;
        }
    }
}

double
mlp_loss_mse (const float *out, const float *y, int rows, int n, float *grad)
{
    size_t count = (size_t) rows * (size_t) n;
    float scale = 2.0f / (float) count;
    return kernels_best ()->mse (out, y, count, scale, grad) / (double) count;
}

//  The cross-entropies and softmax: one pass of kernels_best's (kernels.h)
double
mlp_loss_xent (const float *logits, const int32_t *label, int rows, int k, float *grad)
{
    for (int r = 0; r < rows; r++)
        assert (label [r] >= 0 && label [r] < k);
    return kernels_best ()->xent (logits, label, (size_t) rows, k, NULL, rows, grad, false)
         / rows;
}

double
mlp_loss_xent_weighted (const float *logits, const int32_t *label, int rows, int k,
                        const float *weight, float *grad)
{
    double weights = 0;
    for (int r = 0; r < rows; r++) {
        assert (label [r] >= 0 && label [r] < k);
        weights += weight [label [r]];
    }
    return kernels_best ()->xent (logits, label, (size_t) rows, k, weight, weights, grad,
                                  false) / weights;
}

double
mlp_softmax_xent (const float *logits, const int32_t *label, int rows, int k, float *prob)
{
    for (int r = 0; r < rows; r++)
        assert (label [r] >= 0 && label [r] < k);
    return kernels_best ()->xent (logits, label, (size_t) rows, k, NULL, rows, prob, true)
         / rows;
}

void
mlp_softmax (float *logits, size_t rows, int k)
{
    kernels_best ()->xent (logits, NULL, rows, k, NULL, 1, logits, true);
}

void
mlp_set_threads (int threads)
{
    threads = threads < 1 ? 1 : threads;
    atomic_store_explicit (&s_threads, threads, memory_order_relaxed);
    atomic_store_explicit (&s_blas_threads, threads, memory_order_relaxed);
    openblas_set_num_threads (threads);
}

void
mlp_size_blas (int threads, char **argv)
{
    char want [16];
    snprintf (want, sizeof want, "%d", threads);
    const char *now = getenv ("OPENBLAS_NUM_THREADS");
    if ((now && strcmp (now, want) == 0) || setenv ("OPENBLAS_NUM_THREADS", want, 1))
        return;
    execv ("/proc/self/exe", argv);
    mt_warn ("engine: cannot start again with OPENBLAS_NUM_THREADS=%s: %s", want,
             strerror (errno));
}

const char *
mlp_describe (char *buf, size_t size)
{
    const kernels_t *k = kernels_best ();
    int threads = openblas_get_num_threads ();
    snprintf (buf, size, "%s kernels%s, OpenBLAS core %s, %d thread%s",
              kernels_path_name (k->path),
              kernels_gemm_small_ok () && k->path >= KERNELS_AVX2 ? " and small-product FMA" : "",
              openblas_get_corename (), threads, threads == 1 ? "" : "s");
    return buf;
}
