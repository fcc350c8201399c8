"""Builds the results table of benchmarks/README.md from one run of benchmarks/run.sh.

Usage: python3 make_table.py RESULTS_DIR README.md
Reads RESULTS_DIR/limit.jsonl (C probe), RESULTS_DIR/torch.jsonl (PyTorch) and the
BenchmarkDotNet full-JSON reports under RESULTS_DIR/bdn/results, and replaces the part of
README.md between the `<!-- results:begin -->` and `<!-- results:end -->` markers.
"""
import glob
import json
import platform
import re
import subprocess
import sys
import time

IDS = 65_536
SIZES = {"1000000x128": (1_000_000, 128), "50000x768": (50_000, 768)}


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def ours(results_dir):
    """(workload, threads) → seconds per operation, from BenchmarkDotNet's mean."""
    table = {}
    for path in glob.glob(f"{results_dir}/bdn/results/*-report-full.json"):
        with open(path) as f:
            report = json.load(f)
        for b in report["Benchmarks"]:
            m = re.search(r": T(\d+)", b["DisplayInfo"])
            threads = int(m.group(1)) if m else 1
            params = b.get("Parameters") or ""
            name = b["MethodTitle"].strip("'")
            w = re.search(r"Workload=([^&\s]+)", params)
            workload = f"{name}_{w.group(1)}" if w else name
            table[(workload, threads)] = b["Statistics"]["Mean"] * 1e-9
    return table


def main(results_dir, readme):
    limit = load_jsonl(f"{results_dir}/limit.jsonl")
    stream_read = next(r["bytes_per_second"] for r in limit if r["workload"] == "stream_read_1GiB")
    gather_limit = {(r["workload"].replace("gather_", ""), r["threads"]): r["bytes_per_second"] for r in limit if "threads" in r}
    peer = {(r["workload"], r["threads"]): r for r in load_jsonl(f"{results_dir}/torch.jsonl")}
    mine = ours(results_dir)

    rows = []
    for (workload, threads), seconds in sorted(mine.items()):
        p = peer.get((workload, threads))
        if workload.startswith("gather"):
            size = workload.split("_")[-2]
            dims = SIZES[size][1]
            bps = IDS * dims * 4 / seconds
            lim = gather_limit.get((size + "_" + workload.split("_")[-1], threads))
            unit, value = "GB/s out", bps / 1e9
            peer_value = p["bytes_per_second"] / 1e9 if p else None
            limit_ratio = bps / lim if lim else None
        elif workload.startswith("gemv"):
            bps = 50_257 * 768 * 4 / seconds
            unit, value = "GB/s weights", bps / 1e9
            peer_value = p["bytes_per_second"] / 1e9 if p else None
            limit_ratio = bps / stream_read
        else:
            flops = 2 * 512 * 768 * 50_257 / seconds
            unit, value = "GFLOP/s", flops / 1e9
            peer_value = p["flops_per_second"] / 1e9 if p else None
            limit_ratio = None
        ratio = value / peer_value if peer_value else None
        rows.append((workload, threads, value, unit, peer_value, ratio, limit_ratio))

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    lines = [
        "<!-- results:begin -->",
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu} ({platform.machine()}), by `bash benchmarks/run.sh`.",
        f"Streaming read limit (C probe, 1 GiB): {stream_read / 1e9:.1f} GB/s. 65,536 ids per lookup.",
        "",
        "| workload | threads | EmbedSharp | unit | PyTorch | EmbedSharp / PyTorch | EmbedSharp / limit |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    fmt = lambda v, f="{:.2f}": "—" if v is None else f.format(v)
    for workload, threads, value, unit, peer_value, ratio, limit_ratio in rows:
        lines.append(f"| {workload} | {threads} | {value:.2f} | {unit} | {fmt(peer_value)} | {fmt(ratio, '{:.2f}×')} | {fmt(limit_ratio, '{:.2f}')} |")
    lines.append("<!-- results:end -->")
    block = "\n".join(lines)

    with open(readme) as f:
        text = f.read()
    if "<!-- results:begin -->" in text:
        text = re.sub(r"<!-- results:begin -->.*<!-- results:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(readme, "w") as f:
        f.write(text)
    print(block)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
