/*  spec - the training spec of a job: its fields, defaults and limits; its one parser and writer  */
#ifndef MT_SPEC_H_INCLUDED
#define MT_SPEC_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define MT_SPEC_MAX_HIDDEN     16       // hidden layers at most
#define MT_SPEC_MAX_WIDTH      65536    // units in one layer at most
#define MT_SPEC_MAX_FEATURES   10000    // named feature columns at most
#define MT_SPEC_MAX_NAME       128      // bytes in a job name
#define MT_SPEC_MAX_COLUMN     256      // bytes in a column name
#define MT_SPEC_MAX_PATH       4096     // bytes in --data-path
#define MT_SPEC_MAX_EPOCHS     1000000
#define MT_SPEC_MAX_BATCH      1048576
#define MT_SPEC_MAX_JSON       (1 << 20) // bytes in a spec's JSON form
#define MT_HASH_HEX            64        // a SHA-256 as lower-case hex
#define MT_SPEC_MAX_CLASS_WEIGHTS 65536  // named class weights at most
#define MT_SPEC_MAX_CLASS_WEIGHT  1e6    // the largest class weight

typedef enum { MT_TASK_REGRESSION = 0, MT_TASK_CLASSIFICATION = 1 } mt_task_t;
typedef enum { MT_ACT_RELU = 0, MT_ACT_TANH = 1, MT_ACT_SIGMOID = 2 } mt_act_t;
typedef enum { MT_OPT_SGD = 0, MT_OPT_ADAM = 1, MT_OPT_ADAMW = 2 } mt_opt_t;
typedef enum { MT_SCHEDULE_CONSTANT = 0, MT_SCHEDULE_COSINE = 1 } mt_schedule_t;
typedef enum { MT_FORMAT_AUTO = 0, MT_FORMAT_CSV = 1, MT_FORMAT_JSONL = 2 } mt_format_t;
//  What early stopping and the best epoch use: the validation loss (the
//  default), or one validation metric (classification: accuracy ..
//  roc_auc; regression: r2 .. rmse). log_loss, mae, rmse: lower is better.
typedef enum {
    MT_METRIC_VAL_LOSS = 0, MT_METRIC_ACCURACY, MT_METRIC_BALANCED_ACCURACY, MT_METRIC_F1_MACRO,
    MT_METRIC_LOG_LOSS, MT_METRIC_ROC_AUC, MT_METRIC_R2, MT_METRIC_MAE, MT_METRIC_RMSE
} mt_metric_t;

//  One class's weight in the loss, by the class's name.
typedef struct {
    char *name;                 // a class of the target column
    double weight;              // > 0, at most MT_SPEC_MAX_CLASS_WEIGHT
} mt_class_weight_t;
typedef enum { MT_MISSING_TARGET_SKIP = 0, MT_MISSING_TARGET_ERROR = 1 } mt_missing_target_t;

#define MT_SPEC_MAX_NA_VALUES  64       // missing-value tokens at most
#define MT_SPEC_MAX_CATEGORIES 65536    // --max-categories at most

//  A training spec. Strings are owned by the spec (mt_spec_clear frees them).
typedef struct {
    char *name;                 // job name, may be NULL
    char data_hash [MT_HASH_HEX + 1];   // uploaded dataset, "" when data_path is used
    char *data_path;            // a file every worker reads directly, or NULL
    char *data_name;            // the uploaded file's name, for messages; may be NULL
    mt_format_t format;         // csv or jsonl; auto = by file name, then content
    char *target;               // target column name
    char **features;            // feature column names, NULL = all but the target
    int n_features;
    mt_task_t task;
    int hidden [MT_SPEC_MAX_HIDDEN];    // units per hidden layer
    int n_hidden;               // 0 = a linear (or logistic) model
    mt_act_t activation;
    mt_opt_t optimizer;
    double lr;                  // learning rate, > 0
    double momentum;            // sgd only, [0, 1)
    bool nesterov;              // sgd only, needs momentum > 0
    double weight_decay;        // >= 0
    double beta1, beta2;        // adam and adamw, [0, 1)
    double eps;                 // adam and adamw, > 0
    mt_schedule_t schedule;
    int64_t warmup_steps;       // linear warm-up from lr/warmup to lr, steps; 0 = none
    int batch_size;             // rows per step
    int epochs;
    uint64_t seed;
    double val_split;           // fraction of rows held out, [0, 0.9]
    bool shuffle;               // reshuffle rows every epoch
    int patience;               // epochs without val improvement before stopping; 0 = off
    //  Class weights, the metric, the validation rows
    bool class_weight_balanced; // class_weight "balanced": class c weighs n / (k count_c)
    mt_class_weight_t *class_weights;   // class_weight {class: weight}, others 1; NULL = none
    int n_class_weights;
    mt_metric_t metric;         // what early stopping and the best epoch use
    char val_data_hash [MT_HASH_HEX + 1];   // a fixed validation file (uploaded), "" = a split
    char *val_data_name;        // that file's name, for messages; may be NULL
    bool stratify;              // the validation split keeps the class proportions
    char init_hash [MT_HASH_HEX + 1];   // warm start from this uploaded model, "" = none
    int checkpoint_every;       // epochs between checkpoints; 0 = only on stop
    int priority;               // higher runs first, [-1000, 1000]
    int max_retries;            // attempts after the first, [0, 100]
    int64_t time_limit_s;       // wall clock for the whole job, s; 0 = none
    //  Column kinds and missing values (the encoding plan's inputs)
    char **categorical;         // columns read as categories whatever they hold; NULL = none
    int n_categorical;
    char **numeric;             // columns that must be numbers; NULL = none
    int n_numeric;
    char **ignore;              // columns left out; NULL = none
    int n_ignore;
    char **na_values;           // missing-value tokens; NULL = "", NA, N/A, NaN, null, ?
    int n_na_values;
    int max_categories;         // kept levels per categorical column, >= 1 (default 64)
    mt_missing_target_t on_missing_target;  // skip (default) or error
} mt_spec_t;

//  Fill a spec with the defaults (Adam, lr 0.01, batch 16, 100 epochs, ...).
void mt_spec_init (mt_spec_t *spec);

//  Free the strings a spec owns and reset it to the defaults.
void mt_spec_clear (mt_spec_t *spec);

//  Deep-copy src into dst (dst is overwritten, not freed). Returns 0 or -1.
int mt_spec_copy (mt_spec_t *dst, const mt_spec_t *src);

//  Check every field's range. Returns 0, or -1 with *cause (caller frees)
//  naming the field, e.g. "lr must be positive and finite (got -1)". Names
//  and paths hold no control character (0x00 to 0x1f, 0x7f).
int mt_spec_validate (const mt_spec_t *spec, char **cause);

//  The spec as a new JSON object: every field, defaults included (name,
//  data_hash, data_path, data_name, target, features, init_hash, categorical,
//  numeric, ignore, na_values, class_weight, metric, val_data_hash, val_data_name
//  and stratify only when
//  set), in the order of mt_spec_t. The caller owns it (json_decref). NULL
//  on allocation failure.
json_t *mt_spec_to_value (const mt_spec_t *spec);

//  The same as compact JSON text (mt_spec_to_value, dumped with reals at 17
//  digits); the caller frees the string. NULL on allocation failure.
char *mt_spec_to_json (const mt_spec_t *spec);

//  Parse a JSON object into spec (which is mt_spec_init'ed first); missing
//  fields keep their defaults, unknown fields and wrong types are errors, and
//  so is a control character (NUL included: a string's length counts, not
//  strlen) in any string or field name, named with its byte and offset.
//  Validates. Returns 0, or -1 with *cause (caller frees).
int mt_spec_from_json (mt_spec_t *spec, const char *json, char **cause);
//  The same from a parsed JSON object (borrowed).
int mt_spec_from_value (mt_spec_t *spec, json_t *root, char **cause);

//  Names of enum values, as used in JSON and on the command line, and back.
//  The parsers return 0 or -1 for an unknown name.
const char *mt_task_name (mt_task_t task);
const char *mt_act_name (mt_act_t act);
const char *mt_opt_name (mt_opt_t opt);
const char *mt_schedule_name (mt_schedule_t schedule);
const char *mt_format_name (mt_format_t format);
const char *mt_metric_name (mt_metric_t metric);
const char *mt_missing_target_name (mt_missing_target_t what);
int mt_task_parse (const char *name, mt_task_t *task);
int mt_act_parse (const char *name, mt_act_t *act);
int mt_opt_parse (const char *name, mt_opt_t *opt);
int mt_schedule_parse (const char *name, mt_schedule_t *schedule);
int mt_format_parse (const char *name, mt_format_t *format);
int mt_metric_parse (const char *name, mt_metric_t *metric);

//  True when a higher value of metric is better (accuracy), false when lower
//  is (val_loss, log_loss, mae, rmse).
bool mt_metric_higher_better (mt_metric_t metric);

//  The command-line form of class_weight into spec: "balanced", or
//  "a=2,b=1" (class names, each = a weight > 0). Returns 0, or -1 with
//  *cause naming --class-weight and what is wrong.
int mt_spec_parse_class_weight (mt_spec_t *spec, const char *text, char **cause);
int mt_missing_target_parse (const char *name, mt_missing_target_t *what);

#endif
