/*  test_metrics - the metrics module: hand-computed cases, then against sklearn.metrics  */
//  The sklearn comparison runs Debian's /usr/bin/python3 with python3-sklearn
//  on random predictions written here; without sklearn it says so loudly and
//  skips that part only. Tolerance: both sides compute in double on the same
//  float inputs, so they differ by summation order alone (~1e-15); 1e-9 is
//  far above that and far below any wrong definition.
#include <jansson.h>
#include <unistd.h>
#include "testutil.h"
#include "metrics.h"
#include "rng.h"

static void
s_binary (void)
{
    //  labels 0 0 1 1, p(1) .1 .4 .35 .8: predictions 0 0 0 1
    int32_t label [] = { 0, 0, 1, 1 };
    float prob [] = { 0.9f, 0.1f, 0.6f, 0.4f, 0.65f, 0.35f, 0.2f, 0.8f };
    metrics_t m;
    int64_t cm [4];
    CHECK (metrics_classify (label, prob, 4, 2, NULL, &m, cm) == 0);
    CHECK (cm [0] == 2 && cm [1] == 0 && cm [2] == 1 && cm [3] == 1);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_ACCURACY), 0.75, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_BALANCED_ACCURACY), (1.0 + 0.5) / 2, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_F1_MACRO), (0.8 + 2.0 / 3) / 2, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_ROC_AUC), 0.75, 1e-12);
    double ll = -(log ((double) 0.9f) + log ((double) 0.6f) + log ((double) 0.35f)
                  + log ((double) 0.8f)) / 4;
    CHECK_NEAR (metrics_get (&m, MT_METRIC_LOG_LOSS), ll, 1e-7);     // rows renormalised
    CHECK (isnan (metrics_get (&m, MT_METRIC_R2)));     // not of this task

    //  Tied scores share the average rank: pairs (.5, .5) count a half
    int32_t tied [] = { 0, 1, 0, 1 };
    float tprob [] = { 0.5f, 0.5f, 0.5f, 0.5f, 0.8f, 0.2f, 0.1f, 0.9f };
    CHECK (metrics_classify (tied, tprob, 4, 2, NULL, &m, NULL) == 0);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_ROC_AUC), 3.5 / 4, 1e-12);
}

static void
s_multiclass (void)
{
    //  Predictions 0 2 1 1 of labels 0 0 1 1: class 2 is predicted, never true
    int32_t label [] = { 0, 0, 1, 1 };
    float prob [] = { 0.8f, 0.1f, 0.1f, 0.2f, 0.2f, 0.6f, 0.1f, 0.7f, 0.2f, 0.3f, 0.6f, 0.1f };
    const char *names [] = { "ant", "bee", "cat" };
    metrics_t m;
    CHECK (metrics_classify (label, prob, 4, 3, names, &m, NULL) == 0);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_ACCURACY), 0.75, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_BALANCED_ACCURACY), 0.75, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_F1_MACRO), (2.0 / 3 + 1 + 0) / 3, 1e-12);
    //  one-vs-rest needs rows of every class
    CHECK (isnan (metrics_get (&m, MT_METRIC_ROC_AUC)));
    CHECK_STR_CONTAINS (m.why [MT_METRIC_ROC_AUC], "class 'cat' has none");
    json_t *map = json_object ();
    metrics_to_json (&m, map);
    CHECK (json_is_null (json_object_get (map, "roc_auc")));
    CHECK_STR_CONTAINS (json_string_value (json_object_get (json_object_get (map, "undefined"),
                                                            "roc_auc")), "cat");
    CHECK (json_is_real (json_object_get (map, "accuracy")));
    CHECK (!json_object_get (map, "r2"));
    json_decref (map);

    //  No rows: everything undefined, with the reason
    CHECK (metrics_classify (label, prob, 0, 3, names, &m, NULL) == 0);
    CHECK (isnan (metrics_get (&m, MT_METRIC_ACCURACY)));
    CHECK_STR_CONTAINS (m.why [MT_METRIC_F1_MACRO], "no rows");
}

static void
s_regression (void)
{
    double y [] = { 1, 2, 3, 4 }, pred [] = { 1.5, 2, 2, 5 };
    metrics_t m;
    metrics_regress (y, pred, 4, &m);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_MAE), 0.625, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_RMSE), 0.75, 1e-12);
    CHECK_NEAR (metrics_get (&m, MT_METRIC_R2), 1 - 2.25 / 5, 1e-12);
    CHECK (isnan (metrics_get (&m, MT_METRIC_ACCURACY)));
    double flat [] = { 3, 3, 3 };
    metrics_regress (flat, pred, 3, &m);
    CHECK (isnan (metrics_get (&m, MT_METRIC_R2)));
    CHECK_STR_CONTAINS (m.why [MT_METRIC_R2], "varies");
    CHECK_NEAR (metrics_get (&m, MT_METRIC_MAE), (1.5 + 1 + 1) / 3, 1e-12);
}

//  Random rows: labels, softmax probabilities (coarse, so scores tie), and
//  regression values
static void
s_random (rng_t *rng, size_t n, int k, int32_t *label, float *prob, double *y, double *pred)
{
    for (size_t i = 0; i < n; i++) {
        label [i] = (int32_t) (i < (size_t) k ? i : rng_below (rng, (uint64_t) k));
        double sum = 0, z [16];
        for (int j = 0; j < k; j++) {
            z [j] = exp (floor (rng_uniform (rng, 0, 8)) / 4 + (j == label [i] ? 0.5 : 0));
            sum += z [j];
        }
        for (int j = 0; j < k; j++)
            prob [i * (size_t) k + j] = (float) (z [j] / sum);
        y [i] = rng_uniform (rng, -3, 7);
        pred [i] = y [i] + rng_uniform (rng, -2, 2);
    }
}

//  ROC AUC of class c by its definition: over every (positive, negative)
//  pair, 1 when the positive scores higher, a half on a tie
static double
s_pairwise_auc (const int32_t *label, const float *prob, size_t n, int k, int c)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; label [i] == c && j < n; j++) {
            if (label [j] == c)
                continue;
            float a = prob [i * (size_t) k + c], b = prob [j * (size_t) k + c];
            wins += a > b ? 1 : a == b ? 0.5 : 0;
            pairs++;
        }
    return wins / pairs;
}

//  metrics_classify_with: one scratch reused for every size, the values of
//  metrics_classify bit for bit, ROC AUC as the pairwise definition on
//  scores that tie, are negative or zero of either sign (the sort's keys),
//  and only one metric measured when asked
static void
s_with_work (void)
{
    enum { N = 3000, K = 4 };
    int32_t *label = malloc (N * sizeof *label);
    float *prob = malloc ((size_t) N * K * sizeof *prob);
    rng_t rng;
    rng_seed (&rng, 9);
    for (size_t i = 0; i < N; i++) {
        label [i] = (int32_t) rng_below (&rng, K);
        for (int j = 0; j < K; j++) {
            //  coarse, so most scores tie; a few negative, -0 and +0 among them
            double v = floor (rng_uniform (&rng, -4, 60)) / 16 + (j == label [i] ? 0.5 : 0);
            prob [i * K + j] = v == 0 ? (rng_below (&rng, 2) ? -0.0f : 0.0f) : (float) v;
        }
    }
    metrics_work_t *work = metrics_work_new (N, K);
    CHECK (work);
    size_t sizes [] = { N, 2, 17, 300, N };
    for (int s = 0; s < 5; s++) {
        size_t n = sizes [s];
        metrics_t with, plain;
        int64_t cm_with [K * K], cm_plain [K * K];
        metrics_classify_with (work, label, prob, n, K, NULL, METRICS_ALL, &with, cm_with);
        CHECK (metrics_classify (label, prob, n, K, NULL, &plain, cm_plain) == 0);
        CHECK (memcmp (with.value, plain.value, sizeof with.value) == 0);
        CHECK (memcmp (cm_with, cm_plain, sizeof cm_with) == 0);
        if (n < (size_t) K * 10)
            continue;
        double sum = 0;
        for (int c = 0; c < K; c++)
            sum += s_pairwise_auc (label, prob, n, K, c);
        CHECK_MSG (fabs (metrics_get (&with, MT_METRIC_ROC_AUC) - sum / K) < 1e-12,
                   "n %zu: roc_auc %.17g, pairwise %.17g", n,
                   metrics_get (&with, MT_METRIC_ROC_AUC), sum / K);
    }
    metrics_t only;
    metrics_classify_with (work, label, prob, N, K, NULL, MT_METRIC_ACCURACY, &only, NULL);
    metrics_t all;
    metrics_classify_with (work, label, prob, N, K, NULL, METRICS_ALL, &all, NULL);
    CHECK (metrics_get (&only, MT_METRIC_ACCURACY) == metrics_get (&all, MT_METRIC_ACCURACY));
    CHECK (metrics_get (&only, MT_METRIC_F1_MACRO) == metrics_get (&all, MT_METRIC_F1_MACRO));
    CHECK (isnan (metrics_get (&only, MT_METRIC_ROC_AUC)));
    CHECK (isnan (metrics_get (&only, MT_METRIC_LOG_LOSS)));
    CHECK_STR_CONTAINS (only.why [MT_METRIC_ROC_AUC], "not measured");
    metrics_classify_with (work, label, prob, N, K, NULL, MT_METRIC_ROC_AUC, &only, NULL);
    CHECK (metrics_get (&only, MT_METRIC_ROC_AUC) == metrics_get (&all, MT_METRIC_ROC_AUC));
    CHECK (isnan (metrics_get (&only, MT_METRIC_LOG_LOSS)));
    metrics_work_destroy (&work);
    metrics_work_destroy (&work);
    CHECK (work == NULL);
    free (label);
    free (prob);
}

static const char *s_script =
    "import json, sys\n"
    "import numpy as np\n"
    "from sklearn import metrics as M\n"
    "out = []\n"
    "for c in json.load(open(sys.argv[1])):\n"
    "    y, p, k = np.array(c['label']), np.array(c['prob'], dtype=np.float64), c['k']\n"
    "    pred = p.argmax(axis=1)\n"
    "    auc = M.roc_auc_score(y, p[:, 1]) if k == 2 else M.roc_auc_score(y, p, multi_class='ovr', average='macro', labels=list(range(k)))\n"
    "    t, q = np.array(c['y']), np.array(c['pred'])\n"
    "    out.append(dict(accuracy=M.accuracy_score(y, pred),\n"
    "        balanced_accuracy=M.balanced_accuracy_score(y, pred),\n"
    "        f1_macro=M.f1_score(y, pred, average='macro'),\n"
    "        log_loss=M.log_loss(y, p, labels=list(range(k))), roc_auc=auc,\n"
    "        r2=M.r2_score(t, q), mae=M.mean_absolute_error(t, q),\n"
    "        rmse=float(np.sqrt(M.mean_squared_error(t, q)))))\n"
    "json.dump(out, open(sys.argv[2], 'w'))\n";

static void
s_against_sklearn (void)
{
    if (system ("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) {
        fprintf (stderr, "\n*** SKIPPED: the comparison with sklearn.metrics: /usr/bin/python3"
                 " cannot import sklearn (apt-get install python3-sklearn) ***\n\n");
        return;
    }
    char dir [512];
    test_temp_dir (dir, sizeof dir, "test_metrics");
    enum { CASES = 6 };
    size_t sizes [CASES] = { 7, 50, 200, 33, 120, 400 };
    int classes [CASES] = { 2, 2, 2, 3, 5, 4 };
    metrics_t mine [CASES];
    json_t *cases = json_array ();
    rng_t rng;
    rng_seed (&rng, 14);
    for (int c = 0; c < CASES; c++) {
        size_t n = sizes [c];
        int k = classes [c];
        int32_t *label = malloc (n * sizeof *label);
        float *prob = malloc (n * (size_t) k * sizeof *prob);
        double *y = malloc (n * sizeof *y), *pred = malloc (n * sizeof *pred);
        s_random (&rng, n, k, label, prob, y, pred);
        CHECK (metrics_classify (label, prob, n, k, NULL, &mine [c], NULL) == 0);
        metrics_t reg;
        metrics_regress (y, pred, n, &reg);
        for (int m = MT_METRIC_R2; m <= MT_METRIC_RMSE; m++)
            mine [c].value [m] = reg.value [m];
        json_t *jl = json_array (), *jp = json_array (), *jy = json_array (), *jq = json_array ();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new (jl, json_integer (label [i]));
            json_t *row = json_array ();
            for (int j = 0; j < k; j++)
                json_array_append_new (row, json_real (prob [i * (size_t) k + j]));
            json_array_append_new (jp, row);
            json_array_append_new (jy, json_real (y [i]));
            json_array_append_new (jq, json_real (pred [i]));
        }
        json_array_append_new (cases, json_pack ("{sosososos:i}", "label", jl, "prob", jp,
                                                 "y", jy, "pred", jq, "k", k));
        free (label);
        free (prob);
        free (y);
        free (pred);
    }
    CHECK (json_dump_file (cases, test_path (dir, "in.json"), JSON_REAL_PRECISION (17)) == 0);
    json_decref (cases);
    FILE *f = fopen (test_path (dir, "check.py"), "w");
    CHECK (f && fputs (s_script, f) >= 0 && fclose (f) == 0);
    char cmd [2048];
    snprintf (cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", test_path (dir, "check.py"),
              test_path (dir, "in.json"), test_path (dir, "out.json"));
    CHECK_MSG (system (cmd) == 0, "%s failed", cmd);
    json_t *ref = json_load_file (test_path (dir, "out.json"), 0, NULL);
    CHECK (json_array_size (ref) == CASES);
    const char *keys [] = { NULL, "accuracy", "balanced_accuracy", "f1_macro", "log_loss",
                            "roc_auc", "r2", "mae", "rmse" };
    for (int c = 0; c < CASES; c++)
        for (int m = MT_METRIC_ACCURACY; m <= MT_METRIC_RMSE; m++) {
            double want = json_number_value (json_object_get (json_array_get (ref, c), keys [m]));
            CHECK_MSG (fabs (mine [c].value [m] - want) <= 1e-9 * fabs (want) + 1e-12,
                       "case %d %s: %.17g, sklearn %.17g", c, keys [m], mine [c].value [m], want);
        }
    json_decref (ref);
    printf ("metrics: %d cases agree with sklearn.metrics\n", CASES);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK (system (cmd) == 0);
}

int
main (void)
{
    s_binary ();
    s_multiclass ();
    s_regression ();
    s_with_work ();
    s_against_sklearn ();
    printf ("metrics: ok\n");
    return 0;
}
