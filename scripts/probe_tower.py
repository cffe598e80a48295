#!/usr/bin/python3
"""Linear probes of what a checkpoint's image tokens carry, on a world's pair images.

  colour, shape: a per-token linear map, max over the image's tokens, trained (logistic, 75% of the
                 images) to name the colours / shapes a caption lists; printed: on the held-out
                 single-object images, how often the top class is the object's (chance 1/10, 1/7)
  position:      a per-token linear map trained to tell each token's index (chance 1/tokens)

FEATURES is the tower's hidden state of VILA's select layer (or of --layer), or with --projector the
projector's output (the tokens the LLM gets). The forward is scripts/make_model_fixtures.py's
reference. Usage:
  /usr/bin/python3 scripts/probe_tower.py WORLD_DIR CHECKPOINT [--layer K] [--projector]
CHECKPOINT holds vision_tower/ (and mm_projector/ for --projector); a recipe's vision_tower stage
folder works too."""
import argparse, json, os, re, struct, sys
import numpy as np, torch
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import projector, vit_hidden_states

COLOURS = "red green blue yellow purple orange white black pink brown".split()
SHAPES = "circle square triangle diamond cross ring star".split()
OBJECT = re.compile(r"(%s) (%s)\b" % ("|".join(COLOURS), "|".join(SHAPES)))


def load_safetensors(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; head = json.loads(b[8:8 + n]); out = {}
    for k, v in head.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; raw = b[8 + n + s: 8 + n + e]
        if v["dtype"] == "F32": a = np.frombuffer(raw, dtype=np.float32)
        elif v["dtype"] == "BF16": a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else: raise ValueError(f"{path}: tensor {k} has dtype {v['dtype']}")
        out[k] = torch.from_numpy(a.copy()).reshape(v["shape"])
    return out


def fit(F, loss_of, classes, iters=200):
    w = torch.zeros(F.shape[-1], classes, requires_grad=True); b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=1e-2)
    for _ in range(iters):
        loss = loss_of(F @ w + b) + 1e-4 * (w ** 2).sum(); opt.zero_grad(); loss.backward(); opt.step()
    return lambda G: (G @ w + b).detach()


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("world"); ap.add_argument("checkpoint")
    ap.add_argument("--layer", type=int); ap.add_argument("--projector", action="store_true")
    a = ap.parse_args(); torch.manual_seed(0); torch.set_num_threads(1)
    # scene images whose caption names objects (not signs, not counted groups)
    images, yc, ys, single = [], [], [], []
    for line in open(os.path.join(a.world, "pairs", "pairs.jsonl")):
        r = json.loads(line); objs = OBJECT.findall(r["caption"])
        if not objs or "sign" in r["caption"] or re.search(r"\b(two|three|four)\b", r["caption"]): continue
        c = np.zeros(len(COLOURS), np.float32); s = np.zeros(len(SHAPES), np.float32)
        for col, shp in objs: c[COLOURS.index(col)] = 1; s[SHAPES.index(shp)] = 1
        images.append(r["image"]); yc.append(c); ys.append(s); single.append(len(objs) == 1)
    pix = torch.stack([torch.from_numpy((np.asarray(Image.open(os.path.join(a.world, p)).convert("RGB"), np.float32) / 255 - 0.5) / 0.5).permute(2, 0, 1) for p in images])
    ck = a.checkpoint
    cv = json.load(open(f"{ck}/vision_tower/config.json")); Wv = load_safetensors(f"{ck}/vision_tower/model.safetensors")
    top = json.load(open(f"{ck}/config.json")) if os.path.exists(f"{ck}/config.json") else {}
    layer = a.layer if a.layer is not None else top.get("mm_vision_select_layer", -1)
    with torch.no_grad():
        F = torch.cat([vit_hidden_states(Wv, cv, pix[i:i + 128], "siglip")[layer] for i in range(0, len(images), 128)])
        if a.projector: F = projector(load_safetensors(f"{ck}/mm_projector/model.safetensors"), "mlp_downsample", F)
    n, T, _ = F.shape; tr = int(0.75 * n)
    F = (F - F[:tr].mean((0, 1))) / (F[:tr].std((0, 1)) + 1e-5)
    where = f"{'projector output' if a.projector else f'tower layer {layer}'}, {n} images, {T} tokens"
    sm = torch.tensor(single[tr:])
    for name, Y in (("colour", torch.tensor(np.array(yc))), ("shape", torch.tensor(np.array(ys)))):
        f = fit(F[:tr], lambda z: torch.nn.functional.binary_cross_entropy_with_logits(z.amax(1), Y[:tr]), Y.shape[1])
        acc = (f(F[tr:]).amax(1)[sm].argmax(1) == Y[tr:][sm].argmax(1)).float().mean().item()
        print(f"{where}: {name} of a single object {acc:.2f} (chance {1 / Y.shape[1]:.2f}, {int(sm.sum())} images)")
    idx = torch.arange(T).repeat(n, 1)
    f = fit(F[:tr], lambda z: torch.nn.functional.cross_entropy(z.reshape(-1, T), idx[:tr].reshape(-1)), T)
    acc = (f(F[tr:]).argmax(-1) == idx[tr:]).float().mean().item()
    print(f"{where}: token position {acc:.2f} (chance {1 / T:.3f})")


if __name__ == "__main__":
    main()
