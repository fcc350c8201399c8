#!/usr/bin/env bash
# Sourced by run.sh and tail.sh: the explorer's server started the same way for both.
#   start_server TABLE PORT LOG [ENV...]  starts `embedsharp serve TABLE` (Release build) in the background with
#     the given environment, waits until /api/tables answers (2 minutes at most), asks one neighbour question,
#     then waits 5 s for the background warm-up (the 8-bit copy, compiled search, PCA and t-SNE code, about a
#     second of both cores), so that what is measured next is the warmed server. Sets $pid and $url.
#   stop_server                           stops it (and is safe to call when none runs).
pid=""
url=""

start_server() {
  local table=$1 port=$2 log=$3
  shift 3
  env "$@" dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll serve "$table" --port "$port" >"$log" 2>&1 &
  pid=$!
  url="http://127.0.0.1:$port"
  local ready=""
  for _ in $(seq 1 240); do
    if curl -sf "$url/api/tables" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
  done
  if [ -z "$ready" ]; then echo "the server did not answer on $url within 2 minutes; its log:" >&2; cat "$log" >&2; return 1; fi
  curl -sf "$url/api/neighbors?table=$(basename "$table")&word=w000001&k=10" >/dev/null
  sleep 5
}

stop_server() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=""
}
