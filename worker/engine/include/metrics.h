/*  metrics - evaluation metrics over predictions and labels, as sklearn.metrics defines them  */
#ifndef MT_METRICS_H_INCLUDED
#define MT_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "mt/spec.h"

//  Slots are mt_metric_t values: MT_METRIC_ACCURACY .. MT_METRIC_RMSE
//  (slot MT_METRIC_VAL_LOSS is the caller's, left NAN with no reason).
#define METRICS_COUNT (MT_METRIC_RMSE + 1)
#define METRICS_MAX_WHY 160

//  One set of metrics. Plain record. A metric that cannot be computed
//  (no rows, a class with no rows for ROC AUC, a constant target for R^2)
//  is NAN with its reason in why (non-empty); a computed one has why "".
typedef struct {
    double value [METRICS_COUNT];
    char why [METRICS_COUNT][METRICS_MAX_WHY];
    bool set [METRICS_COUNT];   // the slots this task computes
} metrics_t;

//  Classification over n rows and k >= 2 classes: label [n] in [0, k) and
//  prob [n, k], each row a probability distribution (softmax). Fills
//  accuracy, balanced_accuracy (mean recall over the classes that have
//  rows), f1_macro (mean F1 over the classes among the labels or the
//  predictions), log_loss (probabilities clipped to [eps, 1 - eps], eps =
//  DBL_EPSILON, and renormalised) and roc_auc (binary: of prob [, 1];
//  k > 2: one-vs-rest, macro; ties take average ranks). The prediction is
//  the first most probable class. names (k, may be NULL) name classes in
//  reasons. When confusion is not NULL it gets the k x k counts, rows the
//  true class and columns the predicted one. Returns 0, or -1 when out of
//  memory (out is then all undefined).
int metrics_classify (const int32_t *label, const float *prob, size_t n, int k,
                      const char *const *names, metrics_t *out, int64_t *confusion);

//  Scratch space for classification metrics: the confusion counts and the
//  ROC AUC's sort, for up to n rows of up to k classes, so an evaluation
//  repeated every epoch allocates nothing. Returns NULL when out of memory;
//  the caller destroys it.
typedef struct metrics_work_t metrics_work_t;
metrics_work_t *metrics_work_new (size_t n, int k);
void metrics_work_destroy (metrics_work_t **self_p);

//  For metrics_classify_with's only: every metric of the task
#define METRICS_ALL MT_METRIC_VAL_LOSS

//  metrics_classify on work's buffers (n and k within work's; allocates
//  nothing), the same values bit for bit. only is METRICS_ALL, or one
//  classification metric: then the accuracies and F1 (from the counts,
//  which the confusion needs anyway) and only are measured, and the other
//  slots are undefined ("not measured"), so log loss costs no logarithm
//  and ROC AUC no sort unless asked for.
void metrics_classify_with (metrics_work_t *work, const int32_t *label, const float *prob,
                            size_t n, int k, const char *const *names, mt_metric_t only,
                            metrics_t *out, int64_t *confusion);

//  Regression over n rows in the target's own units: r2 (1 - SS_res /
//  SS_tot; undefined when the target is constant), mae and rmse.
void metrics_regress (const double *y, const double *pred, size_t n, metrics_t *out);

//  The same in two parts, for rows measured again and again (a validation
//  split every epoch): metrics_regress_target once, for the rows' targets
//  (their count, mean and SS_tot), then metrics_regress_sums with the sums,
//  in row order, of |y - pred| and (y - pred)^2. The same bits as
//  metrics_regress.
typedef struct {
    size_t n;                   // rows
    double mean, ss_tot;        // of the targets, in their units
} metrics_target_t;
void metrics_regress_target (const double *y, size_t n, metrics_target_t *out);
void metrics_regress_sums (const metrics_target_t *target, double abs_sum, double ss_res,
                           metrics_t *out);

//  Mark every slot of task undefined with reason (no rows, not measured).
void metrics_undefined (metrics_t *out, mt_task_t task, const char *reason);

//  The value of one metric, NAN when undefined or not of this set.
double metrics_get (const metrics_t *self, mt_metric_t metric);

//  Add the set's metrics to object map: each key (accuracy, ..., rmse)
//  with its value or null, and the reasons of the null ones in
//  map ["undefined"] (created when needed; entries already there are kept).
void metrics_to_json (const metrics_t *self, json_t *map);

//  The k x k confusion matrix as a JSON list of rows. A new reference.
json_t *metrics_confusion_json (const int64_t *confusion, int k);

#endif
