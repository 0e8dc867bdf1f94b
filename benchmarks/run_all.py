"""Run every benchmark, then regenerate the README table from their JSON: the one entry point.

Each script runs in its own process (each re-executes itself once with the OPENBLAS_CORETYPE
measured fastest for its peers, see ``_common.peers_at_best``). The BLAS probe is measured
again first (``--keep-probe`` reuses ``benchmarks/results/blas_choice.json``), so a re-run on a
quiet machine measures everything afresh.

Usage: PYTHONPATH=python python benchmarks/run_all.py [--quick] [--only bench_cosine,...]
       [--keep-probe] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, its arguments for --quick, for a full run)
SCRIPTS = (
    ("roofline.py", ["--quick"], []),
    ("bench_cosine.py", ["--repeat", "3"], []),
    ("bench_align.py", ["--quick"], []),
    ("bench_knn.py", ["--quick", "--repeat", "3"], ["--glove-full-faiss"]),
    ("bench_analogy.py", ["--quick"], []),
    ("bench_load.py", ["--quick"], []),
    ("bench_rsa.py", ["--quick"], []),
    ("bench_distributed.py", ["--quick"], []),
    ("bench_report.py", ["--quick"], []),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each script's --quick (minutes)")
    ap.add_argument("--only", default="", help="comma-separated script names (no .py)")
    ap.add_argument("--keep-probe", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    only = {n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()}
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(HERE.parent / "python"))
    sys.path.insert(0, str(HERE))
    import _common

    if not args.keep_probe:
        t = time.perf_counter()
        probe = _common.probe_blas()
        _common.BLAS_CHOICE.parent.mkdir(parents=True, exist_ok=True)
        _common.BLAS_CHOICE.write_text(__import__("json").dumps(probe, indent=2))
        print(f"BLAS probe {time.perf_counter() - t:.0f} s: fastest per peer {probe['best']}")
    failed, walls = [], {}
    t_all = time.perf_counter()
    for script, quick, full in SCRIPTS:
        name = script.removesuffix(".py")
        if only and name not in only:
            continue
        if not (HERE / script).exists():  # added by another change, not here yet
            continue
        # the bench scripts parse --quick only where they have it; pass what each accepts
        extra = quick if args.quick else full
        cmd = [sys.executable, str(HERE / script), *extra]
        print(f"\n$ {' '.join(cmd)}", flush=True)
        t = time.perf_counter()
        rc = subprocess.run(cmd, env=env, check=False).returncode
        walls[name] = time.perf_counter() - t
        if rc:
            failed.append(name)
    print("\nwall seconds: " + ", ".join(f"{n} {w:.0f}" for n, w in walls.items()))
    print(f"total {time.perf_counter() - t_all:.0f} s")
    if not args.no_readme:
        subprocess.run([sys.executable, str(HERE / "readme_table.py")], check=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
