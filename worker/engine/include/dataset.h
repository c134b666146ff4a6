/*  dataset - a CSV or JSONL table read into float features and a target  */
#ifndef MT_DATASET_H_INCLUDED
#define MT_DATASET_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "mt/spec.h"
#include "encode.h"

#define DATASET_MAX_LINE (1 << 20)   // bytes in one CSV record or JSONL line
#define DATASET_MAX_CLASSES 65536   // distinct classes in a classification target
//  Bytes dataset_columns reads at most: the longest record, with room for a
//  byte order mark, blank lines and a line end.
#define DATASET_MAX_HEAD (DATASET_MAX_LINE + 65536)

//  What to read from a table.
typedef struct {
    mt_format_t format;         // csv, jsonl, or auto (by extension, then content)
    const char *target;         // target column; NULL = no target (predict)
    const char *const *features;// feature columns in order; NULL = all but target
    int n_features;
    mt_task_t task;             // how to read the target
    const char *const *classes; // classification: use exactly these class names
    int n_classes;              //   (a model's), 0 = collect from the data
    //  Column kinds and missing values, when the plan is inferred (training)
    const char *const *categorical;     // read as categories whatever they hold
    int n_categorical;
    const char *const *numeric;         // must hold numbers (or missing values)
    int n_numeric;
    const char *const *ignore;          // left out (with features NULL)
    int n_ignore;
    const char *const *na_values;       // missing-value tokens; NULL = the default set
    int n_na_values;
    int max_categories;                 // kept levels per column; 0 = 64
    bool missing_target_error;          // a row without a target is an error, not skipped
    const encode_t *plan;               // apply this plan (a model's: predict, eval)
                                        //   instead of inferring one; features unused
} dataset_opts_t;

//  A loaded table: the encoded inputs the plan makes of its raw columns.
//  Plain record; dataset_destroy frees it.
typedef struct {
    size_t rows;
    size_t cols;                // encoded inputs (the plan's width)
    float *x;                   // rows x cols, row-major
    float *y;                   // rows; regression target, NULL without target
    int32_t *label;             // rows; class index, classification only
    char **feature_names;       // cols names of the encoded inputs, in order
    char *target_name;          // NULL without target
    mt_task_t task;
    char **classes;             // n_classes names, sorted (numerically when all
    int n_classes;              //   are integers, else bytewise)
    encode_t *plan;             // how the raw columns became x: inferred, or opts->plan's copy
    char **raw_names;           // n_raw names of the raw columns read, the plan's order
    int n_raw;
    size_t rows_skipped;        // rows left out because their target was missing
    char **warnings;            // n_warnings messages (a column left out as an id)
    int n_warnings;
    encode_counts_t counts;     // unseen categories and imputed values (with opts->plan)
} dataset_t;

//  The options a training spec gives (borrowing its strings).
void dataset_opts_from_spec (dataset_opts_t *opts, const mt_spec_t *spec);

//  Read path. Without opts->plan, each feature column's kind is inferred
//  from its rows (numeric when every value that is not missing is a
//  number, else categorical, unless opts force it), and a plan is made (see
//  encode.h); a categorical column whose values are all distinct is left
//  out with a warning, unless opts->categorical names it. Rows whose
//  target is missing are skipped and counted. Returns a new dataset the
//  caller destroys, or NULL with *cause naming the file, line and column,
//  e.g. "data.csv:14: column 'x': 'abc' is not a number".
dataset_t *dataset_load (const char *path, const dataset_opts_t *opts, char **cause);

//  Read path as a job of spec trains on it: dataset_load with the options
//  dataset_opts_from_spec gives. Returns a new dataset, or NULL with *cause.
dataset_t *dataset_load_spec (const char *path, const mt_spec_t *spec, char **cause);

//  Same, from memory (name is used in messages).
dataset_t *dataset_load_buffer (const char *name, const char *data, size_t len,
                                const dataset_opts_t *opts, char **cause);

void dataset_destroy (dataset_t **self_p);

//  A table's columns, as its head gives them. Plain record;
//  dataset_columns_destroy frees it.
typedef struct {
    mt_format_t format;         // the format the file is read in: csv or jsonl, never auto
    char **names;               // count column names, in the file's order
    size_t count;
} dataset_columns_t;

//  The columns of the file at path, from its head only: a CSV's first
//  record, or the keys of a JSONL file's first object, found and checked as
//  dataset_load finds and checks them (format auto settled the same way:
//  by the name's extension, .csv, .jsonl or .ndjson, else by the first byte
//  that is not a space, '{' being JSONL). Reads DATASET_MAX_HEAD bytes at
//  most and only until the header ends: a pipe is not read to its end.
//  Returns a new record the caller destroys, or NULL with *cause naming the
//  file as dataset_load's do ("d.csv: empty file (no header row)").
dataset_columns_t *dataset_columns (const char *path, mt_format_t format, char **cause);
void dataset_columns_destroy (dataset_columns_t **self_p);

#endif
