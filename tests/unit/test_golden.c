/*  test_golden - the engine against PyTorch 1.13, step by step (test_data/golden/)  */
//  Tolerance: both sides compute in float32 with the same definitions, but
//  sgemm blocking, summation order (OpenBLAS vs torch's kernels, our double
//  loss accumulators) and libm tanh/exp differ by an ulp or so per operation
//  (~6e-8 relative). A dozen steps through a few layers compound that to a
//  few 1e-7 relative; adam's division by sqrt(v) + eps can amplify it where
//  v is tiny. So a loss or weight passes when |engine - torch| <= 1e-5
//  |torch| + 1e-6 (losses) or + 1e-5 (weights, which are O(0.1-1)): two
//  orders above the observed noise, far below any real difference (a wrong
//  rule or a missing term changes step losses by > 1e-3).
#include <glob.h>
#include <jansson.h>
#include <unistd.h>
#include "testutil.h"
#include "dataset.h"
#include "mlp.h"
#include "model.h"
#include "train.h"

#define MAX_STEPS 256

typedef struct {
    double losses [MAX_STEPS];
    int64_t steps;
} s_record_t;

static double s_worst_loss, s_worst_weight;

static void
s_on_step (int64_t step, double loss, void *arg)
{
    s_record_t *record = arg;
    if (step <= MAX_STEPS)
        record->losses [step - 1] = loss;
    record->steps = step;
}

static double
s_num (json_t *case_, const char *key)
{
    json_t *v = json_object_get (case_, key);
    CHECK_MSG (json_is_number (v), "golden case lacks %s", key);
    return json_number_value (v);
}

static void
s_spec (json_t *c, mt_spec_t *spec)
{
    mt_spec_init (spec);
    spec->data_path = strdup ("golden.csv");
    spec->target = strdup ("y");
    CHECK (mt_task_parse (json_string_value (json_object_get (c, "task")), &spec->task) == 0);
    CHECK (mt_act_parse (json_string_value (json_object_get (c, "activation")), &spec->activation) == 0);
    CHECK (mt_opt_parse (json_string_value (json_object_get (c, "optimizer")), &spec->optimizer) == 0);
    CHECK (mt_schedule_parse (json_string_value (json_object_get (c, "schedule")), &spec->schedule) == 0);
    json_t *hidden = json_object_get (c, "hidden");
    spec->n_hidden = (int) json_array_size (hidden);
    for (int i = 0; i < spec->n_hidden; i++)
        spec->hidden [i] = (int) json_integer_value (json_array_get (hidden, (size_t) i));
    spec->lr = s_num (c, "lr");
    spec->momentum = s_num (c, "momentum");
    spec->nesterov = json_is_true (json_object_get (c, "nesterov"));
    spec->weight_decay = s_num (c, "weight_decay");
    spec->beta1 = s_num (c, "beta1");
    spec->beta2 = s_num (c, "beta2");
    spec->eps = s_num (c, "eps");
    spec->warmup_steps = (int64_t) s_num (c, "warmup_steps");
    spec->batch_size = (int) s_num (c, "batch_size");
    spec->epochs = (int) s_num (c, "epochs");
    spec->val_split = 0;
    spec->shuffle = false;
    //  class weights: "balanced" or {"c0": w, ...}, in their command-line form
    json_t *weights = json_object_get (c, "class_weight");
    char text [256] = "";
    const char *name;
    json_t *w;
    if (json_is_string (weights))
        snprintf (text, sizeof text, "%s", json_string_value (weights));
    json_object_foreach (weights, name, w)
        snprintf (text + strlen (text), sizeof text - strlen (text), "%s%s=%.17g",
                  text [0] ? "," : "", name, json_number_value (w));
    char *cause = NULL;
    if (text [0])
        CHECK_MSG (mt_spec_parse_class_weight (spec, text, &cause) == 0, "%s", cause);
}

static dataset_t *
s_dataset (json_t *root, const mt_spec_t *spec, int n_classes)
{
    json_t *x = json_object_get (root, "x");
    dataset_t *ds = calloc (1, sizeof *ds);
    ds->rows = json_array_size (x);
    ds->cols = json_array_size (json_array_get (x, 0));
    ds->task = spec->task;
    ds->x = malloc (ds->rows * ds->cols * sizeof (float));
    ds->feature_names = calloc (ds->cols, sizeof (char *));
    for (size_t j = 0; j < ds->cols; j++) {
        char name [32];
        snprintf (name, sizeof name, "f%zu", j);
        ds->feature_names [j] = strdup (name);
    }
    ds->target_name = strdup ("y");
    for (size_t i = 0; i < ds->rows; i++)
        for (size_t j = 0; j < ds->cols; j++)
            ds->x [i * ds->cols + j] = (float) json_number_value (json_array_get (json_array_get (x, i), j));
    if (spec->task == MT_TASK_REGRESSION) {
        ds->y = malloc (ds->rows * sizeof (float));
        for (size_t i = 0; i < ds->rows; i++)
            ds->y [i] = (float) json_number_value (json_array_get (json_object_get (root, "y"), i));
        return ds;
    }
    ds->label = malloc (ds->rows * sizeof (int32_t));
    for (size_t i = 0; i < ds->rows; i++)
        ds->label [i] = (int32_t) json_integer_value (json_array_get (json_object_get (root, "label"), i));
    ds->n_classes = n_classes;
    ds->classes = calloc ((size_t) n_classes, sizeof (char *));
    for (int k = 0; k < n_classes; k++) {
        char name [16];
        snprintf (name, sizeof name, "c%d", k);
        ds->classes [k] = strdup (name);
    }
    return ds;
}

//  Copy (or compare, when check) the state_dict in weights with the network
static void
s_weights (json_t *weights, mlp_t *mlp, bool check, const char *what)
{
    for (int l = 0; l < mlp_layers (mlp); l++)
        for (int bias = 0; bias < 2; bias++) {
            char name [32];
            model_param_name (l, bias, name, sizeof name);
            json_t *t = json_object_get (weights, name);
            CHECK_MSG (t, "%s: no %s", what, name);
            float *p = bias ? mlp_bias (mlp, l) : mlp_weight (mlp, l);
            int out = mlp_layer_out (mlp, l), in = bias ? 1 : mlp_layer_in (mlp, l);
            for (int i = 0; i < out; i++)
                for (int j = 0; j < in; j++) {
                    json_t *v = bias ? json_array_get (t, (size_t) i)
                                     : json_array_get (json_array_get (t, (size_t) i), (size_t) j);
                    double ref = json_number_value (v);
                    float *mine = &p [i * in + j];
                    if (!check) {
                        *mine = (float) ref;
                        continue;
                    }
                    double err = fabs (*mine - ref);
                    s_worst_weight = err > s_worst_weight ? err : s_worst_weight;
                    CHECK_MSG (err <= 1e-5 * fabs (ref) + 1e-5, "%s: %s[%d,%d] = %.9g, torch %.9g",
                               what, name, i, j, (double) *mine, ref);
                }
        }
}

static void
s_run (const char *path, const char *dir)
{
    json_error_t error;
    json_t *root = json_load_file (path, 0, &error);
    CHECK_MSG (root, "%s: %s", path, error.text);
    json_t *c = json_object_get (root, "case");
    mt_spec_t spec;
    s_spec (c, &spec);
    int n_classes = spec.task == MT_TASK_CLASSIFICATION ? (int) s_num (c, "classes") : 0;
    dataset_t *ds = s_dataset (root, &spec, n_classes);

    //  the initial weights go in through a model file (warm start)
    char init_path [512], out_path [512];
    snprintf (init_path, sizeof init_path, "%s/init.safetensors", dir);
    snprintf (out_path, sizeof out_path, "%s/out.safetensors", dir);
    char *cause = NULL;
    model_t *init = model_new (&spec, (const char *const *) ds->feature_names, (int) ds->cols, "y",
                               (const char *const *) ds->classes, n_classes, 1, &cause);
    CHECK_MSG (init, "%s", cause);
    s_weights (json_object_get (root, "init"), model_mlp (init), false, path);
    CHECK (model_save (init, init_path, NULL) == 0);
    model_destroy (&init);

    s_record_t record = { .steps = 0 };
    train_opts_t opts = { .threads = 1, .init_path = init_path, .stepped = s_on_step, .arg = &record };
    train_result_t result;
    CHECK_MSG (train_run (&spec, ds, out_path, &opts, &result, &cause) == 0, "%s", cause);
    json_t *losses = json_object_get (root, "losses");
    CHECK ((size_t) record.steps == json_array_size (losses));
    for (size_t i = 0; i < json_array_size (losses); i++) {
        double ref = json_number_value (json_array_get (losses, i));
        double err = fabs (record.losses [i] - ref);
        s_worst_loss = err / fabs (ref) > s_worst_loss ? err / fabs (ref) : s_worst_loss;
        CHECK_MSG (err <= 1e-5 * fabs (ref) + 1e-6, "%s: step %zu loss %.9g, torch %.9g",
                   path, i + 1, record.losses [i], ref);
    }
    model_t *trained = model_load (out_path, &cause);
    CHECK_MSG (trained, "%s", cause);
    s_weights (json_object_get (root, "final"), model_mlp (trained), true, path);
    printf ("%s: %lld steps agree\n", strrchr (path, '/') + 1, (long long) record.steps);
    model_destroy (&trained);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
    json_decref (root);
}

int
main (void)
{
    char dir [] = "/tmp/test_golden.XXXXXX";
    CHECK (mkdtemp (dir));
    char pattern [4096];
    snprintf (pattern, sizeof pattern, "%s", test_data ("golden/*.json"));
    glob_t found;
    CHECK_MSG (glob (pattern, 0, NULL, &found) == 0 && found.gl_pathc >= 9,
               "no golden files at %s", pattern);
    for (size_t i = 0; i < found.gl_pathc; i++)
        s_run (found.gl_pathv [i], dir);
    printf ("golden: %zu cases; worst loss rel error %.2e, worst weight abs error %.2e\n",
            found.gl_pathc, s_worst_loss, s_worst_weight);
    globfree (&found);
    test_remove_dir (dir);
    return 0;
}
