#!/usr/bin/env python3
"""The founding notes' DCGAN in PyTorch (CPU), for tools/bench_vs_torch.sh.

Same networks and steps as gancl's. DCGAN (src/nn/dcgan.c, src/train/gan.c): D on
real and fake as one batch of 2N with BCE-with-logits, Adam on D; then the
same fakes through the updated D labelled real, Adam on G. The classifier
step: forward with dropout, cross-entropy, backward, Adam. Prints one line
per measurement: 'torch <what> batch <N> <ms> ms <images/s> img/s'."""
import argparse
import os
import statistics
import time

import torch
import torch.nn as nn


def generator(nz=100, ngf=64, slope=0.2):
    return nn.Sequential(
        nn.Linear(nz, 4 * ngf * 49, bias=False), nn.BatchNorm1d(4 * ngf * 49), nn.LeakyReLU(slope),
        nn.Unflatten(1, (4 * ngf, 7, 7)),
        nn.ConvTranspose2d(4 * ngf, 2 * ngf, 5, 1, 2, bias=False), nn.BatchNorm2d(2 * ngf), nn.LeakyReLU(slope),
        nn.ConvTranspose2d(2 * ngf, ngf, 5, 2, 2, output_padding=1), nn.BatchNorm2d(ngf), nn.LeakyReLU(slope),
        nn.ConvTranspose2d(ngf, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())


def discriminator(ndf=64, slope=0.2, drop=0.3):
    return nn.Sequential(
        nn.Conv2d(1, ndf, 5, 2, 2), nn.LeakyReLU(slope), nn.Dropout(drop),
        nn.Conv2d(ndf, 2 * ndf, 5, 2, 2), nn.LeakyReLU(slope), nn.Dropout(drop),
        nn.Flatten(), nn.Linear(2 * ndf * 49, 1))


def classifier():
    """The Keras MNIST CNN, as gancl's classifier mode (src/nn/classifier.c)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def timed(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-sizes", default="64,256")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--what", default="gan,classifier", help="gan, classifier or both")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads")
    what = a.what.split(",")
    for n in [int(b) for b in a.batch_sizes.split(",")]:
        if "gan" in what:
            gan_bench(n, a.reps)
        if "classifier" in what:
            cls_bench(n, a.reps)


def gan_bench(n, reps):
    G, D = generator(), discriminator()
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(n, 1, 28, 28) * 2 - 1
    t2 = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
    t1 = torch.ones(n, 1)

    def step():
        fake = G(torch.randn(n, 100))
        oD.zero_grad(set_to_none=True)
        bce(D(torch.cat([real, fake.detach()])), t2).backward()
        oD.step()
        oG.zero_grad(set_to_none=True)
        bce(D(fake), t1).backward()
        oG.step()

    s = timed(step, reps)
    print(f"torch gan_step batch {n} {s * 1e3:.1f} ms {n / s:.1f} img/s")
    G.eval()
    with torch.no_grad():
        z = torch.randn(n, 100)
        s = timed(lambda: G(z), reps)
    print(f"torch g_infer batch {n} {s * 1e3:.1f} ms {n / s:.1f} img/s")


def cls_bench(n, reps):
    C = classifier()
    oC = torch.optim.Adam(C.parameters(), lr=1e-3)
    xent = nn.CrossEntropyLoss()
    x = torch.rand(n, 1, 28, 28)
    y = torch.arange(n) % 10

    def cstep():
        oC.zero_grad(set_to_none=True)
        xent(C(x), y).backward()
        oC.step()

    s = timed(cstep, reps)
    print(f"torch cls_step batch {n} {s * 1e3:.1f} ms {n / s:.1f} img/s")


if __name__ == "__main__":
    main()
