#!/usr/bin/env bash
# Real-MNIST smoke test: 300 steps of batch 64 (a third of an epoch) of the
# classifier on the default OpenCL device must reach > 95% test accuracy.
# Skips (77) without the data or without an OpenCL device.
#   test_mnist_smoke.sh GANCL MNIST_DIR
set -u
gancl=$1 data=$2
if [ ! -d "$data" ]; then echo "skip: no MNIST at $data"; exit 77; fi
if ! "$gancl" devices 2>/dev/null | grep -q '^[0-9]*:[0-9]'; then echo "skip: no OpenCL device"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
"$gancl" train --mode classifier --data "$data" --epochs 1 --steps-per-epoch 300 --batch-size 64 \
  --log-every 100 --outdir "$tmp/run" >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
echo "wall: $(($(date +%s) - start)) s"
if [ $rc -ne 0 ]; then echo "FAIL: gancl exited $rc"; exit 1; fi
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$tmp/log")
if [ -z "$acc" ]; then echo "FAIL: no 'test accuracy:' line"; exit 1; fi
if awk -v a="$acc" 'BEGIN { exit !(a > 95) }'; then
  echo "ok: test accuracy $acc% > 95%"
else
  echo "FAIL: test accuracy $acc% <= 95%"
  exit 1
fi
