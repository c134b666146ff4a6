/*  testmodel - a real mt model file for a spec, for the fake workers of the unit tests  */
#ifndef MT_TESTMODEL_H_INCLUDED
#define MT_TESTMODEL_H_INCLUDED

#include "testutil.h"
#include "model.h"
#include "mt/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

//  The bytes of a model for spec_json (a spec the broker accepts) as the
//  engine saves it: n_features inputs (f0, f1...), target y, classes a and
//  b for classification, zero weights. The caller frees the bytes; *size
//  gets their count.
static inline char *
test_model_bytes (const char *spec_json, int n_features, size_t *size)
{
    mt_spec_t spec;
    char *cause = NULL;
    CHECK_MSG (mt_spec_from_json (&spec, spec_json, &cause) == 0, "%s", cause);
    char names [16][8];
    const char *features [16];
    CHECK (n_features >= 1 && n_features <= 16);
    for (int i = 0; i < n_features; i++) {
        snprintf (names [i], sizeof names [i], "f%d", i);
        features [i] = names [i];
    }
    const char *classes [] = { "a", "b" };
    model_t *model = model_new (&spec, features, n_features, "y", classes, 2, 1, &cause);
    CHECK_MSG (model, "%s", cause);
    char dir [256];
    test_temp_dir (dir, sizeof dir, "mt-testmodel");
    const char *path = test_path (dir, "model.safetensors");
    CHECK_MSG (model_save (model, path, &cause) == 0, "%s", cause);
    model_destroy (&model);
    mt_spec_clear (&spec);
    FILE *file = fopen (path, "rb");
    CHECK (file && fseek (file, 0, SEEK_END) == 0);
    long length = ftell (file);
    CHECK (length > 0);
    rewind (file);
    char *bytes = malloc ((size_t) length);
    CHECK (bytes && fread (bytes, 1, (size_t) length, file) == (size_t) length);
    fclose (file);
    unlink (path);
    rmdir (dir);
    *size = (size_t) length;
    return bytes;
}

#endif
