#!/usr/bin/env bash
# Version-1 checkpoints (gancl before format version 2) still work: a run's
# epoch-1 checkpoint written back as version 1 (tests/cli/to_v1.py, which
# gives the tensors, shapes, metadata and CRCs of the old writer) samples
# the same fixed grid, and resuming from it ends with every tensor of the
# uninterrupted run but num_batches_tracked (version 1 had none: it counts
# from 0 after the resume). gan (batch norm) and semi (weight norm's
# weight_g, batch norm), reference backend.
#   test_ckpt_v1.sh GANCL MAKE_IDX TO_V1
set -u
to_v1=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
. "$(dirname "$0")/tap.sh"
case $gancl in /*) ;; *) gancl=$PWD/$gancl ;; esac
cd "$tmp" || exit 1
d=(--device cpu --data data --batch-size 8 --log-every 1)
cmpst() { # cmpst A B C: tensors of A and B equal bit for bit, but num_batches_tracked: A's = B's + C's
  python3 - "$@" <<'PY'
import json, struct, sys
def load(f):
    b = open(f, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__")
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
a, b, c = (load(f) for f in sys.argv[1:4])
bad = sorted(set(a) ^ set(b))
for k in a:
    if k in b and not k.endswith("num_batches_tracked") and a[k] != b[k]:
        bad.append(k)
    if k.endswith("num_batches_tracked"):
        q = lambda t: struct.unpack("<q", t[k][2])[0]
        if q(a) != q(b) + q(c) or q(b) <= 0:
            bad.append(f"{k}: {q(a)} != {q(b)} + {q(c)}")
print("# differ:", bad if bad else "nothing")
sys.exit(1 if bad else 0)
PY
}
for m in gan semi; do
  if [ $m = gan ]; then a=(--mode gan --ngf 4 --ndf 4 --steps-per-epoch 3); else a=(--mode semi --labels 30 --steps-per-epoch 3); fi
  "$gancl" train "${d[@]}" "${a[@]}" --epochs 2 --outdir $m-full >/dev/null 2>&1 &&
    "$gancl" train "${d[@]}" "${a[@]}" --epochs 1 --outdir $m-1 >/dev/null 2>&1
  check "$m: one run of 2 epochs, one of 1" $?
  python3 "$to_v1" $m-1/checkpoint.safetensors $m-v1.safetensors &&
    grep -aq '"format_version":"1"' $m-v1.safetensors && ! grep -aq 'num_batches_tracked\|state.sample_noise' $m-v1.safetensors
  check "$m: epoch 1 written as version 1" $?
  "$gancl" sample --device cpu --checkpoint $m-1/checkpoint.safetensors --fixed --out $m-a.png >/dev/null 2>&1 &&
    "$gancl" sample --device cpu --checkpoint $m-v1.safetensors --fixed --out $m-b.png >/dev/null 2>$m-b.err &&
    cmp -s $m-a.png $m-b.png
  check "$m: sample --fixed of the version-1 file = of the version-2 one" $?
  cp $m-1/checkpoint.safetensors $m-e1.safetensors && cp $m-v1.safetensors $m-1/checkpoint.safetensors
  "$gancl" train "${d[@]}" "${a[@]}" --epochs 2 --outdir $m-1 --resume $m-1/checkpoint.safetensors >$m-r.log 2>&1
  check "$m: resumes from the version-1 checkpoint" $?
  # num_batches_tracked: the resumed run counted from 0, so it is the full run's minus epoch 1's
  cmpst $m-full/checkpoint.safetensors $m-1/checkpoint.safetensors $m-e1.safetensors >$m-cmp.log 2>&1
  check "$m: the resumed run ends with the uninterrupted run's tensors (num_batches_tracked: from 0 at the resume)" $?
  sed 's/^/# /' $m-cmp.log
done
tap_end
