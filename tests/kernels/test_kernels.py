"""Every kernel against a numpy float64 reference, at every SIMD level."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core, _kernels

from ..reference import assert_knn_equivalent, reference_topk

SHAPES = [(1, 1, 1), (3, 5, 2), (13, 29, 7), (40, 97, 50), (130, 300, 384), (7, 1000, 17)]


def ref_cosine(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    a = np.divide(a, na, out=np.zeros_like(a), where=na > 0)
    b = np.divide(b, nb, out=np.zeros_like(b), where=nb > 0)
    return np.einsum("id,jd->ij", a, b)


@pytest.mark.parametrize("m,n,d", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_cosine_matrix_matches_float64(simd_level, m, n, d, dtype, rng):
    a = (rng.standard_normal((m, d)) * 3).astype(dtype)
    b = (rng.standard_normal((n, d)) * 3).astype(dtype)
    got = ts.cosine_matrix(a, b)
    assert got.dtype == np.float32 and got.shape == (m, n)
    np.testing.assert_allclose(got, ref_cosine(a, b), atol=2e-6)


def test_cosine_matrix_strided_and_fortran_inputs(simd_level, rng):
    big = rng.standard_normal((60, 80)).astype(np.float32)
    a = big[::2, 3:50]  # non-contiguous rows and columns
    b = np.asfortranarray(big[5:45, 10:57])
    np.testing.assert_allclose(ts.cosine_matrix(a, b), ref_cosine(a, b), atol=2e-6)


def test_cosine_matrix_self_zero_rows_and_out(simd_level, rng):
    a = rng.standard_normal((33, 20)).astype(np.float32)
    a[4] = 0
    full = np.full((40, 33), np.nan, dtype=np.float32)
    ts.cosine_matrix(a, out=full[3:36])  # a row slice of a bigger array
    got = full[3:36]
    np.testing.assert_allclose(got, ref_cosine(a, a), atol=2e-6)
    assert np.all(got[4] == 0) and np.all(got[:, 4] == 0)
    assert np.isnan(full[:3]).all() and np.isnan(full[36:]).all()  # untouched around the slice


@pytest.mark.parametrize("n,d", [(1, 3), (11, 5), (97, 33), (700, 64), (1300, 20)])
def test_self_gram_mirrors_the_upper_triangle_bitwise(simd_level, n, d, rng):
    # gram(A, A) computes the upper triangle only and mirrors it: it must equal, bit for bit,
    # the general path on a copy of A (same products summed in the same order), and float64
    a = rng.standard_normal((n, d)).astype(np.float32)
    full = np.full((n + 2, n + 3), np.nan, dtype=np.float32)
    got = _core.gram(a, a, full[1 : n + 1, :n])
    general = _core.gram(a, a.copy(), None)
    np.testing.assert_array_equal(got, general)
    np.testing.assert_array_equal(got, got.T)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(got, a64 @ np.ascontiguousarray(a64.T), rtol=1e-5, atol=1e-4)
    assert np.isnan(full[0]).all() and np.isnan(full[n + 1]).all() and np.isnan(full[:, n:]).all()


@pytest.mark.parametrize("m,n,d", [(1, 1, 3), (13, 29, 7), (1100, 70, 50), (40, 1300, 33)])
def test_gram_unit_rows_is_bitwise_the_gram_of_normalised_rows(simd_level, m, n, d, rng):
    # unit_rows normalises while packing; it must give the very floats of normalize_rows
    # followed by the plain product (pair and self-Gram), and match float64
    a = (rng.standard_normal((m, d)) * rng.uniform(0.1, 10, (m, 1))).astype(np.float32)
    b = (rng.standard_normal((n, d)) * 7).astype(np.float32)
    a[m // 2] = 0
    ua, ub = _kernels.normalize_rows(a)[0], _kernels.normalize_rows(b)[0]
    got = _core.gram(a, b, None, True, True)
    np.testing.assert_array_equal(got, _core.gram(ua, ub, None, True, False))
    np.testing.assert_allclose(got, ref_cosine(a, b), atol=2e-6)
    assert np.all(got[m // 2] == 0)
    self_got = _core.gram(a, a, None, True, True)
    np.testing.assert_array_equal(self_got, _core.gram(ua, ua, None, True, False))
    np.testing.assert_array_equal(self_got, self_got.T)


def test_cosine_matrix_of_a_space_equals_that_of_its_array(rng):
    # spaces use their cached unit rows, arrays are normalised in the kernel: same floats
    vecs = rng.standard_normal((300, 24)).astype(np.float32)
    s = ts.EmbeddingSpace(vecs, [f"w{i}" for i in range(300)])
    t = ts.EmbeddingSpace(vecs[:77] * 2, [f"v{i}" for i in range(77)])
    np.testing.assert_array_equal(ts.cosine_matrix(s), ts.cosine_matrix(vecs))
    np.testing.assert_array_equal(ts.cosine_matrix(s, t), ts.cosine_matrix(vecs, vecs[:77] * 2))
    np.testing.assert_array_equal(ts.cosine_matrix(s, vecs[:77] * 2), ts.cosine_matrix(vecs, t))


def test_cosine_matrix_large_blocks_match_float64(rng):
    # Big enough for several 1000-row A blocks, for panels in 2 MB-aligned huge-page buffers
    # (>= 4 MB) and for self-Gram blocks mirrored across block boundaries.
    m, n, d = 2800, 2200, 384
    a = rng.standard_normal((m, d)).astype(np.float32)
    b = rng.standard_normal((n, d)).astype(np.float32)
    rows = rng.choice(m, 60, replace=False)
    got = ts.cosine_matrix(a, b)
    np.testing.assert_allclose(got[rows], ref_cosine(a[rows], b), atol=2e-6)
    self_got = ts.cosine_matrix(a)
    np.testing.assert_array_equal(self_got, self_got.T)
    np.testing.assert_array_equal(self_got, _core.gram(a, a.copy(), None, True, True))
    np.testing.assert_allclose(self_got[rows], ref_cosine(a[rows], a), atol=2e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cosine_matrix_low_precision_within_bound(dtype, rng):
    from tokenspace.similarity import LOW_PRECISION_BOUND

    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    a = rng.standard_normal((70, 30)).astype(np.float32)
    b = rng.standard_normal((45, 30)).astype(np.float32)
    got = ts.cosine_matrix(a, b, dtype=dtype, chunk_rows=16)
    assert got.dtype.name == dtype and got.shape == (70, 45)
    err = np.abs(got.astype(np.float64) - ref_cosine(a, b)).max()
    assert err <= LOW_PRECISION_BOUND[dtype]
    assert err > 0  # it really is lower precision
    with pytest.raises(ValueError, match="dtype"):
        ts.cosine_matrix(a, b, dtype="int8")


def test_cosine_matrix_chunks_cover_the_matrix(rng):
    a = rng.standard_normal((50, 9)).astype(np.float32)
    b = rng.standard_normal((21, 9)).astype(np.float32)
    parts = list(ts.cosine_matrix_chunks(a, b, chunk_rows=16))
    assert [s for s, _ in parts] == [0, 16, 32, 48]
    np.testing.assert_allclose(np.vstack([blk for _, blk in parts]), ref_cosine(a, b), atol=2e-6)


@pytest.mark.parametrize(
    "m,n,d", [(1, 50, 8), (5, 300, 33), (8, 257, 16), (64, 1000, 50), (150, 700, 384)]
)
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_knn_matches_float64(simd_level, m, n, d, metric, rng):
    X = rng.standard_normal((n, d)).astype(np.float32)
    Q = rng.standard_normal((m, d)).astype(np.float32)
    k = min(10, n)
    res = ts.knn(X, Q, k, metric=metric)
    if metric == "cosine":
        ref = ref_cosine(Q, X)
    elif metric == "dot":
        ref = Q.astype(np.float64) @ X.T.astype(np.float64)
    else:
        ref = np.sqrt(
            ((Q[:, None, :].astype(np.float64) - X[None].astype(np.float64)) ** 2).sum(-1)
        )
    assert res.indices.shape == (m, k) and res.indices.dtype == np.int64
    assert_knn_equivalent(res.indices, res.scores, ref, k, largest=metric != "euclidean", tol=2e-5)


@pytest.mark.parametrize("m", [1, 3, 40])
def test_knn_ties_prefer_lower_index(simd_level, m):
    # Every database row is one of three directions, so nearly all scores tie exactly.
    base = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    X = base[np.arange(200) % 3]
    Q = base[np.arange(m) % 3]
    res = ts.knn(X, Q, 7, metric="dot")
    for i in range(m):
        expected = np.flatnonzero(np.arange(200) % 3 == i % 3)[:7]
        assert res.indices[i].tolist() == expected.tolist()


@pytest.mark.parametrize("m", [2, 30])
def test_knn_k_equals_n_and_exclusions(simd_level, m, rng):
    X = rng.standard_normal((40, 6)).astype(np.float32)
    Q = X[:m]
    idx, _sc = _kernels.knn(Q, X, 39, exclude=np.arange(m, dtype=np.int64)[:, None])
    ref = Q.astype(np.float64) @ X.T.astype(np.float64)
    for i in range(m):
        assert i not in idx[i]
        expected = [j for j in reference_topk(ref[i : i + 1], 40)[0] if j != i]
        assert sorted(idx[i].tolist()) == sorted(expected)
    idx, _ = _kernels.knn(Q, X, 40)
    assert all(sorted(r) == list(range(40)) for r in idx.tolist())


@pytest.mark.parametrize("n", [1, 5, 13, 33])
def test_knn_many_queries_tiny_database(simd_level, n, rng):
    # fewer database rows than one register block: exercises the zero-padded tail group
    X = rng.standard_normal((n, 10)).astype(np.float32)
    Q = rng.standard_normal((50, 10)).astype(np.float32)
    k = min(3, n)
    res = ts.knn(X, Q, k, metric="dot")
    ref = Q.astype(np.float64) @ X.T.astype(np.float64)
    assert_knn_equivalent(res.indices, res.scores, ref, k, tol=2e-5)


def test_knn_row_bias(simd_level, rng):
    X = rng.standard_normal((500, 12)).astype(np.float32)
    bias = rng.standard_normal(500).astype(np.float32)
    for m in (2, 20):
        Q = rng.standard_normal((m, 12)).astype(np.float32)
        idx, sc = _kernels.knn(Q, X, 5, bias=bias)
        ref = Q.astype(np.float64) @ X.T.astype(np.float64) + bias
        assert_knn_equivalent(idx, sc, ref, 5, tol=2e-5)


def test_knn_thread_counts_agree(rng):
    X = rng.standard_normal((3000, 24)).astype(np.float32)
    before = ts.num_threads()
    try:
        ts.set_num_threads(1)
        one = ts.knn(X, X[:100], 10)
        ts.set_num_threads(3)
        three = ts.knn(X, X[:100], 10)
    finally:
        ts.set_num_threads(before)
    np.testing.assert_array_equal(one.indices, three.indices)
    np.testing.assert_array_equal(one.scores, three.scores)


def test_normalize_rows(simd_level, rng):
    X = rng.standard_normal((77, 45)).astype(np.float32) * 10
    X[3] = 0
    unit, norms = _core.normalize_rows(X)
    ref_n = np.linalg.norm(X.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, ref_n, rtol=1e-6)
    np.testing.assert_allclose(unit[ref_n > 0], (X[ref_n > 0] / ref_n[ref_n > 0, None]), atol=1e-7)
    assert np.all(unit[3] == 0)


def test_exact_scores_identical_at_every_level(rng):
    # The re-rank score is defined by a canonical summation order, so every level gives the
    # same bits (which makes answers independent of the level even at near-ties).
    X = (rng.standard_normal((300, 77)) * 10).astype(np.float32)
    Q = X[:4] + rng.standard_normal((4, 77)).astype(np.float32)
    before = ts.simd_level()
    seen = {}
    try:
        for level in ts.available_simd_levels():
            ts.set_simd_level(level)
            for metric in ("ip", "l2"):
                seen.setdefault(metric, []).append(_kernels.knn(Q, X, 300, metric=metric))
    finally:
        ts.set_simd_level(before)
    for runs in seen.values():
        for ids, scores in runs[1:]:
            np.testing.assert_array_equal(ids, runs[0][0])
            np.testing.assert_array_equal(scores, runs[0][1])


def test_simd_level_control():
    levels = ts.available_simd_levels()
    assert levels[0] == "scalar" and ts.simd_level() in levels
    with pytest.raises(ValueError, match="unknown SIMD level"):
        ts.set_simd_level("sse9")


def test_cosine_matrix_stays_in_unit_interval_within_the_stated_bound(simd_level, rng):
    # Parallel and anti-parallel pairs: without clamping, float32 rounding puts some of these
    # cosines at 1.0000001 or -1.0000001 (np.arccos then gives NaN).
    from tokenspace.similarity import float32_cosine_bound

    a = rng.standard_normal((200, 384)).astype(np.float32)
    b = np.concatenate([a * 3, -a, a[:50] + 1e-3])
    ref = ref_cosine(a, b)
    raw = _kernels.gram(_kernels.normalize_rows(a)[0], _kernels.normalize_rows(b)[0])
    assert np.abs(raw).max() > 1.0  # the data reaches past 1 unless clamped
    for got in (
        ts.cosine_matrix(a, b),
        ts.cosine_matrix(b),
        ts.cosine_matrix(a, b, dtype="float16").astype(np.float32),
        np.concatenate([blk for _, blk in ts.cosine_matrix_chunks(a, b, chunk_rows=64)]),
    ):
        assert got.max() <= 1.0 and got.min() >= -1.0
        assert not np.isnan(np.arccos(got)).any()
    got = ts.cosine_matrix(a, b)
    assert np.abs(got - ref).max() <= float32_cosine_bound(384)


def test_project_kernel_center_is_subtracted_before_the_product(simd_level):
    # A common offset of 1e4: subtracting <center, axis> after a float32 dot product loses
    # about 1% of the O(1) scores; subtracting the centre from each row first does not.
    rng = np.random.default_rng(3)
    X = (1e4 + rng.standard_normal((3000, 50))).astype(np.float32)
    a = rng.standard_normal(50)
    a /= np.linalg.norm(a)
    c = X.astype(np.float64).mean(0)
    ref = (X.astype(np.float64) - c) @ a
    got = _core.project(X, a.astype(np.float32), 0.0, c.astype(np.float32))
    np.testing.assert_allclose(
        got, (X - c.astype(np.float32)).astype(np.float64) @ a.astype(np.float32), atol=2e-5
    )
    np.testing.assert_allclose(ts.project(X, a, center="mean"), ref, atol=1e-4)
    np.testing.assert_allclose(ts.project(X, a, center=c), ref, atol=1e-4)
    with pytest.raises(ValueError, match="center"):
        _core.project(X, a.astype(np.float32), 0.0, c[:3].astype(np.float32))
