/* Node-API glue for the row-wise, transformer, optimiser and dtype kernels (see addon.c for the
 * conventions). Checks mirror src/backend/js/nn.ts and core.ts, plus the array-length checks
 * that the reference leaves to JS bounds semantics but native code must not skip. */
#include "addon.h"

#if defined(__GLIBC__)
#include <malloc.h>
/* Every tensor is a fresh ArrayBuffer (calloc'd by Node); a training step allocates and frees the
 * same few sizes over and over. glibc serves blocks above its mmap threshold (128 KB, growing) with
 * fresh mmaps, so each activation buffer costs page faults and kernel zeroing on first touch. With
 * blocks up to 32 MB kept in the heap and freed memory not returned to the OS below 256 MB, freed
 * buffers are reused instead (calloc still zeroes them). Larger blocks (weights) are still mmapped. */
__attribute__((constructor)) static void vn_tune_malloc(void) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
#endif

#define BEGIN(name, n) \
  call c;              \
  if (!begin(env, info, &c, name, n)) return NULL

/* the (rows, cols) kernels with one input, one optional second input and one output */
napi_value js_softmax(napi_env env, napi_callback_info info) {
  BEGIN("softmax", 4);
  int64_t nx, no, rows = COUNT(1, "rows"), cols = COUNT(2, "cols");
  float *x = F32(0, "x", &nx), *out = F32(3, "out", &no);
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(no, rows * cols, "out")) return NULL;
  c.K->softmax(x, rows, cols, out);
  return undefined(env);
}

napi_value js_log_softmax(napi_env env, napi_callback_info info) {
  BEGIN("logSoftmax", 4);
  int64_t nx, no, rows = COUNT(1, "rows"), cols = COUNT(2, "cols");
  float *x = F32(0, "x", &nx), *out = F32(3, "out", &no);
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(no, rows * cols, "out")) return NULL;
  c.K->log_softmax(x, rows, cols, out);
  return undefined(env);
}

napi_value js_softmax_backward(napi_env env, napi_callback_info info) {
  BEGIN("softmaxBackward", 5);
  int64_t ny, ng, no, rows = COUNT(2, "rows"), cols = COUNT(3, "cols");
  float *y = F32(0, "y", &ny), *gy = F32(1, "gy", &ng), *gx = F32(4, "gx", &no);
  if (!LEN_AT_LEAST(ny, rows * cols, "y") || !LEN_AT_LEAST(ng, rows * cols, "gy") || !LEN_AT_LEAST(no, rows * cols, "gx"))
    return NULL;
  c.K->softmax_backward(y, gy, rows, cols, gx);
  return undefined(env);
}

napi_value js_log_softmax_backward(napi_env env, napi_callback_info info) {
  BEGIN("logSoftmaxBackward", 5);
  int64_t ny, ng, no, rows = COUNT(2, "rows"), cols = COUNT(3, "cols");
  float *y = F32(0, "y", &ny), *gy = F32(1, "gy", &ng), *gx = F32(4, "gx", &no);
  if (!LEN_AT_LEAST(ny, rows * cols, "y") || !LEN_AT_LEAST(ng, rows * cols, "gy") || !LEN_AT_LEAST(no, rows * cols, "gx"))
    return NULL;
  c.K->log_softmax_backward(y, gy, rows, cols, gx);
  return undefined(env);
}

/* layerNorm(x, w, b, rows, cols, eps, out, mean, rstd) */
napi_value js_layer_norm(napi_env env, napi_callback_info info) {
  BEGIN("layerNorm", 9);
  int64_t nx, nw, nb, no, nm, nr, rows = COUNT(3, "rows"), cols = COUNT(4, "cols");
  float *x = F32(0, "x", &nx), *w = F32N(1, "w", &nw), *b = F32N(2, "b", &nb);
  float eps = (float)num(&c, 5, "eps");
  float *out = F32(6, "out", &no), *mean = F32(7, "mean", &nm), *rstd = F32(8, "rstd", &nr);
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(no, rows * cols, "out") || (w && !LEN_AT_LEAST(nw, cols, "w")) ||
      (b && !LEN_AT_LEAST(nb, cols, "b")) || !LEN_AT_LEAST(nm, rows, "mean") || !LEN_AT_LEAST(nr, rows, "rstd"))
    return NULL;
  c.K->layer_norm(x, w, b, rows, cols, eps, out, mean, rstd);
  return undefined(env);
}

/* layerNormBackward(x, w, mean, rstd, gy, rows, cols, gx, gw, gb) */
napi_value js_layer_norm_backward(napi_env env, napi_callback_info info) {
  BEGIN("layerNormBackward", 10);
  int64_t nx, nw, nm, nr, ng, nox, ngw, ngb, rows = COUNT(5, "rows"), cols = COUNT(6, "cols");
  float *x = F32(0, "x", &nx), *w = F32N(1, "w", &nw), *mean = F32(2, "mean", &nm), *rstd = F32(3, "rstd", &nr);
  float *gy = F32(4, "gy", &ng), *gx = F32(7, "gx", &nox), *gw = F32N(8, "gw", &ngw), *gb = F32N(9, "gb", &ngb);
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(ng, rows * cols, "gy") || !LEN_AT_LEAST(nox, rows * cols, "gx") ||
      (w && !LEN_AT_LEAST(nw, cols, "w")) || !LEN_AT_LEAST(nm, rows, "mean") || !LEN_AT_LEAST(nr, rows, "rstd") ||
      (gw && !LEN_AT_LEAST(ngw, cols, "gw")) || (gb && !LEN_AT_LEAST(ngb, cols, "gb")))
    return NULL;
  c.K->layer_norm_backward(x, w, mean, rstd, gy, rows, cols, gx, gw, gb);
  return undefined(env);
}

/* rmsNorm(x, w, rows, cols, eps, out, rstd) */
napi_value js_rms_norm(napi_env env, napi_callback_info info) {
  BEGIN("rmsNorm", 7);
  int64_t nx, nw, no, nr, rows = COUNT(2, "rows"), cols = COUNT(3, "cols");
  float *x = F32(0, "x", &nx), *w = F32N(1, "w", &nw), *out = F32(5, "out", &no), *rstd = F32(6, "rstd", &nr);
  float eps = (float)num(&c, 4, "eps");
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(no, rows * cols, "out") || (w && !LEN_AT_LEAST(nw, cols, "w")) ||
      !LEN_AT_LEAST(nr, rows, "rstd"))
    return NULL;
  c.K->rms_norm(x, w, rows, cols, eps, out, rstd);
  return undefined(env);
}

/* rmsNormBackward(x, w, rstd, gy, rows, cols, gx, gw) */
napi_value js_rms_norm_backward(napi_env env, napi_callback_info info) {
  BEGIN("rmsNormBackward", 8);
  int64_t nx, nw, nr, ng, nox, ngw, rows = COUNT(4, "rows"), cols = COUNT(5, "cols");
  float *x = F32(0, "x", &nx), *w = F32N(1, "w", &nw), *rstd = F32(2, "rstd", &nr), *gy = F32(3, "gy", &ng);
  float *gx = F32(6, "gx", &nox), *gw = F32N(7, "gw", &ngw);
  if (!LEN_AT_LEAST(nx, rows * cols, "x") || !LEN_AT_LEAST(ng, rows * cols, "gy") || !LEN_AT_LEAST(nox, rows * cols, "gx") ||
      (w && !LEN_AT_LEAST(nw, cols, "w")) || !LEN_AT_LEAST(nr, rows, "rstd") || (gw && !LEN_AT_LEAST(ngw, cols, "gw")))
    return NULL;
  c.K->rms_norm_backward(x, w, rstd, gy, rows, cols, gx, gw);
  return undefined(env);
}

/* rope(x, B, T, nh, hs, cos, sin, pos, inverse, out) */
napi_value js_rope(napi_env env, napi_callback_info info) {
  BEGIN("rope", 10);
  int64_t nx, nc, ns, np, no;
  int64_t B = COUNT(1, "B"), T = COUNT(2, "T"), nh = COUNT(3, "nh"), hs = COUNT(4, "hs");
  float *x = F32(0, "x", &nx), *cs = F32(5, "cos", &nc), *sn = F32(6, "sin", &ns), *out = F32(9, "out", &no);
  int32_t *pos = I32(7, "pos", &np);
  double inv = num(&c, 8, "inverse");
  if (c.failed || !NEED(hs % 2 == 0 && hs > 0, "rope: head size %lld must be even", (long long)hs)) return NULL;
  const int64_t half = hs / 2, maxPos = nc / half, n = B * T * nh * hs;
  if (!LEN_AT_LEAST(nx, n, "x") || !LEN_AT_LEAST(no, n, "out") || !LEN_AT_LEAST(np, B * T, "pos") ||
      !LEN_AT_LEAST(ns, maxPos * half, "sin"))
    return NULL;
  for (int64_t bt = 0; bt < B * T; bt++)
    if (!NEED(pos[bt] >= 0 && pos[bt] < maxPos, "rope: position %d at (b, t) = (%lld, %lld) is outside the cache [0, %lld)",
              pos[bt], (long long)(bt / T), (long long)(bt % T), (long long)maxPos))
      return NULL;
  c.K->rope(x, B, T, nh, hs, cs, sn, pos, inv != 0, out);
  return undefined(env);
}

/* attention args: (q, k, v, keyPadding, segments, p = [B, T, S, nh, nkv, hs, scale, causal]) */
static int attention_args(call *cp, vn_attn_args *a) {
  call c = *cp;
  int64_t nq, nk, nv, nkp, nseg, np;
  a->q = F32(0, "q", &nq);
  a->k = F32(1, "k", &nk);
  a->v = F32(2, "v", &nv);
  a->keyPadding = I32N(3, "keyPadding", &nkp);
  a->segments = I32N(4, "segments", &nseg);
  double *p = F64(5, "params", &np);
  if (c.failed || !NEED(np >= 8, "params needs 8 entries")) goto out;
  a->B = count(&c, p[0], "B");
  a->T = count(&c, p[1], "T");
  a->S = count(&c, p[2], "S");
  a->nh = count(&c, p[3], "nh");
  a->nkv = count(&c, p[4], "nkv");
  a->hs = count(&c, p[5], "hs");
  a->scale = (float)p[6];
  a->causal = p[7] != 0;
  if (c.failed) goto out;
  const int64_t B = a->B, T = a->T, S = a->S, nh = a->nh, nkv = a->nkv, hs = a->hs;
  if (!NEED(nkv > 0 && nh % nkv == 0, "attention: nh %lld is not a multiple of nkv %lld", (long long)nh, (long long)nkv) ||
      !NEED(nq == B * T * nh * hs, "attention: q has %lld elements, expected (B, T, nh, hs) = (%lld, %lld, %lld, %lld)",
            (long long)nq, (long long)B, (long long)T, (long long)nh, (long long)hs) ||
      !NEED(nk == B * S * nkv * hs, "attention: k has %lld elements, expected (B, S, nkv, hs) = (%lld, %lld, %lld, %lld)",
            (long long)nk, (long long)B, (long long)S, (long long)nkv, (long long)hs) ||
      !NEED(nv == B * S * nkv * hs, "attention: v has %lld elements, expected (B, S, nkv, hs) = (%lld, %lld, %lld, %lld)",
            (long long)nv, (long long)B, (long long)S, (long long)nkv, (long long)hs) ||
      !NEED(!a->causal || S >= T, "attention: causal needs S >= T, got T %lld and S %lld", (long long)T, (long long)S) ||
      !NEED(!a->keyPadding || nkp == B * S, "attention: keyPadding has %lld elements, expected (B, S) = (%lld, %lld)",
            (long long)nkp, (long long)B, (long long)S))
    goto out;
  if (a->segments && (!NEED(T == S, "attention: segments need T == S, got T %lld and S %lld", (long long)T, (long long)S) ||
                      !NEED(nseg == B * T, "attention: segments has %lld elements, expected (B, T) = (%lld, %lld)",
                            (long long)nseg, (long long)B, (long long)T)))
    goto out;
out:
  cp->failed = c.failed;
  return !c.failed;
}

/* attention(q, k, v, keyPadding, segments, params, out, lse) */
napi_value js_attention(napi_env env, napi_callback_info info) {
  BEGIN("attention", 8);
  vn_attn_args a;
  if (!attention_args(&c, &a)) return NULL;
  int64_t no, nl;
  float *out = F32(6, "out", &no), *lse = F32(7, "lse", &nl);
  if (!LEN_AT_LEAST(no, a.B * a.T * a.nh * a.hs, "out") || !LEN_AT_LEAST(nl, a.B * a.nh * a.T, "lse")) return NULL;
  c.K->attention(&a, out, lse);
  return undefined(env);
}

/* attentionBackward(q, k, v, keyPadding, segments, params, out, lse, gOut, gq, gk, gv) */
napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  BEGIN("attentionBackward", 12);
  vn_attn_args a;
  if (!attention_args(&c, &a)) return NULL;
  int64_t no, nl, ngo, ngq, ngk, ngv;
  float *out = F32(6, "out", &no), *lse = F32(7, "lse", &nl), *gout = F32(8, "gOut", &ngo);
  float *gq = F32(9, "gq", &ngq), *gk = F32(10, "gk", &ngk), *gv = F32(11, "gv", &ngv);
  const int64_t nqe = a.B * a.T * a.nh * a.hs, nke = a.B * a.S * a.nkv * a.hs;
  if (!LEN_AT_LEAST(no, nqe, "out") || !LEN_AT_LEAST(nl, a.B * a.nh * a.T, "lse") || !LEN_AT_LEAST(ngo, nqe, "gOut") ||
      !LEN_AT_LEAST(ngq, nqe, "gq") || !LEN_AT_LEAST(ngk, nke, "gk") || !LEN_AT_LEAST(ngv, nke, "gv"))
    return NULL;
  c.K->attention_backward(&a, out, lse, gout, gq, gk, gv);
  return undefined(env);
}

/* decodeLayer(h, ln1, ln2, wq, wk, wv, wo, wg, wu, wd, bq, bk, bv, cos, sin, kCache, vCache, scratch, params)
 * with params = [C, F, nh, nkv, hs, past, capacity, eps, kind]; the seven weights are Float32Arrays
 * (kind 0) or Uint16Arrays of bf16 (kind 1) / f16 (kind 2) bits; the biases may be null */
napi_value js_decode_layer(napi_env env, napi_callback_info info) {
  BEGIN("decodeLayer", 19);
  int64_t np;
  double *p = F64(18, "params", &np);
  if (c.failed || !NEED(np >= 9, "params needs 9 entries")) return NULL;
  vn_decode_args a;
  a.C = count(&c, p[0], "C");
  a.F = count(&c, p[1], "F");
  a.nh = count(&c, p[2], "nh");
  a.nkv = count(&c, p[3], "nkv");
  a.hs = count(&c, p[4], "hs");
  a.past = count(&c, p[5], "past");
  int64_t cap = count(&c, p[6], "capacity"), kind = count(&c, p[8], "kind");
  a.eps = (float)p[7];
  if (c.failed) return NULL;
  const int64_t C = a.C, F = a.F, nh = a.nh, nkv = a.nkv, hs = a.hs;
  if (!NEED(C > 0 && F > 0 && nh > 0 && hs > 0 && hs % 2 == 0,
            "decodeLayer: C %lld, F %lld, nh %lld must be positive and hs %lld positive and even", (long long)C,
            (long long)F, (long long)nh, (long long)hs) ||
      !NEED(nkv > 0 && nh % nkv == 0, "decodeLayer: nh %lld is not a multiple of nkv %lld", (long long)nh, (long long)nkv) ||
      !NEED(a.past < cap, "decodeLayer: past %lld leaves no free row in a cache of capacity %lld", (long long)a.past,
            (long long)cap) ||
      !NEED(kind <= VN_HALF_F16, "decodeLayer: kind must be 0 (f32), 1 (bf16) or 2 (f16), got %lld", (long long)kind))
    return NULL;
  a.wkind = (int)kind;
  const int64_t qd = nh * hs, kd = nkv * hs;
  int64_t n[19];
  a.h = F32(0, "h", &n[0]);
  a.ln1 = F32(1, "inputNorm", &n[1]);
  a.ln2 = F32(2, "postNorm", &n[2]);
  const char *wname[7] = {"wq", "wk", "wv", "wo", "wgate", "wup", "wdown"};
  const int64_t wlen[7] = {qd * C, kd * C, kd * C, C * qd, F * C, F * C, C * F};
  const void *w[7];
  for (int i = 0; i < 7; i++) {
    w[i] = kind == VN_HALF_NONE ? (const void *)F32(3 + i, wname[i], &n[3 + i])
                                : (const void *)U16(3 + i, wname[i], &n[3 + i]);
    if (!c.failed) LEN_EQ(n[3 + i], wlen[i], wname[i]);
  }
  a.wq = w[0], a.wk = w[1], a.wv = w[2], a.wo = w[3], a.wg = w[4], a.wu = w[5], a.wd = w[6];
  a.bq = F32N(10, "bq", &n[10]);
  a.bk = F32N(11, "bk", &n[11]);
  a.bv = F32N(12, "bv", &n[12]);
  a.cos = F32(13, "cos", &n[13]);
  a.sin = F32(14, "sin", &n[14]);
  a.kc = F32(15, "kCache", &n[15]);
  a.vc = F32(16, "vCache", &n[16]);
  a.scratch = F32(17, "scratch", &n[17]);
  if (c.failed || !LEN_EQ(n[0], C, "h") || !LEN_EQ(n[1], C, "inputNorm") || !LEN_EQ(n[2], C, "postNorm") ||
      (a.bq && !LEN_EQ(n[10], qd, "bq")) || (a.bk && !LEN_EQ(n[11], kd, "bk")) || (a.bv && !LEN_EQ(n[12], kd, "bv")) ||
      !LEN_EQ(n[13], hs / 2, "cos") || !LEN_EQ(n[14], hs / 2, "sin") || !LEN_AT_LEAST(n[15], cap * kd, "kCache") ||
      !LEN_AT_LEAST(n[16], cap * kd, "vCache") || !LEN_AT_LEAST(n[17], C + 2 * qd + F, "scratch"))
    return NULL;
  c.K->decode_layer(&a);
  return undefined(env);
}

static int check_targets(call *cp, const int32_t *t, int64_t rows, int64_t V, int32_t ignore) {
  call c = *cp;
  for (int64_t r = 0; r < rows; r++)
    if (!NEED(t[r] == ignore || (t[r] >= 0 && t[r] < V),
              "crossEntropy: target %d at row %lld is outside [0, %lld) and is not the ignore index %d", t[r], (long long)r,
              (long long)V, ignore))
      break;
  cp->failed = c.failed;
  return !c.failed;
}

/* crossEntropy(logits, targets, rows, V, ignoreIndex, losses, lse) */
napi_value js_cross_entropy(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropy", 7);
  int64_t nx, nt, nl, ns, rows = COUNT(2, "rows"), V = COUNT(3, "V");
  float *logits = F32(0, "logits", &nx), *losses = F32(5, "losses", &nl), *lse = F32(6, "lse", &ns);
  int32_t *targets = I32(1, "targets", &nt);
  int32_t ignore = (int32_t)num(&c, 4, "ignoreIndex");
  if (!LEN_AT_LEAST(nx, rows * V, "logits") || !LEN_AT_LEAST(nt, rows, "targets") || !LEN_AT_LEAST(nl, rows, "losses") ||
      !LEN_AT_LEAST(ns, rows, "lse") || !check_targets(&c, targets, rows, V, ignore))
    return NULL;
  c.K->cross_entropy(logits, targets, rows, V, ignore, losses, lse);
  return undefined(env);
}

/* crossEntropyBackward(logits, targets, lse, rows, V, ignoreIndex, scale, glogits) */
napi_value js_cross_entropy_backward(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropyBackward", 8);
  int64_t nx, nt, ns, ng, rows = COUNT(3, "rows"), V = COUNT(4, "V");
  float *logits = F32(0, "logits", &nx), *lse = F32(2, "lse", &ns), *g = F32(7, "glogits", &ng);
  int32_t *targets = I32(1, "targets", &nt);
  int32_t ignore = (int32_t)num(&c, 5, "ignoreIndex");
  float scale = (float)num(&c, 6, "scale");
  if (!LEN_AT_LEAST(nx, rows * V, "logits") || !LEN_AT_LEAST(nt, rows, "targets") || !LEN_AT_LEAST(ns, rows, "lse") ||
      !LEN_AT_LEAST(ng, rows * V, "glogits") || !check_targets(&c, targets, rows, V, ignore))
    return NULL;
  c.K->cross_entropy_backward(logits, targets, lse, rows, V, ignore, scale, g);
  return undefined(env);
}

/* adamw(p, g, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2) */
napi_value js_adamw(napi_env env, napi_callback_info info) {
  BEGIN("adamw", 11);
  int64_t np, ng, nm, nv;
  float *p = F32(0, "p", &np), *g = F32(1, "g", &ng), *m = F32(2, "m", &nm), *v = F32(3, "v", &nv);
  double lr = num(&c, 4, "lr"), b1 = num(&c, 5, "beta1"), b2 = num(&c, 6, "beta2");
  double eps = num(&c, 7, "eps"), wd = num(&c, 8, "weightDecay");
  double bc1 = num(&c, 9, "bc1"), bc2 = num(&c, 10, "bc2");
  if (!LEN_EQ(ng, np, "g") || !LEN_EQ(nm, np, "m") || !LEN_EQ(nv, np, "v")) return NULL;
  c.K->adamw(p, g, m, v, np, lr, b1, b2, eps, wd, bc1, bc2);
  return undefined(env);
}

napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  BEGIN("sumSquares", 1);
  int64_t n;
  float *x = F32(0, "x", &n);
  if (c.failed) return NULL;
  napi_value r;
  napi_create_double(env, c.K->sum_squares(x, n), &r);
  return r;
}

#define CONVERT(jsname, name, IN, OUT)                                \
  napi_value js_##name(napi_env env, napi_callback_info info) {       \
    BEGIN(jsname, 2);                                                 \
    int64_t nx, no;                                                   \
    void *x = IN(0, "x", &nx), *out = OUT(1, "out", &no);             \
    if (!LEN_EQ(no, nx, "out")) return NULL;                          \
    c.K->name(x, out, nx);                                            \
    return undefined(env);                                            \
  }
CONVERT("bf16ToF32", bf16_to_f32, U16, F32)
CONVERT("f32ToBf16", f32_to_bf16, F32, U16)
CONVERT("f16ToF32", f16_to_f32, U16, F32)
CONVERT("f32ToF16", f32_to_f16, F32, U16)
