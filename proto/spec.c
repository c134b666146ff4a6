/*  spec - the training spec: parsed, validated and defaulted here, and written here (jansson)  */
#include "mt/spec.h"
#include "mt/util.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_check_name (const char *field, const char *flag, const char *value,
                         size_t max, bool relaxed, char **cause);
static int s_check_range (const char *field, const char *flag, double value,
                          double lo, double hi, char **cause);
static int s_control_byte (const char *field, int item, const char *text, size_t len,
                           char **cause);
static int s_read_fields (mt_spec_t *spec, json_t *root, char **cause);
static int s_read_text (json_t *value, const char *key, int item, const char **out,
                        char **cause);
static int s_read_string (json_t *value, const char *key, int item, size_t max, char **out,
                          char **cause);
static int s_read_hash (json_t *value, const char *key, char *out, char **cause);
static int s_read_number (json_t *value, const char *key, double *out, char **cause);
static int s_read_int (json_t *value, const char *key, int64_t lo, int64_t hi,
                       int64_t *out, char **cause);
static int s_read_list (mt_spec_t *spec, json_t *value, const char *key, char **cause);
static int s_read_enum (mt_spec_t *spec, json_t *value, const char *key, char **cause);
static int s_validate_training (const mt_spec_t *spec, char **cause);
static int s_read_class_weight (mt_spec_t *spec, json_t *value, char **cause);
static int s_add_class_weight (mt_spec_t *spec, const char *name, double weight, char **cause);
static void s_free_class_weights (mt_spec_t *spec);
static json_t *s_class_weight_value (const mt_spec_t *spec);
static int s_read_names (json_t *value, const char *key, size_t max, bool empty_ok,
                         char ***out, int *count, char **cause);
static void s_names_free (char ***names, int *count);
static int s_names_copy (char ***dst, int *n_dst, char *const *src, int n_src);
static int s_validate_columns (const mt_spec_t *spec, char **cause);

static const char *s_tasks [] = { "regression", "classification" };
static const char *s_acts [] = { "relu", "tanh", "sigmoid" };
static const char *s_opts [] = { "sgd", "adam", "adamw" };
static const char *s_schedules [] = { "constant", "cosine" };
static const char *s_formats [] = { "auto", "csv", "jsonl" };
static const char *s_metrics [] = { "val_loss", "accuracy", "balanced_accuracy", "f1_macro",
                                    "log_loss", "roc_auc", "r2", "mae", "rmse" };
static const char *s_missing_targets [] = { "skip", "error" };

#define COUNT(a) ((int) (sizeof (a) / sizeof ((a) [0])))

static int
s_parse_name (const char *name, const char **names, int count, int *out)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp (name, names [i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

const char *mt_task_name (mt_task_t v) { return v < COUNT (s_tasks) ? s_tasks [v] : "?"; }
const char *mt_act_name (mt_act_t v) { return v < COUNT (s_acts) ? s_acts [v] : "?"; }
const char *mt_opt_name (mt_opt_t v) { return v < COUNT (s_opts) ? s_opts [v] : "?"; }
const char *mt_schedule_name (mt_schedule_t v) { return v < COUNT (s_schedules) ? s_schedules [v] : "?"; }
const char *mt_format_name (mt_format_t v) { return v < COUNT (s_formats) ? s_formats [v] : "?"; }
const char *mt_metric_name (mt_metric_t v) { return v < COUNT (s_metrics) ? s_metrics [v] : "?"; }
const char *mt_missing_target_name (mt_missing_target_t v)
    { return v < COUNT (s_missing_targets) ? s_missing_targets [v] : "?"; }

#define PARSER(fn, type, names) \
    int fn (const char *name, type *out) { \
        int i; \
        if (s_parse_name (name, names, COUNT (names), &i)) return -1; \
        *out = (type) i; return 0; }
PARSER (mt_task_parse, mt_task_t, s_tasks)
PARSER (mt_act_parse, mt_act_t, s_acts)
PARSER (mt_opt_parse, mt_opt_t, s_opts)
PARSER (mt_schedule_parse, mt_schedule_t, s_schedules)
PARSER (mt_format_parse, mt_format_t, s_formats)
PARSER (mt_metric_parse, mt_metric_t, s_metrics)

bool
mt_metric_higher_better (mt_metric_t metric)
{
    return metric != MT_METRIC_VAL_LOSS && metric != MT_METRIC_LOG_LOSS
        && metric != MT_METRIC_MAE && metric != MT_METRIC_RMSE;
}
PARSER (mt_missing_target_parse, mt_missing_target_t, s_missing_targets)

void
mt_spec_init (mt_spec_t *spec)
{
    memset (spec, 0, sizeof *spec);
    spec->task = MT_TASK_REGRESSION;
    spec->hidden [0] = 16;
    spec->n_hidden = 1;
    spec->activation = MT_ACT_RELU;
    spec->optimizer = MT_OPT_ADAM;
    spec->lr = 0.01;
    spec->beta1 = 0.9;
    spec->beta2 = 0.999;
    spec->eps = 1e-8;
    spec->schedule = MT_SCHEDULE_CONSTANT;
    spec->batch_size = 16;
    spec->epochs = 100;
    spec->val_split = 0.2;
    spec->shuffle = true;
    spec->checkpoint_every = 10;
    spec->max_retries = 3;
    spec->max_categories = 64;
}

void
mt_spec_clear (mt_spec_t *spec)
{
    free (spec->name);
    free (spec->data_path);
    free (spec->data_name);
    free (spec->target);
    for (int i = 0; i < spec->n_features; i++)
        free (spec->features [i]);
    free (spec->features);
    s_free_class_weights (spec);
    free (spec->val_data_name);
    s_names_free (&spec->categorical, &spec->n_categorical);
    s_names_free (&spec->numeric, &spec->n_numeric);
    s_names_free (&spec->ignore, &spec->n_ignore);
    s_names_free (&spec->na_values, &spec->n_na_values);
    mt_spec_init (spec);
}

static void
s_free_class_weights (mt_spec_t *spec)
{
    for (int i = 0; i < spec->n_class_weights; i++)
        free (spec->class_weights [i].name);
    free (spec->class_weights);
    spec->class_weights = NULL;
    spec->n_class_weights = 0;
}

int
mt_spec_copy (mt_spec_t *dst, const mt_spec_t *src)
{
    *dst = *src;
    dst->name = src->name ? strdup (src->name) : NULL;
    dst->data_path = src->data_path ? strdup (src->data_path) : NULL;
    dst->data_name = src->data_name ? strdup (src->data_name) : NULL;
    dst->target = src->target ? strdup (src->target) : NULL;
    dst->features = NULL;
    dst->n_features = 0;
    dst->class_weights = NULL;
    dst->n_class_weights = 0;
    dst->val_data_name = src->val_data_name ? strdup (src->val_data_name) : NULL;
    bool oom = (src->name && !dst->name) || (src->data_path && !dst->data_path)
            || (src->target && !dst->target) || (src->data_name && !dst->data_name)
            || (src->val_data_name && !dst->val_data_name);
    for (int i = 0; !oom && i < src->n_class_weights; i++)
        oom = s_add_class_weight (dst, src->class_weights [i].name,
                                  src->class_weights [i].weight, NULL) != 0;
    if (src->features && !oom) {
        dst->features = calloc ((size_t) src->n_features, sizeof (char *));
        oom = dst->features == NULL;
        for (int i = 0; !oom && i < src->n_features; i++) {
            dst->features [i] = strdup (src->features [i]);
            dst->n_features = i + 1;
            oom = dst->features [i] == NULL;
        }
    }
    dst->categorical = dst->numeric = dst->ignore = dst->na_values = NULL;
    dst->n_categorical = dst->n_numeric = dst->n_ignore = dst->n_na_values = 0;
    oom = oom || s_names_copy (&dst->categorical, &dst->n_categorical, src->categorical,
                               src->n_categorical)
              || s_names_copy (&dst->numeric, &dst->n_numeric, src->numeric, src->n_numeric)
              || s_names_copy (&dst->ignore, &dst->n_ignore, src->ignore, src->n_ignore)
              || s_names_copy (&dst->na_values, &dst->n_na_values, src->na_values,
                               src->n_na_values);
    if (oom) {
        mt_spec_clear (dst);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Column kinds and missing values: lists of names, each in its own field

static void
s_names_free (char ***names, int *count)
{
    for (int i = 0; *names && i < *count; i++)
        free ((*names) [i]);
    free (*names);
    *names = NULL;
    *count = 0;
}

//  A deep copy of src (NULL stays NULL); -1 when out of memory
static int
s_names_copy (char ***dst, int *n_dst, char *const *src, int n_src)
{
    if (!src)
        return 0;
    *dst = calloc ((size_t) n_src + 1, sizeof (char *));
    for (int i = 0; *dst && i < n_src; i++) {
        if (!((*dst) [i] = strdup (src [i])))
            return -1;
        *n_dst = i + 1;
    }
    return *dst ? 0 : -1;
}

//  categorical, numeric and ignore name columns at most once among them,
//  never the target, ignore not beside features; na_values are printable and distinct
static int
s_validate_columns (const mt_spec_t *spec, char **cause)
{
    struct { const char *field, *flag; char *const *names; int n; } lists [] = {
        { "categorical", "--categorical", spec->categorical, spec->n_categorical },
        { "numeric", "--numeric", spec->numeric, spec->n_numeric },
        { "ignore", "--ignore", spec->ignore, spec->n_ignore },
    };
    for (int l = 0; l < COUNT (lists); l++) {
        if (lists [l].n < 0 || lists [l].n > MT_SPEC_MAX_FEATURES)
            return mt_fail (cause, "%s (%s) lists at most %d columns", lists [l].field,
                            lists [l].flag, MT_SPEC_MAX_FEATURES);
        for (int i = 0; i < lists [l].n; i++) {
            const char *name = lists [l].names [i];
            if (s_check_name (lists [l].field, lists [l].flag, name, MT_SPEC_MAX_COLUMN, true,
                              cause))
                return -1;
            if (spec->target && strcmp (name, spec->target) == 0)
                return mt_fail (cause, "%s (%s) names the target '%s'", lists [l].field,
                                lists [l].flag, name);
            for (int m = 0; m <= l; m++)
                for (int j = 0; j < (m == l ? i : lists [m].n); j++)
                    if (strcmp (name, lists [m].names [j]) == 0)
                        return m == l
                             ? mt_fail (cause, "%s (%s) names '%s' twice", lists [l].field,
                                        lists [l].flag, name)
                             : mt_fail (cause, "column '%s' is in both %s (%s) and %s (%s);"
                                        " give it one kind", name, lists [m].field,
                                        lists [m].flag, lists [l].field, lists [l].flag);
        }
    }
    //  --features lists the inputs exactly: an ignore list beside it would be
    //  a second answer to the same question
    if (spec->features && spec->n_ignore > 0)
        return mt_fail (cause, "ignore (--ignore) cannot be given with features (--features),"
                        " which lists the inputs exactly: list them there only (without '%s')",
                        spec->ignore [0]);
    if (spec->n_na_values < 0 || spec->n_na_values > MT_SPEC_MAX_NA_VALUES)
        return mt_fail (cause, "na_values (--na-values) lists at most %d tokens",
                        MT_SPEC_MAX_NA_VALUES);
    for (int i = 0; i < spec->n_na_values; i++) {
        const char *token = spec->na_values [i];
        if (strlen (token) > MT_SPEC_MAX_COLUMN
        ||  s_control_byte ("na_values", i, token, strlen (token), cause))
            return strlen (token) > MT_SPEC_MAX_COLUMN
                 ? mt_fail (cause, "na_values (--na-values) tokens are at most %d bytes",
                            MT_SPEC_MAX_COLUMN) : -1;
        for (int j = 0; j < i; j++)
            if (strcmp (token, spec->na_values [j]) == 0)
                return mt_fail (cause, "na_values (--na-values) lists '%s' twice", token);
    }
    if (spec->max_categories < 1 || spec->max_categories > MT_SPEC_MAX_CATEGORIES)
        return mt_fail (cause, "max_categories (--max-categories) must be 1 to %d (got %d)",
                        MT_SPEC_MAX_CATEGORIES, spec->max_categories);
    if ((unsigned) spec->on_missing_target > MT_MISSING_TARGET_ERROR)
        return mt_fail (cause, "on_missing_target (--on-missing-target) must be skip or error");
    return 0;
}

//  A list of strings (at most max; each printable, names 1 to
//  MT_SPEC_MAX_COLUMN bytes, or any length up to it when empty_ok)
static int
s_read_names (json_t *value, const char *key, size_t max, bool empty_ok, char ***out,
              int *count, char **cause)
{
    if (*out)
        return mt_fail (cause, "spec field '%s' appears twice", key);
    if (!json_is_array (value) || json_array_size (value) > max)
        return mt_fail (cause, "spec field '%s' must be a list of at most %zu strings", key, max);
    *out = calloc (json_array_size (value) + 1, sizeof (char *));
    if (!*out)
        return mt_fail (cause, "out of memory");
    size_t i;
    json_t *item;
    json_array_foreach (value, i, item) {
        if (s_read_string (item, key, (int) i, MT_SPEC_MAX_COLUMN, &(*out) [i], cause))
            return -1;
        *count = (int) i + 1;
        if (!empty_ok && (*out) [i][0] == 0)
            return mt_fail (cause, "spec field '%s' item %zu is empty", key, i);
    }
    return 0;
}

//  Names are printable ASCII or UTF-8, no control characters; strict names
//  (job names) allow only letters, digits and ._-: and space.
static int
s_check_name (const char *field, const char *flag, const char *value,
              size_t max, bool relaxed, char **cause)
{
    size_t len = strlen (value);
    if (len == 0 || len > max)
        return mt_fail (cause, "%s (%s) must be 1 to %zu bytes long (got %zu)",
                        field, flag, max, len);
    json_t *utf8 = json_string (value);
    if (!utf8)
        return mt_fail (cause, "%s (%s) is not valid UTF-8", field, flag);
    json_decref (utf8);
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return mt_fail (cause, "%s (%s) holds a control character (0x%02x at byte %zu);"
                            " names and paths must be printable text", field, flag, *p,
                            (size_t) (p - (const unsigned char *) value));
        if (!relaxed && !isalnum (*p) && !strchr ("._-: ", *p))
            return mt_fail (cause, "%s (%s) has a character that is not allowed (byte 0x%02x);"
                            " use letters, digits, space and . _ - :", field, flag, *p);
    }
    return 0;
}

//  A string off the wire or out of JSON may hold any byte, NUL included:
//  its length, not strlen, says where it ends. A control byte (0x00 to
//  0x1f, 0x7f) anywhere in it is an error naming the field, and the item
//  of a list (item >= 0). Returns 0 or -1.
static int
s_control_byte (const char *field, int item, const char *text, size_t len, char **cause)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        char where [32] = "";
        if (item >= 0)
            snprintf (where, sizeof where, " item %d", item);
        return mt_fail (cause, "spec field '%s'%s holds a control character (0x%02x at byte %zu);"
                        " names and paths must be printable text", field, where, c, i);
    }
    return 0;
}

static int
s_check_range (const char *field, const char *flag, double value, double lo, double hi,
               char **cause)
{
    if (!isfinite (value) || value < lo || value > hi)
        return mt_fail (cause, "%s (%s) must be between %.15g and %.15g (got %.15g)",
                        field, flag, lo, hi, value);
    return 0;
}

static bool
s_is_hash (const char *hash)
{
    if (strlen (hash) != MT_HASH_HEX)
        return false;
    for (const char *p = hash; *p; p++)
        if (!isdigit ((unsigned char) *p) && !(*p >= 'a' && *p <= 'f'))
            return false;
    return true;
}

static int
s_validate_data (const mt_spec_t *spec, char **cause)
{
    bool has_hash = spec->data_hash [0] != 0;
    if (has_hash == (spec->data_path != NULL))
        return mt_fail (cause, "give exactly one of data (--data FILE) and data_path (--data-path PATH)");
    if (has_hash && !s_is_hash (spec->data_hash))
        return mt_fail (cause, "data_hash (--data) must be 64 lower-case hex digits (a SHA-256)");
    if (spec->data_path
    &&  s_check_name ("data_path", "--data-path", spec->data_path, MT_SPEC_MAX_PATH, true, cause))
        return -1;
    if (spec->data_name
    &&  s_check_name ("data_name", "--data", spec->data_name, MT_SPEC_MAX_COLUMN, true, cause))
        return -1;
    if (spec->init_hash [0] && !s_is_hash (spec->init_hash))
        return mt_fail (cause, "init_hash must be 64 lower-case hex digits (a SHA-256)");
    if (!spec->target)
        return mt_fail (cause, "target (--target) is required: name the column to predict");
    if (s_check_name ("target", "--target", spec->target, MT_SPEC_MAX_COLUMN, true, cause))
        return -1;
    if (spec->features && spec->n_features == 0)
        return mt_fail (cause, "features (--features) must name at least one column, or be left out for all but the target");
    if (spec->n_features < 0 || spec->n_features > MT_SPEC_MAX_FEATURES)
        return mt_fail (cause, "features (--features) lists at most %d columns", MT_SPEC_MAX_FEATURES);
    for (int i = 0; i < spec->n_features; i++) {
        if (s_check_name ("features", "--features", spec->features [i], MT_SPEC_MAX_COLUMN, true, cause))
            return -1;
        if (strcmp (spec->features [i], spec->target) == 0)
            return mt_fail (cause, "features (--features) must not include the target '%s'", spec->target);
        for (int j = 0; j < i; j++)
            if (strcmp (spec->features [i], spec->features [j]) == 0)
                return mt_fail (cause, "features (--features) names '%s' twice", spec->features [i]);
    }
    return 0;
}

static int
s_validate_model (const mt_spec_t *spec, char **cause)
{
    if (spec->n_hidden < 0 || spec->n_hidden > MT_SPEC_MAX_HIDDEN)
        return mt_fail (cause, "hidden (--hidden) has at most %d layers", MT_SPEC_MAX_HIDDEN);
    for (int i = 0; i < spec->n_hidden; i++)
        if (spec->hidden [i] < 1 || spec->hidden [i] > MT_SPEC_MAX_WIDTH)
            return mt_fail (cause, "hidden (--hidden) layer widths must be 1 to %d (got %d)",
                            MT_SPEC_MAX_WIDTH, spec->hidden [i]);
    if ((unsigned) spec->task > MT_TASK_CLASSIFICATION
    ||  (unsigned) spec->activation > MT_ACT_SIGMOID
    ||  (unsigned) spec->optimizer > MT_OPT_ADAMW
    ||  (unsigned) spec->schedule > MT_SCHEDULE_COSINE
    ||  (unsigned) spec->format > MT_FORMAT_JSONL)
        return mt_fail (cause, "task, activation, optimizer, schedule or format is out of range");
    if (!isfinite (spec->lr) || spec->lr <= 0 || spec->lr > 1e3)
        return mt_fail (cause, "lr (--lr) must be positive, finite and at most 1000 (got %g)", spec->lr);
    if (s_check_range ("momentum", "--momentum", spec->momentum, 0, 0.999999, cause)
    ||  s_check_range ("weight_decay", "--weight-decay", spec->weight_decay, 0, 10, cause)
    ||  s_check_range ("beta1", "--beta1", spec->beta1, 0, 0.999999, cause)
    ||  s_check_range ("beta2", "--beta2", spec->beta2, 0, 0.999999999, cause)
    ||  s_check_range ("eps", "--eps", spec->eps, 1e-30, 1, cause))
        return -1;
    if (spec->nesterov && (spec->optimizer != MT_OPT_SGD || spec->momentum <= 0))
        return mt_fail (cause, "nesterov (--nesterov) needs --optimizer sgd and a --momentum above 0");
    return 0;
}

static int
s_validate_loop (const mt_spec_t *spec, char **cause)
{
    if (s_check_range ("batch_size", "--batch-size", spec->batch_size, 1, MT_SPEC_MAX_BATCH, cause)
    ||  s_check_range ("epochs", "--epochs", spec->epochs, 1, MT_SPEC_MAX_EPOCHS, cause)
    ||  s_check_range ("val_split", "--val-split", spec->val_split, 0, 0.9, cause)
    ||  s_check_range ("patience", "--patience", spec->patience, 0, MT_SPEC_MAX_EPOCHS, cause)
    ||  s_check_range ("warmup_steps", "--warmup-steps", (double) spec->warmup_steps, 0, 1e12, cause)
    ||  s_check_range ("checkpoint_every", "--checkpoint-every", spec->checkpoint_every, 0,
                       MT_SPEC_MAX_EPOCHS, cause)
    ||  s_check_range ("priority", "--priority", spec->priority, -1000, 1000, cause)
    ||  s_check_range ("max_retries", "--max-retries", spec->max_retries, 0, 100, cause)
    ||  s_check_range ("time_limit_s", "--time-limit", (double) spec->time_limit_s, 0, 1e9, cause))
        return -1;
    //  JSON carries the seed as an int64, so larger seeds would not survive the wire
    if (spec->seed > (uint64_t) INT64_MAX)
        return mt_fail (cause, "seed (--seed) must be 0 to %lld", (long long) INT64_MAX);
    if (spec->patience > 0 && spec->val_split <= 0 && !spec->val_data_hash [0])
        return mt_fail (cause, "patience (--patience) needs a validation split (--val-split above 0)"
                        " or a validation file (--val-data)");
    if (spec->name && s_check_name ("name", "--name", spec->name, MT_SPEC_MAX_NAME, false, cause))
        return -1;
    return 0;
}

int
mt_spec_validate (const mt_spec_t *spec, char **cause)
{
    if (s_validate_data (spec, cause) || s_validate_columns (spec, cause)
    ||  s_validate_model (spec, cause) || s_validate_loop (spec, cause)
    ||  s_validate_training (spec, cause))
        return -1;
    return 0;
}

//  Class weights, the metric and the validation rows, as the task allows
static int
s_validate_training (const mt_spec_t *spec, char **cause)
{
    bool classify = spec->task == MT_TASK_CLASSIFICATION;
    if ((spec->class_weight_balanced || spec->n_class_weights > 0) && !classify)
        return mt_fail (cause, "class_weight (--class-weight) needs --task classification");
    if (spec->class_weight_balanced && spec->n_class_weights > 0)
        return mt_fail (cause, "class_weight (--class-weight) is either balanced or a list of"
                        " class=weight, not both");
    if (spec->n_class_weights < 0 || spec->n_class_weights > MT_SPEC_MAX_CLASS_WEIGHTS)
        return mt_fail (cause, "class_weight (--class-weight) names at most %d classes",
                        MT_SPEC_MAX_CLASS_WEIGHTS);
    for (int i = 0; i < spec->n_class_weights; i++) {
        const mt_class_weight_t *cw = &spec->class_weights [i];
        if (s_check_name ("class_weight", "--class-weight", cw->name, MT_SPEC_MAX_COLUMN, true,
                          cause))
            return -1;
        if (!isfinite (cw->weight) || cw->weight <= 0 || cw->weight > MT_SPEC_MAX_CLASS_WEIGHT)
            return mt_fail (cause, "class_weight (--class-weight) of class '%s' must be above 0"
                            " and at most %g (got %g)", cw->name, MT_SPEC_MAX_CLASS_WEIGHT,
                            cw->weight);
        for (int j = 0; j < i; j++)
            if (strcmp (cw->name, spec->class_weights [j].name) == 0)
                return mt_fail (cause, "class_weight (--class-weight) names class '%s' twice",
                                cw->name);
    }
    if ((unsigned) spec->metric > MT_METRIC_RMSE)
        return mt_fail (cause, "metric (--metric) is out of range");
    bool regression_metric = spec->metric >= MT_METRIC_R2;
    if (spec->metric != MT_METRIC_VAL_LOSS && regression_metric == classify)
        return mt_fail (cause, "metric (--metric) '%s' does not fit --task %s: use %s",
                        mt_metric_name (spec->metric), mt_task_name (spec->task), classify
                        ? "accuracy, balanced_accuracy, f1_macro, log_loss, roc_auc or val_loss"
                        : "r2, mae, rmse or val_loss");
    if (spec->val_data_hash [0] && !s_is_hash (spec->val_data_hash))
        return mt_fail (cause, "val_data_hash (--val-data) must be 64 lower-case hex digits"
                        " (a SHA-256)");
    if (spec->val_data_name
    &&  s_check_name ("val_data_name", "--val-data", spec->val_data_name, MT_SPEC_MAX_COLUMN,
                      true, cause))
        return -1;
    if (spec->stratify && !classify)
        return mt_fail (cause, "stratify (--stratify) needs --task classification");
    if (spec->stratify && (spec->val_split <= 0 || spec->val_data_hash [0]))
        return mt_fail (cause, "stratify (--stratify) needs a validation split (--val-split"
                        " above 0, and no --val-data)");
    return 0;
}

//  Append one class weight (the name copied). Returns 0 or -1.
static int
s_add_class_weight (mt_spec_t *spec, const char *name, double weight, char **cause)
{
    if (spec->n_class_weights >= MT_SPEC_MAX_CLASS_WEIGHTS)
        return mt_fail (cause, "class_weight (--class-weight) names at most %d classes",
                        MT_SPEC_MAX_CLASS_WEIGHTS);
    mt_class_weight_t *grown = realloc (spec->class_weights,
                                        (size_t) (spec->n_class_weights + 1) * sizeof *grown);
    if (!grown)
        return mt_fail (cause, "out of memory");
    spec->class_weights = grown;
    char *copy = strdup (name);
    if (!copy)
        return mt_fail (cause, "out of memory");
    grown [spec->n_class_weights++] = (mt_class_weight_t) { .name = copy, .weight = weight };
    return 0;
}

int
mt_spec_parse_class_weight (mt_spec_t *spec, const char *text, char **cause)
{
    s_free_class_weights (spec);
    spec->class_weight_balanced = strcmp (text, "balanced") == 0;
    if (spec->class_weight_balanced)
        return 0;
    //  strtok_r would skip an empty item: a stray comma is a typo to name
    size_t len = strlen (text);
    if (len > 0 && (text [0] == ',' || text [len - 1] == ',' || strstr (text, ",,")))
        return mt_fail (cause, "--class-weight: '%s' has an empty item (a stray comma);"
                        " write it like a=2,b=1", text);
    char *copy = strdup (text), *save = NULL;
    if (!copy)
        return mt_fail (cause, "out of memory");
    int rc = *text ? 0 : -1;
    for (char *item = strtok_r (copy, ",", &save); item && rc == 0;
         item = strtok_r (NULL, ",", &save)) {
        char *eq = strrchr (item, '='), *end = NULL;
        double weight = eq ? strtod (eq + 1, &end) : NAN;
        if (!eq || eq == item || end == eq + 1 || *end)
            rc = -1;
        else {
            *eq = 0;
            rc = s_add_class_weight (spec, item, weight, cause);
        }
    }
    free (copy);
    if (rc)
        return mt_fail (cause, "--class-weight: '%s' is not 'balanced' or a list like a=2,b=1"
                        " (class=weight, weights above 0)", text);
    return 0;
}

//  Set key to value (taken) in root; a failure (no value, no memory)
//  clears *ok, so a spec is written whole or not at all.
static void
s_put (json_t *root, const char *key, json_t *value, bool *ok)
{
    if (json_object_set_new (root, key, value))
        *ok = false;
}

static json_t *
s_strings (char *const *items, int count)
{
    json_t *list = json_array ();
    for (int i = 0; list && i < count; i++)
        if (json_array_append_new (list, json_string (items [i]))) {
            json_decref (list);
            list = NULL;
        }
    return list;
}

static json_t *
s_ints (const int *items, int count)
{
    json_t *list = json_array ();
    for (int i = 0; list && i < count; i++)
        if (json_array_append_new (list, json_integer (items [i]))) {
            json_decref (list);
            list = NULL;
        }
    return list;
}

json_t *
mt_spec_to_value (const mt_spec_t *spec)
{
    json_t *root = json_object ();
    if (!root)
        return NULL;
    bool ok = true;
    if (spec->name)
        s_put (root, "name", json_string (spec->name), &ok);
    if (spec->data_hash [0])
        s_put (root, "data_hash", json_string (spec->data_hash), &ok);
    if (spec->data_path)
        s_put (root, "data_path", json_string (spec->data_path), &ok);
    if (spec->data_name)
        s_put (root, "data_name", json_string (spec->data_name), &ok);
    s_put (root, "format", json_string (mt_format_name (spec->format)), &ok);
    if (spec->target)
        s_put (root, "target", json_string (spec->target), &ok);
    if (spec->features)
        s_put (root, "features", s_strings (spec->features, spec->n_features), &ok);
    s_put (root, "task", json_string (mt_task_name (spec->task)), &ok);
    s_put (root, "hidden", s_ints (spec->hidden, spec->n_hidden), &ok);
    s_put (root, "activation", json_string (mt_act_name (spec->activation)), &ok);
    s_put (root, "optimizer", json_string (mt_opt_name (spec->optimizer)), &ok);
    s_put (root, "lr", json_real (spec->lr), &ok);
    s_put (root, "momentum", json_real (spec->momentum), &ok);
    s_put (root, "nesterov", json_boolean (spec->nesterov), &ok);
    s_put (root, "weight_decay", json_real (spec->weight_decay), &ok);
    s_put (root, "beta1", json_real (spec->beta1), &ok);
    s_put (root, "beta2", json_real (spec->beta2), &ok);
    s_put (root, "eps", json_real (spec->eps), &ok);
    s_put (root, "schedule", json_string (mt_schedule_name (spec->schedule)), &ok);
    s_put (root, "warmup_steps", json_integer (spec->warmup_steps), &ok);
    s_put (root, "batch_size", json_integer (spec->batch_size), &ok);
    s_put (root, "epochs", json_integer (spec->epochs), &ok);
    s_put (root, "seed", json_integer ((json_int_t) spec->seed), &ok);
    s_put (root, "val_split", json_real (spec->val_split), &ok);
    s_put (root, "shuffle", json_boolean (spec->shuffle), &ok);
    s_put (root, "patience", json_integer (spec->patience), &ok);
    if (spec->class_weight_balanced || spec->n_class_weights > 0)
        s_put (root, "class_weight", s_class_weight_value (spec), &ok);
    if (spec->metric != MT_METRIC_VAL_LOSS)
        s_put (root, "metric", json_string (mt_metric_name (spec->metric)), &ok);
    if (spec->val_data_hash [0])
        s_put (root, "val_data_hash", json_string (spec->val_data_hash), &ok);
    if (spec->val_data_name)
        s_put (root, "val_data_name", json_string (spec->val_data_name), &ok);
    if (spec->stratify)
        s_put (root, "stratify", json_true (), &ok);
    if (spec->init_hash [0])
        s_put (root, "init_hash", json_string (spec->init_hash), &ok);
    s_put (root, "checkpoint_every", json_integer (spec->checkpoint_every), &ok);
    s_put (root, "priority", json_integer (spec->priority), &ok);
    s_put (root, "max_retries", json_integer (spec->max_retries), &ok);
    s_put (root, "time_limit_s", json_integer (spec->time_limit_s), &ok);
    if (spec->categorical)
        s_put (root, "categorical", s_strings (spec->categorical, spec->n_categorical), &ok);
    if (spec->numeric)
        s_put (root, "numeric", s_strings (spec->numeric, spec->n_numeric), &ok);
    if (spec->ignore)
        s_put (root, "ignore", s_strings (spec->ignore, spec->n_ignore), &ok);
    if (spec->na_values)
        s_put (root, "na_values", s_strings (spec->na_values, spec->n_na_values), &ok);
    s_put (root, "max_categories", json_integer (spec->max_categories), &ok);
    s_put (root, "on_missing_target",
           json_string (mt_missing_target_name (spec->on_missing_target)), &ok);
    if (!ok)
        json_decref (root);
    return ok ? root : NULL;
}

//  "balanced", or {class: weight} in the spec's order
static json_t *
s_class_weight_value (const mt_spec_t *spec)
{
    if (spec->class_weight_balanced)
        return json_string ("balanced");
    json_t *map = json_object ();
    for (int i = 0; map && i < spec->n_class_weights; i++)
        if (json_object_set_new (map, spec->class_weights [i].name,
                                 json_real (spec->class_weights [i].weight))) {
            json_decref (map);
            map = NULL;
        }
    return map;
}

char *
mt_spec_to_json (const mt_spec_t *spec)
{
    json_t *root = mt_spec_to_value (spec);
    char *text = root ? json_dumps (root, JSON_COMPACT | JSON_PRESERVE_ORDER
                                          | JSON_REAL_PRECISION (17)) : NULL;
    json_decref (root);
    return text;
}

int
mt_spec_from_json (mt_spec_t *spec, const char *json, char **cause)
{
    mt_spec_init (spec);
    if (!json || strlen (json) > MT_SPEC_MAX_JSON)
        return mt_fail (cause, "spec is missing or over %d bytes", MT_SPEC_MAX_JSON);
    json_error_t error;
    json_t *root = json_loads (json, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        return mt_fail (cause, "spec is not valid JSON: %s (line %d, column %d)",
                        error.text, error.line, error.column);
    int rc = mt_spec_from_value (spec, root, cause);
    json_decref (root);
    return rc;
}

int
mt_spec_from_value (mt_spec_t *spec, json_t *root, char **cause)
{
    mt_spec_init (spec);
    int rc = -1;
    if (!json_is_object (root))
        mt_fail (cause, "spec must be a JSON object");
    else
    if (s_read_fields (spec, root, cause) == 0)
        rc = mt_spec_validate (spec, cause);
    if (rc)
        mt_spec_clear (spec);
    return rc;
}

static int
s_read_scalar (mt_spec_t *spec, const char *key, json_t *value, char **cause)
{
    int64_t i64 = 0;
    double *reals [] = { &spec->lr, &spec->momentum, &spec->weight_decay, &spec->beta1,
                         &spec->beta2, &spec->eps, &spec->val_split };
    const char *real_keys [] = { "lr", "momentum", "weight_decay", "beta1", "beta2", "eps",
                                 "val_split" };
    for (int i = 0; i < COUNT (reals); i++)
        if (strcmp (key, real_keys [i]) == 0)
            return s_read_number (value, key, reals [i], cause);
    int *ints [] = { &spec->batch_size, &spec->epochs, &spec->patience, &spec->checkpoint_every,
                     &spec->priority, &spec->max_retries, &spec->max_categories };
    const char *int_keys [] = { "batch_size", "epochs", "patience", "checkpoint_every",
                                "priority", "max_retries", "max_categories" };
    for (int i = 0; i < COUNT (ints); i++)
        if (strcmp (key, int_keys [i]) == 0) {
            if (s_read_int (value, key, INT32_MIN, INT32_MAX, &i64, cause))
                return -1;
            *ints [i] = (int) i64;
            return 0;
        }
    if (strcmp (key, "warmup_steps") == 0)
        return s_read_int (value, key, INT64_MIN, INT64_MAX, &spec->warmup_steps, cause);
    if (strcmp (key, "time_limit_s") == 0)
        return s_read_int (value, key, INT64_MIN, INT64_MAX, &spec->time_limit_s, cause);
    if (strcmp (key, "seed") == 0) {
        if (s_read_int (value, key, 0, INT64_MAX, &i64, cause))
            return -1;
        spec->seed = (uint64_t) i64;
        return 0;
    }
    bool *flags [] = { &spec->nesterov, &spec->shuffle, &spec->stratify };
    const char *flag_keys [] = { "nesterov", "shuffle", "stratify" };
    for (int i = 0; i < COUNT (flags); i++)
        if (strcmp (key, flag_keys [i]) == 0) {
            if (!json_is_boolean (value))
                return mt_fail (cause, "spec field '%s' must be true or false", key);
            *flags [i] = json_is_true (value);
            return 0;
        }
    return s_read_enum (spec, value, key, cause);
}

static int
s_read_fields (mt_spec_t *spec, json_t *root, char **cause)
{
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach (root, key, key_len, value) {
        int rc;
        //  A key cut short by a NUL would pass for the field it starts with
        if (key_len != strlen (key) || s_control_byte ("(a field name)", -1, key, key_len, NULL))
            return mt_fail (cause, "spec has a field name that holds a control character;"
                            " field names are printable text");
        if (strcmp (key, "name") == 0)
            rc = s_read_string (value, key, -1, MT_SPEC_MAX_NAME, &spec->name, cause);
        else if (strcmp (key, "data_path") == 0)
            rc = s_read_string (value, key, -1, MT_SPEC_MAX_PATH, &spec->data_path, cause);
        else if (strcmp (key, "data_name") == 0)
            rc = s_read_string (value, key, -1, MT_SPEC_MAX_COLUMN, &spec->data_name, cause);
        else if (strcmp (key, "target") == 0)
            rc = s_read_string (value, key, -1, MT_SPEC_MAX_COLUMN, &spec->target, cause);
        else if (strcmp (key, "data_hash") == 0)
            rc = s_read_hash (value, key, spec->data_hash, cause);
        else if (strcmp (key, "init_hash") == 0)
            rc = s_read_hash (value, key, spec->init_hash, cause);
        else if (strcmp (key, "val_data_hash") == 0)
            rc = s_read_hash (value, key, spec->val_data_hash, cause);
        else if (strcmp (key, "val_data_name") == 0)
            rc = s_read_string (value, key, -1, MT_SPEC_MAX_COLUMN, &spec->val_data_name, cause);
        else if (strcmp (key, "class_weight") == 0)
            rc = s_read_class_weight (spec, value, cause);
        else if (strcmp (key, "features") == 0 || strcmp (key, "hidden") == 0)
            rc = s_read_list (spec, value, key, cause);
        else if (strcmp (key, "categorical") == 0)
            rc = s_read_names (value, key, MT_SPEC_MAX_FEATURES, false, &spec->categorical,
                               &spec->n_categorical, cause);
        else if (strcmp (key, "numeric") == 0)
            rc = s_read_names (value, key, MT_SPEC_MAX_FEATURES, false, &spec->numeric,
                               &spec->n_numeric, cause);
        else if (strcmp (key, "ignore") == 0)
            rc = s_read_names (value, key, MT_SPEC_MAX_FEATURES, false, &spec->ignore,
                               &spec->n_ignore, cause);
        else if (strcmp (key, "na_values") == 0)
            rc = s_read_names (value, key, MT_SPEC_MAX_NA_VALUES, true, &spec->na_values,
                               &spec->n_na_values, cause);
        else
            rc = s_read_scalar (spec, key, value, cause);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_read_enum (mt_spec_t *spec, json_t *value, const char *key, char **cause)
{
    static const char *keys [] = { "task", "activation", "optimizer", "schedule", "format",
                                   "metric", "on_missing_target" };
    int which;
    if (s_parse_name (key, keys, COUNT (keys), &which))
        return mt_fail (cause, "spec has an unknown field '%.64s'", key);
    const char *name = NULL;
    //  The value is looked up by strcmp, which a NUL inside would cut short
    if (json_is_string (value) && s_read_text (value, key, -1, &name, cause))
        return -1;
    int rc = which == 0 ? mt_task_parse (name, &spec->task)
           : which == 1 ? mt_act_parse (name, &spec->activation)
           : which == 2 ? mt_opt_parse (name, &spec->optimizer)
           : which == 3 ? mt_schedule_parse (name, &spec->schedule)
           : which == 4 ? mt_format_parse (name, &spec->format)
           : which == 5 ? mt_metric_parse (name, &spec->metric)
           : mt_missing_target_parse (name, &spec->on_missing_target);
    if (rc)
        return mt_fail (cause, "spec field '%s' has an unknown value '%.64s'", key,
                        name ? name : "(not a string)");
    return 0;
}

//  class_weight: "balanced", or {class: weight}; a class name is a key, so
//  it is checked for control bytes by its length, as a string is
static int
s_read_class_weight (mt_spec_t *spec, json_t *value, char **cause)
{
    const char *text = NULL;
    if (json_is_string (value)) {
        if (s_read_text (value, "class_weight", -1, &text, cause))
            return -1;
        if (strcmp (text, "balanced") != 0)
            return mt_fail (cause, "spec field 'class_weight' must be \"balanced\" or an object"
                            " {class: weight} (got '%.64s')", text);
        spec->class_weight_balanced = true;
        return 0;
    }
    if (!json_is_object (value) || spec->n_class_weights > 0)
        return mt_fail (cause, "spec field 'class_weight' must be \"balanced\" or an object"
                        " {class: weight}");
    const char *key;
    size_t key_len;
    json_t *weight;
    json_object_keylen_foreach (value, key, key_len, weight) {
        if (key_len != strlen (key) || s_control_byte ("class_weight", -1, key, key_len, NULL))
            return mt_fail (cause, "spec field 'class_weight' has a class name that holds a"
                            " control character");
        if (!json_is_number (weight))
            return mt_fail (cause, "spec field 'class_weight' of class '%.64s' must be a number",
                            key);
        if (s_add_class_weight (spec, key, json_number_value (weight), cause))
            return -1;
    }
    return 0;
}

//  The text of a string value (borrowed) that holds no control byte.
static int
s_read_text (json_t *value, const char *key, int item, const char **out, char **cause)
{
    const char *text = json_string_value (value);
    if (!text)
        return item < 0 ? mt_fail (cause, "spec field '%s' must be a string", key)
                        : mt_fail (cause, "spec field '%s' item %d must be a string", key, item);
    if (s_control_byte (key, item, text, json_string_length (value), cause))
        return -1;
    *out = text;
    return 0;
}

static int
s_read_string (json_t *value, const char *key, int item, size_t max, char **out, char **cause)
{
    const char *text = NULL;
    if (s_read_text (value, key, item, &text, cause))
        return -1;
    if (strlen (text) > max)
        return mt_fail (cause, "spec field '%s' is over %zu bytes", key, max);
    free (*out);
    *out = strdup (text);
    return *out ? 0 : mt_fail (cause, "out of memory");
}

static int
s_read_hash (json_t *value, const char *key, char *out, char **cause)
{
    const char *text = NULL;
    if (json_is_string (value) && s_read_text (value, key, -1, &text, cause))
        return -1;
    if (!text || strlen (text) != MT_HASH_HEX)
        return mt_fail (cause, "spec field '%s' must be a SHA-256 in hex", key);
    memcpy (out, text, MT_HASH_HEX + 1);
    return 0;
}

static int
s_read_number (json_t *value, const char *key, double *out, char **cause)
{
    if (!json_is_number (value))
        return mt_fail (cause, "spec field '%s' must be a number", key);
    *out = json_number_value (value);
    return 0;
}

static int
s_read_int (json_t *value, const char *key, int64_t lo, int64_t hi, int64_t *out, char **cause)
{
    if (!json_is_integer (value))
        return mt_fail (cause, "spec field '%s' must be an integer", key);
    json_int_t v = json_integer_value (value);
    if (v < lo || v > hi)
        return mt_fail (cause, "spec field '%s' is out of range", key);
    *out = v;
    return 0;
}

static int
s_read_list (mt_spec_t *spec, json_t *value, const char *key, char **cause)
{
    bool hidden = strcmp (key, "hidden") == 0;
    size_t max = hidden ? MT_SPEC_MAX_HIDDEN : MT_SPEC_MAX_FEATURES;
    if (!json_is_array (value) || json_array_size (value) > max)
        return mt_fail (cause, "spec field '%s' must be a list of at most %zu items", key, max);
    size_t i;
    json_t *item;
    if (hidden) {
        spec->n_hidden = 0;
        json_array_foreach (value, i, item) {
            int64_t width = 0;
            if (s_read_int (item, key, 0, INT32_MAX, &width, cause))
                return -1;
            spec->hidden [spec->n_hidden++] = (int) width;
        }
        return 0;
    }
    if (spec->features)
        return mt_fail (cause, "spec field 'features' appears twice");
    spec->features = calloc (json_array_size (value) + 1, sizeof (char *));
    if (!spec->features)
        return mt_fail (cause, "out of memory");
    json_array_foreach (value, i, item) {
        if (s_read_string (item, key, (int) i, MT_SPEC_MAX_COLUMN, &spec->features [i], cause))
            return -1;
        spec->n_features = (int) i + 1;
    }
    return 0;
}
