#!/usr/bin/env python3
"""Compare two training runs within tolerances (tests/cli/test_train_mpi.sh).

  close.py ckpt A.safetensors B.safetensors ATOL RTOL [NORM]
      every tensor of A is in B with the same dtype and shape; F32 tensors
      agree elementwise within |a - b| <= ATOL + RTOL * |b| (the first
      mismatches are printed with index and both values) and as a whole
      within ||a - b|| <= NORM * ||b|| + 1e-7 sqrt(n) (L2; NORM default
      1e-3); other dtypes and
      the metadata (but the tensors' crc32) are equal.
  close.py metrics A.jsonl B.jsonl KEYS ATOL RTOL
      the same steps in both; each named value (comma-separated KEYS) agrees
      within the tolerance.
Exit 0 when close, 1 otherwise. Plain Python (no numpy)."""
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    meta = head.pop("__metadata__", {})
    meta.pop("crc32", None)  # the tensors' checksums: compared through the tensors
    return head, data, meta


def close(a, b, atol, rtol):
    return abs(a - b) <= atol + rtol * abs(b)


def ckpt(pa, pb, atol, rtol, norm):
    ha, da, ma = load(pa)
    hb, db, mb = load(pb)
    bad = 0
    if ma != mb:
        for k in sorted(set(ma) | set(mb)):
            if ma.get(k) != mb.get(k):
                print(f"metadata {k}: {ma.get(k)!r} vs {mb.get(k)!r}")
                bad += 1
    if set(ha) != set(hb):
        print("tensors differ:", sorted(set(ha) ^ set(hb)))
        return 1
    worst = (0.0, "")
    worst_rel = (0.0, "")
    for name in sorted(ha):
        ta, tb = ha[name], hb[name]
        if ta["dtype"] != tb["dtype"] or ta["shape"] != tb["shape"]:
            print(f"{name}: {ta['dtype']}{ta['shape']} vs {tb['dtype']}{tb['shape']}")
            bad += 1
            continue
        ba = da[ta["data_offsets"][0] : ta["data_offsets"][1]]
        bb = db[tb["data_offsets"][0] : tb["data_offsets"][1]]
        if ta["dtype"] != "F32":
            if ba != bb:
                print(f"{name}: {ta['dtype']} values differ")
                bad += 1
            continue
        va = struct.unpack(f"<{len(ba) // 4}f", ba)
        vb = struct.unpack(f"<{len(bb) // 4}f", bb)
        shown = 0
        dd = sum((x - y) * (x - y) for x, y in zip(va, vb)) ** 0.5
        nb = sum(y * y for y in vb) ** 0.5
        rel = dd / nb if nb > 0 else dd
        floor = 1e-7 * len(vb) ** 0.5  # values that are noise around 0 (a bias before batch norm)
        if rel > worst_rel[0] and nb > floor:
            worst_rel = (rel, name)
        if not dd <= norm * nb + floor:
            print(f"{name}: ||a - b|| = {dd:.3g} > {norm} * ||b|| + {floor:.3g} = {norm * nb + floor:.3g}")
            bad += 1
        for i, (x, y) in enumerate(zip(va, vb)):
            if x != x or y != y or not close(x, y, atol, rtol):
                if shown < 5:
                    print(f"{name}[{i}]: {x!r} vs {y!r}")
                shown += 1
            d = abs(x - y)
            if d > worst[0]:
                worst = (d, f"{name}[{i}] {x!r} vs {y!r}")
        if shown:
            print(f"{name}: {shown} of {len(va)} elements outside atol {atol} + rtol {rtol}")
            bad += 1
    print(f"{len(ha)} tensors; largest difference {worst[0]:.3g} at {worst[1]}; "
          f"largest relative L2 difference {worst_rel[0]:.3g} in {worst_rel[1]}")
    return 1 if bad else 0


def metrics(pa, pb, keys, atol, rtol):
    def rows(p):
        out = {}
        for line in open(p):
            r = json.loads(line)
            out.setdefault(r["step"], []).append(r)
        return out

    ra, rb = rows(pa), rows(pb)
    if sorted(ra) != sorted(rb):
        print(f"steps differ: {sorted(ra)} vs {sorted(rb)}")
        return 1
    bad = n = 0
    for s in sorted(ra):
        for x, y in zip(ra[s], rb[s]):
            for k in keys:
                if k in x or k in y:
                    n += 1
                    if k not in x or k not in y or not close(x[k], y[k], atol, rtol):
                        print(f"step {s} {k}: {x.get(k)} vs {y.get(k)}")
                        bad += 1
    if n == 0:
        print("no values compared")
        return 1
    print(f"{n} values over {len(ra)} steps compared")
    return 1 if bad else 0


if __name__ == "__main__":
    a = sys.argv
    if len(a) in (6, 7) and a[1] == "ckpt":
        sys.exit(ckpt(a[2], a[3], float(a[4]), float(a[5]), float(a[6]) if len(a) == 7 else 1e-3))
    if len(a) == 7 and a[1] == "metrics":
        sys.exit(metrics(a[2], a[3], a[4].split(","), float(a[5]), float(a[6])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
