#!/bin/bash
# Usage: benchmarks/rowsource/run.sh BASE_COMMIT AFTER_COMMIT [BUDGET_SECONDS]
# Single-process before/after harness (issue 17). Exports both commits' library sources to a temp folder and
# builds the workloads (Workloads/) once against each, Release; builds the driver (Driver/) once. Then, under the
# shared benchmark lock, one driver process per case (native, and avx2 = DOTNET_EnableAVX512=0 where the CPU has
# AVX-512; CASES="native" or "avx2" picks one) and thread count (1 and 2; THREADS="1" picks one) loads three sides
# into their own AssemblyLoadContexts -- base, base again (the A/A noise check) and after -- and alternates them
# call by call on each workload for BUDGET_SECONDS (default 2) of measured rounds. WORKLOADS=REGEX filters the
# workloads. Prints a table of median per-round after/base ratios with 95 % intervals, beside the A/A ratios.
set -euo pipefail
base=$1 after=$2 budget=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# WORK=DIR keeps the builds in DIR and reuses a side's or the driver's build found there (for reruns of one workload).
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
start=$(date +%s)
for side in base after; do
  [ -n "${WORK:-}" ] && [ -f "$work/$side/out/RowSourceWorkloads.dll" ] && continue
  commit=$base; [ "$side" = after ] && commit=$after
  mkdir -p "$work/$side/lib" "$work/$side/bench"
  git -C "$repo" archive "$commit" src Directory.Build.props Directory.Packages.props global.json | tar -x -C "$work/$side/lib"
  cp "$here/Workloads/Workloads.cs" "$work/$side/bench/"
  sed 's#\$(Library)#'"$work/$side/lib/src/EmbedSharp/EmbedSharp.csproj"'#' "$here/Workloads/RowSourceWorkloads.csproj" > "$work/$side/bench/RowSourceWorkloads.csproj"
  dotnet build -c Release -o "$work/$side/out" "$work/$side/bench" > "$work/$side/build.log" 2>&1 || { cat "$work/$side/build.log"; exit 1; }
done
[ -n "${WORK:-}" ] && [ -f "$work/driver/out/RowSourceDriver.dll" ] || {
mkdir -p "$work/driver/src"
cp "$here/Driver/Driver.cs" "$here/Driver/RowSourceDriver.csproj" "$work/driver/src/"
dotnet build -c Release -o "$work/driver/out" "$work/driver/src" > "$work/driver/build.log" 2>&1 || { cat "$work/driver/build.log"; exit 1; }
}
echo "built in $(( $(date +%s) - start )) s" >&2
if grep -qw avx512f /proc/cpuinfo; then cases=${CASES:-native avx2}; else cases=native; fi
threads=${THREADS:-1 2}
filter=${WORKLOADS:-.}
export work budget filter cases threads
# DOTNET_TC_CallCountingDelayMs=0 and DOTNET_TC_CallCountThreshold=5: call counting starts at once and a method is
# promoted after 5 calls (default 30), so the warm-up reaches the tier-1 code that a long-running caller runs even for
# a kernel called once per call. The old harness (3 warm-ups, best of 10) timed such kernels in their OSR code.
flock /tmp/embedsharp-bench.lock bash -c '
  echo "load before: $(uptime)" >&2
  for case in $cases; do
    # .NET 10 reads DOTNET_EnableAVX512 (AVX512F alone is ignored: the JIT still emits zmm code); both are set.
    isa=(); [ "$case" = avx2 ] && isa=(DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0)
    for t in $threads; do
      env "${isa[@]}" DOTNET_PROCESSOR_COUNT=$t DOTNET_TC_CallCountingDelayMs=0 DOTNET_TC_CallCountThreshold=5 "$work/driver/out/RowSourceDriver" "$case" "$budget" "$filter" \
        base="$work/base/out/RowSourceWorkloads.dll" base2="$work/base/out/RowSourceWorkloads.dll" after="$work/after/out/RowSourceWorkloads.dll"
    done
  done
  echo "load after: $(uptime)" >&2' | tee "$work/pairs.tsv"
python3 "$here/summarize.py" "$work/pairs.tsv"
echo "base $base ($(git -C "$repo" rev-parse --short "$base")), after $after ($(git -C "$repo" rev-parse --short "$after")); $(( $(date +%s) - start )) s in all"
