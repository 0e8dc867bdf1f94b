"""RSA: streamed Pearson / exact Spearman of similarity triangles, split-half, model RSA and
category selectivity, each against a numpy / scipy float64 reference."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import scipy.stats

import tokenspace as ts
from tokenspace import _core


def unit64(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    nrm = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, nrm, out=np.zeros_like(X), where=nrm > 0)


def triangle64(X: np.ndarray, similarity: str = "cosine") -> np.ndarray:
    """float64 reference: S[np.triu_indices(n, 1)] from an explicit n x n matrix (small n)."""
    X = np.asarray(X, dtype=np.float64)
    if similarity == "correlation":
        X = X - X.mean(axis=1, keepdims=True)
    U = X if similarity == "dot" else unit64(X)
    S = U @ U.T
    return S[np.triu_indices(len(X), 1)]


def related(rng, n, dx, dy, noise=1.0):
    """Two representations of the same n items with a shared component (r clearly > 0)."""
    Z = rng.standard_normal((n, 3))
    X = Z @ rng.standard_normal((3, dx)) + noise * rng.standard_normal((n, dx))
    Y = Z @ rng.standard_normal((3, dy)) + noise * rng.standard_normal((n, dy))
    return X.astype(np.float32), Y.astype(np.float32)


# Odd sizes straddle the micro-tile (MR x NR = 4x8, 6x16, 12x32) and block edges.
SHAPES = [(3, 2, 3), (6, 1, 2), (4, 2, 7), (17, 5, 3), (45, 13, 64), (129, 33, 31), (301, 64, 17)]


@pytest.mark.parametrize("n,dx,dy", SHAPES)
def test_pearson_matches_numpy(simd_level, n, dx, dy):
    rng = np.random.default_rng(n * 1000 + dx)
    X, Y = related(rng, n, dx, dy)
    tx, ty = triangle64(X), triangle64(Y)
    res = ts.rsa(X, Y)
    assert res.method == "pearson" and res.n_items == n and res.n_pairs == n * (n - 1) // 2
    # Against float64 similarities: differences come from the float32 similarities only.
    assert res.r == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=2e-6)
    assert res.cosine_of_triangles == pytest.approx(
        tx @ ty / math.sqrt((tx @ tx) * (ty @ ty)), abs=2e-6
    )
    assert res.mean_x == pytest.approx(tx.mean(), abs=1e-6)
    assert res.std_y == pytest.approx(ty.std(), rel=1e-5)
    # Against the same float32 similarities: the accumulation itself is float64-exact.
    fx = ts.similarity_triangle(X).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    np.testing.assert_allclose(fx, tx, atol=1e-6)
    assert res.r == pytest.approx(np.corrcoef(fx, fy)[0, 1], abs=1e-12)


@pytest.mark.parametrize("n,dx,dy", SHAPES)
@pytest.mark.parametrize("store", [False, True])
def test_spearman_matches_scipy(simd_level, n, dx, dy, store):
    rng = np.random.default_rng(n * 7 + dy)
    X, Y = related(rng, n, dx, dy)
    ux, uy = ts.unit_rows(X), ts.unit_rows(Y)
    got = _core.rsa_spearman(ux, uy, store_values=store)
    # Exact on the float32 similarities the kernel ranks ...
    fx = ts.similarity_triangle(X).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    assert got["spearman"] == pytest.approx(scipy.stats.spearmanr(fx, fy).statistic, abs=1e-12)
    # ... and within float32 rounding of the float64 reference.
    ref = scipy.stats.spearmanr(triangle64(X), triangle64(Y)).statistic
    assert got["spearman"] == pytest.approx(ref, abs=1e-4 if n < 10 else 1e-5)
    assert ts.rsa(X, Y, method="spearman").r == pytest.approx(got["spearman"], abs=0)


@pytest.mark.parametrize("store", [False, True])
def test_spearman_exact_ties(simd_level, store):
    """Integer vectors and dot products: similarities are exact small integers, full of ties."""
    rng = np.random.default_rng(3)
    n = 150
    X = rng.integers(-2, 3, size=(n, 4)).astype(np.float32)
    Y = X[:, :2] @ np.array([[1, 0, 1], [0, 1, 1]]) + rng.integers(-1, 2, size=(n, 3))
    Y = Y.astype(np.float32)
    tx, ty = triangle64(X, "dot"), triangle64(Y, "dot")
    assert len(np.unique(tx)) < 100 and len(np.unique(ty)) < 100  # 11175 pairs: heavy ties
    ref = scipy.stats.spearmanr(tx, ty).statistic
    got = _core.rsa_spearman(X, Y, store_values=store)["spearman"]
    assert got == pytest.approx(ref, abs=1e-13)
    assert ts.rsa(X, Y, method="spearman", similarity="dot") == pytest.approx(ref, abs=1e-13)
    # Pearson on exactly representable values is float64-exact too.
    assert ts.rsa(X, Y, similarity="dot") == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=1e-13)


@pytest.mark.parametrize("store", [False, True])
def test_spearman_huge_tie_groups(simd_level, store):
    """One-hot items: ~98% of the dot products are exactly 0, a single key bucket of more than
    65536 pairs (the 64K-bin counting path), next to mid-size and tiny buckets."""
    rng = np.random.default_rng(21)
    n = 420
    X = np.eye(48, dtype=np.float32)[rng.integers(0, 48, size=n)]
    X[: n // 3] *= 2  # a few more distinct values
    Y = (X @ rng.integers(0, 3, size=(48, 5)) + rng.integers(0, 2, size=(n, 5))).astype(np.float32)
    tx, ty = triangle64(X, "dot"), triangle64(Y, "dot")
    assert np.count_nonzero(tx == 0) > 65536
    ref = scipy.stats.spearmanr(tx, ty).statistic
    got = _core.rsa_spearman(X, Y, store_values=store)["spearman"]
    assert got == pytest.approx(ref, abs=1e-13)


def test_spearman_duplicate_rows_tie_under_cosine(simd_level):
    """Duplicated items give bit-identical cosines, so they must share an average rank."""
    rng = np.random.default_rng(8)
    base = rng.standard_normal((12, 9)).astype(np.float32)
    X = base[rng.integers(0, 12, size=80)]
    Y = X + 0.3 * rng.standard_normal(X.shape).astype(np.float32)
    fx = ts.similarity_triangle(X).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    assert len(np.unique(fx)) < len(fx) // 4
    ref = scipy.stats.spearmanr(fx, fy).statistic
    assert ts.rsa(X, Y, method="spearman") == pytest.approx(ref, abs=1e-12)


def test_many_chunks_and_threads_deterministic():
    """Enough items for many row blocks / chunks; the result is bitwise thread-independent."""
    rng = np.random.default_rng(5)
    X, Y = related(rng, 1500, 8, 6, noise=2.0)
    fx = ts.similarity_triangle(X).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    threads = ts.num_threads()
    try:
        ts.set_num_threads(1)
        one = ts.rsa(X, Y), ts.rsa(X, Y, method="spearman")
        ts.set_num_threads(max(2, threads))
        many = ts.rsa(X, Y), ts.rsa(X, Y, method="spearman")
    finally:
        ts.set_num_threads(threads)
    assert one[0].r == many[0].r and one[1].r == many[1].r
    assert one[0].r == pytest.approx(np.corrcoef(fx, fy)[0, 1], abs=1e-12)
    assert one[1].r == pytest.approx(scipy.stats.spearmanr(fx, fy).statistic, abs=1e-12)


def test_large_offset_keeps_precision():
    """Similarities with a large mean and tiny spread: naive float64 sums would cancel."""
    rng = np.random.default_rng(11)
    n = 400
    common = np.ones((n, 1), np.float32) * 50.0
    X = np.hstack([common, rng.standard_normal((n, 6)).astype(np.float32)])
    Y = np.hstack([common, X[:, 1:] + 0.5 * rng.standard_normal((n, 6)).astype(np.float32)])
    fx = ts.similarity_triangle(X).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    assert fx.std() < 1e-2 * fx.mean()
    assert ts.rsa(X, Y) == pytest.approx(np.corrcoef(fx, fy)[0, 1], abs=1e-10)


@pytest.mark.parametrize("similarity", ["cosine", "dot", "correlation"])
def test_similarity_options(similarity):
    rng = np.random.default_rng(2)
    X, Y = related(rng, 60, 7, 9)
    tx, ty = triangle64(X, similarity), triangle64(Y, similarity)
    res = ts.rsa(X, Y, similarity=similarity)
    assert res.similarity == similarity
    assert res == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=2e-6)
    np.testing.assert_allclose(ts.similarity_triangle(X, similarity=similarity), tx, atol=2e-5)
    sp = ts.rsa(X, Y, method="spearman", similarity=similarity)
    assert sp == pytest.approx(scipy.stats.spearmanr(tx, ty).statistic, abs=1e-4)


def test_zero_rows_have_cosine_zero(simd_level):
    rng = np.random.default_rng(4)
    X, Y = related(rng, 40, 5, 6)
    X[[3, 17]] = 0
    Y[25] = 0
    tx, ty = triangle64(X), triangle64(Y)  # reference also sets zero-row cosines to 0
    assert ts.rsa(X, Y) == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=2e-6)
    assert ts.rsa(X, Y, method="spearman") == pytest.approx(
        scipy.stats.spearmanr(tx, ty).statistic, abs=1e-5
    )
    tri = ts.similarity_triangle(X)
    iu = np.triu_indices(40, 1)
    assert np.all(tri[(iu[0] == 3) | (iu[1] == 3)] == 0)


def test_spaces_accepted():
    rng = np.random.default_rng(6)
    X, Y = related(rng, 30, 4, 4)
    a = ts.EmbeddingSpace(X, [f"w{i}" for i in range(30)])
    assert ts.rsa(a, Y) == pytest.approx(ts.rsa(X, Y).r, abs=1e-12)


def test_rotation_and_scale_invariance():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((200, 16)).astype(np.float32)
    Q = np.linalg.qr(rng.standard_normal((16, 16)))[0].astype(np.float32)
    scale = rng.uniform(0.5, 3, size=(200, 1)).astype(np.float32)
    assert ts.rsa(X, (X @ Q) * scale) == pytest.approx(1.0, abs=1e-6)
    assert ts.rsa(X, (X @ Q) * scale, method="spearman") == pytest.approx(1.0, abs=1e-3)


# bad input


def test_bad_input():
    rng = np.random.default_rng(1)
    X, Y = related(rng, 20, 4, 5)
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7"):
        ts.rsa(bad, Y)
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="row 7"):
        ts.rsa(X, bad, method="spearman")
    with pytest.raises(ValueError, match=r"20 items.*19"):
        ts.rsa(X, Y[:19])
    with pytest.raises(ValueError, match="at least 3 items"):
        ts.rsa(X[:2], Y[:2])
    with pytest.raises(ValueError, match="at least 3 items"):
        ts.rsa(X[:2], Y[:2], method="spearman")
    with pytest.raises(ValueError, match="empty"):
        ts.rsa(X[:0], Y[:0])
    with pytest.raises(ValueError, match="2-D"):
        ts.rsa(X[0], Y[0])
    with pytest.raises(TypeError, match="numeric"):
        ts.rsa(np.array([["a", "b"]] * 5), Y[:5])
    with pytest.raises(ValueError, match="method"):
        ts.rsa(X, Y, method="kendall")
    with pytest.raises(ValueError, match="similarity"):
        ts.rsa(X, Y, similarity="euclidean")
    with pytest.raises(ValueError, match="equal"):  # every item the same: constant triangle
        ts.rsa(np.ones((10, 3), np.float32), Y[:10])
    with pytest.raises(ValueError, match="equal"):
        ts.rsa(X[:10], np.zeros((10, 3), np.float32), method="spearman")
    with pytest.raises(ValueError, match="empty"):
        ts.rsa(np.zeros((10, 0), np.float32), Y[:10])
    with pytest.raises(ValueError, match="dimension 0"):
        _core.rsa_pearson(np.zeros((10, 0), np.float32), Y[:10])
    with pytest.raises(ValueError, match="at least 3 items"):
        _core.rsa_pearson(X[:2], Y[:2])
    with pytest.raises(ValueError, match="rows"):
        _core.rsa_spearman(X, Y[:5])


def test_result_is_a_float_with_fields():
    rng = np.random.default_rng(12)
    X, Y = related(rng, 50, 6, 6)
    res = ts.rsa(X, Y)
    assert isinstance(res, float) and float(res) == res.r
    assert res + 0 == res.r and abs(res - res.r) == 0
    assert "n_pairs=1225" in repr(res) and str(res) == repr(res.r)
    for clone in (pickle.loads(pickle.dumps(res)), copy.deepcopy(res)):
        assert clone.r == res.r and clone.n_pairs == res.n_pairs and clone.method == res.method
    sp = ts.rsa(X, Y, method="spearman")
    assert sp.pearson == pytest.approx(res.r, abs=1e-12)
    assert sp.cosine_of_triangles == pytest.approx(res.cosine_of_triangles, abs=1e-12)


# split half and model RSA


def test_split_half():
    rng = np.random.default_rng(13)
    X = (
        rng.standard_normal((80, 3)) @ rng.standard_normal((3, 11))
        + 0.5 * rng.standard_normal((80, 11))
    ).astype(np.float32)
    res = ts.rsa_split_half(X)
    ref = np.corrcoef(triangle64(X[:, 0::2]), triangle64(X[:, 1::2]))[0, 1]
    assert res == pytest.approx(ref, abs=2e-6)
    halves = ts.rsa_split_half(X, split="halves", method="spearman")
    ref = scipy.stats.spearmanr(triangle64(X[:, :5]), triangle64(X[:, 5:])).statistic
    assert halves == pytest.approx(ref, abs=1e-5)
    with pytest.raises(ValueError, match="2 dimensions"):
        ts.rsa_split_half(X[:, :1])
    with pytest.raises(ValueError, match="split"):
        ts.rsa_split_half(X, split="random")


def _two_models(rng):
    shared = [f"w{i}" for i in range(40)]
    va = rng.standard_normal((50, 6)).astype(np.float32)
    vb = rng.standard_normal((45, 9)).astype(np.float32)
    a = ts.EmbeddingSpace(va, shared[:30] + [f"a{i}" for i in range(10)] + shared[30:], name="A")
    b = ts.EmbeddingSpace(vb, [f"b{i}" for i in range(5)] + shared[::-1], name="B")
    return a, b, shared


def test_rsa_models_shared_vocabulary():
    rng = np.random.default_rng(14)
    a, b, _shared = _two_models(rng)
    res = ts.rsa_models(a, b)
    assert res.words == [w for w in a.vocab if w in b] and len(res.words) == 40
    X, Y = a[res.words], b[res.words]
    tx, ty = triangle64(X), triangle64(Y)
    assert res == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=2e-6)
    assert res.cosine_of_triangles == pytest.approx(
        tx @ ty / math.sqrt((tx @ tx) * (ty @ ty)), abs=2e-6
    )
    sub = ["w3", "w9", "w1", "w20"]
    got = ts.rsa_models(a, b, sub, method="spearman")
    assert got.words == sub
    assert got == pytest.approx(ts.rsa(a[sub], b[sub], method="spearman").r, abs=1e-12)
    dot = ts.rsa_models(a, b, sub, similarity="dot")
    assert dot == pytest.approx(
        np.corrcoef(triangle64(a[sub], "dot"), triangle64(b[sub], "dot"))[0, 1], abs=1e-5
    )


def test_rsa_models_bad_input():
    rng = np.random.default_rng(15)
    a, b, _ = _two_models(rng)
    with pytest.raises(KeyError, match=r"a3.*model b"):
        ts.rsa_models(a, b, ["w1", "w2", "a3"])
    with pytest.raises(ValueError, match="twice"):
        ts.rsa_models(a, b, ["w1", "w2", "w1"])
    with pytest.raises(ValueError, match="only 2 shared"):
        ts.rsa_models(a, b, ["w1", "w2"])
    with pytest.raises(TypeError, match="EmbeddingSpace"):
        ts.rsa_models(a.vectors, b)
    with pytest.raises(TypeError, match="one string"):
        ts.rsa_models(a, b, "w1")
    c = ts.EmbeddingSpace(np.ones((2, 3), np.float32), ["x", "y"])
    with pytest.raises(ValueError, match="only 0 shared"):
        ts.rsa_models(a, c)


# category selectivity


def _selectivity_reference(U, groups_ids):
    """Explicit loops over distinct pairs (float64)."""
    within, between = [], []
    lab = {i: g for g, ids in enumerate(groups_ids) for i in ids}
    ids = sorted(lab)
    for p, i in enumerate(ids):
        for j in ids[p + 1 :]:
            (within if lab[i] == lab[j] else between).append(U[i] @ U[j])
    return np.mean(within), np.mean(between), len(within), len(between)


def test_category_selectivity_matches_loops():
    rng = np.random.default_rng(16)
    centers = rng.standard_normal((3, 8))
    V = np.vstack([c + 0.6 * rng.standard_normal((n, 8)) for c, n in zip(centers, (5, 7, 4))])
    V = np.vstack([V, rng.standard_normal((6, 8))]).astype(np.float32)  # 6 words in no group
    vocab = [f"t{i}" for i in range(len(V))]
    s = ts.EmbeddingSpace(V, vocab)
    groups = {"a": vocab[0:5], "b": vocab[5:12], "c": vocab[12:16]}
    res = ts.category_selectivity(s, groups)
    w, b, nw, nb = _selectivity_reference(unit64(V), [range(5), range(5, 12), range(12, 16)])
    assert res.within == pytest.approx(w, abs=1e-6)
    assert res.between == pytest.approx(b, abs=1e-6)
    assert res.ratio == pytest.approx(w / b, rel=1e-5)
    assert (res.n_within_pairs, res.n_between_pairs) == (nw, nb)
    assert res.groups == ["a", "b", "c"] and res.sizes.tolist() == [5, 7, 4]
    U = unit64(V)
    ga = U[0:5] @ U[0:5].T
    assert res.group_means[0, 0] == pytest.approx((ga.sum() - np.trace(ga)) / 20, abs=1e-6)
    assert res.group_means[0, 1] == pytest.approx((U[0:5] @ U[5:12].T).mean(), abs=1e-6)
    out = np.vstack([U[5:16]])
    assert res.group_ratio[0] == pytest.approx(
        res.group_means[0, 0] / (U[0:5] @ out.T).mean(), rel=1e-5
    )
    # same numbers from an array with row ids, and with tiny chunks
    arr = ts.category_selectivity(
        V, {"a": list(range(5)), "b": list(range(5, 12)), "c": list(range(12, 16))}, chunk_rows=3
    )
    assert arr.within == pytest.approx(res.within, abs=1e-12)
    assert arr.between == pytest.approx(res.between, abs=1e-12)


def test_category_selectivity_excludes_diagonal():
    V = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    s = ts.EmbeddingSpace(V, ["a1", "a2", "b1", "b2"])
    res = ts.category_selectivity(s, {"a": ["a1", "a2"], "b": ["b1", "b2"]})
    assert res.within == pytest.approx(1.0) and res.between == pytest.approx(0.0)
    assert math.isnan(res.ratio)  # between is 0: ratio undefined


def test_category_selectivity_bad_input():
    V = np.eye(5, dtype=np.float32)
    s = ts.EmbeddingSpace(V, list("abcde"))
    with pytest.raises(ValueError, match="at least 2 groups"):
        ts.category_selectivity(s, {"x": ["a", "b"]})
    with pytest.raises(ValueError, match="at least 2"):
        ts.category_selectivity(s, {"x": ["a", "b"], "y": ["c"]})
    with pytest.raises(ValueError, match="one group only"):
        ts.category_selectivity(s, {"x": ["a", "b"], "y": ["b", "c"]})
    with pytest.raises(KeyError, match="zz"):
        ts.category_selectivity(s, {"x": ["a", "zz"], "y": ["c", "d"]})
    with pytest.raises(TypeError, match="mapping"):
        ts.category_selectivity(s, [["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match="row ids"):
        ts.category_selectivity(V, {"x": ["a", "b"], "y": ["c", "d"]})
    with pytest.raises(IndexError, match="out of range"):
        ts.category_selectivity(V, {"x": [0, 1], "y": [2, 9]})


# real data


def _average_ranks(v: np.ndarray) -> np.ndarray:
    """scipy.stats.rankdata(v) (ties averaged), through one np.unique sort: much faster."""
    _, inv, cnt = np.unique(v, return_inverse=True, return_counts=True)
    return (np.cumsum(cnt) - (cnt - 1) / 2.0)[inv]


def _blocked_triangle64(U64: np.ndarray, block: int = 1000) -> np.ndarray:
    """float64 upper triangle in row blocks (never one big BLAS call on this CPU)."""
    n = len(U64)
    parts = []
    for start in range(0, n, block):
        S = U64[start : start + block] @ U64.T
        parts.extend(S[r, start + r + 1 :] for r in range(S.shape[0]))
    return np.concatenate(parts)


@pytest.mark.slow
def test_minilm_5000_against_numpy():
    s = ts.load("minilm-l6")
    n = 5000
    # The last 5000 rows are ordinary word pieces (the first ones are [unused] slots).
    U = np.ascontiguousarray(s.unit_vectors[-n:])
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((U.shape[1], U.shape[1])))[0].astype(np.float32)
    # U @ Q through the tokenspace GEMM (numpy's OpenBLAS is unreliable on this CPU)
    Y = _core.gram(U, np.ascontiguousarray(Q.T)) + 0.02 * rng.standard_normal(U.shape).astype(
        np.float32
    )
    tx = _blocked_triangle64(U.astype(np.float64))
    ty = _blocked_triangle64(unit64(Y))
    res = ts.rsa(U, Y)
    assert res.n_pairs == len(tx) == n * (n - 1) // 2
    assert res == pytest.approx(np.corrcoef(tx, ty)[0, 1], abs=1e-6)
    assert res.cosine_of_triangles == pytest.approx(
        tx @ ty / math.sqrt((tx @ tx) * (ty @ ty)), abs=1e-6
    )
    fx = ts.similarity_triangle(U).astype(np.float64)
    fy = ts.similarity_triangle(Y).astype(np.float64)
    np.testing.assert_allclose(fx, tx, atol=1e-6)
    assert res == pytest.approx(np.corrcoef(fx, fy)[0, 1], abs=1e-12)
    # Spearman: exact on the float32 similarities it ranks (ties averaged like rankdata).
    sp = ts.rsa(U, Y, method="spearman")
    assert sp == pytest.approx(np.corrcoef(_average_ranks(fx), _average_ranks(fy))[0, 1], abs=1e-12)
    V = s.vectors[-n:]
    half = ts.rsa_split_half(V)
    assert half.r == ts.rsa(np.ascontiguousarray(V[:, 0::2]), np.ascontiguousarray(V[:, 1::2])).r
    assert 0 < half.r < 1


def test_spearman_refuses_what_cannot_fit(monkeypatch):
    import sys

    mod = sys.modules[
        "tokenspace.analysis.rsa"
    ]  # ts.rsa is the function, the module shares its name
    X = np.random.default_rng(0).standard_normal((200, 3)).astype(np.float32)
    monkeypatch.setattr(mod, "_available_bytes", lambda: 1000)
    with pytest.raises(MemoryError, match=r"needs about .* GB"):
        ts.rsa(X, X, method="spearman")
    assert ts.rsa(X, X) == pytest.approx(1.0)  # Pearson streams: no such limit
    with pytest.raises(ValueError, match="65536"):
        big = np.zeros((70000, 1), np.float32)
        ts.rsa(big, big, method="spearman")
