/* Row-wise neural-network kernels for one ISA: softmax / log-softmax (+ backward), LayerNorm and
 * RMSNorm (+ backward), rotary embedding, fused cross-entropy (+ backward).
 * Contract and reference: src/backend/js/nn.ts (same names, same formulas). Row sums are kept in
 * float vector accumulators (the reference uses float64; the difference is a few ulp). Rows are
 * split over the thread pool; the weight gradients of the norms are summed per chunk and then
 * added in chunk order, so results do not depend on scheduling. Included by kernels.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "vn.h"

typedef struct {
  const float *x, *y, *gy, *w, *b, *mean, *rstd, *cos, *sin;
  const int32_t *idx;
  float *out, *o2, *o3, *partial;
  int64_t rows, cols, chunk, B, T, nh;
  float eps, scale;
  int32_t ignore;
  int flag;
} nn_ctx;

#define ROW_GRAIN (1 << 14)

/* rows per task so that each task has at least ROW_GRAIN elements */
static void parallel_rows(int64_t rows, int64_t cols, range_fn fn, const void *c) {
  int64_t grain = ROW_GRAIN / (cols > 0 ? cols : 1);
  parallel_range(rows, grain > 1 ? grain : 1, fn, c);
}

static float row_max(const float *x, int64_t n) {
  vf m = vset1(-INFINITY);
  int64_t i = 0;
  for (; i + VW <= n; i += VW) m = vmax(m, vload(x + i));
  float r = vhmax(m);
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

/* out[i] = exp(x[i] - m), returns the sum */
static float row_exp_sum(const float *x, float m, float *out, int64_t n) {
  vf s = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) {
    vf e = vexp(vload(x + i) - m);
    if (out) vstore(out + i, e);
    s += e;
  }
  float r = vhsum(s);
  if (i < n) {
    float tb[VW];
    for (int j = 0; j < VW; j++) tb[j] = i + j < n ? x[i + j] - m : -INFINITY;
    vf e = vexp(vload(tb));
    r += vhsum(e);
    if (out) memcpy(out + i, &e, sizeof(float) * (n - i));
  }
  return r;
}

static float row_sum(const float *x, int64_t n) {
  vf s = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) s += vload(x + i);
  float r = vhsum(s);
  for (; i < n; i++) r += x[i];
  return r;
}

/* ---------------------------------------------------------------------------------------------
 * softmax family */

static void softmax_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n;
    float *o = c->out + r * n;
    float m = row_max(x, n);
    if (m == -INFINITY) {
      memset(o, 0, sizeof(float) * n);
      continue;
    }
    float inv = 1.0f / row_exp_sum(x, m, o, n);
    for (int64_t i = 0; i < n; i++) o[i] *= inv;
  }
}
static void softmax(const float *x, int64_t rows, int64_t cols, float *out) {
  nn_ctx c = {.x = x, .out = out, .cols = cols};
  parallel_rows(rows, cols, softmax_range, &c);
}

static void softmax_backward_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *y = c->y + r * n, *gy = c->gy + r * n;
    float *gx = c->out + r * n;
    float dot = vdot(gy, y, n);
    for (int64_t i = 0; i < n; i++) gx[i] = y[i] * (gy[i] - dot);
  }
}
static void softmax_backward(const float *y, const float *gy, int64_t rows, int64_t cols, float *gx) {
  nn_ctx c = {.y = y, .gy = gy, .out = gx, .cols = cols};
  parallel_rows(rows, cols, softmax_backward_range, &c);
}

static void log_softmax_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n;
    float *o = c->out + r * n;
    float m = row_max(x, n);
    float lse = m + logf(row_exp_sum(x, m, NULL, n));
    for (int64_t i = 0; i < n; i++) o[i] = x[i] - lse;
  }
}
static void log_softmax(const float *x, int64_t rows, int64_t cols, float *out) {
  nn_ctx c = {.x = x, .out = out, .cols = cols};
  parallel_rows(rows, cols, log_softmax_range, &c);
}

static void log_softmax_backward_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *y = c->y + r * n, *gy = c->gy + r * n;
    float *gx = c->out + r * n;
    float s = row_sum(gy, n);
    VN_MAP1(n, y, gx, vexp(v));
    for (int64_t i = 0; i < n; i++) gx[i] = gy[i] - gx[i] * s;
  }
}
static void log_softmax_backward(const float *y, const float *gy, int64_t rows, int64_t cols, float *gx) {
  nn_ctx c = {.y = y, .gy = gy, .out = gx, .cols = cols};
  if (gx == gy) {
    /* gx aliases gy: the exp pass would overwrite gy before it is read */
    float *tmp = malloc(sizeof(float) * (size_t)(rows * cols > 0 ? rows * cols : 1));
    if (tmp) {
      memcpy(tmp, gy, sizeof(float) * rows * cols);
      c.gy = tmp;
      parallel_rows(rows, cols, log_softmax_backward_range, &c);
      free(tmp);
      return;
    }
  }
  parallel_rows(rows, cols, log_softmax_backward_range, &c);
}

/* ---------------------------------------------------------------------------------------------
 * LayerNorm and RMSNorm */

static void layer_norm_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n;
    float *o = c->out + r * n;
    float m = row_sum(x, n) / (float)n;
    vf vs = {0};
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
      vf d = vload(x + i) - m;
      vs += d * d;
    }
    float v = vhsum(vs);
    for (; i < n; i++) v += (x[i] - m) * (x[i] - m);
    float s = 1.0f / sqrtf(v / (float)n + c->eps);
    const float *w = c->w, *b = c->b;
    for (i = 0; i < n; i++) {
      float t = (x[i] - m) * s;
      o[i] = t * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
    }
    c->o2[r] = m;
    c->o3[r] = s;
  }
}
static void layer_norm(const float *x, const float *w, const float *b, int64_t rows, int64_t cols, float eps,
                       float *out, float *mean, float *rstd) {
  nn_ctx c = {.x = x, .w = w, .b = b, .out = out, .o2 = mean, .o3 = rstd, .cols = cols, .eps = eps};
  parallel_rows(rows, cols, layer_norm_range, &c);
}

/* weight-gradient accumulation: task t owns partial + t * 2 * cols (gw then gb) */
typedef struct {
  const nn_ctx *c;
  int64_t chunk;
  range_fn fn;
} wgrad_job;

static void wgrad_task(void *ctx, int64_t t) {
  const wgrad_job *j = ctx;
  int64_t r0 = t * j->chunk, r1 = r0 + j->chunk < j->c->rows ? r0 + j->chunk : j->c->rows;
  nn_ctx local = *j->c;
  local.partial = j->c->partial + t * 2 * j->c->cols;
  if (r0 < r1) j->fn(&local, r0, r1);
}

/* run fn over row chunks with private gw / gb partial sums, then add them into gw, gb */
static void rows_with_wgrad(nn_ctx *c, range_fn fn, float *gw, float *gb) {
  const int64_t rows = c->rows, cols = c->cols;
  int th = vn_pool_threads();
  int64_t tasks = rows * cols >= 2 * ROW_GRAIN && th > 1 ? th : 1;
  if (tasks > rows) tasks = rows > 0 ? rows : 1;
  c->partial = calloc((size_t)(tasks * 2 * cols > 0 ? tasks * 2 * cols : 1), sizeof(float));
  if (!c->partial) return;
  wgrad_job j = {c, (rows + tasks - 1) / tasks, fn};
  vn_parallel_for(tasks, wgrad_task, &j);
  for (int64_t t = 0; t < tasks; t++) {
    const float *p = c->partial + t * 2 * cols;
    if (gw)
      for (int64_t i = 0; i < cols; i++) gw[i] += p[i];
    if (gb)
      for (int64_t i = 0; i < cols; i++) gb[i] += p[cols + i];
  }
  free(c->partial);
}

static void layer_norm_backward_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  const float *w = c->w;
  float *pgw = c->partial, *pgb = c->partial + n;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n, *gy = c->gy + r * n;
    float *gx = c->out + r * n;
    const float m = c->mean[r], s = c->rstd[r];
    vf va = {0}, vb = {0};
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
      vf t = (vload(x + i) - m) * s, dn = w ? vload(gy + i) * vload(w + i) : vload(gy + i);
      va += dn;
      vb += dn * t;
    }
    float dn_mean = vhsum(va), dnn_mean = vhsum(vb);
    for (; i < n; i++) {
      float t = (x[i] - m) * s, dn = gy[i] * (w ? w[i] : 1.0f);
      dn_mean += dn;
      dnn_mean += dn * t;
    }
    dn_mean /= (float)n;
    dnn_mean /= (float)n;
    for (i = 0; i < n; i++) {
      float t = (x[i] - m) * s, g = gy[i], dn = g * (w ? w[i] : 1.0f);
      pgw[i] += g * t;
      pgb[i] += g;
      gx[i] = s * (dn - dn_mean - t * dnn_mean);
    }
  }
}
static void layer_norm_backward(const float *x, const float *w, const float *mean, const float *rstd, const float *gy,
                                int64_t rows, int64_t cols, float *gx, float *gw, float *gb) {
  nn_ctx c = {.x = x, .w = w, .mean = mean, .rstd = rstd, .gy = gy, .out = gx, .rows = rows, .cols = cols};
  rows_with_wgrad(&c, layer_norm_backward_range, gw, gb);
}

static void rms_norm_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n;
    float *o = c->out + r * n;
    float s = 1.0f / sqrtf(vdot(x, x, n) / (float)n + c->eps);
    const float *w = c->w;
    if (w)
      for (int64_t i = 0; i < n; i++) o[i] = (x[i] * s) * w[i];
    else
      for (int64_t i = 0; i < n; i++) o[i] = x[i] * s;
    c->o3[r] = s;
  }
}
static void rms_norm(const float *x, const float *w, int64_t rows, int64_t cols, float eps, float *out, float *rstd) {
  nn_ctx c = {.x = x, .w = w, .out = out, .o3 = rstd, .cols = cols, .eps = eps};
  parallel_rows(rows, cols, rms_norm_range, &c);
}

static void rms_norm_backward_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t n = c->cols;
  const float *w = c->w;
  float *pgw = c->partial;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * n, *gy = c->gy + r * n;
    float *gx = c->out + r * n;
    const float s = c->rstd[r];
    float dot = 0.0f;
    if (w) {
      vf acc = {0};
      int64_t i = 0;
      for (; i + VW <= n; i += VW) acc += vload(gy + i) * vload(w + i) * vload(x + i);
      dot = vhsum(acc);
      for (; i < n; i++) dot += gy[i] * w[i] * x[i];
    } else {
      dot = vdot(gy, x, n);
    }
    float k = (s * s * s * dot) / (float)n;
    for (int64_t i = 0; i < n; i++) {
      float g = gy[i];
      pgw[i] += g * x[i] * s;
      gx[i] = s * g * (w ? w[i] : 1.0f) - x[i] * k;
    }
  }
}
static void rms_norm_backward(const float *x, const float *w, const float *rstd, const float *gy, int64_t rows,
                              int64_t cols, float *gx, float *gw) {
  nn_ctx c = {.x = x, .w = w, .rstd = rstd, .gy = gy, .out = gx, .rows = rows, .cols = cols};
  rows_with_wgrad(&c, rms_norm_backward_range, gw, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * rotary embedding (rotate-half): x (B, T, nh, hs), cos / sin (maxPos, hs / 2), pos (B, T) */

static void rope_range(const void *cv, int64_t bt0, int64_t bt1) {
  const nn_ctx *c = cv;
  const int64_t nh = c->nh, hs = c->cols, half = hs / 2;
  const float sgn = c->flag ? -1.0f : 1.0f;
  for (int64_t bt = bt0; bt < bt1; bt++) {
    const float *cs = c->cos + (int64_t)c->idx[bt] * half, *sn = c->sin + (int64_t)c->idx[bt] * half;
    for (int64_t h = 0; h < nh; h++) {
      const float *x = c->x + (bt * nh + h) * hs;
      float *o = c->out + (bt * nh + h) * hs;
      for (int64_t i = 0; i < half; i++) {
        float co = cs[i], si = sgn * sn[i], x1 = x[i], x2 = x[i + half];
        o[i] = x1 * co - x2 * si;
        o[i + half] = x2 * co + x1 * si;
      }
    }
  }
}
static void rope(const float *x, int64_t B, int64_t T, int64_t nh, int64_t hs, const float *cos, const float *sin,
                 const int32_t *pos, int inverse, float *out) {
  nn_ctx c = {.x = x, .cos = cos, .sin = sin, .idx = pos, .out = out, .nh = nh, .cols = hs, .flag = inverse};
  parallel_rows(B * T, nh * hs, rope_range, &c);
}

/* ---------------------------------------------------------------------------------------------
 * fused cross-entropy: logits (rows, V), targets (rows) */

static void cross_entropy_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t V = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * V;
    float m = row_max(x, V);
    float L = m + logf(row_exp_sum(x, m, NULL, V));
    int32_t t = c->idx[r];
    c->o3[r] = L;
    c->out[r] = t == c->ignore ? 0.0f : L - x[t];
  }
}
static void cross_entropy(const float *logits, const int32_t *targets, int64_t rows, int64_t V, int32_t ignore,
                          float *losses, float *lse) {
  nn_ctx c = {.x = logits, .idx = targets, .out = losses, .o3 = lse, .cols = V, .ignore = ignore};
  parallel_rows(rows, V, cross_entropy_range, &c);
}

static void cross_entropy_backward_range(const void *cv, int64_t r0, int64_t r1) {
  const nn_ctx *c = cv;
  const int64_t V = c->cols;
  const float scale = c->scale;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * V;
    float *g = c->out + r * V;
    int32_t t = c->idx[r];
    if (t == c->ignore) {
      memset(g, 0, sizeof(float) * V);
      continue;
    }
    const float L = c->rstd[r];
    VN_MAP1(V, x, g, scale * vexp(v - L));
    g[t] -= scale;
  }
}
static void cross_entropy_backward(const float *logits, const int32_t *targets, const float *lse, int64_t rows,
                                   int64_t V, int32_t ignore, float scale, float *glogits) {
  nn_ctx c = {.x = logits, .idx = targets, .rstd = lse, .out = glogits, .cols = V, .ignore = ignore, .scale = scale};
  parallel_rows(rows, V, cross_entropy_backward_range, &c);
}
