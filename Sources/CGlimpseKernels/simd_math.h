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
 * only, not once per ISA variant of the kernel that calls it. */
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

/* e^x, within ~1 ulp of libm for normal results (Cephes expf polynomial); results in the
 * subnormal range are rounded once, correctly. x < -104 (and -inf) gives +0, x > 88.8 gives
 * +inf, NaN gives NaN. */
GL_INLINE float gl_exp(float x) {
    /* The compares are false for NaN, so NaN flows through to the result. */
    x = x < -104.0f ? -104.0f : x;
    x = x > 88.8f ? 88.8f : x;

    /* n = round(x / ln 2): adding 1.5 * 2^23 leaves the rounded integer in the low mantissa
     * bits, which also yields n as an int without a float->int conversion. */
    const float shifter = 12582912.0f;
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    int32_t ni = (int32_t)(gl_f2u(t) - gl_f2u(shifter));

    /* r = x - n ln 2, Cody-Waite: n * 0.693359375 is exact and so is x minus it. */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;

    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;

    /* Scale by 2^n as two factors 2^n1 * 2^n2, each a normal float for n in [-150, 128],
     * so tiny results round correctly into subnormals and big ones overflow to inf. */
    int32_t n1 = ni >> 1;
    int32_t n2 = ni - n1;
    float s1 = gl_u2f((uint32_t)(n1 + 127) << 23);
    float s2 = gl_u2f((uint32_t)(n2 + 127) << 23);
    return p * s1 * s2;
}

/* erf(z): Eigen's rational approximation z P(z^2) / Q(z^2), error < 4e-7 (relative near 0,
 * absolute near +-1). Past |z| = 3.8325 erf rounds to +-1 in float, and this returns exactly
 * +-1 there, so that 1 + erf(z) is an exact 0 and GELU of a large negative x is -0.
 * A formulation through erfc would keep GELU's far left tail relatively accurate, but costs
 * an exp and a division and ran 3x slower; that tail is below 1e-6 in absolute terms. */
GL_INLINE float gl_erf(float z) {
    float c = z < -4.0f ? -4.0f : z; /* NaN passes the compares */
    c = c > 4.0f ? 4.0f : c;
    float c2 = c * c;
    float p = -2.72614225801306e-10f;
    p = p * c2 + 2.77068142495902e-08f;
    p = p * c2 - 2.10102402082508e-06f;
    p = p * c2 - 5.69250639462346e-05f;
    p = p * c2 - 7.34990630326855e-04f;
    p = p * c2 - 2.95459980854025e-03f;
    p = p * c2 - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * c2 - 2.13374055278905e-04f;
    q = q * c2 - 1.68282697438203e-03f;
    q = q * c2 - 7.37332916720468e-03f;
    q = q * c2 - 1.42647390514189e-02f;
    float r = c * p / q;
    r = z > 3.8325f ? 1.0f : r;
    r = z < -3.8325f ? -1.0f : r;
    return r;
}

/* x * 0.5 * (1 + erf(x / sqrt 2)), in PyTorch's order of operations. */
GL_INLINE float gl_gelu_erf1(float x) {
    return x * 0.5f * (1.0f + gl_erf(x * 0.70710678118654752f));
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
