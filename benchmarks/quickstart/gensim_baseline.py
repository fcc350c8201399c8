"""gensim word2vec with `embedsharp quickstart`'s settings on data/quickstart, scored by gensim.

usage: /usr/bin/python3 benchmarks/quickstart/gensim_baseline.py [SEEDS...]   (Debian: python3-gensim)
Run from the repository root. For each seed (default 1 2 3) prints one line: seed, training
seconds, analogy accuracy with questions covered of all, WS-353 Spearman rho with pairs covered
of all; then the means, which QuickstartReport.Gensim ships as the quick start's baseline row.
"""
import gzip, logging, os, shutil, sys, tempfile, time
from gensim.models import Word2Vec

data = os.path.join("data", "quickstart")
seeds = [int(s) for s in sys.argv[1:]] or [1, 2, 3]
logging.basicConfig(level=logging.ERROR)
tmp = tempfile.mkdtemp()
corpus = os.path.join(tmp, "corpus.txt")
with gzip.open(os.path.join(data, "corpus.txt.gz"), "rb") as src, open(corpus, "wb") as dst:
    shutil.copyfileobj(src, dst)
rows = []
for seed in seeds:
    # The quick start's settings: skip-gram, 128 dims, window 5, 5 negatives, min count 5,
    # sample 1e-3, 5 epochs, 2 threads (corpus_file, gensim's fastest mode).
    model = Word2Vec(vector_size=128, window=5, negative=5, min_count=5, sg=1, sample=1e-3,
                     workers=2, epochs=5, seed=seed)
    model.build_vocab(corpus_file=corpus)
    start = time.time()
    model.train(corpus_file=corpus, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=5)
    seconds = time.time() - start
    with open(os.path.join(data, "questions-words.txt")) as f:
        n_questions = sum(1 for line in f if line.strip() and not line.startswith(":"))
    score, sections = model.wv.evaluate_word_analogies(os.path.join(data, "questions-words.txt"))
    covered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    (_, _), (rho, p), oov = model.wv.evaluate_word_pairs(os.path.join(data, "wordsim353.tsv"))
    with open(os.path.join(data, "wordsim353.tsv")) as f:
        n_pairs = sum(1 for line in f if line.strip() and not line.startswith("#"))
    pairs_covered = round(n_pairs * (1 - oov / 100))
    rows.append((score, rho))
    print(f"seed={seed} seconds={seconds:.1f} words={len(model.wv)} analogy={score:.4f} ({covered} of {n_questions}) "
          f"ws353_rho={rho:.4f} p={p:.2f} ({pairs_covered} of {n_pairs})", flush=True)
shutil.rmtree(tmp)
print(f"mean analogy={sum(r[0] for r in rows) / len(rows):.4f} mean ws353_rho={sum(r[1] for r in rows) / len(rows):.4f}")
