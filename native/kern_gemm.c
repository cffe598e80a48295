/* SGEMM for one instruction set (compiled once per ISA, see binding.gyp).
 * Follows the GotoBLAS / BLIS layering (Goto & van de Geijn, "Anatomy of high-performance
 * matrix multiplication", 2008; BLIS's loop order): op(B) is packed into KC x NR panels per
 * KC x NC block sized for L2, op(A) into MR x KC panels per MC block, and a register-blocked
 * micro-kernel computes one MR x NR tile of C. The A micro-panel (the broadcast operand) stays
 * in L1 while the B micro-panels (loaded as full vectors) stream from L2. Tiles: AVX-512 14 x 32 (28 zmm
 * accumulators, B rows loaded as two vectors, A entries broadcast from memory), AVX2 6 x 16,
 * portable 4 x 16. Partial tiles go through a small buffer. Work is split over batch items or a
 * grid of C blocks across the thread pool. Tiny or skinny products (GEMV, K or N tiny) skip the
 * packing and run dot / axpy loops; a decode product (M < MR against a weight W^T) is split into
 * several row blocks per thread, handed out dynamically, so a thread that loses its core on a
 * shared machine does not hold up the step. alpha scales op(A) op(B); beta == 0 never reads C; a
 * bias row (a linear layer's) is added as the first K block is stored, not in a pass of its own.
 * gemmHalf (B^T given as 16-bit bf16 / f16 storage, the linear layers of a model loaded with its
 * checkpoint dtype) runs the same drivers: packing widens the 16-bit rows, and the skinny path
 * (decode, M < MR) dots 16-bit rows directly, four at a time for one input row, so a decode step
 * streams each weight once, at 2 bytes per element. */
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "vn.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define MR 14
#define NR 32
#ifndef MC
#define MC (MR * 36)
#endif
#ifndef KC
#define KC 256
#endif
#elif defined(__AVX2__) && defined(__FMA__)
#define MR 6
#define NR 16
#define MC (MR * 32)
#define KC 256
#else
#define MR 4
#define NR 16
#define MC (MR * 32)
#define KC 256
#endif
#ifndef NC
#define NC 1024
#endif

/* ---------------------------------------------------------------------------------------------
 * micro-kernels: C[MR x NR] = alpha * (a-panel @ b-panel) + beta * C (beta == 0: C not read)
 * + bias[0 : NR] on every row when bias is not NULL */

#if defined(__AVX512F__)
#define REP14(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define STEP(i)                                 \
  {                                             \
    __m512 a_ = _mm512_set1_ps(a[i]);           \
    c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0); \
    c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1); \
  }
#define STORE(i)                                                                             \
  {                                                                                          \
    float *r_ = c + (i) * ldc;                                                               \
    __m512 x0 = _mm512_mul_ps(c##i##0, va), x1 = _mm512_mul_ps(c##i##1, va);                 \
    if (beta != 0.0f) {                                                                      \
      x0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(r_), x0);                                     \
      x1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(r_ + 16), x1);                                \
    }                                                                                        \
    if (bias) {                                                                              \
      x0 = _mm512_add_ps(x0, _mm512_loadu_ps(bias));                                         \
      x1 = _mm512_add_ps(x1, _mm512_loadu_ps(bias + 16));                                    \
    }                                                                                        \
    _mm512_storeu_ps(r_, x0);                                                                \
    _mm512_storeu_ps(r_ + 16, x1);                                                           \
  }

#define PREFETCH_C(i) _mm_prefetch((const char *)(c + (i) * ldc), _MM_HINT_T0); \
  _mm_prefetch((const char *)(c + (i) * ldc + 16), _MM_HINT_T0);

static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                         int64_t ldc, float alpha, float beta, const float *restrict bias) {
  REP14(PREFETCH_C)
  REP14(DECL)
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    REP14(STEP)
    a += MR;
    b += NR;
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  REP14(STORE)
}
#elif defined(__AVX2__) && defined(__FMA__)
#define REP6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
#define STEP(i)                                 \
  {                                             \
    __m256 a_ = _mm256_broadcast_ss(a + (i));   \
    c##i##0 = _mm256_fmadd_ps(a_, b0, c##i##0); \
    c##i##1 = _mm256_fmadd_ps(a_, b1, c##i##1); \
  }
#define STORE(i)                                                              \
  {                                                                           \
    float *r_ = c + (i) * ldc;                                                \
    __m256 x0 = _mm256_mul_ps(c##i##0, va), x1 = _mm256_mul_ps(c##i##1, va);  \
    if (beta != 0.0f) {                                                       \
      x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(r_), x0);                      \
      x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(r_ + 8), x1);                  \
    }                                                                         \
    if (bias) {                                                               \
      x0 = _mm256_add_ps(x0, _mm256_loadu_ps(bias));                          \
      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(bias + 8));                      \
    }                                                                         \
    _mm256_storeu_ps(r_, x0);                                                 \
    _mm256_storeu_ps(r_ + 8, x1);                                             \
  }

static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                         int64_t ldc, float alpha, float beta, const float *restrict bias) {
  REP6(DECL)
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    REP6(STEP)
    a += MR;
    b += NR;
  }
  __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  REP6(STORE)
}
#else
static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                         int64_t ldc, float alpha, float beta, const float *restrict bias) {
  float acc[MR][NR];
  memset(acc, 0, sizeof acc);
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      float ai = a[k * MR + i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[k * NR + j];
    }
  }
  for (int i = 0; i < MR; i++) {
    float *r = c + i * ldc;
    if (beta != 0.0f)
      for (int j = 0; j < NR; j++) r[j] = alpha * acc[i][j] + beta * r[j];
    else
      for (int j = 0; j < NR; j++) r[j] = alpha * acc[i][j];
    if (bias)
      for (int j = 0; j < NR; j++) r[j] += bias[j];
  }
}
#endif

/* ---------------------------------------------------------------------------------------------
 * packing */

/* op(A)[i0 : i0 + mc, k0 : k0 + kc] -> panels of MR rows, k-major, zero-padded rows */
static void pack_a(const vn_gemm_args *g, const float *A, int64_t i0, int64_t mc, int64_t k0, int64_t kc,
                   float *restrict dst) {
  const int64_t lda = g->lda;
  for (int64_t p = 0; p < mc; p += MR) {
    int64_t mr = mc - p < MR ? mc - p : MR;
    float *d = dst + p * kc;
#if defined(__AVX512F__)
    if (!g->transA && lda <= INT32_MAX / 16) {
      /* one masked gather per k collects the column of MR rows */
      const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32((int)lda));
      const __mmask16 m = (__mmask16)((1u << mr) - 1);
      const float *base = A + (i0 + p) * lda + k0;
      for (int64_t k = 0; k < kc; k++)
        _mm512_mask_storeu_ps(d + k * MR, (1u << MR) - 1,
                              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base + k, 4));
      continue;
    }
#endif
    if (!g->transA) {
      /* a transpose of MR row segments, 16 columns at a time so the writes stay in L1 */
      for (int64_t k = 0; k < kc; k += 16) {
        int64_t kn = kc - k < 16 ? kc - k : 16;
        for (int64_t r = 0; r < MR; r++) {
          float *dd = d + k * MR + r;
          if (r < mr) {
            const float *s = A + (i0 + p + r) * lda + k0 + k;
            for (int64_t t = 0; t < kn; t++) dd[t * MR] = s[t];
          } else {
            for (int64_t t = 0; t < kn; t++) dd[t * MR] = 0.0f;
          }
        }
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *s = A + (k0 + k) * lda + i0 + p;
        int64_t r = 0;
        for (; r < mr; r++) d[k * MR + r] = s[r];
        for (; r < MR; r++) d[k * MR + r] = 0.0f;
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * 16-bit B (gemmHalf: a linear weight (N, K) kept as bf16 / f16 storage), widened to f32 as it
 * is read: bf16 by a 16-bit shift, f16 by F16C / AVX-512 vcvtph2ps (exact, like the dtype
 * conversion kernels). The kind is a compile-time constant in every inner loop (always_inline). */

#define VN_INLINE static inline __attribute__((always_inline))

/* the unpacked (skinny) path's blocking: columns of C per chunk, rows of A per group */
#define SMALL_CHUNK 512
#define SMALL_ROWS 16

VN_INLINE float half_scalar(uint16_t h, int kind) {
  if (kind == VN_HALF_BF16) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  return half_to_float(h);
}

/* VW 16-bit values at p -> one f32 vector */
VN_INLINE vf vload_half(const uint16_t *p, int kind) {
#if defined(__AVX512F__)
  __m256i h = _mm256_loadu_si256((const __m256i *)p);
  __m512 f = kind == VN_HALF_BF16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))
                                  : _mm512_cvtph_ps(h);
  return (vf)f;
#elif defined(__AVX2__) && defined(__F16C__)
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  __m256 f = kind == VN_HALF_BF16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
                                  : _mm256_cvtph_ps(h);
  return (vf)f;
#else
  vf v;
  for (int i = 0; i < VW; i++) v[i] = half_scalar(p[i], kind);
  return v;
#endif
}

/* sum_i a[i] * w[i] with w 16-bit */
VN_INLINE float vdot_half(const float *a, const uint16_t *w, int64_t n, int kind) {
  vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  int64_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    s0 += vload(a + i) * vload_half(w + i, kind);
    s1 += vload(a + i + VW) * vload_half(w + i + VW, kind);
    s2 += vload(a + i + 2 * VW) * vload_half(w + i + 2 * VW, kind);
    s3 += vload(a + i + 3 * VW) * vload_half(w + i + 3 * VW, kind);
  }
  for (; i + VW <= n; i += VW) s0 += vload(a + i) * vload_half(w + i, kind);
  float s = vhsum((s0 + s1) + (s2 + s3));
  for (; i < n; i++) s += a[i] * half_scalar(w[i], kind);
  return s;
}

/* The decode dot products below (vdot_half, vdot4_f32, vdot4_half), round_up and DECODE_BLOCKS
 * are also used by kern_decode.c (the fused decoder layer), included after this file. */

/* software prefetch distance of the decode streams, in elements (1 KB of 16-bit weights, 2 KB
 * of f32): the hardware prefetcher alone leaves a single core well below the memory bandwidth */
#define PF_HALF 512
#define PF_F32 512

/* four f32 weight rows against one input row (decode), as vdot4_half */
static void vdot4_f32(const float *a, const float *w, int64_t ldw, int64_t n, float *out) {
  const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
  vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) {
#if defined(__AVX2__)
    if (!(i & 15)) {
      _mm_prefetch((const char *)(w0 + i + PF_F32), _MM_HINT_T0);
      _mm_prefetch((const char *)(w1 + i + PF_F32), _MM_HINT_T0);
      _mm_prefetch((const char *)(w2 + i + PF_F32), _MM_HINT_T0);
      _mm_prefetch((const char *)(w3 + i + PF_F32), _MM_HINT_T0);
    }
#endif
    vf x = vload(a + i);
    s0 += x * vload(w0 + i);
    s1 += x * vload(w1 + i);
    s2 += x * vload(w2 + i);
    s3 += x * vload(w3 + i);
  }
  float r0 = vhsum(s0), r1 = vhsum(s1), r2 = vhsum(s2), r3 = vhsum(s3);
  for (; i < n; i++) {
    r0 += a[i] * w0[i];
    r1 += a[i] * w1[i];
    r2 += a[i] * w2[i];
    r3 += a[i] * w3[i];
  }
  out[0] = r0;
  out[1] = r1;
  out[2] = r2;
  out[3] = r3;
}

/* four weight rows against one input row (decode): four independent streams from memory */
VN_INLINE void vdot4_half(const float *a, const uint16_t *w, int64_t ldw, int64_t n, int kind, float *out) {
  const uint16_t *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
  vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) {
#if defined(__AVX2__)
    if (!(i & 31)) { /* one line ahead per stream every 64 bytes: keeps enough misses in flight */
      _mm_prefetch((const char *)(w0 + i + PF_HALF), _MM_HINT_T0);
      _mm_prefetch((const char *)(w1 + i + PF_HALF), _MM_HINT_T0);
      _mm_prefetch((const char *)(w2 + i + PF_HALF), _MM_HINT_T0);
      _mm_prefetch((const char *)(w3 + i + PF_HALF), _MM_HINT_T0);
    }
#endif
    vf x = vload(a + i);
    s0 += x * vload_half(w0 + i, kind);
    s1 += x * vload_half(w1 + i, kind);
    s2 += x * vload_half(w2 + i, kind);
    s3 += x * vload_half(w3 + i, kind);
  }
  float r0 = vhsum(s0), r1 = vhsum(s1), r2 = vhsum(s2), r3 = vhsum(s3);
  for (; i < n; i++) {
    r0 += a[i] * half_scalar(w0[i], kind);
    r1 += a[i] * half_scalar(w1[i], kind);
    r2 += a[i] * half_scalar(w2[i], kind);
    r3 += a[i] * half_scalar(w3[i], kind);
  }
  out[0] = r0;
  out[1] = r1;
  out[2] = r2;
  out[3] = r3;
}

/* rows [0, nn) of acc[r] = A row r . W row (j0 + j), r < mr; wrow: K floats of scratch */
VN_INLINE void small_half_rows(const vn_gemm_args *g, const float *const *ar, int64_t mr, int64_t j0, int64_t nn,
                               float (*acc)[SMALL_CHUNK], float *wrow, int kind) {
  const int64_t K = g->K, ldb = g->ldb;
  const uint16_t *W = g->Bh;
  int64_t j = 0;
  if (mr == 1) {
    for (; j + 4 <= nn; j += 4) vdot4_half(ar[0], W + (j0 + j) * ldb, ldb, K, kind, &acc[0][j]);
    for (; j < nn; j++) acc[0][j] = vdot_half(ar[0], W + (j0 + j) * ldb, K, kind);
    return;
  }
  if (!wrow) { /* no scratch (allocation failed): widen per row of A */
    for (; j < nn; j++)
      for (int64_t r = 0; r < mr; r++) acc[r][j] = vdot_half(ar[r], W + (j0 + j) * ldb, K, kind);
    return;
  }
  /* several rows: widen each weight row once, then plain dot products from L1 */
  for (; j < nn; j++) {
    const uint16_t *w = W + (j0 + j) * ldb;
    int64_t k = 0;
    for (; k + VW <= K; k += VW) vstore(wrow + k, vload_half(w + k, kind));
    for (; k < K; k++) wrow[k] = half_scalar(w[k], kind);
    for (int64_t r = 0; r < mr; r++) acc[r][j] = vdot(ar[r], wrow, K);
  }
}

/* op(B) = W^T panels from 16-bit W (N, K): each row segment widened 16 at a time, then written
 * down its panel column */
VN_INLINE void pack_b_half_kind(const vn_gemm_args *g, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                                float *restrict dst, int kind) {
  const int64_t ldb = g->ldb;
  float tile[16] __attribute__((aligned(64)));
  for (int64_t q = 0; q < nc; q += NR) {
    int64_t nr = nc - q < NR ? nc - q : NR;
    float *d = dst + q * kc;
    for (int64_t k = 0; k < kc; k += 16) {
      int64_t kn = kc - k < 16 ? kc - k : 16;
      for (int64_t c = 0; c < NR; c++) {
        if (c < nr) {
          const uint16_t *s = g->Bh + (j0 + q + c) * ldb + k0 + k;
          if (kn == 16)
            for (int t = 0; t < 16; t += VW) vstore(tile + t, vload_half(s + t, kind));
          else
            for (int64_t t = 0; t < kn; t++) tile[t] = half_scalar(s[t], kind);
          for (int64_t t = 0; t < kn; t++) d[(k + t) * NR + c] = tile[t];
        } else {
          for (int64_t t = 0; t < kn; t++) d[(k + t) * NR + c] = 0.0f;
        }
      }
    }
  }
}

static void pack_b_half(const vn_gemm_args *g, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *restrict dst) {
  if (g->bhalf == VN_HALF_BF16)
    pack_b_half_kind(g, k0, kc, j0, nc, dst, VN_HALF_BF16);
  else
    pack_b_half_kind(g, k0, kc, j0, nc, dst, VN_HALF_F16);
}

/* op(B)[k0 : k0 + kc, j0 : j0 + nc] -> panels of NR columns, k-major, zero-padded columns */
static void pack_b(const vn_gemm_args *g, const float *B, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                   float *restrict dst) {
  if (g->bhalf) {
    pack_b_half(g, k0, kc, j0, nc, dst);
    return;
  }
  const int64_t ldb = g->ldb;
  for (int64_t q = 0; q < nc; q += NR) {
    int64_t nr = nc - q < NR ? nc - q : NR;
    float *d = dst + q * kc;
    if (!g->transB) {
      for (int64_t k = 0; k < kc; k++) {
        const float *s = B + (k0 + k) * ldb + j0 + q;
        if (nr == NR) {
          memcpy(d + k * NR, s, NR * sizeof(float));
        } else {
          int64_t c = 0;
          for (; c < nr; c++) d[k * NR + c] = s[c];
          for (; c < NR; c++) d[k * NR + c] = 0.0f;
        }
      }
    } else {
#if defined(__AVX512F__)
      if (ldb <= INT32_MAX / 16) {
        /* two masked gathers per k collect the NR = 32 row entries */
        const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32((int)ldb));
        const __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
        const __mmask16 m1 = nr <= 16 ? 0 : nr >= 32 ? 0xffff : (__mmask16)((1u << (nr - 16)) - 1);
        const float *b0 = B + (j0 + q) * ldb + k0, *b1 = b0 + 16 * ldb;
        for (int64_t k = 0; k < kc; k++) {
          _mm512_store_ps(d + k * NR, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, idx, b0 + k, 4));
          _mm512_store_ps(d + k * NR + 16, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, idx, b1 + k, 4));
        }
        continue;
      }
#endif
      /* transpose NR rows of B in 8 x 8 tiles: 8 row segments read, 8 panel rows written */
      const float *rows[NR];
      for (int64_t c = 0; c < NR; c++) rows[c] = c < nr ? B + (j0 + q + c) * ldb + k0 : NULL;
      for (int64_t k = 0; k < kc; k += 8) {
        int64_t kn = kc - k < 8 ? kc - k : 8;
        for (int64_t c = 0; c < NR; c++) {
          const float *s = rows[c];
          if (s)
            for (int64_t t = 0; t < kn; t++) d[(k + t) * NR + c] = s[k + t];
          else
            for (int64_t t = 0; t < kn; t++) d[(k + t) * NR + c] = 0.0f;
        }
      }
    }
  }
}

/* per-thread packing buffers, allocated on first use and kept */
static __thread float *tls_pa, *tls_pb;

static int ensure_buffers(void) {
  if (!tls_pa) tls_pa = vn_alloc(sizeof(float) * (size_t)MC * KC);
  if (!tls_pb) tls_pb = vn_alloc(sizeof(float) * (size_t)KC * NC);
  return tls_pa && tls_pb;
}

/* ---------------------------------------------------------------------------------------------
 * drivers for one C block [m0, m1) x [n0, n1) of one batch item */

/* K == 0: C = beta * C + bias */
static void scale_c(float *C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float beta,
                    const float *bias) {
  for (int64_t i = m0; i < m1; i++) {
    float *r = C + i * ldc;
    if (beta == 0.0f)
      for (int64_t j = n0; j < n1; j++) r[j] = 0.0f;
    else
      for (int64_t j = n0; j < n1; j++) r[j] *= beta;
    if (bias)
      for (int64_t j = n0; j < n1; j++) r[j] += bias[j];
  }
}

/* C_i = alpha * acc + beta * C_i (+ bias) over one row segment */
static void store_row(float *c, const float *acc, int64_t n, float alpha, float beta, const float *bias) {
  if (beta == 0.0f)
    for (int64_t j = 0; j < n; j++) c[j] = alpha * acc[j];
  else
    for (int64_t j = 0; j < n; j++) c[j] = alpha * acc[j] + beta * c[j];
  if (bias)
    for (int64_t j = 0; j < n; j++) c[j] += bias[j];
}

/* unpacked path for skinny products: rows in groups of SMALL_ROWS so that each row (or column
 * chunk) of B is read from memory once per group and reused from cache by every row of the group;
 * axpy form for B (K, N), dot products for B^T (N, K) */
static void gemm_small(const vn_gemm_args *g, const float *A, const float *B, float *C, int64_t m0, int64_t m1,
                       int64_t n0, int64_t n1) {
  const int64_t K = g->K, lda = g->lda, ldb = g->ldb, ldc = g->ldc;
  float acc[SMALL_ROWS][SMALL_CHUNK];
  float *arows = NULL, *wrow = NULL;
  if (g->transB && g->transA) arows = malloc(sizeof(float) * SMALL_ROWS * (K > 0 ? K : 1));
  if (g->bhalf && m1 - m0 > 1) wrow = malloc(sizeof(float) * (K > 0 ? K : 1));
  for (int64_t i0 = m0; i0 < m1; i0 += SMALL_ROWS) {
    const int64_t mr = m1 - i0 < SMALL_ROWS ? m1 - i0 : SMALL_ROWS;
    const float *ar[SMALL_ROWS];
    if (g->transB) {
      for (int64_t r = 0; r < mr; r++) {
        if (arows) {
          for (int64_t k = 0; k < K; k++) arows[r * K + k] = A[k * lda + i0 + r];
          ar[r] = arows + r * K;
        } else {
          ar[r] = A + (i0 + r) * lda;
        }
      }
    }
    for (int64_t j0 = n0; j0 < n1; j0 += SMALL_CHUNK) {
      const int64_t nn = n1 - j0 < SMALL_CHUNK ? n1 - j0 : SMALL_CHUNK;
      if (!g->transB) {
        for (int64_t r = 0; r < mr; r++) memset(acc[r], 0, sizeof(float) * nn);
        for (int64_t k = 0; k < K; k++) {
          const float *b = B + k * ldb + j0;
          for (int64_t r = 0; r < mr; r++) {
            const float a = g->transA ? A[k * lda + i0 + r] : A[(i0 + r) * lda + k];
            vaxpy(a, b, acc[r], nn);
          }
        }
      } else if (g->bhalf == VN_HALF_BF16) {
        small_half_rows(g, ar, mr, j0, nn, acc, wrow, VN_HALF_BF16);
      } else if (g->bhalf == VN_HALF_F16) {
        small_half_rows(g, ar, mr, j0, nn, acc, wrow, VN_HALF_F16);
      } else if (mr == 1 && !g->transA) {
        int64_t j = 0;
        for (; j + 4 <= nn; j += 4) vdot4_f32(ar[0], B + (j0 + j) * ldb, ldb, K, &acc[0][j]);
        for (; j < nn; j++) acc[0][j] = vdot(ar[0], B + (j0 + j) * ldb, K);
      } else {
        for (int64_t j = 0; j < nn; j++) {
          const float *b = B + (j0 + j) * ldb;
          for (int64_t r = 0; r < mr; r++) acc[r][j] = vdot(ar[r], b, K);
        }
      }
      const float *bias = g->bias ? g->bias + j0 : NULL;
      for (int64_t r = 0; r < mr; r++) store_row(C + (i0 + r) * ldc + j0, acc[r], nn, g->alpha, g->beta, bias);
    }
  }
  free(arows);
  free(wrow);
}

static void gemm_packed(const vn_gemm_args *g, const float *A, const float *B, float *C, int64_t m0, int64_t m1,
                        int64_t n0, int64_t n1) {
  const int64_t K = g->K, ldc = g->ldc;
  if (!ensure_buffers()) {
    gemm_small(g, A, B, C, m0, m1, n0, n1);
    return;
  }
  float *pa = tls_pa, *pb = tls_pb;
  float tmp[MR * NR] __attribute__((aligned(64)));
  for (int64_t jc = n0; jc < n1; jc += NC) {
    int64_t nc = n1 - jc < NC ? n1 - jc : NC;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      /* the first K block applies beta and adds the bias; later ones accumulate */
      float beta = pc == 0 ? g->beta : 1.0f;
      const float *bias_row = pc == 0 ? g->bias : NULL;
      pack_b(g, B, pc, kc, jc, nc, pb);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        int64_t mc = m1 - ic < MC ? m1 - ic : MC;
        pack_a(g, A, ic, mc, pc, kc, pa);
        /* the A micro-panel (broadcast operand) stays in L1 while the B panels stream from L2 */
        for (int64_t ir = 0; ir < mc; ir += MR) {
          int64_t mr = mc - ir < MR ? mc - ir : MR;
          const float *ap = pa + ir * kc;
          for (int64_t jr = 0; jr < nc; jr += NR) {
            int64_t nr = nc - jr < NR ? nc - jr : NR;
            float *cp = C + (ic + ir) * ldc + jc + jr;
            const float *bp = pb + jr * kc;
            const float *bias = bias_row ? bias_row + jc + jr : NULL;
            if (mr == MR && nr == NR) {
              micro_kernel(kc, ap, bp, cp, ldc, g->alpha, beta, bias);
            } else {
              micro_kernel(kc, ap, bp, tmp, NR, 1.0f, 0.0f, NULL);
              for (int64_t r = 0; r < mr; r++) store_row(cp + r * ldc, tmp + r * NR, nr, g->alpha, beta, bias);
            }
          }
        }
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * the public entry: split work into tasks over (batch item, M block, N block) */

typedef struct {
  const vn_gemm_args *g;
  int64_t tm, tn;   /* grid of C blocks per batch item */
  int64_t bm, bn;   /* block sizes (multiples of MR / NR) */
  int small;
} gemm_job;

static void gemm_task(void *ctx, int64_t t) {
  const gemm_job *j = ctx;
  const vn_gemm_args *g = j->g;
  int64_t per = j->tm * j->tn;
  int64_t b = t / per, r = t % per;
  int64_t m0 = (r / j->tn) * j->bm, n0 = (r % j->tn) * j->bn;
  int64_t m1 = m0 + j->bm < g->M ? m0 + j->bm : g->M;
  int64_t n1 = n0 + j->bn < g->N ? n0 + j->bn : g->N;
  if (m0 >= m1 || n0 >= n1) return;
  const float *A = g->A + b * g->strideA, *B = g->B + b * g->strideB;
  float *C = g->C + b * g->strideC;
  if (g->K == 0)
    scale_c(C, g->ldc, m0, m1, n0, n1, g->beta, g->bias);
  else if (j->small)
    gemm_small(g, A, B, C, m0, m1, n0, n1);
  else
    gemm_packed(g, A, B, C, m0, m1, n0, n1);
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* row blocks per thread of a decode product (the unit of dynamic load balancing) */
#define DECODE_BLOCKS 8

static void gemm(const vn_gemm_args *g) {
  const int64_t M = g->M, N = g->N, K = g->K;
  if (M <= 0 || N <= 0 || g->batch <= 0) return;
  gemm_job j = {g, 1, 1, M, N, 0};
  j.small = M < MR || N < 8 || K < 8 || M * N * K < 32768;
  double flops = 2.0 * (double)M * N * (K > 0 ? K : 1) * g->batch;
  int threads = vn_pool_threads();
  /* GEMV-like products are memory-bound: split them once the weight is a few hundred KB */
  int parallel = threads > 1 && (flops > 2e6 || (M < MR && (double)N * K * g->batch > 1e5));
  if (parallel && g->batch == 1 && M < MR && g->transB && !g->transA) {
    /* decode (one or a few rows of A against a weight streamed from memory): many blocks of rows,
     * handed out dynamically, so a thread that loses its core for a while (more runnable threads
     * than cores) does not hold back the other */
    int64_t want = (int64_t)threads * DECODE_BLOCKS;
    j.bn = round_up((N + want - 1) / want, 4); /* whole groups of four rows (vdot4) */
    if (j.bn < 16) j.bn = 16;
    j.tn = (N + j.bn - 1) / j.bn;
  } else if (parallel && g->batch < threads) {
    /* split each item into about `threads` blocks, the larger dimension first */
    int64_t want = (threads + g->batch - 1) / g->batch;
    int64_t tm = 1, tn = 1;
    while (tm * tn < want) {
      if ((double)M / tm >= (double)N / tn && M / (tm + 1) >= MR) tm++;
      else if (N / (tn + 1) >= NR) tn++;
      else if (M / (tm + 1) >= 1) tm++;
      else break;
    }
    j.bm = round_up((M + tm - 1) / tm, j.small ? 1 : MR);
    j.bn = round_up((N + tn - 1) / tn, j.small ? 1 : NR);
    j.tm = (M + j.bm - 1) / j.bm;
    j.tn = (N + j.bn - 1) / j.bn;
  }
  int64_t tasks = g->batch * j.tm * j.tn;
  if (parallel)
    vn_parallel_for(tasks, gemm_task, &j);
  else
    for (int64_t t = 0; t < tasks; t++) gemm_task(&j, t);
}
