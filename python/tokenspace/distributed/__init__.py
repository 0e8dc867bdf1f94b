"""Exact kNN graphs, kNN and CSLS past one machine, on plain Dask futures.

Results equal the single-machine ones bit for bit: every task runs the same exact kernels, and
partial top-k lists merge by (-float64 key, id), the order the kernel itself ranks by. Rows
reach the workers by path (written once in the native format to a scratch folder and
memory-mapped), never inside task arguments; every part is written atomically under ``out/``
next to a manifest, so a rerun with ``resume=True`` computes only what is missing.

Worker layout: one worker process per node with one Dask thread, ``TOKENSPACE_NUM_THREADS``
set to the node's cores, and a ``memory_limit`` that leaves room for the mapped rows (mapped
pages count in the worker's RSS). See ``docs/distributed.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_k
from ..neighbors import Neighbors, canonical_metric, kernel_metric
from ..space import EmbeddingSpace
from . import _engine
from ._engine import JobStats, check_workers, connect
from ._studies import RSAMatrix, rsa_many, stability
from ._tasks import merge_topk, rows_task, scores_from_keys, shard_task, tile_task

__all__ = [
    "JobStats",
    "RSAMatrix",
    "check_workers",
    "connect",
    "csls",
    "knn",
    "knn_graph",
    "last_job",
    "rsa_many",
    "stability",
]

MODES = ("rows", "pairs")


def last_job() -> JobStats | None:
    """Statistics of the last finished job (parts computed, parts read back from ``out/``)."""
    return _engine.LAST_JOB


def _space(space: Any) -> EmbeddingSpace:
    if not isinstance(space, EmbeddingSpace):
        raise TypeError(f"space must be an EmbeddingSpace, got {type(space).__name__}")
    return space


def _run_rows(
    client: Any,
    plan: dict[str, Any],
    n: int,
    block: int,
    folder: Path,
    data: Any,
    *,
    k: int,
    retries: int,
    progress: bool,
    label: str,
) -> tuple[np.ndarray, np.ndarray]:
    ids = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k), dtype=np.float32)
    parts = [(f"rows-{a:010d}-{b:010d}.npz", (a, b)) for a, b in _engine.blocks(n, block)]
    for (a, b), arr in _engine.run_parts(
        client,
        rows_task,
        plan,
        parts,
        folder,
        data=data,
        retries=retries,
        progress=progress,
        label=label,
    ):
        ids[a:b], scores[a:b] = arr["ids"], arr["scores"]
    return ids, scores


def knn_graph(
    space: EmbeddingSpace,
    k: int = 10,
    *,
    metric: str = "cosine",
    exclude_self: bool = True,
    client: Any = None,
    block_rows: int | str = "auto",
    mode: str = "rows",
    out: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    retries: int = 3,
    transport: str = "shared",
    scratch: str | os.PathLike | None = None,
    timeout: float = 10.0,
) -> Neighbors:
    """Exact k-NN of every vocabulary entry on a Dask cluster; equals ``space.knn_graph``.

    Parameters
    ----------
    space : EmbeddingSpace
    k, metric, exclude_self
        As in :meth:`EmbeddingSpace.knn_graph`.
    client : distributed.Client, str or None
        A client, a scheduler address ("tcp://host:8786"), or None for a LocalCluster.
    block_rows : int or "auto"
        Rows per block ("auto": V / 64, between 256 and 50,000; independent of the cluster).
    mode : {"rows", "pairs"}
        "rows": each task searches a block of rows against all rows (no merge). "pairs": each
        task scores one block pair (I <= J) of the symmetric self-join once, for both
        directions (half the flops); the client merges by (-key, id).
    out : path, optional
        Folder for the parts and ``manifest.json`` (on a filesystem the workers can write).
        None: a temporary folder under ``scratch``, deleted afterwards.
    resume : bool, default True
        Read back parts already in ``out`` and compute only the missing ones.
    progress : bool, default True
        A bar with an ETA on stderr.
    retries : int, default 3
        Dask retries of a failed task (a killed worker's tasks are rescheduled regardless).
    transport : {"shared", "stage", "scatter"}
        "shared": workers map the staged folder in ``scratch`` (a shared filesystem). "stage":
        each node copies it once to local disk first. "scatter": no shared filesystem; the rows
        are broadcast once and written to each node's local disk (parts are then written by
        the client).
    scratch : path, optional
        Where the rows are staged (default ``$TOKENSPACE_SCRATCH`` or the temp folder).
    timeout : float
        Seconds to wait for a scheduler given by address.

    Returns
    -------
    Neighbors
        The same ids and score bits as ``space.knn_graph(k, metric=..., exclude_self=...)``.
    """
    space = _space(space)
    metric = canonical_metric(metric)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected 'rows' or 'pairs'")
    n = len(space)
    k = check_k(k, n - (1 if exclude_self else 0))
    rows = space.unit_vectors if metric == "cosine" else space.vectors
    scratch_dir = _engine.scratch_folder(scratch)
    with _engine.session(client, timeout) as c:
        path, data_id = _engine.stage(rows, scratch_dir)
        params = {
            "job": "knn_graph",
            "mode": mode,
            "k": k,
            "metric": metric,
            "exclude_self": bool(exclude_self),
            **_engine.common_params(rows, data_id, simd_dependent=False),
        }
        if out is not None and block_rows == "auto":
            block_rows = _resumed_block_rows(out, params, n)
        block = _engine.auto_block_rows(n, block_rows)
        params["block_rows"] = block
        folder, temporary = _engine.open_out(out, scratch_dir, params, resume=resume)
        plan = {
            "path": path,
            "transport": transport,
            "data_id": data_id,
            "k": k,
            "metric": kernel_metric(metric),
            "exclude_self": bool(exclude_self),
            "out": str(folder),
            "worker_writes": transport != "scatter",
        }
        data = _engine.transport_data(c, transport, rows)
        try:
            if mode == "rows":
                ids, scores = _run_rows(
                    c,
                    plan,
                    n,
                    block,
                    folder,
                    data,
                    k=k,
                    retries=retries,
                    progress=progress,
                    label="knn_graph",
                )
            else:
                ids, scores = _run_pairs(
                    c, plan, n, block, folder, data, k=k, retries=retries, progress=progress
                )
        finally:
            _engine.cleanup(folder, temporary)
    return Neighbors(ids, scores, None, metric, None)


def _resumed_block_rows(out: Any, params: dict[str, Any], n: int) -> Any:
    """With block_rows="auto", a resumed job keeps the block size its manifest recorded."""
    import json

    manifest = Path(out) / _engine.MANIFEST
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return "auto"
        if isinstance(old.get("block_rows"), int):
            return old["block_rows"]
    return "auto"


def _run_pairs(
    client: Any,
    plan: dict[str, Any],
    n: int,
    block: int,
    folder: Path,
    data: Any,
    *,
    k: int,
    retries: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    bl = _engine.blocks(n, block)
    tiles = [(bl[a] + bl[b]) for a in range(len(bl)) for b in range(a, len(bl))]
    parts = [(f"tile-{t[0]:010d}-{t[2]:010d}.npz", t) for t in tiles]
    ids = np.full((n, k), -1, dtype=np.int64)
    keys = np.full((n, k), -np.inf)
    for (i0, i1, j0, j1), arr in _engine.run_parts(
        client,
        tile_task,
        plan,
        parts,
        folder,
        data=data,
        retries=retries,
        progress=progress,
        label="knn_graph",
    ):
        sides = [(i0, i1, "i")] if (i0, j0) == (j0, i0) else [(i0, i1, "i"), (j0, j1, "j")]
        for a, b, s in sides:
            got = merge_topk(
                [ids[a:b], arr[f"ids_{s}"][:, :k]], [keys[a:b], arr[f"keys_{s}"][:, :k]], k
            )
            ids[a:b], keys[a:b] = got
    return ids, scores_from_keys(keys, plan["metric"])


def knn(
    space: EmbeddingSpace,
    queries: Any,
    k: int = 10,
    *,
    metric: str = "cosine",
    exclude_self: bool = True,
    client: Any = None,
    block_rows: int | str = "auto",
    mode: str = "rows",
    out: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    retries: int = 3,
    transport: str = "shared",
    scratch: str | os.PathLike | None = None,
    timeout: float = 10.0,
) -> Neighbors:
    """Exact k nearest vocabulary entries of each query on a Dask cluster; equals
    ``space.knn(queries, k, metric=..., exclude_self=...)``.

    ``mode="rows"`` splits the queries into blocks searched against all rows; ``mode="shards"``
    splits the vocabulary into blocks of ``block_rows`` rows, searches every query against
    each, and merges the shards' lists by (-float64 key, id) (for a vocabulary larger than one
    node's memory). Other parameters as in :func:`knn_graph`.
    """
    space = _space(space)
    metric = canonical_metric(metric)
    if mode not in ("rows", "shards"):
        raise ValueError(f"unknown mode {mode!r}; expected 'rows' or 'shards'")
    q, ids_q, labels = space._queries(queries)
    if q.shape[1] != space.dim:
        raise ValueError(f"query vectors have dimension {q.shape[1]}, the space has {space.dim}")
    drop_self = exclude_self and ids_q is not None
    k = check_k(k, len(space) - (1 if drop_self else 0))
    q, base = space._metric_queries(q, ids_q, labels, metric)
    q = np.ascontiguousarray(q, dtype=np.float32)
    scratch_dir = _engine.scratch_folder(scratch)
    with _engine.session(client, timeout) as c:
        path, data_id = _engine.stage(base, scratch_dir)
        qpath, q_id = _engine.stage(q, scratch_dir)
        params = {
            "job": "knn",
            "mode": mode,
            "k": k,
            "metric": metric,
            "exclude_self": bool(drop_self),
            "queries": q_id,
            **_engine.common_params(base, data_id, simd_dependent=False),
        }
        n_blocked = q.shape[0] if mode == "rows" else len(space)
        if out is not None and block_rows == "auto":
            block_rows = _resumed_block_rows(out, params, n_blocked)
        block = _engine.auto_block_rows(n_blocked, block_rows)
        params["block_rows"] = block
        folder, temporary = _engine.open_out(out, scratch_dir, params, resume=resume)
        ex_path = None
        if drop_self:
            ex_path = str(folder / "exclude.npy")
            np.save(ex_path, np.asarray(ids_q, dtype=np.int64)[:, None])
        plan = {
            "path": path,
            "transport": transport,
            "data_id": data_id,
            "k": k,
            "metric": kernel_metric(metric),
            "exclude_self": False,
            "queries": qpath,
            "exclude_ids": ex_path,
            "out": str(folder),
            "worker_writes": transport != "scatter",
        }
        data = _engine.transport_data(c, transport, base)
        try:
            if mode == "rows":
                idx, scores = _run_rows(
                    c,
                    plan,
                    q.shape[0],
                    block,
                    folder,
                    data,
                    k=k,
                    retries=retries,
                    progress=progress,
                    label="knn",
                )
            else:
                idx, scores = _run_shards(
                    c,
                    plan,
                    q.shape[0],
                    len(space),
                    block,
                    folder,
                    data,
                    k=k,
                    retries=retries,
                    progress=progress,
                )
        finally:
            _engine.cleanup(folder, temporary)
    vocab = space.vocab
    words = [[vocab[j] for j in row] for row in idx.tolist()]
    return Neighbors(idx, scores, words, metric, labels)


def _run_shards(
    client: Any,
    plan: dict[str, Any],
    m: int,
    n: int,
    block: int,
    folder: Path,
    data: Any,
    *,
    k: int,
    retries: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((m, k), -1, dtype=np.int64)
    keys = np.full((m, k), -np.inf)
    parts = [(f"shard-{a:010d}-{b:010d}.npz", (a, b)) for a, b in _engine.blocks(n, block)]
    for _, arr in _engine.run_parts(
        client,
        shard_task,
        plan,
        parts,
        folder,
        data=data,
        retries=retries,
        progress=progress,
        label="knn",
    ):
        ids, keys = merge_topk([ids, arr["ids"]], [keys, arr["keys"]], k)
    return ids, scores_from_keys(keys, plan["metric"])


def _rows_job(
    c: Any,
    base: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    bias: np.ndarray | None,
    name: str,
    out: Any,
    scratch_dir: Path,
    block_rows: Any,
    resume: bool,
    progress: bool,
    retries: int,
    transport: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k of staged queries against staged base rows, query blocks."""
    path, data_id = _engine.stage(base, scratch_dir)
    qpath, q_id = _engine.stage(queries, scratch_dir)
    params = {
        "job": name,
        "k": k,
        "queries": q_id,
        "bias": None if bias is None else _engine.fingerprint(bias),
        **_engine.common_params(base, data_id, simd_dependent=False),
    }
    if out is not None and block_rows == "auto":
        block_rows = _resumed_block_rows(out, params, len(queries))
    block = _engine.auto_block_rows(len(queries), block_rows)
    params["block_rows"] = block
    folder, temporary = _engine.open_out(out, scratch_dir, params, resume=resume)
    bias_path = None
    if bias is not None:
        bias_path = str(folder / "bias.npy")
        np.save(bias_path, np.ascontiguousarray(bias, dtype=np.float32))
    plan = {
        "path": path,
        "transport": transport,
        "data_id": data_id,
        "k": k,
        "metric": "ip",
        "exclude_self": False,
        "queries": qpath,
        "bias": bias_path,
        "out": str(folder),
        "worker_writes": transport != "scatter",
    }
    data = _engine.transport_data(c, transport, base)
    try:
        return _run_rows(
            c,
            plan,
            len(queries),
            block,
            folder,
            data,
            k=k,
            retries=retries,
            progress=progress,
            label=name,
        )
    finally:
        _engine.cleanup(folder, temporary)


def csls(
    src: EmbeddingSpace,
    tgt: EmbeddingSpace,
    alignment: Any,
    words: Any,
    k: int = 10,
    *,
    csls_k: int = 10,
    source_vocab: int | None = None,
    target_vocab: int | None = None,
    client: Any = None,
    block_rows: int | str = "auto",
    out: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    retries: int = 3,
    transport: str = "shared",
    scratch: str | os.PathLike | None = None,
    timeout: float = 10.0,
) -> Any:
    """CSLS translation of ``words`` on a Dask cluster; equals
    ``ts.translate(src, tgt, words, alignment, k, retrieval="csls", csls_k=csls_k)``.

    Three exact block passes, none of which builds a (sources x targets) matrix: r_S (every
    target among the mapped sources), r_T (every query among the targets), then the biased
    kNN of the queries. ``out`` gets one subfolder per pass. Other parameters as in
    :func:`knn_graph`.
    """
    from ..alignment.translate import Translation, _Prepared

    if isinstance(words, str):
        words = [words]
    words = list(words)
    if not words:
        raise ValueError("no words to translate")
    prep = _Prepared(src, tgt, alignment, source_vocab, target_vocab, True)
    Q = np.ascontiguousarray(prep.map(src[words]))
    T, S = prep.T, prep.S
    if S is None:
        raise RuntimeError("the prepared translation has no mapped sources")
    k = check_k(k, T.shape[0], what="target words")
    check_k(csls_k, S.shape[0], what="rows to average over")
    check_k(csls_k, T.shape[0], what="rows to average over")
    scratch_dir = _engine.scratch_folder(scratch)
    opts: dict[str, Any] = {
        "scratch_dir": scratch_dir,
        "block_rows": block_rows,
        "resume": resume,
        "progress": progress,
        "retries": retries,
        "transport": transport,
    }

    def sub(name: str) -> Any:
        return None if out is None else Path(out) / name

    with _engine.session(client, timeout) as c:
        s_rs = _rows_job(c, S, T, csls_k, bias=None, name="csls_r_s", out=sub("r_s"), **opts)[1]
        s_rt = _rows_job(c, T, Q, csls_k, bias=None, name="csls_r_t", out=sub("r_t"), **opts)[1]
        # the same reductions as alignment.csls.mean_topk_similarity
        r_s = s_rs.astype(np.float64).mean(axis=1).astype(np.float32)
        r_t = s_rt.astype(np.float64).mean(axis=1).astype(np.float32)
        idx, half = _rows_job(c, T, Q, k, bias=-0.5 * r_s, name="csls", out=sub("final"), **opts)
    scores = 2.0 * half - r_t[:, None]
    vocab = tgt.vocab
    labels = [[vocab[j] for j in row] for row in idx.tolist()]
    return Translation(words, idx, scores, labels, "csls")
