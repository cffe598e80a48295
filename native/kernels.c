/* One instruction set's kernel table. binding.gyp compiles this file three times with
 * VN_ISA=avx512 (-mavx512f -mavx512bw -mavx512vl -mfma -mf16c), VN_ISA=avx2 (-mavx2 -mfma -mf16c)
 * and VN_ISA=generic (baseline x86-64 / any target); addon.c picks the table at load time.
 * The kernels are plain static functions in the included files, one translation unit per ISA. */
#include "vn.h"

#include "kern_elementwise.c"
#include "kern_gemm.c"
#include "kern_nn.c"
#include "kern_attention.c"
#include "kern_decode.c"

const vn_kernels VN_NAME(vn_kernels) = {
    .isa = VN_STR(VN_ISA),
    .gemm = gemm,
    .unary = unary,
    .unary_backward = unary_backward,
    .binary_flat = binary_flat,
    .binary = binary,
    .affine = affine,
    .clamp = clamp,
    .where = where,
    .axpy = axpy,
    .reduce = reduce,
    .argmax = argmax,
    .permute = permute,
    .gather_rows = gather_rows,
    .scatter_add_rows = scatter_add_rows,
    .softmax = softmax,
    .softmax_backward = softmax_backward,
    .log_softmax = log_softmax,
    .log_softmax_backward = log_softmax_backward,
    .layer_norm = layer_norm,
    .layer_norm_backward = layer_norm_backward,
    .rms_norm = rms_norm,
    .rms_norm_backward = rms_norm_backward,
    .rope = rope,
    .attention = attention,
    .attention_backward = attention_backward,
    .decode_layer = decode_layer,
    .cross_entropy = cross_entropy,
    .cross_entropy_backward = cross_entropy_backward,
    .adamw = adamw,
    .sum_squares = sum_squares,
    .bf16_to_f32 = bf16_to_f32,
    .f32_to_bf16 = f32_to_bf16,
    .f16_to_f32 = f16_to_f32,
    .f32_to_f16 = f32_to_f16,
};
