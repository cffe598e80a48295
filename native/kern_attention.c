/* Fused scaled-dot-product attention for one ISA, forward and backward (FlashAttention-2, Dao
 * 2023): q (B, T, nh, hs), k v (B, S, nkv, hs), out (B, T, nh, hs), lse (B, nh, T).
 * Contract and reference: src/backend/js/nn.ts attention / attentionBackward (causal with
 * S >= T, key padding, packed-sequence segments, GQA; fully masked rows give 0 and lse -inf).
 * Work is tiled into query blocks of QB rows and key blocks of KB keys. Two register-blocked
 * kernels do all the arithmetic: scores S = X Y^T of a row block against a transposed key block
 * (tile_xyt), and O += P V of a row block against a row-major block (tile_pv); rows are padded to
 * hsp (hs rounded up to the vector width) in scratch copies so every vector access is whole.
 * The forward keeps an online softmax per query row and is split over (b, head, query block).
 * The backward recomputes P from the saved lse, walks key blocks outermost so each key block's
 * gk / gv accumulate in scratch, and is split over (b, kv head): the task owns every row it
 * writes, so no atomics are needed. A pool task takes a run of these units with one scratch buffer
 * (a 16-patch ViT has thousands of units of a few microseconds each). Included by kernels.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "vn.h"

#define KB 64
#define QB 64
#define RG (VW == 16 ? 4 : 2)        /* rows per register tile */
#define VC 4                         /* vectors per column chunk of a register tile */

static inline int64_t key_end(const vn_attn_args *a, int64_t t) { return a->causal ? t + a->S - a->T + 1 : a->S; }

/* S[i][c0*VW : (c0+cnt)*VW] = scale * X[i][0:hs] . Yt[0:hs][same columns] for `rows` rows (X rows
 * at stride ldx, Yt at ldy); cnt <= VC vectors of columns */
static inline __attribute__((always_inline)) void xyt_rows(int rows, int cnt, int c0, int64_t hs, const float *X,
                                                           int64_t ldx, const float *Yt, int64_t ldy, float *S,
                                                           float scale) {
  vf acc[RG][VC];
  for (int r = 0; r < rows; r++)
    for (int u = 0; u < cnt; u++) acc[r][u] = (vf){0};
  for (int64_t d = 0; d < hs; d++) {
    vf y[VC];
    for (int u = 0; u < cnt; u++) y[u] = vload(Yt + d * ldy + (c0 + u) * VW);
    for (int r = 0; r < rows; r++) {
      vf x = vset1(X[r * ldx + d]);
      for (int u = 0; u < cnt; u++) acc[r][u] += x * y[u];
    }
  }
  for (int r = 0; r < rows; r++)
    for (int u = 0; u < cnt; u++) vstore(S + r * KB + (c0 + u) * VW, acc[r][u] * scale);
}

/* scores of m rows against the first nvk vectors of key columns (nvk * VW >= the block's keys;
 * a short last block, or a sequence shorter than KB, computes only the columns it has) */
static void tile_xyt(int64_t m, int nvk, int64_t hs, const float *X, int64_t ldx, const float *Yt, int64_t ldy,
                     float *S, float scale) {
  for (int c0 = 0; c0 < nvk; c0 += VC) {
    const int cnt = nvk - c0 < VC ? nvk - c0 : VC;
    int64_t i = 0;
#define XYT_CASES(R)                                                                   \
  switch (cnt) {                                                                       \
    case 4: xyt_rows(R, 4, c0, hs, X + i * ldx, ldx, Yt, ldy, S + i * KB, scale); break; \
    case 3: xyt_rows(R, 3, c0, hs, X + i * ldx, ldx, Yt, ldy, S + i * KB, scale); break; \
    case 2: xyt_rows(R, 2, c0, hs, X + i * ldx, ldx, Yt, ldy, S + i * KB, scale); break; \
    default: xyt_rows(R, 1, c0, hs, X + i * ldx, ldx, Yt, ldy, S + i * KB, scale); break; \
  }
    for (; i + RG <= m; i += RG) XYT_CASES(RG)
    for (; i < m; i++) XYT_CASES(1)
#undef XYT_CASES
  }
}

/* vectors of a score row that cover n keys */
static inline int key_vectors(int64_t n) { return (int)((n + VW - 1) / VW); }

/* O[i][chunk] += sum_j P[i][j] V[j][chunk] for `rows` rows and nv vectors of columns */
static inline __attribute__((always_inline)) void pv_rows(int rows, int nv, int64_t n, const float *P, int64_t ldp,
                                                          const float *V, int64_t ldv, float *O, int64_t ldo) {
  vf acc[RG][VC];
  for (int r = 0; r < rows; r++)
    for (int u = 0; u < nv; u++) acc[r][u] = vload(O + r * ldo + u * VW);
  for (int64_t j = 0; j < n; j++) {
    vf v[VC];
    for (int u = 0; u < nv; u++) v[u] = vload(V + j * ldv + u * VW);
    for (int r = 0; r < rows; r++) {
      vf p = vset1(P[r * ldp + j]);
      for (int u = 0; u < nv; u++) acc[r][u] += p * v[u];
    }
  }
  for (int r = 0; r < rows; r++)
    for (int u = 0; u < nv; u++) vstore(O + r * ldo + u * VW, acc[r][u]);
}

/* O (m, hsp) += P (m, n) @ V (n, hsp); hsp a multiple of VW; V rows at stride ldv, O at ldo */
static void tile_pv(int64_t m, int64_t n, int64_t hsp, const float *P, int64_t ldp, const float *V, int64_t ldv,
                    float *O, int64_t ldo) {
  for (int64_t c = 0; c < hsp; c += VC * VW) {
    int nv = (int)((hsp - c) / VW < VC ? (hsp - c) / VW : VC);
    int64_t i = 0;
#define PV_CASES(R)                                                  \
  {                                                                  \
    const float *p = P + i * ldp, *v = V + c;                        \
    float *o = O + i * ldo + c;                                      \
    switch (nv) {                                                    \
      case 4: pv_rows(R, 4, n, p, ldp, v, ldv, o, ldo); break;       \
      case 3: pv_rows(R, 3, n, p, ldp, v, ldv, o, ldo); break;       \
      case 2: pv_rows(R, 2, n, p, ldp, v, ldv, o, ldo); break;       \
      default: pv_rows(R, 1, n, p, ldp, v, ldv, o, ldo); break;      \
    }                                                                \
  }
    for (; i + RG <= m; i += RG) PV_CASES(RG)
    for (; i < m; i++) PV_CASES(1)
#undef PV_CASES
  }
}

/* rows [s0, s0 + n) of src for kv head kh: transposed to t (hs, KB) and padded to p (KB, hsp),
 * either may be NULL; rows past n are zero in both */
static void load_keys(const vn_attn_args *a, const float *src, int64_t b, int64_t kh, int64_t s0, int64_t n,
                      int64_t hsp, float *t, float *p) {
  const int64_t hs = a->hs;
  if (p) memset(p, 0, sizeof(float) * KB * hsp);
  if (t) memset(t, 0, sizeof(float) * hs * KB);
  for (int64_t j = 0; j < n; j++) {
    const float *row = src + ((b * a->S + s0 + j) * a->nkv + kh) * hs;
    if (p) memcpy(p + j * hsp, row, sizeof(float) * hs);
    if (t)
      for (int64_t d = 0; d < hs; d++) t[d * KB + j] = row[d];
  }
}

/* -inf on the scores of keys that query t may not see */
static void mask_scores(const vn_attn_args *a, int64_t b, int64_t t, int64_t s0, int64_t n, float *sc) {
  int64_t end = key_end(a, t) - s0;
  if (end > n) end = n;
  if (end < 0) end = 0;
  const int64_t width = (int64_t)key_vectors(n) * VW;
  for (int64_t j = end; j < width; j++) sc[j] = -INFINITY;
  if (a->keyPadding || a->segments) {
    const int32_t *kp = a->keyPadding ? a->keyPadding + b * a->S + s0 : NULL;
    const int32_t *seg = a->segments ? a->segments + b * a->S + s0 : NULL;
    int32_t st = a->segments ? a->segments[b * a->T + t] : 0;
    for (int64_t j = 0; j < end; j++)
      if ((kp && kp[j] == 0) || (seg && seg[j] != st)) sc[j] = -INFINITY;
  }
}

/* packed sequences: 1 when no query of rows [t0, t0 + nq) shares a segment id with a key of
 * [s0, s0 + n), so the whole tile is masked and can be skipped (the id ranges do not overlap) */
static int segments_disjoint(const vn_attn_args *a, int64_t b, int64_t t0, int64_t nq, int64_t s0, int64_t n) {
  if (!a->segments) return 0;
  const int32_t *q = a->segments + b * a->T + t0, *k = a->segments + b * a->S + s0;
  int32_t qlo = q[0], qhi = q[0], klo = k[0], khi = k[0];
  for (int64_t i = 1; i < nq; i++) {
    if (q[i] < qlo) qlo = q[i];
    if (q[i] > qhi) qhi = q[i];
  }
  for (int64_t j = 1; j < n; j++) {
    if (k[j] < klo) klo = k[j];
    if (k[j] > khi) khi = k[j];
  }
  return khi < qlo || klo > qhi;
}

typedef struct {
  const vn_attn_args *a;
  float *out, *lse;
  const float *o_in, *lse_in, *gout;
  float *gq, *gk, *gv;
  int64_t qblocks, hsp;
  int64_t units, per; /* work units ((b, head, query block) forward, (b, kv head) backward), per task */
  float *kt_all; /* forward: k transposed to (B, nkv, hs, sp), zero beyond S; sp = S rounded up to
                  * VW, enough for the key columns a block computes (key_vectors) */
  int64_t sp;
} attn_job;

static void transpose_k_task(void *ctx, int64_t task) {
  const attn_job *J = ctx;
  const vn_attn_args *a = J->a;
  const int64_t S = a->S, nkv = a->nkv, hs = a->hs, b = task / nkv, kh = task % nkv;
  float *dst = J->kt_all + task * hs * J->sp;
  for (int64_t d = 0; d < hs; d++) memset(dst + d * J->sp + S, 0, sizeof(float) * (J->sp - S));
  for (int64_t s = 0; s < S; s++) {
    const float *row = a->k + ((b * S + s) * nkv + kh) * hs;
    for (int64_t d = 0; d < hs; d++) dst[d * J->sp + s] = row[d];
  }
}

/* one (b, head, query block) of the forward, in the scratch `buf` (attention_task) */
static void attention_unit(const attn_job *J, int64_t unit, float *buf) {
  const vn_attn_args *a = J->a;
  const int64_t T = a->T, S = a->S, nh = a->nh, nkv = a->nkv, hs = a->hs, hsp = J->hsp, group = nh / nkv;
  const int64_t b = unit / (nh * J->qblocks), h = (unit / J->qblocks) % nh, qb = unit % J->qblocks;
  const int64_t kh = h / group, t0 = qb * QB, t1 = t0 + QB < T ? t0 + QB : T, nq = t1 - t0;
  const int aligned = hsp == hs; /* v rows can be read in place */
  float *qp = buf, *acc = qp + QB * hsp, *sc = acc + QB * hsp, *m = sc + QB * KB, *l = m + QB, *vp = l + QB;
  const float *kt = J->kt_all + (b * nkv + kh) * hs * J->sp;
  memset(qp, 0, sizeof(float) * nq * hsp);
  memset(acc, 0, sizeof(float) * nq * hsp);
  for (int64_t i = 0; i < nq; i++) {
    memcpy(qp + i * hsp, a->q + ((b * T + t0 + i) * nh + h) * hs, sizeof(float) * hs);
    m[i] = -INFINITY;
    l[i] = 0.0f;
  }
  int64_t kend = key_end(a, t1 - 1);
  if (kend > S) kend = S;
  for (int64_t s0 = 0; s0 < kend; s0 += KB) {
    const int64_t n = kend - s0 < KB ? kend - s0 : KB;
    if (segments_disjoint(a, b, t0, nq, s0, n)) continue;
    /* scores (nq, n) = q (nq, hs) @ k^T (hs, n) */
    const int nvk = key_vectors(n);
    tile_xyt(nq, nvk, hs, qp, hsp, kt + s0, J->sp, sc, a->scale);
    for (int64_t i = 0; i < nq; i++) {
      float *s = sc + i * KB;
      mask_scores(a, b, t0 + i, s0, n, s);
      vf bmv = vload(s);
      for (int u = 1; u < nvk; u++) bmv = vmax(bmv, vload(s + u * VW));
      const float bm = vhmax(bmv);
      if (bm == -INFINITY) {
        memset(s, 0, sizeof(float) * KB);
        continue;
      }
      if (bm > m[i]) {
        float corr = expf(m[i] - bm);
        l[i] *= corr;
        for (int64_t d = 0; d < hsp; d++) acc[i * hsp + d] *= corr;
        m[i] = bm;
      }
      vf ls = {0};
      for (int u = 0; u < nvk; u++) {
        vf p = vexp(vload(s + u * VW) - m[i]);
        vstore(s + u * VW, p);
        ls += p;
      }
      l[i] += vhsum(ls);
    }
    /* acc (nq, hsp) += p (nq, n) @ v (n, hsp) */
    const float *v = a->v + ((b * S + s0) * nkv + kh) * hs;
    if (aligned) {
      tile_pv(nq, n, hsp, sc, KB, v, nkv * hs, acc, hsp);
    } else {
      load_keys(a, a->v, b, kh, s0, n, hsp, NULL, vp);
      tile_pv(nq, n, hsp, sc, KB, vp, hsp, acc, hsp);
    }
  }
  for (int64_t i = 0; i < nq; i++) {
    const int64_t t = t0 + i;
    float *o = J->out + ((b * T + t) * nh + h) * hs;
    float *L = J->lse + (b * nh + h) * T + t;
    if (l[i] == 0.0f) {
      memset(o, 0, sizeof(float) * hs);
      *L = -INFINITY;
    } else {
      float inv = 1.0f / l[i];
      for (int64_t d = 0; d < hs; d++) o[d] = acc[i * hsp + d] * inv;
      *L = m[i] + logf(l[i]);
    }
  }
}

/* units per task: enough tasks to balance the pool, few enough that each amortises its scratch
 * (a 16-patch ViT has B x heads single-block units of a few microseconds each) */
static int64_t units_per_task(int64_t units) {
  int64_t tasks = 16 * (int64_t)vn_pool_threads();
  return units > tasks ? (units + tasks - 1) / tasks : 1;
}

static void attention_task(void *ctx, int64_t task) {
  const attn_job *J = ctx;
  const int64_t hsp = J->hsp, u0 = task * J->per, u1 = u0 + J->per < J->units ? u0 + J->per : J->units;
  float *buf = vn_alloc(sizeof(float) * (size_t)((hsp == J->a->hs ? 0 : KB * hsp) + 2 * QB * hsp + QB * KB + 2 * QB));
  if (!buf) return;
  for (int64_t u = u0; u < u1; u++) attention_unit(J, u, buf);
  free(buf);
}

static int64_t padded_hs(int64_t hs) { return (hs + VW - 1) / VW * VW; }

static void attention(const vn_attn_args *a, float *out, float *lse) {
  attn_job J = {.a = a, .out = out, .lse = lse, .qblocks = (a->T + QB - 1) / QB, .hsp = padded_hs(a->hs)};
  J.sp = (a->S + VW - 1) / VW * VW;
  J.kt_all = vn_alloc(sizeof(float) * (size_t)(a->B * a->nkv * a->hs * J.sp + 1));
  if (!J.kt_all) return;
  J.units = a->B * a->nh * J.qblocks;
  double work = (double)a->B * a->nh * a->T * a->S * a->hs;
  if (vn_pool_threads() > 1 && work > 1e5) {
    J.per = units_per_task(J.units);
    vn_parallel_for(a->B * a->nkv, transpose_k_task, &J);
    vn_parallel_for((J.units + J.per - 1) / J.per, attention_task, &J);
  } else {
    J.per = J.units;
    for (int64_t t = 0; t < a->B * a->nkv; t++) transpose_k_task(&J, t);
    attention_task(&J, 0);
  }
  free(J.kt_all);
}

/* rows of (B, T, nh, hs) for head h copied to (T, hsp), zero padded */
static void load_rows(const vn_attn_args *a, const float *src, int64_t b, int64_t h, int64_t hsp, float *dst) {
  for (int64_t t = 0; t < a->T; t++) {
    memcpy(dst + t * hsp, src + ((b * a->T + t) * a->nh + h) * a->hs, sizeof(float) * a->hs);
    memset(dst + t * hsp + a->hs, 0, sizeof(float) * (hsp - a->hs));
  }
}

/* scratch floats of one backward unit: per head (q, gOut, gq rows and D) plus per key block */
static size_t backward_scratch(const vn_attn_args *a, int64_t hsp) {
  return (size_t)(3 * a->T * hsp + a->T) + (size_t)(2 * a->hs * KB + 4 * KB * hsp + 3 * QB * KB + KB * QB) + 16;
}

/* one (b, kv head) of the backward, in the scratch `buf` (attention_backward_task) */
static void attention_backward_unit(const attn_job *J, int64_t unit, float *buf) {
  const vn_attn_args *a = J->a;
  const int64_t T = a->T, S = a->S, nh = a->nh, nkv = a->nkv, hs = a->hs, hsp = J->hsp, group = nh / nkv;
  const int64_t b = unit / nkv, kh = unit % nkv;
  float *qp = buf, *gop = qp + T * hsp, *gqp = gop + T * hsp, *D = gqp + T * hsp;
  float *kt = D + T, *vt = kt + hs * KB, *kp = vt + hs * KB, *vp = kp + KB * hsp, *gkb = vp + KB * hsp,
        *gvb = gkb + KB * hsp, *P = gvb + KB * hsp, *dP = P + QB * KB, *dS = dP + QB * KB, *Tt = dS + QB * KB;
  for (int64_t s = 0; s < S; s++) {
    memset(J->gk + ((b * S + s) * nkv + kh) * hs, 0, sizeof(float) * hs);
    memset(J->gv + ((b * S + s) * nkv + kh) * hs, 0, sizeof(float) * hs);
  }
  for (int64_t h = kh * group; h < (kh + 1) * group; h++) {
    load_rows(a, a->q, b, h, hsp, qp);
    load_rows(a, J->gout, b, h, hsp, gop);
    memset(gqp, 0, sizeof(float) * T * hsp);
    for (int64_t t = 0; t < T; t++) {
      const int64_t o = ((b * T + t) * nh + h) * hs;
      D[t] = vdot(J->gout + o, J->o_in + o, hs);
    }
    for (int64_t s0 = 0; s0 < S; s0 += KB) {
      const int64_t n = S - s0 < KB ? S - s0 : KB;
      const int nvk = key_vectors(n);
      load_keys(a, a->k, b, kh, s0, n, hsp, kt, kp);
      load_keys(a, a->v, b, kh, s0, n, hsp, vt, vp);
      memset(gkb, 0, sizeof(float) * 2 * KB * hsp);
      /* first query that sees key s0 under the causal limit: t + S - T >= s0 */
      int64_t tfirst = a->causal ? s0 - (S - T) : 0;
      if (tfirst < 0) tfirst = 0;
      for (int64_t t0 = tfirst / QB * QB; t0 < T; t0 += QB) {
        const int64_t nq = T - t0 < QB ? T - t0 : QB;
        if (segments_disjoint(a, b, t0, nq, s0, n)) continue;
        tile_xyt(nq, nvk, hs, qp + t0 * hsp, hsp, kt, KB, P, a->scale);
        tile_xyt(nq, nvk, hs, gop + t0 * hsp, hsp, vt, KB, dP, 1.0f);
        int any = 0;
        for (int64_t i = 0; i < nq; i++) {
          const int64_t t = t0 + i;
          float *p = P + i * KB, *dp = dP + i * KB, *ds = dS + i * KB;
          const float L = J->lse_in[(b * nh + h) * T + t];
          if (L == -INFINITY) {
            memset(p, 0, sizeof(float) * KB);
            memset(ds, 0, sizeof(float) * KB);
            continue;
          }
          mask_scores(a, b, t, s0, n, p);
          for (int u = 0; u < nvk; u++) {
            vf pv = vexp(vload(p + u * VW) - L);
            vstore(p + u * VW, pv);
            vstore(ds + u * VW, pv * (vload(dp + u * VW) - D[t]) * a->scale);
          }
          any = 1;
        }
        if (!any) continue;
        /* gq (nq, hsp) += dS (nq, KB) @ k (KB, hsp) */
        tile_pv(nq, n, hsp, dS, KB, kp, hsp, gqp + t0 * hsp, hsp);
        /* gk (KB, hsp) += dS^T (KB, nq) @ q (nq, hsp);  gv += P^T @ gOut */
        for (int64_t i = 0; i < nq; i++)
          for (int64_t j = 0; j < n; j++) Tt[j * QB + i] = dS[i * KB + j];
        tile_pv(n, nq, hsp, Tt, QB, qp + t0 * hsp, hsp, gkb, hsp);
        for (int64_t i = 0; i < nq; i++)
          for (int64_t j = 0; j < n; j++) Tt[j * QB + i] = P[i * KB + j];
        tile_pv(n, nq, hsp, Tt, QB, gop + t0 * hsp, hsp, gvb, hsp);
      }
      for (int64_t j = 0; j < n; j++) {
        const int64_t o = ((b * S + s0 + j) * nkv + kh) * hs;
        for (int64_t d = 0; d < hs; d++) {
          J->gk[o + d] += gkb[j * hsp + d];
          J->gv[o + d] += gvb[j * hsp + d];
        }
      }
    }
    for (int64_t t = 0; t < T; t++) memcpy(J->gq + ((b * T + t) * nh + h) * hs, gqp + t * hsp, sizeof(float) * hs);
  }
}

static void attention_backward_task(void *ctx, int64_t task) {
  const attn_job *J = ctx;
  const int64_t u0 = task * J->per, u1 = u0 + J->per < J->units ? u0 + J->per : J->units;
  float *buf = vn_alloc(sizeof(float) * backward_scratch(J->a, J->hsp));
  if (!buf) return;
  for (int64_t u = u0; u < u1; u++) attention_backward_unit(J, u, buf);
  free(buf);
}

static void attention_backward(const vn_attn_args *a, const float *out, const float *lse, const float *gout,
                               float *gq, float *gk, float *gv) {
  attn_job J = {.a = a, .o_in = out, .lse_in = lse, .gout = gout, .gq = gq, .gk = gk, .gv = gv, .hsp = padded_hs(a->hs)};
  J.units = a->B * a->nkv;
  double work = (double)a->B * a->nh * a->T * a->S * a->hs;
  if (vn_pool_threads() > 1 && work > 1e5) {
    J.per = units_per_task(J.units);
    vn_parallel_for((J.units + J.per - 1) / J.per, attention_backward_task, &J);
  } else {
    J.per = J.units;
    attention_backward_task(&J, 0);
  }
}
