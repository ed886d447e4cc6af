#!/usr/bin/env python3
"""The founding notes' DCGAN in PyTorch (CPU), for tools/bench_vs_torch.sh.

Same networks and steps as gancl's. DCGAN (src/nn/dcgan.c, src/train/gan.c): D on
real and fake as one batch of 2N with BCE-with-logits, Adam on D; then the
same fakes through the updated D labelled real, Adam on G. The classifier
step: forward with dropout, cross-entropy, backward, Adam. The semi-supervised
GAN step (src/nn/semi.c, src/train/semi.c): Salimans et al.'s weight-normalized
MLPs, D on [labeled; unlabeled; fake] in one pass with Gaussian noise layers and
the K+1-class loss, Adam and the parameter average on D; G by feature matching
against the updated D on [fake; unlabeled], Adam on G. Prints one line per
measurement: 'torch <what> batch <N> <ms> ms <images/s> img/s'."""
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


class SemiD(nn.Module):
    """gancl's semi discriminator: noise 0.3 on the input, then weight-normalized
    Linear 784-1000-500-250-250-250-10 with ReLU and noise 0.5 before each layer
    after the first; the hidden layers' g fixed (Salimans), the output's g learns."""

    def __init__(self, widths=(784, 1000, 500, 250, 250, 250, 10), noise=(0.3, 0.5)):
        super().__init__()
        self.fc = nn.ModuleList()
        for i in range(len(widths) - 1):
            layer = nn.utils.weight_norm(nn.Linear(widths[i], widths[i + 1]), dim=0)
            if i < len(widths) - 2:
                layer.weight_g.requires_grad_(False)
            self.fc.append(layer)
        self.noise = noise

    def forward(self, x, features_only=False):
        h = x + self.noise[0] * torch.randn_like(x)
        last = len(self.fc) - 1
        for i, layer in enumerate(self.fc):
            y = layer(h)
            if i == last:
                return y
            y = torch.relu(y)
            if features_only and i == last - 1:
                return y
            h = y + self.noise[1] * torch.randn_like(y)


def semi_generator(nz=100, hidden=500):
    return nn.Sequential(
        nn.Linear(nz, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Softplus(),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Softplus(),
        nn.utils.weight_norm(nn.Linear(hidden, 784), dim=0), nn.Sigmoid())


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
    ap.add_argument("--what", default="gan,classifier,semi", help="any of gan, classifier, semi")
    ap.add_argument("--semi-batch", type=int, default=100, help="the semi step's N (each of labeled, unlabeled, fake)")
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
    if "semi" in what:
        semi_bench(a.semi_batch, a.reps)


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


def semi_bench(n, reps, nclass=10, rate=1e-4):
    D, G = SemiD(), semi_generator()
    betas = (0.5, 0.999)
    dparams = [p for p in D.parameters() if p.requires_grad]
    oD = torch.optim.Adam(dparams, lr=3e-3, betas=betas, eps=1e-4)
    oG = torch.optim.Adam(G.parameters(), lr=3e-3, betas=betas, eps=1e-4)
    avg = [torch.zeros_like(p) for p in dparams]
    x_lab, x_unl, x_unl2 = torch.rand(n, 784), torch.rand(n, 784), torch.rand(n, 784)
    y = torch.arange(n) % nclass
    softplus = nn.functional.softplus

    def step():
        # D: [labeled; unlabeled; fake], L_lab + 0.5 (L_unl + L_fake)
        with torch.no_grad():
            fake = G(torch.rand(n, 100))
        logits = D(torch.cat([x_lab, x_unl, fake]))
        lab, unl, gen = logits[:n], logits[n:2 * n], logits[2 * n:]
        l_unl, l_gen = torch.logsumexp(unl, 1), torch.logsumexp(gen, 1)
        loss_d = nn.functional.cross_entropy(lab, y) + 0.5 * (
            (softplus(l_unl) - l_unl).mean() + softplus(l_gen).mean())
        oD.zero_grad(set_to_none=True)
        loss_d.backward()
        oD.step()
        with torch.no_grad():
            torch._foreach_add_(avg, torch._foreach_sub(dparams, avg), alpha=rate)
        # G: feature matching against the updated D on [fake; unlabeled]
        for p in dparams:
            p.requires_grad_(False)
        fake = G(torch.rand(n, 100))
        f = D(torch.cat([fake, x_unl2]), features_only=True)
        loss_g = ((f[:n].mean(0) - f[n:].mean(0)) ** 2).mean()
        oG.zero_grad(set_to_none=True)
        loss_g.backward()
        oG.step()
        for p in dparams:
            p.requires_grad_(True)

    c0 = time.process_time()
    s = timed(step, reps)
    cpu = (time.process_time() - c0) / (reps + 1)
    print(f"torch semi_step batch {n} {s * 1e3:.1f} ms {n / s:.1f} img/s (CPU {cpu * 1e3:.1f} ms/step)")


if __name__ == "__main__":
    main()
