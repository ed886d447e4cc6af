#!/usr/bin/env bash
# FID and IS sanity figures on real MNIST with a quick evaluator (300
# steps, trained into a temporary cache on the default OpenCL device).
# Skips (77) without the data or without an OpenCL device. Thresholds:
# - FID(even test images, odd test images) < 10 and < FID(test, noise) / 50:
#   two interleaved halves of one distribution differ only by sampling
#   error (about 2.4 with the quick evaluator, from 5,000-image estimates
#   of 128x128 covariances), while uniform noise images sit far from every
#   digit in feature space (about 850). The halves are interleaved because
#   the test set's first and last 5,000 come from different writers (NIST's
#   original training and test sets; the first are cleaner): FID about 26
#   between them.
# - IS(test images) > 8: a classifier near 98% accuracy is confident on
#   real digits and the ten classes are balanced, so IS approaches 10
#   (a published MNIST classifier gets 9.88); 8 leaves room for the quick
#   evaluator's lower confidence.
# - IS(noise) < 2: noise gives the classifier no evidence of any digit, so
#   its predictions barely vary from image to image (IS near 1).
#   test_fid_mnist.sh GANCL MNIST_DIR
set -u
gancl=$1 data=$2
if [ ! -d "$data" ]; then echo "1..0 # SKIP no MNIST at $data"; exit 0; fi
if ! "$gancl" devices 2>/dev/null | grep -q '^[0-9]*:[0-9]'; then echo "1..0 # SKIP no OpenCL device"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GANCL_CACHE_DIR=$tmp/cache
fails=0 n=0
check() { # check NAME STATUS
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
start=$(date +%s)
python3 - "$data" "$tmp" <<'EOF' || { echo "Bail out! cannot read the MNIST test images"; exit 1; }
import gzip, os, random, struct, sys
data, out = sys.argv[1], sys.argv[2]
path = os.path.join(data, "t10k-images-idx3-ubyte")
raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
magic, n, h, w = struct.unpack(">IIII", raw[:16])
px = raw[16:]
def write(name, body, count):
    with open(os.path.join(out, name), "wb") as f:
        f.write(struct.pack(">IIII", 2051, count, 28, 28) + body)
write("half_a", b"".join(px[i * 784 : (i + 1) * 784] for i in range(0, 10000, 2)), 5000)
write("half_b", b"".join(px[i * 784 : (i + 1) * 784] for i in range(1, 10000, 2)), 5000)
rng = random.Random(1)
write("noise", rng.randbytes(5000 * 784), 5000)
EOF
ev=(--data "$data" --evaluator-steps 300 --batch-size 250)
num() { sed -n "s/^$1 \([0-9.]*\) .*/\1/p" "$2"; }

"$gancl" eval --fid --is --images "$tmp/half_a" --reference "$tmp/half_b" "${ev[@]}" >"$tmp/half.log" 2>&1
check "eval of the even test images against the odd ones (trains the quick evaluator)" $?
"$gancl" eval --fid --is --images "$tmp/noise" "${ev[@]}" >"$tmp/noise.log" 2>&1
check "eval of noise images against the test set" $?
real=$data/t10k-images-idx3-ubyte
[ -f "$real" ] || real=$real.gz
"$gancl" eval --is --images "$real" "${ev[@]}" >"$tmp/real.log" 2>&1
check "eval of the whole test set" $?
cat "$tmp/half.log" "$tmp/noise.log" "$tmp/real.log" | sed 's/^/# /'
fh=$(num FID "$tmp/half.log") fn=$(num FID "$tmp/noise.log") ir=$(num IS "$tmp/real.log") in=$(num IS "$tmp/noise.log")
awk -v a="$fh" -v b="$fn" 'BEGIN { exit !(a != "" && b != "" && a < 10 && a * 50 < b) }'
check "FID(even, odd) $fh < 10 and < FID(test, noise) $fn / 50" $?
awk -v a="$ir" 'BEGIN { exit !(a != "" && a > 8) }'
check "IS(test images) $ir > 8" $?
awk -v a="$in" 'BEGIN { exit !(a != "" && a < 2) }'
check "IS(noise) $in < 2" $?
echo "# wall: $(($(date +%s) - start)) s"
echo "1..$n"
[ $fails -eq 0 ]
