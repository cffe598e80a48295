#!/usr/bin/python3
"""PyTorch CPU peer for bench/recipe_stage1.ts: training steps of the recipe models, fp32, the same
shapes as the TypeScript side. shape.mode "vila": VILA stage 1 (projector + LLM trained, vision tower
frozen); "llm": the LLM alone on text; "vit": the vision tower alone (every parameter, loss =
mean(h^2) of its last hidden state; rates in patch tokens/s). The parts:
SigLIP-style ViT (conv patch embedding, learned positions, pre-LN layers, gelu-tanh), the
mlp_downsample projector (2x2 merge, LayerNorm, Linear, GELU, Linear), a Llama decoder (RMSNorm,
RoPE, SwiGLU, tied embeddings), image embeddings spliced where the ids hold -200, cross-entropy with
-100 at image positions. Prints one JSON line {"tokens_per_s": [...], "max_rss_mb": x, "loss": x};
tokens are spliced positions (text + image embeddings), as the trainer counts them.
Usage: /usr/bin/python3 scripts/bench_stage1_peer.py CONFIG_JSON THREADS"""
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from peer_llama import DecoderLayer, RMSNorm, causal_mask, rope_tables

cfg = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)
llm, vis, shape = cfg["llm"], cfg["vision"], cfg["shape"]
V, D, L, H, FF = llm["vocab_size"], llm["hidden_size"], llm["num_hidden_layers"], llm["num_attention_heads"], llm["intermediate_size"]
VD, VL, VH, VF, S, P = vis["hidden_size"], vis["num_hidden_layers"], vis["num_attention_heads"], vis["intermediate_size"], vis["image_size"], vis["patch_size"]
B, T, IMGS, STEPS = shape["rows"], shape["row_tokens"], shape["images_per_row"], shape["steps"]
MODE = shape["mode"]
SEL = cfg["mm_vision_select_layer"] if MODE != "vit" else -1
SEL = VL + 1 + SEL if SEL < 0 else SEL  # hidden_states index: 0 = embeddings, i = after layer i
G = S // P  # patch grid side
N = (G // 2) ** 2  # image embeddings per image after the 2x2 merge


class VitLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(VD, eps=1e-6), nn.LayerNorm(VD, eps=1e-6)
        self.qkv = nn.ModuleList(nn.Linear(VD, VD) for _ in range(3))
        self.out = nn.Linear(VD, VD)
        self.fc1, self.fc2 = nn.Linear(VD, VF), nn.Linear(VF, VD)

    def forward(self, h):
        n, p, _ = h.shape
        x = self.ln1(h)
        q, k, v = (m(x).view(n, p, VH, VD // VH).transpose(1, 2) for m in self.qkv)
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(VD // VH)).softmax(-1)
        h = h + self.out((att @ v).transpose(1, 2).reshape(n, p, VD))
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h)), approximate="tanh"))


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, VD, P, stride=P)
        self.pos = nn.Parameter(torch.randn(G * G, VD) * 0.02)
        self.layers = nn.ModuleList(VitLayer() for _ in range(VL))

    def forward(self, px):  # (n, 3, S, S) -> hidden_states[SEL] (n, G*G, VD), as VILA selects
        h = self.patch(px).flatten(2).transpose(1, 2) + self.pos
        for l in self.layers[:SEL]:
            h = l(h)
        return h


class Projector(nn.Module):  # mlp_downsample
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(4 * VD)
        self.l1, self.l2 = nn.Linear(4 * VD, D), nn.Linear(D, D)

    def forward(self, f):  # (n, G*G, VD) -> (n, N, D)
        n = f.shape[0]
        g = f.view(n, G // 2, 2, G // 2, 2, VD).permute(0, 3, 1, 2, 4, 5).reshape(n, N, 4 * VD)
        return self.l2(F.gelu(self.l1(self.ln(g))))


class Vila(nn.Module):
    def __init__(self):
        super().__init__()
        self.tower, self.proj = Tower(), Projector()
        self.emb = nn.Embedding(V, D)
        self.layers = nn.ModuleList(DecoderLayer(D, H, FF) for _ in range(L))
        self.norm = RMSNorm(D)

    def forward(self, ids, labels, px):
        text = self.emb(ids.clamp(min=0))
        if px is None:
            return self.lm(text, labels)
        with torch.no_grad():  # frozen tower, eval mode (VILA's freezed_module_patch)
            feats = self.tower(px)
        img = self.proj(feats)  # (nImg, N, D)
        rows, labs, k = [], [], 0
        for b in range(ids.shape[0]):  # splice: each -200 becomes N image embeddings
            pieces, lab, start = [], [], 0
            marks = (ids[b] == -200).nonzero().flatten().tolist()
            for m in marks + [ids.shape[1]]:
                pieces.append(text[b, start:m]); lab.append(labels[b, start:m])
                if m < ids.shape[1]:
                    pieces.append(img[k]); lab.append(torch.full((N,), -100)); k += 1
                start = m + 1
            rows.append(torch.cat(pieces)); labs.append(torch.cat(lab))
        return self.lm(torch.stack(rows), torch.stack(labs))

    def lm(self, h, lab):
        t = h.shape[1]
        cos, sin = rope_tables(t, D // H)
        mask = causal_mask(t)
        for l in self.layers:
            h = l(h, cos, sin, mask)
        logits = self.norm(h) @ self.emb.weight.t()  # tied head
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), lab[:, 1:].reshape(-1), ignore_index=-100)


def timed(step, tokens):
    rates, loss = [], 0.0
    for s in range(STEPS + 1):
        t0 = time.perf_counter()
        loss = step()
        if s > 0:
            rates.append(tokens / (time.perf_counter() - t0))
    print(json.dumps({"tokens_per_s": rates, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loss": loss}))


def train_step(model, params, opt, loss_fn):
    def step():
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        return float(loss)
    return step


if MODE == "vit":
    tower = Tower()
    params = list(tower.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    px = torch.randn(B, 3, S, S)
    timed(train_step(tower, params, opt, lambda: tower(px).pow(2).mean()), B * G * G)
    sys.exit(0)

m = Vila()
for p in m.tower.parameters():
    p.requires_grad_(False)
m.tower.eval()
params = [p for p in m.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
ids = torch.randint(3, V, (B, T))
if MODE == "llm":
    timed(train_step(m, params, opt, lambda: m(ids, ids, None)), B * T)
    sys.exit(0)
# every row: IMGS images each followed by text, T text tokens in all (positions T - IMGS + IMGS*N)
step = T // IMGS
for i in range(IMGS):
    ids[:, i * step] = -200
labels = ids.clone()
labels[ids == -200] = -100
px = torch.randn(B * IMGS, 3, S, S)
timed(train_step(m, params, opt, lambda: m(ids, labels, px)), B * (T - IMGS + IMGS * N))
