#!/usr/bin/env bash
# The web explorer under load (issue 24's targets), on loopback:
#  1. wrk: /api/neighbors k=10 on a 100k × 300 table, 16 connections, 30 s — every request a new word
#     (a full scan each), then 1,000 hot words (repeats answered from the server's cache);
#  2. /api/projection of 5,000 points, t-SNE and PCA (the server's own timing, "seconds");
#  3. t-SNE against PCA in process (wall and CPU time), and the exact t-SNE on 600 points;
#  4. the peer: NumPy answering the same neighbour question in one process (no HTTP).
# Run it under the benchmark lock:  flock /tmp/embedsharp-bench.lock benchmarks/web/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PORT:-5181}
rows=${ROWS:-100000}
dims=${DIMS:-300}
work=$(mktemp -d)
# shellcheck source=serve.sh
. benchmarks/web/serve.sh
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

echo "load before: $(uptime)"
/usr/bin/python3 benchmarks/web/make_table.py "$work/table.npy" "$rows" "$dims"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
# The measurements below are of the server after its background warm-up (see serve.sh).
start_server "$work/table.npy" "$port" "$work/serve.log"

echo "== neighbors, every request a new word (full scan of $rows × $dims), 16 connections, 30 s; load: $(uptime)"
timeout 60 wrk -t2 -c16 -d30s --timeout 10s -s benchmarks/web/neighbors.lua "$url" -- table.npy "$rows" 0 | grep RESULT
# Ask each hot word once first, so the measured run is the steady state of a warm cache.
seq 0 999 | xargs -P 2 -I{} sh -c 'curl -sf -o /dev/null "$0/api/neighbors?table=table.npy&word=w$(printf %06d {})&k=10"' "$url"
echo "== neighbors, 1,000 hot words (answer cache, warmed), 16 connections, 30 s; load: $(uptime)"
timeout 60 wrk -t2 -c16 -d30s --timeout 10s -s benchmarks/web/neighbors.lua "$url" -- table.npy "$rows" 1000 | grep RESULT

for method in tsne pca; do
  for attempt in 1 2; do
    s=$(curl -sf --max-time 300 "$url/api/projection?table=table.npy&method=$method&n=5000" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    echo "RESULT projection method=$method n=5000 attempt=$attempt seconds=$s load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  done
done

stop_server
echo "== projection in process: t-SNE against PCA (the peer), wall and CPU time; load: $(uptime)"
dotnet run -c Release --project benchmarks/web/ProjectionTiming -- 5000 300 2 | grep RESULT
echo "== peer: NumPy in one process, same table; load: $(uptime)"
/usr/bin/python3 benchmarks/web/numpy_peer.py "$work/table.npy" 300
echo "load after: $(uptime)"
