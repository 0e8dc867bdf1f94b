"""Exact k-nearest-neighbour results and the search over plain arrays (``ts.knn``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _kernels
from ._validate import as_matrix, check_k
from .tokens import TokenDisplay, display_form, vocab_style

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


@dataclass(frozen=True, repr=False)
class Neighbors(TokenDisplay):
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
    query_ids : np.ndarray, optional
        int64 (n_queries,) vocabulary ids of the queries when they were vocabulary entries
        (``None`` for raw vectors, and for ``knn_graph``, whose row i is entry i).
    style : str, optional
        The vocabulary's token convention (``EmbeddingSpace.token_style``), used to show
        tokens in tables ("Ġthe" as "␣the").
    """

    indices: np.ndarray
    scores: np.ndarray
    words: list[list[str]] | None = None
    metric: str = "cosine"
    queries: list[Any] | None = field(default=None)
    query_ids: np.ndarray | None = field(default=None, compare=False)
    style: str | None = field(default=None, compare=False)

    _token_columns = ("query", "word")

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def _summary(self) -> str:
        n, k = self.indices.shape
        return f"{n} quer{'y' if n == 1 else 'ies'} x k={k}, metric={self.metric!r}"

    def _rows(self, n_rows: int | None) -> dict[str, Sequence[Any]]:
        """Long format, one row per (query, neighbour); only the first ``n_rows`` when given."""
        n, k = self.indices.shape
        total = n * k if n_rows is None else min(n * k, n_rows)
        q = np.arange(total) // max(k, 1)
        r = np.arange(total) % max(k, 1)
        idx = self.indices.reshape(-1)[:total]
        # numeric columns stay numpy arrays: a knn_graph table has V x k rows
        labels: Sequence[Any] = (
            [self.queries[i] for i in q.tolist()]
            if self.queries is not None
            else (self.query_ids[q] if self.query_ids is not None else q)
        )
        table: dict[str, Any] = {"query": labels, "rank": r + 1}
        table["id"] = idx
        if self.words is not None:
            table["word"] = [self.words[i][j] for i, j in zip(q.tolist(), r.tolist())]
        head = "distance" if self.metric == "euclidean" else "score"
        table[head] = self.scores.reshape(-1)[:total]
        return table

    def _table(self) -> dict[str, Sequence[Any]]:
        return self._rows(None)

    def _head(self, n: int) -> tuple[dict[str, list[Any]], int]:
        return {c: list(v) for c, v in self._rows(n).items()}, int(self.indices.size)

    def _sources(self) -> np.ndarray:
        n = self.indices.shape[0]
        return self.query_ids if self.query_ids is not None else np.arange(n, dtype=np.int64)

    def to_sparse(self, *, n_items: int | None = None) -> Any:
        """The neighbours as a ``scipy.sparse.csr_array``: row i holds query i's k neighbours,
        with their scores (cosine, inner product, or distance for euclidean) as values.

        Parameters
        ----------
        n_items : int, optional
            Number of columns, the size of the searched vocabulary. Default: enough for the
            largest id, and at least the number of queries (so a ``knn_graph`` gives a square
            V x V matrix).

        Notes
        -----
        Explicitly stored zeros are kept (a cosine of exactly 0 is still an edge); rows are
        the queries in order, so for word queries row i is ``queries[i]``, not its vocabulary
        id (see ``query_ids``).
        """
        try:
            from scipy import sparse
        except ImportError as e:
            raise ImportError("to_sparse() needs scipy: pip install scipy") from e
        n, k = self.indices.shape
        cols = int(self.indices.max()) + 1 if self.indices.size else 0
        width = max(cols, n) if n_items is None else int(n_items)
        if width < cols:
            raise ValueError(f"n_items={width} is smaller than the largest id + 1 ({cols})")
        indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
        return sparse.csr_array(
            (self.scores.reshape(-1).copy(), self.indices.reshape(-1).copy(), indptr),
            shape=(n, width),
        )

    def to_networkx(self, *, labels: Sequence[str] | None = None, directed: bool = True) -> Any:
        """The neighbours as a networkx graph: an edge from each query to each of its
        neighbours, with the score as its ``weight`` attribute.

        Parameters
        ----------
        labels : sequence of str, optional
            Node names by vocabulary id (pass ``space.vocab``); default: the ids themselves,
            with a ``word`` node attribute when the neighbours' words are known.
        directed : bool, default True
            kNN is not symmetric: the default ``DiGraph`` keeps who chose whom. ``False``
            gives an undirected ``Graph`` (a pair chosen both ways becomes one edge).
        """
        try:
            import networkx as nx
        except ImportError as e:
            raise ImportError("to_networkx() needs networkx: pip install networkx") from e
        G = nx.DiGraph() if directed else nx.Graph()
        src = self._sources().tolist()
        idx = self.indices.tolist()
        sc = self.scores.tolist()

        def name(i: int) -> Any:
            return labels[i] if labels is not None else i

        if labels is None:
            G.add_nodes_from(src)
            if self.words is not None:
                G.add_nodes_from(
                    (j, {"word": w})
                    for row, words in zip(idx, self.words)
                    for j, w in zip(row, words)
                )
            if self.queries is not None and self.query_ids is not None:
                G.add_nodes_from(
                    (i, {"word": q}) for i, q in zip(src, self.queries) if isinstance(q, str)
                )
        else:
            G.add_nodes_from(name(i) for i in src)
        G.add_edges_from(
            (name(s), name(j), {"weight": w})
            for s, row, ws in zip(src, idx, sc)
            for j, w in zip(row, ws)
            if j >= 0
        )
        return G

    def __getitem__(self, i: int) -> list[tuple[str | int, float]]:
        """Neighbours of query ``i`` as ``(word or id, score)`` pairs."""
        labels = self.words[i] if self.words is not None else self.indices[i].tolist()
        return list(zip(labels, self.scores[i].tolist()))

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def table(self, i: int = 0) -> str:
        """Plain-text table of query ``i``'s neighbours (used by the CLI); tokens in their
        display form ("Ġthe" as "␣the")."""
        head = "distance" if self.metric == "euclidean" else self.metric
        rows = [f"{'rank':>4}  {'id':>8}  {head:>9}  word"]
        style = self.style or (vocab_style(self.words[i]) if self.words is not None else "plain")
        for r in range(self.k):
            w = display_form(self.words[i][r], style) if self.words is not None else ""
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
    precision : {"auto", "fp32", "bf16", "int8"}
        Precision of the candidate stage only; the returned neighbours and scores are exact
        (re-ranked in double precision) whatever is chosen. "auto" uses bf16 candidates on
        CPUs with AVX-512 BF16 when there are enough queries to amortise converting ``X``, and
        int8 candidates (AVX2 and above) for single queries against a kept database.

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
