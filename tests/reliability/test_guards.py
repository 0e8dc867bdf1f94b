"""Inputs that used to crash or give a silent wrong answer now raise (issue 16 items 3, 9, 10,
14)."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts

from ._subprocess import describe, run_snippet


def _space(n: int = 30, d: int = 6, seed: int = 0) -> ts.EmbeddingSpace:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return ts.EmbeddingSpace(x, [f"w{i}" for i in range(n)])


def test_tsne_of_identical_points_raises_instead_of_crashing() -> None:
    # in a child: scikit-learn's t-SNE segfaults on these points
    proc = run_snippet(
        """
import numpy as np, tokenspace as ts
try:
    ts.tsne(np.ones((20, 4)), perplexity=3)
except ValueError as e:
    print("ValueError", "identical" in str(e))
"""
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ValueError True", describe(proc)


@pytest.mark.parametrize("w", [float("nan"), float("inf"), -float("inf")])
def test_most_similar_nonfinite_weights(w: float) -> None:
    s = _space()
    with pytest.raises(ValueError, match="finite"):
        s.most_similar(positive=[("w1", w), "w2"])


def test_most_similar_overflowing_mean() -> None:
    s = _space()
    big = np.full(s.dim, 3e38, np.float32)
    with pytest.raises(ValueError, match="overflows"):
        s.most_similar(positive=[big, big, big])


def test_translate_zero_vector() -> None:
    x = np.random.default_rng(1).standard_normal((20, 5)).astype(np.float32)
    x[3] = 0
    a = ts.EmbeddingSpace(x, [f"a{i}" for i in range(20)])
    b = ts.EmbeddingSpace(x + 0.5, [f"b{i}" for i in range(20)])
    ali = ts.procrustes(x, x)
    with pytest.raises(ValueError, match="'a3' maps to the zero vector"):
        ts.translate(a, b, ["a1", "a3"], ali)
    assert ts.translate(a, b, ["a1"], ali).indices.shape == (1, 1)


def test_k_with_nothing_to_return() -> None:
    s = ts.EmbeddingSpace(np.ones((1, 3), np.float32), ["only"])
    with pytest.raises(ValueError, match="no vocabulary entries to return") as e:
        s.knn("only", k=1)
    assert "k <= -1" not in str(e.value) and "k <= 0" not in str(e.value)


def test_solve_analogies_temporaries_stay_proportional_to_the_answer() -> None:
    import tracemalloc

    n, d, m, topn = 20000, 64, 20, 15000
    x = np.random.default_rng(3).standard_normal((n, d)).astype(np.float32)
    s = ts.EmbeddingSpace(x, [f"w{i}" for i in range(n)])
    qs = np.random.default_rng(4).integers(0, n, size=(m, 3))
    assert s.unit_vectors.shape == (n, d)  # cached before: not a temporary of the call
    tracemalloc.start()
    try:
        res = ts.solve_analogies(s, qs, topn=topn)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    answer = res.indices.nbytes + res.scores.nbytes
    # gathering (m, topn, d) float64 rows at once would take d * 8 / 16 = 32 x the answer
    assert peak < 12 * answer + 48 * 2**20, (peak, answer)
    # the first answers agree with a float64 reference
    u = x.astype(np.float64) / np.linalg.norm(x, axis=1, keepdims=True)
    q = u[qs[0, 1]] - u[qs[0, 0]] + u[qs[0, 2]]
    ref = u @ (q / np.linalg.norm(q))
    ref[qs[0]] = -np.inf
    assert res.indices[0, 0] == int(np.argmax(ref))
