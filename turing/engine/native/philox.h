/* Philox4x32-10 on lane vectors: the same function as turing/engine/random.py, bit for
 * bit (checked by tests/test_engine_random.py against Random123's known answers and the
 * torch implementation). Counter (stream, t, slot, phase), key (k0, k1). */
#ifndef TURING_PHILOX_H
#define TURING_PHILOX_H

#ifndef TURING_SCALAR_H
#include "vec.h"
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#ifndef TURING_SCALAR_H
typedef uint64_t vh __attribute__((vector_size(W * 4))); /* W/2 64-bit lanes */
#endif

/* 32 x 32 -> 64-bit products of every lane with m, split into high and low words. The SIMD
 * multiply takes the even lanes (the low halves of 64-bit lanes); the odd ones are shifted
 * down first. Compilers do not find this for generic vectors, hence the intrinsics. */
INLINE void mulhilo(uint32_t m, vu a, vu *hi, vu *lo) {
#if defined(TURING_SCALAR_H)
    uint64_t p = (uint64_t)a * (uint64_t)m;
    *lo = (vu)p;
    *hi = (vu)(p >> 32);
#elif defined(__AVX512F__) && W == 16
    __m512i va = (__m512i)a, vm = _mm512_set1_epi64(m);
    __m512i even = _mm512_mul_epu32(va, vm);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(va, 32), vm);
    *lo = (vu)_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = (vu)_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
#elif defined(__AVX2__) && W == 8
    __m256i va = (__m256i)a, vm = _mm256_set1_epi64x(m);
    __m256i even = _mm256_mul_epu32(va, vm);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(va, 32), vm);
    *lo = (vu)_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = (vu)_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
#else
    vh a64 = (vh)a;
    vh even = (a64 & 0xFFFFFFFFull) * (uint64_t)m;
    vh odd = (a64 >> 32) * (uint64_t)m;
    *lo = (vu)((even & 0xFFFFFFFFull) | (odd << 32));
    *hi = (vu)((even >> 32) | (odd & 0xFFFFFFFF00000000ull));
#endif
}

INLINE void philox(vu c0, vu c1, vu c2, vu c3, vu k0, vu k1, vu out[4]) {
    for (int r = 0; r < 10; r++) {
        if (r) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        vu hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c0, &hi0, &lo0);
        mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

enum { DYNAMICS = 0, START = 1, INPUT = 2, CHOOSER = 3 };

/* The streams of a lane group: key and the three stream ids (see random.Noise). */
typedef struct {
    vu k0, k1, stream, start_stream, input_stream;
} Streams;

INLINE vf to_uniform(vu w) { return utofloat(w >> 8) * 5.9604644775390625e-08f; }

/* Four uniforms of block `slot` of stream `stream` at step t. */
INLINE void uniform4(const Streams *s, vu stream, uint32_t t, uint32_t slot, uint32_t phase, vf u[4]) {
    vu w[4];
    philox(stream, splatu(t), splatu(slot), splatu(phase), s->k0, s->k1, w);
    for (int i = 0; i < 4; i++) u[i] = to_uniform(w[i]);
}

/* Box-Muller, as random.box_muller. */
INLINE void box_muller(vf u1, vf u2, vf *z_cos, vf *z_sin) {
    vf radius = vsqrt(-2.0f * vlog(1.0f - u1));
    vf s, c;
    vsincos(6.2831854820251465f * u2, &s, &c);
    *z_cos = radius * c;
    *z_sin = radius * s;
}

#endif
