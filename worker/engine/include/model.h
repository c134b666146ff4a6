/*  model - a trained MLP with its scaling, read from and written to safetensors  */
#ifndef MT_MODEL_H_INCLUDED
#define MT_MODEL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mt/spec.h"

typedef struct model_t model_t;
struct encode_t;

//  Load a model or checkpoint file (safetensors). Returns a new model the
//  caller destroys, or NULL with *cause naming the file and what is wrong
//  (truncated, bad header, missing tensor, wrong shape...).
model_t *model_load (const char *path, char **cause);
void model_destroy (model_t **self_p);

//  Load the layers of a bare PyTorch state dict (safetensors with tensors
//  "0.weight", "0.bias", "2.weight"... and no mt metadata, as
//  safetensors.torch.save_file (model.state_dict ()) writes them), for
//  --init: inputs and outputs are known by position only (model_is_bare).
//  Returns a new model the caller destroys, or NULL with *cause.
model_t *model_load_bare (const char *path, char **cause);
bool model_is_bare (const model_t *self);

//  An --init file: an mt model (model_load), else a bare state dict
//  (model_load_bare). Returns a new model the caller destroys, or NULL with
//  *cause: the bare reading's when the file's metadata has no "spec" (not
//  an mt model: a tensor missing, a dtype other than F32...), else model_load's.
model_t *model_load_init (const char *path, char **cause);

//  Check that the file at path is an mt model whose tensors fit spec (the
//  job's): a safetensors header that parses, F32 tensors whose shapes and
//  offsets fit the file's size, the spec's task, a plan (metadata "plan")
//  that parses and is as wide as the first layer (without a plan: the
//  spec's features' count, when it names them), its hidden layers, and one output (regression) or one
//  per class (2 or more). Reads the header and the file's size only, no
//  weights. Returns 0, or -1 with *cause naming the file and the problem.
int model_check (const char *path, const mt_spec_t *spec, char **cause);
//  The same check on a model held in memory (size bytes at bytes); name
//  stands for the file in *cause.
int model_check_bytes (const char *name, const void *bytes, size_t size, const mt_spec_t *spec,
                       char **cause);
//  model_check's two ways, for its tests and fuzzer. A header as model_save
//  writes it (ASCII names) is checked in place by a scan of that subset of
//  JSON: model_check_fast is true when that scan alone says the file fits,
//  false when it does not or cannot tell. model_check_full is the check by
//  jansson, which model_check falls back to and whose verdict it gives.
bool model_check_fast (const char *path, const mt_spec_t *spec);
int model_check_full (const char *path, const mt_spec_t *spec, char **cause);

//  What the model expects and returns. Borrowed pointers, valid while the
//  model lives.
mt_task_t model_task (const model_t *self);
const char *const *model_features (const model_t *self, int *count);
const char *model_target (const model_t *self);
const char *const *model_classes (const model_t *self, int *count);   // NULL for regression
const mt_spec_t *model_spec (const model_t *self);

//  The encoding plan (borrowed; never NULL): the model's own, or for a
//  model without one every feature as a number with no imputation.
const struct encode_t *model_plan (const model_t *self);

//  Replace the plan with a copy of plan, which must be as wide as the
//  model's inputs (and name them as its features do). Returns 0 or -1.
int model_set_plan (model_t *self, const struct encode_t *plan, char **cause);

//  Predict for rows of raw (unscaled) features, rows x n_features row-major,
//  in the model's feature order. out gets rows x n_out values: the target in
//  its own units for regression (n_out = 1), class probabilities for
//  classification (n_out = classes). Returns 0, or -1 with *cause.
int model_predict (const model_t *self, const float *x, size_t rows, float *out, char **cause);

//  --- Building and writing models and checkpoints (the training engine) ---

struct mlp_t;

//  A new model with zero weights: spec's hidden layers and activation, the
//  named features as inputs, one output for regression or one per class for
//  classification (n_classes >= 2), network workspaces for max_batch rows.
//  Scaling starts as identity. Copies everything. NULL with *cause.
model_t *model_new (const mt_spec_t *spec, const char *const *features, int n_features,
                    const char *target, const char *const *classes, int n_classes,
                    int max_batch, char **cause);

//  The network and the scaling arrays, borrowed: input mean and std have
//  n_features floats; target scale is { mean, std } (regression).
struct mlp_t *model_mlp (model_t *self);
const struct mlp_t *model_mlp_const (const model_t *self);
float *model_input_mean (model_t *self);
float *model_input_std (model_t *self);
float *model_target_scale (model_t *self);

//  Write the model (and its extra tensors and metadata) as safetensors to
//  path, atomically (temp file, rename) but not durably: no fsync, as the
//  worker's copies are uploaded and the broker's is synced. Returns 0, or -1
//  with *cause.
int model_save (const model_t *self, const char *path, char **cause);

//  The same bytes written over the file at path with mt_file_overwrite,
//  which keeps its inode; a reader while it writes sees a torn file: only
//  for a path no one reads until the writer says it is done (the worker's
//  kept training process and its agent).
int model_save_in_place (const model_t *self, const char *path, char **cause);

//  Extra metadata (string values; "epoch", "step", "metrics", checkpoint
//  state...). set copies; get returns a borrowed string or NULL.
int model_set_meta (model_t *self, const char *key, const char *value, char **cause);
const char *model_meta (const model_t *self, const char *key);

//  Extra float32 tensors (optimizer state, best weights...): set copies
//  data with the given shape (replacing a tensor of the same name); get
//  returns borrowed data and its element count, or NULL.
int model_set_tensor (model_t *self, const char *name, const float *data,
                      const int64_t *shape, int ndim, char **cause);
const float *model_tensor (const model_t *self, const char *name, size_t *count);

//  Drop every extra tensor and extra metadata entry.
void model_clear_extras (model_t *self);

//  The torch state_dict names of layer's weight and bias: "<2 layer>.weight".
void model_param_name (int layer, bool bias, char *name, size_t size);

#endif
