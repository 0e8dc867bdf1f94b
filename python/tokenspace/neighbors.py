"""Exact k-nearest-neighbour results and the search over plain arrays (``ts.knn``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _kernels
from ._validate import as_matrix, check_k

METRICS = ("cosine", "dot", "euclidean")
_ALIASES = {
    "cosine": "cosine",
    "cos": "cosine",
    "dot": "dot",
    "ip": "dot",
    "inner_product": "dot",
    "euclidean": "euclidean",
    "l2": "euclidean",
}


def kernel_metric(metric: str) -> str:
    """The kernels' name of a canonical metric: "l2" for euclidean, "ip" otherwise (cosine is
    the inner product of unit rows)."""
    return "l2" if metric == "euclidean" else "ip"


def canonical_metric(metric: str) -> str:
    """Map user spellings ('cos', 'ip', 'l2', ...) to 'cosine' | 'dot' | 'euclidean'."""
    try:
        return _ALIASES[str(metric).lower()]
    except KeyError:
        raise ValueError(
            f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}"
        ) from None


@dataclass(frozen=True)
class Neighbors:
    """Result of a k-NN search: one row per query, best neighbour first.

    Attributes
    ----------
    indices : np.ndarray
        int64 (n_queries, k) vocabulary ids.
    scores : np.ndarray
        float32 (n_queries, k): cosine or inner product (descending), or Euclidean distance
        (ascending) for ``metric="euclidean"``.
    words : list of list of str, optional
        The neighbours' words when the base has a vocabulary.
    metric : str
    queries : list, optional
        The query labels (words or ids) when queries were vocabulary entries.
    """

    indices: np.ndarray
    scores: np.ndarray
    words: list[list[str]] | None = None
    metric: str = "cosine"
    queries: list[Any] | None = field(default=None)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, i: int) -> list[tuple[str | int, float]]:
        """Neighbours of query ``i`` as ``(word or id, score)`` pairs."""
        labels = self.words[i] if self.words is not None else self.indices[i].tolist()
        return list(zip(labels, self.scores[i].tolist()))

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def table(self, i: int = 0) -> str:
        """Plain-text table of query ``i``'s neighbours (used by the CLI)."""
        head = "distance" if self.metric == "euclidean" else self.metric
        rows = [f"{'rank':>4}  {'id':>8}  {head:>9}  word"]
        for r in range(self.k):
            w = self.words[i][r] if self.words is not None else ""
            rows.append(f"{r + 1:>4}  {int(self.indices[i, r]):>8}  {self.scores[i, r]:>9.4f}  {w}")
        return "\n".join(rows)


PRECISIONS = ("auto", "fp32", "bf16", "int8")


def knn(
    X: Any, queries: Any, k: int = 10, *, metric: str = "cosine", precision: str = "auto"
) -> Neighbors:
    """Exact k nearest rows of ``X`` for each query vector.

    Parameters
    ----------
    X : array_like (n, d)
        The database, one vector per row.
    queries : array_like (m, d) or (d,)
    k : int
        Number of neighbours, ``1 <= k <= n``.
    metric : {"cosine", "dot", "euclidean"}
    precision : {"auto", "fp32", "bf16"}
        Precision of the candidate stage only; the returned neighbours and scores are exact
        (re-ranked in double precision) whatever is chosen. "auto" uses bf16 candidates on
        CPUs with AVX-512 BF16 when there are enough queries to amortise converting ``X``.

    Returns
    -------
    Neighbors
        Ties are broken by the lower row index.
    """
    metric = canonical_metric(metric)
    base = as_matrix(X, "X")
    q = as_matrix(queries, "queries", allow_1d=True)
    if q.shape[1] != base.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but X has {base.shape[1]}")
    k = check_k(k, base.shape[0], what="rows in X")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    if metric == "cosine":
        base, _ = _kernels.normalize_rows(base)
        q, qn = _kernels.normalize_rows(q)
        zero = np.flatnonzero(qn == 0)
        if zero.size:
            raise ValueError(
                f"query {int(zero[0])} is the zero vector: its cosine similarity is undefined; "
                f"drop it or use metric='dot'"
            )
    idx, scores = _kernels.knn(q, base, k, metric=kernel_metric(metric), precision=precision)
    return Neighbors(idx, scores, None, metric)
