/* Pre-packed linear layers (see glimpse_packed.h): oneDNN's matmul where present, a portable
 * path elsewhere. Both run the same arithmetic per precision (bf16-rounded operands with
 * fp32 sums; int8 operands with exact int32 sums), so either can check the other.
 * Written over oneDNN instead of our own micro-kernels: its reordered-weight kernels for
 * AVX-512 (fp32, BF16 dot products, VNNI) and AVX2 are the ones ONNX Runtime and PyTorch
 * use on CPUs, and measured 1.6-4x faster here than OpenBLAS with per-call packing. */
#include "packed_internal.h"
#include <pthread.h>

static _Atomic int force_portable = 0;
void gl_packed_force_portable(int on) { atomic_store(&force_portable, on != 0); }

/* Without VNNI, oneDNN's int8 kernels multiply with vpmaddubsw, whose 16-bit pair sums
 * saturate for 8-bit weights: there weights use 7 bits (oneDNN's documented remedy). The
 * portable kernels sum in int32 directly and always use 8. */
static int int8_weight_range(int onednn) {
#if defined(GL_ONEDNN) && defined(__x86_64__)
    if (onednn) {
        unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
        return (isa & 0x40u) || (isa & 0x400u) ? 127 : 63; /* the AVX512_VNNI and AVX_VNNI bits */
    }
#endif
    (void)onednn;
    return 127;
}

static inline void rows_to_bf16_impl(const float *x, uint16_t *out, long count) {
    for (long i = 0; i < count; i++) out[i] = gl__to_bf16(x[i]);
}
GL_MULTIVERSION(rows_to_bf16, (const float *x, uint16_t *out, long count), (x, out, count))
void gl__rows_to_bf16(const float *x, uint16_t *out, long count) { rows_to_bf16(x, out, count); }

/* Weights quantized per output channel, by the rule of gl__quantize_row. */
typedef struct {
    const float *w;
    int8_t *q;
    float *scales;
    long k;
    float range;
} quantize_context;

static inline void quantize_row_impl(const float *x, int8_t *q, long k, float range, float *scale) {
    float top = 0;
    for (long i = 0; i < k; i++) top = fmaxf(top, fabsf(x[i]));
    float s = top > 0 ? top / range : 1.0f, inverse = 1.0f / s;
    for (long i = 0; i < k; i++) q[i] = (int8_t)rintf(fminf(fmaxf(x[i] * inverse, -range), range));
    *scale = s;
}
GL_MULTIVERSION(quantize_row, (const float *x, int8_t *q, long k, float range, float *scale), (x, q, k, range, scale))
void gl__quantize_row(const float *x, int8_t *q, long k, float range, float *scale) { quantize_row(x, q, k, range, scale); }

static void quantize_rows(void *context, long begin, long end) {
    quantize_context *c = context;
    for (long j = begin; j < end; j++) gl__quantize_row(c->w + j * c->k, c->q + j * c->k, c->k, c->range, &c->scales[j]);
}

/* ---- Packing -------------------------------------------------------------------------- */

#ifdef GL_ONEDNN
static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void make_engine(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
}

dnnl_engine_t gl__engine(void) {
    pthread_once(&engine_once, make_engine);
    return engine;
}

dnnl_primitive_desc_t gl__matmul_pd(const struct gl_packed *p, const struct block *b, long rows,
                                    const dnnl_memory_desc_t *weights) {
    dnnl_data_type_t type = gl__onednn_type(p->precision);
    dnnl_dim_t src_dims[2] = {rows, p->k}, w_dims[2] = {p->k, b->nb}, dst_dims[2] = {rows, b->nb};
    /* Fixed row counts write a dense [rows, nb] result (brgemm takes no row stride there). */
    dnnl_dim_t dst_strides[2] = {rows == DNNL_RUNTIME_DIM_VAL ? DNNL_RUNTIME_DIM_VAL : b->nb, 1}, bias_dims[2] = {1, b->nb};
    dnnl_memory_desc_t src_md, w_md, dst_md, bias_md;
    int with_bias = p->bias && p->precision != GL_PRECISION_INT8;
    if (dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, type, dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&dst_md, 2, dst_dims, p->precision == GL_PRECISION_INT8 ? dnnl_s32 : dnnl_f32,
                                         dst_strides) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab) != dnnl_success)
        return NULL;
    if (weights) w_md = *weights;
    else if (dnnl_memory_desc_init_by_tag(&w_md, 2, w_dims, type, dnnl_format_tag_any) != dnnl_success) return NULL;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&desc, &src_md, &w_md, with_bias ? &bias_md : NULL, &dst_md) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, gl__engine(), NULL) != dnnl_success)
        return NULL;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    /* A reference implementation is a correctness fallback, orders of magnitude slow. */
    if (!impl || strstr(impl, "ref")) {
        dnnl_primitive_desc_destroy(pd);
        return NULL;
    }
    return pd;
}

/* One block's weights, reordered from `source` ([nb, k] rows at the source type) into the
 * layout of oneDNN's kernel: brgemm's (primitives built per row count, GL_PACKED_ROWS
 * first) where it has one, else a primitive for any row count. 0 on success. */
static int onednn_block(struct gl_packed *p, struct block *b, const void *source, dnnl_data_type_t source_type,
                        char *kernel, size_t kernel_size) {
    dnnl_dim_t w_dims[2] = {p->k, b->nb};
    dnnl_memory_desc_t plain_md;
    if (dnnl_memory_desc_init_by_tag(&plain_md, 2, w_dims, source_type, dnnl_ba) != dnnl_success) return -1;
    const char *impl = NULL;
    dnnl_primitive_desc_t pd = gl__matmul_pd(p, b, GL_PACKED_ROWS, NULL), reorder_pd = NULL;
    if (pd) dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    b->fixed = pd && impl && strstr(impl, "brg");
    if (!b->fixed) {
        if (pd) dnnl_primitive_desc_destroy(pd);
        if (!(pd = gl__matmul_pd(p, b, DNNL_RUNTIME_DIM_VAL, NULL))) return -1;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    }
    dnnl_primitive_t reorder = NULL, primitive = NULL;
    dnnl_memory_t plain = NULL;
    dnnl_stream_t stream = NULL;
    int status = -1;
    snprintf(kernel, kernel_size, "onednn %s", impl ? impl : "?");
    const dnnl_memory_desc_t *packed_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (!packed_md || dnnl_memory_create(&b->weights, packed_md, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) goto done;
    b->weights_md = *packed_md;
    if (dnnl_memory_create(&plain, &plain_md, engine, (void *)source) != dnnl_success ||
        dnnl_reorder_primitive_desc_create(&reorder_pd, &plain_md, engine, packed_md, engine, NULL) != dnnl_success ||
        dnnl_primitive_create(&reorder, reorder_pd) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
        goto done;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, b->weights}};
    if (dnnl_primitive_execute(reorder, stream, 2, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success) goto done;
    if (dnnl_primitive_create(&primitive, pd) != dnnl_success) goto done;
    if (b->fixed) {
        b->cache[0].rows = GL_PACKED_ROWS;
        b->cache[0].primitive = primitive;
        b->cached = 1;
    } else {
        b->primitive = primitive;
    }
    b->bytes = dnnl_memory_desc_get_size(packed_md);
    status = 0;
done:
    if (stream) dnnl_stream_destroy(stream);
    if (reorder) dnnl_primitive_destroy(reorder);
    if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
    if (plain) dnnl_memory_destroy(plain);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return status;
}

typedef struct {
    struct gl_packed *p;
    const void *source; /* [n, k] fp32, or s8 for int8 */
} pack_context;

static void pack_blocks(void *context, long begin, long end) {
    pack_context *c = context;
    struct gl_packed *p = c->p;
    size_t element = p->precision == GL_PRECISION_INT8 ? 1 : 4;
    gl__omp_scope scope = gl__omp_single();
    for (long i = begin; i < end; i++) {
        struct block *b = &p->block[i];
        char kernel[sizeof p->kernel];
        b->packed_ok = onednn_block(p, b, (const char *)c->source + (size_t)b->n0 * (size_t)p->k * element,
                                    p->precision == GL_PRECISION_INT8 ? dnnl_s8 : dnnl_f32, kernel, sizeof kernel) == 0;
        if (i == 0) memcpy(p->kernel, kernel, sizeof kernel);
    }
    gl__omp_restore(scope);
}
#endif

int gl_packed_uses_onednn(void) {
#ifdef GL_ONEDNN
    return gl__engine() != NULL && !atomic_load(&force_portable);
#else
    return 0;
#endif
}

static void release_blocks(struct gl_packed *p) {
#ifdef GL_ONEDNN
    for (int i = 0; i < p->blocks; i++) {
        struct block *b = &p->block[i];
        if (b->primitive) dnnl_primitive_destroy(b->primitive);
        if (b->weights) dnnl_memory_destroy(b->weights);
        for (int j = 0; j < b->cached; j++) dnnl_primitive_destroy(b->cache[j].primitive);
        b->primitive = NULL;
        b->weights = NULL;
        b->cached = 0;
    }
#endif
}

gl_packed *gl_packed_create(const float *w, const float *bias, long n, long k, int precision, int blocks) {
    if (n <= 0 || k <= 0 || precision < 0 || precision > 2 || n > (long)(SIZE_MAX / 4 / (size_t)k)) return NULL;
    struct gl_packed *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    p->k = k;
    p->precision = precision;
#ifdef GL_ONEDNN
    pthread_mutex_init(&p->lock, NULL);
#endif
    /* Blocks of whole 16-column groups, at least 64 columns each, so each stays a good tile. */
    long groups = (n + 15) / 16, most = groups / 4 > 0 ? groups / 4 : 1;
    p->blocks = blocks < 1 ? 1 : blocks > most ? (int)most : blocks;
    p->block = calloc((size_t)p->blocks, sizeof *p->block);
    int8_t *quantized = NULL;
    if (!p->block) goto fail;
    for (int i = 0; i < p->blocks; i++) {
        long g0 = groups * i / p->blocks, g1 = groups * (i + 1) / p->blocks;
        p->block[i].n0 = g0 * 16;
        p->block[i].nb = (g1 * 16 < n ? g1 * 16 : n) - g0 * 16;
    }
    if (bias) {
        if (!(p->bias = malloc((size_t)n * sizeof(float)))) goto fail;
        memcpy(p->bias, bias, (size_t)n * sizeof(float));
    }
    /* oneDNN 2.6's int8 product for a single output column (its matrix-vector path) gave wrong
     * sums without VNNI; layers that narrow are tiny, so int8 ones under 16 run portable. */
    int use_onednn = gl_packed_uses_onednn() && !(precision == GL_PRECISION_INT8 && n < 16);
    const void *source = w;
    if (precision == GL_PRECISION_INT8) {
        if (!(p->scales = malloc((size_t)n * sizeof(float))) || !(quantized = malloc((size_t)(n * k)))) goto fail;
        p->int8_range = int8_weight_range(use_onednn);
        quantize_context context = {w, quantized, p->scales, k, (float)p->int8_range};
        gl_parallel_for(n, 16, quantize_rows, &context);
        source = quantized;
        p->bytes += (size_t)n * sizeof(float);
    }
#ifdef GL_ONEDNN
    if (use_onednn) {
        /* The blocks are reordered in parallel, one per pool thread, as they later run. */
        pack_context context = {p, precision == GL_PRECISION_INT8 ? (const void *)quantized : (const void *)w};
        gl_parallel_for(p->blocks, 1, pack_blocks, &context);
        int ok = 1;
        for (int i = 0; i < p->blocks; i++) {
            ok = ok && p->block[i].packed_ok;
            p->bytes += p->block[i].bytes;
        }
        if (ok) {
            p->onednn = 1;
            free(quantized);
            return p;
        }
        release_blocks(p);
        p->bytes = precision == GL_PRECISION_INT8 ? (size_t)n * sizeof(float) : 0;
    }
#endif
    /* Portable: the weights at their precision, [n, k] as stored. */
    size_t count = (size_t)(n * k);
    if (precision == GL_PRECISION_INT8) {
        p->plain = quantized;
        quantized = NULL;
        p->bytes += count;
    } else if (precision == GL_PRECISION_BF16) {
        if (!(p->plain = malloc(count * 2))) goto fail;
        gl__rows_to_bf16(w, p->plain, (long)count);
        p->bytes += count * 2;
    } else {
        if (!(p->plain = malloc(count * 4))) goto fail;
        memcpy(p->plain, w, count * 4);
        p->bytes += count * 4;
    }
    snprintf(p->kernel, sizeof p->kernel, "portable");
    return p;
fail:
    free(quantized);
    gl_packed_destroy(p);
    return NULL;
}

void gl_packed_destroy(gl_packed *p) {
    if (!p) return;
    if (p->block) release_blocks(p);
#ifdef GL_ONEDNN
    pthread_mutex_destroy(&p->lock);
#endif
    free(p->block);
    free(p->bias);
    free(p->scales);
    free(p->plain);
    free(p);
}

size_t gl_packed_bytes(const gl_packed *p) { return p->bytes; }
int gl_packed_int8_range(const gl_packed *p) { return p->int8_range; }
const char *gl_packed_kernel(const gl_packed *p) { return p->kernel; }

int gl_packed_unpack(const gl_packed *p, float *w) {
    long n = p->n, k = p->k;
#ifdef GL_ONEDNN
    if (p->onednn) {
        dnnl_stream_t stream = NULL;
        if (dnnl_stream_create(&stream, gl__engine(), dnnl_stream_default_flags) != dnnl_success) return -1;
        int status = 0;
        for (int i = 0; i < p->blocks && status == 0; i++) {
            const struct block *b = &p->block[i];
            dnnl_dim_t dims[2] = {k, b->nb};
            dnnl_memory_desc_t plain_md;
            const dnnl_memory_desc_t *packed_md = NULL;
            dnnl_primitive_desc_t pd = NULL;
            dnnl_primitive_t reorder = NULL;
            dnnl_memory_t plain = NULL;
            status = -1;
            if (dnnl_memory_get_memory_desc(b->weights, &packed_md) == dnnl_success &&
                dnnl_memory_desc_init_by_tag(&plain_md, 2, dims, dnnl_f32, dnnl_ba) == dnnl_success &&
                dnnl_memory_create(&plain, &plain_md, gl__engine(), w + b->n0 * k) == dnnl_success &&
                dnnl_reorder_primitive_desc_create(&pd, packed_md, gl__engine(), &plain_md, gl__engine(), NULL) == dnnl_success &&
                dnnl_primitive_create(&reorder, pd) == dnnl_success) {
                dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, b->weights}, {DNNL_ARG_TO, plain}};
                if (dnnl_primitive_execute(reorder, stream, 2, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success)
                    status = 0;
            }
            if (reorder) dnnl_primitive_destroy(reorder);
            if (pd) dnnl_primitive_desc_destroy(pd);
            if (plain) dnnl_memory_destroy(plain);
        }
        dnnl_stream_destroy(stream);
        if (status) return -1;
        if (p->precision == GL_PRECISION_INT8)
            for (long j = 0; j < n; j++)
                for (long i = 0; i < k; i++) w[j * k + i] *= p->scales[j];
        return 0;
    }
#endif
    for (long i = 0; i < n * k; i++) {
        switch (p->precision) {
        case GL_PRECISION_INT8: w[i] = (float)((const int8_t *)p->plain)[i] * p->scales[i / k]; break;
        case GL_PRECISION_BF16: w[i] = gl__from_bf16(((const uint16_t *)p->plain)[i]); break;
        default: w[i] = ((const float *)p->plain)[i];
        }
    }
    return 0;
}
