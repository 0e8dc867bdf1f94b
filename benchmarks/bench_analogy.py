"""Analogies, evaluations and projections: tokenspace vs gensim (and numpy) in the same run.

Measures on the embedded GloVe 6B 50d (400000 x 50):
  * evaluate_analogies(questions-words.txt, restrict_vocab=300000) vs gensim's
    evaluate_word_analogies: same accuracy and per-section counts are checked, then timed;
  * most_similar (3CosAdd and 3CosMul) single query vs gensim most_similar / most_similar_cosmul;
  * evaluate_word_pairs (WordSim353, SimLex-999) vs gensim, numbers compared exactly;
  * project over the whole 400k x 50 matrix, reported in GB/s, vs numpy's float32 X @ a.

Medians of --repeats runs (default 5); gensim's full analogy evaluation takes ~50 s per run, so
it is run --gensim-eval-repeats times (default 1) unless asked for more. Writes
benchmarks/results/bench_analogy.json.

    PYTHONPATH=python python benchmarks/bench_analogy.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


CPU: dict[int, float] = {}


def timed(fn, repeats):
    """Median wall time, all wall times, last result; CPU time (all threads) kept in CPU."""
    ts_, cpu, out = [], [], None
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        ts_.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU[id(fn)] = statistics.median(cpu)
    return statistics.median(ts_), ts_, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gensim-eval-repeats", type=int, default=1)
    ap.add_argument("--restrict-vocab", type=int, default=300000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_analogy.json"))
    args = ap.parse_args()

    import logging

    import tokenspace as ts
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    logging.getLogger("gensim").setLevel(logging.WARNING)
    s = ts.load("glove-6b-50d")
    kv = KeyedVectors(s.dim)
    kv.add_vectors(list(s.vocab), np.array(s.vectors))
    kv.fill_norms()
    s.unit_vectors  # noqa: B018 - both libraries cache their normalised rows before timing
    qw = datapath("questions-words.txt")
    results: dict = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": ts.num_threads(),
                    "simd": ts.simd_level(), "loadavg_start": os.getloadavg()[0]},
        "data": f"glove-6b-50d {len(s)}x{s.dim}",
    }
    rows = []

    # -- evaluate_analogies ------------------------------------------------------------------
    rv = args.restrict_vocab
    f_ts = lambda: ts.evaluate_analogies(s, qw, restrict_vocab=rv)  # noqa: E731
    f_g = lambda: kv.evaluate_word_analogies(qw, restrict_vocab=rv)  # noqa: E731
    t_ts, all_ts, r = timed(f_ts, args.repeats)
    t_g, all_g, g = timed(f_g, args.gensim_eval_repeats)
    cpu_ts, cpu_g = CPU[id(f_ts)], CPU[id(f_g)]
    score, secs = r.to_gensim()
    same_sections = [len(a["correct"]) == len(b["correct"]) and len(a["incorrect"]) == len(b["incorrect"])
                     for a, b in zip(secs, g[1])]
    identical = score == g[0] and all(a == b for a, b in zip(secs, g[1])) and len(secs) == len(g[1])
    results["evaluate_analogies"] = {
        "restrict_vocab": rv, "tokenspace_s": t_ts, "tokenspace_runs": all_ts, "gensim_s": t_g,
        "gensim_runs": all_g, "speedup": t_g / t_ts, "tokenspace_cpu_s": cpu_ts,
        "gensim_cpu_s": cpu_g, "cpu_time_ratio": cpu_g / cpu_ts, "accuracy_tokenspace": r.accuracy,
        "accuracy_gensim": g[0], "per_section_counts_equal": all(same_sections),
        "identical_question_lists": identical,
        "sections": [[x.name, x.correct, x.total] for x in r.sections],
    }
    rows.append(("evaluate_analogies (19544 q, restrict 300k)", t_ts, t_g))
    print(f"evaluate_analogies: tokenspace {t_ts:.3f} s (cpu {cpu_ts:.2f} s), gensim {t_g:.2f} s "
          f"(cpu {cpu_g:.2f} s), x{t_g / t_ts:.1f}; accuracy {r.accuracy:.6f} vs {g[0]:.6f}; sections equal: "
          f"{all(same_sections)}; identical: {identical}")
    t_m, _, rm = timed(lambda: ts.evaluate_analogies(s, qw, restrict_vocab=rv, method="3cosmul"),
                       args.repeats)
    results["evaluate_analogies_3cosmul"] = {"tokenspace_s": t_m, "accuracy": rm.accuracy}
    print(f"evaluate_analogies 3CosMul: tokenspace {t_m:.3f} s (no gensim peer), accuracy {rm.accuracy:.4f}")

    # -- most_similar single query -------------------------------------------------------------
    reps = max(20, args.repeats)
    q = dict(positive=["king", "woman"], negative=["man"], topn=10)
    for name, f_ts, f_g in (
        ("most_similar 3CosAdd", lambda: s.most_similar(**q), lambda: kv.most_similar(**q)),
        ("most_similar 3CosMul", lambda: s.most_similar(method="3cosmul", **q),
         lambda: kv.most_similar_cosmul(**q)),
    ):
        f_ts(), f_g()
        a, _, ra = timed(f_ts, reps)
        b, _, rb = timed(f_g, reps)
        same = [w for w, _ in ra] == [w for w, _ in rb]
        results[name] = {"tokenspace_ms": a * 1e3, "gensim_ms": b * 1e3, "speedup": b / a,
                         "same_words": same}
        rows.append((name + " (1 query, 400k x 50)", a, b))
        print(f"{name}: tokenspace {a * 1e3:.2f} ms, gensim {b * 1e3:.2f} ms, x{b / a:.1f}, same words {same}")

    # -- word pairs ---------------------------------------------------------------------------------
    for name in ("wordsim353.tsv", "simlex999.txt"):
        a, _, ra = timed(lambda: ts.evaluate_word_pairs(s, datapath(name)), args.repeats)
        b, _, rb = timed(lambda: kv.evaluate_word_pairs(datapath(name)), args.repeats)
        same = (ra.pearson, ra.spearman, ra.oov_ratio) == (rb[0][0], rb[1][0], rb[2])
        results[f"evaluate_word_pairs {name}"] = {
            "tokenspace_s": a, "gensim_s": b, "speedup": b / a, "pearson": ra.pearson,
            "spearman": ra.spearman, "oov_ratio": ra.oov_ratio, "identical_to_gensim": same}
        rows.append((f"evaluate_word_pairs {name}", a, b))
        print(f"evaluate_word_pairs {name}: tokenspace {a * 1e3:.1f} ms, gensim {b * 1e3:.1f} ms; "
              f"pearson {ra.pearson:.4f} spearman {ra.spearman:.4f} identical {same}")

    # -- project ----------------------------------------------------------------------------------
    axis = ts.semantic_axis(s, ["future", "tomorrow"], ["past", "yesterday"])
    X = s.vectors
    a_unit = (axis / np.linalg.norm(axis)).astype(np.float32)
    ts.project(s, axis)
    a, _, pr = timed(lambda: ts.project(s, axis), reps)
    b, _, pn = timed(lambda: X @ a_unit, reps)
    gbs = X.nbytes / a / 1e9
    results["project"] = {"tokenspace_ms": a * 1e3, "numpy_ms": b * 1e3, "speedup": b / a,
                          "tokenspace_GBps": gbs, "numpy_GBps": X.nbytes / b / 1e9,
                          "max_abs_diff_vs_numpy": float(np.abs(pr - pn).max())}
    rows.append(("project 400k x 50 (numpy X @ a as peer)", a, b))
    print(f"project: tokenspace {a * 1e3:.2f} ms ({gbs:.1f} GB/s), numpy {b * 1e3:.2f} ms "
          f"({X.nbytes / b / 1e9:.1f} GB/s)")

    results["machine"]["loadavg_end"] = os.getloadavg()[0]
    print("\n| operation | tokenspace | peer | ratio |\n|---|---|---|---|")
    for name, a, b in rows:
        print(f"| {name} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {b / a:.1f}x |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
