#!/usr/bin/env bash
# End to end: `gancl train --mode semi` on a tiny synthetic dataset, on the
# reference and (when OpenCL exists) the default device: outputs appear and
# the test accuracy is printed each epoch; a run stopped after epoch 1 and
# resumed ends with the same checkpoint, byte for byte, as an uninterrupted
# run; Ctrl-C saves and exits 130; a checkpoint made with other --labels and
# bad --labels values are clear errors. The recipe flags (--beta2, --g-lr,
# --g-beta1, --g-beta2, --ema, --unl-weight, --lr-decay-from, --consistency) are saved in
# the checkpoint, taken from it on a lean resume (byte-identical to the
# uninterrupted run) and a changed one is refused; the schedule changes
# the run; bad values are usage errors.
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
# the checkpoint's metadata value of KEY (the header is JSON at the start)
meta() { head -c 20000 "$1" | grep -ao "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
# the CRC-32 the checkpoint records for tensor NAME
crc() { head -c 20000 "$1" | grep -ao "\"$2[^0-9a-f]*[0-9a-f]\{8\}" | head -1 | grep -o '[0-9a-f]\{8\}$'; }
# values exact in float, so %.9g prints them as given
recipe=(--beta2 0.875 --g-lr 0.0009765625 --g-beta1 0.625 --g-beta2 0.9375 --ema 0.000244140625 --unl-weight 0.75
  --lr-decay-from 1)
r=$tmp/recipe
"$gancl" train --mode semi --device cpu "${small[@]}" "${recipe[@]}" --epochs 3 --outdir "$r/full" >"$r.log" 2>&1
check "recipe flags: a run with every one of them trains" $?
k=$r/full/checkpoint.safetensors
got="$(meta "$k" beta2) $(meta "$k" g_lr) $(meta "$k" g_beta1) $(meta "$k" g_beta2) $(meta "$k" ema)"
got="$got $(meta "$k" unl_weight) $(meta "$k" lr_decay_from) $(meta "$k" consistency)"
test "$got" = "0.875 0.0009765625 0.625 0.9375 0.000244140625 0.75 1 0"
check "recipe flags saved in the checkpoint's config (got: $got)" $?
"$gancl" train --mode semi --device cpu "${small[@]}" "${recipe[@]}" --epochs 2 --outdir "$r/part" >>"$r.log" 2>&1 &&
  cp "$r/part/checkpoint.safetensors" "$r/part2.safetensors" &&
  "$gancl" train --mode semi --device cpu "${small[@]}" --epochs 3 --outdir "$r/part" \
    --resume "$r/part/checkpoint.safetensors" >>"$r.log" 2>&1 &&
  cmp -s "$k" "$r/part/checkpoint.safetensors"
check "recipe flags left out on resume: taken from the checkpoint, byte-identical to the uninterrupted run" $?
# the same recipe with a constant lr: the same weights after epoch 2 of 3
# (the factor is 1 until epoch 1 ends), others after epoch 3 (factor 1/2)
for e in 2 3; do
  "$gancl" train --mode semi --device cpu "${small[@]}" "${recipe[@]:0:12}" --lr-schedule const --epochs $e \
    --outdir "$r/const$e" >>"$r.log" 2>&1
  check "--lr-schedule const with the other recipe flags: $e epochs run" $?
done
w=disc.fc6.weight_v
test -n "$(crc "$k" $w)" -a "$(crc "$r/const2/checkpoint.safetensors" $w)" = "$(crc "$r/part2.safetensors" $w)" -a \
  "$(crc "$r/const3/checkpoint.safetensors" $w)" != "$(crc "$k" $w)"
check "--lr-decay-from 1 of 3 epochs: lr flat through epoch 2, lower in epoch 3 (D's $w against --lr-schedule const)" $?
k0=$tmp/cpu/full/checkpoint.safetensors
got="$(meta "$k0" lr) $(meta "$k0" beta2) $(meta "$k0" g_lr) $(meta "$k0" g_beta1) $(meta "$k0" g_beta2)"
got="$got $(meta "$k0" unl_weight) $(meta "$k0" lr_decay_from) $(meta "$k0" consistency)"
test "$got" = "0.00300000003 0.999000013 0.00300000003 0.5 0.999000013 1 -1 0"
check "defaults saved: G's Adam as D's, unlabeled weight 1, constant lr, no consistency (got: $got)" $?
for bad in "--g-lr 0.5:g_lr: checkpoint 0.0009765625, run 0.5" "--beta2 0.9:beta2: checkpoint 0.875, run 0.899999976" \
  "--ema 0.001:ema: checkpoint 0.000244140625, run 0.00100000005" "--unl-weight 1:unl_weight: checkpoint 0.75, run 1" \
  "--lr-schedule const:lr_decay_from: checkpoint 1, run -1" "--lr-decay-from 2:lr_decay_from: checkpoint 1, run 2" \
  "--g-beta1 0.5:g_beta1: checkpoint 0.625, run 0.5" "--g-beta2 0.999:g_beta2: checkpoint 0.9375, run 0.999000013"; do
  flag=${bad%%:*} want=${bad#*:}
  # shellcheck disable=SC2086
  "$gancl" train --mode semi --device cpu "${small[@]}" $flag --epochs 4 --outdir "$r/part" \
    --resume "$r/part/checkpoint.safetensors" >"$r.bad.log" 2>&1
  test $? -eq 1 && grep -qF "$want" "$r.bad.log"
  check "resume with another $flag is refused, naming the field ($want)" $?
done
# the consistency term: saved, logged, resumed exactly, a change refused
ct=$tmp/ct
"$gancl" train --mode semi --device cpu "${small[@]}" --consistency 0.5 --epochs 2 --outdir "$ct/full" >"$ct.log" 2>&1
check "--consistency 0.5 trains" $?
test "$(meta "$ct/full/checkpoint.safetensors" consistency)" = 0.5 -a \
  "$(grep -c '"loss_ct"' "$ct/full/metrics.jsonl")" -eq 6 && ! grep -q '"loss_ct"' "$tmp/cpu/full/metrics.jsonl"
check "--consistency saved in the checkpoint, loss_ct logged each step (and not without it)" $?
"$gancl" train --mode semi --device cpu "${small[@]}" --consistency 0.5 --epochs 1 --outdir "$ct/part" >>"$ct.log" 2>&1 &&
  "$gancl" train --mode semi --device cpu "${small[@]}" --epochs 2 --outdir "$ct/part" \
    --resume "$ct/part/checkpoint.safetensors" >>"$ct.log" 2>&1 &&
  cmp -s "$ct/full/checkpoint.safetensors" "$ct/part/checkpoint.safetensors"
check "--consistency left out on resume: byte-identical to the uninterrupted run" $?
"$gancl" train --mode semi --device cpu "${small[@]}" --consistency 0.25 --epochs 3 --outdir "$ct/part" \
  --resume "$ct/part/checkpoint.safetensors" >"$ct.bad.log" 2>&1
test $? -eq 1 && grep -qF "consistency: checkpoint 0.5, run 0.25" "$ct.bad.log"
check "resume with another --consistency is refused, naming the field" $?
for bad in "--lr-schedule cosine" "--lr-schedule const --lr-decay-from 3" "--ema 2" "--g-lr 0" "--beta2 1" \
  "--unl-weight -1" "--lr-decay-from -2" "--consistency -1"; do
  # shellcheck disable=SC2086
  "$gancl" train --mode semi --device cpu "${small[@]}" $bad --outdir "$tmp/o" >"$tmp/e4" 2>&1
  check "$bad is a usage error" $(($? != 2))
done
for m in gan classifier; do
  "$gancl" train --mode $m --device cpu --data "$tmp/data" --g-lr 0.001 --outdir "$tmp/o$m" >"$tmp/e5" 2>&1
  test $? -eq 2 && grep -q "semi's" "$tmp/e5"
  check "--g-lr with --mode $m is a usage error (semi's flag)" $?
done
tap_end
