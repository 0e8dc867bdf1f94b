"""Representational similarity analysis (RSA) at vocabulary scale.

RSA compares two representations of the same ``n`` items through their items x items
similarity matrices: the upper triangles (``k=1``, each pair ``i < j`` once, the diagonal left
out) are flattened and correlated. The C++ kernels stream tiles of both similarity matrices and
accumulate the correlation on the fly, so no ``n x n`` matrix is ever built: the 30522-token
vocabulary of BERT/MiniLM (465,780,981 pairs) takes seconds and a few hundred MB for Pearson.

Conventions used everywhere in this module:

* similarities are computed in float32 by the same SIMD GEMM kernels as
  :func:`tokenspace.cosine_matrix`; everything accumulated from them is float64 (Pearson) or
  exact 128-bit integers (Spearman rank sums);
* a zero vector has cosine 0 with every item (never NaN), as in :func:`cosine_matrix`;
* correlating a constant triangle is undefined and raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _kernels
from .._display import Display
from .._validate import as_matrix

__all__ = [
    "RSAResult",
    "SelectivityResult",
    "category_selectivity",
    "rsa",
    "rsa_models",
    "rsa_split_half",
    "similarity_triangle",
]

_METHODS = ("pearson", "spearman")
_SIMILARITIES = ("cosine", "dot", "correlation")

# Above this many pairs the exact Spearman recomputes the similarity tiles instead of keeping
# both triangles (8 more bytes per pair): 2^26 pairs = n of about 11,600 items = +512 MB.
_STORE_VALUES_MAX_PAIRS = 1 << 26


@dataclass(frozen=True, eq=False, repr=False)
class RSAResult(Display, float):
    """Outcome of an RSA; the object *is* the correlation ``r`` (a ``float`` subclass).

    ``ts.rsa(X, Y) > 0.5``, ``round(res, 3)`` and ``float(res)`` all use ``r``; the other
    fields describe the comparison.

    Attributes
    ----------
    r : float
        Pearson or Spearman correlation of the two upper triangles.
    method : str
        ``"pearson"`` or ``"spearman"``.
    similarity : str
        The item-item similarity: ``"cosine"``, ``"dot"`` or ``"correlation"``.
    n_items : int
        Number of items ``n`` (rows of X and Y).
    n_pairs : int
        ``n (n - 1) / 2``: the pairs ``i < j`` that were correlated.
    pearson : float
        Pearson correlation of the raw similarities (equals ``r`` when method is pearson).
    cosine_of_triangles : float
        Uncentred cosine between the two flattened triangles,
        ``sum(x*y) / sqrt(sum(x*x) * sum(y*y))``, which the course also reports.
    mean_x, mean_y, std_x, std_y : float
        Mean and (population) standard deviation of each triangle's similarities.
    words : list of str or None
        The items, when they are words (``rsa_models``); ``None`` for plain arrays.
    """

    r: float
    method: str
    similarity: str
    n_items: int
    n_pairs: int
    pearson: float
    cosine_of_triangles: float
    mean_x: float
    mean_y: float
    std_x: float
    std_y: float
    words: list[str] | None = field(default=None)

    def __new__(cls, r: float, *args: Any, **kwargs: Any) -> RSAResult:
        return super().__new__(cls, r)

    _repr_rows = 0

    def _summary(self) -> str:
        extra = f", words={len(self.words)}" if self.words is not None else ""
        return (
            f"r={self.r:.6f}, method={self.method!r}, similarity={self.similarity!r}, "
            f"n_items={self.n_items}, n_pairs={self.n_pairs}, "
            f"cosine_of_triangles={self.cosine_of_triangles:.6f}{extra}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row: the scalar fields."""
        return {f: [getattr(self, f)] for f in self.__dataclass_fields__ if f != "words"}

    __str__ = float.__repr__

    def __reduce__(self):  # pickle/copy keep the fields (float's default would drop them)
        return (_rebuild_result, (self._fields_dict(),))

    def _fields_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _rebuild_result(fields: dict[str, Any]) -> RSAResult:
    return RSAResult(**fields)


def _check_choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _prepared(X: Any, name: str, similarity: str) -> np.ndarray:
    """Rows whose plain dot products are the requested similarities (float32, C order)."""
    if similarity == "cosine" and hasattr(X, "unit_vectors"):
        return X.unit_vectors
    arr = as_matrix(X, name)
    if similarity == "dot":
        return arr
    if similarity == "correlation":
        arr = arr - arr.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    return _kernels.normalize_rows(np.ascontiguousarray(arr, dtype=np.float32))[0]


def _available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_spearman_memory(n: int, needed: int) -> None:
    """Refuse up front rather than be killed by the OOM killer half-way through."""
    if n > 65536:
        raise ValueError(
            f"exact Spearman RSA supports at most 65536 items (2^31 pairs); got {n}. "
            "Use method='pearson' (streamed, any n) or a subset of the items"
        )
    avail = _available_bytes()
    if avail is not None and needed > avail:
        raise MemoryError(
            f"exact Spearman RSA over {n} items needs about {needed / 1e9:.1f} GB "
            f"(10 bytes per pair) but only {avail / 1e9:.1f} GB is available; use "
            "method='pearson' (a few hundred MB) or fewer items"
        )


def _constant_error(which: str, similarity: str) -> ValueError:
    return ValueError(
        f"all pair similarities of {which} are equal, so their correlation is undefined "
        f"(e.g. every row zero, or all rows identical up to scale for similarity="
        f"{similarity!r}); check the input rows"
    )


def rsa(
    X: Any,
    Y: Any,
    *,
    method: str = "pearson",
    similarity: str = "cosine",
) -> RSAResult:
    """Correlate the item-item similarity structure of two representations of the same items.

    Builds (implicitly) ``S_X[i, j] = sim(X_i, X_j)`` and ``S_Y[i, j] = sim(Y_i, Y_j)`` and
    returns the correlation of their upper triangles ``i < j`` (``np.triu_indices(n, k=1)``).
    Neither ``n x n`` matrix is materialised.

    Parameters
    ----------
    X, Y : array_like (n, dx), (n, dy) or EmbeddingSpace
        Row ``i`` of both is the same item; the dimensions may differ. NaN/Inf raise.
    method : {"pearson", "spearman"}, keyword-only
        ``"pearson"``: streamed, float64 sums; memory = packed copies of X and Y plus a few
        MB of tiles (about 0.2 GB for two 30522 x 384 spaces).
        ``"spearman"``: exact, ties get their average rank (as ``scipy.stats.spearmanr``).
        Needs 10 bytes per pair: 0.125 GB at n = 5000, 4.66 GB at n = 30522 (465.8M
        pairs), 8.0 GB at n = 40000; up to about 11,600 items it also keeps both triangles
        (+8 bytes per pair, at most +0.54 GB) instead of recomputing them. At most 65536
        items; raises ``MemoryError`` up front if the machine has less memory available.
    similarity : {"cosine", "dot", "correlation"}, keyword-only
        ``"cosine"`` (default): a zero row has cosine 0 with every item.
        ``"dot"``: raw inner products. ``"correlation"``: Pearson correlation between the
        two items' coordinates (cosine of the row-centred vectors).

    Returns
    -------
    RSAResult
        A float (the correlation ``r``) carrying ``method``, ``n_items``, ``n_pairs``,
        ``pearson``, ``cosine_of_triangles`` and the triangles' means / standard deviations.

    Raises
    ------
    ValueError
        Fewer than 3 items, different item counts, NaN/Inf, an unknown option, or a constant
        triangle (correlation undefined).

    Examples
    --------
    >>> import numpy as np, tokenspace as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20)).astype(np.float32)
    >>> r = ts.rsa(X, X @ np.linalg.qr(rng.standard_normal((20, 20)))[0])  # rotation
    >>> round(r, 6), r.n_pairs
    (1.0, 4950)
    """
    method = _check_choice(method, "method", _METHODS)
    similarity = _check_choice(similarity, "similarity", _SIMILARITIES)
    x = _prepared(X, "X", similarity)
    y = _prepared(Y, "Y", similarity)
    return _rsa_prepared(x, y, method, similarity)


def _rsa_prepared(
    x: np.ndarray, y: np.ndarray, method: str, similarity: str, words: list[str] | None = None
) -> RSAResult:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {x.shape[0]} items (rows) but Y has {y.shape[0]}; RSA compares the same "
            "items in both, row i of X with row i of Y"
        )
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"RSA needs at least 3 items (2 pairs) to correlate; got {n}")
    if method == "pearson":
        st = _kernels.rsa_pearson(x, y)
        r = st["pearson"]
    else:
        n_pairs = n * (n - 1) // 2
        store = n_pairs <= _STORE_VALUES_MAX_PAIRS
        _check_spearman_memory(n, n_pairs * (18 if store else 10))
        st = _kernels.rsa_spearman(x, y, store_values=store)
        r = st["spearman"]
    if not st["var_x"] > 0:
        raise _constant_error("X", similarity)
    if not st["var_y"] > 0:
        raise _constant_error("Y", similarity)
    if math.isnan(r):  # Spearman: every rank tied although the float64 variance is not 0
        raise _constant_error("X or Y", similarity)
    if not all(math.isfinite(st[k]) for k in ("pearson", "cosine", "var_x", "var_y")):
        raise ValueError(
            "similarities overflowed float32; scale the vectors down (similarity='dot' on "
            "large values) or use similarity='cosine'"
        )
    return RSAResult(
        r=float(r),
        method=method,
        similarity=similarity,
        n_items=int(n),
        n_pairs=int(st["n_pairs"]),
        pearson=float(st["pearson"]),
        cosine_of_triangles=float(st["cosine"]),
        mean_x=float(st["mean_x"]),
        mean_y=float(st["mean_y"]),
        std_x=math.sqrt(st["var_x"]),
        std_y=math.sqrt(st["var_y"]),
        words=words,
    )


def rsa_split_half(
    X: Any,
    *,
    method: str = "pearson",
    similarity: str = "cosine",
    split: str = "even-odd",
) -> RSAResult:
    """RSA between two halves of the dimensions of one representation.

    A reliability check: if the similarity structure is spread over all dimensions, the two
    halves agree.

    Parameters
    ----------
    X : array_like (n, d) or EmbeddingSpace
        ``d >= 2``.
    method, similarity : str, keyword-only
        As in :func:`rsa`.
    split : {"even-odd", "halves"}, keyword-only
        ``"even-odd"`` (the course's variant): dimensions 0, 2, 4, ... against 1, 3, 5, ...
        ``"halves"``: the first ``d // 2`` dimensions against the rest.

    Returns
    -------
    RSAResult
    """
    split = _check_choice(split, "split", ("even-odd", "halves"))
    arr = as_matrix(X, "X")
    d = arr.shape[1]
    if d < 2:
        raise ValueError(f"split-half RSA needs at least 2 dimensions; X has {d}")
    if split == "even-odd":
        a, b = arr[:, 0::2], arr[:, 1::2]
    else:
        a, b = arr[:, : d // 2], arr[:, d // 2 :]
    return rsa(
        np.ascontiguousarray(a), np.ascontiguousarray(b), method=method, similarity=similarity
    )


def _shared_words(a: Any, b: Any, words: Iterable[str] | None) -> list[str]:
    for name, s in (("a", a), ("b", b)):
        if not (hasattr(s, "vocab") and hasattr(s, "index")):
            raise TypeError(f"{name} must be an EmbeddingSpace, got {type(s).__name__}")
    if words is None:
        return [w for w in a.vocab if w in b]
    if isinstance(words, str):
        raise TypeError("words must be a list of words, not one string")
    out = list(words)
    seen: set[str] = set()
    for w in out:
        if w in seen:
            raise ValueError(f"word {w!r} is listed twice; each item must appear once")
        seen.add(w)
        for name, s in (("a", a), ("b", b)):
            if w not in s:
                label = f" ({s.name})" if getattr(s, "name", None) else ""
                raise KeyError(
                    f"word {w!r} is not in the vocabulary of model {name}{label}; "
                    "drop it or pass words=None to use the shared vocabulary"
                )
    return out


def rsa_models(
    a: Any,
    b: Any,
    words: Iterable[str] | None = None,
    *,
    method: str = "pearson",
    similarity: str = "cosine",
) -> RSAResult:
    """RSA between two embedding models on the words both contain.

    Parameters
    ----------
    a, b : EmbeddingSpace
        The two models (e.g. GloVe and MiniLM); dimensions may differ.
    words : iterable of str, optional
        The items. ``None`` (default): every word of ``a``'s vocabulary that ``b`` also has,
        in ``a``'s order. A listed word missing from either model raises ``KeyError``.
    method, similarity : str, keyword-only
        As in :func:`rsa`.

    Returns
    -------
    RSAResult
        With ``words`` set and ``cosine_of_triangles`` (the course's second number).

    Examples
    --------
    >>> import tokenspace as ts  # doctest: +SKIP
    >>> res = ts.rsa_models(ts.load("glove-6b-50d"), ts.load("minilm-l6"))  # doctest: +SKIP
    >>> res.r, res.cosine_of_triangles, res.n_items  # doctest: +SKIP
    """
    method = _check_choice(method, "method", _METHODS)
    similarity = _check_choice(similarity, "similarity", _SIMILARITIES)
    items = _shared_words(a, b, words)
    if len(items) < 3:
        raise ValueError(
            f"only {len(items)} shared words; RSA needs at least 3 items present in both models"
        )
    if similarity == "cosine":
        x = np.ascontiguousarray(a.unit_vectors[a.indices(items)])
        y = np.ascontiguousarray(b.unit_vectors[b.indices(items)])
    else:
        x = _prepared(a.vectors[a.indices(items)], "a", similarity)
        y = _prepared(b.vectors[b.indices(items)], "b", similarity)
    return _rsa_prepared(x, y, method, similarity, words=items)


def similarity_triangle(X: Any, *, similarity: str = "cosine") -> np.ndarray:
    """The upper triangle (``k=1``) of the items x items similarity matrix, flattened.

    Same order as ``S[np.triu_indices(n, k=1)]``, computed by the tiled kernels without the
    ``n x n`` matrix. The result itself has ``n (n - 1) / 2`` float32 values (1.86 GB at
    n = 30522), so this is for plots and checks at moderate ``n``.

    Parameters
    ----------
    X : array_like (n, d) or EmbeddingSpace
    similarity : {"cosine", "dot", "correlation"}, keyword-only

    Returns
    -------
    np.ndarray
        float32, shape ``(n (n - 1) / 2,)``.
    """
    similarity = _check_choice(similarity, "similarity", _SIMILARITIES)
    return _kernels.similarity_triangle(_prepared(X, "X", similarity))


@dataclass(frozen=True, repr=False)
class SelectivityResult(Display):
    """Within- vs between-category similarity of grouped words.

    Attributes
    ----------
    ratio : float
        ``within / between`` (NaN if ``between`` is 0). Meaningful when ``between > 0``.
    within : float
        Mean cosine over all pairs of *distinct* words in the same group (the diagonal, a
        word with itself, is excluded), pooled over groups.
    between : float
        Mean cosine over all pairs of words in different groups.
    groups : list of str
        Group names, in the order of the arrays below.
    group_means : np.ndarray (G, G)
        Mean cosine between groups g and h; the diagonal holds each group's within mean
        (distinct pairs only).
    group_ratio : np.ndarray (G,)
        Per group: its within mean / mean cosine between its words and all other groups' words.
    sizes : np.ndarray (G,)
        Words per group.
    n_within_pairs, n_between_pairs : int
        Unordered pairs behind ``within`` and ``between``.
    """

    ratio: float
    within: float
    between: float
    groups: list[str]
    group_means: np.ndarray
    group_ratio: np.ndarray
    sizes: np.ndarray
    n_within_pairs: int
    n_between_pairs: int

    def _summary(self) -> str:
        return (
            f"ratio={self.ratio:.4f}, within={self.within:.4f}, between={self.between:.4f}, "
            f"{len(self.groups)} groups"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per group."""
        return {
            "group": list(self.groups),
            "size": self.sizes.tolist(),
            "within": np.diag(self.group_means).tolist(),
            "ratio": self.group_ratio.tolist(),
        }


def category_selectivity(
    s: Any, groups: Mapping[str, Sequence[str | int]], *, chunk_rows: int = 4096
) -> SelectivityResult:
    """Mean within-category cosine divided by mean between-category cosine.

    Parameters
    ----------
    s : EmbeddingSpace or array_like (V, d)
        Where the vectors come from. With an array, group members must be row ids.
    groups : mapping name -> sequence of words (or row ids)
        At least 2 groups of at least 2 members each; a member may belong to one group only.
    chunk_rows : int, keyword-only
        Rows of the cosine matrix computed at a time (memory stays O(chunk_rows x members)).

    Returns
    -------
    SelectivityResult

    Notes
    -----
    Pairs of a word with itself are excluded from the within mean (they would add cosines of
    1 and inflate it). A zero vector has cosine 0 with everything. Sums are float64.

    Examples
    --------
    >>> import numpy as np, tokenspace as ts
    >>> s = ts.EmbeddingSpace(np.array([[1, 0], [1, .1], [0, 1], [.1, 1]], np.float32),
    ...                       ["a1", "a2", "b1", "b2"])
    >>> res = ts.category_selectivity(s, {"a": ["a1", "a2"], "b": ["b1", "b2"]})
    >>> round(res.within, 4), round(res.between, 4)
    (0.995, 0.0993)
    """
    if not isinstance(groups, Mapping):
        raise TypeError("groups must be a mapping: group name -> list of words")
    if len(groups) < 2:
        raise ValueError(f"category selectivity needs at least 2 groups; got {len(groups)}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    is_space = hasattr(s, "vocab") and hasattr(s, "indices")
    names: list[str] = []
    ids: list[int] = []
    labels: list[int] = []
    owner: dict[int, str] = {}
    for g, (name, members) in enumerate(groups.items()):
        if isinstance(members, str):
            raise TypeError(f"group {name!r} must be a list of words, not one string")
        members = list(members)
        if len(members) < 2:
            raise ValueError(
                f"group {name!r} has {len(members)} member(s); each group needs at least 2 "
                "(within-group pairs exclude a word with itself)"
            )
        if is_space:
            rows = [int(i) for i in s.indices(members)]
        else:
            rows = []
            for m in members:
                if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
                    raise TypeError("with an array, group members must be integer row ids")
                rows.append(int(m))
        for m, i in zip(members, rows):
            if i in owner:
                raise ValueError(
                    f"{m!r} is in group {owner[i]!r} and in group {name!r}; "
                    "a member may belong to one group only"
                )
            owner[i] = str(name)
        names.append(str(name))
        ids.extend(rows)
        labels.extend([g] * len(rows))
    if is_space:
        U = s.unit_vectors
    else:
        arr = as_matrix(s, "s")
        bad = [i for i in ids if not 0 <= i < arr.shape[0]]
        if bad:
            raise IndexError(f"row id {bad[0]} is out of range for {arr.shape[0]} rows")
        U = _kernels.normalize_rows(arr)[0]
    M = np.ascontiguousarray(U[np.asarray(ids, dtype=np.int64)])
    lab = np.asarray(labels, dtype=np.int64)
    G = len(names)
    L = np.zeros((M.shape[0], G), dtype=np.float64)
    L[np.arange(M.shape[0]), lab] = 1.0
    sums = np.zeros((G, G), dtype=np.float64)
    self_sim = np.zeros(G, dtype=np.float64)
    for start in range(0, M.shape[0], chunk_rows):
        block = _kernels.gram(M[start : start + chunk_rows], M).astype(np.float64)
        sums += L[start : start + chunk_rows].T @ (block @ L)
        diag = np.arange(block.shape[0])
        np.add.at(self_sim, lab[start : start + chunk_rows], block[diag, start + diag])
    sizes = np.bincount(lab, minlength=G).astype(np.int64)
    sums[np.diag_indices(G)] -= self_sim  # drop each word's similarity with itself
    pair_counts = np.outer(sizes, sizes).astype(np.float64)
    pair_counts[np.diag_indices(G)] = sizes * (sizes - 1)
    group_means = sums / pair_counts
    within_sum = float(np.trace(sums))
    within_n = int((sizes * (sizes - 1)).sum())
    between_sum = float(sums.sum() - within_sum)
    between_n = int(sizes.sum() ** 2 - (sizes**2).sum())
    within = within_sum / within_n
    between = between_sum / between_n
    out_sum = sums.sum(axis=1) - np.diag(sums)
    out_n = sizes * (sizes.sum() - sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        group_ratio = np.diag(group_means) / (out_sum / out_n)
    return SelectivityResult(
        ratio=within / between if between != 0 else float("nan"),
        within=within,
        between=between,
        groups=names,
        group_means=group_means,
        group_ratio=group_ratio,
        sizes=sizes,
        n_within_pairs=within_n // 2,
        n_between_pairs=between_n // 2,
    )
