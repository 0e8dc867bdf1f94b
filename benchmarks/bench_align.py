"""Alignment benchmarks: tokenspace vs scipy (Procrustes) and vs a faiss-based MUSE-style
CSLS, timed in the same run on the same data (medians of --repeats runs, interleaved by
``_common.measure``).

    PYTHONPATH=python python benchmarks/bench_align.py [--repeats 5] [--queries 10000] [--quick]

Writes benchmarks/results/bench_align.json.
"""

from __future__ import annotations

import argparse

import numpy as np

import tokenspace as ts
from tokenspace import _kernels

from _common import measure, peers_at_best, print_table, write_json


def rotated_copy(X: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((X.shape[1], X.shape[1])))[0]
    # X Q through the tokenspace kernel (gram computes A B^T): no numpy BLAS on the big matrix
    Y = _kernels.gram(X, np.ascontiguousarray(Q.T, dtype=np.float32))
    Y += (noise * float(X.std()) * rng.standard_normal(Y.shape)).astype(np.float32)
    return Y, Q


def muse_csls_faiss(
    Q: np.ndarray, T: np.ndarray, S: np.ndarray, k: int, knn: int = 10, chunk: int = 1000
):
    """MUSE's CSLS (get_word_translation_accuracy, csls_knn_10) with faiss for both kNN sides."""
    import faiss

    def avg(queries, base):
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        return index.search(queries, knn)[0].mean(1)

    r_s = avg(T, S)
    r_t = avg(Q, T)
    idx = np.empty((Q.shape[0], k), dtype=np.int64)
    sc = np.empty((Q.shape[0], k), dtype=np.float32)
    for s in range(0, Q.shape[0], chunk):
        scores = 2 * (Q[s : s + chunk] @ T.T) - r_t[s : s + chunk, None] - r_s[None, :]
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        ps = np.take_along_axis(scores, part, 1)
        # best first, ties by lower id (the order the exact kNN kernel uses)
        order = np.lexsort((part, -ps), axis=1)
        idx[s : s + chunk] = np.take_along_axis(part, order, 1)
        sc[s : s + chunk] = np.take_along_axis(ps, order, 1)
    return idx, sc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--noise", type=float, default=0.01, help="noise std relative to the data std")
    ap.add_argument("--skip-csls", action="store_true", help="time Procrustes only")
    ap.add_argument("--quick", action="store_true", help="2 repeats, 2000 CSLS queries")
    ap.add_argument(
        "--out", default=None, help="JSON file (default benchmarks/results/bench_align.json)"
    )
    args = ap.parse_args()
    peers_at_best(("numpy", "scipy", "faiss"))
    if args.quick:
        args.repeats, args.queries = min(args.repeats, 2), min(args.queries, 2000)
    from scipy.linalg import orthogonal_procrustes

    minilm = ts.load("minilm-l6")
    X = np.ascontiguousarray(minilm.vectors)
    Y, _ = rotated_copy(X, args.noise)
    results: dict = {"repeats": args.repeats}

    # Procrustes: 30522 x 384 pairs
    tm = measure(
        {"tokenspace": lambda: ts.procrustes(X, Y), "scipy": lambda: orthogonal_procrustes(X, Y)},
        args.repeats,
    )
    med = {k: t.median for k, t in tm.items()}
    diff = float(np.abs(tm["tokenspace"].result.W - tm["scipy"].result[0]).max())
    results["procrustes"] = {
        "shape": list(X.shape),
        "noise": args.noise,
        "tokenspace_s": med["tokenspace"],
        "scipy_s": med["scipy"],
        "speedup": med["scipy"] / med["tokenspace"],
        "max_abs_diff_W": diff,
        "timings": tm,
    }
    table = [(f"procrustes {X.shape[0]} x {X.shape[1]}", med["tokenspace"], "scipy", med["scipy"])]
    print(
        f"procrustes {X.shape[0]}x{X.shape[1]}: tokenspace {med['tokenspace'] * 1e3:.1f} ms, "
        f"scipy {med['scipy'] * 1e3:.1f} ms, speedup {med['scipy'] / med['tokenspace']:.2f}x, "
        f"max|dW| {diff:.2e}"
    )

    # CSLS translation: 10k source words into 30522 targets
    if args.skip_csls:
        print_table(table)
        print("wrote", write_json("bench_align", results, args.out))
        return
    src = ts.EmbeddingSpace(Y, minilm.vocab, name="minilm-rotated")
    ali = ts.align(src, minilm, normalize="unit")
    words = src.vocab[: args.queries]
    k = 10

    def ours():
        return ts.translate(src, minilm, words, ali, k=k, retrieval="csls")

    # The peer gets the mapped, normalised matrices for free (outside its timing).
    S = ts.unit_rows(ali.transform(src.vectors))
    Qm = np.ascontiguousarray(S[: args.queries])
    T = ts.unit_rows(ali.target_norm.apply(np.asarray(minilm.vectors)))

    def peer():
        return muse_csls_faiss(Qm, T, S, k)

    tm = measure({"tokenspace": ours, "faiss_muse": peer}, args.repeats)
    med = {k: t.median for k, t in tm.items()}
    tr = tm["tokenspace"].result
    idx_f, sc_f = tm["faiss_muse"].result
    same_rows = (tr.indices == idx_f).all(axis=1)
    top1 = float((tr.indices[:, 0] == idx_f[:, 0]).mean())
    score_diff = float(np.abs(tr.scores - sc_f).max())
    # a differing row is acceptable only as a near-tie: its scores must agree to float rounding
    results["csls"] = {
        "queries": args.queries,
        "targets": len(minilm),
        "sources": len(src),
        "k": k,
        "tokenspace_s": med["tokenspace"],
        "faiss_muse_s": med["faiss_muse"],
        "speedup": med["faiss_muse"] / med["tokenspace"],
        "identical_top10_rows": float(same_rows.mean()),
        "identical_top1": top1,
        "max_abs_score_diff": score_diff,
        "timings": tm,
    }
    table.append(
        (
            f"csls {args.queries} -> {len(minilm)}",
            med["tokenspace"],
            "faiss+numpy (MUSE)",
            med["faiss_muse"],
        )
    )
    print(
        f"csls {args.queries} -> {len(minilm)}: tokenspace {med['tokenspace']:.2f} s, "
        f"faiss+numpy {med['faiss_muse']:.2f} s, "
        f"speedup {med['faiss_muse'] / med['tokenspace']:.2f}x, "
        f"identical top-10 rows {same_rows.mean():.4f}, top-1 {top1:.4f}, "
        f"max|dscore| {score_diff:.1e}"
    )

    print_table(table)
    print("wrote", write_json("bench_align", results, args.out))


if __name__ == "__main__":
    main()
