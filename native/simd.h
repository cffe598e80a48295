/* Portable SIMD layer for the per-ISA kernel builds: GCC vector extensions sized to the widest
 * register of the target (16 floats with AVX-512, 8 with AVX2, 4 with baseline SSE2), plus the
 * vectorised transcendental functions the kernels need (exp, tanh, erf, log-free sigmoid).
 * Strict IEEE semantics are kept (no -ffast-math): reductions use explicit vector accumulators
 * instead of relying on the compiler to reassociate. */
#ifndef VN_SIMD_H
#define VN_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define VW 16
#elif defined(__AVX2__)
#define VW 8
#else
#define VW 4
#endif

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

static inline vf vload(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
/* every lane x; spelled as a constructor, which compiles to one broadcast (GCC turned the
 * lane-by-lane loop into 16 masked broadcasts inside the attention tiles) */
static inline vf vset1(float x) {
#if VW == 16
  return (vf){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#elif VW == 8
  return (vf){x, x, x, x, x, x, x, x};
#else
  return (vf){x, x, x, x};
#endif
}
/* m ? a : b, m from a vector comparison (all ones or all zeros per lane) */
static inline vf vsel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
static inline vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
static inline float vhsum(vf v) {
  float s = 0.0f;
  for (int i = 0; i < VW; i++) s += v[i];
  return s;
}
static inline float vhmax(vf v) {
  float m = v[0];
  for (int i = 1; i < VW; i++) m = v[i] > m ? v[i] : m;
  return m;
}

/* e^x with about 1 ulp error; exact 0 / inf outside the float range, NaN propagates */
static inline vf vexp(vf x) {
  const vf hi = vset1(88.72283935546875f), lo = vset1(-103.97208404541015625f);
  vf xc = vmin(vmax(x, lo), hi);
  vf k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  vf r = xc - k * 0.693359375f;
  r = r + k * 2.12194440e-4f;
  vf p = vset1(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf y = p * r * r + r + 1.0f;
  vi ki = __builtin_convertvector(k, vi);
  vi k1 = ki >> 1, k2 = ki - k1;
  y = y * (vf)((k1 + 127) << 23);
  y = y * (vf)((k2 + 127) << 23);
  y = vsel(x > hi, vset1(INFINITY), y);
  y = vsel(x < lo, vset1(0.0f), y);
  return vsel(x != x, x, y);
}

static inline vf vabs(vf x) { return (vf)((vi)x & 0x7fffffff); }

/* tanh via e = exp(-2|x|): sign(x) (1 - e) / (1 + e); small |x| by its odd series */
static inline vf vtanh(vf x) {
  vf ax = vabs(x);
  vf e = vexp(ax * -2.0f);
  vf t = (1.0f - e) / (1.0f + e);
  vf x2 = x * x;
  vf s = ax * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.053968254f)));
  t = vsel(ax < 0.0625f, s, t);
  t = (vf)(((vi)t & 0x7fffffff) | ((vi)x & (int32_t)0x80000000));
  return vsel(x != x, x, t);
}

/* erf(x) = 1 - erfc(|x|) with Numerical Recipes' erfc (fractional error < 1.2e-7), and the
 * Taylor series near 0 where 1 - erfc loses relative precision */
static inline vf verf(vf x) {
  vf z = vabs(x);
  vf t = 1.0f / (1.0f + 0.5f * z);
  vf p = vset1(0.17087277f);
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  vf erfc = t * vexp(p - z * z);
  vf r = 1.0f - erfc;
  vf x2 = x * x;
  vf s = z * (1.1283791671f + x2 * (-0.3761263890f + x2 * (0.1128379167f + x2 * -0.0268661706f)));
  r = vsel(z < 0.125f, s, r);
  r = (vf)(((vi)r & 0x7fffffff) | ((vi)x & (int32_t)0x80000000));
  return vsel(x != x, x, r);
}

static inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }

/* Apply a vector function to n floats, the tail through a zero-padded vector. */
#define VN_MAP1(n, x, out, EXPR)                          \
  do {                                                    \
    int64_t i_ = 0;                                       \
    for (; i_ + VW <= (n); i_ += VW) {                    \
      vf v = vload((x) + i_);                             \
      vstore((out) + i_, (EXPR));                         \
    }                                                     \
    if (i_ < (n)) {                                       \
      float tb_[VW] = {0};                                \
      memcpy(tb_, (x) + i_, ((n) - i_) * sizeof(float));  \
      vf v = vload(tb_);                                  \
      vstore(tb_, (EXPR));                                \
      memcpy((out) + i_, tb_, ((n) - i_) * sizeof(float)); \
    }                                                     \
  } while (0)

/* sum_i a[i] * b[i] in float with VW * 4 partial sums */
static inline float vdot(const float *a, const float *b, int64_t n) {
  vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  int64_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    s0 += vload(a + i) * vload(b + i);
    s1 += vload(a + i + VW) * vload(b + i + VW);
    s2 += vload(a + i + 2 * VW) * vload(b + i + 2 * VW);
    s3 += vload(a + i + 3 * VW) * vload(b + i + 3 * VW);
  }
  for (; i + VW <= n; i += VW) s0 += vload(a + i) * vload(b + i);
  float s = vhsum((s0 + s1) + (s2 + s3));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* y[i] += a * x[i] */
static inline void vaxpy(float a, const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + VW <= n; i += VW) vstore(y + i, vload(y + i) + a * vload(x + i));
  for (; i < n; i++) y[i] += a * x[i];
}

#endif
