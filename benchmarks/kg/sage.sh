#!/usr/bin/env bash
# GraphSAGE (mean aggregator, fan-outs 5,5) against the same loss without message passing (a shallow embedding,
# `--fan-outs none`), both trained for link prediction on the graph of train.txt (relations ignored) and ranked the
# same way: every valid edge's two ends among all nodes, filtered (train/valid/test edges and the anchor itself left
# out), realistic ties. No labelled node set ships in ../shared/data, so this is link prediction on the KGs as graphs.
#
#   flock /tmp/embedsharp-bench.lock nice -n 10 bash benchmarks/kg/sage.sh [seconds per WN18RR model, default 240]
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg"
LIMIT="${1:-240}"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
CLI=(env DOTNET_TieredCompilation=0 dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll)
echo "load before: $(uptime)"
for fans in 5,5 none; do
  echo "umls $fans: $("${CLI[@]}" kg sage "$DATA/umls" --fan-outs $fans --batch-size 64 --epochs 20 --json)"
done
for fans in 5,5 none; do
  echo "WN18RR $fans: $("${CLI[@]}" kg sage "$DATA/WN18RR" --fan-outs $fans --batch-size 512 --epochs 5 --time-limit "$LIMIT" --json)"
done
echo "load after: $(uptime)"
