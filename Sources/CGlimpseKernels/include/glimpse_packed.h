#ifndef GLIMPSE_PACKED_H
#define GLIMPSE_PACKED_H
/*
 * Pre-packed linear layers: y = x · Wᵀ (+ bias) with W [n, k] in PyTorch layout, packed once
 * at load into the layout (and precision) of the kernel that multiplies it, so no product
 * repacks weights per call.
 *
 * On Linux the kernels are oneDNN's (its matmul primitive, reordered weights, fp32 / bf16 /
 * s8·s8 products, its own CPUID dispatch: AVX-512 BF16 and VNNI where present, AVX2 paths
 * elsewhere). Elsewhere, or when oneDNN cannot serve a precision, a portable path keeps the
 * weights at the chosen precision in their own layout and widens a tile at a time to fp32.
 * Precisions: fp32 (exact products, fp32 accumulation), bf16 (weights and activations
 * rounded to bfloat16, fp32 accumulation), int8 (weights per output channel, activations
 * per row, symmetric, int32 accumulation, rescaled to fp32 before the bias).
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_packed gl_packed;

enum { GL_PRECISION_FP32 = 0, GL_PRECISION_BF16 = 1, GL_PRECISION_INT8 = 2 };

/* Packs w [n, k] (row-major, PyTorch layout; finite values, which the caller checks) and
 * bias [n] (or NULL) at `precision`, split into `blocks` column blocks of y that the worker
 * pool multiplies in parallel. NULL when n or k is not positive or memory runs out; w and
 * bias are copied. */
gl_packed *gl_packed_create(const float *w, const float *bias, long n, long k, int precision, int blocks);

/* y [m, n] = x [m, k] · Wᵀ + bias, rows contiguous. Returns 0, or -1 when a scratch buffer
 * could not be allocated or a kernel failed (y is then unspecified). */
int gl_packed_linear(const gl_packed *p, const float *x, long m, float *y);

void gl_packed_destroy(gl_packed *p);

/* Bytes the packed weights (and scales) occupy. */
size_t gl_packed_bytes(const gl_packed *p);

/* Which kernel multiplies: oneDNN's implementation name ("gemm:jit", "brg:avx512_core_bf16"),
 * or "portable". */
const char *gl_packed_kernel(const gl_packed *p);

/* The weights as the products see them, widened back to fp32 into w [n, k]: after bf16
 * rounding or int8 quantization. Returns 0, or -1 on failure. */
int gl_packed_unpack(const gl_packed *p, float *w);

/* int8: the weights' quantization range, [-r, r] with r = 127, or 63 where oneDNN's kernels
 * lack VNNI (their 16-bit pair sums would saturate); 0 for other precisions. */
int gl_packed_int8_range(const gl_packed *p);

/* 1 when oneDNN serves packed products in this build and process (not forced off). */
int gl_packed_uses_onednn(void);

/* Forces the portable path for layers packed afterwards (tests of that path). */
void gl_packed_force_portable(int on);

#ifdef __cplusplus
}
#endif
#endif
