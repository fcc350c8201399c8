"""Writes a clustered float32 table of ROWS x DIMS as .npy with a .vocab sidecar (words w000000...).

Usage: make_table.py OUT.npy ROWS DIMS. Generated data for the web benchmark only: never committed.
"""
import sys
import numpy as np

out, rows, dims = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(24)
centres = rng.standard_normal((200, dims)).astype(np.float32)
table = centres[rng.integers(0, 200, rows)] + 0.6 * rng.standard_normal((rows, dims)).astype(np.float32)
np.save(out, table.astype(np.float32))
with open(out + ".vocab", "w", encoding="utf-8") as f:
    for i in range(rows):
        f.write(f"w{i:06d}\n")
