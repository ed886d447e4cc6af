#!/usr/bin/env bash
# End to end: `gancl train --mode semi` on a tiny synthetic dataset, on the
# reference and (when OpenCL exists) the default device: outputs appear and
# the test accuracy is printed each epoch; a run stopped after epoch 1 and
# resumed ends with the same checkpoint, byte for byte, as an uninterrupted
# run; Ctrl-C saves and exits 130; a checkpoint made with other --labels and
# bad --labels values are clear errors.
#   test_train_semi.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
# 48 images, labels i % 10: at least 4 of every class
small=(--data "$tmp/data" --batch-size 8 --labels 30 --steps-per-epoch 3 --log-every 1)

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --mode semi --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/full" >"$out.log" 2>&1
  check "[$dev] two epochs run" $?
  test -s "$out/full/checkpoint.safetensors" -a -s "$out/full/samples_epoch002.png" -a -s "$out/full/curves.png"
  check "[$dev] checkpoint, sample grid and curves written" $?
  test "$(grep -c 'test accuracy: [0-9]*\.[0-9][0-9]% (error [0-9]*\.[0-9][0-9]%)' "$out.log")" -eq 2
  check "[$dev] test accuracy printed after each epoch" $?
  test "$(grep -c '"loss_lab"' "$out/full/metrics.jsonl")" -eq 6 -a \
    "$(grep -c '"test_error"' "$out/full/metrics.jsonl")" -eq 2
  check "[$dev] one metrics line per logged step, one per epoch with the test error" $?

  "$gancl" train --mode semi --device "$dev" "${small[@]}" --epochs 1 --outdir "$out/part" >>"$out.log" 2>&1 &&
    "$gancl" train --mode semi --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/part" \
      --resume "$out/part/checkpoint.safetensors" >>"$out.log" 2>&1
  check "[$dev] stop after epoch 1, resume to epoch 2" $?
  cmp -s "$out/full/checkpoint.safetensors" "$out/part/checkpoint.safetensors"
  check "[$dev] resumed checkpoint is byte-identical to the uninterrupted one" $?

  # Ctrl-C a few steps into epoch 1 of 3 (6 steps each: 48 images, batch
  # 8), so the resume starts mid-epoch
  long=("${small[@]}" --steps-per-epoch 1000 --epochs 3)
  interrupt "$out.int.log" "$gancl" train --mode semi --device "$dev" "${long[@]}" --outdir "$out/int"
  test $rc -eq 130 -a -s "$out/int/checkpoint.safetensors"
  check "[$dev] Ctrl-C saves a checkpoint and exits 130 (got $rc)" $?
  "$gancl" train --mode semi --device "$dev" "${long[@]}" --outdir "$out/int" \
    --resume "$out/int/checkpoint.safetensors" >>"$out.int.log" 2>&1 &&
    "$gancl" train --mode semi --device "$dev" "${long[@]}" --outdir "$out/long" >>"$out.int.log" 2>&1 &&
    cmp -s "$out/int/checkpoint.safetensors" "$out/long/checkpoint.safetensors"
  check "[$dev] resumed after Ctrl-C: checkpoint byte-identical to the uninterrupted one" $?
  "$gancl" train --mode semi --device "$dev" "${small[@]}" --labels 20 --epochs 3 --outdir "$out/int" \
    --resume "$out/full/checkpoint.safetensors" >"$out.bad.log" 2>&1
  test $? -eq 1 && grep -q "labels: checkpoint 30, run 20" "$out.bad.log"
  check "[$dev] resuming with other --labels is refused, naming the field" $?
done

"$gancl" train --mode semi --device cpu "${small[@]}" --labels 25 --outdir "$tmp/o" >"$tmp/e1" 2>&1
test $? -eq 2 && grep -q "not a multiple of 10" "$tmp/e1"
check "--labels not a multiple of 10 is a usage error" $?
"$gancl" train --mode semi --device cpu "${small[@]}" --labels 50 --outdir "$tmp/o" >"$tmp/e2" 2>&1
test $? -eq 1 && grep -q "class" "$tmp/e2"
check "more labels per class than the data has is a clear error" $?
"$gancl" train --mode semi --labels 5 >"$tmp/e3" 2>&1
test $? -eq 2 && grep -q "labels" "$tmp/e3"
check "--labels below 10 is a usage error" $?
tap_end
