#!/usr/bin/env python3
"""gancl checkpoints against PyTorch (tests/cli/test_torch.sh), through
tools/gancl_torch.py:

  check --ckpt F --data DIR [--raw R] [--eval J]
      every network under gen./disc./cls. loads with strict=True; with --raw
      (gancl sample --fixed --raw), the generator on the checkpoint's fixed
      noise is within 1e-5 of gancl's images; with --eval (gancl eval
      --json), the predictions on the test images give gancl's confusion
      matrix.
  export --ckpt F --prefix P --out O [--bare] [--meta k=v ...]
      the network under P as a plain PyTorch state_dict file (no gancl
      metadata), prefixed unless --bare.
  random-cls --out O --data DIR --json J [--seed S]
      a classifier made in PyTorch (random convolutions, a nearest-class-mean
      output layer, so that its predictions vary), saved bare, and its
      confusion matrix on the test images.
  bad --ckpt F --out O
      the classifier's state_dict with fc2.weight one column short.
  same --a F --b G
      the two files hold the same tensors, bit for bit (metadata aside).
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.environ.get("GANCL_TOOLS", os.path.join(os.path.dirname(__file__), "..", "..", "tools")))
import gancl_torch as gt  # noqa: E402


def idx(path):
    raw = open(path, "rb").read()
    magic = struct.unpack(">I", raw[:4])[0]
    if magic == 2051:
        n, h, w = struct.unpack(">III", raw[4:16])
        return torch.frombuffer(bytearray(raw[16:16 + n * h * w]), dtype=torch.uint8).view(n, 1, h, w)
    n = struct.unpack(">I", raw[4:8])[0]
    return torch.frombuffer(bytearray(raw[8:8 + n]), dtype=torch.uint8).long()


def test_set(data):
    x = idx(os.path.join(data, "t10k-images-idx3-ubyte")).float()
    y = idx(os.path.join(data, "t10k-labels-idx1-ubyte"))
    return x, y


def confusion(pred, y):
    m = [[0] * 10 for _ in range(10)]
    for t, p in zip(y.tolist(), pred.tolist()):
        m[t][p] += 1
    return m


def averaged(sd, meta):
    """semi: D's parameters replaced by the debiased parameter average, as gancl evaluates."""
    rate, step = float(meta.get("ema", "0")), int(meta.get("step", "0"))
    if not (rate > 0 and step > 0):
        return sd
    r32 = float(torch.tensor(rate, dtype=torch.float32))
    scale = torch.tensor(1 / (1 - (1 - r32) ** step), dtype=torch.float32)
    out = dict(sd)
    for k, v in sd.items():
        if k.startswith("ema."):
            out[k[4:]] = v * scale
    return out


def predict(sd, meta, x_unit):
    model = meta.get("model")
    with torch.no_grad():
        if "cls.conv1.weight" in sd:
            m = gt.model_from_checkpoint(sd, meta, "cls")
            m.load_state_dict(gt.network(sd, "cls"), strict=True)
            return m.eval()(x_unit).argmax(1)
        if model == "semi-mlp":
            sd = averaged(sd, meta)
            m = gt.model_from_checkpoint(sd, meta, "disc")
            m.load_state_dict(gt.network(sd, "disc"), strict=True)
            return m.eval()(x_unit.flatten(1)).argmax(1)
        if model == "dcgan-features":
            m = gt.model_from_checkpoint(sd, meta, "disc")
            m.load_state_dict(gt.network(sd, "disc"), strict=True)
            m.eval()
            x = x_unit * 2 - 1
            a = torch.nn.functional.leaky_relu
            h1 = a(m.conv1(x), m.slope)
            h2 = a(m.conv2(h1), m.slope)
            f = torch.cat([torch.nn.functional.max_pool2d(h1, 2).flatten(1),
                           torch.nn.functional.max_pool2d(h2, 2).flatten(1)], 1)
            if meta.get("standardize", "0") == "1":
                f = (f - sd["probe.mean"]) * sd["probe.invstd"]
            return (f @ sd["probe.fc.weight"].t() + sd["probe.fc.bias"]).argmax(1)
    raise SystemExit(f"no classifier in a checkpoint of model {model}")


def bare_to_prefixed(sd, meta):
    """A plain state_dict file: its network under the prefix gancl gives it."""
    if any(k.split(".")[0] in ("gen", "disc", "cls") for k in sd):
        return sd, meta
    if "fc1.weight_v" in sd:
        p, meta = "disc", dict(meta, model="semi-mlp", ema="0")
    elif "conv1.weight" in sd and "fc1.weight" in sd:
        p = "cls"
    elif "conv1.weight" in sd:
        p, meta = "disc", dict(meta, model="dcgan")
    else:
        raise SystemExit("a bare state_dict of no network this check knows")
    return {p + "." + k: v for k, v in sd.items()}, meta


def check(a):
    sd, meta = bare_to_prefixed(*gt.load_file(a.ckpt))
    nets = [p for p in ("gen", "disc", "cls") if any(k.startswith(p + ".") for k in sd)]
    if not nets:
        raise SystemExit(f"{a.ckpt}: no network")
    for p in nets:
        m = gt.model_from_checkpoint(sd, meta, p)
        m.load_state_dict(gt.network(sd, p), strict=True)  # raises on any missing or unexpected key
        print(f"# {p}: {type(m).__name__} loads strictly ({len(gt.network(sd, p))} tensors)")
    if a.raw:
        got = torch.frombuffer(bytearray(open(a.raw, "rb").read()), dtype=torch.float32).view(-1, 784)
        n = got.shape[0]
        z = sd["state.sample_noise"]
        G = gt.model_from_checkpoint(sd, meta, "gen")
        G.load_state_dict(gt.network(sd, "gen"), strict=True)
        G.eval()
        with torch.no_grad():
            if getattr(G, "nclass", 0):
                R = z.shape[0]
                idx_ = torch.arange(n)
                out = G(z[idx_ % R], idx_ // R)
            else:
                out = G(z[:n])
        out = out.reshape(n, 784)
        if meta.get("model") != "semi-mlp":
            out = (out + 1) / 2  # gancl hands tanh images back in [0, 1]
        diff = (out - got).abs().max().item()
        print(f"# generator on the fixed noise: {n} images, max |torch - gancl| = {diff:.3g}")
        if not diff <= 1e-5:
            raise SystemExit(f"generator outputs differ by {diff} > 1e-5")
    if a.eval:
        want = json.load(open(a.eval))["confusion"]
        x, y = test_set(a.data)
        pred = predict(sd, meta, x / 255)
        got = confusion(pred, y)
        distinct = len(set(pred.tolist()))
        print(f"# predictions: {distinct} distinct classes, accuracy {(pred == y).float().mean().item():.4f}")
        if got != want:
            raise SystemExit(f"confusion differs: torch {got}, gancl {want}")


def export(a):
    sd, meta = gt.load_file(a.ckpt)
    net = gt.network(sd, a.prefix)
    if not a.bare:
        net = {a.prefix + "." + k: v for k, v in net.items()}
    gt.save_file(net, a.out, dict(kv.split("=", 1) for kv in a.meta) if a.meta else None)


def random_cls(a):
    """Random convolutions and hidden layer; the output layer a nearest-class-
    mean rule on the test images' hidden features, so that predictions vary."""
    torch.manual_seed(a.seed)
    m = gt.Classifier()
    x, y = test_set(a.data)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3)
        m.eval()
        h = torch.relu(m.fc1(torch.nn.functional.max_pool2d(torch.relu(m.conv2(torch.relu(m.conv1(x / 255)))), 2)
                             .flatten(1)))
        mu = torch.stack([h[y == k].mean(0) if (y == k).any() else torch.zeros(h.shape[1]) for k in range(10)])
        m.fc2.weight.copy_(mu)
        m.fc2.bias.copy_(-0.5 * (mu * mu).sum(1))
        pred = m(x / 255).argmax(1)
    gt.save_file(m.state_dict(), a.out)
    print(f"# PyTorch classifier: {len(set(pred.tolist()))} distinct predicted classes, "
          f"accuracy {(pred == y).float().mean().item():.4f}")
    json.dump({"confusion": confusion(pred, y)}, open(a.json, "w"))


def bad(a):
    sd, _ = gt.load_file(a.ckpt)
    net = gt.network(sd, "cls")
    net["fc2.weight"] = net["fc2.weight"][:, :-1].contiguous()
    gt.save_file(net, a.out)


def same(a):
    x, _ = gt.load_file(a.a)
    y, _ = gt.load_file(a.b)
    bad = sorted(set(x) ^ set(y)) + [k for k in x if k in y and not torch.equal(x[k], y[k])]
    if bad:
        raise SystemExit(f"{a.a} and {a.b} differ in {bad}")
    print(f"# {len(x)} tensors equal")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--ckpt", required=True)
    c.add_argument("--data")
    c.add_argument("--raw")
    c.add_argument("--eval")
    e = sub.add_parser("export")
    e.add_argument("--ckpt", required=True)
    e.add_argument("--prefix", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--bare", action="store_true")
    e.add_argument("--meta", nargs="*")
    r = sub.add_parser("random-cls")
    r.add_argument("--out", required=True)
    r.add_argument("--data", required=True)
    r.add_argument("--json", required=True)
    r.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("bad")
    b.add_argument("--ckpt", required=True)
    b.add_argument("--out", required=True)
    s = sub.add_parser("same")
    s.add_argument("--a", required=True)
    s.add_argument("--b", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    {"check": check, "export": export, "random-cls": random_cls, "bad": bad, "same": same}[a.cmd](a)


if __name__ == "__main__":
    main()
