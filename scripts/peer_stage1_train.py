#!/usr/bin/python3
"""Stage 1 in PyTorch from a vila-ts checkpoint: the cross-check that a learning curve is the model's
and not the engine's. Loads CHECKPOINT (VILA1.5 layout: llm/, vision_tower/, mm_projector/, f32 or
bf16 safetensors; SigLIP tower, mlp_downsample projector), trains every part with the recipe's stage-1
settings (AdamW betas 0.9/0.999, lr 1e-3 LLM and tower, 3e-3 projector, warmup 3% then cosine,
clip 1, 32 random samples a step, padded batches) on DATA from scripts/dump_pair_tokens.mjs (images
relative to MEDIA_DIR, preprocessed as SigLIP: x/255, mean 0.5, std 0.5), and prints the loss every
20 steps. The model is scripts/make_model_fixtures.py's reference forward.
Usage: /usr/bin/python3 scripts/peer_stage1_train.py CHECKPOINT DATA.json MEDIA_DIR STEPS"""
import json, math, os, struct, sys
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import llama_forward, vit_hidden_states, projector
torch.manual_seed(0); torch.set_num_threads(2)
ck, data, media, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def load_st(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n; W = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; raw = b[base + s: base + e]
        if v["dtype"] == "F32": t = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
        elif v["dtype"] == "BF16": t = torch.from_numpy((np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32).copy())
        else: raise ValueError(v["dtype"])
        W[k] = t.reshape(v["shape"]).clone().requires_grad_(True)
    return W
Wl, Wv, Wp = (load_st(f"{ck}/{p}/model.safetensors") for p in ("llm", "vision_tower", "mm_projector"))
cl = json.load(open(f"{ck}/llm/config.json")); cv = json.load(open(f"{ck}/vision_tower/config.json"))
top = json.load(open(f"{ck}/config.json")); sel = top.get("mm_vision_select_layer", -2)
D = json.load(open(data))
pix = torch.stack([torch.from_numpy((np.asarray(Image.open(os.path.join(media, d["image"])).convert("RGB"), dtype=np.float32) / 255 - 0.5) / 0.5).permute(2, 0, 1) for d in D])
def batch_loss(idx):
    hs = vit_hidden_states(Wv, cv, pix[idx], "siglip"); f = hs[sel]
    feats = projector(Wp, "mlp_downsample", f)
    E = Wl["model.embed_tokens.weight"]; rows, labs = [], []
    for j, i in enumerate(idx):
        ids, lb = D[i]["ids"], D[i]["labels"]; parts, L = [], []
        for t, l in zip(ids, lb):
            if t == -200: parts.append(feats[j]); L += [-100] * feats.shape[1]
            else: parts.append(E[t][None]); L.append(l)
        rows.append(torch.cat(parts)); labs.append(L)
    T = max(r.shape[0] for r in rows); B = len(rows)
    emb = torch.zeros(B, T, E.shape[1]); pad = torch.zeros(B, T, dtype=torch.long); lab = torch.full((B, T), -100)
    for b, r in enumerate(rows): emb[b, :r.shape[0]] = r; pad[b, :r.shape[0]] = 1; lab[b, :r.shape[0]] = torch.tensor(labs[b])
    logits = llama_forward(Wl, cl, emb, torch.arange(T)[None].expand(B, T), pad)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
groups = [{"params": list(Wl.values()), "lr": 1e-3}, {"params": list(Wv.values()), "lr": 1e-3}, {"params": list(Wp.values()), "lr": 3e-3}]
base = [g["lr"] for g in groups]
opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
warm = math.ceil(0.03 * steps); g = torch.Generator().manual_seed(0)
params = [p for gr in groups for p in gr["params"]]
for s in range(steps):
    m = s / max(1, warm) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))
    for gr, b in zip(groups, base): gr["lr"] = b * m
    idx = torch.randint(0, len(D), (32,), generator=g).tolist()
    loss = batch_loss(idx); opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step()
    if (s + 1) % 20 == 0: print(f"step {s+1} loss {loss.item():.4f}", flush=True)
