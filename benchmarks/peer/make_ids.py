"""Writes the id streams every side of the benchmark suite reads (int32, little-endian, raw).

uniform_<rows>.bin: 65,536 ids uniform in [0, rows).
zipf_<rows>.bin:    65,536 ids with P(rank k) ∝ k^-1.05 over ranks 1..rows, ranks shuffled onto ids.
Seeded (20261123), so every run and every side sees the same ids.
"""
import sys
import numpy as np

def main(out_dir: str) -> None:
    count = 65_536
    for rows in (1_000_000, 50_000):
        rng = np.random.default_rng(20261123 + rows)
        rng.integers(0, rows, count, dtype=np.int32).astype("<i4").tofile(f"{out_dir}/uniform_{rows}.bin")
        weights = np.arange(1, rows + 1, dtype=np.float64) ** -1.05
        cdf = np.cumsum(weights)
        ranks = np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right")
        perm = rng.permutation(rows).astype(np.int32)
        perm[np.minimum(ranks, rows - 1)].astype("<i4").tofile(f"{out_dir}/zipf_{rows}.bin")

if __name__ == "__main__":
    main(sys.argv[1])
