/* Shared by packed.c (packing) and packed_run.c (products); not part of the public header. */
#ifndef GLIMPSE_PACKED_INTERNAL_H
#define GLIMPSE_PACKED_INTERNAL_H
#include "glimpse_packed.h"
#include "internal.h"
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) && !defined(GL_NO_ONEDNN)
#define GL_ONEDNN 1
#include <dnnl.h>
#include <pthread.h>
/* From libgomp, which Debian's oneDNN threads with; declared here because omp.h ships with
 * GCC, not with the clang that builds Swift packages. */
int omp_get_max_threads(void);
void omp_set_num_threads(int);
#endif

/* Row counts get their own oneDNN primitive up to this many rows (brgemm kernels are built
 * for a fixed row count); taller products run in chunks of it. */
#define GL_PACKED_ROWS 256
#define GL_PACKED_CACHE 48

struct block {
    long n0, nb; /* output channels [n0, n0 + nb) */
#ifdef GL_ONEDNN
    dnnl_primitive_t primitive; /* runtime row count (when not `fixed`) */
    dnnl_memory_t weights;
    dnnl_memory_desc_t weights_md;
    int fixed;                  /* brgemm: one primitive per (bucketed) row count, below */
    int packed_ok;              /* packing: this block's weights and primitive are ready */
    size_t bytes;               /* packing: this block's packed weights */
    int cached;
    struct { long rows; dnnl_primitive_t primitive; } cache[GL_PACKED_CACHE];
#endif
};

struct gl_packed {
    long n, k;
    int precision, onednn, blocks;
    int int8_range; /* int8: weights quantized to [-range, range] */
    struct block *block;
    float *bias;   /* [n] or NULL */
    float *scales; /* int8: per output channel */
    void *plain;   /* portable: [n, k] as float, bf16 (uint16) or int8 */
    size_t bytes;
    char kernel[48];
#ifdef GL_ONEDNN
    pthread_mutex_t lock; /* guards the blocks' primitive caches */
#endif
};

static inline uint16_t gl__to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static inline float gl__from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Symmetric quantization of one row, the rule for weights (per output channel) and activations
 * (per row) alike: q = rint(x · (1/s)) clamped to [-range, range], s = max|x| / range (1 for
 * a zero row); vectorized per ISA level. */
GL_HIDDEN void gl__quantize_row(const float *x, int8_t *q, long k, float range, float *scale);

/* out[i] = bf16(x[i]), round to nearest even; vectorized per ISA level. */
GL_HIDDEN void gl__rows_to_bf16(const float *x, uint16_t *out, long count);

#ifdef GL_ONEDNN
/* The CPU engine, created once; NULL when oneDNN could not create it. */
GL_HIDDEN dnnl_engine_t gl__engine(void);

/* A matmul primitive descriptor for `rows` rows of x (DNNL_RUNTIME_DIM_VAL: any) against
 * block b, its weights in `weights` (NULL: the layout oneDNN prefers); NULL when oneDNN has
 * only its reference implementation for it, or none. */
GL_HIDDEN dnnl_primitive_desc_t gl__matmul_pd(const struct gl_packed *p, const struct block *b, long rows,
                                              const dnnl_memory_desc_t *weights);

static inline dnnl_data_type_t gl__onednn_type(int precision) {
    return precision == GL_PRECISION_BF16 ? dnnl_bf16 : precision == GL_PRECISION_INT8 ? dnnl_s8 : dnnl_f32;
}

/* oneDNN threads with OpenMP; each block runs on one pool thread, so its kernels are built
 * and run for one thread (the pool, not OpenMP, spreads the blocks over the cores). */
typedef struct { int saved; } gl__omp_scope;
static inline gl__omp_scope gl__omp_single(void) {
    gl__omp_scope s = {omp_get_max_threads()};
    if (s.saved != 1) omp_set_num_threads(1);
    return s;
}
static inline void gl__omp_restore(gl__omp_scope s) {
    if (s.saved != 1) omp_set_num_threads(s.saved);
}
#endif
#endif
