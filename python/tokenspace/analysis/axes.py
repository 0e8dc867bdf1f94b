"""Linear semantic axes: a direction from word groups, full-vocabulary projections, extremes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _kernels
from .._display import Display
from .._validate import as_matrix, require_finite
from ..space import EmbeddingSpace
from ..tokens import display_form, vocab_style


def _words(x: str | Iterable[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def semantic_axis(
    s: EmbeddingSpace,
    positive: str | Sequence[str],
    negative: str | Sequence[str] | None = None,
    *,
    normalize: bool = True,
) -> np.ndarray:
    """``mean(positive) - mean(negative)`` as a float32 direction (e.g. future - past).

    Parameters
    ----------
    s : EmbeddingSpace
    positive, negative : word or list of words
        ``negative`` may be empty: the axis is then the mean of the positive words.
    normalize : bool, default True
        Average unit-normalised word vectors (every word weighs the same) instead of the raw
        vectors.

    Returns
    -------
    np.ndarray
        float32 (d,), not rescaled (``project`` normalises it by default).
    """
    pos, neg = _words(positive), _words(negative)
    if not pos:
        raise ValueError("semantic_axis needs at least one positive word")
    src = s.unit_vectors if normalize else s.vectors
    axis = src[s.indices(pos)].astype(np.float64).mean(axis=0)
    if neg:
        axis -= src[s.indices(neg)].astype(np.float64).mean(axis=0)
    if not np.any(axis):
        raise ValueError(
            "the axis is the zero vector (positive and negative words average to "
            "the same point); choose different word groups"
        )
    return axis.astype(np.float32)


def project(
    s: Any,
    axis: Any,
    center: Any = None,
    *,
    normalize_axis: bool = True,
) -> np.ndarray:
    """Scalar projection of every vocabulary entry onto ``axis``, in one C++ pass.

    Parameters
    ----------
    s : EmbeddingSpace or array (V, d)
    axis : array (d,)
        The direction (``semantic_axis``, ``principal_axes(...)[0]``, ...).
    center : None, "mean" or array (d,)
        Subtract this point from every row first: ``(x - center) . axis``. ``"mean"`` uses the
        mean of all rows; a group mean centres the vocabulary on a word group.
    normalize_axis : bool, default True
        Divide by ``|axis|`` so the scores are coordinates along the unit direction.

    Returns
    -------
    np.ndarray
        float32 (V,).
    """
    space = hasattr(s, "vectors") and hasattr(s, "vocab")
    # A plain array is not scanned for NaN/Inf first (a second pass over a memory-bound
    # input): a non-finite value makes its row's projection non-finite, which is checked after.
    X = s.vectors if space else as_matrix(s, "X", check_finite=False)
    d = X.shape[1]
    a = np.asarray(axis, dtype=np.float64).reshape(-1)
    if a.shape[0] != d:
        raise ValueError(f"axis has length {a.shape[0]} but the vectors have dimension {d}")
    if not np.isfinite(a).all():
        raise ValueError("axis contains NaN or Inf")
    if normalize_axis:
        na = np.linalg.norm(a)
        if na == 0:
            raise ValueError("axis is the zero vector; it defines no direction")
        a = a / na
    offset = 0.0
    if center is not None:
        if isinstance(center, str):
            if center != "mean":
                raise ValueError(f"center must be None, 'mean' or a vector, got {center!r}")
            c = X.mean(axis=0, dtype=np.float64)
        else:
            c = np.asarray(center, dtype=np.float64).reshape(-1)
            if c.shape[0] != d:
                raise ValueError(
                    f"center has length {c.shape[0]} but the vectors have dimension {d}"
                )
        if not np.isfinite(c).all():
            if not space:
                require_finite(X, "X")  # a bad row made the mean non-finite: name it
            raise ValueError("center contains NaN or Inf (or the mean overflowed float64)")
        # The kernel subtracts the float32 centre from each row before the product (a large
        # common offset must not be cancelled out of a float32 dot product afterwards); the
        # float64 remainder of the centre's rounding is a constant, taken off here.
        c32 = c.astype(np.float32)
        offset = float((c - c32.astype(np.float64)) @ a)
        out = _kernels.project(X, a.astype(np.float32), offset=offset, center=c32)
    else:
        out = _kernels.project(X, a.astype(np.float32), offset=offset)
    if not space and not np.isfinite(out).all():
        require_finite(X, "X")  # raises naming the row; finite rows may still overflow float32
    return out


@dataclass(frozen=True, repr=False)
class AxisExtremes(Display):
    """The most positive and most negative entries along an axis.

    Attributes
    ----------
    top_indices, bottom_indices : np.ndarray
        int64 ids, most extreme first.
    top_scores, bottom_scores : np.ndarray
        float32 projections.
    top_words, bottom_words : list of str
    """

    top_indices: np.ndarray
    top_scores: np.ndarray
    top_words: list[str]
    bottom_indices: np.ndarray
    bottom_scores: np.ndarray
    bottom_words: list[str]

    def _summary(self) -> str:
        return f"{len(self.top_words)} top, {len(self.bottom_words)} bottom"

    def _table(self) -> dict[str, Sequence[Any]]:
        """Rank, then the top and bottom entries side by side (None past the shorter list)."""
        n = max(len(self.top_words), len(self.bottom_words))

        def col(values: Sequence[Any]) -> list[Any]:
            return list(values) + [None] * (n - len(values))

        return {
            "rank": list(range(1, n + 1)),
            "top": col(self.top_words),
            "top_score": col(self.top_scores.tolist()),
            "bottom": col(self.bottom_words),
            "bottom_score": col(self.bottom_scores.tolist()),
        }

    def table(self) -> str:
        """Plain-text table (used by the CLI); tokens in their display form."""
        style = vocab_style(self.top_words + self.bottom_words)
        top = [display_form(w, style) for w in self.top_words]
        bottom = [display_form(w, style) for w in self.bottom_words]
        rows = [f"{'top':<24}{'score':>9}    {'bottom':<24}{'score':>9}"]
        for i in range(max(len(self.top_words), len(self.bottom_words))):
            t = f"{top[i]:<24}{self.top_scores[i]:>9.4f}" if i < len(self.top_words) else " " * 33
            b = (
                f"{bottom[i]:<24}{self.bottom_scores[i]:>9.4f}"
                if i < len(self.bottom_words)
                else ""
            )
            rows.append(f"{t}    {b}")
        return "\n".join(rows)


def extremes(
    s: EmbeddingSpace,
    scores: np.ndarray,
    n: int = 20,
    *,
    alphabetic: bool = False,
    min_length: int = 0,
    exclude: Iterable[str] = (),
    predicate: Any = None,
    restrict_vocab: int | None = None,
) -> AxisExtremes:
    """Top and bottom ``n`` vocabulary entries by ``scores`` (e.g. the output of ``project``).

    Parameters
    ----------
    scores : array (V,)
    n : int
    alphabetic : bool
        Keep only ``str.isalpha()`` tokens (drops punctuation, numbers, ``##`` pieces).
    min_length : int
        Keep only tokens of at least this many characters.
    exclude : iterable of str
        Tokens to leave out (e.g. the words that defined the axis).
    predicate : callable, optional
        Any further filter ``f(token) -> bool``.
    restrict_vocab : int, optional
        Consider only the first ``restrict_vocab`` entries (the most frequent ones in
        frequency-sorted vocabularies such as GloVe's); rare tokens otherwise dominate the ends.

    Ties are broken by the lower id.
    """
    scores = np.asarray(scores)
    if scores.shape != (len(s),):
        raise ValueError(
            f"scores must have one value per vocabulary entry ({len(s)}), got shape {scores.shape}"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    ex = set(_words(exclude) if isinstance(exclude, str) else exclude)
    limit = len(s) if restrict_vocab is None else max(0, min(int(restrict_vocab), len(s)))
    vocab = s.vocab[:limit]
    if alphabetic or min_length or ex or predicate is not None:
        keep = np.fromiter(
            (
                (not alphabetic or w.isalpha())
                and len(w) >= min_length
                and w not in ex
                and (predicate is None or bool(predicate(w)))
                for w in vocab
            ),
            dtype=bool,
            count=len(vocab),
        )
        ids = np.flatnonzero(keep)
    else:
        ids = np.arange(limit)
    if ids.size == 0:
        raise ValueError("no vocabulary entry passes the filters")
    sc = scores[ids].astype(np.float64)
    k = min(int(n), ids.size)
    top = ids[np.lexsort((ids, -sc))[:k]]
    bot = ids[np.lexsort((ids, sc))[:k]]
    return AxisExtremes(
        top,
        scores[top].astype(np.float32),
        [s.vocab[i] for i in top],
        bot,
        scores[bot].astype(np.float32),
        [s.vocab[i] for i in bot],
    )
