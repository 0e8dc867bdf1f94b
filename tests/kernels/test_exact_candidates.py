"""The certified candidate stage: answers never depend on the candidate precision.

The bf16 stage (AVX-512 BF16) and the fp32 stage both only pick candidates; survivors are
re-scored in double precision. So both must return exactly the top-k of the float64 scores.
"""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core, _kernels

from ..reference import reference_topk

HAS_BF16 = "avx512_bf16" in ts.available_simd_levels()
PRECISIONS = ["fp32"] + (["bf16", "int8"] if HAS_BF16 else [])
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="CPU lacks AVX-512 BF16")


@pytest.fixture(autouse=True)
def best_level():
    before = ts.simd_level()
    ts.set_simd_level(ts.available_simd_levels()[-1])
    yield
    ts.set_simd_level(before)


def exact_reference(Q, X, k, metric="ip", bias=None):
    Q64, X64 = Q.astype(np.float64), X.astype(np.float64)
    if metric == "ip":
        S = Q64 @ X64.T + (0 if bias is None else bias.astype(np.float64))
    else:
        S = -0.5 * ((Q64[:, None, :] - X64[None]) ** 2).sum(-1)
    return reference_topk(S, k), S


def search(Q, X, k, precision, metric="ip", bias=None, exclude=None):
    db = _core.Database(X)
    if precision == "bf16":
        db.prepare("bf16")
    if precision == "int8":
        db.prepare("int8")
    return _core.knn(db, Q, k, metric, exclude, bias, precision)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("m", [1, 5, 70])
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_random_data_equals_float64_topk(precision, m, metric, rng):
    X = rng.standard_normal((3000, 40)).astype(np.float32)
    Q = rng.standard_normal((m, 40)).astype(np.float32)
    ids, scores = search(Q, X, 10, precision, metric)
    ref, S = exact_reference(Q, X, 10, metric)
    np.testing.assert_array_equal(ids, ref)
    want = np.take_along_axis(S, ref, 1)
    if metric == "l2":
        want = np.sqrt(-2 * want)
    np.testing.assert_allclose(scores, want, rtol=1e-6)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("m", [2, 40])
def test_adversarial_near_ties(precision, m, rng):
    # Rows differ from one direction by perturbations of 1e-6: every score agrees with every
    # other to ~1e-6, far below the bf16 error (~1e-3), so the answer rests on the re-rank.
    base = rng.standard_normal(64)
    X = (base + 1e-6 * rng.standard_normal((2000, 64))).astype(np.float32)
    X[::7] = X[3]  # and exact duplicates: ties must go to the lower id
    Q = (base + 1e-6 * rng.standard_normal((m, 64))).astype(np.float32)
    ids, _ = search(Q, X, 25, precision)
    ref, _ = exact_reference(Q, X, 25)
    np.testing.assert_array_equal(ids, ref)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_bias_exclusions_and_tiny_values(precision, rng):
    X = rng.standard_normal((1500, 33)).astype(np.float32)
    X[:100] *= 1e-30  # tiny rows: subnormal bf16 products are flushed; the bound covers it
    bias = rng.standard_normal(1500).astype(np.float32)
    Q = rng.standard_normal((12, 33)).astype(np.float32)
    exclude = np.tile(np.arange(3, dtype=np.int64), (12, 1))
    ids, _ = search(Q, X, 7, precision, bias=bias, exclude=exclude)
    ref, _ = exact_reference(Q, X, 10, bias=bias)
    expected = np.array([[j for j in row if j > 2][:7] for row in ref])
    np.testing.assert_array_equal(ids, expected)


@needs_bf16
@pytest.mark.slow
def test_minilm_bf16_equals_fp32(minilm):
    sub = minilm.subset(minilm.vocab[2000:14000])
    g32 = sub.knn_graph(k=10, precision="fp32")
    for low in ("bf16", "int8"):
        g16 = sub.knn_graph(k=10, precision=low)
        np.testing.assert_array_equal(g16.indices, g32.indices)
        np.testing.assert_array_equal(g16.scores, g32.scores)
    qs = [3, 500, 7777]
    a = minilm.knn(qs, k=20, precision="fp32")
    for low in ("bf16", "int8"):
        b = minilm.knn(qs, k=20, precision=low)
        np.testing.assert_array_equal(a.indices, b.indices)
    U = minilm.unit_vectors.astype(np.float64)
    S = U[qs] @ U.T
    S[np.arange(3), qs] = -np.inf
    np.testing.assert_array_equal(a.indices, reference_topk(S, 20))


def test_too_large_norms_are_rejected():
    X = np.full((10, 4), 1e19, dtype=np.float32)
    with pytest.raises(ValueError, match="too large"):
        _kernels.knn(X[:1], X, 2)
