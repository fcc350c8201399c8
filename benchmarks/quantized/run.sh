#!/bin/bash
# Usage: bash benchmarks/quantized/run.sh [ROUNDS] [OUT_DIR]
# Issue 19 part 3: 4-bit (and 8-bit) bags and gathers over the suite's 1M × 128 table in MLX's three arrays and in
# fused rows, each round timed against our own fp32 path in the same process, on 1 and 2 threads, in the AVX2 case
# (DOTNET_EnableAVX512=0, the C probe built with -mno-avx512f) and, where the CPU has AVX-512, the native case.
# The C probe's 4-bit bag (memprobe qbag: the same bytes read, nothing dequantized) runs in the same lock hold,
# so each 4-bit bag can also be read as a fraction of what a minimal loop of its traffic does.
set -euo pipefail
rounds=${1:-3}
out=${2:-$(mktemp -d)}
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mkdir -p "$out"
/usr/bin/python3 benchmarks/peer/make_ids.py "$out"
dotnet build -c Release benchmarks/quantized -v q -nologo > "$out/build.log"
bench=benchmarks/quantized/bin/Release/net10.0/QuantizedRowsBench
if grep -qw avx512f /proc/cpuinfo; then cases="avx2 native"; else cases="native"; fi
for case in $cases; do
  cflags="-march=native"; [ "$case" = avx2 ] && cflags="-march=native -mno-avx512f"
  gcc -O3 $cflags -fno-math-errno -pthread -o "$out/memprobe-$case" benchmarks/probe/memprobe.c -lm
done
flock /tmp/embedsharp-bench.lock bash -c '
  set -e
  echo "load before: $(uptime)"
  for case in '"$cases"'; do
    env=(); [ "$case" = avx2 ] && env=(DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0)
    for t in 1 2; do
      for layout in mlx fused; do echo "$case probe $("'"$out"'/memprobe-$case" qbag 1000000 128 "'"$out"'/uniform_1000000.bin" $t $layout)"; done
      env "${env[@]}" DOTNET_PROCESSOR_COUNT=$t '"$bench"' "'"$out"'/uniform_1000000.bin" '"$rounds"' 20 | sed "s/^/$case\t/"
    done
  done
  echo "load after: $(uptime)"' | tee "$out/results.txt"
