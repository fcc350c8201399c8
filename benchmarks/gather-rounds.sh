#!/usr/bin/env bash
# The gathers into a caller's buffer against PyTorch's index_select(out=), in alternating rounds.
# The suite times each side once, minutes apart; on a shared machine PyTorch's 2-thread gather moves
# by ±20 % between its own runs. Here each round times both sides back to back (best of REPS calls
# each; which side goes first alternates), and the ratio is taken within the round.
#
#   bash benchmarks/gather-rounds.sh [ROUNDS] [REPS]      (defaults 10 and 50; about 2 minutes)
#
# Needs what benchmarks/run.sh needs (it installs PyTorch when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
reps=${2:-50}
out=benchmarks/results
mkdir -p "$out"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch libopenblas0-pthread python3-numpy
fi
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
[ -f "$out/uniform_50000.bin" ] || /usr/bin/python3 benchmarks/peer/make_ids.py "$out"
dotnet build -c Release benchmarks/EmbedSharp.Benchmarks >/dev/null
ours() { DOTNET_PROCESSOR_COUNT=$1 dotnet benchmarks/EmbedSharp.Benchmarks/bin/Release/net10.0/EmbedSharp.Benchmarks.dll gather-round "$PWD/$out" "$reps"; }
theirs() { OPENBLAS_NUM_THREADS=$1 /usr/bin/python3 benchmarks/peer/torch_gather.py "$out" "$1" "$reps"; }
log="$out/gather-rounds.jsonl"
: > "$log"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    if [ $((r % 2)) = 1 ]; then { ours "$t"; theirs "$t"; } else { theirs "$t"; ours "$t"; } fi | sed "s/^{/{\"round\":$r,/" | tee -a "$log"
  done
done
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = {}
for r in rows:
    runs.setdefault((r["workload"], r["threads"], r["round"]), {})[r["side"]] = r["seconds"]
ratios = {}
for (w, t, _), sides in runs.items():
    if len(sides) == 2:
        ratios.setdefault((w, t), []).append(sides["torch"] / sides["embedsharp"])
print("\n| workload | threads | EmbedSharp / PyTorch, median of rounds | lowest | highest | rounds ≥ 1.2× |")
print("|---|---:|---:|---:|---:|---:|")
for (w, t), rs in sorted(ratios.items()):
    print(f"| {w} | {t} | {statistics.median(rs):.2f}× | {min(rs):.2f}× | {max(rs):.2f}× | {sum(x >= 1.2 for x in rs)} of {len(rs)} |")
PY
