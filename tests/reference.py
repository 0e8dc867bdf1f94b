"""float64 references and tie-tolerant comparisons shared by the kernel and API tests."""

from __future__ import annotations

import numpy as np


def reference_topk(scores: np.ndarray, k: int, largest: bool = True) -> np.ndarray:
    """Top-k ids per row of a float64 score matrix, ties to the lower id (stable sort)."""
    key = -scores if largest else scores
    return np.argsort(key, axis=1, kind="stable")[:, :k]


def assert_knn_equivalent(ids, scores, ref_scores, k, *, largest=True, tol=1e-5):
    """Tie-tolerant k-NN check (the idea of faiss' check_ref_knn_with_draws).

    ``ref_scores`` is the full float64 (m, n) score matrix. Each returned id's true score must
    match the reported one, the list must be ordered, and every id the reference ranks
    strictly better than the k-th reference score (beyond ``tol``) must be present.
    """
    ids = np.asarray(ids)
    m = ids.shape[0]
    sign = 1.0 if largest else -1.0
    for i in range(m):
        row = ref_scores[i]
        got = row[ids[i]]
        np.testing.assert_allclose(scores[i], got, rtol=tol, atol=tol)
        assert len(set(ids[i].tolist())) == k, "duplicate neighbours"
        assert np.all(np.diff(sign * got) <= tol), "neighbours not ordered"
        kth = np.sort(sign * row)[::-1][k - 1]
        must = np.flatnonzero(sign * row > kth + tol)
        assert set(must.tolist()) <= set(ids[i].tolist()), f"query {i} misses a clear neighbour"
