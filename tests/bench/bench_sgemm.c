/*  bench_sgemm - an MLP training step's cblas_sgemm calls alone, for any widths and batch  */
//  usage: bench_sgemm WIDTHS BATCH ROWS THREADS RUNS
//    WIDTHS  the layer widths, comma-separated, input first: 10,64,64,1
//  Makes, per batch of BATCH rows (the last one short when ROWS is not a
//  multiple), exactly the calls mlp_forward and mlp_backward make (row-major,
//  the same transposes and m, n, k): per layer of in x out, the forward
//  X.W^T (NoTrans, Trans: rows x out x in), dW = delta^T.A (Trans, NoTrans:
//  out x in x rows) and, for every layer but the first, dX = delta.W
//  (NoTrans, NoTrans: rows x in x out), on fixed data, and nothing else.
//  Prints "sgemm: samples_per_s S seconds T gflops G flop_per_sample F
//  (median of RUNS, best B samples/s)": FLOPs are 2 m n k per call, as
//  bench_train counts them, so gflops / flop_per_sample is the step's cap
//  in samples/s that these products alone allow.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "bench.h"

#define S_MAX_LAYERS 16

void openblas_set_num_threads (int threads);

static int s_widths (const char *text, int *width);

int
main (int argc, char **argv)
{
    int width [S_MAX_LAYERS + 1];
    int n = argc == 6 ? s_widths (argv [1], width) : -1;
    int batch = argc == 6 ? atoi (argv [2]) : 0;
    long rows = argc == 6 ? atol (argv [3]) : 0;
    int threads = argc == 6 ? atoi (argv [4]) : 0, runs = argc == 6 ? atoi (argv [5]) : 0;
    if (n < 2 || batch < 1 || rows < 1 || threads < 1 || runs < 1) {
        fprintf (stderr, "usage: bench_sgemm WIDTHS BATCH ROWS THREADS RUNS\n"
                         "  WIDTHS: 2 to %d layer widths >= 1, comma-separated (10,64,64,1)\n",
                 S_MAX_LAYERS + 1);
        return 2;
    }
    int layers = n - 1;
    float *w [S_MAX_LAYERS], *g [S_MAX_LAYERS], *a [S_MAX_LAYERS + 1], *d [S_MAX_LAYERS + 1];
    double per_row = 0;
    for (int l = 0; l <= layers; l++) {
        size_t count = (size_t) batch * (size_t) width [l];
        a [l] = malloc (count * sizeof (float));
        d [l] = malloc (count * sizeof (float));
        if (!a [l] || !d [l]) {
            fprintf (stderr, "bench_sgemm: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < count; i++)
            a [l][i] = d [l][i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        if (l == layers)
            break;
        size_t nw = (size_t) width [l] * (size_t) width [l + 1];
        w [l] = malloc (nw * sizeof (float));
        g [l] = malloc (nw * sizeof (float));
        if (!w [l] || !g [l]) {
            fprintf (stderr, "bench_sgemm: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < nw; i++)
            w [l][i] = (float) ((i * 40503u) % 1000) / 20000.0f - 0.025f;
        per_row += 2.0 * width [l] * width [l + 1] * (l > 0 ? 3 : 2);
    }
    openblas_set_num_threads (threads);
    double seconds [64];
    runs = runs > 64 ? 64 : runs;
    for (int i = 0; i < runs; i++) {
        double start = bench_now ();
        for (long first = 0; first < rows; first += batch) {
            int m = rows - first < batch ? (int) (rows - first) : batch;
            for (int l = 0; l < layers; l++)
                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, width [l + 1], width [l],
                             1.0f, a [l], width [l], w [l], width [l], 0.0f, a [l + 1],
                             width [l + 1]);
            for (int l = layers - 1; l >= 0; l--) {
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
    qsort (seconds, (size_t) runs, sizeof (double), bench_cmp_double);
    double median = seconds [runs / 2];
    printf ("sgemm: samples_per_s %.0f seconds %.4f gflops %.2f flop_per_sample %.0f"
            " (median of %d, best %.0f samples/s)\n", (double) rows / median, median,
            per_row * (double) rows / median / 1e9, per_row, runs, (double) rows / seconds [0]);
    for (int l = 0; l <= layers; l++) {
        free (a [l]);
        free (d [l]);
        if (l < layers) {
            free (w [l]);
            free (g [l]);
        }
    }
    return 0;
}

//  text's widths into width; returns their count, or -1 when one is not
//  a number >= 1 or there are too many
static int
s_widths (const char *text, int *width)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        long value = strtol (p, &end, 10);
        if (end == p || value < 1 || value > 1000000 || n > S_MAX_LAYERS
        ||  (*end && *end != ','))
            return -1;
        width [n++] = (int) value;
        p = *end ? end + 1 : end;
    }
    return n;
}
