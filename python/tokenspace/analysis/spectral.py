"""Singular value spectra of (sub)matrices, principal axes, random baselines, group means."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import as_matrix
from ..space import EmbeddingSpace

# Above this many entries the SVD goes through the d x d Gram matrix accumulated in float64
# chunks instead of a dense LAPACK SVD of the whole matrix.
_DENSE_LIMIT = 4_000_000


def _matrix64(X: Any, center: bool) -> np.ndarray:
    A = as_matrix(X, "X").astype(np.float64)
    if center:
        A -= A.mean(axis=0)
    return A


def _gram64(X: Any, center: bool) -> np.ndarray:
    A = as_matrix(X, "X")
    mu = A.mean(axis=0, dtype=np.float64) if center else None
    d = A.shape[1]
    G = np.zeros((d, d))
    for i in range(0, A.shape[0], 8192):
        c = A[i : i + 8192].astype(np.float64)
        if mu is not None:
            c -= mu
        G += c.T @ c
    return G


def svd_spectrum(X: Any, center: bool = True) -> np.ndarray:
    """Singular values (descending, float64) of ``X``, mean-centred by default.

    Mean-centring removes one degree of freedom: for n <= d rows the last singular value
    drops to ~0.

    Parameters
    ----------
    X : array (n, d) or EmbeddingSpace
    center : bool, default True
    """
    A = as_matrix(X, "X")
    if A.size <= _DENSE_LIMIT:
        return np.linalg.svd(_matrix64(A, center), compute_uv=False)
    ev = np.linalg.eigvalsh(_gram64(A, center))[::-1]
    return np.sqrt(np.clip(ev, 0, None))[: min(A.shape)]


def principal_axes(X: Any, n: int = 1, center: bool = True) -> np.ndarray:
    """The top ``n`` right singular vectors of ``X`` (rows of the result, float64 (n, d)).

    Signs are fixed so that each vector's largest-magnitude component is positive
    (scikit-learn's ``svd_flip`` convention), making results reproducible.
    """
    A = as_matrix(X, "X")
    k = min(A.shape)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= k:
        raise ValueError(f"n must be an int between 1 and {k} (min of the matrix shape)")
    if A.size <= _DENSE_LIMIT:
        Vt = np.linalg.svd(_matrix64(A, center), full_matrices=False)[2][:n]
    else:
        _, V = np.linalg.eigh(_gram64(A, center))
        Vt = V[:, ::-1][:, :n].T
    big = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(n), big])
    return Vt * signs[:, None]


def random_subset(
    s: EmbeddingSpace, n: int, *, seed: int | None = None, exclude: Any = ()
) -> EmbeddingSpace:
    """``n`` distinct vocabulary entries drawn uniformly at random (a baseline of the same shape).

    ``exclude`` lists words that must not be drawn (e.g. the group being compared).
    """
    ex = set(s.indices(list(exclude))) if exclude else set()
    pool = len(s) - len(ex)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= pool:
        raise ValueError(f"n must be an int between 1 and {pool}")
    rng = np.random.default_rng(seed)
    if ex:
        cand = np.setdiff1d(np.arange(len(s)), np.fromiter(ex, dtype=np.int64))
        ids = rng.choice(cand, size=n, replace=False)
    else:
        ids = rng.choice(len(s), size=n, replace=False)
    return s.subset([s.vocab[i] for i in ids])


def group_mean_correlation(A: Any, B: Any) -> float:
    """Pearson correlation, across dimensions, between the mean vectors of two groups."""
    a = as_matrix(A, "A").astype(np.float64).mean(axis=0)
    b = as_matrix(B, "B").astype(np.float64).mean(axis=0)
    if a.shape != b.shape:
        raise ValueError(f"the groups have dimensions {a.shape[0]} and {b.shape[0]}")
    a -= a.mean()
    b -= b.mean()
    den = np.sqrt((a @ a) * (b @ b))
    if den == 0:
        raise ValueError("a group mean is constant across dimensions: correlation undefined")
    return float(a @ b / den)
