/*  test_dataset - the CSV/JSONL reader: good tables, every bad case, the float parser  */
#include <fcntl.h>
#include <float.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "dataset.h"
#include "numparse.h"

//  A deterministic generator (xorshift64*), so failures reproduce.
typedef struct { uint64_t state; } rng64_t;

static uint64_t
s_next (rng64_t *rng)
{
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return rng->state * UINT64_C (2685821657736338717);
}

static int
s_below (rng64_t *rng, int n)
{
    return (int) (s_next (rng) % (uint64_t) n);
}

//  The float strtod gives for text, the reference every parse must equal.
static float
s_ref (const char *text)
{
    return (float) strtod (text, NULL);
}

static bool
s_same_bits (float a, float b)
{
    return memcmp (&a, &b, sizeof a) == 0;
}

static dataset_t *
s_load (const char *file, const char *target, mt_task_t task, char **cause)
{
    dataset_opts_t opts = { .target = target, .task = task };
    return dataset_load (test_data (file), &opts, cause);
}

static dataset_t *
s_load_ok (const char *file, const dataset_opts_t *opts)
{
    char *cause = NULL;
    dataset_t *ds = dataset_load (test_data (file), opts, &cause);
    CHECK_MSG (ds, "%s: %s", file, cause);
    CHECK (cause == NULL);
    return ds;
}

static dataset_t *
s_buffer_ok (const char *name, const char *text, const dataset_opts_t *opts)
{
    char *cause = NULL;
    dataset_t *ds = dataset_load_buffer (name, text, strlen (text), opts, &cause);
    CHECK_MSG (ds, "%s: %s", name, cause);
    return ds;
}

//  Loading must fail with a message holding every non-NULL needle.
static void
s_expect_error (dataset_t *ds, char **cause, const char *needle1, const char *needle2)
{
    CHECK_MSG (ds == NULL, "expected a failure with '%s'", needle1);
    CHECK_STR_CONTAINS (*cause, needle1);
    if (needle2)
        CHECK_STR_CONTAINS (*cause, needle2);
    free (*cause);
    *cause = NULL;
}

//  Loading must fail with a message holding needle and no hint at --task.
static void
s_expect_no_hint (dataset_t *ds, char **cause, const char *needle)
{
    CHECK (ds == NULL && *cause);
    CHECK_STR_CONTAINS (*cause, needle);
    CHECK_MSG (!strstr (*cause, "--task"), "an error hints at the task: %s", *cause);
    free (*cause);
    *cause = NULL;
}

static void
s_buffer_error (const char *name, const char *text, size_t len, const dataset_opts_t *opts,
                const char *needle1, const char *needle2)
{
    char *cause = NULL;
    dataset_t *ds = dataset_load_buffer (name, text, len, opts, &cause);
    s_expect_error (ds, &cause, needle1, needle2);
}


//  --------------------------------------------------------------------------
//  The float parser

static void
s_check_parse (const char *text)
{
    float ref = s_ref (text);
    float got = 0.0f;
    int rc = numparse_float (text, strlen (text), &got);
    if (isfinite (ref)) {
        CHECK_MSG (rc == 0, "'%s' not parsed", text);
        CHECK_MSG (s_same_bits (got, ref), "'%s': got %.9g, strtod %.9g", text,
                   (double) got, (double) ref);
    }
    else
        CHECK_MSG (rc == -1, "'%s' is out of range but parsed", text);
    CHECK_MSG (numparse_is_decimal (text, strlen (text)), "'%s' not decimal", text);
}

//  Random decimal text: sign, 0-25 integer digits, fraction, exponent.
static void
s_random_decimal (rng64_t *rng, char *buf, size_t size)
{
    size_t n = 0;
    int sign = s_below (rng, 20);
    if (sign < 5)
        buf [n++] = '-';
    else
    if (sign == 5)
        buf [n++] = '+';
    int int_digits = s_below (rng, 4) == 0 ? s_below (rng, 26) : s_below (rng, 8);
    int frac_digits = s_below (rng, 3) == 0 ? -1 : s_below (rng, 4) == 0 ? s_below (rng, 26)
                                                                            : s_below (rng, 10);
    if (int_digits == 0 && frac_digits <= 0)
        int_digits = 1;
    bool zeros = s_below (rng, 8) == 0;     // runs of leading zeros
    for (int i = 0; i < int_digits; i++)
        buf [n++] = (char) ('0' + (zeros && i < 3 ? 0 : s_below (rng, 10)));
    if (frac_digits >= 0) {
        buf [n++] = '.';
        for (int i = 0; i < frac_digits; i++)
            buf [n++] = (char) ('0' + (zeros && i < 5 ? 0 : s_below (rng, 10)));
    }
    if (s_below (rng, 2)) {
        int range = s_below (rng, 10) == 0 ? 400 : 50;
        int exp = s_below (rng, 2 * range + 1) - range;
        n += (size_t) snprintf (buf + n, size - n, "%c%s%d", s_below (rng, 2) ? 'e' : 'E',
                                exp >= 0 && s_below (rng, 4) == 0 ? "+" : "", exp);
    }
    buf [n] = 0;
}

//  Text near a float32 rounding boundary: midpoints between neighbours,
//  printed with various precisions, where double rounding could bite.
static void
s_boundary_decimal (rng64_t *rng, char *buf, size_t size)
{
    uint32_t bits = (uint32_t) s_next (rng) & 0x7F7FFFFFu;
    float f;
    memcpy (&f, &bits, sizeof f);
    float up = nextafterf (f, INFINITY);
    double mid = ((double) f + (double) up) / 2;
    double value = s_below (rng, 2) ? mid : (double) f;
    int digits = 1 + s_below (rng, 20);
    snprintf (buf, size, s_below (rng, 2) ? "%.*g" : "%.*e", digits, value);
}

static void
test_numparse_random (void)
{
    rng64_t rng = { 0x9E3779B97F4A7C15ull };
    char buf [128];
    for (int i = 0; i < 150000; i++) {
        s_random_decimal (&rng, buf, sizeof buf);
        s_check_parse (buf);
    }
    for (int i = 0; i < 100000; i++) {
        s_boundary_decimal (&rng, buf, sizeof buf);
        s_check_parse (buf);
    }
    //  Doubles printed in full: the shortest round trip and more.
    for (int i = 0; i < 50000; i++) {
        double value = (double) (s_next (&rng) >> 11) / 9007199254740992.0
                     * pow (10, s_below (&rng, 80) - 40);
        snprintf (buf, sizeof buf, "%.*g", 1 + s_below (&rng, 17), value);
        s_check_parse (buf);
    }
}

//  A locale with a decimal comma must not change how numbers read: a parser that
//  followed LC_NUMERIC would stop at the point of a long number (strtod's slow path)
//  and take "1,5". With no such locale installed nothing would be checked, so that
//  fails, unless MT_SKIP_LOCALE_CHECK is set (tests/run.sh generates de_DE.UTF-8).
static void
test_numparse_locale (void)
{
    static const char *locales [] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR" };
    const size_t n_locales = sizeof locales / sizeof locales [0];
    size_t i = 0;
    while (i < n_locales && !(setlocale (LC_NUMERIC, locales [i])
                              && strcmp (localeconv ()->decimal_point, ",") == 0))
        i++;
    if (i == n_locales) {
        setlocale (LC_NUMERIC, "C");
        const char *skip = getenv ("MT_SKIP_LOCALE_CHECK");
        if (skip && *skip) {
            printf ("test_dataset: locale check skipped (MT_SKIP_LOCALE_CHECK is set): "
                    "no decimal-comma locale\n");
            return;
        }
        fprintf (stderr, "test_dataset: no decimal-comma locale (tried de_DE.UTF-8, "
                 "fr_FR.UTF-8, de_DE, fr_FR), so numparse's locale check cannot run. "
                 "Generate one (localedef -i de_DE -f UTF-8 de_DE.UTF-8, as tests/run.sh "
                 "does) or set MT_SKIP_LOCALE_CHECK=1 to skip it\n");
        exit (1);
    }
    float value = 0;
    CHECK (numparse_float ("0.30000000000000004441", 22, &value) == 0);
    CHECK (value == 0.3f);
    CHECK (numparse_float ("2.5", 3, &value) == 0 && value == 2.5f);
    CHECK (numparse_float ("1,5", 3, &value) == -1);
    printf ("test_dataset: numbers read the same in %s (decimal point '%s')\n",
            locales [i], localeconv ()->decimal_point);
    setlocale (LC_NUMERIC, "C");
}

static void
test_numparse_edges (void)
{
    static const char *good [] = {
        "0", "-0", "+0", "0.0", "-0.0e5", "0e999999999999", "1", "-1", ".5", "5.", "-.5e1",
        "0.1", "0.2", "0.3", "3.14159265358979323846264338327950288",
        "16777216", "16777217", "16777218", "16777219", "33554431", "33554433",
        "9007199254740992", "9007199254740993", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999",
        "3.4028234663852886e38", "3.4028235e38", "3.40282356e38", "3.4028235677973366e38",
        "1.17549435e-38", "1.4e-45", "1.401298464324817e-45", "7.006492321624085e-46",
        "7.006492321624086e-46", "1e-46", "1e-400", "2.5e-324", "1e22", "1e23",
        "123456789e-22", "9007199254740991e22", "4.35679149e-38", "0.000000000000000001",
        "1e000000000000000000000001", "1E5", "1e+5", "1e-5", "000123.45000",
        "8.589973e9", "1.00000005960464477539062499", "1.000000059604644775390625",
        "1.00000005960464477539062501", "7.038531e-26", "1.5e308", "1e308", "1e309",
        "3.5e38", "-3.5e38", "1e39", "1e999",
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++)
        s_check_parse (good [i]);
    static const char *bad [] = {
        "", "+", "-", ".", "-.", "e5", ".e5", "1e", "1e+", "1e-", "nan", "NaN", "-nan",
        "inf", "-inf", "Infinity", "0x10", "0x1p3", " 1", "1 ", "1..2", "1.2.3", "--1",
        "+-1", "1e5.5", "1,5", "abc", "1a", "1e5e5", "١", "1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        float value = 42.0f;
        CHECK_MSG (numparse_float (bad [i], strlen (bad [i]), &value) == -1, "'%s'", bad [i]);
        CHECK (value == 42.0f);
        CHECK_MSG (!numparse_is_decimal (bad [i], strlen (bad [i])), "'%s'", bad [i]);
    }
    CHECK (numparse_is_nonfinite ("-Infinity", 9));
    CHECK (numparse_is_nonfinite ("NAN", 3));
    CHECK (!numparse_is_nonfinite ("1e999", 5));
    //  Only len bytes are read: "12" of "123".
    float value;
    CHECK (numparse_float ("123", 2, &value) == 0 && value == 12.0f);
    //  A very long number takes the strtod path.
    char *big = malloc (5001);
    CHECK (big);
    memset (big, '7', 5000);
    big [5000] = 0;
    CHECK (numparse_float (big, 5000, &value) == -1);      // 7.7e4999 overflows
    big [0] = '.';
    s_check_parse (big);
    free (big);
}


//  --------------------------------------------------------------------------
//  Good tables

static void
test_sample (void)
{
    char *cause = NULL;
    dataset_t *ds = s_load ("sample_dataset.csv", "y", MT_TASK_REGRESSION, &cause);
    CHECK_MSG (ds, "%s", cause);
    CHECK (ds->rows == 30 && ds->cols == 1);
    CHECK (strcmp (ds->feature_names [0], "x") == 0);
    CHECK (strcmp (ds->target_name, "y") == 0);
    CHECK (ds->task == MT_TASK_REGRESSION && ds->label == NULL && ds->classes == NULL);
    for (int i = 1; i <= 30; i++) {
        char x [16], y [16];
        int y100 = 25 + 20 * (i - 1);          // y = 2x + 0.05, in hundredths
        snprintf (x, sizeof x, "%d.%d", i / 10, i % 10);
        snprintf (y, sizeof y, "%d.%02d", y100 / 100, y100 % 100);
        CHECK_MSG (s_same_bits (ds->x [i - 1], s_ref (x)), "row %d", i);
        CHECK_MSG (s_same_bits (ds->y [i - 1], s_ref (y)), "row %d", i);
    }
    dataset_destroy (&ds);
    CHECK (ds == NULL);
    dataset_destroy (&ds);
    dataset_destroy (NULL);
}

static void
s_check_iris (const dataset_t *ds)
{
    CHECK (ds->rows == 150 && ds->cols == 4);
    CHECK (ds->task == MT_TASK_CLASSIFICATION && ds->y == NULL);
    CHECK (ds->n_classes == 3);
    CHECK (strcmp (ds->classes [0], "setosa") == 0);
    CHECK (strcmp (ds->classes [1], "versicolor") == 0);
    CHECK (strcmp (ds->classes [2], "virginica") == 0);
    for (size_t r = 0; r < 150; r++)
        CHECK (ds->label [r] == (int32_t) (r / 50));
    static const char *names [] = { "sepal_length", "sepal_width", "petal_length",
                                    "petal_width" };
    for (int j = 0; j < 4; j++)
        CHECK (strcmp (ds->feature_names [j], names [j]) == 0);
    CHECK (strcmp (ds->target_name, "species") == 0);
    //  First and last rows: 5.1,3.5,1.4,0.2 and 5.9,3.0,5.1,1.8.
    CHECK (ds->x [0] == 5.1f && ds->x [1] == 3.5f && ds->x [2] == 1.4f && ds->x [3] == 0.2f);
    const float *last = ds->x + 149 * 4;
    CHECK (last [0] == 5.9f && last [1] == 3.0f && last [2] == 5.1f && last [3] == 1.8f);
}

static void
test_iris (void)
{
    dataset_opts_t opts = { .target = "species", .task = MT_TASK_CLASSIFICATION };
    dataset_t *csv = s_load_ok ("iris.csv", &opts);
    s_check_iris (csv);
    dataset_t *jsonl = s_load_ok ("iris.jsonl", &opts);
    s_check_iris (jsonl);
    CHECK (memcmp (csv->x, jsonl->x, 150 * 4 * sizeof (float)) == 0);
    //  Forcing the format works too.
    opts.format = MT_FORMAT_JSONL;
    dataset_t *forced = s_load_ok ("iris.jsonl", &opts);
    CHECK (forced->rows == 150);
    dataset_destroy (&forced);
    opts.format = MT_FORMAT_CSV;
    char *cause = NULL;
    CHECK (dataset_load (test_data ("iris.jsonl"), &opts, &cause) == NULL);
    free (cause);
    dataset_destroy (&csv);
    dataset_destroy (&jsonl);
}

static void
test_feature_subset (void)
{
    const char *features [] = { "petal_width", "sepal_length" };
    dataset_opts_t opts = { .target = "petal_length", .features = features, .n_features = 2 };
    dataset_t *ds = s_load_ok ("iris.csv", &opts);
    CHECK (ds->cols == 2 && ds->rows == 150);
    CHECK (strcmp (ds->feature_names [0], "petal_width") == 0);
    CHECK (strcmp (ds->feature_names [1], "sepal_length") == 0);
    CHECK (ds->x [0] == 0.2f && ds->x [1] == 5.1f && ds->y [0] == 1.4f);
    CHECK (ds->label == NULL);
    dataset_destroy (&ds);
    ds = s_load_ok ("iris.jsonl", &opts);
    CHECK (ds->x [0] == 0.2f && ds->x [1] == 5.1f && ds->y [0] == 1.4f);
    dataset_destroy (&ds);
}

static void
test_quoted (void)
{
    dataset_opts_t opts = { .target = "label", .task = MT_TASK_CLASSIFICATION };
    dataset_t *ds = s_load_ok ("quoted.csv", &opts);
    CHECK (ds->rows == 5 && ds->cols == 2);
    CHECK (strcmp (ds->feature_names [0], "a") == 0);
    CHECK (strcmp (ds->feature_names [1], "b") == 0);
    static const float x [] = { 1.5f, 2, -3, 4e-2f, 0.25f, 7, 8, 9, 10, 11 };
    CHECK (memcmp (ds->x, x, sizeof x) == 0);
    CHECK (ds->n_classes == 4);
    CHECK (strcmp (ds->classes [0], "plain") == 0);
    CHECK (strcmp (ds->classes [1], "red, dark") == 0);
    CHECK (strcmp (ds->classes [2], "say \"hi\"") == 0);
    CHECK (strcmp (ds->classes [3], "two\r\nlines") == 0);
    static const int32_t labels [] = { 1, 2, 3, 0, 1 };
    CHECK (memcmp (ds->label, labels, sizeof labels) == 0);
    dataset_destroy (&ds);
}

static void
test_classes_order (void)
{
    dataset_opts_t opts = { .target = "label", .task = MT_TASK_CLASSIFICATION };
    dataset_t *ds = s_load_ok ("int_classes.csv", &opts);
    CHECK (ds->n_classes == 3);
    CHECK (strcmp (ds->classes [0], "1") == 0);
    CHECK (strcmp (ds->classes [1], "2") == 0);
    CHECK (strcmp (ds->classes [2], "10") == 0);     // numerically: 2 < 10
    static const int32_t labels [] = { 2, 1, 0, 1, 2 };
    CHECK (memcmp (ds->label, labels, sizeof labels) == 0);
    dataset_destroy (&ds);
    //  Not all integers: bytewise, so "10" < "B" < "a" < "b".
    ds = s_buffer_ok ("mixed.csv", "x,label\n1,b\n2,B\n3,a\n4,10\n5,b\n", &opts);
    CHECK (ds->n_classes == 4);
    CHECK (strcmp (ds->classes [0], "10") == 0 && strcmp (ds->classes [1], "B") == 0);
    CHECK (strcmp (ds->classes [2], "a") == 0 && strcmp (ds->classes [3], "b") == 0);
    static const int32_t mixed [] = { 3, 1, 2, 0, 3 };
    CHECK (memcmp (ds->label, mixed, sizeof mixed) == 0);
    dataset_destroy (&ds);
    //  Negative integers and JSON integers.
    ds = s_buffer_ok ("neg.jsonl", "{\"x\": 1, \"c\": -5}\n{\"x\": 2, \"c\": 3}\n"
                      "{\"x\": 3, \"c\": \"-10\"}\n", &(dataset_opts_t) {
                      .target = "c", .task = MT_TASK_CLASSIFICATION });
    CHECK (ds->n_classes == 3);
    CHECK (strcmp (ds->classes [0], "-10") == 0 && strcmp (ds->classes [1], "-5") == 0);
    CHECK (ds->label [0] == 1 && ds->label [1] == 2 && ds->label [2] == 0);
    dataset_destroy (&ds);
}

static void
test_given_classes (void)
{
    const char *classes [] = { "virginica", "setosa", "versicolor" };
    dataset_opts_t opts = { .target = "species", .task = MT_TASK_CLASSIFICATION,
                            .classes = classes, .n_classes = 3 };
    dataset_t *ds = s_load_ok ("iris.csv", &opts);
    CHECK (ds->n_classes == 3);
    for (int i = 0; i < 3; i++)
        CHECK (strcmp (ds->classes [i], classes [i]) == 0);
    CHECK (ds->label [0] == 1 && ds->label [50] == 2 && ds->label [100] == 0);
    dataset_destroy (&ds);
    //  A subset with one class is fine when the classes are given.
    ds = s_buffer_ok ("one.csv", "x,species\n1,setosa\n", &opts);
    CHECK (ds->rows == 1 && ds->label [0] == 1 && ds->n_classes == 3);
    dataset_destroy (&ds);
    //  A label the model does not know is an error, with its line.
    opts.n_classes = 2;
    opts.classes = (const char *[]) { "setosa", "versicolor" };
    char *cause = NULL;
    ds = dataset_load (test_data ("iris.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "iris.csv:102: column 'species': unknown class 'virginica'",
                    NULL);
    opts.classes = (const char *[]) { "a", "a" };
    s_buffer_error ("twice.csv", "x,species\n1,a\n", 14, &opts, "class 'a' is given twice",
                    NULL);
}

static void
test_predict_style (void)
{
    const char *features [] = { "a", "b" };
    dataset_opts_t opts = { .features = features, .n_features = 2 };
    dataset_t *ds = s_load_ok ("predict.csv", &opts);
    CHECK (ds->rows == 2 && ds->cols == 2);
    CHECK (ds->y == NULL && ds->label == NULL && ds->target_name == NULL);
    static const float x [] = { 1, 2.5f, 3.5f, -4 };
    CHECK (memcmp (ds->x, x, sizeof x) == 0);
    dataset_destroy (&ds);
    //  No target and no list: every column is a feature.
    ds = s_load_ok ("sample_dataset.csv", &(dataset_opts_t) { 0 });
    CHECK (ds->cols == 2 && ds->rows == 30 && ds->y == NULL);
    dataset_destroy (&ds);
    ds = s_load_ok ("sample_dataset.csv", NULL);
    CHECK (ds->cols == 2);
    dataset_destroy (&ds);
    features [1] = "zz";
    char *cause = NULL;
    ds = dataset_load (test_data ("predict.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "predict.csv:1: no column 'zz' (a feature)",
                    "columns are: id, b, a, extra");
}

static void
test_buffer (void)
{
    dataset_opts_t opts = { .target = "y" };
    //  Blank lines skipped, no trailing newline, spaces around numbers.
    dataset_t *ds = s_buffer_ok ("mem", "x,y\n\n 1 ,2\r\n\r\n3,\t4", &opts);
    CHECK (ds->rows == 2 && ds->x [0] == 1 && ds->y [0] == 2 && ds->x [1] == 3 && ds->y [1] == 4);
    dataset_destroy (&ds);
    //  Content sniffing: an object means JSONL, whatever the name.
    ds = s_buffer_ok ("blob", "\n  {\"y\": 1, \"x\": 2}\n\n{\"x\": 3, \"y\": 4, \"extra\": \"s\"}",
                      &opts);
    CHECK (ds->rows == 2 && ds->cols == 1);             // keys after the first are ignored
    CHECK (ds->x [1] == 3 && ds->y [1] == 4);
    dataset_destroy (&ds);
    //  Text in a feature makes it categorical: x, extra=s, extra=(other)
    ds = s_buffer_ok ("blob", "{\"y\": 1, \"x\": 2, \"extra\": \"s\"}\n", &opts);
    CHECK (ds->rows == 1 && ds->cols == 3 && ds->x [1] == 1 && ds->x [2] == 0);
    CHECK_STR_EQ (ds->feature_names [2], "extra=(other)");
    dataset_destroy (&ds);
    const char *x_only [] = { "x" };
    opts.features = x_only;
    opts.n_features = 1;
    ds = s_buffer_ok ("blob", "{\"y\": 1, \"x\": 2, \"extra\": \"s\"}\n{\"x\": 3, \"y\": 4}\n",
                      &opts);
    CHECK (ds->rows == 2 && ds->cols == 1 && ds->x [1] == 3 && ds->y [1] == 4);
    dataset_destroy (&ds);
    ds = dataset_load_buffer (NULL, NULL, 0, &opts, NULL);
    CHECK (ds == NULL);
    s_buffer_error (NULL, "", 0, &opts, "(buffer): empty file", NULL);
    //  BOM only, and blank lines only.
    s_buffer_error ("b.csv", "\xEF\xBB\xBF\r\n\n", 6, &opts, "b.csv: empty file", NULL);
}

//  One file per bad case, with the message it must give.
typedef struct {
    const char *file;
    const char *target;
    mt_task_t task;
    const char *needle;
    const char *numeric;        // a feature forced numeric (text in it is inferred a category)
} bad_case_t;

static const bad_case_t s_bad_cases [] = {
    { "missing_target.csv", "y", MT_TASK_REGRESSION,
      "missing_target.csv:1: no column 'y' (the target); the columns are: x, z", NULL },
    { "not_a_number.csv", "y", MT_TASK_REGRESSION,
      "not_a_number.csv:3: column 'x': 'abc' is not a number", "x" },
    { "nan.csv", "y", MT_TASK_REGRESSION, "nan.csv:3: column 'x': 'nan' is not a finite number", "x" },
    { "inf.csv", "y", MT_TASK_REGRESSION,
      "inf.csv:3: column 'y': '-Infinity' is not a finite number", NULL },
    { "overflow.csv", "y", MT_TASK_REGRESSION,
      "overflow.csv:2: column 'x': '1e999' is out of range for float32", "x" },
    { "overflow_float.csv", "y", MT_TASK_REGRESSION,
      "overflow_float.csv:4: column 'x': '1e39' is out of range for float32", "x" },
    { "ragged_short.csv", "y", MT_TASK_REGRESSION,
      "ragged_short.csv:3: column 'z': missing (the row has 2 fields, the header 3)", NULL },
    { "ragged_long.csv", "y", MT_TASK_REGRESSION,
      "ragged_long.csv:3: column 3: extra field (the row has 3 fields, the header 2)", NULL },
    { "empty.csv", "y", MT_TASK_REGRESSION, "empty.csv: empty file", NULL },
    { "header_only.csv", "y", MT_TASK_REGRESSION, "header_only.csv: no data rows", NULL },
    { "duplicate_column.csv", "y", MT_TASK_REGRESSION,
      "duplicate_column.csv:1: column 'x': appears twice (columns 1 and 3)", NULL },
    { "one_class.csv", "label", MT_TASK_CLASSIFICATION,
      "one_class.csv: column 'label': only one class ('a')", NULL },
    { "unterminated_quote.csv", "name", MT_TASK_CLASSIFICATION,
      "unterminated_quote.csv:3: column 'name': unterminated quoted field", NULL },
    { "target_not_number.csv", "y", MT_TASK_REGRESSION,
      "target_not_number.csv:3: column 'y': 'high' is not a number", NULL },
    { "empty_column_name.csv", "y", MT_TASK_REGRESSION,
      "empty_column_name.csv:1: column 2 has an empty name", NULL },
    { "text_after_quote.csv", "y", MT_TASK_REGRESSION,
      "text_after_quote.csv:2: column 'x': text after a closing quote", NULL },
    { "quoted_line_count.csv", "note", MT_TASK_CLASSIFICATION,
      "quoted_line_count.csv:7: column 'x': '3x' is not a number", "x" },
    { "bool_feature.jsonl", "y", MT_TASK_REGRESSION,
      "bool_feature.jsonl:1: column 'x': 'true' is not a number", "x" },
    { "invalid_json.jsonl", "y", MT_TASK_REGRESSION, "invalid_json.jsonl:3: invalid JSON", NULL },
    { "not_object.jsonl", "y", MT_TASK_REGRESSION,
      "not_object.jsonl:2: not a JSON object but an array", NULL },
    { "overflow.jsonl", "y", MT_TASK_REGRESSION, "overflow.jsonl:2: invalid JSON", NULL },
    { "duplicate_key.jsonl", "y", MT_TASK_REGRESSION, "duplicate_key.jsonl:1: invalid JSON", NULL },
    { "real_class.jsonl", "label", MT_TASK_CLASSIFICATION,
      "real_class.jsonl:2: column 'label': a class must be an integer or a string, "
      "got a real number", NULL },
    { "empty.jsonl", "y", MT_TASK_REGRESSION, "empty.jsonl: empty file", NULL },
};

static void
test_bad_files (void)
{
    for (size_t i = 0; i < sizeof s_bad_cases / sizeof s_bad_cases [0]; i++) {
        const bad_case_t *bad = &s_bad_cases [i];
        char file [256];
        snprintf (file, sizeof file, "bad/%s", bad->file);
        char *cause = NULL;
        const char *numeric [] = { bad->numeric };
        dataset_opts_t opts = { .target = bad->target, .task = bad->task,
                                .numeric = numeric, .n_numeric = bad->numeric ? 1 : 0 };
        dataset_t *ds = dataset_load (test_data (file), &opts, &cause);
        s_expect_error (ds, &cause, bad->needle, NULL);
    }
    char *cause = NULL;
    dataset_t *ds = s_load ("no/such/file.csv", "y", MT_TASK_REGRESSION, &cause);
    s_expect_error (ds, &cause, "no/such/file.csv: cannot open: No such file", NULL);
    ds = s_load ("bad", "y", MT_TASK_REGRESSION, &cause);
    s_expect_error (ds, &cause, "bad: is a directory", NULL);
}

//  Text in a regression target from its first row (iris without --task
//  classification) hints at the task; text in a feature, or in a later row
//  of a numeric target, gets no such hint
static void
test_text_target (void)
{
    const char *hint = "(the target holds text: for class labels use --task classification)";
    dataset_opts_t opts = { .target = "species", .task = MT_TASK_REGRESSION };
    char *cause = NULL;
    dataset_t *ds = dataset_load (test_data ("iris.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "iris.csv:2: column 'species': 'setosa' is not a number", hint);
    ds = dataset_load (test_data ("iris.jsonl"), &opts, &cause);
    s_expect_error (ds, &cause,
                    "iris.jsonl:1: column 'species': expected a number, got the string 'setosa'",
                    hint);
    //  A feature's text (forced numeric), and a typo in a later row, get no hint
    opts.target = "petal_width";
    const char *numeric [] = { "species" };
    opts.numeric = numeric;
    opts.n_numeric = 1;
    ds = dataset_load (test_data ("iris.csv"), &opts, &cause);
    s_expect_no_hint (ds, &cause, "column 'species': 'setosa' is not a number");
    ds = dataset_load (test_data ("iris.jsonl"), &opts, &cause);
    s_expect_no_hint (ds, &cause, "column 'species': 'setosa' is not a number");
    opts.numeric = NULL;
    opts.n_numeric = 0;
    opts.target = "y";
    ds = dataset_load (test_data ("bad/target_not_number.csv"), &opts, &cause);
    s_expect_no_hint (ds, &cause, "target_not_number.csv:3: column 'y': 'high' is not a number");
    ds = dataset_load_buffer ("t.jsonl", "{\"x\": 1, \"y\": 2}\n{\"x\": 2, \"y\": \"a\"}\n", 36,
                              &opts, &cause);
    s_expect_no_hint (ds, &cause, "t.jsonl:2: column 'y': expected a number, got the string 'a'");
}

static void
test_bad_options (void)
{
    const char *features [] = { "x", "q" };
    dataset_opts_t opts = { .target = "y", .features = features, .n_features = 2 };
    char *cause = NULL;
    dataset_t *ds = dataset_load (test_data ("sample_dataset.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "sample_dataset.csv:1: no column 'q' (a feature)", NULL);
    features [1] = "y";
    ds = dataset_load (test_data ("sample_dataset.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "column 'y': is both the target and a feature", NULL);
    features [1] = "x";
    ds = dataset_load (test_data ("sample_dataset.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "column 'x': is listed twice as a feature", NULL);
    opts.n_features = 0;
    ds = dataset_load (test_data ("sample_dataset.csv"), &opts, &cause);
    s_expect_error (ds, &cause, "0 features asked for", NULL);
    opts = (dataset_opts_t) { .target = "x" };
    s_buffer_error ("one.csv", "x\n1\n", 4, &opts, "one.csv:1: no feature columns", NULL);
    opts.task = (mt_task_t) 7;
    s_buffer_error ("t.csv", "x,y\n1,2\n", 8, &opts, "unknown task 7", NULL);
}

//  Limits: record length, column names, feature count.
static void
test_limits (void)
{
    dataset_opts_t opts = { .target = "y" };
    size_t len = DATASET_MAX_LINE + 64;
    char *text = malloc (len + 1);
    CHECK (text);
    memcpy (text, "x,y\n1,2\n3,", 10);
    memset (text + 10, '4', len - 10);
    text [len] = 0;
    s_buffer_error ("long.csv", text, len, &opts, "long.csv:3: record is longer than 1048576",
                    NULL);
    //  The same inside an open quote: too long, not unterminated.
    text [10] = '"';
    s_buffer_error ("long.csv", text, len, &opts, "long.csv:3: record is longer than", NULL);
    //  Exactly at the limit is fine: header x,y then one record of the limit.
    memcpy (text, "y,x\n1,", 6);
    memset (text + 6, '0', DATASET_MAX_LINE - 2);
    memcpy (text + 4 + DATASET_MAX_LINE, "\r\n", 2);
    dataset_t *ds = dataset_load_buffer ("edge.csv", text, 4 + DATASET_MAX_LINE + 2, &opts,
                                         NULL);
    CHECK (ds && ds->rows == 1 && ds->x [0] == 0.0f);
    dataset_destroy (&ds);
    text [4 + DATASET_MAX_LINE] = '0';
    s_buffer_error ("edge.csv", text, 4 + DATASET_MAX_LINE + 2, &opts,
                    "edge.csv:2: record is longer", NULL);
    //  JSONL lines too.
    memcpy (text, "{\"x\": 1, \"y\": 2, \"s\": \"", 23);
    memset (text + 23, 'a', len - 23);
    s_buffer_error ("long.jsonl", text, len, &opts, "long.jsonl:1: line is longer than", NULL);
    free (text);

    char header [1024];
    snprintf (header, sizeof header, "y,%0*d\n1,2\n", MT_SPEC_MAX_COLUMN + 1, 7);
    s_buffer_error ("name.csv", header, strlen (header), &opts,
                    "name.csv:1: column 2: name is longer than 256 bytes", NULL);
    //  MT_SPEC_MAX_FEATURES + 1 feature columns.
    size_t size = (MT_SPEC_MAX_FEATURES + 2) * 8 + 16;
    char *wide = malloc (size);
    CHECK (wide);
    size_t used = (size_t) snprintf (wide, size, "y");
    for (int i = 0; i <= MT_SPEC_MAX_FEATURES; i++)
        used += (size_t) snprintf (wide + used, size - used, ",c%d", i);
    used += (size_t) snprintf (wide + used, size - used, "\n");
    s_buffer_error ("wide.csv", wide, used, &opts, "wide.csv:1: 10001 feature columns, "
                    "more than the limit of 10000", NULL);
    free (wide);
}

//  Every prefix of every fixture, and random mutations: errors, never crashes.
static void
s_fuzz_one (const char *name, const char *data, size_t len)
{
    static const dataset_opts_t opts [] = {
        { .target = "y" }, { .target = "species", .task = MT_TASK_CLASSIFICATION },
        { .target = "label", .task = MT_TASK_CLASSIFICATION }, { 0 },
        { .format = MT_FORMAT_CSV, .target = "name", .task = MT_TASK_CLASSIFICATION },
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts [0]; i++) {
        char *cause = NULL;
        dataset_t *ds = dataset_load_buffer (name, data, len, &opts [i], &cause);
        CHECK ((ds == NULL) == (cause != NULL));
        if (ds)
            CHECK (ds->rows > 0 && ds->cols > 0);
        dataset_destroy (&ds);
        free (cause);
    }
}

static char *
s_read (const char *path, size_t *len)
{
    FILE *file = fopen (path, "rb");
    CHECK_MSG (file, "%s", path);
    char *data = malloc (1 << 16);
    CHECK (data);
    *len = fread (data, 1, 1 << 16, file);
    fclose (file);
    return data;
}

static void
test_fuzz (void)
{
    static const char *files [] = {
        "sample_dataset.csv", "iris.csv", "iris.jsonl", "quoted.csv", "int_classes.csv",
        "predict.csv", "bad/missing_target.csv", "bad/not_a_number.csv",
        "bad/empty_value.csv", "bad/nan.csv", "bad/inf.csv", "bad/overflow.csv",
        "bad/overflow_float.csv", "bad/ragged_short.csv", "bad/ragged_long.csv",
        "bad/empty.csv", "bad/header_only.csv", "bad/duplicate_column.csv",
        "bad/one_class.csv", "bad/unterminated_quote.csv", "bad/target_not_number.csv",
        "bad/empty_column_name.csv", "bad/text_after_quote.csv", "bad/empty_class.csv",
        "bad/quoted_line_count.csv", "bad/missing_key.jsonl", "bad/string_feature.jsonl",
        "bad/bool_feature.jsonl", "bad/invalid_json.jsonl", "bad/not_object.jsonl",
        "bad/overflow.jsonl", "bad/duplicate_key.jsonl", "bad/null_target.jsonl",
        "bad/real_class.jsonl", "bad/empty.jsonl",
    };
    size_t n_files = sizeof files / sizeof files [0];
    rng64_t rng = { 12345 };
    for (size_t f = 0; f < n_files; f++) {
        size_t len;
        char *data = s_read (test_data (files [f]), &len);
        const char *name = strchr (files [f], '.');
        size_t step = len > 8000 ? 5 : 1;   // every prefix, but of iris.jsonl every 5th
        for (size_t n = 0; n <= len; n += step) {
            //  An exact-size copy, so a read past the end is caught by ASan.
            char *copy = malloc (n ? n : 1);
            memcpy (copy, data, n);
            s_fuzz_one (name, copy, n);
            free (copy);
        }
        free (data);
    }
    //  Random mutations: a fixed count from the fixed seed, so every machine checks the
    //  same inputs however slow it is (about a second unsanitized).
    static const char alphabet [] = "\",\r\n\"0.e-+{}:[] a\xEF\xBB\xBF\0";
    const int mutations = 100000;
    int done = 0;
    for (int m = 0; m < mutations; m++) {
        size_t len;
        char *data = s_read (test_data (files [s_below (&rng, (int) n_files)]), &len);
        if (len > 4000)
            len = 4000;
        int edits = 1 + s_below (&rng, 8);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = (size_t) s_below (&rng, (int) len);
            data [at] = s_below (&rng, 2) ? alphabet [s_below (&rng, sizeof alphabet - 1)]
                                          : (char) s_next (&rng);
        }
        char *copy = malloc (len ? len : 1);
        memcpy (copy, data, len);
        s_fuzz_one (s_below (&rng, 2) ? ".csv" : ".jsonl", copy, len);
        free (copy);
        free (data);
        done++;
    }
    CHECK_MSG (done == mutations, "%d of %d mutations ran", done, mutations);
    printf ("test_dataset: fuzz: every prefix of %zu fixtures, %d mutations\n", n_files, done);
}

//  --------------------------------------------------------------------------
//  dataset_columns: a file's head only, read by the loader's own rules

//  The columns of dir/name (written with text first, unless NULL) joined by
//  '|', with " (jsonl)" after them when read as JSONL; or the cause.
static char *
s_columns_of (const char *dir, const char *name, const char *text, mt_format_t format)
{
    const char *path = test_path (dir, name);
    if (text) {
        FILE *file = fopen (path, "wb");
        CHECK (file && fwrite (text, 1, strlen (text), file) == strlen (text));
        fclose (file);
    }
    char *cause = NULL;
    dataset_columns_t *columns = dataset_columns (path, format, &cause);
    if (text)
        unlink (path);
    if (!columns)
        return cause;
    CHECK (columns->format == MT_FORMAT_CSV || columns->format == MT_FORMAT_JSONL);
    char *joined = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&joined, &size);
    for (size_t i = 0; i < columns->count; i++)
        fprintf (out, "%s%s", i ? "|" : "", columns->names [i]);
    fprintf (out, "%s", columns->format == MT_FORMAT_JSONL ? " (jsonl)" : "");
    fclose (out);
    dataset_columns_destroy (&columns);
    dataset_columns_destroy (&columns);
    free (cause);
    return joined;
}

static void
test_columns (void)
{
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_dataset");
    struct { const char *name, *text; mt_format_t format; const char *want; } cases [] = {
        { "plain.csv", "a,b,y\n1,2,3\n", MT_FORMAT_AUTO, "a|b|y" },
        { "bom.csv", "\xEF\xBB\xBF\"a\", b ,\"c,d\"\r\n1,2,3\r\n", MT_FORMAT_AUTO, "a|b|c,d" },
        { "blank.csv", "\n\r\n  x,\"new,line\"\n1,2\n", MT_FORMAT_AUTO, "x|new,line" },
        { "quotes.csv", "\"say \"\"hi\"\"\",y\n", MT_FORMAT_AUTO, "say \"hi\"|y" },
        { "nolf.csv", "a,b", MT_FORMAT_AUTO, "a|b" },
        { "rows.csv", "a,b\n1,\"open\n", MT_FORMAT_AUTO, "a|b" },   // rows are not read
        { "noext", "  {\"p\": 1, \"q\": 2}\n{\"p\": 3}\n", MT_FORMAT_AUTO, "p|q (jsonl)" },
        { "noext.txt", "p,q\n", MT_FORMAT_AUTO, "p|q" },
        { "data.jsonl", "\xEF\xBB\xBF\n \t\n{\"k\": 1, \"y\": 2}\r\n", MT_FORMAT_AUTO, "k|y (jsonl)" },
        { "data.NDJSON", "{\"k\": 1}", MT_FORMAT_AUTO, "k (jsonl)" },
        { "rows.jsonl", "{\"k\": 1}\n[nope\n", MT_FORMAT_AUTO, "k (jsonl)" },
        { "obj.csv", "{a,b}\n", MT_FORMAT_AUTO, "{a|b}" },
        { "forced.csv", "{\"a\": 1, \"b\": 2}\n", MT_FORMAT_JSONL, "a|b (jsonl)" },
        //  Failures name the file and what is wrong, as the loader does
        { "empty.csv", "", MT_FORMAT_AUTO, "empty.csv: empty file (no header row)" },
        { "blank2.csv", "\n\r\n\n", MT_FORMAT_AUTO, "blank2.csv: empty file (no header row)" },
        { "spaces", "\n\r\n", MT_FORMAT_AUTO, "spaces: empty file (no header row)" },
        { "empty.jsonl", "\n  \n", MT_FORMAT_AUTO, "empty.jsonl: empty file (no JSON object)" },
        { "open.csv", "\"a,b\n1,2\n", MT_FORMAT_AUTO, "open.csv:1: column '1': unterminated "
          "quoted field" },
        { "after.csv", "\"a\"x,b\n", MT_FORMAT_AUTO, "after.csv:1: column '1': text after a "
          "closing quote" },
        { "twice.csv", "a,b,a\n1,2,3\n", MT_FORMAT_AUTO, "twice.csv:1: column 'a': appears "
          "twice (columns 1 and 3)" },
        { "unnamed.csv", "\na,,b\n", MT_FORMAT_AUTO, "unnamed.csv:2: column 2 has an empty name" },
        { "list.jsonl", "[1, 2]\n", MT_FORMAT_AUTO, "list.jsonl is a JSON array; write one "
          "JSON object per line (JSON Lines)" },
        { "nokeys.jsonl", "\n{}\n", MT_FORMAT_AUTO, "nokeys.jsonl:2: the first object has no "
          "keys (no columns)" },
        { "bad.jsonl", "{nope\n", MT_FORMAT_AUTO, "bad.jsonl:1: invalid JSON" },
        //  A job spec refuses control characters in feature and target names
        { "ctrl.csv", "x,\"new\nline\"\n1,2\n", MT_FORMAT_AUTO, "ctrl.csv:1: column 2: name "
          "holds a control character (byte 0x0A at byte 4 of it); rename the column" },
        { "ctrl.jsonl", "{\"k\": 1, \"a\\tb\": 2}\n", MT_FORMAT_AUTO, "ctrl.jsonl:1: column 2: "
          "name holds a control character (byte 0x09" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *got = s_columns_of (dir, cases [i].name, cases [i].text, cases [i].format);
        CHECK_MSG (got && strstr (got, cases [i].want), "%s: got '%s', expected '%s'",
                   cases [i].name, got ? got : "(null)", cases [i].want);
        free (got);
    }
    char *got = s_columns_of (dir, "missing.csv", NULL, MT_FORMAT_AUTO);
    CHECK_STR_CONTAINS (got, "missing.csv: cannot open: ");
    free (got);
    got = s_columns_of (dir, ".", NULL, MT_FORMAT_AUTO);
    CHECK_STR_CONTAINS (got, "/.: is a directory");
    free (got);

    //  A header over several reads, with quoted commas; then cut inside
    //  quoted line ends, read whole to the name that holds one (refused)
    const char *path = test_path (dir, "wide.csv");
    char *cause = NULL;
    dataset_columns_t *columns = NULL;
    for (int ends = 0; ends < 2; ends++) {
        FILE *file = fopen (path, "wb");
        for (int i = 0; i < 1000; i++)
            fprintf (file, i % 10 == 9 ? (ends ? "%s\"col\n%04d%0100d\"" : "%s\"col,%04d%0100d\"")
                                       : "%scol%04d%0100d", i ? "," : "", i, 0);
        fprintf (file, "\n1,2\n");
        fclose (file);
        columns = dataset_columns (path, MT_FORMAT_AUTO, &cause);
        if (ends) {
            CHECK (!columns);
            CHECK_STR_CONTAINS (cause, "wide.csv:1: column 10: name holds a control character");
            free (cause);
            cause = NULL;
            continue;
        }
        CHECK_MSG (columns, "%s", cause);
        CHECK (columns->count == 1000 && columns->format == MT_FORMAT_CSV);
        char name [200];
        snprintf (name, sizeof name, "col,%04d%0100d", 999, 0);
        CHECK_STR_EQ (columns->names [999], name);
        dataset_columns_destroy (&columns);
    }

    //  A header longer than the loader takes is refused, not read on: with
    //  no line end, or with line ends inside a quoted field
    FILE *file = fopen (path, "wb");
    for (int i = 0; i < 6000; i++)
        fprintf (file, "%sc%0250d", i ? "," : "", i);
    fprintf (file, "\n");
    fclose (file);
    CHECK (dataset_columns (path, MT_FORMAT_CSV, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "wide.csv: no header row in its first");
    free (cause);
    cause = NULL;
    file = fopen (path, "wb");
    fprintf (file, "a,\"");
    for (int i = 0; i < 12000; i++)
        fprintf (file, "%0100d\n", i);
    fprintf (file, "\"\n");
    fclose (file);
    CHECK (dataset_columns (path, MT_FORMAT_CSV, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "wide.csv:1: record is longer than 1048576 bytes");
    free (cause);
    cause = NULL;
    unlink (path);
    CHECK (rmdir (dir) == 0);

    //  The fixtures: what the loader refuses in a header is refused in its
    //  words; what it reads has the columns named here
    static const char *refused [] = {
        "bad/empty.csv", "bad/duplicate_column.csv", "bad/empty_column_name.csv",
        "bad/duplicate_key.jsonl", "bad/empty.jsonl",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        char *loaded = NULL;
        columns = dataset_columns (test_data (refused [i]), MT_FORMAT_AUTO, &cause);
        dataset_t *ds = dataset_load (test_data (refused [i]), NULL, &loaded);
        CHECK_MSG (!columns && !ds, "%s was read", refused [i]);
        CHECK_STR_EQ (cause, loaded);
        free (cause);
        free (loaded);
        cause = NULL;
    }
    struct { const char *file, *target; mt_task_t task; } read [] = {
        { "sample_dataset.csv", "y", MT_TASK_REGRESSION },
        { "iris.csv", "species", MT_TASK_CLASSIFICATION },
        { "iris.jsonl", "species", MT_TASK_CLASSIFICATION },
        { "quoted.csv", "label", MT_TASK_CLASSIFICATION },
    };
    for (size_t i = 0; i < sizeof read / sizeof read [0]; i++) {
        columns = dataset_columns (test_data (read [i].file), MT_FORMAT_AUTO, &cause);
        CHECK_MSG (columns, "%s", cause);
        dataset_opts_t opts = { .target = read [i].target, .task = read [i].task };
        dataset_t *ds = s_load_ok (read [i].file, &opts);
        CHECK (columns->count == ds->cols + 1);
        for (size_t j = 0; j < ds->cols; j++)
            CHECK_STR_EQ (columns->names [j], ds->feature_names [j]);
        CHECK_STR_EQ (columns->names [ds->cols], ds->target_name);
        dataset_columns_destroy (&columns);
        dataset_destroy (&ds);
    }
    printf ("columns: ok\n");
}

//  Files that are not what they seem, each through dataset_columns and the
//  full load: both refuse it with the same words, which say what it is

typedef struct {
    const char *name;
    const char *bytes;          // the file, made here when it cannot be text in git
    size_t len;                 //   (NULs), or NULL for test_data/bad/name
    const char *needle;
} s_odd_file_t;

#define S_BYTES(text) text, sizeof text - 1

static const s_odd_file_t s_odd_files [] = {
    { "utf16le_bom.csv", S_BYTES ("\xFF\xFEx\0,\0y\0\n\0" "1\0,\0" "2\0\n\0"),
      "utf16le_bom.csv looks like UTF-16 text (it starts with a UTF-16 byte order mark); "
      "save it as UTF-8" },
    { "utf16be_bom.jsonl", S_BYTES ("\xFE\xFF\0{\0\"\0x\0\"\0:\0" "1\0}\0\n"),
      "utf16be_bom.jsonl looks like UTF-16 text (it starts with a UTF-16 byte order mark)" },
    { "utf16le.csv", S_BYTES ("x\0,\0y\0\r\0\n\0" "1\0,\0" "2\0\r\0\n\0"),
      "utf16le.csv looks like UTF-16 text (every other byte is 0x00); save it as UTF-8" },
    { "utf16be", S_BYTES ("\0x\0,\0y\0\n\0" "1\0,\0" "2\0\n"),
      "utf16be looks like UTF-16 text (every other byte is 0x00); save it as UTF-8" },
    { "utf32.csv", S_BYTES ("\xFF\xFE\0\0x\0\0\0\n\0\0\0"),
      "utf32.csv looks like UTF-32 text (it starts with a UTF-32 byte order mark)" },
    { "binary.csv", S_BYTES ("x,y\n1,2\n\x7F" "ELF\x02\x01\x01\0\0\0\n"),
      "binary.csv: byte 0x00 at offset 15: this is not a text file" },
    { "nul_header.jsonl", S_BYTES ("{\"x\": 1}\0\n"),
      "nul_header.jsonl: byte 0x00 at offset 8: this is not a text file" },
    { "data.csv.gz", S_BYTES ("\x1F\x8B\x08\x08\x12\x34\x56\x78\0\x03" "data.csv"),
      "data.csv.gz: this is not a text file but a gzip file: decompress it first" },
    { "sheet.csv", S_BYTES ("PK\x03\x04\x14\0\x06\0"),
      "sheet.csv: this is not a text file but a zip archive (an .xlsx workbook is one)" },
    { "cr_only.csv", NULL, 0,
      "cr_only.csv: line endings are CR only (old Mac); convert them to LF or CRLF" },
    { "json_array.jsonl", NULL, 0,
      "json_array.jsonl is a JSON array; write one JSON object per line (JSON Lines)" },
    { "json_array.csv", NULL, 0,
      "json_array.csv is a JSON array; write one JSON object per line (JSON Lines)" },
    { "cp1252_header.csv", NULL, 0,
      "cp1252_header.csv:1: column 2: name is not valid UTF-8 (byte 0xE9 at byte 4 of it); "
      "the file may be in Windows-1252: save it as UTF-8" },
};

static void
test_odd_files (void)
{
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_dataset");
    for (size_t i = 0; i < sizeof s_odd_files / sizeof s_odd_files [0]; i++) {
        const s_odd_file_t *odd = &s_odd_files [i];
        char bad [256];
        snprintf (bad, sizeof bad, "bad/%s", odd->name);
        const char *path = odd->bytes ? test_path (dir, odd->name) : test_data (bad);
        if (odd->bytes) {
            FILE *file = fopen (path, "wb");
            CHECK (file && fwrite (odd->bytes, 1, odd->len, file) == odd->len);
            fclose (file);
        }
        char *cause = NULL, *loaded = NULL;
        dataset_columns_t *columns = dataset_columns (path, MT_FORMAT_AUTO, &cause);
        dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
        dataset_t *ds = dataset_load (path, &opts, &loaded);
        CHECK_MSG (!columns && !ds, "%s was read", odd->name);
        CHECK_STR_CONTAINS (cause, odd->needle);
        CHECK_STR_EQ (loaded, cause);
        free (loaded);
        //  From memory too, and with the format forced
        loaded = NULL;
        size_t len = odd->bytes ? odd->len : 0;
        char *text = odd->bytes ? NULL : s_read (path, &len);
        ds = dataset_load_buffer (odd->name, odd->bytes ? odd->bytes : text, len, &opts,
                                  &loaded);
        CHECK_MSG (!ds, "%s was read from memory", odd->name);
        CHECK_STR_CONTAINS (loaded, strstr (odd->needle, odd->name));
        free (loaded);
        free (text);
        free (cause);
        if (odd->bytes)
            unlink (path);
    }
    //  JSON read as CSV and a JSON array forced to either format
    char *got = s_columns_of (dir, "rows.csv", "[{\"x\": 1}]\n", MT_FORMAT_CSV);
    CHECK_STR_CONTAINS (got, "rows.csv is a JSON array");
    free (got);
    got = s_columns_of (dir, "rows", "  [\n", MT_FORMAT_JSONL);
    CHECK_STR_CONTAINS (got, "rows is a JSON array");
    free (got);
    //  What only looks odd is read: "[a]" as a CSV name, a lone CR inside a
    //  CRLF file's quoted field, valid UTF-8 names, a UTF-8 BOM
    struct { const char *name, *text, *want; } fine [] = {
        { "brackets.csv", "[a],b,y\n1,2,3\n", "[a]|b|y" },
        { "lone_cr.csv", "a,y\r\n\"1\rb\",2\r\n", "a|y" },     // a name may not hold it
        { "utf8.csv", "caf\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x98\x80,y\n1,2,3,4\n",
          "caf\xC3\xA9|\xE2\x82\xAC|\xF0\x9F\x98\x80|y" },
        { "bom.jsonl", "\xEF\xBB\xBF{\"x\": 1, \"y\": 2}\n{\"x\": 3, \"y\": 4}\n", "x|y (jsonl)" },
        { "bom.csv", "\xEF\xBB\xBFx,y\n1,2\n3,4\n", "x|y" },
        { "one.csv", "x,y\r", "x|y" },
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine [0]; i++) {
        got = s_columns_of (dir, fine [i].name, fine [i].text, MT_FORMAT_AUTO);
        CHECK_MSG (got && strcmp (got, fine [i].want) == 0, "%s: got '%s', expected '%s'",
                   fine [i].name, got ? got : "(null)", fine [i].want);
        free (got);
    }
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    for (int i = 3; i < 5; i++) {
        dataset_t *ds = s_buffer_ok (fine [i].name, fine [i].text, &opts);
        CHECK (ds->rows == 2 && ds->cols == 1);
        CHECK_STR_EQ (ds->feature_names [0], "x");
        CHECK (ds->x [1] == 3 && ds->y [1] == 4);
        dataset_destroy (&ds);
    }
    //  Names that are not UTF-8: overlong, a surrogate, cut short, past U+10FFFF
    const char *names [] = { "\xC0\xAF", "\xED\xA0\x80", "ab\xE2\x82", "\xF4\x90\x80\x80" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        char text [64];
        snprintf (text, sizeof text, "x,%s,y\n1,2,3\n", names [i]);
        got = s_columns_of (dir, "bad.csv", text, MT_FORMAT_AUTO);
        CHECK_STR_CONTAINS (got, "bad.csv:1: column 2: name is not valid UTF-8");
        free (got);
    }
    //  A class that is not UTF-8 could not be kept in a model's metadata
    dataset_opts_t classify = { .target = "y", .task = MT_TASK_CLASSIFICATION };
    s_buffer_error ("c.csv", "x,y\n1,a\n2,caf\xE9\n", 15, &classify,
                    "c.csv:3: column 'y': class 'caf\\xE9' is not valid UTF-8", "Windows-1252");
    //  JSON Lines that are not UTF-8 say so too (jansson finds it)
    got = s_columns_of (dir, "w.jsonl", "{\"caf\xE9\": 1}\n", MT_FORMAT_AUTO);
    CHECK_STR_CONTAINS (got, "w.jsonl:1: invalid JSON");
    CHECK_STR_CONTAINS (got, "the file may be in Windows-1252: save it as UTF-8");
    free (got);
    CHECK (rmdir (dir) == 0);
    printf ("files that are not what they seem: ok\n");
}

//  Writes a header into a FIFO and holds it open (no end of file) until told
//  to stop, or for a minute.
typedef struct {
    const char *path;
    int stop [2];               // a pipe: a byte on it ends the writer
    bool waited_out;            // the minute passed first
} s_fifo_t;

static void *
s_fifo_writer (void *arg)
{
    s_fifo_t *fifo = arg;
    int fd = open (fifo->path, O_WRONLY);
    CHECK (fd >= 0);
    const char *head = "a,b,y\n1,2,3\n";
    CHECK (write (fd, head, strlen (head)) == (ssize_t) strlen (head));
    struct pollfd item = { fifo->stop [0], POLLIN, 0 };
    fifo->waited_out = poll (&item, 1, 60000) == 0;
    close (fd);
    return NULL;
}

//  Only the head is read: a file that does not end yet gives its columns,
//  without waiting for its writer
static void
test_columns_head_only (void)
{
    char dir [256];
    test_temp_dir (dir, sizeof dir, "test_dataset");
    s_fifo_t fifo = { test_path (dir, "endless.csv"), { -1, -1 }, false };
    CHECK (mkfifo (fifo.path, 0600) == 0 && pipe (fifo.stop) == 0);
    pthread_t writer;
    CHECK (pthread_create (&writer, NULL, s_fifo_writer, &fifo) == 0);
    char *cause = NULL;
    dataset_columns_t *columns = dataset_columns (fifo.path, MT_FORMAT_AUTO, &cause);
    CHECK (write (fifo.stop [1], "x", 1) == 1);
    pthread_join (writer, NULL);
    CHECK_MSG (columns, "%s", cause);
    CHECK_MSG (!fifo.waited_out, "dataset_columns waited for the end of the file");
    CHECK (columns->count == 3 && strcmp (columns->names [2], "y") == 0);
    dataset_columns_destroy (&columns);
    close (fifo.stop [0]);
    close (fifo.stop [1]);
    unlink (fifo.path);
    CHECK (rmdir (dir) == 0);
    printf ("columns, head only: ok\n");
}

int
main (void)
{
    test_numparse_edges ();
    test_numparse_locale ();
    test_numparse_random ();
    test_sample ();
    test_iris ();
    test_feature_subset ();
    test_quoted ();
    test_classes_order ();
    test_given_classes ();
    test_predict_style ();
    test_buffer ();
    test_bad_files ();
    test_text_target ();
    test_bad_options ();
    test_limits ();
    test_fuzz ();
    test_columns ();
    test_columns_head_only ();
    test_odd_files ();
    printf ("test_dataset: ok\n");
    return 0;
}
