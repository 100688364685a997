/* Which instruction-set level the kernels run at, from CPUID (see GL_MULTIVERSION). */
#include <stdatomic.h>
#include "internal.h"

#if defined(GL_X86_DISPATCH)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Every feature a compiler may use under -march=x86-64-v3 / -v4 must be checked, plus OS
 * support for saving the YMM / ZMM registers (XCR0), without which the instructions fault. */
static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned v2_c = bit_SSE3 | bit_SSSE3 | bit_SSE4_1 | bit_SSE4_2 | bit_POPCNT | bit_CMPXCHG16B;
    const unsigned v3_c = bit_AVX | bit_FMA | bit_F16C | bit_MOVBE | bit_OSXSAVE;
    if ((c & (v2_c | v3_c)) != (v2_c | v3_c)) return 0;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0; /* XMM and YMM state */

    unsigned ext_c = 0;
    if (__get_cpuid(0x80000001, &a, &b, &ext_c, &d) == 0) return 0;
    if (!(ext_c & bit_LZCNT) || !(ext_c & bit_LAHF_LM)) return 0;

    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned v3_b = bit_AVX2 | bit_BMI | bit_BMI2;
    if ((b & v3_b) != v3_b) return 0;

    const unsigned v4_b = bit_AVX512F | bit_AVX512BW | bit_AVX512CD | bit_AVX512DQ | bit_AVX512VL;
    if ((b & v4_b) == v4_b && (xcr0 & 0xe0) == 0xe0) return 2; /* opmask, ZMM0-15 high, ZMM16-31 */
    return 1;
}
#else
static int detect(void) { return 0; }
#endif

static _Atomic int detected = -1; /* -1: not yet; a racing first use computes it twice, harmlessly */
static _Atomic int cap = 2;

static int detected_level(void) {
    int level = atomic_load_explicit(&detected, memory_order_relaxed);
    if (level < 0) {
        level = detect();
        atomic_store_explicit(&detected, level, memory_order_relaxed);
    }
    return level;
}

int gl__isa(void) {
    int level = detected_level();
    int limit = atomic_load_explicit(&cap, memory_order_relaxed);
    return level < limit ? level : limit;
}

int gl_isa_level(void) { return gl__isa(); }

int gl_set_max_isa_level(int level) {
    atomic_store_explicit(&cap, level < 0 ? 0 : level, memory_order_relaxed);
    return gl__isa();
}
