# nan_ckpt.py IN OUT TENSOR [VALUE]: copy a gancl checkpoint with element 0
# of TENSOR set to NaN, or with every element set to VALUE when given (a
# huge finite VALUE makes the first step's loss overflow); crc32 fixed
import json, struct, sys, zlib
src, dst, name = sys.argv[1:4]
b = bytearray(open(src, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
lo, hi = h[name]["data_offsets"]
base = 8 + n
if len(sys.argv) > 4:
    b[base + lo:base + hi] = struct.pack("<f", float(sys.argv[4])) * ((hi - lo) // 4)
else:
    b[base + lo:base + lo + 4] = struct.pack("<f", float("nan"))
meta = h["__metadata__"]
crc = json.loads(meta["crc32"])
crc[name] = "%08x" % zlib.crc32(bytes(b[base + lo:base + hi]))
meta["crc32"] = json.dumps(crc, separators=(",", ":"))
hdr = json.dumps(h, separators=(",", ":")).encode()
hdr += b" " * (-len(hdr) % 8)
open(dst, "wb").write(struct.pack("<Q", len(hdr)) + hdr + bytes(b[base:]))
