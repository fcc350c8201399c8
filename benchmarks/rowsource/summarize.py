#!/usr/bin/env python3
"""Tables for benchmarks/rowsource/run.sh. Input: the driver's lines (case, threads, workload, pair such as
after/base, reference median ms, side median ms, median per-round ratio, 95 % interval low and high, rounds,
calls per sample). Prints, per workload and (case, threads): after/base and the A/A check base2/base as
"median [low-high]", then the rows whose after/base interval lies wholly above 1 and above the A/A interval
of the same row (slower by more than the noise), and the widest A/A interval."""
import sys
from collections import OrderedDict

cells = {}
workloads = OrderedDict()
columns = OrderedDict()
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 11:
        continue
    case, threads, name, pair, ref_ms, ms, mid, lo, hi, rounds, calls = parts
    workloads[name] = None
    columns[(case, threads)] = None
    cells[(name, case, threads, pair.split("/")[0])] = (float(ref_ms), float(ms), float(mid), float(lo), float(hi), int(rounds))

def cell(key):
    v = cells.get(key)
    return "" if v is None else f"{v[2]:.2f} [{v[3]:.2f}-{v[4]:.2f}]"

header = "| workload | " + " | ".join(f"{c} {t}t after/base | {c} {t}t A/A" for c, t in columns) + " |"
print(header)
print("|---|" + "---:|---:|" * len(columns))
for name in workloads:
    row = [name]
    for case, threads in columns:
        row.append(cell((name, case, threads, "after")))
        row.append(cell((name, case, threads, "base2")))
    print("| " + " | ".join(row) + " |")

print()
print("| workload | " + " | ".join(f"{c} {t}t base ms" for c, t in columns) + " |")
print("|---|" + "---:|" * len(columns))
for name in workloads:
    row = [name]
    for case, threads in columns:
        v = cells.get((name, case, threads, "after"))
        row.append("" if v is None else f"{v[0]:.3f}")
    print("| " + " | ".join(row) + " |")

print()
slower, widest = [], (0.0, "")
for (name, case, threads, side), v in cells.items():
    if side == "base2":
        width = max(v[4] - 1, 1 - v[3])
        if width > widest[0]:
            widest = (width, f"{name} {case} {threads}t: {v[2]:.2f} [{v[3]:.2f}-{v[4]:.2f}]")
        continue
    aa = cells.get((name, case, threads, "base2"))
    if v[3] > 1 and (aa is None or v[3] > aa[4]):
        slower.append(f"{name} {case} {threads}t: {v[2]:.2f} [{v[3]:.2f}-{v[4]:.2f}]" + ("" if aa is None else f" (A/A {aa[2]:.2f} [{aa[3]:.2f}-{aa[4]:.2f}])"))
print("slower than base by more than the noise (after/base interval above 1 and above the A/A interval):")
for s in slower:
    print("  " + s)
if not slower:
    print("  none")
print(f"widest A/A interval (farthest bound from 1.00): {widest[1]}")
