#!/usr/bin/env python3
"""torch.mm / torch.bmm on the CPU (all cores), timed on GEMM shapes given as
lines 'ta tb M N K batch' on stdin (as `gancl bench gemm` prints them), for
tools/bench_gemm_vs_torch.sh. C[M,N] = op(A) op(B) with A stored [M,K] (ta 0)
or [K,M] (ta 1) and B stored [K,N] (tb 0) or [N,K] (tb 1), the transposes
taken as strided views (no copy), as gancl's GEMM takes them; batch > 1 is a
torch.bmm over contiguous matrices. Median of --reps runs after one warm-up.
Prints one line per shape: 'torch ta tb M N K batch <ms> ms <x> GFLOP/s <y> GFLOP/cpu',
y from the median process CPU time of a run (steadier on a shared machine)."""
import argparse
import os
import resource
import statistics
import sys
import time

import torch


def cpu():
    """CPU seconds of the process so far, all threads (OpenBLAS's too)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    for line in sys.stdin:
        f = line.split()
        if len(f) != 6:
            continue
        ta, tb, M, N, K, nb = map(int, f)
        A = torch.rand(nb, K, M) * 2 - 1 if ta else torch.rand(nb, M, K) * 2 - 1
        B = torch.rand(nb, N, K) * 2 - 1 if tb else torch.rand(nb, K, N) * 2 - 1
        opa = A.transpose(1, 2) if ta else A
        opb = B.transpose(1, 2) if tb else B
        C = torch.empty(nb, M, N)
        if nb == 1:
            a2, b2, c2 = opa[0], opb[0], C[0]
            run = lambda: torch.mm(a2, b2, out=c2)
        else:
            run = lambda: torch.bmm(opa, opb, out=C)
        run()
        ts, cs = [], []
        for _ in range(a.reps):
            t0, c0 = time.perf_counter(), cpu()
            run()
            ts.append(time.perf_counter() - t0)
            cs.append(cpu() - c0)
        ms, cms = statistics.median(ts) * 1e3, statistics.median(cs) * 1e3
        fl = 2.0 * M * N * K * nb
        print(f"torch {ta} {tb} {M} {N} {K} {nb} {ms:.4f} ms {fl / ms * 1e-6:.2f} GFLOP/s "
              f"{fl / cms * 1e-6 if cms > 0 else 0:.2f} GFLOP/cpu", flush=True)


if __name__ == "__main__":
    main()
