/*  fuzz_plan - the encoding plan's JSON reader on arbitrary bytes, then the plan applied  */
#include "encode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *cause = NULL;
    encode_t *plan = encode_from_json ((const char *) data, size, &cause);
    if (!plan && !cause)
        abort ();               // every refusal must say why
    if (plan) {
        //  What the reader accepted must write back and read again the same
        char *text = encode_to_json (plan);
        encode_t *again = text ? encode_from_json (text, strlen (text), NULL) : NULL;
        if (text && !again)
            abort ();
        float *row = calloc (encode_width (plan) + 1, sizeof (float));
        encode_counts_t counts = { 0 };
        for (int c = 0; row && c < encode_columns (plan); c++) {
            encode_put_missing (plan, c, row, &counts);
            if (encode_column_kind (plan, c) == ENCODE_CATEGORICAL)
                encode_put_category (plan, c, (const char *) data, size < 8 ? size : 8, row,
                                     &counts);
        }
        char **names = encode_names (plan);
        encode_names_free (names, encode_width (plan));
        free (row);
        free (text);
        encode_destroy (&again);
        encode_destroy (&plan);
    }
    free (cause);
    return 0;
}
