#!/usr/bin/python3
"""Straightforward numpy implementations of the same models, for speed ratios in benchmarks/kg/run.sh.

  1-N:         DistMult and ComplEx, reciprocal relations, 1-N softmax cross-entropy, N3, Adagrad (Lacroix et al. 2018)
  transe-ns:   TransE (L2), margin loss over k uniform negatives per positive, row-sparse Adam
  rotate-ns:   RotatE, self-adversarial negative sampling (k per positive, uniform corruption), row-sparse Adam
  eval:        filtered ranking of valid triples (realistic ties): DistMult/ComplEx one matmul per slice,
               TransE/RotatE one broadcast distance per query

Prints one JSON object: triples_per_second (training) and queries_per_second (evaluation).
Reads the same head<TAB>relation<TAB>tail files as `embedsharp kg train`.
"""
import argparse, itertools, json, sys, time
import numpy as np


def read(path, ent, rel, add):
    out = []
    with open(path) as f:
        for line in f:
            h, r, t = line.rstrip("\n").split("\t")
            for name, table in ((h, ent), (t, ent)):
                if name not in table:
                    if not add:
                        raise SystemExit(f"{path}: unknown entity {name}")
                    table[name] = len(table)
            if r not in rel:
                rel[r] = len(rel)
            out.append((ent[h], rel[r], ent[t]))
    return np.array(out, dtype=np.int64)


def one_to_n(model, train, n, nr, d, batch, lr, reg, seconds, rng):
    w = 2 * d if model == "complex" else d
    E = (rng.standard_normal((n, w)) * 1e-3).astype(np.float32)
    R = (rng.standard_normal((2 * nr, w)) * 1e-3).astype(np.float32)
    gE = np.zeros_like(E); gR = np.zeros_like(R)
    q = np.concatenate([train, np.stack([train[:, 2], train[:, 1] + nr, train[:, 0]], 1)])
    rng.shuffle(q)
    done, start = 0, time.perf_counter()
    for b0 in itertools.cycle(range(0, len(q), batch)):  # epochs repeat until the time budget is spent
        x = q[b0:b0 + batch]; B = len(x)
        a, r, t = E[x[:, 0]], R[x[:, 1]], E[x[:, 2]]
        if model == "complex":
            ar, ai, rr, ri = a[:, :d], a[:, d:], r[:, :d], r[:, d:]
            Q = np.concatenate([ar * rr - ai * ri, ar * ri + ai * rr], 1)
        else:
            Q = a * r
        S = Q @ E.T
        S -= S.max(1, keepdims=True)
        P = np.exp(S); P /= P.sum(1, keepdims=True)
        P[np.arange(B), x[:, 2]] -= 1; P /= B
        dQ = P @ E
        dE = P.T @ Q
        if model == "complex":
            qr, qi = dQ[:, :d], dQ[:, d:]
            da = np.concatenate([qr * rr + qi * ri, -qr * ri + qi * rr], 1)
            dr = np.concatenate([qr * ar + qi * ai, -qr * ai + qi * ar], 1)
        else:
            da, dr = dQ * r, dQ * a
        def n3(v):
            if model != "complex":
                return 3 * reg / B * np.abs(v) * v
            m = np.sqrt(v[:, :d] ** 2 + v[:, d:] ** 2)
            return 3 * reg / B * np.concatenate([m * v[:, :d], m * v[:, d:]], 1)
        np.add.at(dE, x[:, 0], da + n3(a))
        np.add.at(dE, x[:, 2], n3(t))
        dR = np.zeros_like(R)
        np.add.at(dR, x[:, 1], dr + n3(r))
        for W, G, acc in ((E, dE, gE), (R, dR, gR)):
            acc += G * G
            W -= lr * G / (np.sqrt(acc) + 1e-10)
        done += B
        if time.perf_counter() - start > seconds:
            break
    return done / 2, time.perf_counter() - start, E, R


def rotate_ns(train, n, nr, d, batch, k, lr, gamma, alpha, seconds, rng):
    bound = (gamma + 2) / d
    E = rng.uniform(-bound, bound, (n, 2 * d)).astype(np.float32)
    R = rng.uniform(-np.pi, np.pi, (nr, d)).astype(np.float32)
    state = {id(E): (np.zeros_like(E), np.zeros_like(E)), id(R): (np.zeros_like(R), np.zeros_like(R))}
    tri = train.copy(); rng.shuffle(tri)
    done, step, start = 0, 0, time.perf_counter()
    for b0 in itertools.cycle(range(0, len(tri), batch)):  # epochs repeat until the time budget is spent
        x = tri[b0:b0 + batch]; B = len(x); step += 1
        head = rng.random(B) < 0.5
        anchor = np.where(head, x[:, 2], x[:, 0]); target = np.where(head, x[:, 0], x[:, 2])
        neg = rng.integers(0, n, (B, k))
        a = E[anchor]; th = R[x[:, 1]]
        s = np.sin(th) * np.where(head, -1, 1)[:, None]; c = np.cos(th)
        ar, ai = a[:, :d], a[:, d:]
        qr, qi = ar * c - ai * s, ar * s + ai * c
        cand = np.concatenate([E[target][:, None, :], E[neg]], 1)          # B × (1+k) × 2d
        dr_, di_ = qr[:, None, :] - cand[:, :, :d], qi[:, None, :] - cand[:, :, d:]
        m = np.maximum(np.sqrt(dr_ ** 2 + di_ ** 2), 1e-30)
        score = gamma - m.sum(2)
        pos, negs = score[:, 0], score[:, 1:]
        w = np.exp(alpha * (negs - negs.max(1, keepdims=True))); w /= w.sum(1, keepdims=True)
        sig = lambda z: 1 / (1 + np.exp(-z))
        g = np.concatenate([(-0.5 * sig(-pos))[:, None], 0.5 * w * sig(negs)], 1) / B   # dL/dscore
        ur, ui = dr_ / m, di_ / m                                                        # d dist / d q
        gqr = -(g[:, :, None] * ur).sum(1); gqi = -(g[:, :, None] * ui).sum(1)
        gcand = np.concatenate([g[:, :, None] * ur, g[:, :, None] * ui], 2)
        ga = np.concatenate([gqr * c + gqi * s, -gqr * s + gqi * c], 1)
        gth = (-gqr * qi + gqi * qr) * np.where(head, -1, 1)[:, None]
        rowsE = np.concatenate([anchor, target, neg.ravel()])
        gradE = np.concatenate([ga, gcand[:, 0], gcand[:, 1:].reshape(-1, 2 * d)])
        for W, rows, G in ((E, rowsE, gradE), (R, x[:, 1], gth)):
            u, inv = np.unique(rows, return_inverse=True)
            acc = np.zeros((len(u), W.shape[1]), np.float32); np.add.at(acc, inv, G)
            m1, m2 = state[id(W)]
            m1[u] = 0.9 * m1[u] + 0.1 * acc; m2[u] = 0.999 * m2[u] + 0.001 * acc * acc
            W[u] -= lr * (m1[u] / (1 - 0.9 ** step)) / (np.sqrt(m2[u] / (1 - 0.999 ** step)) + 1e-8)
        done += B
        if time.perf_counter() - start > seconds:
            break
    return done, time.perf_counter() - start, E, R


def transe_ns(train, n, nr, d, batch, k, lr, margin, seconds, rng):
    bound = 6 / np.sqrt(d)
    E = rng.uniform(-bound, bound, (n, d)).astype(np.float32)
    R = rng.uniform(-bound, bound, (nr, d)).astype(np.float32)
    state = {id(E): (np.zeros_like(E), np.zeros_like(E)), id(R): (np.zeros_like(R), np.zeros_like(R))}
    tri = train.copy(); rng.shuffle(tri)
    done, step, start = 0, 0, time.perf_counter()
    for b0 in itertools.cycle(range(0, len(tri), batch)):  # epochs repeat until the time budget is spent
        x = tri[b0:b0 + batch]; B = len(x); step += 1
        head = rng.random(B) < 0.5
        anchor = np.where(head, x[:, 2], x[:, 0]); target = np.where(head, x[:, 0], x[:, 2])
        neg = rng.integers(0, n, (B, k))
        sign = np.where(head, -1, 1)[:, None].astype(np.float32)
        q = E[anchor] + sign * R[x[:, 1]]                                    # h + r, or t − r for a head query
        cand = np.concatenate([E[target][:, None, :], E[neg]], 1)           # B × (1+k) × d
        diff = q[:, None, :] - cand
        dist = np.maximum(np.sqrt((diff ** 2).sum(2)), 1e-30)
        pos, negs = -dist[:, 0], -dist[:, 1:]
        active = ((margin - pos[:, None] + negs) > 0) / k
        g = np.concatenate([-active.sum(1)[:, None], active], 1) / B         # dL/dscore, score = −distance
        u = diff / dist[:, :, None]
        gq = -(g[:, :, None] * u).sum(1)
        gcand = g[:, :, None] * u
        rowsE = np.concatenate([anchor, target, neg.ravel()])
        gradE = np.concatenate([gq, gcand[:, 0], gcand[:, 1:].reshape(-1, d)])
        for W, rows, G in ((E, rowsE, gradE), (R, x[:, 1], gq * sign)):
            uq, inv = np.unique(rows, return_inverse=True)
            acc = np.zeros((len(uq), W.shape[1]), np.float32); np.add.at(acc, inv, G)
            m1, m2 = state[id(W)]
            m1[uq] = 0.9 * m1[uq] + 0.1 * acc; m2[uq] = 0.999 * m2[uq] + 0.001 * acc * acc
            W[uq] -= lr * (m1[uq] / (1 - 0.9 ** step)) / (np.sqrt(m2[uq] / (1 - 0.999 ** step)) + 1e-8)
        done += B
        if time.perf_counter() - start > seconds:
            break
    return done, time.perf_counter() - start, E, R


def evaluate(model, E, R, nr, d, triples, known, gamma, slice_size, seconds):
    """Whole filtered passes over the valid split, repeated until the time budget is spent."""
    n = E.shape[0]; start = time.perf_counter(); done = 0; rr = 0.0
    for side in itertools.cycle((0, 1)):
        for b0 in range(0, len(triples), slice_size):
            x = triples[b0:b0 + slice_size]
            anchor, target = (x[:, 0], x[:, 2]) if side == 0 else (x[:, 2], x[:, 0])
            a = E[anchor]
            if model == "complex":
                r = R[x[:, 1] + (nr if side else 0)]
                Q = np.concatenate([a[:, :d] * r[:, :d] - a[:, d:] * r[:, d:], a[:, :d] * r[:, d:] + a[:, d:] * r[:, :d]], 1)
                S = Q @ E.T
            elif model == "distmult":
                S = (a * R[x[:, 1] + (nr if side else 0)]) @ E.T
            elif model == "transe":
                Q = a + R[x[:, 1]] * (-1 if side else 1)
                S = np.stack([-np.sqrt(((Q[i] - E) ** 2).sum(1)) for i in range(len(x))])
            else:
                th = R[x[:, 1]]; s = np.sin(th) * (-1 if side else 1); c = np.cos(th)
                qr, qi = a[:, :d] * c - a[:, d:] * s, a[:, :d] * s + a[:, d:] * c
                S = np.stack([gamma - np.sqrt((qr[i] - E[:, :d]) ** 2 + (qi[i] - E[:, d:]) ** 2).sum(1) for i in range(len(x))])
            for i, t in enumerate(target):
                s = S[i]; truth = s[t]
                greater = (s > truth).sum(); ge = (s >= truth).sum() - 1
                for f in known.get((side, int(anchor[i]), int(x[i, 1])), ()):
                    if f != t:
                        greater -= s[f] > truth; ge -= s[f] >= truth
                rr += 1 / (0.5 * (greater + 1 + ge + 1))
            done += len(x)
            if time.perf_counter() - start > seconds:
                return done, time.perf_counter() - start, rr / done


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir"); p.add_argument("--model", choices=["transe", "distmult", "complex", "rotate"], required=True)
    p.add_argument("--dims", type=int, default=100); p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--negatives", type=int, default=64); p.add_argument("--lr", type=float)
    p.add_argument("--seconds", type=float, default=30, help="time budget of the training measurement")
    p.add_argument("--eval-seconds", type=float, default=30)
    a = p.parse_args()
    rng = np.random.default_rng(1)
    ent, rel = {}, {}
    train = read(f"{a.dir}/train.txt", ent, rel, True)
    valid = read(f"{a.dir}/valid.txt", ent, rel, True)
    n, nr = len(ent), len(rel)
    if a.model in ("distmult", "complex"):
        done, secs, E, R = one_to_n(a.model, train, n, nr, a.dims, a.batch_size, a.lr or 0.1, 0.01, a.seconds, rng)
    elif a.model == "transe":
        done, secs, E, R = transe_ns(train, n, nr, a.dims, a.batch_size, a.negatives, a.lr or 1e-3, 1.0, a.seconds, rng)
    else:
        done, secs, E, R = rotate_ns(train, n, nr, a.dims, a.batch_size, a.negatives, a.lr or 1e-3, 6.0, 1.0, a.seconds, rng)
    known = {}
    for h, r, t in np.concatenate([train, valid]):
        known.setdefault((0, int(h), int(r)), []).append(int(t))
        known.setdefault((1, int(t), int(r)), []).append(int(h))
    q, esecs, mrr = evaluate(a.model, E, R, nr, a.dims, valid, known, 6.0, 256, a.eval_seconds)
    print(json.dumps({"peer": "numpy " + np.__version__, "model": a.model, "triples": int(done), "train_seconds": secs,
                      "triples_per_second": done / secs, "queries": int(q), "eval_seconds": esecs, "queries_per_second": q / esecs}))


if __name__ == "__main__":
    main()
