/* Weight-format conversions to fp32. Both are exact, bit for bit, for every input. */
#include "internal.h"
#include "simd_math.h"

GL_INLINE void f16_span_impl(const uint16_t *src, float *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = gl_half_to_float(src[i]);
}
GL_MULTIVERSION(f16_span, (const uint16_t *src, float *dst, long n), (src, dst, n))

GL_INLINE void bf16_span_impl(const uint16_t *src, float *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = gl_bf16_to_float(src[i]);
}
GL_MULTIVERSION(bf16_span, (const uint16_t *src, float *dst, long n), (src, dst, n))

typedef struct {
    const uint16_t *src;
    float *dst;
} cvt_args;

static void f16_task(void *c, long b, long e) {
    cvt_args *k = c;
    f16_span(k->src + b, k->dst + b, e - b);
}

static void bf16_task(void *c, long b, long e) {
    cvt_args *k = c;
    bf16_span(k->src + b, k->dst + b, e - b);
}

void gl_f16_to_f32(const uint16_t *src, float *dst, long n) {
    cvt_args k = {src, dst};
    gl__parallel_elements(n, f16_task, &k);
}

void gl_bf16_to_f32(const uint16_t *src, float *dst, long n) {
    cvt_args k = {src, dst};
    gl__parallel_elements(n, bf16_task, &k);
}
