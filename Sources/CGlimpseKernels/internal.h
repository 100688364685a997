#ifndef GLIMPSE_KERNELS_INTERNAL_H
#define GLIMPSE_KERNELS_INTERNAL_H
/* Shared by the kernel files; not part of the public header. */
#include "glimpse_kernels.h"

/* GL_MULTIVERSION(name, params, args) defines `static void name params` that runs the
 * always-inline `name##_impl args`, compiled once per x86-64 level (AVX-512 = x86-64-v4,
 * AVX2+FMA = x86-64-v3, baseline) and chosen at run time by gl__isa(). Code built for the
 * baseline has no FMA and 128-bit vectors only, and SwiftPM gives a package used as a
 * dependency no way to pass -march, so this is how the kernels get AVX2/AVX-512.
 * Not target_clones: its ifunc resolver reads the "x86-64-vN" bits of libgcc's
 * __cpu_features2, which libgcc < 12 (Ubuntu 22.04, RHEL 9) lacks, so it would pick the
 * baseline there, or worse, read past the array. We run CPUID ourselves instead.
 * Elsewhere (arm64: NEON is baseline) the plain function is built. Define
 * GL_NO_MULTIVERSION to build only the plain function on x86 too. */
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(GL_NO_MULTIVERSION)
#define GL_X86_DISPATCH 1
/* Feature lists rather than "arch=x86-64-v4": with the arch name clang also takes that CPU's
 * tuning, which prefers 256-bit vectors, and the AVX-512 variant would never use zmm. */
#define GL_TARGET_V3 "avx2,fma,f16c,bmi,bmi2,lzcnt,movbe,popcnt"
#define GL_TARGET_V4 GL_TARGET_V3 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#define GL_MULTIVERSION(name, params, args)                                         \
    __attribute__((target(GL_TARGET_V4))) static void name##_v4 params {             \
        name##_impl args;                                                             \
    }                                                                                 \
    __attribute__((target(GL_TARGET_V3))) static void name##_v3 params {             \
        name##_impl args;                                                             \
    }                                                                                 \
    static void name##_v1 params { name##_impl args; }                                \
    static void name params {                                                         \
        int isa_ = gl__isa();                                                         \
        if (isa_ >= 2) name##_v4 args;                                                \
        else if (isa_ == 1) name##_v3 args;                                           \
        else name##_v1 args;                                                          \
    }
#else
#define GL_MULTIVERSION(name, params, args) \
    static void name params { name##_impl args; }
#endif

#define GL_HIDDEN __attribute__((visibility("hidden")))

/* The level the kernels run at: 0 baseline, 1 x86-64-v3, 2 x86-64-v4 (see gl_isa_level). */
GL_HIDDEN int gl__isa(void);

/* Let the vectorizer reorder a floating-point sum (one vector of partial sums per lane,
 * several interleaved), which is what makes reductions vectorize at all. Scoped to the
 * enclosing block, so the exact rounding tricks in simd_math.h are untouched. */
#if defined(__clang__)
#define GL_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define GL_REASSOCIATE
#endif

/* For loops with long dependency chains (exp, division): clang picks one vector per
 * iteration for big bodies, leaving the core waiting on latencies; four independent
 * vectors per iteration measured 1.4-1.7x faster on GELU. */
#if defined(__clang__)
#define GL_INTERLEAVE4 _Pragma("clang loop interleave_count(4)")
#else
#define GL_INTERLEAVE4
#endif

/* Work smaller than this runs inline: handing a job to the pool costs about a microsecond
 * even when the workers are awake, which is what ~16K simple float ops take on one core. */
#define GL_PAR_MIN_ELEMS 16384L

/* Runs range(ctx, begin, end) over [0, n) elements: inline when n is small, else on the pool
 * with chunk boundaries on multiples of 64 floats, so two threads never write one cache line. */
GL_HIDDEN void gl__parallel_elements(long n, gl_task_fn range, void *ctx);

/* Runs range(ctx, begin, end) over [0, rows) rows of `cols` elements each: inline when the
 * whole is small, else on the pool in chunks of whole rows. */
GL_HIDDEN void gl__parallel_rows(long rows, long cols, gl_task_fn range, void *ctx);

#endif
