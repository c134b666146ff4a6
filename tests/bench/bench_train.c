/*  bench_train - the training engine's speed: a whole trainer process, samples/s, sgemm GFLOP/s  */
//  Modes (tests/bench/run_train.sh drives them, with bench_train.py for the
//  PyTorch and numpy side):
//    fit CSV MODEL EPOCHS THREADS   the original system's job as one process:
//                                   load CSV (target y), 1 -> 16 -> 1 ReLU,
//                                   MSE, Adam, batch 16, write the model
//    tab CSV THREADS RUNS           10 -> 64 -> 64 -> 1 ReLU, MSE, Adam,
//                                   batch 32, one epoch over the CSV
//    wide X.f32 Y.i32 ROWS THREADS RUNS
//                                   784 -> 256 -> 256 -> 10 ReLU, cross-entropy,
//                                   Adam, batch 128, one epoch (raw float32
//                                   features and int32 labels, from the script)
//    sgemm ROWS THREADS RUNS        the sgemm calls of wide's epoch alone
//    shapes REPS RUNS               each of wide's sgemm calls alone, REPS
//                                   times, at 1 and at 2 OpenBLAS threads
//                                   (alternating, median of RUNS each), and
//                                   what openblas_set_num_threads costs
//    step tab|wide STEPS RUNS       one training step alone (forward, loss,
//                                   backward, Adam) of tab's or wide's model
//                                   on fixed random rows, 1 thread, STEPS
//                                   times: samples/s in wall and in this
//                                   thread's CPU time (steadier when the
//                                   machine is shared), median of RUNS
//  fit, tab and wide take an optional last argument VAL_SPLIT (0 to < 1,
//  default 0: none of the cases holds rows out): that share of the rows is
//  the validation split, measured with every metric at each epoch end (inside
//  the timed loop), as a job with --val-split is.
//  The timed modes print "samples_per_s S seconds T gflops G": samples/s
//  over train_result_t.seconds (the training loop only: no load, no
//  standardization, no final evaluation or save), median of RUNS runs;
//  gflops counts only the matrix products (2 m n k per sgemm), see s_flops.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "bench.h"
#include "dataset.h"
#include "fpenv.h"
#include "mlp.h"
#include "optim.h"
#include "train.h"

#define S_WIDE_IN 784
#define S_WIDE_HIDDEN 256
#define S_WIDE_CLASSES 10
#define S_WIDE_BATCH 128

static int s_fit (const char *csv, const char *model, int epochs, int threads, double val);
static int s_tab (const char *csv, int threads, int runs, double val);
static int s_wide (const char *xpath, const char *ypath, size_t rows, int threads, int runs,
                   double val);
static double s_val_split (int argc, char **argv, int at);
static size_t s_trained (size_t rows, double val);
static int s_sgemm (size_t rows, int threads, int runs);
static int s_shapes (int reps, int runs);
static int s_run (const mt_spec_t *spec, const dataset_t *ds, const char *model, int threads,
                  train_result_t *result);
static void s_print (const char *what, double *seconds, int runs, size_t rows, double flops);
static double s_flops (const int *width, int layers, size_t rows);
static dataset_t *s_wide_data (const char *xpath, const char *ypath, size_t rows);
static int s_step (const char *which, int steps, int runs);
static double s_cpu_now (void);

int
main (int argc, char **argv)
{
    if ((argc == 6 || argc == 7) && strcmp (argv [1], "fit") == 0)
        return s_fit (argv [2], argv [3], atoi (argv [4]), atoi (argv [5]),
                      s_val_split (argc, argv, 6)) ? 1 : 0;
    if ((argc == 5 || argc == 6) && strcmp (argv [1], "tab") == 0)
        return s_tab (argv [2], atoi (argv [3]), atoi (argv [4]),
                      s_val_split (argc, argv, 5)) ? 1 : 0;
    if ((argc == 7 || argc == 8) && strcmp (argv [1], "wide") == 0)
        return s_wide (argv [2], argv [3], (size_t) atol (argv [4]), atoi (argv [5]),
                       atoi (argv [6]), s_val_split (argc, argv, 7)) ? 1 : 0;
    if (argc == 5 && strcmp (argv [1], "sgemm") == 0)
        return s_sgemm ((size_t) atol (argv [2]), atoi (argv [3]), atoi (argv [4])) ? 1 : 0;
    if (argc == 4 && strcmp (argv [1], "shapes") == 0)
        return s_shapes (atoi (argv [2]), atoi (argv [3])) ? 1 : 0;
    if (argc == 5 && strcmp (argv [1], "step") == 0)
        return s_step (argv [2], atoi (argv [3]), atoi (argv [4])) ? 1 : 0;
    fprintf (stderr, "usage: bench_train fit CSV MODEL EPOCHS THREADS [VAL_SPLIT]\n"
                     "       bench_train tab CSV THREADS RUNS [VAL_SPLIT]\n"
                     "       bench_train wide X.f32 Y.i32 ROWS THREADS RUNS [VAL_SPLIT]\n"
                     "       bench_train sgemm ROWS THREADS RUNS\n"
                     "       bench_train shapes REPS RUNS\n"
                     "       bench_train step tab|wide STEPS RUNS\n");
    return 2;
}

//  argv [at], the validation split, when given: 0 when absent; a value out
//  of [0, 1) ends the process with its name
static double
s_val_split (int argc, char **argv, int at)
{
    if (argc <= at)
        return 0;
    char *end = NULL;
    double val = strtod (argv [at], &end);
    if (end == argv [at] || *end || !(val >= 0 && val < 1)) {
        fprintf (stderr, "bench_train: VAL_SPLIT '%s' is not a number in [0, 1)\n", argv [at]);
        exit (2);
    }
    return val;
}

//  The training rows of rows once val of them are held out, as train.c
//  splits them (samples/s and FLOPs count only the rows trained on)
static size_t
s_trained (size_t rows, double val)
{
    size_t held = val > 0 ? (size_t) floor (val * (double) rows + 0.5) : 0;
    return rows - (val > 0 && held == 0 ? 1 : held);
}

//  The spec every mode shares: Adam (lr 0.01), val of the rows held out
//  for validation, a shuffle every epoch, no checkpoints
static mt_spec_t
s_spec (mt_task_t task, int batch, int epochs, double val)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.data_path = strdup ("bench.csv");
    spec.target = strdup ("y");
    spec.task = task;
    spec.activation = MT_ACT_RELU;
    spec.optimizer = MT_OPT_ADAM;
    spec.lr = 0.01;
    spec.batch_size = batch;
    spec.epochs = epochs;
    spec.val_split = val;
    spec.shuffle = true;
    spec.patience = 0;
    spec.checkpoint_every = 0;
    spec.seed = 1;
    return spec;
}

static int
s_run (const mt_spec_t *spec, const dataset_t *ds, const char *model, int threads,
       train_result_t *result)
{
    train_opts_t opts = { .threads = threads };
    char *cause = NULL;
    if (train_run (spec, ds, model, &opts, result, &cause)) {
        fprintf (stderr, "bench_train: %s\n", cause ? cause : "train_run failed");
        free (cause);
        return -1;
    }
    return 0;
}

//  The regression table csv with target y, or NULL with the reason printed.
static dataset_t *
s_load (const char *csv)
{
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    char *cause = NULL;
    dataset_t *ds = dataset_load (csv, &opts, &cause);
    if (!ds) {
        fprintf (stderr, "bench_train: %s\n", cause);
        free (cause);
    }
    return ds;
}

static int
s_fit (const char *csv, const char *model, int epochs, int threads, double val)
{
    dataset_t *ds = s_load (csv);
    if (!ds)
        return -1;
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, 16, epochs, val);
    spec.n_hidden = 1;
    spec.hidden [0] = 16;
    train_result_t result;
    int rc = s_run (&spec, ds, model, threads, &result);
    mt_spec_clear (&spec);
    dataset_destroy (&ds);
    return rc;
}

//  Train runs times, each from scratch; seconds gets each run's training time.
static int
s_repeat (const mt_spec_t *spec, const dataset_t *ds, int threads, int runs, double *seconds)
{
    for (int i = 0; i < runs; i++) {
        train_result_t result;
        if (s_run (spec, ds, NULL, threads, &result))
            return -1;
        seconds [i] = result.seconds;
    }
    return 0;
}

static int
s_tab (const char *csv, int threads, int runs, double val)
{
    dataset_t *ds = s_load (csv);
    if (!ds)
        return -1;
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, 32, 1, val);
    spec.n_hidden = 2;
    spec.hidden [0] = spec.hidden [1] = 64;
    double seconds [64];
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    int rc = s_repeat (&spec, ds, threads, runs, seconds);
    int width [] = { (int) ds->cols, 64, 64, 1 };
    if (rc == 0)
        s_print ("tab", seconds, runs, s_trained (ds->rows, val),
                 s_flops (width, 3, s_trained (ds->rows, val)));
    mt_spec_clear (&spec);
    dataset_destroy (&ds);
    return rc;
}

static int
s_wide (const char *xpath, const char *ypath, size_t rows, int threads, int runs, double val)
{
    dataset_t *ds = s_wide_data (xpath, ypath, rows);
    if (!ds)
        return -1;
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, S_WIDE_BATCH, 1, val);
    spec.n_hidden = 2;
    spec.hidden [0] = spec.hidden [1] = S_WIDE_HIDDEN;
    double seconds [64];
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    int rc = s_repeat (&spec, ds, threads, runs, seconds);
    int width [] = { S_WIDE_IN, S_WIDE_HIDDEN, S_WIDE_HIDDEN, S_WIDE_CLASSES };
    if (rc == 0)
        s_print ("wide", seconds, runs, s_trained (rows, val),
                 s_flops (width, 3, s_trained (rows, val)));
    mt_spec_clear (&spec);
    dataset_destroy (&ds);
    return rc;
}

//  The script's raw files as a classification dataset with classes "0".."9"
static dataset_t *
s_wide_data (const char *xpath, const char *ypath, size_t rows)
{
    dataset_t *ds = calloc (1, sizeof *ds);
    FILE *fx = fopen (xpath, "rb"), *fy = fopen (ypath, "rb");
    if (!ds || !fx || !fy) {
        perror (!fx ? xpath : ypath);
        goto err;
    }
    ds->rows = rows;
    ds->cols = S_WIDE_IN;
    ds->task = MT_TASK_CLASSIFICATION;
    ds->x = malloc (rows * S_WIDE_IN * sizeof (float));
    ds->label = malloc (rows * sizeof (int32_t));
    ds->feature_names = calloc (S_WIDE_IN, sizeof (char *));
    ds->classes = calloc (S_WIDE_CLASSES, sizeof (char *));
    ds->target_name = strdup ("y");
    if (!ds->x || !ds->label || !ds->feature_names || !ds->classes
    ||  fread (ds->x, sizeof (float) * S_WIDE_IN, rows, fx) != rows
    ||  fread (ds->label, sizeof (int32_t), rows, fy) != rows) {
        fprintf (stderr, "bench_train: cannot read %zu rows from %s and %s\n", rows, xpath, ypath);
        goto err;
    }
    char name [16];
    for (int j = 0; j < S_WIDE_IN; j++) {
        snprintf (name, sizeof name, "p%d", j);
        ds->feature_names [j] = strdup (name);
    }
    ds->n_classes = S_WIDE_CLASSES;
    for (int k = 0; k < S_WIDE_CLASSES; k++) {
        snprintf (name, sizeof name, "%d", k);
        ds->classes [k] = strdup (name);
    }
    fclose (fx);
    fclose (fy);
    return ds;
err:
    if (fx)
        fclose (fx);
    if (fy)
        fclose (fy);
    dataset_destroy (&ds);
    return NULL;
}

//  FLOPs of the matrix products in one epoch of rows: per layer of in x out
//  and per row, the forward X.W^T (2 in out), dW = delta^T.A (2 in out), and
//  dX = delta.W (2 in out) for every layer but the first. Bias adds,
//  activations, the loss and Adam (O(params) per step) are not counted.
static double
s_flops (const int *width, int layers, size_t rows)
{
    double per_row = 0;
    for (int l = 0; l < layers; l++)
        per_row += 2.0 * width [l] * width [l + 1] * (l > 0 ? 3 : 2);
    return per_row * (double) rows;
}

//  The same cblas_sgemm calls (shapes, layouts, transposes) as mlp_forward
//  and mlp_backward make in wide's epoch, on fixed data, and nothing else
static int
s_sgemm (size_t rows, int threads, int runs)
{
    int width [] = { S_WIDE_IN, S_WIDE_HIDDEN, S_WIDE_HIDDEN, S_WIDE_CLASSES };
    float *w [3], *a [4], *d [4], *g [3];
    for (int l = 0; l < 4; l++) {
        size_t n = (size_t) S_WIDE_BATCH * width [l];
        a [l] = malloc (n * sizeof (float));
        d [l] = malloc (n * sizeof (float));
        for (size_t i = 0; i < n; i++)
            a [l][i] = d [l][i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        if (l < 3) {
            size_t nw = (size_t) width [l] * width [l + 1];
            w [l] = malloc (nw * sizeof (float));
            g [l] = malloc (nw * sizeof (float));
            for (size_t i = 0; i < nw; i++)
                w [l][i] = (float) ((i * 40503u) % 1000) / 20000.0f - 0.025f;
        }
    }
    mlp_set_threads (threads);
    double seconds [64];
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    for (int i = 0; i < runs; i++) {
        double start = bench_now ();
        for (size_t first = 0; first < rows; first += S_WIDE_BATCH) {
            int m = rows - first < S_WIDE_BATCH ? (int) (rows - first) : S_WIDE_BATCH;
            for (int l = 0; l < 3; l++)
                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, width [l + 1], width [l],
                             1.0f, a [l], width [l], w [l], width [l], 0.0f, a [l + 1],
                             width [l + 1]);
            for (int l = 2; l >= 0; l--) {
                int in = width [l], out = width [l + 1];
                cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, out, in, m,
                             1.0f, d [l + 1], out, a [l], in, 0.0f, g [l], in);
                if (l > 0)
                    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, in, out,
                                 1.0f, d [l + 1], out, w [l], in, 0.0f, d [l], in);
            }
        }
        seconds [i] = bench_now () - start;
    }
    s_print ("sgemm", seconds, runs, rows, s_flops (width, 3, rows));
    for (int l = 0; l < 4; l++) {
        free (a [l]);
        free (d [l]);
        if (l < 3) {
            free (w [l]);
            free (g [l]);
        }
    }
    return 0;
}

//  One of wide's products: C [m, n] = op (A) op (B) over k, as mlp.c calls it
typedef struct {
    const char *name;
    bool ta, tb;
    int m, n, k;
} s_shape_t;

//  Each product of wide's step (batch 128) timed alone at 1 and 2 threads,
//  the two alternating run by run so that the machine's load falls on both
static int
s_shapes (int reps, int runs)
{
    const int b = S_WIDE_BATCH, h = S_WIDE_HIDDEN, in = S_WIDE_IN, c = S_WIDE_CLASSES;
    const s_shape_t shape [] = {
        { "forward 0 X.W^T", false, true, b, h, in },
        { "forward 1", false, true, b, h, h },
        { "forward 2", false, true, b, c, h },
        { "dW 2 delta^T.A", true, false, c, h, b },
        { "dX 2 delta.W", false, false, b, h, c },
        { "dW 1", true, false, h, h, b },
        { "dX 1", false, false, b, h, h },
        { "dW 0", true, false, h, in, b },
    };
    size_t most = (size_t) in * h;
    float *x = malloc (most * sizeof (float)), *y = malloc (most * sizeof (float));
    float *z = malloc (most * sizeof (float));
    if (!x || !y || !z || reps < 1)
        return -1;
    for (size_t i = 0; i < most; i++)
        x [i] = y [i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    printf ("shapes: GFLOP/s per product, median of %d runs of %d calls\n", runs, reps);
    for (size_t s = 0; s < sizeof shape / sizeof shape [0]; s++) {
        const s_shape_t *p = shape + s;
        double seconds [2][64];
        for (int i = 0; i < runs; i++)
            for (int t = 0; t < 2; t++) {
                mlp_set_threads (t + 1);
                double start = bench_now ();
                for (int r = 0; r < reps; r++)
                    cblas_sgemm (CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans,
                                 p->tb ? CblasTrans : CblasNoTrans, p->m, p->n, p->k, 1.0f,
                                 x, p->ta ? p->m : p->k, y, p->tb ? p->k : p->n, 0.0f, z, p->n);
                seconds [t][i] = bench_now () - start;
            }
        double flops = 2.0 * p->m * p->n * p->k * reps, g [2];
        for (int t = 0; t < 2; t++) {
            qsort (seconds [t], (size_t) runs, sizeof (double), bench_cmp_double);
            g [t] = flops / seconds [t][runs / 2] / 1e9;
        }
        printf ("  %-16s %4d x %4d x %4d: t=1 %6.1f  t=2 %6.1f  (t=2 / t=1 %.2f)\n", p->name,
                p->m, p->n, p->k, g [0], g [1], g [1] / g [0]);
    }
    //  the cost of switching: set 1, set 2, over and over
    enum { SWITCHES = 100000 };
    double start = bench_now ();
    for (int i = 0; i < SWITCHES; i++)
        mlp_set_threads (1 + i % 2);
    printf ("openblas_set_num_threads: %.0f ns a call (1 and 2 alternating)\n",
            (bench_now () - start) / SWITCHES * 1e9);
    mlp_set_threads (1);
    free (x);
    free (y);
    free (z);
    return 0;
}

//  The training step of tab's (10-64-64-1, MSE, batch 32) or wide's model,
//  as train.c runs it (FTZ/DAZ on), timed alone on one batch of fixed rows
static int
s_step (const char *which, int steps, int runs)
{
    bool wide = strcmp (which, "wide") == 0;
    int n_in = wide ? S_WIDE_IN : 10, width = wide ? S_WIDE_HIDDEN : 64;
    int n_out = wide ? S_WIDE_CLASSES : 1, batch = wide ? S_WIDE_BATCH : 32;
    int hidden [2] = { width, width };
    mlp_t *mlp = mlp_new (n_in, hidden, 2, n_out, MT_ACT_RELU, batch);
    mt_spec_t spec = s_spec (wide ? MT_TASK_CLASSIFICATION : MT_TASK_REGRESSION, batch, 1, 0);
    optim_t *optim = mlp ? optim_new (&spec, mlp_param_count (mlp)) : NULL;
    float *x = malloc ((size_t) batch * n_in * sizeof (float));
    float *y = malloc ((size_t) batch * sizeof (float));
    int32_t *label = malloc ((size_t) batch * sizeof (int32_t));
    if (!mlp || !optim || !x || !y || !label || steps < 1)
        return -1;
    rng_t rng;
    rng_seed (&rng, 7);
    mlp_init (mlp, &rng);
    for (int i = 0; i < batch * n_in; i++)
        x [i] = rng_uniform (&rng, -2, 2);
    for (int r = 0; r < batch; r++) {
        y [r] = rng_uniform (&rng, -1, 1);
        label [r] = (int32_t) rng_below (&rng, (uint64_t) n_out);
    }
    mlp_set_threads (1);
    uint32_t saved = fpenv_fast ();
    double wall [64], cpu [64];
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    for (int i = 0; i < runs; i++) {
        double start = bench_now (), cpu_start = s_cpu_now ();
        for (int t = 0; t < steps; t++) {
            const float *out = mlp_forward (mlp, x, batch);
            float *grad = mlp_output_grad (mlp);
            if (wide)
                mlp_loss_xent (out, label, batch, n_out, grad);
            else
                mlp_loss_mse (out, y, batch, 1, grad);
            mlp_backward (mlp, x, batch);
            optim_step (optim, mlp_params (mlp), mlp_grads (mlp), 1e-4);
        }
        wall [i] = bench_now () - start;
        cpu [i] = s_cpu_now () - cpu_start;
    }
    fpenv_restore (saved);
    qsort (wall, (size_t) runs, sizeof (double), bench_cmp_double);
    qsort (cpu, (size_t) runs, sizeof (double), bench_cmp_double);
    double rows = (double) steps * batch;
    printf ("step %s: samples_per_s %.0f (wall, median of %d), %.0f (thread CPU time), "
            "best %.0f, kernels %s\n", which, rows / wall [runs / 2], runs, rows / cpu [runs / 2],
            rows / cpu [0], kernels_path_name (kernels_best ()->path));
    optim_destroy (&optim);
    mlp_destroy (&mlp);
    mt_spec_clear (&spec);
    free (x);
    free (y);
    free (label);
    return 0;
}

static void
s_print (const char *what, double *seconds, int runs, size_t rows, double flops)
{
    qsort (seconds, (size_t) runs, sizeof (double), bench_cmp_double);
    double median = seconds [runs / 2];
    printf ("%s: samples_per_s %.0f seconds %.4f gflops %.2f (median of %d, best %.0f samples/s)\n",
            what, (double) rows / median, median, flops / median / 1e9, runs,
            (double) rows / seconds [0]);
}

static double
s_cpu_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
