/*  encode - the encoding plan: how raw columns (numbers, text, missing values) become model inputs  */
#ifndef MT_ENCODE_H_INCLUDED
#define MT_ENCODE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENCODE_MAX_WIDTH       65536    // encoded inputs at most
#define ENCODE_MAX_CATEGORIES  65536    // kept levels of one column at most
#define ENCODE_MAX_NA          64       // missing-value tokens at most
#define ENCODE_DEFAULT_MAX_CATEGORIES 64
#define ENCODE_OTHER   "(other)"        // the level of capped and unseen categories
#define ENCODE_MISSING "(missing)"      // the level (or indicator) of missing values

typedef enum { ENCODE_NUMERIC = 0, ENCODE_CATEGORICAL = 1 } encode_kind_t;

//  What applying a plan to raw rows mapped: values not in the training
//  rows' categories (sent to the (other) level) and missing values filled
//  in (a numeric column's median, or a categorical column's (other) level
//  when its training rows had no missing value).
typedef struct {
    size_t unseen;              // categories
    size_t imputed;             // values
} encode_counts_t;

//  A plan: raw columns in order, each with its kind and its outputs. Per
//  column, a numeric one gives its value (a missing one: the median) and,
//  when its training rows had missing values, a 0/1 indicator after it; a
//  categorical one gives one 0/1 output per kept category (sorted:
//  numerically when all are numbers, else bytewise), then (missing) when
//  its training rows had missing values, then (other).
typedef struct encode_t encode_t;

//  A new, empty plan whose missing-value tokens are na (n_na of them), or
//  the default set ("", NA, N/A, NaN, null, ?) when na is NULL. Returns the
//  plan the caller destroys, or NULL with *cause.
encode_t *encode_new (const char *const *na, int n_na, char **cause);
void encode_destroy (encode_t **self_p);

//  A deep copy the caller destroys, or NULL with *cause (out of memory, or
//  a plan its own JSON reader refuses).
encode_t *encode_dup (const encode_t *self, char **cause);

//  Append a numeric column: median of the count values (its training
//  rows' values that are not missing), an indicator output when
//  indicator. A column with no value gets median 0. Returns 0 or -1.
int encode_add_numeric (encode_t *self, const char *name, const float *values, size_t count,
                        bool indicator, char **cause);

//  The median of each column j of a row-major table (rows rows of stride
//  floats; NAN is a missing value, left out) where numeric [j], as
//  encode_add_numeric computes it (0 for a column without a value), into
//  medians [j] (stride of them; 0 where !numeric [j]). Large tables are
//  read in one pass for all columns. Returns 0, or -1 when out of memory.
int encode_medians (const float *table, size_t rows, size_t stride, const bool *numeric,
                    float *medians);

//  Append a numeric column that has no imputation (models written before
//  plans existed): a missing value in it is an error when applied.
int encode_add_legacy (encode_t *self, const char *name, char **cause);

//  Append a categorical column from its distinct values (n, each with its
//  count of training rows): the max_categories most frequent are kept
//  (ties: bytewise first), the rest go to (other); missing adds the
//  (missing) level. A value spelled (other) or (missing) is that level, not
//  a category ((missing) adds the level). Values must be valid UTF-8
//  without NUL; any other byte, control characters too, is kept. Returns 0
//  or -1.
int encode_add_categorical (encode_t *self, const char *name, const char *const *values,
                            const size_t *counts, int n, bool missing, int max_categories,
                            char **cause);

//  Sizes and names. Borrowed strings, valid while the plan lives.
size_t encode_width (const encode_t *self);
int encode_columns (const encode_t *self);
const char *encode_column_name (const encode_t *self, int col);
encode_kind_t encode_column_kind (const encode_t *self, int col);
size_t encode_column_offset (const encode_t *self, int col);
//  A numeric column's median (NAN for a legacy column).
float encode_column_median (const encode_t *self, int col);
//  A categorical column's kept categories.
const char *const *encode_column_categories (const encode_t *self, int col, int *count);

//  The name of each encoded input, width of them ("age", "age=(missing)",
//  "sex=female", "sex=(other)"). A new list the caller frees with
//  encode_names_free, or NULL when out of memory.
char **encode_names (const encode_t *self);
void encode_names_free (char **names, size_t count);

//  True when the len bytes at s are one of the plan's missing-value tokens.
bool encode_is_na (const encode_t *self, const char *s, size_t len);

//  Write column col's outputs into row (the whole encoded row, width
//  floats, zeroed by the caller) for a number, a missing value, or a
//  category (categorical columns). A missing value in a legacy column
//  returns -1; every other call returns 0.
void encode_put_number (const encode_t *self, int col, float value, float *row);
int encode_put_missing (const encode_t *self, int col, float *row, encode_counts_t *counts);
void encode_put_category (const encode_t *self, int col, const char *s, size_t len, float *row,
                          encode_counts_t *counts);

//  The level (0-based, within the column's outputs) category s has in col,
//  the (other) level when it is not kept; the text (missing) is the
//  (missing) level when the column has one, and (other) the (other) level.
int encode_level (const encode_t *self, int col, const char *s, size_t len);

//  The plan as compact JSON text (the safetensors metadata "plan"):
//  {"width": W, "na_values": [...], "columns": [{"name", "kind", "offset",
//  "width", and "median", "indicator" (numeric) or "categories",
//  "missing" (categorical)}]}. The caller frees it; NULL when out of memory.
char *encode_to_json (const encode_t *self);

//  Parse and check such text (every field, every offset). Returns a new
//  plan the caller destroys, or NULL with *cause saying what is wrong.
encode_t *encode_from_json (const char *text, size_t len, char **cause);

#endif
