#!/usr/bin/env bash
# End to end: `gancl train --mode augment` on a tiny synthetic dataset with
# a tiny cgan generator, on the reference and (when OpenCL exists) the
# default device: both runs train and are scored, outputs appear, a run
# stopped after epoch 1 and resumed from the augmented checkpoint ends with
# the same checkpoints, byte for byte, as an uninterrupted run (also when
# the resume leaves every setting to the checkpoint); Ctrl-C saves
# and exits 130; the imbalanced setting reports the reduced classes; a
# missing or wrong generator and a missing label budget are clear errors.
#   test_train_augment.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
"$gancl" train --mode cgan --device cpu --data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 2 \
  --epochs 1 --outdir "$tmp/cgan" >"$tmp/cgan.log" 2>&1
check "a tiny cgan generator trains" $?
"$gancl" train --mode gan --device cpu --data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 1 \
  --epochs 1 --outdir "$tmp/gan" >"$tmp/gan.log" 2>&1
gen=$tmp/cgan/checkpoint.safetensors
# 2 labels per class: 20 images, batches of 8, 8 and 4, each with 8 generated
small=(--mode augment --data "$tmp/data" --batch-size 8 --labels-per-class 2 --log-every 1 --generator "$gen")

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/full" >"$out.log" 2>&1
  check "[$dev] baseline and augmented runs train" $?
  test -s "$out/full/baseline/checkpoint.safetensors" -a -s "$out/full/augmented/checkpoint.safetensors" \
    -a -s "$out/full/baseline/curves.png" -a -s "$out/full/augmented/curves.png" -a -s "$out/full/summary.json"
  check "[$dev] both checkpoints, both curves and the summary written" $?
  grep -q "each step 8 real + 8 generated images (ratio 1)" "$out.log" &&
    grep -Eq '^baseline  \(real only\): +test accuracy [0-9]+\.[0-9]{2}%$' "$out.log" &&
    grep -Eq '^augmented \(real \+ cgan, r=1\): test accuracy [0-9]+\.[0-9]{2}%$' "$out.log" &&
    grep -Eq '^difference: [-+][0-9]+\.[0-9]{2} points overall$' "$out.log"
  check "[$dev] both test accuracies and their difference printed" $?
  python3 - "$out/full" <<'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
m = [json.loads(l) for l in open(d + "/metrics.jsonl")]
b = [json.loads(l) for l in open(d + "/baseline/metrics.jsonl")]
a = [json.loads(l) for l in open(d + "/augmented/metrics.jsonl")]
assert s["train_images"] == 20 and s["generated_per_step"] == 8 and s["ratio"] == 1, s
assert len(m) == 1 and m[0]["baseline_accuracy"] == b[-1]["test_accuracy"], (m, b[-1])
assert m[0]["augmented_accuracy"] == a[-1]["test_accuracy"], (m, a[-1])
assert abs(s["difference"] - (a[-1]["test_accuracy"] - b[-1]["test_accuracy"])) < 1e-6
assert len(b) == 8 and len(a) == 8  # 3 steps + a test accuracy per epoch
PY
  check "[$dev] metrics.jsonl and summary.json agree with the runs' last test accuracies" $?

  "$gancl" train --device "$dev" "${small[@]}" --epochs 1 --outdir "$out/part" >>"$out.log" 2>&1 &&
    "$gancl" train --device "$dev" "${small[@]}" --epochs 2 --outdir "$out/part" \
      --resume "$out/part/augmented/checkpoint.safetensors" >>"$out.log" 2>&1
  check "[$dev] stop after epoch 1, resume both runs to epoch 2" $?
  cmp -s "$out/full/baseline/checkpoint.safetensors" "$out/part/baseline/checkpoint.safetensors" &&
    cmp -s "$out/full/augmented/checkpoint.safetensors" "$out/part/augmented/checkpoint.safetensors"
  check "[$dev] resumed checkpoints are byte-identical to the uninterrupted ones" $?

  interrupt "$out.int.log" "$gancl" train --device "$dev" "${small[@]}" --epochs 100000 --outdir "$out/int"
  test $rc -eq 130 -a -s "$out/int/baseline/checkpoint.safetensors"
  check "[$dev] Ctrl-C saves a checkpoint and exits 130 (got $rc)" $?
done

# imbalance: classes 0, 1, 2 keep 2 of their 5 images (8 and 9 have 4);
# the generator fills every class up to 5: 11 images for 39 real, ratio 11/39
"$gancl" train --device cpu --mode augment --data "$tmp/data" --batch-size 8 --imbalance "0,1,2:0.4" --epochs 1 \
  --generator "$gen" --outdir "$tmp/imb" >"$tmp/imb.log" 2>&1
check "imbalanced setting trains" $?
grep -q "39 labeled training images (0: 2\*, 1: 2\*, 2: 2\*, 3: 5," "$tmp/imb.log" &&
  grep -q "8 real + 2 generated images (ratio 0.282051)" "$tmp/imb.log" &&
  grep -Eq "^difference: .* points overall, [-+][0-9]+\.[0-9]{2} points on the reduced classes$" "$tmp/imb.log" &&
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert "accuracy_reduced" in s["augmented"]' \
    "$tmp/imb/summary.json"
check "imbalanced setting: reduced classes marked, balancing ratio, reduced-class accuracies reported" $?

# a resume takes the flags left out from the checkpoint: the imbalanced run
# at batch 6 (6 real + 2 generated rows a step), stopped after epoch 1 and
# resumed with --resume and --epochs alone, ends byte-identical
imb=(--device cpu --mode augment --data "$tmp/data" --batch-size 6 --imbalance "0,1,2:0.4" --generator "$gen" --seed 7)
"$gancl" train "${imb[@]}" --epochs 2 --outdir "$tmp/imbf" >"$tmp/imbf.log" 2>&1 &&
  "$gancl" train "${imb[@]}" --epochs 1 --outdir "$tmp/imbp" >>"$tmp/imbf.log" 2>&1 &&
  "$gancl" train --mode augment --device cpu --data "$tmp/data" --epochs 2 --outdir "$tmp/imbp" \
    --resume "$tmp/imbp/augmented/checkpoint.safetensors" >>"$tmp/imbf.log" 2>&1 &&
  cmp -s "$tmp/imbf/augmented/checkpoint.safetensors" "$tmp/imbp/augmented/checkpoint.safetensors" &&
  cmp -s "$tmp/imbf/baseline/checkpoint.safetensors" "$tmp/imbp/baseline/checkpoint.safetensors"
check "resume with every flag but --epochs left out: the checkpoint's settings, byte-identical" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --epochs 2 --outdir "$tmp/imbp" --ratio 0.5 \
  --resume "$tmp/imbp/augmented/checkpoint.safetensors" >"$tmp/imbr.log" 2>&1
test $? -eq 1 && grep -q "ratio: checkpoint 0.282051295, run 0.5 (--ratio)" "$tmp/imbr.log"
check "resume with another --ratio is refused with both values" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --epochs 2 --outdir "$tmp/imbp" --batch-size 8 \
  --resume "$tmp/imbp/augmented/checkpoint.safetensors" >"$tmp/imbb.log" 2>&1
test $? -eq 1 && grep -q "batch: checkpoint 8 rows a step (augmented run), run 10 (--batch-size 8)" "$tmp/imbb.log"
check "resume with another --batch-size is refused, naming the rows" $?

"$gancl" train --mode augment --device cpu --data "$tmp/data" --labels-per-class 2 --outdir "$tmp/o" >"$tmp/e1" 2>&1
test $? -eq 2 && grep -q "needs --generator" "$tmp/e1"
check "a missing --generator is a usage error" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --generator "$gen" --outdir "$tmp/o" >"$tmp/e2" 2>&1
test $? -eq 2 && grep -q "needs a label budget" "$tmp/e2"
check "a missing label budget is a usage error" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --labels-per-class 2 \
  --generator "$tmp/gan/checkpoint.safetensors" --outdir "$tmp/o" >"$tmp/e3" 2>&1
test $? -eq 1 && grep -q "is a gan checkpoint: augment needs a cgan one" "$tmp/e3"
check "an unconditional gan checkpoint as --generator is refused" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --labels-per-class 2 \
  --generator "$tmp/imb/baseline/checkpoint.safetensors" --outdir "$tmp/o" >"$tmp/e4" 2>&1
test $? -eq 1 && grep -q "holds no generator: its model is cnn-classifier" "$tmp/e4"
check "a classifier checkpoint as --generator is refused, naming what it is" $?
"$gancl" train --mode augment --device cpu --data "$tmp/data" --imbalance "0:2" --generator "$gen" \
  --outdir "$tmp/o" >"$tmp/e5" 2>&1
test $? -eq 2 && grep -q "imbalance" "$tmp/e5"
check "a bad --imbalance is a usage error" $?
tap_end
