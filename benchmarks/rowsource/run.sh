#!/bin/bash
# Usage: benchmarks/rowsource/run.sh BASE_COMMIT AFTER_COMMIT [ROUNDS]
# Exports both commits' src/ to a temp folder, builds this harness against each (Release), then runs
# alternating rounds (base, after) on 1 and 2 threads, in each ISA case (native, and avx2 =
# DOTNET_EnableAVX512F=0 where the CPU has AVX-512; CASES="native" or "avx2" picks one), under the
# shared benchmark lock. One line per workload: side, threads, workload, best milliseconds, case; then
# a table of each workload's best over the rounds, after/before (summarize.py).
set -euo pipefail
base=$1 after=$2 rounds=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in base after; do
  commit=$base; [ "$side" = after ] && commit=$after
  mkdir -p "$work/$side/lib" "$work/$side/bench"
  git -C "$repo" archive "$commit" src Directory.Build.props Directory.Packages.props global.json | tar -x -C "$work/$side/lib"
  cp "$here/Program.cs" "$work/$side/bench/"
  sed 's#\$(Library)#'"$work/$side/lib/src/EmbedSharp/EmbedSharp.csproj"'#' "$here/RowSourceBench.csproj" > "$work/$side/bench/RowSourceBench.csproj"
  dotnet build -c Release -o "$work/$side/out" "$work/$side/bench" > "$work/$side/build.log" || { cat "$work/$side/build.log"; exit 1; }
done
if grep -qw avx512f /proc/cpuinfo; then cases=${CASES:-native avx2}; else cases=native; fi
flock /tmp/embedsharp-bench.lock bash -c '
  echo "load before: $(uptime)"
  for round in $(seq '"$rounds"'); do
    for case in '"$cases"'; do
      isa=(); [ "$case" = avx2 ] && isa=(DOTNET_EnableAVX512F=0)
      for t in 1 2; do
        for side in base after; do env "${isa[@]}" DOTNET_PROCESSOR_COUNT=$t '"$work"'/$side/out/RowSourceBench 10 $side | sed "s/\$/\t$case/"; done
      done
    done
  done
  echo "load after: $(uptime)"' | tee "$work/rounds.tsv"
python3 "$here/summarize.py" "$work/rounds.tsv"
