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


# The networks (src/nn/dcgan.c, classifier.c, semi.c) under gancl's state_dict names.
from gancl_torch import Classifier as classifier  # noqa: E402
from gancl_torch import DCGANDiscriminator as discriminator  # noqa: E402
from gancl_torch import DCGANGenerator as generator  # noqa: E402
from gancl_torch import SemiD  # noqa: E402
from gancl_torch import SemiG as semi_generator  # noqa: E402


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
