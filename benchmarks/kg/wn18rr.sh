#!/usr/bin/env bash
# WN18RR: filtered valid MRR reached within a time budget (ComplEx-N3 1-N and RotatE self-adversarial,
# shipped configs), the epoch/time/valid-MRR curves (CSV + PNG), and the peak RSS of a full filtered
# evaluation of WN18RR (40,757 entities here: train + valid; our copy has no test split, so we tune and
# report on valid and say so).
#
#   flock /tmp/embedsharp-bench.lock bash benchmarks/kg/wn18rr.sh [seconds per model, default 240]
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg/WN18RR"
OUT="${OUT:-/tmp/embedsharp-kg-bench}"
SECONDS_PER_MODEL="${1:-240}"
mkdir -p "$OUT"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
CLI=(dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll)
echo "load before: $(uptime)"
"${CLI[@]}" kg train "$DATA" --all-entities --config benchmarks/kg/configs/wn18rr-complex.json --eval-every 1 --time-limit "$SECONDS_PER_MODEL" \
  --curve "$OUT/wn18rr-complex-curve.csv" --plot "$OUT/wn18rr-complex-curve.png" --out "$OUT/wn18rr-complex.safetensors" --json | tail -1 > "$OUT/wn18rr-complex.json"
"${CLI[@]}" kg train "$DATA" --all-entities --config benchmarks/kg/configs/wn18rr-rotate.json --eval-every 3 --time-limit "$SECONDS_PER_MODEL" \
  --curve "$OUT/wn18rr-rotate-curve.csv" --plot "$OUT/wn18rr-rotate-curve.png" --out "$OUT/wn18rr-rotate.safetensors" --json | tail -1 > "$OUT/wn18rr-rotate.json"
/usr/bin/time -v "${CLI[@]}" kg evaluate "$OUT/wn18rr-complex.safetensors" --test "$DATA/valid.txt" --filter "$DATA/train.txt" --json \
  > "$OUT/wn18rr-eval.json" 2> "$OUT/wn18rr-eval-time.txt"
echo "load after: $(uptime)"
for m in complex rotate; do echo "$m: $(cat "$OUT/wn18rr-$m.json")"; echo "curve:"; cat "$OUT/wn18rr-$m-curve.csv"; done
echo "evaluation: $(cat "$OUT/wn18rr-eval.json")"
grep -E "Maximum resident set size|Elapsed" "$OUT/wn18rr-eval-time.txt"
