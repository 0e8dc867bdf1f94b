"""Cosine-similarity matrices computed by the blocked SIMD kernels (never ``A @ A.T`` in numpy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _kernels
from ._validate import as_matrix


def unit_rows(x: Any, name: str = "X") -> np.ndarray:
    """Rows scaled to unit length (float32); rows of norm 0 stay 0 instead of becoming NaN."""
    if hasattr(x, "unit_vectors"):
        return x.unit_vectors
    return _kernels.normalize_rows(as_matrix(x, name, allow_1d=True))[0]


#: Absolute error of each low-precision output dtype for cosines in [-1, 1]: half a unit in the
#: last place at magnitude 1 (float16: 11-bit, bfloat16: 8-bit significand), plus 1e-6 for the
#: float32 computation's own error (its typical size for d <= 4096; the worst case is
#: ``float32_cosine_bound(d)``, 2.3e-5 at d = 384).
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
LOW_PRECISION_BOUND = {"float16": 2.0**-11 + 1e-6, "bfloat16": 2.0**-8 + 1e-6}


def float32_cosine_bound(d: int) -> float:
    """Worst-case absolute error of a float32 cosine of two ``d``-dimensional vectors.

    Rounding each unit row to float32 moves the cosine by at most ``2 u`` (u = 2**-24), and a
    float32 dot product of ``d`` terms whose absolute products sum to at most 1 (Cauchy-Schwarz
    for unit rows) errs by at most ``d u``: ``(d + 2) u`` in all, 2.3e-5 at d = 384. Typical
    errors are about sqrt(d) times smaller (1e-6). Clamping to [-1, 1] only removes error.
    """
    return (d + 2) * FLOAT32_UNIT_ROUNDOFF


def _low_precision_dtype(dtype: Any) -> tuple[str, Any]:
    name = getattr(dtype, "__name__", None) or str(
        np.dtype(dtype) if dtype != "bfloat16" else dtype
    )
    if name in ("float16", "half", "f2"):
        return "float16", np.float16
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError as e:
            raise ImportError(
                "dtype='bfloat16' needs the ml_dtypes package (numpy has no bfloat16): "
                "pip install ml-dtypes, or use dtype='float16'"
            ) from e
        return "bfloat16", ml_dtypes.bfloat16
    raise ValueError(f"dtype must be float32, 'float16' or 'bfloat16', got {dtype!r}")


def cosine_matrix(
    A: Any,
    B: Any = None,
    *,
    out: np.ndarray | None = None,
    dtype: Any = np.float32,
    chunk_rows: int = 2048,
) -> np.ndarray:
    """Pairwise cosine similarities between the rows of ``A`` and ``B``.

    Parameters
    ----------
    A, B : array_like (n, d), (m, d) or EmbeddingSpace
        Vectors as rows. ``B=None`` compares ``A`` with itself.
    out : np.ndarray, optional
        Array of shape (n, m) and of the requested dtype, with contiguous rows (a row slice of
        a bigger array works), to write into, for results too big to allocate twice.
    dtype : {np.float32, "float16", "bfloat16"}
        float32 (default): every entry is within ``float32_cosine_bound(d)`` =
        ``(d + 2) * 2**-24`` of the exact cosine (2.3e-5 for d = 384; typically 1e-6) and
        clamped to [-1, 1], so ``np.arccos`` of it is never NaN. "float16" and "bfloat16" halve the
        memory for matrices that are only plotted or thresholded; they are **approximate**:
        every entry is within ``LOW_PRECISION_BOUND[dtype]`` (4.9e-4 for float16, 3.9e-3 for
        bfloat16) of the float32 value. They are computed in float32 blocks of ``chunk_rows``
        rows and converted, so no full float32 matrix is ever allocated.

    Returns
    -------
    np.ndarray
        (n, m) of ``dtype``, every entry in [-1, 1]. A zero vector has cosine 0 with
        everything (never NaN).
    """
    if dtype is np.float32 or dtype == "float32" or dtype == np.dtype(np.float32):
        return _float32_cosines(A, B, out)
    a = unit_rows(A, "A")
    b = a if B is None else unit_rows(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A has dimension {a.shape[1]} but B has {b.shape[1]}")
    _, np_dtype = _low_precision_dtype(dtype)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    shape = (a.shape[0], b.shape[0])
    if out is None:
        out = np.empty(shape, dtype=np_dtype)
    elif out.shape != shape or out.dtype != np.dtype(np_dtype):
        raise ValueError(f"out must have shape {shape} and dtype {np.dtype(np_dtype)}")
    block = np.empty((min(chunk_rows, shape[0]), shape[1]), dtype=np.float32)
    for start in range(0, shape[0], chunk_rows):
        rows = a[start : start + chunk_rows]
        part = _kernels.gram(rows, b, out=block[: rows.shape[0]], clamp_unit=True)
        out[start : start + rows.shape[0]] = part  # round to nearest in the target dtype
    return out


def _float32_cosines(A: Any, B: Any, out: np.ndarray | None) -> np.ndarray:
    """The float32 ``cosine_matrix``: spaces' cached unit rows as they are, arrays normalised by
    the kernel while it packs them (no normalised copies; bitwise the same cosines)."""
    spaces = hasattr(A, "unit_vectors") and (B is None or hasattr(B, "unit_vectors"))
    if spaces:
        a = A.unit_vectors
        b = a if B is None else B.unit_vectors
    else:
        a = as_matrix(A, "A", allow_1d=True)
        b = a if B is None else as_matrix(B, "B", allow_1d=True)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A has dimension {a.shape[1]} but B has {b.shape[1]}")
    return _kernels.gram(a, b, out=out, clamp_unit=True, unit_rows=not spaces)


def cosine_matrix_chunks(
    A: Any, B: Any = None, *, chunk_rows: int = 4096
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(row_start, block)`` with block = cosines of rows ``row_start:row_start+c`` of A.

    For matrices that do not fit in memory: each block is (c, m) float32 and freshly computed,
    so only one block is alive at a time, clamped to [-1, 1] as :func:`cosine_matrix`.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    a = unit_rows(A, "A")
    b = a if B is None else unit_rows(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A has dimension {a.shape[1]} but B has {b.shape[1]}")
    for start in range(0, a.shape[0], chunk_rows):
        yield start, _kernels.gram(a[start : start + chunk_rows], b, clamp_unit=True)
