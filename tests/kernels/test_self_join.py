"""The self-join search behind knn_graph: each pair of rows is scored once for both directions.

When the queries are the database's own rows (the same buffer), knn.cpp scores every block pair
(I, J) once and feeds both I's and J's candidate collectors, scheduling block pairs in
round-robin rounds. Every SIMD level, candidate precision, metric, bias and exclusion must still
give exactly the float64 top-k, and the same answer as the ordinary search of a copy of the rows
(a different buffer, so the ordinary path runs).
"""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core

from ..reference import reference_topk


def precisions(level: str) -> list[str]:
    """The candidate precisions the level has kernels for (int8 scans from AVX2 on)."""
    table = _core.kernel_table(level)
    low = [
        p for p, slot in (("bf16", "bf16_knn_tile"), ("int8", "int8_gemv")) if table[slot] != "none"
    ]
    return ["fp32", *low]


def self_search(X, k, precision, metric="ip", bias=None, exclude=None):
    db = _core.Database(X)
    if precision == "bf16":
        db.prepare("bf16")
    if precision == "int8":
        db.prepare("int8")
    # X itself (not a copy) as the queries: the self-join path
    self_ids, self_scores = _core.knn(db, X, k, metric, exclude, bias, precision)
    copy_ids, copy_scores = _core.knn(db, X.copy(), k, metric, exclude, bias, precision)
    np.testing.assert_array_equal(self_ids, copy_ids)
    np.testing.assert_array_equal(self_scores, copy_scores)
    return self_ids, self_scores


def reference(X, k, metric="ip", bias=None, exclude_self=False):
    X64 = X.astype(np.float64)
    if metric == "ip":
        # a separate transposed copy: numpy's A @ A.T (syrk) path is avoided on purpose
        S = X64 @ np.ascontiguousarray(X64.T) + (0 if bias is None else bias.astype(np.float64))
    else:
        S = np.empty((len(X), len(X)))
        for i in range(0, len(X), 100):
            S[i : i + 100] = -0.5 * ((X64[i : i + 100, None, :] - X64[None]) ** 2).sum(-1)
    if exclude_self:
        S[np.arange(len(X)), np.arange(len(X))] = -np.inf
    return reference_topk(S, k), S


# n chosen so the blocks (480 rows at the AVX-512 levels with d=40, fewer at AVX2 / scalar)
# come in one block, an even and an odd number, with and without a partial last row group.
@pytest.mark.parametrize("n", [13, 1450, 2881])
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_self_join_equals_float64_topk(simd_level, n, metric, rng):
    X = rng.standard_normal((n, 40)).astype(np.float32)
    exclude = np.arange(n, dtype=np.int64)[:, None]
    if metric == "l2" and n > 1500:
        X = X[:1500].copy()
        exclude = exclude[:1500]
    ref, S = reference(X, 10, metric, exclude_self=True)
    for precision in precisions(simd_level):
        ids, scores = self_search(X, 10, precision, metric, exclude=exclude)
        np.testing.assert_array_equal(ids, ref, err_msg=precision)
        want = np.take_along_axis(S, ref, 1)
        if metric == "l2":
            want = np.sqrt(-2 * want)
        np.testing.assert_allclose(scores, want, rtol=1e-6, atol=1e-6)


def test_self_join_with_bias_and_self_included(simd_level, rng):
    X = rng.standard_normal((1100, 70)).astype(np.float32)
    bias = rng.standard_normal(1100).astype(np.float32)
    ref, _ = reference(X, 12, bias=bias)
    for precision in precisions(simd_level):
        ids, _ = self_search(X, 12, precision, bias=bias)
        np.testing.assert_array_equal(ids, ref, err_msg=precision)


def test_self_join_near_ties_and_duplicates(simd_level, rng):
    # every score agrees with every other to ~1e-6 (far below the bf16 and int8 errors), and
    # exact duplicate rows tie exactly: the answer rests on the exact re-rank and the lower-id
    # rule
    base = rng.standard_normal(64)
    X = (base + 1e-6 * rng.standard_normal((1700, 64))).astype(np.float32)
    X[::7] = X[3]
    ref, _ = reference(X, 25)
    for precision in precisions(simd_level):
        ids, _ = self_search(X, 25, precision)
        np.testing.assert_array_equal(ids, ref, err_msg=precision)


def test_knn_graph_equals_float64_and_faiss_up_to_float32_ties(rng):
    faiss = pytest.importorskip("faiss")
    X = rng.standard_normal((3000, 48)).astype(np.float32)
    s = ts.EmbeddingSpace(X, [f"w{i}" for i in range(3000)])
    g = s.knn_graph(k=10, exclude_self=False)
    index = faiss.IndexFlatIP(48)
    index.add(np.ascontiguousarray(s.unit_vectors))
    D, I = index.search(s.unit_vectors, 10)
    # faiss sums in float32: slots may only differ where its own scores tie within 1e-5
    differ = g.indices != I
    assert np.abs(g.scores - D)[~differ].max() < 1e-5
    for r, c in zip(*np.nonzero(differ)):
        assert abs(float(D[r, c]) - float(g.scores[r, c])) < 1e-5
    ref, _ = reference(np.ascontiguousarray(s.unit_vectors), 10)
    np.testing.assert_array_equal(g.indices, ref)


@pytest.mark.parametrize("n", [9, 30, 500])
def test_self_join_k_equal_to_the_vocabulary(simd_level, n, rng):
    # every other row is a neighbour: nothing may be lost to pruning, -1 never appears
    X = rng.standard_normal((n, 24)).astype(np.float32)
    exclude = np.arange(n, dtype=np.int64)[:, None]
    ref, _ = reference(X, n - 1, exclude_self=True)
    for precision in precisions(simd_level):
        ids, _ = self_search(X, n - 1, precision, exclude=exclude)
        np.testing.assert_array_equal(ids, ref, err_msg=precision)
