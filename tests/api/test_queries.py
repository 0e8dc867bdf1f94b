"""Queries a user can get subtly wrong: a matrix changed after the space was built, bytes,
integer arrays the length of a vector, one string where a list of words is expected."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import tokenspace as ts


@pytest.fixture
def space(rng):
    X = rng.standard_normal((300, 16)).astype(np.float32)
    return ts.EmbeddingSpace(X, [f"w{i}" for i in range(300)])


def _exact_top(X: np.ndarray, i: int, k: int) -> list[int]:
    U = X.astype(np.float64) / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    sims = U @ U[i]
    sims[i] = -np.inf
    return np.argsort(-sims, kind="stable")[:k].tolist()


def test_results_do_not_go_stale_when_the_callers_array_changes(rng):
    # Issue 13 defect 2: the space cached unit rows and low-precision copies of an array the
    # caller could still write to, so a change after the first search was half-seen.
    X = rng.standard_normal((2000, 32)).astype(np.float32)
    s = ts.EmbeddingSpace(X, [f"w{i}" for i in range(2000)])
    before = s.knn("w0", k=5).indices[0].tolist()
    assert before == _exact_top(X, 0, 5)
    original = X.copy()
    X[1234] = X[0] * 2  # would be w0's nearest neighbour, if the space saw it
    after = s.knn("w0", k=5)
    assert after.indices[0].tolist() == before == _exact_top(original, 0, 5)
    assert 1234 not in after.indices[0]
    assert np.array_equal(s.vectors, original) and not s.vectors.flags.writeable
    assert np.array_equal(s["w1234"], original[1234])


def test_immutable_inputs_are_not_copied(tmp_path, rng):
    X = rng.standard_normal((50, 8)).astype(np.float32)
    ro = np.frombuffer(X.tobytes(), dtype=np.float32).reshape(50, 8)  # read-only over bytes
    assert np.shares_memory(ts.EmbeddingSpace(ro, [f"w{i}" for i in range(50)]).vectors, ro)
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert isinstance(mm.base, mmap.mmap)
    assert np.shares_memory(ts.EmbeddingSpace(mm, [f"w{i}" for i in range(50)]).vectors, mm)
    # a read-only view of a writeable array is not immutable: the base can still change
    view = X.view()
    view.flags.writeable = False
    s = ts.EmbeddingSpace(view, [f"w{i}" for i in range(50)])
    assert not np.shares_memory(s.vectors, X)


def test_copy_false_marks_the_callers_array_read_only(rng):
    X = rng.standard_normal((20, 4)).astype(np.float32)
    s = ts.EmbeddingSpace(X, [f"w{i}" for i in range(20)], copy=False)
    assert np.shares_memory(s.vectors, X) and not X.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0] = 1.0
    Y = rng.standard_normal((20, 4)).astype(np.float32)
    assert not np.shares_memory(
        ts.EmbeddingSpace(Y, list("abcdefghijklmnopqrst"), copy=True).vectors, Y
    )
    assert Y.flags.writeable


def test_bytes_queries_are_refused_not_read_as_ids(space):
    # b"w1" used to be iterated into the ids 119 and 49
    for call in (
        lambda: space.knn(b"w1"),
        lambda: space.knn([b"w1"]),
        lambda: space.index(b"w1"),
        lambda: space[b"w1"],
        lambda: space.indices(b"w1"),
        lambda: space.similarity(b"w1", "w2"),
    ):
        with pytest.raises(TypeError, match="decode"):
            call()


def test_an_integer_vector_as_long_as_the_dimension_is_refused(space):
    v = np.arange(16)  # 16 == space.dim: 16 ids, or one integer-valued vector?
    with pytest.raises(TypeError, match="ambiguous"):
        space.knn(v, k=3)
    # both spellings of what the user may have meant work, and differ
    as_ids = space.knn(v.tolist(), k=3)
    as_vector = space.knn(v.astype(np.float32), k=3)
    assert len(as_ids) == 16 and len(as_vector) == 1
    assert as_ids.query_ids.tolist() == list(range(16))
    U = space.vectors.astype(np.float64)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    assert as_vector.indices[0].tolist() == np.argsort(-(U @ v), kind="stable")[:3].tolist()
    # other lengths are unambiguous ids
    assert space.knn(np.array([3, 4, 5]), k=2).query_ids.tolist() == [3, 4, 5]


def test_one_string_is_one_word_or_refused_never_characters(space):
    assert space.indices("w12").tolist() == [12]
    assert np.array_equal(space.get_mean_vector("w12"), space.get_vector("w12", norm=True))
    for call in (
        lambda: space.doesnt_match("w12"),
        lambda: space.rank_by_centrality("w12"),
        lambda: space.n_similarity("w12", ["w1"]),
        lambda: space.most_similar_to_given("w1", "w12"),
        lambda: space.distances("w1", "w12"),
        lambda: space.subset("w12"),
        lambda: ts.EmbeddingSpace(np.zeros((3, 2), np.float32), "abc"),
    ):
        with pytest.raises(TypeError, match="not one string"):
            call()


def test_mixed_words_and_vectors_are_refused(space):
    with pytest.raises(TypeError, match="one kind per call"):
        space.knn([space.vectors[0], "w1"])


def test_restrict_vocab_on_knn(space):
    U = space.vectors.astype(np.float64)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    for q in (5, 250):  # a query inside and one outside the searched prefix
        res = space.knn(f"w{q}", k=4, restrict_vocab=100)
        sims = U[:100] @ U[q]
        if q < 100:
            sims[q] = -np.inf
        assert res.indices[0].tolist() == np.argsort(-sims, kind="stable")[:4].tolist()
    with pytest.raises(ValueError, match="restrict_vocab"):
        space.knn("w1", k=100, restrict_vocab=100)  # 99 others in the prefix
    with pytest.raises(ValueError, match=">= 1"):
        space.knn("w1", restrict_vocab=0)
