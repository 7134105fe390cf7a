/* The float32 math of the kernels, written once for lane vectors (vec.h) and scalars
 * (scalar.h, CUDA): from the vocabulary both define (vf, vi, splat, sel, comparisons that
 * give -1/0 masks, asint/asfloat bit casts, vfma, vsqrt, vround, ...).
 *
 * Transcendentals are our own polynomials (after Cephes, S. Moshier), so that every
 * machine computes the same numbers: with no contraction of multiplies and adds into
 * FMAs (-ffp-contract=off, NVRTC's --fmad=false) and no library calls, a kernel's results
 * do not depend on the instruction set nor on the device. They agree with torch's float32
 * functions to a few units in the last place, over the ranges used here (angles within
 * +-8192 rad, exp arguments anywhere, logarithms of positive numbers).
 */
#ifndef TURING_LANEMATH_H
#define TURING_LANEMATH_H

/* torch.clamp for finite bounds (NaN stays NaN: the bound goes first). */
INLINE vf vclamp(vf x, float lo, float hi) { return vmin(splat(hi), vmax(splat(lo), x)); }
INLINE vf vclamp_low(vf x, vf lo) { return vmax(lo, x); }  /* max(x, lo), NaN stays */
INLINE vf vclamp_high(vf x, vf hi) { return vmin(hi, x); } /* min(x, hi), NaN stays */
/* torch.maximum / minimum: NaN if either is NaN. */
INLINE vf vmaximum(vf a, vf b) { return sel(vne(a, a), a, vmax(a, b)); }
INLINE vf vminimum(vf a, vf b) { return sel(vne(a, a), a, vmin(a, b)); }
/* torch.fmax / fmin: the other where one is NaN. */
INLINE vf vfmax(vf a, vf b) { return sel(vne(a, a), b, sel(vne(b, b), a, vmax(a, b))); }
INLINE vf vfmin(vf a, vf b) { return sel(vne(a, a), b, sel(vne(b, b), a, vmin(a, b))); }
INLINE vf vabs(vf x) { return asfloat(asint(x) & splati(0x7fffffff)); }
INLINE vi isfinite_mask(vf x) { return ine(asint(x) & splati(0x7f800000), splati(0x7f800000)); }
INLINE vf vsign(vf x) {
    return sel(vgt(x, splat(0.0f)), splat(1.0f), sel(vlt(x, splat(0.0f)), splat(-1.0f), x * 0.0f));
}
INLINE vf vrsqrt(vf x) { return 1.0f / vsqrt(x); }
INLINE vf vhypot(vf a, vf b) { return vsqrt(a * a + b * b); }

/* torch.remainder: fmod, moved into the divisor's sign (exact). */
INLINE vf vremainder(vf a, vf b) {
    vf r = vfmod(a, b);
    vi fix = vne(r, splat(0.0f)) & (vlt(b, splat(0.0f)) ^ vlt(r, splat(0.0f)));
    return sel(fix, r + b, r);
}

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
    return p * asfloat((toint(n) + 127) << 23);
}
INLINE vf vexp(vf x) {
    vi over = vgt(x, splat(88.72283935546875f));
    vi under = vlt(x, splat(-103.97f));
    vi nan = vne(x, x);
    vf xc = vclamp(x, -87.33654022216797f, 88.0f);
    vf y = exp_core(xc);
    /* between 88 and 88.72: 2^127 * e^(x - 88 ln 2 ...) computed in two factors */
    vi high = vgt(x, splat(88.0f));
    y = sel(high, exp_core(x - 44.0f) * exp_core(splat(44.0f)), y);
    y = sel(over, splat(LANE_INF), y);
    y = sel(under, splat(0.0f), y);
    return sel(nan, x, y);
}

/* The logistic function: 1 / (1 + e^-x), with e^-x clamped to finite values (the result
 * is then within float rounding of 0 or 1 at the extremes, and NaN stays NaN). */
INLINE vf vsigmoid(vf x) { return 1.0f / (1.0f + exp_core(vclamp(-x, -87.33654022216797f, 88.0f))); }

/* e^x - 1, accurate near 0 (Taylor series below 0.5 in magnitude). */
INLINE vf vexpm1(vf x) {
    vf p = splat(1.0f / 5040.0f);
    p = vfma(p, x, splat(1.0f / 720.0f));
    p = vfma(p, x, splat(1.0f / 120.0f));
    p = vfma(p, x, splat(1.0f / 24.0f));
    p = vfma(p, x, splat(1.0f / 6.0f));
    p = vfma(p, x, splat(0.5f));
    vf small = vfma(p * x, x, x);
    return sel(vlt(vabs(x), splat(0.5f)), small, vexp(x) - 1.0f);
}

/* Natural logarithm of x > 0 (Cephes logf); log(0) = -inf, log(x < 0) = NaN. */
INLINE vf vlog(vf x) {
    vi zero = veq(x, splat(0.0f));
    vi negative = vlt(x, splat(0.0f));
    vi special = ~isfinite_mask(x);
    /* Denormals: scale up by 2^23 first. */
    vi tiny = vlt(x, splat(1.17549435e-38f));
    vf xs = sel(tiny, x * 8388608.0f, x);
    vi bits = asint(xs);
    vi e = ((bits >> 23) & splati(0xff)) - 126;
    e = e - (tiny & splati(23));
    vf m = asfloat((bits & splati((int32_t)0x807fffff)) | splati(0x3f000000)); /* in [0.5, 1) */
    vi low = vlt(m, splat(0.707106781186547524f));
    e = e - (low & splati(1));
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
    r = sel(zero, splat(-LANE_INF), r);
    return sel(negative, splat(LANE_NAN), r);
}

/* log(1 + x), accurate near 0: log(u) x / (u - 1) with u = 1 + x rounded (Goldberg). */
INLINE vf vlog1p(vf x) {
    vf u = 1.0f + x;
    vf d = u - 1.0f;
    vi exact = veq(d, splat(0.0f));
    vf r = vlog(u) * (x / sel(exact, splat(1.0f), d));
    return sel(exact, x, sel(veq(u, splat(LANE_INF)), u, r));
}

/* sin and cos together (Cephes sinf/cosf, Cody-Waite reduction by pi/4, |x| < 8192). */
INLINE void vsincos(vf x, vf *s, vf *c) {
    vi sign_s = asint(x) & splati((int32_t)0x80000000);
    vf ax = vabs(x);
    vi j = toint(ax * 1.27323954473516f);
    j = (j + 1) & ~splati(1);
    vf y = tofloat(j);
    vf r = ((ax - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
    vi q = j & splati(7); /* octant, even */
    vf z = r * r;
    vf ps = vfma(vfma(splat(-1.9515295891E-4f), z, splat(8.3321608736E-3f)), z, splat(-1.6666654611E-1f));
    ps = vfma(ps * z, r, r);
    vf pc = vfma(vfma(splat(2.443315711809948E-005f), z, splat(-1.388731625493765E-003f)), z,
                 splat(4.166664568298827E-002f));
    pc = vfma(pc * z, z, vfma(splat(-0.5f), z, splat(1.0f)));
    vi swap = ieq(q, splati(2)) | ieq(q, splati(6));
    vf sv = sel(swap, pc, ps);
    vf cv = sel(swap, ps, pc);
    vi neg_s = ieq(q, splati(4)) | ieq(q, splati(6));
    vi neg_c = ieq(q, splati(2)) | ieq(q, splati(4));
    sv = asfloat(asint(sv) ^ (neg_s & splati((int32_t)0x80000000)) ^ sign_s);
    cv = asfloat(asint(cv) ^ (neg_c & splati((int32_t)0x80000000)));
    *s = sv;
    *c = cv;
}
INLINE vf vsin(vf x) { vf s, c; vsincos(x, &s, &c); return s; }
INLINE vf vcos(vf x) { vf s, c; vsincos(x, &s, &c); return c; }
INLINE vf vtan(vf x) { vf s, c; vsincos(x, &s, &c); return s / c; }

/* tanh (Cephes tanhf): a polynomial below 0.625 in magnitude, else 1 - 2 / (e^2|x| + 1). */
INLINE vf vtanh(vf x) {
    vf ax = vabs(x);
    vf z = x * x;
    vf p = splat(-5.70498872745E-3f);
    p = vfma(p, z, splat(2.06390887954E-2f));
    p = vfma(p, z, splat(-5.37397155531E-2f));
    p = vfma(p, z, splat(1.33314422036E-1f));
    p = vfma(p, z, splat(-3.33332819422E-1f));
    vf small = vfma(p * z, x, x);
    vf large = 1.0f - 2.0f / (vexp(ax + ax) + 1.0f);
    large = asfloat(asint(large) | (asint(x) & splati((int32_t)0x80000000)));
    return sel(vlt(ax, splat(0.625f)), small, sel(vne(x, x), x, large));
}

/* atan (Cephes atanf) and atan2 (its quadrants, as C's atan2f). */
INLINE vf vatan(vf x) {
    vf ax = vabs(x);
    vi big = vgt(ax, splat(2.414213562373095f));
    vi mid = vgt(ax, splat(0.4142135623730950f)) & ~big;
    vf y0 = sel(big, splat(1.5707963267948966f), sel(mid, splat(0.7853981633974483f), splat(0.0f)));
    vf xr = sel(big, -1.0f / ax, sel(mid, (ax - 1.0f) / (ax + 1.0f), ax));
    vf z = xr * xr;
    vf p = splat(8.05374449538e-2f);
    p = vfma(p, z, splat(-1.38776856032E-1f));
    p = vfma(p, z, splat(1.99777106478E-1f));
    p = vfma(p, z, splat(-3.33329491539E-1f));
    vf y = y0 + vfma(p * z, xr, xr);
    return asfloat(asint(y) ^ (asint(x) & splati((int32_t)0x80000000)));
}
INLINE vf vatan2(vf y, vf x) {
    vf z = vatan(y / x);
    vf pi = asfloat(asint(splat(3.14159265358979f)) | (asint(y) & splati((int32_t)0x80000000)));
    vf r = sel(vlt(x, splat(0.0f)), z + pi, z);
    vf half = asfloat(asint(splat(1.5707963267948966f)) | (asint(y) & splati((int32_t)0x80000000)));
    r = sel(veq(x, splat(0.0f)), sel(veq(y, splat(0.0f)), y, half), r);
    return sel(vne(x, x) | vne(y, y), x + y, r);
}

/* x^y as e^(y log |x|): negative bases for integer exponents (the sign of odd ones), NaN
 * for other exponents; x^0 = 1; 0^y = 0 (y > 0) or inf (y < 0). */
INLINE vf vpow(vf x, vf y) {
    vf r = vexp(y * vlog(vabs(x)));
    vi integer = veq(vfloor(y), y);
    vi odd = integer & veq(vfmod(vabs(y), splat(2.0f)), splat(1.0f));
    vi negative = vlt(x, splat(0.0f));
    r = sel(negative & odd, -r, r);
    r = sel(negative & ~integer, splat(LANE_NAN), r);
    return sel(veq(y, splat(0.0f)), splat(1.0f), r);
}

/* Uniform integers (steps and what depends on them). */
INLINE int32_t clampi(int32_t i, int32_t size) { return i < 0 ? 0 : (i >= size ? size - 1 : i); }
INLINE int32_t floordiv(int32_t a, int32_t b) {
    int32_t q = a / b;
    return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}
INLINE int32_t truncdiv(int32_t a, int32_t b) { return a / b; }

#endif
