/*  test_spec - spec defaults, validation messages, and the JSON form both ways  */
#include "mt/spec.h"
#include "mt/msg.h"
#include "testbroker.h"
#include "testutil.h"

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef streq
#define streq(a, b) (strcmp ((a), (b)) == 0)
#endif

#define HASH_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void s_valid_spec (mt_spec_t *spec);
static void s_full_spec (mt_spec_t *spec);
static void s_expect_invalid (mt_spec_t *spec, const char *field, const char *flag);
static void s_expect_bad_json (const char *json, const char *needle);
static bool s_spec_equal (const mt_spec_t *a, const mt_spec_t *b);

//  The smallest spec that validates: defaults plus data and target.
static void
s_valid_spec (mt_spec_t *spec)
{
    mt_spec_init (spec);
    strcpy (spec->data_hash, HASH_A);
    spec->target = strdup ("y");
}

//  A spec with every field away from its default.
static void
s_full_spec (mt_spec_t *spec)
{
    mt_spec_init (spec);
    spec->name = strdup ("run-1.a_b: c");
    spec->data_path = strdup ("/data/\xc3\xa9t\xc3\xa9 files/train.jsonl");
    spec->data_name = strdup ("train set.jsonl");
    spec->format = MT_FORMAT_JSONL;
    spec->target = strdup ("label \xe2\x9c\x93");
    spec->n_features = 3;
    spec->features = calloc (3, sizeof (char *));
    spec->features [0] = strdup ("a");
    spec->features [1] = strdup ("b c");
    spec->features [2] = strdup ("\xce\xbb");
    spec->task = MT_TASK_CLASSIFICATION;
    spec->n_hidden = MT_SPEC_MAX_HIDDEN;
    for (int i = 0; i < MT_SPEC_MAX_HIDDEN; i++)
        spec->hidden [i] = i == 0 ? MT_SPEC_MAX_WIDTH : i + 1;
    spec->activation = MT_ACT_TANH;
    spec->optimizer = MT_OPT_SGD;
    spec->lr = 0.1234567890123456789;
    spec->momentum = 0.9;
    spec->nesterov = true;
    spec->weight_decay = 1e-4;
    spec->beta1 = 0.8;
    spec->beta2 = 0.99;
    spec->eps = 1e-7;
    spec->schedule = MT_SCHEDULE_COSINE;
    spec->warmup_steps = 500;
    spec->batch_size = 64;
    spec->epochs = 7;
    spec->seed = (uint64_t) INT64_MAX;
    spec->val_split = 0.15;
    spec->shuffle = false;
    spec->patience = 3;
    strcpy (spec->init_hash, HASH_B);
    spec->checkpoint_every = 2;
    spec->priority = -1000;
    spec->max_retries = 100;
    spec->time_limit_s = 3600;
}

static bool
s_spec_equal (const mt_spec_t *a, const mt_spec_t *b)
{
#define SAME_STR(f) ((!a->f && !b->f) || (a->f && b->f && strcmp (a->f, b->f) == 0))
    if (!SAME_STR (name) || !SAME_STR (data_path) || !SAME_STR (target) || !SAME_STR (data_name)
    ||  strcmp (a->data_hash, b->data_hash) || strcmp (a->init_hash, b->init_hash)
    ||  a->n_features != b->n_features || (!a->features != !b->features)
    ||  a->n_hidden != b->n_hidden)
        return false;
    for (int i = 0; i < a->n_features; i++)
        if (strcmp (a->features [i], b->features [i]))
            return false;
    for (int i = 0; i < a->n_hidden; i++)
        if (a->hidden [i] != b->hidden [i])
            return false;
    return a->format == b->format && a->task == b->task && a->activation == b->activation
        && a->optimizer == b->optimizer && a->lr == b->lr && a->momentum == b->momentum
        && a->nesterov == b->nesterov && a->weight_decay == b->weight_decay
        && a->beta1 == b->beta1 && a->beta2 == b->beta2 && a->eps == b->eps
        && a->schedule == b->schedule && a->warmup_steps == b->warmup_steps
        && a->batch_size == b->batch_size && a->epochs == b->epochs && a->seed == b->seed
        && a->val_split == b->val_split && a->shuffle == b->shuffle
        && a->patience == b->patience && a->checkpoint_every == b->checkpoint_every
        && a->priority == b->priority && a->max_retries == b->max_retries
        && a->time_limit_s == b->time_limit_s;
#undef SAME_STR
}

//  Validation must fail with a cause naming the field and its flag; clears spec.
static void
s_expect_invalid (mt_spec_t *spec, const char *field, const char *flag)
{
    char *cause = NULL;
    CHECK_MSG (mt_spec_validate (spec, &cause) == -1, "%s (%s) passed validation", field, flag);
    CHECK_STR_CONTAINS (cause, field);
    if (flag)
        CHECK_STR_CONTAINS (cause, flag);
    CHECK (mt_spec_validate (spec, NULL) == -1);    // cause is optional
    free (cause);
    mt_spec_clear (spec);
}

//  The spec module refuses root (taken) with needle in its cause
static void
s_expect_bad_value (json_t *root, const char *needle)
{
    mt_spec_t spec;
    char *cause = NULL;
    CHECK (mt_spec_from_value (&spec, root, &cause) == -1);
    CHECK_STR_CONTAINS (cause, needle);
    free (cause);
    json_decref (root);
}

static void
s_expect_bad_json (const char *json, const char *needle)
{
    mt_spec_t spec;
    char *cause = NULL;
    CHECK_MSG (mt_spec_from_json (&spec, json, &cause) == -1, "accepted %s", json);
    CHECK_STR_CONTAINS (cause, needle);
    //  a failed parse leaves the defaults and nothing to free
    CHECK (spec.name == NULL && spec.target == NULL && spec.features == NULL);
    CHECK (spec.epochs == 100 && spec.n_hidden == 1);
    free (cause);
}

static void
test_defaults (void)
{
    mt_spec_t spec;
    memset (&spec, 0x5a, sizeof spec);
    mt_spec_init (&spec);
    CHECK (spec.name == NULL && spec.data_path == NULL && spec.target == NULL);
    CHECK (spec.data_name == NULL);
    CHECK (spec.features == NULL && spec.n_features == 0);
    CHECK (spec.data_hash [0] == 0 && spec.init_hash [0] == 0);
    CHECK (spec.format == MT_FORMAT_AUTO && spec.task == MT_TASK_REGRESSION);
    CHECK (spec.n_hidden == 1 && spec.hidden [0] == 16);
    CHECK (spec.activation == MT_ACT_RELU && spec.optimizer == MT_OPT_ADAM);
    CHECK (spec.lr == 0.01 && spec.momentum == 0 && !spec.nesterov && spec.weight_decay == 0);
    CHECK (spec.beta1 == 0.9 && spec.beta2 == 0.999 && spec.eps == 1e-8);
    CHECK (spec.schedule == MT_SCHEDULE_CONSTANT && spec.warmup_steps == 0);
    CHECK (spec.batch_size == 16 && spec.epochs == 100 && spec.seed == 0);
    CHECK (spec.val_split == 0.2 && spec.shuffle && spec.patience == 0);
    CHECK (spec.checkpoint_every == 10 && spec.priority == 0 && spec.max_retries == 3);
    CHECK (spec.time_limit_s == 0);

    //  the defaults alone lack data and target
    char *cause = NULL;
    CHECK (mt_spec_validate (&spec, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "--data");
    s_valid_spec (&spec);
    CHECK_MSG (mt_spec_validate (&spec, &cause) == 0, "%s", cause);
    mt_spec_clear (&spec);
    mt_spec_clear (&spec);              // clearing twice is safe
    CHECK (spec.target == NULL && spec.epochs == 100);
    free (cause);
}

static void
test_round_trip (void)
{
    mt_spec_t spec, back, copy;
    s_full_spec (&spec);
    char *cause = NULL;
    CHECK_MSG (mt_spec_validate (&spec, &cause) == 0, "%s", cause);
    //  data_path and data_hash are exclusive: round-trip each form
    for (int form = 0; form < 2; form++) {
        if (form == 1) {
            free (spec.data_path);
            spec.data_path = NULL;
            strcpy (spec.data_hash, HASH_A);
        }
        char *json = mt_spec_to_json (&spec);
        CHECK (json);
        CHECK_MSG (mt_spec_from_json (&back, json, &cause) == 0, "%s: %s", cause, json);
        CHECK_MSG (s_spec_equal (&spec, &back), "differs after %s", json);
        char *again = mt_spec_to_json (&back);
        CHECK (streq (json, again));
        free (again);
        free (json);
        mt_spec_clear (&back);
    }
    CHECK (mt_spec_copy (&copy, &spec) == 0);
    CHECK (s_spec_equal (&spec, &copy));
    CHECK (copy.features != spec.features && copy.target != spec.target);
    mt_spec_clear (&spec);
    CHECK (copy.features && streq (copy.features [2], "\xce\xbb"));   // deep, not shared
    mt_spec_clear (&copy);

    //  no hidden layers round-trips; an empty feature list is refused (it would
    //  leave the model no input), naming the flag
    s_valid_spec (&spec);
    spec.n_hidden = 0;
    char *json = mt_spec_to_json (&spec);
    CHECK_MSG (mt_spec_from_json (&back, json, &cause) == 0, "%s", cause);
    CHECK (s_spec_equal (&spec, &back));
    CHECK (strstr (json, "\"hidden\":[]"));
    free (json);
    mt_spec_clear (&back);
    spec.features = calloc (1, sizeof (char *));
    json = mt_spec_to_json (&spec);
    CHECK (mt_spec_from_json (&back, json, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "--features");
    free (json);
    mt_spec_clear (&spec);

    //  missing fields keep their defaults
    CHECK (mt_spec_from_json (&spec, "{\"data_path\": \"d.csv\", \"target\": \"y\"}", &cause) == 0);
    CHECK (spec.epochs == 100 && spec.lr == 0.01 && spec.features == NULL);
    CHECK (streq (spec.data_path, "d.csv"));
    mt_spec_clear (&spec);
    //  an integer where a real goes is fine
    CHECK (mt_spec_from_json (&spec, "{\"data_path\": \"d\", \"target\": \"y\", \"lr\": 1}", &cause) == 0);
    CHECK (spec.lr == 1.0);
    mt_spec_clear (&spec);
    free (cause);
}

//  mt_spec_to_value is the one writer: the text form is its dump, a value
//  parses back to the same spec, and a partial spec comes back whole
static void
test_to_value (void)
{
    mt_spec_t spec, back;
    s_full_spec (&spec);
    char *cause = NULL;
    json_t *value = mt_spec_to_value (&spec);
    CHECK (json_is_object (value));
    char *json = mt_spec_to_json (&spec);
    json_t *parsed = json_loads (json, 0, NULL);
    CHECK (json_equal (value, parsed));
    char *dumped = json_dumps (value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (17));
    CHECK_STR_EQ (dumped, json);
    free (dumped);
    json_decref (parsed);
    free (json);
    CHECK_MSG (mt_spec_from_value (&back, value, &cause) == 0, "%s", cause);
    CHECK (s_spec_equal (&spec, &back));
    mt_spec_clear (&back);
    //  typed values, not text: the seed an integer, the lr a real, lists as arrays
    CHECK (json_integer_value (json_object_get (value, "seed")) == INT64_MAX);
    CHECK (json_is_real (json_object_get (value, "lr")));
    CHECK (json_array_size (json_object_get (value, "hidden")) == MT_SPEC_MAX_HIDDEN);
    CHECK (streq (json_string_value (json_array_get (json_object_get (value, "features"), 1)),
                  "b c"));
    CHECK (streq (json_string_value (json_object_get (value, "task")), "classification"));
    json_decref (value);
    mt_spec_clear (&spec);

    //  The defaults are written out; what is not set is left out
    CHECK (mt_spec_from_json (&spec, "{\"data_hash\": \"" HASH_A "\", \"target\": \"y\"}",
                              &cause) == 0);
    value = mt_spec_to_value (&spec);
    CHECK (json_integer_value (json_object_get (value, "epochs")) == 100);
    CHECK (json_real_value (json_object_get (value, "lr")) == 0.01);
    CHECK (json_integer_value (json_object_get (value, "max_retries")) == 3);
    CHECK (streq (json_string_value (json_object_get (value, "optimizer")), "adam"));
    CHECK (streq (json_string_value (json_object_get (value, "format")), "auto"));
    CHECK (json_is_true (json_object_get (value, "shuffle")));
    CHECK (json_integer_value (json_array_get (json_object_get (value, "hidden"), 0)) == 16);
    const char *absent [] = { "name", "data_path", "data_name", "features", "init_hash",
                              "categorical", "numeric", "ignore", "na_values" };
    for (size_t i = 0; i < sizeof absent / sizeof absent [0]; i++)
        CHECK_MSG (!json_object_get (value, absent [i]), "%s written", absent [i]);
    CHECK (json_integer_value (json_object_get (value, "max_categories")) == 64);
    CHECK (streq (json_string_value (json_object_get (value, "on_missing_target")), "skip"));
    CHECK (json_object_size (value) == 28);
    json_decref (value);
    mt_spec_clear (&spec);
    free (cause);
}

static void
test_validation (void)
{
    mt_spec_t spec;
    s_valid_spec (&spec); spec.lr = 0;              s_expect_invalid (&spec, "lr", "--lr");
    s_valid_spec (&spec); spec.lr = -1;             s_expect_invalid (&spec, "lr", "--lr");
    s_valid_spec (&spec); spec.lr = NAN;            s_expect_invalid (&spec, "lr", "--lr");
    s_valid_spec (&spec); spec.lr = INFINITY;       s_expect_invalid (&spec, "lr", "--lr");
    s_valid_spec (&spec); spec.lr = 1e300;          s_expect_invalid (&spec, "lr", "--lr");
    s_valid_spec (&spec); spec.momentum = 1;        s_expect_invalid (&spec, "momentum", "--momentum");
    s_valid_spec (&spec); spec.momentum = -0.1;     s_expect_invalid (&spec, "momentum", "--momentum");
    s_valid_spec (&spec); spec.momentum = NAN;      s_expect_invalid (&spec, "momentum", "--momentum");
    s_valid_spec (&spec); spec.weight_decay = -1;   s_expect_invalid (&spec, "weight_decay", "--weight-decay");
    s_valid_spec (&spec); spec.beta1 = 1;           s_expect_invalid (&spec, "beta1", "--beta1");
    s_valid_spec (&spec); spec.beta2 = 1;           s_expect_invalid (&spec, "beta2", "--beta2");
    s_valid_spec (&spec); spec.eps = 0;             s_expect_invalid (&spec, "eps", "--eps");
    //  nesterov: needs sgd and momentum
    s_valid_spec (&spec); spec.nesterov = true;     s_expect_invalid (&spec, "nesterov", "--nesterov");
    s_valid_spec (&spec); spec.nesterov = true; spec.optimizer = MT_OPT_SGD;
    s_expect_invalid (&spec, "nesterov", "--momentum");
    s_valid_spec (&spec); spec.nesterov = true; spec.momentum = 0.9;
    s_expect_invalid (&spec, "nesterov", "--optimizer sgd");
    //  hidden layers
    s_valid_spec (&spec); spec.hidden [0] = 0;      s_expect_invalid (&spec, "hidden", "--hidden");
    s_valid_spec (&spec); spec.hidden [0] = MT_SPEC_MAX_WIDTH + 1;
    s_expect_invalid (&spec, "hidden", "--hidden");
    s_valid_spec (&spec); spec.hidden [0] = -3;     s_expect_invalid (&spec, "hidden", "--hidden");
    s_valid_spec (&spec); spec.n_hidden = MT_SPEC_MAX_HIDDEN + 1;
    s_expect_invalid (&spec, "hidden", "--hidden");
    s_valid_spec (&spec); spec.n_hidden = -1;       s_expect_invalid (&spec, "hidden", "--hidden");
    //  the training loop
    s_valid_spec (&spec); spec.batch_size = 0;      s_expect_invalid (&spec, "batch_size", "--batch-size");
    s_valid_spec (&spec); spec.batch_size = MT_SPEC_MAX_BATCH + 1;
    s_expect_invalid (&spec, "batch_size", "--batch-size");
    s_valid_spec (&spec); spec.epochs = 0;          s_expect_invalid (&spec, "epochs", "--epochs");
    s_valid_spec (&spec); spec.epochs = MT_SPEC_MAX_EPOCHS + 1;
    s_expect_invalid (&spec, "epochs", "--epochs");
    s_valid_spec (&spec); spec.val_split = 0.95;    s_expect_invalid (&spec, "val_split", "--val-split");
    s_valid_spec (&spec); spec.val_split = -0.1;    s_expect_invalid (&spec, "val_split", "--val-split");
    s_valid_spec (&spec); spec.val_split = NAN;     s_expect_invalid (&spec, "val_split", "--val-split");
    s_valid_spec (&spec); spec.patience = 3; spec.val_split = 0;
    s_expect_invalid (&spec, "patience", "--val-split");
    s_valid_spec (&spec); spec.patience = -1;       s_expect_invalid (&spec, "patience", "--patience");
    s_valid_spec (&spec); spec.warmup_steps = -1;   s_expect_invalid (&spec, "warmup_steps", "--warmup-steps");
    s_valid_spec (&spec); spec.checkpoint_every = -1;
    s_expect_invalid (&spec, "checkpoint_every", "--checkpoint-every");
    s_valid_spec (&spec); spec.priority = 1001;     s_expect_invalid (&spec, "priority", "--priority");
    s_valid_spec (&spec); spec.priority = -1001;    s_expect_invalid (&spec, "priority", "--priority");
    s_valid_spec (&spec); spec.max_retries = 101;   s_expect_invalid (&spec, "max_retries", "--max-retries");
    s_valid_spec (&spec); spec.time_limit_s = -1;   s_expect_invalid (&spec, "time_limit_s", "--time-limit");
    s_valid_spec (&spec); spec.seed = (uint64_t) INT64_MAX + 1;
    s_expect_invalid (&spec, "seed", "--seed");
    //  names: strict characters, length
    const char *names [] = { "", "a/b", "a\tb", "tab\x7f", "caf\xc3\xa9", "quote\"", "semi;colon" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        s_valid_spec (&spec);
        spec.name = strdup (names [i]);
        s_expect_invalid (&spec, "name", "--name");
    }
    char long_name [MT_SPEC_MAX_NAME + 2];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = 0;
    s_valid_spec (&spec); spec.name = strdup (long_name);
    s_expect_invalid (&spec, "name", "--name");
    long_name [MT_SPEC_MAX_NAME] = 0;           // exactly the limit is fine
    s_valid_spec (&spec); spec.name = strdup (long_name);
    char *cause = NULL;
    CHECK_MSG (mt_spec_validate (&spec, &cause) == 0, "%s", cause);
    mt_spec_clear (&spec);
    //  data: exactly one of data_hash and data_path, hashes are lower-case hex
    s_valid_spec (&spec); spec.data_path = strdup ("x.csv");
    s_expect_invalid (&spec, "data_path", "--data-path");
    s_valid_spec (&spec); spec.data_hash [0] = 0;   s_expect_invalid (&spec, "data", "--data");
    s_valid_spec (&spec); spec.data_hash [3] = 'A'; s_expect_invalid (&spec, "data_hash", "--data");
    s_valid_spec (&spec); spec.data_hash [3] = 'g'; s_expect_invalid (&spec, "data_hash", "--data");
    s_valid_spec (&spec); spec.data_hash [63] = 0;  s_expect_invalid (&spec, "data_hash", "--data");
    s_valid_spec (&spec); spec.data_hash [0] = 0; spec.data_path = strdup ("");
    s_expect_invalid (&spec, "data_path", "--data-path");
    s_valid_spec (&spec); spec.data_hash [0] = 0; spec.data_path = strdup ("a\nb");
    s_expect_invalid (&spec, "data_path", "--data-path");
    s_valid_spec (&spec); spec.data_name = strdup ("bad\x01name.csv");
    s_expect_invalid (&spec, "data_name", "--data");
    s_valid_spec (&spec); strcpy (spec.init_hash, HASH_B); spec.init_hash [10] = 'Z';
    s_expect_invalid (&spec, "init_hash", NULL);    // no flag named in the cause yet
    //  target and features
    s_valid_spec (&spec); free (spec.target); spec.target = NULL;
    s_expect_invalid (&spec, "target", "--target");
    s_valid_spec (&spec); free (spec.target); spec.target = strdup ("");
    s_expect_invalid (&spec, "target", "--target");
    s_valid_spec (&spec); free (spec.target); spec.target = strdup ("a\x01");
    s_expect_invalid (&spec, "target", "--target");
    s_valid_spec (&spec);
    spec.features = calloc (2, sizeof (char *));
    spec.features [0] = strdup ("a");
    spec.features [1] = strdup ("y");
    spec.n_features = 2;
    s_expect_invalid (&spec, "features", "--features");
    s_valid_spec (&spec);
    spec.features = calloc (3, sizeof (char *));
    spec.features [0] = strdup ("a");
    spec.features [1] = strdup ("b");
    spec.features [2] = strdup ("a");
    spec.n_features = 3;
    s_expect_invalid (&spec, "features", "--features");
    s_valid_spec (&spec);
    spec.features = calloc (1, sizeof (char *));
    spec.features [0] = strdup ("");
    spec.n_features = 1;
    s_expect_invalid (&spec, "features", "--features");
    //  enums out of range
    s_valid_spec (&spec); spec.activation = (mt_act_t) 7;
    s_expect_invalid (&spec, "activation", NULL);
    s_valid_spec (&spec); spec.task = (mt_task_t) -1;
    s_expect_invalid (&spec, "task", NULL);
    free (cause);
}

static void
test_from_json (void)
{
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"lr_rate\": 0.1}",
                       "unknown field 'lr_rate'");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"Epochs\": 3}", "unknown field");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"epochs\": 3, \"epochs\": 4}",
                       "duplicate");
    s_expect_bad_json ("[]", "JSON object");
    s_expect_bad_json ("\"spec\"", "");
    s_expect_bad_json ("null", "");
    s_expect_bad_json ("", "not valid JSON");
    s_expect_bad_json ("{", "not valid JSON");
    s_expect_bad_json ("{\"target\": \"y\",}", "not valid JSON");
    s_expect_bad_json ("{\"target\": \"y\"} x", "not valid JSON");
    s_expect_bad_json ("{\"target\": \"\\u0000\"}", "not valid JSON");
    //  wrong types, field by field
    const char *wrong [] = {
        "\"name\": 1", "\"data_path\": true", "\"data_name\": 2", "\"target\": [\"y\"]",
        "\"data_hash\": 5",
        "\"init_hash\": \"abc\"", "\"features\": \"a,b\"", "\"features\": [1]",
        "\"hidden\": 16", "\"hidden\": [1.5]", "\"hidden\": [\"8\"]", "\"hidden\": [-1]",
        "\"lr\": \"0.1\"", "\"momentum\": null", "\"nesterov\": 1", "\"shuffle\": \"yes\"",
        "\"batch_size\": 1.0", "\"epochs\": \"10\"", "\"epochs\": 4294967296",
        "\"seed\": -1", "\"seed\": 1.5", "\"warmup_steps\": false", "\"time_limit_s\": {}",
        "\"task\": 1", "\"task\": \"Regression\"", "\"activation\": \"gelu\"",
        "\"optimizer\": null", "\"schedule\": \"step\"", "\"format\": \"parquet\"",
        "\"priority\": 2147483648", "\"max_retries\": []", "\"patience\": true",
        "\"checkpoint_every\": 0.5", "\"val_split\": \"0.1\"",
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong [0]; i++) {
        char json [512];
        snprintf (json, sizeof json, "{\"data_path\": \"d\", \"target\": \"y\", %s}", wrong [i]);
        char field [64] = "";
        sscanf (wrong [i], "\"%63[a-z_0-9]\"", field);
        s_expect_bad_json (json, field);
    }
    //  too many layers or features, and values that parse but do not validate
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"hidden\": "
                       "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", "hidden");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"hidden\": [0]}", "--hidden");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"lr\": 1e308}", "--lr");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"lr\": -0.0}", "--lr");
    s_expect_bad_json ("{\"data_path\": \"d\", \"data_hash\": \"" HASH_A "\", \"target\": \"y\"}",
                       "exactly one");
    s_expect_bad_json ("{\"target\": \"y\"}", "exactly one");
    s_expect_bad_json ("{\"data_path\": \"d\"}", "--target");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"features\": [\"a\", \"y\"]}",
                       "target");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"features\": [\"a\", \"b\", \"a\"]}",
                       "twice");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"features\": [\"a\", 3, \"b\"]}",
                       "features");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"val_split\": 0.95}", "--val-split");
    s_expect_bad_json ("{\"data_path\": \"d\", \"target\": \"y\", \"name\": \"a/b\"}", "--name");
    //  a string over its limit
    char *json = malloc (MT_SPEC_MAX_PATH + 100);
    int n = snprintf (json, 64, "{\"target\": \"y\", \"data_path\": \"");
    memset (json + n, 'p', MT_SPEC_MAX_PATH + 1);
    strcpy (json + n + MT_SPEC_MAX_PATH + 1, "\"}");
    s_expect_bad_json (json, "data_path");
    free (json);
    //  over the JSON size limit, and NULL
    json = malloc (MT_SPEC_MAX_JSON + 2);
    memset (json, ' ', MT_SPEC_MAX_JSON + 1);
    json [0] = '{';
    json [MT_SPEC_MAX_JSON] = '}';
    json [MT_SPEC_MAX_JSON + 1] = 0;
    s_expect_bad_json (json, "over");
    free (json);
    s_expect_bad_json (NULL, "missing");
    //  deep nesting inside an unknown field is an error, not a crash
    json = calloc (1, 20000);
    strcpy (json, "{\"x\": ");
    memset (json + strlen (json), '[', 5000);
    s_expect_bad_json (json, "");
    free (json);
    //  a NULL cause is fine
    mt_spec_t spec;
    CHECK (mt_spec_from_json (&spec, "{\"bogus\": 1}", NULL) == -1);
}

//  A control byte (NUL included) in any string field of a spec that
//  arrives as a value (the broker's SUBMIT, where msgpack strings may hold
//  NUL) or as JSON text. Each case puts byte at offset at into the field.
typedef struct {
    const char *field;          // the key
    const char *good;           // a value that passes there
    int item;                   // features: the list item to spoil, else -1
} string_field_t;

static const string_field_t s_string_fields [] = {
    { "name", "run-1", -1 }, { "data_path", "data/train.csv", -1 },
    { "data_name", "train.csv", -1 }, { "target", "label", -1 },
    { "features", "b", 1 }, { "data_hash", HASH_A, -1 }, { "init_hash", HASH_B, -1 },
    { "task", "regression", -1 }, { "activation", "relu", -1 }, { "optimizer", "adam", -1 },
    { "schedule", "cosine", -1 }, { "format", "csv", -1 },
};

//  A spec value that passes, with field f's value replaced by its good text
//  and byte (unless byte < 0) written over offset at, or inserted at the
//  end when at is the text's length. New reference.
static json_t *
s_spoilt (const string_field_t *f, int byte, size_t at, bool use_path)
{
    char text [256];
    size_t len = strlen (f->good);
    memcpy (text, f->good, len);
    if (byte >= 0) {
        text [at] = (char) byte;
        if (at == len)
            len++;
    }
    json_t *value = json_stringn (text, len);
    CHECK (value);
    json_t *root = json_object ();
    if (strcmp (f->field, "data_hash") != 0 && use_path)
        json_object_set_new (root, "data_path", json_string ("d.csv"));
    json_object_set_new (root, "target", json_string ("y"));
    if (strcmp (f->field, "features") == 0) {
        json_t *list = json_array ();
        json_array_append_new (list, json_string ("a"));
        json_array_append_new (list, value);
        json_array_append_new (list, json_string ("c"));
        value = list;
    }
    json_object_set_new (root, f->field, value);
    return root;
}

static void
test_control_bytes (void)
{
    int bytes [33];
    for (int b = 0; b < 32; b++)
        bytes [b] = b;
    bytes [32] = 0x7f;
    for (size_t i = 0; i < sizeof s_string_fields / sizeof s_string_fields [0]; i++) {
        const string_field_t *f = &s_string_fields [i];
        size_t len = strlen (f->good);
        //  the field's good value passes, so what fails below is the byte
        mt_spec_t spec;
        char *cause = NULL;
        json_t *root = s_spoilt (f, -1, 0, true);
        CHECK_MSG (mt_spec_from_value (&spec, root, &cause) == 0, "%s: %s", f->field, cause);
        mt_spec_clear (&spec);
        json_decref (root);
        for (size_t b = 0; b < sizeof bytes / sizeof bytes [0]; b++) {
            //  first, middle and last byte, and one past the end (a hash
            //  of 64 hex digits then a NUL: strlen would see a valid hash)
            size_t ats [] = { 0, len / 2, len - 1, len };
            for (size_t a = 0; a < 4; a++) {
                root = s_spoilt (f, bytes [b], ats [a], true);
                cause = NULL;
                CHECK_MSG (mt_spec_from_value (&spec, root, &cause) == -1,
                           "%s accepted byte 0x%02x at %zu", f->field, bytes [b], ats [a]);
                char want [160];
                snprintf (want, sizeof want, "spec field '%s'%s%s holds a control character"
                          " (0x%02x at byte %zu); names and paths must be printable text",
                          f->field, f->item >= 0 ? " item " : "",
                          f->item >= 0 ? "1" : "", bytes [b], ats [a]);
                CHECK_STR_EQ (cause, want);
                CHECK (spec.target == NULL && spec.name == NULL && spec.features == NULL);
                free (cause);
                //  the same as JSON text: jansson refuses \u0000 itself, the
                //  other control bytes reach the spec module as escapes
                char *json = json_dumps (root, JSON_COMPACT);
                CHECK (json);
                cause = NULL;
                CHECK (mt_spec_from_json (&spec, json, &cause) == -1);
                CHECK_STR_CONTAINS (cause, bytes [b] ? "holds a control character" : "NUL");
                free (cause);
                free (json);
                json_decref (root);
            }
        }
    }
    //  a field name cut short by a NUL does not pass for the field it starts with
    json_t *root = json_object ();
    json_object_set_new (root, "data_path", json_string ("d.csv"));
    json_object_setn_new (root, "target\0evil", 11, json_string ("y"));
    s_expect_bad_value (root, "field name that holds a control character");
    root = json_object ();
    json_object_set_new (root, "data_path", json_string ("d.csv"));
    json_object_set_new (root, "target", json_string ("y"));
    json_object_set_new (root, "epo\x01hs", json_integer (3));
    s_expect_bad_value (root, "field name that holds a control character");
    //  printable text stays allowed: space, tilde, UTF-8 past 0x7f
    mt_spec_t spec;
    char *cause = NULL;
    root = json_object ();
    json_object_set_new (root, "data_path", json_string (" ~/d\xc3\xa9\xe2\x9c\x93.csv"));
    json_object_set_new (root, "target", json_string ("~ y \xce\xbb"));
    CHECK_MSG (mt_spec_from_value (&spec, root, &cause) == 0, "%s", cause);
    CHECK_STR_EQ (spec.target, "~ y \xce\xbb");
    mt_spec_clear (&spec);
    json_decref (root);
    //  a spec built in C (the client's flags) gets the same rule from validate
    const char *flags [] = { "--target", "--data-path", "--data", "--features", "--name" };
    for (int which = 0; which < 5; which++)
        for (size_t b = 1; b < sizeof bytes / sizeof bytes [0]; b++) {
            char text [8] = "ab";
            text [1] = (char) bytes [b];
            s_valid_spec (&spec);
            if (which == 0) {
                free (spec.target);
                spec.target = strdup (text);
            }
            else if (which == 1) {
                spec.data_hash [0] = 0;
                spec.data_path = strdup (text);
            }
            else if (which == 2)
                spec.data_name = strdup (text);
            else if (which == 3) {
                spec.features = calloc (1, sizeof (char *));
                spec.features [0] = strdup (text);
                spec.n_features = 1;
            }
            else
                spec.name = strdup (text);
            CHECK (mt_spec_validate (&spec, &cause) == -1);
            char want [64];
            snprintf (want, sizeof want, "holds a control character (0x%02x at byte 1)", bytes [b]);
            CHECK_STR_CONTAINS (cause, want);
            CHECK_STR_CONTAINS (cause, flags [which]);
            free (cause);
            cause = NULL;
            mt_spec_clear (&spec);
        }
}

//  The broker's reply to a SUBMIT of spec (taken) on sock (caller destroys).
static mt_msg_t *
s_submit (zsock_t *sock, json_t *spec)
{
    mt_msg_t *msg = mt_msg_new ("SUBMIT");
    json_object_set_new (mt_msg_body (msg), "spec", spec);
    CHECK (mt_msg_send (msg, sock, NULL) == 0);
    mt_msg_destroy (&msg);
    return test_peer_reply (sock, "SUBMIT");
}

//  A real broker refuses, at SUBMIT, a spec whose strings hold a NUL (which
//  msgpack carries) or another control byte, with bad_spec naming the
//  field; it records nothing, and a good spec after them is taken
static void
test_submit_refused (void)
{
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "spec", &config);
    config.heartbeat_ms = 50;
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    pthread_t thread;
    test_broker_start (broker, &thread);
    zsock_t *sock = zsock_new_dealer (paths.clients);
    CHECK (sock);
    zsock_set_rcvtimeo (sock, 60000);
    for (size_t i = 0; i < sizeof s_string_fields / sizeof s_string_fields [0]; i++) {
        const string_field_t *f = &s_string_fields [i];
        //  hashes would be refused as not uploaded once they pass the spec
        if (strcmp (f->field, "data_hash") == 0 || strcmp (f->field, "init_hash") == 0)
            continue;
        int bytes [] = { 0x00, 0x0a, 0x1b, 0x7f };
        for (int b = 0; b < 4; b++) {
            mt_msg_t *reply = s_submit (sock, s_spoilt (f, bytes [b], 1, true));
            CHECK_MSG (mt_msg_is (reply, "ERROR"), "%s with 0x%02x: %s", f->field, bytes [b],
                       mt_msg_command (reply));
            const char *code = NULL, *text = NULL;
            CHECK (mt_msg_get_str (reply, "code", 64, &code, NULL) == 0);
            CHECK_STR_EQ (code, MT_ERR_BAD_SPEC);
            CHECK (mt_msg_get_str (reply, "text", 4096, &text, NULL) == 0);
            char want [128];
            snprintf (want, sizeof want, "spec field '%s'%s holds a control character (0x%02x"
                      " at byte 1)", f->field, f->item >= 0 ? " item 1" : "", bytes [b]);
            CHECK_STR_CONTAINS (text, want);
            mt_msg_destroy (&reply);
        }
    }
    mt_msg_t *reply = s_submit (sock, json_pack ("{s:s, s:s}", "target", "y", "data_path", "d.csv"));
    CHECK_MSG (mt_msg_is (reply, "SUBMITTED"), "%s", mt_msg_command (reply));
    int64_t job = 0;
    CHECK (mt_msg_get_int (reply, "job", 1, INT64_MAX, &job, NULL) == 0 && job == 1);
    mt_msg_destroy (&reply);
    zsock_destroy (&sock);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
}

static void
test_enums (void)
{
    mt_task_t task = MT_TASK_REGRESSION;
    CHECK (mt_task_parse ("classification", &task) == 0 && task == MT_TASK_CLASSIFICATION);
    CHECK (mt_task_parse ("regression", &task) == 0 && task == MT_TASK_REGRESSION);
    CHECK (mt_task_parse ("Regression", &task) == -1 && task == MT_TASK_REGRESSION);
    CHECK (mt_task_parse ("", &task) == -1);
    CHECK (mt_task_parse (NULL, &task) == -1);
    CHECK (streq (mt_task_name (MT_TASK_CLASSIFICATION), "classification"));
    CHECK (streq (mt_task_name ((mt_task_t) 2), "?"));
    CHECK (streq (mt_task_name ((mt_task_t) -1), "?"));

    const char *acts [] = { "relu", "tanh", "sigmoid" };
    for (int i = 0; i < 3; i++) {
        mt_act_t act;
        CHECK (mt_act_parse (acts [i], &act) == 0 && (int) act == i);
        CHECK (streq (mt_act_name (act), acts [i]));
    }
    mt_act_t act = MT_ACT_TANH;
    CHECK (mt_act_parse ("relu6", &act) == -1 && act == MT_ACT_TANH);
    CHECK (streq (mt_act_name ((mt_act_t) 3), "?"));

    const char *opts [] = { "sgd", "adam", "adamw" };
    for (int i = 0; i < 3; i++) {
        mt_opt_t opt;
        CHECK (mt_opt_parse (opts [i], &opt) == 0 && (int) opt == i);
        CHECK (streq (mt_opt_name (opt), opts [i]));
    }
    mt_opt_t opt;
    CHECK (mt_opt_parse ("adam ", &opt) == -1);
    CHECK (streq (mt_opt_name ((mt_opt_t) 9), "?"));

    mt_schedule_t schedule;
    CHECK (mt_schedule_parse ("cosine", &schedule) == 0 && schedule == MT_SCHEDULE_COSINE);
    CHECK (mt_schedule_parse ("constant", &schedule) == 0 && schedule == MT_SCHEDULE_CONSTANT);
    CHECK (mt_schedule_parse ("linear", &schedule) == -1);
    CHECK (streq (mt_schedule_name (MT_SCHEDULE_COSINE), "cosine"));
    CHECK (streq (mt_schedule_name ((mt_schedule_t) 2), "?"));

    const char *formats [] = { "auto", "csv", "jsonl" };
    for (int i = 0; i < 3; i++) {
        mt_format_t format;
        CHECK (mt_format_parse (formats [i], &format) == 0 && (int) format == i);
        CHECK (streq (mt_format_name (format), formats [i]));
    }
    mt_format_t format;
    CHECK (mt_format_parse ("json", &format) == -1);
    CHECK (streq (mt_format_name ((mt_format_t) 3), "?"));
}

//  Class weights, the metric, the validation file and stratify: their JSON
//  both ways, and what each task refuses
static void
test_training_fields (void)
{
    mt_spec_t spec, back;
    char *cause = NULL;
    s_valid_spec (&spec);
    spec.task = MT_TASK_CLASSIFICATION;
    CHECK (mt_spec_parse_class_weight (&spec, "a=2,b c=0.5", &cause) == 0);
    spec.metric = MT_METRIC_ROC_AUC;
    strcpy (spec.val_data_hash, HASH_B);
    spec.val_data_name = strdup ("val.csv");
    char *json = mt_spec_to_json (&spec);
    CHECK_STR_CONTAINS (json, "\"class_weight\":{\"a\":2.0,\"b c\":0.5},\"metric\":\"roc_auc\","
                        "\"val_data_hash\":\"" HASH_B "\",\"val_data_name\":\"val.csv\"");
    CHECK_MSG (mt_spec_from_json (&back, json, &cause) == 0, "%s", cause);
    CHECK (back.n_class_weights == 2 && back.class_weights [1].weight == 0.5);
    CHECK_STR_EQ (back.class_weights [1].name, "b c");
    CHECK (back.metric == MT_METRIC_ROC_AUC && strcmp (back.val_data_hash, HASH_B) == 0);
    char *again = mt_spec_to_json (&back);
    CHECK_STR_EQ (again, json);
    free (again);
    free (json);
    mt_spec_clear (&back);
    CHECK (mt_spec_copy (&back, &spec) == 0);
    CHECK (back.class_weights != spec.class_weights);
    CHECK_STR_EQ (back.class_weights [0].name, "a");
    mt_spec_clear (&back);
    mt_spec_clear (&spec);
    //  balanced, stratify; defaults write none of them
    CHECK (mt_spec_from_json (&spec, "{\"data_hash\":\"" HASH_A "\",\"target\":\"y\","
                              "\"task\":\"classification\",\"class_weight\":\"balanced\","
                              "\"stratify\":true}", &cause) == 0);
    CHECK (spec.class_weight_balanced && spec.stratify);
    mt_spec_clear (&spec);
    s_valid_spec (&spec);
    json = mt_spec_to_json (&spec);
    CHECK (!strstr (json, "class_weight") && !strstr (json, "metric") && !strstr (json, "stratify")
           && !strstr (json, "val_data"));
    free (json);
    mt_spec_clear (&spec);
    //  Refused, naming the field and flag
    s_valid_spec (&spec);
    CHECK (mt_spec_parse_class_weight (&spec, "balanced", NULL) == 0);
    s_expect_invalid (&spec, "class_weight", "--class-weight");     // regression
    s_valid_spec (&spec);
    spec.task = MT_TASK_CLASSIFICATION;
    CHECK (mt_spec_parse_class_weight (&spec, "a=0", NULL) == 0);
    s_expect_invalid (&spec, "class_weight", "--class-weight");
    s_valid_spec (&spec);
    spec.task = MT_TASK_CLASSIFICATION;
    CHECK (mt_spec_parse_class_weight (&spec, "a=1,a=2", NULL) == 0);
    s_expect_invalid (&spec, "class_weight", "--class-weight");
    s_valid_spec (&spec);
    CHECK (mt_spec_parse_class_weight (&spec, "a=", &cause) == -1);
    CHECK_STR_CONTAINS (cause, "--class-weight: 'a=' is not 'balanced' or a list like a=2,b=1");
    //  An empty item is a stray comma, not a list strtok_r may shorten
    const char *stray [] = { "Adelie=2,", ",Adelie=2", "Adelie=2,,Gentoo=1", "," };
    for (size_t i = 0; i < sizeof stray / sizeof stray [0]; i++) {
        free (cause);
        cause = NULL;
        CHECK_MSG (mt_spec_parse_class_weight (&spec, stray [i], &cause) == -1, "%s", stray [i]);
        CHECK_STR_CONTAINS (cause, "--class-weight: '");
        CHECK_STR_CONTAINS (cause, "' has an empty item (a stray comma)");
    }
    mt_spec_clear (&spec);
    s_valid_spec (&spec);
    spec.metric = MT_METRIC_F1_MACRO;
    s_expect_invalid (&spec, "metric", "--metric");
    s_valid_spec (&spec);
    spec.task = MT_TASK_CLASSIFICATION;
    spec.metric = MT_METRIC_MAE;
    s_expect_invalid (&spec, "metric", "--metric");
    s_valid_spec (&spec);
    spec.stratify = true;
    s_expect_invalid (&spec, "stratify", "--stratify");
    s_valid_spec (&spec);
    spec.patience = 2;
    spec.val_split = 0;
    strcpy (spec.val_data_hash, HASH_B);
    CHECK (mt_spec_validate (&spec, NULL) == 0);    // the file is the validation
    mt_spec_clear (&spec);
    s_expect_bad_json ("{\"data_hash\":\"" HASH_A "\",\"target\":\"y\",\"task\":\"classification\","
                       "\"class_weight\":\"even\"}", "class_weight");
    s_expect_bad_json ("{\"data_hash\":\"" HASH_A "\",\"target\":\"y\",\"metric\":\"auc\"}",
                       "'metric' has an unknown value 'auc'");
    CHECK (mt_metric_higher_better (MT_METRIC_ACCURACY) && !mt_metric_higher_better (MT_METRIC_RMSE)
           && !mt_metric_higher_better (MT_METRIC_VAL_LOSS));
    free (cause);
    printf ("training fields: ok\n");
}

//  A spec with data_hash, target y and the table fields given as JSON text
//  (the text after '{' of the object's other keys)
static void
s_expect_table_refused (const char *fields, const char *needle)
{
    char json [2048];
    snprintf (json, sizeof json, "{\"data_hash\": \"" HASH_A "\", \"target\": \"y\", %s}",
              fields);
    s_expect_bad_json (json, needle);
}

//  The table fields (column kinds, missing values) beyond their defaults:
//  parsed, written back the same, and every bad value refused by name
static void
test_table_fields (void)
{
    mt_spec_t spec, again;
    char *cause = NULL;
    const char *json = "{\"data_hash\": \"" HASH_A "\", \"target\": \"y\","
        " \"categorical\": [\"pclass\", \"year\"], \"numeric\": [\"age\"],"
        " \"ignore\": [\"id\", \"name\"], \"na_values\": [\"\", \"-\", \"missing\"],"
        " \"max_categories\": 3, \"on_missing_target\": \"error\"}";
    CHECK_MSG (mt_spec_from_json (&spec, json, &cause) == 0, "%s", cause);
    CHECK (spec.n_categorical == 2 && streq (spec.categorical [1], "year"));
    CHECK (spec.n_numeric == 1 && streq (spec.numeric [0], "age"));
    CHECK (spec.n_ignore == 2 && streq (spec.ignore [0], "id"));
    CHECK (spec.n_na_values == 3 && streq (spec.na_values [0], "")
           && streq (spec.na_values [2], "missing"));
    CHECK (spec.max_categories == 3 && spec.on_missing_target == MT_MISSING_TARGET_ERROR);
    char *text = mt_spec_to_json (&spec);
    CHECK (text && strstr (text, "\"on_missing_target\":\"error\"")
           && strstr (text, "\"na_values\":[\"\",\"-\",\"missing\"]")
           && strstr (text, "\"max_categories\":3"));
    CHECK_MSG (mt_spec_from_json (&again, text, &cause) == 0, "%s", cause);
    char *twice = mt_spec_to_json (&again);
    CHECK (twice && streq (text, twice));
    free (text);
    free (twice);
    mt_spec_clear (&again);
    //  a copy holds its own lists
    CHECK (mt_spec_copy (&again, &spec) == 0);
    mt_spec_clear (&spec);
    CHECK (again.n_na_values == 3 && streq (again.na_values [1], "-"));
    mt_spec_clear (&again);

    //  one kind per column, never the target, each named once
    s_expect_table_refused ("\"categorical\": [\"a\"], \"numeric\": [\"a\"]",
                            "column 'a' is in both categorical (--categorical) and numeric"
                            " (--numeric); give it one kind");
    s_expect_table_refused ("\"numeric\": [\"b\"], \"ignore\": [\"b\"]",
                            "column 'b' is in both numeric (--numeric) and ignore (--ignore)");
    s_expect_table_refused ("\"categorical\": [\"a\", \"a\"]",
                            "categorical (--categorical) names 'a' twice");
    s_expect_table_refused ("\"ignore\": [\"y\"]", "ignore (--ignore) names the target 'y'");
    s_expect_table_refused ("\"categorical\": [\"y\"]", "names the target 'y'");
    s_expect_table_refused ("\"categorical\": [\"\"]", "categorical");
    s_expect_table_refused ("\"numeric\": \"age\"", "numeric");
    s_expect_table_refused ("\"ignore\": [\"a\\u0007b\"]", "control");
    //  --ignore beside --features, which lists the inputs exactly
    s_expect_table_refused ("\"features\": [\"a\", \"b\"], \"ignore\": [\"c\"]",
                            "ignore (--ignore) cannot be given with features (--features),"
                            " which lists the inputs exactly: list them there only (without 'c')");
    //  missing-value tokens: distinct, printable, at most 64
    s_expect_table_refused ("\"na_values\": [\"NA\", \"NA\"]",
                            "na_values (--na-values) lists 'NA' twice");
    s_expect_table_refused ("\"na_values\": [\"N\\tA\"]", "na_values");
    char many [1024] = "\"na_values\": [";
    for (int i = 0; i <= MT_SPEC_MAX_NA_VALUES; i++)
        snprintf (many + strlen (many), sizeof many - strlen (many), "%s\"t%d\"", i ? "," : "",
                  i);
    strcat (many, "]");
    s_expect_table_refused (many, "na_values");
    //  max_categories 1 to 65536, an integer
    s_expect_table_refused ("\"max_categories\": 0",
                            "max_categories (--max-categories) must be 1 to 65536 (got 0)");
    s_expect_table_refused ("\"max_categories\": 65537", "max_categories");
    s_expect_table_refused ("\"max_categories\": -3", "max_categories");
    s_expect_table_refused ("\"max_categories\": 2.5", "max_categories");
    s_expect_table_refused ("\"max_categories\": \"10\"", "max_categories");
    s_expect_table_refused ("\"on_missing_target\": \"drop\"", "on_missing_target");
    s_expect_table_refused ("\"on_missing_target\": 1", "on_missing_target");
    //  the limits themselves pass
    CHECK_MSG (mt_spec_from_json (&spec, "{\"data_hash\": \"" HASH_A "\", \"target\": \"y\","
                                  " \"max_categories\": 65536, \"na_values\": []}", &cause)
               == 0, "%s", cause);
    CHECK (spec.max_categories == 65536);
    mt_spec_clear (&spec);
    //  validation of a spec built in code says the same
    s_valid_spec (&spec);
    spec.max_categories = 0;
    s_expect_invalid (&spec, "max_categories", "--max-categories");
    s_valid_spec (&spec);
    spec.on_missing_target = (mt_missing_target_t) 7;
    s_expect_invalid (&spec, "on_missing_target", "--on-missing-target");
    printf ("table fields: ok\n");
}

int
main (void)
{
    zsys_handler_set (NULL);
    zsys_init ();
    zsys_set_logstream (NULL);
    test_defaults ();
    test_round_trip ();
    test_to_value ();
    test_validation ();
    test_from_json ();
    test_enums ();
    test_control_bytes ();
    test_submit_refused ();
    test_training_fields ();
    test_table_fields ();
    printf ("test_spec: ok\n");
    return 0;
}
