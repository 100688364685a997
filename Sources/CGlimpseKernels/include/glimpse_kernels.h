#ifndef GLIMPSE_KERNELS_H
#define GLIMPSE_KERNELS_H
/*
 * Glimpse's elementwise and row-wise kernels, plus the worker pool that runs them.
 *
 * Each kernel is compiled for several instruction-set levels (AVX-512, AVX2+FMA, baseline)
 * and the best one is chosen at load time, so callers need no special compiler flags.
 * All arrays are fp32, contiguous, row-major. Kernels split their work over the pool
 * themselves when it is large enough to pay for it.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Worker pool -------------------------------------------------------------------- */

/* A unit of parallel work: process items [begin, end). */
typedef void (*gl_task_fn)(void *context, long begin, long end);

/* Runs fn over [0, n) split into contiguous chunks of at least `grain` items, on the
 * calling thread plus the pool's workers; returns when every chunk is done. Workers
 * spin briefly between jobs (waking a sleeping thread costs tens of microseconds), then
 * sleep. Nested calls from inside a task run serially on the calling thread. */
void gl_parallel_for(long n, long grain, gl_task_fn fn, void *context);

/* Number of threads that take part (the caller included). Default: online CPUs, or
 * GLIMPSE_NUM_THREADS when set. Setting it restarts the pool. */
int gl_num_threads(void);
void gl_set_num_threads(int n);

/* ---- Instruction-set level ----------------------------------------------------------- */

/* The level the kernels run at: 2 AVX-512 (x86-64-v4), 1 AVX2+FMA (x86-64-v3), 0 baseline
 * (and always 0 off x86-64, where the one build is already vectorized, e.g. NEON). */
int gl_isa_level(void);

/* Caps the level at `level` (a level the CPU lacks is never used), so tests and benchmarks
 * can run the lower variants; returns the level now in effect. Default cap: 2. */
int gl_set_max_isa_level(int level);

/* ---- Matrix product ---------------------------------------------------------------- */

/* C[i,j] (+)= alpha · sum_p A[i,p] * B[j,p] for A m×k (row stride lda), B n×k (ldb), C m×n (ldc),
 * all row-major: a linear layer with PyTorch-layout weights. Adds to C when `accumulate`
 * is nonzero, else overwrites it. Made for small m (tens of rows), where it beats sgemm;
 * splits the rows of B over the pool. Returns 0, or -1 when its small buffer for A could
 * not be allocated (nothing is written then). */
int gl_gemm_nt(long m, long n, long k, float alpha, const float *a, long lda, const float *b,
               long ldb, float *c, long ldc, int accumulate);

/* C[i,:] (+)= sum_p A[i,p] * B[p,:] (A m×k, B k×n, row-major with row strides): for a few rows
 * of A against a small B (attention weights times cached values), on the calling thread. */
void gl_gemm_nn_small(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, int accumulate);

/* ---- Row-wise ----------------------------------------------------------------------- */

/* y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta  (biased variance, as PyTorch). x may equal y. */
void gl_layer_norm(const float *x, float *y, long rows, long dim,
                   const float *gamma, const float *beta, float eps);

/* In-place softmax over each row of length cols (max-subtracted; -inf entries give 0;
 * a row of all -inf gives all 0). */
void gl_softmax_rows(float *x, long rows, long cols);

/* x[r,:] /= max(||x[r,:]||_2, eps) */
void gl_l2_normalize_rows(float *x, long rows, long cols, float eps);

/* y[r,:] += bias[:] */
void gl_add_bias_rows(float *y, const float *bias, long rows, long cols);

/* ---- Elementwise (in place) --------------------------------------------------------- */

void gl_gelu_erf(float *x, long n);   /* x * 0.5 * (1 + erf(x / sqrt 2))                    */
void gl_gelu_tanh(float *x, long n);  /* x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
void gl_quick_gelu(float *x, long n); /* x * sigmoid(1.702 x)                                */
void gl_add(float *y, const float *x, long n);      /* y += x      */
void gl_scale(float *x, long n, float a);           /* x *= a      */

/* ---- Conversions -------------------------------------------------------------------- */

void gl_f16_to_f32(const uint16_t *src, float *dst, long n);  /* IEEE half, exact       */
void gl_bf16_to_f32(const uint16_t *src, float *dst, long n); /* bfloat16, exact        */

#ifdef __cplusplus
}
#endif
#include "glimpse_packed.h"
#endif
