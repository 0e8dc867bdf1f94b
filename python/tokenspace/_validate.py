"""Input checks shared by the public API: every error says what to do about it."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _kernels


def as_matrix(
    x: Any,
    name: str = "X",
    *,
    allow_1d: bool = False,
    allow_empty: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 2-D array, or raise a clear error.

    Integer and float inputs are converted; anything else (strings, objects, complex) raises
    ``TypeError``. A 1-D input becomes one row when ``allow_1d``. NaN/Inf raise ``ValueError``
    naming the first bad row.
    """
    if hasattr(x, "vectors") and hasattr(x, "vocab"):  # an EmbeddingSpace
        x = x.vectors
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must be a numeric array (float32 preferred), got dtype {arr.dtype}"
        )
    if arr.ndim == 1 and allow_1d:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_vectors, dim), got shape {arr.shape}"
        )
    if not allow_empty and (arr.shape[0] == 0 or arr.shape[1] == 0):
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one vector")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if check_finite:
        require_finite(arr, name)
    return arr


def require_finite(arr: np.ndarray, name: str = "X") -> None:
    """Raise ValueError naming the first row of the float32 matrix ``arr`` with NaN or Inf.

    For kernels that see every value anyway (and whose sums then come out non-finite), the
    caller may skip the check in :func:`as_matrix` and call this only when they do.
    """
    if not arr.size:
        return
    bad = _kernels.first_nonfinite_row(arr)
    if bad >= 0:
        raise ValueError(
            f"{name} row {bad} contains NaN or Inf; remove or repair that row "
            f"(np.isfinite(X).all(axis=1) finds them all)"
        )


def check_k(k: Any, available: int, *, what: str = "vocabulary entries") -> int:
    """Validate a neighbour count against how many candidates exist."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if available < 1:
        raise ValueError(
            f"k={k} neighbours asked for, but there are no {what} to return (a space needs at "
            "least one entry besides the query; add entries or pass exclude_self=False)"
        )
    if k > available:
        raise ValueError(
            f"k={k} is larger than the {available} {what} that can be returned; "
            f"use k <= {available}"
        )
    return k
