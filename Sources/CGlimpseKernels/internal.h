#ifndef GLIMPSE_KERNELS_INTERNAL_H
#define GLIMPSE_KERNELS_INTERNAL_H
/* Shared by the kernel files; not part of the public header. */
#include "glimpse_kernels.h"

/* Compile a function once per x86-64 microarchitecture level and pick one at load time
 * (an ELF ifunc). Code built for the x86-64 baseline has no FMA and 128-bit vectors only,
 * and SwiftPM gives a package used as a dependency no way to pass -march, so this is how
 * the kernels get AVX2/AVX-512. Mach-O and COFF have no ifuncs, and other architectures
 * (arm64 NEON) need no dispatch, so there the plain function is built. Define
 * GL_NO_MULTIVERSION to build plain functions everywhere (sanitizer builds: ifunc resolvers
 * run during relocation, before a sanitizer runtime is ready). */
#if defined(__x86_64__) && defined(__ELF__) && (defined(__clang__) || defined(__GNUC__)) && \
    !defined(GL_NO_MULTIVERSION)
#define GL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GL_MULTIVERSION
#endif

/* Let the vectorizer reorder a floating-point sum (one vector of partial sums per lane,
 * several interleaved), which is what makes reductions vectorize at all. Scoped to the
 * enclosing block, so the exact rounding tricks in simd_math.h are untouched. */
#if defined(__clang__)
#define GL_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define GL_REASSOCIATE
#endif

#define GL_HIDDEN __attribute__((visibility("hidden")))

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
