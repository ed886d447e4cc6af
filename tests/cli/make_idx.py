#!/usr/bin/env python3
"""Write a tiny MNIST-shaped IDX dataset (train and t10k, raw) into DIR:
make_idx.py DIR [N]. Images are random bytes from a fixed seed."""
import os
import random
import struct
import sys

d, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 64
os.makedirs(d, exist_ok=True)
rng = random.Random(7)
for split in ("train", "t10k"):
    with open(os.path.join(d, f"{split}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + bytes(rng.randrange(256) for _ in range(n * 784)))
    with open(os.path.join(d, f"{split}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 2049, n) + bytes(i % 10 for i in range(n)))
