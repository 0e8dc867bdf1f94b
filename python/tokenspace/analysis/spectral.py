"""Singular value spectra of (sub)matrices, principal axes, random baselines, group means."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._display import Display
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


def _check_quantiles(quantiles: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise TypeError("quantiles must be a pair of floats, e.g. (0.025, 0.975)") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {quantiles!r}")
    return lo, hi


@dataclass(frozen=True, repr=False)
class SpectrumBaseline(Display):
    """A group's singular value spectrum against many size-matched random groups.

    Attributes
    ----------
    group : np.ndarray (k,)
        The group's singular values (descending).
    random : np.ndarray (n_random, k)
        Each random group's singular values.
    mean, low, high : np.ndarray (k,)
        Mean and the quantile band (``quantiles``) of the random spectra, per component.
    percentile : np.ndarray (k,)
        Per component, the percentage of random groups whose singular value is below the
        group's (ties count half): 97 means the group's k-th value beats 97% of them.
    concentration, concentration_percentile : float
        ``s_1^2 / sum s_i^2`` (the share of variance on the first axis) of the group, and its
        percentile among the random groups.
    quantiles : tuple of float
    n_items : int
        Group size (= each random group's size).
    """

    group: np.ndarray
    random: np.ndarray = field(repr=False)
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    percentile: np.ndarray
    concentration: float
    concentration_percentile: float
    quantiles: tuple[float, float]
    n_items: int

    def _table(self) -> dict[str, Any]:
        k = self.group.size
        return {
            "component": list(range(1, k + 1)),
            "group": self.group.tolist(),
            "random_mean": self.mean.tolist(),
            "random_low": self.low.tolist(),
            "random_high": self.high.tolist(),
            "percentile": self.percentile.tolist(),
        }

    def _summary(self) -> str:
        return (
            f"spectrum of {self.n_items} items vs {self.random.shape[0]} random groups: first "
            f"singular value at percentile {self.percentile[0]:.1f}, concentration "
            f"{self.concentration:.3f} at percentile {self.concentration_percentile:.1f}"
        )


def _percentile_of(value: np.ndarray, samples: np.ndarray) -> np.ndarray:
    below = (samples < value).sum(axis=0)
    ties = (samples == value).sum(axis=0)
    return 100.0 * (below + 0.5 * ties) / samples.shape[0]


def spectrum_baseline(
    s: EmbeddingSpace,
    group: Any,
    *,
    n_random: int = 200,
    quantiles: tuple[float, float] = (0.025, 0.975),
    center: bool = True,
    exclude_group: bool = True,
    seed: int | None = 0,
) -> SpectrumBaseline:
    """Compare a token group's spectrum with ``n_random`` random groups of the same size.

    One random group is a single draw; a band over many says whether the group's spectrum is
    unusual for its size (small groups have steep spectra by chance alone).

    Parameters
    ----------
    s : EmbeddingSpace
    group : sequence of str
        The group's words (at least 2).
    n_random : int, keyword-only
        Random groups drawn (uniformly, without replacement within a group).
    quantiles : (float, float), keyword-only
        The band's lower and upper quantile.
    center : bool, keyword-only
        Mean-centre each group before the SVD (as :func:`svd_spectrum`).
    exclude_group : bool, keyword-only
        Draw the random groups from the vocabulary without the group's words.
    seed : int or None, keyword-only
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    SpectrumBaseline
    """
    if isinstance(group, str):
        raise TypeError("group must be a list of words, not one string")
    words = list(group)
    if len(words) < 2:
        raise ValueError(f"a spectrum needs at least 2 items; got {len(words)}")
    if isinstance(n_random, bool) or not isinstance(n_random, (int, np.integer)) or n_random < 1:
        raise ValueError(f"n_random must be an int >= 1; got {n_random!r}")
    lo_q, hi_q = _check_quantiles(quantiles)
    ids = np.asarray(s.indices(words), dtype=np.int64)
    pool = np.setdiff1d(np.arange(len(s)), ids) if exclude_group else np.arange(len(s))
    m = len(words)
    if pool.size < m:
        raise ValueError(
            f"the vocabulary has {pool.size} candidate words, fewer than the group's {m}"
        )
    V = s.vectors
    g = svd_spectrum(V[ids], center=center)
    rng = np.random.default_rng(seed)
    R = np.stack(
        [
            svd_spectrum(V[np.sort(rng.choice(pool, size=m, replace=False))], center=center)
            for _ in range(int(n_random))
        ]
    )

    def conc(sv: np.ndarray) -> np.ndarray:
        e = sv.astype(np.float64) ** 2
        return e[..., 0] / e.sum(axis=-1)

    return SpectrumBaseline(
        group=g,
        random=R,
        mean=R.mean(axis=0),
        low=np.quantile(R, lo_q, axis=0),
        high=np.quantile(R, hi_q, axis=0),
        percentile=_percentile_of(g, R),
        concentration=float(conc(g)),
        concentration_percentile=float(_percentile_of(np.atleast_1d(conc(g)), conc(R)[:, None])[0]),
        quantiles=(lo_q, hi_q),
        n_items=m,
    )
