/* The lane vocabulary of vec.h on scalars: one trial per CUDA thread.
 *
 * Generated kernels are written once against this vocabulary; on the CPU it is vec.h's lane
 * vectors, on a GPU these scalars. The masks are the same -1/0 integers, the bit casts the
 * same bits, the math the same polynomials (lanemath.h), so that with no contraction of
 * multiplies and adds (NVRTC's --fmad=false) a GPU computes what the CPU computes. Built
 * with a host C++ compiler (TURING_HOST_CUDA), the same source runs on the CPU, which is how
 * the tests check it without a GPU.
 */
#ifndef TURING_SCALAR_H
#define TURING_SCALAR_H

#if defined(__CUDACC_RTC__)
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
typedef unsigned char uint8_t;
#define DEVICE __device__
#define LANE_INF __int_as_float(0x7f800000)
#define LANE_NAN __int_as_float(0x7fffffff)
#define BITS_OF(x) __float_as_int(x)
#define FLOAT_OF(i) __int_as_float(i)
#else
#include <math.h>
#include <stdint.h>
#include <string.h>
#define DEVICE
#define LANE_INF __builtin_inff()
#define LANE_NAN __builtin_nanf("")
static inline int32_t BITS_OF(float x) { int32_t i; memcpy(&i, &x, 4); return i; }
static inline float FLOAT_OF(int32_t i) { float x; memcpy(&x, &i, 4); return x; }
#endif

#define W 1
#define INLINE static inline DEVICE
#define SYSTEM_FN static inline DEVICE
typedef float vf;
typedef int32_t vi;
typedef uint32_t vu;

INLINE vf splat(float x) { return x; }
INLINE vi splati(int32_t x) { return x; }
INLINE vu splatu(uint32_t x) { return x; }
INLINE vf sel(vi mask, vf a, vf b) { return mask ? a : b; }
INLINE vi seli(vi mask, vi a, vi b) { return mask ? a : b; }
INLINE vf vmin(vf a, vf b) { return a < b ? a : b; }
INLINE vf vmax(vf a, vf b) { return a > b ? a : b; }
INLINE vi vlt(vf a, vf b) { return -(vi)(a < b); }
INLINE vi vle(vf a, vf b) { return -(vi)(a <= b); }
INLINE vi vgt(vf a, vf b) { return -(vi)(a > b); }
INLINE vi vge(vf a, vf b) { return -(vi)(a >= b); }
INLINE vi veq(vf a, vf b) { return -(vi)(a == b); }
INLINE vi vne(vf a, vf b) { return -(vi)(a != b); }
INLINE vi ilt(vi a, vi b) { return -(vi)(a < b); }
INLINE vi ile(vi a, vi b) { return -(vi)(a <= b); }
INLINE vi igt(vi a, vi b) { return -(vi)(a > b); }
INLINE vi ige(vi a, vi b) { return -(vi)(a >= b); }
INLINE vi ieq(vi a, vi b) { return -(vi)(a == b); }
INLINE vi ine(vi a, vi b) { return -(vi)(a != b); }
INLINE vi asint(vf x) { return BITS_OF(x); }
INLINE vf asfloat(vi x) { return FLOAT_OF(x); }
INLINE vf tofloat(vi x) { return (vf)x; }
INLINE vf utofloat(vu x) { return (vf)x; }
INLINE vi toint(vf x) { return (vi)x; }
INLINE int any(vi mask) { return mask != 0; }
INLINE vf vfma(vf a, vf b, vf c) { return fmaf(a, b, c); }
INLINE vf vsqrt(vf x) { return sqrtf(x); }
INLINE vf vfloor(vf x) { return floorf(x); }
INLINE vf vceil(vf x) { return ceilf(x); }
INLINE vf vtrunc(vf x) { return truncf(x); }
INLINE vf vround(vf x) { return rintf(x); }
INLINE vf vfmod(vf a, vf b) { return fmodf(a, b); }

#include "lanemath.h"

#endif
