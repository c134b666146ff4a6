/*  numparse - a fast, exact decimal-to-float32 parser for dataset values  */
#ifndef MT_NUMPARSE_H_INCLUDED
#define MT_NUMPARSE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

//  Parse exactly the len bytes at s as a decimal number
//  ([+-] digits [. digits] [e|E [+-] digits], digits on at least one side of
//  the point; no spaces, no hex, no nan or inf) and round it to float32.
//  The result always equals (float) strtod (s) in the C locale, which is also
//  what a JSON number read by jansson gives. Returns 0 with *out set, or -1
//  when the text is not such a number or its value is not a finite float32
//  (e.g. "1e39"); *out is untouched then.
int numparse_float (const char *s, size_t len, float *out);

//  True when the len bytes at s have the syntax numparse_float accepts,
//  whatever the value (so "1e999" is true and "abc" false). For messages.
bool numparse_is_decimal (const char *s, size_t len);

//  True when the len bytes at s spell nan or inf (any case, optional sign,
//  "infinity" too). For messages.
bool numparse_is_nonfinite (const char *s, size_t len);

#endif
