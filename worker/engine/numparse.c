/*  numparse - a fast, exact decimal-to-float32 parser for dataset values  */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "numparse.h"

//  What one pass over the text found.
typedef struct {
    uint64_t mant;              // significant digits, leading zeros dropped
    int64_t exp10;              // value = mant * 10^exp10 when !many
    bool neg;
    bool many;                  // more than 19 significant digits
    bool ok;                    // the whole text is a decimal number
} s_scan_t;

#define S_MAX_EXACT  22         // largest exactly representable power of ten
#define S_EXP_CLAMP  1000000000 // explicit exponents past this are all the same

static inline s_scan_t s_scan (const char *s, size_t len) __attribute__ ((always_inline));
static inline const char *s_scan_digits (s_scan_t *scan, const char *p, const char *end,
                                         size_t *count) __attribute__ ((always_inline));
static const char *s_scan_exponent (s_scan_t *scan, const char *p, const char *end);
static double s_strtod (const char *s, size_t len, bool *ok);

static const double s_pow10 [S_MAX_EXACT + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

int
numparse_float (const char *s, size_t len, float *out)
{
    s_scan_t scan = s_scan (s, len);
    if (!scan.ok)
        return -1;
    double value;
    //  Clinger's fast path: a mantissa below 2^53 and a power of ten up to
    //  10^22 are both exact doubles, so one IEEE multiply or divide gives the
    //  correctly rounded double, which is what strtod returns.
    if (scan.mant == 0 && !scan.many)
        value = 0.0;
    else
    if (!scan.many && scan.mant <= (UINT64_C (1) << 53)
    &&  scan.exp10 >= -S_MAX_EXACT && scan.exp10 <= S_MAX_EXACT) {
        value = (double) scan.mant;
        if (scan.exp10 < 0)
            value /= s_pow10 [-scan.exp10];
        else
            value *= s_pow10 [scan.exp10];
    }
    else {
        bool ok;
        value = s_strtod (s, len, &ok);
        if (!ok)
            return -1;
        value = fabs (value);
    }
    float result = (float) (scan.neg ? -value : value);
    if (!isfinite (result))
        return -1;
    *out = result;
    return 0;
}

bool
numparse_is_decimal (const char *s, size_t len)
{
    return s_scan (s, len).ok;
}

bool
numparse_is_nonfinite (const char *s, size_t len)
{
    if (len > 0 && (*s == '+' || *s == '-')) {
        s++;
        len--;
    }
    return (len == 3 && (strncasecmp (s, "nan", 3) == 0 || strncasecmp (s, "inf", 3) == 0))
        || (len == 8 && strncasecmp (s, "infinity", 8) == 0);
}

//  One pass: sign, integer digits, fraction digits, exponent; ok only when
//  the text ends right after them and holds at least one mantissa digit.
static inline s_scan_t
s_scan (const char *s, size_t len)
{
    s_scan_t scan = { 0 };
    const char *p = s, *end = s + len;
    if (p < end && (*p == '+' || *p == '-'))
        scan.neg = *p++ == '-';
    size_t int_digits = 0, frac_digits = 0;
    p = s_scan_digits (&scan, p, end, &int_digits);
    if (p < end && *p == '.') {
        p = s_scan_digits (&scan, p + 1, end, &frac_digits);
        scan.exp10 -= (int64_t) frac_digits;    // exact unless many, and then unused
    }
    if (int_digits + frac_digits == 0)
        return scan;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = s_scan_exponent (&scan, p + 1, end);
        if (!p)
            return scan;
    }
    scan.ok = p == end;
    return scan;
}

//  Accumulate a run of digits into the mantissa (leading zeros add nothing
//  to it); past 19 significant digits only note that there are many.
static inline const char *
s_scan_digits (s_scan_t *scan, const char *p, const char *end, size_t *count)
{
    const char *start = p;
    uint64_t mant = scan->mant;
    for (; p < end && (unsigned) (*p - '0') < 10; p++) {
        if (mant < UINT64_C (1000000000000000000))
            mant = mant * 10 + (unsigned) (*p - '0');
        else
            scan->many = true;          // strtod takes it from here
    }
    scan->mant = mant;
    *count = (size_t) (p - start);
    return p;
}

//  The digits after 'e': adds them to exp10, or returns NULL when there are none.
static const char *
s_scan_exponent (s_scan_t *scan, const char *p, const char *end)
{
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    const char *start = p;
    int64_t exp = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        if (exp < S_EXP_CLAMP)
            exp = exp * 10 + (*p - '0');
    if (p == start)
        return NULL;
    scan->exp10 += neg ? -exp : exp;
    return p;
}

//  The slow path: strtod in the C locale, whatever the process's locale is.
static double
s_strtod (const char *s, size_t len, bool *ok)
{
    char small [128];
    char *copy = len < sizeof small ? small : malloc (len + 1);
    *ok = false;
    if (!copy)
        return 0.0;
    memcpy (copy, s, len);
    copy [len] = 0;
    char *end = NULL;
    locale_t c_locale = newlocale (LC_ALL_MASK, "C", (locale_t) 0);
    double value = c_locale ? strtod_l (copy, &end, c_locale) : strtod (copy, &end);
    if (c_locale)
        freelocale (c_locale);
    *ok = end == copy + len;
    if (copy != small)
        free (copy);
    return value;
}
