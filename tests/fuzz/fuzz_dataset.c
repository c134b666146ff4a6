/*  fuzz_dataset - the CSV and JSONL readers on arbitrary bytes, with several option sets  */
#include "dataset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *features [] = { "x", "a" };
    dataset_opts_t opts [] = {
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
        dataset_destroy (&ds);
        free (cause);
    }
    free (copy);
    return 0;
}
