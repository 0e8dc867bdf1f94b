"""Conversions to and from the peers: gensim KeyedVectors and faiss indexes. Neither is
imported unless called (contextual vectors through transformers live in
:mod:`tokenspace.analysis.contextual`).

Spaces are passed in duck-typed (anything with ``vectors`` and ``vocab``); building an
``EmbeddingSpace`` from a peer's object is a loader's job (:func:`tokenspace.from_gensim`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "faiss_index",
    "faiss_search",
    "gensim_arrays",
    "gensim_counts",
    "to_gensim",
]


def gensim_arrays(kv: Any) -> tuple[np.ndarray, list[str]]:
    """(float32 vectors, keys) of a gensim ``KeyedVectors`` (or a model with ``.wv``), in
    ``index_to_key`` order so that ids agree with gensim's."""
    kv = getattr(kv, "wv", kv)
    if not hasattr(kv, "index_to_key") or not hasattr(kv, "vectors"):
        raise TypeError(f"expected gensim KeyedVectors (gensim >= 4), got {type(kv).__name__}")
    keys = [k if isinstance(k, str) else str(k) for k in kv.index_to_key]
    return np.asarray(kv.vectors, dtype=np.float32), keys


def gensim_counts(kv: Any) -> np.ndarray | None:
    """gensim's per-key ``count`` attribute (int64, -1 where gensim has none), or None."""
    kv = getattr(kv, "wv", kv)
    counts = getattr(kv, "expandos", {}).get("count")
    if counts is None or len(counts) != len(kv.index_to_key):
        return None
    if counts.dtype == object:  # set_vecattr(key, "count", None) for words an fvocab lacked
        return np.asarray([-1 if c is None else int(c) for c in counts], dtype=np.int64)
    return np.asarray(counts, dtype=np.int64)


def to_gensim(space: Any) -> Any:
    """A gensim ``KeyedVectors`` holding a copy of the vectors, keys in vocabulary order."""
    try:
        from gensim.models import KeyedVectors
    except ImportError as e:
        raise ModuleNotFoundError("to_gensim needs gensim: pip install gensim") from e
    # Filled directly rather than through add_vectors, which checks and appends key by key
    # (4 s for 400k words against 0.1 s here); the result is the same KeyedVectors state.
    kv = KeyedVectors(vector_size=space.dim, count=0, dtype=np.float32)
    kv.vectors = np.array(space.vectors, dtype=np.float32, copy=True)
    kv.index_to_key = list(space.vocab)
    kv.key_to_index = dict(space.key_to_index)  # a dict copy: no rehashing
    counts = getattr(space, "counts", None)
    if counts is not None:
        # the array gensim's set_vecattr(key, "count", n) fills, in one step
        kv.expandos["count"] = np.array(counts, dtype=np.int64)
    return kv


def faiss_index(rows: np.ndarray, *, metric: str) -> Any:
    """An exact faiss index over ``rows``: IndexFlatL2 for "euclidean" (faiss reports squared
    distances), IndexFlatIP otherwise (pass unit rows for cosine)."""
    try:
        import faiss
    except ImportError as e:
        raise ModuleNotFoundError("faiss is not installed: pip install faiss-cpu") from e
    index = (
        faiss.IndexFlatL2(rows.shape[1])
        if metric == "euclidean"
        else faiss.IndexFlatIP(rows.shape[1])
    )
    index.add(np.ascontiguousarray(rows, dtype=np.float32))
    return index


def faiss_search(
    index: Any, queries: np.ndarray, k: int, *, metric: str, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """faiss' top-k with ``exclude`` ids dropped and distances (not squared) for "euclidean":
    int64 ids and float32 scores, (n_queries, k)."""
    extra = 0 if exclude is None else exclude.shape[1]
    D, I = index.search(np.ascontiguousarray(queries), k + extra)
    if metric == "euclidean":
        D = np.sqrt(np.maximum(D, 0))
    if exclude is not None:
        keep = ~(I[:, :, None] == exclude[:, None, :]).any(axis=2)
        # drop the excluded ids, keep the first k of what remains in each row
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
        I = np.take_along_axis(I, order, 1)
        D = np.take_along_axis(D, order, 1)
    return I[:, :k].astype(np.int64), D[:, :k].astype(np.float32)
