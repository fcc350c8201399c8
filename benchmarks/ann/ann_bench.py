#!/usr/bin/env python3
"""Recall@10 against queries/s for embedsharp's indexes and Debian's hnswlib and faiss, same data, same run.

Writes WORK/ann_results.jsonl (one line per point), WORK/ann_table.md and WORK/ann_recall_qps.png
(drawn by `embedsharp index plot`). Run through benchmarks/ann/run.sh.
"""
import argparse, json, os, subprocess, sys, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--cli", required=True)
ap.add_argument("--parts", default="exact,hnsw,ivf")
ap.add_argument("--set", default="synthhard")
ap.add_argument("--threads", default="1,2")
ap.add_argument("--single-queries", type=int, default=200)
a = ap.parse_args()
parts = set(a.parts.split(","))
threads = [int(t) for t in a.threads.split(",")]
W = a.work
X = np.load(f"{W}/{a.set}_base.npy")
Q = np.load(f"{W}/{a.set}_query.npy")
G = np.load(f"{W}/{a.set}_gt100.npy")[:, :10]
base, qpath = f"{W}/{a.set}_base.npy", f"{W}/{a.set}_query.npy"
np.save(f"{W}/single_query.npy", Q[:a.single_queries])
results = []
out = open(f"{W}/ann_results.jsonl", "a")


def recall(ids, truth=None):
    g = (G if truth is None else truth)[: len(ids)]
    return float(np.mean([len(set(r[:10]) & set(t)) / 10 for r, t in zip(ids, g)]))


def record(**kw):
    kw["load"] = os.getloadavg()[0]
    results.append(kw)
    out.write(json.dumps(kw) + "\n")
    out.flush()
    print(json.dumps(kw), flush=True)


def cli(*args):
    r = subprocess.run(a.cli.split() + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"embedsharp {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def ours_build(kind, path, *extra):
    t = time.time()
    line = json.loads(cli("index", "build", base, "--type", kind, "--metric", "dot", "--out", path, "--json", *extra).strip().splitlines()[-1])
    return line["seconds"], line["bytes"], time.time() - t


def ours_search(name, path, th, queries=qpath, single=False, truth=None, **knob):
    ids = f"{W}/ids.npy"
    # --warmup: the CLI answers the queries untimed (passes for at least a second) and times one more pass, as faiss and hnswlib are
    # timed in an already-warm Python process (compiled code, touched pages), so the two compare like for like.
    args = ["index", "search", path, "--queries", queries, "--k", "10", "--threads", str(th), "--out", ids, "--json", "--warmup"]
    for k, v in knob.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    if single:
        args.append("--single")
    best, cpu = None, 1e9
    for _ in range(2):  # best of two: the machine is shared
        line = json.loads(cli(*args).strip().splitlines()[-1])
        best = line if best is None or line["qps"] > best["qps"] else best
        cpu = min(cpu, line.get("cpu_seconds", 1e9))
    I = np.load(ids)
    n = len(I)
    knob.pop("filter_modulo", None)
    extra = {"cpu_qps": n / cpu} if th == 1 and cpu < 1e9 else {}
    record(name=name, impl="embedsharp", threads=th, qps=best["qps"], recall=recall(I, truth), **extra, **knob)


CPU = {"best": 1e9}  # process CPU seconds of the last best_time call (meaningful at 1 thread on a loaded machine)


def best_time(fn, reps=2):
    best, cpu = 1e9, 1e9
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        r = fn()
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    CPU["best"] = cpu
    return best, r


def cpu_qps(n, th):
    return {"cpu_qps": n / CPU["best"]} if th == 1 else {}


import faiss  # noqa: E402  (Debian python3-faiss)
import hnswlib  # noqa: E402  (Debian python3-hnswlib)

if "exact" in parts:
    # The single-query limit: one core streaming-reads the float32 table once per query (benchmarks/probe/memprobe.c,
    # a 1 GiB read, best of five, compiled here with -O3 -march=native).
    import tempfile
    probe = os.path.join(tempfile.mkdtemp(prefix="memprobe-"), "memprobe")
    subprocess.run(["gcc", "-O3", "-march=native", "-pthread", "-o", probe,
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "probe", "memprobe.c"), "-lm"], check=True)
    read = json.loads(subprocess.run([probe, "stream"], capture_output=True, text=True, check=True).stdout.splitlines()[0])
    record(name="exact single", impl="streaming-read limit", threads=1, qps=read["bytes_per_second"] / X.nbytes,
           bytes_per_second=read["bytes_per_second"], recall=1.0)
    p = f"{W}/ours.exact"
    bs, size, _ = ours_build("exact", p)
    idx = faiss.IndexFlatIP(X.shape[1]); idx.add(X)
    for th in threads:
        faiss.omp_set_num_threads(th)
        ours_search("exact batch", p, th)
        t, (_, I) = best_time(lambda: idx.search(Q, 10))
        record(name="exact batch", impl="faiss FlatIP", threads=th, qps=len(Q) / t, recall=recall(I), **cpu_qps(len(Q), th))
        ours_search("exact single", p, th, queries=f"{W}/single_query.npy", single=True)
        for bits in (8, 4):
            ours_search(f"exact single mlx{bits}+rerank", p, th, queries=f"{W}/single_query.npy", single=True, quantize=bits)
        # A smaller re-rank set K' = k × F for the 4-bit scan: recall at each F (the line above is F = 4).
        for factor in (1, 2, 3):
            ours_search(f"exact single mlx4+rerank x{factor}", p, th, queries=f"{W}/single_query.npy", single=True, quantize=4, rerank_factor=factor)
        Qs = Q[: a.single_queries]
        t, I = best_time(lambda: [idx.search(Qs[i:i + 1], 10)[1][0] for i in range(len(Qs))])
        record(name="exact single", impl="faiss FlatIP", threads=th, qps=len(Qs) / t, recall=recall(I), **cpu_qps(len(Qs), th))
    sq = faiss.IndexScalarQuantizer(X.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq.train(X); sq.add(X)
    for th in threads:
        faiss.omp_set_num_threads(th)
        t, (_, I) = best_time(lambda: sq.search(Q, 10))
        record(name="SQ8 batch", impl="faiss SQ8", threads=th, qps=len(Q) / t, recall=recall(I))

if "hnsw" in parts:
    p = f"{W}/ours.hnsw"
    bs, size, _ = ours_build("hnsw", p, "--m", "16", "--ef-construction", "200", "--threads", str(max(threads)))
    record(name="hnsw build", impl="embedsharp", threads=max(threads), seconds=bs, bytes=size)
    h = hnswlib.Index(space="ip", dim=X.shape[1])
    t = time.time()
    h.init_index(max_elements=len(X), M=16, ef_construction=200, random_seed=100)
    h.set_num_threads(max(threads))
    h.add_items(X, np.arange(len(X)))
    record(name="hnsw build", impl="hnswlib (Debian)", threads=max(threads), seconds=time.time() - t)
    # Memory, vectors + graph: ours is the index file (what a search maps), plus Dims bytes a vector with int8
    # walking; hnswlib's is its saved index (layer-0 block of links, vector and label per element, upper links).
    # Debian's 0.6.2 binding has no index_file_size(): save the index and take the file's size (it holds the
    # layer-0 blocks and, per element, the upper-link count and links; hnswlib's RAM adds its label map on top).
    try:
        hbytes = h.index_file_size()
    except AttributeError:
        h.save_index(f"{W}/hnswlib.bin")
        hbytes = os.path.getsize(f"{W}/hnswlib.bin")
        os.remove(f"{W}/hnswlib.bin")
    record(name="hnsw memory", impl="embedsharp", threads=1, bytes=size, bytes_per_vector=size / len(X))
    record(name="hnsw memory", impl="embedsharp int8 walk", threads=1, bytes=size + X.shape[0] * X.shape[1], bytes_per_vector=size / len(X) + X.shape[1])
    record(name="hnsw memory", impl="hnswlib (Debian)", threads=1, bytes=hbytes, bytes_per_vector=hbytes / len(X))
    for th in threads:
        h.set_num_threads(th)
        for ef in (16, 32, 64, 128, 256):
            ours_search("hnsw", p, th, ef=ef)
            # The same graph walked on int8 codes of the vectors (made at load), the ef found re-ranked on float32.
            ours_search("hnsw int8", p, th, ef=ef, quantize=8)
            h.set_ef(ef)
            t, (I, _) = best_time(lambda: h.knn_query(Q, k=10))
            record(name="hnsw", impl="hnswlib (Debian)", threads=th, qps=len(Q) / t, recall=recall(I), ef=ef, **cpu_qps(len(Q), th))
    # hnswlib as `pip install hnswlib` builds it: Debian's headers compiled here with -O3 -march=native.
    import shutil, tempfile
    tmp = tempfile.mkdtemp(prefix="hnswlib-native-")
    exe = f"{tmp}/hnswlib_native"
    subprocess.run(["g++", "-O3", "-march=native", "-std=c++17", "-o", exe, os.path.join(os.path.dirname(os.path.abspath(__file__)), "hnswlib_native.cpp"), "-lpthread"], check=True)
    proc = subprocess.Popen([exe, base, qpath, f"{tmp}/ids", str(max(threads)), ",".join(map(str, threads)), "16,32,64,128,256"], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        r = json.loads(line)
        if "build_seconds" in r:
            record(name="hnsw build", impl="hnswlib (-march=native)", threads=r["threads"], seconds=r["build_seconds"])
        else:
            I = np.fromfile(r["ids"], dtype=np.int32).reshape(len(Q), 10)
            extra = {"cpu_qps": r["cpu_qps"]} if r["threads"] == 1 else {}
            record(name="hnsw", impl="hnswlib (-march=native)", threads=r["threads"], qps=r["qps"], recall=recall(I), ef=r["ef"], **extra)
    if proc.wait() != 0:
        sys.exit("hnswlib_native failed")
    shutil.rmtree(tmp)
    # Filtered search at 1 % selectivity (ids divisible by 100): our allow-list against hnswlib's filter callback.
    allowed = np.arange(0, len(X), 100)
    S = Q @ X[allowed].T
    ftruth = allowed[np.argsort(-S, axis=1)[:, :10]]
    for th in threads:
        ours_search("hnsw filtered 1%", p, th, truth=ftruth, ef=64, filter_modulo=100)
    try:
        h.set_ef(64)
        h.set_num_threads(1)
        t, (I, _) = best_time(lambda: h.knn_query(Q[:100], k=10, filter=lambda i: i % 100 == 0), reps=1)
        record(name="hnsw filtered 1%", impl="hnswlib (Debian)", threads=1, qps=100 / t, recall=recall(I, ftruth), ef=64)
    except TypeError:
        print("hnswlib here has no filter argument (added in 0.7.0); no filtered peer point", flush=True)

if "ivf" in parts:
    for name, extra, fx in (("ivf-flat", ["--type", "ivfflat"], "IVF1024,Flat"), ("ivf-pq16", ["--type", "ivfpq", "--pq", "16"], "IVF1024,PQ16")):
        p = f"{W}/ours.{name}"
        bs, size, _ = ours_build(extra[1], p, "--nlist", "1024", *extra[2:], "--threads", str(max(threads)))
        record(name=f"{name} build", impl="embedsharp", threads=max(threads), seconds=bs, bytes=size)
        faiss.omp_set_num_threads(max(threads))
        f = faiss.index_factory(X.shape[1], fx, faiss.METRIC_INNER_PRODUCT)
        t = time.time(); f.train(X); f.add(X)
        record(name=f"{name} build", impl="faiss", threads=max(threads), seconds=time.time() - t)
        for th in threads:
            faiss.omp_set_num_threads(th)
            for nprobe in (4, 8, 16, 32, 64):
                ours_search(name, p, th, nprobe=nprobe)
                f.nprobe = nprobe
                t, (_, I) = best_time(lambda: f.search(Q, 10))
                record(name=name, impl="faiss", threads=th, qps=len(Q) / t, recall=recall(I), nprobe=nprobe, **cpu_qps(len(Q), th))

# The table and the plot of this run (ann_results.jsonl keeps every run's lines).
rows = results
with open(f"{W}/ann_table.md", "w") as t:
    t.write("| workload | implementation | threads | knob | recall@10 | queries/s | queries per CPU-s (1 thread) | build s |\n|---|---|---:|---|---:|---:|---:|---:|\n")
    for r in rows:
        knob = ", ".join(f"{k} {r[k]}" for k in ("ef", "nprobe") if k in r)
        t.write(f"| {r['name']} | {r['impl']} | {r['threads']} | {knob} | {r.get('recall', float('nan')):.3f} | {r.get('qps', 0):,.0f} | {r.get('cpu_qps', 0):,.0f} | {r.get('seconds', float('nan')):.1f} |\n")
print(open(f"{W}/ann_table.md").read())
# Curves only (series with several ef / nprobe points); single points are in the table.
from collections import Counter
series = lambda r: f"{r['impl']} {r['name']} {r['threads']}t"
count = Counter(series(r) for r in rows if "qps" in r and "recall" in r)
curves = [r for r in rows if "qps" in r and "recall" in r and count[series(r)] > 1]
with open(f"{W}/ann_curves.jsonl", "w") as c:
    for r in curves:
        c.write(json.dumps({"series": series(r), "recall": r["recall"], "qps": r["qps"]}) + "\n")
if curves:  # an exact-only run has single points, no curves
    cli("index", "plot", f"{W}/ann_curves.jsonl", "--out", f"{W}/ann_recall_qps.png")
    print(f"plot: {W}/ann_recall_qps.png")
