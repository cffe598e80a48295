/* Helpers shared by the Node-API glue files (addon.c, addon_nn.c): argument access with
 * validation that throws a JS Error naming the kernel and argument. */
#ifndef VN_ADDON_H
#define VN_ADDON_H

#include <node_api.h>
#include <stdint.h>

#include "vn.h"

#define MAX_ARGS 20

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  const char *fn;
  const vn_kernels *K;
  int failed;
} call;

void fail(call *c, const char *fmt, ...);
int begin(napi_env env, napi_callback_info info, call *c, const char *fn, size_t want);
int is_null(call *c, int i);
void *array_arg(call *c, int i, napi_typedarray_type want, const char *tname, const char *name, int64_t *len,
                int nullable);
double num(call *c, int i, const char *name);
int64_t count(call *c, double v, const char *name);
int need(call *c, int ok, const char *fmt, ...);
napi_value undefined(napi_env env);

#define F32(i, name, len) ((float *)array_arg(&c, i, napi_float32_array, "Float32Array", name, len, 0))
#define F32N(i, name, len) ((float *)array_arg(&c, i, napi_float32_array, "Float32Array", name, len, 1))
#define I32(i, name, len) ((int32_t *)array_arg(&c, i, napi_int32_array, "Int32Array", name, len, 0))
#define I32N(i, name, len) ((int32_t *)array_arg(&c, i, napi_int32_array, "Int32Array", name, len, 1))
#define U16(i, name, len) ((uint16_t *)array_arg(&c, i, napi_uint16_array, "Uint16Array", name, len, 0))
#define F64(i, name, len) ((double *)array_arg(&c, i, napi_float64_array, "Float64Array", name, len, 0))
#define COUNT(i, name) count(&c, num(&c, i, name), name)
#define NEED(cond, ...) need(&c, (cond), __VA_ARGS__)
#define LEN_AT_LEAST(len, n, name) \
  NEED((len) >= (n), "%s has %lld elements, %lld needed", name, (long long)(len), (long long)(n))
#define LEN_EQ(len, n, name) \
  NEED((len) == (n), "%s has %lld elements where %lld are needed", name, (long long)(len), (long long)(n))

/* kernels of addon_nn.c */
napi_value js_softmax(napi_env env, napi_callback_info info);
napi_value js_softmax_backward(napi_env env, napi_callback_info info);
napi_value js_log_softmax(napi_env env, napi_callback_info info);
napi_value js_log_softmax_backward(napi_env env, napi_callback_info info);
napi_value js_layer_norm(napi_env env, napi_callback_info info);
napi_value js_layer_norm_backward(napi_env env, napi_callback_info info);
napi_value js_rms_norm(napi_env env, napi_callback_info info);
napi_value js_rms_norm_backward(napi_env env, napi_callback_info info);
napi_value js_rope(napi_env env, napi_callback_info info);
napi_value js_attention(napi_env env, napi_callback_info info);
napi_value js_attention_backward(napi_env env, napi_callback_info info);
napi_value js_decode_layer(napi_env env, napi_callback_info info);
napi_value js_cross_entropy(napi_env env, napi_callback_info info);
napi_value js_cross_entropy_backward(napi_env env, napi_callback_info info);
napi_value js_adamw(napi_env env, napi_callback_info info);
napi_value js_sum_squares(napi_env env, napi_callback_info info);
napi_value js_bf16_to_f32(napi_env env, napi_callback_info info);
napi_value js_f32_to_bf16(napi_env env, napi_callback_info info);
napi_value js_f16_to_f32(napi_env env, napi_callback_info info);
napi_value js_f32_to_f16(napi_env env, napi_callback_info info);

#define NN_FUNCTIONS                                                                                     \
  {"softmax", js_softmax}, {"softmaxBackward", js_softmax_backward}, {"logSoftmax", js_log_softmax},     \
      {"logSoftmaxBackward", js_log_softmax_backward}, {"layerNorm", js_layer_norm},                     \
      {"layerNormBackward", js_layer_norm_backward}, {"rmsNorm", js_rms_norm},                           \
      {"rmsNormBackward", js_rms_norm_backward}, {"rope", js_rope}, {"attention", js_attention},          \
      {"attentionBackward", js_attention_backward}, {"decodeLayer", js_decode_layer},                      \
      {"crossEntropy", js_cross_entropy},                                                                \
      {"crossEntropyBackward", js_cross_entropy_backward}, {"adamw", js_adamw},                          \
      {"sumSquares", js_sum_squares}, {"bf16ToF32", js_bf16_to_f32}, {"f32ToBf16", js_f32_to_bf16},      \
      {"f16ToF32", js_f16_to_f32}, {"f32ToF16", js_f32_to_f16}

#endif
