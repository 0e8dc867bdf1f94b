"""The one harness of the benchmark scripts: timing, CPU time, peak memory, machine record, JSON.

Every script first calls :func:`peers_at_best` (which re-executes the script once with the
BLAS setting measured fastest for the peers on this CPU), times its cases with :func:`measure`,
measures memory with :func:`peak_extra_mib` or :func:`fresh_process`, prints
:func:`print_table` (whose rows also go into the JSON, for ``readme_table.py``) and writes its
results with :func:`write_json` (which adds :func:`machine`).

Only the standard library is imported at module level: :func:`fresh_process` runs this module
in a new interpreter to time ``import tokenspace`` itself, so importing it must not import
numpy or tokenspace first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# Scripts import this module first thing, so this is the load the run started under.
_LOADAVG_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None

# Set in the re-executed process by peers_at_best; its value is the JSON of the choice.
_CHOSEN_ENV = "TS_BENCH_BLAS_CHOICE"
BLAS_CHOICE = RESULTS / "blas_choice.json"

# Rows printed by print_table in this process, written to the JSON by write_json.
_TABLE: list[dict[str, Any]] = []


@dataclasses.dataclass
class Timing:
    """Wall and process CPU times of the timed runs of one callable, and its last result.

    Attributes
    ----------
    runs : list of float
        Wall seconds of each timed run, in the order they ran.
    cpu : list of float
        Process CPU seconds (all threads, ``time.process_time``) of the same runs. On a shared
        machine it shows what a run costs even when other load stretches its wall time.
    result : Any
        What the last timed run returned (not written to JSON).
    """

    runs: list[float]
    cpu: list[float]
    result: Any = dataclasses.field(default=None, repr=False)

    @property
    def median(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.runs)

    @property
    def cpu_median(self) -> float:
        """Median process CPU seconds."""
        return statistics.median(self.cpu)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: medians and every run, without the result."""
        return {
            "median_s": self.median,
            "runs_s": self.runs,
            "cpu_median_s": self.cpu_median,
            "cpu_runs_s": self.cpu,
        }


def _per_name(value: int | Mapping[str, int], name: str) -> int:
    return value[name] if isinstance(value, Mapping) else value


def measure(
    fns: Mapping[str, Callable[[], Any]],
    repeats: int | Mapping[str, int] = 5,
    *,
    per_round: int = 3,
    warmup: int | Mapping[str, int] = 1,
    settle: float = 0.0,
) -> dict[str, Timing]:
    """Time named callables in interleaved rounds; the one timer of every benchmark.

    Each round visits the callables in order. A visit makes ``warmup`` untimed calls, then up
    to ``per_round`` consecutive timed calls, until the callable has ``repeats`` timed runs.
    Rounds alternate between libraries so that a load spike hits all of them, but one
    library's runs are kept together and preceded by an untimed call: OpenBLAS (and OpenMP)
    worker threads keep spinning for a while after a call returns, and on a 2-core machine
    that spin would be charged to whichever library runs next.

    Parameters
    ----------
    fns : mapping of str to callable
        Cases to time, by name; each is called with no arguments.
    repeats : int or mapping of str to int, default 5
        Timed runs of each callable (a mapping gives each its own count, e.g. one run of a
        peer that takes a minute).
    per_round : int, default 3
        Consecutive timed runs of one callable per visit.
    warmup : int or mapping of str to int, default 1
        Untimed calls before each visit's timed runs (0 for a case too slow to run twice).
    settle : float, default 0
        Seconds to sleep before each visit. OpenBLAS workers spin for up to ~0.1 s after a
        call (its thread timeout), so millisecond-scale calls timed right after a numpy or
        faiss visit share the cores with those spinning threads; 0.25 lets them sleep first.

    Returns
    -------
    dict of str to Timing
        Per name: the wall and CPU time of every timed run, and the last result.
    """
    out = {name: Timing([], []) for name in fns}
    while True:
        pending = [n for n in fns if len(out[n].runs) < _per_name(repeats, n)]
        if not pending:
            return out
        for name in pending:
            fn, t = fns[name], out[name]
            if settle:
                time.sleep(settle)
            for _ in range(_per_name(warmup, name)):
                fn()
            for _ in range(min(per_round, _per_name(repeats, name) - len(t.runs))):
                t.result = None  # let the previous result go before the next run allocates
                c = time.process_time()
                w = time.perf_counter()
                t.result = fn()
                t.runs.append(time.perf_counter() - w)
                t.cpu.append(time.process_time() - c)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_extra_mib(fn: Callable[[], Any]) -> float:
    """Peak resident memory ``fn()`` adds on top of what the process holds before it (MiB).

    Returns freed heap memory to the OS (glibc ``malloc_trim``) and resets the kernel's
    high-water mark (``/proc/self/clear_refs`` = 5) first, so neither memory freed by earlier
    calls (which the allocator would silently reuse) nor earlier peaks mask this call's peak.
    Linux only; NaN elsewhere.

    Parameters
    ----------
    fn : callable
        Called once, with no arguments.

    Returns
    -------
    float
        VmHWM after the call minus VmRSS before it, in MiB.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return float("nan")
    before = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - before) / 1024.0


_FRESH = r"""
import json, sys, time
sys.path.insert(0, {bench_dir!r})
import _common
ns = {{"sys": sys}}
exec({setup!r}, ns)
timing = {{}}
mib = _common.peak_extra_mib(
    lambda: timing.update(_common.measure({{"case": lambda: exec({stmt!r}, ns)}}, 1, warmup=0)))
value = eval({value!r}, ns) if {value!r} else None
print(json.dumps({{"wall_s": timing["case"].median, "cpu_s": timing["case"].cpu_median,
                  "process_cpu_s": time.process_time(), "peak_extra_mib": mib, "value": value}}))
"""


def fresh_process(stmt: str, *, setup: str = "", value: str = "") -> dict[str, Any]:
    """Run ``stmt`` once in a new interpreter and measure it there.

    For what a warm process cannot show: the cost of ``import tokenspace`` itself, or the
    peak memory of a case that must not see pages an earlier case left behind. The child
    inherits the environment (``PYTHONPATH`` included) and has ``benchmarks/`` on its path,
    so ``setup`` may ``import bench_xxx`` to reuse a script's data builders.

    Parameters
    ----------
    stmt : str
        Python statements to measure (one :func:`measure` run inside :func:`peak_extra_mib`).
    setup : str, optional
        Statements run first, untimed, in the same namespace.
    value : str, optional
        An expression evaluated after ``stmt`` whose JSON-able value is returned.

    Returns
    -------
    dict
        ``wall_s`` and ``cpu_s`` of ``stmt``, ``process_cpu_s`` (CPU of the whole child up to
        then, interpreter start included), ``peak_extra_mib`` and ``value``.
    """
    code = _FRESH.format(
        bench_dir=str(Path(__file__).resolve().parent), setup=setup, stmt=stmt, value=value
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )  # the error below carries the child's traceback
    if out.returncode:
        raise RuntimeError(f"fresh process failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cpuinfo() -> dict[str, Any]:
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            key = key.strip()
            if not key and fields:
                break  # the first processor's block is enough
            fields.setdefault(key, val.strip())
    except OSError:
        return {"model": platform.processor() or platform.machine()}
    flags = fields.get("flags", "").split()
    return {
        "model": fields.get("model name", platform.machine()),
        "vendor": fields.get("vendor_id", ""),
        "family": fields.get("cpu family", ""),
        "model_number": fields.get("model", ""),
        # the vector extensions are what decides which kernels run; the rest is noise here
        "flags": flags,
        "simd_flags": [
            f
            for f in flags
            if f.startswith(("sse", "ssse", "avx", "amx", "fma")) or f in ("f16c", "bmi2")
        ],
    }


def _blas() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = (
        "user_api",
        "internal_api",
        "prefix",
        "filepath",
        "version",
        "architecture",
        "num_threads",
        "threading_layer",
    )
    return [{k: lib[k] for k in keep if k in lib} for lib in threadpool_info()]


def machine() -> dict[str, Any]:
    """What the numbers were measured on, read at call time.

    Call it at the end of a run (:func:`write_json` does): threadpoolctl only reports the
    BLAS and OpenMP libraries loaded by then, i.e. those of the peers that actually ran.

    Returns
    -------
    dict
        ``cpu`` (model, vendor, family, model number, SIMD flags), ``cores`` (online and
        usable by this process), ``loadavg_start`` / ``loadavg_end``, ``python``, ``numpy``,
        ``tokenspace`` (``simd_level``, ``detected_simd_level``, ``num_threads``), ``blas``
        (threadpoolctl's ``threadpool_info()``: internal_api, architecture, num_threads,
        version, ...; empty without threadpoolctl), ``blas_choice`` (what
        :func:`peers_at_best` measured and chose; None if it was not called) and ``env`` (the
        OPENBLAS_*, OMP_*, MKL_* and TOKENSPACE_* variables in force).
    """
    import numpy as np

    from tokenspace import _kernels

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpuinfo(),
        "cores": {"online": os.cpu_count(), "usable": usable},
        "loadavg_start": _LOADAVG_AT_START,
        "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tokenspace": {
            "simd_level": _kernels.simd_level(),
            "detected_simd_level": _kernels.detected_simd_level(),
            "num_threads": _kernels.num_threads(),
        },
        "blas": _blas(),
        "blas_choice": json.loads(os.environ[_CHOSEN_ENV]) if _CHOSEN_ENV in os.environ else None,
        "env": {
            k: v
            for k, v in sorted(os.environ.items())
            if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "TOKENSPACE_"))
        },
    }


# One peer's BLAS work per probe, sized to take ~0.1 s: numpy and scipy each call their own
# OpenBLAS build (sgemm; scipy's SVD of a Procrustes-sized cross-Gram goes through LAPACK on
# top of it), faiss its bundled one (a BLAS-path exact search). Each peer's best time of a few
# calls, in seconds, and the kernel its OpenBLAS picked, as JSON on the last line.
_PROBE = r"""
import json, sys, time
import numpy as np
rng = np.random.default_rng(0)
A = rng.standard_normal((1024, 384), dtype=np.float32)
B = rng.standard_normal((4096, 384), dtype=np.float32)
def best(fn, n=3):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts)
out = {}
peers = sys.argv[1].split(",")
if "numpy" in peers:
    out["numpy"] = best(lambda: A @ B.T)
if "scipy" in peers:
    import scipy.linalg
    M = rng.standard_normal((384, 384))
    out["scipy"] = best(lambda: (scipy.linalg.blas.sgemm(1.0, A, B, trans_b=True),
                                 scipy.linalg.svd(M)))
if "faiss" in peers:
    import faiss
    index = faiss.IndexFlatIP(384)
    index.add(B)
    out["faiss"] = best(lambda: index.search(A, 10))
arch = {}
try:
    from threadpoolctl import threadpool_info
    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            arch[lib["filepath"]] = lib.get("architecture")
except ImportError:
    pass
print(json.dumps({"seconds": out, "architecture": arch}))
"""

PEERS = ("numpy", "scipy", "faiss")
# A substring of the path of each peer's own OpenBLAS in threadpoolctl's report.
_PEER_LIB_PATH = {"numpy": "numpy.libs", "scipy": "scipy.libs", "faiss": "faiss"}


def coretype_candidates(flags: list[str] | None = None) -> list[str | None]:
    """The OPENBLAS_CORETYPE values worth trying on this CPU (None: the variable unset).

    Only kernels the CPU can run: forcing an AVX-512 kernel onto an AVX2-only CPU would crash
    with SIGILL, so the candidates are read from the CPU's flags at run time.
    """
    if flags is None:
        flags = _cpuinfo().get("flags", [])
    have = set(flags)
    out: list[str | None] = [None]
    if platform.machine() not in ("x86_64", "AMD64"):
        return out
    if "avx" in have:
        out.append("Sandybridge")
    if {"avx2", "fma"} <= have:
        out += ["Haswell", "Zen"]
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= have:
        out.append("SkylakeX")
        if "avx512_bf16" in have:
            out.append("Cooperlake")
    return out


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("numpy", "scipy", "faiss-cpu"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def probe_blas(rounds: int = 3, peers: tuple[str, ...] = PEERS) -> dict[str, Any]:
    """Time every peer under every OPENBLAS_CORETYPE candidate, each in a fresh interpreter.

    The variable is read once, when a library's OpenBLAS loads, so each setting needs its own
    process. Candidates are visited in interleaved rounds (the same load hits all of them) and
    each keeps its fastest round.

    Returns
    -------
    dict
        ``key`` (CPU and library versions the probe is valid for), ``candidates`` (per
        setting: per-peer seconds, and the kernel each OpenBLAS picked), ``best`` (per peer:
        its fastest setting).
    """
    present = []
    for peer in peers:
        mod = "faiss" if peer == "faiss" else peer
        ok = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True)
        if ok.returncode == 0:
            present.append(peer)
    cands = coretype_candidates()
    results: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for ct in cands:
            env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
            if ct is not None:
                env["OPENBLAS_CORETYPE"] = ct
            out = subprocess.run(
                [sys.executable, "-c", _PROBE, ",".join(present)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            name = ct or "unset"
            entry = results.setdefault(name, {"seconds": {}, "architecture": {}})
            if out.returncode:  # a kernel the build cannot run: not a candidate
                entry["error"] = out.stderr.strip().splitlines()[-1:] or [str(out.returncode)]
                continue
            got = json.loads(out.stdout.strip().splitlines()[-1])
            entry["architecture"] = got["architecture"]
            for peer, t in got["seconds"].items():
                entry["seconds"][peer] = min(t, entry["seconds"].get(peer, float("inf")))
    ok = {n: e for n, e in results.items() if "error" not in e}
    best = {
        peer: min(ok, key=lambda n: ok[n]["seconds"].get(peer, float("inf"))) for peer in present
    }
    return {"key": _probe_key(), "candidates": results, "best": best, "peers": present}


def _probe_key() -> dict[str, Any]:
    cpu = _cpuinfo()
    return {
        "cpu": [cpu.get("model"), cpu.get("family"), cpu.get("model_number")],
        "simd_flags": cpu.get("simd_flags"),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "versions": _versions(),
    }


def choose_coretype(probe: Mapping[str, Any], peers: tuple[str, ...]) -> dict[str, Any]:
    """The one setting for a process that runs ``peers`` (one variable, read by every OpenBLAS).

    Picks the candidate whose worst peer is closest to that peer's own best (so a setting that
    helps faiss but slows numpy loses to one that is best for both, when there is one); a
    candidate within 5% of the best counts as a tie and the one listed first (unset first)
    wins: on a shared machine smaller differences are noise, and the default is what users get.
    """
    cands = {n: e for n, e in probe["candidates"].items() if "error" not in e}
    peers = tuple(p for p in peers if p in probe.get("peers", PEERS))
    if not peers:
        return {"coretype": None, "peers": [], "slowdown_vs_best": {}}

    def kernel(name: str, peer: str) -> str:
        arch = cands[name].get("architecture", {})
        hits = [a for path, a in arch.items() if _PEER_LIB_PATH[peer] in path]
        return hits[0] if hits else name

    # Settings under which a peer's OpenBLAS picks the same kernel run the same code: their
    # timings are pooled (the fastest counts for all), so noise cannot choose between them.
    pooled = {
        n: {
            p: min(
                cands[m]["seconds"].get(p, float("inf"))
                for m in cands
                if kernel(m, p) == kernel(n, p)
            )
            for p in peers
        }
        for n in cands
    }
    best_t = {p: min(pooled[n][p] for n in cands) for p in peers}

    def worst(name: str) -> float:
        return max(pooled[name][p] / best_t[p] for p in peers)

    floor = min(worst(n) for n in cands)
    name = next(n for n in cands if worst(n) <= floor * 1.05)
    return {
        "coretype": None if name == "unset" else name,
        "peers": list(peers),
        "slowdown_vs_best": {p: pooled[name][p] / best_t[p] for p in peers},
        "kernels": {p: kernel(name, p) for p in peers},
    }


def peers_at_best(peers: tuple[str, ...] = PEERS, *, reprobe: bool = False) -> dict[str, Any]:
    """Re-execute this script once with the OPENBLAS_CORETYPE measured fastest for ``peers``.

    Call it first thing in ``main()``. OpenBLAS reads the variable when it loads, so a process
    that has imported numpy cannot change it: the script is started again (same interpreter,
    same arguments) with the chosen value, and the choice travels in the environment to
    :func:`machine`. The probe (:func:`probe_blas`, ~20 s) is cached in
    ``benchmarks/results/blas_choice.json`` for this CPU and these library versions;
    ``reprobe=True`` or ``TS_BENCH_REPROBE=1`` measures again. ``TS_BENCH_CORETYPE=<value>``
    (``unset`` for none) forces a setting instead. Tests and CI never call this.

    Returns
    -------
    dict
        The choice (in the re-executed process; the first process never returns).
    """
    if _CHOSEN_ENV in os.environ:
        return json.loads(os.environ[_CHOSEN_ENV])
    forced = os.environ.get("TS_BENCH_CORETYPE")
    if forced:
        choice: dict[str, Any] = {
            "coretype": None if forced == "unset" else forced,
            "peers": list(peers),
            "forced": True,
        }
    else:
        probe = None
        if BLAS_CHOICE.exists() and not reprobe and os.environ.get("TS_BENCH_REPROBE") != "1":
            probe = json.loads(BLAS_CHOICE.read_text())
            if probe.get("key") != _probe_key():
                probe = None
        if probe is None:
            print("measuring each peer under each OPENBLAS_CORETYPE ...", file=sys.stderr)
            probe = probe_blas()
            BLAS_CHOICE.parent.mkdir(parents=True, exist_ok=True)
            BLAS_CHOICE.write_text(json.dumps(probe, indent=2))
        choice = choose_coretype(probe, peers)
        choice["probe"] = probe
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if choice["coretype"] is not None:
        env["OPENBLAS_CORETYPE"] = choice["coretype"]
    choice["previous_value"] = os.environ.get("OPENBLAS_CORETYPE")
    env[_CHOSEN_ENV] = json.dumps(choice)
    print(
        f"peers {', '.join(choice['peers']) or '-'}: OPENBLAS_CORETYPE="
        f"{choice['coretype'] or '(unset)'}",
        file=sys.stderr,
    )
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    raise AssertionError("unreachable")  # execve does not return


def _to_json(obj: Any) -> Any:
    if isinstance(obj, Timing):
        return obj.to_dict()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(name: str, payload: Mapping[str, Any], path: str | Path | None = None) -> Path:
    """Write ``payload`` with the machine record and the time: the one JSON writer.

    Parameters
    ----------
    name : str
        The script's name; the file is ``benchmarks/results/<name>.json``.
    payload : mapping
        The results. :class:`Timing` values, numpy scalars and arrays are converted.
    path : str or Path, optional
        Another file to write (a script's ``--out``).

    Returns
    -------
    Path
        The file written.
    """
    out = Path(path) if path is not None else RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "argv": sys.argv[1:],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **payload,
    }
    if _TABLE and "table" not in record:
        record["table"] = list(_TABLE)
    out.write_text(json.dumps(record, indent=2, default=_to_json))
    return out


def format_seconds(t: float) -> str:
    """``t`` in the unit that keeps three significant digits readable (us, ms or s)."""
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1.0:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def _peer_lib(peer: str) -> str:
    """Which BLAS a peer's name points at (for the configuration column of the README)."""
    p = peer.lower()
    for lib in ("faiss", "scipy", "usearch", "torch"):
        if lib in p:
            return lib
    return "numpy"  # numpy itself, and peers built on it (gensim, sklearn, networkx)


def print_table(
    rows: list[tuple[str, float, str, float]] | list[tuple[str, float, str, float, dict]],
    ours: str = "tokenspace",
) -> None:
    """Print a markdown table of medians and ratios, and keep its rows for :func:`write_json`.

    Parameters
    ----------
    rows : list of (operation, our seconds, peer name, peer seconds[, extra])
        One line each; the ratio is peer / ours, so above 1 means ``ours`` is faster. The
        optional ``extra`` dict goes into the JSON row as is: ``peer_lib`` (whose BLAS the peer
        runs on: numpy, scipy, faiss, usearch; guessed from the peer's name when absent),
        ``peer_config`` (the peer's own setting, e.g. ``"IndexFlatIP, query_bs 4096"``),
        ``note`` (e.g. peak memory) and ``readme`` (False keeps the row out of the README).
    ours : str, default "tokenspace"
        Header of the second column.
    """
    print(f"\n| operation | {ours} | peer | peer / {ours} |\n|---|---|---|---|")
    for row in rows:
        op, t_ours, peer, t_peer = row[:4]
        extra = dict(row[4]) if len(row) > 4 else {}  # type: ignore[misc]
        extra.setdefault("peer_lib", _peer_lib(peer))
        _TABLE.append(
            {
                "task": op,
                "ours": ours,
                "ours_s": t_ours,
                "peer": peer,
                "peer_s": t_peer,
                "ratio": t_peer / t_ours,
                **extra,
            }
        )
        print(
            f"| {op} | {format_seconds(t_ours)} | {peer} {format_seconds(t_peer)} "
            f"| {t_peer / t_ours:.2f}x |"
        )
