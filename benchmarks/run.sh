#!/usr/bin/env bash
# One command for the whole benchmark suite: the machine's limit (a C probe), the peer (PyTorch
# from Debian's python3-torch with OpenBLAS) and EmbedSharp (BenchmarkDotNet), on the same sizes
# and the same ids, then the table in benchmarks/README.md.
#
#   bash benchmarks/run.sh            # full run (~20 minutes a case on 2 cores; TORCH_RUNS=1 for one PyTorch run)
#
# Two cases, each its own table in benchmarks/README.md:
#   native  everything with the CPU's widest vectors (AVX-512 where the CPU has it)
#   avx2    the machine most users have: our side with DOTNET_EnableAVX512=0, the probe compiled
#           with -mno-avx512f, PyTorch with ATEN_CPU_CAPABILITY=avx2 and OpenBLAS's Haswell kernels.
#           On a CPU without AVX-512 the native case already is this one and runs once.
# CASES="avx2" (or "native") runs one of them.
#
# Needs: gcc, the .NET 10 SDK, and Debian's python3-torch + libopenblas0-pthread + python3-numpy
# (installed here with apt-get when missing). The table is refused when PyTorch's GEMM does not run
# on OpenBLAS (Debian's reference BLAS would make every ratio against PyTorch flatter us).
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
need=()
/usr/bin/python3 -c "import torch" 2>/dev/null || need+=(python3-torch python3-numpy)
# python3-torch alone leaves libblas.so.3 on the reference BLAS: install OpenBLAS whenever it is missing.
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
# OpenBLAS settings that CI machines export for old OpenBLAS builds slow a current one: not here.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE ATEN_CPU_CAPABILITY
blas=$(/usr/bin/python3 benchmarks/peer/check_blas.py) || { echo "run.sh: no table without an OpenBLAS peer" >&2; exit 1; }
echo "PyTorch's BLAS: $blas"

if grep -qw avx512f /proc/cpuinfo; then all_cases="native avx2"; else all_cases="native"; fi

echo "== ids"
/usr/bin/python3 benchmarks/peer/make_ids.py "$out"

for case in ${CASES:-$all_cases}; do
  if [ "$case" = avx2 ]; then
    sfx=-avx2; cflags="-march=native -mno-avx512f"
    # .NET 10 reads DOTNET_EnableAVX512; DOTNET_EnableAVX512F alone leaves AVX-512 on.
    ours_env=(DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0); peer_env=(ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell)
  else
    sfx=""; cflags="-march=native"; ours_env=(); peer_env=()
  fi
  if [ "$case" = avx2 ] || ! grep -qw avx512f /proc/cpuinfo; then isa="AVX2 + FMA, no AVX-512"; else isa="AVX-512 (+ AVX2, FMA)"; fi
  # The machine is shared: record the load so the table can say how disturbed the run was.
  cut -d' ' -f1 /proc/loadavg > "$out/load$sfx.txt"
  printf '%s\n%s\n' "$isa" "$blas" > "$out/case$sfx.txt"

  echo "== limit (C probe, $case)"
  gcc -O3 $cflags -fno-math-errno -pthread -o "$out/memprobe$sfx" benchmarks/probe/memprobe.c -lm
  {
    "$out/memprobe$sfx" stream
    for spec in 1000000:128 50000:768; do
      rows=${spec%:*}; dims=${spec#*:}
      for dist in uniform zipf; do
        for t in 1 2; do "$out/memprobe$sfx" gather "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" | sed "s/\"workload\":\"gather\"/\"workload\":\"gather_${rows}x${dims}_${dist}\"/"; done
        if [ "$rows" = 1000000 ]; then
          for t in 1 2; do "$out/memprobe$sfx" bag "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" | sed "s/\"workload\":\"bag\"/\"workload\":\"bag_${rows}x${dims}_${dist}\"/"; done
        fi
        if [ "$rows" = 1000000 ] && [ "$dist" = uniform ]; then
          # A 4-bit, group-64 bag's least traffic, in MLX's three arrays and in one record per row.
          for layout in mlx fused; do
            for t in 1 2; do "$out/memprobe$sfx" qbag "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" "$layout"; done
          done
          # The least traffic of one optimizer step (0, 1, 2 state rows: SGD, Adagrad, Adam).
          for s in 0 1 2; do
            for t in 1 2; do "$out/memprobe$sfx" update "$rows" "$dims" "$out/${dist}_${rows}.bin" "$t" "$s" | sed "s/\"workload\":\"update\"/\"workload\":\"update_${rows}x${dims}_${dist}\"/"; done
          done
        fi
      done
    done
  } | tee "$out/limit$sfx.jsonl"

  echo "== peer (PyTorch, $case)"
  env "${peer_env[@]}" /usr/bin/python3 -c "import torch; print(torch.__version__, *[l.strip() for l in torch.__config__.show().splitlines() if 'CPU capability' in l])"
  : > "$out/torch$sfx.jsonl"
  # torch.set_num_threads does not bound OpenBLAS's own pool: pin it, or "1 thread" GEMM runs on all cores.
  # PyTorch's rows move by up to 1.6x from one run of its script to the next: TORCH_RUNS runs (default 3),
  # and the table takes each workload's best.
  for run in $(seq "${TORCH_RUNS:-3}"); do
    for t in 1 2; do env "${peer_env[@]}" OPENBLAS_NUM_THREADS=$t /usr/bin/python3 benchmarks/peer/torch_peer.py "$out" "$t" | tee -a "$out/torch$sfx.jsonl"; done
  done

  echo "== EmbedSharp (BenchmarkDotNet, $case)"
  rm -rf "$out/bdn$sfx"
  env "${ours_env[@]}" EMBEDSHARP_BENCH_IDS="$PWD/$out" dotnet run -c Release --project benchmarks/EmbedSharp.Benchmarks -- \
    --filter '*Suite*' --artifacts "$out/bdn$sfx" | grep -E "^\||Done|Mean" || true

  cut -d' ' -f1 /proc/loadavg >> "$out/load$sfx.txt"

  echo "== table ($case)"
  /usr/bin/python3 benchmarks/peer/make_table.py "$out" benchmarks/README.md "$case"
done
