/*  predict - apply a model file to a data file and write the predictions as CSV  */
#ifndef MT_PREDICT_H_INCLUDED
#define MT_PREDICT_H_INCLUDED

//  Load the model at model_path, read its feature columns (by name; other
//  columns are ignored) from data_path, and write CSV to out_path
//  (atomically) or to stdout when out_path is NULL: a "prediction" column
//  for regression (in the target's units), or "label" (the most probable
//  class) then "p_<class>" per class for classification; floats as %.9g.
//  Returns 0, or -1 with *cause (caller frees) naming the file and problem.
int predict_run (const char *model_path, const char *data_path, const char *out_path,
                 char **cause);

#endif
