#!/usr/bin/python3
"""PyTorch CPU peer for bench/train_step.ts: one training step (forward, backward, AdamW) of the
same Llama-style model, fp32. Prints one JSON line {"tokens_per_s": [...], "max_rss_mb": x}.
Usage: /usr/bin/python3 scripts/bench_train_peer.py VOCAB D LAYERS HEADS FFN SEQ BATCH STEPS THREADS"""
import json, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from peer_llama import DecoderLayer, RMSNorm, causal_mask, rope_tables

V, D, L, H, FF, T, B, STEPS, THREADS = map(int, sys.argv[1:10])
torch.set_num_threads(THREADS)
torch.manual_seed(0)

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.layers = nn.ModuleList(DecoderLayer(D, H, FF) for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = nn.Linear(D, V, bias=False)
    def forward(self, ids, tgt):
        cos, sin = rope_tables(T, D // H)
        mask = causal_mask(T)
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
