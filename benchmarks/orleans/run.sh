#!/usr/bin/env bash
# Orleans store benchmark (issue 23): 2 silo processes + client on loopback, against the in-process store.
# Run from the repository root: bash benchmarks/orleans/run.sh   (needs Debian's redis-server)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release benchmarks/orleans/OrleansBench -v q -nologo >/dev/null
echo "uptime before: $(uptime)"
flock /tmp/embedsharp-bench.lock timeout 600 dotnet benchmarks/orleans/OrleansBench/bin/Release/net10.0/OrleansBench.dll "$@"
echo "uptime after: $(uptime)"
