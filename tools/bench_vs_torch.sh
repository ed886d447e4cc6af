#!/usr/bin/env bash
# Side by side, in one invocation: gancl's DCGAN training step, generator
# inference, the classifier's training step and the semi-supervised GAN's
# step on the selected OpenCL device, and the same model in PyTorch on the
# CPU (Debian's python3-torch, all cores), at batch 64 and 256 (the semi
# step at its configuration's batch 100: 100 labeled + 100 unlabeled +
# 100 generated for D, 100 more of each for G); warm, median of several
# steps; images/s and the ratio gancl/torch.
#   tools/bench_vs_torch.sh [--device SEL] [--reps N] [--batch-sizes 64,256]
#                           [--what gan,classifier,semi] [--semi-batch 100] [--gancl BIN]
# --what limits the models; --gancl times that binary instead of building
# and timing build/gancl (e.g. another build directory's, to compare).
# A benchmark, not a test: run it on a quiet machine.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
# OpenBLAS: without it Debian's torch falls back to the reference BLAS,
# an unfair comparison (gancl itself does not use a BLAS library)
gancl_install_deps python3-torch libopenblas0-pthread
device=() reps=5 sizes=64,256 what=gan,classifier,semi semi_batch=100 gancl=
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=(--device "$2"); shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --batch-sizes) sizes=$2; shift 2 ;;
    --what) what=$2; shift 2 ;;
    --semi-batch) semi_batch=$2; shift 2 ;;
    --gancl) gancl=$2; shift 2 ;;
    *) echo "usage: $0 [--device SEL] [--reps N] [--batch-sizes 64,256] [--what gan,classifier,semi]" \
            "[--semi-batch 100] [--gancl BIN]" >&2
       exit 2 ;;
  esac
done
if [ -z "$gancl" ]; then
  gancl_build
  gancl=$top/build/gancl
fi
out=$(mktemp); trap 'rm -f "$out"' EXIT
for n in ${sizes//,/ }; do
  case ,$what, in *,gan,*) "$gancl" bench gan "${device[@]}" --batch-size "$n" --reps "$reps" | tee -a "$out" ;; esac
  case ,$what, in *,classifier,*)
    "$gancl" bench classifier "${device[@]}" --batch-size "$n" --reps "$reps" | tee -a "$out" ;; esac
done
# GNU OpenMP's threads spin while they wait: on a machine shared with other
# jobs a descheduled one stalls every parallel region (measured here with
# two other jobs running: the classifier step at batch 64 took 253 ms with
# spinning, 76 ms without; gancl's PoCL threads sleep). Unless the caller
# chooses, they sleep too.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
case ,$what, in *,semi,*)
  "$gancl" bench semi "${device[@]}" --batch-size "$semi_batch" --reps "$reps" | tee -a "$out" ;; esac
/usr/bin/python3 "$top/tools/bench_torch.py" --batch-sizes "$sizes" --reps "$reps" --what "$what" \
  --semi-batch "$semi_batch" | tee -a "$out"
echo
python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
g = {}
for n, ips in re.findall(r"DCGAN step, batch (\d+): [\d.]+ ms/step, ([\d.]+) images/s", text):
    g[("gan_step", n)] = float(ips)
for n, ips in re.findall(r"generator inference, batch (\d+): [\d.]+ ms, ([\d.]+) images/s", text):
    g[("g_infer", n)] = float(ips)
for n, ips in re.findall(r"classifier step, batch (\d+): [\d.]+ ms/step, ([\d.]+) images/s", text):
    g[("cls_step", n)] = float(ips)
for n, ips in re.findall(r"semi step, batch (\d+): [\d.]+ ms/step, ([\d.]+) images/s", text):
    g[("semi_step", n)] = float(ips)
t = {(w, n): float(ips) for w, n, ips in re.findall(r"torch (\w+) batch (\d+) [\d.]+ ms ([\d.]+) img/s", text)}
print(f"{'what':<10} {'batch':>5} {'gancl img/s':>12} {'torch img/s':>12} {'ratio':>7}")
for k in sorted(t, key=lambda k: (k[0], int(k[1]))):
    if k in g:
        print(f"{k[0]:<10} {k[1]:>5} {g[k]:>12.1f} {t[k]:>12.1f} {g[k] / t[k]:>7.2f}x")
PY
