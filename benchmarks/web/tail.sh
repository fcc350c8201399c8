#!/usr/bin/env bash
# The /api/neighbors latency tail only (issue 24's p99 < 20 ms target), with the server's own timings:
# serves the 100k × 300 table of run.sh with EMBEDSHARP_SERVE_METRICS=1 and runs wrk (new word per request,
# 16 connections, 30 s) once per client-thread setting in WRK_THREADS (default "2 1": -t2, then -t1).
# The server prints, per busy period, its time per request, the batcher's queue wait, batch sizes and
# durations, pre-filter fallbacks and GC counts/pause time (lines starting METRICS), next to wrk's RESULT.
# Run it under the benchmark lock:  flock /tmp/embedsharp-bench.lock bash benchmarks/web/tail.sh
# SERVE_ENV adds environment to the server only (e.g. SERVE_ENV="DOTNET_gcServer=1" to try a GC mode).
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PORT:-5182}
rows=${ROWS:-100000}
dims=${DIMS:-300}
seconds=${SECONDS_PER_RUN:-30}
work=$(mktemp -d)
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

/usr/bin/python3 benchmarks/web/make_table.py "$work/table.npy" "$rows" "$dims"
[ -n "${SKIP_BUILD:-}" ] || dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
url="http://127.0.0.1:$port"
for threads in ${WRK_THREADS:-2 1}; do
  # shellcheck disable=SC2086
  env EMBEDSHARP_SERVE_METRICS=1 ${SERVE_ENV:-} dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll serve "$work/table.npy" --port "$port" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    curl -sf "$url/api/tables" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -sf "$url/api/neighbors?table=table.npy&word=w000001&k=10" >/dev/null
  sleep 5
  echo "== wrk -t$threads -c16 -d${seconds}s, a new word each request; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout $((seconds + 30)) wrk -t"$threads" -c16 -d"${seconds}s" --timeout 10s -s benchmarks/web/neighbors.lua "$url" -- table.npy "$rows" 0 | grep RESULT
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  # The last busy period is the wrk run (the warm-up request is its own, earlier period).
  awk '/^METRICS neighbors/{block=""} /^METRICS/{block=block $0 "\n"} END{printf "%s", block}' "$work/serve.log"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
