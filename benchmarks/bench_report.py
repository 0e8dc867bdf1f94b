"""Timings of the visual-analysis layer, each against its peer measured in the same run.

- t-SNE of 300 GloVe tokens: ts.tsne (one thread below 5000 points) vs scikit-learn's TSNE with
  its default thread count (the same algorithm and seed).
- Cosine graph of 200 words: ts.cosine_graph vs numpy float64 (normalise, A @ A.T on 200 rows,
  threshold) + networkx graph building.
- `tokenspace report` end to end (one run: it is the thing a user waits for).

    PYTHONPATH=python python benchmarks/bench_report.py [--runs 5] [--no-report]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import tokenspace as ts


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    g = ts.load("glove-6b-50d")
    out: dict[str, dict] = {}

    words = ts.select_tokens(g, contains="x", min_len=4, max_len=8, alphabetic=True, limit=300)
    X = g[words]
    from sklearn.manifold import TSNE

    def sk():
        TSNE(perplexity=5, random_state=0, init="pca", learning_rate="auto").fit_transform(X.astype(np.float64))

    t_ts = median_time(lambda: ts.tsne(X, perplexity=5, seed=0), args.runs)
    t_sk = median_time(sk, args.runs)
    out["tsne_300"] = {"tokenspace_s": t_ts, "sklearn_default_threads_s": t_sk, "speedup": t_sk / t_ts}
    print(f"t-SNE 300 pts   tokenspace {t_ts:.3f} s  sklearn default {t_sk:.3f} s  ratio {t_sk / t_ts:.2f}x")

    gw = [w for w in g.vocab[:2000] if w.isalpha()][:200]

    def peer_graph():
        import networkx as nx

        A = g[gw].astype(np.float64)
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        C = A @ A.T  # 200 x 200: small enough for numpy
        iu = np.triu_indices(len(gw), k=1)
        thr = np.median(C[iu]) + C[iu].std()
        G = nx.Graph()
        G.add_nodes_from(gw)
        keep = C[iu] > thr
        G.add_weighted_edges_from((gw[i], gw[j], C[i, j]) for i, j in zip(iu[0][keep], iu[1][keep]))
        return G

    t_g = median_time(lambda: ts.cosine_graph(g, gw), args.runs)
    t_gx = median_time(lambda: ts.cosine_graph(g, gw).to_networkx(), args.runs)
    t_peer = median_time(peer_graph, args.runs)
    out["cosine_graph_200"] = {"tokenspace_s": t_g, "tokenspace_to_networkx_s": t_gx,
                               "numpy_networkx_s": t_peer, "speedup_with_networkx": t_peer / t_gx}
    print(f"graph 200 words tokenspace {t_g * 1e3:.2f} ms (+networkx {t_gx * 1e3:.2f} ms)  "
          f"numpy+networkx {t_peer * 1e3:.2f} ms  ratio {t_peer / t_gx:.2f}x")

    if not args.no_report:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            res = ts.build_report(d, progress=False)
            total = time.perf_counter() - t
        out["report"] = {"total_s": total, "sections": {r.key: [r.status, r.seconds] for r in res.sections}}
        print(f"tokenspace report: {total:.1f} s")
        for r in res.sections:
            print(f"  {r.key:12} {r.status:8} {r.seconds:6.2f} s")

    path = Path(__file__).parent / "results" / "bench_report.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
