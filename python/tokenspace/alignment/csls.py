"""Cross-domain similarity local scaling (CSLS, Conneau et al. 2018), written once.

For unit rows x (mapped sources) and y (targets),
``CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)``, where ``r_T(x)`` is the mean cosine of x with
its k nearest targets and ``r_S(y)`` that of y with its k nearest sources: the neighbourhood
densities that penalise hubs. For a fixed query the ranking over the other side is an exact
kNN with the additive bias ``-r(y) / 2`` per candidate, so no (sources x targets) matrix is
ever built. Both word translation (``translate(..., retrieval="csls")``) and the refinement of
``align`` use these functions, so they rank with the same numbers.

Every search goes through ``_kernels.knn`` with the default precision "auto": the candidate
stage may run in bf16, the answer is the exact top-k either way.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._kernels import Progress
from .._validate import check_k


def mean_topk_similarity(
    queries: np.ndarray, base: np.ndarray, k: int, *, progress: Progress = False
) -> np.ndarray:
    """Mean of the ``k`` largest inner products of every query row with the base rows.

    With unit rows this is CSLS's neighbourhood density ``r(.)`` of each query among ``base``.

    Parameters
    ----------
    queries : float32 (m, d)
    base : float32 (n, d)
    k : int
        Neighbourhood size, ``1 <= k <= n``.
    progress : bool or ProgressSink
        As in :func:`tokenspace.progress.sink`.

    Returns
    -------
    np.ndarray
        float32 (m,), the mean accumulated in float64.
    """
    k = check_k(k, base.shape[0], what="rows to average over")
    scores = _kernels.knn(queries, base, k, metric="ip", progress=progress)[1]
    return scores.astype(np.float64).mean(axis=1).astype(np.float32)


def csls_topk(
    queries: np.ndarray,
    base: np.ndarray,
    k: int,
    *,
    query_density: np.ndarray,
    base_density: np.ndarray,
    progress: Progress = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k base rows of every query by CSLS.

    Parameters
    ----------
    queries : float32 (m, d)
        Unit rows of one side.
    base : float32 (n, d)
        Unit rows of the other side (the candidates).
    k : int
    query_density : float32 (m,)
        ``r`` of every query among ``base`` (:func:`mean_topk_similarity` (queries, base)).
    base_density : float32 (n,)
        ``r`` of every base row among the queries' side (:func:`mean_topk_similarity`
        (base, the whole query side)).
    progress : bool or ProgressSink
        As in :func:`tokenspace.progress.sink`.

    Returns
    -------
    (indices, scores)
        int64 and float32 (m, k): ids into ``base`` and CSLS values
        ``2 cos - r(query) - r(base row)``, best first, ties to the lower id.
    """
    idx, half = _kernels.knn(
        queries, base, k, metric="ip", bias=-0.5 * base_density, progress=progress
    )
    return idx, 2.0 * half - query_density[:, None]


def csls_mutual_pairs(
    S: np.ndarray, T: np.ndarray, *, max_rank: int = 15000, k: int = 10
) -> np.ndarray:
    """Mutual nearest neighbours under CSLS between mapped sources S and targets T (unit rows).

    Source x (among the first ``max_rank``) and target y (among the first ``max_rank``) pair up
    when y is x's best target by CSLS and x is y's best source by CSLS (MUSE's "S2T&T2S"
    dictionary). Densities r_S, r_T come from kNN over the whole of S and T.

    Returns
    -------
    np.ndarray
        int64 (n_pairs, 2): (source id, target id).
    """
    r_s = mean_topk_similarity(T, S, k)  # density of every target among sources
    r_t = mean_topk_similarity(S, T, k)  # density of every source among targets
    rs, rt = min(max_rank, S.shape[0]), min(max_rank, T.shape[0])
    fwd = csls_topk(S[:rs], T, 1, query_density=r_t[:rs], base_density=r_s)[0][:, 0]
    bwd = csls_topk(T[:rt], S, 1, query_density=r_s[:rt], base_density=r_t)[0][:, 0]
    src = np.arange(rs)
    keep = fwd < rt
    keep[keep] = bwd[fwd[keep]] == src[keep]
    return np.stack([src[keep], fwd[keep]], axis=1).astype(np.int64)
