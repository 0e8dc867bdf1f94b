"""Null models: shuffled copies of a space, to rerun any analysis on a random baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._display import Display
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


@dataclass(frozen=True, repr=False)
class NullBand(Display):
    """An analysis rerun on shuffled copies with many seeds: the spread of the baseline.

    Attributes
    ----------
    observed : np.ndarray
        The analysis on the real space (a scalar analysis gives shape ``()``).
    null : np.ndarray (n_seeds, ...)
        The analysis on each shuffled copy.
    mean, low, high : np.ndarray
        Mean and quantile band of ``null``, elementwise.
    percentile : np.ndarray
        Percentage of shuffled copies whose value is below the observed one (ties half).
    how : str
    seeds : list of int
    quantiles : tuple of float
    """

    observed: np.ndarray
    null: np.ndarray = field(repr=False)
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    percentile: np.ndarray
    how: str
    seeds: list[int]
    quantiles: tuple[float, float]

    def _table(self) -> dict[str, Any]:
        cols = {
            "observed": np.ravel(self.observed),
            "null_mean": np.ravel(self.mean),
            "null_low": np.ravel(self.low),
            "null_high": np.ravel(self.high),
            "percentile": np.ravel(self.percentile),
        }
        return {"index": list(range(cols["observed"].size))} | {
            k: v.tolist() for k, v in cols.items()
        }

    def _summary(self) -> str:
        o, lo, hi = (np.ravel(a)[0] for a in (self.observed, self.low, self.high))
        q = self.quantiles
        return (
            f"observed {o:.4g} vs {self.how}-shuffled null over {len(self.seeds)} seeds: "
            f"[{lo:.4g}, {hi:.4g}] ({q[0]:g}-{q[1]:g} quantiles)"
        )


def shuffle_band(
    s: EmbeddingSpace,
    analysis: Callable[[EmbeddingSpace], Any],
    *,
    how: str = "rows",
    seeds: int | Sequence[int] = 20,
    quantiles: tuple[float, float] = (0.025, 0.975),
) -> NullBand:
    """Run ``analysis`` on the real space and on shuffled copies with many seeds.

    A single shuffled copy gives one draw of the baseline; many seeds give its spread, so a
    difference from the baseline can be told from seed noise.

    Parameters
    ----------
    s : EmbeddingSpace
    analysis : callable
        ``analysis(space)`` returns a number or an array of fixed shape (e.g. a spectrum).
    how : {"rows", "columns", "elements"}, keyword-only
        As in :func:`shuffle`.
    seeds : int or sequence of int, keyword-only
        ``20`` means seeds ``0 .. 19``; or the seeds themselves (at least 2).
    quantiles : (float, float), keyword-only
        The band.

    Returns
    -------
    NullBand
    """
    if how not in HOWS:
        raise ValueError(f"unknown shuffle {how!r}; expected one of {', '.join(HOWS)}")
    if isinstance(seeds, bool):
        raise TypeError("seeds must be an int or a sequence of ints")
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if len(seed_list) < 2:
        raise ValueError(f"a band needs at least 2 seeds; got {len(seed_list)}")
    lo, hi = (float(q) for q in quantiles)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {quantiles!r}")
    observed = np.asarray(analysis(s), dtype=np.float64)
    null = np.stack(
        [np.asarray(analysis(shuffle(s, how, seed=int(k))), dtype=np.float64) for k in seed_list]
    )
    if null.shape[1:] != observed.shape:
        raise ValueError(
            f"analysis returned shape {null.shape[1:]} on a shuffled copy but {observed.shape} "
            "on the real space; it must return a fixed shape"
        )
    below = (null < observed).sum(axis=0) + 0.5 * (null == observed).sum(axis=0)
    return NullBand(
        observed=observed,
        null=null,
        mean=null.mean(axis=0),
        low=np.quantile(null, lo, axis=0),
        high=np.quantile(null, hi, axis=0),
        percentile=100.0 * below / null.shape[0],
        how=how,
        seeds=[int(k) for k in seed_list],
        quantiles=(lo, hi),
    )
