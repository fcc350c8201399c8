#!/usr/bin/env bash
# Load time and resident memory of a 1 GiB word2vec-binary table: full read vs memory-mapping the
# same table converted once to .npy. Each mode runs in its own process (benchmarks/README.md).
#   bash benchmarks/formats-load.sh [MiB]      (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
dir=$(mktemp -d /tmp/embedsharp-load.XXXX)
trap 'rm -rf "$dir"' EXIT
dotnet build -c Release benchmarks/EmbedSharp.Benchmarks >/dev/null
run() { dotnet benchmarks/EmbedSharp.Benchmarks/bin/Release/net10.0/EmbedSharp.Benchmarks.dll load "$@"; }
run make "$dir" "$mib"
# Each mode twice: cold (page cache dropped first; needs root, else it is only "first run") and
# warm (the file is cached). RSS is split into anonymous (private) and file-backed (page cache
# mapped into the process): a mapped table's rows are file-backed and can be reclaimed.
for mode in w2v-read npy-read npy-map; do
  file="$dir/vectors.npy"; [ "$mode" = w2v-read ] && file="$dir/vectors.bin"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  run "$mode" "$file" | sed 's/^{/{"cache":"cold",/'
  run "$mode" "$file" | sed 's/^{/{"cache":"warm",/'
done
