#!/usr/bin/env bash
# Runs that are safe (the library loop, include/gancl/loop.h), on the
# reference backend and a tiny dataset, for the modes on the loop: an
# --outdir that holds a run is refused without --resume (naming the
# checkpoint and the choices) and replaced with --overwrite; a second run
# in a locked --outdir is a named error; a resumed run cuts metrics.jsonl
# back to its checkpoint's step, so no step appears twice; a resume with
# another --batch-size is refused in every mode, naming the field and both
# values; a checkpoint with a NaN parameter is refused when loaded (resume,
# sample), naming the tensor; a non-finite loss stops the run, naming the
# last good checkpoint only when one exists; a resumed run takes the settings left out
# from the checkpoint (and ends byte-identical to an uninterrupted run),
# and a setting given with another value is refused with both values.
# features (its trained-D run and the random-D companion) likewise.
#   test_train_safety.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
gan=(--mode gan --device cpu --data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 3 --log-every 1)
o=$tmp/gan

"$gancl" train "${gan[@]}" --epochs 1 --outdir "$o" >"$tmp/l1" 2>&1
check "a first run trains" $?
"$gancl" train "${gan[@]}" --epochs 1 --outdir "$o" >"$tmp/l2" 2>&1
test $? -eq 1 && grep -q "$o already holds a run ($o/checkpoint.safetensors)" "$tmp/l2" &&
  grep -q -- "--resume $o/checkpoint.safetensors" "$tmp/l2" && grep -q "another --outdir" "$tmp/l2" &&
  grep -q -- "--overwrite" "$tmp/l2"
check "a fresh run in an --outdir holding a run is refused, naming the checkpoint and the choices" $?
"$gancl" train "${gan[@]}" --epochs 1 --outdir "$o" --overwrite >"$tmp/l3" 2>&1
check "--overwrite replaces it" $?
test "$(wc -l <"$o/metrics.jsonl")" -eq 3
check "--overwrite starts metrics.jsonl afresh" $?

# one process holds the lock (python's flock, as another run would)
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)' \
  "$o/.gancl.lock" >"$tmp/holder" &
holder=$!
for _ in $(seq 100); do grep -q locked "$tmp/holder" 2>/dev/null && break; sleep 0.1; done
"$gancl" train "${gan[@]}" --epochs 2 --outdir "$o" --resume "$o/checkpoint.safetensors" >"$tmp/l4" 2>&1
rc=$?
kill $holder
wait $holder 2>/dev/null
test $rc -eq 1 && grep -q "$o is in use by another run ($o/.gancl.lock is locked)" "$tmp/l4"
check "a second run in a locked --outdir is a named error" $?

# metrics cut back: epoch 1's checkpoint, resumed twice to epoch 2
cp "$o/checkpoint.safetensors" "$tmp/epoch1.safetensors"
"$gancl" train "${gan[@]}" --epochs 2 --outdir "$o" --resume "$tmp/epoch1.safetensors" >"$tmp/l5" 2>&1 &&
  "$gancl" train "${gan[@]}" --epochs 2 --outdir "$o" --resume "$tmp/epoch1.safetensors" >>"$tmp/l5" 2>&1
check "resuming the same checkpoint twice trains" $?
python3 - "$o/metrics.jsonl" <<'P'
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1])]
assert steps == [1, 2, 3, 4, 5, 6], steps
P
check "metrics.jsonl is cut back to the checkpoint's step: steps 1..6 once each" $?

# one resume check for every mode on the loop: another --batch-size is refused
"$gancl" train "${gan[@]}" --batch-size 4 --epochs 3 --outdir "$o" --resume "$o/checkpoint.safetensors" >"$tmp/l6" 2>&1
test $? -eq 1 && grep -q "batch: checkpoint 8, run 4" "$tmp/l6"
check "gan: resuming with another --batch-size is refused, naming both values" $?
"$gancl" train --mode classifier --device cpu --data "$tmp/data" --batch-size 8 --labels-per-class 2 --epochs 1 \
  --outdir "$tmp/cls" >"$tmp/l7" 2>&1 &&
  "$gancl" train --mode classifier --device cpu --data "$tmp/data" --batch-size 4 --labels-per-class 3 --epochs 2 \
    --outdir "$tmp/cls" --resume "$tmp/cls/checkpoint.safetensors" >"$tmp/l8" 2>&1
test $? -eq 1 && grep -q "batch: checkpoint 8, run 4" "$tmp/l8" && grep -q "labels_per_class: checkpoint 2, run 3" "$tmp/l8"
check "classifier: another --batch-size and --labels-per-class are refused in one message" $?

# flags left out on --resume: the checkpoint's (batch 8, ngf 4, ndf 4, lsgan, lr 1e-4, seed 3)
lean=(--mode gan --device cpu --data "$tmp/data" --steps-per-epoch 3 --log-every 1)
"$gancl" train "${gan[@]}" --loss lsgan --lr 1e-4 --seed 3 --epochs 2 --outdir "$tmp/full" >"$tmp/l11" 2>&1 &&
  "$gancl" train "${gan[@]}" --loss lsgan --lr 1e-4 --seed 3 --epochs 1 --outdir "$tmp/part" >>"$tmp/l11" 2>&1 &&
  "$gancl" train "${lean[@]}" --epochs 2 --outdir "$tmp/part" --resume "$tmp/part/checkpoint.safetensors" \
    >>"$tmp/l11" 2>&1
check "a resume without --batch-size, --ngf, --ndf, --loss, --lr, --seed trains" $?
cmp -s "$tmp/full/checkpoint.safetensors" "$tmp/part/checkpoint.safetensors"
check "it takes them from the checkpoint: byte-identical to the uninterrupted run" $?
"$gancl" train "${lean[@]}" --ndf 6 --loss bce --seed 4 --epochs 3 --outdir "$tmp/part" \
  --resume "$tmp/part/checkpoint.safetensors" >"$tmp/l12" 2>&1
test $? -eq 1 && grep -q "ndf: checkpoint 4, run 6 (--ndf)" "$tmp/l12" &&
  grep -q "loss: checkpoint lsgan, run bce (--loss)" "$tmp/l12" && grep -q "rng_seed: checkpoint 3, run 4 (--seed)" "$tmp/l12"
check "flags given with other values are refused, each named with both values" $?

# semi: a lean resume takes batch, labels and lr from the checkpoint; another --labels is refused
semi=(--mode semi --device cpu --data "$tmp/data" --steps-per-epoch 2 --log-every 1)
"$gancl" train "${semi[@]}" --batch-size 8 --labels 30 --lr 0.001 --epochs 1 --outdir "$tmp/semi" >"$tmp/l13" 2>&1 &&
  "$gancl" train "${semi[@]}" --epochs 2 --outdir "$tmp/semi" --resume "$tmp/semi/checkpoint.safetensors" \
    >>"$tmp/l13" 2>&1 &&
  "$gancl" train "${semi[@]}" --batch-size 8 --labels 30 --lr 0.001 --epochs 2 --outdir "$tmp/semi2" >>"$tmp/l13" 2>&1
check "semi: a resume without --batch-size, --labels, --lr trains" $?
cmp -s "$tmp/semi/checkpoint.safetensors" "$tmp/semi2/checkpoint.safetensors"
check "semi: it takes them from the checkpoint: byte-identical to the uninterrupted run" $?
"$gancl" train "${semi[@]}" --labels 20 --epochs 3 --outdir "$tmp/semi" --resume "$tmp/semi/checkpoint.safetensors" \
  >"$tmp/l14" 2>&1
test $? -eq 1 && grep -q "labels: checkpoint 30, run 20 (--labels)" "$tmp/l14"
check "semi: another --labels is refused with both values" $?

# features: the trained-D run owns --outdir like every mode's run; the
# random-D baseline is its companion (records "baseline_...", no checkpoint)
fe=(--mode features --device cpu --data "$tmp/data" --log-every 1)
fd=(--batch-size 8 --labels-per-class 3 --lr 0.002 --weight-decay 0.01 --discriminator "$tmp/epoch1.safetensors")
"$gancl" train "${fe[@]}" "${fd[@]}" --epochs 4 --outdir "$tmp/ff" >"$tmp/f1" 2>&1
check "features: a first run trains" $?
"$gancl" train "${fe[@]}" "${fd[@]}" --epochs 4 --outdir "$tmp/ff" >"$tmp/f2" 2>&1
test $? -eq 1 && grep -q "$tmp/ff already holds a run ($tmp/ff/checkpoint.safetensors)" "$tmp/f2" &&
  grep -q -- "--resume $tmp/ff/checkpoint.safetensors" "$tmp/f2" && grep -q -- "--overwrite" "$tmp/f2"
check "features: a fresh run in an --outdir holding a run is refused, naming the checkpoint and the choices" $?
cp "$tmp/ff/checkpoint.safetensors" "$tmp/ff.safetensors"
"$gancl" train "${fe[@]}" "${fd[@]}" --epochs 4 --outdir "$tmp/ff" --overwrite >"$tmp/f3" 2>&1 &&
  cmp -s "$tmp/ff/checkpoint.safetensors" "$tmp/ff.safetensors" && test "$(wc -l <"$tmp/ff/metrics.jsonl")" -eq 40
check "features: --overwrite replaces it (the same checkpoint; metrics.jsonl afresh)" $?
"$gancl" train "${fe[@]}" "${fd[@]}" --epochs 2 --outdir "$tmp/fp" >"$tmp/f4" 2>&1 &&
  cp "$tmp/fp/checkpoint.safetensors" "$tmp/fp2.safetensors" &&
  "$gancl" train "${fe[@]}" --epochs 4 --outdir "$tmp/fp" --resume "$tmp/fp2.safetensors" >"$tmp/f5" 2>&1 &&
  "$gancl" train "${fe[@]}" --epochs 4 --outdir "$tmp/fp" --resume "$tmp/fp2.safetensors" >>"$tmp/f5" 2>&1 &&
  grep -q "resumed from $tmp/fp2.safetensors at epoch 2, step 8" "$tmp/f5"
check "features: a resume without --batch-size, --labels-per-class, --lr, --weight-decay, --discriminator trains (twice)" $?
cmp -s "$tmp/fp/checkpoint.safetensors" "$tmp/ff/checkpoint.safetensors"
check "features: it takes them from the checkpoint: byte-identical to the uninterrupted run" $?
python3 - "$tmp/fp/metrics.jsonl" <<'P'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
own = [r["step"] for r in recs if "loss" in r]
base = [r["step"] for r in recs if "baseline_loss" in r]
assert own == list(range(1, 17)) and base == list(range(1, 17)), (own, base)
assert [r["step"] for r in recs if "baseline_test_accuracy" in r] == [4, 8, 12, 16]
P
check "features: metrics.jsonl holds each step of both runs once, the baseline's after the resumed run's" $?
"$gancl" train "${fe[@]}" --batch-size 4 --labels-per-class 2 --weight-decay 0 --discriminator "$tmp/gan/none" \
  --epochs 4 --outdir "$tmp/fp" --resume "$tmp/fp2.safetensors" >"$tmp/f6" 2>&1
test $? -eq 1 && grep -q "batch: checkpoint 8, run 4 (--batch-size)" "$tmp/f6" &&
  grep -q "labels_per_class: checkpoint 3, run 2 (--labels-per-class)" "$tmp/f6" &&
  grep -q "weight_decay: checkpoint 0.00999999978, run 0 (--weight-decay)" "$tmp/f6" &&
  grep -q "discriminator: checkpoint $tmp/epoch1.safetensors, run $tmp/gan/none (--discriminator)" "$tmp/f6"
check "features: flags given with other values are refused, each named with both values" $?
python3 "$(dirname "$0")/nan_ckpt.py" "$tmp/fp2.safetensors" "$tmp/fnan.safetensors" probe.fc.weight &&
  "$gancl" train "${fe[@]}" --epochs 4 --outdir "$tmp/fp" --resume "$tmp/fnan.safetensors" >"$tmp/f7" 2>&1
test $? -eq 1 && grep -q "tensor probe.fc.weight holds a non-finite value" "$tmp/f7"
check "features: resuming a checkpoint with a NaN is refused, naming the tensor" $?

python3 "$(dirname "$0")/nan_ckpt.py" "$o/checkpoint.safetensors" "$tmp/nan.safetensors" disc.conv2.weight
check "a copy of the checkpoint with a NaN in disc.conv2.weight" $?
"$gancl" train "${gan[@]}" --epochs 3 --outdir "$o" --resume "$tmp/nan.safetensors" >"$tmp/l9" 2>&1
test $? -eq 1 && grep -q "tensor disc.conv2.weight holds a non-finite value (nan" "$tmp/l9"
check "resuming it is refused, naming the tensor" $?
python3 "$(dirname "$0")/nan_ckpt.py" "$o/checkpoint.safetensors" "$tmp/nan2.safetensors" gen.fc.weight
"$gancl" sample --device cpu --checkpoint "$tmp/nan2.safetensors" --out "$tmp/grid.png" >"$tmp/l10" 2>&1
test $? -ne 0 && grep -q "tensor gen.fc.weight holds a non-finite value" "$tmp/l10" && test ! -e "$tmp/grid.png"
check "sampling from a generator with a NaN weight is refused, naming the tensor" $?
# the non-finite stop: D's last layer at 3e38 overflows the first steps' loss
python3 "$(dirname "$0")/nan_ckpt.py" "$o/checkpoint.safetensors" "$tmp/big.safetensors" disc.fc.weight 3e38
"$gancl" train "${gan[@]}" --epochs 1 --outdir "$tmp/nf" --init "$tmp/big.safetensors" >"$tmp/l11" 2>&1
test $? -eq 1 && grep -q "non-finite loss at step" "$tmp/l11" &&
  grep -q "stopped before any checkpoint was written (none in the --outdir)" "$tmp/l11" &&
  test ! -e "$tmp/nf/checkpoint.safetensors"
check "a non-finite loss before any checkpoint stops the run, saying none was written" $?
cp "$o/checkpoint.safetensors" "$tmp/good.safetensors"
"$gancl" train "${gan[@]}" --epochs 9 --outdir "$o" --resume "$tmp/big.safetensors" >"$tmp/l12" 2>&1
test $? -eq 1 && grep -q "stopped, the last good checkpoint is $o/checkpoint.safetensors" "$tmp/l12" &&
  cmp -s "$o/checkpoint.safetensors" "$tmp/good.safetensors"
check "a non-finite loss after one names the last good checkpoint, left as it was" $?
tap_end
