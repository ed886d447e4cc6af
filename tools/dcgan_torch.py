#!/usr/bin/env python3
"""Train the founding notes' DCGAN in PyTorch (CPU) like `gancl train --mode
gan`, then write generated images as an IDX file for `gancl eval --fid --is
--images`, so both generators are scored by gancl's own evaluator
(tools/compare_torch_fid.sh runs both).

Same networks as gancl (tools/gancl_torch.py, include/gancl/models.h), same
init (DCGAN N(0, 0.02): every generator parameter but batch norm's, the
discriminator's weights; its biases 0), same step (src/train/gan.c: D on real
and fake as one batch of 2N, BCE with logits, Adam; then the same fakes
through the updated D labelled real, Adam on G; Adam 2e-4, beta1 0.5),
batch 64, full batches of a fresh shuffle each epoch. The seed is the same
number but PyTorch's generator is not gancl's Philox: the runs share
settings, not random streams.

  dcgan_torch.py --data DIR --epochs N [--steps N] [--seed S] --out FILE [--n 10000] [--save G.safetensors]

--save writes the generator's state_dict (under gen.) as safetensors, which
gancl samples and scores directly (gancl sample / eval --fid --is --checkpoint).
"""
import argparse
import gzip
import os
import struct
import time

import torch
import torch.nn as nn

from gancl_torch import DCGANDiscriminator, DCGANGenerator, save_file


def load_images(data):
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        path = os.path.join(data, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            magic, n, h, w = struct.unpack(">IIII", raw[:16])
            if magic != 2051 or h != 28 or w != 28:
                raise SystemExit(f"{path}: not an MNIST image file (magic {magic}, {h}x{w})")
            x = torch.frombuffer(bytearray(raw[16:16 + n * 784]), dtype=torch.uint8)
            return x.view(n, 1, 28, 28).float() / 127.5 - 1
    raise SystemExit(f"no train-images-idx3-ubyte[.gz] in {data} (tools/download_mnist.sh fetches MNIST)")


def write_idx(path, images):
    """images in [-1, 1], [n,1,28,28] -> IDX ubyte (round half up, as gancl's grids)."""
    px = ((images.clamp(-1, 1) + 1) * 127.5 + 0.5).floor().clamp(0, 255).to(torch.uint8)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack(">IIII", 2051, px.shape[0], 28, 28))
        f.write(px.contiguous().numpy().tobytes())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="cap on steps per epoch (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--n", type=int, default=10000, help="images to write")
    ap.add_argument("--out", required=True)
    ap.add_argument("--save", help="also the generator's state_dict as safetensors (gancl reads it)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = load_images(a.data)
    G, D = DCGANGenerator(), DCGANDiscriminator()
    with torch.no_grad():
        for module in G.modules():
            if not isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                for p in module.parameters(recurse=False):
                    p.normal_(0, 0.02)
        for name, p in D.named_parameters():
            (p.normal_(0, 0.02) if name.endswith("weight") else p.zero_())
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    n = a.batch_size
    t2 = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
    t1 = torch.ones(n, 1)
    per_epoch = x.shape[0] // n
    if a.steps:
        per_epoch = min(per_epoch, a.steps)
    print(f"torch dcgan: {x.shape[0]} images, batch {n}, {a.epochs} epochs of {per_epoch} steps, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}", flush=True)
    t0 = time.time()
    step = 0
    for epoch in range(a.epochs):
        order = torch.randperm(x.shape[0])
        for b in range(per_epoch):
            real = x[order[b * n:(b + 1) * n]]
            fake = G(torch.randn(n, 100))
            oD.zero_grad(set_to_none=True)
            # mean over 2N logits: half of loss_real + loss_fake, as gancl (Adam does not mind the factor)
            ld = bce(D(torch.cat([real, fake.detach()])), t2)
            ld.backward()
            oD.step()
            oG.zero_grad(set_to_none=True)
            lg = bce(D(fake), t1)
            lg.backward()
            oG.step()
            step += 1
            if step % 50 == 0 or b + 1 == per_epoch:
                print(f"epoch {epoch + 1}/{a.epochs} step {b + 1}/{per_epoch}  loss_d {2 * ld.item():.4f}  "
                      f"loss_g {lg.item():.4f}  {step * n / (time.time() - t0):.1f} img/s", flush=True)
    G.eval()
    out = []
    with torch.no_grad():
        for at in range(0, a.n, 500):
            out.append(G(torch.randn(min(500, a.n - at), 100)))
    write_idx(a.out, torch.cat(out))
    if a.save:
        save_file({"gen." + k: v for k, v in G.state_dict().items()}, a.save)
    print(f"done: {step} steps in {time.time() - t0:.1f} s; {a.n} images in {a.out}")


if __name__ == "__main__":
    main()
