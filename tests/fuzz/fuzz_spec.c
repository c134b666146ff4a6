/*  fuzz_spec - libFuzzer target: arbitrary text into mt_spec_from_json  */
#include "mt/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    mt_spec_t spec;
    char *cause = NULL;
    if (mt_spec_from_json (&spec, text, &cause) == 0) {
        //  an accepted spec validates and survives its own JSON form
        if (mt_spec_validate (&spec, NULL))
            abort ();
        char *json = mt_spec_to_json (&spec);
        mt_spec_t back;
        if (!json || mt_spec_from_json (&back, json, NULL))
            abort ();
        char *again = mt_spec_to_json (&back);
        if (!again || strcmp (json, again))
            abort ();
        free (again);
        free (json);
        mt_spec_clear (&back);
        mt_spec_clear (&spec);
    }
    else
    if (!cause)
        abort ();
    free (cause);
    free (text);
    return 0;
}
