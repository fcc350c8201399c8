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
# shellcheck source=serve.sh
. benchmarks/web/serve.sh
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

/usr/bin/python3 benchmarks/web/make_table.py "$work/table.npy" "$rows" "$dims"
[ -n "${SKIP_BUILD:-}" ] || dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
for threads in ${WRK_THREADS:-2 1}; do
  # shellcheck disable=SC2086
  start_server "$work/table.npy" "$port" "$work/serve.log" EMBEDSHARP_SERVE_METRICS=1 ${SERVE_ENV:-}
  echo "== wrk -t$threads -c16 -d${seconds}s, a new word each request; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout $((seconds + 30)) wrk -t"$threads" -c16 -d"${seconds}s" --timeout 10s -s benchmarks/web/neighbors.lua "$url" -- table.npy "$rows" 0 | grep RESULT
  stop_server
  # The last busy period is the wrk run (the warm-up request is its own, earlier period).
  awk '/^METRICS neighbors/{block=""} /^METRICS/{block=block $0 "\n"} END{printf "%s", block}' "$work/serve.log"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
