#!/usr/bin/env bash
# Knowledge-graph benchmarks: quality on nations/umls/kinship with the shipped configs, and speed of
# training and evaluation against a straightforward numpy implementation of the same models, in one run.
#
#   flock /tmp/embedsharp-bench.lock bash benchmarks/kg/run.sh            # ≈ 6–8 minutes on the 2-core machine
#
# WN18RR quality (time-limited curves) and peak memory of its evaluation: benchmarks/kg/wn18rr.sh.
# Results go to $OUT (default /tmp/embedsharp-kg-bench) and a Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg"
OUT="${OUT:-/tmp/embedsharp-kg-bench}"
SPEED_SECONDS="${SPEED_SECONDS:-45}"
# Our runs JIT straight to optimised code: a one-shot process on a small graph would otherwise spend most
# of an evaluation in tier-0 code and on-stack replacement, which says nothing about the kernels.
export DOTNET_TieredCompilation=0
PY=/usr/bin/python3
mkdir -p "$OUT"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
CLI=(dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll)
echo "load before: $(uptime)"

# 1. Quality: filtered test MRR with the shipped configs (SKIP_QUALITY=1 to rerun only the speed part).
for cfg in nations-distmult umls-complex kinship-complex; do
  [ "${SKIP_QUALITY:-0}" = 1 ] && [ -s "$OUT/quality-$cfg.json" ] && continue
  ds="${cfg%%-*}"
  "${CLI[@]}" kg train "$DATA/$ds" --config "benchmarks/kg/configs/$cfg.json" --out "$OUT/$cfg.safetensors" --json | tail -1 > "$OUT/quality-$cfg.json"
done

# 2. Speed against numpy, same data, model, dims, batch and (for training) the same time budget.
#    ComplEx: 1-N (reciprocal, N3, Adagrad), dims 100, batch 500. RotatE: self-adversarial, dims 100, 64 negatives, batch 512.
for ds in umls WN18RR; do
  extra=(); [ "$ds" = WN18RR ] && extra=(--all-entities)
  "${CLI[@]}" kg train "$DATA/$ds" "${extra[@]}" --model complex --dims 100 --batch-size 500 --epochs 1000 --time-limit "$SPEED_SECONDS" --out "$OUT/speed-$ds-complex.safetensors" --json | tail -1 > "$OUT/speed-$ds-complex-ours.json"
  "${CLI[@]}" kg train "$DATA/$ds" "${extra[@]}" --model rotate --dims 100 --batch-size 512 --negatives 64 --epochs 1000 --time-limit "$SPEED_SECONDS" --out "$OUT/speed-$ds-rotate.safetensors" --json | tail -1 > "$OUT/speed-$ds-rotate-ours.json"
  for m in complex rotate; do
    filter=("$DATA/$ds/train.txt")
    "${CLI[@]}" kg evaluate "$OUT/speed-$ds-$m.safetensors" --test "$DATA/$ds/valid.txt" --filter "${filter[@]}" --json > "$OUT/speed-$ds-$m-eval-ours.json" \
      || echo '{"queries_per_second": null}' > "$OUT/speed-$ds-$m-eval-ours.json"
    bs=500; [ "$m" = rotate ] && bs=512
    "$PY" benchmarks/kg/numpy_peer.py "$DATA/$ds" --model "$m" --dims 100 --batch-size "$bs" --negatives 64 --seconds "$SPEED_SECONDS" --eval-seconds "$SPEED_SECONDS" > "$OUT/speed-$ds-$m-numpy.json"
  done
done
echo "load after: $(uptime)"

"$PY" - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])
print("\n| data set | model (config) | valid MRR | test MRR | Hits@1 | Hits@10 | train s |")
print("|---|---|---:|---:|---:|---:|---:|")
for cfg in ("nations-distmult", "umls-complex", "kinship-complex"):
    q = load(f"quality-{cfg}.json")
    ds, model = cfg.split("-")
    print(f"| {ds} | {model} (`configs/{cfg}.json`) | {q['valid_mrr']:.4f} | {q['test_mrr']:.4f} | {q['test_hits_at_1']:.4f} | {q['test_hits_at_10']:.4f} | {q['train_seconds']:.1f} |")
print("\n| data set | model | ours triples/s | numpy triples/s | ratio | ours eval queries/s | numpy eval queries/s | ratio |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for ds in ("umls", "WN18RR"):
    for m in ("complex", "rotate"):
        o, n, e = load(f"speed-{ds}-{m}-ours.json"), load(f"speed-{ds}-{m}-numpy.json"), load(f"speed-{ds}-{m}-eval-ours.json")
        oq = e.get("queries_per_second") or float("nan")
        print(f"| {ds} | {m} | {o['triples_per_second']:,.0f} | {n['triples_per_second']:,.0f} | {o['triples_per_second']/n['triples_per_second']:.1f}× | {oq:,.0f} | {n['queries_per_second']:,.0f} | {oq/n['queries_per_second']:.1f}× |")
PY
