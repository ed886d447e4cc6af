#!/usr/bin/env python3
"""Write a gancl checkpoint (format version 2) as format version 1, the
layout gancl wrote before: gen.sample_noise instead of state.sample_noise,
weight_g (and its Adam moments) [O] instead of [O, 1], no
num_batches_tracked. Plain Python (no torch).  to_v1.py IN OUT"""
import json
import struct
import sys
import zlib


def main():
    src, dst = sys.argv[1:3]
    blob = open(src, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__")
    if meta.get("format_version") != "2":
        raise SystemExit(f"{src}: format_version {meta.get('format_version')}, expected 2")
    data = blob[8 + n:]
    out, chunks, crcs, at = {}, [], {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if name.endswith(".num_batches_tracked"):
            continue
        raw = data[e["data_offsets"][0]:e["data_offsets"][1]]
        shape = e["shape"]
        if (name.endswith(".weight_g") or name.endswith(".weight_g.exp_avg") or
                name.endswith(".weight_g.exp_avg_sq")) and len(shape) == 2 and shape[1] == 1:
            shape = shape[:1]
        if name == "state.sample_noise":
            name = "gen.sample_noise"
        out[name] = {"dtype": e["dtype"], "shape": shape, "data_offsets": [at, at + len(raw)]}
        crcs[name] = "%08x" % (zlib.crc32(raw) & 0xffffffff)
        chunks.append(raw)
        at += len(raw)
    meta = dict(meta, format_version="1", crc32=json.dumps(crcs, separators=(",", ":")))
    h = json.dumps(dict({"__metadata__": meta}, **out), separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


if __name__ == "__main__":
    main()
