#!/usr/bin/python3
"""Reference values for the core tensor ops, computed with PyTorch and NumPy.

Writes test/fixtures/core/{dtype,unary,ops}.json:
  dtype.json  f32 bit patterns (ties, subnormals, overflow, NaN/Inf, random) and their bf16
              (torch) and f16 (numpy) round-to-nearest-even bits; f16 bit patterns -> f32 bits.
  unary.json  every backend unary op and its derivative in float64 on a grid of f32 inputs.
  ops.json    forward values and gradients of L = sum(out * w) for broadcasting elementwise
              ops, reductions, matmul/linear, shape and index ops (float64 from f32 inputs).
Run: /usr/bin/python3 scripts/make_core_fixtures.py
"""

import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "core")
rng = np.random.default_rng(1234)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def bits32(a):
    return f32(a).view(np.uint32).tolist()


def make_dtype():
    vals = []
    # random magnitudes over the whole f32 range, both signs
    vals += (rng.standard_normal(200) * 10.0 ** rng.uniform(-30, 30, 200)).tolist()
    vals += rng.uniform(-70000, 70000, 50).tolist()
    u = []
    # exact bf16 ties (low 16 bits 0x8000) with even and odd kept bits, and one ulp either side
    for hi in [0x3F80, 0x3F81, 0xBF80, 0xBF81, 0x7F7F, 0x0001, 0x4049]:
        for lo in [0x7FFF, 0x8000, 0x8001]:
            u.append((hi << 16) | lo)
    # f16 ties: 1 + k*2^-10 + 2^-11 (low 13 bits 0x1000), and subnormal-range ties
    for k in [0, 1, 2, 3, 1022, 1023]:
        u.append(int(f32(1 + k * 2**-10 + 2**-11).view(np.uint32)))
        u.append(int(f32(1 + k * 2**-10 + 2**-11 + 2**-20).view(np.uint32)))
    for m in [0.5, 1.5, 2.5, 3.5, 1023.5, 1.25, 0.75, 0.25]:
        vals.append(m * 2.0**-24)  # half-subnormal units and ties
        vals.append(-m * 2.0**-24)
    vals += [2.0**-14, 2.0**-14 * (1 - 2**-11), 2.0**-25, 2.0**-25 * 1.0000001, 2.0**-26, 6.1e-5]
    # overflow boundaries of f16 (65504 is max; 65520 is the tie that rounds to Inf)
    vals += [65504, 65519, 65519.996, 65520, 65536, 1e5, -65520, -65519]
    vals += [3.4028235e38, -3.4028235e38, 1.0e-45, -1.0e-45, 1.1754942e-38, 0.0, -0.0]
    vals += [float("inf"), float("-inf"), float("nan")]
    x = np.concatenate([f32(vals), np.asarray(u, dtype=np.uint32).view(np.float32)])
    t = torch.from_numpy(x.copy())
    bf16 = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    f16 = x.astype(np.float16).view(np.uint16)
    h = np.concatenate([rng.integers(0, 65536, 400), [0, 1, 0x3FF, 0x400, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x8001, 0x8000]]).astype(np.uint16)
    h32 = h.view(np.float16).astype(np.float32)
    return {
        "f32_bits": x.view(np.uint32).tolist(),
        "bf16": bf16.tolist(),
        "f16": f16.tolist(),
        "f16_bits": h.tolist(),
        "f16_as_f32_bits": h32.view(np.uint32).tolist(),
    }


UNARY = {
    "neg": lambda x: -x,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "gelu": lambda x: torch.nn.functional.gelu(x),
    "gelu_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "silu": torch.nn.functional.silu,
    "abs": torch.abs,
    "square": torch.square,
    "sin": torch.sin,
    "cos": torch.cos,
}
POSITIVE = {"log", "sqrt", "rsqrt"}


def make_unary():
    grid = np.concatenate([np.linspace(-9, 9, 181), rng.standard_normal(40) * 3, [-20, -12.5, 12.5, 20, 1e-4, -1e-4]])
    pos = np.concatenate([np.linspace(0.01, 9, 90), 10.0 ** rng.uniform(-6, 6, 40)])
    out = {}
    for name, f in UNARY.items():
        x = f32(pos if name in POSITIVE else grid)
        t = torch.tensor(x.astype(np.float64), requires_grad=True)
        y = f(t)
        (dy,) = torch.autograd.grad(y.sum(), t)
        out[name] = {"x": x.tolist(), "y": sig(y.detach()), "dy": sig(dy)}
    return out


def sig(t):
    """float64 values rounded to 10 significant digits (far below f32 precision; keeps files small)."""
    return [float(f"{v:.10g}") for v in t.tolist()]


def tensor_json(t):
    if t.dtype in (torch.int32, torch.int64):
        return {"shape": list(t.shape), "dtype": "i32", "data": t.reshape(-1).tolist()}
    return {"shape": list(t.shape), "dtype": "f32", "data": sig(t.detach().reshape(-1))}


def case(name, fn, inputs):
    """inputs: numpy arrays (float -> f32 with grad, int -> i32). Records out and grads of sum(out*w)."""
    ts = []
    for a in inputs:
        if np.issubdtype(a.dtype, np.integer):
            ts.append(torch.tensor(a, dtype=torch.int64))
        else:
            ts.append(torch.tensor(f32(a).astype(np.float64), requires_grad=True))
    out = fn(*ts)
    w = torch.tensor(f32(rng.standard_normal(tuple(out.shape))).astype(np.float64))
    float_ins = [t for t in ts if t.is_floating_point()]
    grads = torch.autograd.grad((out * w).sum(), float_ins, allow_unused=True)
    gi = iter(grads)
    gl = []
    for t in ts:
        if t.is_floating_point():
            g = next(gi)
            gl.append(tensor_json(torch.zeros_like(t) if g is None else g))
        else:
            gl.append(None)
    return {"name": name, "inputs": [tensor_json(t) for t in ts], "out": tensor_json(out), "w": tensor_json(w), "grads": gl}


def r(*shape):
    return rng.standard_normal(shape)


def make_ops():
    F = torch.nn.functional
    cases = []
    # elementwise with broadcasting (2,1,3) . (4,1) -> (2,4,3)
    a, b = r(2, 1, 3), r(4, 1)
    cases.append(case("add", torch.add, [a, b]))
    cases.append(case("sub", torch.sub, [a, b]))
    cases.append(case("mul", torch.mul, [a, b]))
    cases.append(case("div", torch.div, [a, np.abs(b) + 0.5]))
    cases.append(case("pow", torch.pow, [np.abs(a) + 0.2, b]))
    cases.append(case("maximum", torch.maximum, [a, b]))
    cases.append(case("minimum", torch.minimum, [a, b]))
    cases.append(case("where", lambda c, x, y: torch.where(c > 0, x, y), [r(3, 1), r(1, 4), r(3, 4)]))
    cases.append(case("clamp", lambda x: torch.clamp(x, -0.5, 0.7), [r(5, 3)]))
    # reductions on (3, 4, 5)
    x = r(3, 4, 5)
    cases.append(case("sum_all", lambda t: t.sum(), [x]))
    cases.append(case("sum_0_2_keep", lambda t: t.sum(dim=(0, 2), keepdim=True), [x]))
    cases.append(case("sum_1", lambda t: t.sum(dim=1), [x]))
    cases.append(case("mean_m1", lambda t: t.mean(dim=-1), [x]))
    cases.append(case("mean_0_2", lambda t: t.mean(dim=(0, 2)), [x]))
    cases.append(case("max_m1", lambda t: t.amax(dim=-1), [x]))
    cases.append(case("max_0_2", lambda t: t.amax(dim=(0, 2)), [x]))
    cases.append(case("min_1_keep", lambda t: t.amin(dim=1, keepdim=True), [x]))
    cases.append(case("max_all", lambda t: t.amax(), [x]))
    # matmul
    cases.append(case("matmul_2d", torch.matmul, [r(3, 5), r(5, 4)]))
    cases.append(case("matmul_fold", torch.matmul, [r(2, 3, 5), r(5, 4)]))
    cases.append(case("matmul_bcast", torch.matmul, [r(2, 1, 3, 4), r(5, 4, 2)]))
    cases.append(case("matmul_tA", lambda p, q: p.transpose(-1, -2) @ q, [r(2, 4, 3), r(2, 4, 5)]))
    cases.append(case("matmul_tB", lambda p, q: p @ q.transpose(-1, -2), [r(2, 3, 4), r(5, 4)]))
    cases.append(case("matmul_tAB", lambda p, q: p.transpose(-1, -2) @ q.transpose(-1, -2), [r(4, 3), r(2, 5, 4)]))
    cases.append(case("linear", F.linear, [r(2, 3, 4), r(5, 4), r(5)]))
    cases.append(case("linear_nobias", F.linear, [r(7, 4), r(3, 4)]))
    # shape
    y = r(2, 3, 4)
    cases.append(case("permute", lambda t: t.permute(2, 0, 1), [y]))
    cases.append(case("slice", lambda t: t[:, 1:3, :], [y]))
    cases.append(case("concat", lambda p, q: torch.cat([p, q], dim=1), [r(2, 3, 4), r(2, 2, 4)]))
    cases.append(case("stack", lambda p, q: torch.stack([p, q], dim=2), [r(2, 3), r(2, 3)]))
    cases.append(case("pad", lambda t: F.pad(t, (2, 0, 1, 1, 0, 1), value=0.5), [y]))
    cases.append(case("broadcast_to", lambda t: t.expand(2, 3, 4), [r(3, 1)]))
    # index
    cases.append(case("index_select", lambda t, i: torch.index_select(t, 1, i), [r(2, 5, 3), np.array([4, 0, 0, 2])]))
    cases.append(case("gather", lambda t, i: torch.gather(t, 1, i), [r(3, 4), rng.integers(0, 4, (3, 5))]))
    cases.append(case("embedding", F.embedding, [np.array([[1, 3, 1], [0, 5, 3]]), r(6, 4)]))
    cases.append(case("scatter_add", lambda t, i, s: t.scatter_add(0, i, s), [r(4, 3), rng.integers(0, 4, (5, 3)), r(5, 3)]))

    def index_put(t, i, v):
        o = t.clone()
        o[i] = v
        return o

    cases.append(case("index_put", index_put, [r(6, 3), np.array([4, 1]), r(2, 3)]))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in [("dtype", make_dtype()), ("unary", make_unary()), ("ops", make_ops())]:
        path = os.path.join(OUT, name + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(data, f, separators=(",", ":"), allow_nan=False)
        os.replace(path + ".tmp", path)
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
