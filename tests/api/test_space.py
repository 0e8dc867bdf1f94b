"""EmbeddingSpace behaviour: lookups, views, subsets, kNN from words / ids / vectors."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts

from ..reference import assert_knn_equivalent


@pytest.fixture
def small(rng):
    words = [f"w{i}" for i in range(50)]
    return ts.EmbeddingSpace(rng.standard_normal((50, 8)).astype(np.float64), words, name="small")


def test_container_protocol(small):
    assert len(small) == 50 and small.dim == 8 and small.shape == (50, 8)
    assert "w3" in small and "nope" not in small and 3 not in small
    assert small.index("w7") == 7
    assert small["w7"].shape == (8,) and small[["w1", "w2"]].shape == (2, 8)
    assert small[7] is not None and np.array_equal(small[7], small["w7"])
    assert small.vectors.dtype == np.float32 and small.vectors.flags.c_contiguous
    assert repr(small) == "EmbeddingSpace('small', 50 x 8)"


def test_matrix_is_read_only(small):
    with pytest.raises(ValueError):
        small.vectors[0, 0] = 1.0
    with pytest.raises(ValueError):
        small["w1"][0] = 1.0


def test_unknown_word_keyerror_names_word_and_suggests(small):
    with pytest.raises(KeyError, match=r"'w77'.*did you mean"):
        small.index("w77")
    with pytest.raises(KeyError, match="'zzz'"):
        small[["w1", "zzz"]]


def test_unit_vectors_zero_rows_never_nan():
    X = np.array([[3, 4], [0, 0], [1, 0]], dtype=np.float32)
    s = ts.EmbeddingSpace(X, ["a", "b", "c"])
    assert np.isfinite(s.unit_vectors).all()
    np.testing.assert_allclose(s.unit_vectors[0], [0.6, 0.8])
    assert np.all(s.unit_vectors[1] == 0) and s.norms[1] == 0


def test_subset_by_words_and_predicate(small):
    sub = small.subset(["w9", "w2"])
    assert sub.vocab == ["w9", "w2"] and np.array_equal(sub.vectors, small[["w9", "w2"]])
    pred = small.subset(lambda w: w.endswith("1"))
    assert pred.vocab == ["w1", "w11", "w21", "w31", "w41"]
    with pytest.raises(TypeError):
        small.subset("w1")


def test_constructor_validation():
    with pytest.raises(ValueError, match="match one to one"):
        ts.EmbeddingSpace(np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="appears twice"):
        ts.EmbeddingSpace(np.ones((2, 2)), ["a", "a"])
    with pytest.raises(ValueError, match="row 1 contains NaN"):
        ts.EmbeddingSpace(np.array([[1, 2], [np.nan, 0]]), ["a", "b"])
    with pytest.raises(TypeError, match="numeric"):
        ts.EmbeddingSpace(np.array([["a", "b"]]), ["x"])


def test_knn_from_words_ids_and_vectors(small):
    U = small.unit_vectors.astype(np.float64)
    ref = U @ U.T
    by_word = small.knn(["w3", "w10"], k=5)
    by_id = small.knn([3, 10], k=5)
    np.testing.assert_array_equal(by_word.indices, by_id.indices)
    assert by_word.queries == ["w3", "w10"]
    masked = ref[[3, 10]].copy()
    masked[0, 3] = masked[1, 10] = -np.inf  # exclude_self
    assert_knn_equivalent(by_word.indices, by_word.scores, masked, 5)
    assert by_word.words[0] == [small.vocab[j] for j in by_word.indices[0]]
    with_self = small.knn("w3", k=1, exclude_self=False)
    assert with_self.indices[0, 0] == 3 and with_self.words[0][0] == "w3"
    by_vec = small.knn(small["w3"], k=5)
    assert by_vec.indices[0, 0] == 3  # a raw vector has no self to exclude
    assert small.knn("w3", k=3)[0][0][0] == by_word.words[0][0]


def test_knn_graph_matches_reference(small):
    g = small.knn_graph(k=4)
    U = small.unit_vectors.astype(np.float64)
    ref = U @ U.T
    np.fill_diagonal(ref, -np.inf)
    assert g.indices.shape == (50, 4)
    assert_knn_equivalent(g.indices, g.scores, ref, 4)
    e = small.knn_graph(k=3, metric="euclidean", exclude_self=False)
    assert (e.indices[:, 0] == np.arange(50)).all() and np.allclose(e.scores[:, 0], 0)


def test_faiss_backend_agrees(small):
    pytest.importorskip("faiss")
    for metric in ("cosine", "dot", "euclidean"):
        a = small.knn(["w1", "w2", "w3"], k=6, metric=metric)
        b = small.knn(["w1", "w2", "w3"], k=6, metric=metric, backend="faiss")
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-5)


def test_to_faiss_index_types(small):
    faiss = pytest.importorskip("faiss")
    assert isinstance(small.to_faiss("cosine"), faiss.IndexFlatIP)
    assert isinstance(small.to_faiss("euclidean"), faiss.IndexFlatL2)
    assert small.to_faiss().ntotal == 50
