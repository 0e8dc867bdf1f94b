"""What runs on the workers: pure functions of (plan, block) that read their rows by path.

A worker process keeps one prepared ``Database`` per staged matrix (it cannot be pickled, and
building it costs a pass over the rows), so every task after the first on that process only
maps pages. Results carry the kernel's float64 keys, and every merge orders by (-key, id):
associative and commutative, so any block order, retry or worker count gives the same bits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .._version import package_version
from ..io.native import read_native

_CACHE: dict[str, tuple[np.ndarray, _kernels.Database]] = {}
_LOCK = threading.Lock()


def open_rows(path: str, *, prepare_for: int = 0) -> tuple[np.ndarray, _kernels.Database]:
    """The memory-mapped rows of a staged native folder and their Database (cached per process)."""
    with _LOCK:
        hit = _CACHE.get(path)
        if hit is None:
            rows = read_native(path, mmap=True).vectors
            hit = _CACHE[path] = (rows, _kernels.database(rows, n_queries=prepare_for))
        return hit


def local_copy(path: str, local_dir: str | None) -> str:
    """Copy a staged folder once to node-local disk (``transport="stage"``); returns its path."""
    base = Path(local_dir or tempfile.gettempdir()) / "tokenspace-stage"
    dst = base / Path(path).name
    if (dst / "tokenspace.json").is_file():
        return str(dst)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=".copy-"))
    for f in Path(path).iterdir():
        shutil.copyfile(f, tmp / f.name)
    try:
        os.replace(tmp, dst)
    except OSError:  # another process on this node won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return str(dst)


def resolve(plan: dict[str, Any], data: Any = None) -> str:
    """The local path of the plan's rows for this worker (``data``: scattered rows)."""
    if plan["transport"] == "scatter":
        base = Path(tempfile.gettempdir()) / "tokenspace-stage"
        dst = base / plan["data_id"]
        if not (dst / "tokenspace.json").is_file():
            from ..io.native import save_native
            from ..space import EmbeddingSpace

            base.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=base, prefix=".scatter-"))
            vocab = [str(i) for i in range(data.shape[0])]
            save_native(EmbeddingSpace(data, vocab, check=False), tmp, overwrite=True)
            try:
                os.replace(tmp, dst)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return str(dst)
    if plan["transport"] == "stage":
        return local_copy(plan["path"], plan.get("local_dir"))
    return str(plan["path"])


def write_part(out: str, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Write one part atomically: a temporary file in ``out``, then ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            members: dict[str, Any] = dict(arrays)
            np.savez(f, **members)
        os.replace(tmp, os.path.join(out, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def scores_from_keys(keys: np.ndarray, metric: str) -> np.ndarray:
    """The float32 scores the kernel reports for its float64 keys (same roundings)."""
    if metric == "l2":
        return np.sqrt(np.maximum(0.0, -2.0 * keys)).astype(np.float32)
    return keys.astype(np.float32)


def merge_topk(
    ids: list[np.ndarray], keys: list[np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact merge of partial top-k lists of the same rows: order by (-key, id), keep k.

    Entries with id -1 (unfilled) sort last and stay -1 / -inf when fewer than k exist.
    """
    all_ids = np.concatenate(ids, axis=1)
    all_keys = np.concatenate(keys, axis=1)
    all_keys = np.where(all_ids < 0, -np.inf, all_keys)
    # -1 ids of unfilled slots must lose every tie with a real id at -inf
    tie_ids = np.where(all_ids < 0, np.iinfo(np.int64).max, all_ids)
    order = np.lexsort((tie_ids, -all_keys), axis=-1)[:, :k]
    return (
        np.take_along_axis(all_ids, order, axis=1),
        np.take_along_axis(all_keys, order, axis=1),
    )


def _finish(plan: dict[str, Any], name: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if plan.get("worker_writes") and plan.get("out"):
        write_part(plan["out"], name, arrays)
    return arrays


def rows_task(plan: dict[str, Any], block: tuple[int, int], data: Any = None) -> dict[str, Any]:
    """kNN of database rows [a, b) (``plan["queries"]`` None) or of staged query rows [a, b)
    against the whole database; keys included for merges."""
    a, b = block
    rows, db = open_rows(resolve(plan, data), prepare_for=b - a)
    if plan.get("queries"):
        q = np.ascontiguousarray(read_native(plan["queries"], mmap=True).vectors[a:b])
        ex = None
        if plan.get("exclude_ids"):
            ex = np.load(plan["exclude_ids"], mmap_mode="r")[a:b]
    else:
        q = np.ascontiguousarray(rows[a:b])
        ex = np.arange(a, b, dtype=np.int64)[:, None] if plan["exclude_self"] else None
    bias = np.load(plan["bias"]) if plan.get("bias") else None
    ids, scores, keys = _kernels.knn(
        q, db, plan["k"], metric=plan["metric"], exclude=ex, bias=bias, return_keys=True
    )
    return _finish(
        plan, f"rows-{a:010d}-{b:010d}.npz", {"ids": ids, "scores": scores, "keys": keys}
    )


def tile_task(
    plan: dict[str, Any], tile: tuple[int, int, int, int], data: Any = None
) -> dict[str, Any]:
    """Both directions' top-k of tile (I, J) of the self-join, I = [i0, i1) <= J = [j0, j1)."""
    i0, i1, j0, j1 = tile
    _, db = open_rows(resolve(plan, data))
    ids_i, keys_i, ids_j, keys_j = _kernels.self_join_tile(
        db,
        (i0, i1),
        (j0, j1),
        plan["k"],
        metric=plan["metric"],
        exclude_self=plan["exclude_self"],
    )
    arrays = {"ids_i": ids_i, "keys_i": keys_i}
    if (i0, i1) != (j0, j1):
        arrays |= {"ids_j": ids_j, "keys_j": keys_j}
    return _finish(plan, f"tile-{i0:010d}-{j0:010d}.npz", arrays)


def shard_task(plan: dict[str, Any], shard: tuple[int, int], data: Any = None) -> dict[str, Any]:
    """All staged queries against database rows [a, b) (one shard), global ids and keys."""
    a, b = shard
    rows, _ = open_rows(resolve(plan, data))
    q = np.ascontiguousarray(read_native(plan["queries"], mmap=True).vectors)
    ex = None
    if plan.get("exclude_ids"):
        ex = np.asarray(np.load(plan["exclude_ids"]), dtype=np.int64) - a
        ex[(ex < 0) | (ex >= b - a)] = -1
    k = min(plan["k"], b - a)
    ids, _, keys = _kernels.knn(
        q,
        np.ascontiguousarray(rows[a:b]),
        k,
        metric=plan["metric"],
        exclude=ex,
        return_keys=True,
    )
    ids = np.where(ids >= 0, ids + a, -1)
    return _finish(plan, f"shard-{a:010d}-{b:010d}.npz", {"ids": ids, "keys": keys})


def version_probe() -> str:
    """What a worker reports back (its tokenspace version and SIMD level)."""
    return f"{package_version()} {_kernels.simd_level()}"


def _open_space(path: str) -> Any:
    from ..loaders import load_native

    return load_native(path, mmap=True)


def _check_level(plan: dict[str, Any]) -> None:
    level = _kernels.simd_level()
    if level != plan["simd_level"]:
        raise RuntimeError(
            f"this worker runs SIMD level {level!r} but the plan was made at "
            f"{plan['simd_level']!r}; RSA and Procrustes sums depend on it: set "
            f"TOKENSPACE_SIMD={plan['simd_level']} on every worker, or plan at the workers' level"
        )


def rsa_task(plan: dict[str, Any], pair: tuple[int, int], data: Any = None) -> Any:
    """RSA of one model pair through the single-machine :func:`tokenspace.rsa_models`."""
    from ..analysis.rsa import rsa_models

    _check_level(plan)
    a, b = (_open_space(plan["paths"][i]) for i in pair)
    return rsa_models(a, b, plan["words"], method=plan["method"], similarity=plan["similarity"])


def stability_task(plan: dict[str, Any], pair: tuple[int, int], data: Any = None) -> Any:
    """The single-machine :func:`tokenspace.stability` of one pair of runs, on the shared words."""
    from ..alignment.stability import stability

    _check_level(plan)
    runs = [_open_space(plan["paths"][i]) for i in pair]
    return stability(runs, k=plan["k"], anchors=plan["vocab"], names=[str(i) for i in pair])
