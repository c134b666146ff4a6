/*  model - a trained MLP with its scaling, read from and written to safetensors  */
#ifndef MT_MODEL_H_INCLUDED
#define MT_MODEL_H_INCLUDED

#include <stddef.h>
#include "mt/spec.h"

typedef struct model_t model_t;

//  Load a model or checkpoint file (safetensors). Returns a new model the
//  caller destroys, or NULL with *cause naming the file and what is wrong
//  (truncated, bad header, missing tensor, wrong shape...).
model_t *model_load (const char *path, char **cause);
void model_destroy (model_t **self_p);

//  What the model expects and returns. Borrowed pointers, valid while the
//  model lives.
mt_task_t model_task (const model_t *self);
const char *const *model_features (const model_t *self, int *count);
const char *model_target (const model_t *self);
const char *const *model_classes (const model_t *self, int *count);   // NULL for regression
const mt_spec_t *model_spec (const model_t *self);

//  Predict for rows of raw (unscaled) features, rows x n_features row-major,
//  in the model's feature order. out gets rows x n_out values: the target in
//  its own units for regression (n_out = 1), class probabilities for
//  classification (n_out = classes). Returns 0, or -1 with *cause.
int model_predict (const model_t *self, const float *x, size_t rows, float *out, char **cause);

#endif
