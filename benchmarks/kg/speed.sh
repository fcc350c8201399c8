#!/usr/bin/env bash
# Knowledge-graph speed against a straightforward numpy implementation of the same models, in one run:
# TransE (margin, 64 negatives), DistMult and ComplEx (1-N, reciprocal, N3, Adagrad), RotatE (self-adversarial,
# 64 negatives) on umls and WN18RR, dims 100, with 1 and then 2 threads on both sides (ours: --threads and
# DOTNET_PROCESSOR_COUNT; numpy: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS). Each pair runs back to back and
# the load average before it is recorded. Evaluation: filtered ranking of the valid split (filter train +
# valid, both sides), timed warm on our side (KgSpeed compiles the paths on a first slice), passes repeated
# until the budget is spent on both sides.
#
#   flock /tmp/embedsharp-bench.lock bash benchmarks/kg/speed.sh          # ≈ 9 minutes on the 2-core machine
#
# TRAIN_SECONDS / EVAL_SECONDS (default 8 / 5) set each measurement's budget; DATASETS, MODELS and THREADS
# (default all) pick a subset; OUT (default /tmp/embedsharp-kg-speed) receives one JSON file per run; the
# Markdown table of the pairs measured goes to stdout.
# PyKEEN is not a peer: Debian does not package it and PyPI cannot be reached from this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${EMBEDSHARP_DATA_DIR:-$(cd .. && pwd)/shared/data}/kg"
OUT="${OUT:-/tmp/embedsharp-kg-speed}"
TRAIN_SECONDS="${TRAIN_SECONDS:-8}"
EVAL_SECONDS="${EVAL_SECONDS:-5}"
DATASETS="${DATASETS:-umls WN18RR}"
MODELS="${MODELS:-transe distmult complex rotate}"
THREADS="${THREADS:-1 2}"
PY=/usr/bin/python3
mkdir -p "$OUT"
dotnet build benchmarks/kg/KgSpeed -c Release -v q -nologo >/dev/null
SPEED=(dotnet benchmarks/kg/KgSpeed/bin/Release/net10.0/KgSpeed.dll)
echo "start: $(date -u +%FT%TZ) $(uptime)"
rm -f "$OUT"/*-t[12]-ours.json "$OUT"/*-t[12]-numpy.json "$OUT"/*-t[12]-load.txt   # this script's own files only
for ds in $DATASETS; do
  for m in $MODELS; do
    bs=512; case $m in distmult|complex) bs=500;; esac
    for t in $THREADS; do
      uptime > "$OUT/$ds-$m-t$t-load.txt"
      DOTNET_PROCESSOR_COUNT=$t DOTNET_TieredCompilation=0 "${SPEED[@]}" "$DATA/$ds" --model $m --dims 100 --batch-size $bs --negatives 64 \
        --threads $t --seconds "$TRAIN_SECONDS" --eval-seconds "$EVAL_SECONDS" > "$OUT/$ds-$m-t$t-ours.json"
      OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$PY" benchmarks/kg/numpy_peer.py "$DATA/$ds" --model $m --dims 100 --batch-size $bs --negatives 64 \
        --seconds "$TRAIN_SECONDS" --eval-seconds "$EVAL_SECONDS" > "$OUT/$ds-$m-t$t-numpy.json"
    done
  done
done
echo "end: $(date -u +%FT%TZ) $(uptime)"

"$PY" - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])
regime = {"transe": "margin, 64 neg.", "distmult": "1-N", "complex": "1-N", "rotate": "self-adv., 64 neg."}
print("\n| data set | model (regime) | threads | load | ours triples/s | numpy triples/s | train ratio | ours queries/s | numpy queries/s | eval ratio |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for ds in ("umls", "WN18RR"):
    for m in ("transe", "distmult", "complex", "rotate"):
        for t in (1, 2):
            if not os.path.exists(os.path.join(out, f"{ds}-{m}-t{t}-numpy.json")):
                continue
            o, n = load(f"{ds}-{m}-t{t}-ours.json"), load(f"{ds}-{m}-t{t}-numpy.json")
            with open(os.path.join(out, f"{ds}-{m}-t{t}-load.txt")) as f:
                load1 = f.read().split("load average:")[1].split(",")[0].strip()
            print(f"| {ds} | {m} ({regime[m]}) | {t} | {load1} | {o['triples_per_second']:,.0f} | {n['triples_per_second']:,.0f} | "
                  f"**{o['triples_per_second'] / n['triples_per_second']:.1f}×** | {o['queries_per_second']:,.0f} | {n['queries_per_second']:,.0f} | "
                  f"**{o['queries_per_second'] / n['queries_per_second']:.1f}×** |")
PY
