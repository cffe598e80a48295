#!/usr/bin/python3
"""Can a tower of world-tiny's size learn shape at all in the tower stage's budget? A diagnostic.

Trains, in PyTorch, a ViT of the SigLIP tower's shape (patch 8, width 96, 3 pre-norm layers, 4 heads,
MLP 384) from scratch with *supervised* labels (which of the 7 shapes a scene's caption names, binary
cross-entropy), 900 steps of 32 images at AdamW 2e-3 (the tower stage's steps, batch and learning
rate), on a world's object scenes (75% train), pooled by mean or by max over the patch tokens. Prints
how often the top class is the object's on held-out single-object scenes (chance 1/7). If this stays
near chance, no caption objective can make the same tower read shape in the same steps.
LR (default 2e-3) and WARMUP (linear warm-up steps, default 0) vary the schedule; held-out accuracy
is printed every 300 steps.
Usage: /usr/bin/python3 scripts/probe_shape_supervised.py WORLD_DIR [STEPS [LR [WARMUP]]]"""
import json, re, sys
import numpy as np, torch, torch.nn as nn
from PIL import Image

COLOURS = "red green blue yellow purple orange white black pink brown".split()
SHAPES = "circle square triangle diamond cross ring star".split()
OBJECT = re.compile(r"(%s) (%s)\b" % ("|".join(COLOURS), "|".join(SHAPES)))


class Vit(nn.Module):
    def __init__(self, pool, d=96, layers=3):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 8, 8)
        self.pos = nn.Parameter(torch.randn(64, d) * d ** -0.5)
        layer = nn.TransformerEncoderLayer(d, 4, 384, 0.0, activation="gelu", batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, layers)
        self.ln = nn.LayerNorm(d); self.head = nn.Linear(d, len(SHAPES)); self.pool = pool

    def forward(self, x):
        h = self.ln(self.enc(self.patch(x).flatten(2).transpose(1, 2) + self.pos))
        z = self.head(h)
        return z.mean(1) if self.pool == "mean" else z.amax(1)


def main():
    world = sys.argv[1]; steps = int(sys.argv[2]) if len(sys.argv) > 2 else 900
    lr = float(sys.argv[3]) if len(sys.argv) > 3 else 2e-3; warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    torch.set_num_threads(2)
    xs, ys, single = [], [], []
    for line in open(f"{world}/pairs/pairs.jsonl"):
        r = json.loads(line); objs = OBJECT.findall(r["caption"])
        if not objs or "sign" in r["caption"] or re.search(r"\b(two|three|four)\b", r["caption"]): continue
        y = np.zeros(len(SHAPES), np.float32)
        for _, s in objs: y[SHAPES.index(s)] = 1
        xs.append((np.asarray(Image.open(f"{world}/{r['image']}").convert("RGB"), np.float32) / 255 - 0.5) / 0.5)
        ys.append(y); single.append(len(objs) == 1)
    X = torch.tensor(np.array(xs)).permute(0, 3, 1, 2); Y = torch.tensor(np.array(ys)); single = torch.tensor(single)
    tr = int(0.75 * len(X))
    for pool in ("mean", "max"):
        torch.manual_seed(0); m = Vit(pool); opt = torch.optim.AdamW(m.parameters(), lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, warmup)))
        for step in range(1, steps + 1):
            i = torch.randint(0, tr, (32,))
            loss = nn.functional.binary_cross_entropy_with_logits(m(X[i]), Y[i])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            if step % 300 and step != steps: continue
            with torch.no_grad(): z = m(X[tr:])
            sm = single[tr:]
            acc = (z[sm].argmax(1) == Y[tr:][sm].argmax(1)).float().mean().item()
            print(f"{pool}-pooled, lr {lr:g}, {step} steps: train loss {loss.item():.3f}, held-out single-object "
                  f"shape {acc:.2f} (chance {1 / len(SHAPES):.2f}, {int(sm.sum())} images of {len(X)})", flush=True)


if __name__ == "__main__":
    main()
