#ifndef GLIMPSE_SIMD_MATH_H
#define GLIMPSE_SIMD_MATH_H
/*
 * Scalar float math written so that loops calling it auto-vectorize: no branches (only
 * selects), no libm calls, no float->int conversions that could be undefined. Inlined into
 * each multiversioned kernel, so every ISA level gets its own vector code.
 *
 * Deliberately no fmaf(): at the x86-64 baseline it is a slow libm call. `a * b + c` is
 * contracted into an FMA by clang where the target has one (-ffp-contract=on), and the
 * range reductions below are exact either way.
 */
#include <stdint.h>

/* Forced, because a helper the inliner leaves out-of-line is compiled for the baseline ISA
 * only, not once per clone of the kernel that calls it. */
#define GL_INLINE static inline __attribute__((always_inline))

GL_INLINE uint32_t gl_f2u(float f) {
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    return u;
}

GL_INLINE float gl_u2f(uint32_t u) {
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
}

/* e^(hi + lo), where lo is a small correction to hi (so the sum carries more than float
 * precision) and hi + lo lies in [-170, 88.7]; no clamping. Within ~1 ulp of libm for
 * normal results (Cephes expf polynomial); subnormal results are rounded once, correctly. */
GL_INLINE float gl_exp_hilo(float hi, float lo) {
    /* n = round((hi + lo) / ln 2): adding 1.5 * 2^23 leaves the rounded integer in the low
     * mantissa bits, which also yields n as an int without a float->int conversion. */
    const float shifter = 12582912.0f;
    float t = (hi + lo) * 1.44269504088896341f + shifter;
    float n = t - shifter;
    int32_t ni = (int32_t)(gl_f2u(t) - gl_f2u(shifter));

    /* r = hi + lo - n ln 2, Cody-Waite: n * 0.693359375 is exact and so is hi minus it. */
    float r = hi - n * 0.693359375f;
    r = r + lo;
    r = r - n * -2.12194440e-4f;

    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;

    /* Scale by 2^n as two factors 2^n1 * 2^n2, each a normal float for n in [-250, 254],
     * so tiny results round correctly into subnormals and big ones overflow to inf. */
    int32_t n1 = ni >> 1;
    int32_t n2 = ni - n1;
    float s1 = gl_u2f((uint32_t)(n1 + 127) << 23);
    float s2 = gl_u2f((uint32_t)(n2 + 127) << 23);
    return p * s1 * s2;
}

/* e^x for any x: x < -104 (and -inf) gives +0, x > 88.8 gives +inf, NaN gives NaN. */
GL_INLINE float gl_exp(float x) {
    /* The compares are false for NaN, so NaN flows through to the result. */
    x = x < -104.0f ? -104.0f : x;
    x = x > 88.8f ? 88.8f : x;
    return gl_exp_hilo(x, -0.0f); /* adding -0 is an identity the compiler removes */
}

/* Standard normal CDF Phi(x) = 0.5 erfc(-x / sqrt 2), relative error < 6e-7 everywhere.
 * Going through erfc rather than 1 + erf keeps the left tail's relative precision instead of
 * cancelling it away; on the right the error is absolute, < 1.5e-7 on a value >= 0.5.
 * erfc(z) = e^(-z^2) t S(t) with t = 1 / (1 + 0.3 z): erfc(z) e^(z^2) ~ 1 / (z sqrt pi) is
 * smooth in t over all of z >= 0, and S is a degree-8 fit (relative error 2e-8; the
 * coefficients below are halved, giving 0.5 erfc directly). */
GL_INLINE float gl_normal_cdf(float x) {
    float ax = x < 0.0f ? -x : x;
    /* Past |x| = 14.85 Phi's tail is far below the smallest float: the clamp keeps the exp
     * argument in range (the result rounds to an exact 0) and maps +-inf to 1 / 0, not NaN. */
    ax = ax > 14.85f ? 14.85f : ax;
    float t = 1.0f / (1.0f + 0.21213203435596426f * ax); /* 0.3 z, z = |x| / sqrt 2 */
    float s = -6.47772400e-02f;
    s = s * t + 2.42864490e-01f;
    s = s * t - 2.56325580e-01f;
    s = s * t + 2.74094710e-01f;
    s = s * t - 4.75056450e-02f;
    s = s * t + 1.07549465e-01f;
    s = s * t + 7.41443650e-02f;
    s = s * t + 8.53617000e-02f;
    s = s * t + 8.45937200e-02f;
    /* e^(-z^2) with z^2 = x^2 / 2 carried beyond float precision: an error in the exponent
     * is a relative error in the result, and rounding x^2 / 2 would cost up to 1e-5 in the
     * tail. xh (|x| cut to 12 mantissa bits) squares exactly; x^2 - xh^2 = xl (|x| + xh) is
     * small enough to round harmlessly. */
    float xh = gl_u2f(gl_f2u(ax) & 0xfffff000u);
    float xl = ax - xh;
    float half_erfc = t * s * gl_exp_hilo(-0.5f * (xh * xh), -0.5f * (xl * (ax + xh)));
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

/* x * 0.5 * (1 + erf(x / sqrt 2)) */
GL_INLINE float gl_gelu_erf1(float x) {
    return x * gl_normal_cdf(x);
}

/* x * 0.5 * (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as the identical
 * x * sigmoid(2u) = x / (1 + e^(-2u)): one exp, and no 1 + tanh cancellation for x < 0.
 * Large negative x: e^(-2u) = inf, giving -0 as PyTorch does. */
GL_INLINE float gl_gelu_tanh1(float x) {
    float u2 = -1.5957691216057308f * (x + 0.044715f * (x * x * x));
    return x / (1.0f + gl_exp(u2));
}

/* x * sigmoid(1.702 x) */
GL_INLINE float gl_quick_gelu1(float x) {
    return x / (1.0f + gl_exp(-1.702f * x));
}

/* IEEE binary16 -> binary32, exact for every input (subnormals, inf, NaN), without
 * relying on subnormal float arithmetic (which flush-to-zero modes would break). */
GL_INLINE float gl_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;                           /* exponent and mantissa */
    uint32_t normal = (em << 13) + (112u << 23);          /* rebias the exponent 15 -> 127 */
    uint32_t sub = gl_f2u((float)(int32_t)em * 0x1p-24f); /* mantissa * 2^-24, exact */
    /* inf; NaN keeps its payload and is made quiet, as every hardware conversion does */
    uint32_t special = (em << 13) | 0x7f800000u | (em > 0x7c00u ? 0x00400000u : 0u);
    uint32_t bits = em < 0x0400u ? sub : normal;
    bits = em >= 0x7c00u ? special : bits;
    return gl_u2f(bits | sign);
}

/* bfloat16 is the top half of a binary32. */
GL_INLINE float gl_bf16_to_float(uint16_t h) {
    return gl_u2f((uint32_t)h << 16);
}

#endif
