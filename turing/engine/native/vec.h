/* Lane vectors on the CPU: the types and basic operations of the native kernels.
 *
 * A kernel advances W trials at once, one per lane of a vector type (GCC/Clang vector
 * extensions: the compiler turns each operation into one or a few SIMD instructions of
 * whatever the machine has, AVX-512, AVX2 or NEON). Code reads like scalar code on `vf`
 * values; comparisons give `vi` masks (-1 true, 0 false) and `sel(mask, a, b)` chooses.
 *
 * scalar.h defines the same vocabulary on plain scalars (one trial per CUDA thread), and
 * lanemath.h, included by both, the transcendental functions on top of it: the CPU and a
 * GPU compute the same numbers.
 */
#ifndef TURING_VEC_H
#define TURING_VEC_H

#include <stdint.h>

/* Lanes per vector: 16 floats fill an AVX-512 register, 8 an AVX2 one. Results do not
 * depend on W (lanes never mix), only speed does; the loader chooses it per machine. */
#ifndef W
#define W 8
#endif

typedef float vf __attribute__((vector_size(W * 4)));
typedef int32_t vi __attribute__((vector_size(W * 4)));
typedef uint32_t vu __attribute__((vector_size(W * 4)));

#define INLINE static inline __attribute__((always_inline))
/* A generated system's functions: called once per step, not inlined (generated code is long,
 * and the driver instantiates its loop four times). */
#define SYSTEM_FN static __attribute__((noinline))
#define LANE_INF __builtin_inff()
#define LANE_NAN __builtin_nanf("")

INLINE vf splat(float x) { return (vf){0} + x; }
INLINE vi splati(int32_t x) { return (vi){0} + x; }
INLINE vu splatu(uint32_t x) { return (vu){0} + x; }

/* sel(mask, a, b): a where mask, else b. Compilers find the one-instruction select for
 * AVX-512 (vpternlog) and NEON (bsl) from the bitwise form, not for AVX2 (blendv). */
#if defined(__AVX2__) && !defined(__AVX512F__) && W == 8
#include <immintrin.h>
INLINE vf sel(vi mask, vf a, vf b) { return (vf)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)mask); }
INLINE vi seli(vi mask, vi a, vi b) { return (vi)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)mask); }
/* min(a, b) = a < b ? a : b and max(a, b) = a > b ? a : b: b where either is NaN. */
INLINE vf vmin(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
INLINE vf vmax(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
#elif defined(__AVX512F__) && W == 16
#include <immintrin.h>
INLINE vf sel(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
INLINE vi seli(vi mask, vi a, vi b) { return (mask & a) | (~mask & b); }
INLINE vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
INLINE vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
#else
INLINE vf sel(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
INLINE vi seli(vi mask, vi a, vi b) { return (mask & a) | (~mask & b); }
INLINE vf vmin(vf a, vf b) { return sel(a < b, a, b); }
INLINE vf vmax(vf a, vf b) { return sel(a > b, a, b); }
#endif

/* Comparisons as functions (scalar.h gives the same -1/0 masks on scalars). */
INLINE vi vlt(vf a, vf b) { return a < b; }
INLINE vi vle(vf a, vf b) { return a <= b; }
INLINE vi vgt(vf a, vf b) { return a > b; }
INLINE vi vge(vf a, vf b) { return a >= b; }
INLINE vi veq(vf a, vf b) { return a == b; }
INLINE vi vne(vf a, vf b) { return a != b; }
INLINE vi ilt(vi a, vi b) { return a < b; }
INLINE vi ile(vi a, vi b) { return a <= b; }
INLINE vi igt(vi a, vi b) { return a > b; }
INLINE vi ige(vi a, vi b) { return a >= b; }
INLINE vi ieq(vi a, vi b) { return a == b; }
INLINE vi ine(vi a, vi b) { return a != b; }

INLINE vi asint(vf x) { return (vi)x; } /* the same bits */
INLINE vf asfloat(vi x) { return (vf)x; }
INLINE vf tofloat(vi x) { return __builtin_convertvector(x, vf); }
INLINE vf utofloat(vu x) { return __builtin_convertvector(x, vf); }
INLINE vi toint(vf x) { return __builtin_convertvector(x, vi); } /* truncates */
INLINE int any(vi mask) {
    int r = 0;
    for (int i = 0; i < W; i++) r |= mask[i];
    return r != 0;
}

/* a * b + c rounded once: the same result on every machine (a software fma where the CPU
 * has none). Used where it pays (polynomials, the network's sums). */
INLINE vf vfma(vf a, vf b, vf c) {
    vf r;
    for (int i = 0; i < W; i++) r[i] = __builtin_fmaf(a[i], b[i], c[i]);
    return r;
}

/* Lane-wise C functions, all exact (correctly rounded or exact by definition). */
#define LANEWISE(name, call)                     \
    INLINE vf name(vf x) {                       \
        vf r;                                    \
        for (int i = 0; i < W; i++) r[i] = call; \
        return r;                                \
    }
LANEWISE(vsqrt, __builtin_sqrtf(x[i]))
LANEWISE(vfloor, __builtin_floorf(x[i]))
LANEWISE(vceil, __builtin_ceilf(x[i]))
LANEWISE(vtrunc, __builtin_truncf(x[i]))
LANEWISE(vround, __builtin_rintf(x[i])) /* to nearest, ties to even */
#undef LANEWISE
/* fmod, exactly (as C's fmodf): in double precision, where for |a / b| < 2^29 the quotient
 * truncates to the right integer k and a - k b is exact; other lanes (huge quotients, inf,
 * NaN, b = 0) call fmodf. A zero result keeps a's sign. */
typedef double vd __attribute__((vector_size(W * 8)));
typedef int64_t vl __attribute__((vector_size(W * 8)));
INLINE vf vfmod(vf a, vf b) {
    vd x = __builtin_convertvector(a, vd), m = __builtin_convertvector(b, vd);
    vd q = x / m, k;
    for (int i = 0; i < W; i++) k[i] = __builtin_trunc(q[i]);
    vf r = __builtin_convertvector(x - k * m, vf);
    vl fast = (q < 536870912.0) & (q > -536870912.0) & (m < 1e300) & (m > -1e300);
    vi slow = ~__builtin_convertvector(fast, vi);
    if (any(slow))
        for (int i = 0; i < W; i++)
            if (slow[i]) r[i] = __builtin_fmodf(a[i], b[i]);
    return sel(r == 0.0f, (vf)((vi)a & splati((int32_t)0x80000000)), r);
}

#include "lanemath.h"

#endif
