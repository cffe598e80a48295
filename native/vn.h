/* vila-ts native kernels: shared declarations.
 * The kernels (kern_*.c) are compiled three times, once per instruction set (AVX-512, AVX2+FMA,
 * portable C), each build naming its table vn_kernels_<isa> through VN_NAME; addon.c picks one
 * at load time with __builtin_cpu_supports. pool.c (compiled once) is the thread pool they share.
 * Every kernel follows the contract of the same-named kernel in src/backend/backend.ts; inputs
 * are validated by addon.c before a kernel runs, so kernels assume sizes and indices are valid. */
#ifndef VN_H
#define VN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* 64-byte aligned allocation (C11 aligned_alloc wants the size to be a multiple of the alignment) */
static inline void *vn_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) & ~(size_t)63); }

/* --- thread pool (pool.c) --- */
typedef void (*vn_task_fn)(void *ctx, int64_t task);
/** Start (or resize) the pool to n threads in all, the caller included. */
void vn_pool_set_threads(int n);
int vn_pool_threads(void);
/** Run fn(ctx, i) for i in [0, ntasks) across the pool; returns when all are done. Runs serially
 * when ntasks == 1, the pool has one thread, or the pool is busy (a call from another thread). */
void vn_parallel_for(int64_t ntasks, vn_task_fn fn, void *ctx);

/* --- op codes, in the order of UNARY_OPS / BINARY_OPS / REDUCE_OPS in backend.ts --- */
enum {
  VN_NEG, VN_EXP, VN_LOG, VN_SQRT, VN_RSQRT, VN_TANH, VN_SIGMOID, VN_RELU, VN_GELU, VN_GELU_TANH,
  VN_QUICK_GELU, VN_SILU, VN_ABS, VN_SQUARE, VN_SIN, VN_COS, VN_UNARY_COUNT
};
enum { VN_ADD, VN_SUB, VN_MUL, VN_DIV, VN_POW, VN_MAX, VN_MIN, VN_EQ, VN_LT, VN_GT, VN_BINARY_COUNT };
enum { VN_RSUM, VN_RMAX, VN_RMIN, VN_REDUCE_COUNT };

#define VN_MAX_RANK 8

typedef struct {
  int transA, transB;
  int64_t M, N, K;
  float alpha, beta;
  const float *A; int64_t lda, strideA;
  const float *B; int64_t ldb, strideB;
  float *C; int64_t ldc, strideC;
  int64_t batch;
  /* 16-bit B (gemmHalf): when bhalf is VN_HALF_BF16 or VN_HALF_F16, B is read from Bh instead
   * (transB only, batch 1): the weight (N, K) of a linear layer kept as bf16 / f16 storage */
  int bhalf;
  const uint16_t *Bh;
  /* bias (N floats, or NULL): C_b[i][j] += bias[j] for every row of every batch item, added in the
   * store of the first K block (a linear layer's bias without a separate pass over C) */
  const float *bias;
} vn_gemm_args;
enum { VN_HALF_NONE = 0, VN_HALF_BF16 = 1, VN_HALF_F16 = 2 };

typedef struct {
  int64_t B, T, S, nh, nkv, hs;
  float scale;
  int causal;
  const float *q, *k, *v;
  const int32_t *keyPadding; /* (B, S) or NULL */
  const int32_t *segments;   /* (B, T) or NULL */
} vn_attn_args;

/* one decoder layer for one new token (decodeLayer in backend.ts): weights (out, in) row-major,
 * all seven of one storage kind (wkind: VN_HALF_NONE = f32, or bf16 / f16 bits) */
typedef struct {
  int64_t C, F, nh, nkv, hs, past;
  float eps;
  int wkind;
  float *h;                 /* (C), updated in place */
  const float *ln1, *ln2;   /* (C) input_layernorm, post_attention_layernorm */
  const void *wq, *wk, *wv; /* (nh hs, C), (nkv hs, C), (nkv hs, C) */
  const void *wo;           /* (C, nh hs) */
  const void *wg, *wu, *wd; /* (F, C), (F, C), (C, F) */
  const float *bq, *bk, *bv; /* q/k/v biases or NULL */
  const float *cos, *sin;   /* (hs / 2): the RoPE rows of the token's position */
  float *kc, *vc;           /* (capacity, nkv, hs): row past is written, rows [0, past] are read */
  float *scratch;           /* C + 2 nh hs + F floats */
} vn_decode_args;

typedef struct {
  const char *isa;
  void (*gemm)(const vn_gemm_args *g);
  void (*unary)(int op, const float *x, float *out, int64_t n);
  void (*unary_backward)(int op, const float *x, const float *y, const float *gy, float *out, int64_t n);
  /* same-shape fast path and the general strided walk */
  void (*binary_flat)(int op, const float *a, const float *b, float *out, int64_t n);
  void (*binary)(int op, const float *a, const int64_t *as, const float *b, const int64_t *bs, float *out,
                 const int64_t *shape, int rank);
  void (*affine)(const float *x, float s, float t, float *out, int64_t n);
  void (*clamp)(const float *x, float lo, float hi, float *out, int64_t n);
  void (*where)(const float *c, const float *a, const float *b, float *out, int64_t n);
  void (*axpy)(float alpha, const float *x, float *y, int64_t n);
  void (*reduce)(int op, const float *x, int64_t outer, int64_t n, int64_t inner, float *out);
  void (*argmax)(const float *x, int64_t outer, int64_t n, int64_t inner, int32_t *out);
  void (*permute)(const float *x, const int64_t *shape, const int64_t *perm, int rank, float *out);
  void (*gather_rows)(const float *table, int64_t cols, const int32_t *idx, int64_t nidx, float *out);
  void (*scatter_add_rows)(float *table, int64_t cols, const int32_t *idx, int64_t nidx, const float *src);
  void (*softmax)(const float *x, int64_t rows, int64_t cols, float *out);
  void (*softmax_backward)(const float *y, const float *gy, int64_t rows, int64_t cols, float *gx);
  void (*log_softmax)(const float *x, int64_t rows, int64_t cols, float *out);
  void (*log_softmax_backward)(const float *y, const float *gy, int64_t rows, int64_t cols, float *gx);
  void (*layer_norm)(const float *x, const float *w, const float *b, int64_t rows, int64_t cols, float eps,
                     float *out, float *mean, float *rstd);
  void (*layer_norm_backward)(const float *x, const float *w, const float *mean, const float *rstd,
                              const float *gy, int64_t rows, int64_t cols, float *gx, float *gw, float *gb);
  void (*rms_norm)(const float *x, const float *w, int64_t rows, int64_t cols, float eps, float *out, float *rstd);
  void (*rms_norm_backward)(const float *x, const float *w, const float *rstd, const float *gy, int64_t rows,
                            int64_t cols, float *gx, float *gw);
  void (*rope)(const float *x, int64_t B, int64_t T, int64_t nh, int64_t hs, const float *cos, const float *sin,
               const int32_t *pos, int inverse, float *out);
  void (*attention)(const vn_attn_args *a, float *out, float *lse);
  void (*attention_backward)(const vn_attn_args *a, const float *out, const float *lse, const float *gout,
                             float *gq, float *gk, float *gv);
  void (*decode_layer)(const vn_decode_args *a);
  void (*cross_entropy)(const float *logits, const int32_t *targets, int64_t rows, int64_t V, int32_t ignore,
                        float *losses, float *lse);
  void (*cross_entropy_backward)(const float *logits, const int32_t *targets, const float *lse, int64_t rows,
                                 int64_t V, int32_t ignore, float scale, float *glogits);
  void (*adamw)(float *p, const float *g, float *m, float *v, int64_t n, double lr, double b1, double b2, double eps,
                double wd, double bc1, double bc2);
  double (*sum_squares)(const float *x, int64_t n);
  void (*bf16_to_f32)(const uint16_t *x, float *out, int64_t n);
  void (*f32_to_bf16)(const float *x, uint16_t *out, int64_t n);
  void (*f16_to_f32)(const uint16_t *x, float *out, int64_t n);
  void (*f32_to_f16)(const float *x, uint16_t *out, int64_t n);
} vn_kernels;

extern const vn_kernels vn_kernels_avx512;
extern const vn_kernels vn_kernels_avx2;
extern const vn_kernels vn_kernels_generic;

/* Per-ISA symbol names: each kern_*.c build defines VN_ISA to avx512, avx2 or generic. */
#define VN_CAT2(a, b) a##_##b
#define VN_CAT(a, b) VN_CAT2(a, b)
#define VN_NAME(n) VN_CAT(n, VN_ISA)
#define VN_STR2(x) #x
#define VN_STR(x) VN_STR2(x)

#endif
