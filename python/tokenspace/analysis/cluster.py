"""t-SNE maps, DBSCAN clusters and eps x min_samples sweeps of token subsets.

The course's recipe: choose tokens by a predicate (e.g. containing "x", length 4-8), embed
multi-token strings as the mean of their tokens, map them to 2-D with t-SNE (perplexity ~5),
then cluster the map with DBSCAN and sweep eps x min_samples to see how many clusters appear.
scikit-learn does the t-SNE and DBSCAN (``pip install 'tokenspace[viz]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._display import Display
from .._validate import as_matrix


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError as e:  # pragma: no cover - environment dependent
        raise ModuleNotFoundError(
            "t-SNE and DBSCAN need scikit-learn: pip install scikit-learn "
            "(or pip install 'tokenspace[viz]')"
        ) from e


def select_tokens(
    s: Any,
    predicate: Callable[[str], bool] | None = None,
    *,
    contains: str | None = None,
    min_len: int | None = None,
    max_len: int | None = None,
    alphabetic: bool = False,
    strip_prefixes: Sequence[str] = ("##", "Ġ", "▁"),
    limit: int | None = None,
) -> list[str]:
    """Vocabulary entries that pass every given test, in vocabulary order.

    Parameters
    ----------
    s : EmbeddingSpace
    predicate : callable, optional
        ``f(token) -> bool`` on the raw vocabulary entry.
    contains : str, optional
        Keep tokens containing this substring (e.g. ``"x"``).
    min_len, max_len : int, optional
        Length bounds (inclusive), measured after removing a subword marker (``##``, ``Ġ``).
    alphabetic : bool, default False
        Keep only tokens made of letters (after removing the marker).
    limit : int, optional
        Keep the first ``limit`` matches (vocabularies are usually in frequency order, so this
        keeps the most frequent tokens).

    Examples
    --------
    >>> words = ts.select_tokens(s, contains="x", min_len=4, max_len=8, limit=300)  # doctest: +SKIP
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    out: list[str] = []
    for tok in s.vocab:
        bare = tok
        for p in strip_prefixes:
            if bare.startswith(p):
                bare = bare[len(p) :]
                break
        if contains is not None and contains not in bare:
            continue
        if min_len is not None and len(bare) < min_len:
            continue
        if max_len is not None and len(bare) > max_len:
            continue
        if alphabetic and not bare.isalpha():
            continue
        if predicate is not None and not predicate(tok):
            continue
        out.append(tok)
        if limit is not None and len(out) >= limit:
            break
    return out


def tsne(
    X: Any,
    *,
    perplexity: float = 5.0,
    seed: int | None = 0,
    metric: str = "euclidean",
    n_components: int = 2,
    max_iter: int = 1000,
    threads: int | None = None,
) -> np.ndarray:
    """Barnes-Hut t-SNE map of the rows of ``X`` (scikit-learn).

    Parameters
    ----------
    X : array_like (n, d) or EmbeddingSpace
    perplexity : float, default 5
        Must be < n (scikit-learn's rule); the course uses ~5 for a few hundred tokens.
    seed : int or None, default 0
        Random state; the same seed gives the same map.
    metric : str, default "euclidean"
        Any scikit-learn metric, e.g. "cosine".
    threads : int, optional
        OpenMP/BLAS threads for scikit-learn. Default: 1 below 5000 points (measured here: a
        300-point map takes 0.7 s on one thread and 3.9 s on two busy cores, because the
        Barnes-Hut threads spin against each other), all cores above.

    Returns
    -------
    np.ndarray
        float32 (n, n_components).
    """
    _sklearn()
    from sklearn.manifold import TSNE

    X = as_matrix(X, "X")
    n = X.shape[0]
    if n and np.all(X[0] == X):
        # every distance is 0: the affinities are undefined (scikit-learn crashes on them)
        raise ValueError(
            f"all {n} points are identical: t-SNE needs at least two distinct points; drop "
            "the duplicates (np.unique(X, axis=0))"
        )
    if not 0 < perplexity < n:
        raise ValueError(
            f"perplexity must be in (0, n_points) = (0, {n}), got {perplexity}; use fewer "
            "neighbours or more points"
        )
    kw: dict[str, Any] = {
        "n_components": n_components,
        "perplexity": perplexity,
        "random_state": seed,
        "metric": metric,
        "init": "pca",
        "learning_rate": "auto",
    }
    # scikit-learn renamed n_iter to max_iter in 1.5.
    import inspect

    kw["max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"] = max_iter
    if threads is None:
        threads = 1 if n < 5000 else None
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    with threadpool_limits(threads):
        return TSNE(**kw).fit_transform(X.astype(np.float64)).astype(np.float32)


@dataclass(frozen=True, repr=False)
class Clusters(Display):
    """DBSCAN labels: ``labels[i]`` is the cluster of point i, -1 for noise."""

    labels: np.ndarray
    eps: float
    min_samples: int

    @property
    def n_clusters(self) -> int:
        return int(np.unique(self.labels[self.labels >= 0]).size)

    @property
    def n_noise(self) -> int:
        return int((self.labels < 0).sum())

    def _summary(self) -> str:
        return (
            f"{self.labels.size} points, {self.n_clusters} clusters, {self.n_noise} noise, "
            f"eps={self.eps:.4g}, min_samples={self.min_samples}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per cluster (-1 = noise): its size."""
        ids, sizes = np.unique(self.labels, return_counts=True)
        return {"cluster": ids.tolist(), "size": sizes.tolist()}

    def members(self, words: Sequence[str]) -> dict[int, list[str]]:
        """Cluster id -> its words (noise under -1)."""
        if len(words) != self.labels.size:
            raise ValueError(f"{len(words)} words for {self.labels.size} points")
        out: dict[int, list[str]] = {}
        for w, c in zip(words, self.labels.tolist()):
            out.setdefault(int(c), []).append(w)
        return dict(sorted(out.items()))


def _check_dbscan_args(eps: float, min_samples: int) -> None:
    if not (isinstance(eps, (int, float, np.floating)) and eps > 0 and np.isfinite(eps)):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    if (
        isinstance(min_samples, bool)
        or not isinstance(min_samples, (int, np.integer))
        or min_samples < 1
    ):
        raise ValueError(f"min_samples must be an integer >= 1, got {min_samples!r}")


def _distances(points: np.ndarray) -> np.ndarray:
    # The points are small 2-D maps (hundreds to a few thousand rows): one float64 distance
    # matrix reused for every DBSCAN run of a sweep.
    from scipy.spatial.distance import cdist

    return cdist(points, points)


def dbscan(points: Any, eps: float, min_samples: int, *, metric: str = "euclidean") -> Clusters:
    """DBSCAN clustering (scikit-learn) of points, usually a t-SNE map.

    Parameters
    ----------
    points : array_like (n, k)
    eps : float
        Neighbourhood radius.
    min_samples : int
        Points (the point itself included) a core point needs within ``eps``.
    """
    _sklearn()
    from sklearn.cluster import DBSCAN

    _check_dbscan_args(eps, min_samples)
    P = as_matrix(points, "points").astype(np.float64)
    labels = DBSCAN(eps=float(eps), min_samples=int(min_samples), metric=metric).fit_predict(P)
    return Clusters(labels.astype(np.int64), float(eps), int(min_samples))


@dataclass(frozen=True, repr=False)
class DbscanSweep(Display):
    """Cluster counts over an eps x min_samples grid: ``n_clusters[i, j]`` for
    ``eps_values[i]`` and ``min_samples_values[j]`` (``n_noise`` likewise)."""

    eps_values: np.ndarray
    min_samples_values: np.ndarray
    n_clusters: np.ndarray
    n_noise: np.ndarray
    n_points: int

    def _summary(self) -> str:
        return (
            f"{self.eps_values.size} eps x {self.min_samples_values.size} min_samples, "
            f"{self.n_points} points"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per (eps, min_samples) cell."""
        e, m = np.meshgrid(self.eps_values, self.min_samples_values, indexing="ij")
        return {
            "eps": e.ravel().tolist(),
            "min_samples": m.ravel().tolist(),
            "n_clusters": self.n_clusters.ravel().tolist(),
            "n_noise": self.n_noise.ravel().tolist(),
        }

    def best(self, *, max_noise: float = 0.25) -> tuple[float, int]:
        """A setting worth plotting: the most clusters among the cells whose noise is at most
        ``max_noise`` of the points (ties: least noise, then smallest eps and min_samples).

        Without the noise cap the answer is nearly always the smallest eps, which shatters the
        map into pairs. Falls back to the least-noise cell when no cell meets the cap.
        """
        nc, nn = self.n_clusters.ravel(), self.n_noise.ravel()
        ok = nn <= max_noise * self.n_points
        if not ok.any():
            k = int(np.argmin(nn))
        else:
            order = np.lexsort((nn, -np.where(ok, nc, -1)))
            k = int(order[0])
        i, j = np.unravel_index(k, self.n_clusters.shape)
        return float(self.eps_values[i]), int(self.min_samples_values[j])


def dbscan_sweep(
    points: Any, eps_values: Sequence[float], min_samples_values: Sequence[int]
) -> DbscanSweep:
    """Run DBSCAN for every (eps, min_samples) pair and count clusters and noise points."""
    _sklearn()
    from sklearn.cluster import DBSCAN

    eps_arr = np.asarray(list(eps_values), dtype=np.float64)
    ms_arr = np.asarray(list(min_samples_values))
    if eps_arr.size == 0 or ms_arr.size == 0:
        raise ValueError("eps_values and min_samples_values must both be non-empty")
    for e in eps_arr:
        _check_dbscan_args(float(e), 1)
    for m in ms_arr.tolist():
        _check_dbscan_args(1.0, m)
    P = as_matrix(points, "points").astype(np.float64)
    D = _distances(P)
    nc = np.zeros((eps_arr.size, ms_arr.size), dtype=np.int64)
    nn = np.zeros_like(nc)
    for i, e in enumerate(eps_arr):
        for j, m in enumerate(ms_arr.tolist()):
            lab = DBSCAN(eps=float(e), min_samples=int(m), metric="precomputed").fit_predict(D)
            nc[i, j] = np.unique(lab[lab >= 0]).size
            nn[i, j] = int((lab < 0).sum())
    return DbscanSweep(eps_arr, ms_arr.astype(np.int64), nc, nn, int(P.shape[0]))
