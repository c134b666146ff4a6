/*  bench_csv - how fast dataset_load reads and encodes a CSV, numeric or with categories, in MB/s on one core  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "dataset.h"

#define S_FEATURES 10           // float features per row, plus the target y
#define S_CATEGORICAL 5         // text columns of the table with categories
#define S_MISSING_EVERY 50      // one value in this many of the last text column is NA

//  The text columns' levels: few, some, many, more than the 64 kept (the
//  rest to (other)), and some with missing values
static const int s_levels [S_CATEGORICAL] = { 3, 12, 40, 200, 8 };

static int s_make (const char *path, double mb, int categorical);
static void s_category (FILE *file, int col, uint64_t *state);
static uint64_t s_next (uint64_t *state);
static int s_load (const char *path, int runs);
static double s_now (void);
static int s_cmp_double (const void *a, const void *b);

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv [1], "make") == 0)
        return s_make (argv [2], atof (argv [3]), 0) ? 1 : 0;
    if (argc == 4 && strcmp (argv [1], "make-categorical") == 0)
        return s_make (argv [2], atof (argv [3]), S_CATEGORICAL) ? 1 : 0;
    if ((argc == 3 || argc == 4) && strcmp (argv [1], "load") == 0)
        return s_load (argv [2], argc == 4 ? atoi (argv [3]) : 3) ? 1 : 0;
    fprintf (stderr, "usage: bench_csv make FILE MB | bench_csv make-categorical FILE MB | "
             "bench_csv load FILE [RUNS]\n");
    return 2;
}

//  About mb megabytes of f0..f9,y rows: values of mixed magnitude and
//  precision, as exported data looks (a fixed seed, so runs compare); with
//  categorical, text columns c0.. before y (s_levels' levels, words such as
//  "c3_level_17"), the last with missing values (NA).
static int
s_make (const char *path, double mb, int categorical)
{
    FILE *file = fopen (path, "w");
    if (!file) {
        perror (path);
        return -1;
    }
    for (int j = 0; j < S_FEATURES; j++)
        fprintf (file, "f%d,", j);
    for (int j = 0; j < categorical; j++)
        fprintf (file, "c%d,", j);
    fprintf (file, "y\n");
    uint64_t state = 88172645463325252ull;
    long target = (long) (mb * 1e6);
    while (ftell (file) < target) {
        double sum = 0;
        for (int j = 0; j < S_FEATURES; j++) {
            double value = ((double) (s_next (&state) >> 11) / 9007199254740992.0 - 0.5) * 20.0;
            if (j % 3 == 2)
                value *= 1e-3;
            sum += value * (j + 1);
            fprintf (file, j % 2 ? "%.7g," : "%.5f,", value);
        }
        for (int j = 0; j < categorical; j++)
            s_category (file, j, &state);
        fprintf (file, "%.8g\n", sum);
    }
    return fclose (file);
}

//  One text field of column col and its comma
static void
s_category (FILE *file, int col, uint64_t *state)
{
    uint64_t draw = s_next (state);
    if (col == S_CATEGORICAL - 1 && draw % S_MISSING_EVERY == 0)
        fputs ("NA,", file);
    else
        fprintf (file, "c%d_level_%d,", col, (int) ((draw >> 8) % (uint64_t) s_levels [col]));
}

//  xorshift64
static uint64_t
s_next (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int
s_load (const char *path, int runs)
{
    struct stat st;
    if (stat (path, &st) || runs < 1) {
        perror (path);
        return -1;
    }
    double mb = (double) st.st_size / 1e6;
    double *rates = calloc ((size_t) runs, sizeof *rates);
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    size_t rows = 0, cols = 0;
    for (int i = 0; i < runs; i++) {
        char *cause = NULL;
        double start = s_now ();
        dataset_t *ds = dataset_load (path, &opts, &cause);
        double seconds = s_now () - start;
        if (!ds) {
            fprintf (stderr, "bench_csv: %s\n", cause);
            free (cause);
            free (rates);
            return -1;
        }
        rows = ds->rows;
        cols = ds->cols;
        rates [i] = mb / seconds;
        dataset_destroy (&ds);
    }
    qsort (rates, (size_t) runs, sizeof *rates, s_cmp_double);
    printf ("mt csv: %.1f MB, %zu rows x %zu encoded inputs + target, %d runs: "
            "best %.0f MB/s, median %.0f MB/s\n",
            mb, rows, cols, runs, rates [runs - 1], rates [runs / 2]);
    free (rates);
    return 0;
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}
