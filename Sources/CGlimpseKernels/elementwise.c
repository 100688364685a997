/* Elementwise kernels: activations, add, scale. Each loop body is plain scalar C over a
 * contiguous array, which clang vectorizes separately for each ISA level (GL_MULTIVERSION). */
#include "internal.h"
#include "simd_math.h"

GL_INLINE void gelu_erf_span_impl(float *x, long n) {
    GL_INTERLEAVE4
    for (long i = 0; i < n; i++) x[i] = gl_gelu_erf1(x[i]);
}
GL_MULTIVERSION(gelu_erf_span, (float *x, long n), (x, n))

GL_INLINE void gelu_tanh_span_impl(float *x, long n) {
    GL_INTERLEAVE4
    for (long i = 0; i < n; i++) x[i] = gl_gelu_tanh1(x[i]);
}
GL_MULTIVERSION(gelu_tanh_span, (float *x, long n), (x, n))

GL_INLINE void quick_gelu_span_impl(float *x, long n) {
    GL_INTERLEAVE4
    for (long i = 0; i < n; i++) x[i] = gl_quick_gelu1(x[i]);
}
GL_MULTIVERSION(quick_gelu_span, (float *x, long n), (x, n))

GL_INLINE void add_span_impl(float *y, const float *x, long n) {
    for (long i = 0; i < n; i++) y[i] += x[i];
}
GL_MULTIVERSION(add_span, (float *y, const float *x, long n), (y, x, n))

GL_INLINE void scale_span_impl(float *x, long n, float a) {
    for (long i = 0; i < n; i++) x[i] *= a;
}
GL_MULTIVERSION(scale_span, (float *x, long n, float a), (x, n, a))

/* ---- Pool adapters: the pool hands out [begin, end) element ranges. --------------------- */

typedef struct {
    float *x;
    const float *src;
    float a;
} ew_args;

static void gelu_erf_task(void *c, long b, long e) {
    ew_args *k = c;
    gelu_erf_span(k->x + b, e - b);
}

static void gelu_tanh_task(void *c, long b, long e) {
    ew_args *k = c;
    gelu_tanh_span(k->x + b, e - b);
}

static void quick_gelu_task(void *c, long b, long e) {
    ew_args *k = c;
    quick_gelu_span(k->x + b, e - b);
}

static void add_task(void *c, long b, long e) {
    ew_args *k = c;
    add_span(k->x + b, k->src + b, e - b);
}

static void scale_task(void *c, long b, long e) {
    ew_args *k = c;
    scale_span(k->x + b, e - b, k->a);
}

void gl_gelu_erf(float *x, long n) {
    ew_args k = {x, 0, 0};
    gl__parallel_elements(n, gelu_erf_task, &k);
}

void gl_gelu_tanh(float *x, long n) {
    ew_args k = {x, 0, 0};
    gl__parallel_elements(n, gelu_tanh_task, &k);
}

void gl_quick_gelu(float *x, long n) {
    ew_args k = {x, 0, 0};
    gl__parallel_elements(n, quick_gelu_task, &k);
}

void gl_add(float *y, const float *x, long n) {
    /* y += y is y * 2, exactly; the add loop would see its operands overlap and go scalar. */
    if (x == y) {
        gl_scale(y, n, 2.0f);
        return;
    }
    ew_args k = {y, x, 0};
    gl__parallel_elements(n, add_task, &k);
}

void gl_scale(float *x, long n, float a) {
    ew_args k = {x, 0, a};
    gl__parallel_elements(n, scale_task, &k);
}
