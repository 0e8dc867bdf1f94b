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
  * inference: a permutation test with 1000 permutations at n = 5000 and 100 at n = 30522
    (Pearson; each permutation is one dx x dy cross product), Spearman permutations and
    bootstrap samples at n = 5000, against rsatoolbox 0.3.2 doing the same (permute_rdms +
    compare per permutation) at n = 5000, the largest of these sizes whose dense float64 RDMs
    it can hold (n = 30522 would need 7.5 GB per RDM matrix and copies of it). Each case is
    also compared with P separate RSA runs (P x the time of one ts.rsa call).
Peak extra memory (VmHWM - VmRSS before the call) is measured in a fresh subprocess per case
(``_common.fresh_process``); times come from ``_common.measure`` (cases interleaved).

Usage: python benchmarks/bench_rsa.py [--repeat 5] [--skip-spearman-full] [--quick]
       python benchmarks/bench_rsa.py --inference-only [--rsatoolbox-perms 1000]
Prints medians and ratios; writes benchmarks/results/bench_rsa.json.
"""

from __future__ import annotations

import argparse

import numpy as np

import tokenspace as ts
from tokenspace import _kernels

from _common import fresh_process, measure, peers_at_best, print_table, write_json

N_SMALL = 5000
QUICK_ROWS = 8000


def make_data(seed: int = 0, rows: int | None = None):
    """MiniLM unit rows (the first ``rows``, default all), a rotated + noised copy, and the
    5000-item subsets."""
    s = ts.load("minilm-l6")
    U = np.ascontiguousarray(s.unit_vectors[:rows])
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((U.shape[1], U.shape[1])))[0].astype(np.float32)
    # U @ Q through the tokenspace GEMM (numpy's OpenBLAS is unreliable on this CPU at this size)
    UQ = _kernels.gram(U, np.ascontiguousarray(Q.T))
    noise = 0.02 * rng.standard_normal(U.shape).astype(np.float32)
    Y = np.ascontiguousarray(ts.unit_rows(UQ + noise))
    sub = np.sort(rng.permutation(U.shape[0])[:N_SMALL])
    return U, Y, sub


# The statement each memory case runs, after make_data() in a fresh interpreter.
_MEMORY_CASES = {
    "faiss": (
        "import faiss\nindex = faiss.IndexFlatIP(U.shape[1])\nindex.add(U)",
        "index.search(U, 10)",
    ),
    "pearson": ("", "ts.rsa(U, Y)"),
    "split_half": ("", "ts.rsa_split_half(U)"),
    "spearman_full": ("", "ts.rsa(U, Y, method='spearman')"),
}


def peak_extra_mib(case: str, rows: int | None) -> float:
    """Peak memory one case adds, in a fresh process (no pages left over from other cases)."""
    setup, stmt = _MEMORY_CASES[case]
    data = (
        f"import tokenspace as ts\nimport bench_rsa as B\nU, Y, sub = B.make_data(rows={rows!r})\n"
    )
    return fresh_process(stmt, setup=data + setup)["peak_extra_mib"]


def inference(U: np.ndarray, Y: np.ndarray, sub: np.ndarray, args: argparse.Namespace) -> dict:
    """Permutation tests and bootstrap intervals, tokenspace vs rsatoolbox, same run."""
    import warnings

    from rsatoolbox.rdm import RDMs, compare
    from rsatoolbox.rdm.rdms import permute_rdms

    A, B = np.ascontiguousarray(U[sub]), np.ascontiguousarray(Y[sub])
    n, V = A.shape[0], U.shape[0]
    P5, PV, PS, BS, PR = (
        args.perms_small,
        args.perms_full,
        args.perms_spearman,
        args.bootstrap,
        args.rsatoolbox_perms,
    )
    iu = np.triu_indices(n, 1)

    def rsatoolbox_test():
        # rsatoolbox's RDMs of the same similarities (1 - cosine), then its permutation loop
        rx = RDMs((1 - A.astype(np.float64) @ A.T.astype(np.float64))[iu][None, :])
        ry = RDMs(
            (1 - B.astype(np.float64) @ B.T.astype(np.float64))[iu][None, :],
            pattern_descriptors={"index": list(range(n))},
        )
        np.random.seed(0)
        null = [
            compare(rx, permute_rdms(ry, np.random.permutation(n)), "corr")[0, 0] for _ in range(PR)
        ]
        return np.array(null)

    cases = {
        "rsa_once_5000": lambda: ts.rsa(A, B),
        "rsa_once_full": lambda: ts.rsa(U, Y),
        "perm_pearson_5000": lambda: ts.rsa(A, B, permutations=P5, seed=0),
        "perm_pearson_full": lambda: ts.rsa(U, Y, permutations=PV, seed=0),
        "perm_spearman_5000": lambda: ts.rsa(A, B, method="spearman", permutations=PS, seed=0),
        "boot_pearson_5000": lambda: ts.rsa(A, B, bootstrap=BS, seed=0),
        "rsatoolbox_perm_5000": rsatoolbox_test,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = measure(cases, 1, warmup=0)
    t = {k: v.median for k, v in tm.items()}
    ours_null = tm["perm_pearson_5000"].result.null[:PR]
    theirs = tm["rsatoolbox_perm_5000"].result
    out = {
        "n_small": n,
        "n_full": V,
        "permutations_small": P5,
        "permutations_full": PV,
        "permutations_spearman": PS,
        "bootstrap_samples": BS,
        "rsatoolbox_permutations": PR,
        "times_s": t,
        "timings": tm,
        "rsatoolbox_time_per_permutation_s": t["rsatoolbox_perm_5000"] / PR,
        "rsatoolbox_extrapolated_s_for_small": t["rsatoolbox_perm_5000"] / PR * P5,
        "ratio_vs_separate_runs_small": t["perm_pearson_5000"] / (P5 * t["rsa_once_5000"]),
        "ratio_vs_separate_runs_full": t["perm_pearson_full"] / (PV * t["rsa_once_full"]),
        "max_abs_null_diff_vs_rsatoolbox": float(
            np.abs(ours_null - theirs[: ours_null.size]).max()
        ),
        "p_value_small": tm["perm_pearson_5000"].result.p_value,
        "p_value_full": tm["perm_pearson_full"].result.p_value,
        "ci_small": tm["boot_pearson_5000"].result.ci,
    }
    print("\ninference (Pearson unless noted), same run")
    print(f"  one ts.rsa, n={n}               {t['rsa_once_5000']:8.2f} s")
    print(f"  one ts.rsa, n={V}              {t['rsa_once_full']:8.2f} s")
    print(
        f"  {P5} permutations, n={n}       {t['perm_pearson_5000']:8.2f} s  "
        f"= {out['ratio_vs_separate_runs_small']:.3f} x {P5} separate runs"
    )
    print(
        f"  {PV} permutations, n={V}       {t['perm_pearson_full']:8.2f} s  "
        f"= {out['ratio_vs_separate_runs_full']:.3f} x {PV} separate runs"
    )
    print(f"  {PS} Spearman permutations, n={n} {t['perm_spearman_5000']:8.2f} s")
    print(f"  {BS} bootstrap samples, n={n}      {t['boot_pearson_5000']:8.2f} s")
    print(
        f"  rsatoolbox {PR} permutations, n={n} {t['rsatoolbox_perm_5000']:8.2f} s "
        f"({t['rsatoolbox_perm_5000'] / PR:.3f} s each; {P5} would take "
        f"{out['rsatoolbox_extrapolated_s_for_small']:.0f} s); same permutations, "
        f"max |null difference| {out['max_abs_null_diff_vs_rsatoolbox']:.1e}"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--skip-spearman-full",
        action="store_true",
        help="skip the exact Spearman at n = 30522 (about 5 GB, minutes)",
    )
    ap.add_argument("--skip-memory", action="store_true", help="skip the subprocess memory probes")
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"the first {QUICK_ROWS} tokens as the 'full' vocabulary, 2 repeats, no full Spearman",
    )
    ap.add_argument("--inference-only", action="store_true", help="only the inference cases")
    ap.add_argument("--perms-small", type=int, default=1000, help="permutations at n = 5000")
    ap.add_argument("--perms-full", type=int, default=100, help="permutations at full size")
    ap.add_argument("--perms-spearman", type=int, default=100, help="Spearman, n = 5000")
    ap.add_argument("--bootstrap", type=int, default=100, help="bootstrap samples, n = 5000")
    ap.add_argument(
        "--rsatoolbox-perms",
        type=int,
        default=1000,
        help="rsatoolbox permutations at n = 5000 (about 1 s each: fewer for a quick look)",
    )
    args = ap.parse_args()
    peers_at_best(("numpy", "faiss"))
    rows = QUICK_ROWS if args.quick else None
    if args.quick:  # rsatoolbox's loop takes about 1 s per permutation: a few give its rate
        args.rsatoolbox_perms = min(args.rsatoolbox_perms, 20)
        args.perms_small, args.perms_full = min(args.perms_small, 200), min(args.perms_full, 20)
        args.perms_spearman, args.bootstrap = min(args.perms_spearman, 20), min(args.bootstrap, 20)
    if args.inference_only:
        U, Y, sub = make_data(rows=rows)
        res = {"inference": inference(U, Y, sub, args)}
        print("\nwrote", write_json("bench_rsa_inference", res))
        return
    if args.quick:
        args.repeat, args.skip_spearman_full = min(args.repeat, 2), True
    import faiss
    import scipy.stats

    U, Y, sub = make_data(rows=rows)
    V, d = U.shape
    print(
        f"MiniLM {V} x {d}: {V * (V - 1) // 2:,} pairs; threads: tokenspace "
        f"{ts.num_threads()}, faiss {faiss.omp_get_max_threads()}; simd {ts.simd_level()}"
    )
    res: dict = {"V": V, "d": d, "n_pairs": V * (V - 1) // 2, "repeat": args.repeat}

    # full vocabulary Pearson vs one faiss all-vs-all kNN
    index = faiss.IndexFlatIP(d)
    index.add(U)
    tm = measure(
        {
            "faiss": lambda: index.search(U, 10),
            "pearson": lambda: ts.rsa(U, Y),
            "split_half": lambda: ts.rsa_split_half(U),
        },
        args.repeat,
    )
    t_faiss, t_p, t_h = (tm[n].median for n in ("faiss", "pearson", "split_half"))
    r_full, r_half = tm["pearson"].result, tm["split_half"].result
    res["full"] = {
        "faiss_knn_all_vs_all_s": t_faiss,
        "pearson_rotated_noised_s": t_p,
        "pearson_split_half_s": t_h,
        "timings": tm,
        "ratio_pearson_to_faiss": t_p / t_faiss,
        "ratio_split_half_to_faiss": t_h / t_faiss,
        "r_rotated_noised": r_full.r,
        "cosine_of_triangles_rotated_noised": r_full.cosine_of_triangles,
        "r_split_half": r_half.r,
        "cosine_of_triangles_split_half": r_half.cosine_of_triangles,
    }
    print(f"\nfull vocabulary ({V} items)")
    print(f"  faiss all-vs-all kNN k=10     {t_faiss:8.2f} s")
    print(
        f"  ts.rsa pearson (rot.+noise)   {t_p:8.2f} s   = {t_p / t_faiss:.2f}x faiss  "
        f"r={r_full.r:.6f}"
    )
    print(
        f"  ts.rsa_split_half pearson     {t_h:8.2f} s   = {t_h / t_faiss:.2f}x faiss  "
        f"r={r_half.r:.6f}"
    )

    # n = 5000: numpy / scipy on explicit triangles
    A, B = np.ascontiguousarray(U[sub]), np.ascontiguousarray(Y[sub])
    iu = np.triu_indices(N_SMALL, 1)

    def numpy_pearson():
        S1, S2 = A @ A.T, B @ B.T
        return np.corrcoef(S1[iu], S2[iu])[0, 1]

    def scipy_spearman():
        S1, S2 = A @ A.T, B @ B.T
        return scipy.stats.spearmanr(S1[iu], S2[iu]).statistic

    # scipy's spearmanr takes seconds per call: fewer runs, none untimed
    tm = measure(
        {
            "numpy": numpy_pearson,
            "tokenspace_pearson": lambda: ts.rsa(A, B),
            "tokenspace_spearman": lambda: ts.rsa(A, B, method="spearman"),
            "scipy": scipy_spearman,
        },
        {
            "numpy": args.repeat,
            "tokenspace_pearson": args.repeat,
            "tokenspace_spearman": args.repeat,
            "scipy": max(3, args.repeat // 2),
        },
        warmup={"numpy": 1, "tokenspace_pearson": 1, "tokenspace_spearman": 1, "scipy": 0},
    )
    t_np, t_ts5, t_sp, t_sc = (
        tm[n].median for n in ("numpy", "tokenspace_pearson", "tokenspace_spearman", "scipy")
    )
    r_np, r_ts = tm["numpy"].result, tm["tokenspace_pearson"].result
    sp_ts, sp_sc = tm["tokenspace_spearman"].result, tm["scipy"].result
    res["n5000"] = {
        "numpy_corrcoef_s": t_np,
        "tokenspace_pearson_s": t_ts5,
        "timings": tm,
        "speedup_pearson_vs_numpy": t_np / t_ts5,
        "r_tokenspace": r_ts.r,
        "r_numpy": float(r_np),
        "abs_diff_pearson": abs(r_ts.r - r_np),
        "scipy_spearmanr_s": t_sc,
        "tokenspace_spearman_s": t_sp,
        "speedup_spearman_vs_scipy": t_sc / t_sp,
        "spearman_tokenspace": sp_ts.r,
        "spearman_scipy": float(sp_sc),
        "abs_diff_spearman": abs(sp_ts.r - sp_sc),
    }
    print(f"\nn = {N_SMALL} items ({N_SMALL * (N_SMALL - 1) // 2:,} pairs)")
    print(
        f"  numpy corrcoef(S1[iu], S2[iu])  {t_np:7.3f} s   ts.rsa {t_ts5:7.3f} s   "
        f"speedup {t_np / t_ts5:5.1f}x   |dr| = {abs(r_ts.r - r_np):.1e}"
    )
    print(
        f"  scipy spearmanr                 {t_sc:7.3f} s   ts.rsa {t_sp:7.3f} s   "
        f"speedup {t_sc / t_sp:5.1f}x   |dr| = {abs(sp_ts.r - sp_sc):.1e}"
    )

    table = [
        (f"Pearson RSA, {V} items", t_p, "faiss all-vs-all kNN", t_faiss),
        (f"Pearson RSA, n = {N_SMALL}", t_ts5, "numpy corrcoef", t_np),
        (f"Spearman RSA, n = {N_SMALL}", t_sp, "scipy spearmanr", t_sc),
    ]

    # exact Spearman at full size: one run (minutes, gigabytes)
    if not args.skip_spearman_full:
        tm = measure({"spearman_full": lambda: ts.rsa(U, Y, method="spearman")}, 1, warmup=0)
        t_full, sp_full = tm["spearman_full"].median, tm["spearman_full"].result
        res["spearman_full"] = {
            "time_s": t_full,
            "spearman": sp_full.r,
            "pearson": sp_full.pearson,
            "timing": tm["spearman_full"],
        }
        print(f"\nexact Spearman, {V} items: {t_full:.1f} s, rho={sp_full.r:.6f}")

    if not args.skip_memory:
        cases = ["faiss", "pearson", "split_half"]
        if not args.skip_spearman_full:
            cases.append("spearman_full")
        mem = {c: peak_extra_mib(c, rows) for c in cases}
        res["peak_extra_mib"] = mem
        print(
            "\npeak extra memory (fresh process each): "
            + ", ".join(f"{c} {m:,.0f} MiB" for c, m in mem.items())
        )

    res["inference"] = inference(U, Y, sub, args)
    t_inf = res["inference"]["times_s"]
    table.append(
        (
            f"{args.perms_small} permutations, n = {N_SMALL}",
            t_inf["perm_pearson_5000"],
            f"rsatoolbox x{args.perms_small / args.rsatoolbox_perms:g}",
            res["inference"]["rsatoolbox_extrapolated_s_for_small"],
        )
    )
    print_table(table)
    print("\nwrote", write_json("bench_rsa", res))


if __name__ == "__main__":
    main()
