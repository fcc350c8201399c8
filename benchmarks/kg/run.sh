#!/usr/bin/env bash
# Knowledge-graph benchmarks: quality on nations/umls/kinship with the shipped configs. Speed against numpy
# is benchmarks/kg/speed.sh (one run, all four models).
#
#   flock /tmp/embedsharp-bench.lock bash benchmarks/kg/run.sh            # ≈ 1–3 minutes on the 2-core machine
#
# WN18RR quality (time-limited curves) and peak memory of its evaluation: benchmarks/kg/wn18rr.sh.
# Results go to $OUT (default /tmp/embedsharp-kg-bench) and a Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg"
OUT="${OUT:-/tmp/embedsharp-kg-bench}"
# Our runs JIT straight to optimised code: a one-shot process on a small graph would otherwise spend most
# of an evaluation in tier-0 code and on-stack replacement, which says nothing about the kernels.
export DOTNET_TieredCompilation=0
PY=/usr/bin/python3
mkdir -p "$OUT"
dotnet build src/EmbedSharp.Cli -c Release -v q -nologo >/dev/null
CLI=(dotnet src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli.dll)
echo "load before: $(uptime)"

# 1. Quality: filtered test MRR with the shipped configs.
for cfg in nations-distmult umls-complex kinship-complex; do
  ds="${cfg%%-*}"
  "${CLI[@]}" kg train "$DATA/$ds" --config "benchmarks/kg/configs/$cfg.json" --out "$OUT/$cfg.safetensors" --json | tail -1 > "$OUT/quality-$cfg.json"
done

# 2. Speed against numpy (all four models, umls and WN18RR, 1 and 2 threads): benchmarks/kg/speed.sh.
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
PY
