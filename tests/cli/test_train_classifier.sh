#!/usr/bin/env bash
# End to end: `gancl train --mode classifier` on a tiny synthetic dataset,
# on the reference and (when OpenCL exists) the default device: outputs
# appear, a run stopped after epoch 1 and resumed ends with the same
# checkpoint, byte for byte, as an uninterrupted run; Ctrl-C saves and exits
# 130, also during the final evaluation after the last step (OpenCL only:
# the reference takes a minute over 3000 test images); a resume under
# another --labels-per-class is refused.
#   test_train_classifier.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
# 2 labels per class: 20 images, batches of 8, 8 and 4 (a partial last batch)
small=(--mode classifier --data "$tmp/data" --batch-size 8 --labels-per-class 2 --log-every 1)

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/full" >"$out.log" 2>&1
  check "[$dev] two epochs run" $?
  test -s "$out/full/checkpoint.safetensors" -a -s "$out/full/curves.png"
  check "[$dev] checkpoint and curves written" $?
  # 3 steps and one test-accuracy record per epoch
  test "$(wc -l <"$out/full/metrics.jsonl")" -eq 8 -a "$(grep -c test_accuracy "$out/full/metrics.jsonl")" -eq 2
  check "[$dev] one metrics line per step, one test accuracy per epoch" $?
  grep -q "20 training images" "$out.log" && grep -q "epoch 2 done: test accuracy" "$out.log" &&
    grep -q "confusion matrix" "$out.log" && grep -Eq '^test accuracy: [0-9]+\.[0-9]{2}%$' "$out.log"
  check "[$dev] labeled subset, per-epoch and final test accuracy, confusion matrix printed" $?

  "$gancl" train --device "$dev" "${small[@]}" --epochs 1 --outdir "$out/part" >>"$out.log" 2>&1 &&
    "$gancl" train --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/part" \
      --resume "$out/part/checkpoint.safetensors" >>"$out.log" 2>&1
  check "[$dev] stop after epoch 1, resume to epoch 2" $?
  cmp -s "$out/full/checkpoint.safetensors" "$out/part/checkpoint.safetensors"
  check "[$dev] resumed checkpoint is byte-identical to the uninterrupted one" $?

  interrupt "$out.int.log" "$gancl" train --device "$dev" "${small[@]}" --epochs 100000 --outdir "$out/int"
  test $rc -eq 130 -a -s "$out/int/checkpoint.safetensors"
  check "[$dev] Ctrl-C saves a checkpoint and exits 130 (got $rc)" $?
  "$gancl" train --device "$dev" "${small[@]}" --labels-per-class 3 --epochs 3 --outdir "$out/int" \
    --resume "$out/full/checkpoint.safetensors" >"$out.bad.log" 2>&1
  test $? -eq 1 && grep -q "labels_per_class: checkpoint 2, run 3" "$out.bad.log"
  check "[$dev] resuming under another --labels-per-class is refused, naming the field" $?
done

# Ctrl-C after the loop's last step: a run resumed at its last epoch trains
# no step and scores the test set (3000 images: about a second on an OpenCL
# CPU device); SIGINT once its header shows (flushed once Ctrl-C is caught)
# lands in that evaluation
if [ ${#devices[@]} -gt 1 ]; then
  python3 "$make_idx" "$tmp/big" 3000 || exit 1
  big=(--mode classifier --device "${devices[1]}" --data "$tmp/big" --batch-size 8 --steps-per-epoch 2 --epochs 1
       --outdir "$tmp/late")
  "$gancl" train "${big[@]}" >"$tmp/late.log" 2>&1 && cp "$tmp/late/checkpoint.safetensors" "$tmp/late.ckpt"
  check "a one-epoch run on 3000 images" $?
  "$gancl" train "${big[@]}" --resume "$tmp/late.ckpt" >"$tmp/late2.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "classifier (cnn) on" "$tmp/late2.log" 2>/dev/null && break; sleep 0.05; done
  kill -INT $pid
  wait $pid
  rc=$?
  test $rc -eq 130 && grep -q "interrupted after the last step: the checkpoints in $tmp/late are complete" "$tmp/late2.log" &&
    cmp -s "$tmp/late/checkpoint.safetensors" "$tmp/late.ckpt"
  check "Ctrl-C during the final evaluation exits 130, the checkpoint left complete (rc $rc)" $?
fi
"$gancl" train --mode classifier --device cpu --data "$tmp/data" --labels-per-class 6 --outdir "$tmp/o" >"$tmp/e1" 2>&1
test $? -eq 1 && grep -q "6 labels per class asked, class 0 has 5 items" "$tmp/e1"
check "more labels per class than the data has is a clear error" $?
"$gancl" train --mode classifier --labels-per-class 0 >"$tmp/e2" 2>&1
test $? -eq 2 && grep -q "labels-per-class" "$tmp/e2"
check "bad --labels-per-class is a usage error" $?
tap_end
