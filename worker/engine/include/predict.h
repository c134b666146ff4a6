/*  predict - apply a model to a data file and write the predictions as CSV or JSON  */
#ifndef MT_PREDICT_H_INCLUDED
#define MT_PREDICT_H_INCLUDED

#include <stdbool.h>
#include "dataset.h"
#include "model.h"

typedef enum { PREDICT_CSV, PREDICT_JSON } predict_format_t;

//  Apply model (borrowed; loaded by the caller with model_load): read its
//  feature columns (by name; other columns are ignored) from data_path, and
//  write CSV to out_path
//  (an output file as mt_output_new means it) or to stdout when out_path is NULL: a "prediction" column
//  for regression (in the target's units), or "label" (the most probable
//  class) then "p_<class>" per class for classification; floats as %.9g.
//  PREDICT_JSON writes {"columns": [the CSV's header], "predictions": [one
//  list per row], "unseen_categories": N, "imputed_values": N} instead (a
//  value that is not finite as null). The raw columns are read by name and
//  encoded by the model's plan; when it mapped unseen categories or imputed
//  missing values, a line on stderr says how many.
//  Returns 0, or -1 with *cause (caller frees) naming the file and problem.
//  The raw columns of data_path encoded by model's plan (model borrowed):
//  the dataset (with the model's target and classes when with_target, for
//  eval) and its counts of unseen categories and imputed values. Returns a
//  new dataset the caller destroys, or NULL with *cause.
dataset_t *predict_dataset (const model_t *model, const char *data_path, bool with_target,
                            char **cause);

int predict_run (const model_t *model, const char *data_path, const char *out_path,
                 predict_format_t format, char **cause);

#endif
