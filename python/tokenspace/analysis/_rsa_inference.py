"""Permutation tests, item-bootstrap intervals and the rank/cosine comparators behind ``ts.rsa``.

Two routes, chosen by :mod:`tokenspace.analysis.rsa`:

* **Dot-product route** (Pearson of similarities that are plain dot products of prepared rows:
  cosine, correlation, dot). Nothing per pair is stored. With row means ``mu`` and centred rows
  ``z_i = x_i - mu``, a similarity is ``<z_i, z_j> + alpha_i + alpha_j`` with
  ``alpha_i = <mu, x_i> - |mu|^2 / 2``, and the sum over *all* ordered pairs of products of the
  two models' similarities is ``||Z^T W||_F^2 + 2 m sum(alpha beta) + 2 sum(alpha) sum(beta)``
  (the centred cross terms vanish). Item permutations and item resampling only reorder or
  repeat rows, so each permutation or bootstrap sample costs one ``dx x dy`` cross product,
  ``O(n dx dy)``, instead of an ``O(n^2 d)`` RSA. The cross products run on the blocked float32
  micro-kernel of the dispatch table with float64 accumulation (``_kernels.cross_gram``); the
  large, mean-driven part of the sums is taken exactly in float64 by the ``alpha`` terms.
* **Triangle route** (every other comparator and dissimilarity): both triangles are built in
  float64 (``n (n - 1) / 2`` values each, about 40 bytes per pair in all), the permutation test's
  cross term ``sum a[(i, j)] b[(p_i, p_j)]`` is a gather kernel (``_kernels.rsa_permuted_cross``)
  and bootstrap samples become integer pair weights ``c_i c_j``.

Conventions (those of rsatoolbox 0.3.2):

* permutations permute the items of the second model (``rsatoolbox.rdm.permute_rdms``:
  ``D[p][:, p]``), drawn with ``np.random.RandomState(seed).permutation(n)``;
* a bootstrap sample draws ``n`` items with replacement (``RandomState(seed).randint(0, n, n)``,
  as ``rsatoolbox.inference.bootstrap_sample_pattern`` under ``np.random.seed(seed)``); a pair of
  two *different* items drawn ``c_i`` and ``c_j`` times counts ``c_i c_j`` times, a pair between
  two copies of the *same* item is left out (rsatoolbox's ``subsample_pattern`` sets it to NaN
  and the comparators drop NaNs: a copy is trivially similar to itself);
* the permutation p-value is one-sided (greater), ``(1 + #{null >= r}) / (1 + P)``;
* the interval is rsatoolbox's percentile interval (``Result.get_ci(..., 'bootstrap')``):
  quantiles of the bootstrap values framed by ``-inf`` and ``+inf``; ``p_bootstrap`` is its
  bootstrap zero test ``(1 + #{boot <= 0}) / B``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _kernels


def check_count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int (or None to skip); got {value!r}")
    if value < 1:
        raise ValueError(
            f"{name} must be >= 1 (the number of resamples; None skips it); got {value}"
        )
    return int(value)


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)):
        raise TypeError(f"confidence must be a float in (0, 1); got {confidence!r}")
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    return c


def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative int or None; got {seed!r}")
    return int(seed)


def permutations(n: int, count: int, seed: int | None, batch: int) -> Iterator[np.ndarray]:
    """Batches (rows = permutations of range(n)) of one reproducible stream."""
    rs = np.random.RandomState(seed)
    done = 0
    while done < count:
        b = min(batch, count - done)
        yield np.stack([rs.permutation(n) for _ in range(b)]).astype(np.int64, copy=False)
        done += b


def bootstrap_draws(n: int, count: int, seed: int | None) -> Iterator[np.ndarray]:
    rs = np.random.RandomState(seed)
    for _ in range(count):
        yield rs.randint(0, n, size=n)


def permutation_p(null: np.ndarray, observed: float) -> float:
    # The observed value recomputed through the null's own arithmetic, so an exact tie counts.
    tol = 1e-12 * max(1.0, abs(observed))
    return float((1 + np.count_nonzero(null >= observed - tol)) / (1 + null.size))


def percentile_ci(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    framed = np.concatenate(([-np.inf, np.inf], boot))
    cut = (1.0 - confidence) / 2.0
    # Too few samples to reach the tail: the quantile interpolates against the infinite
    # frame (NaN in numpy); the interval is then unbounded on that side.
    with np.errstate(invalid="ignore"):
        lo, hi = np.quantile(framed, [cut, 1.0 - cut])
    return (-math.inf if math.isnan(lo) else float(lo)), (math.inf if math.isnan(hi) else float(hi))


def bootstrap_p(boot: np.ndarray) -> float:
    return float((np.count_nonzero(boot <= 0) + 1) / boot.size)


class DotRoute:
    """Pearson of two dot-product similarity triangles under item permutation / resampling.

    ``x``, ``y``: float32 rows whose dot products are the similarities (C order).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y
        self.n = x.shape[0]
        self.ax = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        self.ay = np.einsum("ij,ij->i", y, y, dtype=np.float64)

    @staticmethod
    def _alpha(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The float32-rounded mean: cross_gram subtracts exactly this one.
        mu = rows.mean(axis=0, dtype=np.float64).astype(np.float32).astype(np.float64)
        alpha = rows.astype(np.float64) @ mu - 0.5 * float(mu @ mu)
        return mu, alpha

    def _moments(
        self, xs: np.ndarray, ys: np.ndarray, counts: np.ndarray | None
    ) -> tuple[float, float, float, float, float]:
        """Means and population variances/covariance over distinct-item pairs of a sample."""
        m = xs.shape[0]
        mux, alx = self._alpha(xs)
        muy, aly = self._alpha(ys)
        fx = 2.0 * m * alx.sum()
        fy = 2.0 * m * aly.sum()
        fxx = self._full_cross(xs, xs, mux, mux, alx, alx, m)
        fyy = self._full_cross(ys, ys, muy, muy, aly, aly, m)
        fxy = self._full_cross(xs, ys, mux, muy, alx, aly, m)
        c2 = np.ones(self.n) if counts is None else counts.astype(np.float64) ** 2
        W = (float(m) * m - c2.sum()) / 2.0
        sx = (fx - c2 @ self.ax) / 2.0
        sy = (fy - c2 @ self.ay) / 2.0
        sxx = (fxx - c2 @ (self.ax * self.ax)) / 2.0
        syy = (fyy - c2 @ (self.ay * self.ay)) / 2.0
        sxy = (fxy - c2 @ (self.ax * self.ay)) / 2.0
        mx, my = sx / W, sy / W
        return mx, my, sxx / W - mx * mx, syy / W - my * my, sxy / W - mx * my

    @staticmethod
    def _full_cross(a, b, mua, mub, ala, alb, m) -> float:
        M = _kernels.cross_gram(
            a, b, x_shift=mua.astype(np.float32), y_shift=mub.astype(np.float32)
        )[0]
        # The rows are shifted by float32 means, so sum(z) is ~1e-8 |mu| rather than 0: the
        # dropped cross terms are far below the float32 rounding of M.
        return float(
            np.einsum("ij,ij->", M, M) + 2.0 * m * (ala @ alb) + 2.0 * ala.sum() * alb.sum()
        )

    def statistic(self) -> float:
        _mx, _my, vx, vy, cxy = self._moments(self.x, self.y, None)
        return cxy / math.sqrt(vx * vy)

    def null(self, count: int, seed: int | None) -> np.ndarray:
        """Pearson r with the items of y permuted (``y[p]``), count times."""
        n = self.n
        mux, alx = self._alpha(self.x)
        muy, aly = self._alpha(self.y)
        _, _, vx, vy, _ = self._moments(self.x, self.y, None)
        mx = (2.0 * n * alx.sum() - self.ax.sum()) / (n * (n - 1))
        my = (2.0 * n * aly.sum() - self.ay.sum()) / (n * (n - 1))
        N = n * (n - 1) / 2.0
        den = math.sqrt(vx * vy)
        # Permute the side with fewer columns: y[p] against x is x[p^-1] against y.
        permute_x = self.x.shape[1] < self.y.shape[1]
        small = self.x if permute_x else self.y
        # One permutation per cross product: stacking permuted copies side by side was
        # measured slower (the packed blocks leave L2).
        batch = 16
        mu_s = (mux if permute_x else muy).astype(np.float32)
        mu_o = (muy if permute_x else mux).astype(np.float32)
        other = self.y if permute_x else self.x
        out = np.empty(count)
        k = 0
        for perms in permutations(n, count, seed, batch):
            idx = np.argsort(perms, axis=1) if permute_x else perms
            for q, p in enumerate(perms):
                Mq = _kernels.cross_gram(small[idx[q]], other, x_shift=mu_s, y_shift=mu_o)[0]
                aly_p = aly[p]
                fxy = float(
                    np.einsum("ij,ij->", Mq, Mq)
                    + 2.0 * n * (alx @ aly_p)
                    + 2.0 * alx.sum() * aly.sum()
                )
                sxy = (fxy - self.ax @ self.ay[p]) / 2.0
                out[k] = (sxy / N - mx * my) / den
                k += 1
        return out

    def bootstrap(self, count: int, seed: int | None) -> np.ndarray:
        out = np.full(count, np.nan)
        for b, idx in enumerate(bootstrap_draws(self.n, count, seed)):
            counts = np.bincount(idx, minlength=self.n)
            if np.count_nonzero(counts) < 3:
                continue
            _, _, vx, vy, cxy = self._moments(self.x[idx], self.y[idx], counts)
            if vx > 0 and vy > 0:
                out[b] = cxy / math.sqrt(vx * vy)
        return out


def triangle64(rows: np.ndarray, dissimilarity: str) -> np.ndarray:
    """Float64 upper triangle (k=1, row-major) of a dissimilarity of the rows."""
    x = np.asarray(rows, dtype=np.float64)
    n = x.shape[0]
    if dissimilarity in ("cosine", "correlation"):
        if dissimilarity == "correlation":
            x = x - x.mean(axis=1, keepdims=True)
        norm = np.sqrt(np.einsum("ij,ij->i", x, x))
        x = x / np.where(norm > 0, norm, 1.0)[:, None]
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty(n * (n - 1) // 2)
    pos = 0
    step = max(1, (1 << 22) // max(n, 1))
    for r0 in range(0, n - 1, step):
        r1 = min(n - 1, r0 + step)
        G = x[r0:r1] @ x[r0:].T
        for i in range(r0, r1):
            g = G[i - r0, i - r0 + 1 :]
            if dissimilarity in ("cosine", "correlation", "dot"):
                v = 1.0 - g
            else:
                v = sq[i] + sq[i + 1 :] - 2.0 * g
                if dissimilarity == "euclidean":
                    v = np.sqrt(np.maximum(v, 0.0))
            out[pos : pos + v.size] = v
            pos += v.size
    return out


def _ranks(v: np.ndarray) -> np.ndarray:
    import scipy.stats

    return scipy.stats.rankdata(v)


def _tie_pairs(v: np.ndarray) -> int:
    _, cnt = np.unique(v, return_counts=True)
    cnt = cnt.astype(np.int64)
    return int((cnt * (cnt - 1) // 2).sum())


def kendall(tx: np.ndarray, ty: np.ndarray, variant: str) -> float:
    import scipy.stats

    tau_b = float(scipy.stats.kendalltau(tx, ty).statistic)
    if variant == "tau_b":
        return tau_b
    # tau_a = (concordant - discordant) / total = tau_b sqrt((tot - ties_x)(tot - ties_y)) / tot
    tot = tx.size * (tx.size - 1) // 2
    scale = math.sqrt(float(tot - _tie_pairs(tx)) * float(tot - _tie_pairs(ty))) / tot
    return min(1.0, max(-1.0, tau_b * scale))


class TriangleRoute:
    """Any comparator of two stored float64 triangles (``tx``, ``ty``) of ``n`` items."""

    def __init__(self, tx: np.ndarray, ty: np.ndarray, n: int, method: str):
        self.tx, self.ty, self.n, self.method = tx, ty, n, method
        self.N = tx.size
        if method in ("spearman", "rho_a"):
            self.vx, self.vy = _ranks(tx), _ranks(ty)
        else:
            self.vx, self.vy = tx, ty
        if method in ("pearson", "spearman", "rho_a"):
            self.a = self.vx - self.vx.mean()
            self.b = self.vy - self.vy.mean()
        else:
            self.a, self.b = self.vx, self.vy

    def _normalise(self, cross: np.ndarray | float) -> Any:
        if self.method == "rho_a":
            return cross * 12.0 / (float(self.N) ** 3 - self.N)
        return cross / math.sqrt(float(self.a @ self.a) * float(self.b @ self.b))

    def statistic(self) -> float:
        if self.method in ("tau_a", "tau_b"):
            return kendall(self.tx, self.ty, self.method)
        return float(self._normalise(float(self.a @ self.b)))

    def _pair_index(self, perm: np.ndarray, I: np.ndarray, J: np.ndarray) -> np.ndarray:
        n = self.n
        u, v = perm[I], perm[J]
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        return lo * (2 * n - lo - 1) // 2 + hi - lo - 1

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        I = np.repeat(np.arange(n - 1, dtype=np.int64), np.arange(n - 1, 0, -1))
        starts = np.arange(n - 1, dtype=np.int64) * (2 * n - np.arange(n - 1) - 1) // 2
        J = np.arange(self.N, dtype=np.int64) - starts[I] + I + 1
        return I, J

    def null(self, count: int, seed: int | None) -> np.ndarray:
        if self.method in ("tau_a", "tau_b"):
            I, J = self.pairs()
            out = np.empty(count)
            for k, perms in enumerate(permutations(self.n, count, seed, 1)):
                out[k] = kendall(self.tx, self.ty[self._pair_index(perms[0], I, J)], self.method)
            return out
        batch = 64
        parts = [
            _kernels.rsa_permuted_cross(self.a, self.b, perms)
            for perms in permutations(self.n, count, seed, batch)
        ]
        return np.asarray(self._normalise(np.concatenate(parts)), dtype=np.float64)

    def _weighted_ranks(self, v: np.ndarray, w: np.ndarray, cache: dict, key: str) -> np.ndarray:
        if key not in cache:
            order = np.argsort(v, kind="stable")
            s = v[order]
            group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
            cache[key] = (order, group)
        order, group = cache[key]
        G = np.bincount(group, weights=w[order])
        avg = np.cumsum(G) - G + (G + 1.0) / 2.0
        r = np.empty_like(v)
        r[order] = avg[group]
        return r

    def bootstrap(self, count: int, seed: int | None) -> np.ndarray:
        I, J = self.pairs()
        cache: dict = {}
        out = np.full(count, np.nan)
        for b, idx in enumerate(bootstrap_draws(self.n, count, seed)):
            c = np.bincount(idx, minlength=self.n).astype(np.float64)
            if np.count_nonzero(c) < 3:
                continue
            w = c[I] * c[J]
            W = w.sum()
            m = self.method
            if m in ("tau_a", "tau_b"):
                reps = w.astype(np.int64)
                val = kendall(np.repeat(self.tx, reps), np.repeat(self.ty, reps), m)
            elif m == "cosine":
                den = math.sqrt(float(w @ (self.tx**2)) * float(w @ (self.ty**2)))
                val = float(w @ (self.tx * self.ty)) / den if den > 0 else np.nan
            else:
                if m == "pearson":
                    vx, vy = self.tx, self.ty
                else:
                    vx = self._weighted_ranks(self.tx, w, cache, "x")
                    vy = self._weighted_ranks(self.ty, w, cache, "y")
                if m == "rho_a":
                    mid = (W + 1.0) / 2.0
                    val = float(w @ ((vx - mid) * (vy - mid))) * 12.0 / (W**3 - W)
                else:
                    ax = vx - (w @ vx) / W
                    ay = vy - (w @ vy) / W
                    den = math.sqrt(float(w @ (ax * ax)) * float(w @ (ay * ay)))
                    val = float(w @ (ax * ay)) / den if den > 0 else np.nan
            out[b] = val
        return out
