"""One round of benchmarks/gather-rounds.sh on PyTorch's side: index_select(out=) on the suite's four
gathers, best of REPS calls after a warm-up, one JSON line per workload.

Usage: python3 torch_gather.py IDS_DIR THREADS REPS
"""
import json
import sys

import numpy as np
import torch

from torch_peer import best_time


def main(ids_dir: str, threads: int, reps: int) -> None:
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    for rows, dims in ((1_000_000, 128), (50_000, 768)):
        weight = torch.randn(rows, dims, generator=gen)
        for dist in ("uniform", "zipf"):
            ids = torch.from_numpy(np.fromfile(f"{ids_dir}/{dist}_{rows}.bin", dtype="<i4").astype(np.int64))
            out = torch.empty(len(ids), dims)
            best = best_time(lambda: torch.index_select(weight, 0, ids, out=out), reps=reps)
            print(json.dumps({"side": "torch", "workload": f"gather_into_buffer_{rows}x{dims}_{dist}",
                              "threads": threads, "seconds": best}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
