/* Products of pre-packed linear layers (see glimpse_packed.h): activations converted once
 * per call (bf16, or int8 per row), then the column blocks spread over the worker pool. */
#include "packed_internal.h"

/* One row of int8 results: the int32 sums stored where their fp32 values go, rescaled in
 * place by the row's and each channel's scale, plus the bias. */
typedef int32_t __attribute__((may_alias)) gl_i32_alias;
static inline void rescale_row_impl(float *row, long count, float s, const float *restrict scales,
                                    const float *restrict bias) {
    const gl_i32_alias *sums = (const gl_i32_alias *)row;
    if (bias) {
        for (long j = 0; j < count; j++) row[j] = (float)sums[j] * (s * scales[j]) + bias[j];
    } else {
        for (long j = 0; j < count; j++) row[j] = (float)sums[j] * (s * scales[j]);
    }
}
GL_MULTIVERSION(rescale_row, (float *row, long count, float s, const float *scales, const float *bias),
                (row, count, s, scales, bias))

static inline void dot_s8_impl(const int8_t *a, const int8_t *w, long k, long nb, int32_t *out) {
    for (long j = 0; j < nb; j++) {
        const int8_t *row = w + j * k;
        int32_t sum = 0;
        for (long p = 0; p < k; p++) sum += (int32_t)a[p] * (int32_t)row[p];
        out[j] = sum;
    }
}
GL_MULTIVERSION(dot_s8, (const int8_t *a, const int8_t *w, long k, long nb, int32_t *out), (a, w, k, nb, out))

/* ---- Products ------------------------------------------------------------------------- */

typedef struct {
    const struct gl_packed *p;
    const float *x;       /* fp32 activations [m, k] */
    void *converted;      /* bf16 [m, k] (oneDNN), bf16-rounded fp32 [m, k] (portable), or s8 [m, k] */
    float *row_scales;    /* int8 */
    long m;
    float *y;
    _Atomic int failed;
} run_context;

static void convert_rows(void *context, long begin, long end) {
    run_context *c = context;
    long k = c->p->k;
    for (long i = begin; i < end; i++) {
        const float *x = c->x + i * k;
        if (c->p->precision == GL_PRECISION_INT8) {
            gl__quantize_row(x, (int8_t *)c->converted + i * k, k, 127.0f, &c->row_scales[i]);
        } else if (c->p->onednn) {
            gl__rows_to_bf16(x, (uint16_t *)c->converted + i * k, k);
        } else {
            float *out = (float *)c->converted + i * k;
            for (long p = 0; p < k; p++) out[p] = gl__from_bf16(gl__to_bf16(x[p]));
        }
    }
}

#ifdef GL_ONEDNN
static _Thread_local dnnl_stream_t thread_stream;
static _Thread_local void *pad_space;
static _Thread_local size_t pad_size;

/* The row count a brgemm primitive is built for: exact up to 64 rows (one text, a decoding
 * step, one image's 50 tokens), else rounded up to 32, so a stream of varied batches builds
 * at most a few dozen kernels per layer. */
static long bucket(long rows) { return rows <= 64 ? rows : (rows + 31) / 32 * 32; }

/* Block b's primitive for `rows` rows: cached per row count, built on first use; NULL on
 * failure. Kept until the layer is destroyed (another thread may be running it). */
static dnnl_primitive_t fixed_primitive(const struct gl_packed *p, struct block *b, long rows, int *owned) {
    struct gl_packed *shared = (struct gl_packed *)p;
    *owned = 0;
    pthread_mutex_lock(&shared->lock);
    for (int i = 0; i < b->cached; i++)
        if (b->cache[i].rows == rows) {
            dnnl_primitive_t found = b->cache[i].primitive;
            pthread_mutex_unlock(&shared->lock);
            return found;
        }
    pthread_mutex_unlock(&shared->lock);
    dnnl_primitive_desc_t pd = gl__matmul_pd(p, b, rows, &b->weights_md);
    dnnl_primitive_t primitive = NULL;
    if (!pd) return NULL;
    if (dnnl_primitive_create(&primitive, pd) != dnnl_success) primitive = NULL;
    dnnl_primitive_desc_destroy(pd);
    if (!primitive) return NULL;
    pthread_mutex_lock(&shared->lock);
    if (b->cached < GL_PACKED_CACHE) {
        b->cache[b->cached].rows = rows;
        b->cache[b->cached++].primitive = primitive;
    } else {
        *owned = 1; /* cache full: this call's own */
    }
    pthread_mutex_unlock(&shared->lock);
    return primitive;
}

/* Runs `primitive` on `rows` rows: src [rows, k] at the precision's type, dst rows of
 * stride ld (f32, or s32 for int8). */
static int execute(const struct gl_packed *p, const struct block *b, dnnl_primitive_t primitive, long rows,
                   const void *src_data, void *dst_data, long ld) {
    int int8 = p->precision == GL_PRECISION_INT8;
    dnnl_dim_t src_dims[2] = {rows, p->k}, dst_dims[2] = {rows, b->nb}, dst_strides[2] = {ld, 1}, bias_dims[2] = {1, b->nb};
    dnnl_memory_desc_t src_md, dst_md, bias_md;
    dnnl_memory_t src = NULL, dst = NULL, bias = NULL;
    int status = -1;
    if (dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, gl__onednn_type(p->precision), dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&dst_md, 2, dst_dims, int8 ? dnnl_s32 : dnnl_f32, dst_strides) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab) != dnnl_success ||
        dnnl_memory_create(&src, &src_md, gl__engine(), (void *)src_data) != dnnl_success ||
        dnnl_memory_create(&dst, &dst_md, gl__engine(), dst_data) != dnnl_success)
        goto done;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, b->weights}, {DNNL_ARG_DST, dst}};
    int count = 3;
    if (p->bias && !int8) {
        if (dnnl_memory_create(&bias, &bias_md, gl__engine(), p->bias + b->n0) != dnnl_success) goto done;
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias};
    }
    status = dnnl_primitive_execute(primitive, thread_stream, count, args) == dnnl_success &&
             dnnl_stream_wait(thread_stream) == dnnl_success ? 0 : -1;
done:
    if (src) dnnl_memory_destroy(src);
    if (dst) dnnl_memory_destroy(dst);
    if (bias) dnnl_memory_destroy(bias);
    return status;
}

static int onednn_run(run_context *c, struct block *b) {
    const struct gl_packed *p = c->p;
    if (!thread_stream && dnnl_stream_create(&thread_stream, gl__engine(), dnnl_stream_default_flags) != dnnl_success) {
        thread_stream = NULL;
        return -1;
    }
    const void *source = p->precision == GL_PRECISION_FP32 ? (const void *)c->x : c->converted;
    gl__omp_scope scope = gl__omp_single();
    int status = 0;
    if (!b->fixed) {
        status = execute(p, b, b->primitive, c->m, source, c->y + b->n0, p->n);
        gl__omp_restore(scope);
        return status;
    }
    size_t element = p->precision == GL_PRECISION_FP32 ? 4 : p->precision == GL_PRECISION_BF16 ? 2 : 1;
    for (long r0 = 0; r0 < c->m && status == 0; r0 += GL_PACKED_ROWS) {
        long rows = c->m - r0 < GL_PACKED_ROWS ? c->m - r0 : GL_PACKED_ROWS, built = bucket(rows);
        int owned = 0;
        dnnl_primitive_t primitive = fixed_primitive(p, b, built, &owned);
        if (!primitive) { status = -1; break; }
        const char *src = (const char *)source + (size_t)r0 * (size_t)p->k * element;
        float *dst = c->y + r0 * p->n + b->n0;
        /* Scratch: the rows padded to the built count (when they differ; zero rows in, their
         * results dropped) and the dense result, copied into its columns of y. */
        size_t row_bytes = (size_t)p->k * element;
        size_t in = built == rows ? 0 : ((size_t)built * row_bytes + 63) / 64 * 64, out = (size_t)built * (size_t)b->nb * 4;
        if (in + out > pad_size) {
            free(pad_space);
            pad_size = (in + out + 4095) / 4096 * 4096;
            if (!(pad_space = aligned_alloc(64, pad_size))) pad_size = 0;
        }
        if (!pad_space) {
            status = -1;
        } else {
            char *padded = pad_space;
            if (in) {
                memcpy(padded, src, (size_t)rows * row_bytes);
                memset(padded + (size_t)rows * row_bytes, 0, (size_t)(built - rows) * row_bytes);
            }
            float *result = (float *)(padded + in);
            status = execute(p, b, primitive, built, in ? padded : src, result, b->nb);
            for (long r = 0; r < rows && status == 0; r++) memcpy(dst + r * p->n, result + r * b->nb, (size_t)b->nb * 4);
        }
        if (owned) dnnl_primitive_destroy(primitive);
    }
    gl__omp_restore(scope);
    return status;
}
#endif

/* The portable products of one block, with the same operands the oneDNN kernels see. */
static int portable_run(run_context *c, const struct block *b) {
    const struct gl_packed *p = c->p;
    long k = p->k, n = p->n;
    if (p->precision == GL_PRECISION_INT8) {
        const int8_t *w = (const int8_t *)p->plain + b->n0 * k;
        int32_t *row = malloc((size_t)b->nb * sizeof(int32_t));
        if (!row) return -1;
        for (long i = 0; i < c->m; i++) {
            dot_s8((const int8_t *)c->converted + i * k, w, k, b->nb, row);
            memcpy(c->y + i * n + b->n0, row, (size_t)b->nb * sizeof(int32_t));
        }
        free(row);
        return 0;
    }
    const float *x = p->precision == GL_PRECISION_BF16 ? (const float *)c->converted : c->x;
    if (p->precision == GL_PRECISION_FP32) {
        if (gl_gemm_nt(c->m, b->nb, k, 1.0f, x, k, (const float *)p->plain + b->n0 * k, k, c->y + b->n0, n, 0)) return -1;
    } else {
        /* Widen 64 output channels at a time, so the fp32 tile stays in cache. */
        long tile = 64;
        float *wide = malloc((size_t)(tile * k) * sizeof(float));
        if (!wide) return -1;
        for (long j0 = b->n0; j0 < b->n0 + b->nb; j0 += tile) {
            long width = b->n0 + b->nb - j0 < tile ? b->n0 + b->nb - j0 : tile;
            const uint16_t *half = (const uint16_t *)p->plain + j0 * k;
            for (long i = 0; i < width * k; i++) wide[i] = gl__from_bf16(half[i]);
            if (gl_gemm_nt(c->m, width, k, 1.0f, x, k, wide, k, c->y + j0, n, 0)) {
                free(wide);
                return -1;
            }
        }
        free(wide);
    }
    if (p->bias)
        for (long i = 0; i < c->m; i++)
            for (long j = b->n0; j < b->n0 + b->nb; j++) c->y[i * n + j] += p->bias[j];
    return 0;
}

static void run_blocks(void *context, long begin, long end) {
    run_context *c = context;
    const struct gl_packed *p = c->p;
    for (long i = begin; i < end; i++) {
        struct block *b = &p->block[i];
        int status;
#ifdef GL_ONEDNN
        status = p->onednn ? onednn_run(c, b) : portable_run(c, b);
#else
        status = portable_run(c, b);
#endif
        if (status) {
            atomic_store(&c->failed, 1);
            continue;
        }
        if (p->precision == GL_PRECISION_INT8) {
            for (long r = 0; r < c->m; r++)
                rescale_row(c->y + r * p->n + b->n0, b->nb, c->row_scales[r], p->scales + b->n0,
                            p->bias ? p->bias + b->n0 : NULL);
        }
    }
}

/* The calling thread's scratch for converted activations, kept between calls: a fresh
 * buffer per product cost page faults on every call (they are past malloc's mmap threshold). */
static _Thread_local void *scratch;
static _Thread_local size_t scratch_size;

static void *scratch_space(size_t bytes) {
    if (bytes > scratch_size) {
        free(scratch);
        scratch_size = (bytes + 4095) / 4096 * 4096;
        scratch = aligned_alloc(64, scratch_size);
        if (!scratch) scratch_size = 0;
    }
    return scratch;
}

int gl_packed_linear(const gl_packed *p, const float *x, long m, float *y) {
    if (m <= 0) return 0;
    run_context c = {.p = p, .x = x, .m = m, .y = y};
    size_t count = (size_t)(m * p->k);
    if (p->precision != GL_PRECISION_FP32) {
        size_t size = p->precision == GL_PRECISION_INT8 ? count : p->onednn ? count * 2 : count * 4;
        size_t scales = p->precision == GL_PRECISION_INT8 ? (size_t)m * sizeof(float) : 0;
        size_t offset = (size + 63) / 64 * 64;
        char *space = scratch_space(offset + scales);
        if (!space) return -1;
        c.converted = space;
        c.row_scales = scales ? (float *)(space + offset) : NULL;
        /* Few rows convert on the calling thread: a pool round trip would cost more. */
        long grain = 65536 / p->k > 64 ? 65536 / p->k : 64;
        gl_parallel_for(m, grain, convert_rows, &c);
    }
    gl_parallel_for(p->blocks, 1, run_blocks, &c);
    return atomic_load(&c.failed) ? -1 : 0;
}

