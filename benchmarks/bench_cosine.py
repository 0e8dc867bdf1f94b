"""Dense cosine matrices on MiniLM rows: tokenspace ``cosine_matrix`` vs numpy, same run.

  * ``cosine_matrix(A)`` (A against itself: the upper triangle is computed and mirrored) vs
    numpy ``U @ U.T`` on the same unit rows (OpenBLAS syrk, which also uses the symmetry);
  * ``cosine_matrix(A, B)`` vs numpy ``Ua @ Ub.T`` (sgemm).

8000 rows: numpy's OpenBLAS crashed on this machine for U @ U.T with all 30522 rows.
Both libraries are timed in interleaved rounds (``_common.measure``).
Usage: python benchmarks/bench_cosine.py [--repeat 5] [--rows 8000]
Prints medians and ratios; writes benchmarks/results/bench_cosine.json.
"""

from __future__ import annotations

import argparse

import numpy as np

import tokenspace as ts

from _common import measure, peers_at_best, print_table, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rows", type=int, default=8000)
    args = ap.parse_args()
    peers_at_best(("numpy",))
    s = ts.load("minilm-l6")
    n = min(args.rows, len(s) // 2)
    A, B = s.vectors[:n], s.vectors[n : 2 * n]
    Ua, Ub = (
        np.ascontiguousarray(s.unit_vectors[:n]),
        np.ascontiguousarray(s.unit_vectors[n : 2 * n]),
    )
    out = np.empty((n, n), dtype=np.float32)
    res: dict = {"rows": n, "d": s.dim, "repeat": args.repeat}
    mine = ts.cosine_matrix(A, out=out).copy()
    np.testing.assert_allclose(mine, Ua @ Ua.T, atol=1e-5)
    cases = (
        ("self", lambda: ts.cosine_matrix(A, out=out), lambda: np.dot(Ua, Ua.T, out=out)),
        ("pair", lambda: ts.cosine_matrix(A, B, out=out), lambda: np.dot(Ua, Ub.T, out=out)),
    )
    table = []
    for name, f_ts, f_np in cases:
        tm = measure({"tokenspace": f_ts, "numpy": f_np}, args.repeat)
        t_ts, t_np = tm["tokenspace"].median, tm["numpy"].median
        flops = 2.0 * n * n * s.dim
        res[name] = {
            "tokenspace_s": t_ts,
            "numpy_s": t_np,
            "speedup_vs_numpy": t_np / t_ts,
            "tokenspace_gflops_equiv": flops / t_ts / 1e9,
            "timings": tm,
        }
        table.append((f"cosine_matrix {name} {n} x {n} x {s.dim}", t_ts, "numpy", t_np))
        print(
            f"cosine_matrix {name} {n} x {n} x {s.dim}: tokenspace {t_ts * 1e3:.1f} ms "
            f"(includes normalising the rows), numpy on unit rows {t_np * 1e3:.1f} ms "
            f"-> {t_np / t_ts:.2f}x"
        )
    print_table(table)
    print("wrote", write_json("bench_cosine", res))


if __name__ == "__main__":
    main()
