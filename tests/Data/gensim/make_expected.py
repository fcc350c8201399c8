#!/usr/bin/env python3
"""Writes expected.json: what gensim (Debian python3-gensim) reads from and reports on the shared
embedding fixtures. Run with the system Python from the repository root:

    /usr/bin/python3 tests/Data/gensim/make_expected.py ../shared/data > tests/Data/gensim/expected.json
"""
import hashlib
import json
import logging
import os
import sys

import gensim
import numpy as np
from gensim.models import KeyedVectors

logging.disable(logging.CRITICAL)
data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"

FIXTURES = [
    ("word2vec/npm-word2vec-hamlet-vectors.txt", dict(binary=False)),
    ("word2vec/euclidean_vectors.bin", dict(binary=True)),
    ("glove/test_glove.txt", dict(binary=False, no_header=True)),
    ("fasttext/wiki-news-300d-1M.top999.noheader.vec", dict(binary=False, no_header=True)),
    ("fasttext/crime-and-punishment.vec", dict(binary=False)),
    ("fasttext/toy-model.vec", dict(binary=False)),
]
PAIRS = sorted(f for f in os.listdir(os.path.join(data, "similarity")))

out = {"gensim": gensim.__version__, "numpy": np.__version__, "fixtures": []}
for rel, kwargs in FIXTURES:
    kv = KeyedVectors.load_word2vec_format(os.path.join(data, "embeddings", rel), **kwargs)
    vec = np.ascontiguousarray(kv.vectors, dtype="<f4")
    entry = {
        "file": rel,
        "numEmbeddings": int(vec.shape[0]),
        "dims": int(vec.shape[1]),
        "vectorsSha256": hashlib.sha256(vec.tobytes()).hexdigest(),
        "wordsSha256": hashlib.sha256("\n".join(kv.index_to_key).encode("utf-8")).hexdigest(),
        "firstWord": kv.index_to_key[0],
        "lastWord": kv.index_to_key[-1],
    }
    score, sections = kv.evaluate_word_analogies(os.path.join(data, "analogy", "questions-words.txt"))
    entry["analogies"] = {
        "score": score,
        "sections": [[s["section"], len(s["correct"]), len(s["incorrect"])] for s in sections],
    }
    pairs = {}
    for p in PAIRS:
        try:
            pearson, spearman, oov = kv.evaluate_word_pairs(os.path.join(data, "similarity", p))
            pairs[p] = {k: (None if v != v else v) for k, v in {  # NaN (n = 2) is written as null
                "pearson": float(pearson[0]), "pearsonP": float(pearson[1]),
                "spearman": float(spearman[0]), "spearmanP": float(spearman[1]), "oovRatio": float(oov)}.items()}
        except ValueError as e:  # no pair, or a single pair (SciPy needs two), in vocabulary
            pairs[p] = {"error": str(e).split(" in ")[0]}
    entry["pairs"] = pairs
    out["fixtures"].append(entry)
json.dump(out, sys.stdout, indent=1, sort_keys=True, allow_nan=False)
print()
