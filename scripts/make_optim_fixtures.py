#!/usr/bin/python3
"""Writes test/fixtures/optim/adamw.json: torch.optim.AdamW on two parameter groups for a few steps
with given gradients and a changing lr, plus clip_grad_norm_ results. Run: /usr/bin/python3 scripts/make_optim_fixtures.py"""
import json, torch

torch.manual_seed(0)
p1 = torch.randn(7, requires_grad=True)
p2 = torch.randn(3, 2, requires_grad=True)
init = [p1.detach().clone().tolist(), p2.detach().clone().flatten().tolist()]
opt = torch.optim.AdamW([{"params": [p1], "lr": 1e-2, "weight_decay": 0.1},
                         {"params": [p2], "lr": 3e-3, "weight_decay": 0.0}], betas=(0.9, 0.95), eps=1e-8)
grads, lrs, after = [], [], []
for step in range(5):
    g1, g2 = torch.randn(7), torch.randn(3, 2) * 10
    grads.append([g1.tolist(), g2.flatten().tolist()])
    scale = [1.0, 0.5, 0.25, 1.0, 0.1][step]
    for g, base in zip(opt.param_groups, [1e-2, 3e-3]):
        g["lr"] = base * scale
    lrs.append(scale)
    p1.grad, p2.grad = g1, g2
    opt.step()
    after.append([p1.detach().tolist(), p2.detach().flatten().tolist()])

q = [torch.randn(5) * 3, torch.randn(4, 2)]
clip_in = [t.tolist() for t in q]
params = [torch.zeros_like(t, requires_grad=True) for t in q]
for p, t in zip(params, q):
    p.grad = t.clone()
norm = torch.nn.utils.clip_grad_norm_(params, 1.5)
clip_out = [p.grad.flatten().tolist() for p in params]

json.dump({"init": init, "grads": grads, "lr_scales": lrs, "after": after,
           "clip": {"grads": [clip_in[0], sum(clip_in[1], [])], "max_norm": 1.5, "norm": float(norm), "out": clip_out}},
          open("test/fixtures/optim/adamw.json", "w"))
print("wrote test/fixtures/optim/adamw.json")
