/*  fpenv - flush-to-zero and denormals-are-zero around the engine's float work  */
//  Subnormal floats (below 1.2e-38) cost a microcode assist per operation
//  on x86; Adam's squared gradients fall there. The engine's entry points
//  (train_run, predict_run, eval_run) set FTZ and DAZ in MXCSR on entry, so
//  such values become zero, and put the caller's MXCSR back on every return.
//  On other architectures both calls do nothing.
#ifndef MT_FPENV_H_INCLUDED
#define MT_FPENV_H_INCLUDED
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#define FPENV_FTZ_DAZ 0x8040u   // MXCSR bits: flush-to-zero (15) and denormals-are-zero (6)

//  Set FTZ and DAZ on the calling thread; returns the MXCSR it replaced,
//  for fpenv_restore.
static inline uint32_t
fpenv_fast (void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint32_t saved = _mm_getcsr ();
    _mm_setcsr (saved | FPENV_FTZ_DAZ);
    return saved;
#else
    return 0;
#endif
}

//  Put back the MXCSR that fpenv_fast returned.
static inline void
fpenv_restore (uint32_t saved)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr (saved);
#else
    (void) saved;
#endif
}

#endif
