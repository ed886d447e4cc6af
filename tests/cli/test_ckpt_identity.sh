#!/usr/bin/env bash
# Every training mode's final checkpoint on the tiny synthetic dataset, on
# the reference backend (--device cpu), against the SHA-256 recorded from
# the code before the epoch loop moved into the library
# (tests/cli/ckpt_sha256.txt): moving a mode must not change its run by a
# single byte. `test_ckpt_identity.sh GANCL MAKE_IDX --print` prints the
# table instead of checking it (how the fixture was made).
#   test_ckpt_identity.sh GANCL MAKE_IDX [--print]
set -u
. "$(dirname "$0")/tap.sh"
fixture=$(cd "$(dirname "$0")" && pwd)/ckpt_sha256.txt
case $gancl in /*) ;; *) gancl=$PWD/$gancl ;; esac
# relative paths: augment and features record their generator/discriminator
# path in the checkpoint, and $tmp differs from run to run
cd "$tmp" || exit 1
print=${3:-}
d=(--device cpu --data data --batch-size 8 --log-every 1)
o=runs
run() { # run NAME CKPT ARGS...: train, then check (or print) CKPT's digest
  local name=$1 ckpt=$2
  shift 2
  "$gancl" train "${d[@]}" "$@" >"$tmp/$name.log" 2>&1
  local rc=$? sum
  sum=$(sha256sum "$ckpt" 2>/dev/null | cut -d' ' -f1)
  if [ "$print" = --print ]; then
    echo "$name $sum"
    return
  fi
  check "$name: trains" $rc
  test -n "$sum" && grep -qx "$name $sum" "$fixture"
  check "$name: final checkpoint byte-identical to the recorded one ($sum)" $?
}
run gan "$o/gan/checkpoint.safetensors" --mode gan --ngf 4 --ndf 4 --steps-per-epoch 3 --epochs 2 --outdir "$o/gan"
run gan-lsgan-mlp "$o/gan2/checkpoint.safetensors" --mode gan --loss lsgan --arch mlp --ndf 4 --steps-per-epoch 2 \
  --epochs 2 --lr 1e-4 --outdir "$o/gan2"
run cgan "$o/cgan/checkpoint.safetensors" --mode cgan --ngf 4 --ndf 4 --steps-per-epoch 2 --epochs 2 --outdir "$o/cgan"
run classifier "$o/cls/checkpoint.safetensors" --mode classifier --labels-per-class 2 --epochs 2 --outdir "$o/cls"
run semi "$o/semi/checkpoint.safetensors" --mode semi --labels 30 --steps-per-epoch 3 --epochs 2 --outdir "$o/semi"
run augment "$o/aug/augmented/checkpoint.safetensors" --mode augment --labels-per-class 2 --epochs 2 \
  --generator "$o/cgan/checkpoint.safetensors" --outdir "$o/aug"
run augment-baseline "$o/aug/baseline/checkpoint.safetensors" --mode augment --labels-per-class 2 --epochs 2 \
  --generator "$o/cgan/checkpoint.safetensors" --outdir "$o/aug2"
run features "$o/feat/checkpoint.safetensors" --mode features --labels-per-class 3 --epochs 4 \
  --discriminator "$o/gan/checkpoint.safetensors" --outdir "$o/feat"
[ "$print" = --print ] && exit 0
tap_end
