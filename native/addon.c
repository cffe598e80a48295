/* Node-API entry of the vila-ts native addon (plain C, <node_api.h>, no node-addon-api).
 * Exports isas() (the kernel builds this CPU can run, best first), setThreads(n), threads(),
 * allocHuge(bytes) (large buffers on 2 MB pages), streamRead(x, streams) (the memory-bandwidth
 * probe) and kernels(isa) -> an object of kernel functions bound to that build's table.
 * Arguments are typed arrays and numbers (a Float64Array carries the many scalars of gemm and
 * attention); typed-array byte offsets are honoured because Node hands out the data pointer of
 * the view. Every call is validated here (sizes, indices, lengths) and throws a JS Error naming
 * the kernel and the argument, so the kernels never read or write out of bounds. The TypeScript
 * side is src/backend/native/index.ts. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "addon.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

void fail(call *c, const char *fmt, ...) {
  if (c->failed) return;
  char msg[512];
  int n = snprintf(msg, sizeof msg, "native %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  napi_throw_error(c->env, NULL, msg);
  c->failed = 1;
}

int begin(napi_env env, napi_callback_info info, call *c, const char *fn, size_t want) {
  c->env = env;
  c->fn = fn;
  c->failed = 0;
  c->argc = MAX_ARGS;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, &data) != napi_ok) {
    napi_throw_error(env, NULL, "native: cannot read arguments");
    return 0;
  }
  c->K = data;
  if (c->argc < want) {
    fail(c, "expected %zu arguments, got %zu", want, c->argc);
    return 0;
  }
  return 1;
}

int is_null(call *c, int i) {
  napi_valuetype t;
  return napi_typeof(c->env, c->argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* typed array argument i of the given type; NULL (and len 0) for null when nullable */
void *array_arg(call *c, int i, napi_typedarray_type want, const char *tname, const char *name, int64_t *len,
                       int nullable) {
  *len = 0;
  if (c->failed) return NULL;
  if (nullable && is_null(c, i)) return NULL;
  bool ok = false;
  napi_is_typedarray(c->env, c->argv[i], &ok);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (!ok || napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != want) {
    fail(c, "%s must be a %s", name, tname);
    return NULL;
  }
  *len = (int64_t)length;
  if (!data) {
    static float empty[1];
    data = empty;
  }
  return data;
}


double num(call *c, int i, const char *name) {
  double v = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &v) != napi_ok) fail(c, "%s must be a number", name);
  return v;
}

/* a non-negative integer that fits comfortably in int64 */
int64_t count(call *c, double v, const char *name) {
  if (c->failed) return 0;
  if (!(v >= 0 && v <= 9007199254740991.0) || v != (double)(int64_t)v) {
    fail(c, "%s must be a non-negative integer, got %g", name, v);
    return 0;
  }
  return (int64_t)v;
}

int need(call *c, int ok, const char *fmt, ...) {
  if (c->failed) return 0;
  if (ok) return 1;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fail(c, "%s", msg);
  return 0;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* ---------------------------------------------------------------------------------------------
 * linear algebra */

/* gemm(A, B, C, p[, bias]) with p = [transA, transB, M, N, K, alpha, offA, lda, strideA, offB, ldb,
 * strideB, beta, offC, ldc, strideC, batch]; bias (N floats, null = none) is added to every row of C */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "gemm", 4)) return NULL;
  int64_t la, lb, lc, lp;
  float *A = F32(0, "A", &la), *B = F32(1, "B", &lb), *C = F32(2, "C", &lc);
  double *p = F64(3, "params", &lp);
  int64_t lbias;
  const float *bias = F32N(4, "bias", &lbias);
  if (!NEED(lp >= 17, "params needs 17 entries")) return NULL;
  vn_gemm_args g;
  g.bhalf = VN_HALF_NONE;
  g.Bh = NULL;
  g.bias = bias;
  g.transA = p[0] != 0;
  g.transB = p[1] != 0;
  g.M = count(&c, p[2], "M");
  g.N = count(&c, p[3], "N");
  g.K = count(&c, p[4], "K");
  g.alpha = (float)p[5];
  int64_t offA = count(&c, p[6], "offA"), offB = count(&c, p[9], "offB"), offC = count(&c, p[13], "offC");
  g.lda = count(&c, p[7], "lda");
  g.strideA = count(&c, p[8], "strideA");
  g.ldb = count(&c, p[10], "ldb");
  g.strideB = count(&c, p[11], "strideB");
  g.beta = (float)p[12];
  g.ldc = count(&c, p[14], "ldc");
  g.strideC = count(&c, p[15], "strideC");
  g.batch = count(&c, p[16], "batch");
  if (c.failed) return NULL;
  if (g.M == 0 || g.N == 0 || g.batch == 0) return undefined(env);
  int64_t ar = g.transA ? g.K : g.M, ac = g.transA ? g.M : g.K;
  int64_t br = g.transB ? g.N : g.K, bc = g.transB ? g.K : g.N;
  if (!NEED(g.lda >= ac && g.ldb >= bc && g.ldc >= g.N, "leading dims lda=%lld ldb=%lld ldc=%lld too small for M=%lld N=%lld K=%lld",
            (long long)g.lda, (long long)g.ldb, (long long)g.ldc, (long long)g.M, (long long)g.N, (long long)g.K))
    return NULL;
#define LAST(off, stride, rows, ld, cols) ((rows) == 0 || (cols) == 0 ? (off) : (off) + (g.batch - 1) * (stride) + ((rows) - 1) * (ld) + (cols))
  if (!NEED(LAST(offA, g.strideA, ar, g.lda, ac) <= la, "A (length %lld) too short", (long long)la)) return NULL;
  if (!NEED(LAST(offB, g.strideB, br, g.ldb, bc) <= lb, "B (length %lld) too short", (long long)lb)) return NULL;
  if (!NEED(LAST(offC, g.strideC, g.M, g.ldc, g.N) <= lc, "C (length %lld) too short", (long long)lc)) return NULL;
  if (!NEED(!bias || lbias >= g.N, "bias (length %lld) shorter than N=%lld", (long long)lbias, (long long)g.N))
    return NULL;
#undef LAST
  g.A = A + offA;
  g.B = B + offB;
  g.C = C + offC;
  c.K->gemm(&g);
  return undefined(env);
}

/* gemmHalf(A, W, C, p[, bias]) with p = [M, N, K, offA, lda, offW, ldw, offC, ldc, beta, kind]:
 * C = A (M, K) @ W^T + beta C (+ bias on every row), W (N, K) 16-bit storage, kind 1 = bf16, 2 = f16 */
static napi_value js_gemm_half(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "gemmHalf", 4)) return NULL;
  int64_t la, lw, lc, lp;
  float *A = F32(0, "A", &la), *C = F32(2, "C", &lc);
  uint16_t *W = U16(1, "W", &lw);
  double *p = F64(3, "params", &lp);
  int64_t lbias;
  const float *bias = F32N(4, "bias", &lbias);
  if (!NEED(lp >= 11, "params needs 11 entries")) return NULL;
  vn_gemm_args g;
  memset(&g, 0, sizeof g);
  g.bias = bias;
  g.transA = 0;
  g.transB = 1;
  g.M = count(&c, p[0], "M");
  g.N = count(&c, p[1], "N");
  g.K = count(&c, p[2], "K");
  int64_t offA = count(&c, p[3], "offA"), offW = count(&c, p[5], "offW"), offC = count(&c, p[7], "offC");
  g.lda = count(&c, p[4], "lda");
  g.ldb = count(&c, p[6], "ldw");
  g.ldc = count(&c, p[8], "ldc");
  g.alpha = 1.0f;
  g.beta = (float)p[9];
  int64_t kind = count(&c, p[10], "kind");
  g.batch = 1;
  if (c.failed) return NULL;
  if (!NEED(kind == VN_HALF_BF16 || kind == VN_HALF_F16, "kind must be 1 (bf16) or 2 (f16), got %lld", (long long)kind))
    return NULL;
  g.bhalf = (int)kind;
  if (g.M == 0 || g.N == 0) return undefined(env);
  if (!NEED(g.lda >= g.K && g.ldb >= g.K && g.ldc >= g.N, "leading dims lda=%lld ldw=%lld ldc=%lld too small for M=%lld N=%lld K=%lld",
            (long long)g.lda, (long long)g.ldb, (long long)g.ldc, (long long)g.M, (long long)g.N, (long long)g.K))
    return NULL;
  if (!NEED(offA + (g.M - 1) * g.lda + g.K <= la, "A (length %lld) too short", (long long)la)) return NULL;
  if (!NEED(offW + (g.N - 1) * g.ldb + g.K <= lw, "W (length %lld) too short", (long long)lw)) return NULL;
  if (!NEED(offC + (g.M - 1) * g.ldc + g.N <= lc, "C (length %lld) too short", (long long)lc)) return NULL;
  if (!NEED(!bias || lbias >= g.N, "bias (length %lld) shorter than N=%lld", (long long)lbias, (long long)g.N))
    return NULL;
  g.A = A + offA;
  g.Bh = W + offW;
  g.C = C + offC;
  c.K->gemm(&g);
  return undefined(env);
}

/* ---------------------------------------------------------------------------------------------
 * elementwise */

static napi_value js_unary(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "unary", 3)) return NULL;
  int64_t op = COUNT(0, "op"), nx, no;
  float *x = F32(1, "x", &nx), *out = F32(2, "out", &no);
  if (!NEED(op < VN_UNARY_COUNT, "unknown op %lld", (long long)op) || !LEN_EQ(no, nx, "out")) return NULL;
  c.K->unary((int)op, x, out, nx);
  return undefined(env);
}

static napi_value js_unary_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "unaryBackward", 5)) return NULL;
  int64_t op = COUNT(0, "op"), nx, ny, ng, no;
  float *x = F32(1, "x", &nx), *y = F32(2, "y", &ny), *gy = F32(3, "gy", &ng), *out = F32(4, "out", &no);
  if (!NEED(op < VN_UNARY_COUNT, "unknown op %lld", (long long)op) || !LEN_EQ(ny, nx, "y") || !LEN_EQ(ng, nx, "gy") ||
      !LEN_EQ(no, nx, "out"))
    return NULL;
  c.K->unary_backward((int)op, x, y, gy, out, nx);
  return undefined(env);
}

/* binaryFlat(op, a, b, out): same shape, contiguous */
static napi_value js_binary_flat(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "binary", 4)) return NULL;
  int64_t op = COUNT(0, "op"), na, nb, no;
  float *a = F32(1, "a", &na), *b = F32(2, "b", &nb), *out = F32(3, "out", &no);
  if (!NEED(op < VN_BINARY_COUNT, "unknown op %lld", (long long)op) || !LEN_EQ(na, no, "a") || !LEN_EQ(nb, no, "b"))
    return NULL;
  c.K->binary_flat((int)op, a, b, out, no);
  return undefined(env);
}

/* binary(op, a, b, out, meta) with meta = [rank, shape..., aStrides..., bStrides...] */
static napi_value js_binary(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "binary", 5)) return NULL;
  int64_t op = COUNT(0, "op"), na, nb, no, nm;
  float *a = F32(1, "a", &na), *b = F32(2, "b", &nb), *out = F32(3, "out", &no);
  double *m = F64(4, "meta", &nm);
  if (!NEED(op < VN_BINARY_COUNT, "unknown op %lld", (long long)op) || !NEED(nm >= 1, "empty meta")) return NULL;
  int64_t rank = count(&c, m[0], "rank");
  if (!NEED(rank <= VN_MAX_RANK && nm >= 1 + 3 * rank, "rank %lld is above %d or meta is short", (long long)rank, VN_MAX_RANK))
    return NULL;
  int64_t shape[VN_MAX_RANK], as[VN_MAX_RANK], bs[VN_MAX_RANK], total = 1, lasta = 0, lastb = 0;
  for (int64_t d = 0; d < rank; d++) {
    shape[d] = count(&c, m[1 + d], "shape");
    as[d] = count(&c, m[1 + rank + d], "aStrides");
    bs[d] = count(&c, m[1 + 2 * rank + d], "bStrides");
    total *= shape[d];
    if (shape[d] > 0) {
      lasta += (shape[d] - 1) * as[d];
      lastb += (shape[d] - 1) * bs[d];
    }
  }
  if (c.failed || !LEN_EQ(no, total, "out")) return NULL;
  if (total == 0) return undefined(env);
  if (!NEED(lasta < na && lastb < nb, "strides reach past a (%lld) or b (%lld)", (long long)na, (long long)nb)) return NULL;
  c.K->binary((int)op, a, as, b, bs, out, shape, (int)rank);
  return undefined(env);
}

static napi_value js_affine(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "affine", 4)) return NULL;
  int64_t nx, no;
  float *x = F32(0, "x", &nx), *out = F32(3, "out", &no);
  float s = (float)num(&c, 1, "s"), t = (float)num(&c, 2, "t");
  if (!LEN_EQ(no, nx, "out")) return NULL;
  c.K->affine(x, s, t, out, nx);
  return undefined(env);
}

static napi_value js_clamp(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "clamp", 4)) return NULL;
  int64_t nx, no;
  float *x = F32(0, "x", &nx), *out = F32(3, "out", &no);
  float lo = (float)num(&c, 1, "lo"), hi = (float)num(&c, 2, "hi");
  if (!LEN_EQ(no, nx, "out")) return NULL;
  c.K->clamp(x, lo, hi, out, nx);
  return undefined(env);
}

static napi_value js_where(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "where", 4)) return NULL;
  int64_t nc, na, nb, no;
  float *cond = F32(0, "cond", &nc), *a = F32(1, "a", &na), *b = F32(2, "b", &nb), *out = F32(3, "out", &no);
  if (!LEN_EQ(nc, no, "cond") || !LEN_EQ(na, no, "a") || !LEN_EQ(nb, no, "b")) return NULL;
  c.K->where(cond, a, b, out, no);
  return undefined(env);
}

static napi_value js_axpy(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "axpy", 3)) return NULL;
  int64_t nx, ny;
  float alpha = (float)num(&c, 0, "alpha");
  float *x = F32(1, "x", &nx), *y = F32(2, "y", &ny);
  if (!LEN_EQ(ny, nx, "y")) return NULL;
  c.K->axpy(alpha, x, y, nx);
  return undefined(env);
}

/* ---------------------------------------------------------------------------------------------
 * reductions and data movement */

static napi_value js_reduce(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "reduce", 6)) return NULL;
  int64_t op = COUNT(0, "op"), nx, no;
  float *x = F32(1, "x", &nx);
  int64_t outer = COUNT(2, "outer"), n = COUNT(3, "n"), inner = COUNT(4, "inner");
  float *out = F32(5, "out", &no);
  if (!NEED(op < VN_REDUCE_COUNT, "unknown op %lld", (long long)op) || !LEN_EQ(nx, outer * n * inner, "x") ||
      !LEN_EQ(no, outer * inner, "out"))
    return NULL;
  c.K->reduce((int)op, x, outer, n, inner, out);
  return undefined(env);
}

static napi_value js_argmax(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "argmax", 5)) return NULL;
  int64_t nx, no;
  float *x = F32(0, "x", &nx);
  int64_t outer = COUNT(1, "outer"), n = COUNT(2, "n"), inner = COUNT(3, "inner");
  int32_t *out = I32(4, "out", &no);
  if (!LEN_EQ(nx, outer * n * inner, "x") || !LEN_EQ(no, outer * inner, "out") ||
      !NEED(n > 0 || outer * inner == 0, "cannot take the argmax of an empty axis"))
    return NULL;
  c.K->argmax(x, outer, n, inner, out);
  return undefined(env);
}

/* permute(x, meta, out) with meta = [rank, shape..., perm...] */
static napi_value js_permute(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "permute", 3)) return NULL;
  int64_t nx, no, nm;
  float *x = F32(0, "x", &nx), *out = F32(2, "out", &no);
  double *m = F64(1, "meta", &nm);
  if (!NEED(nm >= 1, "empty meta")) return NULL;
  int64_t rank = count(&c, m[0], "rank");
  if (!NEED(rank <= VN_MAX_RANK && nm >= 1 + 2 * rank, "rank %lld is above %d or meta is short", (long long)rank, VN_MAX_RANK))
    return NULL;
  int64_t shape[VN_MAX_RANK], perm[VN_MAX_RANK], total = 1;
  int seen[VN_MAX_RANK] = {0};
  for (int64_t d = 0; d < rank; d++) {
    shape[d] = count(&c, m[1 + d], "shape");
    perm[d] = count(&c, m[1 + rank + d], "perm");
    total *= shape[d];
    if (!NEED(perm[d] < rank && !seen[perm[d]], "perm is not a permutation of %lld axes", (long long)rank)) return NULL;
    seen[perm[d]] = 1;
  }
  if (c.failed || !LEN_EQ(nx, total, "x") || !LEN_EQ(no, total, "out")) return NULL;
  c.K->permute(x, shape, perm, (int)rank, out);
  return undefined(env);
}

static int check_rows(call *cp, int64_t tlen, int64_t cols, const int32_t *idx, int64_t n) {
  call c = *cp;
  int ok = NEED(cols <= 0 ? tlen == 0 : tlen % cols == 0, "table of length %lld is not a whole number of rows of %lld",
                (long long)tlen, (long long)cols);
  int64_t rows = cols > 0 ? tlen / cols : 0;
  for (int64_t r = 0; ok && r < n; r++)
    ok = NEED(idx[r] >= 0 && idx[r] < rows, "index %d at position %lld out of range [0, %lld)", idx[r], (long long)r,
              (long long)rows);
  cp->failed = c.failed;
  return ok;
}

static napi_value js_gather_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "gatherRows", 4)) return NULL;
  int64_t nt, ni, no;
  float *table = F32(0, "table", &nt);
  int64_t cols = COUNT(1, "cols");
  int32_t *idx = I32(2, "idx", &ni);
  float *out = F32(3, "out", &no);
  if (c.failed || !check_rows(&c, nt, cols, idx, ni) || !LEN_EQ(no, ni * cols, "out")) return NULL;
  c.K->gather_rows(table, cols, idx, ni, out);
  return undefined(env);
}

static napi_value js_scatter_add_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "scatterAddRows", 4)) return NULL;
  int64_t nt, ni, ns;
  float *table = F32(0, "table", &nt);
  int64_t cols = COUNT(1, "cols");
  int32_t *idx = I32(2, "idx", &ni);
  float *src = F32(3, "src", &ns);
  if (c.failed || !check_rows(&c, nt, cols, idx, ni) || !LEN_EQ(ns, ni * cols, "src")) return NULL;
  c.K->scatter_add_rows(table, cols, idx, ni, src);
  return undefined(env);
}

/* ---------------------------------------------------------------------------------------------
 * large weight buffers on transparent huge pages */

#define HUGE_ALIGN ((size_t)2 << 20)

typedef struct {
  void *base;
  size_t bytes;
} huge_block;

static void free_huge(napi_env env, void *data, void *hint) {
  huge_block *b = hint;
  (void)data;
#if defined(__linux__)
  munmap(b->base, b->bytes);
#endif
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)b->bytes, &adjusted);
  free(b);
}

/* allocHuge(bytes) -> zero-filled ArrayBuffer of exactly `bytes` bytes. At 2 MB and up (Linux):
 * its own anonymous mapping, 2 MB aligned, advised MADV_HUGEPAGE before any page is touched, so a
 * multi-GB weight set sits on 2 MB pages (a 4 KB page per 4 KB of streamed weights costs TLB
 * misses and page walks in decode); unmapped when the buffer is collected. Smaller sizes, or a
 * mapping the kernel refuses, get an ordinary ArrayBuffer. Second element of the returned pair:
 * 1 when the buffer is huge-page advised, else 0. */
static napi_value js_alloc_huge(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "allocHuge", 1)) return NULL;
  int64_t bytes = COUNT(0, "bytes");
  if (c.failed) return NULL;
  napi_value buf = NULL, pair, flag;
  int huge = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if ((size_t)bytes >= HUGE_ALIGN) {
    size_t len = ((size_t)bytes + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
    size_t span = len + HUGE_ALIGN;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    huge_block *b = raw == MAP_FAILED ? NULL : malloc(sizeof *b);
    if (b) {
      char *p = (char *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
      if (p > raw) munmap(raw, (size_t)(p - raw));
      if (p + len < raw + span) munmap(p + len, (size_t)(raw + span - (p + len)));
      madvise(p, len, MADV_HUGEPAGE);
      b->base = p;
      b->bytes = len;
      if (napi_create_external_arraybuffer(env, p, (size_t)bytes, free_huge, b, &buf) == napi_ok) {
        int64_t adjusted;
        napi_adjust_external_memory(env, (int64_t)len, &adjusted);
        huge = 1;
      } else {
        /* external buffers refused (a V8 sandbox build): fall back to an ordinary buffer */
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
          napi_value e;
          napi_get_and_clear_last_exception(env, &e);
        }
        munmap(p, len);
        free(b);
        buf = NULL;
      }
    } else if (raw != MAP_FAILED) {
      munmap(raw, span);
    }
  }
#endif
  if (!buf) {
    void *data;
    if (napi_create_arraybuffer(env, (size_t)bytes, &data, &buf) != napi_ok) return NULL;
  }
  napi_create_array_with_length(env, 2, &pair);
  napi_set_element(env, pair, 0, buf);
  napi_create_int32(env, huge, &flag);
  napi_set_element(env, pair, 1, flag);
  return pair;
}

/* ---------------------------------------------------------------------------------------------
 * memory read bandwidth probe */

#define PROBE_CHUNK ((int64_t)1 << 20) /* floats per pool task: 4 MB */
#define PROBE_AHEAD 512                /* prefetch distance of the 4-stream pattern, floats */

typedef float v4f __attribute__((vector_size(16)));

typedef struct {
  const float *x;
  int64_t n;
  int streams;
  double *part;
} probe_job;

static inline v4f load4(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* sum of x[lo, hi) as one sequential stream, 64 bytes per step */
static double probe_seq(const float *x, int64_t lo, int64_t hi) {
  v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  int64_t i = lo;
  for (; i + 16 <= hi; i += 16) {
    s0 += load4(x + i);
    s1 += load4(x + i + 4);
    s2 += load4(x + i + 8);
    s3 += load4(x + i + 12);
  }
  v4f s = (s0 + s1) + (s2 + s3);
  double t = (double)s[0] + s[1] + s[2] + s[3];
  for (; i < hi; i++) t += x[i];
  return t;
}

/* the same range as four interleaved streams (its quarters) with software prefetch, the access
 * pattern of the decode kernels (four weight rows at a time) */
static double probe_four(const float *x, int64_t lo, int64_t hi) {
  int64_t q = (hi - lo) / 4 / 16 * 16;
  const float *p0 = x + lo, *p1 = p0 + q, *p2 = p1 + q, *p3 = p2 + q;
  v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  for (int64_t i = 0; i < q; i += 16) {
    __builtin_prefetch(p0 + i + PROBE_AHEAD, 0, 3);
    __builtin_prefetch(p1 + i + PROBE_AHEAD, 0, 3);
    __builtin_prefetch(p2 + i + PROBE_AHEAD, 0, 3);
    __builtin_prefetch(p3 + i + PROBE_AHEAD, 0, 3);
    for (int k = 0; k < 16; k += 4) {
      s0 += load4(p0 + i + k);
      s1 += load4(p1 + i + k);
      s2 += load4(p2 + i + k);
      s3 += load4(p3 + i + k);
    }
  }
  v4f s = (s0 + s1) + (s2 + s3);
  return (double)s[0] + s[1] + s[2] + s[3] + probe_seq(x, lo + 4 * q, hi);
}

static void probe_task(void *ctx, int64_t t) {
  probe_job *j = ctx;
  int64_t lo = t * PROBE_CHUNK, hi = lo + PROBE_CHUNK < j->n ? lo + PROBE_CHUNK : j->n;
  j->part[t] = j->streams == 4 ? probe_four(j->x, lo, hi) : probe_seq(j->x, lo, hi);
}

/* streamRead(x, streams) -> sum of x, read once by the thread pool in 4 MB blocks handed out
 * dynamically; streams 1: each block read front to back, 4: as four interleaved streams with
 * software prefetch. Timed by the caller, it measures how fast this machine streams memory
 * (the bound on decode, which reads every weight once per token). */
static napi_value js_stream_read(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "streamRead", 2)) return NULL;
  int64_t n;
  float *x = F32(0, "x", &n);
  int64_t streams = COUNT(1, "streams");
  if (c.failed || !NEED(streams == 1 || streams == 4, "streams must be 1 or 4, got %lld", (long long)streams))
    return NULL;
  int64_t tasks = (n + PROBE_CHUNK - 1) / PROBE_CHUNK;
  double *part = calloc(tasks > 0 ? (size_t)tasks : 1, sizeof(double));
  if (!NEED(part != NULL, "out of memory")) return NULL;
  probe_job j = {x, n, (int)streams, part};
  vn_parallel_for(tasks, probe_task, &j);
  double sum = 0;
  for (int64_t t = 0; t < tasks; t++) sum += part[t];
  free(part);
  napi_value r;
  napi_create_double(env, sum, &r);
  return r;
}

/* ---------------------------------------------------------------------------------------------
 * module */

static napi_value js_isas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, s;
  napi_create_array(env, &arr);
  uint32_t n = 0;
#if defined(VN_HAVE_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma")) {
    napi_create_string_utf8(env, "avx512", NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, n++, s);
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    napi_create_string_utf8(env, "avx2", NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, n++, s);
  }
#endif
  napi_create_string_utf8(env, "generic", NAPI_AUTO_LENGTH, &s);
  napi_set_element(env, arr, n++, s);
  return arr;
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "setThreads", 1)) return NULL;
  int64_t n = COUNT(0, "threads");
  if (c.failed || !NEED(n >= 1, "threads must be at least 1")) return NULL;
  vn_pool_set_threads((int)n);
  napi_value r;
  napi_create_int32(env, vn_pool_threads(), &r);
  return r;
}

static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, vn_pool_threads(), &r);
  return r;
}

typedef struct {
  const char *name;
  napi_callback cb;
} fn_entry;

static const fn_entry kernel_fns[] = {
    {"gemm", js_gemm}, {"gemmHalf", js_gemm_half}, {"unary", js_unary}, {"unaryBackward", js_unary_backward}, {"binaryFlat", js_binary_flat},
    {"binary", js_binary}, {"affine", js_affine}, {"clamp", js_clamp}, {"where", js_where}, {"axpy", js_axpy},
    {"reduce", js_reduce}, {"argmax", js_argmax}, {"permute", js_permute}, {"gatherRows", js_gather_rows},
    {"scatterAddRows", js_scatter_add_rows}, NN_FUNCTIONS};

static napi_value js_kernels(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "kernels", 1)) return NULL;
  char isa[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], isa, sizeof isa, &len) != napi_ok) {
    fail(&c, "isa must be a string");
    return NULL;
  }
  const vn_kernels *K = strcmp(isa, "generic") == 0 ? &vn_kernels_generic : NULL;
#if defined(VN_HAVE_X86)
  if (strcmp(isa, "avx512") == 0) K = &vn_kernels_avx512;
  if (strcmp(isa, "avx2") == 0) K = &vn_kernels_avx2;
#endif
  if (!K) {
    fail(&c, "unknown isa \"%s\" (avx512, avx2, generic)", isa);
    return NULL;
  }
  napi_value obj, f;
  napi_create_object(env, &obj);
  for (size_t i = 0; i < sizeof kernel_fns / sizeof kernel_fns[0]; i++) {
    napi_create_function(env, kernel_fns[i].name, NAPI_AUTO_LENGTH, kernel_fns[i].cb, (void *)K, &f);
    napi_set_named_property(env, obj, kernel_fns[i].name, f);
  }
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  const fn_entry top[] = {{"isas", js_isas}, {"setThreads", js_set_threads}, {"threads", js_threads}, {"kernels", js_kernels}, {"allocHuge", js_alloc_huge},
                        {"streamRead", js_stream_read}};
  for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
    napi_value f;
    napi_create_function(env, top[i].name, NAPI_AUTO_LENGTH, top[i].cb, NULL, &f);
    napi_set_named_property(env, exports, top[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
