#!/usr/bin/env python3
"""An independent safetensors reader, to check that gancl checkpoints are
what other tools expect (torch 1.13 on Debian has no safetensors module).

    check_safetensors.py FILE [--pattern]

Parses the header with the standard json module (duplicate keys rejected),
checks dtypes, shapes (rank <= 8, gancl's limit), offsets (sorted, contiguous, covering the buffer),
the gancl metadata and every CRC32 (zlib), and loads each tensor with
struct/array. With --pattern, the values must follow the test pattern the C
test writes (element i of each tensor):
    F32: i * 0.25 - 3    I32: 7 i - 100    I64: i * 2**40 - 5    U8: 13 i mod 256
When numpy or torch can be imported, they load the same bytes and must
agree. Exits 0 when everything holds; prints what was wrong otherwise.
"""
import array
import json
import struct
import sys
import zlib

DTYPES = {  # name: (bytes, array typecode or None)
    "BOOL": (1, "B"), "U8": (1, "B"), "I8": (1, "b"), "F8_E4M3": (1, None), "F8_E5M2": (1, None),
    "U16": (2, "H"), "I16": (2, "h"), "F16": (2, None), "BF16": (2, None),
    "U32": (4, "I"), "I32": (4, "i"), "F32": (4, "f"),
    "U64": (8, "Q"), "I64": (8, "q"), "F64": (8, "d"),
}


def pattern(dtype, i):
    if dtype == "F32":
        return i * 0.25 - 3.0
    if dtype == "I32":
        return 7 * i - 100
    if dtype == "I64":
        return i * 2**40 - 5
    if dtype == "U8":
        return (13 * i) % 256
    return None


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON object")
    return dict(pairs)


def load(path, check_pattern):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError("header length %d exceeds the file" % n)
    if n % 8 != 0:
        raise ValueError("header length %d is not a multiple of 8" % n)
    raw = blob[8:8 + n]
    if not raw.startswith(b"{"):
        raise ValueError("header does not start with '{'")
    header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    buf = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict):
        raise ValueError("__metadata__ is not an object")
    for k, v in meta.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("metadata %r: values must be strings" % k)
    if meta.get("format") != "gancl-ckpt" or meta.get("format_version") not in ("1", "2"):
        raise ValueError("not a gancl-ckpt version 1 or 2: %r" % meta)
    if "crc32" not in meta:
        raise ValueError("no crc32 in __metadata__")
    crcs = json.loads(meta["crc32"], object_pairs_hook=no_duplicates)
    if not isinstance(crcs, dict) or not all(isinstance(v, str) for v in crcs.values()):
        raise ValueError("crc32 is not an object of strings")
    if set(crcs) != set(header):
        raise ValueError("crc32 names %s, tensors are %s" % (sorted(crcs), sorted(header)))

    spans = []
    tensors = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError("%s: fields %s" % (name, sorted(info)))
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ValueError("%s: unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError("%s: bad shape %r" % (name, shape))
        if len(shape) > 8:
            raise ValueError("%s: rank %d; gancl checkpoints have at most 8 dims" % (name, len(shape)))
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets):
            raise ValueError("%s: bad data_offsets %r" % (name, offsets))
        b, e = offsets
        if not 0 <= b <= e <= len(buf):
            raise ValueError("%s: data_offsets %r outside the %d data bytes" % (name, offsets, len(buf)))
        numel = 1
        for d in shape:
            numel *= d
        size, code = DTYPES[dtype]
        if numel * size != e - b:
            raise ValueError("%s: %d elements of %s but offsets span %d" % (name, numel, dtype, e - b))
        if b % size != 0:
            raise ValueError("%s: offset %d not aligned to %d" % (name, b, size))
        data = buf[b:e]
        got_crc = "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
        if got_crc != crcs[name].lower():
            raise ValueError("%s: CRC32 %s, header says %s" % (name, got_crc, crcs[name]))
        spans.append((b, e, name))
        values = None
        if code:
            values = array.array(code)
            values.frombytes(data)
            if sys.byteorder != "little":
                values.byteswap()
            if check_pattern and pattern(dtype, 0) is not None:
                for i, v in enumerate(values):
                    want = pattern(dtype, i)
                    if v != want:
                        raise ValueError("%s[%d] = %r, expected %r" % (name, i, v, want))
        tensors[name] = (dtype, shape, data, values)

    at = 0
    for b, e, name in sorted(spans):
        if b != at:
            raise ValueError("%s: starts at %d, previous tensor ends at %d" % (name, b, at))
        at = e
    if at != len(buf):
        raise ValueError("tensors cover %d of %d data bytes" % (at, len(buf)))
    return tensors


def cross_check(tensors):
    """Load the same bytes with numpy and torch when they exist."""
    used = []
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        npt = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "F64": np.float64}
        for name, (dtype, shape, data, values) in tensors.items():
            if dtype in npt and values is not None:
                a = np.frombuffer(data, dtype=np.dtype(npt[dtype]).newbyteorder("<")).reshape(shape)
                if a.ravel().tolist() != values.tolist():
                    raise ValueError("%s: numpy disagrees" % name)
        used.append("numpy")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and sys.byteorder == "little":
        tt = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8}
        for name, (dtype, shape, data, values) in tensors.items():
            if dtype in tt and values is not None and len(data) > 0:
                t = torch.frombuffer(bytearray(data), dtype=tt[dtype]).reshape(shape)
                if t.flatten().tolist() != values.tolist():
                    raise ValueError("%s: torch disagrees" % name)
        used.append("torch")
    return used


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        tensors = load(args[0], "--pattern" in sys.argv)
        used = cross_check(tensors)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        print("check_safetensors: %s: %s" % (args[0], e))
        return 1
    print("check_safetensors: %s: %d tensors ok (struct/array%s)" %
          (args[0], len(tensors), "".join(", " + u for u in used)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
