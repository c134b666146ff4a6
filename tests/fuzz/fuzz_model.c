/*  fuzz_model - the safetensors reader on arbitrary bytes, through an in-memory file  */
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
    }
    close (fd);
    return 0;
}
