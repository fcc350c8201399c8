#!/usr/bin/env bash
# WN18RR: filtered valid MRR reached within a time budget with the shipped configs (ComplEx-N3 1-N and
# RotatE self-adversarial), the epoch/time/valid-MRR curves (CSV + PNG), and the peak RSS of a full
# filtered evaluation of WN18RR (40,757 entities here: train + valid; our copy has no test split, so we
# tune and report on valid and say so).
#
# The two models train at the same time, ComplEx on 2 threads and RotatE on 1, each stopped by
# --time-limit SECONDS (then evaluated and saved, as after Ctrl-C); the curve files are rewritten after
# every evaluation, so a run that is killed still leaves its curve. Training is seeded: for a given thread
# count the same epochs give the same MRRs under any load; only the time axis depends on the load.
#
#   bash benchmarks/kg/wn18rr.sh 4380     # the README figure: ≈ 75 minutes, run under nice without the lock
#   flock /tmp/embedsharp-bench.lock bash benchmarks/kg/wn18rr.sh 240    # a short look (≈ 5 minutes)
#   COMPLEX_CONFIG=wn18rr-complex-lr03 ROTATE=0 bash benchmarks/kg/wn18rr.sh 4380   # another ComplEx config alone
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg/WN18RR"
OUT="${OUT:-/tmp/embedsharp-kg-bench}"
SECONDS_PER_MODEL="${1:-240}"
mkdir -p "$OUT"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
CLI=(nice -n 19 dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll)
echo "start $(date -u +%H:%M:%S) UTC; load before: $(uptime)"
COMPLEX_CONFIG="${COMPLEX_CONFIG:-wn18rr-complex}"   # a file name in benchmarks/kg/configs, without .json
train() { # model threads eval-every [config]
  "${CLI[@]}" kg train "$DATA" --all-entities --config "benchmarks/kg/configs/${4:-wn18rr-$1}.json" --threads "$2" --eval-every "$3" \
    --time-limit "$SECONDS_PER_MODEL" --curve "$OUT/wn18rr-$1-curve.csv" --plot "$OUT/wn18rr-$1-curve.png" \
    --out "$OUT/wn18rr-$1.safetensors" > "$OUT/wn18rr-$1.log" 2>&1
}
train complex 2 1 "$COMPLEX_CONFIG" &
complex=$!
if [ "${ROTATE:-1}" != 0 ]; then
  train rotate 1 3 &
  wait $!
fi
wait "$complex"
echo "end $(date -u +%H:%M:%S) UTC; load after: $(uptime)"
/usr/bin/time -v "${CLI[@]}" kg evaluate "$OUT/wn18rr-complex.safetensors" --test "$DATA/valid.txt" --filter "$DATA/train.txt" --json \
  > "$OUT/wn18rr-eval.json" 2> "$OUT/wn18rr-eval-time.txt"
for m in complex $([ "${ROTATE:-1}" != 0 ] && echo rotate); do echo "== $m"; cat "$OUT/wn18rr-$m.log"; echo "curve ($OUT/wn18rr-$m-curve.csv):"; cat "$OUT/wn18rr-$m-curve.csv"; done
echo "evaluation: $(cat "$OUT/wn18rr-eval.json")"
grep -E "Maximum resident set size|Elapsed" "$OUT/wn18rr-eval-time.txt"
