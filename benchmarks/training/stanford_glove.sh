#!/usr/bin/env bash
# The reference GloVe (Stanford's C tools) on a corpus, for run.sh's optional `stanford-glove` system.
# Builds vocab_count, cooccur, shuffle and glove from a source checkout (nothing of it is kept in this
# repository), runs them with settings that match GloveOptions, and writes word2vec text vectors (header
# line added, Stanford's extra <unk> line dropped) that `EmbedSharp.TrainingBench eval` reads.
#
# Usage: bash stanford_glove.sh GLOVE_SRC CORPUS OUT.vec THREADS WORKDIR [EPOCHS [WINDOW [XMAX]]]
# Prints seconds=<glove step wall time> (the least-squares fit only, like our trainer's figure).
set -euo pipefail
src=$1 corpus=$2 out=$3 threads=$4 work=$5 epochs=${6:-50} window=${7:-15} xmax=${8:-100}
mkdir -p "$work"
work=$(cd "$work" && pwd) corpus=$(realpath "$corpus") out=$(realpath -m "$out") src=$(realpath "$src")
cd "$work"   # cooccur and shuffle write their temporary files to the current directory
build=$work/build
mkdir -p "$build"
if [ ! -x "$build/glove" ]; then
  mkdir -p "$build/src-copy"
  cp -r "$src/src" "$src/Makefile" "$build/src-copy/"
  make -C "$build/src-copy" >/dev/null
  cp "$build/src-copy"/build/{vocab_count,cooccur,shuffle,glove} "$build/"
fi
"$build/vocab_count" -min-count 5 -verbose 0 < "$corpus" > "$work/vocab.txt"
"$build/cooccur" -memory 4.0 -vocab-file "$work/vocab.txt" -verbose 0 -window-size "$window" -symmetric 1 -distance-weighting 1 \
  < "$corpus" > "$work/cooc.bin"
"$build/shuffle" -memory 4.0 -verbose 0 -seed 1 < "$work/cooc.bin" > "$work/cooc.shuf.bin"
rm -f "$work/cooc.bin"
start=$(date +%s.%N)
"$build/glove" -input-file "$work/cooc.shuf.bin" -vocab-file "$work/vocab.txt" -save-file "$work/vectors" -threads "$threads" \
  -vector-size 100 -iter "$epochs" -x-max "$xmax" -alpha 0.75 -eta 0.05 -binary 0 -model 2 -write-header 0 -seed 1 -verbose 0 >&2
end=$(date +%s.%N)
rm -f "$work/cooc.shuf.bin"
# -model 2 writes W + W̃ per vocabulary word, then an averaged <unk> row; our reader wants a "count dims" header.
grep -v '^<unk> ' "$work/vectors.txt" > "$work/vectors.body"
{ echo "$(wc -l < "$work/vectors.body") 100"; cat "$work/vectors.body"; } > "$out"
rm -f "$work/vectors.body" "$work/vectors.txt"
awk -v s="$start" -v e="$end" 'BEGIN{printf "name=stanford-glove seconds=%.2f\n", e-s}'
