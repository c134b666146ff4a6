/*  kernels_gemm - small matrix products (batch 32 x 64) in AVX2 and FMA, where OpenBLAS's per-call work dominates  */
//  C [m, n] = (C +) sum over k of A (i, p) B [p, n], with A read through two
//  strides, so one kernel serves the forward (A = X, B = W packed as W^T),
//  the input gradient (A = delta, B = W) and the weight gradient (A =
//  delta^T, B = X). Blocks of 4 rows x 16 columns keep 8 accumulators in
//  registers; the last columns of a row go through masked loads and stores.
//  Sums run over p in order with FMA: the bits differ from OpenBLAS's (whose
//  kernels also differ by processor), within the golden tolerance.
#include <stdint.h>
#include "kernels.h"

#if defined (__x86_64__) && defined (__GNUC__)
#include <immintrin.h>

#define S_AVX2 __attribute__ ((target ("avx2,fma")))

//  The lanes of a 16-column block that exist, as two maskload masks
S_AVX2 static inline void
s_masks (int cols, __m256i *lo, __m256i *hi)
{
    const __m256i lane = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
    *lo = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (cols), lane);
    *hi = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (cols - 8), lane);
}

//  4 rows x 16 whole columns: eight named accumulators, so they stay in
//  registers (an array indexed by row went to the stack, one store and one
//  reload per FMA). Same sums as s_block: over p in order, one FMA each.
S_AVX2 static void
s_rows4_full (int k, const float *a, size_t a_row, size_t a_col, const float *b, int ldb,
              float *c, int ldc, bool accumulate)
{
    float *c0 = c, *c1 = c + ldc, *c2 = c + 2 * (size_t) ldc, *c3 = c + 3 * (size_t) ldc;
    __m256 x00, x01, x10, x11, x20, x21, x30, x31;
    if (accumulate) {
        x00 = _mm256_loadu_ps (c0); x01 = _mm256_loadu_ps (c0 + 8);
        x10 = _mm256_loadu_ps (c1); x11 = _mm256_loadu_ps (c1 + 8);
        x20 = _mm256_loadu_ps (c2); x21 = _mm256_loadu_ps (c2 + 8);
        x30 = _mm256_loadu_ps (c3); x31 = _mm256_loadu_ps (c3 + 8);
    }
    else
        x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = _mm256_setzero_ps ();
    const float *a0 = a, *a1 = a + a_row, *a2 = a + 2 * a_row, *a3 = a + 3 * a_row;
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t) p * (size_t) ldb;
        size_t ap = (size_t) p * a_col;
        __m256 b0 = _mm256_loadu_ps (bp);
        __m256 b1 = _mm256_loadu_ps (bp + 8);
        __m256 ai = _mm256_broadcast_ss (a0 + ap);
        x00 = _mm256_fmadd_ps (ai, b0, x00);
        x01 = _mm256_fmadd_ps (ai, b1, x01);
        ai = _mm256_broadcast_ss (a1 + ap);
        x10 = _mm256_fmadd_ps (ai, b0, x10);
        x11 = _mm256_fmadd_ps (ai, b1, x11);
        ai = _mm256_broadcast_ss (a2 + ap);
        x20 = _mm256_fmadd_ps (ai, b0, x20);
        x21 = _mm256_fmadd_ps (ai, b1, x21);
        ai = _mm256_broadcast_ss (a3 + ap);
        x30 = _mm256_fmadd_ps (ai, b0, x30);
        x31 = _mm256_fmadd_ps (ai, b1, x31);
    }
    _mm256_storeu_ps (c0, x00); _mm256_storeu_ps (c0 + 8, x01);
    _mm256_storeu_ps (c1, x10); _mm256_storeu_ps (c1 + 8, x11);
    _mm256_storeu_ps (c2, x20); _mm256_storeu_ps (c2 + 8, x21);
    _mm256_storeu_ps (c3, x30); _mm256_storeu_ps (c3 + 8, x31);
}

//  rows (1 to 4) x one block of up to 16 columns, the last columns masked
S_AVX2 static inline __attribute__ ((always_inline)) void
s_block (int rows, int cols, int k, const float *a, size_t a_row, size_t a_col,
         const float *b, int ldb, float *c, int ldc, bool accumulate)
{
    __m256 acc [4][2];
    __m256i lo, hi;
    s_masks (cols, &lo, &hi);
    for (int i = 0; i < rows; i++) {
        float *ci = c + (size_t) i * (size_t) ldc;
        acc [i][0] = accumulate ? _mm256_maskload_ps (ci, lo) : _mm256_setzero_ps ();
        acc [i][1] = accumulate ? _mm256_maskload_ps (ci + 8, hi) : _mm256_setzero_ps ();
    }
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t) p * (size_t) ldb;
        __m256 b0 = _mm256_maskload_ps (bp, lo);
        __m256 b1 = _mm256_maskload_ps (bp + 8, hi);
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss (a + (size_t) i * a_row + (size_t) p * a_col);
            acc [i][0] = _mm256_fmadd_ps (ai, b0, acc [i][0]);
            acc [i][1] = _mm256_fmadd_ps (ai, b1, acc [i][1]);
        }
    }
    for (int i = 0; i < rows; i++) {
        float *ci = c + (size_t) i * (size_t) ldc;
        _mm256_maskstore_ps (ci, lo, acc [i][0]);
        _mm256_maskstore_ps (ci + 8, hi, acc [i][1]);
    }
}

//  rows fixed per call, so the compiler unrolls each into registers
S_AVX2 static void
s_rows4 (int cols, int k, const float *a, size_t a_row, size_t a_col, const float *b, int ldb,
         float *c, int ldc, bool accumulate)
{
    if (cols == 16)
        s_rows4_full (k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
    else
        s_block (4, cols, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
}

S_AVX2 static void
s_rows1 (int cols, int k, const float *a, size_t a_row, size_t a_col, const float *b, int ldb,
         float *c, int ldc, bool accumulate)
{
    s_block (1, cols, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
}

S_AVX2 static void
s_gemm_avx2 (bool accumulate, int m, int n, int k, const float *a, size_t a_row,
             size_t a_col, const float *b, int ldb, float *c, int ldc)
{
    for (int j = 0; j < n; j += 16) {
        int cols = n - j < 16 ? n - j : 16;
        int i = 0;
        for (; i + 4 <= m; i += 4)
            s_rows4 (cols, k, a + (size_t) i * a_row, a_row, a_col, b + j, ldb,
                     c + (size_t) i * (size_t) ldc + j, ldc, accumulate);
        for (; i < m; i++)
            s_rows1 (cols, k, a + (size_t) i * a_row, a_row, a_col, b + j, ldb,
                     c + (size_t) i * (size_t) ldc + j, ldc, accumulate);
    }
}

//  One 8 x 8 block: wt [j, i] = w [i, j], rows ldw and ldt apart
S_AVX2 static inline void
s_transpose8 (const float *w, size_t ldw, float *wt, size_t ldt)
{
    __m256 r [8], t [8];
    for (int i = 0; i < 8; i++)
        r [i] = _mm256_loadu_ps (w + (size_t) i * ldw);
    for (int i = 0; i < 8; i += 2) {
        t [i] = _mm256_unpacklo_ps (r [i], r [i + 1]);
        t [i + 1] = _mm256_unpackhi_ps (r [i], r [i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r [i] = _mm256_shuffle_ps (t [i], t [i + 2], 0x44);
        r [i + 1] = _mm256_shuffle_ps (t [i], t [i + 2], 0xee);
        r [i + 2] = _mm256_shuffle_ps (t [i + 1], t [i + 3], 0x44);
        r [i + 3] = _mm256_shuffle_ps (t [i + 1], t [i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        t [i] = _mm256_permute2f128_ps (r [i], r [i + 4], 0x20);
        t [i + 4] = _mm256_permute2f128_ps (r [i], r [i + 4], 0x31);
    }
    for (int i = 0; i < 8; i++)
        _mm256_storeu_ps (wt + (size_t) i * ldt, t [i]);
}

S_AVX2 static void
s_transpose_avx2 (const float *w, int rows, int cols, float *wt)
{
    int i = 0;
    for (; i + 8 <= rows; i += 8) {
        int j = 0;
        for (; j + 8 <= cols; j += 8)
            s_transpose8 (w + (size_t) i * cols + j, (size_t) cols, wt + (size_t) j * rows + i,
                          (size_t) rows);
        for (; j < cols; j++)
            for (int ii = i; ii < i + 8; ii++)
                wt [(size_t) j * rows + ii] = w [(size_t) ii * cols + j];
    }
    for (; i < rows; i++)
        for (int j = 0; j < cols; j++)
            wt [(size_t) j * rows + i] = w [(size_t) i * cols + j];
}
#endif

void
kernels_transpose (const float *w, int rows, int cols, float *wt)
{
#if defined (__x86_64__) && defined (__GNUC__)
    s_transpose_avx2 (w, rows, cols, wt);
#else
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            wt [(size_t) j * rows + i] = w [(size_t) i * cols + j];
#endif
}

bool
kernels_gemm_small_ok (void)
{
#if defined (__x86_64__) && defined (__GNUC__)
    __builtin_cpu_init ();
    return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#else
    return false;
#endif
}

void
kernels_gemm_small (bool accumulate, int m, int n, int k, const float *a, size_t a_row,
                    size_t a_col, const float *b, int ldb, float *c, int ldc)
{
#if defined (__x86_64__) && defined (__GNUC__)
    s_gemm_avx2 (accumulate, m, n, k, a, a_row, a_col, b, ldb, c, ldc);
#else
    (void) accumulate; (void) m; (void) n; (void) k; (void) a; (void) a_row; (void) a_col;
    (void) b; (void) ldb; (void) c; (void) ldc;
#endif
}
