"""Null models: shuffled copies of a space, to rerun any analysis on a random baseline."""

from __future__ import annotations

import numpy as np

from ..space import EmbeddingSpace

HOWS = ("rows", "columns", "elements")


def shuffle(s: EmbeddingSpace, how: str = "rows", *, seed: int | None = None) -> EmbeddingSpace:
    """A copy of ``s`` with its matrix permuted; the vocabulary stays in place.

    Parameters
    ----------
    how : {"rows", "columns", "elements"}
        ``rows``: vectors reassigned to other words (each vector intact, the word-vector link
        broken). ``columns``: every dimension permuted independently across words (each
        dimension keeps its distribution, the joint structure is broken). ``elements``: all
        values permuted together (only the global value distribution survives).
    seed : int, optional
        Seed of numpy's default generator, for reproducible baselines.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(s.vectors)
    if how == "rows":
        Y = X[rng.permutation(X.shape[0])]
    elif how == "columns":
        Y = rng.permuted(X, axis=0)
    elif how == "elements":
        Y = rng.permutation(X.reshape(-1)).reshape(X.shape)
    else:
        raise ValueError(f"unknown shuffle {how!r}; expected one of {', '.join(HOWS)}")
    name = f"{s.name}[shuffled {how}]" if s.name else f"shuffled {how}"
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    return EmbeddingSpace(Y, s.vocab, name=name, check=False)
