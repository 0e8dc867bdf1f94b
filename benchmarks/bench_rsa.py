"""RSA at vocabulary scale: tokenspace vs faiss (time yardstick), numpy and scipy (exact peers).

Measured in one run, on the MiniLM token matrix (30522 x 384, unit rows):
  * Pearson RSA of two 30522-item spaces (465.8M pairs), never building a 30522 x 30522 matrix:
      - MiniLM vs a rotated + noised copy of itself (dx = dy = 384),
      - split-half: even vs odd dimensions (dx = dy = 192);
    against the time of ONE faiss all-vs-all kNN (IndexFlatIP.search, k=10, of the whole
    matrix against itself). Target: RSA <= 3x that time, < 1 GB extra memory.
  * n = 5000 items: Pearson vs numpy ``np.corrcoef(S1[iu], S2[iu])`` (S = U @ U.T, float32),
    equality checked; Spearman vs ``scipy.stats.spearmanr(S1[iu], S2[iu])`` (target >= 5x).
  * exact Spearman at n = 30522: time and peak memory.
Peak extra memory (VmHWM - VmRSS before the call) is measured in a fresh subprocess per case.

Usage: python benchmarks/bench_rsa.py [--repeat 5] [--skip-spearman-full]
Prints medians and ratios; writes benchmarks/results/bench_rsa.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import tokenspace as ts
from tokenspace import _core

RESULTS = Path(__file__).resolve().parent / "results"
N_SMALL = 5000


def median_time(fn, repeat: int, warmup: int = 1) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs


def make_data(seed: int = 0):
    """MiniLM unit rows, a rotated + noised copy, and the 5000-item subsets."""
    s = ts.load("minilm-l6")
    U = np.ascontiguousarray(s.unit_vectors)
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((U.shape[1], U.shape[1])))[0].astype(np.float32)
    # U @ Q through the tokenspace GEMM (numpy's OpenBLAS is unreliable on this CPU at this size)
    UQ = _core.gram(U, np.ascontiguousarray(Q.T))
    noise = 0.02 * rng.standard_normal(U.shape).astype(np.float32)
    Y = np.ascontiguousarray(ts.unit_rows(UQ + noise))
    sub = np.sort(rng.permutation(U.shape[0])[:N_SMALL])
    return U, Y, sub


# Runs one case in a fresh interpreter and prints the peak RSS it added, in MiB.
_MEMORY_PROBE = r"""
import sys, json
sys.path.insert(0, {bench_dir!r})
from pathlib import Path
import numpy as np
import tokenspace as ts
import bench_rsa as B

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

U, Y, sub = B.make_data()
case = {case!r}
if case == "faiss":
    import faiss
    index = faiss.IndexFlatIP(U.shape[1]); index.add(U)
    run = lambda: index.search(U, 10)
elif case == "pearson":
    run = lambda: ts.rsa(U, Y)
elif case == "split_half":
    run = lambda: ts.rsa_split_half(U)
elif case == "spearman_full":
    run = lambda: ts.rsa(U, Y, method="spearman")
try:
    Path("/proc/self/clear_refs").write_text("5")   # reset VmHWM to the current RSS
except OSError:
    pass
before = status("VmRSS")
run()
print(json.dumps((status("VmHWM") - before) / 1024.0))
"""


def peak_extra_mib(case: str) -> float:
    code = _MEMORY_PROBE.format(bench_dir=str(Path(__file__).resolve().parent), case=case)
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-spearman-full", action="store_true",
                    help="skip the exact Spearman at n = 30522 (about 5 GB, minutes)")
    ap.add_argument("--skip-memory", action="store_true", help="skip the subprocess memory probes")
    args = ap.parse_args()
    import faiss
    import scipy.stats

    U, Y, sub = make_data()
    V, d = U.shape
    print(f"MiniLM {V} x {d}: {V * (V - 1) // 2:,} pairs; threads: tokenspace "
          f"{ts.num_threads()}, faiss {faiss.omp_get_max_threads()}; simd {ts.simd_level()}")
    res: dict = {"V": V, "d": d, "n_pairs": V * (V - 1) // 2, "simd": ts.simd_level(),
                 "threads": ts.num_threads(), "repeat": args.repeat}

    # -- full vocabulary Pearson vs one faiss all-vs-all kNN -----------------------------
    index = faiss.IndexFlatIP(d)
    index.add(U)
    t_faiss, runs_faiss = median_time(lambda: index.search(U, 10), args.repeat)
    t_p, runs_p = median_time(lambda: ts.rsa(U, Y), args.repeat)
    t_h, runs_h = median_time(lambda: ts.rsa_split_half(U), args.repeat)
    r_full, r_half = ts.rsa(U, Y), ts.rsa_split_half(U)
    res["full"] = {
        "faiss_knn_all_vs_all_s": t_faiss, "runs_faiss": runs_faiss,
        "pearson_rotated_noised_s": t_p, "runs_pearson": runs_p,
        "pearson_split_half_s": t_h, "runs_split_half": runs_h,
        "ratio_pearson_to_faiss": t_p / t_faiss, "ratio_split_half_to_faiss": t_h / t_faiss,
        "r_rotated_noised": r_full.r, "cosine_of_triangles_rotated_noised":
            r_full.cosine_of_triangles,
        "r_split_half": r_half.r, "cosine_of_triangles_split_half": r_half.cosine_of_triangles,
    }
    print(f"\nfull vocabulary ({V} items)")
    print(f"  faiss all-vs-all kNN k=10     {t_faiss:8.2f} s")
    print(f"  ts.rsa pearson (rot.+noise)   {t_p:8.2f} s   = {t_p / t_faiss:.2f}x faiss  "
          f"r={r_full.r:.6f}")
    print(f"  ts.rsa_split_half pearson     {t_h:8.2f} s   = {t_h / t_faiss:.2f}x faiss  "
          f"r={r_half.r:.6f}")

    # -- n = 5000: numpy / scipy on explicit triangles ------------------------------------
    A, B = np.ascontiguousarray(U[sub]), np.ascontiguousarray(Y[sub])
    iu = np.triu_indices(N_SMALL, 1)

    def numpy_pearson():
        S1, S2 = A @ A.T, B @ B.T
        return np.corrcoef(S1[iu], S2[iu])[0, 1]

    def scipy_spearman():
        S1, S2 = A @ A.T, B @ B.T
        return scipy.stats.spearmanr(S1[iu], S2[iu]).statistic

    r_np = numpy_pearson()
    r_ts = ts.rsa(A, B)
    t_np, runs_np = median_time(numpy_pearson, args.repeat)
    t_ts5, runs_ts5 = median_time(lambda: ts.rsa(A, B), args.repeat)
    sp_ts = ts.rsa(A, B, method="spearman")
    t_sp, runs_sp = median_time(lambda: ts.rsa(A, B, method="spearman"), args.repeat)
    sp_sc = scipy_spearman()
    t_sc, runs_sc = median_time(scipy_spearman, max(3, args.repeat // 2), warmup=0)
    res["n5000"] = {
        "numpy_corrcoef_s": t_np, "runs_numpy": runs_np,
        "tokenspace_pearson_s": t_ts5, "runs_tokenspace_pearson": runs_ts5,
        "speedup_pearson_vs_numpy": t_np / t_ts5,
        "r_tokenspace": r_ts.r, "r_numpy": float(r_np), "abs_diff_pearson": abs(r_ts.r - r_np),
        "scipy_spearmanr_s": t_sc, "runs_scipy": runs_sc,
        "tokenspace_spearman_s": t_sp, "runs_tokenspace_spearman": runs_sp,
        "speedup_spearman_vs_scipy": t_sc / t_sp,
        "spearman_tokenspace": sp_ts.r, "spearman_scipy": float(sp_sc),
        "abs_diff_spearman": abs(sp_ts.r - sp_sc),
    }
    print(f"\nn = {N_SMALL} items ({N_SMALL * (N_SMALL - 1) // 2:,} pairs)")
    print(f"  numpy corrcoef(S1[iu], S2[iu])  {t_np:7.3f} s   ts.rsa {t_ts5:7.3f} s   "
          f"speedup {t_np / t_ts5:5.1f}x   |dr| = {abs(r_ts.r - r_np):.1e}")
    print(f"  scipy spearmanr                 {t_sc:7.3f} s   ts.rsa {t_sp:7.3f} s   "
          f"speedup {t_sc / t_sp:5.1f}x   |dr| = {abs(sp_ts.r - sp_sc):.1e}")

    # -- exact Spearman at full size ------------------------------------------------------
    if not args.skip_spearman_full:
        t = time.perf_counter()
        sp_full = ts.rsa(U, Y, method="spearman")
        t_full = time.perf_counter() - t
        res["spearman_full"] = {"time_s": t_full, "spearman": sp_full.r, "pearson": sp_full.pearson}
        print(f"\nexact Spearman, {V} items: {t_full:.1f} s, rho={sp_full.r:.6f}")

    if not args.skip_memory:
        cases = ["faiss", "pearson", "split_half"]
        if not args.skip_spearman_full:
            cases.append("spearman_full")
        mem = {c: peak_extra_mib(c) for c in cases}
        res["peak_extra_mib"] = mem
        print("\npeak extra memory (fresh process each): " +
              ", ".join(f"{c} {m:,.0f} MiB" for c, m in mem.items()))

    RESULTS.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "")
    payload = {"machine": {"cpu": cpu, "cores": os.cpu_count(),
                           "python": platform.python_version()},
               "time": time.strftime("%Y-%m-%d %H:%M:%S"), **res}
    path = RESULTS / "bench_rsa.json"
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
