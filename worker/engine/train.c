/*  train - the training loop: splits, batches, epochs, validation, early stop  */
//  Order of random draws, all from one rng_t seeded with spec->seed:
//   1. the validation split (only when val_split > 0 and no fixed
//      validation file, opts->val_ds): one Fisher-Yates shuffle of the row
//      numbers; the first round (val_split x rows) rows are held out (with
//      stratify: the first round (val_split x count) rows of each class in
//      that order, leaving each class one training row at least); both
//      splits are then used in ascending row order;
//   2. the weights: mlp_init, layer by layer, weights then biases (always
//      drawn, even when init_path or resume_path then replaces them);
//   3. each epoch, when shuffle is on: the training rows are reset to
//      ascending order and shuffled once.
//  Features and regression targets are standardized with the training
//  split's mean and population std (computed in double; a zero std counts
//  as 1). Loss values are in standardized units; R^2 is in the target's
//  own units. Class weights scale each row's cross-entropy (torch's
//  CrossEntropyLoss(weight)); the validation loss stays unweighted (the
//  mean log loss). Every epoch end measures the validation metrics
//  (metrics.h); the best epoch is the one with the best spec->metric
//  (val_loss by default). With patience > 0 the best validation epoch's
//  weights are kept; otherwise the last epoch's. A training loss that is
//  not finite ends the run as diverged. A metric that is undefined (no
//  validation rows; R^2 of a split whose target is constant; what a stop
//  left unmeasured) is NAN with a reason (train_undefined_t), never 0.
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <jansson.h>
#include "mt/util.h"
#include "fpenv.h"
#include "metrics.h"
#include "mlp.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "train.h"

typedef struct {
    const mt_spec_t *spec;
    const dataset_t *ds;
    const dataset_t *vds;       // the fixed validation rows (opts->val_ds), or NULL
    const train_opts_t *opts;
    model_t *model;
    mlp_t *mlp;
    optim_t *optim;
    bool classify;
    int n_out;
    size_t cols;
    rng_t rng;                  // the stream, at the start of the running epoch's shuffle
    float *xs;                  // standardized features, rows x cols
    float *ys;                  // standardized regression targets, rows
    uint32_t *train, *val;      // row numbers of each split, ascending (vds rows follow ds's)
    size_t n_train, n_val;
    size_t rows_all;            // ds rows, then vds rows
    const int32_t *labels;      // every row's class, ds's then vds's (borrowed or all_labels)
    const float *targets;       // every row's raw regression target, likewise
    int32_t *all_labels;        // the copies, when vds adds rows; NULL otherwise
    float *all_targets;
    float *class_w;             // n_out class weights, NULL = unweighted
    float *eval_prob;           // classification: an evaluation's softmax rows, and labels
    int32_t *eval_label;
    double *eval_y;             // regression: a split's targets, in their units
    metrics_target_t val_target, train_target;  // regression: each split's targets' side
    metrics_work_t *work;       // classification metrics' scratch, for the larger split
    metrics_t val_metrics;      // the last epoch's validation metrics
    bool val_measured;          // val_metrics holds an epoch's
    metrics_t best_metrics;     // the best epoch's, when measured by this run
    bool best_measured;         //   (a resumed run's best epoch may be older)
    int64_t *confusion;         // the last epoch's and the best epoch's confusion
    int64_t *best_confusion;    //   counts, when kept (n_out <= TRAIN_MAX_CONFUSION)
    mt_metric_t headline;       // val_metric's metric
    double best_score;          // the best epoch's spec->metric (or val_loss)
    uint32_t *order;            // this epoch's training order
    float *xb, *yb;             // one batch, gathered
    int32_t *lb;
    float *best;                // best epoch's parameters
    int batch;                  // rows per step
    int64_t batches;            // steps per epoch
    int epoch;                  // epochs completed
    int64_t step;               // steps done
    int64_t next_batch;         // batch of the running epoch to do next
    double loss_sum;            // sum of batch losses in the running epoch
    double last_loss;           // mean batch loss of the last completed epoch, NAN before
    double best_val_loss;
    double best_loss;           // the best epoch's mean batch loss (last_loss then)
    int best_epoch, bad_epochs;
    double best_val_metric, val_loss, val_metric;
    double started_s, report_s; // mt_mono_s of the start and the last report
    double checkpoint_s;        // mt_mono_s of the last checkpoint, or of the start
    bool checkpoint_due;        // a multiple of checkpoint_every passed since the last one
    int64_t report_step;
    int64_t start_step;
    train_undefined_t undefined;// what the splits leave undefined, whatever the weights
} s_run_t;

//  Why a metric is undefined
#define S_NO_VAL "no validation rows (validation_split 0)"
#define S_VAL_CONSTANT "R^2 needs a target that varies: every validation row has the same value"
#define S_TRAIN_CONSTANT "R^2 needs a target that varies: every training row has the same value"
#define S_NO_EPOCH "no epoch completed"
#define S_STOPPED "not measured: the job was stopped before the end"
#define S_AT_CHECKPOINT "measured when training ends, not at a checkpoint"
#define S_RUNNING_LOSS "no step of the running epoch yet"
#define S_NOT_FINITE "not a finite number (training diverged: try a lower learning rate)"

static int s_train (const mt_spec_t *spec, const dataset_t *ds, const char *model_path,
                    const train_opts_t *opts, train_result_t *result, char **cause);
static int s_check_input (const mt_spec_t *spec, const dataset_t *ds, char **cause);
static int s_check_val (const mt_spec_t *spec, const dataset_t *ds, const dataset_t *vds,
                        char **cause);
static int s_prepare (s_run_t *self, char **cause);
static void s_split (s_run_t *self);
static void s_stratify (s_run_t *self);
static int s_rows (s_run_t *self, char **cause);
static int s_class_weights (s_run_t *self, char **cause);
static double s_score (const s_run_t *self);
static int s_diverged (const s_run_t *self, double loss, const char *what, int64_t step,
                       char **cause);
static void s_undefined (s_run_t *self);
static bool s_constant (const s_run_t *self, const uint32_t *rows, size_t n);
static void s_metric (json_t *metrics, json_t *undefined, const char *key, double value,
                      const char *why);
static void s_finish_undefined (const s_run_t *self, train_result_t *result);
static int s_standardize (s_run_t *self, char **cause);
static void s_col_moments (const s_run_t *self, double *sum, double *sq, float *mean,
                           float *std);
static int s_warm_start (s_run_t *self, const char *path, bool resume, char **cause);
static void s_name_cause (char **cause, const char *path, const char *name);
static int s_copy_params (s_run_t *self, const model_t *from, const char *path, char **cause);
static const char *s_shapes (const mlp_t *mlp, char *buf, size_t size);
static int s_name_map (const char *const *ours, int n_ours, const char *const *theirs,
                       int n_theirs, int *map, FILE *diff, const char *what);
static int s_input_map (const s_run_t *self, const model_t *from, int *map, FILE *diff);
static const char *s_kind_name (encode_kind_t kind);
static int s_copy_mapped (s_run_t *self, const model_t *from, const char *path, char **cause);
static int s_restore (s_run_t *self, const model_t *from, const char *path, char **cause);
static void s_restore_loss (s_run_t *self, const model_t *from);
static bool s_patience_spent (const s_run_t *self);
static int s_loop (s_run_t *self, train_result_t *result, char **cause);
static int s_step (s_run_t *self, int64_t b, char **cause);
static void s_gather (s_run_t *self, const uint32_t *rows, int n);
static double s_evaluate (s_run_t *self, const uint32_t *rows, size_t n, mt_metric_t only,
                          metrics_t *out, int64_t *confusion);
static void s_final_val (s_run_t *self, bool keep_best, train_result_t *result);
static void s_target (s_run_t *self, const uint32_t *rows, size_t n, metrics_target_t *out);
static int s_epoch_end (s_run_t *self, bool *early, char **cause);
static void s_report (s_run_t *self, bool epoch_end);
static int s_checkpoint (s_run_t *self, char **cause);
static train_result_t s_checkpoint_result (const s_run_t *self, double running);
static int s_save_final (s_run_t *self, const char *path, train_result_t *result, char **cause);
static int s_set_meta_fmt (model_t *model, const char *key, char **cause, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static void s_destroy (s_run_t *self);
static int s_cmp_u32 (const void *a, const void *b);
static void s_moments (const s_run_t *self, const float *values, size_t stride, float *mean,
                       float *std);
static int s_meta_double (const model_t *from, const char *key, double *value);
static int s_restore_optim (s_run_t *self, const model_t *from, const char *path, char **cause);
static int s_set_metrics (s_run_t *self, const train_result_t *result, char **cause);
static int s_checkpoint_tensors (s_run_t *self, char **cause);

//  The whole run with FTZ/DAZ set (fpenv.h), the caller's MXCSR put back after
int
train_run (const mt_spec_t *spec, const dataset_t *ds, const char *model_path,
           const train_opts_t *opts, train_result_t *result, char **cause)
{
    uint32_t saved = fpenv_fast ();
    int rc = s_train (spec, ds, model_path, opts, result, cause);
    fpenv_restore (saved);
    return rc;
}

static int
s_train (const mt_spec_t *spec, const dataset_t *ds, const char *model_path,
         const train_opts_t *opts, train_result_t *result, char **cause)
{
    assert (mt_spec_validate (spec, NULL) == 0);    // the caller's to check
    if (s_check_input (spec, ds, cause) || s_check_val (spec, ds, opts->val_ds, cause))
        return -1;
    s_run_t run = { .spec = spec, .ds = ds, .vds = opts->val_ds, .opts = opts };
    train_result_t res = { .val_loss = NAN, .val_metric = NAN, .train_metric = NAN };
    metrics_undefined (&res.val_metrics, spec->task, S_NO_EPOCH);
    int rc = -1;
    mlp_set_threads (opts->threads);
    if (s_prepare (&run, cause))
        goto done;
    if (opts->init_path && s_warm_start (&run, opts->init_path, false, cause))
        goto done;
    if (opts->resume_path && s_warm_start (&run, opts->resume_path, true, cause))
        goto done;
    res.resumed_from_epoch = opts->resume_path ? run.epoch : 0;
    if (s_loop (&run, &res, cause))
        goto done;
    s_finish_undefined (&run, &res);
    if (!res.stopped && s_save_final (&run, model_path, &res, cause))
        goto done;
    rc = 0;
    *result = res;
done:
    s_destroy (&run);
    return rc;
}

static int
s_check_input (const mt_spec_t *spec, const dataset_t *ds, char **cause)
{
    if (!ds || ds->rows < 1 || ds->cols < 1 || !ds->x)
        return mt_fail (cause, "train: the dataset has no rows or no feature columns");
    if (ds->rows > UINT32_MAX)
        return mt_fail (cause, "train: %zu rows is over the limit", ds->rows);
    if (spec->task == MT_TASK_REGRESSION && !ds->y)
        return mt_fail (cause, "train: regression needs a numeric target column");
    if (spec->task == MT_TASK_CLASSIFICATION) {
        if (!ds->label || ds->n_classes < 2)
            return mt_fail (cause, "train: classification needs at least 2 classes in '%s' (found %d)",
                            ds->target_name ? ds->target_name : "target", ds->n_classes);
        for (size_t i = 0; i < ds->rows; i++)
            if (ds->label [i] < 0 || ds->label [i] >= ds->n_classes)
                return mt_fail (cause, "train: row %zu has class index %d out of range", i,
                                (int) ds->label [i]);
    }
    for (size_t i = 0; i < ds->rows * ds->cols; i++)
        if (!isfinite (ds->x [i]))
            return mt_fail (cause, "train: row %zu column %zu is not finite", i / ds->cols,
                            i % ds->cols);
    return 0;
}

//  The fixed validation rows must be read as the training rows are: the
//  same columns and the same classes, by index
static int
s_check_val (const mt_spec_t *spec, const dataset_t *ds, const dataset_t *vds, char **cause)
{
    if (!vds)
        return 0;
    if (vds->rows < 1 || vds->rows > UINT32_MAX - ds->rows)
        return mt_fail (cause, "train: the validation file (--val-data) has no rows");
    if (vds->cols != ds->cols || !vds->x || (spec->task == MT_TASK_REGRESSION && !vds->y)
    ||  (spec->task == MT_TASK_CLASSIFICATION && (!vds->label || vds->n_classes != ds->n_classes)))
        return mt_fail (cause, "train: the validation file (--val-data) does not have the"
                        " training data's columns and classes");
    for (size_t i = 0; spec->task == MT_TASK_CLASSIFICATION && i < vds->rows; i++)
        if (vds->label [i] < 0 || vds->label [i] >= ds->n_classes)
            return mt_fail (cause, "train: validation row %zu has class index %d out of range",
                            i, (int) vds->label [i]);
    for (size_t i = 0; i < vds->rows * vds->cols; i++)
        if (!isfinite (vds->x [i]))
            return mt_fail (cause, "train: validation row %zu column %zu is not finite",
                            i / vds->cols, i % vds->cols);
    return 0;
}

int
train_check_class_weights (const mt_spec_t *spec, const char *const *classes, int n_classes,
                           char **cause)
{
    for (int i = 0; i < spec->n_class_weights; i++) {
        const char *name = spec->class_weights [i].name;
        int c = 0;
        while (c < n_classes && strcmp (classes [c], name) != 0)
            c++;
        if (c < n_classes)
            continue;
        char list [1024] = "";
        size_t used = 0;
        for (int j = 0; j < n_classes && used < sizeof list - 1; j++)
            used += (size_t) snprintf (list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                       classes [j]);
        return mt_fail (cause, "--class-weight names class '%s', which the target does not"
                        " have; its classes are %s", name, list);
    }
    return 0;
}

//  The loss's class weights: balanced, n_train / (k count_c) over the
//  training rows (sklearn's compute_class_weight; a class with no training
//  row, which no step meets, weighs 1), or by name, unnamed classes 1
static int
s_class_weights (s_run_t *self, char **cause)
{
    const mt_spec_t *spec = self->spec;
    const dataset_t *ds = self->ds;
    if (!self->classify || (!spec->class_weight_balanced && spec->n_class_weights == 0))
        return 0;
    if (train_check_class_weights (spec, (const char *const *) ds->classes, ds->n_classes, cause))
        return -1;
    self->class_w = calloc ((size_t) self->n_out, sizeof (float));
    if (!self->class_w)
        return mt_fail (cause, "train: out of memory");
    for (int c = 0; c < self->n_out; c++)
        self->class_w [c] = 1;
    if (spec->class_weight_balanced) {
        size_t *count = calloc ((size_t) self->n_out, sizeof (size_t));
        if (!count)
            return mt_fail (cause, "train: out of memory");
        for (size_t i = 0; i < self->n_train; i++)
            count [self->labels [self->train [i]]]++;
        for (int c = 0; c < self->n_out; c++)
            if (count [c])
                self->class_w [c] = (float) ((double) self->n_train
                                             / ((double) self->n_out * (double) count [c]));
        free (count);
        return 0;
    }
    for (int i = 0; i < spec->n_class_weights; i++)
        for (int c = 0; c < self->n_out; c++)
            if (strcmp (ds->classes [c], spec->class_weights [i].name) == 0)
                self->class_w [c] = (float) spec->class_weights [i].weight;
    return 0;
}

//  Every row's label and raw target, ds's then vds's: ds's own arrays
//  when there is no validation file
static int
s_rows (s_run_t *self, char **cause)
{
    const dataset_t *ds = self->ds, *vds = self->vds;
    self->rows_all = ds->rows + (vds ? vds->rows : 0);
    self->labels = ds->label;
    self->targets = ds->y;
    if (!vds)
        return 0;
    if (self->classify) {
        self->all_labels = malloc (self->rows_all * sizeof (int32_t));
        if (!self->all_labels)
            return mt_fail (cause, "train: out of memory");
        memcpy (self->all_labels, ds->label, ds->rows * sizeof (int32_t));
        memcpy (self->all_labels + ds->rows, vds->label, vds->rows * sizeof (int32_t));
        self->labels = self->all_labels;
        return 0;
    }
    self->all_targets = malloc (self->rows_all * sizeof (float));
    if (!self->all_targets)
        return mt_fail (cause, "train: out of memory");
    memcpy (self->all_targets, ds->y, ds->rows * sizeof (float));
    memcpy (self->all_targets + ds->rows, vds->y, vds->rows * sizeof (float));
    self->targets = self->all_targets;
    return 0;
}

//  Split, scale, build the model and the optimizer, allocate every buffer
static int
s_prepare (s_run_t *self, char **cause)
{
    const mt_spec_t *spec = self->spec;
    const dataset_t *ds = self->ds;
    self->classify = spec->task == MT_TASK_CLASSIFICATION;
    self->n_out = self->classify ? ds->n_classes : 1;
    self->cols = ds->cols;
    self->headline = spec->metric != MT_METRIC_VAL_LOSS ? spec->metric
                   : self->classify ? MT_METRIC_ACCURACY : MT_METRIC_R2;
    rng_seed (&self->rng, spec->seed);
    if (s_rows (self, cause))
        return -1;
    self->train = malloc (self->rows_all * sizeof (uint32_t));
    self->val = malloc (self->rows_all * sizeof (uint32_t));
    self->order = malloc (self->rows_all * sizeof (uint32_t));
    if (!self->train || !self->val || !self->order)
        return mt_fail (cause, "train: out of memory");
    s_split (self);
    if (self->n_train < 1)
        return mt_fail (cause, "train: no training rows left after the validation split");
    s_undefined (self);
    if (s_class_weights (self, cause))
        return -1;
    size_t evals = self->n_train > self->n_val ? self->n_train : self->n_val;
    self->eval_prob = malloc (evals * (size_t) self->n_out * sizeof (float));
    self->eval_label = malloc (evals * sizeof (int32_t));
    self->eval_y = malloc (evals * sizeof (double));
    if (!self->eval_prob || !self->eval_label || !self->eval_y)
        return mt_fail (cause, "train: out of memory");
    if (!self->classify) {
        s_target (self, self->val, self->n_val, &self->val_target);
        s_target (self, self->train, self->n_train, &self->train_target);
    }
    if (self->classify && !(self->work = metrics_work_new (evals, self->n_out)))
        return mt_fail (cause, "train: out of memory");
    if (self->classify && self->n_out <= TRAIN_MAX_CONFUSION) {
        size_t cells = (size_t) self->n_out * (size_t) self->n_out;
        self->confusion = calloc (cells, sizeof (int64_t));
        self->best_confusion = calloc (cells, sizeof (int64_t));
        if (!self->confusion || !self->best_confusion)
            return mt_fail (cause, "train: out of memory");
    }
    size_t largest = self->n_train > self->n_val ? self->n_train : self->n_val;
    self->batch = (size_t) spec->batch_size < largest ? spec->batch_size : (int) largest;
    self->batches = (int64_t) ((self->n_train + (size_t) spec->batch_size - 1) / (size_t) spec->batch_size);
    self->model = model_new (spec, (const char *const *) ds->feature_names, (int) ds->cols,
                             ds->target_name, (const char *const *) ds->classes,
                             ds->n_classes, self->batch, cause);
    if (!self->model)
        return -1;
    if (ds->plan && model_set_plan (self->model, ds->plan, cause))
        return -1;
    self->mlp = model_mlp (self->model);
    size_t n_params = mlp_param_count (self->mlp);
    self->optim = optim_new (spec, n_params);
    self->xs = malloc (self->rows_all * ds->cols * sizeof (float));
    self->ys = malloc (self->rows_all * sizeof (float));
    self->xb = malloc ((size_t) self->batch * ds->cols * sizeof (float));
    self->yb = malloc ((size_t) self->batch * sizeof (float));
    self->lb = malloc ((size_t) self->batch * sizeof (int32_t));
    self->best = malloc (n_params * sizeof (float));
    if (!self->optim || !self->xs || !self->ys || !self->xb || !self->yb || !self->lb || !self->best)
        return mt_fail (cause, "train: out of memory");
    if (s_standardize (self, cause))
        return -1;
    mlp_init (self->mlp, &self->rng);
    memcpy (self->best, mlp_params (self->mlp), n_params * sizeof (float));
    self->best_val_loss = INFINITY;
    self->best_score = mt_metric_higher_better (spec->metric) ? -INFINITY : INFINITY;
    self->best_val_metric = self->val_loss = self->val_metric = self->last_loss = NAN;
    self->best_loss = NAN;
    return 0;
}

static int
s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

static void
s_split (s_run_t *self)
{
    size_t rows = self->ds->rows;
    for (size_t i = 0; i < self->rows_all; i++)
        self->order [i] = (uint32_t) i;
    self->n_val = 0;
    if (self->vds) {
        //  The file's rows, after the training rows, are the validation rows
        self->n_train = rows;
        self->n_val = self->vds->rows;
        memcpy (self->train, self->order, rows * sizeof (uint32_t));
        memcpy (self->val, self->order + rows, self->n_val * sizeof (uint32_t));
        return;
    }
    if (self->spec->val_split > 0 && self->spec->stratify) {
        rng_shuffle (&self->rng, self->order, rows);
        s_stratify (self);
        return;
    }
    if (self->spec->val_split > 0) {
        rng_shuffle (&self->rng, self->order, rows);
        self->n_val = (size_t) floor (self->spec->val_split * (double) rows + 0.5);
        if (self->n_val == 0)
            self->n_val = 1;
    }
    if (self->n_val > rows)
        self->n_val = rows;
    self->n_train = rows - self->n_val;
    memcpy (self->val, self->order, self->n_val * sizeof (uint32_t));
    memcpy (self->train, self->order + self->n_val, self->n_train * sizeof (uint32_t));
    qsort (self->val, self->n_val, sizeof (uint32_t), s_cmp_u32);
    qsort (self->train, self->n_train, sizeof (uint32_t), s_cmp_u32);
}

//  Hold out, of each class, its first round (val_split x count) rows in the
//  shuffled order (at least one when the split would round to none, and
//  one row left to train on), so both splits keep the class proportions
static void
s_stratify (s_run_t *self)
{
    size_t rows = self->ds->rows, k = (size_t) self->n_out;
    size_t *count = calloc (k, sizeof (size_t)), *take = calloc (k, sizeof (size_t));
    self->n_val = self->n_train = 0;
    if (count && take) {
        for (size_t i = 0; i < rows; i++)
            count [self->labels [i]]++;
        for (size_t c = 0; c < k; c++) {
            take [c] = (size_t) floor (self->spec->val_split * (double) count [c] + 0.5);
            take [c] = take [c] == 0 && count [c] > 1 ? 1 : take [c];
            take [c] = take [c] >= count [c] && count [c] > 0 ? count [c] - 1 : take [c];
        }
        for (size_t i = 0; i < rows; i++) {
            uint32_t row = self->order [i];
            size_t c = (size_t) self->labels [row];
            if (take [c] > 0) {
                take [c]--;
                self->val [self->n_val++] = row;
            }
            else
                self->train [self->n_train++] = row;
        }
    }
    free (count);
    free (take);
    qsort (self->val, self->n_val, sizeof (uint32_t), s_cmp_u32);
    qsort (self->train, self->n_train, sizeof (uint32_t), s_cmp_u32);
}

//  The metrics the splits leave undefined, whatever the weights do
static void
s_undefined (s_run_t *self)
{
    if (self->n_val == 0)
        self->undefined.val_loss = self->undefined.val_metric = S_NO_VAL;
    else
    if (self->headline == MT_METRIC_R2 && s_constant (self, self->val, self->n_val))
        self->undefined.val_metric = S_VAL_CONSTANT;
    if (self->headline == MT_METRIC_R2 && s_constant (self, self->train, self->n_train))
        self->undefined.train_metric = S_TRAIN_CONSTANT;
}

//  True when the regression target has one value over rows
static bool
s_constant (const s_run_t *self, const uint32_t *rows, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (self->targets [rows [i]] != self->targets [rows [0]])
            return false;
    return true;
}

//  A result's reasons: the splits', and what the end of the run left
//  unmeasured
static void
s_finish_undefined (const s_run_t *self, train_result_t *result)
{
    train_undefined_t *why = &result->undefined;
    *why = self->undefined;
    if (self->epoch == 0)
        why->loss = S_NO_EPOCH;
    result->metric = self->headline;
    result->best_by = self->spec->metric;
    if (self->n_val == 0)
        metrics_undefined (&result->val_metrics, self->spec->task, S_NO_VAL);
    if (!result->stopped)
        return;
    if (self->n_val > 0)
        metrics_undefined (&result->val_metrics, self->spec->task, S_STOPPED);
    why->val_loss = why->val_loss ? why->val_loss : S_STOPPED;
    why->val_metric = why->val_metric ? why->val_metric : S_STOPPED;
    why->train_metric = why->train_metric ? why->train_metric : S_STOPPED;
}

//  Mean and population std of values [row * stride] over the training rows
static void
s_moments (const s_run_t *self, const float *values, size_t stride, float *mean, float *std)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < self->n_train; i++)
        sum += values [self->train [i] * stride];
    double m = sum / (double) self->n_train;
    for (size_t i = 0; i < self->n_train; i++) {
        double d = values [self->train [i] * stride] - m;
        sq += d * d;
    }
    double s = sqrt (sq / (double) self->n_train);
    *mean = (float) m;
    *std = s > 0 && (float) s > 0 ? (float) s : 1.0f;
}

//  Every feature column's mean and population std over the training rows,
//  as s_moments gives them (the same sums in the same row order, so the
//  same bits), in two row-major passes: a column-by-column walk strides
//  over the whole table once per column and missed the cache on wide rows.
//  sum and sq are cols doubles of scratch.
static void
s_col_moments (const s_run_t *self, double *sum, double *sq, float *mean, float *std)
{
    const dataset_t *ds = self->ds;
    size_t cols = ds->cols;
    memset (sum, 0, cols * sizeof (double));
    memset (sq, 0, cols * sizeof (double));
    for (size_t i = 0; i < self->n_train; i++) {
        const float *x = ds->x + (size_t) self->train [i] * cols;
        for (size_t j = 0; j < cols; j++)
            sum [j] += x [j];
    }
    for (size_t j = 0; j < cols; j++)
        sum [j] /= (double) self->n_train;      // now the mean
    for (size_t i = 0; i < self->n_train; i++) {
        const float *x = ds->x + (size_t) self->train [i] * cols;
        for (size_t j = 0; j < cols; j++) {
            double d = x [j] - sum [j];
            sq [j] += d * d;
        }
    }
    for (size_t j = 0; j < cols; j++) {
        double s = sqrt (sq [j] / (double) self->n_train);
        mean [j] = (float) sum [j];
        std [j] = s > 0 && (float) s > 0 ? (float) s : 1.0f;
    }
}

static int
s_standardize (s_run_t *self, char **cause)
{
    const dataset_t *ds = self->ds;
    float *mean = model_input_mean (self->model), *std = model_input_std (self->model);
    double *scratch = malloc (2 * ds->cols * sizeof (double));
    if (!scratch)
        return mt_fail (cause, "train: out of memory");
    s_col_moments (self, scratch, scratch + ds->cols, mean, std);
    free (scratch);
    for (size_t i = 0; i < self->rows_all; i++) {
        const float *x = i < ds->rows ? ds->x + i * ds->cols
                       : self->vds->x + (i - ds->rows) * ds->cols;
        for (size_t j = 0; j < ds->cols; j++)
            self->xs [i * ds->cols + j] = (x [j] - mean [j]) / std [j];
    }
    if (self->classify)
        return 0;
    float *scale = model_target_scale (self->model);
    s_moments (self, ds->y, 1, &scale [0], &scale [1]);
    for (size_t i = 0; i < self->rows_all; i++)
        self->ys [i] = (self->targets [i] - scale [0]) / scale [1];
    return 0;
}

//  Take weights (init) or the whole training state (resume) from a file
static int
s_warm_start (s_run_t *self, const char *path, bool resume, char **cause)
{
    //  --init may be a bare PyTorch state dict, applied by position
    model_t *from = resume ? model_load (path, cause) : model_load_init (path, cause);
    int rc = from ? !resume && !model_is_bare (from) ? s_copy_mapped (self, from, path, cause)
                                                     : s_copy_params (self, from, path, cause)
                  : -1;
    if (rc == 0 && resume)
        rc = s_restore (self, from, path, cause);
    model_destroy (&from);
    if (rc && !resume && self->opts->init_name)
        s_name_cause (cause, path, self->opts->init_name);
    return rc;
}

//  A cause that starts with path starts with name instead (a path on this
//  machine means nothing to whoever submitted the job)
static void
s_name_cause (char **cause, const char *path, const char *name)
{
    size_t len = strlen (path);
    char *named = NULL;
    if (!cause || !*cause || strncmp (*cause, path, len) != 0
    ||  asprintf (&named, "%s%s", name, *cause + len) < 0)
        return;
    free (*cause);
    *cause = named;
}

static int
s_copy_params (s_run_t *self, const model_t *from, const char *path, char **cause)
{
    const mlp_t *src = model_mlp_const (from);
    bool same = mlp_layers (src) == mlp_layers (self->mlp);
    for (int l = 0; same && l < mlp_layers (src); l++)
        same = mlp_layer_in (src, l) == mlp_layer_in (self->mlp, l)
            && mlp_layer_out (src, l) == mlp_layer_out (self->mlp, l);
    if (!same) {
        char theirs [256], ours [256];
        return mt_fail (cause, "%s: its layer shapes %s differ from this job's %s"
                        " (features, --hidden, outputs)", path,
                        s_shapes (src, theirs, sizeof theirs),
                        s_shapes (self->mlp, ours, sizeof ours));
    }
    memcpy (mlp_params (self->mlp), mlp_params_const (src),
            mlp_param_count (src) * sizeof (float));
    memcpy (self->best, mlp_params_const (src), mlp_param_count (src) * sizeof (float));
    return 0;
}

//  --init from an mt model: its inputs and classes are matched to this
//  job's by name (never by position), the hidden layers must be the same
static int
s_copy_mapped (s_run_t *self, const model_t *from, const char *path, char **cause)
{
    const mlp_t *src = model_mlp_const (from);
    mlp_t *dst = self->mlp;
    if (model_task (from) != self->spec->task)
        return mt_fail (cause, "%s: a %s model, but this job's task is %s", path,
                        mt_task_name (model_task (from)), mt_task_name (self->spec->task));
    int layers = mlp_layers (dst);
    bool same = mlp_layers (src) == layers;
    for (int l = 0; same && l < layers - 1; l++)
        same = mlp_layer_out (src, l) == mlp_layer_out (dst, l);
    if (!same) {
        char theirs [256], ours [256];
        return mt_fail (cause, "%s: its layer shapes %s differ from this job's %s"
                        " (--hidden)", path, s_shapes (src, theirs, sizeof theirs),
                        s_shapes (dst, ours, sizeof ours));
    }
    int n_in = mlp_layer_in (dst, 0), n_out = mlp_layer_out (dst, layers - 1);
    int *in_map = malloc ((size_t) n_in * sizeof (int));
    int *out_map = calloc ((size_t) n_out, sizeof (int));
    char *diff = NULL;
    size_t diff_len = 0;
    FILE *out = open_memstream (&diff, &diff_len);
    if (!in_map || !out_map || !out) {
        free (in_map);
        free (out_map);
        if (out)
            fclose (out);
        free (diff);
        return mt_fail (cause, "train: out of memory");
    }
    int theirs_n = 0, bad = s_input_map (self, from, in_map, out);
    if (self->classify) {
        const char *const *classes = model_classes (from, &theirs_n);
        bad += s_name_map ((const char *const *) self->ds->classes, self->ds->n_classes,
                           classes, theirs_n, out_map, out, "classes");
    }
    fclose (out);
    int rc = 0;
    if (bad)
        rc = mt_fail (cause, "%s: inputs and classes are matched by name, and these differ:%s",
                      path, diff ? diff : "");
    for (int l = 0; rc == 0 && l < layers; l++) {
        int rows = mlp_layer_out (dst, l), cols = mlp_layer_in (dst, l);
        int src_cols = mlp_layer_in (src, l);
        const float *w = mlp_params_const (src) + mlp_weight_offset (src, l);
        const float *bias = mlp_params_const (src) + mlp_bias_offset (src, l);
        for (int o = 0; o < rows; o++) {
            int so = l == layers - 1 && self->classify ? out_map [o] : o;
            for (int i = 0; i < cols; i++)
                mlp_weight (dst, l) [(size_t) o * cols + i]
                    = l > 0 ? w [(size_t) so * src_cols + i]
                    : in_map [i] < 0 ? 0 : w [(size_t) so * src_cols + in_map [i]];
            mlp_bias (dst, l) [o] = bias [so];
        }
    }
    if (rc == 0)
        memcpy (self->best, mlp_params (dst), mlp_param_count (dst) * sizeof (float));
    free (in_map);
    free (out_map);
    free (diff);
    return rc;
}

//  map [i] = the init model's input that this job's input i takes its
//  weights from, by the plans: the raw columns (by name) and their kinds
//  must be the same; within a column, an input of the same name (a
//  category, an indicator); a level the init model lacks (a category or
//  (missing)) takes its (other) weights, as the init model would send that
//  value there; an indicator it lacks gets zero weights (map -1: it imputed
//  the median alone). Its levels this job lacks are dropped. The columns
//  only one side has and the kinds that differ are listed to diff.
//  Returns 0 when the columns match.
static int
s_input_map (const s_run_t *self, const model_t *from, int *map, FILE *diff)
{
    const encode_t *ours = model_plan (self->model), *theirs = model_plan (from);
    int n_ours = encode_columns (ours), n_theirs = encode_columns (theirs), n_names = 0;
    const char **our_cols = calloc ((size_t) n_ours + 1, sizeof (char *));
    const char **their_cols = calloc ((size_t) n_theirs + 1, sizeof (char *));
    int *col_map = malloc ((size_t) (n_ours + 1) * sizeof (int));
    if (!our_cols || !their_cols || !col_map) {
        free (our_cols);
        free (their_cols);
        free (col_map);
        fprintf (diff, " (out of memory)");
        return 1;
    }
    for (int c = 0; c < n_ours; c++)
        our_cols [c] = encode_column_name (ours, c);
    for (int k = 0; k < n_theirs; k++)
        their_cols [k] = encode_column_name (theirs, k);
    int bad = s_name_map (our_cols, n_ours, their_cols, n_theirs, col_map, diff, "columns");
    const char *const *names = model_features (from, &n_names);
    for (int c = 0; c < n_ours; c++) {
        int k = col_map [c];
        size_t at = encode_column_offset (ours, c);
        size_t end = c + 1 < n_ours ? encode_column_offset (ours, c + 1) : encode_width (ours);
        if (k >= 0 && encode_column_kind (ours, c) != encode_column_kind (theirs, k)) {
            fprintf (diff, " '%s' is %s here but %s in the init model (--categorical,"
                     " --numeric);", our_cols [c], s_kind_name (encode_column_kind (ours, c)),
                     s_kind_name (encode_column_kind (theirs, k)));
            bad = 1;
        }
        if (k < 0 || encode_column_kind (ours, c) != encode_column_kind (theirs, k))
            continue;
        size_t from_at = encode_column_offset (theirs, k);
        size_t from_end = k + 1 < n_theirs ? encode_column_offset (theirs, k + 1)
                                           : encode_width (theirs);
        for (size_t i = at; i < end; i++) {
            map [i] = encode_column_kind (ours, c) == ENCODE_CATEGORICAL ? (int) from_end - 1
                                                                          : -1;
            for (size_t j = from_at; j < from_end && j < (size_t) n_names; j++)
                if (strcmp (self->ds->feature_names [i], names [j]) == 0)
                    map [i] = (int) j;
        }
    }
    free (our_cols);
    free (their_cols);
    free (col_map);
    return bad;
}

static const char *
s_kind_name (encode_kind_t kind)
{
    return kind == ENCODE_CATEGORICAL ? "categorical" : "numeric";
}

//  map [i] = where ours [i] is in theirs; the names only one side has are
//  listed to diff. Returns 0 when both hold the same names.
static int
s_name_map (const char *const *ours, int n_ours, const char *const *theirs, int n_theirs,
            int *map, FILE *diff, const char *what)
{
    int only_ours = 0, only_theirs = 0;
    for (int i = 0; i < n_ours; i++) {
        map [i] = -1;
        for (int k = 0; k < n_theirs && map [i] < 0; k++)
            if (strcmp (ours [i], theirs [k]) == 0)
                map [i] = k;
        if (map [i] < 0 && only_ours++ < 8)
            fprintf (diff, "%s'%s'", only_ours == 1 ? " {" : ", ", ours [i]);
    }
    if (only_ours)
        fprintf (diff, "%s} only in this job's data;", only_ours > 8 ? ", ..." : "");
    for (int k = 0; k < n_theirs; k++) {
        bool found = false;
        for (int i = 0; i < n_ours && !found; i++)
            found = strcmp (ours [i], theirs [k]) == 0;
        if (!found && only_theirs++ < 8)
            fprintf (diff, "%s'%s'", only_theirs == 1 ? " {" : ", ", theirs [k]);
    }
    if (only_theirs)
        fprintf (diff, "%s} only in the init model;", only_theirs > 8 ? ", ..." : "");
    if (only_ours + only_theirs)
        fprintf (diff, " (%s)", what);
    return only_ours + only_theirs > 0;
}

//  The layer widths as text, inputs first: "4-16-3"
static const char *
s_shapes (const mlp_t *mlp, char *buf, size_t size)
{
    size_t used = (size_t) snprintf (buf, size, "%d", mlp_layer_in (mlp, 0));
    for (int l = 0; l < mlp_layers (mlp) && used < size; l++)
        used += (size_t) snprintf (buf + used, size - used, "-%d", mlp_layer_out (mlp, l));
    return buf;
}

//  Parse a decimal or %a metadata value; -1 when absent or malformed
static int
s_meta_double (const model_t *from, const char *key, double *value)
{
    const char *text = model_meta (from, key);
    char *end = NULL;
    if (!text)
        return -1;
    *value = strtod (text, &end);
    return end == text || *end ? -1 : 0;
}

static int
s_restore_optim (s_run_t *self, const model_t *from, const char *path, char **cause)
{
    char name [80], param [32];
    for (int i = 0; i < optim_state_count (self->optim); i++)
        for (int l = 0; l < mlp_layers (self->mlp); l++)
            for (int bias = 0; bias < 2; bias++) {
                model_param_name (l, bias, param, sizeof param);
                snprintf (name, sizeof name, "optim.%s.%s", param,
                          optim_state_name (self->optim, i));
                size_t count = 0, want = (size_t) mlp_layer_out (self->mlp, l)
                                       * (bias ? 1 : (size_t) mlp_layer_in (self->mlp, l));
                const float *data = model_tensor (from, name, &count);
                if (!data || count != want)
                    return mt_fail (cause, "%s: checkpoint lacks tensor '%s'", path, name);
                size_t off = bias ? mlp_bias_offset (self->mlp, l) : mlp_weight_offset (self->mlp, l);
                memcpy (optim_state (self->optim, i) + off, data, count * sizeof (float));
            }
    return 0;
}

static int
s_restore (s_run_t *self, const model_t *from, const char *path, char **cause)
{
    double epoch, step, batch, loss_sum, best_loss, best_metric, best_epoch, bad, val_loss, val_metric;
    const char *rng = model_meta (from, "rng");
    if (!model_meta (from, "checkpoint") || !rng
    ||  s_meta_double (from, "epoch", &epoch) || s_meta_double (from, "step", &step)
    ||  s_meta_double (from, "batch", &batch) || s_meta_double (from, "loss_sum", &loss_sum)
    ||  s_meta_double (from, "best_val_loss", &best_loss)
    ||  s_meta_double (from, "best_val_metric", &best_metric)
    ||  s_meta_double (from, "best_epoch", &best_epoch)
    ||  s_meta_double (from, "bad_epochs", &bad)
    ||  s_meta_double (from, "val_loss", &val_loss)
    ||  s_meta_double (from, "val_metric", &val_metric)
    ||  sscanf (rng, "%16" SCNx64 ",%16" SCNx64 ",%16" SCNx64 ",%16" SCNx64, &self->rng.s [0],
                &self->rng.s [1], &self->rng.s [2], &self->rng.s [3]) != 4)
        return mt_fail (cause, "%s: not a checkpoint, or its training state is incomplete", path);
    if (epoch < 0 || epoch > self->spec->epochs || batch < 0 || batch >= (double) self->batches
    ||  step < 0)
        return mt_fail (cause, "%s: checkpoint epoch/batch do not fit this job's spec and data", path);
    self->epoch = (int) epoch;
    self->step = (int64_t) step;
    self->next_batch = (int64_t) batch;
    self->loss_sum = loss_sum;
    self->best_val_loss = best_loss;
    self->best_val_metric = best_metric;
    self->best_epoch = (int) best_epoch;
    self->bad_epochs = (int) bad;
    self->val_loss = val_loss;
    self->val_metric = val_metric;
    //  Checkpoints from before --metric chose by the validation loss
    if (s_meta_double (from, "best_score", &self->best_score))
        self->best_score = best_loss;
    s_restore_loss (self, from);
    //  Checkpoints from before "best_loss" kept only the last epoch's
    if (s_meta_double (from, "best_loss", &self->best_loss))
        self->best_loss = self->last_loss;
    optim_set_steps (self->optim, self->step);
    size_t count = 0;
    const float *best = model_tensor (from, "best.params", &count);
    if (!best || count != mlp_param_count (self->mlp))
        return mt_fail (cause, "%s: checkpoint lacks tensor 'best.params'", path);
    memcpy (self->best, best, count * sizeof (float));
    return s_restore_optim (self, from, path, cause);
}

//  The last completed epoch's mean loss. Checkpoints written before
//  "last_loss" existed kept that epoch's sum in "loss_sum" at an epoch
//  boundary (the running epoch's sum only mid-epoch); a stop there wrote 0,
//  which only a resume that still trains (and so replaces it) can meet.
static void
s_restore_loss (s_run_t *self, const model_t *from)
{
    double last_loss = NAN;
    if (model_meta (from, "last_loss"))
        s_meta_double (from, "last_loss", &last_loss);
    else
    if (self->epoch > 0 && self->next_batch == 0) {
        last_loss = self->loss_sum / (double) self->batches;
        self->loss_sum = 0;
    }
    self->last_loss = last_loss;
}

//  True when early stopping has ended the run: a resume from the checkpoint
//  of the epoch it stopped on has nothing left to train
static bool
s_patience_spent (const s_run_t *self)
{
    return self->n_val > 0 && self->spec->patience > 0 && self->bad_epochs >= self->spec->patience;
}

static int
s_loop (s_run_t *self, train_result_t *result, char **cause)
{
    const train_opts_t *opts = self->opts;
    self->started_s = self->report_s = self->checkpoint_s = mt_mono_s ();
    self->start_step = self->report_step = self->step;
    bool early = s_patience_spent (self);
    if (self->epoch > 0)
        result->loss = self->last_loss;     // a resume at the last epoch runs none
    while (self->epoch < self->spec->epochs && !early) {
        //  self->rng is the state before this epoch's shuffle, so a
        //  checkpoint taken mid-epoch can replay the same order
        rng_t epoch_rng = self->rng;
        memcpy (self->order, self->train, self->n_train * sizeof (uint32_t));
        if (self->spec->shuffle)
            rng_shuffle (&epoch_rng, self->order, self->n_train);
        for (int64_t b = self->next_batch; b < self->batches; b++) {
            if (opts->stop && *opts->stop) {
                self->next_batch = b;
                result->stopped = true;
                break;
            }
            if (s_step (self, b, cause))
                return -1;
        }
        if (result->stopped)
            break;
        self->rng = epoch_rng;
        self->next_batch = 0;
        self->last_loss = self->loss_sum / (double) self->batches;
        self->loss_sum = 0;
        if (s_epoch_end (self, &early, cause))
            return -1;
        result->loss = self->last_loss;
    }
    if (result->stopped && opts->checkpoint_path && s_checkpoint (self, cause))
        return -1;
    result->epochs_run = self->epoch;
    result->steps = self->step;
    result->seconds = mt_mono_s () - self->started_s;
    return 0;
}

static int
s_step (s_run_t *self, int64_t b, char **cause)
{
    size_t start = (size_t) b * (size_t) self->spec->batch_size;
    size_t left = self->n_train - start;
    int n = left < (size_t) self->batch ? (int) left : self->batch;
    s_gather (self, self->order + start, n);
    const float *out = mlp_forward (self->mlp, self->xb, n);
    float *grad = mlp_output_grad (self->mlp);
    double loss = !self->classify ? mlp_loss_mse (out, self->yb, n, 1, grad)
                : self->class_w ? mlp_loss_xent_weighted (out, self->lb, n, self->n_out,
                                                          self->class_w, grad)
                : mlp_loss_xent (out, self->lb, n, self->n_out, grad);
    if (!isfinite (loss))
        return s_diverged (self, loss, "training loss", self->step + 1, cause);
    mlp_backward (self->mlp, self->xb, n);
    double lr = optim_lr (self->spec, self->step, self->batches * self->spec->epochs);
    optim_step (self->optim, mlp_params (self->mlp), mlp_grads (self->mlp), lr);
    self->step++;
    self->loss_sum += loss;
    if (self->opts->stepped)
        self->opts->stepped (self->step, loss, self->opts->arg);
    //  The run's first step is reported at once, so a watcher sees it start
    //  without waiting out the cadence; not when it ends the epoch, whose
    //  own report follows
    bool first = self->step == self->start_step + 1 && b + 1 < self->batches;
    if (self->opts->progress
    &&  (first || (mt_mono_s () - self->report_s) * 1000.0 >= self->opts->progress_ms))
        s_report (self, false);
    return 0;
}

//  The run has diverged: say where, and what to try
static int
s_diverged (const s_run_t *self, double loss, const char *what, int64_t step, char **cause)
{
    return mt_fail (cause, "diverged: the %s became %s at epoch %d, step %" PRId64
                    " (learning rate %g); its weights are not kept: try a lower --lr, or"
                    " --schedule cosine with --warmup-steps", what, isnan (loss) ? "NaN"
                    : "infinite", self->epoch + 1, step, self->spec->lr);
}

static void
s_gather (s_run_t *self, const uint32_t *rows, int n)
{
    for (int r = 0; r < n; r++) {
        uint32_t row = rows [r];
        memcpy (self->xb + (size_t) r * self->cols, self->xs + (size_t) row * self->cols,
                self->cols * sizeof (float));
        if (self->classify)
            self->lb [r] = self->labels [row];
        else
            self->yb [r] = self->ys [row];
    }
}

//  The mean (unweighted) loss of the current weights on the given rows, in
//  one forward pass, and the task's metrics into out (classification: only
//  or METRICS_ALL, and the counts into confusion when not NULL; R^2, MAE
//  and RMSE in the target's own units, from sums taken in that pass; rows
//  is self->val or self->train, whose targets' side s_prepare measured)
static double
s_evaluate (s_run_t *self, const uint32_t *rows, size_t n, mt_metric_t only, metrics_t *out,
            int64_t *confusion)
{
    const float *scale = model_target_scale (self->model);
    int k = self->n_out;
    double loss_sum = 0, abs_sum = 0, ss_res = 0;   // regression: of |y - pred|, (y - pred)^2
    for (size_t start = 0; start < n; start += (size_t) self->batch) {
        int m = n - start < (size_t) self->batch ? (int) (n - start) : self->batch;
        s_gather (self, rows + start, m);
        const float *out_b = mlp_forward (self->mlp, self->xb, m);
        if (self->classify) {
            float *prob = self->eval_prob + start * (size_t) k;
            loss_sum += mlp_softmax_xent (out_b, self->lb, m, k, prob) * m;
            memcpy (self->eval_label + start, self->lb, (size_t) m * sizeof (int32_t));
            continue;
        }
        loss_sum += mlp_loss_mse (out_b, self->yb, m, 1, NULL) * m;
        for (int r = 0; r < m; r++) {
            double y = self->targets [rows [start + (size_t) r]];
            double d = y - (double) (out_b [r] * scale [1] + scale [0]);
            abs_sum += fabs (d);
            ss_res += d * d;
        }
    }
    if (self->classify)
        metrics_classify_with (self->work, self->eval_label, self->eval_prob, n, k,
                               (const char *const *) self->ds->classes, only, out, confusion);
    else {
        const metrics_target_t *target = rows == self->val ? &self->val_target
                                                           : &self->train_target;
        assert (target->n == n);
        metrics_regress_sums (target, abs_sum, ss_res, out);
    }
    return loss_sum / (double) n;
}

//  The targets' side of a split's regression metrics, once: its rows do
//  not change from epoch to epoch
static void
s_target (s_run_t *self, const uint32_t *rows, size_t n, metrics_target_t *out)
{
    for (size_t i = 0; i < n; i++)
        self->eval_y [i] = self->targets [rows [i]];
    metrics_regress_target (self->eval_y, n, out);
}

//  The value the best epoch is chosen by
static double
s_score (const s_run_t *self)
{
    return self->spec->metric == MT_METRIC_VAL_LOSS ? self->val_loss
         : metrics_get (&self->val_metrics, self->spec->metric);
}

static int
s_epoch_end (s_run_t *self, bool *early, char **cause)
{
    if (self->n_val > 0) {
        self->val_loss = s_evaluate (self, self->val, self->n_val, METRICS_ALL,
                                     &self->val_metrics, self->confusion);
        self->val_measured = true;
        self->val_metric = self->undefined.val_metric ? NAN
                         : metrics_get (&self->val_metrics, self->headline);
        if (!isfinite (self->val_loss))
            return s_diverged (self, self->val_loss, "validation loss", self->step, cause);
    }
    self->epoch++;
    if (self->n_val > 0) {
        double score = s_score (self);
        if (isnan (score))
            return mt_fail (cause, "train: --metric %s cannot be measured on the validation"
                            " rows (%s); choose another --metric",
                            mt_metric_name (self->spec->metric),
                            self->val_metrics.why [self->spec->metric]);
        bool higher = mt_metric_higher_better (self->spec->metric);
        if (higher ? score > self->best_score : score < self->best_score) {
            self->best_score = score;
            self->best_val_loss = self->val_loss;
            self->best_val_metric = self->val_metric;
            self->best_loss = self->last_loss;
            self->best_epoch = self->epoch;
            self->bad_epochs = 0;
            memcpy (self->best, mlp_params (self->mlp),
                    mlp_param_count (self->mlp) * sizeof (float));
            self->best_metrics = self->val_metrics;
            self->best_measured = true;
            if (self->confusion)
                memcpy (self->best_confusion, self->confusion, (size_t) self->n_out
                        * (size_t) self->n_out * sizeof (int64_t));
        }
        else
            self->bad_epochs++;
        *early = self->spec->patience > 0 && self->bad_epochs >= self->spec->patience;
    }
    if (self->opts->progress)
        s_report (self, true);
    int every = self->spec->checkpoint_every;
    if (!self->opts->checkpoint_path || every <= 0)
        return 0;
    //  Checkpoints wait out the floor, or a fast job would spend its time
    //  writing (and the broker storing) them. A multiple of every that came
    //  within the floor is written at the first epoch end after it, not at
    //  the next multiple. The last epoch's is written whenever the floor has
    //  passed, due or not; within it, it is not: the model that follows
    //  supersedes it, and should writing that fail, the retry loses no more
    //  than the floor lets a crash lose
    bool last = self->epoch == self->spec->epochs || *early;
    bool waited = (mt_mono_s () - self->checkpoint_s) * 1000.0 >= self->opts->checkpoint_min_ms;
    self->checkpoint_due |= self->epoch % every == 0;
    return waited && (last || self->checkpoint_due) ? s_checkpoint (self, cause) : 0;
}

static void
s_report (s_run_t *self, bool epoch_end)
{
    double now = mt_mono_s ();
    int64_t done = self->step - self->start_step;
    int64_t total = self->batches * self->spec->epochs;
    double rows_per_step = (double) self->n_train / (double) self->batches;
    int64_t in_epoch = epoch_end ? self->batches : self->step - (int64_t) self->epoch * self->batches;
    train_progress_t progress = {
        .epoch = self->epoch, .epochs = self->spec->epochs,
        .step = self->step, .steps = total,
        .loss = epoch_end ? self->last_loss
              : in_epoch > 0 ? self->loss_sum / (double) in_epoch : NAN,
        .val_loss = self->val_loss, .val_metric = self->val_metric,
        .metrics = epoch_end && self->val_measured ? &self->val_metrics : NULL,
        .samples_per_sec = now > self->report_s
            ? (double) (self->step - self->report_step) * rows_per_step / (now - self->report_s) : 0,
        .eta_s = done > 0 ? (now - self->started_s) / (double) done * (double) (total - self->step) : NAN,
        .epoch_end = epoch_end
    };
    self->report_s = now;
    self->report_step = self->step;
    self->opts->progress (&progress, self->opts->arg);
}

static int
s_set_meta_fmt (model_t *model, const char *key, char **cause, const char *fmt, ...)
{
    char text [256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    return model_set_meta (model, key, text, cause);
}

json_t *
train_metrics (const train_result_t *result, mt_task_t task)
{
    json_t *metrics = json_object (), *undefined = json_object ();
    const train_undefined_t *why = &result->undefined;
    //  A result not made by train_run names no metric: the task's default
    mt_metric_t headline = result->metric != MT_METRIC_VAL_LOSS ? result->metric
                         : task == MT_TASK_CLASSIFICATION ? MT_METRIC_ACCURACY : MT_METRIC_R2;
    const char *own = (unsigned) headline < METRICS_COUNT && result->val_metrics.why [headline][0]
                    ? result->val_metrics.why [headline] : NULL;
    s_metric (metrics, undefined, "loss", result->loss, why->loss);
    s_metric (metrics, undefined, "val_loss", result->val_loss, why->val_loss);
    s_metric (metrics, undefined, "val_metric", result->val_metric,
              why->val_metric ? why->val_metric : isnan (result->val_metric) ? own : NULL);
    s_metric (metrics, undefined, "train_metric", result->train_metric, why->train_metric);
    json_object_set_new (metrics, "metric", json_string (mt_metric_name (headline)));
    json_object_set_new (metrics, "best_by", json_string (mt_metric_name (result->best_by)));
    json_object_set_new (metrics, "best_epoch", json_integer (result->best_epoch));
    if (json_object_size (undefined) > 0)
        json_object_set (metrics, "undefined", undefined);
    json_decref (undefined);
    json_t *val = json_object ();
    metrics_to_json (&result->val_metrics, val);
    if (result->n_classes > 0 && result->n_classes <= TRAIN_MAX_CONFUSION)
        json_object_set_new (val, "confusion",
                             metrics_confusion_json (result->confusion, result->n_classes));
    json_object_set_new (metrics, "val_metrics", val);
    return metrics;
}

//  key: value, or null with its reason in undefined (a value that is not
//  finite and has none is given the divergence's)
static void
s_metric (json_t *metrics, json_t *undefined, const char *key, double value, const char *why)
{
    if (!why && !isfinite (value))
        why = S_NOT_FINITE;
    json_object_set_new (metrics, key, why ? json_null () : json_real (value));
    if (why)
        json_object_set_new (undefined, key, json_string (why));
}

//  The metrics object as JSON text in metadata "metrics"
static int
s_set_metrics (s_run_t *self, const train_result_t *result, char **cause)
{
    json_t *metrics = train_metrics (result, self->spec->task);
    char *text = json_dumps (metrics, JSON_COMPACT | JSON_REAL_PRECISION (9));
    json_decref (metrics);
    int rc = model_set_meta (self->model, "metrics", text ? text : "{}", cause);
    free (text);
    return rc;
}

static int
s_checkpoint_tensors (s_run_t *self, char **cause)
{
    char name [80], param [32];
    for (int i = 0; i < optim_state_count (self->optim); i++)
        for (int l = 0; l < mlp_layers (self->mlp); l++)
            for (int bias = 0; bias < 2; bias++) {
                model_param_name (l, bias, param, sizeof param);
                snprintf (name, sizeof name, "optim.%s.%s", param,
                          optim_state_name (self->optim, i));
                int64_t shape [2] = { mlp_layer_out (self->mlp, l), mlp_layer_in (self->mlp, l) };
                size_t off = bias ? mlp_bias_offset (self->mlp, l) : mlp_weight_offset (self->mlp, l);
                if (model_set_tensor (self->model, name, optim_state (self->optim, i) + off,
                                      shape, bias ? 1 : 2, cause))
                    return -1;
            }
    int64_t n = (int64_t) mlp_param_count (self->mlp);
    return model_set_tensor (self->model, "best.params", self->best, &n, 1, cause);
}

//  The metrics a checkpoint carries: the running epoch's loss, the last
//  validation, and no training metric (measured when training ends)
static train_result_t
s_checkpoint_result (const s_run_t *self, double running)
{
    const train_undefined_t *split = &self->undefined;
    const char *no_val = isfinite (self->val_loss) ? NULL : S_NO_EPOCH;
    train_result_t result = {
        .loss = running, .val_loss = self->val_loss, .val_metric = self->val_metric,
        .train_metric = NAN, .best_epoch = self->best_epoch,
        .metric = self->headline, .best_by = self->spec->metric,
        .undefined = {
            .loss = isfinite (running) ? NULL : S_RUNNING_LOSS,
            .val_loss = split->val_loss ? split->val_loss : no_val,
            .val_metric = split->val_metric ? split->val_metric : no_val,
            .train_metric = S_AT_CHECKPOINT
        }
    };
    if (self->val_measured)
        result.val_metrics = self->val_metrics;
    else
        metrics_undefined (&result.val_metrics, self->spec->task, split->val_loss ? split->val_loss
                           : S_NO_EPOCH);
    return result;
}

static int
s_checkpoint (s_run_t *self, char **cause)
{
    model_t *m = self->model;
    const uint64_t *s = self->rng.s;
    model_clear_extras (m);
    double running = self->next_batch > 0 ? self->loss_sum / (double) self->next_batch : NAN;
    train_result_t now = s_checkpoint_result (self, running);
    if (s_set_meta_fmt (m, "checkpoint", cause, "1")
    ||  s_set_meta_fmt (m, "epoch", cause, "%d", self->epoch)
    ||  s_set_meta_fmt (m, "step", cause, "%" PRId64, self->step)
    ||  s_set_meta_fmt (m, "batch", cause, "%" PRId64, self->next_batch)
    ||  s_set_meta_fmt (m, "loss_sum", cause, "%a", self->loss_sum)
    ||  s_set_meta_fmt (m, "last_loss", cause, "%a", self->last_loss)
    ||  s_set_meta_fmt (m, "best_val_loss", cause, "%a", self->best_val_loss)
    ||  s_set_meta_fmt (m, "best_val_metric", cause, "%a", self->best_val_metric)
    ||  s_set_meta_fmt (m, "best_loss", cause, "%a", self->best_loss)
    ||  s_set_meta_fmt (m, "best_score", cause, "%a", self->best_score)
    ||  s_set_meta_fmt (m, "best_epoch", cause, "%d", self->best_epoch)
    ||  s_set_meta_fmt (m, "bad_epochs", cause, "%d", self->bad_epochs)
    ||  s_set_meta_fmt (m, "val_loss", cause, "%a", self->val_loss)
    ||  s_set_meta_fmt (m, "val_metric", cause, "%a", self->val_metric)
    ||  s_set_meta_fmt (m, "rng", cause, "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64,
                        s [0], s [1], s [2], s [3])
    ||  s_set_metrics (self, &now, cause)
    ||  s_checkpoint_tensors (self, cause)
    ||  model_save (m, self->opts->checkpoint_path, cause))
        return -1;
    self->checkpoint_s = mt_mono_s ();
    self->checkpoint_due = false;
    if (self->opts->checkpointed)
        self->opts->checkpointed (self->opts->checkpoint_path, self->epoch, self->opts->arg);
    return 0;
}

static int
s_save_final (s_run_t *self, const char *path, train_result_t *result, char **cause)
{
    bool keep_best = self->spec->patience > 0 && self->n_val > 0 && self->best_epoch > 0;
    if (keep_best) {
        memcpy (mlp_params (self->mlp), self->best, mlp_param_count (self->mlp) * sizeof (float));
        result->val_loss = self->best_val_loss;
        result->val_metric = self->best_val_metric;
        result->loss = self->best_loss;     // the kept epoch's, as its val_* are
    }
    else {
        self->best_epoch = self->epoch;
        result->val_loss = self->val_loss;
        result->val_metric = self->val_metric;
    }
    result->best_epoch = self->best_epoch;
    if (self->n_val > 0)
        s_final_val (self, keep_best, result);
    metrics_t on_train;
    s_evaluate (self, self->train, self->n_train, self->headline, &on_train, NULL);
    result->train_metric = self->undefined.train_metric ? NAN
                         : metrics_get (&on_train, self->headline);
    model_t *m = self->model;
    model_clear_extras (m);
    if (s_set_meta_fmt (m, "epoch", cause, "%d", self->epoch)
    ||  s_set_meta_fmt (m, "weights_epoch", cause, "%d", self->best_epoch)
    ||  s_set_meta_fmt (m, "step", cause, "%" PRId64, self->step)
    ||  s_set_metrics (self, result, cause))
        return -1;
    if (!path)
        return 0;
    return self->opts->model_in_place ? model_save_in_place (m, path, cause)
                                      : model_save (m, path, cause);
}

//  The validation metrics of the epoch the kept weights are from: as that
//  epoch's end measured them, or (that epoch was before a resume) measured
//  again
static void
s_final_val (s_run_t *self, bool keep_best, train_result_t *result)
{
    bool known = keep_best ? self->best_measured : self->val_measured;
    int64_t *confusion = keep_best ? self->best_confusion : self->confusion;
    if (known)
        result->val_metrics = keep_best ? self->best_metrics : self->val_metrics;
    else
        s_evaluate (self, self->val, self->n_val, METRICS_ALL, &result->val_metrics, confusion);
    if (confusion) {
        result->n_classes = self->n_out;
        memcpy (result->confusion, confusion,
                (size_t) self->n_out * (size_t) self->n_out * sizeof (int64_t));
    }
}

static void
s_destroy (s_run_t *self)
{
    model_destroy (&self->model);
    optim_destroy (&self->optim);
    free (self->train);
    free (self->val);
    free (self->order);
    free (self->xs);
    free (self->ys);
    free (self->xb);
    free (self->yb);
    free (self->lb);
    free (self->best);
    free (self->all_labels);
    free (self->all_targets);
    free (self->class_w);
    free (self->eval_prob);
    free (self->eval_label);
    free (self->eval_y);
    metrics_work_destroy (&self->work);
    free (self->confusion);
    free (self->best_confusion);
}
