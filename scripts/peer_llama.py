"""The Llama decoder pieces the PyTorch benchmark peers share (bench_train_peer.py,
bench_stage1_peer.py): RMSNorm, rotary embedding tables, and one pre-norm decoder layer with
SwiGLU, all fp32 and without bias, as in vila-ts's LlamaForCausalLM (multi-head, no GQA)."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__(); self.weight = nn.Parameter(torch.ones(d)); self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(t, hs, theta=10000.0):
    """(cos, sin) of shape (t, hs) for positions 0..t-1 (HF's rotate-half layout)."""
    inv = 1.0 / (theta ** (torch.arange(0, hs, 2).float() / hs))
    f = torch.arange(t).float()[:, None] * inv
    e = torch.cat((f, f), -1)
    return e.cos(), e.sin()


def causal_mask(t):
    return torch.ones(t, t, dtype=torch.bool).triu(1)


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.d, self.heads = d, heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)

    def forward(self, h, cos, sin, mask):
        b, t, _ = h.shape
        hs = self.d // self.heads
        x = self.n1(h)
        q, k, v = (p(x).view(b, t, self.heads, hs).transpose(1, 2) for p in (self.q, self.k, self.v))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(hs)).masked_fill(mask, float("-inf")).softmax(-1)
        h = h + self.o((att @ v).transpose(1, 2).reshape(b, t, self.d))
        x = self.n2(h)
        return h + self.down(F.silu(self.gate(x)) * self.up(x))
