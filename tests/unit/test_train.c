/*  test_train - the training loop: accuracy, determinism, resume, stop, early stopping  */
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>
#include "testutil.h"
#include "dataset.h"
#include "eval.h"
#include "mlp.h"
#include "model.h"
#include "predict.h"
#include "rng.h"
#include "train.h"

static char s_dir [256];

static mt_spec_t
s_spec (mt_task_t task, const char *target)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.data_path = strdup ("inline.csv");
    spec.target = strdup (target);
    spec.task = task;
    return spec;
}

//  A dataset built in code: cols random features in [-1, 1) and a target
//  from fn (regression) or labels from fn's sign and size (classification)
static dataset_t *
s_dataset (size_t rows, size_t cols, mt_task_t task, uint64_t seed,
           double (*fn) (const float *x, rng_t *rng))
{
    dataset_t *ds = calloc (1, sizeof *ds);
    ds->rows = rows;
    ds->cols = cols;
    ds->task = task;
    ds->x = malloc (rows * cols * sizeof (float));
    ds->feature_names = calloc (cols, sizeof (char *));
    for (size_t j = 0; j < cols; j++) {
        char name [24];
        snprintf (name, sizeof name, "x%zu", j);
        ds->feature_names [j] = strdup (name);
    }
    ds->target_name = strdup ("y");
    rng_t rng;
    rng_seed (&rng, seed);
    for (size_t i = 0; i < rows * cols; i++)
        ds->x [i] = rng_uniform (&rng, -1, 1);
    if (task == MT_TASK_REGRESSION) {
        ds->y = malloc (rows * sizeof (float));
        for (size_t i = 0; i < rows; i++)
            ds->y [i] = (float) fn (ds->x + i * cols, &rng);
    }
    else {
        ds->label = malloc (rows * sizeof (int32_t));
        ds->n_classes = 2;
        ds->classes = calloc (2, sizeof (char *));
        ds->classes [0] = strdup ("neg");
        ds->classes [1] = strdup ("pos");
        for (size_t i = 0; i < rows; i++)
            ds->label [i] = fn (ds->x + i * cols, &rng) > 0;
    }
    return ds;
}

static double s_line (const float *x, rng_t *rng) { return 2.0 * x [0] + 0.05; }
static double s_noise (const float *x, rng_t *rng) { return rng_uniform (rng, -1, 1); }
static double s_side (const float *x, rng_t *rng) { return x [0] + 0.5 * x [1] - 0.1; }

static void
s_train (const mt_spec_t *spec, const dataset_t *ds, const char *out, train_opts_t *opts,
         train_result_t *result)
{
    train_opts_t plain = { .threads = 1 };
    char *cause = NULL;
    int rc = train_run (spec, ds, out, opts ? opts : &plain, result, &cause);
    CHECK_MSG (rc == 0, "train_run: %s", cause ? cause : "?");
}

//  The model's parameters, malloc'ed, and their count
static float *
s_params (const char *path, size_t *count)
{
    char *cause = NULL;
    model_t *m = model_load (path, &cause);
    CHECK_MSG (m, "%s", cause ? cause : "?");
    *count = mlp_param_count (model_mlp (m));
    float *copy = malloc (*count * sizeof (float));
    memcpy (copy, mlp_params (model_mlp (m)), *count * sizeof (float));
    model_destroy (&m);
    return copy;
}

static bool
s_same_params (const char *a, const char *b)
{
    size_t na, nb;
    float *pa = s_params (a, &na), *pb = s_params (b, &nb);
    bool same = na == nb && memcmp (pa, pb, na * sizeof (float)) == 0;
    free (pa);
    free (pb);
    return same;
}

//  MSE of a regression model over a dataset, in the target's units
static double
s_model_mse (const char *path, const dataset_t *ds)
{
    model_t *m = model_load (path, NULL);
    CHECK (m);
    float *out = malloc (ds->rows * sizeof (float));
    CHECK (model_predict (m, ds->x, ds->rows, out, NULL) == 0);
    double sum = 0;
    for (size_t i = 0; i < ds->rows; i++)
        sum += (out [i] - ds->y [i]) * (double) (out [i] - ds->y [i]);
    free (out);
    model_destroy (&m);
    return sum / (double) ds->rows;
}

static void
s_test_regression (void)
{
    dataset_t *ds = NULL;
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    if (access (test_data ("sample_dataset.csv"), R_OK) == 0)
        ds = dataset_load (test_data ("sample_dataset.csv"), &opts, NULL);
    if (!ds)
        ds = s_dataset (40, 1, MT_TASK_REGRESSION, 3, s_line);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 16;
    spec.epochs = 200;
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "reg.safetensors"), NULL, &result);
    double mse = s_model_mse (test_path (s_dir, "reg.safetensors"), ds);
    printf ("regression: %zu rows, train MSE %.3g (original units), R^2 %.5f, %d epochs\n",
            ds->rows, mse, result.train_metric, result.epochs_run);
    CHECK (mse < 0.01);
    CHECK (result.epochs_run == 200 && result.steps == (int64_t) (200 * ((ds->rows + 15) / 16)));
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

static void
s_test_classification (void)
{
    dataset_t *ds = s_dataset (200, 3, MT_TASK_CLASSIFICATION, 5, s_side);
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 8;
    spec.epochs = 60;
    spec.val_split = 0.25;
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "cls.safetensors"), NULL, &result);
    printf ("separable classification: train accuracy %.3f, val accuracy %.3f\n",
            result.train_metric, result.val_metric);
    CHECK (result.train_metric >= 0.95 && result.val_metric >= 0.9);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

static void
s_test_iris (void)
{
    dataset_opts_t opts = { .target = "species", .task = MT_TASK_CLASSIFICATION };
    char *cause = NULL;
    dataset_t *ds = dataset_load (test_data ("iris.csv"), &opts, &cause);
    if (!ds) {
        printf ("iris: skipped (%s)\n", cause ? cause : "?");
        free (cause);
        return;
    }
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "species");
    spec.n_hidden = 1;
    spec.hidden [0] = 16;
    spec.epochs = 100;
    spec.val_split = 0.2;
    spec.seed = 1;
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "iris.safetensors"), NULL, &result);
    printf ("iris: val accuracy %.3f, train accuracy %.3f\n", result.val_metric,
            result.train_metric);
    CHECK (result.val_metric >= 0.9);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  A run that stops early: 60 epochs allowed, patience 4, a checkpoint per epoch.
static mt_spec_t
s_early_spec (void)
{
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 64;
    spec.epochs = 60;
    spec.val_split = 0.3;
    spec.patience = 4;
    spec.checkpoint_every = 1;
    return spec;
}

static mt_spec_t
s_busy_spec (void)
{
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 2;
    spec.hidden [0] = 12;
    spec.hidden [1] = 7;
    spec.activation = MT_ACT_TANH;
    spec.epochs = 9;
    spec.batch_size = 7;
    spec.val_split = 0.2;
    spec.schedule = MT_SCHEDULE_COSINE;
    spec.warmup_steps = 5;
    spec.weight_decay = 0.01;
    spec.optimizer = MT_OPT_ADAMW;
    spec.seed = 99;
    return spec;
}

static void
s_test_determinism (void)
{
    dataset_t *ds = s_dataset (50, 4, MT_TASK_REGRESSION, 8, s_line);
    mt_spec_t spec = s_busy_spec ();
    train_result_t r1, r2;
    s_train (&spec, ds, test_path (s_dir, "det1.safetensors"), NULL, &r1);
    s_train (&spec, ds, test_path (s_dir, "det2.safetensors"), NULL, &r2);
    CHECK (test_files_equal (test_path (s_dir, "det1.safetensors"), test_path (s_dir, "det2.safetensors")));
    spec.seed = 100;
    s_train (&spec, ds, test_path (s_dir, "det3.safetensors"), NULL, &r2);
    CHECK (!s_same_params (test_path (s_dir, "det1.safetensors"), test_path (s_dir, "det3.safetensors")));
    printf ("determinism: ok\n");
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

typedef struct {
    int copy_epoch;             // copy the checkpoint of this epoch
    int64_t stop_step;          // set stop after this step (0 = never)
    volatile sig_atomic_t stop;
    int checkpoints;
    double val_loss [64];       // per epoch, from progress
    double loss [64];           // each epoch's mean training loss, from progress
    int epochs_seen;
    const char *tag;            // names the checkpoint copies
} s_watch_t;

static void
s_copy_file (const char *from, const char *to)
{
    char cmd [1200];
    snprintf (cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    CHECK (system (cmd) == 0);
}

static void
s_on_checkpoint (const char *path, int epoch, void *arg)
{
    s_watch_t *watch = arg;
    watch->checkpoints++;
    char name [64];
    snprintf (name, sizeof name, "%sepoch%d.ckpt", watch->tag ? watch->tag : "", epoch);
    s_copy_file (path, test_path (s_dir, name));
}

static void
s_on_step (int64_t step, double loss, void *arg)
{
    s_watch_t *watch = arg;
    CHECK (isfinite (loss));
    if (watch->stop_step && step == watch->stop_step)
        watch->stop = 1;
}

static void
s_on_progress (const train_progress_t *p, void *arg)
{
    s_watch_t *watch = arg;
    if (p->epoch_end && p->epoch <= 64) {
        watch->val_loss [p->epoch - 1] = p->val_loss;
        watch->loss [p->epoch - 1] = p->loss;
        watch->epochs_seen = p->epoch;
    }
}

static void
s_test_resume (void)
{
    dataset_t *ds = s_dataset (50, 4, MT_TASK_REGRESSION, 8, s_line);
    mt_spec_t spec = s_busy_spec ();
    spec.checkpoint_every = 1;
    s_watch_t watch = { 0 };
    train_opts_t opts = { .threads = 1, .checkpointed = s_on_checkpoint, .arg = &watch,
                          .checkpoint_path = test_path (s_dir, "run.ckpt") };
    train_result_t straight, resumed;
    s_train (&spec, ds, test_path (s_dir, "straight.safetensors"), &opts, &straight);
    CHECK (watch.checkpoints == 9);
    //  resume from the epoch-4 checkpoint of the same run, to the end
    train_opts_t again = { .threads = 1, .resume_path = test_path (s_dir, "epoch4.ckpt") };
    s_train (&spec, ds, test_path (s_dir, "resumed.safetensors"), &again, &resumed);
    CHECK (resumed.resumed_from_epoch == 4);
    CHECK (s_same_params (test_path (s_dir, "straight.safetensors"), test_path (s_dir, "resumed.safetensors")));
    CHECK (test_files_equal (test_path (s_dir, "straight.safetensors"), test_path (s_dir, "resumed.safetensors")));

    //  stop mid-epoch (step 17 of 7 per epoch), then resume from that checkpoint
    s_watch_t stopper = { .stop_step = 17 };
    train_opts_t stopping = { .threads = 1, .stepped = s_on_step, .arg = &stopper,
                              .stop = &stopper.stop, .checkpoint_path = test_path (s_dir, "stop.ckpt") };
    train_result_t stopped;
    unlink (test_path (s_dir, "stopped.safetensors"));
    s_train (&spec, ds, test_path (s_dir, "stopped.safetensors"), &stopping, &stopped);
    CHECK (stopped.stopped && stopped.steps == 17 && stopped.epochs_run == 2);
    CHECK (access (test_path (s_dir, "stopped.safetensors"), F_OK) != 0);
    model_t *ckpt = model_load (test_path (s_dir, "stop.ckpt"), NULL);
    CHECK (ckpt && model_meta (ckpt, "checkpoint") && strcmp (model_meta (ckpt, "step"), "17") == 0);
    model_destroy (&ckpt);
    train_opts_t finish = { .threads = 1, .resume_path = test_path (s_dir, "stop.ckpt") };
    s_train (&spec, ds, test_path (s_dir, "finished.safetensors"), &finish, &resumed);
    CHECK (s_same_params (test_path (s_dir, "straight.safetensors"), test_path (s_dir, "finished.safetensors")));
    printf ("resume (epoch boundary and mid-epoch) bit-identical, stop flag: ok\n");
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

static void
s_on_slow_step (int64_t step, double loss, void *arg)
{
    usleep (5000);
}

static bool
s_exists (const char *name)
{
    return access (test_path (s_dir, name), F_OK) == 0;
}

//  checkpoint_min_ms: a periodic checkpoint, and the last epoch's, wait
//  until that long has passed since the last one (or the start); a stop's
//  does not
static void
s_test_checkpoint_floor (void)
{
    dataset_t *ds = s_dataset (50, 4, MT_TASK_REGRESSION, 8, s_line);
    mt_spec_t spec = s_busy_spec ();
    spec.checkpoint_every = 1;
    s_watch_t watch = { .tag = "floor" };
    train_opts_t opts = { .threads = 1, .checkpointed = s_on_checkpoint, .arg = &watch,
                          .checkpoint_path = test_path (s_dir, "floor.ckpt"),
                          .checkpoint_min_ms = 600000 };
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "floor.safetensors"), &opts, &result);
    CHECK_MSG (watch.checkpoints == 0, "%d checkpoints in a run shorter than the floor",
               watch.checkpoints);
    CHECK (!s_exists ("floorepoch9.ckpt") && !s_exists ("floorepoch1.ckpt"));
    CHECK (s_exists ("floor.safetensors"));

    //  once the floor has passed, the last epoch's is written, due or not
    s_watch_t late = { .tag = "floorlate" };
    train_opts_t passed = opts;
    passed.arg = &late;
    passed.checkpoint_min_ms = 0;
    spec.checkpoint_every = 4;
    s_train (&spec, ds, test_path (s_dir, "floorlate.safetensors"), &passed, &result);
    CHECK_MSG (late.checkpoints == 3 && s_exists ("floorlateepoch9.ckpt"),
               "%d checkpoints, the last epoch's %s", late.checkpoints,
               s_exists ("floorlateepoch9.ckpt") ? "written" : "missing");
    spec.checkpoint_every = 1;

    //  a stop checkpoints whatever the floor
    s_watch_t stopper = { .stop_step = 17, .tag = "floorstop" };
    train_opts_t stopping = opts;
    stopping.stepped = s_on_step;
    stopping.arg = &stopper;
    stopping.stop = &stopper.stop;
    s_train (&spec, ds, test_path (s_dir, "floorstop.safetensors"), &stopping, &result);
    CHECK (result.stopped && stopper.checkpoints == 1 && s_exists ("floorstopepoch2.ckpt"));

    //  past the floor (each step sleeps 5 ms), only due epochs checkpoint
    spec.checkpoint_every = 3;
    s_watch_t slow = { .tag = "floorslow" };
    opts.checkpoint_min_ms = 20;
    opts.stepped = s_on_slow_step;
    opts.arg = &slow;
    s_train (&spec, ds, test_path (s_dir, "floorslow.safetensors"), &opts, &result);
    CHECK_MSG (slow.checkpoints == 3, "%d checkpoints, expected 3", slow.checkpoints);
    CHECK (s_exists ("floorslowepoch3.ckpt") && s_exists ("floorslowepoch6.ckpt")
        && s_exists ("floorslowepoch9.ckpt"));
    printf ("checkpoint floor: ok\n");
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  Same doubles, NaN equal to NaN
static bool
s_same_double (double a, double b)
{
    return a == b || (isnan (a) && isnan (b));
}

static void
s_check_same_result (const train_result_t *a, const train_result_t *b)
{
    CHECK_MSG (s_same_double (a->loss, b->loss), "loss %.17g vs %.17g", a->loss, b->loss);
    CHECK_MSG (s_same_double (a->val_loss, b->val_loss), "val_loss %.17g vs %.17g",
               a->val_loss, b->val_loss);
    CHECK_MSG (s_same_double (a->val_metric, b->val_metric), "val_metric %.17g vs %.17g",
               a->val_metric, b->val_metric);
    CHECK (s_same_double (a->train_metric, b->train_metric));
    CHECK_MSG (a->best_epoch == b->best_epoch, "best_epoch %d vs %d", a->best_epoch, b->best_epoch);
    CHECK_MSG (a->epochs_run == b->epochs_run, "epochs_run %d vs %d", a->epochs_run, b->epochs_run);
    CHECK (a->steps == b->steps && !a->stopped && !b->stopped);
}

//  Resuming from the checkpoint of a run's last epoch (the final epoch, or
//  the epoch early stopping ended on) trains nothing more and reports and
//  writes exactly what the uninterrupted run did; so does a resume that
//  runs only the final epoch. Uses the checkpoints s_test_resume and
//  s_test_early_stopping left behind.
static void
s_test_resume_at_end (void)
{
    dataset_t *ds = s_dataset (50, 4, MT_TASK_REGRESSION, 8, s_line);
    mt_spec_t spec = s_busy_spec ();
    spec.checkpoint_every = 1;          // as s_test_resume's run (the spec is in the model)
    train_result_t straight, resumed;
    s_train (&spec, ds, test_path (s_dir, "end-straight.safetensors"), NULL, &straight);
    CHECK (test_files_equal (test_path (s_dir, "straight.safetensors"), test_path (s_dir, "end-straight.safetensors")));
    const char *from [] = { "epoch9.ckpt", "epoch8.ckpt" };
    for (int i = 0; i < 2; i++) {
        train_opts_t again = { .threads = 1, .resume_path = test_path (s_dir, from [i]) };
        s_train (&spec, ds, test_path (s_dir, "end-resumed.safetensors"), &again, &resumed);
        CHECK (resumed.resumed_from_epoch == 9 - i);
        s_check_same_result (&straight, &resumed);
        CHECK_MSG (test_files_equal (test_path (s_dir, "straight.safetensors"),
                                 test_path (s_dir, "end-resumed.safetensors")), "resumed from %s", from [i]);
    }
    dataset_destroy (&ds);
    mt_spec_clear (&spec);

    ds = s_dataset (60, 5, MT_TASK_REGRESSION, 11, s_noise);
    spec = s_early_spec ();
    s_train (&spec, ds, test_path (s_dir, "end-early.safetensors"), NULL, &straight);
    CHECK (straight.epochs_run < 60);
    char name [64];
    snprintf (name, sizeof name, "early-epoch%d.ckpt", straight.epochs_run);
    train_opts_t again = { .threads = 1, .resume_path = test_path (s_dir, name) };
    s_train (&spec, ds, test_path (s_dir, "end-early-resumed.safetensors"), &again, &resumed);
    s_check_same_result (&straight, &resumed);
    CHECK (test_files_equal (test_path (s_dir, "end-early.safetensors"), test_path (s_dir, "end-early-resumed.safetensors")));
    printf ("resume at the last epoch (final and early-stopped): same result and model: ok\n");
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

static void
s_test_early_stopping (void)
{
    dataset_t *ds = s_dataset (60, 5, MT_TASK_REGRESSION, 11, s_noise);
    mt_spec_t spec = s_early_spec ();
    s_watch_t watch = { .tag = "early-" };
    train_opts_t opts = { .threads = 1, .checkpointed = s_on_checkpoint, .progress = s_on_progress,
                          .progress_ms = 1000000, .arg = &watch,
                          .checkpoint_path = test_path (s_dir, "early.ckpt") };
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "early.safetensors"), &opts, &result);
    int best = 0;
    for (int e = 1; e < watch.epochs_seen; e++)
        best = watch.val_loss [e] < watch.val_loss [best] ? e : best;
    printf ("early stopping: ran %d of 60 epochs, best epoch %d (val loss %.4f)\n",
            result.epochs_run, result.best_epoch, result.val_loss);
    CHECK (result.epochs_run < 60 && watch.epochs_seen == result.epochs_run);
    CHECK (result.best_epoch == best + 1);
    CHECK (result.epochs_run == result.best_epoch + spec.patience);
    CHECK (result.val_loss == watch.val_loss [best]);
    //  The final loss is the kept epoch's too, not the last one's
    CHECK_MSG (result.loss == watch.loss [best] && watch.loss [best] != watch.loss
               [result.epochs_run - 1], "final loss %.17g, best epoch's %.17g, last's %.17g",
               result.loss, watch.loss [best], watch.loss [result.epochs_run - 1]);
    char name [64];
    snprintf (name, sizeof name, "early-epoch%d.ckpt", result.best_epoch);
    CHECK (s_same_params (test_path (s_dir, "early.safetensors"), test_path (s_dir, name)));
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

static void
s_test_warm_start (void)
{
    dataset_t *ds = s_dataset (30, 2, MT_TASK_REGRESSION, 4, s_line);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.epochs = 30;
    train_result_t result;
    s_train (&spec, ds, test_path (s_dir, "warm0.safetensors"), NULL, &result);
    double before = s_model_mse (test_path (s_dir, "warm0.safetensors"), ds);
    //  one more epoch at a tiny rate from the trained model stays close to it
    spec.epochs = 1;
    spec.lr = 1e-6;
    train_opts_t opts = { .threads = 1, .init_path = test_path (s_dir, "warm0.safetensors") };
    s_train (&spec, ds, test_path (s_dir, "warm1.safetensors"), &opts, &result);
    double after = s_model_mse (test_path (s_dir, "warm1.safetensors"), ds);
    CHECK_NEAR (after, before, 1e-3 + 0.01 * before);
    //  a checkpoint is a valid init too; a shape mismatch is an error
    opts.init_path = test_path (s_dir, "epoch4.ckpt");
    char *cause = NULL;
    CHECK (train_run (&spec, ds, test_path (s_dir, "warm2.safetensors"), &opts, &result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "shapes");
    free (cause);
    cause = NULL;
    opts.init_path = test_path (s_dir, "missing.safetensors");
    CHECK (train_run (&spec, ds, test_path (s_dir, "warm2.safetensors"), &opts, &result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "missing.safetensors");
    free (cause);
    //  with init_name, messages name the model that way, not by its path
    opts.init_name = "the --init model 0123456789ab";
    cause = NULL;
    CHECK (train_run (&spec, ds, test_path (s_dir, "warm2.safetensors"), &opts, &result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "the --init model 0123456789ab: cannot open");
    CHECK_MSG (!strstr (cause, s_dir), "the path is in '%s'", cause);
    free (cause);
    opts.init_path = test_path (s_dir, "epoch4.ckpt");
    cause = NULL;
    CHECK (train_run (&spec, ds, test_path (s_dir, "warm2.safetensors"), &opts, &result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "the --init model 0123456789ab: its layer shapes 4-12-7-1 differ"
                        " from this job's 2-");
    CHECK_MSG (!strstr (cause, s_dir), "the path is in '%s'", cause);
    free (cause);
    opts.init_name = NULL;
    dataset_destroy (&ds);
    ds = s_dataset (50, 4, MT_TASK_REGRESSION, 8, s_line);
    mt_spec_clear (&spec);
    spec = s_busy_spec ();
    opts.init_path = test_path (s_dir, "epoch4.ckpt");
    s_train (&spec, ds, test_path (s_dir, "warm3.safetensors"), &opts, &result);
    printf ("warm start: ok (MSE %.4g -> %.4g)\n", before, after);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  predict_run's CSV for the model at path on data, written to out
static void
s_predict (const char *path, const char *data, const char *out)
{
    char *cause = NULL;
    model_t *model = model_load (path, &cause);
    CHECK_MSG (model, "%s", cause);
    CHECK_MSG (predict_run (model, data, out, PREDICT_CSV, &cause) == 0, "%s", cause);
    model_destroy (&model);
}

//  A table for --init by name: a (numeric), color (categorical), b
//  (numeric with missing values), y (yes/no), written with its columns in
//  order (a permutation of those four) and its rows reversed when reverse;
//  colors lists the categories drawn from, y_no the name of class "no"
static void
s_write_table (const char *path, const int order [4], bool reverse, const char *const *colors,
               int n_colors, const char *y_no)
{
    const char *names [4] = { "a", "color", "b", "y" };
    FILE *f = fopen (path, "w");
    CHECK (f);
    for (int k = 0; k < 4; k++)
        fprintf (f, "%s%s", k ? "," : "", names [order [k]]);
    fputc ('\n', f);
    for (int r = 0; r < 60; r++) {
        int i = reverse ? 59 - r : r;
        double a = (i * 37 % 60) / 30.0 - 1.0;
        const char *color = colors [i % n_colors];
        double b = (i * 11 % 13) / 6.0 - 1.0;
        char field [4][32];
        snprintf (field [0], 32, "%.4f", a);
        snprintf (field [1], 32, "%s", color);
        snprintf (field [2], 32, i % 7 == 3 ? "NA" : "%.4f", b);
        snprintf (field [3], 32, "%s", a + b + (color [0] == 'r') > 0.5 ? "yes" : y_no);
        for (int k = 0; k < 4; k++)
            fprintf (f, "%s%s", k ? "," : "", field [order [k]]);
        fputc ('\n', f);
    }
    fclose (f);
}

static dataset_t *
s_load_table (const char *path, const mt_spec_t *spec)
{
    char *cause = NULL;
    dataset_t *ds = dataset_load_spec (path, spec, &cause);
    CHECK_MSG (ds, "%s", cause);
    return ds;
}

//  The probabilities predict_run writes for data, rows x 2
static void
s_predictions (const char *model, const char *data, double *p, size_t rows)
{
    const char *out = test_path (s_dir, "init_pred.csv");
    s_predict (model, data, out);
    FILE *f = fopen (out, "r");
    char line [512];
    CHECK (f && fgets (line, sizeof line, f));
    CHECK_STR_EQ (line, "label,p_no,p_yes\n");
    for (size_t i = 0; i < rows; i++) {
        CHECK (fgets (line, sizeof line, f));
        char *comma = strchr (line, ',');
        CHECK (comma && sscanf (comma + 1, "%lf,%lf", &p [2 * i], &p [2 * i + 1]) == 2);
    }
    CHECK (!fgets (line, sizeof line, f));
    fclose (f);
}

//  The first layer's weight from encoded input named input to unit o
static float
s_first_weight (const char *path, const char *input, int o)
{
    model_t *m = model_load (path, NULL);
    CHECK (m);
    int n = 0;
    const char *const *names = model_features (m, &n);
    int at = -1;
    for (int i = 0; i < n; i++)
        at = strcmp (names [i], input) == 0 ? i : at;
    CHECK_MSG (at >= 0, "no input '%s'", input);
    const mlp_t *mlp = model_mlp_const (m);
    float w = mlp_params_const (mlp) [mlp_weight_offset (mlp, 0) + (size_t) o * n + at];
    model_destroy (&m);
    return w;
}

//  Warm start from a model trained on path (init) into a job on data;
//  returns train_run's result code and its cause in *cause
static int
s_init_run (const mt_spec_t *spec, const char *data, const char *init, const char *out,
            char **cause)
{
    dataset_t *ds = s_load_table (data, spec);
    train_opts_t opts = { .threads = 1, .init_path = init };
    train_result_t *result = malloc (sizeof *result);
    int rc = train_run (spec, ds, out, &opts, result, cause);
    free (result);
    dataset_destroy (&ds);
    return rc;
}

//  --init by an mt model: inputs and classes matched by name (columns and
//  rows in another order give the same predictions), a category the init
//  model lacks takes its (other) weights, and a column or a class only one
//  side has, or a kind that differs, is refused listing the names
static void
s_test_init_by_name (void)
{
    const char *colors [] = { "red", "green", "blue" };
    const char *more [] = { "red", "green", "blue", "purple" };
    const char *fewer [] = { "red", "green" };
    const char *first = test_path (s_dir, "t1.csv"), *moved = test_path (s_dir, "t2.csv");
    s_write_table (first, (int []) { 0, 1, 2, 3 }, false, colors, 3, "no");
    s_write_table (moved, (int []) { 3, 2, 1, 0 }, true, colors, 3, "no");
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 6;
    spec.epochs = 40;
    spec.lr = 0.05;
    spec.val_split = 0;                 // the scaling comes from every row, in any order
    dataset_t *ds = s_load_table (first, &spec);
    CHECK (ds->cols == 7);              // a, color=blue,green,red,(other), b, b=(missing)
    dataset_destroy (&ds);
    const char *init = test_path (s_dir, "init_a.safetensors");
    char *cause = NULL;
    CHECK_MSG (s_init_run (&spec, first, NULL, init, &cause) == 0, "%s", cause);
    //  a step at a negligible rate from it, on the moved table: the same model
    spec.epochs = 1;
    spec.optimizer = MT_OPT_SGD;
    spec.lr = 1e-12;
    const char *warm = test_path (s_dir, "init_b.safetensors");
    CHECK_MSG (s_init_run (&spec, moved, init, warm, &cause) == 0, "%s", cause);
    double p_init [120], p_warm [120];
    s_predictions (init, first, p_init, 60);
    s_predictions (warm, first, p_warm, 60);
    double spread = 0;
    for (int i = 0; i < 120; i++) {
        CHECK_NEAR (p_warm [i], p_init [i], 1e-5);
        spread = fmax (spread, fabs (p_init [i] - p_init [0]));
    }
    CHECK (spread > 0.1);               // the init model tells rows apart
    //  a category the init model never saw starts from its (other) weights
    const char *purple = test_path (s_dir, "t3.csv");
    s_write_table (purple, (int []) { 1, 0, 3, 2 }, false, more, 4, "no");
    const char *warm_p = test_path (s_dir, "init_c.safetensors");
    CHECK_MSG (s_init_run (&spec, purple, init, warm_p, &cause) == 0, "%s", cause);
    for (int o = 0; o < 6; o++) {
        CHECK (s_first_weight (warm_p, "color=purple", o)
               == s_first_weight (init, "color=(other)", o));
        CHECK (s_first_weight (warm_p, "color=red", o) == s_first_weight (init, "color=red", o));
        CHECK (s_first_weight (warm_p, "a", o) == s_first_weight (init, "a", o));
    }
    //  and one it saw that this data lacks is dropped
    const char *green = test_path (s_dir, "t4.csv");
    s_write_table (green, (int []) { 0, 1, 2, 3 }, false, fewer, 2, "no");
    CHECK_MSG (s_init_run (&spec, green, init, warm_p, &cause) == 0, "%s", cause);
    //  a class only one side has
    const char *nope = test_path (s_dir, "t5.csv");
    s_write_table (nope, (int []) { 0, 1, 2, 3 }, false, colors, 3, "nope");
    CHECK (s_init_run (&spec, nope, init, warm_p, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "matched by name, and these differ:");
    CHECK_STR_CONTAINS (cause, "{'nope'} only in this job's data; {'no'} only in the init model;"
                        " (classes)");
    free (cause);
    cause = NULL;
    //  a column only one side has (the init model's b left out; a new c)
    FILE *f = fopen (test_path (s_dir, "t6.csv"), "w");
    CHECK (f);
    fprintf (f, "c,a,color,y\n");
    for (int i = 0; i < 20; i++)
        fprintf (f, "%d,%d,%s,%s\n", i, i % 5, colors [i % 3], i % 2 ? "yes" : "no");
    fclose (f);
    CHECK (s_init_run (&spec, test_path (s_dir, "t6.csv"), init, warm_p, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "{'c'} only in this job's data; {'b'} only in the init model;"
                        " (columns)");
    free (cause);
    cause = NULL;
    //  a column read as another kind
    spec.categorical = calloc (2, sizeof (char *));
    CHECK (spec.categorical && (spec.categorical [0] = strdup ("a")));
    spec.n_categorical = 1;
    CHECK (s_init_run (&spec, first, init, warm_p, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'a' is categorical here but numeric in the init model");
    printf ("--init by name: ok (%s)\n", cause);
    free (cause);
    mt_spec_clear (&spec);
}

//  For tests/torch/test_load_in_torch.sh: train two models into dir and
//  write predict_run's output for their data beside them
static void
s_export (const char *dir)
{
    char path [1024], out [1024];
    dataset_opts_t opts = { .target = "y", .task = MT_TASK_REGRESSION };
    dataset_t *ds = dataset_load (test_data ("sample_dataset.csv"), &opts, NULL);
    CHECK (ds);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 2;
    spec.hidden [0] = 8;
    spec.hidden [1] = 4;
    spec.activation = MT_ACT_TANH;
    spec.epochs = 50;
    train_result_t result;
    snprintf (path, sizeof path, "%s/reg.safetensors", dir);
    s_train (&spec, ds, path, NULL, &result);
    snprintf (out, sizeof out, "%s/reg_pred.csv", dir);
    s_predict (path, test_data ("sample_dataset.csv"), out);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
    opts = (dataset_opts_t) { .target = "species", .task = MT_TASK_CLASSIFICATION };
    ds = dataset_load (test_data ("iris.csv"), &opts, NULL);
    CHECK (ds);
    spec = s_spec (MT_TASK_CLASSIFICATION, "species");
    spec.n_hidden = 1;
    spec.hidden [0] = 6;
    spec.activation = MT_ACT_SIGMOID;
    spec.epochs = 20;
    snprintf (path, sizeof path, "%s/cls.safetensors", dir);
    s_train (&spec, ds, path, NULL, &result);
    snprintf (out, sizeof out, "%s/cls_pred.csv", dir);
    s_predict (path, test_data ("iris.csv"), out);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  --------------------------------------------------------------------------
//  Undefined metrics: null with a reason, never 0

#define S_NO_VAL "no validation rows (validation_split 0)"

//  The metrics map a model file's metadata carries
static json_t *
s_model_metrics (const char *path)
{
    model_t *m = model_load (path, NULL);
    CHECK (m && model_meta (m, "metrics"));
    json_t *metrics = json_loads (model_meta (m, "metrics"), 0, NULL);
    model_destroy (&m);
    CHECK (json_is_object (metrics));
    return metrics;
}

//  metrics holds key as null, with reason under "undefined"
static void
s_check_undefined (json_t *metrics, const char *key, const char *reason)
{
    json_t *value = json_object_get (metrics, key);
    CHECK_MSG (json_is_null (value), "%s is not null", key);
    json_t *why = json_object_get (json_object_get (metrics, "undefined"), key);
    CHECK_MSG (json_is_string (why) && strcmp (json_string_value (why), reason) == 0,
               "%s: reason '%s', expected '%s'", key, json_is_string (why)
               ? json_string_value (why) : "(none)", reason);
}

//  Both maps of a run (the DONE's, from the result, and the model's) have
//  exactly these keys undefined (NULL-terminated) and the rest numbers
static void
s_check_metrics (const train_result_t *result, mt_task_t task, const char *path,
                 const char *const *undefined)
{
    json_t *maps [2] = { train_metrics (result, task), s_model_metrics (path) };
    const char *keys [] = { "loss", "val_loss", "val_metric", "train_metric" };
    for (int i = 0; i < 2; i++) {
        size_t count = 0;
        for (size_t k = 0; k < 4; k++) {
            bool listed = false;
            for (size_t u = 0; undefined [u]; u += 2)
                if (strcmp (undefined [u], keys [k]) == 0) {
                    s_check_undefined (maps [i], keys [k], undefined [u + 1]);
                    listed = true;
                    count++;
                }
            if (!listed)
                CHECK_MSG (json_is_number (json_object_get (maps [i], keys [k])),
                           "%s is not a number", keys [k]);
        }
        json_t *why = json_object_get (maps [i], "undefined");
        CHECK_MSG (count ? json_object_size (why) == count : why == NULL,
                   "'undefined' has %zu keys, expected %zu", json_object_size (why), count);
        CHECK_STR_EQ (json_string_value (json_object_get (maps [i], "metric")),
                      task == MT_TASK_CLASSIFICATION ? "accuracy" : "r2");
        json_decref (maps [i]);
    }
}

//  The rows spec's validation split holds out of rows, as train.c's header
//  says it draws them: the first of one Fisher-Yates shuffle by spec->seed
static size_t
s_val_rows (const mt_spec_t *spec, size_t rows, uint32_t *order)
{
    for (size_t i = 0; i < rows; i++)
        order [i] = (uint32_t) i;
    rng_t rng;
    rng_seed (&rng, spec->seed);
    rng_shuffle (&rng, order, rows);
    return (size_t) floor (spec->val_split * (double) rows + 0.5);
}

static void
s_last_val_metric (const train_progress_t *progress, void *arg)
{
    *(double *) arg = progress->val_metric;
}

static void
s_test_undefined_metrics (void)
{
    //  No validation rows: both val metrics, in every map and in progress
    dataset_t *ds = s_dataset (60, 2, MT_TASK_CLASSIFICATION, 7, s_side);
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    spec.epochs = 3;
    spec.val_split = 0;
    double progress_val = 0;
    train_opts_t opts = { .threads = 1, .progress = s_last_val_metric, .arg = &progress_val };
    train_result_t result;
    const char *path = test_path (s_dir, "noval.safetensors");
    s_train (&spec, ds, path, &opts, &result);
    CHECK (isnan (result.val_metric) && isnan (result.val_loss) && isnan (progress_val));
    CHECK (result.train_metric > 0.5 && result.train_metric <= 1);
    CHECK_STR_EQ (result.undefined.val_metric, S_NO_VAL);
    s_check_metrics (&result, spec.task, path,
                     (const char *[]) { "val_loss", S_NO_VAL, "val_metric", S_NO_VAL, NULL });
    dataset_destroy (&ds);
    mt_spec_clear (&spec);

    //  A validation split whose target is constant: R^2 only
    ds = s_dataset (50, 1, MT_TASK_REGRESSION, 11, s_line);
    spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.epochs = 4;
    spec.val_split = 0.2;
    spec.seed = 11;
    uint32_t order [50];
    size_t n_val = s_val_rows (&spec, ds->rows, order);
    CHECK (n_val == 10);
    for (size_t i = 0; i < n_val; i++)
        ds->y [order [i]] = 5.0f;
    path = test_path (s_dir, "flatval.safetensors");
    s_train (&spec, ds, path, NULL, &result);
    const char *flat_val = "R^2 needs a target that varies: every validation row has the same value";
    CHECK (isnan (result.val_metric) && isfinite (result.val_loss));
    CHECK (isfinite (result.train_metric));
    s_check_metrics (&result, spec.task, path, (const char *[]) { "val_metric", flat_val, NULL });
    dataset_destroy (&ds);

    //  A constant target everywhere: R^2 of both splits
    ds = s_dataset (40, 2, MT_TASK_REGRESSION, 12, s_line);
    for (size_t i = 0; i < ds->rows; i++)
        ds->y [i] = 3.25f;
    path = test_path (s_dir, "flat.safetensors");
    s_train (&spec, ds, path, NULL, &result);
    const char *flat_train = "R^2 needs a target that varies: every training row has the same value";
    s_check_metrics (&result, spec.task, path,
                     (const char *[]) { "val_metric", flat_val, "train_metric", flat_train, NULL });
    dataset_destroy (&ds);

    //  Stopped before its first step: nothing was measured
    ds = s_dataset (40, 1, MT_TASK_REGRESSION, 13, s_line);
    volatile sig_atomic_t stop = 1;
    opts = (train_opts_t) { .threads = 1, .stop = &stop };
    char *cause = NULL;
    CHECK (train_run (&spec, ds, NULL, &opts, &result, &cause) == 0 && result.stopped);
    json_t *metrics = train_metrics (&result, spec.task);
    s_check_undefined (metrics, "loss", "no epoch completed");
    s_check_undefined (metrics, "val_loss", "not measured: the job was stopped before the end");
    s_check_undefined (metrics, "train_metric", "not measured: the job was stopped before the end");
    json_decref (metrics);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
    printf ("undefined metrics: ok\n");
}

//  A normal job's metrics are numbers with no "undefined" map, and its R^2
//  is the one its model's predictions give on the validation rows
static void
s_test_defined_metrics (void)
{
    dataset_t *ds = s_dataset (80, 2, MT_TASK_REGRESSION, 21, s_line);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 8;
    spec.epochs = 20;
    spec.val_split = 0.25;
    spec.seed = 5;
    train_result_t result;
    const char *path = test_path (s_dir, "r2.safetensors");
    s_train (&spec, ds, path, NULL, &result);
    s_check_metrics (&result, spec.task, path, (const char *[]) { NULL });
    uint32_t order [80];
    size_t n_val = s_val_rows (&spec, ds->rows, order);
    model_t *m = model_load (path, NULL);
    CHECK (m);
    float out [80];
    CHECK (model_predict (m, ds->x, ds->rows, out, NULL) == 0);
    model_destroy (&m);
    double mean = 0, ss_res = 0, ss_tot = 0;
    for (size_t i = 0; i < n_val; i++)
        mean += ds->y [order [i]] / (double) n_val;
    for (size_t i = 0; i < n_val; i++) {
        double y = ds->y [order [i]];
        ss_res += (y - out [order [i]]) * (y - out [order [i]]);
        ss_tot += (y - mean) * (y - mean);
    }
    printf ("defined metrics: val R^2 %.6f, from the model's predictions %.6f\n",
            result.val_metric, 1 - ss_res / ss_tot);
    CHECK_NEAR (result.val_metric, 1 - ss_res / ss_tot, 1e-4);
    json_t *metrics = train_metrics (&result, spec.task);
    CHECK_NEAR (json_real_value (json_object_get (metrics, "val_metric")), result.val_metric, 0);
    json_decref (metrics);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  predict_run's CSV for a classification model, and its errors
static void
s_test_predict (void)
{
    const char *out = test_path (s_dir, "iris_pred.csv");
    if (access (test_data ("iris.csv"), R_OK) != 0)
        return;
    s_predict (test_path (s_dir, "iris.safetensors"), test_data ("iris.csv"), out);
    FILE *f = fopen (out, "r");
    char line [512];
    CHECK (f && fgets (line, sizeof line, f));
    CHECK (strcmp (line, "label,p_setosa,p_versicolor,p_virginica\n") == 0);
    CHECK (fgets (line, sizeof line, f) && strncmp (line, "setosa,", 7) == 0);
    fclose (f);
    char *cause = NULL;
    model_t *model = model_load (test_path (s_dir, "iris.safetensors"), &cause);
    CHECK_MSG (model, "%s", cause);
    CHECK (predict_run (model, test_data ("sample_dataset.csv"), out, PREDICT_CSV, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "sepal_length");
    free (cause);
    cause = NULL;
    //  the model is only borrowed: it predicts again
    CHECK_MSG (predict_run (model, test_data ("iris.csv"), out, PREDICT_CSV, &cause) == 0, "%s",
               cause);
    model_destroy (&model);
    printf ("predict: ok\n");
}

//  Per-epoch validation metrics as the progress callback sees them
typedef struct {
    double score [64];          // --metric's value per epoch
    mt_metric_t metric;
    int epochs;
} s_scores_t;

static void
s_on_epoch_metrics (const train_progress_t *progress, void *arg)
{
    s_scores_t *scores = arg;
    if (!progress->epoch_end || !progress->metrics || progress->epoch > 64)
        return;
    scores->score [progress->epoch - 1] = metrics_get (progress->metrics, scores->metric);
    scores->epochs = progress->epoch;
}

//  --metric with --patience: the best epoch is the best by that metric
//  (lower log loss), the final metrics are that epoch's, and the model
//  names it
static void
s_test_metric_patience (void)
{
    dataset_t *ds = s_dataset (120, 3, MT_TASK_CLASSIFICATION, 31, s_side);
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    spec.epochs = 40;
    spec.lr = 0.03;                     // the log loss falls, then wanders
    spec.batch_size = 8;
    spec.patience = 3;
    spec.metric = MT_METRIC_LOG_LOSS;
    s_scores_t scores = { .metric = MT_METRIC_LOG_LOSS };
    train_opts_t opts = { .threads = 1, .progress = s_on_epoch_metrics, .progress_ms = 1000000,
                          .arg = &scores };
    train_result_t *result = malloc (sizeof *result);
    const char *path = test_path (s_dir, "metric.safetensors");
    s_train (&spec, ds, path, &opts, result);
    CHECK (scores.epochs == result->epochs_run && scores.epochs >= 4);
    int best = 1;
    for (int e = 2; e <= scores.epochs; e++)
        best = scores.score [e - 1] < scores.score [best - 1] ? e : best;
    CHECK_MSG (result->best_epoch == best, "best epoch %d, lowest log loss at %d",
               result->best_epoch, best);
    CHECK (result->epochs_run == best + 3 || result->epochs_run == spec.epochs);
    CHECK (result->val_metric == scores.score [best - 1]);
    CHECK (metrics_get (&result->val_metrics, MT_METRIC_LOG_LOSS) == scores.score [best - 1]);
    json_t *metrics = s_model_metrics (path);
    CHECK_STR_EQ (json_string_value (json_object_get (metrics, "metric")), "log_loss");
    CHECK_STR_EQ (json_string_value (json_object_get (metrics, "best_by")), "log_loss");
    CHECK (json_is_array (json_object_get (json_object_get (metrics, "val_metrics"), "confusion")));
    json_decref (metrics);
    model_t *m = model_load (path, NULL);
    char epoch [16];
    snprintf (epoch, sizeof epoch, "%d", best);
    CHECK_STR_EQ (model_meta (m, "weights_epoch"), epoch);
    model_destroy (&m);
    printf ("--metric log_loss with patience: best epoch %d of %d: ok\n", best, scores.epochs);
    free (result);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  The final validation metrics and confusion are the kept epoch's: as its
//  epoch end measured them (a straight run), and measured again when that
//  epoch is older than the run (a resume from the last checkpoint, which
//  trains nothing): the same bits and the same model file, with patience
//  (the best epoch's weights) and without (the last epoch's)
static void
s_test_final_metrics (void)
{
    dataset_t *ds = s_dataset (150, 3, MT_TASK_CLASSIFICATION, 41, s_side);
    for (int patience = 0; patience <= 3; patience += 3) {
        mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
        spec.epochs = 25;
        spec.lr = 0.03;
        spec.batch_size = 8;
        spec.patience = patience;
        spec.val_split = 0.3;
        spec.checkpoint_every = 1;
        const char *ckpt = test_path (s_dir, "final.ckpt");
        train_opts_t opts = { .threads = 1, .checkpoint_path = ckpt };
        train_result_t *straight = malloc (sizeof *straight), *again = malloc (sizeof *again);
        s_train (&spec, ds, test_path (s_dir, "final-straight.safetensors"), &opts, straight);
        CHECK (patience == 0 ? straight->best_epoch == spec.epochs
                             : straight->best_epoch < straight->epochs_run);
        train_opts_t resume = { .threads = 1, .resume_path = ckpt };
        s_train (&spec, ds, test_path (s_dir, "final-resumed.safetensors"), &resume, again);
        CHECK (again->resumed_from_epoch == straight->epochs_run);
        s_check_same_result (straight, again);
        CHECK (memcmp (straight->val_metrics.value, again->val_metrics.value,
                       sizeof straight->val_metrics.value) == 0);
        CHECK (straight->n_classes == 2 && again->n_classes == 2);
        CHECK (memcmp (straight->confusion, again->confusion, 4 * sizeof (int64_t)) == 0);
        CHECK (straight->confusion [0] + straight->confusion [1] + straight->confusion [2]
               + straight->confusion [3] == 45);
        CHECK (test_files_equal (test_path (s_dir, "final-straight.safetensors"),
                             test_path (s_dir, "final-resumed.safetensors")));
        printf ("final metrics, patience %d: best epoch %d of %d, as measured again: ok\n",
                patience, straight->best_epoch, straight->epochs_run);
        free (straight);
        free (again);
        mt_spec_clear (&spec);
    }
    dataset_destroy (&ds);
}

//  --stratify: each class's validation share is round (val_split x count)
static void
s_test_stratify (void)
{
    dataset_t *ds = s_dataset (103, 2, MT_TASK_CLASSIFICATION, 5, s_side);
    size_t count [2] = { 0, 0 };
    for (size_t i = 0; i < ds->rows; i++)
        count [ds->label [i]]++;
    mt_spec_t spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    spec.epochs = 1;
    spec.val_split = 0.3;
    spec.stratify = true;
    train_result_t *result = malloc (sizeof *result);
    s_train (&spec, ds, test_path (s_dir, "strat.safetensors"), NULL, result);
    CHECK (result->n_classes == 2);
    for (int c = 0; c < 2; c++) {
        int64_t held = result->confusion [c * 2] + result->confusion [c * 2 + 1];
        CHECK_MSG (held == (int64_t) floor (0.3 * (double) count [c] + 0.5),
                   "class %d: %lld of %zu held out", c, (long long) held, count [c]);
    }
    //  the same seed draws the same split
    train_result_t *again = malloc (sizeof *again);
    s_train (&spec, ds, test_path (s_dir, "strat2.safetensors"), NULL, again);
    CHECK (memcmp (again->confusion, result->confusion, sizeof result->confusion) == 0);
    printf ("stratify: %zu and %zu rows, 30%% of each held out: ok\n", count [0], count [1]);
    free (result);
    free (again);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

//  A loss that overflows fails the run naming epoch and step, with no model;
//  a class weight naming no class is refused listing the classes
static void
s_test_diverged (void)
{
    dataset_t *ds = s_dataset (40, 2, MT_TASK_REGRESSION, 3, s_line);
    for (size_t i = 0; i < ds->rows; i++)
        ds->y [i] *= 1e4f;
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.optimizer = MT_OPT_SGD;
    spec.lr = 1000;
    spec.n_hidden = 0;
    spec.epochs = 100;
    spec.val_split = 0;                 // the training loss is the first to overflow
    train_opts_t opts = { .threads = 1 };
    train_result_t *result = malloc (sizeof *result);
    char *cause = NULL;
    const char *path = test_path (s_dir, "diverged.safetensors");
    CHECK (train_run (&spec, ds, path, &opts, result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "diverged: the training loss became");
    CHECK_STR_CONTAINS (cause, " at epoch ");
    CHECK_STR_CONTAINS (cause, ", step ");
    CHECK (access (path, F_OK) != 0);
    printf ("diverged: %s\n", cause);
    free (cause);
    cause = NULL;
    dataset_destroy (&ds);
    mt_spec_clear (&spec);

    ds = s_dataset (40, 2, MT_TASK_CLASSIFICATION, 3, s_side);
    spec = s_spec (MT_TASK_CLASSIFICATION, "y");
    CHECK (mt_spec_parse_class_weight (&spec, "pos=2,cat=1", NULL) == 0);
    CHECK (train_run (&spec, ds, path, &opts, result, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "names class 'cat', which the target does not have; its classes"
                        " are neg, pos");
    free (cause);
    free (result);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

//  The MXCSR seen by the step callback, ORed over every step
static void
s_on_fpenv_step (int64_t step, double loss, void *arg)
{
    uint32_t *seen = arg;
    seen [0] |= _mm_getcsr ();
    seen [1] &= _mm_getcsr ();
}

//  train_run, predict_run and eval_run run with FTZ/DAZ and leave the
//  caller's MXCSR control bits (here: round toward zero) as they were, on
//  success and on error. The exception flags (bits 0-5) are sticky and may
//  be raised by the float work outside the engine's FTZ region (parsing).
#define S_CONTROL(csr) ((csr) & ~(uint32_t) 0x3F)

static void
s_test_fpenv (void)
{
    uint32_t caller = (_mm_getcsr () & ~(uint32_t) 0xE07F) | 0x6000;  // RZ, no FTZ/DAZ, no flags
    dataset_t *ds = s_dataset (40, 1, MT_TASK_REGRESSION, 3, s_line);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.n_hidden = 1;
    spec.hidden [0] = 8;
    spec.epochs = 3;
    uint32_t seen [2] = { 0, UINT32_MAX };
    train_opts_t opts = { .threads = 1, .stepped = s_on_fpenv_step, .arg = seen };
    train_result_t result;
    const char *model_path = test_path (s_dir, "fpenv.safetensors");
    _mm_setcsr (caller);
    char *cause = NULL;
    int rc = train_run (&spec, ds, model_path, &opts, &result, &cause);
    uint32_t after = _mm_getcsr ();
    _mm_setcsr (caller & ~(uint32_t) 0x6000);
    CHECK_MSG (rc == 0, "train_run: %s", cause ? cause : "?");
    CHECK (result.steps > 0);
    CHECK_MSG ((seen [1] & 0x8040) == 0x8040, "MXCSR in a step %#x: FTZ/DAZ not set", seen [1]);
    CHECK_MSG (S_CONTROL (after) == caller, "MXCSR after train_run %#x, was %#x", after, caller);

    //  an error return restores it too
    dataset_t empty = { .rows = 0, .cols = 1, .task = MT_TASK_REGRESSION };
    _mm_setcsr (caller);
    rc = train_run (&spec, &empty, model_path, &opts, &result, &cause);
    after = _mm_getcsr ();
    _mm_setcsr (caller & ~(uint32_t) 0x6000);
    CHECK (rc == -1 && S_CONTROL (after) == caller);
    free (cause);
    cause = NULL;

    const char *csv = test_path (s_dir, "fpenv.csv");
    FILE *f = fopen (csv, "w");
    CHECK (f);
    fprintf (f, "x0,y\n");
    for (size_t i = 0; i < ds->rows; i++)
        fprintf (f, "%.9g,%.9g\n", ds->x [i], ds->y [i]);
    fclose (f);
    model_t *model = model_load (model_path, &cause);
    CHECK_MSG (model, "%s", cause ? cause : "?");
    const char *out = test_path (s_dir, "fpenv_pred.csv");
    _mm_setcsr (caller);
    rc = predict_run (model, csv, out, PREDICT_CSV, &cause);
    after = _mm_getcsr ();
    _mm_setcsr (caller & ~(uint32_t) 0x6000);
    CHECK_MSG (rc == 0, "predict_run: %s", cause ? cause : "?");
    CHECK_MSG (S_CONTROL (after) == caller, "MXCSR after predict_run %#x, was %#x", after, caller);
    eval_result_t ev;
    _mm_setcsr (caller);
    rc = eval_run (model, csv, &ev, &cause);
    after = _mm_getcsr ();
    _mm_setcsr (caller & ~(uint32_t) 0x6000);
    CHECK_MSG (rc == 0, "eval_run: %s", cause ? cause : "?");
    CHECK_MSG (S_CONTROL (after) == caller, "MXCSR after eval_run %#x, was %#x", after, caller);
    CHECK (ev.rows == ds->rows);
    eval_result_clear (&ev);
    model_destroy (&model);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
    printf ("fpenv: FTZ/DAZ in training, caller's MXCSR kept\n");
}
#else
static void s_test_fpenv (void) {}
#endif

//  The saved feature mean and std are, to the bit, the per-column moments
//  in double over the training rows in ascending order (what the row-major
//  passes in train.c must keep giving): wide rows, mixed magnitudes, a
//  constant column (std 1)
static void
s_test_standardize (void)
{
    size_t rows = 333, cols = 41;
    dataset_t *ds = s_dataset (rows, cols, MT_TASK_REGRESSION, 41, s_line);
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 1; j < cols; j += 3)
            ds->x [i * cols + j] = ds->x [i * cols + j] * 1000.0f + 5e4f;
        ds->x [i * cols + cols - 1] = 3.25f;
    }
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.val_split = 0;
    spec.epochs = 1;
    char path [300];
    snprintf (path, sizeof path, "%s/standardize.safetensors", s_dir);
    train_result_t result;
    s_train (&spec, ds, path, NULL, &result);
    char *cause = NULL;
    model_t *m = model_load (path, &cause);
    CHECK_MSG (m, "%s", cause ? cause : "?");
    const float *mean = model_input_mean (m), *std = model_input_std (m);
    for (size_t j = 0; j < cols; j++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < rows; i++)
            sum += ds->x [i * cols + j];
        double mu = sum / (double) rows;
        for (size_t i = 0; i < rows; i++) {
            double d = ds->x [i * cols + j] - mu;
            sq += d * d;
        }
        double sd = sqrt (sq / (double) rows);
        float want_std = sd > 0 && (float) sd > 0 ? (float) sd : 1.0f;
        CHECK_MSG (mean [j] == (float) mu && std [j] == want_std,
                   "column %zu: mean %.9g std %.9g, want %.9g %.9g", j, mean [j], std [j],
                   (float) mu, want_std);
    }
    CHECK (std [cols - 1] == 1.0f && mean [cols - 1] == 3.25f);
    model_destroy (&m);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
    printf ("standardize: %zu columns' moments match the column-by-column reference\n", cols);
}

//  What the cadence lets through: every epoch end, and the run's first step
//  at once unless that step ends its epoch (its epoch end reports it)
typedef struct {
    int64_t mid_steps [8];      // steps of the reports made mid-epoch
    int mids, ends;
} s_reports_t;

static void
s_on_report (const train_progress_t *p, void *arg)
{
    s_reports_t *reports = arg;
    if (p->epoch_end)
        reports->ends++;
    else
    if (reports->mids < 8)
        reports->mid_steps [reports->mids++] = p->step;
}

static void
s_test_first_step_report (void)
{
    dataset_t *ds = s_dataset (40, 3, MT_TASK_REGRESSION, 5, s_line);
    mt_spec_t spec = s_spec (MT_TASK_REGRESSION, "y");
    spec.epochs = 3;
    spec.batch_size = 8;            // 5 steps an epoch
    spec.val_split = 0;
    s_reports_t reports = { 0 };
    train_opts_t opts = { .threads = 1, .progress = s_on_report, .progress_ms = 1000000,
                          .arg = &reports };
    train_result_t result;
    s_train (&spec, ds, NULL, &opts, &result);
    CHECK_MSG (reports.mids == 1 && reports.mid_steps [0] == 1, "%d mid-epoch reports, first "
               "at step %lld", reports.mids, (long long) reports.mid_steps [0]);
    CHECK (reports.ends == 3);
    //  One step an epoch: the epoch end is the first step's report
    spec.batch_size = 64;
    reports = (s_reports_t) { 0 };
    s_train (&spec, ds, NULL, &opts, &result);
    CHECK (reports.mids == 0 && reports.ends == 3);
    dataset_destroy (&ds);
    mt_spec_clear (&spec);
}

int
main (void)
{
    if (getenv ("MT_EXPORT_DIR")) {
        s_export (getenv ("MT_EXPORT_DIR"));
        return 0;
    }
    snprintf (s_dir, sizeof s_dir, "/tmp/test_train.XXXXXX");
    CHECK (mkdtemp (s_dir));
    s_test_regression ();
    s_test_classification ();
    s_test_iris ();
    s_test_predict ();
    s_test_determinism ();
    s_test_resume ();
    s_test_checkpoint_floor ();
    s_test_early_stopping ();
    s_test_first_step_report ();
    s_test_resume_at_end ();
    s_test_warm_start ();
    s_test_init_by_name ();
    s_test_undefined_metrics ();
    s_test_defined_metrics ();
    s_test_metric_patience ();
    s_test_final_metrics ();
    s_test_stratify ();
    s_test_diverged ();
    s_test_fpenv ();
    s_test_standardize ();
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    printf ("test_train: ok\n");
    return 0;
}
