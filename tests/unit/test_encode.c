/*  test_encode - column kinds, missing values, the plan and its JSON, applied as predict applies it  */
#include "testutil.h"
#include "dataset.h"
#include "encode.h"

static dataset_t *
s_load (const char *name, const char *text, const dataset_opts_t *opts, char **cause)
{
    return dataset_load_buffer (name, text, strlen (text), opts, cause);
}

static dataset_t *
s_ok (const char *name, const char *text, const dataset_opts_t *opts)
{
    char *cause = NULL;
    dataset_t *ds = s_load (name, text, opts, &cause);
    CHECK_MSG (ds, "%s: %s", name, cause);
    return ds;
}

static void
s_fails (const char *name, const char *text, const dataset_opts_t *opts, const char *needle)
{
    char *cause = NULL;
    dataset_t *ds = s_load (name, text, opts, &cause);
    CHECK_MSG (!ds, "%s loaded, expected '%s'", name, needle);
    CHECK_STR_CONTAINS (cause, needle);
    free (cause);
}

static int
s_input (const dataset_t *ds, const char *name)
{
    for (size_t j = 0; j < ds->cols; j++)
        if (strcmp (ds->feature_names [j], name) == 0)
            return (int) j;
    fprintf (stderr, "no input '%s'\n", name);
    exit (1);
}

//  Numbers stay numbers; text makes a column categorical; categories sorted
static void
test_inference (void)
{
    dataset_opts_t opts = { .target = "y" };
    dataset_t *ds = s_ok ("t.csv", "a,c,y\n1,b,1\n2.5,a,2\n3,b,3\n", &opts);
    CHECK (encode_columns (ds->plan) == 2);
    CHECK (encode_column_kind (ds->plan, 0) == ENCODE_NUMERIC);
    CHECK (encode_column_kind (ds->plan, 1) == ENCODE_CATEGORICAL);
    //  a, c=a, c=b, c=(other): no missing value, so no indicator nor (missing)
    CHECK (ds->cols == 4);
    CHECK_STR_EQ (ds->feature_names [0], "a");
    CHECK_STR_EQ (ds->feature_names [1], "c=a");
    CHECK_STR_EQ (ds->feature_names [2], "c=b");
    CHECK_STR_EQ (ds->feature_names [3], "c=(other)");
    CHECK (ds->x [0] == 1 && ds->x [1] == 0 && ds->x [2] == 1 && ds->x [3] == 0);
    CHECK (ds->x [4] == 2.5f && ds->x [5] == 1 && ds->x [6] == 0);
    CHECK (ds->n_raw == 2 && strcmp (ds->raw_names [1], "c") == 0);
    dataset_destroy (&ds);
    //  Categories that are all numbers sort numerically (--categorical)
    const char *cat [] = { "a" };
    opts.categorical = cat;
    opts.n_categorical = 1;
    ds = s_ok ("t.csv", "a,y\n10,1\n9,2\n10,3\n", &opts);
    CHECK_STR_EQ (ds->feature_names [0], "a=9");
    CHECK_STR_EQ (ds->feature_names [1], "a=10");
    dataset_destroy (&ds);
    //  --numeric: text in it is an error naming line and column
    opts.categorical = NULL;
    opts.n_categorical = 0;
    const char *num [] = { "a" };
    opts.numeric = num;
    opts.n_numeric = 1;
    s_fails ("t.csv", "a,y\n1,1\nx,2\n", &opts, "t.csv:3: column 'a': 'x' is not a number");
}

//  Every default missing-value token; the median; the indicator
static void
test_missing (void)
{
    dataset_opts_t opts = { .target = "y" };
    const char *tokens [] = { "", "NA", "N/A", "NaN", "null", "?" };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens [0]; i++) {
        char text [128];
        snprintf (text, sizeof text, "a,y\n1,1\n%s,2\n4,3\n10,4\n", tokens [i]);
        dataset_t *ds = s_ok ("t.csv", text, &opts);
        CHECK_MSG (ds->cols == 2, "token '%s'", tokens [i]);
        CHECK_STR_EQ (ds->feature_names [1], "a=(missing)");
        CHECK (ds->x [2] == 4 && ds->x [3] == 1);       // median of 1, 4, 10; indicator
        CHECK (ds->x [0] == 1 && ds->x [1] == 0);
        CHECK (encode_column_median (ds->plan, 0) == 4);
        dataset_destroy (&ds);
    }
    //  An even count: the mean of the middle two
    dataset_t *ds = s_ok ("t.csv", "a,y\n1,1\nNA,2\n4,3\n", &opts);
    CHECK (ds->x [2] == 2.5f);
    dataset_destroy (&ds);
    //  Missing in a categorical column is a level of its own
    ds = s_ok ("t.csv", "c,y\nu,1\n,2\nv,3\nu,4\n", &opts);
    CHECK (ds->cols == 4);
    CHECK_STR_EQ (ds->feature_names [2], "c=(missing)");
    CHECK (ds->x [4 + 2] == 1 && ds->x [4 + 0] == 0);
    dataset_destroy (&ds);
    //  --na-values replaces the set: '-' is missing, NA is a category
    const char *na [] = { "-" };
    opts.na_values = na;
    opts.n_na_values = 1;
    ds = s_ok ("t.csv", "c,y\nNA,1\n-,2\nv,3\nNA,4\n", &opts);
    CHECK_STR_EQ (ds->feature_names [0], "c=NA");
    CHECK_STR_EQ (ds->feature_names [2], "c=(missing)");
    dataset_destroy (&ds);
}

//  JSONL: null and an absent key are missing, booleans are categories
static void
test_jsonl (void)
{
    dataset_opts_t opts = { .target = "y" };
    const char *text = "{\"a\": 1, \"b\": true, \"y\": 1}\n{\"a\": null, \"b\": false, \"y\": 2}\n"
                       "{\"b\": true, \"y\": 3}\n{\"a\": 5, \"b\": true, \"y\": 4}\n";
    dataset_t *ds = s_ok ("t.jsonl", text, &opts);
    //  a, a=(missing), b=false, b=true, b=(other)
    CHECK (ds->cols == 5);
    CHECK_STR_EQ (ds->feature_names [2], "b=false");
    CHECK_STR_EQ (ds->feature_names [3], "b=true");
    CHECK (ds->x [5 + 0] == 3 && ds->x [5 + 1] == 1);   // median of 1 and 5
    CHECK (ds->x [10 + 1] == 1 && ds->x [10 + 3] == 1);
    dataset_destroy (&ds);
    s_fails ("t.jsonl", "{\"a\": [1], \"y\": 1}\n", &opts,
             "t.jsonl:1: column 'a': expected a number, a string, true, false or null, got an array");
}

//  At most max_categories levels, the most frequent; the rest in (other)
static void
test_cap (void)
{
    dataset_opts_t opts = { .target = "y", .max_categories = 2 };
    dataset_t *ds = s_ok ("t.csv", "c,y\nz,1\nz,2\nb,3\nb,4\nq,5\nz,6\n", &opts);
    //  kept: b and z (sorted), q goes to (other)
    CHECK (ds->cols == 3);
    CHECK_STR_EQ (ds->feature_names [0], "c=b");
    CHECK_STR_EQ (ds->feature_names [1], "c=z");
    CHECK (ds->x [4 * 3 + 2] == 1);
    dataset_destroy (&ds);
}

//  A column of distinct texts is left out, with a warning, unless categorical
static void
test_id_like (void)
{
    dataset_opts_t opts = { .target = "y" };
    dataset_t *ds = s_ok ("t.csv", "name,a,y\nann,1,1\nbob,2,2\ncid,3,3\n", &opts);
    CHECK (ds->cols == 1 && encode_columns (ds->plan) == 1);
    CHECK (ds->n_warnings == 1);
    CHECK_STR_CONTAINS (ds->warnings [0], "column 'name' left out");
    dataset_destroy (&ds);
    const char *cat [] = { "name" };
    opts.categorical = cat;
    opts.n_categorical = 1;
    ds = s_ok ("t.csv", "name,a,y\nann,1,1\nbob,2,2\ncid,3,3\n", &opts);
    CHECK (ds->cols == 1 + 4 && ds->n_warnings == 0);
    dataset_destroy (&ds);
    opts.categorical = NULL;
    opts.n_categorical = 0;
    s_fails ("t.csv", "name,y\nann,1\nbob,2\n", &opts, "no feature columns left");
    //  --ignore leaves a column out; a column it names must exist
    const char *ignore [] = { "name" };
    opts.ignore = ignore;
    opts.n_ignore = 1;
    ds = s_ok ("t.csv", "name,a,y\nann,1,1\nbob,2,2\n", &opts);
    CHECK (ds->n_raw == 1 && ds->n_warnings == 0);
    dataset_destroy (&ds);
    ignore [0] = "nope";
    s_fails ("t.csv", "name,a,y\nann,1,1\n", &opts, "no column 'nope' (given as --ignore)");
    ignore [0] = "y";
    s_fails ("t.csv", "name,a,y\nann,1,1\n", &opts, "column 'y': is the target");
}

//  Rows without a target are skipped and counted, or an error naming the line
static void
test_missing_target (void)
{
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_CLASSIFICATION };
    dataset_t *ds = s_ok ("t.csv", "a,y\n1,u\n2,NA\n3,v\n4,\n", &opts);
    CHECK (ds->rows == 2 && ds->rows_skipped == 2 && ds->n_classes == 2);
    dataset_destroy (&ds);
    opts.missing_target_error = true;
    s_fails ("t.csv", "a,y\n1,u\n2,NA\n", &opts, "t.csv:3: column 'y': the target is missing ('NA')");
    opts.missing_target_error = false;
    s_fails ("t.csv", "a,y\n1,\n", &opts, "no data rows with a target");
    //  Text that is not UTF-8, in a feature and in a label
    s_fails ("t.csv", "c,y\ncaf\xE9,u\n", &opts, "t.csv:2: column 'c': 'caf\\xE9' is not valid "
             "UTF-8; the file may be in Windows-1252");
    s_fails ("t.csv", "c,y\na,caf\xE9\n", &opts, "t.csv:2: column 'y': class 'caf\\xE9' is not "
             "valid UTF-8; the file may be in Windows-1252");
}

//  A model's plan, applied: unseen categories, imputed values, by name
static void
test_apply (void)
{
    dataset_opts_t opts = { .target = "y" };
    dataset_t *train = s_ok ("t.csv", "a,c,y\n1,u,1\nNA,v,2\n3,u,3\n", &opts);
    dataset_opts_t apply = { .plan = train->plan };
    dataset_t *ds = s_ok ("p.csv", "c,zz,a\nw,0,5\nu,0,\nNA,0,7\n", &apply);
    CHECK (ds->cols == train->cols && ds->rows == 3);
    CHECK (ds->counts.unseen == 1);         // w
    CHECK (ds->counts.imputed == 2);        // a on row 2, c (no missing level) on row 3
    CHECK (ds->x [s_input (ds, "c=(other)")] == 1);
    CHECK (ds->x [s_input (ds, "a")] == 5);
    CHECK (ds->x [ds->cols + (size_t) s_input (ds, "a")] == 2);     // the median
    CHECK (ds->x [ds->cols + (size_t) s_input (ds, "a=(missing)")] == 1);
    CHECK (ds->x [2 * ds->cols + (size_t) s_input (ds, "c=(other)")] == 1);
    dataset_destroy (&ds);
    s_fails ("p.csv", "c,a\nu,abc\n", &apply, "p.csv:2: column 'a': 'abc' is not a number");
    s_fails ("p.csv", "c\nu\n", &apply, "no column 'a'");
    dataset_destroy (&train);
}

static int
s_cmp (const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

//  The median (by selection) is a sort's middle, for odd and even counts and repeats
static void
test_median (void)
{
    uint64_t state = 88172645463325252ULL;
    for (size_t n = 1; n < 300; n += 7) {
        float v [300], sorted [300];
        for (size_t i = 0; i < n; i++) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            v [i] = sorted [i] = (float) (state % 50);
        }
        qsort (sorted, n, sizeof (float), s_cmp);
        float want = n % 2 ? sorted [n / 2]
                   : (float) (((double) sorted [n / 2 - 1] + sorted [n / 2]) / 2);
        encode_t *plan = encode_new (NULL, 0, NULL);
        CHECK (plan && encode_add_numeric (plan, "x", v, n, false, NULL) == 0);
        CHECK_MSG (encode_column_median (plan, 0) == want, "n %zu: %g, want %g", n,
                   (double) encode_column_median (plan, 0), (double) want);
        encode_destroy (&plan);
    }
}

//  The plan's JSON reads back the same; a bad one is refused by name
static void
test_json (void)
{
    char *cause = NULL;
    encode_t *plan = encode_new (NULL, 0, &cause);
    CHECK (plan);
    float values [] = { 3, 1, 2 };
    const char *cats [] = { "b", "a", "c" };
    size_t counts [] = { 5, 4, 1 };
    CHECK (encode_add_numeric (plan, "x", values, 3, true, &cause) == 0);
    CHECK (encode_add_categorical (plan, "k", cats, counts, 3, true, 2, &cause) == 0);
    CHECK (encode_width (plan) == 2 + 2 + 1 + 1);
    char *text = encode_to_json (plan);
    encode_t *back = encode_from_json (text, strlen (text), &cause);
    CHECK_MSG (back, "%s", cause);
    char *again = encode_to_json (back);
    CHECK_STR_EQ (again, text);
    CHECK (encode_level (back, 1, "c", 1) == 3);          // capped: (other)
    CHECK (encode_level (back, 1, "a", 1) == 0);
    CHECK (encode_column_median (back, 0) == 2);
    free (again);
    encode_destroy (&back);
    encode_destroy (&plan);
    free (text);
    struct { const char *json, *needle; } bad [] = {
        { "[]", "plan must be an object" },
        { "{\"width\":1,\"na_values\":[],\"columns\":[]}", "columns (1 to" },
        { "{\"width\":2,\"na_values\":[],\"columns\":[{\"name\":\"x\",\"kind\":\"numeric\","
          "\"offset\":0,\"width\":1,\"median\":1,\"indicator\":false}]}", "width 2, but" },
        { "{\"width\":1,\"na_values\":[],\"columns\":[{\"name\":\"x\",\"kind\":\"odd\","
          "\"offset\":0,\"width\":1}]}", "unknown kind" },
        { "{\"width\":3,\"na_values\":[],\"columns\":[{\"name\":\"k\",\"kind\":\"categorical\","
          "\"offset\":0,\"width\":3,\"categories\":[\"b\",\"a\"],\"missing\":false}]}",
          "not sorted" },
        { "{\"width\":3,\"na_values\":[],\"columns\":[{\"name\":\"k\",\"kind\":\"categorical\","
          "\"offset\":0,\"width\":3,\"categories\":[\"a\",\"a\"],\"missing\":false}]}",
          "appears twice" },
        { "{\"width\":1,\"na_values\":[],\"columns\":[{\"name\":\"x\",\"kind\":\"numeric\","
          "\"offset\":5,\"width\":1,\"median\":1,\"indicator\":false}]}", "says offset 5" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        encode_t *p = encode_from_json (bad [i].json, strlen (bad [i].json), &cause);
        CHECK_MSG (!p, "case %zu parsed", i);
        CHECK_STR_CONTAINS (cause, bad [i].needle);
        free (cause);
        cause = NULL;
    }
}

//  The table in test_data with strings and missing values
static void
test_passengers (void)
{
    const char *cat [] = { "pclass" }, *ignore [] = { "id" };
    dataset_opts_t opts = { .target = "survived", .task = MT_TASK_CLASSIFICATION,
                            .categorical = cat, .n_categorical = 1,
                            .ignore = ignore, .n_ignore = 1 };
    char *cause = NULL;
    dataset_t *ds = dataset_load (test_data ("passengers.csv"), &opts, &cause);
    CHECK_MSG (ds, "%s", cause);
    CHECK (ds->rows == 11 && ds->rows_skipped == 1);
    CHECK (ds->n_warnings == 1);
    CHECK_STR_CONTAINS (ds->warnings [0], "'name'");
    s_input (ds, "pclass=1");
    s_input (ds, "age=(missing)");
    s_input (ds, "fare=(missing)");
    s_input (ds, "embarked=(missing)");
    s_input (ds, "sex=female");
    dataset_destroy (&ds);
}

//  A numeric column with one stray value is categories, with a warning that
//  names the value and its line; it is never left out as an id
static void
test_stray_number (void)
{
    dataset_opts_t opts = { .target = "y" };
    const char *text = "x,z,y\n1,inf,1\n2,1,2\n3,2,3\n4,3,4\n5,4,5\n6,5,6\n";
    dataset_t *ds = s_ok ("inf.csv", text, &opts);
    CHECK (encode_columns (ds->plan) == 2 && ds->n_raw == 2);
    CHECK (encode_column_kind (ds->plan, 1) == ENCODE_CATEGORICAL);
    s_input (ds, "z=inf");
    CHECK (ds->n_warnings == 1);
    CHECK_STR_CONTAINS (ds->warnings [0], "column 'z' read as categories, though 5 of its 6 "
                        "values are numbers: line 2 holds 'inf'");
    CHECK_STR_CONTAINS (ds->warnings [0], "--numeric z with --na-values");
    dataset_destroy (&ds);
    //  The same when the stray value comes after numbers (a second pass)
    ds = s_ok ("late.csv", "z,y\n1,1\n2,2\n3,3\n-,4\n", &opts);
    CHECK (ds->n_warnings == 1);
    CHECK_STR_CONTAINS (ds->warnings [0], "3 of its 4 values are numbers: line 5 holds '-'");
    dataset_destroy (&ds);
    //  Under half numbers and all distinct: an id still
    ds = s_ok ("ids.csv", "id,a,y\nA1,1,1\nA2,1,2\n3,2,3\nA4,2,4\n", &opts);
    CHECK (encode_columns (ds->plan) == 1 && ds->n_warnings == 1);
    CHECK_STR_CONTAINS (ds->warnings [0], "column 'id' left out: its 4 values are all distinct "
                        "and most are not numbers");
    dataset_destroy (&ds);
    //  Named as categorical: no warning
    const char *cat [] = { "z" };
    opts.categorical = cat;
    opts.n_categorical = 1;
    ds = s_ok ("inf.csv", text, &opts);
    CHECK (ds->n_warnings == 0);
    dataset_destroy (&ds);
}

//  Categories may hold any UTF-8 text, control characters too: the plan's
//  JSON escapes them, and a copy of the plan (a model's) reads them back
static void
test_control_categories (void)
{
    dataset_opts_t opts = { .target = "y" };
    struct { const char *name, *text, *category; } cases [] = {
        { "lines.csv", "c,y\n\"multi\nline\",1\nplain,2\nplain,3\n", "c=multi\nline" },
        { "tabs.jsonl", "{\"c\": \"a\\tb\", \"y\": 1}\n{\"c\": \"d\", \"y\": 2}\n"
          "{\"c\": \"d\", \"y\": 3}\n", "c=a\tb" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        dataset_t *ds = s_ok (cases [i].name, cases [i].text, &opts);
        s_input (ds, cases [i].category);
        char *cause = NULL;
        encode_t *copy = encode_dup (ds->plan, &cause);
        CHECK_MSG (copy, "%s: %s", cases [i].name, cause);
        CHECK (encode_width (copy) == encode_width (ds->plan));
        //  Applied as predict applies it
        dataset_opts_t apply = { .target = "y", .plan = copy };
        dataset_t *again = s_ok (cases [i].name, cases [i].text, &apply);
        CHECK (again->cols == ds->cols && memcmp (again->x, ds->x, ds->rows * ds->cols
                                                  * sizeof (float)) == 0);
        dataset_destroy (&again);
        encode_destroy (&copy);
        dataset_destroy (&ds);
    }
    //  Still refused: a NUL, and (from the reader) text that is not UTF-8
    char *cause = NULL;
    const char *nul = "{\"width\":2,\"na_values\":[],\"columns\":[{\"name\":\"c\","
                      "\"kind\":\"categorical\",\"offset\":0,\"width\":2,"
                      "\"categories\":[\"a\\u0000b\"],\"missing\":false}]}";
    CHECK (!encode_from_json (nul, strlen (nul), &cause));
    CHECK_STR_CONTAINS (cause, "\\u0000 is not allowed");
    free (cause);
    cause = NULL;
    const char *latin = "{\"width\":2,\"na_values\":[],\"columns\":[{\"name\":\"c\","
                        "\"kind\":\"categorical\",\"offset\":0,\"width\":2,"
                        "\"categories\":[\"caf\xe9\"],\"missing\":false}]}";
    CHECK (!encode_from_json (latin, strlen (latin), &cause));
    CHECK_STR_CONTAINS (cause, "plan is not valid JSON");
    free (cause);
}

//  A value spelled like a reserved level is that level: input names unique
static void
test_reserved_levels (void)
{
    dataset_opts_t opts = { .target = "y" };
    dataset_t *ds = s_ok ("t.csv", "c,y\n(other),1\na,2\na,3\n(missing),4\nb,5\n", &opts);
    //  c=a, c=b, c=(missing), c=(other)
    CHECK (ds->cols == 4);
    for (size_t j = 0; j < ds->cols; j++)
        for (size_t k = 0; k < j; k++)
            CHECK_MSG (strcmp (ds->feature_names [j], ds->feature_names [k]) != 0,
                       "input '%s' twice", ds->feature_names [j]);
    int other = s_input (ds, "c=(other)"), missing = s_input (ds, "c=(missing)");
    CHECK (ds->x [0 * ds->cols + (size_t) other] == 1);
    CHECK (ds->x [3 * ds->cols + (size_t) missing] == 1);
    //  Applied: the same levels, and (other) by name is not counted unseen
    encode_counts_t counts = { 0, 0 };
    float row [4] = { 0 };
    encode_put_category (ds->plan, 0, "(other)", 7, row, &counts);
    CHECK (row [other] == 1 && counts.unseen == 0);
    CHECK (encode_level (ds->plan, 0, "(missing)", 9) == missing);
    //  A plan that lists one as a category is refused
    char *cause = NULL;
    const char *bad = "{\"width\":3,\"na_values\":[],\"columns\":[{\"name\":\"c\","
                      "\"kind\":\"categorical\",\"offset\":0,\"width\":3,"
                      "\"categories\":[\"(other)\",\"a\"],\"missing\":false}]}";
    CHECK (!encode_from_json (bad, strlen (bad), &cause));
    CHECK_STR_CONTAINS (cause, "a category is spelled like a reserved level");
    free (cause);
    dataset_destroy (&ds);
}

int
main (void)
{
    test_inference ();
    test_missing ();
    test_jsonl ();
    test_cap ();
    test_id_like ();
    test_missing_target ();
    test_apply ();
    test_json ();
    test_median ();
    test_passengers ();
    test_stray_number ();
    test_control_categories ();
    test_reserved_levels ();
    printf ("test_encode: ok\n");
    return 0;
}
