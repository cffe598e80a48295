#!/usr/bin/env python3
"""Fixtures for test/io (safetensors, images), written by the reference implementations.

safetensors: the official `safetensors` library (0.8) writes files in every dtype, a sharded set with a
transformers-style index, and the byte-exact file our writer must reproduce. images: numpy + PIL make
small test images and the VILA / Hugging Face preprocessing outputs (PIL resize, expand2square,
shortest-edge resize + centre crop, rescale, normalise), re-implemented here step by step from
llava/mm_utils.py@vila1.5 and transformers' image_transforms.py / image_processing_{clip,siglip}.py.

Run: PYTHONPATH=<dir with safetensors> /usr/bin/python3 scripts/make_io_fixtures.py
(the Debian 12 image has no python3-safetensors; `pip install --target DIR safetensors` works).
"""
import base64
import json
import os
import struct

import numpy as np
import PIL
from PIL import Image
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "io")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


# ------------------------------------------------------------------------------------------------
# safetensors: every dtype, with values read back exactly


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """round-to-nearest-even f32 -> bf16 bits (what torch does)."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


tensors = {
    "f64": rng.standard_normal((2, 3)).astype(np.float64),
    "f32.weight": rng.standard_normal((3, 4)).astype(np.float32),
    "f32.scalar": np.array(3.25, dtype=np.float32),
    "f32.empty": np.zeros((0, 3), dtype=np.float32),
    "f16": np.array([1.0, -2.5, 65504.0, 6.1e-5, 5.96e-8, 0.0, -0.0, np.inf], dtype=np.float16),
    "i64": np.array([[0, -1], [2147483647, -2147483648]], dtype=np.int64),
    "i64.big": np.array([1, 2**40], dtype=np.int64),
    "i32": np.array([-7, 0, 123456789], dtype=np.int32),
    "i16": np.array([-32768, 5, 32767], dtype=np.int16),
    "i8": np.array([-128, -1, 0, 127], dtype=np.int8),
    "u8": np.array([[0, 1, 255]], dtype=np.uint8),
    "bool": np.array([True, False, True, True]),
}
# bf16: safetensors.numpy cannot express it, so write it through torch if present, else by raw bits
bf16_vals = rng.standard_normal(6).astype(np.float32)
bf16_bits = f32_to_bf16_bits(bf16_vals)
save_file(tensors, os.path.join(OUT, "dtypes_np.safetensors"), metadata={"format": "np"})
try:
    import torch
    from safetensors.torch import save_file as save_torch

    t = torch.from_numpy(bf16_vals).to(torch.bfloat16)
    assert np.array_equal(t.view(torch.int16).numpy().view(np.uint16), bf16_bits)
    save_torch({"bf16": t, "f32.ref": torch.from_numpy(bf16_vals)}, os.path.join(OUT, "bf16_pt.safetensors"), metadata={"format": "pt"})
except ImportError:
    raise SystemExit("torch is needed for the bf16 fixture")

expected = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "b64": b64(v.astype(np.uint8) if v.dtype == np.bool_ else v)} for k, v in tensors.items()}
expected["bf16"] = {"dtype": "bfloat16", "shape": [6], "b64": b64(bf16_bits)}

# sharded: two shards + index, as transformers' save_pretrained lays them out
shard_a = {"model.embed_tokens.weight": rng.standard_normal((5, 4)).astype(np.float32), "model.norm.weight": np.ones(4, np.float32)}
shard_b = {"lm_head.weight": rng.standard_normal((5, 4)).astype(np.float32)}
os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
save_file(shard_a, os.path.join(OUT, "sharded", "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
save_file(shard_b, os.path.join(OUT, "sharded", "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
weight_map = {k: "model-00001-of-00002.safetensors" for k in shard_a} | {k: "model-00002-of-00002.safetensors" for k in shard_b}
total = sum(v.nbytes for v in {**shard_a, **shard_b}.values())
with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
    f.write(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")
for k, v in {**shard_a, **shard_b}.items():
    expected[k] = {"dtype": "float32", "shape": list(v.shape), "b64": b64(v)}

# the file our writer must reproduce byte for byte (single metadata key: the library's metadata map is unordered)
mixed = {
    "z.last": np.arange(3, dtype=np.int32),
    "a.first": np.arange(4, dtype=np.float32) / 3,
    "m.mid": np.array([1, -2], dtype=np.int64),
    "b.bytes": np.array([1, 2, 3], dtype=np.uint8),
    "c.half": np.array([0.5, 1.5], dtype=np.float16),
    "flag": np.array([True, False]),
}
save_file(mixed, os.path.join(OUT, "writer_ref.safetensors"), metadata={"format": "pt"})
expected_writer = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "b64": b64(v.astype(np.uint8) if v.dtype == np.bool_ else v)} for k, v in mixed.items()}

with open(os.path.join(OUT, "safetensors_expected.json"), "w") as f:
    json.dump({"tensors": expected, "writer": expected_writer}, f, indent=1)

# ------------------------------------------------------------------------------------------------
# images


def smooth_noise(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 / max(w - 1, 1)), (y * 255 / max(h - 1, 1)), ((x + y) * 97) % 256, (x * y * 31) % 256], -1)[..., :c]
    return np.clip(base * 0.6 + rng.integers(0, 100, (h, w, c)), 0, 255).astype(np.uint8)


Image.fromarray(smooth_noise(23, 37, 3), "RGB").save(os.path.join(OUT, "rgb.png"))
Image.fromarray(smooth_noise(17, 11, 4), "RGBA").save(os.path.join(OUT, "rgba.png"))
Image.fromarray(smooth_noise(9, 14, 1)[..., 0], "L").save(os.path.join(OUT, "gray.png"))
Image.open(os.path.join(OUT, "rgb.png")).save(os.path.join(OUT, "rgb.jpg"), quality=90)
Image.open(os.path.join(OUT, "rgba.png")).save(os.path.join(OUT, "rgba.webp"), lossless=True)
with open(os.path.join(OUT, "rgb.png"), "rb") as f:
    png = f.read()
with open(os.path.join(OUT, "broken.png"), "wb") as f:
    f.write(png[: len(png) // 2])

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def hf_rescale_normalize(img: Image.Image, mean, std, factor=1 / 255) -> np.ndarray:
    a = np.asarray(img)  # (H, W, 3) uint8
    a = (a * factor).astype(np.float32)  # transformers.image_transforms.rescale
    a = (a - np.array(mean, np.float32)) / np.array(std, np.float32)  # normalize, float32
    return a.transpose(2, 0, 1)  # channels first


def hf_siglip(img: Image.Image, size, mean, std) -> np.ndarray:
    img = img.resize((size, size), resample=Image.BICUBIC)  # PIL: same size -> copy
    return hf_rescale_normalize(img, mean, std)


def hf_clip(img: Image.Image, shortest, crop, mean, std) -> np.ndarray:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shortest, int(shortest * long / short)  # get_resize_output_image_size
    nh, nw = (new_long, new_short) if w <= h else (new_short, new_long)
    img = img.resize((nw, nh), resample=Image.BICUBIC)
    top, left = (nh - crop) // 2, (nw - crop) // 2  # image_transforms.center_crop
    img = img.crop((left, top, left + crop, top + crop))
    return hf_rescale_normalize(img, mean, std)


def expand2square(img: Image.Image, fill) -> Image.Image:  # llava/mm_utils.py
    w, h = img.size
    if w == h:
        return img
    if w > h:
        out = Image.new(img.mode, (w, w), fill)
        out.paste(img, (0, (w - h) // 2))
        return out
    out = Image.new(img.mode, (h, h), fill)
    out.paste(img, ((h - w) // 2, 0))
    return out


cases = []
for name in ["rgb.png", "rgba.png", "gray.png", "rgb.jpg", "rgba.webp"]:
    img = Image.open(os.path.join(OUT, name)).convert("RGB")
    cases.append({"image": name, "what": "decode", "shape": [img.size[1], img.size[0], 3], "b64": b64(np.asarray(img))})
# raw PIL resampling of the decoded RGB image, every filter the processors may name, down and up
img = Image.open(os.path.join(OUT, "rgb.png")).convert("RGB")
for resample in [0, 1, 2, 3, 4, 5]:
    for (w, h) in [(24, 24), (50, 31), (7, 40)]:
        r = np.asarray(img.resize((w, h), resample=resample))
        cases.append({"image": "rgb.png", "what": "resample", "resample": resample, "size": [w, h], "shape": list(r.shape), "b64": b64(r)})
# full pipelines (VILA process_image + processor)
for name in ["rgb.png", "rgba.png", "gray.png"]:
    img = Image.open(os.path.join(OUT, name)).convert("RGB")
    # VILA1.5 + SigLIP: image_aspect_ratio "resize": img.resize((size, size)) (default bicubic), then processor
    out = hf_siglip(img.resize((24, 24)), 24, [0.5] * 3, [0.5] * 3)
    cases.append({"image": name, "what": "pipeline", "mode": "resize", "processor": "siglip", "size": 24, "shape": list(out.shape), "b64": b64(out)})
    # LLaVA-1.5 / VILA v1.0 + CLIP: "pad" = expand2square with int(mean*255) fill, then processor
    sq = expand2square(img, tuple(int(m * 255) for m in CLIP_MEAN))
    out = hf_clip(sq, 20, 18, CLIP_MEAN, CLIP_STD)
    cases.append({"image": name, "what": "pipeline", "mode": "pad", "processor": "clip", "size": 20, "crop": 18, "shape": list(out.shape), "b64": b64(out)})
    # CLIP processor alone: shortest edge + centre crop
    out = hf_clip(img, 20, 18, CLIP_MEAN, CLIP_STD)
    cases.append({"image": name, "what": "pipeline", "mode": "processor", "processor": "clip", "size": 20, "crop": 18, "shape": list(out.shape), "b64": b64(out)})

with open(os.path.join(OUT, "image_expected.json"), "w") as f:
    json.dump({"pillow": PIL.__version__, "clip_mean": CLIP_MEAN, "clip_std": CLIP_STD, "cases": cases}, f)
print("wrote", sorted(os.listdir(OUT)))
