/* Elementwise, reduction, data-movement, optimiser and dtype-conversion kernels for one ISA.
 * Contract and reference: src/backend/js/core.ts (same names). Transcendentals use the vector
 * functions of simd.h (a few ulp from the float64 reference); sums that the reference keeps in
 * float64 (reduce sum, sumSquares) are kept in double here too. Large arrays are split over the
 * thread pool in contiguous chunks. Included by kernels.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "vn.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * splitting [0, n) over the pool (also used by kern_nn.c and kern_attention.c) */

typedef struct {
  int op;
  const float *a, *b, *c;
  float *o;
  float s, t;
} ew_ctx;

typedef void (*range_fn)(const void *ctx, int64_t lo, int64_t hi);
typedef struct {
  range_fn fn;
  const void *c;
  int64_t n, chunk;
} range_job;

static void range_task(void *ctx, int64_t t) {
  const range_job *j = ctx;
  int64_t lo = t * j->chunk, hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
  if (lo < hi) j->fn(j->c, lo, hi);
}

#define EW_GRAIN (1 << 15)

static void parallel_range(int64_t n, int64_t grain, range_fn fn, const void *c) {
  int th = vn_pool_threads();
  if (th <= 1 || n < 2 * grain) {
    fn(c, 0, n);
    return;
  }
  int64_t tasks = n / grain < th ? n / grain : th;
  int64_t chunk = ((n + tasks - 1) / tasks + 63) / 64 * 64;
  range_job j = {fn, c, n, chunk};
  vn_parallel_for((n + chunk - 1) / chunk, range_task, &j);
}

/* ---------------------------------------------------------------------------------------------
 * unary */

#define GELU_TANH_K 0.7978845608028654f
#define GELU_TANH_C 0.044715f
#define SQRT1_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

static vf vgelu(vf v) { return v * (0.5f + 0.5f * verf(v * SQRT1_2)); }
static vf vgelu_tanh(vf v) { return 0.5f * v * (1.0f + vtanh(GELU_TANH_K * (v + GELU_TANH_C * v * v * v))); }

static void unary_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  const float *x = c->a + lo;
  float *out = c->o + lo;
  int64_t n = hi - lo;
  switch (c->op) {
    case VN_NEG: for (int64_t i = 0; i < n; i++) out[i] = -x[i]; break;
    case VN_EXP: VN_MAP1(n, x, out, vexp(v)); break;
    case VN_LOG: for (int64_t i = 0; i < n; i++) out[i] = logf(x[i]); break;
    case VN_SQRT: for (int64_t i = 0; i < n; i++) out[i] = sqrtf(x[i]); break;
    case VN_RSQRT: for (int64_t i = 0; i < n; i++) out[i] = 1.0f / sqrtf(x[i]); break;
    case VN_TANH: VN_MAP1(n, x, out, vtanh(v)); break;
    case VN_SIGMOID: VN_MAP1(n, x, out, vsigmoid(v)); break;
    case VN_RELU: for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case VN_GELU: VN_MAP1(n, x, out, vgelu(v)); break;
    case VN_GELU_TANH: VN_MAP1(n, x, out, vgelu_tanh(v)); break;
    case VN_QUICK_GELU: VN_MAP1(n, x, out, v * vsigmoid(1.702f * v)); break;
    case VN_SILU: VN_MAP1(n, x, out, v * vsigmoid(v)); break;
    case VN_ABS: for (int64_t i = 0; i < n; i++) out[i] = fabsf(x[i]); break;
    case VN_SQUARE: for (int64_t i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case VN_SIN: for (int64_t i = 0; i < n; i++) out[i] = (float)sin((double)x[i]); break;
    case VN_COS: for (int64_t i = 0; i < n; i++) out[i] = (float)cos((double)x[i]); break;
  }
}

static void unary(int op, const float *x, float *out, int64_t n) {
  ew_ctx c = {.op = op, .a = x, .o = out};
  parallel_range(n, EW_GRAIN / 4, unary_range, &c);
}

/* derivative factors f'(x) for the ops that need more than one line, vectorised */
static vf dgelu(vf v) { return 0.5f + 0.5f * verf(v * SQRT1_2) + v * INV_SQRT_2PI * vexp(-0.5f * v * v); }
static vf dgelu_tanh(vf v) {
  vf t = vtanh(GELU_TANH_K * (v + GELU_TANH_C * v * v * v));
  vf du = GELU_TANH_K * (1.0f + 3.0f * GELU_TANH_C * v * v);
  return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}
static vf dquick_gelu(vf v) {
  vf s = vsigmoid(1.702f * v);
  return s + 1.702f * v * s * (1.0f - s);
}
static vf dsilu(vf v) {
  vf s = vsigmoid(v);
  return s * (1.0f + v * (1.0f - s));
}

static void unary_backward_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  const float *x = c->a + lo, *y = c->b + lo, *gy = c->c + lo;
  float *out = c->o + lo;
  int64_t n = hi - lo;
  switch (c->op) {
    case VN_NEG: for (int64_t i = 0; i < n; i++) out[i] = -gy[i]; break;
    case VN_EXP: for (int64_t i = 0; i < n; i++) out[i] = gy[i] * y[i]; break;
    case VN_LOG: for (int64_t i = 0; i < n; i++) out[i] = gy[i] / x[i]; break;
    case VN_SQRT: for (int64_t i = 0; i < n; i++) out[i] = (0.5f * gy[i]) / sqrtf(x[i]); break;
    case VN_RSQRT:
      for (int64_t i = 0; i < n; i++) {
        float r = 1.0f / sqrtf(x[i]);
        out[i] = -0.5f * gy[i] * r * r * r;
      }
      break;
    case VN_TANH: for (int64_t i = 0; i < n; i++) out[i] = gy[i] * (1.0f - y[i] * y[i]); break;
    case VN_SIGMOID: for (int64_t i = 0; i < n; i++) out[i] = gy[i] * y[i] * (1.0f - y[i]); break;
    case VN_RELU: for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? gy[i] : 0.0f; break;
    case VN_GELU: VN_MAP1(n, x, out, dgelu(v)); goto times_gy;
    case VN_GELU_TANH: VN_MAP1(n, x, out, dgelu_tanh(v)); goto times_gy;
    case VN_QUICK_GELU: VN_MAP1(n, x, out, dquick_gelu(v)); goto times_gy;
    case VN_SILU: VN_MAP1(n, x, out, dsilu(v)); goto times_gy;
    case VN_ABS:
      for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? gy[i] : x[i] < 0.0f ? -gy[i] : 0.0f;
      break;
    case VN_SQUARE: for (int64_t i = 0; i < n; i++) out[i] = 2.0f * x[i] * gy[i]; break;
    case VN_SIN: for (int64_t i = 0; i < n; i++) out[i] = gy[i] * (float)cos((double)x[i]); break;
    case VN_COS: for (int64_t i = 0; i < n; i++) out[i] = -gy[i] * (float)sin((double)x[i]); break;
  }
  return;
times_gy:
  /* out holds f'(x); out may alias gy only through x's positions already consumed */
  for (int64_t i = 0; i < n; i++) out[i] *= gy[i];
}

static void unary_backward(int op, const float *x, const float *y, const float *gy, float *out, int64_t n) {
  ew_ctx c = {.op = op, .a = x, .b = y, .c = gy, .o = out};
  /* the two-pass ops write out before reading gy: keep them correct when out aliases gy */
  if (out == gy && (op == VN_GELU || op == VN_GELU_TANH || op == VN_QUICK_GELU || op == VN_SILU)) {
    float *tmp = malloc(sizeof(float) * (n > 0 ? n : 1));
    if (tmp) {
      memcpy(tmp, gy, sizeof(float) * n);
      c.c = tmp;
      parallel_range(n, EW_GRAIN / 4, unary_backward_range, &c);
      free(tmp);
      return;
    }
  }
  parallel_range(n, EW_GRAIN / 4, unary_backward_range, &c);
}

/* ---------------------------------------------------------------------------------------------
 * binary */

static inline float fmax_js(float a, float b) { return a != a || b != b ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a))); }
static inline float fmin_js(float a, float b) { return a != a || b != b ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b))); }

#define BIN_LOOP(EXPR)                                                  \
  do {                                                                  \
    if (sa == 1 && sb == 1)                                             \
      for (int64_t j = 0; j < n; j++) { float x = a[j], y = b[j]; out[j] = (EXPR); } \
    else if (sa == 1 && sb == 0) {                                      \
      float y = b[0];                                                   \
      for (int64_t j = 0; j < n; j++) { float x = a[j]; out[j] = (EXPR); } \
    } else if (sa == 0 && sb == 1) {                                    \
      float x = a[0];                                                   \
      for (int64_t j = 0; j < n; j++) { float y = b[j]; out[j] = (EXPR); } \
    } else                                                              \
      for (int64_t j = 0; j < n; j++) { float x = a[j * sa], y = b[j * sb]; out[j] = (EXPR); } \
  } while (0)

static void binary_row(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *out, int64_t n) {
  switch (op) {
    case VN_ADD: BIN_LOOP(x + y); break;
    case VN_SUB: BIN_LOOP(x - y); break;
    case VN_MUL: BIN_LOOP(x * y); break;
    case VN_DIV: BIN_LOOP(x / y); break;
    case VN_POW: BIN_LOOP((float)pow((double)x, (double)y)); break;
    case VN_MAX: BIN_LOOP(fmax_js(x, y)); break;
    case VN_MIN: BIN_LOOP(fmin_js(x, y)); break;
    case VN_EQ: BIN_LOOP(x == y ? 1.0f : 0.0f); break;
    case VN_LT: BIN_LOOP(x < y ? 1.0f : 0.0f); break;
    case VN_GT: BIN_LOOP(x > y ? 1.0f : 0.0f); break;
  }
}

static void binary_flat_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  binary_row(c->op, c->a + lo, 1, c->b + lo, 1, c->o + lo, hi - lo);
}

static void binary_flat(int op, const float *a, const float *b, float *out, int64_t n) {
  ew_ctx c = {.op = op, .a = a, .b = b, .o = out};
  parallel_range(n, EW_GRAIN, binary_flat_range, &c);
}

/* general broadcast: walk out row-major one last-axis row at a time (like the reference) */
static void binary(int op, const float *a, const int64_t *as, const float *b, const int64_t *bs, float *out,
                   const int64_t *shape, int rank) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  if (rank == 0) {
    binary_row(op, a, 0, b, 0, out, 1);
    return;
  }
  int64_t n = shape[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  int64_t idx[VN_MAX_RANK] = {0};
  int64_t ia = 0, ib = 0;
  for (int64_t o = 0; o < total; o += n) {
    binary_row(op, a + ia, sa, b + ib, sb, out + o, n);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      ia += as[d];
      ib += bs[d];
      if (idx[d] < shape[d]) break;
      ia -= as[d] * shape[d];
      ib -= bs[d] * shape[d];
      idx[d] = 0;
    }
  }
}

static void affine_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  const float *x = c->a;
  float *o = c->o, s = c->s, t = c->t;
  for (int64_t i = lo; i < hi; i++) o[i] = x[i] * s + t;
}
static void affine(const float *x, float s, float t, float *out, int64_t n) {
  ew_ctx c = {.a = x, .o = out, .s = s, .t = t};
  parallel_range(n, EW_GRAIN, affine_range, &c);
}

static void clamp_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  const float *x = c->a;
  float *o = c->o;
  for (int64_t i = lo; i < hi; i++) o[i] = fmin_js(fmax_js(x[i], c->s), c->t);
}
static void clamp(const float *x, float lo, float hi, float *out, int64_t n) {
  ew_ctx c = {.a = x, .o = out, .s = lo, .t = hi};
  parallel_range(n, EW_GRAIN, clamp_range, &c);
}

static void where_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv;
  for (int64_t i = lo; i < hi; i++) c->o[i] = c->c[i] != 0.0f ? c->a[i] : c->b[i];
}
static void where(const float *cond, const float *a, const float *b, float *out, int64_t n) {
  ew_ctx c = {.a = a, .b = b, .c = cond, .o = out};
  parallel_range(n, EW_GRAIN, where_range, &c);
}

static void axpy_range(const void *cv, int64_t lo, int64_t hi) {
  const ew_ctx *c = cv; vaxpy(c->s, c->a + lo, c->o + lo, hi - lo); }
static void axpy(float alpha, const float *x, float *y, int64_t n) {
  ew_ctx c = {.a = x, .o = y, .s = alpha};
  parallel_range(n, EW_GRAIN, axpy_range, &c);
}

/* ---------------------------------------------------------------------------------------------
 * reductions over the middle axis of (outer, n, inner) */

static void reduce(int op, const float *x, int64_t outer, int64_t n, int64_t inner, float *out) {
  double *acc = malloc(sizeof(double) * (inner > 0 ? inner : 1));
  if (!acc) return;
  for (int64_t o = 0; o < outer; o++) {
    const float *base = x + o * n * inner;
    if (op == VN_RSUM) {
      if (inner == 1) {
        double s[8] = {0};
        int64_t k = 0;
        for (; k + 8 <= n; k += 8)
          for (int j = 0; j < 8; j++) s[j] += base[k + j];
        double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; k < n; k++) t += base[k];
        acc[0] = t;
      } else {
        for (int64_t i = 0; i < inner; i++) acc[i] = 0.0;
        for (int64_t k = 0; k < n; k++)
          for (int64_t i = 0; i < inner; i++) acc[i] += base[k * inner + i];
      }
    } else {
      int mx = op == VN_RMAX;
      for (int64_t i = 0; i < inner; i++) acc[i] = mx ? -INFINITY : INFINITY;
      for (int64_t k = 0; k < n; k++)
        for (int64_t i = 0; i < inner; i++) {
          double v = base[k * inner + i], a = acc[i];
          acc[i] = v != v || a != a ? NAN : mx ? (v > a ? v : a) : (v < a ? v : a);
        }
    }
    for (int64_t i = 0; i < inner; i++) out[o * inner + i] = (float)acc[i];
  }
  free(acc);
}

static void argmax(const float *x, int64_t outer, int64_t n, int64_t inner, int32_t *out) {
  for (int64_t o = 0; o < outer; o++) {
    const float *base = x + o * n * inner;
    for (int64_t i = 0; i < inner; i++) {
      float best = base[i];
      int32_t bi = 0;
      for (int64_t k = 1; k < n && best == best; k++) {
        float v = base[k * inner + i];
        if (v > best || v != v) {
          best = v;
          bi = (int32_t)k;
        }
      }
      out[o * inner + i] = bi;
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * data movement */

static void permute(const float *x, const int64_t *shape, const int64_t *perm, int rank, float *out) {
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  if (rank == 0) {
    out[0] = x[0];
    return;
  }
  int64_t in_strides[VN_MAX_RANK] = {0}, os[VN_MAX_RANK] = {0}, st[VN_MAX_RANK] = {0}, idx[VN_MAX_RANK] = {0};
  int64_t acc = 1;
  for (int d = rank - 1; d >= 0; d--) {
    in_strides[d] = acc;
    acc *= shape[d];
  }
  for (int d = 0; d < rank; d++) {
    os[d] = shape[perm[d]];
    st[d] = in_strides[perm[d]];
  }
  int64_t n = os[rank - 1], s = st[rank - 1], ix = 0;
  for (int64_t o = 0; o < total; o += n) {
    if (s == 1)
      memcpy(out + o, x + ix, sizeof(float) * n);
    else
      for (int64_t j = 0; j < n; j++) out[o + j] = x[ix + j * s];
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      ix += st[d];
      if (idx[d] < os[d]) break;
      ix -= st[d] * os[d];
      idx[d] = 0;
    }
  }
}

static void gather_rows(const float *table, int64_t cols, const int32_t *idx, int64_t nidx, float *out) {
  for (int64_t r = 0; r < nidx; r++) memcpy(out + r * cols, table + (int64_t)idx[r] * cols, sizeof(float) * cols);
}

static void scatter_add_rows(float *table, int64_t cols, const int32_t *idx, int64_t nidx, const float *src) {
  for (int64_t r = 0; r < nidx; r++) {
    float *d = table + (int64_t)idx[r] * cols;
    const float *s = src + r * cols;
    for (int64_t j = 0; j < cols; j++) d[j] += s[j];
  }
}

/* ---------------------------------------------------------------------------------------------
 * AdamW and sum of squares */

typedef struct {
  float *p, *m, *v;
  const float *g;
  double lr, b1, b2, eps, wd, bc1, bc2;
} adamw_ctx;

static void adamw_range(const void *cv, int64_t lo, int64_t hi) {
  const adamw_ctx *a = cv;
  float *p = a->p, *m = a->m, *v = a->v;
  const float *g = a->g;
  /* in double, like the float64 reference: the moments then round to f32 exactly as there */
  const double lr = a->lr, b1 = a->b1, b2 = a->b2, eps = a->eps, decay = (double)a->lr * a->wd;
  const double bc1 = a->bc1, bc2 = a->bc2, c1 = 1.0 - b1, c2 = 1.0 - b2;
  for (int64_t i = lo; i < hi; i++) {
    double gi = g[i], pi = p[i] - decay * p[i];
    double mi = b1 * m[i] + c1 * gi;
    double vi = b2 * v[i] + c2 * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(pi - (lr * (mi / bc1)) / (sqrt(vi / bc2) + eps));
  }
}

static void adamw(float *p, const float *g, float *m, float *v, int64_t n, double lr, double b1, double b2, double eps,
                  double wd, double bc1, double bc2) {
  adamw_ctx a = {p, m, v, g, lr, b1, b2, eps, wd, bc1, bc2};
  parallel_range(n, EW_GRAIN, adamw_range, &a);
}

static double sum_squares(const float *x, int64_t n) {
  double s[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) s[j] += (double)x[i + j] * x[i + j];
  double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) t += (double)x[i] * x[i];
  return t;
}

/* ---------------------------------------------------------------------------------------------
 * dtype conversion: f32 -> 16 bit rounds to nearest even; NaN handling as core.ts */

static void bf16_to_f32(const uint16_t *x, float *out, int64_t n) {
  uint32_t *u = (uint32_t *)out;
  for (int64_t i = 0; i < n; i++) u[i] = (uint32_t)x[i] << 16;
}

static void f32_to_bf16(const float *x, uint16_t *out, int64_t n) {
  const uint32_t *u = (const uint32_t *)x;
  for (int64_t i = 0; i < n; i++) {
    uint32_t b = u[i];
    uint16_t r = (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
    out[i] = (b & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((b >> 16) | 0x0040u) : r;
  }
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
  if (e == 0) {
    float f = (float)m * 5.9604644775390625e-8f; /* m * 2^-24, exact */
    return sign ? -f : f;
  }
  if (e == 31)
    bits = m ? 0x7fc00000u : sign | 0x7f800000u;
  else
    bits = sign | ((e + 112) << 23) | (m << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static uint16_t float_to_half(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, mant = b & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(mant ? sign | 0x7e00 : sign | 0x7c00);
  if (exp == 0) return (uint16_t)sign;
  int e = (int)exp - 127;
  if (e > 15) return (uint16_t)(sign | 0x7c00);
  if (e >= -14) {
    uint32_t h = ((uint32_t)(e + 15) << 10) | (mant >> 13), rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  int shift = -(e + 1);
  if (shift > 24) return (uint16_t)sign;
  uint32_t full = mant | 0x800000, q = full >> shift, rest = full & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1))) q++;
  return (uint16_t)(sign | q);
}

static void f16_to_f32(const uint16_t *x, float *out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  /* hardware conversion is exact; NaNs become the canonical 0x7fc00000 like the reference */
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
    v = _mm256_blendv_ps(v, _mm256_set1_ps(NAN), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(out + i, v);
  }
#endif
  for (; i < n; i++) out[i] = half_to_float(x[i]);
}

static void f32_to_f16(const float *x, uint16_t *out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  /* hardware conversion is exact round-to-nearest-even; NaNs are fixed up to 0x7e00 | sign */
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
      uint16_t tmp[8];
      _mm_storeu_si128((__m128i *)tmp, h);
      for (int j = 0; j < 8; j++)
        if (x[i + j] != x[i + j]) tmp[j] = float_to_half(x[i + j]);
      memcpy(out + i, tmp, sizeof tmp);
    } else {
      _mm_storeu_si128((__m128i *)(out + i), h);
    }
  }
#endif
  for (; i < n; i++) out[i] = float_to_half(x[i]);
}
