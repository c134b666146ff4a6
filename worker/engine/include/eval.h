/*  eval - a model's metrics on a labelled data file, as sklearn.metrics computes them  */
#ifndef MT_EVAL_H_INCLUDED
#define MT_EVAL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "encode.h"
#include "metrics.h"
#include "model.h"

//  What evaluating a model on a file found. Plain record; eval_result_clear
//  frees what it holds.
typedef struct {
    mt_task_t task;
    size_t rows;                // rows measured
    size_t rows_skipped;        // rows left out because their target was missing
    encode_counts_t counts;     // unseen categories and imputed values in the features
    metrics_t metrics;          // the task's metrics (metrics.h)
    int n_classes;              // classification: the model's classes, 0 for regression
    int64_t *confusion;         // n_classes x n_classes, rows true, columns predicted
} eval_result_t;

//  Evaluate model (borrowed, loaded by the caller with model_load) on the
//  labelled file at data_path: its raw feature columns are encoded by the
//  model's plan, its target column (the model's) read as the model's
//  classes or numbers. A row whose target is missing is skipped and
//  counted; a class the model does not know is an error naming its line
//  (sklearn's log_loss and roc_auc_score refuse such labels too). Fills
//  *out, which the caller clears with eval_result_clear. Returns 0, or -1
//  with *cause (caller frees) naming the file and the problem.
int eval_run (const model_t *model, const char *data_path, eval_result_t *out, char **cause);

//  Free what *self holds and zero it; safe twice.
void eval_result_clear (eval_result_t *self);

//  The result as a JSON object: task, target, rows,
//  rows_skipped_missing_target, unseen_categories, imputed_values,
//  metrics (as metrics_to_json makes them, with "undefined"), and for
//  classification classes and confusion. A new reference, NULL when out of
//  memory.
json_t *eval_to_json (const eval_result_t *self, const model_t *model);

#endif
