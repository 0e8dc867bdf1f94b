"""tokenspace.distributed: scaling of the exact kNN graph, and a 2M-word space on one machine.

Part 1 (default), on a synthetic V x d space (unit rows, cosine, k=10), in one run:
  * single-process ``space.knn_graph`` at 1 and 2 kernel threads (the single-machine peer),
  * a plain loop over the blocks in one process (the partition without the engine), rows
    and pairs,
  * ``tsd.knn_graph`` on LocalClusters of 1x1, 2x1 and 1x2 (worker processes x kernel
    threads, one Dask thread each), rows and pairs, results checked bit-equal,
  * the engine's per-task overhead (no-op task round trips),
  * efficiency T(1) / (N T(N)) and the measured per-block time the N-node model uses.
Part 2 (``--big``): a 2,000,000 x 300 space written in the native format and memory-mapped:
  time to open, kNN of queries with the peak memory, self-join tiles of a 200k slice with the
  full-size time extrapolated, CSLS of queries into the 2M targets. Nothing allocates O(V^2).

Usage: python benchmarks/bench_distributed.py [--rows 20000] [--dim 300] [--repeat 2]
       python benchmarks/bench_distributed.py --big --scratch /path/with/3GB [--queries 10000]
Writes benchmarks/results/bench_distributed.json (or bench_distributed_big.json).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import tokenspace as ts
from tokenspace import _kernels

from _common import format_seconds, measure, peak_extra_mib, write_json


def synthetic(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)
    return _kernels.normalize_rows(x)[0]


def _cluster(workers: int, threads: int):
    from distributed import Client, LocalCluster

    cl = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    c = Client(cl)
    # the layout of docs/distributed.md: one Dask thread, the kernels get the node's cores
    c.run(eval, f"__import__('tokenspace')._kernels.set_num_threads({threads})")
    return cl, c


def part_scaling(args: argparse.Namespace) -> dict:
    import tokenspace.distributed as tsd

    x = synthetic(args.rows, args.dim)
    s = ts.EmbeddingSpace(x, [str(i) for i in range(len(x))], check=False)
    k, block = 10, args.block
    db = _kernels.database(np.ascontiguousarray(s.unit_vectors))
    n = len(s)
    bl = [(a, min(n, a + block)) for a in range(0, n, block)]
    tiles = [(bl[a], bl[b]) for a in range(len(bl)) for b in range(a, len(bl))]

    def single(threads: int):
        def run():
            _kernels.set_num_threads(threads)
            return s.knn_graph(k)

        return run

    def loop_rows():
        for a, b in bl:
            _kernels.knn(s.unit_vectors[a:b], db, k, exclude=np.arange(a, b)[:, None])

    def loop_pairs():
        for i, j in tiles:
            _kernels.self_join_tile(db, i, j, k)

    default_threads = _kernels.num_threads()
    cases = {
        "single_1t": single(1),
        "single_2t": single(2),
        "loop_rows_2t": loop_rows,
        "loop_pairs_2t": loop_pairs,
    }
    res = measure(cases, args.repeat, per_round=1, warmup=0)
    _kernels.set_num_threads(default_threads)
    ref = res["single_2t"].result
    out: dict = {
        "rows": n,
        "dim": args.dim,
        "k": k,
        "block_rows": block,
        "n_row_blocks": len(bl),
        "n_tiles": len(tiles),
        **res,
    }
    for workers, threads in ((1, 1), (2, 1), (1, 2)):
        cl, c = _cluster(workers, threads)
        try:
            # per-task overhead: round trips of a no-op task
            t0 = time.perf_counter()
            c.gather([c.submit(int, i, pure=False) for i in range(200)])
            overhead = (time.perf_counter() - t0) / 200
            for mode in ("rows", "pairs"):

                def job(mode=mode, c=c):
                    return tsd.knn_graph(
                        s,
                        k,
                        client=c,
                        mode=mode,
                        block_rows=block,
                        progress=False,
                        scratch=args.scratch,
                    )

                job()  # stage the rows, build the workers' databases
                t = measure({"job": job}, args.repeat, per_round=1, warmup=0)["job"]
                got = t.result
                equal = bool(
                    np.array_equal(got.indices, ref.indices)
                    and np.array_equal(got.scores, ref.scores)
                )
                out[f"dask_{workers}x{threads}_{mode}"] = {**t.to_dict(), "bit_equal": equal}
            out[f"dask_{workers}x{threads}_task_overhead_s"] = overhead
        finally:
            c.close()
            cl.close()
    t1 = out["dask_1x1_rows"]["median_s"]
    for cfg, nn in (("2x1", 2), ("1x2", 2)):
        for mode in ("rows", "pairs"):
            t1m = out[f"dask_1x1_{mode}"]["median_s"]
            out[f"efficiency_{cfg}_{mode}"] = t1m / (nn * out[f"dask_{cfg}_{mode}"]["median_s"])
    out["t_block_rows_1t_s"] = t1 / len(bl)
    out["t_tile_pairs_1t_s"] = out["dask_1x1_pairs"]["median_s"] / len(tiles)
    return out


def part_big(args: argparse.Namespace) -> dict:
    from tokenspace.alignment.translate import retrieve

    V, d = 2_000_000, 300
    folder = Path(args.scratch) / "synthetic-2m-300"
    out: dict = {"rows": V, "dim": d}
    if not (folder / "tokenspace.json").is_file():
        t0 = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        mm = np.lib.format.open_memmap(
            folder / "vectors.npy", mode="w+", dtype=np.float32, shape=(V, d)
        )
        for a in range(0, V, 100_000):
            mm[a : a + 100_000] = synthetic(min(100_000, V - a), d, seed=a)
        mm.flush()
        del mm
        (folder / "vocab.txt").write_text("\n".join(f"w{i}" for i in range(V)))
        (folder / "tokenspace.json").write_text(
            json.dumps(
                {
                    "format": "tokenspace",
                    "version": 1,
                    "shape": [V, d],
                    "dtype": "float32",
                    "name": "synthetic-2m",
                    "vocab": "vocab.txt",
                    "tokenizer": None,
                }
            )
        )
        out["write_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = ts.load_native(folder)
    out["open_s"] = time.perf_counter() - t0
    rows = s.vectors  # memory-mapped unit rows: metric "dot" is their cosine, without a copy
    t0 = time.perf_counter()
    db = _kernels.database(rows)
    out["database_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    q = np.ascontiguousarray(rows[np.sort(rng.choice(V, args.queries, replace=False))])
    box: dict = {}

    def knn():
        t = time.perf_counter()
        box["knn"] = _kernels.knn(q, db, 10)
        box["knn_s"] = time.perf_counter() - t

    out["knn_queries"] = args.queries
    out["knn_peak_extra_mib"] = peak_extra_mib(knn)  # includes mapped pages touched (RSS)
    out["knn_s"] = box["knn_s"]
    print(f"knn of {args.queries} queries: {format_seconds(box['knn_s'])}", flush=True)
    # self-join tiles of the first 200k rows, blocks of args.block
    B = args.big_block
    tiles = {"diagonal": ((0, B), (0, B)), "off_diagonal": ((0, B), (B, 2 * B))}
    for name, (i, j) in tiles.items():
        t = time.perf_counter()
        _kernels.self_join_tile(db, i, j, 10)
        out[f"tile_{name}_s"] = time.perf_counter() - t
        print(f"tile {name} {B}: {format_seconds(out[f'tile_{name}_s'])}", flush=True)
    for size, key in ((200_000, "slice_200k"), (V, "full_2m")):
        nb = -(-size // B)
        est = nb * out["tile_diagonal_s"] + nb * (nb - 1) / 2 * out["tile_off_diagonal_s"]
        out[f"knn_graph_{key}_extrapolated_s"] = est
    # CSLS: queries (mapped sources) into all 2M targets, over a source population
    S = np.ascontiguousarray(rows[V - args.csls_sources :])
    Q = q[: args.csls_queries]
    t = time.perf_counter()
    mib = peak_extra_mib(lambda: box.update(csls=retrieve(Q, rows, S, 10, retrieval="csls")))
    out["csls_queries"] = len(Q)
    out["csls_sources"] = len(S)
    out["csls_s"] = time.perf_counter() - t
    out["csls_peak_extra_mib"] = mib
    print(f"csls {len(Q)} into 2M: {format_seconds(out['csls_s'])}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--block", type=int, default=2500)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--big", action="store_true")
    p.add_argument("--queries", type=int, default=10000)
    p.add_argument("--csls-queries", type=int, default=10000)
    p.add_argument("--csls-sources", type=int, default=10000)
    p.add_argument("--big-block", type=int, default=20000)
    p.add_argument("--scratch", default=os.environ.get("TOKENSPACE_SCRATCH", "/tmp"))
    args = p.parse_args()
    if args.big:
        res = part_big(args)
        print(write_json("bench_distributed_big", res))
    else:
        res = part_scaling(args)
        print(write_json("bench_distributed", res))
    for key, v in res.items():
        print(key, v.median if hasattr(v, "median") else v)


if __name__ == "__main__":
    main()
