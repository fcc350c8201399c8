#!/usr/bin/env bash
# Redis Cluster serving benchmark: starts 3 redis-server masters on free loopback ports (no persistence, own temp
# folder), creates the cluster, runs EmbedSharp.RedisBench against it, and kills the servers by PID on exit.
# Usage: flock /tmp/embedsharp-bench.lock bash benchmarks/redis/run.sh [rows=400000] [dims=128] [seconds=3] ...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
dotnet build -c Release "$here/EmbedSharp.RedisBench" -v q -nologo >/dev/null
dir="$(mktemp -d /tmp/embedsharp-redis-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=()
p=$(( 21000 + RANDOM % 8000 ))
while [ "${#ports[@]}" -lt 3 ]; do
  if free "$p" && free $(( p + 10000 )); then ports+=("$p"); fi
  p=$(( p + 1 ))
done
for port in "${ports[@]}"; do
  mkdir -p "$dir/$port"
  # Started directly (not in a subshell), so $! is the server's own PID.
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 5000 --cluster-require-full-coverage no --save "" --appendonly no \
    --dir "$dir/$port" --logfile "$dir/$port/redis.log" --daemonize no &
  pids+=("$!")
  disown "$!"
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 0 --cluster-yes >/dev/null
for port in "${ports[@]}"; do
  for _ in $(seq 200); do redis-cli -p "$port" cluster info | grep -q cluster_state:ok && break; sleep 0.05; done
done
echo "# $(date -u +%FT%TZ) redis $(redis-server --version | awk '{print $3}'), 3 masters on 127.0.0.1:${ports[*]}; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# uptime before: $(uptime)"
"$here/EmbedSharp.RedisBench/bin/Release/net10.0/EmbedSharp.RedisBench" "$(IFS=,; printf '127.0.0.1:%s' "${ports[0]}"),127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}" "$@"
echo "# uptime after: $(uptime)"
for port in "${ports[@]}"; do echo "# 127.0.0.1:$port used_memory_human=$(redis-cli -p "$port" info memory | grep '^used_memory_human' | cut -d: -f2 | tr -d '\r') keys=$(redis-cli -p "$port" dbsize)"; done
