#!/usr/bin/env bash
# Training benchmark: ours vs Debian's fasttext and python3-gensim, identical settings
# (dim 100, window 5, negative 5, min count 5, 5 epochs), 1 and 2 threads, all evaluated with
# EmbedSharp's KeyedVectors.EvaluateWordAnalogies / EvaluateWordPairs.
#
# Usage: bash benchmarks/training/run.sh            (from the repository root)
# Env:   DATA     shared data folder (default ../shared/data next to the repository)
#        WORK     scratch folder for the corpus, vectors and logs (default /tmp/embedsharp-training-bench)
#        THREADS  thread counts to run (default "1 2")
#        SYSTEMS  which runs (default "ours-w2v gensim fasttext-w2v ours-ft-w2v ours-fasttext fasttext glove glove15 glove-best stanford-glove")
#        GLOVE_SRC  a checkout of Stanford's GloVe C tools (github.com/stanfordnlp/GloVe) for the optional
#                 `stanford-glove` system (window 15, x_max 100, 50 iterations); skipped when unset
#        SOURCES  passed to make_corpus.sh (default: all six sources, 7.8M tokens)
# Results: $WORK/results.tsv (one row per run) and the table in benchmarks/training/README.md.
set -euo pipefail
export LC_ALL=C.UTF-8
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
WORK=${WORK:-/tmp/embedsharp-training-bench}
THREADS=${THREADS:-"1 2"}
SYSTEMS=${SYSTEMS:-"ours-w2v gensim fasttext-w2v ours-ft-w2v ours-fasttext fasttext glove glove15 glove-best stanford-glove"}
PY=/usr/bin/python3   # Debian's python, where python3-gensim lives
mkdir -p "$WORK"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; exit 1; fi; }

# 1. Tools: Debian's fasttext and python3-gensim.
missing=""
command -v fasttext >/dev/null || missing="$missing fasttext"
$PY -c "import gensim" 2>/dev/null || missing="$missing python3-gensim"
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  as_root apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    as_root apt-get update >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }
fi

# 2. Corpus (deterministic; rebuilt only when missing).
CORPUS=$WORK/corpus/corpus.txt
[ -s "$CORPUS" ] || bash "$DATA/make_corpus.sh" "$WORK/corpus" >&2
TOKENS=$(awk -F'\t' '$1=="TOTAL"{print $3}' "$WORK/corpus/STATS")

# 3. Our console.
dotnet build "$ROOT/benchmarks/training/EmbedSharp.TrainingBench" -c Release -o "$WORK/bin" >/dev/null
BENCH="$WORK/bin/EmbedSharp.TrainingBench"
RESULTS=$WORK/results.tsv
[ -f "$RESULTS" ] || printf 'system\tthreads\ttrain_seconds\twords_per_sec_per_thread\tcpu_seconds\tload_before\tanalogy\tcovered\tsemantic\tsyntactic\tws353\tmen\trw\tmturk771\trg65\n' > "$RESULTS"

# run NAME THREADS VEC -- command...: times the command, evaluates VEC, appends a row.
run() {
  local name=$1 threads=$2 vec=$3; shift 4
  local log=$WORK/$name-$threads.log load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== $name threads=$threads (load $load)" >&2
  /usr/bin/time -f "cpu_seconds=%U+%S wall=%e" -o "$log.time" "$@" > "$log" 2> "$log.err"
  local secs wps cpu
  if [ "${name#fasttext}" != "$name" ]; then
    # fastText's own figure: tokens (with </s>) per second per thread over its training loop.
    wps=$(tr '\r' '\n' < "$log.err" | grep -a 'Progress: 100.0%' | tail -1 | sed 's/.*words\/sec\/thread: *\([0-9]*\).*/\1/')
    secs=$(awk -v t="$TOKENS" -v w="$wps" -v n="$threads" 'BEGIN{printf "%.1f", 5*t/w/n}')
  else
    secs=$(grep -o 'seconds=[0-9.]*' "$log" | head -1 | cut -d= -f2)
    wps=$(awk -v t="$TOKENS" -v s="$secs" -v n="$threads" 'BEGIN{printf "%.0f", 5*t/s/n}')
  fi
  cpu=$(sed 's/cpu_seconds=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/' "$log.time" | awk '{printf "%.1f", $1+$2}')
  "$BENCH" eval "$vec" "$DATA/analogy/questions-words.txt" "$DATA/similarity" > "$log.eval"
  local a cov sem syn
  a=$(grep -o 'analogy=[0-9.]*' "$log.eval" | cut -d= -f2); cov=$(grep -o 'covered=[0-9]*' "$log.eval" | cut -d= -f2)
  sem=$(grep -o 'semantic=[0-9.]*' "$log.eval" | cut -d= -f2); syn=$(grep -o 'syntactic=[0-9.]*' "$log.eval" | cut -d= -f2)
  sp() { grep "file=$1 " "$log.eval" | grep -o 'spearman=[-0-9.]*' | cut -d= -f2; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$threads" "$secs" "$wps" "$cpu" "$load" \
    "$a" "$cov" "$sem" "$syn" "$(sp wordsim353.tsv)" "$(sp EN-MEN-TR-3k.txt)" "$(sp EN-RW-STANFORD.txt)" "$(sp EN-MTurk-771.txt)" "$(sp EN-RG-65.txt)" >> "$RESULTS"
  tail -1 "$RESULTS" >&2
}

FT_COMMON="-dim 100 -ws 5 -epoch 5 -minCount 5 -neg 5"
# The best GloVe setting found on this corpus (benchmarks/training/README.md): EPOCHS WINDOW XMAX [key=value...].
GLOVE_BEST=${GLOVE_BEST:-"50 15 10 sample=1e-3"}
for sys in $SYSTEMS; do
  for t in $THREADS; do
    case $sys in
      ours-w2v)      run ours-word2vec-sg "$t" "$WORK/ours-w2v-$t.vec" -- "$BENCH" w2v "$CORPUS" "$WORK/ours-w2v-$t.vec" "$t" sg ;;
      gensim)        run gensim-word2vec-sg "$t" "$WORK/gensim-$t.vec" -- $PY "$ROOT/benchmarks/training/gensim_train.py" "$CORPUS" "$WORK/gensim-$t.vec" "$t" ;;
      fasttext-w2v)  run fasttext-minn0-maxn0 "$t" "$WORK/ft-w2v-$t.vec" -- fasttext skipgram -input "$CORPUS" -output "$WORK/ft-w2v-$t" $FT_COMMON -minn 0 -maxn 0 -thread "$t" ;;
      ours-ft-w2v)   run ours-fasttext-minn0-maxn0 "$t" "$WORK/ours-ft-w2v-$t.vec" -- "$BENCH" fasttext "$CORPUS" "$WORK/ours-ft-w2v-$t.vec" "$t" 0 0 ;;
      ours-fasttext) run ours-fasttext-sg "$t" "$WORK/ours-ft-$t.vec" -- "$BENCH" fasttext "$CORPUS" "$WORK/ours-ft-$t.vec" "$t" ;;
      fasttext)      run fasttext-sg "$t" "$WORK/ft-$t.vec" -- fasttext skipgram -input "$CORPUS" -output "$WORK/ft-$t" $FT_COMMON -thread "$t" ;;
      glove)         run ours-glove "$t" "$WORK/ours-glove-$t.vec" -- "$BENCH" glove "$CORPUS" "$WORK/ours-glove-$t.vec" "$t" "$WORK/glove-shards" ;;
      glove15)       run ours-glove-w15-e50 "$t" "$WORK/ours-glove15-$t.vec" -- "$BENCH" glove "$CORPUS" "$WORK/ours-glove15-$t.vec" "$t" "$WORK/glove-shards" 50 15 ;;
      glove-best)    run ours-glove-best "$t" "$WORK/ours-glove-best-$t.vec" -- "$BENCH" glove "$CORPUS" "$WORK/ours-glove-best-$t.vec" "$t" "$WORK/glove-shards" $GLOVE_BEST ;;
      stanford-glove)
        if [ -z "${GLOVE_SRC:-}" ]; then echo "== stanford-glove skipped (GLOVE_SRC unset)" >&2; continue; fi
        run stanford-glove-w15-e50 "$t" "$WORK/stanford-glove-$t.vec" -- bash "$ROOT/benchmarks/training/stanford_glove.sh" "$GLOVE_SRC" "$CORPUS" "$WORK/stanford-glove-$t.vec" "$t" "$WORK/stanford-glove" 50 15 100 ;;
      *) echo "unknown system $sys" >&2; exit 2 ;;
    esac
    rm -f "$WORK"/ft-*.bin "$WORK"/ft-w2v-*.bin
  done
done

# 4. Our fastText model as a .bin that Debian's fasttext loads: train on the small Devil's Dictionary part,
# write the .bin, and compare `fasttext print-word-vectors` (in-vocabulary and OOV words) with our vectors.
if [ "${BIN_CHECK:-1}" = 1 ]; then
  "$BENCH" bin-check "$WORK/corpus/devil.txt" "$WORK/devil-ours.bin" | tee "$WORK/bin-check.log" >&2
fi

# 4. The results table, between the markers in README.md (the latest row of each system and thread count). words/CPU-s = 5 × corpus tokens / CPU seconds of
# the whole process (vocabulary, training, writing), the speed figure least disturbed by other load.
# GloVe passes over co-occurrence records, not words, so it has no words/s figures.
TABLE=$(awk -F'\t' -v tok="$TOKENS" 'NR==1{next} {w=$4; c=sprintf("%.0f", 5*tok/$5); if ($1 ~ /glove/) {w="–"; c="–"}
  printf "| %s | %s | %s | %s | %s | %s | %s | %.3f (%s) | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $1,$2,$3,w,$5,c,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15}' \
  <(head -1 "$RESULTS"; tail -n +2 "$RESULTS" | awk -F'\t' '{last[$1 FS $2]=$0} END{for (k in last) print last[k]}' | sort -t$'\t' -k1,1 -k2,2n))
README=$ROOT/benchmarks/training/README.md
if grep -q '<!-- results:begin -->' "$README"; then
  awk -v table="$TABLE" '
    /<!-- results:begin -->/ {print; print "| system | threads | train s | words/s/thread | CPU s | words/CPU-s | load | analogy (covered) | semantic | syntactic | WS-353 | MEN | RW | MTurk-771 | RG-65 |"; print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"; print table; skip=1; next}
    /<!-- results:end -->/ {skip=0}
    !skip {print}' "$README" > "$README.tmp" && mv "$README.tmp" "$README"
fi
echo "results: $RESULTS" >&2
