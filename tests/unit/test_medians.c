/*  test_medians - encode_medians against a sort, on small and large tables; the loader's raw table, kept or encoded  */
#include <stdint.h>
#include "testutil.h"
#include "dataset.h"
#include "encode.h"

#define S_BIG 100003                // rows: past the size that draws windows
#define S_COLS 3                    // columns of the tables: the middle one is left out

static uint64_t s_state = 88172645463325252ULL;

static uint64_t
s_next (void)
{
    s_state ^= s_state << 13;
    s_state ^= s_state >> 7;
    s_state ^= s_state << 17;
    return s_state;
}

static int
s_cmp (const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

//  numpy's median of column j (NAN left out) by a sort; 0 when it has none
static float
s_sorted_median (const float *table, size_t rows, size_t j)
{
    float *v = malloc ((rows + 1) * sizeof *v);
    CHECK (v);
    size_t n = 0;
    for (size_t r = 0; r < rows; r++)
        if (!isnan (table [r * S_COLS + j]))
            v [n++] = table [r * S_COLS + j];
    qsort (v, n, sizeof *v, s_cmp);
    float median = n == 0 ? 0 : n % 2 ? v [n / 2]
                 : (float) (((double) v [n / 2 - 1] + v [n / 2]) / 2);
    free (v);
    return median;
}

//  Value number r of a column drawn as kind says
static float
s_value (int kind, size_t r, size_t rows)
{
    uint64_t draw = s_next ();
    double unit = (double) (draw >> 11) / 9007199254740992.0;
    switch (kind) {
        case 0:  return (float) ((unit - 0.5) * 200);                   // uniform
        case 1:  return (float) r;                                      // sorted
        case 2:  return (float) (rows - r);                             // sorted down
        case 3:  return 7;                                              // one value
        case 4:  return draw % 10 < 7 ? 0 : 1;                          // a 0/1 flag
        case 5:  return (float) (draw % 3);                             // ties at the window
        case 6:  return draw % 10 ? NAN : (float) unit;                 // mostly missing
        case 7:  return NAN;                                            // all missing
        case 8:  return draw % 2 ? 0.0f : -0.0f;                        // signed zeros
        case 9:  return r < rows / 2 ? 1 : (float) (unit * 1e6);        // half one value
        case 10: return r % 2 ? (float) (unit * 1e-3) : NAN;            // every other missing
        default: return (float) (draw % 1000) * (draw % 7 ? 1 : 1e6f);  // outliers
    }
}

//  Every kind of column, at sizes either side of the window's, odd and even counts
static void
test_against_sort (void)
{
    size_t sizes [] = { 1, 2, 5, 64, 1001, 65535, 65536, S_BIG, S_BIG + 1 };
    float *table = malloc ((S_BIG + 2) * S_COLS * sizeof *table);
    CHECK (table);
    bool numeric [S_COLS] = { true, false, true };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes [0]; s++)
        for (int kind = 0; kind < 12; kind++) {
            size_t rows = sizes [s];
            for (size_t r = 0; r < rows; r++) {
                table [r * S_COLS + 0] = s_value (kind, r, rows);
                table [r * S_COLS + 1] = 12345;
                table [r * S_COLS + 2] = s_value ((kind + 5) % 12, r, rows);
            }
            float medians [S_COLS] = { -1, -1, -1 };
            CHECK (encode_medians (table, rows, S_COLS, numeric, medians) == 0);
            for (size_t j = 0; j < S_COLS; j += 2) {
                float want = s_sorted_median (table, rows, j);
                CHECK_MSG (medians [j] == want, "rows %zu kind %d column %zu: %.9g, want %.9g",
                           rows, kind, j, (double) medians [j], (double) want);
            }
            CHECK (medians [1] == 0);       // not numeric: left alone, 0
        }
    free (table);
}

//  A CSV of rows rows, "a,b,y", from a, b's texts at each row
static char *
s_csv (size_t rows, const char *(*field) (size_t r, int col, char *buf))
{
    size_t cap = 64 + rows * 80, used = 0;
    char *text = malloc (cap), a [32], b [32];
    CHECK (text);
    used += (size_t) sprintf (text, "a,b,y\n");
    for (size_t r = 0; r < rows; r++)
        used += (size_t) snprintf (text + used, cap - used, "%s,%s,%zu\n", field (r, 0, a),
                                   field (r, 1, b), r % 5);
    return text;
}

static const char *
s_numbers (size_t r, int col, char *buf)
{
    snprintf (buf, 32, "%.6g", col ? (double) ((r * 7919) % 1000) / 8 : (double) r - 50000.5);
    return buf;
}

static const char *
s_late_text (size_t r, int col, char *buf)
{
    if (col == 1 && r == S_BIG - 3)
        return "word";              // b turns to text near the end: read again
    if (col == 0 && r % 1000 == 17)
        return "-999";              // a missing-value token that reads as a number
    return s_numbers (r, col, buf);
}

//  The loader: all numeric and complete, its raw table is x; with a token
//  that is a number, missing values and a column turning to text late, x
//  is encoded, and the medians are a sort's
static void
test_loader (void)
{
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    char *text = s_csv (S_BIG, s_numbers), *cause = NULL;
    dataset_t *ds = dataset_load_buffer ("t.csv", text, strlen (text), &opts, &cause);
    CHECK_MSG (ds, "%s", cause);
    CHECK (ds->rows == S_BIG && ds->cols == 2);
    char buf [32];
    for (size_t r = 0; r < ds->rows; r += 997)
        for (int j = 0; j < 2; j++)
            CHECK (ds->x [r * 2 + (size_t) j] == strtof (s_numbers (r, j, buf), NULL));
    //  a: r - 50000.5 for r < S_BIG (odd): the middle row's
    CHECK (encode_column_median (ds->plan, 0) == strtof (s_numbers (S_BIG / 2, 0, buf), NULL));
    dataset_destroy (&ds);
    free (text);

    const char *na [] = { "-999" };
    opts.na_values = na;
    opts.n_na_values = 1;
    text = s_csv (S_BIG, s_late_text);
    ds = dataset_load_buffer ("t.csv", text, strlen (text), &opts, &cause);
    CHECK_MSG (ds, "%s", cause);
    CHECK_STR_EQ (ds->feature_names [0], "a");
    CHECK_STR_EQ (ds->feature_names [1], "a=(missing)");
    CHECK_STR_EQ (ds->feature_names [2], "b=0");      // b: categories, numbers sorted
    CHECK (encode_column_kind (ds->plan, 1) == ENCODE_CATEGORICAL);
    float *a = malloc (S_BIG * S_COLS * sizeof *a);
    CHECK (a);
    size_t missing = 0;
    for (size_t r = 0; r < S_BIG; r++) {
        bool gone = r % 1000 == 17;
        missing += gone;
        a [r * S_COLS] = gone ? NAN : strtof (s_numbers (r, 0, buf), NULL);
    }
    float median = s_sorted_median (a, S_BIG, 0);
    CHECK (encode_column_median (ds->plan, 0) == median);
    for (size_t r = 0; r < S_BIG; r += 991) {
        bool gone = r % 1000 == 17;
        CHECK (ds->x [r * ds->cols] == (gone ? median : a [r * S_COLS]));
        CHECK (ds->x [r * ds->cols + 1] == (gone ? 1 : 0));
    }
    CHECK (ds->x [17 * ds->cols] == median && ds->x [17 * ds->cols + 1] == 1);
    CHECK (missing > 0);
    free (a);
    dataset_destroy (&ds);
    free (text);
}

int
main (void)
{
    test_against_sort ();
    test_loader ();
    printf ("test_medians: ok\n");
    return 0;
}
