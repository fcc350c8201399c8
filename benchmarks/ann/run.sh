#!/usr/bin/env bash
# Nearest-neighbour benchmark: ours (embedsharp index) against Debian's hnswlib and faiss in the same run.
#   flock /tmp/embedsharp-bench.lock bash benchmarks/ann/run.sh [WORK_DIR] [PARTS]
# PARTS: comma-separated subset of exact,hnsw,ivf (default all). Data sets are generated into WORK_DIR
# at benchmark time by ../shared/bench/ann/make_ann_sets.py and never committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/embedsharp-ann}
PARTS=${2:-exact,hnsw,ivf}
PY=/usr/bin/python3
mkdir -p "$WORK"
if [ ! -f "$WORK/synthhard_gt100.npy" ]; then
  $PY ../shared/bench/ann/make_ann_sets.py "$WORK" synthhard
fi
dotnet build -c Release src/EmbedSharp.Cli -o "$WORK/cli" -v quiet -nologo >/dev/null
echo "load before: $(uptime)"
$PY benchmarks/ann/ann_bench.py --work "$WORK" --cli "dotnet $WORK/cli/EmbedSharp.Cli.dll" --parts "$PARTS"
echo "load after: $(uptime)"
