/*  cmd_submit - `mtclient submit`: hash and upload the data, then submit the spec  */
#include "cmd_submit.h"
#include "mt/log.h"
#include "mt/blob.h"
#include "mt/util.h"
#include "dataset.h"
#include "train.h"
#include "encode.h"
#include "model.h"
#include "mlp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_DATA = CMD_OPT_LOCAL, O_DATA_PATH, O_FORMAT, O_TARGET, O_FEATURES, O_TASK, O_HIDDEN,
    O_ACTIVATION, O_OPTIMIZER, O_LR, O_MOMENTUM, O_NESTEROV, O_WEIGHT_DECAY, O_BETA1, O_BETA2,
    O_EPS, O_SCHEDULE, O_WARMUP, O_BATCH, O_EPOCHS, O_SEED, O_VAL_SPLIT, O_NO_SHUFFLE,
    O_PATIENCE, O_INIT, O_CHECKPOINT, O_PRIORITY, O_RETRIES, O_TIME_LIMIT, O_NAME, O_KEY,
    O_WATCH, O_RECONNECT,
    O_CLASS_WEIGHT, O_METRIC, O_VAL_DATA, O_STRATIFY,
    O_CATEGORICAL, O_NUMERIC, O_IGNORE, O_NA_VALUES, O_MAX_CATEGORIES, O_ON_MISSING_TARGET
};

static const struct option s_options [] = {
    { "data", required_argument, NULL, O_DATA },
    { "data-path", required_argument, NULL, O_DATA_PATH },
    { "format", required_argument, NULL, O_FORMAT },
    { "target", required_argument, NULL, O_TARGET },
    { "features", required_argument, NULL, O_FEATURES },
    { "task", required_argument, NULL, O_TASK },
    { "hidden", required_argument, NULL, O_HIDDEN },
    { "activation", required_argument, NULL, O_ACTIVATION },
    { "optimizer", required_argument, NULL, O_OPTIMIZER },
    { "lr", required_argument, NULL, O_LR },
    { "momentum", required_argument, NULL, O_MOMENTUM },
    { "nesterov", no_argument, NULL, O_NESTEROV },
    { "weight-decay", required_argument, NULL, O_WEIGHT_DECAY },
    { "beta1", required_argument, NULL, O_BETA1 },
    { "beta2", required_argument, NULL, O_BETA2 },
    { "eps", required_argument, NULL, O_EPS },
    { "schedule", required_argument, NULL, O_SCHEDULE },
    { "warmup-steps", required_argument, NULL, O_WARMUP },
    { "batch-size", required_argument, NULL, O_BATCH },
    { "epochs", required_argument, NULL, O_EPOCHS },
    { "seed", required_argument, NULL, O_SEED },
    { "val-split", required_argument, NULL, O_VAL_SPLIT },
    { "no-shuffle", no_argument, NULL, O_NO_SHUFFLE },
    { "patience", required_argument, NULL, O_PATIENCE },
    { "init", required_argument, NULL, O_INIT },
    { "checkpoint-every", required_argument, NULL, O_CHECKPOINT },
    { "priority", required_argument, NULL, O_PRIORITY },
    { "max-retries", required_argument, NULL, O_RETRIES },
    { "time-limit", required_argument, NULL, O_TIME_LIMIT },
    { "name", required_argument, NULL, O_NAME },
    { "key", required_argument, NULL, O_KEY },
    { "watch", no_argument, NULL, O_WATCH },
    { "reconnect", required_argument, NULL, O_RECONNECT },
    { "class-weight", required_argument, NULL, O_CLASS_WEIGHT },
    { "metric", required_argument, NULL, O_METRIC },
    { "val-data", required_argument, NULL, O_VAL_DATA },
    { "stratify", no_argument, NULL, O_STRATIFY },
    { "categorical", required_argument, NULL, O_CATEGORICAL },
    { "numeric", required_argument, NULL, O_NUMERIC },
    { "ignore", required_argument, NULL, O_IGNORE },
    { "na-values", required_argument, NULL, O_NA_VALUES },
    { "max-categories", required_argument, NULL, O_MAX_CATEGORIES },
    { "on-missing-target", required_argument, NULL, O_ON_MISSING_TARGET },
    CMD_GLOBAL_OPTIONS,
    { NULL, 0, NULL, 0 }
};

//  What the option handler fills.
typedef struct {
    mt_spec_t *spec;
    submit_opts_t *opts;
    client_t *client;           // --reconnect
} s_target_t;

#define PLACEHOLDER_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static int s_option (int opt, const char *arg, void *target_p, char **cause);
static int s_option_number (int opt, const char *arg, mt_spec_t *spec, char **cause);
static int s_option_enum (int opt, const char *arg, mt_spec_t *spec, char **cause);
static int s_set_string (char **field, const char *value, char **cause);
static int s_parse_hidden (const char *arg, mt_spec_t *spec, char **cause);
static int s_parse_features (const char *arg, mt_spec_t *spec, char **cause);
static int s_parse_names (const char *flag, const char *arg, bool empty_ok, int max,
                          char ***names, int *count, char **cause);
static int s_option_columns (int opt, const char *arg, mt_spec_t *spec, char **cause);
static int s_check_kinds (const mt_spec_t *spec, const dataset_columns_t *columns,
                          const char *path, char **cause);
static int s_check_bare (const mt_spec_t *spec, const char *path, const model_t *model,
                         char **cause);
static int s_check_special (const char *flag, const char *path, char **cause);
static int s_check_header (const mt_spec_t *spec, const char *path,
                           dataset_columns_t **columns, char **cause);
static bool s_is_input (const mt_spec_t *spec, const dataset_columns_t *columns,
                        const char *name);
static bool s_has_column (const dataset_columns_t *columns, const char *name);
static int s_check_init (const mt_spec_t *spec, const submit_opts_t *opts,
                         const dataset_columns_t *columns, char **cause);
static int s_check_init_columns (const mt_spec_t *spec, const submit_opts_t *opts,
                                 const dataset_columns_t *columns, const model_t *model,
                                 char **cause);
static int s_init_kinds (const mt_spec_t *spec, const dataset_t *ds, const encode_t *plan,
                         FILE *diff);
static int s_plan_column (const encode_t *plan, const char *name);
static dataset_t *s_load_data (const mt_spec_t *spec, const char *path);
static bool s_same_hidden (const mt_spec_t *spec, const mlp_t *mlp);
static const char *s_hidden_text (const mlp_t *mlp, const mt_spec_t *spec, char *buf);
static int s_check_val (const mt_spec_t *spec, const submit_opts_t *opts,
                        const dataset_columns_t *train, char **cause);
static int s_hash_local (const char *flag, const char *path, char *hash, int64_t *size,
                         char **cause);
static int s_upload (conn_t *conn, const char *path, const char *hash, int64_t size,
                     char **cause);
static int s_submit (client_t *client, conn_t *conn, const mt_spec_t *spec,
                     const submit_opts_t *opts, int64_t *job, char **cause);
static int s_exec (client_t *client, int argc, char **argv);
static int s_check_class_names (const mt_spec_t *spec, const char *path, char **cause);

const cmd_entry_t cmd_submit_entry = {
    .name = "submit",
    .usage = "(--data FILE | --data-path PATH) --target COLUMN [options]",
    .summary = "submit a training job; prints its id (--watch: then follows it)",
    .help =
        "  --data FILE            a local CSV or JSONL file, uploaded to the broker once\n"
        "  --data-path PATH       a file every worker can read itself (shared storage)\n"
        "  --format csv|jsonl     the data's format (default: by file name, then content)\n"
        "  --target COLUMN        the column to predict (required)\n"
        "  --features A,B,C       the input columns (default: all but the target)\n"
        "  --task regression|classification          (default regression)\n"
        "  --hidden 64,64         hidden layer widths; '' or 0 for none (default 16)\n"
        "  --activation relu|tanh|sigmoid            (default relu)\n"
        "  --optimizer sgd|adam|adamw                (default adam)\n"
        "  --lr R                 learning rate (default 0.01)\n"
        "  --momentum R           sgd momentum, [0, 1) (default 0)\n"
        "  --nesterov             Nesterov momentum (sgd, with --momentum above 0)\n"
        "  --weight-decay R       L2 (sgd, adam) or decoupled (adamw) decay (default 0)\n"
        "  --beta1 R, --beta2 R, --eps R             adam and adamw (0.9, 0.999, 1e-8)\n"
        "  --schedule constant|cosine                learning-rate schedule (default constant)\n"
        "  --warmup-steps N       linear warm-up steps (default 0)\n"
        "  --batch-size N         rows per step (default 16)\n"
        "  --epochs N             passes over the data (default 100)\n"
        "  --seed N               random seed (default 0)\n"
        "  --val-split R          fraction held out for validation, [0, 0.9] (default 0.2)\n"
        "  --no-shuffle           keep the row order in every epoch\n"
        "  --patience N           stop after N epochs without validation gain (default 0: off)\n"
        "  --categorical A,B      columns read as categories, even when they hold numbers\n"
        "  --numeric A,B          columns that must hold numbers (or missing values)\n"
        "  --ignore A,B           columns left out (ids, free text)\n"
        "  --na-values T,U        the tokens of a missing value (default: '',NA,N/A,NaN,null,?)\n"
        "  --max-categories K     levels kept per categorical column, the most frequent;\n"
        "                         the rest go to (other) (default 64)\n"
        "  --on-missing-target skip|error            rows without a target (default skip)\n"
        "  --init MODEL           warm-start from a local model file (uploaded): an mt model,\n"
        "                         matched by input and class names, or a bare PyTorch\n"
        "                         state dict whose shapes fit\n"
        "  --class-weight W       classification: 'balanced' (n / (k count)) or a=2,b=1 by\n"
        "                         class name (others 1): weighted cross-entropy\n"
        "  --metric NAME          what early stopping and the best epoch use: val_loss\n"
        "                         (default); accuracy, balanced_accuracy, f1_macro, log_loss,\n"
        "                         roc_auc (classification); r2, mae, rmse (regression)\n"
        "  --val-data FILE        a fixed validation file (uploaded; --val-split unused)\n"
        "  --stratify             the validation split keeps the class proportions\n"
        "  --checkpoint-every N   epochs between checkpoints (default 10; 0: only on stop); the\n"
        "                         worker keeps them at least 10 s apart (mtworker\n"
        "                         --checkpoint-min-ms)\n"
        "  --priority N           higher runs first, -1000 to 1000 (default 0)\n"
        "  --max-retries N        attempts after the first, 0 to 100 (default 3)\n"
        "  --time-limit SECONDS   wall-clock limit for the whole job (default 0: none)\n"
        "  --name NAME            a name for the job\n"
        "  --key K                an idempotency key: submitting it again returns the same job\n"
        "  --watch                follow the job like `mtclient watch` after submitting (with\n"
        "                         --json: NDJSON, the {\"id\", \"existing\"} line first)\n"
        "  --reconnect S          --watch: keep asking a broker that stopped answering for up\n"
        "                         to S seconds (default 60)\n",
    .exec = s_exec,
};

static int
s_set_string (char **field, const char *value, char **cause)
{
    char *copy = strdup (value);
    if (!copy)
        return mt_fail (cause, "out of memory");
    free (*field);
    *field = copy;
    return 0;
}

//  "64,64" into spec->hidden; "" or "0" for no hidden layer.
static int
s_parse_hidden (const char *arg, mt_spec_t *spec, char **cause)
{
    spec->n_hidden = 0;
    if (*arg == 0 || strcmp (arg, "0") == 0)
        return 0;
    char *copy = strdup (arg);
    if (!copy)
        return mt_fail (cause, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item && rc == 0;
         item = strtok_r (NULL, ",", &save)) {
        int64_t width;
        if (spec->n_hidden == MT_SPEC_MAX_HIDDEN)
            rc = mt_fail (cause, "--hidden: at most %d layers (got '%s')", MT_SPEC_MAX_HIDDEN, arg);
        else
        if (cmd_parse_int ("--hidden", item, 1, MT_SPEC_MAX_WIDTH, &width, cause) == 0)
            spec->hidden [spec->n_hidden++] = (int) width;
        else
            rc = mt_fail (cause, "--hidden: '%s' is not a list of layer widths from 1 to %d "
                          "like 64,64 ('' or 0 for none)", arg, MT_SPEC_MAX_WIDTH);
    }
    if (rc == 0 && (spec->n_hidden == 0 || arg [strlen (arg) - 1] == ',' || arg [0] == ','
                    || strstr (arg, ",,")))
        rc = mt_fail (cause, "--hidden: '%s' has an empty layer width; write it like 64,64", arg);
    free (copy);
    return rc;
}

//  "a,b,c" into spec->features.
static int
s_parse_features (const char *arg, mt_spec_t *spec, char **cause)
{
    for (int i = 0; i < spec->n_features; i++)
        free (spec->features [i]);
    free (spec->features);
    spec->features = NULL;
    spec->n_features = 0;
    size_t count = 1;
    for (const char *p = arg; *p; p++)
        count += *p == ',';
    if (*arg == 0 || count > MT_SPEC_MAX_FEATURES)
        return mt_fail (cause, "--features: give 1 to %d column names separated by commas",
                        MT_SPEC_MAX_FEATURES);
    spec->features = calloc (count, sizeof (char *));
    if (!spec->features)
        return mt_fail (cause, "out of memory");
    const char *start = arg;
    for (size_t i = 0; i < count; i++) {
        const char *end = strchr (start, ',');
        size_t len = end ? (size_t) (end - start) : strlen (start);
        if (len == 0)
            return mt_fail (cause, "--features: '%s' has an empty column name", arg);
        spec->features [i] = strndup (start, len);
        if (!spec->features [i])
            return mt_fail (cause, "out of memory");
        spec->n_features = (int) i + 1;
        start = end ? end + 1 : start + len;
    }
    return 0;
}

//  "a,b" into a new list; with empty_ok, empty items are kept ("" is a token).
static int
s_parse_names (const char *flag, const char *arg, bool empty_ok, int max, char ***names,
               int *count, char **cause)
{
    for (int i = 0; *names && i < *count; i++)
        free ((*names) [i]);
    free (*names);
    *names = NULL;
    *count = 0;
    size_t n = 1;
    for (const char *p = arg; *p; p++)
        n += *p == ',';
    if ((!empty_ok && *arg == 0) || n > (size_t) max)
        return mt_fail (cause, "%s: give 1 to %d names separated by commas", flag, max);
    *names = calloc (n + 1, sizeof (char *));
    if (!*names)
        return mt_fail (cause, "out of memory");
    const char *start = arg;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr (start, ',');
        size_t len = end ? (size_t) (end - start) : strlen (start);
        if (len == 0 && !empty_ok)
            return mt_fail (cause, "%s: '%s' has an empty column name", flag, arg);
        if (!((*names) [i] = strndup (start, len)))
            return mt_fail (cause, "out of memory");
        *count = (int) i + 1;
        start = end ? end + 1 : start + len;
    }
    return 0;
}

static int
s_option_columns (int opt, const char *arg, mt_spec_t *spec, char **cause)
{
    int64_t value;
    switch (opt) {
        case O_CATEGORICAL:
            return s_parse_names ("--categorical", arg, false, MT_SPEC_MAX_FEATURES,
                                  &spec->categorical, &spec->n_categorical, cause);
        case O_NUMERIC:
            return s_parse_names ("--numeric", arg, false, MT_SPEC_MAX_FEATURES,
                                  &spec->numeric, &spec->n_numeric, cause);
        case O_IGNORE:
            return s_parse_names ("--ignore", arg, false, MT_SPEC_MAX_FEATURES,
                                  &spec->ignore, &spec->n_ignore, cause);
        case O_NA_VALUES:
            return s_parse_names ("--na-values", arg, true, MT_SPEC_MAX_NA_VALUES,
                                  &spec->na_values, &spec->n_na_values, cause);
        case O_MAX_CATEGORIES:
            if (cmd_parse_int ("--max-categories", arg, 1, MT_SPEC_MAX_CATEGORIES, &value, cause))
                return -1;
            spec->max_categories = (int) value;
            return 0;
        default:
            if (mt_missing_target_parse (arg, &spec->on_missing_target))
                return mt_fail (cause, "--on-missing-target: '%s' is not one of skip, error",
                                arg);
            return 0;
    }
}

static int
s_option_enum (int opt, const char *arg, mt_spec_t *spec, char **cause)
{
    int rc;
    const char *flag, *names;
    switch (opt) {
        case O_FORMAT:
            rc = mt_format_parse (arg, &spec->format);
            flag = "--format", names = "csv, jsonl, auto";
            break;
        case O_TASK:
            rc = mt_task_parse (arg, &spec->task);
            flag = "--task", names = "regression, classification";
            break;
        case O_ACTIVATION:
            rc = mt_act_parse (arg, &spec->activation);
            flag = "--activation", names = "relu, tanh, sigmoid";
            break;
        case O_OPTIMIZER:
            rc = mt_opt_parse (arg, &spec->optimizer);
            flag = "--optimizer", names = "sgd, adam, adamw";
            break;
        default:
            rc = mt_schedule_parse (arg, &spec->schedule);
            flag = "--schedule", names = "constant, cosine";
            break;
    }
    if (rc)
        return mt_fail (cause, "%s: '%s' is not one of %s", flag, arg, names);
    return 0;
}

static int
s_option_number (int opt, const char *arg, mt_spec_t *spec, char **cause)
{
    struct { int opt; const char *flag; double *real; int *integer; int64_t *wide; } fields [] = {
        { O_LR, "--lr", &spec->lr, NULL, NULL },
        { O_MOMENTUM, "--momentum", &spec->momentum, NULL, NULL },
        { O_WEIGHT_DECAY, "--weight-decay", &spec->weight_decay, NULL, NULL },
        { O_BETA1, "--beta1", &spec->beta1, NULL, NULL },
        { O_BETA2, "--beta2", &spec->beta2, NULL, NULL },
        { O_EPS, "--eps", &spec->eps, NULL, NULL },
        { O_VAL_SPLIT, "--val-split", &spec->val_split, NULL, NULL },
        { O_BATCH, "--batch-size", NULL, &spec->batch_size, NULL },
        { O_EPOCHS, "--epochs", NULL, &spec->epochs, NULL },
        { O_PATIENCE, "--patience", NULL, &spec->patience, NULL },
        { O_CHECKPOINT, "--checkpoint-every", NULL, &spec->checkpoint_every, NULL },
        { O_PRIORITY, "--priority", NULL, &spec->priority, NULL },
        { O_RETRIES, "--max-retries", NULL, &spec->max_retries, NULL },
        { O_WARMUP, "--warmup-steps", NULL, NULL, &spec->warmup_steps },
        { O_TIME_LIMIT, "--time-limit", NULL, NULL, &spec->time_limit_s },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++) {
        if (fields [i].opt != opt)
            continue;
        if (fields [i].real)
            return cmd_parse_real (fields [i].flag, arg, -HUGE_VAL, HUGE_VAL, fields [i].real, cause);
        int64_t value;
        int64_t lo = fields [i].integer ? INT_MIN : INT64_MIN;
        int64_t hi = fields [i].integer ? INT_MAX : INT64_MAX;
        if (cmd_parse_int (fields [i].flag, arg, lo, hi, &value, cause))
            return -1;
        if (fields [i].integer)
            *fields [i].integer = (int) value;
        else
            *fields [i].wide = value;
        return 0;
    }
    return mt_fail (cause, "submit: unknown option");
}

static int
s_option (int opt, const char *arg, void *target_p, char **cause)
{
    s_target_t *target = target_p;
    mt_spec_t *spec = target->spec;
    submit_opts_t *opts = target->opts;
    int64_t seed;
    switch (opt) {
        case O_DATA: opts->data_file = arg; return 0;
        case O_INIT: opts->init_file = arg; return 0;
        case O_VAL_DATA: opts->val_file = arg; return 0;
        case O_STRATIFY: spec->stratify = true; return 0;
        case O_CLASS_WEIGHT: return mt_spec_parse_class_weight (spec, arg, cause);
        case O_METRIC:
            if (mt_metric_parse (arg, &spec->metric))
                return mt_fail (cause, "--metric: '%s' is not one of val_loss, accuracy,"
                                " balanced_accuracy, f1_macro, log_loss, roc_auc, r2, mae, rmse",
                                arg);
            return 0;
        case O_WATCH: opts->watch = true; return 0;
        case O_RECONNECT: return cmd_parse_reconnect (target->client, arg, cause);
        case O_NESTEROV: spec->nesterov = true; return 0;
        case O_NO_SHUFFLE: spec->shuffle = false; return 0;
        case O_DATA_PATH: return s_set_string (&spec->data_path, arg, cause);
        case O_TARGET: return s_set_string (&spec->target, arg, cause);
        case O_NAME: return s_set_string (&spec->name, arg, cause);
        case O_HIDDEN: return s_parse_hidden (arg, spec, cause);
        case O_FEATURES: return s_parse_features (arg, spec, cause);
        case O_KEY:
            if (*arg == 0 || strlen (arg) > SUBMIT_MAX_KEY)
                return mt_fail (cause, "--key: give 1 to %d bytes", SUBMIT_MAX_KEY);
            opts->key = arg;
            return 0;
        case O_SEED:
            if (cmd_parse_int ("--seed", arg, 0, INT64_MAX, &seed, cause))
                return -1;
            spec->seed = (uint64_t) seed;
            return 0;
        case O_FORMAT: case O_TASK: case O_ACTIVATION: case O_OPTIMIZER: case O_SCHEDULE:
            return s_option_enum (opt, arg, spec, cause);
        case O_CATEGORICAL: case O_NUMERIC: case O_IGNORE: case O_NA_VALUES:
        case O_MAX_CATEGORIES: case O_ON_MISSING_TARGET:
            return s_option_columns (opt, arg, spec, cause);
        default:
            return s_option_number (opt, arg, spec, cause);
    }
}

int
submit_parse (client_t *client, int argc, char **argv, mt_spec_t *spec, submit_opts_t *opts,
              char **cause)
{
    mt_spec_init (spec);
    memset (opts, 0, sizeof *opts);
    s_target_t target = { spec, opts, client };
    char *operands [1];
    int n_operands;
    if (cmd_parse (client, &cmd_submit_entry, argc, argv, "", s_options, s_option, &target,
                   operands, 0, &n_operands, cause))
        return -1;
    //  Validate before touching any file or the network; the files' hashes
    //  are not known yet, so stand-ins take their place
    if (opts->data_file) {
        memcpy (spec->data_hash, PLACEHOLDER_HASH, sizeof spec->data_hash);
        //  Workers name the user's file, not their cache's, in dataset errors
        const char *base = strrchr (opts->data_file, '/');
        free (spec->data_name);
        spec->data_name = strdup (base ? base + 1 : opts->data_file);
    }
    if (opts->init_file)
        memcpy (spec->init_hash, PLACEHOLDER_HASH, sizeof spec->init_hash);
    if (opts->val_file) {
        memcpy (spec->val_data_hash, PLACEHOLDER_HASH, sizeof spec->val_data_hash);
        const char *base = strrchr (opts->val_file, '/');
        free (spec->val_data_name);
        spec->val_data_name = strdup (base ? base + 1 : opts->val_file);
    }
    char *why = NULL;
    if (mt_spec_validate (spec, &why)) {
        client->usage_error = true;
        mt_fail (cause, "submit: %s", why);
        free (why);
        return -1;
    }
    return 0;
}

int
submit_check_data (client_t *client, mt_spec_t *spec, const submit_opts_t *opts, char **cause)
{
    int rc = s_check_special ("--data", opts->data_file, cause)
          || s_check_special ("--val-data", opts->val_file, cause) ? -1 : 0;
    dataset_columns_t *columns = NULL;
    if (rc == 0 && opts->data_file)
        rc = s_check_header (spec, opts->data_file, &columns, cause);
    if (rc == 0 && columns)
        spec->format = columns->format;
    if (rc == 0)
        rc = s_check_init (spec, opts, columns, cause);
    if (rc == 0 && opts->val_file)
        rc = s_check_val (spec, opts, columns, cause);
    if (rc == 0 && columns && spec->n_class_weights > 0)
        rc = s_check_class_names (spec, opts->data_file, cause);
    if (rc)
        client->usage_error = true;
    dataset_columns_destroy (&columns);
    return rc;
}

//  A pipe or a device is read twice (hashed, then uploaded): refused
static int
s_check_special (const char *flag, const char *path, char **cause)
{
    if (!path || !cmd_special_file (path))
        return 0;
    return mt_fail (cause, "%s: %s is not a regular file (a pipe or a device?): it is hashed,"
                    " then uploaded, so it is read twice; save it to a file first", flag, path);
}

//  --data's head: the --target and --features columns, the columns the
//  kind lists name, and one input at least. *columns gets the head
static int
s_check_header (const mt_spec_t *spec, const char *path, dataset_columns_t **columns,
                char **cause)
{
    char *why = NULL;
    *columns = dataset_columns (path, spec->format, &why);
    int rc = *columns ? cmd_require_column (*columns, path, "--target", spec->target, cause)
                      : mt_fail (cause, "--data: %s", why);
    free (why);
    for (int i = 0; rc == 0 && i < spec->n_features; i++)
        rc = cmd_require_column (*columns, path, "--features", spec->features [i], cause);
    if (rc == 0)
        rc = s_check_kinds (spec, *columns, path, cause);
    size_t inputs = 0;
    for (size_t i = 0; rc == 0 && i < (*columns)->count; i++)
        inputs += s_is_input (spec, *columns, (*columns)->names [i]);
    if (rc == 0 && inputs == 0) {
        const char *base = strrchr (path, '/');
        if (spec->n_ignore)
            rc = mt_fail (cause, "--ignore: it leaves no feature column in %s, only the target"
                          " '%s'; ignore fewer columns", base ? base + 1 : path, spec->target);
        else
            rc = mt_fail (cause, "--data: %s has no column but the target '%s'; a model needs"
                          " one input column at least", base ? base + 1 : path, spec->target);
    }
    return rc;
}

//  --class-weight by name: each name a class of the target column. The file
//  is read whole for it, but only when classes are named
static int
s_check_class_names (const mt_spec_t *spec, const char *path, char **cause)
{
    dataset_t *ds = s_load_data (spec, path);
    if (!ds)
        return 0;       // the workers name what is wrong with the file
    int rc = train_check_class_weights (spec, (const char *const *) ds->classes, ds->n_classes,
                                        cause);
    dataset_destroy (&ds);
    return rc;
}

//  Every column --categorical, --numeric and --ignore name is in the file
static int
s_check_kinds (const mt_spec_t *spec, const dataset_columns_t *columns, const char *path,
               char **cause)
{
    struct { const char *flag; char *const *names; int n; } lists [] = {
        { "--categorical", spec->categorical, spec->n_categorical },
        { "--numeric", spec->numeric, spec->n_numeric },
        { "--ignore", spec->ignore, spec->n_ignore },
    };
    for (size_t l = 0; l < sizeof lists / sizeof lists [0]; l++)
        for (int i = 0; i < lists [l].n; i++)
            if (cmd_require_column (columns, path, lists [l].flag, lists [l].names [i], cause))
                return -1;
    return 0;
}

//  True when name is a column this job reads as an input
static bool
s_is_input (const mt_spec_t *spec, const dataset_columns_t *columns, const char *name)
{
    bool listed = !spec->features;
    for (int i = 0; !listed && i < spec->n_features; i++)
        listed = strcmp (spec->features [i], name) == 0;
    for (int i = 0; listed && i < spec->n_ignore; i++)
        listed = strcmp (spec->ignore [i], name) != 0;
    return listed && s_has_column (columns, name) && strcmp (name, spec->target) != 0;
}

//  What the client can tell of an --init model, as the worker would tell
//  it: an mt model's task, its hidden layers, and its raw columns and
//  their kinds against this job's inputs (from the data's header, and
//  from the data itself when the header has a column the model lacks,
//  as the worker may leave such a column out as an id)
static int
s_check_init (const mt_spec_t *spec, const submit_opts_t *opts,
              const dataset_columns_t *columns, char **cause)
{
    if (!opts->init_file)
        return 0;
    char *why = NULL;
    model_t *model = model_load_init (opts->init_file, &why);
    if (!model) {
        mt_fail (cause, "--init: %s", why);
        free (why);
        return -1;
    }
    int rc = 0;
    if (model_is_bare (model))
        rc = s_check_bare (spec, opts->init_file, model, cause);
    else
    if (model_task (model) != spec->task)
        rc = mt_fail (cause, "--init: %s is a %s model, but this job's task is %s",
                      opts->init_file, mt_task_name (model_task (model)),
                      mt_task_name (spec->task));
    else
    if (!s_same_hidden (spec, model_mlp_const (model))) {
        char theirs [256], ours [256];
        rc = mt_fail (cause, "--init: %s has hidden layers '%s', but this job's --hidden is"
                      " '%s' (hidden layers are copied as they are: give --hidden '%s')",
                      opts->init_file, s_hidden_text (model_mlp_const (model), NULL, theirs),
                      s_hidden_text (NULL, spec, ours), theirs);
    }
    else
    if (columns)
        rc = s_check_init_columns (spec, opts, columns, model, cause);
    model_destroy (&model);
    return rc;
}

//  The init model's raw columns against the job's inputs: each one it
//  reads must be an input here; an input it lacks, and a column of
//  another kind, are listed as the worker lists them (train.c's
//  s_input_map)
static int
s_check_init_columns (const mt_spec_t *spec, const submit_opts_t *opts,
                      const dataset_columns_t *columns, const model_t *model, char **cause)
{
    const encode_t *plan = model_plan (model);
    char *list = NULL;
    size_t size = 0, missing = 0;
    FILE *out = open_memstream (&list, &size);
    if (!out)
        return mt_fail (cause, "out of memory");
    for (int c = 0; c < encode_columns (plan); c++)
        if (!s_is_input (spec, columns, encode_column_name (plan, c)))
            fprintf (out, "%s%s", missing++ ? ", " : "", encode_column_name (plan, c));
    fclose (out);
    int rc = 0;
    if (missing)
        rc = mt_fail (cause, "--init: %s reads %zu input column%s this job does not give it: "
                      "%s (inputs are matched by name, never by position)", opts->init_file,
                      missing, missing == 1 ? "" : "s", list ? list : "?");
    free (list);
    if (rc)
        return rc;
    //  An input the model lacks may be a column the worker leaves out (an
    //  id): then the data is read as the worker reads it, for its plan
    dataset_t *ds = NULL;
    for (size_t i = 0; !ds && i < columns->count; i++)
        if (s_is_input (spec, columns, columns->names [i])
        &&  s_plan_column (plan, columns->names [i]) < 0
        &&  !(ds = s_load_data (spec, opts->data_file)))
            return 0;       // the workers name what is wrong with the file
    char *diff = NULL;
    out = open_memstream (&diff, &size);
    if (!out) {
        dataset_destroy (&ds);
        return mt_fail (cause, "out of memory");
    }
    int extra = 0;
    for (int c = 0; ds && c < encode_columns (ds->plan); c++)
        if (s_plan_column (plan, encode_column_name (ds->plan, c)) < 0 && extra++ < 8)
            fprintf (out, "%s'%s'", extra == 1 ? " {" : ", ", encode_column_name (ds->plan, c));
    if (extra)
        fprintf (out, "%s} only in this job's data; (columns)", extra > 8 ? ", ..." : "");
    int kinds = s_init_kinds (spec, ds, plan, out);
    fclose (out);
    if (extra + kinds)
        rc = mt_fail (cause, "--init: %s: inputs and classes are matched by name, and these"
                      " differ:%s", opts->init_file, diff ? diff : "");
    free (diff);
    dataset_destroy (&ds);
    return rc;
}

//  The init model's columns whose kind differs from this job's, listed to
//  diff: this job's kinds from its plan when ds was read, else from
//  --categorical and --numeric alone. Returns how many differ
static int
s_init_kinds (const mt_spec_t *spec, const dataset_t *ds, const encode_t *plan, FILE *diff)
{
    int differ = 0;
    for (int k = 0; k < encode_columns (plan); k++) {
        const char *name = encode_column_name (plan, k);
        int ours = -1;
        if (ds) {
            int c = s_plan_column (ds->plan, name);
            ours = c < 0 ? -1 : (int) encode_column_kind (ds->plan, c);
        }
        for (int i = 0; !ds && i < spec->n_categorical; i++)
            if (strcmp (spec->categorical [i], name) == 0)
                ours = ENCODE_CATEGORICAL;
        for (int i = 0; !ds && i < spec->n_numeric; i++)
            if (strcmp (spec->numeric [i], name) == 0)
                ours = ENCODE_NUMERIC;
        if (ours < 0 || ours == (int) encode_column_kind (plan, k))
            continue;
        differ++;
        fprintf (diff, " '%s' is %s here but %s in the init model (--categorical,"
                 " --numeric);", name, ours == ENCODE_CATEGORICAL ? "categorical" : "numeric",
                 ours == ENCODE_CATEGORICAL ? "numeric" : "categorical");
    }
    return differ;
}

//  Where the raw column name is in plan, or -1
static int
s_plan_column (const encode_t *plan, const char *name)
{
    for (int c = 0; c < encode_columns (plan); c++)
        if (strcmp (encode_column_name (plan, c), name) == 0)
            return c;
    return -1;
}

//  The data read whole as the workers read it, or NULL when it cannot be
//  (the workers name why)
static dataset_t *
s_load_data (const mt_spec_t *spec, const char *path)
{
    char *why = NULL;
    dataset_t *ds = dataset_load_spec (path, spec, &why);
    free (why);
    return ds;
}

//  True when the mlp's hidden layers are the job's --hidden
static bool
s_same_hidden (const mt_spec_t *spec, const mlp_t *mlp)
{
    bool same = mlp_layers (mlp) == spec->n_hidden + 1;
    for (int l = 0; same && l < spec->n_hidden; l++)
        same = mlp_layer_out (mlp, l) == spec->hidden [l];
    return same;
}

//  The hidden widths of mlp, or else of spec, as --hidden takes them
//  ("16,8"; "" for none), into buf (256 bytes)
static const char *
s_hidden_text (const mlp_t *mlp, const mt_spec_t *spec, char *buf)
{
    int n = mlp ? mlp_layers (mlp) - 1 : spec->n_hidden;
    size_t used = 0;
    buf [0] = 0;
    for (int l = 0; l < n && used < 256; l++)
        used += (size_t) snprintf (buf + used, 256 - used, "%s%d", l ? "," : "",
                                   mlp ? mlp_layer_out (mlp, l) : spec->hidden [l]);
    return buf;
}

//  A bare state dict's hidden layers are the job's --hidden (its inputs and
//  outputs depend on the data, which the worker checks)
static int
s_check_bare (const mt_spec_t *spec, const char *path, const model_t *model, char **cause)
{
    const mlp_t *mlp = model_mlp_const (model);
    if (s_same_hidden (spec, mlp))
        return 0;
    char theirs [256], ours [256];
    return mt_fail (cause, "--init: %s is a bare state dict whose hidden layers are '%s', but"
                    " this job's --hidden is '%s' (a bare state dict is applied by position:"
                    " its shapes must be the job's)", path, s_hidden_text (mlp, NULL, theirs),
                    s_hidden_text (NULL, spec, ours));
}

//  --val-data's head, read as the workers read it (by its content): the
//  training data's format, the target, and every input of this job (a
//  column the workers leave out, an id, need not be there)
static int
s_check_val (const mt_spec_t *spec, const submit_opts_t *opts, const dataset_columns_t *train,
             char **cause)
{
    const char *path = opts->val_file, *base = strrchr (path, '/');
    char *why = NULL;
    dataset_columns_t *columns = dataset_columns (path, MT_FORMAT_AUTO, &why);
    int rc = columns ? 0 : mt_fail (cause, "--val-data: %s", why);
    free (why);
    mt_format_t want = train ? train->format : spec->format;
    if (rc == 0 && want != MT_FORMAT_AUTO && columns->format != want)
        rc = mt_fail (cause, "--val-data: %s reads as %s, but the training data as %s; give"
                      " both in one format", base ? base + 1 : path,
                      mt_format_name (columns->format), mt_format_name (want));
    if (rc == 0)
        rc = cmd_require_column (columns, path, "--val-data", spec->target, cause);
    for (int i = 0; rc == 0 && i < spec->n_features; i++)
        rc = cmd_require_column (columns, path, "--val-data", spec->features [i], cause);
    dataset_t *ds = NULL;
    for (size_t i = 0; rc == 0 && !spec->features && train && i < train->count; i++) {
        const char *name = train->names [i];
        if (!s_is_input (spec, train, name) || s_has_column (columns, name))
            continue;
        if (!ds && !(ds = s_load_data (spec, opts->data_file)))
            break;      // the workers name what is wrong with the training data
        if (ds->plan && s_plan_column (ds->plan, name) >= 0)
            rc = cmd_require_column (columns, path, "--val-data", name, cause);
    }
    dataset_destroy (&ds);
    dataset_columns_destroy (&columns);
    return rc;
}

static bool
s_has_column (const dataset_columns_t *columns, const char *name)
{
    for (size_t i = 0; i < columns->count; i++)
        if (strcmp (columns->names [i], name) == 0)
            return true;
    return false;
}

static int
s_hash_local (const char *flag, const char *path, char *hash, int64_t *size, char **cause)
{
    char *why = NULL;
    if (blob_hash_file (path, hash, size, &why)) {
        mt_fail (cause, "%s: %s", flag, why);
        free (why);
        return -1;
    }
    if (*size == 0)
        return mt_fail (cause, "%s: '%s' is empty", flag, path);
    mt_info ("submit: %s is %lld bytes, sha256 %s", path, (long long) *size, hash);
    return 0;
}

static int
s_upload (conn_t *conn, const char *path, const char *hash, int64_t size, char **cause)
{
    char *why = NULL;
    int64_t started = mt_mono_ms ();
    if (conn_upload (conn, path, hash, size, &why)) {
        mt_fail (cause, "cannot upload '%s': %s", path, why);
        free (why);
        return -1;
    }
    mt_info ("submit: uploaded %s in %.1f s", path, (mt_mono_ms () - started) / 1000.0);
    return 0;
}

static int
s_submit (client_t *client, conn_t *conn, const mt_spec_t *spec, const submit_opts_t *opts,
          int64_t *job, char **cause)
{
    json_t *value = mt_spec_to_value (spec);
    if (!value)
        return mt_fail (cause, "out of memory");
    mt_msg_t *request = mt_msg_new ("SUBMIT");
    json_object_set_new (mt_msg_body (request), "spec", value);
    if (opts->key)
        json_object_set_new (mt_msg_body (request), "key", json_string (opts->key));
    mt_msg_t *reply = NULL;
    if (conn_call (conn, &request, "SUBMITTED", &reply, cause))
        return -1;
    bool existing = false;
    int rc = mt_msg_get_int (reply, "job", 1, INT64_MAX, job, cause);
    json_t *flag = json_object_get (mt_msg_body (reply), "existing");
    existing = json_is_true (flag);
    mt_msg_destroy (&reply);
    if (rc)
        return -1;
    if (client->json) {
        json_t *out = json_pack ("{sIsb}", "id", (json_int_t) *job, "existing", existing);
        if (opts->watch)
            cmd_print_json_line (out);      // the first line of the watch's NDJSON
        else
            cmd_print_json (out);
        json_decref (out);
    }
    else
        printf ("%lld\n", (long long) *job);
    fflush (stdout);
    if (existing)
        mt_info ("submit: key '%s' names job %lld already; nothing new was submitted",
                 opts->key ? opts->key : "", (long long) *job);
    return 0;
}

int
submit_hash_files (client_t *client, mt_spec_t *spec, const submit_opts_t *opts,
                   submit_sizes_t *sizes, char **cause)
{
    memset (sizes, 0, sizeof *sizes);
    if ((opts->data_file && s_hash_local ("--data", opts->data_file, spec->data_hash, &sizes->data,
                                          cause))
    ||  (opts->init_file && s_hash_local ("--init", opts->init_file, spec->init_hash, &sizes->init,
                                          cause))
    ||  (opts->val_file && s_hash_local ("--val-data", opts->val_file, spec->val_data_hash,
                                         &sizes->val, cause))) {
        client->usage_error = true;     // a file that cannot be used; nothing was sent
        return -1;
    }
    return 0;
}

int
submit_upload_files (conn_t *conn, const mt_spec_t *spec, const submit_opts_t *opts,
                     const submit_sizes_t *sizes, char **cause)
{
    if ((opts->data_file && s_upload (conn, opts->data_file, spec->data_hash, sizes->data, cause))
    ||  (opts->init_file && s_upload (conn, opts->init_file, spec->init_hash, sizes->init, cause))
    ||  (opts->val_file && s_upload (conn, opts->val_file, spec->val_data_hash, sizes->val,
                                     cause)))
        return -1;
    return 0;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    mt_spec_t spec;
    submit_opts_t opts;
    submit_sizes_t sizes;
    char *cause = NULL;
    conn_t *conn = NULL;
    int64_t job = 0;
    int code = CMD_EXIT_ERROR;
    if (submit_parse (client, argc, argv, &spec, &opts, &cause)
    ||  submit_check_data (client, &spec, &opts, &cause)
    ||  submit_hash_files (client, &spec, &opts, &sizes, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        goto done;
    if (submit_upload_files (conn, &spec, &opts, &sizes, &cause)
    ||  s_submit (client, conn, &spec, &opts, &job, &cause))
        goto fail;
    code = opts.watch ? cmd_watch_job (client, conn, job) : CMD_EXIT_OK;
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    free (cause);
    conn_destroy (&conn);
    mt_spec_clear (&spec);
    return code;
}
