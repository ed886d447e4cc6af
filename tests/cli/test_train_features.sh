#!/usr/bin/env bash
# End to end: `gancl train --mode features` on a tiny synthetic dataset, on
# the reference and (when OpenCL exists) the default device: from a tiny gan
# checkpoint, the trained-D and random-D classifiers run, outputs appear, a
# rerun gives the same checkpoint byte for byte, `gancl eval` reproduces
# the accuracy; a classifier checkpoint as --discriminator, a gan one as
# --resume, a missing --discriminator and too many labels per class are
# clear errors (run safety and --resume: test_train_safety.sh).
#   test_train_features.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
# 48 images, labels i % 10: 3 labels per class is 30 images, batches of 8,
# 8, 8 and 6 (a partial last batch)
small=(--data "$tmp/data" --batch-size 8 --log-every 1)
feat=(--mode features "${small[@]}" --labels-per-class 3 --epochs 4)

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --mode gan --device "$dev" "${small[@]}" --ngf 4 --ndf 4 --steps-per-epoch 3 --epochs 1 \
    --outdir "$out/gan" >"$out.gan.log" 2>&1
  check "[$dev] a tiny gan checkpoint to start from" $?
  disc=$out/gan/checkpoint.safetensors

  "$gancl" train --device "$dev" "${feat[@]}" --discriminator "$disc" --outdir "$out/feat" >"$out.log" 2>&1
  check "[$dev] trained-D and random-D classifiers run" $?
  test -s "$out/feat/checkpoint.safetensors" -a -s "$out/feat/confusion.png" -a -s "$out/feat/curves.png"
  check "[$dev] checkpoint, confusion heatmap and curves written" $?
  # 4 steps a epoch, 4 epochs, each run; a test accuracy every epoch
  m=$out/feat/metrics.jsonl
  test "$(grep -c '"loss"' "$m")" -eq 16 -a "$(grep -c '"baseline_loss"' "$m")" -eq 16 \
    -a "$(grep -c '"test_accuracy"' "$m")" -eq 4 -a "$(grep -c '"baseline_test_accuracy"' "$m")" -eq 4
  check "[$dev] metrics: every step and every epoch's test accuracy of both runs" $?
  grep -q "30 labeled and 48 test images (F = 268)" "$out.log" && grep -q "^confusion matrix (rows" "$out.log" &&
    grep -Eq '^random D \(baseline\): test accuracy [0-9]+\.[0-9]{2}%' "$out.log" &&
    grep -Eq '^test accuracy: [0-9]+\.[0-9]{2}%$' "$out.log"
  check "[$dev] features, confusion matrix, baseline and final accuracy printed" $?

  "$gancl" train --device "$dev" "${feat[@]}" --discriminator "$disc" --no-baseline --outdir "$out/again" \
    >"$out.again.log" 2>&1
  check "[$dev] --no-baseline runs" $?
  ! grep -q "random D" "$out.again.log" && cmp -s "$out/feat/checkpoint.safetensors" "$out/again/checkpoint.safetensors"
  check "[$dev] no baseline; the same checkpoint, byte for byte" $?

  "$gancl" train --device "$dev" "${feat[@]}" --discriminator "$disc" --standardize --no-baseline \
    --outdir "$out/std" >"$out.std.log" 2>&1 && grep -q "standardised features" "$out.std.log" &&
    "$gancl" eval --device "$dev" --data "$tmp/data" --checkpoint "$out/std/checkpoint.safetensors" \
      >"$out.std.eval" 2>&1 && test "$(grep '^test accuracy' "$out.std.eval")" = "$(grep '^test accuracy' "$out.std.log")"
  check "[$dev] --standardize runs; eval applies the checkpoint's statistics" $?

  "$gancl" eval --device "$dev" --data "$tmp/data" --checkpoint "$out/feat/checkpoint.safetensors" >"$out.eval.log" 2>&1
  check "[$dev] eval of the features checkpoint runs" $?
  test "$(grep '^test accuracy' "$out.eval.log")" = "$(grep '^test accuracy' "$out.log")" -a -s "$out/feat/confusion.png"
  check "[$dev] eval reproduces the training's test accuracy" $?
done

out=$tmp/cpu
"$gancl" train --mode classifier --device cpu "${small[@]}" --labels-per-class 2 --epochs 1 --outdir "$out/cls" \
  >"$tmp/cls.log" 2>&1
"$gancl" train --device cpu "${feat[@]}" --discriminator "$out/cls/checkpoint.safetensors" --outdir "$out/bad" \
  >"$tmp/e1" 2>&1
test $? -eq 1 && grep -q "is a classifier checkpoint" "$tmp/e1" && grep -q 'mode "gan"' "$tmp/e1"
check "a classifier checkpoint as --discriminator is refused, naming both kinds" $?
"$gancl" train --device cpu "${feat[@]}" --resume "$out/gan/checkpoint.safetensors" --outdir "$out/bad" >"$tmp/e2" 2>&1
test $? -eq 1 && grep -q "is a gan checkpoint" "$tmp/e2" && grep -q 'expected a features checkpoint' "$tmp/e2"
check "--resume of a gan checkpoint is refused, naming both kinds" $?
"$gancl" train --device cpu "${feat[@]}" --outdir "$out/bad" >"$tmp/e3" 2>&1
test $? -eq 2 && grep -q "needs --discriminator" "$tmp/e3"
check "a missing --discriminator is a usage error" $?
"$gancl" train --device cpu "${feat[@]}" --discriminator "$out/gan/checkpoint.safetensors" --labels-per-class 6 \
  --outdir "$out/bad" >"$tmp/e4" 2>&1
test $? -eq 1 && grep -q "labels-per-class" "$tmp/e4"
check "more labels per class than the data has is refused" $?
"$gancl" train --device cpu "${feat[@]}" --discriminator "$tmp/none.safetensors" --outdir "$out/bad" >"$tmp/e5" 2>&1
test $? -eq 1 && grep -q "none.safetensors" "$tmp/e5"
check "a missing --discriminator file is named" $?
tap_end
