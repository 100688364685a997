// The machine's fp32 FMA peak, measured: independent fused multiply-add chains in registers
// (enough of them to cover the FMA latency on both ports), one thread per core, the best of a
// few runs. The benchmark driver divides every side's GFLOP/s by this figure, so its report
// says how much of the machine each side uses rather than trusting a datasheet.
//
//     cc -O2 -march=native -pthread Tools/bench/peak.c -o peak && ./peak [threads]
//
// Prints one JSON object: {"isa": ..., "threads": N, "gflops": ...}.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERATIONS 20000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__AVX512F__)
typedef __m512 vec;
#define WIDTH 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1 _mm512_set1_ps
#define ISA "AVX-512"
static float lane0(vec v) { return _mm512_cvtss_f32(v); }
#elif defined(__FMA__)
typedef __m256 vec;
#define WIDTH 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1 _mm256_set1_ps
#define ISA "AVX2+FMA"
static float lane0(vec v) { return _mm256_cvtss_f32(v); }
#else
#error "peak.c needs FMA (x86-64 with -march=native on an FMA machine)"
#endif

/// 12 independent accumulators: two FMA ports × latency 4–6 cycles need at least 8–12 in flight.
static void *chains(void *out) {
    vec a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f), a5 = SET1(1.5f);
    vec a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f), a10 = SET1(2.0f), a11 = SET1(2.1f);
    const vec m = SET1(0.9999999f), c = SET1(1e-7f);
    for (long i = 0; i < ITERATIONS; i++) {
        a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
        a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
        a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
    }
    *(float *)out = lane0(a0) + lane0(a1) + lane0(a2) + lane0(a3) + lane0(a4) + lane0(a5) + lane0(a6) + lane0(a7)
                  + lane0(a8) + lane0(a9) + lane0(a10) + lane0(a11);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 256) { fprintf(stderr, "peak: threads must be in 1...256\n"); return 2; }
    pthread_t ids[256];
    float sinks[256];
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double start = now();
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, chains, &sinks[t]);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        double seconds = now() - start;
        double flops = 2.0 * 12 * WIDTH * (double)ITERATIONS * threads;
        if (flops / seconds > best) best = flops / seconds;
    }
    float sink = 0;
    for (int t = 0; t < threads; t++) sink += sinks[t];
    printf("{\"isa\": \"%s\", \"threads\": %d, \"gflops\": %.1f, \"sink\": %g}\n", ISA, threads, best * 1e-9, sink);
    return 0;
}
