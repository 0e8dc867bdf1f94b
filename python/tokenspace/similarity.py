"""Cosine-similarity matrices computed by the blocked SIMD kernels (never ``A @ A.T`` in numpy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _core
from ._validate import as_matrix


def unit_rows(x: Any, name: str = "X") -> np.ndarray:
    """Rows scaled to unit length (float32); rows of norm 0 stay 0 instead of becoming NaN."""
    if hasattr(x, "unit_vectors"):
        return x.unit_vectors
    return _core.normalize_rows(as_matrix(x, name, allow_1d=True))[0]


def cosine_matrix(A: Any, B: Any = None, *, out: np.ndarray | None = None) -> np.ndarray:
    """Pairwise cosine similarities between the rows of ``A`` and ``B``.

    Parameters
    ----------
    A, B : array_like (n, d), (m, d) or EmbeddingSpace
        Vectors as rows. ``B=None`` compares ``A`` with itself.
    out : np.ndarray, optional
        float32 array of shape (n, m) with contiguous rows (a row slice of a bigger array
        works) to write into, for results too big to allocate twice.

    Returns
    -------
    np.ndarray
        float32 (n, m). A zero vector has cosine 0 with everything (never NaN).
    """
    a = unit_rows(A, "A")
    b = a if B is None else unit_rows(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A has dimension {a.shape[1]} but B has {b.shape[1]}")
    return _core.gram(a, b, out)


def cosine_matrix_chunks(
    A: Any, B: Any = None, *, chunk_rows: int = 4096
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(row_start, block)`` with block = cosines of rows ``row_start:row_start+c`` of A.

    For matrices that do not fit in memory: each block is (c, m) float32 and freshly computed,
    so only one block is alive at a time.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    a = unit_rows(A, "A")
    b = a if B is None else unit_rows(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A has dimension {a.shape[1]} but B has {b.shape[1]}")
    for start in range(0, a.shape[0], chunk_rows):
        yield start, _core.gram(a[start : start + chunk_rows], b, None)
