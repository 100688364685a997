/* Row-wise kernels: layer norm, softmax, L2 normalization, bias add. Rows are independent,
 * so the pool splits by whole rows; within a row the passes are plain loops that clang
 * vectorizes (sums under GL_REASSOCIATE, the max with explicit partial maxima). */
#include <math.h>
#include "internal.h"
#include "simd_math.h"

/* The max reduction gets 16 explicit partial maxima (one AVX-512 vector, two AVX2 ones):
 * without fast-math flags clang won't vectorize a float max reduction on its own. */
GL_INLINE float row_max(const float *x, long n) {
    float m[16];
    for (int j = 0; j < 16; j++) m[j] = -INFINITY;
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float r = m[0];
    for (int j = 1; j < 16; j++) r = m[j] > r ? m[j] : r;
    return r;
}

GL_INLINE float row_sum(const float *x, long n) {
    GL_REASSOCIATE
    float s = 0.0f;
    for (long i = 0; i < n; i++) s += x[i];
    return s;
}

/* Sum of squared deviations: the second pass of the two-pass variance, which (unlike
 * E[x^2] - mean^2) does not cancel when the mean is large against the spread. */
GL_INLINE float row_sum_sq_dev(const float *x, long n, float mean) {
    GL_REASSOCIATE
    float s = 0.0f;
    for (long i = 0; i < n; i++) {
        float d = x[i] - mean;
        s += d * d;
    }
    return s;
}

/* ---- Layer norm ------------------------------------------------------------------------ */

typedef struct {
    const float *x;
    float *y;
    const float *gamma, *beta;
    long cols;
    float eps;
} ln_args;

GL_INLINE void layer_norm_row(const float *x, float *y, long n, const float *gamma,
                                  const float *beta, float eps) {
    float mean = row_sum(x, n) / (float)n;
    float var = row_sum_sq_dev(x, n, mean) / (float)n;
    float rstd = 1.0f / sqrtf(var + eps);
    if (gamma && beta) {
        /* In place gets its own loop: with x == y the vectorizer's overlap check fails and
         * the two-pointer loop would fall back to scalar code. */
        if (x == y) {
            for (long i = 0; i < n; i++) y[i] = (y[i] - mean) * rstd * gamma[i] + beta[i];
        } else {
            for (long i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
        }
    } else { /* no affine part (NULL gamma and/or beta): rare, kept simple */
        for (long i = 0; i < n; i++) {
            float v = (x[i] - mean) * rstd;
            if (gamma) v *= gamma[i];
            if (beta) v += beta[i];
            y[i] = v;
        }
    }
}

GL_INLINE void layer_norm_span_impl(const ln_args *k, long r0, long r1) {
    for (long r = r0; r < r1; r++)
        layer_norm_row(k->x + r * k->cols, k->y + r * k->cols, k->cols, k->gamma, k->beta, k->eps);
}
GL_MULTIVERSION(layer_norm_span, (const ln_args *k, long r0, long r1), (k, r0, r1))

static void layer_norm_task(void *c, long b, long e) { layer_norm_span(c, b, e); }

void gl_layer_norm(const float *x, float *y, long rows, long dim, const float *gamma,
                   const float *beta, float eps) {
    if (rows <= 0 || dim <= 0) return;
    ln_args k = {x, y, gamma, beta, dim, eps};
    gl__parallel_rows(rows, dim, layer_norm_task, &k);
}

/* ---- Softmax --------------------------------------------------------------------------- */

/* Writes e^(x - m) over the row and returns its sum. */
GL_INLINE float row_exp_sum(float *x, long n, float m) {
    GL_REASSOCIATE
    float s = 0.0f;
    GL_INTERLEAVE4
    for (long i = 0; i < n; i++) {
        float e = gl_exp(x[i] - m);
        x[i] = e;
        s += e;
    }
    return s;
}

GL_INLINE void softmax_row(float *x, long n) {
    float m = row_max(x, n);
    if (m == -INFINITY) {
        /* All -inf (a fully masked row): x - m would be NaN; define the result as all 0. */
        for (long i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    float inv = 1.0f / row_exp_sum(x, n, m);
    for (long i = 0; i < n; i++) x[i] *= inv;
}

typedef struct {
    float *x;
    const float *v;
    long cols;
    float eps;
} row_args;

GL_INLINE void softmax_span_impl(const row_args *k, long r0, long r1) {
    for (long r = r0; r < r1; r++) softmax_row(k->x + r * k->cols, k->cols);
}
GL_MULTIVERSION(softmax_span, (const row_args *k, long r0, long r1), (k, r0, r1))

static void softmax_task(void *c, long b, long e) { softmax_span(c, b, e); }

void gl_softmax_rows(float *x, long rows, long cols) {
    if (rows <= 0 || cols <= 0) return;
    row_args k = {x, 0, cols, 0};
    gl__parallel_rows(rows, cols, softmax_task, &k);
}

/* ---- L2 normalize ---------------------------------------------------------------------- */

GL_INLINE float row_sum_sq(const float *x, long n) {
    GL_REASSOCIATE
    float s = 0.0f;
    for (long i = 0; i < n; i++) s += x[i] * x[i];
    return s;
}

GL_INLINE void l2_normalize_span_impl(const row_args *k, long r0, long r1) {
    long n = k->cols;
    for (long r = r0; r < r1; r++) {
        float *x = k->x + r * n;
        float norm = sqrtf(row_sum_sq(x, n));
        float d = norm > k->eps ? norm : k->eps;
        /* A true division, as F.normalize does, so results match it bit for bit more often. */
        for (long i = 0; i < n; i++) x[i] /= d;
    }
}
GL_MULTIVERSION(l2_normalize_span, (const row_args *k, long r0, long r1), (k, r0, r1))

static void l2_normalize_task(void *c, long b, long e) { l2_normalize_span(c, b, e); }

void gl_l2_normalize_rows(float *x, long rows, long cols, float eps) {
    if (rows <= 0 || cols <= 0) return;
    row_args k = {x, 0, cols, eps};
    gl__parallel_rows(rows, cols, l2_normalize_task, &k);
}

/* ---- Bias ------------------------------------------------------------------------------ */

GL_INLINE void add_bias_span_impl(const row_args *k, long r0, long r1) {
    long n = k->cols;
    const float *bias = k->v;
    for (long r = r0; r < r1; r++) {
        float *y = k->x + r * n;
        for (long i = 0; i < n; i++) y[i] += bias[i];
    }
}
GL_MULTIVERSION(add_bias_span, (const row_args *k, long r0, long r1), (k, r0, r1))

static void add_bias_task(void *c, long b, long e) { add_bias_span(c, b, e); }

void gl_add_bias_rows(float *y, const float *bias, long rows, long cols) {
    if (rows <= 0 || cols <= 0) return;
    row_args k = {y, bias, cols, 0};
    gl__parallel_rows(rows, cols, add_bias_task, &k);
}
