#!/usr/bin/env bash
# The same DCGAN trained by gancl and by PyTorch (Debian's python3-torch,
# CPU; tools/dcgan_torch.py) for the same epochs and seed settings, both
# scored by gancl's FID and IS with one evaluator (its hash is checked to
# match): 10,000 images of each generator against the MNIST test set.
#   tools/compare_torch_fid.sh [--epochs N] [--steps N] [--seed S] [--device SEL]
#                              [--data DIR] [--outdir DIR] [--gancl-checkpoint FILE]
# --steps N caps every epoch at N steps (a quick smoke run); with
# --gancl-checkpoint, gancl's generator is that checkpoint instead of a new
# run (give the epochs it was trained for). PyTorch's images go through an
# IDX file (8-bit pixels), gancl's are scored in float; the rounding moves
# FID by far less than the run-to-run spread. A benchmark, not a test: the
# PyTorch run takes all cores, so run it on a quiet machine.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
gancl_install_deps python3-torch libopenblas0-pthread
# GANCL=path: use that binary instead of building build/gancl
[ -n "${GANCL:-}" ] || gancl_build
gancl=${GANCL:-$top/build/gancl}
epochs=5 steps=0 seed=1 device=() data="" outdir=runs/compare-fid ckpt=""
while [ $# -gt 0 ]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --device) device=(--device "$2"); shift 2 ;;
    --data) data=$2; shift 2 ;;
    --outdir) outdir=$2; shift 2 ;;
    --gancl-checkpoint) ckpt=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--steps N] [--seed S] [--device SEL] [--data DIR] [--outdir DIR]" \
         "[--gancl-checkpoint FILE]" >&2; exit 2 ;;
  esac
done
if [ -z "$data" ]; then
  for d in "${GANCL_DATA:-}" data/mnist ../shared/data/mnist "$top/../shared/data/mnist"; do
    if [ -n "$d" ] && [ -d "$d" ]; then data=$d; break; fi
  done
fi
[ -n "$data" ] || { echo "no MNIST directory: give --data DIR (tools/download_mnist.sh fetches it)" >&2; exit 1; }
mkdir -p "$outdir"
cap=()
[ "$steps" -gt 0 ] && cap=(--steps-per-epoch "$steps")
n=10000
[ "$steps" -gt 0 ] && n=2000 # a smoke run: fewer images, a rougher FID

if [ -z "$ckpt" ]; then
  echo "== gancl: $epochs epochs, seed $seed"
  "$gancl" train --mode gan "${device[@]}" --data "$data" --epochs "$epochs" "${cap[@]}" --seed "$seed" \
    --outdir "$outdir/gancl"
  ckpt=$outdir/gancl/checkpoint.safetensors
fi
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): $epochs epochs, seed $seed"
/usr/bin/python3 "$top/tools/dcgan_torch.py" --data "$data" --epochs "$epochs" --steps "$steps" --seed "$seed" \
  --n "$n" --out "$outdir/torch-images-idx3-ubyte"

echo "== scoring both with gancl's evaluator"
"$gancl" eval --fid --is "${device[@]}" --data "$data" --checkpoint "$ckpt" --n "$n" --seed "$seed" \
  --out "$outdir/gancl-scores.json" | tee "$outdir/gancl-eval.log"
hash=$(sed -n 's/^evaluator \([0-9a-f]*\): .*/\1/p' "$outdir/gancl-eval.log")
"$gancl" eval --fid --is "${device[@]}" --data "$data" --images "$outdir/torch-images-idx3-ubyte" \
  --expect-evaluator "$hash" --out "$outdir/torch-scores.json" | tee "$outdir/torch-eval.log"

python3 - "$outdir" "$epochs" "$steps" "$n" <<'PY'
import json, os, sys
d, epochs, steps, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
g = json.load(open(os.path.join(d, "gancl-scores.json")))
t = json.load(open(os.path.join(d, "torch-scores.json")))
what = f"{epochs} epochs" + (f" of {steps} steps" if steps else "")
print(f"\nDCGAN, {what}; {n} images each vs the MNIST test set; evaluator {g['evaluator']} "
      f"({g.get('evaluator_recipe', '')}, test accuracy {100 * g.get('evaluator_test_accuracy', float('nan')):.2f}%)")
print(f"{'trainer':<8} {'FID':>9} {'IS':>16}")
for name, s in (("gancl", g), ("pytorch", t)):
    print(f"{name:<8} {s['fid']:>9.3f} {s['is_mean']:>9.3f} +- {s['is_std']:.3f}")
PY
