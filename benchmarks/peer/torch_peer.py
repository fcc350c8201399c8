"""PyTorch (Debian's python3-torch, BLAS = OpenBLAS) on the suite's workloads; one JSON object per line.

Usage: python3 torch_peer.py IDS_DIR THREADS
Each workload reports the best of several timed repetitions after a warm-up, and the same
throughput unit as the .NET side: output bytes per second for lookups, weight bytes per second
for GEMV, FLOP per second for GEMM, ids per second for bags and training steps (the table
derives those from "seconds" and "rows").
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def best_time(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def emit(workload, seconds, bytes_moved=None, flops=None, **extra):
    row = {"side": "torch", "workload": workload, "seconds": seconds, **extra}
    if bytes_moved is not None:
        row["bytes_per_second"] = bytes_moved / seconds
    if flops is not None:
        row["flops_per_second"] = flops / seconds
    print(json.dumps(row), flush=True)


def main(ids_dir: str, threads: int) -> None:
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for rows, dims in ((1_000_000, 128), (50_000, 768)):
            weight = torch.randn(rows, dims, generator=gen)
            for dist in ("uniform", "zipf"):
                ids = torch.from_numpy(np.fromfile(f"{ids_dir}/{dist}_{rows}.bin", dtype="<i4").astype(np.int64))
                out = torch.empty(len(ids), dims)
                out_bytes = len(ids) * dims * 4
                name = f"{rows}x{dims}_{dist}"
                emit(f"gather_into_buffer_{name}", best_time(lambda: torch.index_select(weight, 0, ids, out=out)), out_bytes, threads=threads)
                emit(f"gather_allocating_{name}", best_time(lambda: F.embedding(ids, weight)), out_bytes, threads=threads)
            del weight
        # Bags of 32 over the 1M-row table (offsets every 32 ids), sum and mean.
        weight = torch.randn(1_000_000, 128, generator=gen)
        for dist in ("uniform", "zipf"):
            ids = torch.from_numpy(np.fromfile(f"{ids_dir}/{dist}_1000000.bin", dtype="<i4").astype(np.int64))
            offsets = torch.arange(0, len(ids), 32, dtype=torch.int64)
            for mode in ("sum", "mean"):
                emit(f"bag_{mode}_1000000x128_{dist}", best_time(lambda: F.embedding_bag(ids, weight, offsets, mode=mode)),
                     rows=len(ids), threads=threads)
        del weight
        head = torch.randn(50_257, 768, generator=gen)
        x1 = torch.randn(1, 768, generator=gen)
        xb = torch.randn(512, 768, generator=gen)
        emit("gemv_50257x768", best_time(lambda: x1 @ head.T), head.numel() * 4, threads=threads)
        emit("gemm_512x768x50257", best_time(lambda: xb @ head.T, reps=5), flops=2 * 512 * 768 * 50_257, threads=threads)
        del head

    # One training step: the sparse gradient that Embedding(sparse=True)'s backward produces for the
    # 65,536 ids and a fixed upstream gradient (an uncoalesced COO tensor of the ids and the rows:
    # PyTorch coalesces inside the optimizer), then the optimizer step. The forward gather is left
    # out on both sides.
    ids = torch.from_numpy(np.fromfile(f"{ids_dir}/uniform_1000000.bin", dtype="<i4").astype(np.int64))
    grad = torch.randn(len(ids), 128, generator=gen) * 1e-3
    emb = torch.nn.Embedding(1_000_000, 128, sparse=True)
    for name, make in (("sparse_adam", lambda p: torch.optim.SparseAdam(p, lr=1e-3)),
                       ("sparse_adagrad", lambda p: torch.optim.Adagrad(p, lr=1e-2)),
                       ("sparse_sgd", lambda p: torch.optim.SGD(p, lr=1e-2))):
        opt = make(list(emb.parameters()))

        def step():
            emb.weight.grad = torch.sparse_coo_tensor(ids.unsqueeze(0), grad, emb.weight.shape)
            opt.step()

        emit(f"{name}_step_1000000x128_uniform", best_time(step, reps=5, warmup=2), rows=len(ids), threads=threads)
        del opt


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
