"""Bad input gets a clear Python exception, never a crash or silent garbage."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _kernels


@pytest.fixture
def space(rng):
    return ts.EmbeddingSpace(
        rng.standard_normal((20, 4)).astype(np.float32), [f"t{i}" for i in range(20)]
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_rejected(bad, rng):
    X = rng.standard_normal((10, 3)).astype(np.float32)
    X[6, 1] = bad
    with pytest.raises(ValueError, match="row 6 contains NaN or Inf"):
        ts.cosine_matrix(X)
    with pytest.raises(ValueError, match="row 6"):
        ts.knn(X, X[:1], 2)
    with pytest.raises(ValueError, match="queries row 0"):
        ts.knn(X[:5], X[6:7], 2)


def test_wrong_shapes_and_dtypes(space):
    with pytest.raises(ValueError, match="2-D"):
        ts.cosine_matrix(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="dimension"):
        ts.cosine_matrix(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(TypeError, match="numeric"):
        ts.cosine_matrix(np.array([["a"]]))
    with pytest.raises(TypeError, match="numeric"):
        ts.knn(np.ones((3, 2)), np.array([1 + 2j, 3j]), 1)
    with pytest.raises(ValueError, match="dimension"):
        space.knn(np.ones(5, dtype=np.float32), k=2)
    with pytest.raises(ValueError, match="2-D"):
        _kernels.knn(np.ones(3, dtype=np.float32), np.ones((3, 3), dtype=np.float32), 1)


def test_empty_inputs(space):
    with pytest.raises(ValueError, match="empty"):
        ts.cosine_matrix(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="no queries"):
        space.knn([], k=2)
    with pytest.raises(ValueError, match="empty"):
        ts.knn(np.zeros((0, 3)), np.ones((1, 3)), 1)


@pytest.mark.parametrize("k", [0, -1, 21])
def test_bad_k(space, k):
    with pytest.raises(ValueError, match="k"):
        space.knn("t1", k=k, exclude_self=False)


def test_k_counts_the_excluded_self(space):
    assert space.knn("t1", k=19).indices.shape == (1, 19)
    with pytest.raises(ValueError, match="k=20 is larger"):
        space.knn("t1", k=20)
    with pytest.raises(ValueError, match="k=20 is larger"):
        space.knn_graph(k=20)
    with pytest.raises(TypeError, match="integer"):
        space.knn("t1", k=2.5)
    with pytest.raises(ValueError, match="k=4 is larger"):
        _kernels.knn(np.ones((1, 2), np.float32), np.ones((3, 2), np.float32), 4)


def test_unknown_words_and_ids(space):
    with pytest.raises(KeyError, match="'nope'"):
        space.knn("nope")
    with pytest.raises(KeyError, match="'nope'"):
        space.knn(["t1", "nope"])
    with pytest.raises(IndexError, match="out of range"):
        space.knn(99)
    with pytest.raises(TypeError):
        space.knn([1.5, "t1"])


def test_zero_vectors(space):
    X = np.ones((5, 3), dtype=np.float32)
    X[2] = 0
    s = ts.EmbeddingSpace(X, list("abcde"))
    with pytest.raises(ValueError, match="zero vector"):
        s.knn("c", k=2)
    with pytest.raises(ValueError, match="zero vector"):
        ts.knn(X, np.zeros(3), 1)
    # a zero database row scores 0 (as faiss on normalised rows), never NaN
    res = s.knn("a", k=4)
    assert np.isfinite(res.scores).all() and res.words[0][-1] == "c"
    assert s.knn("c", k=2, metric="dot").scores.tolist() == [[0.0, 0.0]]


def test_bad_metric_backend_and_out(space, rng):
    with pytest.raises(ValueError, match="unknown metric"):
        space.knn("t1", metric="manhattan")
    with pytest.raises(ValueError, match="unknown backend"):
        space.knn("t1", backend="annoy")
    a = rng.standard_normal((4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="shape"):
        ts.cosine_matrix(a, out=np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="float32"):
        ts.cosine_matrix(a, out=np.zeros((4, 4), np.float64))
    with pytest.raises(ValueError, match="contiguous rows"):
        ts.cosine_matrix(a, out=np.zeros((4, 8), np.float32)[:, ::2])
    ro = np.zeros((4, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ts.cosine_matrix(a, out=ro)
