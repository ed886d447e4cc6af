#!/usr/bin/env bash
# End to end: `gancl train --mode cgan` (both generator archs) and
# `--mode gan --arch mlp` on a tiny synthetic dataset, on the reference and
# (when OpenCL exists) the default device: outputs appear (the class grid
# has one row per class), a run stopped after epoch 1 and resumed ends with
# the same checkpoint, byte for byte, as an uninterrupted run; Ctrl-C saves
# and exits 130; checkpoints of another kind or arch are refused by name.
#   test_train_cgan.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
small=(--data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 3 --log-every 1)

# width and height of a PNG
png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", d[16:24]))' "$1"; }

for dev in "${devices[@]}"; do
  for arch in dcgan mlp; do
    out=$tmp/$dev-$arch
    run=(train --mode cgan --device "$dev" --arch "$arch" "${small[@]}")
    "$gancl" "${run[@]}" --epochs 2 --outdir "$out/full" >"$out.log" 2>&1
    check "[$dev $arch] cgan: two epochs run" $?
    test -s "$out/full/checkpoint.safetensors" -a -s "$out/full/samples_epoch002.png" -a -s "$out/full/curves.png"
    check "[$dev $arch] cgan: checkpoint, class grid and curves written" $?
    # 10 rows (classes) x 10 columns of 28x28 with 2-pixel padding
    test "$(png_size "$out/full/samples_epoch002.png")" = "302 302"
    check "[$dev $arch] cgan: the class grid is 10 x 10 images" $?
    test "$(wc -l <"$out/full/metrics.jsonl")" -eq 6 && grep -q '"acc_real"' "$out/full/metrics.jsonl"
    check "[$dev $arch] cgan: one metrics line per logged step, with class accuracies" $?
    head -c 4096 "$out/full/checkpoint.safetensors" | grep -aq '"mode":"cgan"' &&
      head -c 4096 "$out/full/checkpoint.safetensors" | grep -aq "\"arch\":\"$arch\"" &&
      head -c 4096 "$out/full/checkpoint.safetensors" | grep -aq '"model":"acgan"'
    check "[$dev $arch] cgan: checkpoint metadata names mode, model and arch" $?

    "$gancl" "${run[@]}" --epochs 1 --outdir "$out/part" >>"$out.log" 2>&1 &&
      "$gancl" "${run[@]}" --epochs 2 --outdir "$out/part" --resume "$out/part/checkpoint.safetensors" >>"$out.log" 2>&1
    check "[$dev $arch] cgan: stop after epoch 1, resume to epoch 2" $?
    cmp -s "$out/full/checkpoint.safetensors" "$out/part/checkpoint.safetensors"
    check "[$dev $arch] cgan: resumed checkpoint is byte-identical to the uninterrupted one" $?
  done

  out=$tmp/$dev
  interrupt "$out.int.log" "$gancl" train --mode cgan --device "$dev" "${small[@]}" --steps-per-epoch 100000 --epochs 1000 \
    --outdir "$out/int"
  test $rc -eq 130 -a -s "$out/int/checkpoint.safetensors"
  check "[$dev] cgan: Ctrl-C saves a checkpoint and exits 130 (got $rc)" $?
  "$gancl" train --mode cgan --device "$dev" "${small[@]}" --arch mlp --epochs 3 --outdir "$out/int" \
    --resume "$tmp/$dev-dcgan/full/checkpoint.safetensors" >"$out.bad.log" 2>&1
  test $? -eq 1 && grep -q "arch: checkpoint dcgan, run mlp" "$out.bad.log"
  check "[$dev] cgan: resuming another arch is refused, naming the field" $?

  run=(train --mode gan --device "$dev" --arch mlp "${small[@]}")
  "$gancl" "${run[@]}" --epochs 2 --outdir "$out/gmlp" >"$out.gan.log" 2>&1 &&
    "$gancl" "${run[@]}" --epochs 1 --outdir "$out/gmlp-part" >>"$out.gan.log" 2>&1 &&
    "$gancl" "${run[@]}" --epochs 2 --outdir "$out/gmlp-part" --resume "$out/gmlp-part/checkpoint.safetensors" \
      >>"$out.gan.log" 2>&1
  check "[$dev] gan --arch mlp: two epochs, and one plus a resumed one" $?
  grep -q "gan (mlp, bce loss)" "$out.gan.log" && test -s "$out/gmlp/samples_epoch002.png" &&
    cmp -s "$out/gmlp/checkpoint.safetensors" "$out/gmlp-part/checkpoint.safetensors"
  check "[$dev] gan --arch mlp: samples written, resumed checkpoint byte-identical" $?
  "$gancl" train --mode gan --device "$dev" "${small[@]}" --arch dcgan --epochs 3 --outdir "$out/gbad" \
    --resume "$out/gmlp/checkpoint.safetensors" >"$out.gbad.log" 2>&1
  test $? -eq 1 && grep -q "arch: checkpoint mlp, run dcgan" "$out.gbad.log"
  check "[$dev] gan: resuming an mlp checkpoint with --arch dcgan is refused, naming the arch" $?
  "$gancl" train --mode gan --device "$dev" "${small[@]}" --epochs 3 --outdir "$out/gbad" \
    --resume "$tmp/$dev-dcgan/full/checkpoint.safetensors" >"$out.gbad2.log" 2>&1
  test $? -eq 1 && grep -q "cgan checkpoint" "$out.gbad2.log"
  check "[$dev] gan: resuming a cgan checkpoint is refused, naming its kind" $?
done

"$gancl" train --mode cgan --arch resnet >"$tmp/e1" 2>&1
test $? -eq 2 && grep -q "arch is dcgan or mlp" "$tmp/e1"
check "bad --arch is a usage error" $?
"$gancl" train --mode cgan --loss lsgan --device cpu --data "$tmp/data" --outdir "$tmp/o" >"$tmp/e2" 2>&1
test $? -eq 2 && grep -q "BCE only" "$tmp/e2"
check "cgan with --loss lsgan is a usage error" $?
tap_end
