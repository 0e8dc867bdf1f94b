"""The gateway to the compiled kernels: the only module that imports ``tokenspace._core``.

Every wrapper takes its options as keywords and passes them on unchanged; policy (which
candidate precision a search uses, which low-precision copies a database keeps) is asked of the
C++ side, never decided here. Inputs are expected already checked (see ``_validate``): float32,
C-contiguous rows.

Long calls go through :func:`run_job`: the kernel runs on a helper thread (the bindings release
the GIL) while the calling thread waits in short slices, so Ctrl-C is handled within a fraction
of a second: the job is cancelled (the thread pool stops handing out tasks), joined, and
KeyboardInterrupt is raised. The waiting thread also reports progress. Calls too small to matter
(less than ``LONG_WORK`` multiply-adds) run directly, without the helper thread's ~0.1 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

import numpy as np

from . import _core
from .progress import ProgressSink, sink

T = TypeVar("T")

#: Multiply-adds below which a call runs directly (tens of milliseconds at the scalar level).
LONG_WORK = 5e7

#: Seconds between two checks for Ctrl-C and progress while a long call runs.
POLL_SECONDS = 0.05

Progress = bool | ProgressSink | None

#: A matrix prepared once for repeated exact k-NN searches (norms, low-precision copies).
Database = _core.Database

#: Kernel names of the two metrics: inner product (plus an optional per-row bias) and L2.
KERNEL_METRICS = ("ip", "l2")


# instruction sets and threads
def simd_level() -> str:
    return _core.simd_level()


def detected_simd_level() -> str:
    return _core.detected_simd_level()


def available_simd_levels() -> list[str]:
    return list(_core.available_simd_levels())


def set_simd_level(level: str) -> None:
    _core.set_simd_level(level)


def kernel_table(level: str) -> dict[str, str]:
    """Which instruction-set table provides each kernel slot at ``level`` ("none": no kernel)."""
    return dict(_core.kernel_table(level))


def num_threads() -> int:
    return _core.num_threads()


def set_num_threads(n: int) -> None:
    _core.set_num_threads(n)


def _dim(a: Any, axis: int) -> int:
    """``a.shape[axis]``, or 0 for inputs the kernel will reject (work estimates never raise)."""
    shape = getattr(a, "shape", ())
    return int(shape[axis]) if -len(shape) <= axis < len(shape) else 0


def max_threads() -> int:
    return _core.max_threads()


def run_job(fn: Callable[[], T], *, work: float, progress: Progress = False, label: str = "") -> T:
    """``fn()`` (which calls kernels), interruptible by Ctrl-C and reporting progress.

    ``work``: the call's size in multiply-adds (it decides whether the helper thread is worth
    it). Only the main thread receives SIGINT, so calls from other threads without a progress
    sink run directly.
    """
    out = sink(progress, label)
    main = threading.current_thread() is threading.main_thread()
    if out is None and (work < LONG_WORK or not main):
        return fn()
    job = _core.Job()
    result: list[T] = []
    error: list[BaseException] = []
    finished = threading.Event()

    def target() -> None:
        try:
            with job:
                result.append(fn())
        except BaseException as e:  # re-raised on the waiting thread
            error.append(e)
        finally:
            finished.set()

    # Waits on an Event, not Thread.join: on Python 3.11 a KeyboardInterrupt inside join() can
    # mark a running thread as stopped, and a kernel still running at interpreter exit aborts.
    thread = threading.Thread(target=target, name="tokenspace-kernel", daemon=True)
    thread.start()
    try:
        while not finished.wait(POLL_SECONDS):
            if out is not None:
                out.update(*job.progress())
    except BaseException:
        job.cancel()
        while True:  # the kernel stops at its next task; a second Ctrl-C must not orphan it
            try:
                finished.wait()
                break
            except KeyboardInterrupt:
                continue
        raise
    finally:
        if out is not None:
            out.update(*job.progress())
            out.close()
    if error:
        raise error[0]
    return result[0]


def peak_rate(kind: str, *, seconds: float = 0.3) -> float:
    return _core.peak_rate(kind, seconds)


def read_pass(x: np.ndarray) -> int:
    """One read of every value of ``x`` with all kernel threads (benchmarks' bandwidth
    reference); the OR of the float32 bit patterns."""
    return int(_core.read_pass(x))


# exact k-NN: the one path every caller takes
def database(rows: np.ndarray, *, precision: str = "auto", n_queries: int = 0) -> Database:
    """A prepared database over ``rows`` (kept alive by it), with the low-precision copies the
    kernels' precision policy wants for ``n_queries`` queries (0: a database kept for many
    searches of any size)."""
    db = _core.Database(rows)
    prepare(db, precision=precision, n_queries=n_queries)
    return db


def prepare(db: Database, *, precision: str = "auto", n_queries: int = 0) -> None:
    """Build the copies the precision policy wants and ``db`` lacks (idempotent)."""
    db.prepare(precision, n_queries)


@overload
def knn(
    queries: np.ndarray,
    base: np.ndarray | Database,
    k: int,
    *,
    metric: str = ...,
    exclude: np.ndarray | None = ...,
    bias: np.ndarray | None = ...,
    precision: str = ...,
    progress: Progress = ...,
    return_keys: Literal[False] = ...,
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def knn(
    queries: np.ndarray,
    base: np.ndarray | Database,
    k: int,
    *,
    metric: str = ...,
    exclude: np.ndarray | None = ...,
    bias: np.ndarray | None = ...,
    precision: str = ...,
    progress: Progress = ...,
    return_keys: Literal[True],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def knn(
    queries: np.ndarray,
    base: np.ndarray | Database,
    k: int,
    *,
    metric: str = "ip",
    exclude: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    precision: str = "auto",
    progress: Progress = False,
    return_keys: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-k of float32 query rows against ``base`` rows (an array or a Database).

    ``metric`` is the kernel's: "ip" (inner product plus ``bias``, one value per base row) or
    "l2" (Euclidean distance). ``exclude``: int64 (n_queries, e) ids never returned (-1 = none).
    ``precision`` only picks the candidate stage; the answer is the exact top-k either way.
    Returns (int64 ids, float32 scores), both (n_queries, k), best first, ties to the lower id;
    with ``return_keys`` also the float64 keys the kernel ranked by (the exact inner product
    plus bias, or -|q - x|^2 / 2 for "l2"; -inf past the filled entries), which is what partial
    results must be merged on to stay exact (float32 scores tie where the keys do not).
    Interruptible and reports progress (see :func:`run_job`).
    """

    def call() -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        if isinstance(base, Database):
            db = base
        else:
            db = _core.Database(base)
            if queries.shape[0]:  # n_queries=0 would mean "kept for many searches"
                prepare(db, precision=precision, n_queries=queries.shape[0])
        return _core.knn(db, queries, k, metric, exclude, bias, precision, return_keys)

    n = base.n if isinstance(base, Database) else _dim(base, 0)
    work = float(_dim(queries, 0)) * n * _dim(queries, 1)
    return run_job(call, work=work, progress=progress, label="knn")


def self_join_tile(
    db: Database,
    rows_i: tuple[int, int],
    rows_j: tuple[int, int],
    k: int,
    *,
    metric: str = "ip",
    exclude_self: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of one tile (I, J) of the self-join of ``db``'s rows, each pair scored
    once: I = ``rows_i`` = [i0, i1) and J = [j0, j1), equal or disjoint.

    Returns (ids_i, keys_i, ids_j, keys_j): the exact top-k of each row of I among J's rows and
    of each row of J among I's rows, global int64 ids (-1 past the filled entries) and float64
    keys as :func:`knn` with ``return_keys``. On the diagonal (I == J) the J pair is the I pair.
    Interruptible (see :func:`run_job`).
    """
    work = float(rows_i[1] - rows_i[0]) * (rows_j[1] - rows_j[0]) * db.d
    return run_job(
        lambda: _core.knn_self_join_tile(
            db, rows_i[0], rows_i[1], rows_j[0], rows_j[1], k, metric, exclude_self
        ),
        work=work,
        label="self-join tile",
    )


def analogy(
    terms: np.ndarray,
    qterms: np.ndarray,
    base: np.ndarray,
    k: int,
    *,
    method: str,
    weights: np.ndarray | None,
    n_pos: int,
    eps: float,
    exclude: np.ndarray | None,
    cos_slack: float,
    db: Database | None = None,
    progress: Progress = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused top-k of batched analogy queries over shared terms: (ids, combined scores).

    ``db`` is the Database of ``base`` itself: a few 3CosMul queries then filter on its int8
    copy (same upper bounds, fewer bytes read).
    """
    work = float(_dim(qterms, 0) + _dim(terms, 0)) * _dim(base, 0) * _dim(base, 1)
    return run_job(
        lambda: _core.analogy(
            terms, qterms, base, k, method, weights, n_pos, eps, exclude, cos_slack, db
        ),
        work=work,
        progress=progress,
        label="analogies",
    )


# dense linear algebra
def gram(
    a: np.ndarray,
    b: np.ndarray,
    *,
    out: np.ndarray | None = None,
    clamp_unit: bool = False,
    unit_rows: bool = False,
    progress: Progress = False,
) -> np.ndarray:
    """``a @ b.T`` in float32 through the blocked SIMD kernels (``out``: rows to write into).

    ``clamp_unit`` clips every entry to [-1, 1] as it is stored (cosines of unit rows).
    ``unit_rows`` normalises the rows as the kernel packs them: bitwise the same as passing
    ``normalize_rows`` of both, without the two normalised copies.
    """
    work = float(_dim(a, 0)) * _dim(b, 0) * _dim(a, -1)
    return run_job(
        lambda: _core.gram(a, b, out, clamp_unit, unit_rows),
        work=work,
        progress=progress,
        label="gram",
    )


def normalize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length copies of the rows (zero rows stay zero) and the row norms."""
    return _core.normalize_rows(x)


def first_nonfinite_row(x: np.ndarray) -> int:
    """Index of the first row holding NaN or Inf, or -1."""
    return _core.first_nonfinite_row(x)


def project(
    x: np.ndarray, axis: np.ndarray, *, offset: float = 0.0, center: np.ndarray | None = None
) -> np.ndarray:
    """``(x - center) @ axis - offset`` in one multithreaded pass (float32; no copy of x)."""
    return _core.project(x, axis, offset, center)


def cross_gram(
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_shift: np.ndarray | None = None,
    y_shift: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float]:
    """``(X - x_shift)^T (Y - y_shift)`` in float64 and both squared Frobenius norms."""
    return _core.cross_gram(x, y, x_shift, y_shift)


def column_means(x: np.ndarray) -> np.ndarray:
    """Column means accumulated in float64."""
    return _core.column_means(x)


def softmax_log_normalizer(
    targets: np.ndarray,
    sources: np.ndarray,
    *,
    beta: float,
    row_max: np.ndarray | None = None,
    progress: Progress = False,
) -> np.ndarray:
    """``log sum_j exp(beta <t_i, s_j>)`` for every target row, streamed (float64)."""
    work = float(_dim(targets, 0)) * _dim(sources, 0) * _dim(sources, -1)
    return run_job(
        lambda: _core.softmax_log_normalizer(targets, sources, beta, row_max),
        work=work,
        progress=progress,
        label="normalizer",
    )


# representational similarity
def _rsa_work(x: np.ndarray, y: np.ndarray) -> float:
    n = _dim(x, 0)
    return float(n) * n * (_dim(x, -1) + _dim(y, -1)) / 2


def rsa_pearson(x: np.ndarray, y: np.ndarray, *, progress: Progress = False) -> dict[str, float]:
    return run_job(
        lambda: dict(_core.rsa_pearson(x, y)),
        work=_rsa_work(x, y),
        progress=progress,
        label="rsa",
    )


def rsa_spearman(
    x: np.ndarray, y: np.ndarray, *, store_values: bool, progress: Progress = False
) -> dict[str, float]:
    return run_job(
        lambda: dict(_core.rsa_spearman(x, y, store_values)),
        work=_rsa_work(x, y),
        progress=progress,
        label="rsa",
    )


def similarity_triangle(x: np.ndarray, *, progress: Progress = False) -> np.ndarray:
    work = float(_dim(x, 0)) ** 2 * _dim(x, -1) / 2
    return run_job(
        lambda: _core.similarity_triangle(x), work=work, progress=progress, label="similarities"
    )


def rsa_permuted_cross(a: np.ndarray, b: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Per permutation row ``p``: ``sum_{i<j} a[(i, j)] * b[(p[i], p[j])]`` (float64 triangles)."""
    return _core.rsa_permuted_cross(a, b, perms)


# word2vec / GloVe text and binary records
def _parse_work(buffer: Any) -> float:
    # parsing costs about as much per byte as ~10 multiply-adds of the GEMM kernels
    return 10.0 * len(buffer)


def parse_text(
    buffer: Any,
    *,
    begin: int,
    max_records: int,
    dim: int,
    first_line_no: int,
    source: str,
    encoding: str,
    errors: str,
    progress: Progress = False,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Text records ``word v1 ... vd``: (vectors, words, 1-based line numbers)."""
    return run_job(
        lambda: _core.parse_text(
            buffer, begin, max_records, dim, first_line_no, source, encoding, errors
        ),
        work=_parse_work(buffer),
        progress=progress,
        label=f"reading {source}",
    )


def parse_binary(
    buffer: Any,
    *,
    begin: int,
    max_records: int,
    dim: int,
    source: str,
    encoding: str,
    errors: str,
    progress: Progress = False,
) -> tuple[np.ndarray, list[str]]:
    """word2vec binary records: (vectors, words)."""
    return run_job(
        lambda: _core.parse_binary(buffer, begin, max_records, dim, source, encoding, errors),
        work=_parse_work(buffer),
        progress=progress,
        label=f"reading {source}",
    )


def format_word_vectors(words: list[str], vectors: np.ndarray, *, binary: bool) -> list[bytes]:
    """word2vec / GloVe records as byte chunks to write in order."""
    return _core.format_word_vectors(words, vectors, binary)
