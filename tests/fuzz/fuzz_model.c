/*  fuzz_model - the safetensors reader and model_check on arbitrary bytes, through an in-memory file  */
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    int fd = memfd_create ("fuzz_model", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write (fd, data, size) == (ssize_t) size) {
        char path [64];
        snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
        char *cause = NULL;
        model_t *model = model_load (path, &cause);
        if (!model && !cause)
            abort ();           // every refusal must say why
        if (model) {
            int n;
            model_features (model, &n);
            float *x = calloc ((size_t) n + 1, sizeof (float));
            float out [65536];
            int classes = 0;
            model_classes (model, &classes);
            if (x && classes < 65536)
                model_predict (model, x, 1, out, &cause);
            free (x);
        }
        model_destroy (&model);
        free (cause);
        cause = NULL;
        //  model_check's fast path takes nothing the full check refuses,
        //  for a job of either task (hidden layers of 16, any features)
        for (int task = 0; task < 2; task++) {
            mt_spec_t spec;
            mt_spec_init (&spec);
            spec.task = task ? MT_TASK_CLASSIFICATION : MT_TASK_REGRESSION;
            if (model_check_fast (path, &spec) && model_check_full (path, &spec, &cause))
                abort ();
            free (cause);
            cause = NULL;
        }
    }
    close (fd);
    return 0;
}
