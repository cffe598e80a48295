#!/usr/bin/python3
"""PyTorch reference values for test/models/siglip_pair.test.ts and test/models/text_tower.test.ts.
Run: /usr/bin/python3 scripts/make_siglip_fixtures.py  (torch 1.13, CPU, float64).

Writes test/fixtures/siglip/:
  sigmoid_loss.json  cases of SigLIP's sigmoid loss as HF SiglipModel.forward computes it
                     (logits_per_text = text @ image.T * logit_scale.exp() + logit_bias;
                     loss = -F.logsigmoid(z * logits).sum() / B, z = 2 I - 1), on raw embeddings
                     normalised with x / x.norm(dim=-1, keepdim=True): inputs, loss, logits
                     (image x text), and the gradients wrt the raw embeddings, logit_scale and
                     logit_bias. One case has large logits (the stable log-sigmoid matters).
  pool_head.json     SigLIP's attention-pooling head as HF SiglipMultiheadAttentionPoolingHead runs
                     it (torch.nn.MultiheadAttention with a probe query, then h + mlp(layernorm(h))):
                     its weights under HF names, the patches, the pooled output, and the gradients
                     of sum(pooled * w) wrt the patches and the probe.
  text_tower.json    a tiny SigLIP text transformer (HF SiglipTextTransformer restated below with
                     torch.nn.functional ops): its weights under HF names, input ids, the last
                     hidden state, the pooled output, and d(sum(pooled * w))/d(token embedding).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "siglip")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
DT = torch.float64


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def loss_case(B, D, scale, bias, spread):
    img = (torch.randn(B, D, dtype=DT) * spread).requires_grad_()
    txt = (torch.randn(B, D, dtype=DT) * spread).requires_grad_()
    # make some pairs align, so the loss is not only the negatives' term
    with torch.no_grad():
        txt[: B // 2] += img[: B // 2]
    s = torch.tensor([scale], dtype=DT, requires_grad=True)
    b = torch.tensor([bias], dtype=DT, requires_grad=True)
    x = img / img.norm(p=2, dim=-1, keepdim=True)
    y = txt / txt.norm(p=2, dim=-1, keepdim=True)
    logits_per_text = y @ x.t() * s.exp() + b
    z = 2 * torch.eye(B, dtype=DT) - 1
    loss = -F.logsigmoid(z * logits_per_text).sum() / B
    loss.backward()
    return {
        "B": B,
        "D": D,
        "image": flat(img),
        "text": flat(txt),
        "logit_scale": scale,
        "logit_bias": bias,
        "loss": float(loss),
        "logits": flat(logits_per_text.t()),
        "grad_image": flat(img.grad),
        "grad_text": flat(txt.grad),
        "grad_logit_scale": float(s.grad[0]),
        "grad_logit_bias": float(b.grad[0]),
    }


cases = [
    loss_case(4, 6, math.log(10), -10.0, 1.0),  # the paper's init
    loss_case(6, 5, 0.7, 1.5, 2.0),
    loss_case(5, 8, math.log(200), 40.0, 1.0),  # logits up to ~240: log(sigmoid) would underflow
]
with open(os.path.join(OUT, "sigmoid_loss.json"), "w") as f:
    json.dump({"cases": cases}, f)


# --- a tiny text tower ------------------------------------------------------------------------
V, C, FF, L, NH, T, PROJ, EPS = 13, 8, 16, 2, 2, 6, 5, 1e-6
params = {}


def p(name, *shape, std=0.3, base=0.0):
    t = (torch.randn(*shape, dtype=DT) * std + base).requires_grad_()
    params[name] = t
    return t


pre = "text_model."
tok = p(pre + "embeddings.token_embedding.weight", V, C, std=1.0)
pos = p(pre + "embeddings.position_embedding.weight", T, C, std=0.5)
layers = []
for i in range(L):
    q = f"{pre}encoder.layers.{i}."
    layers.append({
        "ln1w": p(q + "layer_norm1.weight", C, std=0.1, base=1.0), "ln1b": p(q + "layer_norm1.bias", C, std=0.1),
        "qw": p(q + "self_attn.q_proj.weight", C, C), "qb": p(q + "self_attn.q_proj.bias", C, std=0.1),
        "kw": p(q + "self_attn.k_proj.weight", C, C), "kb": p(q + "self_attn.k_proj.bias", C, std=0.1),
        "vw": p(q + "self_attn.v_proj.weight", C, C), "vb": p(q + "self_attn.v_proj.bias", C, std=0.1),
        "ow": p(q + "self_attn.out_proj.weight", C, C), "ob": p(q + "self_attn.out_proj.bias", C, std=0.1),
        "ln2w": p(q + "layer_norm2.weight", C, std=0.1, base=1.0), "ln2b": p(q + "layer_norm2.bias", C, std=0.1),
        "f1w": p(q + "mlp.fc1.weight", FF, C), "f1b": p(q + "mlp.fc1.bias", FF, std=0.1),
        "f2w": p(q + "mlp.fc2.weight", C, FF), "f2b": p(q + "mlp.fc2.bias", C, std=0.1),
    })
flw = p(pre + "final_layer_norm.weight", C, std=0.1, base=1.0)
flb = p(pre + "final_layer_norm.bias", C, std=0.1)
hw = p(pre + "head.weight", PROJ, C)
hb = p(pre + "head.bias", PROJ, std=0.1)

ids = torch.randint(0, V, (3, T))
ids[0, 4:] = 0  # padding, as SigLIP pads to max length
B = ids.shape[0]
h = tok[ids] + pos[:T]
hs = C // NH
for ly in layers:
    x = F.layer_norm(h, (C,), ly["ln1w"], ly["ln1b"], EPS)
    qh = F.linear(x, ly["qw"], ly["qb"]).view(B, T, NH, hs).transpose(1, 2)
    kh = F.linear(x, ly["kw"], ly["kb"]).view(B, T, NH, hs).transpose(1, 2)
    vh = F.linear(x, ly["vw"], ly["vb"]).view(B, T, NH, hs).transpose(1, 2)
    att = torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(hs), dim=-1)  # no mask: bidirectional
    a = (att @ vh).transpose(1, 2).reshape(B, T, C)
    h = h + F.linear(a, ly["ow"], ly["ob"])
    x = F.layer_norm(h, (C,), ly["ln2w"], ly["ln2b"], EPS)
    h = h + F.linear(F.gelu(F.linear(x, ly["f1w"], ly["f1b"]), approximate="tanh"), ly["f2w"], ly["f2b"])
last = F.layer_norm(h, (C,), flw, flb, EPS)
pooled = F.linear(last[:, -1, :], hw, hb)
w = torch.randn(B, PROJ, dtype=DT)
(pooled * w).sum().backward()
with open(os.path.join(OUT, "text_tower.json"), "w") as f:
    json.dump({
        "config": {"vocab_size": V, "hidden_size": C, "intermediate_size": FF, "num_hidden_layers": L,
                   "num_attention_heads": NH, "max_position_embeddings": T, "projection_size": PROJ,
                   "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": EPS},
        "params": {k: {"shape": list(v.shape), "data": flat(v)} for k, v in params.items()},
        "ids": [int(v) for v in ids.reshape(-1).tolist()],
        "ids_shape": list(ids.shape),
        "last_hidden_state": flat(last),
        "pooled": flat(pooled),
        "w": flat(w),
        "grad_token_embedding": flat(tok.grad),
    }, f)

# --- SigLIP's attention-pooling head -----------------------------------------------------------
C, FF, NH, B, P = 8, 12, 2, 3, 5
probe = (torch.randn(1, 1, C, dtype=DT) * 0.5).requires_grad_()
mha = torch.nn.MultiheadAttention(C, NH, batch_first=True).to(DT)
ln = torch.nn.LayerNorm(C, eps=EPS).to(DT)
fc1 = torch.nn.Linear(C, FF).to(DT)
fc2 = torch.nn.Linear(FF, C).to(DT)
with torch.no_grad():
    for m in (mha, ln, fc1, fc2):
        for t in m.parameters():
            t.add_(torch.randn_like(t) * 0.2)  # non-trivial biases and norm weights
patches = (torch.randn(B, P, C, dtype=DT)).requires_grad_()
h = mha(probe.repeat(B, 1, 1), patches, patches)[0]
h = h + fc2(F.gelu(fc1(ln(h)), approximate="tanh"))
pooled = h[:, 0]
w = torch.randn(B, C, dtype=DT)
(pooled * w).sum().backward()
head = {
    "probe": probe,
    "attention.in_proj_weight": mha.in_proj_weight,
    "attention.in_proj_bias": mha.in_proj_bias,
    "attention.out_proj.weight": mha.out_proj.weight,
    "attention.out_proj.bias": mha.out_proj.bias,
    "layernorm.weight": ln.weight,
    "layernorm.bias": ln.bias,
    "mlp.fc1.weight": fc1.weight,
    "mlp.fc1.bias": fc1.bias,
    "mlp.fc2.weight": fc2.weight,
    "mlp.fc2.bias": fc2.bias,
}
with open(os.path.join(OUT, "pool_head.json"), "w") as f:
    json.dump({
        "config": {"hidden_size": C, "intermediate_size": FF, "num_attention_heads": NH,
                   "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": EPS},
        "params": {k: {"shape": list(v.shape), "data": flat(v)} for k, v in head.items()},
        "patches": flat(patches),
        "patches_shape": [B, P, C],
        "pooled": flat(pooled),
        "w": flat(w),
        "grad_patches": flat(patches.grad),
        "grad_probe": flat(probe.grad),
    }, f)
print("wrote", OUT)
