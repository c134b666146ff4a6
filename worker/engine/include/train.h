/*  train - the training loop: splits, batches, epochs, validation, early stop  */
#ifndef MT_TRAIN_H_INCLUDED
#define MT_TRAIN_H_INCLUDED

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "mt/spec.h"
#include "dataset.h"
#include "metrics.h"

#define TRAIN_MAX_CONFUSION 32  // classes at most whose confusion matrix a result keeps

//  One progress report.
typedef struct {
    int epoch;                  // epochs completed so far (0-based running epoch + 1 at epoch end)
    int epochs;                 // epochs in the spec
    int64_t step;               // optimizer steps done
    int64_t steps;              // steps in the whole run (epochs x batches per epoch)
    double loss;                // running mean train loss in this epoch
    double val_loss;            // last validation loss, NAN before the first
    double val_metric;          // last R^2 or accuracy (or --metric), NAN before the first
    double samples_per_sec;     // training rows per second over the recent interval
    double eta_s;               // seconds to the end, estimated
    bool epoch_end;             // true when reported at the end of an epoch
    const metrics_t *metrics;   // epoch end: that epoch's validation metrics; else NULL
} train_progress_t;

typedef void (train_progress_fn) (const train_progress_t *progress, void *arg);
//  Called after a checkpoint file has been written (atomically) at path.
typedef void (train_checkpoint_fn) (const char *path, int epoch, void *arg);

//  Called after every optimizer step with the step number (1-based) and the
//  batch's mean training loss (in standardized units for regression).
typedef void (train_step_fn) (int64_t step, double loss, void *arg);

typedef struct {
    int threads;                        // OpenBLAS threads, >= 1
    int progress_ms;                    // min interval between reports; epoch ends and the first step always report
    train_progress_fn *progress;        // may be NULL
    train_checkpoint_fn *checkpointed;  // may be NULL
    void *arg;                          // passed to both callbacks
    volatile sig_atomic_t *stop;        // non-zero = stop between steps; may be NULL
    const char *checkpoint_path;        // where checkpoints are written; NULL = none
    const char *resume_path;            // checkpoint to resume from; NULL = fresh start
    const char *init_path;              // model file to warm start from; NULL = none
    const char *init_name;              // names init_path in messages; NULL = init_path
    bool model_in_place;                // write the model over model_path's file
                                        //   (model_save_in_place): nothing reads it
                                        //   before train_run returns
    int checkpoint_min_ms;              // least wall time, ms, from the start or the last
                                        //   checkpoint to a periodic one; 0 = no floor
    train_step_fn *stepped;             // after every step (tests, loss curves); may be NULL
    const dataset_t *val_ds;            // fixed validation rows (--val-data), read with the
                                        //   training data's columns and classes; NULL =
                                        //   spec->val_split of the training rows
} train_opts_t;

//  Why each metric is undefined: static text, NULL while it is defined. A
//  metric with a reason is NAN, and null in the metrics map.
typedef struct {
    const char *loss;
    const char *val_loss;
    const char *val_metric;
    const char *train_metric;
} train_undefined_t;

typedef struct {
    int epochs_run;             // epochs completed
    int best_epoch;             // epoch whose weights were kept (early stopping)
    int64_t steps;
    double loss;                // mean train loss of the epoch the weights are from
    double val_loss;            // best epoch's validation loss, NAN without validation
    double val_metric;          // best epoch's R^2 or accuracy (or --metric), NAN without
                                //   validation or (R^2) when the validation target is constant
    double train_metric;        // final weights on the training split, NAN when stopped
                                //   or (R^2) when the training target is constant
    double seconds;             // wall time of the loop
    bool stopped;               // the stop flag ended the run early
    int resumed_from_epoch;     // epoch of the checkpoint resumed from, 0 = fresh
    train_undefined_t undefined;// why loss, val_loss, val_metric, train_metric are NAN
    mt_metric_t metric;         // what val_metric and train_metric are (val_loss = the task's
                                //   default: accuracy or r2)
    mt_metric_t best_by;        // what chose the best epoch (spec->metric)
    metrics_t val_metrics;      // every validation metric of the best epoch
    int n_classes;              // classes of confusion, 0 = none kept
    int64_t confusion [TRAIN_MAX_CONFUSION * TRAIN_MAX_CONFUSION];  // best epoch's, on the
                                //   validation rows: [true][predicted], n_classes wide
} train_result_t;

//  Train spec on ds and write the model (safetensors) to model_path. The
//  spec must be valid: it is checked where it enters (mt_spec_from_json,
//  or mt_spec_validate by whoever builds it), not again here. With
//  checkpoint_path, writes a checkpoint at an epoch that is a multiple of
//  spec->checkpoint_every once checkpoint_min_ms have passed since the last
//  one (or the start), at the last epoch or an early stop (checkpoint_every
//  > 0) once they have passed too, and on stop, which returns 0 with
//  result->stopped.
//  Returns 0, or -1 with *cause (caller frees).
int train_run (const mt_spec_t *spec, const dataset_t *ds, const char *model_path,
               const train_opts_t *opts, train_result_t *result, char **cause);

//  The metrics map of result, as a model's metadata and a DONE carry it:
//  loss, val_loss, val_metric, train_metric (each null when undefined),
//  metric (what val_metric is: "accuracy" or "r2" by task, or --metric),
//  best_by (what chose best_epoch: "val_loss" or --metric), best_epoch,
//  and, when any is null, "undefined": {key: reason} (e.g. "val_metric":
//  "no validation rows (validation_split 0)"); then "val_metrics", the
//  best epoch's full set on the validation rows (metrics_to_json's keys,
//  its own "undefined", and "confusion" [true][predicted] for
//  classification up to TRAIN_MAX_CONFUSION classes). Returns a new jansson
//  object the caller decrefs.
struct json_t *train_metrics (const train_result_t *result, mt_task_t task);

//  Check that every class spec->class_weights names is one of classes.
//  Returns 0, or -1 with *cause naming the class and listing the classes.
int train_check_class_weights (const mt_spec_t *spec, const char *const *classes,
                               int n_classes, char **cause);

#endif
