#!/usr/bin/env bash
# gancl checkpoints and PyTorch (tools/gancl_torch.py), on the tiny
# synthetic dataset and the reference backend (--device cpu):
#  - each mode's checkpoint: every network under gen./disc./cls. loads into
#    its PyTorch module with strict=True; the generator on the checkpoint's
#    fixed noise (gancl sample --fixed --raw) is within 1e-5 of PyTorch's;
#    a classifier's (classifier, semi, features) predictions on the test
#    images give gancl eval's confusion matrix;
#  - a PyTorch state_dict saved as a plain safetensors file (with or without
#    the prefix) is taken by eval --checkpoint, eval --fid --is, sample,
#    train --mode augment --generator, --mode features --discriminator and
#    train --init, with the same results as the gancl checkpoint it came
#    from; a wrong shape is a named error listing expected and found tensors;
#  - gancl sample --fixed reproduces the last training grid byte for byte.
# Skips (77) when no python3 here imports torch ($GANCL_PYTHON first).
#   test_torch.sh GANCL MAKE_IDX TORCH_CHECK
set -u
py=
for p in ${GANCL_PYTHON:-} python3 /usr/bin/python3; do
  if "$p" -c "import torch" >/dev/null 2>&1; then py=$p; break; fi
done
if [ -z "$py" ]; then echo "skip: no python3 with torch (python3 -c 'import torch' fails)"; exit 77; fi
tc=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
. "$(dirname "$0")/tap.sh"
case $gancl in /*) ;; *) gancl=$PWD/$gancl ;; esac
export GANCL_TOOLS=$(cd "$(dirname "$0")/../../tools" && pwd)
export GANCL_CACHE_DIR=$tmp/cache
cd "$tmp" || exit 1
d=(--device cpu --data data --batch-size 8 --log-every 1)
tr() { "$gancl" train "${d[@]}" "$@" >>"$tmp/train.log" 2>&1; }
tr --mode gan --ngf 4 --ndf 4 --steps-per-epoch 3 --epochs 2 --outdir gan
check "gan trains" $?
tr --mode gan --loss lsgan --arch mlp --ndf 4 --steps-per-epoch 2 --epochs 2 --outdir mlp
check "gan --arch mlp trains" $?
tr --mode cgan --ngf 4 --ndf 4 --steps-per-epoch 2 --epochs 2 --outdir cgan
check "cgan trains" $?
tr --mode cgan --arch mlp --ndf 4 --steps-per-epoch 2 --epochs 2 --outdir cganmlp
check "cgan --arch mlp trains" $?
tr --mode classifier --epochs 6 --outdir cls
check "classifier trains" $?
tr --mode semi --labels 30 --steps-per-epoch 3 --epochs 2 --outdir semi
check "semi trains" $?
tr --mode features --labels-per-class 3 --epochs 4 --discriminator gan/checkpoint.safetensors --outdir feat
check "features trains" $?

# ---- gancl -> PyTorch ----
for m in gan mlp cgan cganmlp semi; do
  ck=$m/checkpoint.safetensors last=$(ls $m/samples_epoch*.png | tail -1)
  "$gancl" sample --device cpu --checkpoint $ck --fixed --out $m/fixed.png --raw $m/fixed.raw >/dev/null 2>"$m/err"
  check "$m: sample --fixed runs" $?
  cmp -s $m/fixed.png "$last"
  check "$m: sample --fixed is the last training grid ($last) byte for byte" $?
  "$py" "$tc" check --ckpt $ck --raw $m/fixed.raw >$m/py.log 2>&1
  check "$m: every network loads strictly; generator on the fixed noise within 1e-5 of gancl's" $?
  sed 's/^/  /' $m/py.log
done
for m in cls semi feat; do
  ck=$m/checkpoint.safetensors
  "$gancl" eval --device cpu --data data --checkpoint $ck --json --out $m/confusion.png 2>&1 | tail -1 >$m/eval.json
  "$py" "$tc" check --ckpt $ck --data data --eval $m/eval.json >$m/pyeval.log 2>&1
  check "$m: networks load strictly; PyTorch's predictions give gancl eval's confusion matrix" $?
  sed 's/^/  /' $m/pyeval.log
done
grep -q "predictions: [3-9] distinct\|predictions: 10 distinct" cls/pyeval.log
check "the classifier's predictions vary (the comparison means something)" $?

# ---- PyTorch -> gancl ----
sc() { # sc NAME FILE: the confusion matrix gancl eval gives FILE
  "$gancl" eval --device cpu --data data --checkpoint "$2" --json --out "$1.png" 2>"$1.err" | tail -1 |
    sed 's/.*"confusion":\(\[.*\]\]\).*/\1/'
}
"$py" "$tc" export --ckpt cls/checkpoint.safetensors --prefix cls --out cls_bare.st --bare &&
  "$py" "$tc" export --ckpt cls/checkpoint.safetensors --prefix cls --out cls_pref.st
check "export the classifier's state_dict (bare and prefixed)" $?
want=$(sc cls_orig cls/checkpoint.safetensors)
test -n "$want" && test "$(sc cls_bare cls_bare.st)" = "$want" && test "$(sc cls_pref cls_pref.st)" = "$want"
check "eval --checkpoint of the PyTorch classifier state_dict (bare, prefixed) = of the checkpoint" $?
"$py" "$tc" random-cls --out rnd.st --data data --json rnd.json >rnd.log 2>&1 &&
  test "$(sc rnd rnd.st)" = "$(sed 's/.*"confusion": *\(\[.*\]\]\).*/\1/; s/ //g' rnd.json)" &&
  grep -q "classifier: \([4-9]\|10\) distinct" rnd.log
check "eval --checkpoint of a classifier made in PyTorch (predictions varied) gives PyTorch's confusion matrix" $?
sed 's/^/  /' rnd.log
"$py" "$tc" export --ckpt semi/checkpoint.safetensors --prefix disc --out semid.st --bare &&
  "$gancl" eval --device cpu --data data --checkpoint semid.st --json --out semid.png 2>semid.err | tail -1 >semid.json &&
  "$py" "$tc" check --ckpt semid.st --data data --eval semid.json >semid.log 2>&1
check "eval --checkpoint of the semi discriminator's state_dict: PyTorch's predictions give its confusion" $?
for m in gan mlp cgan cganmlp semi; do
  "$py" "$tc" export --ckpt $m/checkpoint.safetensors --prefix gen --out $m/gen_bare.st --bare &&
    "$gancl" sample --device cpu --checkpoint $m/checkpoint.safetensors --seed 5 --n 20 --out $m/a.png --raw $m/a.raw \
      >/dev/null 2>&1 &&
    "$gancl" sample --device cpu --checkpoint $m/gen_bare.st --seed 5 --n 20 --out $m/b.png --raw $m/b.raw \
      >/dev/null 2>$m/b.err && cmp -s $m/a.raw $m/b.raw
  check "$m: sample from the generator's bare state_dict = from the checkpoint" $?
done
ev=(--device cpu --data data --evaluator-steps 2 --n 40)
"$gancl" eval --fid --is --checkpoint gan/checkpoint.safetensors "${ev[@]}" >fid_a.log 2>&1 &&
  "$gancl" eval --fid --is --checkpoint gan/gen_bare.st "${ev[@]}" >fid_b.log 2>&1 &&
  test -n "$(grep '^FID' fid_a.log)" &&
  test "$(grep '^FID\|^IS' fid_a.log | cut -d'(' -f1)" = "$(grep '^FID\|^IS' fid_b.log | cut -d'(' -f1)"
check "eval --fid --is of the generator's state_dict = of the checkpoint" $?
tr --mode augment --labels-per-class 2 --epochs 1 --generator cgan/checkpoint.safetensors --outdir aug_a &&
  tr --mode augment --labels-per-class 2 --epochs 1 --generator cgan/gen_bare.st --outdir aug_b &&
  "$py" "$tc" same --a aug_a/augmented/checkpoint.safetensors --b aug_b/augmented/checkpoint.safetensors
check "train --mode augment --generator the cgan generator's state_dict: every tensor as with the checkpoint" $?
"$py" "$tc" export --ckpt gan/checkpoint.safetensors --prefix disc --out disc_bare.st --bare &&
  tr --mode features --labels-per-class 3 --epochs 4 --discriminator disc_bare.st --outdir feat_b &&
  test "$(grep -o '"test_accuracy": *"[0-9.]*"\|test_accuracy[^,]*' feat/metrics.jsonl | tail -1)" = \
    "$(grep -o '"test_accuracy": *"[0-9.]*"\|test_accuracy[^,]*' feat_b/metrics.jsonl | tail -1)"
check "train --mode features --discriminator the gan discriminator's state_dict: the checkpoint's accuracy" $?
# --init: a classifier started from the state_dict continues as from the checkpoint's weights
tr --mode classifier --epochs 1 --outdir init_a --init cls/checkpoint.safetensors &&
  tr --mode classifier --epochs 1 --outdir init_b --init cls_bare.st &&
  cmp -s init_a/checkpoint.safetensors init_b/checkpoint.safetensors
check "train --init the classifier's state_dict = --init its checkpoint (byte-identical after an epoch)" $?
tr --mode gan --ngf 4 --ndf 4 --steps-per-epoch 1 --epochs 1 --outdir init_g --init gan/gen_bare.st
check "train --mode gan --init a generator state_dict (the discriminator starts fresh)" $?
"$gancl" train "${d[@]}" --mode gan --ngf 8 --ndf 4 --epochs 1 --outdir init_bad --init gan/gen_bare.st >/dev/null 2>init_bad.err
test $? -ne 0 && grep -q "gen.fc.weight' is F32 \[784, 100\], expected F32 \[1568, 100\]" init_bad.err
check "train --init a generator of another width: named tensor, both shapes" $?
"$gancl" train "${d[@]}" --mode gan --epochs 1 --outdir init_bad2 --init cls_bare.st >/dev/null 2>init_bad2.err
test $? -ne 0 && grep -q "holds none of this model's networks: expected gen.fc.weight.*found cls.conv1" init_bad2.err
check "train --init a classifier into a gan: expected and found tensors listed" $?
"$gancl" train "${d[@]}" --mode semi --epochs 1 --outdir init_semi --init cls_bare.st >/dev/null 2>init_semi.err
test $? -eq 2 && grep -q "init starts gan, cgan and classifier runs, not semi's" init_semi.err
check "train --mode semi --init is refused, not ignored" $?
"$py" "$tc" export --ckpt semi/checkpoint.safetensors --prefix gen --out semig.st
"$gancl" eval --device cpu --data data --checkpoint semig.st >/dev/null 2>semig.err
test $? -ne 0 && grep -q "holds no semi discriminator" semig.err
check "eval of a semi generator's state_dict alone is refused (no discriminator to classify with)" $?
"$gancl" sample --device cpu --checkpoint semid.st --out semid_s.png >/dev/null 2>semid_s.err
test $? -ne 0 && grep -q "has no tensor 'gen.fc1.weight'" semid_s.err
check "sample from a discriminator's state_dict alone names the missing generator tensor" $?
"$gancl" train "${d[@]}" --mode gan --ngf 4 --ndf 4 --epochs 1 --outdir res_imp --resume gan/gen_bare.st >/dev/null \
  2>res_imp.err
test $? -ne 0 && grep -q "a PyTorch state_dict.*not a training checkpoint.*--init" res_imp.err
check "--resume from a PyTorch state_dict is refused, pointing to --init" $?
"$py" "$tc" bad --ckpt cls/checkpoint.safetensors --out bad.st
"$gancl" eval --device cpu --data data --checkpoint bad.st >/dev/null 2>bad.err
test $? -ne 0 && grep -q "expected 8 tensors.*fc2.weight F32 \[10, 128\].*found 8.*fc2.weight F32 \[10, 127\]" bad.err
check "a state_dict with a wrong shape: a named error listing expected and found tensors" $?
tap_end
