/* C = A · Bᵀ (+ C) for few rows of A: the product a linear layer computes on one text, a
 * few texts or one decoding step, with weights in PyTorch's [out, in] layout.
 *
 * Why not BLAS here: with few rows the product is bound by reading the weights once, and
 * sgemm spends that time packing them into panels and running large-matrix tiles: OpenBLAS
 * manages ~2 GFLOP/s at one row and ~12 at seven rows for a 3072 × 768 weight out of cache,
 * this kernel 10 and 50-60 (two threads), i.e. it streams the weights at close to memory
 * bandwidth. Both operands already run along k contiguously, so each output is a dot
 * product: a 3 × 4 tile keeps 12 vector accumulators in registers, reads 7 vectors per 12
 * multiply-adds straight from the unpacked weights, and reduces across lanes once per tile.
 * k is blocked so A stays in L2 while each 4-row weight panel, read from memory once, is
 * reused from L1 by every tile of A; the tiles prefetch the next panel as they go. The pool
 * splits the weight rows. */
#include "internal.h"
#include <stdlib.h>
#include "simd_math.h"

typedef float gl_v8 __attribute__((vector_size(32), aligned(4)));

#define GL_NT_MR 3     /* rows of A per tile   */
#define GL_NT_NR 4     /* rows of B per tile   */
#define GL_NT_KC 1024  /* k per block          */

GL_INLINE gl_v8 load8(const float *p) { return *(const gl_v8 *)p; }

typedef float gl_v4 __attribute__((vector_size(16)));

/* Pairwise sums within each 128-bit half, as vhaddps: (a0+a1, a2+a3, b0+b1, b2+b3 | same for 4..7). */
GL_INLINE gl_v8 hadd8(gl_v8 a, gl_v8 b) {
    return __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14) +
           __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
}

/* The four lane totals of v0..v3, in one vector: three horizontal adds and a fold of the
 * halves, instead of 28 scalar adds. */
GL_INLINE gl_v4 lane_sums4(gl_v8 v0, gl_v8 v1, gl_v8 v2, gl_v8 v3) {
    gl_v8 t = hadd8(hadd8(v0, v1), hadd8(v2, v3));
    return __builtin_shufflevector(t, t, 0, 1, 2, 3) + __builtin_shufflevector(t, t, 4, 5, 6, 7);
}

/* One mr × nr tile over k: constant mr / nr make every loop below unroll into registers. */
GL_INLINE void nt_tile(const float *ap, const float *a, long lda, const float *b, long ldb, float *c,
                       long ldc, long k, int mr, int nr, int add, float alpha, const float *pf,
                       int pfmask) {
    gl_v8 acc[GL_NT_MR][GL_NT_NR];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc[i][j] = (gl_v8){0};
    long p = 0;
    for (; p + 8 <= k; p += 8, ap += mr * 8) {
        for (int j = 0; j < GL_NT_NR; j++)
            if (pfmask >> j & 1) __builtin_prefetch(pf + j * ldb + p);
        gl_v8 av[GL_NT_MR];
        for (int i = 0; i < mr; i++) av[i] = load8(ap + i * 8);
        for (int j = 0; j < nr; j++) {
            gl_v8 bv = load8(b + j * ldb + p);
            for (int i = 0; i < mr; i++) acc[i][j] += av[i] * bv;
        }
    }
    for (int i = 0; i < mr; i++) {
        for (int j = nr; j < GL_NT_NR; j++) acc[i][j] = (gl_v8){0};
        gl_v4 sums = lane_sums4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        for (int j = 0; j < nr; j++) {
            float s = sums[j];
            for (long q = p; q < k; q++) s += a[i * lda + q] * b[j * ldb + q];
            float *out = c + i * ldc + j;
            *out = add ? *out + alpha * s : alpha * s;
        }
    }
}

#define GL_NT_TILE(MR, NR) nt_tile(ap, a, lda, b, ldb, c, ldc, k, MR, NR, add, alpha, pf, pfmask)

GL_INLINE void nt_tile_any(const float *ap, const float *a, long lda, const float *b, long ldb,
                           float *c, long ldc, long k, int mr, int nr, int add, float alpha,
                           const float *pf, int pfmask) {
    switch (mr * 8 + nr) {
    case 3 * 8 + 4: GL_NT_TILE(3, 4); break;
    case 3 * 8 + 3: GL_NT_TILE(3, 3); break;
    case 3 * 8 + 2: GL_NT_TILE(3, 2); break;
    case 3 * 8 + 1: GL_NT_TILE(3, 1); break;
    case 2 * 8 + 4: GL_NT_TILE(2, 4); break;
    case 2 * 8 + 3: GL_NT_TILE(2, 3); break;
    case 2 * 8 + 2: GL_NT_TILE(2, 2); break;
    case 2 * 8 + 1: GL_NT_TILE(2, 1); break;
    case 1 * 8 + 4: GL_NT_TILE(1, 4); break;
    case 1 * 8 + 3: GL_NT_TILE(1, 3); break;
    case 1 * 8 + 2: GL_NT_TILE(1, 2); break;
    default: GL_NT_TILE(1, 1); break;
    }
}

typedef struct {
    const float *a, *b, *packed;
    float *c;
    long m, n, k, kv, lda, ldb, ldc;
    int accumulate;
    float alpha;
} nt_args;

/* Columns [j0, j1) of C (rows j0..<j1 of B), all rows of A. */
GL_INLINE void nt_span_impl(const nt_args *g, long j0, long j1) {
    long tiles = (g->m + GL_NT_MR - 1) / GL_NT_MR;
    for (long p0 = 0; p0 < g->k; p0 += GL_NT_KC) {
        long kc = g->k - p0 < GL_NT_KC ? g->k - p0 : GL_NT_KC;
        int add = g->accumulate || p0 > 0;
        for (long j = j0; j < j1; j += GL_NT_NR) {
            int nr = j1 - j < GL_NT_NR ? (int)(j1 - j) : GL_NT_NR;
            /* While this panel is multiplied, the tiles prefetch the next one from memory,
             * row by row, so the weights stream in behind the arithmetic. */
            long next = j + GL_NT_NR;
            int next_rows = j1 - next < GL_NT_NR ? (int)(j1 - next) : GL_NT_NR;
            const float *pf = g->b + next * g->ldb + p0;
            for (long i = 0, t = 0; i < g->m; i += GL_NT_MR, t++) {
                int mr = g->m - i < GL_NT_MR ? (int)(g->m - i) : GL_NT_MR;
                int mask = 0;
                for (long r = t; r < next_rows; r += tiles) mask |= 1 << r;
                nt_tile_any(g->packed + i * g->kv + p0 * mr, g->a + i * g->lda + p0, g->lda, g->b + j * g->ldb + p0, g->ldb,
                            g->c + i * g->ldc + j, g->ldc, kc, mr, nr, add, g->alpha, pf, mask);
            }
        }
    }
}
GL_MULTIVERSION(nt_span, (const nt_args *g, long j0, long j1), (g, j0, j1))

/* The pool hands out ranges of 4-row weight panels. */
static void nt_task(void *ctx, long b, long e) {
    const nt_args *g = ctx;
    long j0 = b * GL_NT_NR, j1 = e * GL_NT_NR < g->n ? e * GL_NT_NR : g->n;
    nt_span(g, j0, j1);
}

/* A, tile by tile: the 8-float chunks of a tile's rows interleaved ([p / 8][row][8]), so
 * a tile reads one sequential stream instead of mr rows that may alias in the caches.
 * Tile t (rows 3t...) starts at 3t · kv, kv = k rounded down to a multiple of 8; the
 * remaining k % 8 columns are read from A itself. */
static void pack_a(const float *a, long lda, long m, long kv, float *out) {
    for (long i0 = 0; i0 < m; i0 += GL_NT_MR) {
        int mr = m - i0 < GL_NT_MR ? (int)(m - i0) : GL_NT_MR;
        float *t = out + i0 * kv;
        for (long q = 0; q < kv; q += 8)
            for (int i = 0; i < mr; i++, t += 8)
                __builtin_memcpy(t, a + (i0 + i) * lda + q, 8 * sizeof(float));
    }
}

/* Each calling thread keeps its packing buffer, grown as needed: allocating per product
 * would page-fault a fresh buffer every time. */
static _Thread_local float *pack_buffer;
static _Thread_local size_t pack_capacity;

static float *pack_space(size_t floats) {
    if (floats > pack_capacity) {
        free(pack_buffer);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        pack_buffer = aligned_alloc(64, bytes);
        pack_capacity = pack_buffer ? bytes / sizeof(float) : 0;
    }
    return pack_buffer;
}

int gl_gemm_nt(long m, long n, long k, float alpha, const float *a, long lda, const float *b,
               long ldb, float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return 0;
    long kv = k / 8 * 8;
    float *packed = pack_space((size_t)(m * kv > 0 ? m * kv : 1));
    if (!packed) return -1;
    pack_a(a, lda, m, kv, packed);
    nt_args g = {a, b, packed, c, m, n, k, kv, lda, ldb, ldc, accumulate, alpha};
    long panels = (n + GL_NT_NR - 1) / GL_NT_NR;
    /* A panel is ~2·m·k flops; hand the pool chunks of at least ~64K of them. */
    long per_panel = 2 * m * k * GL_NT_NR;
    long grain = per_panel > 0 ? (65536 + per_panel - 1) / per_panel : panels;
    if (panels <= grain) nt_task(&g, 0, panels);
    else gl_parallel_for(panels, grain, nt_task, &g);
    return 0;
}

/* ---- C = A · B (+ C) for a handful of rows: attention's probabilities times values while
 * decoding (one query row per beam against the cached keys). sgemm would pack V on every
 * call; here each row of C stays in L1 while the rows of B stream past, four at a time. */

GL_INLINE void nn_rows_impl(long m, long n, long k, const float *a, long lda, const float *b,
                            long ldb, float *c, long ldc, int accumulate) {
    for (long i = 0; i < m; i++) {
        float *restrict ci = c + i * ldc;
        const float *ai = a + i * lda;
        if (!accumulate)
            for (long x = 0; x < n; x++) ci[x] = 0.0f;
        long p = 0;
        for (; p + 4 <= k; p += 4) {
            const float *restrict b0 = b + p * ldb, *restrict b1 = b0 + ldb;
            const float *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;
            float s0 = ai[p], s1 = ai[p + 1], s2 = ai[p + 2], s3 = ai[p + 3];
            for (long x = 0; x < n; x++) ci[x] += s0 * b0[x] + s1 * b1[x] + s2 * b2[x] + s3 * b3[x];
        }
        for (; p < k; p++) {
            const float *restrict bp = b + p * ldb;
            float s = ai[p];
            for (long x = 0; x < n; x++) ci[x] += s * bp[x];
        }
    }
}
GL_MULTIVERSION(nn_rows, (long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                          float *c, long ldc, int accumulate), (m, n, k, a, lda, b, ldb, c, ldc, accumulate))

void gl_gemm_nn_small(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    nn_rows(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
