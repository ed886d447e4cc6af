#!/usr/bin/env bash
# End to end on a tiny synthetic dataset, on the reference backend:
# `gancl sample` grids (size, determinism, interpolation, the --n bound), the run report,
# `gancl eval --fid --is` with an evaluator trained into a temporary cache
# (hash printed, scores JSON, report updated, FID of a set against itself
# 0), and clear errors for a checkpoint of the wrong kind, an evaluator
# hash mismatch and a missing test set.
#   test_sample.sh GANCL MAKE_IDX
set -u
. "$(dirname "$0")/tap.sh"
export GANCL_CACHE_DIR=$tmp/cache
small=(--device cpu --data "$tmp/data" --batch-size 8 --ngf 4 --ndf 4 --steps-per-epoch 2 --log-every 1 --epochs 1)
# the classifier takes no widths (gancl refuses flags a command does not take)
small_cls=(--device cpu --data "$tmp/data" --batch-size 8 --steps-per-epoch 2 --log-every 1 --epochs 1)
png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", d[16:24]))' "$1"; }

"$gancl" train --mode gan "${small[@]}" --outdir "$tmp/gan" >"$tmp/gan.log" 2>&1
check "a tiny gan run" $?
grep -q "## Final metrics" "$tmp/gan/report.md" && grep -q "loss_d" "$tmp/gan/report.md" &&
  grep -q "](samples_epoch001.png)" "$tmp/gan/report.md" && grep -q "](curves.png)" "$tmp/gan/report.md" &&
  grep -q "| ngf | 4 |" "$tmp/gan/report.md"
check "report.md: configuration, final metrics, curves and samples" $?
ck=$tmp/gan/checkpoint.safetensors

"$gancl" sample --device cpu --checkpoint "$ck" --n 16 --out "$tmp/a.png" >"$tmp/s.log" 2>&1
check "sample 16 images" $?
# 4 x 4 grid of 28-pixel images with 2-pixel padding: 4 * 30 + 2 = 122
size=$(png_size "$tmp/a.png")
test "$size" = "122 122"
check "grid of 4 x 4 is 122 x 122 (got $size)" $?
"$gancl" sample --device cpu --checkpoint "$ck" --n 16 --out "$tmp/b.png" >>"$tmp/s.log" 2>&1 &&
  cmp -s "$tmp/a.png" "$tmp/b.png"
check "the same seed gives the same grid" $?
"$gancl" sample --device cpu --checkpoint "$ck" --n 16 --seed 2 --out "$tmp/c.png" >>"$tmp/s.log" 2>&1 &&
  ! cmp -s "$tmp/a.png" "$tmp/c.png"
check "another seed gives another grid" $?
"$gancl" sample --device cpu --checkpoint "$ck" --n 15 --interpolate 5 --out "$tmp/i.png" >>"$tmp/s.log" 2>&1 &&
  test "$(png_size "$tmp/i.png")" = "152 92"
check "interpolation: 3 rows of 5 (152 x 92)" $?
"$gancl" sample --device cpu --checkpoint "$ck" --n 15 --interpolate 5 --lerp --out "$tmp/l.png" >>"$tmp/s.log" 2>&1 &&
  ! cmp -s "$tmp/i.png" "$tmp/l.png"
check "linear and spherical interpolation differ" $?

"$gancl" train --mode classifier "${small_cls[@]}" --outdir "$tmp/cls" >"$tmp/cls.log" 2>&1 &&
  test -s "$tmp/cls/report.md"
check "a tiny classifier run with its report" $?
"$gancl" sample --device cpu --checkpoint "$ck" --n 10001 --out "$tmp/big.png" 2>"$tmp/err" >/dev/null
rc=$?
test $rc -eq 2 && grep -q -- "--n 10001: a grid shows at most 10000 images" "$tmp/err" && test ! -e "$tmp/big.png"
check "sample --n past a 100 x 100 grid is refused, naming the bound (rc $rc)" $?
"$gancl" sample --device cpu --checkpoint "$tmp/cls/checkpoint.safetensors" --out "$tmp/x.png" 2>"$tmp/err" >/dev/null
rc=$?
test $rc -eq 1 && grep -q "holds no generator" "$tmp/err" && grep -q "cnn-classifier" "$tmp/err"
check "sample from a classifier checkpoint: a clear error (rc $rc)" $?

ev=(--device cpu --data "$tmp/data" --evaluator-steps 2 --n 40)
"$gancl" eval --fid --is --checkpoint "$ck" "${ev[@]}" --out "$tmp/gan/scores.json" >"$tmp/e.log" 2>&1
check "eval --fid --is trains the evaluator into the cache and scores the generator" $?
hash=$(sed -n 's/^evaluator \([0-9a-f]\{16\}\): .*/\1/p' "$tmp/e.log")
test -n "$hash" && grep -q "^FID [0-9.]*  evaluator $hash " "$tmp/e.log" &&
  grep -q "^IS [0-9.]* +- [0-9.]*  evaluator $hash " "$tmp/e.log"
check "every score is printed with the evaluator's hash ($hash)" $?
test -s "$GANCL_CACHE_DIR/evaluator/mnist-cnn-s1-n2-b64-lr0.001.safetensors" &&
  test -s "$GANCL_CACHE_DIR/evaluator/mnist-test-stats-$hash.safetensors"
check "evaluator and test statistics cached" $?
grep -q "\"evaluator\": \"$hash\"" "$tmp/gan/scores.json" && grep -q '"fid":' "$tmp/gan/scores.json" &&
  grep -q "| FID |" "$tmp/gan/report.md" && grep -q "$hash" "$tmp/gan/report.md"
check "scores.json and the run's report carry the scores and the hash" $?
"$gancl" eval --fid --is --checkpoint "$ck" "${ev[@]}" --json >"$tmp/e2.log" 2>&1 &&
  ! grep -q "training the evaluator" "$tmp/e2.log" &&
  test "$(grep '^FID' "$tmp/e.log")" = "$(grep '^FID' "$tmp/e2.log")" && grep -q '^{"evaluator"' "$tmp/e2.log"
check "a second run uses the cache and gives the same FID" $?
"$gancl" eval --fid --is --images "$tmp/data/t10k-images-idx3-ubyte" "${ev[@]}" --n 48 >"$tmp/e3.log" 2>&1 &&
  grep -q "^FID 0.0000 " "$tmp/e3.log"
check "FID of the 48 test images against themselves is 0" $?

"$gancl" eval --fid --checkpoint "$ck" "${ev[@]}" --expect-evaluator 0123456789abcdef >/dev/null 2>"$tmp/err"
rc=$?
test $rc -eq 1 && grep -q "0123456789abcdef" "$tmp/err" && grep -q "$hash" "$tmp/err"
check "an evaluator hash mismatch names both hashes (rc $rc)" $?
"$gancl" eval --fid --checkpoint "$tmp/cls/checkpoint.safetensors" "${ev[@]}" >/dev/null 2>"$tmp/err"
rc=$?
test $rc -eq 1 && grep -q "holds no generator" "$tmp/err"
check "FID of a classifier checkpoint: a clear error (rc $rc)" $?
"$gancl" eval --fid --checkpoint "$ck" "${ev[@]}" --evaluator "$ck" >/dev/null 2>"$tmp/err"
rc=$?
test $rc -eq 1 && grep -q "is not an evaluator" "$tmp/err"
check "a GAN checkpoint as --evaluator: a clear error (rc $rc)" $?
mkdir -p "$tmp/train-only"
cp "$tmp/data/train-"* "$tmp/train-only/"
GANCL_CACHE_DIR=$tmp/cache2 "$gancl" eval --fid --checkpoint "$ck" "${ev[@]}" --data "$tmp/train-only" \
  >/dev/null 2>"$tmp/err"
rc=$?
test $rc -eq 1 && grep -q "t10k" "$tmp/err"
check "a missing test set: a clear error naming the files (rc $rc)" $?
tap_end
