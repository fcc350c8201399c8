#!/bin/bash
# Usage: benchmarks/rowsource/run.sh BASE_COMMIT AFTER_COMMIT [ROUNDS]
# Exports both commits' src/ to a temp folder, builds this harness against each (Release), then runs
# alternating rounds (base, after) on 1 and 2 threads under the shared benchmark lock. One line per
# workload: side, threads, workload, best milliseconds.
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
flock /tmp/embedsharp-bench.lock bash -c '
  echo "load before: $(uptime)"
  for round in $(seq '"$rounds"'); do
    for t in 1 2; do
      for side in base after; do DOTNET_PROCESSOR_COUNT=$t '"$work"'/$side/out/RowSourceBench 10 $side; done
    done
  done
  echo "load after: $(uptime)"'
