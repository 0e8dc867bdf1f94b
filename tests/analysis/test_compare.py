"""Fair model comparisons (shared items, paired tests) and baselines with spread."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.analysis.evaluate import mcnemar, steiger_z


def _space(words, rng, d=6):
    return ts.EmbeddingSpace(rng.standard_normal((len(words), d)).astype(np.float32), words)


def _analogy_file(tmp_path):
    lines = [": capitals", "a b c d", "a b c e", "b c d e", "x y z a", ": other", "a c b d"]
    p = tmp_path / "q.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_analogies_scored_on_shared_questions(tmp_path, rng):
    path = _analogy_file(tmp_path)
    full = _space(["a", "b", "c", "d", "e", "x", "y", "z", "f", "g"], rng)
    part = _space(["a", "b", "c", "d", "e", "f", "g"], rng)  # no x y z: misses 1 question
    res = ts.compare_models({"full": full, "part": part}, path)
    assert res.kind == "analogies"
    assert res.n_items == 5 and res.n_shared == 4 and res.coverage == [5, 4]
    shared_q = [
        q
        for q, m in zip(ts.evaluate_analogies(full, path, dummy4unknown=True).questions, res.shared)
        if m
    ]
    assert ("X", "Y", "Z", "A") not in shared_q
    for k, s in enumerate((full, part)):
        ev = ts.evaluate_analogies(s, path, dummy4unknown=True)
        assert res.scores[k] == pytest.approx(ev.correct[res.shared].mean())
    assert res.own_scores[0] == pytest.approx(ts.evaluate_analogies(full, path).accuracy)
    (t,) = res.tests
    assert t.test == "mcnemar" and (t.a, t.b) == ("full", "part")
    ca, cb = res.correct
    assert (t.n_a_only, t.n_b_only) == (int((ca & ~cb).sum()), int((~ca & cb).sum()))
    assert len(set(map(len, res._table().values()))) == 1


def test_mcnemar_exact_binomial_reference():
    a = np.array([1] * 9 + [0] * 2 + [1] * 5 + [0] * 4, dtype=bool)
    b = np.array([0] * 9 + [1] * 2 + [1] * 5 + [0] * 4, dtype=bool)
    chi2, p, n01, n10 = mcnemar(a, b)
    assert (n01, n10) == (9, 2)
    ref = min(1.0, 2 * sum(math.comb(11, k) for k in range(3)) / 2**11)
    assert p == pytest.approx(ref)
    assert chi2 == pytest.approx((abs(9 - 2) - 1) ** 2 / 11)
    assert mcnemar(a, a)[1] == 1.0


def test_steiger_is_calibrated_under_the_null():
    # y and two predictors with the same correlation to y: p < 0.05 about 5% of the time
    rng = np.random.default_rng(0)
    n, sims, rejections = 80, 1500, 0
    for _ in range(sims):
        y = rng.standard_normal(n)
        shared = rng.standard_normal(n)
        a = 0.5 * y + 0.5 * shared + rng.standard_normal(n)
        b = 0.5 * y + 0.5 * shared + rng.standard_normal(n)
        C = np.corrcoef([y, a, b])
        rejections += steiger_z(C[0, 1], C[0, 2], C[1, 2], n)[1] < 0.05
    assert 0.03 < rejections / sims < 0.075
    z, p = steiger_z(0.5, 0.5, 0.3, 50)
    assert z == 0.0 and p == pytest.approx(1.0)


def test_word_pairs_shared_and_paired_tests(tmp_path, rng):
    words = [f"w{i}" for i in range(30)]
    lines = [f"{words[i]}\t{words[(i * 7 + 3) % 30]}\t{rng.uniform(0, 10):.2f}" for i in range(30)]
    lines.append("w1\tunknown\t5.0")
    p = tmp_path / "pairs.tsv"
    p.write_text("\n".join(lines) + "\n")
    A, B = _space(words, rng), _space([*words, "unknown"], rng)
    res = ts.compare_models([A, B], p, bootstrap=200, seed=1)
    assert res.kind == "word_pairs" and res.n_items == 31 and res.n_shared == 30
    ev = ts.evaluate_word_pairs(A, p)
    assert res.scores[0] == pytest.approx(ev.spearman)
    kinds = [t.test for t in res.tests]
    assert kinds == ["steiger", "bootstrap"]
    boot = res.tests[1]
    assert boot.ci[0] <= boot.difference <= boot.ci[1]
    assert 0 < boot.p_value <= 1
    again = ts.compare_models([A, B], p, bootstrap=200, seed=1)
    assert again.tests[1].ci == boot.ci


def test_compare_errors(tmp_path, rng):
    path = _analogy_file(tmp_path)
    a = _space(["a", "b", "c", "d"], rng)
    b = _space(["x", "y", "z", "q"], rng)
    with pytest.raises(ValueError, match="share no"):
        ts.compare_models([a, b], path)
    with pytest.raises(ValueError, match="at least 2 models"):
        ts.compare_models([a], path)
    with pytest.raises(TypeError, match="EmbeddingSpace"):
        ts.compare_models([a, np.zeros((3, 3))], path)
    with pytest.raises(ValueError, match="kind"):
        ts.compare_models([a, a], path, kind="pairs")


def test_spectrum_baseline_band_and_percentile(rng):
    V, d = 300, 10
    X = rng.standard_normal((V, d)).astype(np.float32)
    X[:12] = X[:12] * 0.05 + 3 * rng.standard_normal(d).astype(np.float32)  # a tight group
    words = [f"w{i}" for i in range(V)]
    s = ts.EmbeddingSpace(X, words)
    res = ts.spectrum_baseline(s, words[:12], n_random=50, seed=0)
    assert res.random.shape == (50, 10)
    assert np.all(res.low <= res.mean) and np.all(res.mean <= res.high)
    np.testing.assert_allclose(res.group, ts.svd_spectrum(X[:12]))
    # the tight group has smaller singular values than every random group of its size
    assert res.percentile[0] == 0.0
    ref = 100 * np.mean(res.random[:, 1] < res.group[1])
    assert res.percentile[1] == pytest.approx(ref)
    again = ts.spectrum_baseline(s, words[:12], n_random=50, seed=0)
    np.testing.assert_array_equal(res.random, again.random)
    with pytest.raises(ValueError, match="at least 2"):
        ts.spectrum_baseline(s, words[:1])
    with pytest.raises(ValueError, match="quantiles"):
        ts.spectrum_baseline(s, words[:5], quantiles=(0.9, 0.1))


def test_shuffle_band(rng):
    X = rng.standard_normal((100, 5)).astype(np.float32)
    X[:, 0] += np.arange(100, dtype=np.float32) / 10  # structure that row shuffles keep
    s = ts.EmbeddingSpace(X, [f"w{i}" for i in range(100)])

    def first_col_trend(sp):
        return float(np.corrcoef(np.arange(100), sp.vectors[:, 0])[0, 1])

    band = ts.shuffle_band(s, first_col_trend, how="rows", seeds=10)
    assert band.null.shape == (10,)
    ref = [first_col_trend(ts.shuffle(s, "rows", seed=k)) for k in range(10)]
    np.testing.assert_allclose(band.null, ref)
    assert band.percentile == 100.0 and band.low <= band.mean <= band.high
    with pytest.raises(ValueError, match="at least 2 seeds"):
        ts.shuffle_band(s, first_col_trend, seeds=1)
    with pytest.raises(ValueError, match="unknown shuffle"):
        ts.shuffle_band(s, first_col_trend, how="cols")
