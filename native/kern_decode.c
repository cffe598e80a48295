/* Fused Llama / Qwen2 decoder layer for one new token (B = 1, T = 1) against a KV cache, for one
 * ISA. Contract and reference: src/backend/js/decode.ts decodeLayer (backend.ts DecodeLayerArgs).
 * Decode is bound by streaming the weights, so the layer is four pool dispatches over rows of the
 * weights and one over attention heads, with the norms and RoPE done in between by the calling
 * thread, and no trip back to JavaScript:
 *   xn = rmsnorm(h) -> q, k, v (one dispatch over the rows of all three, k and v written straight
 *   into row `past` of the cache) -> RoPE -> attention over past + 1 keys (one task per head)
 *   -> h += o_proj(att) -> xn = rmsnorm(h) -> act = silu(gate xn) * up xn (one dispatch, the gate
 *   and up rows of a block in the same task) -> h += down(act).
 * Every weight product is the decode gemv of kern_gemm.c (vdot4_f32 / vdot4_half over groups of
 * four rows, vdot / vdot_half for the tail, the same software prefetch), over row blocks sized and
 * handed out as gemm's decode split does (DECODE_BLOCKS per thread, whole groups of four), so each
 * product sums in the same order as the unfused layer's. Included by kernels.c after kern_gemm.c. */
#include <math.h>
#include <string.h>

#include "simd.h"
#include "vn.h"

/* rows per inner chunk of a row block (the width of the on-stack accumulators) */
#define DEC_CHUNK 64
/* keys per block of the attention's online softmax */
#define DEC_KEYS 64

/* out[0 : j1 - j0] = x . W[j] for rows j in [j0, j1) of W (rows of K), j0 a multiple of 4 */
static void decode_rows(const float *x, const void *w, int kind, int64_t K, int64_t j0, int64_t j1, float *out) {
  int64_t j = j0;
  if (kind == VN_HALF_BF16) {
    const uint16_t *W = w;
    for (; j + 4 <= j1; j += 4) vdot4_half(x, W + j * K, K, K, VN_HALF_BF16, out + (j - j0));
    for (; j < j1; j++) out[j - j0] = vdot_half(x, W + j * K, K, VN_HALF_BF16);
  } else if (kind == VN_HALF_F16) {
    const uint16_t *W = w;
    for (; j + 4 <= j1; j += 4) vdot4_half(x, W + j * K, K, K, VN_HALF_F16, out + (j - j0));
    for (; j < j1; j++) out[j - j0] = vdot_half(x, W + j * K, K, VN_HALF_F16);
  } else {
    const float *W = w;
    for (; j + 4 <= j1; j += 4) vdot4_f32(x, W + j * K, K, K, out + (j - j0));
    for (; j < j1; j++) out[j - j0] = vdot(x, W + j * K, K);
  }
}

/* one dispatch over row blocks of up to three weights that read the same input row */
enum { DEC_STORE, DEC_ADD, DEC_SWIGLU };
typedef struct {
  int mode;  /* DEC_STORE: out = x W^T + bias;  DEC_ADD: out += x W^T;  DEC_SWIGLU: below */
  int kind;  /* weight storage, VN_HALF_* */
  int nmat;
  const float *x;
  int64_t K, bn;
  /* DEC_SWIGLU: w[0] gate, w[1] up (same rows), out[0] = silu(x gate^T) * (x up^T) */
  const void *w[3];
  const float *bias[3];
  float *out[3];
  int64_t rows[3];
  int64_t first[4]; /* first task of each weight; first[nmat] = all tasks */
} rows_job;

static void rows_task(void *ctx, int64_t t) {
  const rows_job *j = ctx;
  int m = 0;
  while (t >= j->first[m + 1]) m++;
  const int64_t j0 = (t - j->first[m]) * j->bn;
  const int64_t j1 = j0 + j->bn < j->rows[m] ? j0 + j->bn : j->rows[m];
  float acc[DEC_CHUNK], up[DEC_CHUNK];
  for (int64_t c0 = j0; c0 < j1; c0 += DEC_CHUNK) {
    const int64_t c1 = c0 + DEC_CHUNK < j1 ? c0 + DEC_CHUNK : j1, n = c1 - c0;
    decode_rows(j->x, j->w[m], j->kind, j->K, c0, c1, acc);
    float *o = j->out[m] + c0;
    if (j->mode == DEC_STORE) {
      const float *b = j->bias[m];
      for (int64_t i = 0; i < n; i++) o[i] = b ? acc[i] + b[c0 + i] : acc[i];
    } else if (j->mode == DEC_ADD) {
      for (int64_t i = 0; i < n; i++) o[i] += acc[i];
    } else {
      decode_rows(j->x, j->w[1], j->kind, j->K, c0, c1, up);
      VN_MAP1(n, acc, acc, v * vsigmoid(v)); /* silu, as the unary kernel computes it */
      for (int64_t i = 0; i < n; i++) o[i] = acc[i] * up[i];
    }
  }
}

/* split the rows of j's weights into blocks (gemm's decode split over their total) and run them */
static void rows_run(rows_job *j) {
  int64_t total = 0;
  for (int m = 0; m < j->nmat; m++) total += j->rows[m];
  int64_t want = (int64_t)vn_pool_threads() * DECODE_BLOCKS;
  j->bn = round_up((total + want - 1) / want, 4); /* whole groups of four rows (vdot4) */
  if (j->bn < 16) j->bn = 16;
  j->first[0] = 0;
  for (int m = 0; m < j->nmat; m++) j->first[m + 1] = j->first[m] + (j->rows[m] + j->bn - 1) / j->bn;
  vn_parallel_for(j->first[j->nmat], rows_task, j);
}

/* out = x * rstd * w, as rms_norm_range */
static void decode_rms(const float *x, const float *w, int64_t n, float eps, float *out) {
  float s = 1.0f / sqrtf(vdot(x, x, n) / (float)n + eps);
  for (int64_t i = 0; i < n; i++) out[i] = (x[i] * s) * w[i];
}

/* rotate-half RoPE in place on nh heads of hs, as rope_range */
static void decode_rope(float *x, int64_t nh, int64_t hs, const float *cs, const float *sn) {
  const int64_t half = hs / 2;
  for (int64_t h = 0; h < nh; h++) {
    float *o = x + h * hs;
    for (int64_t i = 0; i < half; i++) {
      float co = cs[i], si = sn[i], x1 = o[i], x2 = o[i + half];
      o[i] = x1 * co - x2 * si;
      o[i + half] = x2 * co + x1 * si;
    }
  }
}

/* attention of one query head over keys [0, S) of the cache (all visible), online softmax */
static void attn_head_task(void *ctx, int64_t h) {
  const vn_decode_args *a = ctx;
  const int64_t hs = a->hs, nkv = a->nkv, S = a->past + 1, kh = h / (a->nh / nkv);
  const float *q = a->scratch + a->C + h * hs;
  float *out = a->scratch + a->C + (a->nh + h) * hs;
  const float scale = (float)(1.0 / sqrt((double)hs));
  float sc[DEC_KEYS];
  float m = -INFINITY, l = 0.0f;
  memset(out, 0, sizeof(float) * hs);
  for (int64_t s0 = 0; s0 < S; s0 += DEC_KEYS) {
    const int64_t n = S - s0 < DEC_KEYS ? S - s0 : DEC_KEYS;
    float bmax = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
      sc[j] = vdot(q, a->kc + ((s0 + j) * nkv + kh) * hs, hs) * scale;
      bmax = sc[j] > bmax ? sc[j] : bmax;
    }
    if (bmax > m) { /* rescale what was summed under the old max */
      const float corr = expf(m - bmax);
      l *= corr;
      for (int64_t i = 0; i < hs; i++) out[i] *= corr;
      m = bmax;
    }
    VN_MAP1(n, sc, sc, vexp(v - m));
    for (int64_t j = 0; j < n; j++) {
      l += sc[j];
      vaxpy(sc[j], a->vc + ((s0 + j) * nkv + kh) * hs, out, hs);
    }
  }
  const float inv = 1.0f / l;
  for (int64_t i = 0; i < hs; i++) out[i] *= inv;
}

static void decode_layer(const vn_decode_args *a) {
  const int64_t C = a->C, F = a->F, nh = a->nh, nkv = a->nkv, hs = a->hs;
  /* scratch: xn (C) | q (nh hs) | att (nh hs) | act (F) */
  float *xn = a->scratch, *q = xn + C, *att = q + nh * hs, *act = att + nh * hs;
  float *krow = a->kc + a->past * nkv * hs, *vrow = a->vc + a->past * nkv * hs;

  /* (C) -> q (nh hs), k and v (nkv hs) into the cache row */
  decode_rms(a->h, a->ln1, C, a->eps, xn);
  rows_job j = {.mode = DEC_STORE, .kind = a->wkind, .nmat = 3, .x = xn, .K = C};
  j.w[0] = a->wq, j.w[1] = a->wk, j.w[2] = a->wv;
  j.bias[0] = a->bq, j.bias[1] = a->bk, j.bias[2] = a->bv;
  j.out[0] = q, j.out[1] = krow, j.out[2] = vrow;
  j.rows[0] = nh * hs, j.rows[1] = nkv * hs, j.rows[2] = nkv * hs;
  rows_run(&j);
  decode_rope(q, nh, hs, a->cos, a->sin);
  decode_rope(krow, nkv, hs, a->cos, a->sin);

  /* (nh, hs) against (past + 1, nkv, hs) -> att (nh, hs) */
  vn_parallel_for(nh, attn_head_task, (void *)a);

  /* h += att @ Wo^T: (nh hs) -> (C) */
  j = (rows_job){.mode = DEC_ADD, .kind = a->wkind, .nmat = 1, .x = att, .K = nh * hs};
  j.w[0] = a->wo, j.out[0] = a->h, j.rows[0] = C;
  rows_run(&j);

  /* act = silu(xn @ Wg^T) * (xn @ Wu^T): (C) -> (F) */
  decode_rms(a->h, a->ln2, C, a->eps, xn);
  j = (rows_job){.mode = DEC_SWIGLU, .kind = a->wkind, .nmat = 1, .x = xn, .K = C};
  j.w[0] = a->wg, j.w[1] = a->wu, j.out[0] = act, j.rows[0] = F;
  rows_run(&j);

  /* h += act @ Wd^T: (F) -> (C) */
  j = (rows_job){.mode = DEC_ADD, .kind = a->wkind, .nmat = 1, .x = act, .K = F};
  j.w[0] = a->wd, j.out[0] = a->h, j.rows[0] = C;
  rows_run(&j);
}
