"""The one harness of the benchmark scripts: timing, CPU time, peak memory, machine record, JSON.

Every script times its cases with :func:`measure`, measures memory with :func:`peak_extra_mib`
or :func:`fresh_process`, writes its results with :func:`write_json` (which adds
:func:`machine`) and may print :func:`print_table`.

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
        version, ...; empty without threadpoolctl) and ``env`` (the OPENBLAS_*, OMP_*,
        MKL_* and TOKENSPACE_* variables in force).
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
        "env": {
            k: v
            for k, v in sorted(os.environ.items())
            if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "TOKENSPACE_"))
        },
    }


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
    out.write_text(json.dumps(record, indent=2, default=_to_json))
    return out


def format_seconds(t: float) -> str:
    """``t`` in the unit that keeps three significant digits readable (us, ms or s)."""
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1.0:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def print_table(rows: list[tuple[str, float, str, float]], ours: str = "tokenspace") -> None:
    """Print a markdown table of medians and ratios.

    Parameters
    ----------
    rows : list of (operation, our seconds, peer name, peer seconds)
        One line each; the ratio is peer / ours, so above 1 means ``ours`` is faster.
    ours : str, default "tokenspace"
        Header of the second column.
    """
    print(f"\n| operation | {ours} | peer | peer / {ours} |\n|---|---|---|---|")
    for op, t_ours, peer, t_peer in rows:
        print(
            f"| {op} | {format_seconds(t_ours)} | {peer} {format_seconds(t_peer)} "
            f"| {t_peer / t_ours:.2f}x |"
        )
