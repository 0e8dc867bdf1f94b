"""The gensim query surface of EmbeddingSpace gives gensim's numbers on the same vectors, and
word counts travel from fvocab files and gensim objects through to_gensim."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts

gensim_models = pytest.importorskip("gensim.models")

PAIRS = [("king", "queen"), ("man", "woman"), ("paris", "france"), ("cat", "dog"), ("car", "run")]


@pytest.fixture(scope="module")
def pair(glove):
    s = glove.subset(glove.vocab[:20000])
    kv = s.to_gensim()
    return s, kv


def test_names_and_vectors(pair):
    s, kv = pair
    assert s.index_to_key == kv.index_to_key and s.key_to_index == kv.key_to_index
    assert s.vector_size == kv.vector_size and s.get_index("queen") == kv.get_index("queen")
    for w in ("king", "the", "throne"):
        assert np.array_equal(s.get_vector(w), kv.get_vector(w))
        # same float32 arithmetic as gensim: bit for bit
        assert np.array_equal(s.get_vector(w, norm=True), kv.get_vector(w, norm=True))
    assert not s.get_vector("king", norm=True).flags.writeable


def test_similarity_distance_n_similarity(pair):
    s, kv = pair
    for a, b in PAIRS:
        assert s.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)
        assert s.distance(a, b) == pytest.approx(float(kv.distance(a, b)), abs=1e-6)
    ws1, ws2 = ["king", "queen", "prince"], ["man", "woman"]
    assert s.n_similarity(ws1, ws2) == pytest.approx(float(kv.n_similarity(ws1, ws2)), abs=1e-6)
    # ids work where words do
    assert s.similarity(s.index("king"), "queen") == s.similarity("king", "queen")


def test_distances(pair):
    s, kv = pair
    np.testing.assert_allclose(s.distances("king"), kv.distances("king"), atol=2e-6)
    others = ["queen", "apple", "throne"]
    np.testing.assert_allclose(s.distances("king", others), kv.distances("king", others), atol=2e-6)
    v = s.get_vector("paris") + s.get_vector("rome")
    np.testing.assert_allclose(s.distances(v, others), kv.distances(v, others), atol=2e-6)


def test_closer_than_and_rank(pair):
    s, kv = pair
    for a, b in PAIRS:
        assert s.closer_than(a, b) == kv.closer_than(a, b)
        assert s.rank(a, b) == kv.rank(a, b)
    assert s.rank("king", "queen") == 1 + len(s.closer_than("king", "queen"))


def test_centrality_and_odd_one_out(pair):
    s, kv = pair
    words = ["breakfast", "cereal", "dinner", "lunch", "car"]
    ours, theirs = s.rank_by_centrality(words), kv.rank_by_centrality(words)
    assert [w for _, w in ours] == [w for _, w in theirs]
    np.testing.assert_allclose([c for c, _ in ours], [float(c) for c, _ in theirs], atol=1e-6)
    assert s.doesnt_match(words) == kv.doesnt_match(words) == "car"
    keys = ["queen", "apple", "throne", "prince"]
    assert s.most_similar_to_given("king", keys) == kv.most_similar_to_given("king", keys)
    for a, b in PAIRS:
        assert s.relative_cosine_similarity(a, b, topn=10) == pytest.approx(
            kv.relative_cosine_similarity(a, b, topn=10), rel=1e-5
        )


def test_missing_words_raise_unless_ignored(pair):
    s, kv = pair
    words = ["breakfast", "cereal", "dinner", "qqqzzz"]
    with pytest.raises(KeyError, match="qqqzzz"):
        s.doesnt_match(words)
    assert s.doesnt_match(words, ignore_missing=True) == kv.doesnt_match(words)


def test_get_mean_vector(pair):
    s, kv = pair
    keys = ["king", "woman", "man"]
    for kw in (
        {},
        {"weights": [1.0, 1.0, -1.0]},
        {"pre_normalize": False},
        {"post_normalize": True, "weights": [0.5, 2.0, -1.0]},
    ):
        np.testing.assert_allclose(
            s.get_mean_vector(keys, **kw), kv.get_mean_vector(keys, **kw), atol=1e-6
        )
    v = np.ones(s.dim, np.float32)
    np.testing.assert_allclose(
        s.get_mean_vector(["king", v]), kv.get_mean_vector(["king", v]), atol=1e-6
    )
    with pytest.raises(KeyError, match="qqqzzz"):
        s.get_mean_vector(["king", "qqqzzz"])
    np.testing.assert_allclose(
        s.get_mean_vector(["king", "qqqzzz"], ignore_missing=True),
        kv.get_mean_vector(["king", "qqqzzz"]),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="weights"):
        s.get_mean_vector(keys, weights=[1.0])


def test_zero_vectors_raise_instead_of_nan():
    s = ts.EmbeddingSpace(np.array([[0, 0], [1, 0]], np.float32), ["zero", "x"])
    with pytest.raises(ValueError, match="zero vector"):
        s.similarity("zero", "x")
    with pytest.raises(ValueError, match="zero vector"):
        s.get_vector("zero", norm=True)


def _fake_counts(kv):
    for i, k in enumerate(kv.index_to_key):
        kv.set_vecattr(k, "count", 50000 - 7 * i)


def test_fvocab_counts_match_gensim_and_round_trip(tmp_path):
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors.load_word2vec_format(datapath("word2vec_pre_kv_c"))
    _fake_counts(kv)
    vec, voc = tmp_path / "v.txt", tmp_path / "vocab.txt"
    kv.save_word2vec_format(str(vec), fvocab=str(voc))
    theirs = KeyedVectors.load_word2vec_format(str(vec), fvocab=str(voc))
    s = ts.load_word2vec(vec, fvocab=voc)
    expected = [theirs.get_vecattr(k, "count") for k in theirs.index_to_key]
    assert s.counts.tolist() == expected
    back = s.to_gensim()
    assert [back.get_vecattr(k, "count") for k in back.index_to_key] == expected
    assert ts.from_gensim(theirs).counts.tolist() == expected
    sub = s.subset([s.vocab[3], s.vocab[1]])
    assert sub.counts.tolist() == [expected[3], expected[1]]
    # without fvocab nothing is invented (gensim makes up descending counts)
    assert ts.load_word2vec(vec).counts is None


def test_fvocab_problems_are_named(tmp_path):
    vec = tmp_path / "v.txt"
    vec.write_text("2 2\na 1 0\nb 0 1\n", encoding="utf-8")
    partial = tmp_path / "partial.txt"
    partial.write_text("a 5\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="no count for 1 of the 2 words"):
        s = ts.load_word2vec(vec, fvocab=partial)
    assert s.counts.tolist() == [5, -1]
    bad = tmp_path / "bad.txt"
    bad.write_text("a 5\nb five\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: expected 'word count'"):
        ts.load_word2vec(vec, fvocab=bad)
    with pytest.raises(ValueError, match="one entry per word"):
        ts.EmbeddingSpace(np.eye(2, dtype=np.float32), ["a", "b"], counts=[1])


def test_counts_are_written_for_gensim_and_kept_by_native_folders(tmp_path):
    from gensim.models import KeyedVectors

    X = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    s = ts.EmbeddingSpace(X, ["a", "b", "c", "d"], counts=[40, 3, 7, 0])
    vec, voc = tmp_path / "v.bin", tmp_path / "counts.txt"
    ts.save_word2vec(s, vec, binary=True, fvocab=voc)
    assert voc.read_text(encoding="utf-8") == "a 40\nb 3\nc 7\nd 0\n"
    kv = KeyedVectors.load_word2vec_format(str(vec), binary=True, fvocab=str(voc))
    assert [kv.get_vecattr(w, "count") for w in s.vocab] == [40, 3, 7, 0]
    assert ts.load_word2vec(vec, binary=True, fvocab=voc).counts.tolist() == [40, 3, 7, 0]
    ts.save_glove(s, tmp_path / "g.txt", fvocab=tmp_path / "g.counts")
    assert (tmp_path / "g.counts").read_text(encoding="utf-8") == "a 40\nb 3\nc 7\nd 0\n"

    s = ts.EmbeddingSpace(X, ["a", "b", "c", "d"], counts=[40, -1, 7, 0])
    with pytest.raises(ValueError, match="1 words have no count"):
        ts.save_word2vec(s, tmp_path / "v2.txt", fvocab=tmp_path / "c2.txt")
    assert not (tmp_path / "v2.txt").exists()
    s.save(tmp_path / "native")  # the native format keeps unknown counts
    assert ts.load(tmp_path / "native").counts.tolist() == [40, -1, 7, 0]
    # saving a space without counts over the folder removes them
    ts.EmbeddingSpace(X, ["a", "b", "c", "d"]).save(tmp_path / "native", overwrite=True)
    assert not (tmp_path / "native" / "counts.npy").exists()
    assert ts.load(tmp_path / "native").counts is None


def test_count_writing_problems_are_named(tmp_path):
    X = np.eye(2, dtype=np.float32)
    with pytest.raises(ValueError, match="no word counts to write"):
        ts.save_word2vec(
            ts.EmbeddingSpace(X, ["a", "b"]), tmp_path / "v.txt", fvocab=tmp_path / "c"
        )
    assert not (tmp_path / "v.txt").exists()  # refused before anything was written
    s = ts.EmbeddingSpace(X, ["a", "b"], counts=[1, 2])
    with pytest.raises(ValueError, match="different file"):
        ts.save_word2vec(s, tmp_path / "v.txt", fvocab=tmp_path / "v.txt")
    s.save(tmp_path / "n")
    np.save(tmp_path / "n" / "counts.npy", np.array([1, 2, 3]))  # edited by hand: wrong length
    with pytest.raises(ValueError, match=r"counts.npy: holds int64 \(3,\), expected int64 \(2,\)"):
        ts.load(tmp_path / "n")
