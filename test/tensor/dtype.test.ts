// toDtype and the js conversion kernels against PyTorch (bf16) and NumPy (f16) round-to-nearest-
// even conversions (test/fixtures/core/dtype.json): ties, subnormals, overflow, NaN/Inf.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as core from "../../src/backend/js/core.js";
import { toDtype } from "../../src/tensor/dtype.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { loadCoreFixture } from "./fixtures.js";

interface DtypeFixture {
  f32_bits: number[];
  bf16: number[];
  f16: number[];
  f16_bits: number[];
  f16_as_f32_bits: number[];
}

const fx = loadCoreFixture<DtypeFixture>("dtype");
const input = new Float32Array(Uint32Array.from(fx.f32_bits).buffer);

const isNaN16 = (h: number, expBits: number, mantMask: number) =>
  (h & expBits) === expBits && (h & mantMask) !== 0;
const bf16NaN = (h: number) => isNaN16(h, 0x7f80, 0x7f);
const f16NaN = (h: number) => isNaN16(h, 0x7c00, 0x3ff);

function assertBits(got: Uint16Array, want: number[], nan: (h: number) => boolean, label: string): void {
  for (let i = 0; i < want.length; i++) {
    if (nan(want[i]))
      assert.ok(nan(got[i]), `${label}: input ${input[i]} should give NaN, got 0x${got[i].toString(16)}`);
    else {
      assert.equal(
        got[i],
        want[i],
        `${label}: ${input[i]} (0x${fx.f32_bits[i].toString(16)}) -> 0x${got[i].toString(16)}, want 0x${want[i].toString(16)}`,
      );
    }
  }
}

describe("f32 -> bf16 / f16 round to nearest even", () => {
  test("js kernels match torch (bf16) and numpy (f16) bit for bit", () => {
    const b = new Uint16Array(input.length);
    core.f32ToBf16(input, b);
    assertBits(b, fx.bf16, bf16NaN, "f32ToBf16");
    const h = new Uint16Array(input.length);
    core.f32ToF16(input, h);
    assertBits(h, fx.f16, f16NaN, "f32ToF16");
  });

  test("toDtype (current backend) matches too", () => {
    const t = new Tensor(new Float32Array(input), [input.length]);
    const b = toDtype(t, "bf16");
    assert.equal(b.dtype, "bf16");
    assertBits(b.data as Uint16Array, fx.bf16, bf16NaN, "toDtype bf16");
    const h = toDtype(t, "f16");
    assert.equal(h.dtype, "f16");
    assertBits(h.data as Uint16Array, fx.f16, f16NaN, "toDtype f16");
  });

  test("the fixture covers ties, subnormals and overflow", () => {
    // guards against a fixture regenerated without its edge cases
    const has = (v: number) => input.some((x) => x === v);
    assert.ok(
      has(65520) && has(65519) && has(2 ** -25) && has(1.5 * 2 ** -24) && has(Number.POSITIVE_INFINITY),
    );
    assert.ok(fx.f32_bits.some((u) => (u & 0xffff) === 0x8000));
  });
});

describe("bf16 / f16 -> f32 is exact", () => {
  test("f16 bit patterns against numpy", () => {
    const h = Uint16Array.from(fx.f16_bits);
    const want = new Float32Array(Uint32Array.from(fx.f16_as_f32_bits).buffer);
    const got = toDtype(new Tensor(h, [h.length], "f16"), "f32").f32;
    for (let i = 0; i < h.length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]));
      else assert.ok(Object.is(got[i], want[i]), `f16 0x${h[i].toString(16)} -> ${got[i]}, want ${want[i]}`);
    }
  });

  test("every bf16 and f16 value round-trips through f32 unchanged", () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const dt of ["bf16", "f16"] as const) {
      const wide = toDtype(new Tensor(all, [65536], dt), "f32");
      const back = toDtype(wide, dt).data as Uint16Array;
      const nan = dt === "bf16" ? bf16NaN : f16NaN;
      for (let i = 0; i < 65536; i++) {
        if (nan(i)) assert.ok(nan(back[i]) && Number.isNaN(wide.f32[i]), `${dt} NaN 0x${i.toString(16)}`);
        else
          assert.equal(
            back[i],
            i,
            `${dt} 0x${i.toString(16)} -> ${wide.f32[i]} -> 0x${back[i].toString(16)}`,
          );
      }
    }
  });

  test("bf16 -> f16 goes through f32; same dtype returns the tensor; i32 widens; bad targets throw", () => {
    const t = new Tensor(Float32Array.from([1.5, -2, 65504]), [3]);
    const b = toDtype(t, "bf16");
    assert.equal(toDtype(b, "bf16"), b);
    // 65504 rounds up to 65536 in bf16, which overflows f16
    assert.deepEqual([...toDtype(toDtype(b, "f16"), "f32").f32], [1.5, -2, Number.POSITIVE_INFINITY]);
    assert.deepEqual([...toDtype(new Tensor(Int32Array.from([3, -7]), [2]), "f32").f32], [3, -7]);
    assert.throws(
      () => toDtype(new Tensor(Int32Array.from([3]), [1]), "bf16"),
      /convert i32 tensor of shape \[1\] to f32/,
    );
  });
});
