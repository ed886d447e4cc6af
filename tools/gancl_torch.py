#!/usr/bin/env python3
"""gancl's networks in PyTorch, and safetensors files without the
safetensors package.

Each module has the parameter names, shapes and layouts of gancl's network
(src/nn/dcgan.c, mlp.c, classifier.c, semi.c), so the tensors of a gancl
checkpoint (format version 2) under one prefix load with strict=True:

    import gancl_torch as gt
    sd, meta = gt.load_file("runs/gan/checkpoint.safetensors")
    G = gt.model_from_checkpoint(sd, meta, "gen")   # or gt.DCGANGenerator(nz=100, ngf=64)
    G.load_state_dict(gt.network(sd, "gen"), strict=True)

and a state_dict of one of them saved with save_file (prefixed or not) is
accepted by gancl wherever it takes a network checkpoint.

Outside the prefixes: optim.<name>.exp_avg/.exp_avg_sq (Adam), ema.<name>
(semi's parameter average), state.sample_noise (the fixed grid's noise).
"""
import json
import struct

import torch
import torch.nn as nn

# ---- safetensors --------------------------------------------------------------

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_file(path):
    """(dict name -> tensor, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = _DTYPES[e["dtype"]]
        raw = bytearray(data[b:end])
        t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def save_file(tensors, path, metadata=None):
    """Write name -> tensor as safetensors (little-endian, contiguous);
    metadata: optional dict of strings (gancl reads e.g. "nz", "nclass")."""
    header, chunks, at = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def network(sd, prefix):
    """The state_dict of one network: the tensors under 'gen', 'disc' or 'cls'."""
    p = prefix.rstrip(".") + "."
    return {k[len(p):]: v for k, v in sd.items() if k.startswith(p)}


# ---- networks -----------------------------------------------------------------

class DCGANGenerator(nn.Module):
    """z [N, nz (+ nclass one-hot for the AC-GAN)] -> image [N,1,28,28] in [-1,1]."""

    def __init__(self, nz=100, ngf=64, slope=0.2, nclass=0):
        super().__init__()
        self.nz, self.nclass = nz, nclass
        f0, f1, f2 = 4 * ngf, 2 * ngf, ngf
        self.f0, self.slope = f0, slope
        self.fc = nn.Linear(nz + nclass, f0 * 49, bias=False)
        self.bn0 = nn.BatchNorm1d(f0 * 49)
        self.deconv1 = nn.ConvTranspose2d(f0, f1, 5, 1, 2, bias=False)
        self.bn1 = nn.BatchNorm2d(f1)
        self.deconv2 = nn.ConvTranspose2d(f1, f2, 5, 2, 2, output_padding=1)
        self.bn2 = nn.BatchNorm2d(f2)
        self.deconv3 = nn.ConvTranspose2d(f2, 1, 5, 2, 2, output_padding=1, bias=False)

    def forward(self, z, labels=None):
        if self.nclass:
            z = torch.cat([z, nn.functional.one_hot(labels, self.nclass).to(z.dtype)], 1)
        a = nn.functional.leaky_relu
        h = a(self.bn0(self.fc(z)), self.slope).view(-1, self.f0, 7, 7)
        h = a(self.bn1(self.deconv1(h)), self.slope)
        h = a(self.bn2(self.deconv2(h)), self.slope)
        return torch.tanh(self.deconv3(h))


class MLPGenerator(nn.Module):
    """The MLP generator nz(+nclass)-128-128-784, LeakyReLU, tanh."""

    def __init__(self, nz=100, hidden=128, slope=0.2, nclass=0):
        super().__init__()
        self.nz, self.nclass, self.slope = nz, nclass, slope
        self.fc1 = nn.Linear(nz + nclass, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 784)

    def forward(self, z, labels=None):
        if self.nclass:
            z = torch.cat([z, nn.functional.one_hot(labels, self.nclass).to(z.dtype)], 1)
        a = nn.functional.leaky_relu
        h = a(self.fc2(a(self.fc1(z), self.slope)), self.slope)
        return torch.tanh(self.fc3(h)).view(-1, 1, 28, 28)


class DCGANDiscriminator(nn.Module):
    """image [N,1,28,28] -> nout logits (1; the AC-GAN's 1 + nclass: real/fake, then classes)."""

    def __init__(self, ndf=64, nout=1, slope=0.2, drop=0.3):
        super().__init__()
        self.slope = slope
        self.conv1 = nn.Conv2d(1, ndf, 5, 2, 2)
        self.conv2 = nn.Conv2d(ndf, 2 * ndf, 5, 2, 2)
        self.fc = nn.Linear(2 * ndf * 49, nout)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        a = nn.functional.leaky_relu
        h = self.drop(a(self.conv1(x), self.slope))
        h = self.drop(a(self.conv2(h), self.slope))
        return self.fc(h.flatten(1))


class Classifier(nn.Module):
    """The Keras MNIST CNN (gancl's classifier mode): image in [0,1] -> 10 logits."""

    def __init__(self, c1=32, c2=64, hidden=128, drop1=0.25, drop2=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3)
        self.conv2 = nn.Conv2d(c1, c2, 3)
        self.fc1 = nn.Linear(c2 * 144, hidden)
        self.fc2 = nn.Linear(hidden, 10)
        self.drop1, self.drop2 = nn.Dropout(drop1), nn.Dropout(drop2)

    def forward(self, x):
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        h = self.drop1(nn.functional.max_pool2d(h, 2)).flatten(1)
        return self.fc2(self.drop2(torch.relu(self.fc1(h))))


class SemiD(nn.Module):
    """The semi-supervised discriminator: noise on the input, weight-normalized
    Linear 784-1000-500-250-250-250-10 (fc1..fc6) with ReLU and noise before
    each layer after the first; the hidden layers' g fixed, the output's
    learned. x in [0,1] flattened [N,784] -> K logits."""

    def __init__(self, widths=(784, 1000, 500, 250, 250, 250, 10), noise=(0.3, 0.5)):
        super().__init__()
        self.depth = len(widths) - 1
        for i in range(self.depth):
            layer = nn.utils.weight_norm(nn.Linear(widths[i], widths[i + 1]), dim=0)
            if i < self.depth - 1:
                layer.weight_g.requires_grad_(False)
            setattr(self, f"fc{i + 1}", layer)
        self.noise = noise

    def layers(self):
        return [getattr(self, f"fc{i + 1}") for i in range(self.depth)]

    def forward(self, x, features_only=False):
        x = x.flatten(1)
        h = x + self.noise[0] * torch.randn_like(x) if self.training else x
        last = self.depth - 1
        for i, layer in enumerate(self.layers()):
            y = layer(h)
            if i == last:
                return y
            y = torch.relu(y)
            if features_only and i == last - 1:
                return y
            h = y + self.noise[1] * torch.randn_like(y) if self.training else y


class SemiG(nn.Module):
    """The semi-supervised generator: z U[0,1) [N,nz] -> image [N,784] in (0,1)."""

    def __init__(self, nz=100, hidden=500):
        super().__init__()
        self.fc1 = nn.Linear(nz, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = nn.utils.weight_norm(nn.Linear(hidden, 784), dim=0)

    def forward(self, z):
        sp = nn.functional.softplus
        return torch.sigmoid(self.fc3(sp(self.bn2(self.fc2(sp(self.bn1(self.fc1(z))))))))


def _i(meta, key, default):
    return int(meta.get(key, default))


def _f(meta, key, default):
    return float(meta.get(key, default))


def model_from_checkpoint(sd, meta, prefix):
    """The module a gancl checkpoint's network under prefix is, sized by
    its metadata (its configuration) and shapes; weights not loaded."""
    prefix = prefix.rstrip(".")
    model = meta.get("model")
    if prefix == "cls":
        return Classifier(_i(meta, "conv1", 32), _i(meta, "conv2", 64), _i(meta, "hidden", 128),
                          _f(meta, "dropout1", 0.25), _f(meta, "dropout2", 0.5))
    if model == "semi-mlp":
        if prefix == "gen":
            return SemiG(_i(meta, "nz", 100), _i(meta, "g_hidden", 500))
        hid = [int(v) for v in meta.get("d_hidden", "1000,500,250,250,250").split(",")]
        noise = [float(v) for v in meta.get("noise", "0.3,0.5").split(",")]
        return SemiD(tuple([784] + hid + [_i(meta, "nclass", 10)]), tuple(noise))
    if model in ("dcgan", "acgan", "dcgan-features"):
        slope = _f(meta, "slope", 0.2)
        if prefix == "disc":
            return DCGANDiscriminator(_i(meta, "ndf", 64), _i(meta, "nout", 1), slope, _f(meta, "dropout", 0.3))
        nclass = _i(meta, "nclass", 0) if model == "acgan" else 0
        if meta.get("arch", "dcgan") == "mlp":
            return MLPGenerator(_i(meta, "nz", 100), _i(meta, "hidden", 128), slope, nclass)
        return DCGANGenerator(_i(meta, "nz", 100), _i(meta, "ngf", 64), slope, nclass)
    raise ValueError(f"no network {prefix!r} in a checkpoint of model {model!r}")


def load_network(path, prefix, strict=True):
    """(module with the checkpoint's weights under prefix, in eval mode, metadata)."""
    sd, meta = load_file(path)
    m = model_from_checkpoint(sd, meta, prefix)
    m.load_state_dict(network(sd, prefix), strict=strict)
    return m.eval(), meta
