"""The peer: the same question answered by NumPy in one process, no HTTP — unit-normalise the
table once, then per query a matrix-vector product, argpartition for the top 11 and a sort.

Usage: numpy_peer.py TABLE.npy QUERIES. Prints the median and p99 per-query latency (ms).
"""
import sys
import time
import numpy as np

table = np.load(sys.argv[1]).astype(np.float32)
queries = int(sys.argv[2])
unit = table / np.linalg.norm(table, axis=1, keepdims=True)
rng = np.random.default_rng(1)
times = []
for row in rng.integers(0, len(unit), queries):
    start = time.perf_counter()
    scores = unit @ unit[row]
    scores[row] = -np.inf
    top = np.argpartition(-scores, 10)[:10]
    top = top[np.argsort(-scores[top])]
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"RESULT numpy per-query p50_ms={times[len(times) // 2]:.2f} p99_ms={times[int(len(times) * 0.99)]:.2f} queries={queries}")
