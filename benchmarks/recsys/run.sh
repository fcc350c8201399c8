#!/usr/bin/env bash
# Recommender quality and speed on MovieLens-100K, each speed figure beside its peer in the same run.
# Usage: flock /tmp/embedsharp-bench.lock benchmarks/recsys/run.sh [DATA_DIR]   (default ../shared/data/recsys/ml-100k)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${1:-$root/../shared/data/recsys/ml-100k}"
if [ ! -f "$data/u.data" ]; then echo "skipped: MovieLens-100K not found at $data"; exit 0; fi
dotnet build -c Release "$here/EmbedSharp.RecsysBench" -v q -nologo >/dev/null
bench="$here/EmbedSharp.RecsysBench/bin/Release/net10.0/EmbedSharp.RecsysBench"
py=/usr/bin/python3
echo "# load before: $(uptime)"
# Settings were chosen on validation splits carved from the training data only (add val=1 to a ua or
# loo line: ua holds out min(10, n/2) of each user's ua.base ratings, loo each user's second-to-last
# interaction); the lines below then report the test data once.
mf="kind=MatrixFactorization factors=500 epochs=80 lr=0.01 decay=0.97 reg=0.05 regb=0.05 init=0.01"
echo "## ua split (ua.base -> ua.test), RMSE"
"$bench" "$data" ua $mf
"$bench" "$data" ua kind=SvdPlusPlus factors=50 epochs=40 lr=0.007 decay=0.97 reg=0.08 init=0.05
"$bench" "$data" ua kind=ExplicitAls factors=30 epochs=12 reg=0.1 regb=0.01
"$bench" "$data" ua kind=KnnBaseline k=40 shrink=100
bmf="kind=BayesianMf init=0.1 factors=10 epochs=400 burnin=50 samples=100"
"$bench" "$data" ua $bmf
bmfii="kind=BayesianMf init=0.1 factors=20 epochs=400 burnin=50 samples=100 implicit_fb=1 side=1 item_implicit=1"
"$bench" "$data" ua $bmfii
blend="mf_factors=500 mf_epochs=80 mf_regb=0.05 implicit=1"
# The blend's members: searched on validation only (ua.test not read), lowest 5-fold-CV validation RMSE, first on ties.
"$bench" "$data" blend $blend "sets=bmfii;bmfii+svdpp+knn;bmfii+bmf+svdpp+knn+ials;bmfii+bmf+bmfside+svdpp+knn+ials;bmfii+bmfside+mf+svdpp+knn+ials;bmfii+bmf+bmfside+bmfplain+mf+svdpp+als+knn+ials"
"$bench" "$data" blend $blend only=bmfii,bmf,bmfside,svdpp,knn,ials
echo "## the same, with ua.test's (user, item) pairs, not their ratings, as implicit feedback (the Netflix-prize qualifying-set habit; labelled separately)"
"$bench" "$data" ua $bmfii qual=1
"$bench" "$data" blend $blend only=bmfii,bmf,bmfside,svdpp,knn,ials qual=1
echo "## 5-fold seeded random split of u.data, RMSE"
"$bench" "$data" kfold $mf
"$bench" "$data" kfold $bmf
"$bench" "$data" kfold kind=SvdPlusPlus factors=50 epochs=40 lr=0.007 decay=0.97 reg=0.08 init=0.05
echo "## leave-one-out (latest interaction per user) vs 99 sampled negatives"
"$bench" "$data" loo kind=Bpr factors=64 epochs=60 lr=0.1 reg=0.02 decay=0.96
"$bench" "$data" loo kind=ImplicitAls factors=16 epochs=15 reg=1 alpha=5
"$bench" "$data" loo kind=ImplicitAls factors=24 epochs=12 alpha=1 reg=3 boost=50 halflife=5
"$bench" "$data" loo kind=Bpr factors=64 epochs=60 lr=0.05 reg=0.02 decay=0.96 boost=20 halflife=5
echo "## MF SGD epoch time, k=100, u.data: ours vs numpy (same update)"
"$bench" "$data" epoch epochs=40 factors=100
"$py" "$here/mf_numpy.py" "$data" 2 100
echo "## MLP forward+backward, batch 512, 256-512-256-1: ours vs PyTorch, 1 and 2 threads"
for t in 1 2; do
  "$bench" "$data" mlp batch=512 sizes=256,512,256,1 reps=50 threads=$t
  "$py" "$here/mlp_torch.py" 512 256,512,256,1 50 $t
done
echo "## tabular: entity embeddings vs one-hot + the same MLP (200-100), joined ML-100K CSV in a temp folder"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$here/make_tabular.py" "$data" "$tmp/ml"
"$bench" "$data" tabular csv="$tmp/ml" epochs=5 export="$tmp/maps"
dotnet build -c Release "$root/src/EmbedSharp.Cli" -v q -nologo >/dev/null
cli="$root/src/EmbedSharp.Cli/bin/Release/net10.0/EmbedSharp.Cli"
"$cli" plot "$tmp/maps/rating-occupation.vec" --top 22 --out "$here/occupation-map.png"
"$cli" neighbors "$tmp/maps/rating-occupation.vec" programmer --top 4
"$cli" neighbors "$tmp/maps/rating-occupation.vec" retired --top 4
echo "## DLRM (fixed epochs, and the library's early-stopping DlrmRecommender) vs logistic regression vs popularity, click = rating >= 4, seeded 80/20 split, AUC"
"$bench" "$data" dlrm epochs=2
"$bench" "$data" dlrm epochs=5
echo "## two-tower (log-Q on / off) vs BPR vs popularity, leave-one-out vs 99 sampled negatives"
"$bench" "$data" twotower epochs=10 logq=1
"$bench" "$data" twotower epochs=10 logq=0
echo "# load after: $(uptime)"
