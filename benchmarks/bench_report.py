"""Timings of the visual-analysis layer, each against its peer measured in the same run.

- t-SNE of 300 GloVe tokens: ts.tsne (one thread below 5000 points) vs scikit-learn's TSNE with
  its default thread count (the same algorithm and seed).
- Cosine graph of 200 words: ts.cosine_graph vs numpy float64 (normalise, A @ A.T on 200 rows,
  threshold) + networkx graph building.
- `tokenspace report` end to end (one run: it is the thing a user waits for).

Medians of --runs runs, the libraries interleaved by ``_common.measure``.

    PYTHONPATH=python python benchmarks/bench_report.py [--runs 5] [--no-report] [--quick]

Writes benchmarks/results/bench_report.json.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

import tokenspace as ts

from _common import measure, peers_at_best, print_table, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--quick", action="store_true", help="2 runs, no report")
    args = ap.parse_args()
    peers_at_best(("numpy",))
    if args.quick:
        args.runs, args.no_report = min(args.runs, 2), True
    g = ts.load("glove-6b-50d")
    out: dict[str, dict] = {}

    words = ts.select_tokens(g, contains="x", min_len=4, max_len=8, alphabetic=True, limit=300)
    X = g[words]
    from sklearn.manifold import TSNE

    def sk():
        tsne = TSNE(perplexity=5, random_state=0, init="pca", learning_rate="auto")
        return tsne.fit_transform(X.astype(np.float64))

    tm = measure({"tokenspace": lambda: ts.tsne(X, perplexity=5, seed=0), "sklearn": sk}, args.runs)
    t_ts, t_sk = tm["tokenspace"].median, tm["sklearn"].median
    out["tsne_300"] = {
        "tokenspace_s": t_ts,
        "sklearn_default_threads_s": t_sk,
        "speedup": t_sk / t_ts,
        "timings": tm,
    }
    table = [("t-SNE 300 points", t_ts, "sklearn", t_sk)]
    print(
        f"t-SNE 300 pts   tokenspace {t_ts:.3f} s  sklearn default {t_sk:.3f} s  ratio {t_sk / t_ts:.2f}x"
    )

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

    tm = measure(
        {
            "tokenspace": lambda: ts.cosine_graph(g, gw),
            "tokenspace_to_networkx": lambda: ts.cosine_graph(g, gw).to_networkx(),
            "numpy_networkx": peer_graph,
        },
        args.runs,
    )
    t_g, t_gx, t_peer = (
        tm[n].median for n in ("tokenspace", "tokenspace_to_networkx", "numpy_networkx")
    )
    out["cosine_graph_200"] = {
        "tokenspace_s": t_g,
        "tokenspace_to_networkx_s": t_gx,
        "numpy_networkx_s": t_peer,
        "speedup_with_networkx": t_peer / t_gx,
        "timings": tm,
    }
    table.append(("cosine graph 200 words, to networkx", t_gx, "numpy+networkx", t_peer))
    print(
        f"graph 200 words tokenspace {t_g * 1e3:.2f} ms (+networkx {t_gx * 1e3:.2f} ms)  "
        f"numpy+networkx {t_peer * 1e3:.2f} ms  ratio {t_peer / t_gx:.2f}x"
    )

    if not args.no_report:
        with tempfile.TemporaryDirectory() as d:
            tm = measure({"report": lambda: ts.build_report(d, progress=False)}, 1, warmup=0)
        res, total = tm["report"].result, tm["report"].median
        out["report"] = {
            "total_s": total,
            "timing": tm["report"],
            "sections": {r.key: [r.status, r.seconds] for r in res.sections},
        }
        print(f"tokenspace report: {total:.1f} s")
        for r in res.sections:
            print(f"  {r.key:12} {r.status:8} {r.seconds:6.2f} s")

    print_table(table)
    print("wrote", write_json("bench_report", out))


if __name__ == "__main__":
    main()
