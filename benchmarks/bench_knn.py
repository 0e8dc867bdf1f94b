"""Exact kNN on the MiniLM token matrix (30522 x 384, unit rows): tokenspace vs faiss vs numpy.

Measures, in one run and on the same data:
  * all-vs-all k=10 (every token's 10 nearest tokens, self included as faiss does):
    ``EmbeddingSpace.knn_graph`` vs faiss ``IndexFlatIP.search`` vs numpy blocked
    ``E[blk] @ E.T`` + ``argpartition``;
  * single-query latency against the whole vocabulary, same three;
  * the peak extra memory of each all-vs-all run, and how many neighbour slots agree.

  * GloVe 400k x 50: a 5000-query slice against all rows (both libraries), and the full
    knn_graph (tokenspace; faiss too with --glove-full-faiss).

Every timing comes from ``_common.measure`` (libraries interleaved in rounds).
Usage: python benchmarks/bench_knn.py [--repeat 5] [--quick] [--glove-full-faiss]
Prints medians and ratios; writes benchmarks/results/bench_knn.json.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

import tokenspace as ts

from _common import measure, peak_extra_mib, peers_at_best, print_table, write_json


def numpy_knn(U: np.ndarray, Q: np.ndarray, k: int, block: int = 2048):
    """Blocked matmul + argpartition: the plain-numpy way (never the whole V x V at once)."""
    ids = np.empty((Q.shape[0], k), dtype=np.int64)
    for s in range(0, Q.shape[0], block):
        S = Q[s : s + block] @ U.T
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        sc = np.take_along_axis(S, part, 1)
        order = np.argsort(-sc, axis=1, kind="stable")
        ids[s : s + block] = np.take_along_axis(part, order, 1)
    return ids


def faiss_best_config(faiss, index, Q: np.ndarray, k: int, repeat: int) -> dict:
    """faiss's strongest exact configuration for this search: its BLAS block sizes swept.

    IndexFlatIP answers batches of 20+ queries with BLAS sgemm on blocks of
    ``distance_compute_blas_query_bs`` queries x ``distance_compute_blas_database_bs`` rows
    (defaults 4096 x 1024) and a heap per query; the block sizes are its only exact knobs.
    The fastest pair (median of ``repeat`` runs on ``Q``) is left set and returned.
    """
    cv = faiss.cvar
    default = (cv.distance_compute_blas_query_bs, cv.distance_compute_blas_database_bs)
    grid = sorted({default, (4096, 4096), (4096, 16384), (1024, 4096), (16384, 4096)})

    def run(qbs, dbs):
        cv.distance_compute_blas_query_bs, cv.distance_compute_blas_database_bs = qbs, dbs
        return index.search(Q, k)

    fns = {f"{q}x{d}": (lambda q=q, d=d: run(q, d)) for q, d in grid}
    tm = measure(fns, repeat, per_round=1)
    best = min(tm, key=lambda n: tm[n].median)
    q, d = (int(v) for v in best.split("x"))
    cv.distance_compute_blas_query_bs, cv.distance_compute_blas_database_bs = q, d
    return {
        "query_bs": q,
        "database_bs": d,
        "default": f"{default[0]}x{default[1]}",
        "seconds_by_config": {n: t.median for n, t in tm.items()},
        "threads": faiss.omp_get_max_threads(),
    }


def usearch_exact(U: np.ndarray, Q: np.ndarray, k: int):
    """usearch's brute-force search (``exact=True``, inner product, every core)."""
    from usearch.index import MetricKind, search

    return search(U, Q, k, MetricKind.IP, exact=True, threads=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="skip the runs that take minutes: numpy all-vs-all, full GloVe knn_graph",
    )
    ap.add_argument(
        "--glove-full-faiss",
        action="store_true",
        help="also time faiss on the full GloVe 400k all-vs-all (about 3 minutes)",
    )
    args = ap.parse_args()
    peers_at_best(("numpy", "faiss"))
    import faiss

    s = ts.load("minilm-l6")
    U = np.ascontiguousarray(s.unit_vectors)
    V, d = U.shape
    k = 10
    print(
        f"MiniLM {V} x {d}, k={k}, threads: tokenspace {ts.num_threads()}, "
        f"faiss {faiss.omp_get_max_threads()}, simd {ts.simd_level()}"
    )
    index = faiss.IndexFlatIP(d)
    index.add(U)
    flops = 2.0 * V * V * d
    res: dict = {"V": V, "d": d, "k": k, "repeat": args.repeat}
    res["faiss_config"] = faiss_best_config(faiss, index, U[:8192], k, 3)
    fcfg = res["faiss_config"]
    faiss_cfg = (
        f"IndexFlatIP, BLAS blocks {fcfg['query_bs']} x {fcfg['database_bs']} (fastest swept), "
        f"{fcfg['threads']} OpenMP threads"
    )
    print(f"faiss: {faiss_cfg}; swept {fcfg['seconds_by_config']}")

    graph = s.knn_graph(k=k, exclude_self=False)
    _, faiss_ids = index.search(U, k)
    res["identical_slots_vs_faiss"] = float((graph.indices == faiss_ids).mean())
    # Rows whose lists differ: are they near-ties? Recompute the disputed scores in float64.
    diff_rows = np.flatnonzero((graph.indices != faiss_ids).any(axis=1))
    unexplained = 0
    for r in diff_rows:
        q = U[r].astype(np.float64)
        ours = np.sort(U[graph.indices[r]].astype(np.float64) @ q)[::-1]
        theirs = np.sort(U[faiss_ids[r]].astype(np.float64) @ q)[::-1]
        if np.abs(ours - theirs).max() > 1e-6:  # not a rounding-level tie
            unexplained += 1
    res["rows_differing_from_faiss"] = int(diff_rows.size)
    res["rows_differing_beyond_ties"] = unexplained
    tm = measure(
        {
            "tokenspace": lambda: s.knn_graph(k=k, exclude_self=False),
            "faiss": lambda: index.search(U, k),
        },
        args.repeat,
    )
    t_ts, t_fa = tm["tokenspace"].median, tm["faiss"].median
    res["all_vs_all"] = {
        "tokenspace_s": t_ts,
        "faiss_s": t_fa,
        "tokenspace_gflops": flops / t_ts / 1e9,
        "faiss_gflops": flops / t_fa / 1e9,
        "speedup_vs_faiss": t_fa / t_ts,
        "timings": tm,
        "peak_extra_mib_tokenspace": peak_extra_mib(lambda: s.knn_graph(k=k, exclude_self=False)),
        "peak_extra_mib_faiss": peak_extra_mib(lambda: index.search(U, k)),
    }
    # the candidate-stage precisions (answers are identical; checked here too)
    precisions = ["fp32"] + (
        ["bf16", "int8"] if "avx512_bf16" in ts.available_simd_levels() else []
    )
    tm = measure(
        {
            prec: lambda prec=prec: s.knn_graph(k=k, exclude_self=False, precision=prec)
            for prec in precisions
        },
        args.repeat,
    )
    res["all_vs_all_by_precision"] = {
        prec: {
            "seconds": t.median,
            "speedup_vs_faiss": t_fa / t.median,
            "identical_to_auto": bool(np.array_equal(t.result.indices, graph.indices)),
            "timing": t,
        }
        for prec, t in tm.items()
    }
    if not args.quick:
        tm = measure({"numpy": lambda: numpy_knn(U, U, k)}, max(3, args.repeat // 2), warmup=0)
        res["all_vs_all"].update(
            numpy_s=tm["numpy"].median,
            speedup_vs_numpy=tm["numpy"].median / t_ts,
            timing_numpy=tm["numpy"],
            peak_extra_mib_numpy=peak_extra_mib(lambda: numpy_knn(U, U, k)),
        )

    # usearch's exact search is far slower: the same work on a slice of the queries, against
    # tokenspace and faiss on that slice.
    try:
        import usearch  # noqa: F401

        have_usearch = True
    except ImportError:
        have_usearch = False
    if have_usearch:
        Qs = np.ascontiguousarray(U[:: max(1, V // 2000)][:2000])
        tm = measure(
            {
                "tokenspace": lambda: s.knn(Qs, k=k),
                "faiss": lambda: index.search(Qs, k),
                "usearch": lambda: usearch_exact(U, Qs, k),
            },
            max(3, args.repeat // 2),
            warmup={"tokenspace": 1, "faiss": 1, "usearch": 0},
        )
        got = tm["tokenspace"].result.indices
        us = np.asarray(tm["usearch"].result.keys)
        res["usearch_slice"] = {
            "queries": int(Qs.shape[0]),
            "tokenspace_s": tm["tokenspace"].median,
            "faiss_s": tm["faiss"].median,
            "usearch_s": tm["usearch"].median,
            "identical_slots_vs_usearch": float((got == us).mean()),
            "timings": tm,
        }

    rng = np.random.default_rng(0)
    qids = rng.integers(0, V, 200)
    for i in range(20):  # warm caches and thread pools of all three
        s.knn(U[qids[i]], k=k)
        index.search(U[qids[i] : qids[i] + 1], k)
    # each library walks the same query sequence (its own cycle, the same calls per round)
    q_ts, q_fa, q_np = (itertools.cycle(qids) for _ in range(3))

    def fa_one(i):
        return index.search(U[i : i + 1], k)

    def np_one(i):
        sc = U @ U[i]
        top = np.argpartition(-sc, k - 1)[:k]
        return top[np.argsort(-sc[top], kind="stable")]

    tm = measure(
        {
            "tokenspace": lambda: s.knn(U[next(q_ts)], k=k),
            "faiss": lambda: fa_one(next(q_fa)),
            "numpy": lambda: np_one(next(q_np)),
        },
        len(qids),
        per_round=20,
        settle=0.25,
    )
    one_ts, one_fa, one_np = (tm[n].median for n in ("tokenspace", "faiss", "numpy"))
    res["single_query"] = {
        "tokenspace_ms": one_ts * 1e3,
        "faiss_ms": one_fa * 1e3,
        "numpy_ms": one_np * 1e3,
        "speedup_vs_faiss": one_fa / one_ts,
        "speedup_vs_numpy": one_np / one_ts,
        "timings": tm,
    }

    # GloVe 400000 x 50: every query against the whole vocabulary; the full 400k x 400k
    # all-vs-all takes minutes per run for faiss, so time a fixed 5000-query slice (the same
    # per-query work) and report queries per second.
    g = ts.load("glove-6b-50d")
    G = np.ascontiguousarray(g.unit_vectors)
    gq = G[:: max(1, len(G) // 5000)][:5000]
    gindex = faiss.IndexFlatIP(G.shape[1])
    gindex.add(G)
    g.knn_database("cosine")  # build the cached copies outside the timing, as knn_graph reuses them
    gi = g.knn(gq, k=k)
    _, fi = gindex.search(gq, k)
    tm = measure(
        {"tokenspace": lambda: g.knn(gq, k=k), "faiss": lambda: gindex.search(gq, k)},
        max(3, args.repeat // 2),
        warmup={"tokenspace": 1, "faiss": 0},
    )
    t_gts, t_gfa = tm["tokenspace"].median, tm["faiss"].median
    res["glove_all_vs_all_slice"] = {
        "queries": int(gq.shape[0]),
        "V": int(G.shape[0]),
        "tokenspace_s": t_gts,
        "faiss_s": t_gfa,
        "timings": tm,
        "speedup_vs_faiss": t_gfa / t_gts,
        "identical_slots_vs_faiss": float((gi.indices == fi).mean()),
        "projected_full_all_vs_all_s": t_gts * G.shape[0] / gq.shape[0],
    }
    # The full graph: knn_graph scores each pair once (the self-join path), which a slice of
    # queries cannot show. One run each (faiss's takes about 3 minutes, so only on request).
    full: dict = {"faiss_projected_from_slice_s": t_gfa * G.shape[0] / gq.shape[0]}
    fns = {} if args.quick else {"tokenspace": lambda: g.knn_graph(k=k, exclude_self=False)}
    if args.glove_full_faiss:
        fns["faiss"] = lambda: gindex.search(G, k)[1]
    tm = measure(fns, 1, warmup=0)
    if "tokenspace" in tm:
        gg = tm["tokenspace"].result
        full.update(tokenspace_s=tm["tokenspace"].median, timing_tokenspace=tm["tokenspace"])
    if "faiss" in tm:
        fi_full = tm["faiss"].result
        full.update(faiss_s=tm["faiss"].median, timing_faiss=tm["faiss"])
    if "tokenspace" in tm and "faiss" in tm:
        full["identical_slots_vs_faiss"] = float((gg.indices == fi_full).mean())
        rows = np.flatnonzero((gg.indices != fi_full).any(axis=1))
        beyond = 0
        for r in rows:  # differing rows must be float32-level ties
            q = G[r].astype(np.float64)
            a = np.sort(G[gg.indices[r]].astype(np.float64) @ q)
            b = np.sort(G[fi_full[r]].astype(np.float64) @ q)
            beyond += int(np.abs(a - b).max() > 1e-6)
        full["rows_differing_from_faiss"] = int(rows.size)
        full["rows_differing_beyond_ties"] = beyond
    res["glove_knn_graph_full"] = full

    a = res["all_vs_all"]
    print(
        f"all-vs-all  tokenspace {a['tokenspace_s']:.3f} s ({a['tokenspace_gflops']:.0f} GFLOP/s)"
        f"  faiss {a['faiss_s']:.3f} s ({a['faiss_gflops']:.0f} GFLOP/s)"
        f"  -> {a['speedup_vs_faiss']:.2f}x faiss"
    )
    if "numpy_s" in a:
        print(
            f"            numpy blocked matmul {a['numpy_s']:.3f} s -> {a['speedup_vs_numpy']:.2f}x numpy"
        )
    print(
        f"peak extra memory  tokenspace {a['peak_extra_mib_tokenspace']:.0f} MiB, "
        f"faiss {a['peak_extra_mib_faiss']:.0f} MiB"
        + (f", numpy {a['peak_extra_mib_numpy']:.0f} MiB" if "peak_extra_mib_numpy" in a else "")
    )
    print(
        f"identical neighbour slots vs faiss: {res['identical_slots_vs_faiss']:.5%}; "
        f"{res['rows_differing_from_faiss']} rows differ, "
        f"{res['rows_differing_beyond_ties']} of them beyond float32 ties (1e-6)"
    )
    for prec, r in res["all_vs_all_by_precision"].items():
        print(
            f"  candidates {prec:5s} {r['seconds']:.3f} s -> {r['speedup_vs_faiss']:.2f}x faiss"
            f" (identical answer: {r['identical_to_auto']})"
        )
    gl = res["glove_all_vs_all_slice"]
    print(
        f"GloVe 400k x 50, {gl['queries']} queries vs all: tokenspace {gl['tokenspace_s']:.3f} s, "
        f"faiss {gl['faiss_s']:.3f} s -> {gl['speedup_vs_faiss']:.2f}x faiss "
        f"(identical slots {gl['identical_slots_vs_faiss']:.5%}; full all-vs-all ~"
        f"{gl['projected_full_all_vs_all_s']:.0f} s)"
    )
    gf = res["glove_knn_graph_full"]
    peer = (
        ""
        if "tokenspace_s" not in gf
        else (
            f"faiss {gf['faiss_s']:.1f} s -> {gf['faiss_s'] / gf['tokenspace_s']:.2f}x faiss "
            f"(identical slots {gf['identical_slots_vs_faiss']:.5%}; {gf['rows_differing_from_faiss']} rows "
            f"differ, {gf['rows_differing_beyond_ties']} beyond float32 ties)"
            if "faiss_s" in gf
            else f"faiss projected from the slice {gf['faiss_projected_from_slice_s']:.0f} s -> "
            f"{gf['faiss_projected_from_slice_s'] / gf['tokenspace_s']:.2f}x (--glove-full-faiss "
            "runs it)"
        )
    )
    if peer:
        print(f"GloVe 400k x 50 full knn_graph: tokenspace {gf['tokenspace_s']:.1f} s, {peer}")
    q = res["single_query"]
    print(
        f"single query  tokenspace {q['tokenspace_ms']:.3f} ms  faiss {q['faiss_ms']:.3f} ms  "
        f"numpy {q['numpy_ms']:.3f} ms  -> {q['speedup_vs_faiss']:.2f}x faiss, "
        f"{q['speedup_vs_numpy']:.2f}x numpy"
    )
    op = f"`knn_graph` k={k}, MiniLM {V} x {d} (exact)"
    mem = f"+{a['peak_extra_mib_tokenspace']:.0f} MiB; faiss +{a['peak_extra_mib_faiss']:.0f} MiB"
    fa = {"peer_lib": "faiss", "peer_config": faiss_cfg}
    table = [(op, a["tokenspace_s"], "faiss", a["faiss_s"], {**fa, "note": mem})]
    for prec, r in res["all_vs_all_by_precision"].items():
        table.append(
            (f"{op}, {prec} candidates", r["seconds"], "faiss", t_fa, {**fa, "readme": False})
        )
    if "numpy_s" in a:
        table.append((op, a["tokenspace_s"], "numpy blocked matmul", a["numpy_s"]))
    if "usearch_slice" in res:
        u = res["usearch_slice"]
        uop = f"{u['queries']} MiniLM queries vs all {V}"
        table += [
            (uop, u["tokenspace_s"], "faiss", u["faiss_s"], fa),
            (
                uop,
                u["tokenspace_s"],
                "usearch",
                u["usearch_s"],
                {"peer_lib": "usearch", "peer_config": "`search(..., exact=True)`, all cores"},
            ),
        ]
    table += [
        (
            f"{gl['queries']} GloVe queries vs 400k x 50",
            gl["tokenspace_s"],
            "faiss",
            gl["faiss_s"],
            fa,
        ),
        ("single query vs MiniLM (warm)", one_ts, "faiss", one_fa, fa),
        ("single query vs MiniLM (warm)", one_ts, "numpy gemv + argpartition", one_np),
    ]
    if "faiss_s" in gf and "tokenspace_s" in gf:
        table.append(
            (
                "`knn_graph` GloVe 400k x 50 (one run)",
                gf["tokenspace_s"],
                "faiss",
                gf["faiss_s"],
                fa,
            )
        )
    print_table(table)
    print("wrote", write_json("bench_knn", res))


if __name__ == "__main__":
    main()
