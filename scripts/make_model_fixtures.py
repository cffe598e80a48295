#!/usr/bin/python3
"""Golden fixtures for the models: tiny random VILA checkpoints in both layouts, written with an
independent PyTorch implementation of the Hugging Face / VILA modules (LlamaForCausalLM with GQA,
RoPE rotate-half and linear scaling, SigLIP and CLIP vision towers, VILA projectors with the
VILA1.5 2x2 merge), plus the logits PyTorch computes and per-stage tensors.

  /usr/bin/python3 scripts/make_model_fixtures.py      (writes test/fixtures/models/)

Written from transformers' modeling_llama.py / modeling_siglip.py / modeling_clip.py and VILA's
llava_arch.py / base_projector.py semantics; no library beyond torch and numpy is needed.
"""
import json, math, os, shutil, struct
import numpy as np
import torch
import torch.nn.functional as F

OUT = "test/fixtures/models"
torch.manual_seed(0)
torch.set_default_dtype(torch.float32)

# ---------------------------------------------------------------- safetensors writer
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}

def save_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def save_sharded(folder, tensors, n_shards):
    names = sorted(tensors)
    per = math.ceil(len(names) / n_shards)
    weight_map, total = {}, 0
    for s in range(n_shards):
        fn = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
        save_safetensors(os.path.join(folder, fn), part, {"format": "pt"})
        for n in part:
            weight_map[n] = fn
            total += part[n].numel() * part[n].element_size()
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, open(os.path.join(folder, "model.safetensors.index.json"), "w"), indent=1)

# ---------------------------------------------------------------- reference modules
def rms_norm(x, w, eps):
    x32 = x.float()
    return w * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps))

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

def rope(x, pos, theta, factor=1.0):
    # x (B, nh, T, hs); HF LlamaRotaryEmbedding (+ linear scaling divides positions)
    hs = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, hs, 2).float() / hs))
    t = pos.float() / factor
    freqs = t[..., None] * inv  # (B, T, hs/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    return x * cos + rotate_half(x) * sin

def llama_forward(W, c, embeds, pos, key_pad=None):
    B, T, C = embeds.shape
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    hs = C // nh
    factor = c["rope_scaling"]["factor"] if c.get("rope_scaling") else 1.0
    h = embeds
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], c["rms_norm_eps"])
        def proj(n):
            y = x @ W[p + f"self_attn.{n}_proj.weight"].T
            if p + f"self_attn.{n}_proj.bias" in W:
                y = y + W[p + f"self_attn.{n}_proj.bias"]
            return y
        q = proj("q").view(B, T, nh, hs).transpose(1, 2)
        k = proj("k").view(B, T, nkv, hs).transpose(1, 2)
        v = proj("v").view(B, T, nkv, hs).transpose(1, 2)
        q, k = rope(q, pos, c["rope_theta"], factor), rope(k, pos, c["rope_theta"], factor)
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        mask = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
        if key_pad is not None:
            mask = mask & key_pad.bool()[:, None, None, :]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1).nan_to_num(0.0)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        h = h + y @ W[p + "self_attn.o_proj.weight"].T
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        g = F.silu(x @ W[p + "mlp.gate_proj.weight"].T) * (x @ W[p + "mlp.up_proj.weight"].T)
        h = h + g @ W[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, W["model.norm.weight"], c["rms_norm_eps"])
    head = W["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else W["lm_head.weight"]
    return h @ head.T

def vit_hidden_states(W, c, pixels, kind):
    pre = "vision_model."
    C, p = c["hidden_size"], c["patch_size"]
    x = F.conv2d(pixels, W[pre + "embeddings.patch_embedding.weight"], W.get(pre + "embeddings.patch_embedding.bias"), stride=p)
    x = x.flatten(2).transpose(1, 2)  # (B, P, C)
    if kind == "clip":
        cls = W[pre + "embeddings.class_embedding"].expand(x.shape[0], 1, C)
        x = torch.cat([cls, x], dim=1)
    x = x + W[pre + "embeddings.position_embedding.weight"]
    eps = c["layer_norm_eps"]
    if kind == "clip":
        x = F.layer_norm(x, (C,), W[pre + "pre_layrnorm.weight"], W[pre + "pre_layrnorm.bias"], eps)
    hs = [x]
    nh = c["num_attention_heads"]
    for i in range(c["num_hidden_layers"]):
        q_ = pre + f"encoder.layers.{i}."
        y = F.layer_norm(x, (C,), W[q_ + "layer_norm1.weight"], W[q_ + "layer_norm1.bias"], eps)
        B, P, _ = y.shape
        def pj(n):
            return (y @ W[q_ + f"self_attn.{n}_proj.weight"].T + W[q_ + f"self_attn.{n}_proj.bias"]).view(B, P, nh, C // nh).transpose(1, 2)
        a = ((pj("q") @ pj("k").transpose(-1, -2)) / math.sqrt(C // nh)).softmax(-1) @ pj("v")
        a = a.transpose(1, 2).reshape(B, P, C)
        x = x + a @ W[q_ + "self_attn.out_proj.weight"].T + W[q_ + "self_attn.out_proj.bias"]
        y = F.layer_norm(x, (C,), W[q_ + "layer_norm2.weight"], W[q_ + "layer_norm2.bias"], eps)
        y = y @ W[q_ + "mlp.fc1.weight"].T + W[q_ + "mlp.fc1.bias"]
        if c["hidden_act"] == "gelu_pytorch_tanh":
            y = F.gelu(y, approximate="tanh")
        elif c["hidden_act"] == "quick_gelu":
            y = y * torch.sigmoid(1.702 * y)
        else:
            y = F.gelu(y)
        x = x + y @ W[q_ + "mlp.fc2.weight"].T + W[q_ + "mlp.fc2.bias"]
        hs.append(x)
    return hs

def downsample_vila15(x):
    # VILA1.5 DownSampleBlock.flat_square (no final permute): column-major block order
    n, N, c = x.shape
    h = int(N ** 0.5)
    x = x.reshape(n, h, h, c)
    if h % 2 == 1:  # a zero row at the bottom, then a zero column at the right
        x = torch.cat([x, torch.zeros(n, 1, h, c)], dim=1)
        x = torch.cat([x, torch.zeros(n, h + 1, 1, c)], dim=2)
    n, R, K, c = x.shape
    x = x.reshape(n, R, K // 2, 2 * c).permute(0, 2, 1, 3).reshape(n, K // 2, R // 2, 4 * c)
    return x.reshape(n, -1, 4 * c)

def projector(W, kind, x):
    if kind == "mlp_downsample":
        x = downsample_vila15(x)
        x = F.layer_norm(x, (x.shape[-1],), W["layers.1.weight"], W["layers.1.bias"], 1e-5)
        x = F.gelu(x @ W["layers.2.weight"].T + W["layers.2.bias"])
        return x @ W["layers.4.weight"].T + W["layers.4.bias"]
    if kind == "mlp2x_gelu":
        x = F.gelu(x @ W["layers.0.weight"].T + W["layers.0.bias"])
        return x @ W["layers.2.weight"].T + W["layers.2.bias"]
    raise ValueError(kind)

def splice(Wl, ids, feats):
    """VILA1.5 prepare_inputs_labels_for_multimodal for a batch; right padding with zeros."""
    rows, img = [], 0
    E = Wl["model.embed_tokens.weight"]
    for row in ids:
        parts = []
        for t in row:
            if t == -200:
                parts.append(feats[img]); img += 1
            else:
                parts.append(E[t][None])
        rows.append(torch.cat(parts, 0))
    T = max(r.shape[0] for r in rows)
    emb = torch.zeros(len(rows), T, E.shape[1])
    pad = torch.zeros(len(rows), T, dtype=torch.long)
    for b, r in enumerate(rows):
        emb[b, :r.shape[0]] = r
        pad[b, :r.shape[0]] = 1
    return emb, pad, [r.shape[0] for r in rows]

# ---------------------------------------------------------------- random weights
def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std

def llama_weights(c):
    C, F_, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    hs = C // nh
    W = {"model.embed_tokens.weight": rnd(V, C, std=0.5), "model.norm.weight": 1 + rnd(C)}
    if not c.get("tie_word_embeddings"):
        W["lm_head.weight"] = rnd(V, C)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "self_attn.q_proj.weight"] = rnd(nh * hs, C)
        W[p + "self_attn.k_proj.weight"] = rnd(nkv * hs, C)
        W[p + "self_attn.v_proj.weight"] = rnd(nkv * hs, C)
        W[p + "self_attn.o_proj.weight"] = rnd(C, nh * hs)
        if c.get("attention_bias"):
            for n, d in (("q", nh * hs), ("k", nkv * hs), ("v", nkv * hs)):
                W[p + f"self_attn.{n}_proj.bias"] = rnd(d)
        W[p + "mlp.gate_proj.weight"] = rnd(F_, C)
        W[p + "mlp.up_proj.weight"] = rnd(F_, C)
        W[p + "mlp.down_proj.weight"] = rnd(C, F_)
        W[p + "input_layernorm.weight"] = 1 + rnd(C)
        W[p + "post_attention_layernorm.weight"] = 1 + rnd(C)
    return W

def vit_weights(c, kind):
    C, F_, p = c["hidden_size"], c["intermediate_size"], c["patch_size"]
    P = (c["image_size"] // p) ** 2
    pre = "vision_model."
    W = {pre + "embeddings.patch_embedding.weight": rnd(C, 3, p, p),
         pre + "embeddings.position_embedding.weight": rnd(P + (1 if kind == "clip" else 0), C),
         pre + "post_layernorm.weight": 1 + rnd(C), pre + "post_layernorm.bias": rnd(C)}
    if kind == "siglip":
        W[pre + "embeddings.patch_embedding.bias"] = rnd(C)
        # the attention-pooling head: present in real checkpoints, unused by VILA
        W[pre + "head.probe"] = rnd(1, 1, C)
        W[pre + "head.attention.in_proj_weight"] = rnd(3 * C, C)
    else:
        W[pre + "embeddings.class_embedding"] = rnd(C)
        W[pre + "pre_layrnorm.weight"] = 1 + rnd(C)
        W[pre + "pre_layrnorm.bias"] = rnd(C)
    for i in range(c["num_hidden_layers"]):
        q = pre + f"encoder.layers.{i}."
        for n in ("q", "k", "v", "out"):
            W[q + f"self_attn.{n}_proj.weight"] = rnd(C, C)
            W[q + f"self_attn.{n}_proj.bias"] = rnd(C)
        W[q + "layer_norm1.weight"] = 1 + rnd(C); W[q + "layer_norm1.bias"] = rnd(C)
        W[q + "layer_norm2.weight"] = 1 + rnd(C); W[q + "layer_norm2.bias"] = rnd(C)
        W[q + "mlp.fc1.weight"] = rnd(F_, C); W[q + "mlp.fc1.bias"] = rnd(F_)
        W[q + "mlp.fc2.weight"] = rnd(C, F_); W[q + "mlp.fc2.bias"] = rnd(C)
    return W

def rounded(W, dtype):
    """Store as dtype; compute with exactly the stored values."""
    stored = {k: v.to(dtype) for k, v in W.items()}
    return stored, {k: v.float() for k, v in stored.items()}

def lst(t):
    return [round(float(x), 7) for x in t.detach().flatten().tolist()]

def write_tokenizer_files(folder):
    # a minimal HF tokenizer (WordLevel over ids) so the layout is complete; ids are passed directly in tests
    vocab = {f"t{i}": i for i in range(64)}
    json.dump({"version": "1.0", "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "t0"},
               "pre_tokenizer": {"type": "Whitespace"}, "added_tokens": [], "normalizer": None,
               "post_processor": None, "decoder": None}, open(os.path.join(folder, "tokenizer.json"), "w"))
    json.dump({"bos_token": "t1", "eos_token": "t2", "pad_token": "t0", "model_max_length": 64},
              open(os.path.join(folder, "tokenizer_config.json"), "w"))

# ================================================================ fixture 1: VILA1.5 layout
def vila15():
    d = os.path.join(OUT, "vila15")
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("llm", "vision_tower", "mm_projector"):
        os.makedirs(os.path.join(d, sub))
    llm_cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 32,
               "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
               "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 256, "tie_word_embeddings": False,
               "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
               "model_max_length": 256, "tokenizer_model_max_length": 256, "tokenizer_padding_side": "right"}
    vt_cfg = {"architectures": ["SiglipVisionModel"], "model_type": "siglip_vision_model", "hidden_size": 16,
              "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 2, "image_size": 20,
              "patch_size": 4, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6, "num_channels": 3}
    pj_cfg = {"architectures": ["MultimodalProjector"], "model_type": "v2l_projector", "mm_projector_type": "mlp_downsample"}
    top = {"architectures": ["LlavaLlamaModel"], "model_type": "llava_llama", "hidden_size": 32, "mm_hidden_size": 16,
           "image_aspect_ratio": "resize", "mm_vision_select_layer": -2, "mm_vision_select_feature": "cls_patch",
           "mm_use_im_start_end": False, "mm_use_im_patch_token": False, "model_dtype": "torch.bfloat16",
           "llm_cfg": dict(llm_cfg, num_hidden_layers=99), "vision_tower_cfg": vt_cfg, "mm_projector_cfg": pj_cfg,
           "tune_language_model": True, "tune_mm_projector": True, "tune_vision_tower": False}
    json.dump(top, open(os.path.join(d, "config.json"), "w"), indent=1)  # llm_cfg deliberately stale: sub-folder wins
    json.dump(llm_cfg, open(os.path.join(d, "llm", "config.json"), "w"), indent=1)
    json.dump(vt_cfg, open(os.path.join(d, "vision_tower", "config.json"), "w"), indent=1)
    json.dump(pj_cfg, open(os.path.join(d, "mm_projector", "config.json"), "w"), indent=1)
    json.dump({"image_processor_type": "SiglipImageProcessor", "do_resize": True, "size": {"height": 20, "width": 20},
               "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
               "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
              open(os.path.join(d, "vision_tower", "preprocessor_config.json"), "w"), indent=1)
    write_tokenizer_files(os.path.join(d, "llm"))

    Wl_s, Wl = rounded(llama_weights(llm_cfg), torch.bfloat16)
    Wv_s, Wv = rounded(vit_weights(vt_cfg, "siglip"), torch.float16)
    Wp = {"layers.1.weight": 1 + rnd(64), "layers.1.bias": rnd(64), "layers.2.weight": rnd(32, 64), "layers.2.bias": rnd(32),
          "layers.4.weight": rnd(32, 32), "layers.4.bias": rnd(32)}
    save_sharded(os.path.join(d, "llm"), Wl_s, 2)
    save_safetensors(os.path.join(d, "vision_tower", "model.safetensors"), Wv_s)
    save_safetensors(os.path.join(d, "mm_projector", "model.safetensors"), Wp)

    pixels = torch.rand(3, 3, 20, 20) * 2 - 1
    with torch.no_grad():
        hs = vit_hidden_states(Wv, vt_cfg, pixels, "siglip")
        feats_v = hs[-2]  # cls_patch keeps all 25
        feats = projector(Wp, "mlp_downsample", feats_v)  # (3, 9, 32)
        ids = [[1, 5, -200, 7, 9, -200, 11], [1, 3, -200, 4, 6, 8, 10]]
        emb, pad, lens = splice(Wl, ids, feats)
        T = emb.shape[1]
        pos = torch.arange(T)[None].repeat(2, 1)
        logits = llama_forward(Wl, llm_cfg, emb, pos, pad)
        labels = [[-100, 5, -200, 7, 9, -200, 11], [-100, -100, -200, 4, 6, 8, 10]]
        lab_rows = []
        for row, lrow in zip(ids, labels):
            out = []
            for t, l in zip(row, lrow):
                out += [-100] * 9 if t == -200 else [l]
            lab_rows.append(out + [-100] * (T - len(out)))
        lab = torch.tensor(lab_rows)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, 64), lab[:, 1:].reshape(-1), ignore_index=-100)
        # text-only, single row
        t_ids = torch.tensor([[1, 9, 8, 7, 6]])
        t_logits = llama_forward(Wl, llm_cfg, Wl["model.embed_tokens.weight"][t_ids], torch.arange(5)[None])
    fx = {"pixels": lst(pixels), "pixels_shape": list(pixels.shape), "ids": ids, "labels": labels,
          "vision_features": lst(feats_v), "vision_features_shape": list(feats_v.shape),
          "projector_out": lst(feats), "projector_out_shape": list(feats.shape), "lengths": lens,
          "logits": lst(logits), "logits_shape": list(logits.shape), "loss": float(loss),
          "text_ids": t_ids.tolist(), "text_logits": lst(t_logits)}
    json.dump(fx, open(os.path.join(OUT, "vila15_expected.json"), "w"))

# ================================================================ fixture 2: monolithic LLaVA-1.5 layout
def llava_monolithic():
    d = os.path.join(OUT, "llava15")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    llm_cfg = {"vocab_size": 64, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2,
               "num_attention_heads": 3, "num_key_value_heads": 3, "rms_norm_eps": 1e-6, "rope_theta": 500.0,
               "rope_scaling": {"type": "linear", "factor": 2.0}, "max_position_embeddings": 128,
               "tie_word_embeddings": True, "attention_bias": True}
    vt_cfg = {"hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 2, "num_attention_heads": 4,
              "image_size": 12, "patch_size": 4, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    top = dict(llm_cfg, architectures=["LlavaLlamaForCausalLM"], model_type="llava_llama", hidden_act="silu",
               mm_vision_tower="../llava15_tower", mm_projector_type="mlp2x_gelu", mm_hidden_size=16,
               mm_vision_select_layer=-2, mm_vision_select_feature="patch", image_aspect_ratio="pad",
               bos_token_id=1, eos_token_id=2, pad_token_id=0)
    json.dump(top, open(os.path.join(d, "config.json"), "w"), indent=1)
    # LLaVA names its tower by hub id; a local folder with the tower's config stands in for it
    tower = os.path.join(OUT, "llava15_tower")
    shutil.rmtree(tower, ignore_errors=True)
    os.makedirs(tower)
    json.dump({"architectures": ["CLIPVisionModel"], "model_type": "clip_vision_model", **vt_cfg},
              open(os.path.join(tower, "config.json"), "w"), indent=1)
    json.dump({"crop_size": 12, "do_center_crop": True, "do_normalize": True, "do_resize": True, "resample": 3, "size": 12,
               "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
              open(os.path.join(tower, "preprocessor_config.json"), "w"), indent=1)
    write_tokenizer_files(d)
    Wl = llama_weights(llm_cfg)
    Wv = vit_weights(vt_cfg, "clip")
    Wp = {"layers.0.weight": rnd(24, 16), "layers.0.bias": rnd(24), "layers.2.weight": rnd(24, 24), "layers.2.bias": rnd(24)}
    mono = {}
    for k, v in Wl.items():
        mono[k] = v
    for k, v in Wv.items():
        mono["model.vision_tower.vision_tower." + k] = v
    for k, v in Wp.items():
        mono["model.mm_projector." + k[len("layers."):]] = v
    save_sharded(d, mono, 3)
    pixels = torch.rand(2, 3, 12, 12) * 2 - 1
    with torch.no_grad():
        hs = vit_hidden_states(Wv, vt_cfg, pixels, "clip")
        feats_v = hs[-2][:, 1:]  # patch: drop CLS
        feats = projector(Wp, "mlp2x_gelu", feats_v)  # (2, 9, 24)
        ids = [[1, -200, 4, 5, -200, 6]]
        emb, pad, lens = splice(Wl, ids, feats)
        logits = llama_forward(Wl, llm_cfg, emb, torch.arange(emb.shape[1])[None])
    json.dump({"pixels": lst(pixels), "pixels_shape": list(pixels.shape), "ids": ids,
               "vision_features": lst(feats_v), "projector_out": lst(feats), "logits": lst(logits),
               "logits_shape": list(logits.shape)}, open(os.path.join(OUT, "llava15_expected.json"), "w"))

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    vila15()
    llava_monolithic()
    print("wrote", OUT)
