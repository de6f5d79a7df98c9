"""ALS (implicit) and EASE on a split exported by Flick, with the metrics
defined exactly as in flick_rec::eval: full catalogue (items in train or
test), train items excluded, K = 20, Recall@20 = hits / min(20, |test|),
binary NDCG@20, coverage = distinct recommended / catalogue."""
import sys, time
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

K = 20

def load(path):
    rows = [l.split() for l in open(path) if l.strip()]
    return [(int(u), int(i), int(r), int(t)) for u, i, r, t in rows if int(r) >= 4]

def metrics(scores, users, uidx, train_items, test_items, n_items):
    recall = ndcg = 0.0
    covered = set()
    for u in users:
        s = scores(uidx[u]).astype(np.float64).copy()
        s[list(train_items.get(u, ()))] = -np.inf
        top = np.argpartition(-s, K)[:K]
        top = top[np.lexsort((top, -s[top]))]
        rel = test_items[u]
        hits = [1 if t in rel else 0 for t in top]
        recall += sum(hits) / min(K, len(rel))
        dcg = sum(h / np.log2(p + 2) for p, h in enumerate(hits))
        idcg = sum(1 / np.log2(p + 2) for p in range(min(len(rel), K)))
        ndcg += dcg / idcg
        covered.update(top.tolist())
    n = len(users)
    return recall / n, ndcg / n, len(covered) / n_items

def main(train_path, test_path):
    train, test = load(train_path), load(test_path)
    items = sorted({i for _, i, _, _ in train + test})
    users_all = sorted({u for u, _, _, _ in train + test})
    iidx = {i: n for n, i in enumerate(items)}
    uidx = {u: n for n, u in enumerate(users_all)}
    X = sp.csr_matrix(
        (np.ones(len(train), dtype=np.float32),
         ([uidx[u] for u, _, _, _ in train], [iidx[i] for _, i, _, _ in train])),
        shape=(len(users_all), len(items)))
    train_items, test_items = {}, {}
    for u, i, _, _ in train:
        train_items.setdefault(u, set()).add(iidx[i])
    for u, i, _, _ in test:
        test_items.setdefault(u, set()).add(iidx[i])
    users = sorted(test_items)
    rows = []
    with threadpool_limits(limits=1):
        import implicit
        from implicit.als import AlternatingLeastSquares
        model = AlternatingLeastSquares(factors=64, random_state=42)
        t = time.perf_counter()
        model.fit(X, show_progress=False)
        fit = time.perf_counter() - t
        uf = np.asarray(model.user_factors)
        itf = np.asarray(model.item_factors)
        r = metrics(lambda u: itf @ uf[u], users, uidx, train_items, test_items, len(items))
        rows.append((f"ALS (implicit {implicit.__version__}, 64 factors)", *r, fit))

        t = time.perf_counter()
        G = (X.T @ X).toarray().astype(np.float64)
        G[np.diag_indices_from(G)] += 500.0
        P = np.linalg.inv(G)
        B = -P / np.diag(P)
        B[np.diag_indices_from(B)] = 0.0
        fit = time.perf_counter() - t
        Xd = X.toarray()
        r = metrics(lambda u: Xd[u] @ B, users, uidx, train_items, test_items, len(items))
        rows.append(("EASE (lambda 500)", *r, fit))
    for name, rec, nd, cov, fit in rows:
        print(f"| {name} | {rec:.4f} | {nd:.4f} | {cov:.4f} | {fit:.3f} |")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
