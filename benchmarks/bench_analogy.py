"""Analogies, evaluations and projections: tokenspace vs gensim (and numpy) in the same run.

Measures on the embedded GloVe 6B 50d (400000 x 50):
  * evaluate_analogies(questions-words.txt, restrict_vocab=300000) vs gensim's
    evaluate_word_analogies: same accuracy and per-section counts are checked, then timed;
  * most_similar (3CosAdd and 3CosMul) single query vs gensim most_similar / most_similar_cosmul;
  * evaluate_word_pairs (WordSim353, SimLex-999) vs gensim, numbers compared exactly;
  * project over the whole 400k x 50 matrix, reported in GB/s, vs numpy's float32 X @ a.

Medians of --repeats runs (default 5), the two libraries interleaved by ``_common.measure``;
gensim's full analogy evaluation takes ~50 s per run, so it is run --gensim-eval-repeats times
(default 1, no untimed run first) unless asked for more. Writes
benchmarks/results/bench_analogy.json.

    PYTHONPATH=python python benchmarks/bench_analogy.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import measure, peers_at_best, print_table, write_json


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gensim-eval-repeats", type=int, default=1)
    ap.add_argument("--restrict-vocab", type=int, default=300000)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="2 repeats and restrict_vocab 30000 (gensim's evaluation in seconds)",
    )
    ap.add_argument(
        "--out", default=None, help="JSON file (default benchmarks/results/bench_analogy.json)"
    )
    args = ap.parse_args()
    peers_at_best(("numpy",))
    if args.quick:
        args.repeats, args.restrict_vocab = min(args.repeats, 2), min(args.restrict_vocab, 30000)

    import logging

    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    import tokenspace as ts
    from tokenspace import _kernels

    logging.getLogger("gensim").setLevel(logging.WARNING)
    s = ts.load("glove-6b-50d")
    kv = KeyedVectors(s.dim)
    kv.add_vectors(list(s.vocab), np.array(s.vectors))
    kv.fill_norms()
    s.unit_vectors  # noqa: B018 - both libraries cache their normalised rows before timing
    qw = datapath("questions-words.txt")
    results: dict = {"data": f"glove-6b-50d {len(s)}x{s.dim}"}
    rows = []

    rv = args.restrict_vocab
    tm = measure(
        {
            "tokenspace": lambda: ts.evaluate_analogies(s, qw, restrict_vocab=rv),
            "gensim": lambda: kv.evaluate_word_analogies(qw, restrict_vocab=rv),
        },
        {"tokenspace": args.repeats, "gensim": args.gensim_eval_repeats},
        warmup={"tokenspace": 1, "gensim": 0},
    )
    t_ts, t_g = tm["tokenspace"].median, tm["gensim"].median
    cpu_ts, cpu_g = tm["tokenspace"].cpu_median, tm["gensim"].cpu_median
    r, g = tm["tokenspace"].result, tm["gensim"].result
    score, secs = r.to_gensim()
    same_sections = [
        len(a["correct"]) == len(b["correct"]) and len(a["incorrect"]) == len(b["incorrect"])
        for a, b in zip(secs, g[1])
    ]
    identical = score == g[0] and all(a == b for a, b in zip(secs, g[1])) and len(secs) == len(g[1])
    results["evaluate_analogies"] = {
        "restrict_vocab": rv,
        "tokenspace_s": t_ts,
        "gensim_s": t_g,
        "timings": tm,
        "speedup": t_g / t_ts,
        "tokenspace_cpu_s": cpu_ts,
        "gensim_cpu_s": cpu_g,
        "cpu_time_ratio": cpu_g / cpu_ts,
        "accuracy_tokenspace": r.accuracy,
        "accuracy_gensim": g[0],
        "per_section_counts_equal": all(same_sections),
        "identical_question_lists": identical,
        "sections": [[x.name, x.correct, x.total] for x in r.sections],
    }
    rows.append((f"evaluate_analogies (19544 q, restrict {rv})", t_ts, "gensim", t_g))
    print(
        f"evaluate_analogies: tokenspace {t_ts:.3f} s (cpu {cpu_ts:.2f} s), gensim {t_g:.2f} s "
        f"(cpu {cpu_g:.2f} s), x{t_g / t_ts:.1f}; accuracy {r.accuracy:.6f} vs {g[0]:.6f}; sections equal: "
        f"{all(same_sections)}; identical: {identical}"
    )
    tm = measure(
        {"tokenspace": lambda: ts.evaluate_analogies(s, qw, restrict_vocab=rv, method="3cosmul")},
        args.repeats,
    )
    t_m, rm = tm["tokenspace"].median, tm["tokenspace"].result
    results["evaluate_analogies_3cosmul"] = {
        "tokenspace_s": t_m,
        "accuracy": rm.accuracy,
        "timings": tm,
    }
    print(
        f"evaluate_analogies 3CosMul: tokenspace {t_m:.3f} s (no gensim peer), accuracy {rm.accuracy:.4f}"
    )

    reps = max(20, args.repeats)
    q = {"positive": ["king", "woman"], "negative": ["man"], "topn": 10}
    for name, f_ts, f_g in (
        ("most_similar 3CosAdd", lambda: s.most_similar(**q), lambda: kv.most_similar(**q)),
        (
            "most_similar 3CosMul",
            lambda: s.most_similar(method="3cosmul", **q),
            lambda: kv.most_similar_cosmul(**q),
        ),
    ):
        # millisecond calls: let the other library's BLAS workers stop spinning first
        tm = measure({"tokenspace": f_ts, "gensim": f_g}, reps, settle=0.25)
        a, b = tm["tokenspace"].median, tm["gensim"].median
        ra, rb = tm["tokenspace"].result, tm["gensim"].result
        same = [w for w, _ in ra] == [w for w, _ in rb]
        results[name] = {
            "tokenspace_ms": a * 1e3,
            "gensim_ms": b * 1e3,
            "speedup": b / a,
            "same_words": same,
            "timings": tm,
        }
        rows.append((name + " (1 query, 400k x 50)", a, "gensim", b))
        print(
            f"{name}: tokenspace {a * 1e3:.2f} ms, gensim {b * 1e3:.2f} ms, x{b / a:.1f}, same words {same}"
        )

    for name in ("wordsim353.tsv", "simlex999.txt"):
        path = datapath(name)
        tm = measure(
            {
                "tokenspace": lambda path=path: ts.evaluate_word_pairs(s, path),
                "gensim": lambda path=path: kv.evaluate_word_pairs(path),
            },
            args.repeats,
        )
        a, b = tm["tokenspace"].median, tm["gensim"].median
        ra, rb = tm["tokenspace"].result, tm["gensim"].result
        same = (ra.pearson, ra.spearman, ra.oov_ratio) == (rb[0][0], rb[1][0], rb[2])
        results[f"evaluate_word_pairs {name}"] = {
            "tokenspace_s": a,
            "gensim_s": b,
            "speedup": b / a,
            "pearson": ra.pearson,
            "spearman": ra.spearman,
            "oov_ratio": ra.oov_ratio,
            "identical_to_gensim": same,
            "timings": tm,
        }
        rows.append((f"evaluate_word_pairs {name}", a, "gensim", b))
        print(
            f"evaluate_word_pairs {name}: tokenspace {a * 1e3:.1f} ms, gensim {b * 1e3:.1f} ms; "
            f"pearson {ra.pearson:.4f} spearman {ra.spearman:.4f} identical {same}"
        )

    axis = ts.semantic_axis(s, ["future", "tomorrow"], ["past", "yesterday"])
    X = s.vectors
    a_unit = (axis / np.linalg.norm(axis)).astype(np.float32)
    # the bandwidth reference: one read of the same 80 MB with every kernel thread, no work
    tm = measure(
        {
            "tokenspace": lambda: ts.project(s, axis),
            "numpy": lambda: X @ a_unit,
            "read_pass": lambda: _kernels.read_pass(X),
        },
        reps,
        settle=0.25,
    )
    a, b, c = tm["tokenspace"].median, tm["numpy"].median, tm["read_pass"].median
    pr, pn = tm["tokenspace"].result, tm["numpy"].result
    gbs = X.nbytes / a / 1e9
    results["project"] = {
        "tokenspace_ms": a * 1e3,
        "numpy_ms": b * 1e3,
        "speedup": b / a,
        "tokenspace_GBps": gbs,
        "numpy_GBps": X.nbytes / b / 1e9,
        "read_pass_GBps": X.nbytes / c / 1e9,
        "fraction_of_read_bandwidth": c / a,
        "max_abs_diff_vs_numpy": float(np.abs(pr - pn).max()),
        "timings": tm,
    }
    rows.append(("project 400k x 50", a, "numpy X @ a", b))
    rows.append(
        (
            "project 400k x 50",
            a,
            "one read pass of the 80 MB",
            c,
            {"peer_lib": "none", "peer_config": "bandwidth reference: reads only, all threads"},
        )
    )
    print(
        f"project: tokenspace {a * 1e3:.2f} ms ({gbs:.1f} GB/s), numpy {b * 1e3:.2f} ms "
        f"({X.nbytes / b / 1e9:.1f} GB/s), one read pass {c * 1e3:.2f} ms "
        f"({X.nbytes / c / 1e9:.1f} GB/s): project at {c / a:.0%} of the read bandwidth"
    )

    print_table(rows)
    print("\nwrote", write_json("bench_analogy", results, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
