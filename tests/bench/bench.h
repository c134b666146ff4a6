/*  bench - what the C benchmarks share: a monotonic clock and the order to sort timings in  */
#ifndef MT_BENCH_H_INCLUDED
#define MT_BENCH_H_INCLUDED

#include <time.h>

//  The monotonic clock, s (ns resolution).
static inline double
bench_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  qsort's comparison of doubles, smallest first (for the median of runs).
static inline int
bench_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

#endif
