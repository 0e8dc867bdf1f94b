"""Cosine graphs: a word set's cosine matrix thresholded into an undirected weighted graph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..similarity import cosine_matrix
from ..tokens import TokenDisplay


@dataclass(frozen=True, repr=False)
class CosineGraph(TokenDisplay):
    """An undirected graph over ``words``: an edge joins i and j when cosine(i, j) > threshold.

    Attributes
    ----------
    words : list of str
    cosines : np.ndarray (n, n) float32
        The full cosine matrix the graph was cut from.
    threshold : float
    edges : np.ndarray (m, 2) int64
        Pairs (i, j) with i < j, in row-major order.
    weights : np.ndarray (m,) float32
        The cosine of each edge.
    """

    words: list[str]
    cosines: np.ndarray
    threshold: float
    edges: np.ndarray
    weights: np.ndarray

    _token_columns = ("source", "target")

    def _summary(self) -> str:
        return (
            f"{self.n_nodes} nodes, {self.n_edges} edges, threshold={self.threshold:.4g}, "
            f"density={self.density:.4f}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per edge."""
        return {
            "source": [self.words[i] for i in self.edges[:, 0].tolist()],
            "target": [self.words[j] for j in self.edges[:, 1].tolist()],
            "cosine": self.weights.tolist(),
        }

    @property
    def n_nodes(self) -> int:
        return len(self.words)

    @property
    def n_edges(self) -> int:
        return int(self.edges.shape[0])

    @property
    def adjacency(self) -> np.ndarray:
        """Boolean (n, n) adjacency matrix (no self loops)."""
        A = np.zeros((self.n_nodes, self.n_nodes), dtype=bool)
        A[self.edges[:, 0], self.edges[:, 1]] = True
        A[self.edges[:, 1], self.edges[:, 0]] = True
        return A

    @property
    def degrees(self) -> np.ndarray:
        """Number of edges at each node (int64, in ``words`` order)."""
        return np.bincount(self.edges.ravel(), minlength=self.n_nodes).astype(np.int64)

    @property
    def density(self) -> float:
        n = self.n_nodes
        return 2.0 * self.n_edges / (n * (n - 1)) if n > 1 else 0.0

    def degree_table(self, top: int | None = None) -> list[tuple[str, int]]:
        """(word, degree) sorted by degree, highest first (ties: word order)."""
        d = self.degrees
        order = np.argsort(-d, kind="stable")
        if top is not None:
            order = order[:top]
        return [(self.words[i], int(d[i])) for i in order]

    def to_networkx(self):
        """A ``networkx.Graph`` with node names = words and edge attribute ``weight`` = cosine."""
        try:
            import networkx as nx
        except ImportError as e:  # pragma: no cover - environment dependent
            raise ModuleNotFoundError(
                "to_networkx() needs networkx: pip install networkx (or 'tokenspace[viz]')"
            ) from e
        G = nx.Graph()
        G.add_nodes_from(self.words)
        G.add_weighted_edges_from(
            (self.words[i], self.words[j], float(w))
            for (i, j), w in zip(self.edges.tolist(), self.weights.tolist())
        )
        G.graph["threshold"] = self.threshold
        return G


def default_threshold(cosines: np.ndarray) -> float:
    """The course's cut: median + standard deviation of the distinct off-diagonal cosines.

    "Distinct" means each unordered pair once (the upper triangle, k=1), not duplicated values.
    """
    n = cosines.shape[0]
    if n < 2:
        raise ValueError("a graph threshold needs at least two words")
    tri = cosines[np.triu_indices(n, k=1)].astype(np.float64)
    return float(np.median(tri) + tri.std())


def cosine_graph(
    s: Any,
    words: Sequence[str] | None = None,
    threshold: float | None = None,
    *,
    vectors: Any = None,
) -> CosineGraph:
    """Threshold the cosine matrix of a word set into a graph.

    Parameters
    ----------
    s : EmbeddingSpace
        The model; ``words`` are looked up in it (``KeyError`` naming a missing word).
    words : sequence of str, optional
        Node labels. ``None`` uses every entry of ``s`` (fine for a small subset space).
    threshold : float, optional
        Edge when cosine > threshold. Default: :func:`default_threshold` (median + std of the
        distinct off-diagonal cosines), as in the course.
    vectors : array_like (n, d), optional
        Use these rows instead of looking ``words`` up (e.g. averaged multi-token strings).

    Returns
    -------
    CosineGraph
    """
    if words is None:
        words = list(s.vocab)
    if isinstance(words, str):
        raise TypeError("words must be a list of words, not one string")
    words = list(words)
    if len(words) < 2:
        raise ValueError(f"a graph needs at least two words, got {len(words)}")
    if len(set(words)) != len(words):
        dup = next(w for w in words if words.count(w) > 1)
        raise ValueError(f"word {dup!r} appears twice; graph nodes must be distinct")
    X = s[words] if vectors is None else vectors
    C = cosine_matrix(X)
    if C.shape[0] != len(words):
        raise ValueError(f"{C.shape[0]} vectors for {len(words)} words")
    thr = default_threshold(C) if threshold is None else float(threshold)
    if not np.isfinite(thr):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    iu, ju = np.triu_indices(len(words), k=1)
    vals = C[iu, ju]
    keep = vals > thr
    edges = np.stack([iu[keep], ju[keep]], axis=1).astype(np.int64)
    return CosineGraph(words, C, thr, edges, vals[keep].astype(np.float32))
