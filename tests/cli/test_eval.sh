#!/usr/bin/env bash
# End to end: `gancl eval --checkpoint` on a tiny synthetic dataset, on the
# reference and (when OpenCL exists) the default device: a classifier and a
# semi checkpoint trained for a few steps are evaluated with the accuracy
# their training printed, the confusion heatmap goes next to the checkpoint
# (or to --out), --json prints one parseable line; a gan checkpoint, a
# missing or corrupt file, a missing test set and a missing --checkpoint
# are clear errors.
#   test_eval.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
small=(--data "$tmp/data" --batch-size 8 --log-every 1)

# the last "test accuracy: X%" a log printed
last_acc() { grep -o 'test accuracy: [0-9.]*%' "$1" | tail -1; }

for dev in "${devices[@]}"; do
  out=$tmp/$dev
  "$gancl" train --mode classifier --device "$dev" "${small[@]}" --labels-per-class 2 --epochs 1 \
    --outdir "$out/cls" >"$out.cls.log" 2>&1 &&
    "$gancl" train --mode semi --device "$dev" "${small[@]}" --labels 30 --steps-per-epoch 3 --epochs 1 \
      --outdir "$out/semi" >"$out.semi.log" 2>&1
  check "[$dev] classifier and semi checkpoints trained" $?

  for mode in cls semi; do
    "$gancl" eval --device "$dev" --data "$tmp/data" --checkpoint "$out/$mode/checkpoint.safetensors" \
      >"$out.$mode.eval" 2>&1
    check "[$dev] eval of the $mode checkpoint runs" $?
    a=$(last_acc "$out.$mode.log") b=$(last_acc "$out.$mode.eval")
    test -n "$a" -a "$a" = "$b"
    check "[$dev] $mode: eval's accuracy equals the training's ($a, $b)" $?
    test -s "$out/$mode/confusion.png" && grep -q "^confusion matrix (rows" "$out.$mode.eval" &&
      grep -q "^per-class accuracy" "$out.$mode.eval"
    check "[$dev] $mode: per-class accuracy, confusion matrix and heatmap next to the checkpoint" $?
  done

  # the chance-level accuracies of random images say little alone: the
  # classifier's whole matrix must match the one its training printed
  diff <(grep -A11 '^confusion matrix (rows' "$out.cls.log") <(grep -A11 '^confusion matrix (rows' "$out.cls.eval") \
    >/dev/null
  check "[$dev] cls: the confusion matrix equals the training's" $?
  "$gancl" eval --device "$dev" --data "$tmp/data" --checkpoint "$out/cls/checkpoint.safetensors" \
    --out "$out/heat.png" --json >"$out.json" 2>&1
  check "[$dev] eval --out --json runs" $?
  tail -1 "$out.json" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
assert j["mode"] == "classifier" and j["n"] == 48 and len(j["confusion"]) == 10
assert sum(map(sum, j["confusion"])) == 48 and sum(j["confusion"][k][k] for k in range(10)) == j["correct"]
assert abs(j["accuracy"] - j["correct"] / 48) < 1e-6 and j["heatmap"].endswith("heat.png")' &&
    test -s "$out/heat.png"
  check "[$dev] --json line parses and agrees with itself; heatmap at --out" $?
done

out=$tmp/cpu
"$gancl" train --mode gan --device cpu "${small[@]}" --ngf 4 --ndf 4 --steps-per-epoch 2 --epochs 1 \
  --outdir "$out/gan" >"$tmp/gan.log" 2>&1
"$gancl" eval --device cpu --data "$tmp/data" --checkpoint "$out/gan/checkpoint.safetensors" >"$tmp/e1" 2>&1
test $? -eq 1 && grep -q "is a gan checkpoint (generator and discriminator): accuracy needs a classifier, semi or features checkpoint; score generators with --fid/--is" "$tmp/e1"
check "a gan checkpoint is refused, pointing at --fid/--is" $?
"$gancl" eval --device cpu --data "$tmp/data" --checkpoint "$tmp/none.safetensors" >"$tmp/e2" 2>&1
test $? -eq 1 && grep -q "none.safetensors" "$tmp/e2"
check "a missing checkpoint is named" $?
head -c 1000 "$out/cls/checkpoint.safetensors" >"$tmp/cut.safetensors"
"$gancl" eval --device cpu --data "$tmp/data" --checkpoint "$tmp/cut.safetensors" >"$tmp/e3" 2>&1
test $? -eq 1 && grep -q "cut.safetensors" "$tmp/e3" && grep -q "truncated" "$tmp/e3"
check "a truncated checkpoint is the reader's error" $?
"$gancl" eval --device cpu --data "$tmp/nowhere" --checkpoint "$out/cls/checkpoint.safetensors" >"$tmp/e4" 2>&1
test $? -eq 1 && grep -q "nowhere" "$tmp/e4" && grep -q "t10k" "$tmp/e4"
check "a missing test set is the loader's error" $?
"$gancl" eval --device cpu --data "$tmp/data" >"$tmp/e5" 2>&1
test $? -eq 2 && grep -q "checkpoint FILE" "$tmp/e5"
check "no --checkpoint is a usage error" $?
tap_end
