#!/usr/bin/env python3
"""Best-of-rounds table for benchmarks/rowsource/run.sh: one row per (case, threads, workload),
before and after in milliseconds, after/before (above 1 = slower after), and the noise: how far the
slowest round of each side sat above its best (the larger of the two sides)."""
import sys
from collections import defaultdict

best = defaultdict(lambda: float("inf"))
worst = defaultdict(float)
order = []
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5:
        continue
    side, threads, name, ms, case = parts
    key = (case, threads, name)
    if key not in order:
        order.append(key)
    best[key + (side,)] = min(best[key + (side,)], float(ms))
    worst[key + (side,)] = max(worst[key + (side,)], float(ms))

print("| case | threads | workload | before ms | after ms | after/before | round-to-round spread |")
print("|---|---|---|---:|---:|---:|---:|")
for case, threads, name in order:
    b, a = best[(case, threads, name, "base")], best[(case, threads, name, "after")]
    ratio = a / b if b > 0 and b != float("inf") and a != float("inf") else float("nan")
    spread = max(worst[(case, threads, name, side)] / best[(case, threads, name, side)] - 1 for side in ("base", "after"))
    print(f"| {case} | {threads} | {name} | {b:.3f} | {a:.3f} | {ratio:.2f} | {spread:.0%} |")
