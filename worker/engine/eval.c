/*  eval - a model's metrics on a labelled data file, as sklearn.metrics computes them  */
//  The file is read and encoded by predict_dataset with the model's target
//  and classes, so eval sees exactly the inputs predict would; the model's
//  outputs then go to the metrics module: class probabilities (softmax)
//  with the labels, or predictions in the target's units with the target.
#include <stdlib.h>
#include <string.h>
#include "mt/util.h"
#include "dataset.h"
#include "eval.h"
#include "fpenv.h"
#include "metrics.h"
#include "predict.h"

static int s_classify (const model_t *model, const dataset_t *ds, const float *out,
                       eval_result_t *result, char **cause);
static int s_regress (const dataset_t *ds, const float *out, eval_result_t *result,
                      char **cause);

int
eval_run (const model_t *model, const char *data_path, eval_result_t *out, char **cause)
{
    int n_classes = 0;
    model_classes (model, &n_classes);
    eval_result_t result = { .task = model_task (model) };
    float *pred = NULL;
    int rc = -1;
    dataset_t *ds = predict_dataset (model, data_path, true, cause);
    if (!ds)
        goto done;
    size_t n_out = n_classes > 0 ? (size_t) n_classes : 1;
    pred = malloc ((ds->rows ? ds->rows : 1) * n_out * sizeof (float));
    if (!pred) {
        mt_fail (cause, "eval: out of memory for %zu rows", ds->rows);
        goto done;
    }
    uint32_t saved = fpenv_fast ();     // FTZ/DAZ as in training (fpenv.h)
    int failed = model_predict (model, ds->x, ds->rows, pred, cause);
    fpenv_restore (saved);
    if (failed)
        goto done;
    result.rows = ds->rows;
    result.rows_skipped = ds->rows_skipped;
    result.counts = ds->counts;
    rc = result.task == MT_TASK_CLASSIFICATION ? s_classify (model, ds, pred, &result, cause)
                                               : s_regress (ds, pred, &result, cause);
done:
    if (rc == 0)
        *out = result;
    else
        eval_result_clear (&result);
    free (pred);
    dataset_destroy (&ds);
    return rc;
}

//  The labels are the model's class ids: dataset_load read them with the
//  model's class list
static int
s_classify (const model_t *model, const dataset_t *ds, const float *out, eval_result_t *result,
            char **cause)
{
    int k = 0;
    const char *const *classes = model_classes (model, &k);
    result->n_classes = k;
    result->confusion = calloc ((size_t) k * (size_t) k, sizeof (int64_t));
    if (!result->confusion
    ||  metrics_classify (ds->label, out, ds->rows, k, classes, &result->metrics,
                          result->confusion))
        return mt_fail (cause, "eval: out of memory for %d classes", k);
    return 0;
}

static int
s_regress (const dataset_t *ds, const float *out, eval_result_t *result, char **cause)
{
    size_t n = ds->rows ? ds->rows : 1;
    double *y = malloc (n * sizeof (double));
    double *pred = malloc (n * sizeof (double));
    if (!y || !pred) {
        free (y);
        free (pred);
        return mt_fail (cause, "eval: out of memory for %zu rows", ds->rows);
    }
    for (size_t r = 0; r < ds->rows; r++) {
        y [r] = (double) ds->y [r];
        pred [r] = (double) out [r];
    }
    metrics_regress (y, pred, ds->rows, &result->metrics);
    free (y);
    free (pred);
    return 0;
}

void
eval_result_clear (eval_result_t *self)
{
    free (self->confusion);
    memset (self, 0, sizeof *self);
}

json_t *
eval_to_json (const eval_result_t *self, const model_t *model)
{
    json_t *root = json_object ();
    json_t *metrics = json_object ();
    if (!root || !metrics) {
        json_decref (root);
        json_decref (metrics);
        return NULL;
    }
    json_object_set_new (root, "task", json_string (mt_task_name (self->task)));
    json_object_set_new (root, "target", json_string (model_target (model)));
    json_object_set_new (root, "rows", json_integer ((json_int_t) self->rows));
    json_object_set_new (root, "rows_skipped_missing_target",
                         json_integer ((json_int_t) self->rows_skipped));
    json_object_set_new (root, "unseen_categories",
                         json_integer ((json_int_t) self->counts.unseen));
    json_object_set_new (root, "imputed_values",
                         json_integer ((json_int_t) self->counts.imputed));
    metrics_to_json (&self->metrics, metrics);
    json_object_set_new (root, "metrics", metrics);
    if (self->n_classes > 0) {
        int k = 0;
        const char *const *classes = model_classes (model, &k);
        json_t *names = json_array ();
        for (int c = 0; c < k; c++)
            json_array_append_new (names, json_string (classes [c]));
        json_object_set_new (root, "classes", names);
        json_object_set_new (root, "confusion", metrics_confusion_json (self->confusion, k));
    }
    return root;
}
