# Content-based induction in PyTorch: the same task and model as scripts/induction_probe.mjs (a
# minimal Llama: RMSNorm, RoPE, SwiGLU, tied embeddings, normal(0.02) weights). Prints the loss on
# the repeated part every 100 steps. Usage: /usr/bin/python3 scripts/induction_probe.py [LAYERS] [STEPS] [LR]
import math, sys, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); torch.set_num_threads(2)
a = sys.argv[1:] + [None] * 3
layers, steps, lr = int(a[0] or 2), int(a[1] or 600), float(a[2] or 2e-3)
V, N, FL, B = 64, 12, 24, 32; T = 1 + 2 * N + FL; C, H = 128, 4; hs = C // H
class RMS(nn.Module):
    def __init__(s): super().__init__(); s.w = nn.Parameter(torch.ones(C))
    def forward(s, x): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * s.w
inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs)); ang = torch.outer(torch.arange(T).float(), inv)
cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
def rot(x): return torch.cat([-x[..., hs // 2:], x[..., :hs // 2]], -1)
def rope(x): return x * cos[None, None] + rot(x) * sin[None, None]
def lin(i, o): l = nn.Linear(i, o, bias=False); nn.init.normal_(l.weight, std=0.02); return l
class Layer(nn.Module):
    def __init__(s):
        super().__init__(); s.n1, s.n2 = RMS(), RMS(); s.q, s.k, s.v, s.o = lin(C, C), lin(C, C), lin(C, C), lin(C, C)
        s.g, s.u, s.d = lin(C, 384), lin(C, 384), lin(384, C)
    def forward(s, x):
        h = s.n1(x); b, t, _ = h.shape
        q, k, v = [m(h).view(b, t, H, hs).transpose(1, 2) for m in (s.q, s.k, s.v)]
        q, k = rope(q), rope(k)
        a = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        a = a.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float('-inf')).softmax(-1)
        x = x + s.o((a @ v).transpose(1, 2).reshape(b, t, C))
        h = s.n2(x); return x + s.d(F.silu(s.g(h)) * s.u(h))
emb = nn.Embedding(V, C); nn.init.normal_(emb.weight, std=0.02)
ls = nn.ModuleList([Layer() for _ in range(layers)]); nf = RMS()
params = list(emb.parameters()) + list(ls.parameters()) + list(nf.parameters())
opt = torch.optim.AdamW(params, lr=lr, weight_decay=0)
g = torch.Generator().manual_seed(5)
for s in range(1, steps + 1):
    ids = torch.zeros(B, T, dtype=torch.long); lab = torch.full((B, T), -100); cm = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        ids[b, 0] = 1; f = int(torch.randint(0, FL + 1, (1,), generator=g)); xs = torch.randint(2, V, (N,), generator=g)
        ids[b, 1:1 + N] = xs; ids[b, 1 + N:1 + N + f] = torch.randint(2, V, (f,), generator=g)
        st = 1 + N + f; ids[b, st:st + N] = xs
        lab[b, :st + N - 1] = ids[b, 1:st + N]; cm[b, st:st + N - 1] = True
    x = emb(ids)
    for l in ls: x = l(x)
    logits = nf(x) @ emb.weight.T
    loss = F.cross_entropy(logits.view(-1, V), lab.view(-1), ignore_index=-100)
    opt.zero_grad(); loss.backward(); opt.step()
    if s % 100 == 0:
        with torch.no_grad():
            lp = -F.log_softmax(logits, -1).gather(-1, lab.clamp(min=0)[..., None])[..., 0]
            print(f"step {s} loss {loss.item():.3f} copy-part {lp[cm].mean().item():.3f}", flush=True)
