/*  test_sweeps - parameter spaces, grid and random draws, ASHA's rung decisions and the median rule  */
#include "sweeps.h"
#include "mt/spec.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>

//  A full base spec, as the broker makes it from a SWEEP's spec
static json_t *
s_base (void)
{
    mt_spec_t spec;
    char *cause = NULL;
    CHECK (mt_spec_from_json (&spec, "{\"data_path\": \"/d.csv\", \"target\": \"y\","
                              " \"task\": \"classification\", \"epochs\": 27}", &cause) == 0);
    json_t *base = mt_spec_to_value (&spec);
    mt_spec_clear (&spec);
    return base;
}

static json_t *
s_space (json_t *base, const char **texts, size_t n)
{
    json_t *space = json_array ();
    for (size_t i = 0; i < n; i++) {
        char *cause = NULL;
        json_t *param = sweeps_param_parse (texts [i], base, &cause);
        CHECK_MSG (param, "%s: %s", texts [i], cause);
        json_array_append_new (space, param);
    }
    return space;
}

static void
s_refused (json_t *base, const char *text, const char *says)
{
    char *cause = NULL;
    json_t *param = sweeps_param_parse (text, base, &cause);
    CHECK_MSG (!param, "'%s' was taken", text);
    CHECK_STR_CONTAINS (cause, says);
    free (cause);
}

//  Grid: the cartesian product of the lists, the first parameter slowest,
//  each value as its spec field holds it; a range is refused by name
static void
test_grid (void)
{
    json_t *base = s_base ();
    const char *texts [] = { "lr=0.1|0.01", "hidden=8|16,16|0", "optimizer=sgd|adam" };
    json_t *space = s_space (base, texts, 3);
    char *cause = NULL;
    json_t *trials = sweeps_draw (space, "grid", 0, 0, &cause);
    CHECK_MSG (trials, "%s", cause);
    CHECK (json_array_size (trials) == 2 * 3 * 2);
    const double lrs [] = { 0.1, 0.01 };
    const char *hiddens [] = { "[8]", "[16,16]", "[]" };
    const char *opts [] = { "sgd", "adam" };
    for (size_t i = 0; i < 12; i++) {
        json_t *t = json_array_get (trials, i);
        CHECK (json_object_size (t) == 3);
        CHECK (json_real_value (json_object_get (t, "lr")) == lrs [i / 6]);
        char *hidden = json_dumps (json_object_get (t, "hidden"), JSON_COMPACT);
        CHECK_STR_EQ (hidden, hiddens [(i / 2) % 3]);
        free (hidden);
        CHECK_STR_EQ (json_string_value (json_object_get (t, "optimizer")), opts [i % 2]);
        //  ... and each is a valid spec
        mt_spec_t spec;
        json_t *value = sweeps_trial_spec (base, t, &spec, &cause);
        CHECK_MSG (value, "%s", cause);
        CHECK (spec.lr == lrs [i / 6] && spec.epochs == 27);
        mt_spec_clear (&spec);
        json_decref (value);
    }
    json_decref (trials);
    json_decref (space);

    const char *ranged [] = { "lr=0.1|0.01", "weight_decay=uniform:0:0.01" };
    space = s_space (base, ranged, 2);
    CHECK (!sweeps_draw (space, "grid", 0, 0, &cause));
    CHECK_STR_CONTAINS (cause, "--param weight_decay: grid search takes lists");
    free (cause);
    cause = NULL;
    CHECK (!sweeps_draw (space, "bayes", 5, 0, &cause));
    CHECK_STR_CONTAINS (cause, "--search: 'bayes'");
    free (cause);
    json_decref (space);
    json_decref (base);
}

//  Random: the same seed draws the same trials, another seed others; every
//  draw is in its range and of its field's type; a list is sampled evenly
static void
test_random (void)
{
    json_t *base = s_base ();
    const char *texts [] = { "lr=log-uniform:1e-4:1e-1", "weight-decay=uniform:0:0.01",
                             "batch_size=int-uniform:16:20", "activation=relu|tanh|sigmoid",
                             "momentum=uniform:0:0.9" };
    json_t *space = s_space (base, texts, 5);
    char *cause = NULL;
    json_t *a = sweeps_draw (space, "random", 3000, 42, &cause);
    json_t *b = sweeps_draw (space, "random", 3000, 42, &cause);
    json_t *c = sweeps_draw (space, "random", 3000, 43, &cause);
    CHECK (a && b && c && json_array_size (a) == 3000);
    CHECK (json_equal (a, b));
    CHECK (!json_equal (a, c));
    int seen_batch [5] = { 0 }, acts [3] = { 0 }, low_decades = 0;
    for (size_t i = 0; i < 3000; i++) {
        json_t *t = json_array_get (a, i);
        double lr = json_real_value (json_object_get (t, "lr"));
        CHECK (lr >= 1e-4 && lr <= 1e-1);
        low_decades += lr < 1e-3;
        double wd = json_real_value (json_object_get (t, "weight_decay"));
        CHECK (wd >= 0 && wd <= 0.01);
        json_t *bs = json_object_get (t, "batch_size");
        CHECK (json_is_integer (bs));
        CHECK (json_integer_value (bs) >= 16 && json_integer_value (bs) <= 20);
        seen_batch [json_integer_value (bs) - 16]++;
        const char *act = json_string_value (json_object_get (t, "activation"));
        acts [strcmp (act, "relu") == 0 ? 0 : strcmp (act, "tanh") == 0 ? 1 : 2]++;
    }
    //  Log-uniform over three decades puts about a third in the first: a
    //  uniform draw would put 0.9 %
    CHECK_MSG (low_decades > 800 && low_decades < 1200, "%d of 3000 below 1e-3", low_decades);
    for (int i = 0; i < 5; i++)
        CHECK_MSG (seen_batch [i] > 450 && seen_batch [i] < 750, "batch %d drawn %d times",
                   16 + i, seen_batch [i]);
    for (int i = 0; i < 3; i++)
        CHECK_MSG (acts [i] > 850 && acts [i] < 1150, "activation %d drawn %d times", i, acts [i]);
    //  A shorter sweep of the same seed draws the first trials of the longer one
    json_t *d = sweeps_draw (space, "random", 10, 42, &cause);
    for (size_t i = 0; i < 10; i++)
        CHECK (json_equal (json_array_get (d, i), json_array_get (a, i)));
    CHECK (!sweeps_draw (space, "random", 0, 42, &cause));
    CHECK_STR_CONTAINS (cause, "--trials");
    free (cause);
    json_decref (a);
    json_decref (b);
    json_decref (c);
    json_decref (d);
    json_decref (space);
    json_decref (base);
}

//  Bad parameters are refused naming the parameter and what to fix; a
//  value the spec module refuses is refused naming the trial's parameters
static void
test_param_errors (void)
{
    json_t *base = s_base ();
    s_refused (base, "lr", "give NAME=SPACE");
    s_refused (base, "=0.1", "give NAME=SPACE");
    s_refused (base, "learning_rate=0.1", "no spec field is called 'learning_rate'");
    s_refused (base, "lr=fast|0.1", "--param lr: 'fast' is not a number");
    s_refused (base, "batch_size=16|24.5", "--param batch_size: '24.5' is not a whole number");
    s_refused (base, "optimizer=uniform:0:1", "--param optimizer: a range needs a number field");
    s_refused (base, "lr=log-uniform:0:0.1", "log-uniform needs a low end above 0");
    s_refused (base, "lr=uniform:0.5:0.1", "low end 0.5 is above its high end 0.1");
    s_refused (base, "lr=uniform:0.1", "a range is KIND:LOW:HIGH");
    s_refused (base, "batch_size=int-uniform:1.5:9", "int-uniform needs whole ends");
    s_refused (base, "target=a|b", "--param target: every trial shares");
    s_refused (base, "hidden=8,x", "--param hidden: '8,x' is not a list of whole numbers");
    s_refused (base, "nesterov=yes", "--param nesterov: 'yes' is not true or false");
    //  Parsed, but not a valid spec: named at the trial
    const char *texts [] = { "lr=0.1|-1" };
    json_t *space = s_space (base, texts, 1);
    char *cause = NULL;
    json_t *trials = sweeps_draw (space, "grid", 0, 0, &cause);
    mt_spec_t spec;
    json_t *ok = sweeps_trial_spec (base, json_array_get (trials, 0), &spec, &cause);
    CHECK (ok);
    mt_spec_clear (&spec);
    json_decref (ok);
    CHECK (!sweeps_trial_spec (base, json_array_get (trials, 1), &spec, &cause));
    CHECK_STR_CONTAINS (cause, "the trial {\"lr\":-1");
    CHECK_STR_CONTAINS (cause, "lr");
    free (cause);
    json_decref (trials);
    json_decref (space);
    json_decref (base);
}

static void
test_rungs (void)
{
    int r [SWEEPS_MAX_RUNGS];
    CHECK (sweeps_rungs (1, 3, 27, r, SWEEPS_MAX_RUNGS) == 3);
    CHECK (r [0] == 1 && r [1] == 3 && r [2] == 9);         // 27 is the end, not a rung
    CHECK (sweeps_rungs (2, 2, 20, r, SWEEPS_MAX_RUNGS) == 4);
    CHECK (r [0] == 2 && r [1] == 4 && r [2] == 8 && r [3] == 16);
    CHECK (sweeps_rungs (5, 3, 5, r, SWEEPS_MAX_RUNGS) == 0);
    CHECK (sweeps_rungs (1, 2, 1 << 30, r, 4) == 4);
}

//  The reference model of ASHA's decision at one rung: sort every value
//  recorded there, best first (undefined ones last); the top floor(n /
//  eta) go on, a value equal to the last of them too; fewer than eta
//  values: every one goes on
static bool
s_reference (const double *recorded, size_t n, bool higher, int eta, double *cutoff)
{
    double sorted [512];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan (recorded [i]))
            sorted [m++] = recorded [i];
    //  insertion sort, best first
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && (higher ? sorted [j] > sorted [j - 1]
                                            : sorted [j] < sorted [j - 1]); j--) {
            double t = sorted [j];
            sorted [j] = sorted [j - 1];
            sorted [j - 1] = t;
        }
    while (m < n)
        sorted [m++] = NAN;
    size_t k = n / (size_t) eta;
    if (k == 0) {
        *cutoff = NAN;
        return true;
    }
    *cutoff = sorted [k - 1];
    double value = recorded [n - 1];
    if (isnan (value))
        return isnan (*cutoff);
    if (isnan (*cutoff))
        return true;
    return higher ? value >= *cutoff : value <= *cutoff;
}

//  Many sequences of trials reaching a rung in turn, with ties and undefined
//  values, both modes and several eta: each decision is the model's
static void
test_asha_against_model (void)
{
    uint64_t x = 12345;
    for (int round = 0; round < 400; round++) {
        int eta = 2 + round % 4;
        bool higher = round % 2;
        double recorded [512];
        size_t n = 0;
        int count = 1 + round % 60;
        for (int t = 0; t < count; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            int r = (int) (x >> 33) % 100;
            //  few distinct values, so ties are common; 1 in 25 undefined
            double value = r < 4 ? NAN : (double) (r % 13) / 13.0;
            recorded [n++] = value;
            double cutoff, want_cutoff;
            bool got = sweeps_asha_continue (recorded, n - 1, value, higher, eta, &cutoff);
            bool want = s_reference (recorded, n, higher, eta, &want_cutoff);
            CHECK_MSG (got == want, "round %d trial %d: got %d, model %d", round, t, got, want);
            CHECK (isnan (cutoff) == isnan (want_cutoff));
            CHECK (isnan (cutoff) || cutoff == want_cutoff);
        }
    }
    //  By hand: eta 3, accuracy; the 3rd value at the rung is the first that may be cut
    double v [] = { 0.5, 0.9, 0.4, 0.95, 0.9 };
    double cutoff;
    CHECK (sweeps_asha_continue (v, 0, 0.5, true, 3, &cutoff) && isnan (cutoff));
    CHECK (sweeps_asha_continue (v, 1, 0.9, true, 3, &cutoff));
    CHECK (!sweeps_asha_continue (v, 2, 0.4, true, 3, &cutoff) && cutoff == 0.9);
    CHECK (sweeps_asha_continue (v, 3, 0.95, true, 3, &cutoff) && cutoff == 0.95);
    CHECK (!sweeps_asha_continue (v, 4, 0.9, true, 3, &cutoff) && cutoff == 0.95);  // k = 1
    CHECK (!sweeps_asha_continue (v, 3, 0.5, true, 3, &cutoff) && cutoff == 0.9);
    //  loss: lower is better; a tie with the cut-off goes on
    double loss [] = { 0.3, 0.2, 0.2 };
    CHECK (sweeps_asha_continue (loss, 2, 0.2, false, 3, &cutoff) && cutoff == 0.2);
    CHECK (!sweeps_asha_continue (loss, 2, 0.25, false, 3, &cutoff));
    //  an undefined value loses to any number
    CHECK (!sweeps_asha_continue (loss, 2, NAN, false, 3, &cutoff));
}

static void
test_median (void)
{
    double median;
    double avg [] = { 0.5, 0.7, 0.6 };
    CHECK (sweeps_median_continue (avg, 3, 0.65, true, &median) && median == 0.6);
    CHECK (sweeps_median_continue (avg, 3, 0.6, true, &median));        // equal: not worse
    CHECK (!sweeps_median_continue (avg, 3, 0.55, true, &median));
    CHECK (!sweeps_median_continue (avg, 3, NAN, true, &median));
    //  an even count: the mean of the middle two; lower is better
    double loss [] = { 0.4, 0.1, 0.3, 0.2 };
    CHECK (sweeps_median_continue (loss, 4, 0.25, false, &median));
    CHECK_NEAR (median, 0.25, 1e-15);
    CHECK (!sweeps_median_continue (loss, 4, 0.26, false, &median));
    CHECK (sweeps_median_continue (loss, 0, 9.0, false, &median) && isnan (median));
}

int
main (void)
{
    test_grid ();
    test_random ();
    test_param_errors ();
    test_rungs ();
    test_asha_against_model ();
    test_median ();
    printf ("test_sweeps: ok\n");
    return 0;
}
