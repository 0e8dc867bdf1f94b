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
* correlating a constant triangle is undefined and raises ``ValueError``;
* inference (``permutations=``, ``bootstrap=``) follows rsatoolbox 0.3.2's conventions, listed
  in :mod:`tokenspace.analysis._rsa_inference`.
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
from ..progress import ProgressSink
from . import _rsa_inference as _inf

__all__ = [
    "RSAResult",
    "SelectivityResult",
    "category_selectivity",
    "rsa",
    "rsa_models",
    "rsa_split_half",
    "similarity_triangle",
]

_METHODS = ("pearson", "spearman", "rho_a", "tau_a", "tau_b", "cosine")
_SIMILARITIES = ("cosine", "dot", "correlation")
_DISSIMILARITIES = ("cosine", "correlation", "euclidean", "sqeuclidean")
# Comparators computed on stored float64 triangles (the streamed kernels do Pearson/Spearman).
_TRIANGLE_METHODS = ("rho_a", "tau_a", "tau_b", "cosine")

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
    dissimilarity : str or None
        The dissimilarity compared (``"cosine"`` = 1 - cosine, ``"correlation"``,
        ``"euclidean"``, ``"sqeuclidean"``) when the comparison ran on dissimilarities; then
        ``mean_x`` ... ``cosine_of_triangles`` describe the dissimilarity triangles.
    p_value : float or None
        One-sided permutation p-value ``(1 + #{null >= r}) / (1 + P)`` (``permutations=``).
    null : np.ndarray or None
        The ``P`` comparator values with the items of Y permuted.
    ci : tuple of float or None
        Bootstrap percentile interval at level ``confidence`` (``bootstrap=``).
    confidence : float or None
        Level of ``ci``.
    boot : np.ndarray or None
        The ``B`` bootstrap values (NaN for a sample with fewer than 3 distinct items).
    p_bootstrap : float or None
        rsatoolbox's bootstrap test against 0, ``(1 + #{boot <= 0}) / B``.
    seed : int or None
        The seed of the permutations and of the bootstrap samples.
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
    dissimilarity: str | None = None
    p_value: float | None = None
    null: np.ndarray | None = None
    ci: tuple[float, float] | None = None
    confidence: float | None = None
    boot: np.ndarray | None = None
    p_bootstrap: float | None = None
    seed: int | None = None

    def __new__(cls, r: float, *args: Any, **kwargs: Any) -> RSAResult:
        return super().__new__(cls, r)

    _repr_rows = 0

    def _summary(self) -> str:
        extra = f", words={len(self.words)}" if self.words is not None else ""
        if self.dissimilarity is not None:
            extra += f", dissimilarity={self.dissimilarity!r}"
        if self.p_value is not None and self.null is not None:
            extra += f", p_value={self.p_value:.4g} (P={self.null.size})"
        if self.ci is not None:
            extra += f", {100 * (self.confidence or 0):g}% CI [{self.ci[0]:.4f}, {self.ci[1]:.4f}]"
        return (
            f"r={self.r:.6f}, method={self.method!r}, similarity={self.similarity!r}, "
            f"n_items={self.n_items}, n_pairs={self.n_pairs}, "
            f"cosine_of_triangles={self.cosine_of_triangles:.6f}{extra}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row: the estimate, its setting and its inference (many results concatenate)."""
        row: dict[str, Any] = {
            k: getattr(self, k)
            for k in (
                "r",
                "method",
                "similarity",
                "dissimilarity",
                "n_items",
                "n_pairs",
                "cosine_of_triangles",
                "p_value",
            )
        }
        row["ci_low"] = None if self.ci is None else self.ci[0]
        row["ci_high"] = None if self.ci is None else self.ci[1]
        row["confidence"] = self.confidence
        row["permutations"] = 0 if self.null is None else int(self.null.size)
        row["bootstrap"] = 0 if self.boot is None else int(self.boot.size)
        return {k: [v] for k, v in row.items()}

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
    dissimilarity: str | None = None,
    permutations: int | None = None,
    bootstrap: int | None = None,
    confidence: float = 0.95,
    seed: int | None = None,
    progress: bool | ProgressSink = False,
) -> RSAResult:
    """Correlate the item-item similarity structure of two representations of the same items.

    Builds (implicitly) ``S_X[i, j] = sim(X_i, X_j)`` and ``S_Y[i, j] = sim(Y_i, Y_j)`` and
    returns the correlation of their upper triangles ``i < j`` (``np.triu_indices(n, k=1)``).
    Neither ``n x n`` matrix is materialised.

    Parameters
    ----------
    X, Y : array_like (n, dx), (n, dy) or EmbeddingSpace
        Row ``i`` of both is the same item; the dimensions may differ. NaN/Inf raise.
    method : {"pearson", "spearman", "rho_a", "tau_a", "tau_b", "cosine"}, keyword-only
        The comparator, as rsatoolbox's ``compare`` (``"corr"``, ``"spearman"``, ``"rho-a"``,
        ``"tau-a"``, ``"kendall"``, ``"cosine"``). The last four compare *dissimilarities*
        (``1 - similarity`` unless ``dissimilarity=`` says otherwise; this matters only for
        ``"cosine"``, the others are unchanged by it) on float64 triangles stored in memory
        (about 40 bytes per pair: n = 5000 takes 0.5 GB): for moderate n. ``"tau_a"`` and
        ``"tau_b"`` are Kendall's tau, exact, O(N log N) for N pairs (scipy's merge sort).
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
    dissimilarity : {"cosine", "correlation", "euclidean", "sqeuclidean"}, optional, keyword-only
        Compare these dissimilarities instead (then leave ``similarity`` at its default):
        ``1 - cosine``, the correlation distance ``1 - r`` (rsatoolbox's ``"correlation"``),
        the Euclidean distance, or the squared Euclidean distance (rsatoolbox's
        ``"euclidean"`` RDM up to its 1/d scale, which no comparator sees). The first two
        give the same Pearson/Spearman r as the matching ``similarity``; the Euclidean ones
        use the stored-triangle route for every method.
    permutations : int, optional, keyword-only
        Run a permutation test with this many random permutations of Y's items (as
        ``rsatoolbox.rdm.permute_rdms``); sets ``p_value`` and ``null``. For Pearson on
        similarities each permutation costs one ``dx x dy`` cross product (O(n dx dy), no
        per-pair memory); other comparators gather from the stored triangles (O(n^2) each).
    bootstrap : int, optional, keyword-only
        Draw this many item-bootstrap samples (n items with replacement); sets ``ci``,
        ``boot`` and ``p_bootstrap``. Pairs between two copies of one item are left out, as
        in rsatoolbox's ``bootstrap_sample_pattern``; other pairs count once per copy pair.
    confidence : float, keyword-only
        Level of the bootstrap interval, in (0, 1). Default 0.95.
    seed : int, optional, keyword-only
        Seeds both streams (``np.random.RandomState(seed)``: ``permutation(n)`` per
        permutation, ``randint(0, n, n)`` per bootstrap sample), so results equal
        rsatoolbox's under ``np.random.seed(seed)``. ``None``: fresh randomness.
    progress : bool, keyword-only
        Show a progress bar with an ETA on stderr while the similarity tiles stream (the
        streamed Pearson and Spearman paths; see :mod:`tokenspace.progress`). Ctrl-C stops the
        kernel within a second either way.

    Returns
    -------
    RSAResult
        A float (the correlation ``r``) carrying ``method``, ``n_items``, ``n_pairs``,
        ``pearson``, ``cosine_of_triangles`` and the triangles' means / standard deviations,
        plus ``p_value``/``null`` and ``ci``/``boot`` when requested.

    Raises
    ------
    ValueError
        Fewer than 3 items, different item counts, NaN/Inf, an unknown option, a constant
        triangle (correlation undefined), ``permutations``/``bootstrap`` < 1, ``confidence``
        outside (0, 1), or both ``similarity`` and ``dissimilarity`` set.

    Examples
    --------
    >>> import numpy as np, tokenspace as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20)).astype(np.float32)
    >>> r = ts.rsa(X, X @ np.linalg.qr(rng.standard_normal((20, 20)))[0])  # rotation
    >>> round(r, 6), r.n_pairs
    (1.0, 4950)
    """
    opts = _Options.parse(
        method, similarity, dissimilarity, permutations, bootstrap, confidence, seed
    )
    if opts.streamed:
        return _rsa_prepared(
            _prepared(X, "X", opts.similarity),
            _prepared(Y, "Y", opts.similarity),
            opts,
            progress=progress,
        )
    return _rsa_triangles(as_matrix(X, "X"), as_matrix(Y, "Y"), opts)


@dataclass(frozen=True)
class _Options:
    method: str
    similarity: str
    dissimilarity: str | None
    permutations: int | None
    bootstrap: int | None
    confidence: float
    seed: int | None

    @classmethod
    def parse(
        cls,
        method: Any,
        similarity: Any,
        dissimilarity: Any,
        permutations: Any,
        bootstrap: Any,
        confidence: Any,
        seed: Any,
    ) -> _Options:
        method = _check_choice(method, "method", _METHODS)
        similarity = _check_choice(similarity, "similarity", _SIMILARITIES)
        if dissimilarity is not None:
            dissimilarity = _check_choice(dissimilarity, "dissimilarity", _DISSIMILARITIES)
            if similarity != "cosine":
                raise ValueError(
                    "pass either similarity= or dissimilarity=, not both (dissimilarity="
                    f"{dissimilarity!r} already defines the comparison)"
                )
            if dissimilarity in ("cosine", "correlation") and method in ("pearson", "spearman"):
                # 1 - s is a decreasing affine map of s: the same r, so use the streamed kernels.
                similarity, dissimilarity = dissimilarity, None
        elif method in _TRIANGLE_METHODS:
            dissimilarity = similarity if similarity != "dot" else "dot"
        return cls(
            method=method,
            similarity=similarity,
            dissimilarity=dissimilarity,
            permutations=_inf.check_count(permutations, "permutations"),
            bootstrap=_inf.check_count(bootstrap, "bootstrap"),
            confidence=_inf.check_confidence(confidence),
            seed=_inf.check_seed(seed),
        )

    @property
    def streamed(self) -> bool:
        return self.dissimilarity is None

    @property
    def inference(self) -> bool:
        return self.permutations is not None or self.bootstrap is not None


def _triangle_memory_check(n: int, opts: _Options) -> None:
    pairs = n * (n - 1) // 2
    per_pair = 48 + (40 if opts.bootstrap else 0)
    if pairs >= 1 << 31:
        raise ValueError(
            f"method={opts.method!r} / dissimilarity={opts.dissimilarity!r} stores both "
            f"triangles; {n} items are too many (at most 65536); use method='pearson' or "
            "'spearman' with a similarity, or a subset of the items"
        )
    avail = _available_bytes()
    if avail is not None and pairs * per_pair > avail:
        raise MemoryError(
            f"{opts.method!r} on {n} items stores float64 triangles: about "
            f"{pairs * per_pair / 1e9:.1f} GB, but only {avail / 1e9:.1f} GB is available; use "
            "fewer items, or method='pearson' on a similarity (streamed, any n)"
        )


def _attach_inference(fields: dict[str, Any], route: Any, opts: _Options) -> dict[str, Any]:
    observed = route.statistic()
    if not math.isfinite(observed):
        raise _constant_error("X or Y", opts.similarity)
    if opts.permutations is not None:
        null = route.null(opts.permutations, opts.seed)
        fields["null"] = null
        fields["p_value"] = _inf.permutation_p(null, observed)
    if opts.bootstrap is not None:
        boot = route.bootstrap(opts.bootstrap, opts.seed)
        ok = boot[np.isfinite(boot)]
        if ok.size == 0:
            raise ValueError(
                "no bootstrap sample gave a defined value (too few distinct items); use more items"
            )
        fields["boot"] = boot
        fields["ci"] = _inf.percentile_ci(ok, opts.confidence)
        fields["confidence"] = opts.confidence
        fields["p_bootstrap"] = _inf.bootstrap_p(ok)
    fields["seed"] = opts.seed
    return fields


def _rsa_triangles(
    X: np.ndarray, Y: np.ndarray, opts: _Options, words: list[str] | None = None
) -> RSAResult:
    """Any comparator on stored float64 dissimilarity triangles."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} items (rows) but Y has {Y.shape[0]}; RSA compares the same "
            "items in both, row i of X with row i of Y"
        )
    n = X.shape[0]
    if n < 3:
        raise ValueError(f"RSA needs at least 3 items (2 pairs) to correlate; got {n}")
    _triangle_memory_check(n, opts)
    dis = opts.dissimilarity
    assert dis is not None
    tx = _inf.triangle64(X, dis)
    ty = _inf.triangle64(Y, dis)
    for name, t in (("X", tx), ("Y", ty)):
        if not np.all(np.isfinite(t)):
            raise ValueError(f"dissimilarities of {name} overflowed; scale the vectors down")
        if t.min() == t.max() and (opts.method != "cosine" or t.max() == 0):
            raise ValueError(
                f"all pair dissimilarities of {name} are equal, so method={opts.method!r} is "
                "undefined (e.g. every row zero or all rows identical); check the input rows"
            )
    route = _inf.TriangleRoute(tx, ty, n, opts.method)
    r = route.statistic()
    mx, my = float(tx.mean()), float(ty.mean())
    vx, vy = float(tx.var()), float(ty.var())
    cxy = float(((tx - mx) * (ty - my)).mean())
    fields: dict[str, Any] = dict(
        r=float(r),
        method=opts.method,
        similarity=opts.similarity,
        n_items=int(n),
        n_pairs=int(tx.size),
        pearson=cxy / math.sqrt(vx * vy) if vx > 0 and vy > 0 else float("nan"),
        cosine_of_triangles=float(tx @ ty) / math.sqrt(float(tx @ tx) * float(ty @ ty)),
        mean_x=mx,
        mean_y=my,
        std_x=math.sqrt(vx),
        std_y=math.sqrt(vy),
        words=words,
        dissimilarity=dis,
    )
    if opts.inference:
        _attach_inference(fields, route, opts)
    return RSAResult(**fields)


def _rsa_prepared(
    x: np.ndarray,
    y: np.ndarray,
    opts: _Options,
    words: list[str] | None = None,
    *,
    progress: bool | ProgressSink = False,
) -> RSAResult:
    method, similarity = opts.method, opts.similarity
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {x.shape[0]} items (rows) but Y has {y.shape[0]}; RSA compares the same "
            "items in both, row i of X with row i of Y"
        )
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"RSA needs at least 3 items (2 pairs) to correlate; got {n}")
    if method == "pearson":
        st = _kernels.rsa_pearson(x, y, progress=progress)
        r = st["pearson"]
    else:
        n_pairs = n * (n - 1) // 2
        store = n_pairs <= _STORE_VALUES_MAX_PAIRS
        _check_spearman_memory(n, n_pairs * (18 if store else 10))
        st = _kernels.rsa_spearman(x, y, store_values=store, progress=progress)
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
    fields: dict[str, Any] = dict(
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
    if opts.inference:
        route: Any
        if method == "pearson":
            route = _inf.DotRoute(x, y)
        else:
            _triangle_memory_check(n, opts)
            # Ranks of 1 - s are the reversed ranks of s in both models: the same Spearman.
            route = _inf.TriangleRoute(
                _inf.triangle64(x, "dot"), _inf.triangle64(y, "dot"), n, "spearman"
            )
        _attach_inference(fields, route, opts)
    return RSAResult(**fields)


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
    dissimilarity: str | None = None,
    permutations: int | None = None,
    bootstrap: int | None = None,
    confidence: float = 0.95,
    seed: int | None = None,
    progress: bool | ProgressSink = False,
) -> RSAResult:
    """RSA between two embedding models on the words both contain.

    Parameters
    ----------
    a, b : EmbeddingSpace
        The two models (e.g. GloVe and MiniLM); dimensions may differ.
    words : iterable of str, optional
        The items. ``None`` (default): every word of ``a``'s vocabulary that ``b`` also has,
        in ``a``'s order. A listed word missing from either model raises ``KeyError``.
    method, similarity, dissimilarity, permutations, bootstrap, confidence, seed, progress : keyword-only
        As in :func:`rsa` (permutation tests and bootstrap intervals over the words).

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
    opts = _Options.parse(
        method, similarity, dissimilarity, permutations, bootstrap, confidence, seed
    )
    similarity = opts.similarity
    items = _shared_words(a, b, words)
    if len(items) < 3:
        raise ValueError(
            f"only {len(items)} shared words; RSA needs at least 3 items present in both models"
        )
    if not opts.streamed:
        return _rsa_triangles(
            a.vectors[a.indices(items)], b.vectors[b.indices(items)], opts, words=items
        )
    if similarity == "cosine":
        x = np.ascontiguousarray(a.unit_vectors[a.indices(items)])
        y = np.ascontiguousarray(b.unit_vectors[b.indices(items)])
    else:
        x = _prepared(a.vectors[a.indices(items)], "a", similarity)
        y = _prepared(b.vectors[b.indices(items)], "b", similarity)
    return _rsa_prepared(x, y, opts, words=items, progress=progress)


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
