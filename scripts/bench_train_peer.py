#!/usr/bin/python3
"""PyTorch CPU peer for bench/train_step.ts: one training step (forward, backward, AdamW) of the
same Llama-style model, fp32. Prints one JSON line {"tokens_per_s": [...], "max_rss_mb": x}.
Usage: /usr/bin/python3 scripts/bench_train_peer.py VOCAB D LAYERS HEADS FFN SEQ BATCH STEPS THREADS"""
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

V, D, L, H, FF, T, B, STEPS, THREADS = map(int, sys.argv[1:10])
torch.set_num_threads(THREADS)
torch.manual_seed(0)

class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__(); self.weight = nn.Parameter(torch.ones(d)); self.eps = eps
    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(D, FF, bias=False), nn.Linear(D, FF, bias=False)
        self.down = nn.Linear(FF, D, bias=False)
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)
    def forward(self, h, cos, sin, mask):
        x = self.n1(h)
        hs = D // H
        q, k, v = (p(x).view(B, T, H, hs).transpose(1, 2) for p in (self.q, self.k, self.v))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        h = h + self.o(y)
        x = self.n2(h)
        return h + self.down(F.silu(self.gate(x)) * self.up(x))

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = nn.Linear(D, V, bias=False)
    def forward(self, ids, tgt):
        hs = D // H
        inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
        f = torch.arange(T).float()[:, None] * inv
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        h = self.emb(ids)
        for l in self.layers:
            h = l(h, cos, sin, mask)
        return F.cross_entropy(self.head(self.norm(h)).view(-1, V), tgt.view(-1))

m = Model()
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.0)
ids = torch.randint(0, V, (B, T)); tgt = torch.randint(0, V, (B, T))
rates = []
for s in range(STEPS + 1):
    t0 = time.perf_counter()
    loss = m(ids, tgt)
    loss.backward()
    opt.step(); opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    if s > 0:
        rates.append(B * T / dt)
print(json.dumps({"tokens_per_s": rates, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loss": float(loss)}))
