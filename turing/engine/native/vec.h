/* Lane vectors and the float32 math of the native kernels.
 *
 * A kernel advances W trials at once, one per lane of a vector type (GCC/Clang vector
 * extensions: the compiler turns each operation into one or a few SIMD instructions of
 * whatever the machine has, AVX-512, AVX2 or NEON). Code reads like scalar code on `vf`
 * values; comparisons give `vi` masks (-1 true, 0 false) and `sel(mask, a, b)` chooses.
 *
 * Transcendentals are our own polynomials (after Cephes, S. Moshier), so that every
 * machine computes the same numbers: with -ffp-contract=off and no library calls, a
 * kernel's results do not depend on the instruction set it was compiled for. They agree
 * with torch's float32 functions to a few units in the last place, over the ranges used
 * here (angles within +-8192 rad, exp arguments anywhere, logarithms of positive numbers).
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
/* torch.clamp for finite bounds (NaN stays NaN: the bound goes first). */
INLINE vf vclamp(vf x, float lo, float hi) { return vmin(splat(hi), vmax(splat(lo), x)); }
INLINE vf vabs(vf x) { return (vf)((vi)x & splati(0x7fffffff)); }
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

INLINE vf vsqrt(vf x) {
    vf r;
    for (int i = 0; i < W; i++) r[i] = __builtin_sqrtf(x[i]);
    return r;
}
INLINE vf vfloor(vf x) {
    vf r;
    for (int i = 0; i < W; i++) r[i] = __builtin_floorf(x[i]);
    return r;
}
INLINE vf vround(vf x) { /* to nearest, ties to even (as rint) */
    vf r;
    for (int i = 0; i < W; i++) r[i] = __builtin_rintf(x[i]);
    return r;
}
INLINE vi isfinite_mask(vf x) { return ((vi)x & splati(0x7f800000)) != splati(0x7f800000); }

/* exp: Cephes expf. Overflows to inf above 88.72, underflows to 0 below -103.9. */
INLINE vf exp_core(vf xc) { /* xc within [-87.33, 88.0]: no special cases */
    vf n = vround(xc * 1.44269504088896341f);
    vf r = vfma(n, splat(-0.693359375f), xc);
    r = vfma(n, splat(2.12194440e-4f), r);
    vf z = r * r;
    vf p = splat(1.9875691500E-4f);
    p = vfma(p, r, splat(1.3981999507E-3f));
    p = vfma(p, r, splat(8.3334519073E-3f));
    p = vfma(p, r, splat(4.1665795894E-2f));
    p = vfma(p, r, splat(1.6666665459E-1f));
    p = vfma(p, r, splat(5.0000001201E-1f));
    p = vfma(p, z, r + 1.0f);
    return p * (vf)((toint(n) + 127) << 23);
}
INLINE vf vexp(vf x) {
    vi over = x > 88.72283935546875f;
    vi under = x < -103.97f;
    vi nan = x != x;
    vf xc = vclamp(x, -87.33654022216797f, 88.0f);
    vf y = exp_core(xc);
    /* between 88 and 88.72: 2^127 * e^(x - 88 ln 2 ...) computed in two factors */
    vi high = x > 88.0f;
    y = sel(high, exp_core(x - 44.0f) * exp_core(splat(44.0f)), y);
    y = sel(over, splat(__builtin_inff()), y);
    y = sel(under, splat(0.0f), y);
    return sel(nan, x, y);
}

/* The logistic function: 1 / (1 + e^-x), with e^-x clamped to finite values (the result
 * is then within float rounding of 0 or 1 at the extremes, and NaN stays NaN). */
INLINE vf vsigmoid(vf x) { return 1.0f / (1.0f + exp_core(vclamp(-x, -87.33654022216797f, 88.0f))); }

/* Natural logarithm of x > 0 (Cephes logf); log(0) = -inf, log(x < 0) = NaN. */
INLINE vf vlog(vf x) {
    vi bits = (vi)x;
    vi zero = x == 0.0f;
    vi negative = x < 0.0f;
    vi special = ~isfinite_mask(x);
    /* Denormals: scale up by 2^23 first. */
    vi tiny = x < 1.17549435e-38f;
    vf xs = sel(tiny, x * 8388608.0f, x);
    bits = (vi)xs;
    vi e = ((bits >> 23) & 0xff) - 126;
    e = e - (tiny & 23);
    vf m = (vf)((bits & 0x807fffff) | 0x3f000000); /* in [0.5, 1) */
    vi low = m < 0.707106781186547524f;
    e = e - (low & 1);
    m = sel(low, m + m, m) - 1.0f;
    vf z = m * m;
    vf p = splat(7.0376836292E-2f);
    p = vfma(p, m, splat(-1.1514610310E-1f));
    p = vfma(p, m, splat(1.1676998740E-1f));
    p = vfma(p, m, splat(-1.2420140846E-1f));
    p = vfma(p, m, splat(1.4249322787E-1f));
    p = vfma(p, m, splat(-1.6668057665E-1f));
    p = vfma(p, m, splat(2.0000714765E-1f));
    p = vfma(p, m, splat(-2.4999993993E-1f));
    p = vfma(p, m, splat(3.3333331174E-1f));
    vf ef = tofloat(e);
    vf y = p * m * z;
    y = vfma(ef, splat(-2.12194440e-4f), y);
    y = vfma(splat(-0.5f), z, y);
    vf r = m + y;
    r = vfma(ef, splat(0.693359375f), r);
    r = sel(special, x, r); /* inf -> inf, NaN -> NaN */
    r = sel(zero, splat(-__builtin_inff()), r);
    return sel(negative, splat(__builtin_nanf("")), r);
}

/* sin and cos together (Cephes sinf/cosf, Cody-Waite reduction by pi/4, |x| < 8192). */
INLINE void vsincos(vf x, vf *s, vf *c) {
    vi sign_s = (vi)x & splati((int32_t)0x80000000);
    vf ax = vabs(x);
    vi j = toint(ax * 1.27323954473516f);
    j = (j + 1) & ~1;
    vf y = tofloat(j);
    vf r = ((ax - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
    vi q = j & 7; /* octant, even */
    vf z = r * r;
    vf ps = vfma(vfma(splat(-1.9515295891E-4f), z, splat(8.3321608736E-3f)), z, splat(-1.6666654611E-1f));
    ps = vfma(ps * z, r, r);
    vf pc = vfma(vfma(splat(2.443315711809948E-005f), z, splat(-1.388731625493765E-003f)), z,
                 splat(4.166664568298827E-002f));
    pc = vfma(pc * z, z, vfma(splat(-0.5f), z, splat(1.0f)));
    vi swap = (q == 2) | (q == 6);
    vf sv = sel(swap, pc, ps);
    vf cv = sel(swap, ps, pc);
    vi neg_s = (q == 4) | (q == 6);
    vi neg_c = (q == 2) | (q == 4);
    sv = (vf)((vi)sv ^ (neg_s & splati((int32_t)0x80000000)) ^ sign_s);
    cv = (vf)((vi)cv ^ (neg_c & splati((int32_t)0x80000000)));
    *s = sv;
    *c = cv;
}
INLINE vf vsin(vf x) { vf s, c; vsincos(x, &s, &c); return s; }
INLINE vf vcos(vf x) { vf s, c; vsincos(x, &s, &c); return c; }


/* torch.remainder(x, m) for m > 0: x - floor(x / m) * m, in [0, m). */
INLINE vf vremainder(vf x, float m) { return x - vfloor(x / m) * m; }

INLINE vf vsign(vf x) { return sel(x > 0.0f, splat(1.0f), sel(x < 0.0f, splat(-1.0f), splat(0.0f))); }

#endif
