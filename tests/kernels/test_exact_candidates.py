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

_BEST = _core.kernel_table(ts.available_simd_levels()[-1])
# the low precisions the best level has kernels for: int8 row scans from AVX2 on, bf16 (and
# int8 tiles) with AVX-512 BF16 + VNNI
LOW = [p for p, slot in (("bf16", "bf16_knn_tile"), ("int8", "int8_gemv")) if _BEST[slot] != "none"]
PRECISIONS = ["fp32", *LOW]


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


@pytest.mark.skipif(not LOW, reason="the CPU has no low-precision candidate kernels")
@pytest.mark.slow
def test_minilm_low_precision_equals_fp32(minilm):
    # int8 without int8 tiles (AVX2) scans the rows once per query: a smaller graph
    sub = minilm.subset(minilm.vocab[2000 : 14000 if _BEST["int8_knn_tile"] != "none" else 5000])
    g32 = sub.knn_graph(k=10, precision="fp32")
    for low in LOW:
        g16 = sub.knn_graph(k=10, precision=low)
        np.testing.assert_array_equal(g16.indices, g32.indices)
        np.testing.assert_array_equal(g16.scores, g32.scores)
    qs = [3, 500, 7777]
    a = minilm.knn(qs, k=20, precision="fp32")
    for low in LOW:
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


def _half_away(a):
    return np.sign(a) * np.floor(np.abs(a) + 0.5)


def _int8_scores(X, q):
    """numpy emulation of the int8 candidate scores: x ~ s q8, q ~ t v, (sum v q8) s t."""
    f32 = np.float32
    s = (np.abs(X).max(1).astype(f32) / f32(127)).astype(f32)
    x8 = np.clip(_half_away(X.astype(np.float64) / s[:, None].astype(np.float64)), -127, 127)
    t = f32(np.abs(q).max()) / f32(127)
    v = np.clip(_half_away(q.astype(np.float64) / np.float64(t)), -127, 127)
    dots = x8.astype(np.int64) @ v.astype(np.int64)  # exact, as the kernels' int32 sums
    return dots.astype(f32) * (s * t)


@pytest.mark.parametrize("d", [70, 384])
def test_candidate_scores_of_every_precision(simd_level, d, rng):
    # the candidate kernels themselves: fp32 within float32 rounding of float64, int8 equal to
    # a numpy emulation of its quantisation bit for bit (so AVX2's pmaddubsw and VNNI agree),
    # bf16 within its rounding error; d=70 pads the low-precision rows
    X = rng.standard_normal((1003, d)).astype(np.float32)
    q = rng.standard_normal(d).astype(np.float32)
    db = _core.Database(X)
    db.prepare("auto", 0)
    exact = X.astype(np.float64) @ q.astype(np.float64)
    scale = np.linalg.norm(X, axis=1) * np.linalg.norm(q)
    table = _core.kernel_table(simd_level)
    got, used = db.candidate_scores(q, "fp32")
    assert used == "fp32"
    assert np.all(np.abs(got - exact) <= 1e-5 * scale)
    if table["int8_gemv"] != "none":
        got, used = db.candidate_scores(q, "int8")
        assert used == "int8"
        np.testing.assert_array_equal(got, _int8_scores(X, q))
        assert np.abs(got - exact).max() > 1e-4  # it is the quantised path
    if table["bf16_gemv"] != "none":
        got, used = db.candidate_scores(q, "bf16")
        assert used == "bf16"
        assert np.all(np.abs(got - exact) <= 2 * 2.0**-8 * scale)
    with pytest.raises(ValueError, match="NaN or Inf"):
        db.candidate_scores(np.full(d, np.nan, np.float32))
