/*  dataset - a CSV or JSONL table read into float features and a target  */
#ifndef MT_DATASET_H_INCLUDED
#define MT_DATASET_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "mt/spec.h"

#define DATASET_MAX_LINE (1 << 20)   // bytes in one CSV record or JSONL line
#define DATASET_MAX_CLASSES 65536   // distinct classes in a classification target

//  What to read from a table.
typedef struct {
    mt_format_t format;         // csv, jsonl, or auto (by extension, then content)
    const char *target;         // target column; NULL = no target (predict)
    const char *const *features;// feature columns in order; NULL = all but target
    int n_features;
    mt_task_t task;             // how to read the target
    const char *const *classes; // classification: use exactly these class names
    int n_classes;              //   (a model's), 0 = collect from the data
} dataset_opts_t;

//  A loaded table. Plain record; dataset_destroy frees it.
typedef struct {
    size_t rows;
    size_t cols;                // feature count
    float *x;                   // rows x cols, row-major
    float *y;                   // rows; regression target, NULL without target
    int32_t *label;             // rows; class index, classification only
    char **feature_names;       // cols names, in order
    char *target_name;          // NULL without target
    mt_task_t task;
    char **classes;             // n_classes names, sorted (numerically when all
    int n_classes;              //   are integers, else bytewise)
} dataset_t;

//  Read path. Returns a new dataset the caller destroys, or NULL with *cause
//  naming the file, line and column, e.g.
//  "data.csv:14: column 'x': 'abc' is not a number".
dataset_t *dataset_load (const char *path, const dataset_opts_t *opts, char **cause);

//  Same, from memory (name is used in messages).
dataset_t *dataset_load_buffer (const char *name, const char *data, size_t len,
                                const dataset_opts_t *opts, char **cause);

void dataset_destroy (dataset_t **self_p);

//  The format MT_FORMAT_AUTO settles on for a file called name that starts
//  with data: by the name's extension (.csv; .jsonl, .ndjson), else by the
//  first byte that is not a space ('{' is JSONL, anything else CSV), after a
//  byte order mark. MT_FORMAT_AUTO when neither decides yet (data holds
//  spaces only): a reader with the whole file takes that as CSV.
mt_format_t dataset_format (const char *name, const char *data, size_t len);

#endif
