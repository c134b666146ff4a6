/*  test_mlp - forward against a naive reference, finite-difference gradient checks, losses  */
#include <cblas.h>
#include "testutil.h"
#include "mlp.h"
#include "rng.h"

#define ROWS 7

//  Loss of the network on (x, y or label) with the given loss kind
static double
s_loss (mlp_t *mlp, const float *x, const float *y, const int32_t *label, bool xent, float *grad)
{
    const float *out = mlp_forward (mlp, x, ROWS);
    int n = mlp_outputs (mlp);
    return xent ? mlp_loss_xent (out, label, ROWS, n, grad) : mlp_loss_mse (out, y, ROWS, n, grad);
}

//  A plain triple-loop forward in double, for comparison with sgemm
static void
s_naive_forward (mlp_t *mlp, const float *x, double *out)
{
    double a [ROWS * 64], z [ROWS * 64];
    int in = mlp_inputs (mlp);
    for (int i = 0; i < ROWS * in; i++)
        a [i] = x [i];
    for (int l = 0; l < mlp_layers (mlp); l++) {
        int n_in = mlp_layer_in (mlp, l), n_out = mlp_layer_out (mlp, l);
        const float *w = mlp_weight (mlp, l), *b = mlp_bias (mlp, l);
        for (int r = 0; r < ROWS; r++)
            for (int j = 0; j < n_out; j++) {
                double s = b [j];
                for (int k = 0; k < n_in; k++)
                    s += (double) w [j * n_in + k] * a [r * n_in + k];
                bool last = l + 1 == mlp_layers (mlp);
                mt_act_t act = mlp_activation (mlp);
                z [r * n_out + j] = last ? s : act == MT_ACT_RELU ? (s > 0 ? s : 0)
                                  : act == MT_ACT_TANH ? tanh (s) : 1 / (1 + exp (-s));
            }
        memcpy (a, z, sizeof (double) * (size_t) (ROWS * n_out));
    }
    memcpy (out, a, sizeof (double) * (size_t) (ROWS * mlp_outputs (mlp)));
}

static void
s_check (const int *hidden, int n_hidden, mt_act_t act, bool xent)
{
    int n_in = 3, n_out = xent ? 4 : 2;
    mlp_t *mlp = mlp_new (n_in, hidden, n_hidden, n_out, act, ROWS);
    CHECK (mlp);
    rng_t rng;
    rng_seed (&rng, 42 + (uint64_t) n_hidden * 7 + act);
    mlp_init (mlp, &rng);
    float x [ROWS * 3], y [ROWS * 4];
    int32_t label [ROWS];
    for (int i = 0; i < ROWS * n_in; i++)
        x [i] = rng_uniform (&rng, -2, 2);
    for (int i = 0; i < ROWS * n_out; i++)
        y [i] = rng_uniform (&rng, -1, 1);
    for (int r = 0; r < ROWS; r++)
        label [r] = (int32_t) rng_below (&rng, (uint64_t) n_out);

    //  forward agrees with the naive double reference
    double ref [ROWS * 4];
    s_naive_forward (mlp, x, ref);
    const float *out = mlp_forward (mlp, x, ROWS);
    for (int i = 0; i < ROWS * n_out; i++)
        CHECK_NEAR (out [i], ref [i], 1e-5 * (1 + fabs (ref [i])));

    //  analytic gradients
    s_loss (mlp, x, y, label, xent, mlp_output_grad (mlp));
    mlp_backward (mlp, x, ROWS);
    size_t n = mlp_param_count (mlp);
    float *analytic = malloc (n * sizeof (float));
    memcpy (analytic, mlp_grads (mlp), n * sizeof (float));

    //  central differences; float32 forward noise is ~1e-7 relative, so with
    //  h = 1e-3 the numeric derivative carries ~1e-4 of noise, and the
    //  truncation error is O(h^2); relu kinks are avoided by the fixed seed
    float *p = mlp_params (mlp);
    const float h = 1e-3f;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float saved = p [i];
        p [i] = saved + h;
        double up = s_loss (mlp, x, y, label, xent, NULL);
        p [i] = saved - h;
        double down = s_loss (mlp, x, y, label, xent, NULL);
        p [i] = saved;
        double numeric = (up - down) / (2.0 * ((double) (saved + h) - (double) (saved - h)) / 2.0);
        double err = fabs (numeric - analytic [i]) / (1e-2 + fabs (numeric));
        worst = err > worst ? err : worst;
        CHECK_MSG (fabs (numeric - analytic [i]) <= 2e-3 + 1e-2 * fabs (numeric),
                   "hidden %d act %d %s param %zu: numeric %.7g analytic %.7g",
                   n_hidden, act, xent ? "xent" : "mse", i, numeric, (double) analytic [i]);
    }
    printf ("hidden=%d act=%s loss=%s params=%zu worst rel err %.2e\n", n_hidden,
            mt_act_name (act), xent ? "xent" : "mse", n, worst);
    free (analytic);
    mlp_destroy (&mlp);
    mlp_destroy (&mlp);
}

static void
s_test_losses (void)
{
    float out [4] = { 1, 2, 3, 4 }, y [4] = { 0, 2, 5, 4 }, grad [4];
    CHECK_NEAR (mlp_loss_mse (out, y, 2, 2, grad), (1.0 + 0 + 4 + 0) / 4, 1e-12);
    CHECK_NEAR (grad [0], 2.0 * 1 / 4, 1e-7);
    CHECK_NEAR (grad [2], 2.0 * -2 / 4, 1e-7);
    //  huge logits stay finite (log-sum-exp)
    float logits [4] = { 1000, 0, -1000, 1000 };
    int32_t label [2] = { 1, 0 };
    float g [4];
    double loss = mlp_loss_xent (logits, label, 2, 2, g);
    CHECK (isfinite (loss));
    CHECK_NEAR (loss, (1000.0 + 2000.0) / 2, 1e-3);
    CHECK_NEAR (g [0], 0.5, 1e-6);
    CHECK_NEAR (g [1], -0.5, 1e-6);
    float z [3] = { 1, 2, 3 };
    double lse = log (exp (1.0) + exp (2.0) + exp (3.0));
    int32_t l1 = 2;
    CHECK_NEAR (mlp_loss_xent (z, &l1, 1, 3, NULL), lse - 3, 1e-6);
    mlp_softmax (z, 1, 3);
    CHECK_NEAR (z [0] + z [1] + z [2], 1, 1e-6);
    CHECK_NEAR (z [2], exp (3 - lse), 1e-6);
}

//  mlp_softmax_xent gives the bits of mlp_loss_xent and mlp_softmax, with
//  few classes (each row's exps kept) and many (taken again)
static void
s_test_softmax_xent (void)
{
    enum { ROWS_X = 5 };
    int ks [] = { 2, 3, 64, 65, 130 };
    rng_t rng;
    rng_seed (&rng, 77);
    for (int c = 0; c < 5; c++) {
        int k = ks [c];
        float *z = malloc ((size_t) ROWS_X * k * sizeof (float));
        float *p = malloc ((size_t) ROWS_X * k * sizeof (float));
        float *q = malloc ((size_t) ROWS_X * k * sizeof (float));
        int32_t label [ROWS_X];
        for (int i = 0; i < ROWS_X * k; i++)
            z [i] = rng_uniform (&rng, -30, 30);
        for (int r = 0; r < ROWS_X; r++)
            label [r] = (int32_t) rng_below (&rng, (uint64_t) k);
        double fused = mlp_softmax_xent (z, label, ROWS_X, k, p);
        double apart = mlp_loss_xent (z, label, ROWS_X, k, NULL);
        memcpy (q, z, (size_t) ROWS_X * k * sizeof (float));
        mlp_softmax (q, ROWS_X, k);
        CHECK_MSG (memcmp (&fused, &apart, sizeof fused) == 0, "k %d: loss %.17g vs %.17g", k,
                   fused, apart);
        CHECK_MSG (memcmp (p, q, (size_t) ROWS_X * k * sizeof (float)) == 0, "k %d: softmax", k);
        free (z);
        free (p);
        free (q);
    }
}

static void
s_test_init (void)
{
    //  torch nn.Linear bounds: every value inside +-1/sqrt(fan_in), and
    //  the same seed gives the same weights
    int hidden [1] = { 16 };
    mlp_t *a = mlp_new (9, hidden, 1, 1, MT_ACT_RELU, 4);
    mlp_t *b = mlp_new (9, hidden, 1, 1, MT_ACT_RELU, 4);
    rng_t ra, rb;
    rng_seed (&ra, 7);
    rng_seed (&rb, 7);
    mlp_init (a, &ra);
    mlp_init (b, &rb);
    CHECK (memcmp (mlp_params (a), mlp_params (b), mlp_param_count (a) * sizeof (float)) == 0);
    for (int i = 0; i < 16 * 9 + 16; i++)
        CHECK (fabsf (mlp_params (a) [i]) <= 1.0f / 3.0f);
    for (int i = 0; i < 17; i++)
        CHECK (fabsf (mlp_bias (a, 1) [0]) <= 0.25f);
    CHECK (mlp_param_count (a) == 9 * 16 + 16 + 16 + 1);
    CHECK (mlp_bias_offset (a, 1) == 9 * 16 + 16 + 16);
    mlp_destroy (&a);
    mlp_destroy (&b);
    CHECK (mlp_new (3, hidden, -1, 1, MT_ACT_RELU, 4) == NULL);
}

//  The widest path (small products in kernels_gemm_small where the processor
//  has AVX2 and FMA, one-output layers as dots) against the SSE2 path (every
//  product through OpenBLAS): the same network, outputs and gradients agree
//  to float rounding
static void
s_check_products (int n_out, int rows)
{
    int hidden [2] = { 64, 64 };
    mlp_t *mlp [2] = { mlp_new (10, hidden, 2, n_out, MT_ACT_RELU, 32),
                       mlp_new (10, hidden, 2, n_out, MT_ACT_RELU, 32) };
    CHECK (mlp [0] && mlp [1] && mlp_set_path (mlp [1], KERNELS_SSE2) == 0);
    rng_t rng;
    rng_seed (&rng, 9);
    mlp_init (mlp [0], &rng);
    memcpy (mlp_params (mlp [1]), mlp_params (mlp [0]),
            mlp_param_count (mlp [0]) * sizeof (float));
    float x [32 * 10], *out [2];
    for (int i = 0; i < rows * 10; i++)
        x [i] = rng_uniform (&rng, -2, 2);
    for (int k = 0; k < 2; k++) {
        out [k] = (float *) mlp_forward (mlp [k], x, rows);
        for (int i = 0; i < rows * n_out; i++)
            mlp_output_grad (mlp [k]) [i] = (float) (i % 7) * 0.1f - 0.3f;
        mlp_backward (mlp [k], x, rows);
    }
    for (int i = 0; i < rows * n_out; i++)
        CHECK_NEAR (out [0][i], out [1][i], 1e-5 * (1 + fabs (out [1][i])));
    const float *g0 = mlp_grads (mlp [0]), *g1 = mlp_grads (mlp [1]);
    for (size_t i = 0; i < mlp_param_count (mlp [0]); i++)
        CHECK_NEAR (g0 [i], g1 [i], 1e-5 * (1 + fabs (g1 [i])));
    printf ("products %d outputs, %d rows: widest == OpenBLAS to rounding: ok\n", n_out, rows);
    mlp_destroy (&mlp [0]);
    mlp_destroy (&mlp [1]);
}

//  At 2 threads, a product under 2^20 (m n k) runs on one OpenBLAS thread,
//  a larger one on both: 256 -> 256 -> 10 at 128 rows makes 8.4 M (layer 0)
//  and 327,680 (layer 1), and the count set last is the last product's
static void
s_test_threads (void)
{
    if (openblas_get_parallel () == 0) {
        printf ("threads: OpenBLAS is sequential here, skipped\n");
        return;
    }
    int hidden [1] = { 256 };
    mlp_t *mlp = mlp_new (256, hidden, 1, 10, MT_ACT_RELU, 128);
    CHECK (mlp);
    rng_t rng;
    rng_seed (&rng, 5);
    mlp_init (mlp, &rng);
    float *x = calloc (128 * 256, sizeof (float));
    CHECK (x);
    mlp_set_threads (2);
    CHECK (openblas_get_num_threads () == 2);
    mlp_forward (mlp, x, 128);                  // layer 1's forward last: 1 thread
    CHECK_MSG (openblas_get_num_threads () == 1, "after forward: %d threads",
               openblas_get_num_threads ());
    memset (mlp_output_grad (mlp), 0, 128 * 10 * sizeof (float));
    mlp_backward (mlp, x, 128);                 // layer 0's dW last: 2 threads
    CHECK_MSG (openblas_get_num_threads () == 2, "after backward: %d threads",
               openblas_get_num_threads ());
    mlp_set_threads (1);
    mlp_forward (mlp, x, 128);
    CHECK (openblas_get_num_threads () == 1);
    free (x);
    mlp_destroy (&mlp);
}

int
main (void)
{
    s_check_products (1, 32);
    s_check_products (3, 7);
    int shapes [3][2] = { { 0 }, { 6 }, { 5, 4 } };
    for (int depth = 0; depth < 3; depth++)
        for (int act = MT_ACT_RELU; act <= MT_ACT_SIGMOID; act++)
            for (int xent = 0; xent < 2; xent++)
                s_check (shapes [depth], depth, (mt_act_t) act, xent);
    s_test_losses ();
    s_test_softmax_xent ();
    s_test_init ();
    s_test_threads ();
    printf ("test_mlp: ok\n");
    return 0;
}
