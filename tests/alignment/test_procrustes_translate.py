"""Alignment kernels and API against float64 numpy references and scipy."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core
from tokenspace.alignment.csls import csls_mutual_pairs, csls_topk, mean_topk_similarity
from tokenspace.alignment.translate import retrieve


def rng_matrix(seed, n, d):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def polar64(M):
    u, _, vt = np.linalg.svd(M, full_matrices=False)
    return u @ vt


# kernels


@pytest.mark.parametrize(
    "shape", [(1, 1, 1), (7, 3, 5), (513, 50, 384), (1100, 384, 384), (40, 13, 2)]
)
def test_cross_gram_matches_float64(simd_level, shape):
    n, d1, d2 = shape
    X, Y = rng_matrix(1, n, d1), rng_matrix(2, n, d2)
    mx, my = X.mean(0), Y.mean(0)
    M, sxx, syy = _core.cross_gram(X, Y, mx, my)
    Xc, Yc = X.astype(np.float64) - mx, Y.astype(np.float64) - my
    ref = Xc.T @ Yc
    np.testing.assert_allclose(M, ref, rtol=0, atol=1e-5 * max(1.0, np.abs(ref).max()))
    assert sxx == pytest.approx((Xc**2).sum(), rel=1e-6)
    assert syy == pytest.approx((Yc**2).sum(), rel=1e-6)
    M0 = _core.cross_gram(X, Y)[0]
    tol = 1e-5 * max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(M0, X.astype(np.float64).T @ Y, atol=tol)


def test_column_means():
    X = rng_matrix(3, 5000, 7) + 3
    np.testing.assert_allclose(_core.column_means(X), X.astype(np.float64).mean(0), rtol=1e-6)


@pytest.mark.parametrize("beta", [1.0, 10.0, 30.0])
def test_softmax_log_normalizer_matches_float64(simd_level, beta):
    T = unit(rng_matrix(4, 37, 16)).astype(np.float32)
    S = unit(rng_matrix(5, 1001, 16)).astype(np.float32)
    got = _core.softmax_log_normalizer(T, S, beta)
    C = T.astype(np.float64) @ S.astype(np.float64).T
    top = C.max(1)
    ref = beta * top + np.log(np.exp(beta * (C - top[:, None])).sum(1))
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5 * beta)


def test_softmax_log_normalizer_underflow_rows_use_shift():
    # beta large and all sources far from the target: exp(beta (c - 1)) underflows
    T = np.array([[1.0, 0.0]], dtype=np.float32)
    S = np.array([[-0.6, 0.8], [-0.8, 0.6]], dtype=np.float32)
    assert np.isneginf(_core.softmax_log_normalizer(T, S, 200.0)[0])
    got = _core.softmax_log_normalizer(T, S, 200.0, np.array([-0.6], dtype=np.float32))[0]
    C = np.array([-0.6, -0.8])
    assert got == pytest.approx(200 * -0.6 + np.log(np.exp(200 * (C + 0.6)).sum()), abs=1e-4)


def test_kernel_input_errors():
    with pytest.raises(ValueError, match="rows"):
        _core.cross_gram(np.ones((3, 2), np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="x_shift"):
        _core.cross_gram(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32), np.ones(5))
    with pytest.raises(ValueError, match="beta"):
        _core.softmax_log_normalizer(np.ones((1, 2), np.float32), np.ones((1, 2), np.float32), -1.0)
    with pytest.raises(ValueError, match="empty"):
        _core.softmax_log_normalizer(np.ones((1, 2), np.float32), np.ones((0, 2), np.float32), 1.0)


# procrustes / linear map


@pytest.mark.parametrize("n,d", [(50, 3), (400, 20), (2000, 64)])
def test_procrustes_matches_scipy(simd_level, n, d):
    from scipy.linalg import orthogonal_procrustes

    X, Y = rng_matrix(6, n, d), rng_matrix(7, n, d)
    ali = ts.procrustes(X, Y)
    R, _ = orthogonal_procrustes(X.astype(np.float64), Y.astype(np.float64))
    np.testing.assert_allclose(ali.W, R, atol=1e-5)
    np.testing.assert_allclose(ali.W.T @ ali.W, np.eye(d), atol=1e-10)
    res = np.linalg.norm(X.astype(np.float64) @ R - Y)
    assert ali.residual == pytest.approx(res, rel=1e-5)


def _rotated(seed, n, d, col_scale=None, noise=0.01):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if col_scale is not None:
        X *= col_scale
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    Y = X @ Q + noise * rng.standard_normal((n, d)) * (X.std(0) if col_scale is not None else 1)
    return X.astype(np.float32), Y.astype(np.float32)


@pytest.mark.parametrize("center", [False, True])
def test_procrustes_keeps_the_float32_cross_gram_when_it_is_enough(simd_level, center):
    from scipy.linalg import orthogonal_procrustes

    from tokenspace.alignment.procrustes import _column_shifts, _fit_polar

    X, Y = _rotated(11, 5000, 48)
    X += 3  # an offset for the centred case to remove
    _, _, sx, sy = _column_shifts(X, Y, center)
    *_, used_float64 = _fit_polar(X, Y, sx, sy)
    assert not used_float64
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    if center:
        X64, Y64 = X64 - X64.mean(0), Y64 - Y64.mean(0)
    np.testing.assert_allclose(
        ts.procrustes(X, Y, center=center).W, orthogonal_procrustes(X64, Y64)[0], atol=1e-5
    )


def test_procrustes_falls_back_to_float64_where_float32_would_miss(simd_level):
    # Columns spread over five decades: cond(X^T Y) ~ 1e10, and the float32 cross-Gram's
    # rounding moves W by far more than 1e-5; the error estimate must see it and refit in
    # float64.
    from scipy.linalg import orthogonal_procrustes

    from tokenspace.alignment.procrustes import _fit_polar, _polar

    X, Y = _rotated(12, 3000, 24, col_scale=np.geomspace(1, 1e-5, 24))
    ref = orthogonal_procrustes(X.astype(np.float64), Y.astype(np.float64))[0]
    w32 = _polar(_core.cross_gram(X, Y)[0])[0]
    assert np.abs(w32 - ref).max() > 1e-5  # float32 products alone do miss here
    *_, W, _, used_float64 = _fit_polar(X, Y, None, None)
    assert used_float64
    np.testing.assert_allclose(W, ref, atol=1e-5)
    np.testing.assert_allclose(ts.procrustes(X, Y).W, ref, atol=1e-5)


def test_procrustes_recovers_rotation_exactly():
    rng = np.random.default_rng(8)
    X = rng_matrix(8, 300, 10)
    Q = np.linalg.qr(rng.standard_normal((10, 10)))[0]
    ali = ts.procrustes(X, (X @ Q).astype(np.float32))
    np.testing.assert_allclose(ali.W, Q, atol=1e-5)
    assert ali.residual < 1e-3


@pytest.mark.parametrize("d1,d2", [(5, 12), (12, 5)])
@pytest.mark.parametrize("scale,center", [(False, False), (True, False), (True, True)])
def test_procrustes_semi_orthogonal_scale_center(d1, d2, scale, center):
    X, Y = rng_matrix(9, 200, d1), rng_matrix(10, 200, d2) + 2.0
    ali = ts.procrustes(X, Y, scale=scale, center=center)
    Xc = X.astype(np.float64) - (X.mean(0) if center else 0)
    Yc = Y.astype(np.float64) - (Y.mean(0) if center else 0)
    W = polar64(Xc.T @ Yc)
    np.testing.assert_allclose(ali.W, W, atol=1e-5)
    small = min(d1, d2)
    gram = ali.W @ ali.W.T if d1 < d2 else ali.W.T @ ali.W
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-10)
    s = 1.0
    if scale:
        s = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum() / np.linalg.norm(Xc @ W) ** 2
    assert ali.scale == pytest.approx(s, rel=1e-6)
    pred = s * (X.astype(np.float64) @ W)
    if center:
        pred += Y.mean(0) - s * (X.mean(0) @ W)
    np.testing.assert_allclose(ali.transform(X), pred, atol=1e-4)
    assert ali.residual == pytest.approx(np.linalg.norm(pred - Y), rel=1e-5)


def test_procrustes_rank_deficient_uses_svd():
    X = np.zeros((20, 4), np.float32)
    X[:, 0] = np.arange(20)
    Y = rng_matrix(11, 20, 4)
    ali = ts.procrustes(X, Y)
    np.testing.assert_allclose(ali.W.T @ ali.W, np.eye(4), atol=1e-8)
    M = X.astype(np.float64).T @ Y
    # any polar factor maximises tr(W^T M) = sum of singular values
    sv_sum = np.linalg.svd(M, compute_uv=False).sum()
    assert np.trace(ali.W.T @ M) == pytest.approx(sv_sum, rel=1e-6)


@pytest.mark.parametrize("ridge", [0.0, 3.0])
def test_linear_map_matches_normal_equations(ridge):
    X, Y = rng_matrix(12, 300, 8), rng_matrix(13, 300, 6)
    ali = ts.linear_map(X, Y, ridge=ridge)
    X64 = X.astype(np.float64)
    W = np.linalg.solve(X64.T @ X64 + ridge * np.eye(8), X64.T @ Y)
    np.testing.assert_allclose(ali.W, W, atol=1e-6)
    assert ali.residual == pytest.approx(np.linalg.norm(X64 @ W - Y), rel=1e-5)


def test_procrustes_bad_input():
    X = rng_matrix(14, 10, 3)
    with pytest.raises(ValueError, match="rows"):
        ts.procrustes(X, X[:5])
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ts.procrustes(bad, X)
    # procrustes checks finiteness in the cross-Gram's own pass: the errors still name the row
    with pytest.raises(ValueError, match="X row 2 contains NaN"):
        ts.procrustes(bad, X, center=True)
    inf = X.copy()
    inf[7, 0] = np.inf
    with pytest.raises(ValueError, match="Y row 7 contains NaN or Inf"):
        ts.procrustes(X, inf, scale=True)
    with pytest.raises(ValueError, match="empty"):
        ts.procrustes(X[:0], X[:0])
    with pytest.raises(TypeError):
        ts.procrustes(np.array([["a"]]), X)
    with pytest.raises(ValueError, match="zero"):
        ts.procrustes(np.zeros((4, 3)), X[:4])
    with pytest.raises(ValueError, match="ridge"):
        ts.linear_map(X, X, ridge=-1)
    ali = ts.procrustes(X, X)
    with pytest.raises(ValueError, match="dimension"):
        ali.transform(np.ones((2, 5)))


# spaces: align / translate


def toy_spaces(n=400, d=16, noise=0.02, seed=20):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)).astype(np.float32)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    B = (A @ Q + noise * rng.standard_normal((n, d))).astype(np.float32)
    words = [f"w{i}" for i in range(n)]
    return ts.EmbeddingSpace(A, words, name="a"), ts.EmbeddingSpace(B, words, name="b"), Q


def test_normalize_steps():
    a, _, _ = toy_spaces()
    for spec in ("unit", "center", "unit,center,unit", "iterative", None, ["unit", "center"]):
        ali = ts.align(a, a, normalize=spec)
        np.testing.assert_allclose(ali.W, np.eye(a.dim), atol=1e-5)
    norm = ts.align(a, a, normalize="iterative").source_norm
    Z = norm.apply(np.asarray(a.vectors))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    assert np.abs(Z.mean(0)).max() < 1e-2  # iterative normalisation: unit length and ~centred
    with pytest.raises(ValueError, match="normalisation"):
        ts.align(a, a, normalize="whiten")


def test_align_recovers_rotation_and_translates():
    a, b, Q = toy_spaces()
    ali = ts.align(a, b, anchors=[f"w{i}" for i in range(200)], normalize=None)
    np.testing.assert_allclose(ali.W, Q, atol=0.01)
    assert ali.n_pairs == 200 and ali.anchors[0] == ("w0", "w0")
    for r in ("nn", "csls", "isf"):
        acc = ts.translation_accuracy(
            a, b, [(f"w{i}", f"w{i}") for i in range(200, 400)], ali, retrieval=r, ks=(1, 5)
        )
        assert acc.precision[1] == 1.0 and acc.n_queries == 200 and acc.n_oov == 0
    tr = ts.translate(a, b, ["w300", "w301"], ali, k=3, retrieval="csls")
    assert tr.best == {"w300": "w300", "w301": "w301"}
    assert tr.indices.shape == (2, 3) and tr[0][0][0] == "w300"


def test_translate_with_plain_procrustes_alignment():
    a, b, _Q = toy_spaces()
    ali = ts.procrustes(a.vectors, b.vectors)
    tr = ts.translate(a, b, ["w5", "w6"], ali, k=2, retrieval="isf", beta=10.0)
    assert tr.best == {"w5": "w5", "w6": "w6"}
    assert (np.diff(tr.scores, axis=1) <= 0).all()


def test_refinement_from_few_anchors():
    a, b, Q = toy_spaces(noise=0.01)
    ali = ts.align(
        a, b, anchors=[f"w{i}" for i in range(0, 400, 16)], normalize="unit", n_refinement=2
    )
    assert [h["round"] for h in ali.history] == [0, 1, 2]
    assert ali.history[-1]["n_pairs"] > 300
    np.testing.assert_allclose(ali.W, Q, atol=0.02)


def test_align_errors():
    a, b, _ = toy_spaces()
    with pytest.raises(KeyError, match="missing"):
        ts.align(a, b, anchors=[("w1", "w1"), ("nope", "w2")])
    with pytest.raises(ValueError, match="share no"):
        ts.align(a, ts.EmbeddingSpace(np.ones((2, 16), np.float32), ["x", "y"]))
    with pytest.raises(TypeError):
        ts.align(np.ones((3, 3)), b)
    ali = ts.align(a, b)
    with pytest.raises(KeyError, match="unknown"):
        ts.translate(a, b, ["unknown"], ali)
    with pytest.raises(ValueError, match="retrieval"):
        ts.translate(a, b, ["w1"], ali, retrieval="mnn")
    with pytest.raises(ValueError, match="k="):
        ts.translate(a, b, ["w1"], ali, k=10_000)
    with pytest.raises(ValueError, match="order"):
        ts.translate(a, ts.EmbeddingSpace(np.ones((2, 3), np.float32), ["w1", "y"]), ["w1"], ali)
    with pytest.raises(ValueError, match="none of"):
        ts.translation_accuracy(a, b, [("zz", "w1")], ali)


def csls_reference(Q, T, S, k, knn):
    """Float64 MUSE formula: 2 cos - r_T(x) - r_S(y) over full matrices."""
    Q, T, S = (np.asarray(m, dtype=np.float64) for m in (Q, T, S))
    r_s = np.sort(T @ S.T, axis=1)[:, -knn:].mean(1)
    r_t = np.sort(Q @ T.T, axis=1)[:, -knn:].mean(1)
    return 2 * Q @ T.T - r_t[:, None] - r_s[None, :]


def isf_reference(Q, T, S, beta):
    Q, T, S = (np.asarray(m, dtype=np.float64) for m in (Q, T, S))
    C = T @ S.T
    top = C.max(1)
    log_z = beta * top + np.log(np.exp(beta * (C - top[:, None])).sum(1))
    return beta * (Q @ T.T) - log_z[None, :]


@pytest.mark.parametrize("retrieval", ["csls", "isf"])
def test_retrieval_matches_float64_reference(simd_level, retrieval):
    Q = unit(rng_matrix(30, 25, 12)).astype(np.float32)
    T = unit(rng_matrix(31, 300, 12)).astype(np.float32)
    S = unit(rng_matrix(32, 200, 12)).astype(np.float32)
    idx, sc = retrieve(Q, T, S, 5, retrieval=retrieval, csls_k=7, beta=10.0)
    ref = csls_reference(Q, T, S, 5, 7) if retrieval == "csls" else isf_reference(Q, T, S, 10.0)
    order = np.argsort(-ref, axis=1, kind="stable")[:, :5]
    top_ref = np.take_along_axis(ref, order, 1)
    np.testing.assert_allclose(sc, top_ref, atol=1e-4)
    # ids agree except where the reference itself has a near-tie
    got_ref = np.take_along_axis(ref, idx, 1)
    np.testing.assert_allclose(got_ref, top_ref, atol=1e-4)


def test_reduced_dimension_path_equals_direct():
    # d1 + 1 < d2 takes the (d1 + 1)-dim route: same scores as mapping explicitly
    rng = np.random.default_rng(40)
    A = rng.standard_normal((300, 6)).astype(np.float32)
    B = rng.standard_normal((250, 20)).astype(np.float32)
    a = ts.EmbeddingSpace(A, [f"a{i}" for i in range(300)])
    b = ts.EmbeddingSpace(B, [f"b{i}" for i in range(250)])
    anchors = [(f"a{i}", f"b{i}") for i in range(250)]
    for center in (False, True):
        ali = ts.align(a, b, anchors, normalize="unit", center=center, scale=True)
        words = [f"a{i}" for i in range(0, 300, 7)]
        mapped = unit(ali.transform(a[words]))
        S = unit(ali.transform(A))
        T = unit(ali.target_norm.apply(B))
        for r in ("nn", "csls", "isf"):
            tr = ts.translate(a, b, words, ali, k=4, retrieval=r)
            if r == "nn":
                ref = mapped @ T.T
            elif r == "csls":
                ref = csls_reference(mapped, T, S, 4, 10)
            else:
                ref = isf_reference(mapped, T, S, 30.0)
            np.testing.assert_allclose(tr.scores, -np.sort(-ref, axis=1)[:, :4], atol=2e-4)


def test_csls_mutual_pairs_reference():
    S = unit(rng_matrix(50, 120, 8)).astype(np.float32)
    T = unit(S[:100] + 0.05 * rng_matrix(51, 100, 8)).astype(np.float32)
    pairs = csls_mutual_pairs(S, T, max_rank=80, k=5)
    r_s = np.sort(T.astype(np.float64) @ S.T, axis=1)[:, -5:].mean(1)
    r_t = np.sort(S.astype(np.float64) @ T.T, axis=1)[:, -5:].mean(1)
    C = 2 * S.astype(np.float64) @ T.T - r_t[:, None] - r_s[None, :]
    fwd = C[:80].argmax(1)
    bwd = C[:, :80].argmax(0)
    ref = {(i, int(fwd[i])) for i in range(80) if fwd[i] < 80 and bwd[fwd[i]] == i}
    assert {tuple(p) for p in pairs.tolist()} == ref
    assert len(ref) > 50


def test_csls_is_one_computation_for_translation_and_refinement(simd_level):
    # translate's retrieval and align's mutual pairs both rank with csls_topk over the same
    # densities; the densities are the float64 mean of the exact top-k inner products
    Q = unit(rng_matrix(33, 40, 10)).astype(np.float32)
    T = unit(rng_matrix(34, 150, 10)).astype(np.float32)
    S = unit(rng_matrix(35, 120, 10)).astype(np.float32)
    r_s = mean_topk_similarity(T, S, 6)
    np.testing.assert_allclose(
        r_s, np.sort(T.astype(np.float64) @ S.T, axis=1)[:, -6:].mean(1), atol=1e-6
    )
    r_t = mean_topk_similarity(Q, T, 6)
    direct = csls_topk(Q, T, 4, query_density=r_t, base_density=r_s)
    via_translate = retrieve(Q, T, S, 4, retrieval="csls", csls_k=6)
    for got, want in zip(via_translate, direct):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="rows to average over"):
        mean_topk_similarity(Q, T[:3], 6)


# stability


def test_stability_on_rotated_copies():
    rng = np.random.default_rng(60)
    E = rng.standard_normal((200, 12)).astype(np.float32)
    runs = []
    for s in range(3):
        Q = np.linalg.qr(rng.standard_normal((12, 12)))[0]
        runs.append(
            ts.EmbeddingSpace(
                (E @ Q).astype(np.float32), [f"w{i}" for i in range(200)], name=f"r{s}"
            )
        )
    rep = ts.stability(runs, k=5)
    off = ~np.eye(3, dtype=bool)
    assert (rep.frobenius_raw[off] > 10).all()
    assert rep.frobenius_aligned[off].max() < 1e-3
    np.testing.assert_allclose(rep.mean_cosine, 1, atol=1e-5)
    np.testing.assert_allclose(rep.knn_overlap, 1)
    np.testing.assert_allclose(rep.word_cosine, 1, atol=1e-5)
    ref = np.linalg.svd(E - E.mean(0), compute_uv=False)
    for sp in rep.spectra:
        np.testing.assert_allclose(sp, ref, rtol=1e-4)
    assert "runs 3" in rep.summary()


def test_stability_overlap_matches_reference():
    a = rng_matrix(61, 150, 8)
    b = (a + 0.5 * rng_matrix(62, 150, 8)).astype(np.float32)
    rep = ts.stability([a, b], k=4)

    def knn_sets(X):
        U = unit(X)
        C = U @ U.T
        np.fill_diagonal(C, -np.inf)
        return [set(np.argsort(-C[i], kind="stable")[:4].tolist()) for i in range(len(X))]

    sa, sb = knn_sets(a), knn_sets(b)
    jac = np.array([len(x & y) / len(x | y) for x, y in zip(sa, sb)])
    np.testing.assert_allclose(rep.word_overlap, jac)
    assert rep.knn_overlap[0, 1] == pytest.approx(jac.mean())
    W = polar64(a.astype(np.float64).T @ b)
    cos = (unit(a @ W) * unit(b)).sum(1)
    np.testing.assert_allclose(rep.word_cosine, cos, atol=1e-5)
    raw = np.linalg.norm(a.astype(np.float64) - b)
    assert rep.frobenius_raw[0, 1] == pytest.approx(raw, rel=1e-6)


def test_stability_errors():
    a = rng_matrix(63, 10, 3)
    with pytest.raises(ValueError, match="two runs"):
        ts.stability([a])
    with pytest.raises(ValueError, match="k="):
        ts.stability([a, a], k=10)
    with pytest.raises(ValueError, match="rows"):
        ts.stability([a, a[:5]])
    s1 = ts.EmbeddingSpace(a, [f"w{i}" for i in range(10)])
    with pytest.raises(KeyError, match="missing"):
        ts.stability([s1, s1], anchors=["w1", "zz"])


@pytest.mark.parametrize("scale", [1e-25, 1e19])
@pytest.mark.parametrize("center", [False, True])
def test_procrustes_and_linear_map_at_extreme_float32_scales(simd_level, scale, center):
    # float32 products of such entries underflow to 0 or overflow to Inf: the fits must still
    # give the float64 answer (scipy does), not "X^T Y is zero", W = 0 or NaN.
    from scipy.linalg import orthogonal_procrustes

    rng = np.random.default_rng(7)
    X = rng.standard_normal((600, 24))
    Q = np.linalg.qr(rng.standard_normal((24, 24)))[0]
    Y = X @ Q + 0.05 * rng.standard_normal((600, 24)) + (3.0 if center else 0.0)
    Xs, Ys = (X * scale).astype(np.float32), (Y * scale).astype(np.float32)
    x, y = Xs.astype(np.float64), Ys.astype(np.float64)
    if center:
        x, y = x - x.mean(0), y - y.mean(0)
    W_ref = polar64(x.T @ y)
    ali = ts.procrustes(Xs, Ys, center=center)
    np.testing.assert_allclose(ali.W, W_ref, atol=1e-5)
    if not center:
        W_scipy = orthogonal_procrustes(Xs.astype(np.float64), Ys.astype(np.float64))[0]
        np.testing.assert_allclose(ali.W, W_scipy, atol=1e-5)
    res_ref = np.linalg.norm(x @ W_ref - y)
    np.testing.assert_allclose(ali.residual, res_ref, rtol=1e-3)
    L_ref = np.linalg.lstsq(x, y, rcond=None)[0]
    lin = ts.linear_map(Xs, Ys, center=center)
    np.testing.assert_allclose(lin.W, L_ref, atol=1e-4)
    np.testing.assert_allclose(lin.residual, np.linalg.norm(x @ L_ref - y), rtol=1e-3)
