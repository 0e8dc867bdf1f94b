"""Mapping one embedding space onto another: orthogonal Procrustes, least squares, and
MUSE-style refinement.

The heavy product ``X^T Y`` over all anchor rows runs in the C++ kernels (blocked, SIMD,
multithreaded, float64 accumulation); only the small ``d x d`` factorisation uses LAPACK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import _kernels
from .._display import Display
from .._validate import as_matrix, require_finite
from ..similarity import FLOAT32_UNIT_ROUNDOFF
from ..space import EmbeddingSpace
from .csls import csls_mutual_pairs

_STEPS = ("unit", "center")


def _parse_normalize(normalize: str | Sequence[str] | None, n_iter: int) -> tuple[str, ...]:
    """Turn a user spelling into a tuple of 'unit' / 'center' steps."""
    if normalize is None:
        return ()
    if isinstance(normalize, str):
        items = [p.strip() for p in normalize.replace("+", ",").split(",") if p.strip()]
    else:
        items = [str(p).strip() for p in normalize]
    steps: list[str] = []
    for item in items:
        key = item.lower()
        if key in ("none", ""):
            continue
        if key in ("unit", "renorm", "length", "l2"):
            steps.append("unit")
        elif key in ("center", "centre", "mean"):
            steps.append("center")
        elif key in ("iterative", "iterative_normalization", "itn"):
            # Zhang et al. 2019: alternate length normalisation and centring until both hold;
            # the last unit step makes cosine and dot product agree for retrieval.
            steps.extend(["unit", "center"] * n_iter + ["unit"])
        else:
            raise ValueError(
                f"unknown normalisation step {item!r}; use 'unit', 'center', 'iterative' "
                "or a comma-separated sequence such as 'unit,center,unit'"
            )
    return tuple(steps)


@dataclass(frozen=True, repr=False)
class Normalizer(Display):
    """A fitted sequence of row normalisations: ``unit`` (rows to length 1) and ``center``
    (subtract the mean the step saw when it was fitted on the whole vocabulary).

    Attributes
    ----------
    steps : tuple of str
    means : tuple of np.ndarray
        One float32 mean per ``center`` step, in order.
    """

    steps: tuple[str, ...] = ()
    means: tuple[np.ndarray, ...] = ()

    @classmethod
    def fit(cls, X: np.ndarray, steps: Sequence[str]) -> tuple[Normalizer, np.ndarray]:
        """Fit on ``X`` (usually a whole vocabulary): the normaliser and the transformed ``X``."""
        out = X
        means = []
        for step in steps:
            if step == "unit":
                out = _kernels.normalize_rows(out)[0]
            else:
                mu = _kernels.column_means(out).astype(np.float32)
                out = out - mu
                means.append(mu)
        return cls(tuple(steps), tuple(means)), np.ascontiguousarray(out, dtype=np.float32)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Apply the fitted steps to new rows (float32 array (n, d))."""
        out = X
        it = iter(self.means)
        for step in self.steps:
            if step == "unit":
                out = _kernels.normalize_rows(out)[0]
            else:
                out = out - next(it)
        return np.ascontiguousarray(out, dtype=np.float32)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def _summary(self) -> str:
        return f"steps={'+'.join(self.steps) or 'none'}"

    def _table(self) -> dict[str, Sequence[Any]]:
        return {"step": list(self.steps)}


@dataclass(frozen=True, repr=False)
class Alignment(Display):
    """A fitted map ``x -> scale * x @ W + bias`` from a source space to a target space.

    Attributes
    ----------
    W : np.ndarray
        float64 (d1, d2). Orthogonal when d1 == d2; when the dimensions differ it is
        semi-orthogonal: ``W @ W.T = I`` for d1 < d2 (the source is embedded isometrically in
        a d1-dimensional subspace of the target), ``W.T @ W = I`` for d1 > d2 (the source is
        projected onto d2 orthonormal directions). Unconstrained for ``method="linear"``.
    scale : float
        Global scale (1.0 unless fitted with ``scale=True``).
    bias : np.ndarray
        float64 (d2,): zero unless fitted with centring.
    residual : float
        Frobenius norm ``||scale * X W + bias - Y||_F`` over the fitting pairs (after
        preprocessing).
    method : str
        "procrustes" or "linear".
    n_pairs : int
        Number of row pairs the map was fitted on.
    source_norm, target_norm : Normalizer
        Preprocessing applied to source and target vectors before the map (``align`` fits
        these; ``procrustes`` leaves them empty). ``transform`` applies ``source_norm``.
    anchors : list of (str, str), optional
        The word pairs of the final fit (``align`` only).
    history : list of dict
        One entry per refinement round (dictionary size, residual).
    """

    W: np.ndarray
    scale: float = 1.0
    bias: np.ndarray | None = None
    residual: float = float("nan")
    method: str = "procrustes"
    n_pairs: int = 0
    source_norm: Normalizer = field(default_factory=Normalizer)
    target_norm: Normalizer = field(default_factory=Normalizer)
    anchors: list[tuple[str, str]] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def _summary(self) -> str:
        pre = "+".join(self.source_norm.steps)
        return (
            f"{self.method}, {self.source_dim} -> {self.target_dim}, n_pairs={self.n_pairs}, "
            f"residual={self.residual:.4g}, scale={self.scale:.4g}"
            + (f", preprocess={pre}" if pre else "")
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per refinement round (``history``); without rounds, the fields."""
        if not self.history:
            return super()._table()
        keys = list(dict.fromkeys(k for h in self.history for k in h))
        table: dict[str, Sequence[Any]] = {"round": list(range(len(self.history)))}
        table.update({k: [h.get(k) for h in self.history] for k in keys})
        return table

    @property
    def source_dim(self) -> int:
        return int(self.W.shape[0])

    @property
    def target_dim(self) -> int:
        return int(self.W.shape[1])

    def transform(self, X: Any, *, preprocess: bool = True) -> np.ndarray:
        """Map source vectors into the target space.

        Parameters
        ----------
        X : array_like (n, d1) or (d1,), or EmbeddingSpace
            Raw source vectors.
        preprocess : bool, default True
            Apply ``source_norm`` first (the normalisation ``align`` fitted on the source).

        Returns
        -------
        np.ndarray
            float32 (n, d2) (or (d2,) for one vector).
        """
        one = np.ndim(X) == 1
        x = as_matrix(X, "X", allow_1d=True)
        if x.shape[1] != self.source_dim:
            raise ValueError(
                f"X has dimension {x.shape[1]} but the alignment maps {self.source_dim}-d vectors"
            )
        if preprocess and self.source_norm:
            x = self.source_norm.apply(x)
        # X W through the blocked kernel (gram computes A B^T): never numpy BLAS on big X.
        wt = np.ascontiguousarray((self.scale * self.W).T, dtype=np.float32)
        out = _kernels.gram(x, wt)
        if self.bias is not None and np.any(self.bias):
            out += self.bias.astype(np.float32)
        return out[0] if one else out

    __call__ = transform


def _paired(X: Any, Y: Any, *, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    x = as_matrix(X, "X", check_finite=check_finite)
    y = as_matrix(Y, "Y", check_finite=check_finite)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {x.shape[0]} rows but Y has {y.shape[0]}; row i of X must pair with row i of Y"
        )
    return x, y


def _column_shifts(
    x: np.ndarray, y: np.ndarray, center: bool
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The float64 column means of both sides when centring (else None), and their float32
    copies that the cross-Gram kernel subtracts from every row."""
    if not center:
        return None, None, None, None
    mx, my = _kernels.column_means(x), _kernels.column_means(y)
    return mx, my, mx.astype(np.float32), my.astype(np.float32)


# The cross-Gram kernel multiplies in float32: products of entries below ~1e-19 are subnormal
# or zero and above ~1e19 they overflow. Outside this band of RMS values both sides are
# rescaled by powers of two (exact) first.
_SAFE_RMS = (2.0**-40, 2.0**40)


def _pow2_scale(x: np.ndarray, shift: np.ndarray | None) -> float:
    """``2**-e`` that brings the largest ``|x - shift|`` into [0.5, 1) (1.0 for all zeros)."""
    top = float(np.max(np.abs(x if shift is None else x - shift), initial=0.0))
    if top == 0.0 or not np.isfinite(top):
        return 1.0
    return float(2.0 ** -np.frexp(top)[1])


def _cross_gram(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray | None, sy: np.ndarray | None
) -> tuple[np.ndarray, float, float]:
    """``_kernels.cross_gram`` that survives float32 underflow and overflow of the products.

    The fast path is the kernel as is; only when a side's RMS falls outside ``_SAFE_RMS`` (or
    a result is not finite) are the sides rescaled by powers of two and the float64 results
    scaled back, so W is the same at a scale of 1e-25 or 1e19 as at 1.

    Inputs need not have been checked for NaN/Inf: the kernel squares every value, so a
    non-finite sum of squares sends them to ``require_finite`` (which names the first bad row)
    and a clean pass costs no separate reading of X and Y.
    """
    M, sxx, syy = _kernels.cross_gram(x, y, x_shift=sx, y_shift=sy)
    if not (np.isfinite(sxx) and np.isfinite(syy)):
        require_finite(x, "X")
        require_finite(y, "Y")
    n = max(x.shape[0], 1)

    def safe(ss: float, d: int) -> bool:
        return bool(np.isfinite(ss)) and _SAFE_RMS[0] < np.sqrt(ss / (n * d)) < _SAFE_RMS[1]

    if np.isfinite(M).all() and safe(sxx, x.shape[1]) and safe(syy, y.shape[1]):
        return M, sxx, syy
    fx, fy = _pow2_scale(x, sx), _pow2_scale(y, sy)
    if fx == 1.0 and fy == 1.0:
        return M, sxx, syy  # all zeros, or already in range: nothing to rescale
    xs = x * np.float32(fx) if fx != 1.0 else x
    ys = xs if y is x else (y * np.float32(fy) if fy != 1.0 else y)
    M, sxx, syy = _kernels.cross_gram(
        xs,
        ys,
        x_shift=None if sx is None else sx * np.float32(fx),
        y_shift=None if sy is None else sy * np.float32(fy),
    )
    return M / (fx * fy), sxx / (fx * fx), syy / (fy * fy)


_BLAS_CONTROLLER: Any = None


def _single_threaded_blas():
    """Context limiting numpy's BLAS/LAPACK to one thread (if threadpoolctl is installed).

    The d x d factorisations are too small to gain from threads, and OpenBLAS workers that
    spin-wait on a busy machine can make a 20 ms eigh take seconds.
    """
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _polar(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with _single_threaded_blas():
        return _polar_impl(M)


def _polar_impl(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polar factor ``U V^T`` of ``M = U S V^T`` (thin SVD) and the singular values, ascending.

    The symmetric eigenproblem of the smaller Gram matrix (``M M^T`` or ``M^T M``) costs about
    half a float64 SVD (measured: 20 vs 58 ms for 384 x 384, one thread); in float64 it gives
    the polar factor to ~1e-16 * cond(M)^2, so it is used whenever cond(M) < 1e4 and the SVD
    otherwise (also for rank-deficient M).
    """
    d1, d2 = M.shape
    if d1 <= d2:
        G = M @ M.T
    else:
        G = M.T @ M
    try:  # scipy's divide-and-conquer driver is ~20% faster than numpy's eigh here
        from scipy.linalg import eigh

        lam, V = eigh(G, driver="evd", check_finite=False, overwrite_a=True)
    except ImportError:  # pragma: no cover - scipy is optional
        lam, V = np.linalg.eigh(G)
    top = lam[-1]
    if top > 0 and lam[0] > top * 1e-8:
        sig = np.sqrt(lam)
        F = (V / sig) @ V.T  # G^{-1/2}
        W = F @ M if d1 <= d2 else M @ F
        return W, sig
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    return U @ Vt, S[::-1]


#: Largest typical error of an entry of W accepted from the float32 cross-Gram: the promise is
#: agreement with a float64 computation to 1e-5, this keeps a factor 10 in hand.
FLOAT32_W_ERROR = 1e-6


def _float32_w_error(sig: np.ndarray, sxx: float, syy: float, d1: int, d2: int) -> float:
    """Typical size of the largest error in an entry of W that the float32 cross-Gram causes.

    Model: the kernel's error in M (float32 products summed over blocks of a few hundred rows,
    the blocks added in float64) has a Frobenius norm of about ``u ||X||_F ||Y||_F``
    (u = 2**-24; on MiniLM it measured 0.06 u, so this overstates it ~17x), spread over the
    ``d1 x d2`` entries, and an error in M moves the polar factor by about its size over
    ``sigma_n + sigma_{n-1}`` (Li's perturbation bound; ``sigma_n`` alone when d1 != d2). It
    predicts 7.4e-7 for MiniLM rotated (measured against float64: 7.8e-7). It is a typical-case
    estimate, not a worst-case bound: the worst-case float32 bound, ``(n_block + 2) u
    ||X||_F ||Y||_F``, certifies nothing at 1e-5 for realistic inputs of dimension 384, so it
    would always choose float64. Ill-conditioned M (near-dependent directions), where float32
    fails, is what this catches.
    """
    lo = float(sig[0] + sig[1]) if d1 == d2 and len(sig) > 1 else float(sig[0])
    if not lo > 0:
        return float("inf")
    return FLOAT32_UNIT_ROUNDOFF * float(np.sqrt(sxx * syy)) / (float(np.sqrt(d1 * d2)) * lo)


def _cross_gram_float64(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray | None, sy: np.ndarray | None
) -> tuple[np.ndarray, float, float]:
    """``(X - sx)^T (Y - sy)`` and the squared norms with every product in float64 (the
    fallback of :func:`_fit_polar`; float64 neither underflows nor overflows at float32 scales,
    so no rescaling is needed)."""
    M = np.zeros((x.shape[1], y.shape[1]))
    sxx = syy = 0.0
    for start in range(0, x.shape[0], 4096):
        xb = x[start : start + 4096].astype(np.float64)
        yb = y[start : start + 4096].astype(np.float64)
        if sx is not None:
            xb -= sx
        if sy is not None:
            yb -= sy
        M += xb.T @ yb
        sxx += float(np.einsum("ij,ij->", xb, xb))
        syy += float(np.einsum("ij,ij->", yb, yb))
    return M, sxx, syy


def _fit_polar(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray | None, sy: np.ndarray | None
) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray, bool]:
    """``M = X^T Y`` (shifted), ``sxx``, ``syy``, the polar factor W of M, M's singular values
    and whether float64 products were needed.

    The float32 cross-Gram (the GEMM micro-kernel, blocks summed in float64) is used when
    :func:`_float32_w_error` says W comes out within ``FLOAT32_W_ERROR`` of the float64 answer;
    otherwise M is recomputed with float64 products and W refitted.
    """
    M, sxx, syy = _cross_gram(x, y, sx, sy)
    if not np.any(M):
        raise ValueError(
            "X^T Y is zero (zero vectors, or X and Y are orthogonal): the rotation is undefined"
        )
    W, sig = _polar(M)
    if _float32_w_error(sig, sxx, syy, x.shape[1], y.shape[1]) <= FLOAT32_W_ERROR:
        return M, sxx, syy, W, sig, False
    M, sxx, syy = _cross_gram_float64(x, y, sx, sy)
    W, sig = _polar(M)
    return M, sxx, syy, W, sig, True


def procrustes(X: Any, Y: Any, *, scale: bool = False, center: bool = False) -> Alignment:
    """Orthogonal Procrustes: the ``W`` with orthonormal rows/columns minimising ``||X W - Y||_F``.

    ``W = U V^T`` from the SVD ``X^T Y = U S V^T`` (the same matrix as
    ``scipy.linalg.orthogonal_procrustes(X, Y)[0]``).

    Parameters
    ----------
    X : array_like (n, d1)
        Source vectors, one per row.
    Y : array_like (n, d2)
        Target vectors; row i pairs with row i of ``X``. ``d1 != d2`` gives the semi-orthogonal
        solution (see :class:`Alignment`), i.e. the best isometric embedding (d1 < d2) or
        orthonormal projection (d1 > d2).
    scale : bool, default False
        Also fit a global scale ``s = trace(S) / ||X||_F^2`` (the least-squares optimum for the
        fitted ``W``).
    center : bool, default False
        Centre both sides first; the map then carries ``bias = mean(Y) - s mean(X) W``.

    Returns
    -------
    Alignment

    Examples
    --------
    >>> import numpy as np, tokenspace as ts
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5)).astype(np.float32)
    >>> Q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    >>> ali = ts.procrustes(X, X @ Q)
    >>> bool(np.allclose(ali.W, Q, atol=1e-5))
    True
    """
    x, y = _paired(X, Y, check_finite=False)  # _cross_gram checks them in its own pass
    mx, my, sx, sy = _column_shifts(x, y, center)
    M, sxx, syy, W, sig, _ = _fit_polar(x, y, sx, sy)
    trace = float(sig.sum())
    # ||X W||^2 equals ||X||^2 unless W drops directions of X (d1 > d2: W^T W = I only).
    xw2 = sxx
    if W.shape[0] > W.shape[1]:
        xw2 = float(np.einsum("ij,ij->", _gram64(x, mx) @ W, W))
    s = 1.0
    if scale:
        if xw2 <= 0:
            raise ValueError("X is all zeros (after centring): the scale is undefined")
        s = trace / xw2
    # ||s X W - Y||^2 = s^2 ||X W||^2 - 2 s tr(W^T M) + ||Y||^2: no pass over the rows needed.
    tr = float(np.einsum("ij,ij->", W, M))
    res2 = s * s * xw2 - 2.0 * s * tr + syy
    bias = np.zeros(W.shape[1])
    if center:
        bias = my - s * (mx @ W)
    ali = Alignment(
        W=W,
        scale=float(s),
        bias=bias,
        residual=float("nan"),
        method="procrustes",
        n_pairs=x.shape[0],
    )
    if res2 < 1e-6 * (s * s * xw2 + syy):
        # near-exact fit: the closed form loses digits to cancellation (~1e-4 relative at this
        # threshold, ~1e-6 at 1e-4), so measure directly
        res2 = _direct_sq_residual(ali, x, y)
    return replace(ali, residual=float(np.sqrt(max(res2, 0.0))))


def _direct_sq_residual(ali: Alignment, x: np.ndarray, y: np.ndarray) -> float:
    total = 0.0
    for start in range(0, x.shape[0], 8192):
        diff = ali.transform(x[start : start + 8192], preprocess=False) - y[start : start + 8192]
        total += float(np.einsum("ij,ij->", diff, diff, dtype=np.float64))
    return total


def _gram64(x: np.ndarray, shift: np.ndarray | None) -> np.ndarray:
    """(X - shift)^T (X - shift) in float64 through the kernel."""
    s32 = None if shift is None else shift.astype(np.float32)
    return _cross_gram(x, x, s32, s32)[0]


def linear_map(X: Any, Y: Any, *, ridge: float = 0.0, center: bool = False) -> Alignment:
    """Unconstrained least-squares map ``W = argmin ||X W - Y||_F^2 + ridge ||W||_F^2``.

    Parameters
    ----------
    X, Y : array_like (n, d1), (n, d2)
        Paired rows.
    ridge : float, default 0
        L2 penalty; ``0`` gives ordinary least squares (a minimum-norm solution when ``X^T X``
        is singular).
    center : bool, default False
        Fit on centred data and carry the offset in ``bias``.

    Returns
    -------
    Alignment
        ``method="linear"``, ``scale=1``.
    """
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge}")
    x, y = _paired(X, Y)
    mx, my, sx, sy = _column_shifts(x, y, center)
    XtX = _cross_gram(x, x, sx, sx)[0]
    XtY, _, syy = _cross_gram(x, y, sx, sy)
    A = XtX + ridge * np.eye(XtX.shape[0])
    try:
        W = np.linalg.solve(A, XtY)
    except np.linalg.LinAlgError:
        W = np.linalg.lstsq(A, XtY, rcond=None)[0]
    # ||X W - Y||^2 = tr(W^T XtX W) - 2 tr(W^T XtY) + ||Y||^2
    res2 = float(np.einsum("ij,ij->", W, XtX @ W) - 2 * np.einsum("ij,ij->", W, XtY) + syy)
    bias = np.zeros(W.shape[1]) if my is None else my - mx @ W
    return Alignment(
        W=W,
        scale=1.0,
        bias=bias,
        residual=float(np.sqrt(max(res2, 0.0))),
        method="linear",
        n_pairs=x.shape[0],
    )


def _anchor_ids(
    a: Any, b: Any, anchors: Any, max_anchors: int | None
) -> tuple[np.ndarray, np.ndarray]:
    if anchors is None:
        # a's order: for frequency-ordered vocabularies the most frequent shared words first
        ia = [i for i, w in enumerate(a.vocab) if w in b]
        ib = [b.index(a.vocab[i]) for i in ia]
        if not ia:
            raise ValueError(
                f"{a.name or 'a'} and {b.name or 'b'} share no vocabulary; "
                "pass anchors=[(src, tgt), ...]"
            )
    else:
        if isinstance(anchors, str):
            raise TypeError(
                "anchors must be a list of words or (source, target) pairs, not one string"
            )
        ia, ib = [], []
        missing = []
        for p in anchors:
            s, t = (p, p) if isinstance(p, str) else tuple(p)
            if s not in a or t not in b:
                missing.append(s if s not in a else t)
                continue
            ia.append(a.index(s))
            ib.append(b.index(t))
        if missing:
            raise KeyError(
                f"{len(missing)} anchor words are missing from the spaces (first: "
                f"{', '.join(repr(m) for m in missing[:5])}); drop those pairs, e.g. "
                "[(s, t) for s, t in pairs if s in a and t in b]"
            )
        if not ia:
            raise ValueError("anchors is empty; pass at least one (source, target) pair")
    if max_anchors is not None:
        if max_anchors < 1:
            raise ValueError(f"max_anchors must be >= 1, got {max_anchors}")
        ia, ib = ia[:max_anchors], ib[:max_anchors]
    return np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)


def align(
    a: Any,
    b: Any,
    anchors: Sequence[tuple[str, str]] | Sequence[str] | None = None,
    *,
    max_anchors: int | None = None,
    normalize: str | Sequence[str] | None = "unit",
    n_iter: int = 5,
    method: str = "procrustes",
    scale: bool = False,
    center: bool = False,
    ridge: float = 0.0,
    n_refinement: int = 0,
    refine_vocab: int | None = 30000,
    refine_max_rank: int = 15000,
    csls_k: int = 10,
) -> Alignment:
    """Fit a map from space ``a`` onto space ``b`` on anchor words, optionally refined MUSE-style.

    Parameters
    ----------
    a, b : EmbeddingSpace
        Source and target.
    anchors : list of (str, str) or list of str, optional
        Word pairs (source word, target word); plain words mean the same word on both sides.
        ``None`` uses the shared vocabulary in ``a``'s order (most frequent first for
        frequency-ordered vocabularies). Unknown words raise ``KeyError``.
    max_anchors : int, optional
        Use only the first n anchors.
    normalize : str or sequence, default "unit"
        Preprocessing of both spaces, fitted on each whole vocabulary: "unit" (unit rows),
        "center" (subtract the mean), a sequence such as "unit,center,unit" (MUSE's
        "renorm,center,renorm"), or "iterative" (iterative normalisation, Zhang et al. 2019:
        ``n_iter`` rounds of unit + center, then unit). ``None`` keeps raw vectors.
    n_iter : int, default 5
        Rounds of iterative normalisation.
    method : {"procrustes", "linear"}
        Orthogonal (semi-orthogonal when dims differ) or unconstrained least squares.
    scale, center : bool
        Procrustes options (see :func:`procrustes`); ``center`` also applies to "linear".
    ridge : float
        L2 penalty of ``method="linear"``.
    n_refinement : int, default 0
        Refinement rounds: build a dictionary of mutual CSLS nearest neighbours with the current
        map, refit on it (Conneau et al. 2018).
    refine_vocab : int, optional, default 30000
        The first n words of each space take part in refinement (None: all).
    refine_max_rank : int, default 15000
        Dictionary candidates are limited to the first n words of each side (MUSE's
        ``dico_max_rank``).
    csls_k : int, default 10

    Returns
    -------
    Alignment
        With the fitted normalisers (``transform`` applies the source one) and the final
        anchor pairs; ``history`` lists each refinement round.

    Examples
    --------
    >>> ali = ts.align(glove, minilm, n_refinement=2)        # doctest: +SKIP
    >>> ts.translate(glove, minilm, ["king"], ali, k=5, retrieval="csls")  # doctest: +SKIP
    """
    if not isinstance(a, EmbeddingSpace) or not isinstance(b, EmbeddingSpace):
        raise TypeError(
            "align() takes two EmbeddingSpace objects; for arrays use ts.procrustes(X, Y)"
        )
    if method not in ("procrustes", "linear"):
        raise ValueError(f"unknown method {method!r}; expected 'procrustes' or 'linear'")
    if n_refinement < 0:
        raise ValueError(f"n_refinement must be >= 0, got {n_refinement}")
    steps = _parse_normalize(normalize, n_iter)
    norm_a, A = Normalizer.fit(a.vectors, steps)
    norm_b, B = Normalizer.fit(b.vectors, steps)
    ia, ib = _anchor_ids(a, b, anchors, max_anchors)

    def fit(ia: np.ndarray, ib: np.ndarray) -> Alignment:
        if method == "procrustes":
            return procrustes(A[ia], B[ib], scale=scale, center=center)
        return linear_map(A[ia], B[ib], ridge=ridge, center=center)

    ali = fit(ia, ib)
    history: list[dict[str, Any]] = [{"round": 0, "n_pairs": len(ia), "residual": ali.residual}]
    if n_refinement:
        na = len(a) if refine_vocab is None else min(refine_vocab, len(a))
        nb = len(b) if refine_vocab is None else min(refine_vocab, len(b))
        T = _kernels.normalize_rows(B[:nb])[0]
        for r in range(1, n_refinement + 1):
            S = _kernels.normalize_rows(ali.transform(A[:na], preprocess=False))[0]
            pairs = csls_mutual_pairs(S, T, max_rank=refine_max_rank, k=csls_k)
            if len(pairs) < 2:
                raise ValueError(
                    f"refinement round {r} found only {len(pairs)} mutual CSLS pairs; the initial "
                    "map is too poor to refine (give more anchors or n_refinement=0)"
                )
            ia, ib = pairs[:, 0], pairs[:, 1]
            ali = fit(ia, ib)
            history.append({"round": r, "n_pairs": len(ia), "residual": ali.residual})
    words = [(a.vocab[i], b.vocab[j]) for i, j in zip(ia.tolist(), ib.tolist())]
    return Alignment(
        W=ali.W,
        scale=ali.scale,
        bias=ali.bias,
        residual=ali.residual,
        method=ali.method,
        n_pairs=ali.n_pairs,
        source_norm=norm_a,
        target_norm=norm_b,
        anchors=words,
        history=history,
    )
