/*  fuzz_dataset - the CSV and JSONL readers on arbitrary bytes, with several option sets  */
#include "dataset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *features [] = { "x", "a" };
    static const char *cat [] = { "a" }, *num [] = { "x" }, *na [] = { "-", "" };
    dataset_opts_t opts [] = {
        { .format = MT_FORMAT_AUTO, .target = "y", .task = MT_TASK_CLASSIFICATION,
          .categorical = cat, .n_categorical = 1, .numeric = num, .n_numeric = 1,
          .na_values = na, .n_na_values = 2, .max_categories = 2 },
        { .format = MT_FORMAT_AUTO, .target = "y", .task = MT_TASK_REGRESSION,
          .missing_target_error = true },
        { .format = MT_FORMAT_CSV, .target = "y", .task = MT_TASK_REGRESSION },
        { .format = MT_FORMAT_JSONL, .target = "y", .task = MT_TASK_CLASSIFICATION },
        { .format = MT_FORMAT_AUTO, .target = NULL, .features = features, .n_features = 1 },
        { .format = MT_FORMAT_CSV, .target = "species", .task = MT_TASK_CLASSIFICATION },
    };
    //  An exact-size copy, so a read past the end is caught by ASan
    char *copy = malloc (size ? size : 1);
    if (!copy)
        return 0;
    memcpy (copy, data, size);
    for (size_t i = 0; i < sizeof opts / sizeof opts [0]; i++) {
        char *cause = NULL;
        dataset_t *ds = dataset_load_buffer ("fuzz", copy, size, &opts [i], &cause);
        if (!ds && !cause)
            abort ();           // every refusal must say why
        if (ds && ds->plan && ds->y == NULL && ds->label == NULL) {
            //  A plan the loader made is applied to the same bytes, as predict does
            dataset_opts_t apply = { .format = MT_FORMAT_AUTO, .plan = ds->plan };
            char *why = NULL;
            dataset_t *again = dataset_load_buffer ("fuzz", copy, size, &apply, &why);
            if (!again && !why)
                abort ();
            dataset_destroy (&again);
            free (why);
        }
        if (ds && ds->plan && ds->cols != encode_width (ds->plan))
            abort ();
        dataset_destroy (&ds);
        free (cause);
    }
    free (copy);
    return 0;
}
