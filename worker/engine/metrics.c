/*  metrics - evaluation metrics over predictions and labels, as sklearn.metrics defines them  */
//  Each metric follows sklearn.metrics on the same arrays (checked against
//  it in tests/unit/test_metrics.c): accuracy_score, balanced_accuracy_score,
//  f1_score (average 'macro'), log_loss (labels = all k classes),
//  roc_auc_score (multi_class 'ovr', average 'macro'), r2_score,
//  mean_absolute_error and the root of mean_squared_error. Where sklearn
//  answers a degenerate case with a number it made up (R^2 of a constant
//  target is 1 or 0), the metric here is undefined, with its reason.
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

//  One row's score for one class, as a key that sorts as the float does
//  (s_key), and whether the row is of that class
typedef struct {
    uint32_t key;
    uint32_t positive;
} s_scored_t;

struct metrics_work_t {
    size_t rows;                // rows and classes the buffers hold
    int k;
    int64_t *cm;                // k x k confusion counts
    s_scored_t *scored, *spare; // rows each: the radix sort's two sides
};

static void s_clear (metrics_t *self, mt_task_t task);
static void s_why (metrics_t *self, mt_metric_t metric, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_counts (const int32_t *label, const float *prob, size_t n, int k, int64_t *cm);
static void s_from_counts (const int64_t *cm, int k, size_t n, metrics_t *out);
static double s_log_loss (const int32_t *label, const float *prob, size_t n, int k);
static void s_roc_auc (const int32_t *label, const float *prob, size_t n, int k,
                       const char *const *names, metrics_work_t *work, metrics_t *out);
static double s_auc (const int32_t *label, const float *prob, size_t n, int k, int c,
                     metrics_work_t *work, size_t *positives);
static uint32_t s_key (float score);
static s_scored_t *s_sort (s_scored_t *from, s_scored_t *to, size_t n);
static int s_argmax (const float *row, int k);

static const char *s_keys [METRICS_COUNT] = {
    [MT_METRIC_ACCURACY] = "accuracy", [MT_METRIC_BALANCED_ACCURACY] = "balanced_accuracy",
    [MT_METRIC_F1_MACRO] = "f1_macro", [MT_METRIC_LOG_LOSS] = "log_loss",
    [MT_METRIC_ROC_AUC] = "roc_auc", [MT_METRIC_R2] = "r2", [MT_METRIC_MAE] = "mae",
    [MT_METRIC_RMSE] = "rmse"
};

#define S_NO_ROWS "no rows to measure"
#define S_NOT_ASKED "not measured: another metric was asked for"

int
metrics_classify (const int32_t *label, const float *prob, size_t n, int k,
                  const char *const *names, metrics_t *out, int64_t *confusion)
{
    metrics_work_t *work = metrics_work_new (n, k);
    if (!work) {
        metrics_undefined (out, MT_TASK_CLASSIFICATION, "out of memory");
        return -1;
    }
    metrics_classify_with (work, label, prob, n, k, names, METRICS_ALL, out, confusion);
    metrics_work_destroy (&work);
    return 0;
}

metrics_work_t *
metrics_work_new (size_t n, int k)
{
    metrics_work_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->rows = n;
    self->k = k;
    self->cm = malloc ((size_t) k * (size_t) k * sizeof (int64_t));
    self->scored = malloc ((n ? n : 1) * sizeof (s_scored_t));
    self->spare = malloc ((n ? n : 1) * sizeof (s_scored_t));
    if (!self->cm || !self->scored || !self->spare)
        metrics_work_destroy (&self);
    return self;
}

void
metrics_work_destroy (metrics_work_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_work_t *self = *self_p;
    free (self->cm);
    free (self->scored);
    free (self->spare);
    free (self);
    *self_p = NULL;
}

void
metrics_classify_with (metrics_work_t *work, const int32_t *label, const float *prob, size_t n,
                       int k, const char *const *names, mt_metric_t only, metrics_t *out,
                       int64_t *confusion)
{
    assert (work && n <= work->rows && k <= work->k);
    s_clear (out, MT_TASK_CLASSIFICATION);
    memset (work->cm, 0, (size_t) k * (size_t) k * sizeof (int64_t));
    s_counts (label, prob, n, k, work->cm);
    if (confusion)
        memcpy (confusion, work->cm, (size_t) k * (size_t) k * sizeof (int64_t));
    if (n == 0) {
        metrics_undefined (out, MT_TASK_CLASSIFICATION, S_NO_ROWS);
        return;
    }
    s_from_counts (work->cm, k, n, out);
    bool all = only == METRICS_ALL;
    if (all || only == MT_METRIC_LOG_LOSS)
        out->value [MT_METRIC_LOG_LOSS] = s_log_loss (label, prob, n, k);
    else
        s_why (out, MT_METRIC_LOG_LOSS, S_NOT_ASKED);
    if (all || only == MT_METRIC_ROC_AUC)
        s_roc_auc (label, prob, n, k, names, work, out);
    else
        s_why (out, MT_METRIC_ROC_AUC, S_NOT_ASKED);
}

void
metrics_regress (const double *y, const double *pred, size_t n, metrics_t *out)
{
    metrics_target_t target;
    metrics_regress_target (y, n, &target);
    double abs_sum = 0, ss_res = 0;
    for (size_t i = 0; i < n; i++) {
        double d = y [i] - pred [i];
        abs_sum += fabs (d);
        ss_res += d * d;
    }
    metrics_regress_sums (&target, abs_sum, ss_res, out);
}

void
metrics_regress_target (const double *y, size_t n, metrics_target_t *out)
{
    double mean = 0, ss_tot = 0;
    for (size_t i = 0; i < n; i++)
        mean += y [i];
    mean /= (double) (n ? n : 1);
    for (size_t i = 0; i < n; i++)
        ss_tot += (y [i] - mean) * (y [i] - mean);
    *out = (metrics_target_t) { .n = n, .mean = mean, .ss_tot = ss_tot };
}

void
metrics_regress_sums (const metrics_target_t *target, double abs_sum, double ss_res,
                      metrics_t *out)
{
    s_clear (out, MT_TASK_REGRESSION);
    size_t n = target->n;
    if (n == 0) {
        metrics_undefined (out, MT_TASK_REGRESSION, S_NO_ROWS);
        return;
    }
    out->value [MT_METRIC_MAE] = abs_sum / (double) n;
    out->value [MT_METRIC_RMSE] = sqrt (ss_res / (double) n);
    if (target->ss_tot > 0)
        out->value [MT_METRIC_R2] = 1.0 - ss_res / target->ss_tot;
    else
        s_why (out, MT_METRIC_R2, "R^2 needs a target that varies: every row has the same"
               " value");
}

void
metrics_undefined (metrics_t *out, mt_task_t task, const char *reason)
{
    s_clear (out, task);
    for (int m = 0; m < METRICS_COUNT; m++)
        if (out->set [m])
            s_why (out, (mt_metric_t) m, "%s", reason);
}

double
metrics_get (const metrics_t *self, mt_metric_t metric)
{
    if ((unsigned) metric >= METRICS_COUNT || !self->set [metric] || self->why [metric][0])
        return NAN;
    return self->value [metric];
}

void
metrics_to_json (const metrics_t *self, json_t *map)
{
    json_t *undefined = json_object_get (map, "undefined");
    for (int m = 0; m < METRICS_COUNT; m++) {
        if (!self->set [m])
            continue;
        double value = self->value [m];
        const char *why = self->why [m][0] ? self->why [m]
                        : isfinite (value) ? NULL : "not a finite number";
        json_object_set_new (map, s_keys [m], why ? json_null () : json_real (value));
        if (!why)
            continue;
        if (!undefined)
            json_object_set_new (map, "undefined", undefined = json_object ());
        json_object_set_new (undefined, s_keys [m], json_string (why));
    }
}

json_t *
metrics_confusion_json (const int64_t *confusion, int k)
{
    json_t *rows = json_array ();
    for (int t = 0; t < k; t++) {
        json_t *row = json_array ();
        for (int p = 0; p < k; p++)
            json_array_append_new (row, json_integer (confusion [(size_t) t * k + p]));
        json_array_append_new (rows, row);
    }
    return rows;
}

//  Every slot NAN with no reason, then the task's slots set. Only each
//  reason's first byte is cleared: a reason is read up to its NUL, and
//  clearing 1.4 KB every epoch cost more than a small table's metrics
static void
s_clear (metrics_t *self, mt_task_t task)
{
    for (int m = 0; m < METRICS_COUNT; m++) {
        self->value [m] = NAN;
        self->why [m][0] = '\0';
        bool regression = m >= MT_METRIC_R2;
        self->set [m] = m != MT_METRIC_VAL_LOSS
                     && regression == (task == MT_TASK_REGRESSION);
    }
}

static void
s_why (metrics_t *self, mt_metric_t metric, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->why [metric], METRICS_MAX_WHY, fmt, args);
    va_end (args);
    self->value [metric] = NAN;
}

//  The first most probable class, as numpy's argmax
static int
s_argmax (const float *row, int k)
{
    int arg = 0;
    for (int j = 1; j < k; j++)
        arg = row [j] > row [arg] ? j : arg;
    return arg;
}

static void
s_counts (const int32_t *label, const float *prob, size_t n, int k, int64_t *cm)
{
    for (size_t i = 0; i < n; i++)
        cm [(size_t) label [i] * k + s_argmax (prob + i * (size_t) k, k)]++;
}

//  accuracy, balanced accuracy and macro F1 from the confusion counts. As
//  sklearn: balanced accuracy averages the recall of the classes that have
//  rows; F1 averages over the classes among the labels or predictions
static void
s_from_counts (const int64_t *cm, int k, size_t n, metrics_t *out)
{
    double hits = 0, recall = 0, f1 = 0;
    int with_rows = 0, seen = 0;
    for (int c = 0; c < k; c++) {
        int64_t tp = cm [(size_t) c * k + c], row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += cm [(size_t) c * k + j];
            col += cm [(size_t) j * k + c];
        }
        hits += (double) tp;
        if (row > 0) {
            recall += (double) tp / (double) row;
            with_rows++;
        }
        if (row + col > 0) {
            f1 += 2.0 * (double) tp / (double) (row + col);
            seen++;
        }
    }
    out->value [MT_METRIC_ACCURACY] = hits / (double) n;
    out->value [MT_METRIC_BALANCED_ACCURACY] = recall / with_rows;
    out->value [MT_METRIC_F1_MACRO] = f1 / seen;
}

//  Mean negative log probability of the true class, each row clipped to
//  [eps, 1 - eps] and renormalised, as sklearn's log_loss on float64
static double
s_log_loss (const int32_t *label, const float *prob, size_t n, int k)
{
    const double eps = DBL_EPSILON;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *row = prob + i * (size_t) k;
        double sum = 0, mine = 0;
        for (int j = 0; j < k; j++) {
            double p = fmin (fmax ((double) row [j], eps), 1 - eps);
            sum += p;
            if (j == label [i])
                mine = p;
        }
        total -= log (mine / sum);
    }
    return total / (double) n;
}

static void
s_roc_auc (const int32_t *label, const float *prob, size_t n, int k, const char *const *names,
           metrics_work_t *work, metrics_t *out)
{
    double sum = 0;
    int first = k == 2 ? 1 : 0;
    for (int c = first; c < k; c++) {
        size_t positives;
        double auc = s_auc (label, prob, n, k, c, work, &positives);
        if (positives == 0 || positives == n) {
            int missing = positives == 0 ? c : (c == 0 ? 1 : 0);
            char number [16];
            snprintf (number, sizeof number, "%d", missing);
            s_why (out, MT_METRIC_ROC_AUC, "ROC AUC needs rows of every class: class '%.64s'"
                   " has none", names ? names [missing] : number);
            return;
        }
        sum += auc;
    }
    out->value [MT_METRIC_ROC_AUC] = sum / (k - first);
}

//  The area under the ROC curve of class c against the rest, by ranks
//  (Mann-Whitney U): tied scores share their average rank
static double
s_auc (const int32_t *label, const float *prob, size_t n, int k, int c, metrics_work_t *work,
       size_t *positives)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        work->scored [i] = (s_scored_t) { s_key (prob [i * (size_t) k + c]), label [i] == c };
        pos += work->scored [i].positive;
    }
    *positives = pos;
    if (pos == 0 || pos == n)
        return NAN;
    const s_scored_t *sorted = s_sort (work->scored, work->spare, n);
    double rank_sum = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start, tied_pos = 0;
        while (end < n && sorted [end].key == sorted [start].key)
            tied_pos += sorted [end++].positive;
        rank_sum += (double) tied_pos * ((double) (start + 1) + (double) end) / 2.0;
        start = end;
    }
    double neg = (double) (n - pos);
    return (rank_sum - (double) pos * ((double) pos + 1) / 2.0) / ((double) pos * neg);
}

//  score's bits as an unsigned key in the float's order (negatives flipped
//  whole, positives their sign bit set), with -0 as +0 so they tie as the
//  floats compare
static uint32_t
s_key (float score)
{
    uint32_t bits;
    score = score == 0 ? 0.0f : score;
    memcpy (&bits, &score, sizeof bits);
    return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

//  Sort n rows by key: a radix sort, a byte a pass from the lowest, that
//  skips a byte every key shares; from and to are the two sides. Returns
//  the side that holds the sorted rows. Stable, O(n); allocates nothing.
static s_scored_t *
s_sort (s_scored_t *from, s_scored_t *to, size_t n)
{
    size_t count [4][256] = { { 0 } };
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            count [b][(from [i].key >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 4; b++) {
        size_t *slot = count [b];
        if (slot [(from [0].key >> (8 * b)) & 0xff] == n)
            continue;               // one byte value only: this pass moves nothing
        size_t at = 0;
        for (int v = 0; v < 256; v++) {
            size_t here = slot [v];
            slot [v] = at;
            at += here;
        }
        for (size_t i = 0; i < n; i++)
            to [slot [(from [i].key >> (8 * b)) & 0xff]++] = from [i];
        s_scored_t *swap = from;
        from = to;
        to = swap;
    }
    return from;
}
