/*  mlp - a multi-layer perceptron in float32: layers, activations, forward, backward, losses  */
#ifndef MT_MLP_H_INCLUDED
#define MT_MLP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "mt/spec.h"
#include "kernels.h"
#include "rng.h"

#define MLP_MAX_LAYERS (MT_SPEC_MAX_HIDDEN + 1)

//  A stack of Linear layers with one activation between them (none after
//  the last): the layout of torch's nn.Sequential(Linear, Act, ..., Linear).
//  All parameters live in one flat array, layer by layer, each layer's
//  weight [out, in] row-major then its bias [out]; the gradients mirror it.
typedef struct mlp_t mlp_t;

//  Create a network n_in -> hidden [0] -> ... -> n_out with workspaces for
//  batches of up to max_batch rows. Parameters are zero. Returns NULL when
//  a size is out of range or memory runs out.
mlp_t *mlp_new (int n_in, const int *hidden, int n_hidden, int n_out, mt_act_t act,
                int max_batch);
void mlp_destroy (mlp_t **self_p);

//  Initialize as torch's nn.Linear: for each layer in order, every weight
//  (row-major) then every bias, drawn uniform in [-k, k), k = 1/sqrt(in).
void mlp_init (mlp_t *self, rng_t *rng);

//  Shapes and the flat parameter and gradient arrays (borrowed).
int mlp_layers (const mlp_t *self);                 // Linear layers, n_hidden + 1
int mlp_layer_in (const mlp_t *self, int layer);
int mlp_layer_out (const mlp_t *self, int layer);
int mlp_inputs (const mlp_t *self);
int mlp_outputs (const mlp_t *self);
int mlp_max_batch (const mlp_t *self);
mt_act_t mlp_activation (const mlp_t *self);
size_t mlp_param_count (const mlp_t *self);
float *mlp_params (mlp_t *self);
const float *mlp_params_const (const mlp_t *self);
float *mlp_grads (mlp_t *self);
float *mlp_weight (mlp_t *self, int layer);         // [out, in]
float *mlp_bias (mlp_t *self, int layer);           // [out]
size_t mlp_weight_offset (const mlp_t *self, int layer);   // in the flat array
size_t mlp_bias_offset (const mlp_t *self, int layer);

//  Run the bias, activation and gradient passes on path's vector unit
//  (kernels_best's by default). Every path gives the same bits. -1 when
//  this processor lacks the unit.
int mlp_set_path (mlp_t *self, kernels_path_t path);

//  Forward rows (<= max_batch) of x [rows, n_in]; returns the output
//  [rows, n_out] (linear: regression values or classification logits),
//  kept inside the network until the next forward. Allocates nothing.
const float *mlp_forward (mlp_t *self, const float *x, int rows);

//  The gradient of the loss with respect to the last forward's output,
//  [max_batch, n_out], for the caller (or a loss) to fill before backward.
float *mlp_output_grad (mlp_t *self);

//  Backpropagate the output gradient of the last forward (same x, rows);
//  overwrites mlp_grads. Allocates nothing.
void mlp_backward (mlp_t *self, const float *x, int rows);

//  Forward any number of rows with caller scratch (mlp_scratch_floats
//  floats for chunk rows at a time), for prediction from a const network.
size_t mlp_scratch_floats (const mlp_t *self, int chunk);
void mlp_infer (const mlp_t *self, const float *x, size_t rows, float *out,
                float *scratch, int chunk);

//  Mean squared error over rows x n values (torch MSELoss, mean); when grad
//  is not NULL it gets d loss / d out = 2 (out - y) / (rows n), on
//  kernels_best's vector unit.
double mlp_loss_mse (const float *out, const float *y, int rows, int n, float *grad);

//  Softmax cross-entropy of logits [rows, k] against labels in [0, k), mean
//  over rows, through log-sum-exp; when grad is not NULL it gets
//  (softmax - onehot) / rows. The exps are the engine's float exp (within
//  2 ulp), summed in double, on kernels_best's vector unit (kernels.h
//  xent): every path gives the same bits.
double mlp_loss_xent (const float *logits, const int32_t *label, int rows, int k,
                      float *grad);

//  The same weighted by class, as torch's CrossEntropyLoss(weight=w) with
//  reduction 'mean': sum_r w [label r] nll_r / sum_r w [label r]; grad gets
//  w [label r] (softmax - onehot) / sum_r w [label r]. weight holds k
//  values > 0. Allocates nothing.
double mlp_loss_xent_weighted (const float *logits, const int32_t *label, int rows, int k,
                               const float *weight, float *grad);

//  An evaluation's pass over the logits: returns mlp_loss_xent's mean loss
//  and writes mlp_softmax's rows to prob (rows x k, not logits), the same
//  bits as those two calls, with each row's exps taken once (into prob). Allocates
//  nothing.
double mlp_softmax_xent (const float *logits, const int32_t *label, int rows, int k,
                         float *prob);

//  Softmax in place, row by row, stable (max subtracted).
void mlp_softmax (float *logits, size_t rows, int k);

//  Set the OpenBLAS thread count (process-wide in OpenBLAS). The products
//  mlp.c hands OpenBLAS with m n k under 2^20 run on one thread whatever
//  the count (set around each call: measured slower on two).
void mlp_set_threads (int threads);

//  OpenBLAS sizes its thread pool as it loads, from OPENBLAS_NUM_THREADS or
//  the machine's cores, and a pool it does not need spins beside the
//  process for a while (a forked training child builds it again whatever
//  its --threads; mtbroker, which links the engine to check models, runs no
//  product at all). So, unless OPENBLAS_NUM_THREADS says threads already,
//  this sets it and starts the program again (argv, through
//  /proc/self/exe); it returns only when nothing was to be done or the exec
//  failed (said on the log).
void mlp_size_blas (int threads, char **argv);

//  The engine on this processor, for a log line: "avx2 kernels and
//  small-product FMA, OpenBLAS core Zen, 2 threads" (kernels_best's path,
//  OpenBLAS's core and thread count); writes at most size bytes into buf
//  and returns it.
const char *mlp_describe (char *buf, size_t size);

#endif
