"""Achieved rate of each kernel against the measured peak of its instruction set, same run.

Peaks come from ``_kernels.peak_rate``: 12 independent register chains of one instruction
(vfmadd231ps ymm/zmm, vdpbf16ps, vpdpbusd), run on every core at once. Kernels are timed on
the MiniLM matrix (30522 x 384, unit rows); an operation is a multiply or an add, so a k-NN
of V queries over V rows does 2 V^2 d operations whatever the precision of its candidate stage,
and the self-join behind knn_graph (each pair scored once) about half as many.

Usage: python benchmarks/roofline.py [--repeat 3] [--quick]
Writes benchmarks/results/roofline.json.
"""

from __future__ import annotations

import argparse
import threading

import numpy as np

import tokenspace as ts
from tokenspace import _kernels

from _common import measure, write_json

PROBES = {
    "fp32_fma_ymm": "avx2",
    "fp32_fma_zmm": "avx512",
    "bf16_dpbf16ps_zmm": "avx512_bf16",
    "int8_vpdpbusd_zmm": "avx512_bf16",
}


def all_core_peak(kind: str, threads: int, seconds: float = 0.5) -> float:
    rates = [0.0] * threads

    def run(i):
        rates[i] = _kernels.peak_rate(kind, seconds=seconds)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="the first 8192 rows and one run per kernel (seconds, not minutes)",
    )
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    threads = ts.num_threads()
    levels = ts.available_simd_levels()
    peaks = {}
    for kind, level in PROBES.items():
        if level in levels:
            peaks[kind] = max(all_core_peak(kind, threads) for _ in range(3)) / 1e9
    print(
        f"{threads} threads; measured peaks (Gops/s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
    )

    s = ts.load("minilm-l6")
    U = np.ascontiguousarray(s.unit_vectors[: 8192 if args.quick else None])
    V, d = U.shape
    db = _kernels.database(U, precision="fp32")
    rows = []

    def kernel(name, fn, ops, peak_kind):
        timing = measure({name: fn}, repeat)[name]
        t = timing.median
        rate = ops / t / 1e9
        peak = peaks.get(peak_kind, float("nan"))
        rows.append(
            {
                "kernel": name,
                "seconds": t,
                "gops": rate,
                "peak_kind": peak_kind,
                "peak_gops": peak,
                "fraction_of_peak": rate / peak,
                "timing": timing,
            }
        )
        print(f"{name:48s} {t:8.3f} s {rate:8.1f} Gops/s  {rate / peak:6.1%} of {peak_kind}")

    # knn_graph passes the database's own buffer as the queries: the self-join path scores each
    # unordered pair once (V (V + 1) / 2 dot products; the diagonal blocks' other halves are
    # computed too but not counted). A copy of the rows as queries takes the ordinary path
    # (all V^2 pairs).
    self_ops, full_ops = 1.0 * V * (V + 1) * d, 2.0 * V * V * d
    Q = U.copy()
    fp32_peak = "fp32_fma_zmm" if "avx512" in levels else "fp32_fma_ymm"

    def search(queries, precision):
        return lambda: _kernels.knn(queries, db, 10, precision=precision)

    kernel("knn_graph k=10, fp32 candidates, self-join", search(U, "fp32"), self_ops, fp32_peak)
    kernel("knn all V queries, fp32 candidates", search(Q, "fp32"), full_ops, fp32_peak)
    if "avx512_bf16" in levels:
        db = _kernels.database(U)  # with the bf16 and int8 copies of a long-lived database
        kernel(
            "knn_graph k=10, bf16 candidates, self-join",
            search(U, "bf16"),
            self_ops,
            "bf16_dpbf16ps_zmm",
        )
        kernel(
            "knn all V queries, bf16 candidates", search(Q, "bf16"), full_ops, "bf16_dpbf16ps_zmm"
        )
        kernel(
            "knn all V queries, int8 candidates", search(Q, "int8"), full_ops, "int8_vpdpbusd_zmm"
        )
    A = U[:4096]
    out = np.empty((4096, V), dtype=np.float32)
    kernel(
        f"cosine_matrix 4096 x {V} (fp32, written out)",
        lambda: _kernels.gram(A, U, out=out),
        2.0 * 4096 * V * d,
        "fp32_fma_zmm" if "avx512" in levels else "fp32_fma_ymm",
    )
    print(
        "wrote",
        write_json(
            "roofline", {"threads": threads, "rows": V, "peaks_gops": peaks, "kernels": rows}
        ),
    )


if __name__ == "__main__":
    main()
