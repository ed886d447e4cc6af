#!/usr/bin/env bash
# End to end: `gancl train --mode gan` on a tiny synthetic dataset, on the
# reference and (when OpenCL exists) the default device: outputs appear,
# a run stopped after epoch 1 and resumed ends with the same checkpoint,
# byte for byte, as an uninterrupted run; Ctrl-C saves and exits 130; bad
# flags and a checkpoint of another architecture are clear errors.
#   test_train.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
small=(--data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 3 --log-every 1)

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --mode gan --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/full" >"$out.log" 2>&1
  check "[$dev] two epochs run" $?
  test -s "$out/full/checkpoint.safetensors" -a -s "$out/full/samples_epoch002.png" -a -s "$out/full/curves.png"
  check "[$dev] checkpoint, sample grid and curves written" $?
  test "$(wc -l <"$out/full/metrics.jsonl")" -eq 6
  check "[$dev] one metrics line per logged step" $?

  "$gancl" train --mode gan --device "$dev" "${small[@]}" --epochs 1 --outdir "$out/part" >>"$out.log" 2>&1 &&
    "$gancl" train --mode gan --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/part" \
      --resume "$out/part/checkpoint.safetensors" >>"$out.log" 2>&1
  check "[$dev] stop after epoch 1, resume to epoch 2" $?
  cmp -s "$out/full/checkpoint.safetensors" "$out/part/checkpoint.safetensors"
  check "[$dev] resumed checkpoint is byte-identical to the uninterrupted one" $?

  interrupt "$out.int.log" "$gancl" train --mode gan --device "$dev" "${small[@]}" --steps-per-epoch 100000 --epochs 1000 \
    --outdir "$out/int"
  test $rc -eq 130 -a -s "$out/int/checkpoint.safetensors"
  check "[$dev] Ctrl-C saves a checkpoint and exits 130 (got $rc)" $?
  "$gancl" train --mode gan --device "$dev" "${small[@]}" --ngf 6 --epochs 3 --outdir "$out/int" \
    --resume "$out/full/checkpoint.safetensors" >"$out.bad.log" 2>&1
  test $? -eq 1 && grep -q "ngf: checkpoint 4, run 6" "$out.bad.log"
  check "[$dev] resuming another architecture is refused, naming the field" $?
done

"$gancl" train --mode gan --batch-size 0 >"$tmp/e1" 2>&1
test $? -eq 2 && grep -q "batch-size" "$tmp/e1"
check "bad --batch-size is a usage error" $?
"$gancl" train --mode gan --device cpu --data "$tmp/nowhere" --outdir "$tmp/o" >"$tmp/e2" 2>&1
test $? -eq 1 && grep -q "nowhere" "$tmp/e2"
check "missing data directory is named" $?
"$gancl" train --mode gan --device no-such-device --outdir "$tmp/o" >"$tmp/e3" 2>&1
test $? -eq 1 && grep -q "matches no device" "$tmp/e3"
check "unknown device is a clear error" $?
tap_end
