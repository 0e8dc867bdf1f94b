"""The client side: connecting, staging rows by path, manifests, running a plan's parts.

A job is a list of parts, each a pure task of (plan, block). The plan is a small dict (paths
and parameters, never arrays). Parts already under ``out/`` are read back instead of being
recomputed; the manifest next to them pins the parameters they were computed with.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .._version import package_version
from ..io.native import save_native
from ..progress import counter
from ._tasks import write_part

MANIFEST = "manifest.json"
_FORMAT = 1


@dataclass(frozen=True)
class JobStats:
    """What the last job did: parts in the plan, computed now, read back from ``out/``."""

    name: str
    n_parts: int
    n_computed: int
    n_reused: int
    seconds: float
    out: str | None


def connect(address: Any = None, *, timeout: float = 10.0) -> Any:
    """A ``distributed.Client``: ``address`` a scheduler ("tcp://host:8786"), a Client (returned
    as is), or None for a LocalCluster on this machine.

    Raises
    ------
    ImportError
        dask.distributed is not installed (``pip install tokenspace[distributed]``).
    TimeoutError
        No scheduler answered at ``address`` within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            "tokenspace.distributed needs dask.distributed: pip install 'tokenspace[distributed]'"
        ) from None
    if isinstance(address, Client):
        return address
    if address is None:
        return Client(processes=True, threads_per_worker=1)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise TimeoutError(
            f"no Dask scheduler answered at {address!r} within {timeout:g} s ({e}); start one "
            "with `dask scheduler` (and workers with `dask worker ADDRESS`) or check the address"
        ) from None


def check_workers(client: Any) -> dict[str, str]:
    """Every worker must import this tokenspace; returns {worker: "version simd_level"}."""
    version = package_version()
    # eval is a builtin, so it reaches workers that cannot unpickle tokenspace functions
    got = client.run(
        eval,
        "__import__('tokenspace.distributed._tasks', fromlist=['x']).version_probe()",
        on_error="return",
    )
    if not got:
        raise RuntimeError("the Dask cluster has no workers; start some with `dask worker`")
    bad = {w: r for w, r in got.items() if not isinstance(r, str)}
    if bad:
        w, err = next(iter(bad.items()))
        raise RuntimeError(
            f"{len(bad)} of {len(got)} workers cannot import tokenspace (e.g. {w}: {err!r}); "
            f"install tokenspace {version} in the workers' Python environment"
        )
    mismatched = {w: r for w, r in got.items() if r.split()[0] != version}
    if mismatched:
        w, r = next(iter(mismatched.items()))
        raise RuntimeError(
            f"worker {w} runs tokenspace {r.split()[0]}, this client {version}; "
            "install the same version everywhere"
        )
    return {w: str(r) for w, r in got.items()}


def _writable(folder: Path, what: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as e:
        raise PermissionError(
            f"the {what} folder {folder} is not writable ({e.strerror or e}); pass a folder "
            "this process can write and every worker can read (a shared filesystem)"
        ) from None
    return folder


def scratch_folder(scratch: str | os.PathLike | None) -> Path:
    default = os.environ.get("TOKENSPACE_SCRATCH") or Path(tempfile.gettempdir()) / "tokenspace"
    return _writable(Path(scratch if scratch is not None else default), "scratch")


def fingerprint(rows: np.ndarray) -> str:
    """Identity of a matrix: shape and a BLAKE2 hash of its bytes (chunked, no copy)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((rows.shape, str(rows.dtype))).encode())
    flat = rows.reshape(-1)
    step = 1 << 24
    for s in range(0, flat.size, step):
        h.update(np.ascontiguousarray(flat[s : s + step]).tobytes())
    return h.hexdigest()


def stage(rows: np.ndarray, scratch: Path, *, data_id: str | None = None) -> tuple[str, str]:
    """Write ``rows`` once in the native format under ``scratch``; (path, identity).

    A folder with the same identity is reused, so repeated jobs on one matrix stage it once.
    """
    data_id = data_id or fingerprint(rows)
    dst = scratch / f"rows-{data_id}"
    if (dst / "tokenspace.json").is_file():
        return str(dst), data_id
    from ..space import EmbeddingSpace

    tmp = Path(tempfile.mkdtemp(dir=scratch, prefix=".stage-"))
    try:
        vocab = [str(i) for i in range(rows.shape[0])]
        save_native(EmbeddingSpace(rows, vocab, check=False), tmp, overwrite=True)
        os.replace(tmp, dst)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (dst / "tokenspace.json").is_file():
            raise
    return str(dst), data_id


def open_out(
    out: str | os.PathLike | None, scratch: Path, params: dict[str, Any], *, resume: bool
) -> tuple[Path, bool]:
    """The parts folder with its manifest (created, or checked against ``params``); a
    temporary one under scratch when ``out`` is None (then True: delete it after the job)."""
    temporary = out is None
    if out is None:
        folder = Path(tempfile.mkdtemp(dir=scratch, prefix="job-"))
    else:
        folder = Path(out)
    _writable(folder, "out")
    manifest = folder / MANIFEST
    record = {"format": _FORMAT, **params}
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if old != json.loads(json.dumps(record)):
            diff = sorted(
                key
                for key in set(record) | set(old or {})
                if (old or {}).get(key) != json.loads(json.dumps(record)).get(key)
            )
            raise ValueError(
                f"{folder} holds parts of another job (manifest differs in {', '.join(diff)}); "
                "pass a new out= folder, or delete that one to recompute"
            )
        if not resume:
            for f in folder.glob("*.npz"):
                f.unlink()
    else:
        if any(folder.glob("*.npz")):
            raise ValueError(f"{folder} holds part files but no {MANIFEST}; use an empty folder")
        tmp = manifest.with_name(MANIFEST + ".tmp")
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(tmp, manifest)
    return folder, temporary


def read_part(path: Path) -> dict[str, np.ndarray] | None:
    """A finished part, or None when missing or unreadable (then it is recomputed)."""
    try:
        with np.load(path) as z:
            return {name: z[name] for name in z.files}
    except (OSError, ValueError, EOFError):
        return None


def run_parts(
    client: Any,
    fn: Callable[..., dict[str, Any]],
    plan: dict[str, Any],
    parts: list[tuple[str, Any]],
    folder: Path,
    *,
    data: Any,
    retries: int,
    progress: bool,
    label: str,
) -> Iterator[tuple[Any, dict[str, np.ndarray]]]:
    """Yield (block, arrays) of every part: first those already in ``folder``, then the rest
    as the cluster finishes them (``as_completed``). The plan's parts are written by the
    workers (atomically) unless the transport has no shared folder, then by this client."""
    from distributed import as_completed

    t0 = time.perf_counter()
    done: list[tuple[Any, dict[str, np.ndarray]]] = []
    missing = []
    for name, block in parts:
        got = read_part(folder / name)
        if got is None:
            missing.append((name, block))
        else:
            done.append((block, got))
    update = counter(progress, len(parts), label)
    if progress and missing and getattr(client, "dashboard_link", None):
        sys.stderr.write(f"{label}: dashboard at {client.dashboard_link}\n")
    yield from done
    update(len(done))
    token = hashlib.blake2b(
        json.dumps(plan, sort_keys=True, default=str).encode(), digest_size=8
    ).hexdigest()
    futures = {}
    for name, block in missing:
        f = client.submit(
            fn,
            plan,
            block,
            data,
            key=f"tokenspace-{label}-{token}-{name}",
            retries=retries,
            pure=False,
        )
        futures[f] = (name, block)
    n = len(done)
    try:
        for f in as_completed(futures):
            name, block = futures[f]
            arrays = f.result()
            if not plan.get("worker_writes"):
                write_part(str(folder), name, arrays)
            n += 1
            update(n)
            yield block, arrays
    finally:
        for f in futures:
            f.release()
    global LAST_JOB
    LAST_JOB = JobStats(
        label, len(parts), len(missing), len(done), time.perf_counter() - t0, str(folder)
    )


LAST_JOB: JobStats | None = None


def blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(n, a + size)) for a in range(0, n, size)]


def auto_block_rows(n: int, block_rows: Any) -> int:
    if block_rows == "auto":
        # independent of the worker count, so a resumed job on another cluster plans the same
        return int(min(max(-(-n // 64), 256), 50000, n))
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)):
        raise TypeError(f"block_rows must be a positive int or 'auto', got {block_rows!r}")
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    return int(min(block_rows, n))


def transport_data(client: Any, transport: str, rows: np.ndarray) -> Any:
    if transport not in ("shared", "stage", "scatter"):
        raise ValueError(
            f"unknown transport {transport!r}; expected 'shared', 'stage' or 'scatter'"
        )
    if transport == "scatter":
        return client.scatter(rows, broadcast=True)
    return None


def common_params(rows: np.ndarray, data_id: str, *, simd_dependent: bool) -> dict[str, Any]:
    """The manifest's identity of a job's input. The SIMD level is pinned only for results that
    depend on it (exact kNN keys are the same at every level)."""
    out = {"version": package_version(), "shape": list(rows.shape), "data": data_id}
    if simd_dependent:
        out["simd_level"] = _kernels.simd_level()
    return out


def cleanup(folder: Path, temporary: bool) -> None:
    if temporary:
        shutil.rmtree(folder, ignore_errors=True)


def iter_pairs(items: Iterable[Any]) -> list[tuple[Any, Any]]:
    items = list(items)
    return [(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))]


@contextmanager
def session(client: Any, timeout: float) -> Iterator[Any]:
    """A checked client for one job; closes what it opened (None: a LocalCluster)."""
    owned = client is None or isinstance(client, str)
    c = connect(client, timeout=timeout)
    try:
        check_workers(c)
        yield c
    finally:
        if owned:
            cluster = getattr(c, "cluster", None)
            c.close()
            if cluster is not None and client is None:
                cluster.close()
