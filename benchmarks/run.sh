#!/usr/bin/env bash
# One command for the whole benchmark suite: the machine's limit (a C probe), the peer (PyTorch
# from Debian's python3-torch with OpenBLAS) and EmbedSharp (BenchmarkDotNet), on the same sizes
# and the same ids, then the table in benchmarks/README.md.
#
#   bash benchmarks/run.sh            # full run (~20 minutes on 2 cores; TORCH_RUNS=1 for one PyTorch run)
#
# Needs: gcc, the .NET 10 SDK, and Debian's python3-torch + libopenblas0-pthread + python3-numpy
# (installed here with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
# The machine is shared: record the load so the table can say how disturbed the run was.
cut -d' ' -f1 /proc/loadavg > "$out/load.txt"

if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch libopenblas0-pthread python3-numpy
fi
# OpenBLAS settings that CI machines export for old OpenBLAS builds slow a current one: not here.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

echo "== ids"
/usr/bin/python3 benchmarks/peer/make_ids.py "$out"

echo "== limit (C probe)"
gcc -O3 -march=native -fno-math-errno -pthread -o "$out/memprobe" benchmarks/probe/memprobe.c -lm
{
  "$out/memprobe" stream
  for spec in 1000000:128 50000:768; do
    rows=${spec%:*}; dims=${spec#*:}
    for dist in uniform zipf; do
      for t in 1 2; do "$out/memprobe" gather "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" | sed "s/\"workload\":\"gather\"/\"workload\":\"gather_${rows}x${dims}_${dist}\"/"; done
      if [ "$rows" = 1000000 ]; then
        for t in 1 2; do "$out/memprobe" bag "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" | sed "s/\"workload\":\"bag\"/\"workload\":\"bag_${rows}x${dims}_${dist}\"/"; done
      fi
      if [ "$rows" = 1000000 ] && [ "$dist" = uniform ]; then
        # A 4-bit, group-64 bag's least traffic, in MLX's three arrays and in one record per row.
        for layout in mlx fused; do
          for t in 1 2; do "$out/memprobe" qbag "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" "$layout"; done
        done
        # The least traffic of one optimizer step (0, 1, 2 state rows: SGD, Adagrad, Adam).
        for s in 0 1 2; do
          for t in 1 2; do "$out/memprobe" update "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" "$s" | sed "s/\"workload\":\"update\"/\"workload\":\"update_${rows}x${dims}_${dist}\"/"; done
        done
      fi
    done
  done
} | tee "$out/limit.jsonl"

echo "== peer (PyTorch)"
/usr/bin/python3 -c "import torch; print(torch.__version__, torch.__config__.show().splitlines()[-1][:200])"
: > "$out/torch.jsonl"
# torch.set_num_threads does not bound OpenBLAS's own pool: pin it, or "1 thread" GEMM runs on all cores.
# PyTorch's rows move by up to 1.6x from one run of its script to the next: TORCH_RUNS runs (default 3),
# and the table takes each workload's best.
for run in $(seq "${TORCH_RUNS:-3}"); do
  for t in 1 2; do OPENBLAS_NUM_THREADS=$t /usr/bin/python3 benchmarks/peer/torch_peer.py "$out" "$t" | tee -a "$out/torch.jsonl"; done
done

echo "== EmbedSharp (BenchmarkDotNet)"
EMBEDSHARP_BENCH_IDS="$PWD/$out" dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- \
  --filter '*Suite*' --artifacts "$out/bdn" | grep -E "^\||Done|Mean" || true

cut -d' ' -f1 /proc/loadavg >> "$out/load.txt"

echo "== table"
/usr/bin/python3 benchmarks/peer/make_table.py "$out" benchmarks/README.md
