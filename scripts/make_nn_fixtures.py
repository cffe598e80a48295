#!/usr/bin/python3
"""Reference values for the nn ops (src/tensor/ops/nn.ts), computed with PyTorch.

Writes test/fixtures/nn/nn_ops.json: for each case the inputs (f32 values), the forward output
and the gradients of sum(out * gy) for a stored upstream gradient gy, all from PyTorch in float64
on the f32 inputs (rope: cos/sin tables in float32 the way Hugging Face builds them).
Run:  /usr/bin/python3 scripts/make_nn_fixtures.py
The installed torch (Debian's 1.13) predates F.scaled_dot_product_attention, so attention is the
documented SDPA formula softmax(q k^T * scale + mask) v written out below, with GQA done the way
Hugging Face's repeat_kv does (query head h reads kv head h // (nh / nkv)); rotate_half and
apply_rotary_pos_emb follow transformers' modeling_llama.py.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "nn", "nn_ops.json")
gen = torch.Generator().manual_seed(1234)


def randn(*shape, scale=1.0):
    return (torch.randn(tuple(shape), generator=gen) * scale).float()


def enc(t):
    t = t.detach()
    assert torch.isfinite(t).all(), "fixture values must be finite (JSON has no NaN)"
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).double().tolist()]}


def enc_i(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def run(fn, inputs, gy_shape=None):
    """fn(*float64 inputs) -> out; returns (out, grads of sum(out * gy), gy)."""
    xs = [x.double().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    gy = randn(*(gy_shape or out.shape))
    (out * gy.double()).sum().backward()
    return out, [x.grad for x in xs], gy


cases = {}

# --- softmax / log_softmax -------------------------------------------------------------------
for name, f in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
    for shape, dim in [((3, 5), -1), ((2, 3, 4), 1)]:
        x = randn(*shape, scale=2.0)
        out, (gx,), gy = run(lambda a: f(a, dim=dim), [x])
        cases[f"{name}_{'x'.join(map(str, shape))}_dim{dim}"] = {
            "op": name, "axis": dim, "x": enc(x), "gy": enc(gy), "out": enc(out), "gx": enc(gx)}

# --- layer_norm --------------------------------------------------------------------------------
x = randn(4, 6, scale=3.0) + 1.5
w = randn(6) * 0.5 + 1
b = randn(6) * 0.5
out, (gx, gw, gb), gy = run(lambda a, ww, bb: F.layer_norm(a, (6,), ww, bb, 1e-5), [x, w, b])
cases["layer_norm_affine"] = {"op": "layer_norm", "eps": 1e-5, "x": enc(x), "w": enc(w), "b": enc(b),
                              "gy": enc(gy), "out": enc(out), "gx": enc(gx), "gw": enc(gw), "gb": enc(gb)}
x = randn(2, 3, 5)
out, (gx,), gy = run(lambda a: F.layer_norm(a, (5,), None, None, 1e-6), [x])
cases["layer_norm_plain"] = {"op": "layer_norm", "eps": 1e-6, "x": enc(x), "gy": enc(gy), "out": enc(out), "gx": enc(gx)}


# --- LlamaRMSNorm -----------------------------------------------------------------------------
def llama_rms_norm(hidden, weight, eps):
    # transformers LlamaRMSNorm.forward: variance = x.pow(2).mean(-1, keepdim=True);
    # x = x * rsqrt(variance + eps); return weight * x
    variance = hidden.pow(2).mean(-1, keepdim=True)
    return weight * (hidden * torch.rsqrt(variance + eps))


x = randn(4, 8, scale=2.0)
w = randn(8) * 0.3 + 1
out, (gx, gw), gy = run(lambda a, ww: llama_rms_norm(a, ww, 1e-6), [x, w])
cases["rms_norm"] = {"op": "rms_norm", "eps": 1e-6, "x": enc(x), "w": enc(w), "gy": enc(gy), "out": enc(out), "gx": enc(gx), "gw": enc(gw)}

# --- activations ------------------------------------------------------------------------------
x = torch.linspace(-6, 6, 25).float() + randn(25) * 0.1
acts = {
    "gelu": lambda a: F.gelu(a),
    "gelu_tanh": lambda a: F.gelu(a, approximate="tanh"),
    "silu": lambda a: F.silu(a),
    "quick_gelu": lambda a: a * torch.sigmoid(1.702 * a),  # transformers QuickGELUActivation
}
for name, f in acts.items():
    out, (gx,), gy = run(f, [x])
    cases[name] = {"op": name, "x": enc(x), "gy": enc(gy), "out": enc(out), "gx": enc(gx)}


# --- rotary embedding (transformers modeling_llama) --------------------------------------------
def rope_cos_sin(position_ids, dim, base, factor=None):
    # LlamaRotaryEmbedding: inv_freq = 1 / base^(arange(0, dim, 2) / dim), all in float32
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    t = position_ids.float()
    if factor is not None:
        t = t / factor  # LlamaLinearScalingRotaryEmbedding
    freqs = t[..., None] * inv_freq  # (B, T, dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin(), freqs.cos(), freqs.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(x, cos, sin):
    # x (B, T, nh, hs); HF's tensors are (B, nh, T, hs) with unsqueeze_dim=1, here the head axis is 2
    cos = cos.unsqueeze(2)
    sin = sin.unsqueeze(2)
    return (x * cos) + (rotate_half(x) * sin)


for name, theta, factor, pos in [
    ("rope_base", 10000.0, None, torch.tensor([[0, 1, 2, 3, 4], [7, 3, 100, 2047, 4000]])),
    ("rope_linear", 500000.0, 2.0, torch.tensor([[5, 6, 7, 8, 9], [0, 31, 1000, 3001, 3999]])),
]:
    hs = 8
    x = randn(2, 5, 3, hs)
    cos, sin, hcos, hsin = rope_cos_sin(pos, hs, theta, factor)
    out, (gx,), gy = run(lambda a: apply_rotary_pos_emb(a, cos.double(), sin.double()), [x])
    cases[name] = {"op": "rope", "theta": theta, "factor": factor, "maxPos": 4001, "x": enc(x), "positions": enc_i(pos),
                   "cos": enc(hcos), "sin": enc(hsin), "gy": enc(gy), "out": enc(out), "gx": enc(gx)}


# --- attention ----------------------------------------------------------------------------------
def sdpa(q, k, v, causal, key_padding, segments, scale):
    # q (B, T, nh, hs), k v (B, S, nkv, hs) -> (B, T, nh, hs)
    B, T, nh, hs = q.shape
    S, nkv = k.shape[1], k.shape[2]
    k = k.repeat_interleave(nh // nkv, dim=2)  # HF repeat_kv
    v = v.repeat_interleave(nh // nkv, dim=2)
    qh, kh, vh = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, *, hs)
    allowed = torch.ones(B, 1, T, S, dtype=torch.bool)
    if causal:
        allowed &= torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
    if key_padding is not None:
        allowed &= key_padding.bool()[:, None, None, :]
    if segments is not None:
        allowed &= (segments[:, :, None] == segments[:, None, :])[:, None]
    scores = (qh @ kh.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ vh).transpose(1, 2)


att_cases = [
    # name, B, T, S, nh, nkv, hs, causal, keyPadding, segments
    ("attn_plain", 1, 4, 6, 2, 2, 4, False, None, None),
    ("attn_gqa_causal_pad", 2, 7, 7, 4, 2, 6, True, torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 1, 0, 1]]), None),
    ("attn_kvcache", 1, 3, 8, 4, 1, 6, True, None, None),
    ("attn_segments", 2, 6, 6, 2, 1, 4, True, torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]]),
     torch.tensor([[0, 0, 0, 1, 1, 2], [3, 3, 4, 4, 4, 4]])),
]
for name, B, T, S, nh, nkv, hs, causal, kp, seg in att_cases:
    q, k, v = randn(B, T, nh, hs), randn(B, S, nkv, hs), randn(B, S, nkv, hs)
    scale = 1 / math.sqrt(hs)
    out, (gq, gk, gv), gy = run(lambda a, b_, c: sdpa(a, b_, c, causal, kp, seg, scale), [q, k, v])
    cases[name] = {"op": "attention", "causal": causal, "q": enc(q), "k": enc(k), "v": enc(v),
                   "keyPadding": enc_i(kp) if kp is not None else None, "segments": enc_i(seg) if seg is not None else None,
                   "gy": enc(gy), "out": enc(out), "gq": enc(gq), "gk": enc(gk), "gv": enc(gv)}

# --- cross entropy ------------------------------------------------------------------------------
for name, shape, targets in [
    ("cross_entropy_2d", (6, 11), torch.tensor([3, -100, 0, 10, -100, 7])),
    ("cross_entropy_3d", (2, 3, 7), torch.tensor([[1, 2, 6], [0, -100, 5]])),
]:
    x = randn(*shape, scale=2.0)
    V = shape[-1]
    out, (gx,), gy = run(lambda a: F.cross_entropy(a.reshape(-1, V), targets.reshape(-1), ignore_index=-100), [x])
    cases[name] = {"op": "cross_entropy", "x": enc(x), "targets": enc_i(targets), "gy": enc(gy), "out": enc(out), "gx": enc(gx)}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases}, fh, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")
