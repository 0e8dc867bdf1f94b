"""RSA inference and comparators against rsatoolbox 0.3.2 and float64 numpy references."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats

import tokenspace as ts
from tokenspace import _kernels

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.inference import eval_bootstrap_pattern  # noqa: E402
from rsatoolbox.model import ModelFixed  # noqa: E402
from rsatoolbox.rdm import RDMs, calc_rdm, compare  # noqa: E402
from rsatoolbox.rdm.rdms import permute_rdms  # noqa: E402
from rsatoolbox.util.inference_util import zero_tests  # noqa: E402

METHODS = {
    "pearson": "corr",
    "spearman": "spearman",
    "rho_a": "rho-a",
    "tau_a": "tau-a",
    "tau_b": "kendall",
    "cosine": "cosine",
}
RSA_DIS = {"correlation": "correlation", "sqeuclidean": "euclidean", "cosine": None}


def _data(rng, n=40, noise=2.0):
    X = rng.standard_normal((n, 10)).astype(np.float32)
    Y = (X @ rng.standard_normal((10, 12)) + noise * rng.standard_normal((n, 12))).astype(
        np.float32
    )
    return X, Y


def _rdm(A, dissimilarity):
    A = A.astype(np.float64)
    n = A.shape[0]
    if dissimilarity == "cosine":  # rsatoolbox has no cosine RDM: 1 - cosine by hand
        U = A / np.linalg.norm(A, axis=1, keepdims=True)
        vec = (1 - U @ U.T)[np.triu_indices(n, 1)]
    else:
        vec = calc_rdm(Dataset(A), method=RSA_DIS[dissimilarity]).get_vectors()[0]
    return RDMs(vec[None, :], pattern_descriptors={"index": list(range(n))})


@pytest.mark.parametrize("dissimilarity", ["correlation", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("method", list(METHODS))
def test_comparators_equal_rsatoolbox(rng, method, dissimilarity):
    X, Y = _data(rng)
    ref = compare(_rdm(X, dissimilarity), _rdm(Y, dissimilarity), method=METHODS[method])[0, 0]
    res = ts.rsa(X, Y, method=method, dissimilarity=dissimilarity)
    # Pearson/Spearman on 1 - cosine/correlation run on the streamed float32 kernels
    streamed = method in ("pearson", "spearman") and dissimilarity != "sqeuclidean"
    tol = 1e-6 if streamed and method == "pearson" else 1e-9
    assert abs(float(res) - ref) < tol
    assert isinstance(res, float)


def test_ties_tau_and_rho_a_equal_rsatoolbox(rng):
    # integer coordinates give many tied dissimilarities: tau_a and tau_b then differ
    X = rng.integers(0, 3, size=(30, 4)).astype(np.float32)
    Y = rng.integers(0, 3, size=(30, 4)).astype(np.float32)
    for method in ("tau_a", "tau_b", "rho_a", "spearman"):
        ref = compare(_rdm(X, "sqeuclidean"), _rdm(Y, "sqeuclidean"), method=METHODS[method])
        res = ts.rsa(X, Y, method=method, dissimilarity="sqeuclidean")
        assert abs(float(res) - ref[0, 0]) < 1e-9
    a = ts.rsa(X, Y, method="tau_a", dissimilarity="sqeuclidean")
    b = ts.rsa(X, Y, method="tau_b", dissimilarity="sqeuclidean")
    assert abs(a) < abs(b)


def test_euclidean_dissimilarity_matches_pdist(rng):
    X, Y = _data(rng, n=30)
    tx = scipy.spatial.distance.pdist(X.astype(np.float64))
    ty = scipy.spatial.distance.pdist(Y.astype(np.float64))
    for method, ref in (
        ("pearson", np.corrcoef(tx, ty)[0, 1]),
        ("spearman", scipy.stats.spearmanr(tx, ty).statistic),
        ("cosine", tx @ ty / np.linalg.norm(tx) / np.linalg.norm(ty)),
    ):
        assert abs(ts.rsa(X, Y, method=method, dissimilarity="euclidean") - ref) < 1e-9


@pytest.mark.parametrize("method", ["pearson", "spearman", "rho_a", "cosine", "tau_a"])
def test_permutation_null_equals_rsatoolbox(rng, method):
    X, Y = _data(rng)
    rx, ry = _rdm(X, "correlation"), _rdm(Y, "correlation")
    res = ts.rsa(X, Y, method=method, dissimilarity="correlation", permutations=60, seed=5)
    np.random.seed(5)
    null = np.array(
        [
            compare(rx, permute_rdms(ry, np.random.permutation(40)), method=METHODS[method])[0, 0]
            for _ in range(60)
        ]
    )
    tol = 1e-6 if method == "pearson" else 1e-12  # pearson: streamed float32 cross products
    assert np.abs(res.null - null).max() < tol
    obs = compare(rx, ry, method=METHODS[method])[0, 0]
    assert res.p_value == pytest.approx((1 + np.sum(null >= obs)) / 61)


@pytest.mark.parametrize("method", ["pearson", "spearman", "rho_a", "cosine", "tau_b"])
def test_bootstrap_equals_rsatoolbox(rng, method):
    X, Y = _data(rng, n=30)
    rx, ry = _rdm(X, "correlation"), _rdm(Y, "correlation")
    res = ts.rsa(X, Y, method=method, dissimilarity="correlation", bootstrap=50, seed=11)
    np.random.seed(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rsatoolbox's tqdm / noise-ceiling notes
        ref = eval_bootstrap_pattern(
            ModelFixed("x", rx), ry, method=METHODS[method], N=50, boot_noise_ceil=False
        )
    ev = ref.evaluations[:, 0]
    tol = 1e-6 if method == "pearson" else 1e-12
    assert np.nanmax(np.abs(res.boot - ev)) < tol
    lo, hi = ref.get_ci(0.95, "bootstrap")
    assert res.ci == pytest.approx((lo[0], hi[0]), abs=tol)
    assert res.confidence == 0.95
    assert res.p_bootstrap == pytest.approx(zero_tests(ref.evaluations, "bootstrap")[0])


def test_monte_carlo_agreement_other_seeds(rng):
    # Independent streams (tokenspace seed 1, rsatoolbox seed 2): p-values and interval
    # ends agree within Monte Carlo error.
    X, Y = _data(rng, n=30, noise=6.0)
    rx, ry = _rdm(X, "correlation"), _rdm(Y, "correlation")
    P = 400
    res = ts.rsa(X, Y, method="spearman", dissimilarity="correlation", permutations=P, seed=1)
    np.random.seed(2)
    null = np.array(
        [
            compare(rx, permute_rdms(ry, np.random.permutation(30)), "spearman")[0, 0]
            for _ in range(P)
        ]
    )
    p_ref = (1 + np.sum(null >= float(res) - 1e-12)) / (P + 1)
    se = np.sqrt(p_ref * (1 - p_ref) / P) + 1 / P
    assert abs(res.p_value - p_ref) < 4 * se
    assert 0.0 < p_ref < 1.0


def _triangle_ref(A):
    A = A.astype(np.float64)
    return (A @ A.T)[np.triu_indices(A.shape[0], 1)]


def test_permuted_cross_kernel_matches_numpy(rng, simd_level):
    n = 23
    a = rng.standard_normal(n * (n - 1) // 2)
    b = rng.standard_normal(n * (n - 1) // 2)
    perms = np.stack([rng.permutation(n) for _ in range(5)] + [np.arange(n)])
    out = _kernels.rsa_permuted_cross(a, b, perms)
    B = np.zeros((n, n))
    B[np.triu_indices(n, 1)] = b
    B = B + B.T
    iu = np.triu_indices(n, 1)
    ref = [a @ B[np.ix_(p, p)][iu] for p in perms]
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        _kernels.rsa_permuted_cross(a, b, np.full((1, n), n))
    with pytest.raises(ValueError, match="triangles"):
        _kernels.rsa_permuted_cross(a[:-1], b, perms)


@pytest.mark.parametrize("similarity", ["cosine", "dot", "correlation"])
def test_streamed_permutation_and_bootstrap_match_float64(rng, simd_level, similarity):
    n = 50
    X = (rng.standard_normal((n, 8)) + 0.7).astype(np.float32)  # a shared offset: mean sim > 0
    Y = (X @ rng.standard_normal((8, 9)) + rng.standard_normal((n, 9))).astype(np.float32)
    res = ts.rsa(X, Y, similarity=similarity, permutations=20, bootstrap=20, seed=3)

    def prep(A):
        A = A.astype(np.float64)
        if similarity == "correlation":
            A = A - A.mean(axis=1, keepdims=True)
        if similarity != "dot":
            A = A / np.linalg.norm(A, axis=1, keepdims=True)
        return A

    SX, SY = prep(X) @ prep(X).T, prep(Y) @ prep(Y).T
    iu = np.triu_indices(n, 1)
    rs = np.random.RandomState(3)
    null = [
        np.corrcoef(SX[iu], SY[np.ix_(p, p)][iu])[0, 1]
        for p in (rs.permutation(n) for _ in range(20))
    ]
    np.testing.assert_allclose(res.null, null, atol=2e-6)
    rs = np.random.RandomState(3)
    boot = []
    for _ in range(20):
        idx = np.sort(rs.randint(0, n, n))
        i, j = np.triu_indices(n, 1)
        keep = idx[i] != idx[j]  # pairs between copies of one item are left out
        boot.append(np.corrcoef(SX[idx[i], idx[j]][keep], SY[idx[i], idx[j]][keep])[0, 1])
    np.testing.assert_allclose(res.boot, boot, atol=2e-6)


def test_result_fields_and_display(rng):
    X, Y = _data(rng)
    res = ts.rsa(X, Y, permutations=30, bootstrap=30, confidence=0.9, seed=0)
    assert res.null.shape == (30,) and res.boot.shape == (30,)
    assert 1 / 31 <= res.p_value <= 1
    assert res.ci[0] <= float(res) <= res.ci[1]
    assert res.confidence == 0.9 and res.seed == 0
    again = ts.rsa(X, Y, permutations=30, bootstrap=30, confidence=0.9, seed=0)
    np.testing.assert_array_equal(res.null, again.null)
    np.testing.assert_array_equal(res.boot, again.boot)
    back = pickle.loads(pickle.dumps(res))
    assert back.p_value == res.p_value and back.ci == res.ci
    assert "p_value" in repr(res) and "CI" in res._summary()
    table = res._table()
    assert len(set(map(len, table.values()))) == 1
    assert ts.rsa(X, Y).p_value is None  # no inference unless asked


def test_small_bootstrap_interval_is_unbounded(rng):
    X, Y = _data(rng)
    res = ts.rsa(X, Y, method="spearman", bootstrap=3, seed=0)
    assert res.ci[0] == -np.inf and res.ci[1] == np.inf


def test_rsa_models_inference(rng):
    words = [f"w{i}" for i in range(30)]
    X, Y = _data(rng, n=30)
    a, b = ts.EmbeddingSpace(X, words), ts.EmbeddingSpace(Y, words[::-1])
    res = ts.rsa_models(a, b, method="tau_b", permutations=10, bootstrap=10, seed=1)
    ref = ts.rsa(X, Y[::-1], method="tau_b", permutations=10, bootstrap=10, seed=1)
    assert float(res) == pytest.approx(float(ref), abs=1e-12)
    np.testing.assert_allclose(res.null, ref.null, atol=1e-12)
    assert res.words == words


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"permutations": 0}, ValueError, "permutations must be >= 1"),
        ({"bootstrap": -5}, ValueError, "bootstrap must be >= 1"),
        ({"permutations": True}, TypeError, "positive int"),
        ({"bootstrap": 10, "confidence": 1.0}, ValueError, r"confidence must be in \(0, 1\)"),
        ({"confidence": 0}, ValueError, r"confidence must be in \(0, 1\)"),
        ({"seed": -1}, TypeError, "seed"),
        ({"method": "kendall"}, ValueError, "method must be one of"),
        ({"dissimilarity": "manhattan"}, ValueError, "dissimilarity must be one of"),
        ({"dissimilarity": "euclidean", "similarity": "dot"}, ValueError, "not both"),
    ],
)
def test_bad_options(rng, kwargs, exc, match):
    X, Y = _data(rng, n=10)
    with pytest.raises(exc, match=match):
        ts.rsa(X, Y, **kwargs)


@pytest.mark.parametrize("method", ["pearson", "spearman", "tau_b", "rho_a"])
def test_constant_and_tiny_inputs(rng, method):
    X = rng.standard_normal((10, 4)).astype(np.float32)
    const = np.tile(rng.standard_normal((1, 4)).astype(np.float32), (10, 1))
    with pytest.raises(ValueError, match="equal"):
        ts.rsa(X, const, method=method, permutations=5)
    with pytest.raises(ValueError, match="at least 3 items"):
        ts.rsa(X[:2], X[:2], method=method, bootstrap=5)
