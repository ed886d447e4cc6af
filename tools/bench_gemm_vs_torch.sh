#!/usr/bin/env bash
# gancl's GEMM next to torch.mm on every GEMM shape of the DCGAN and
# classifier training steps at batch 64 and 256 and of the semi-supervised
# step (batch 100 per part), in one invocation: `gancl bench gemm --quick`
# (as gancl runs each shape: path and own kernel) and tools/bench_gemm_torch.py
# (torch.mm / torch.bmm on the CPU, Debian's python3-torch with OpenBLAS, all
# cores) take turns for --rounds rounds; each side's per-shape GFLOP/s is the
# median over the rounds, and the ratio gancl/torch; likewise GFLOP per CPU
# second (process CPU time, all threads), which a busy machine disturbs
# less. Shapes with M, N and K all >= 64 are held to the bar of 0.85 and
# counted.
#   tools/bench_gemm_vs_torch.sh [--device SEL] [--reps N] [--rounds R]
#                                [--batch-sizes 64,256] [--threads T] [--gancl BIN]
# A benchmark, not a test: run it on a quiet machine; it prints the load.
# GANCL_GEMM, GANCL_GEMM_TILE and the tune file steer gancl as usual;
# OPENBLAS_CORETYPE (e.g. Haswell) steers OpenBLAS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
# OpenBLAS: without it Debian's torch falls back to the reference BLAS
gancl_install_deps python3-torch libopenblas0-pthread
device=() reps=5 rounds=3 sizes=64,256 threads=$(nproc) gancl=
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=(--device "$2"); shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --batch-sizes) sizes=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --gancl) gancl=$2; shift 2 ;;
    *) echo "usage: $0 [--device SEL] [--reps N] [--rounds R] [--batch-sizes 64,256] [--threads T] [--gancl BIN]" >&2
       exit 2 ;;
  esac
done
if [ -z "$gancl" ]; then
  gancl_build
  gancl=$top/build/gancl
fi
# idle OpenMP threads sleep rather than spin, as in tools/bench_vs_torch.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  "$gancl" bench gemm --quick "${device[@]}" --batch-sizes "$sizes" --reps "$reps" > "$tmp/gancl.$r"
  [ "$r" = 1 ] && head -2 "$tmp/gancl.$r"
  awk '$2 ~ /^[01]$/ && $3 ~ /^[01]$/ && NF >= 11 {print $2, $3, $4, $5, $6, $7}' "$tmp/gancl.$r" > "$tmp/shapes"
  /usr/bin/python3 "$top/tools/bench_gemm_torch.py" --reps "$reps" --threads "$threads" < "$tmp/shapes" > "$tmp/torch.$r"
  [ "$r" = 1 ] && head -1 "$tmp/torch.$r"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, medians"
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
g, gc, t, tc, label, ran = {}, {}, {}, {}, {}, {}
for r in range(1, rounds + 1):
    for line in open(f"{d}/gancl.{r}"):
        f = line.split()
        if len(f) >= 12 and f[1] in ("0", "1") and f[2] in ("0", "1"):
            k = tuple(map(int, f[1:7]))
            g.setdefault(k, []).append(float(f[8]))
            gc.setdefault(k, []).append(float(f[9]))
            label.setdefault(k, f[0])
            ran[k] = " ".join(f[10:12])
    for line in open(f"{d}/torch.{r}"):
        f = line.split()
        if f and f[0] == "torch":
            k = tuple(map(int, f[1:7]))
            t.setdefault(k, []).append(float(f[9]))
            tc.setdefault(k, []).append(float(f[11]))
med = statistics.median
print(f"{'model':<14} {'ta':>2} {'tb':>2} {'M':>6} {'N':>6} {'K':>6} {'batch':>5} {'gancl':>8} {'torch':>8} "
      f"{'ratio':>6} {'gancl':>8} {'torch':>8} {'ratio':>6}  {'gancl ran':<14} bar")
print(f"{'':<14} {'':>2} {'':>2} {'':>6} {'':>6} {'':>6} {'':>5} {'GFLOP/s':>8} {'GFLOP/s':>8} {'wall':>6} "
      f"{'GF/cpu-s':>8} {'GF/cpu-s':>8} {'cpu':>6}")
held = below = below_cpu = 0
fl_all = tg = tt = cg = ct = 0.0
for k in g:
    if k not in t:
        continue
    ta, tb, M, N, K, nb = k
    gw, tw, gcv, tcv = med(g[k]), med(t[k]), med(gc[k]), med(tc[k])
    fl = 2.0 * M * N * K * nb
    fl_all += fl
    tg += fl / gw
    tt += fl / tw
    cg += fl / gcv if gcv > 0 else 0
    ct += fl / tcv if tcv > 0 else 0
    bar = ""
    if min(M, N, K) >= 64:
        held += 1
        bar = ("ok" if gw >= 0.85 * tw else "BELOW") + (" (cpu ok)" if gcv >= 0.85 * tcv else " (cpu BELOW)")
        below += gw < 0.85 * tw
        below_cpu += gcv < 0.85 * tcv
    print(f"{label[k]:<14} {ta:>2} {tb:>2} {M:>6} {N:>6} {K:>6} {nb:>5} {gw:>8.1f} {tw:>8.1f} {gw / tw:>6.2f} "
          f"{gcv:>8.1f} {tcv:>8.1f} {gcv / tcv if tcv > 0 else 0:>6.2f}  {ran[k]:<14} {bar}")
print(f"all shapes (GFLOP summed / time summed): wall gancl {fl_all / tg:.1f}, torch {fl_all / tt:.1f} GFLOP/s; "
      f"cpu gancl {fl_all / cg if cg else 0:.1f}, torch {fl_all / ct if ct else 0:.1f} GFLOP per CPU second")
print(f"shapes with M, N, K >= 64: {held}; below 0.85 of torch: {below} by wall time, {below_cpu} by CPU time")
PY
