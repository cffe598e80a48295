#!/usr/bin/python3
"""Probe what image features carry (features from scripts/probe_features.mjs): a small MLP applied to
every token, max-pooled over the tokens, trained to predict which colours, shapes and colour-shape pairs
an image's caption names (binary labels), on the first 75% of the images; prints the mean F1 of each
label group on the rest. F1 near 0 means the probe finds no trace of the attribute in the features.
Usage: /usr/bin/python3 scripts/probe_features.py OUT [OUT ...]   (torch, 1 thread, seed 0)"""
import json, re, sys
import numpy as np
import torch

torch.set_num_threads(1)

for out in sys.argv[1:]:
    torch.manual_seed(0)
    meta = json.load(open(out + ".json"))
    n, COLOURS, SHAPES = meta["n"], meta["colours"], meta["shapes"]
    X = torch.tensor(np.fromfile(out + ".bin", dtype=np.float32).reshape(n, *meta["shape"]))
    X = (X - X.mean((0, 1))) / (X.std((0, 1)) + 1e-6)
    objs = [re.findall("(" + "|".join(COLOURS) + ") (" + "|".join(SHAPES) + ")", c) for c in meta["captions"]]
    Y = torch.tensor([[any(c == x for x, _ in o) for c in COLOURS] + [any(s == y for _, y in o) for s in SHAPES]
                      + [(c, s) in o for c in COLOURS for s in SHAPES] for o in objs], dtype=torch.float32)
    tr = int(n * 0.75)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[-1], 256), torch.nn.GELU(), torch.nn.Linear(256, Y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(400):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X[:tr]).max(1).values, Y[:tr])
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        p = (net(X[tr:]).max(1).values > 0).float()
    t = Y[tr:]
    f1 = 2 * (p * t).sum(0) / (p.sum(0) + t.sum(0) + 1e-9)
    nc, ns = len(COLOURS), len(SHAPES)
    print(f"{out}: {n} images, features {meta['shape']}, train loss {loss.item():.3f} | colour F1 {f1[:nc].mean():.2f}"
          f" | shape F1 {f1[nc:nc + ns].mean():.2f} | colour-shape pair F1 {f1[nc + ns:].mean():.2f}")
