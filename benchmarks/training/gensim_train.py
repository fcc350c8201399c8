"""Train gensim word2vec with the benchmark's settings and write a word2vec text file.

usage: gensim_train.py CORPUS OUT.vec THREADS
Prints one line: name=gensim-word2vec-sg threads=T seconds=S (the time of train() only).
"""
import sys, time, logging
from gensim.models import Word2Vec

corpus, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
logging.basicConfig(level=logging.WARNING)
model = Word2Vec(vector_size=100, window=5, negative=5, min_count=5, sg=1, sample=1e-3,
                 workers=threads, epochs=5, seed=1)
model.build_vocab(corpus_file=corpus)
start = time.time()
model.train(corpus_file=corpus, total_examples=model.corpus_count,
            total_words=model.corpus_total_words, epochs=5)
seconds = time.time() - start
model.wv.save_word2vec_format(out)
print(f"name=gensim-word2vec-sg threads={threads} seconds={seconds:.2f}")
