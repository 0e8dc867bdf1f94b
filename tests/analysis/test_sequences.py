"""Sequence cosines, coloured text and multi-token strings, against tokenizers + numpy."""

import re

import numpy as np
import pytest

import tokenspace as ts

TEXT = "The quick brown fox jumps over the lazy dog, unbelievably!"


@pytest.fixture(scope="module")
def tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    from tokenspace.io.embedded import embedded_path

    tok = tokenizers.Tokenizer.from_file(str(embedded_path("minilm-l6") / "tokenizer.json"))
    tok.no_padding()
    return tok


@pytest.fixture
def words():
    vocab = ["the", "king", "queen", "a", ",", "!", "dog"]
    rng = np.random.default_rng(0)
    return ts.EmbeddingSpace(rng.standard_normal((len(vocab), 6)).astype(np.float32), vocab)


def _cos_prev(X):
    X = np.asarray(X, dtype=np.float64)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return (U[1:] * U[:-1]).sum(1)


def test_sequence_cosines_minilm(minilm, tokenizer):
    seq = ts.sequence_cosines(minilm, TEXT)
    enc = tokenizer.encode(TEXT)
    ids = enc.ids[1:-1]  # [CLS] ... [SEP]
    assert seq.ids.tolist() == ids
    assert seq.tokens[0] == "the" and "[CLS]" not in seq.tokens and "[SEP]" not in seq.tokens
    assert "##bel" in seq.tokens
    assert seq.cosines.shape == (len(ids) - 1,)
    np.testing.assert_allclose(seq.cosines, _cos_prev(minilm.vectors[ids]), atol=1e-5)
    assert seq.mean == pytest.approx(float(seq.cosines.mean()))
    assert seq.table().splitlines()[1].split()[0] == "quick"
    # an explicit tokenizer (path of the folder) gives the same answer
    from tokenspace.io.embedded import embedded_path

    again = ts.sequence_cosines(minilm, TEXT, tokenizer=embedded_path("minilm-l6"))
    np.testing.assert_array_equal(again.ids, seq.ids)


def test_sequence_cosines_word_level(words):
    seq = ts.sequence_cosines(words, "The King met a QUEEN, then a wolf!")
    assert seq.tokens == ["the", "king", "a", "queen", ",", "a", "!"]
    np.testing.assert_allclose(seq.cosines, _cos_prev(words[seq.tokens]), atol=1e-6)
    with pytest.raises(ValueError, match="no token"):
        ts.sequence_cosines(words, "wolf sheep")
    with pytest.raises(TypeError):
        ts.sequence_cosines(words, ["the", "king"])


def test_token_scores(words):
    toks, norm = ts.token_scores(words, "the king dog", "norm")
    np.testing.assert_allclose(norm, np.linalg.norm(words[toks], axis=1), rtol=1e-6)
    _, prev = ts.token_scores(words, "the king dog", "prev")
    assert np.isnan(prev[0])
    np.testing.assert_allclose(prev[1:], _cos_prev(words[toks]), atol=1e-6)
    _, seed = ts.token_scores(words, "the king dog", "queen")
    U = words[[*toks, "queen"]].astype(np.float64)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    np.testing.assert_allclose(seed, U[:3] @ U[3], atol=1e-6)
    with pytest.raises(KeyError, match="wolf"):
        ts.token_scores(words, "the king", "wolf")
    with pytest.raises(TypeError):
        ts.token_scores(words, "the king", 3)


def test_color_text(minilm):
    for score in ("norm", "prev", "dog"):
        out = ts.color_text(minilm, TEXT, score)
        assert isinstance(out, str) and out.startswith("<div")
        titles = re.findall(r'title="([^"]*)"', out)
        n = len(ts.sequence_cosines(minilm, TEXT).tokens)
        assert len(titles) == n
        coloured = re.findall(r"background:rgb\((\d+),(\d+),(\d+)\)", out)
        assert len(coloured) == (n - 1 if score == "prev" else n)
        assert len(set(coloured)) > 3  # scores spread over the colour scale
    # subword pieces are glued back together in the displayed text
    text = re.sub(r"<[^>]+>", "", ts.color_text(minilm, "unbelievably", "norm"))
    assert text.startswith("unbelievably")
    # HTML special characters are escaped
    assert "<b>" not in ts.color_text(minilm, "a <b> c", "norm")


def test_color_text_scale(words):
    out = ts.color_text(words, "the king dog", "norm", vmin=0.0, vmax=100.0)
    # every norm is far below 100, so every token gets the dark end of the scale
    assert set(re.findall(r"background:rgb\((\d+),", out)) <= {"68", "69", "70"}


def test_embed_strings(minilm, tokenizer, words):
    X = ts.embed_strings(minilm, ["king", "unbelievably", "new york"])
    assert X.shape == (3, minilm.dim) and X.dtype == np.float32
    np.testing.assert_array_equal(X[0], minilm["king"])
    ids = tokenizer.encode("unbelievably").ids[1:-1]
    assert len(ids) > 1
    np.testing.assert_allclose(X[1], minilm.vectors[ids].astype(np.float64).mean(0), atol=1e-6)
    W = ts.embed_strings(words, ["king queen", "dog"])
    np.testing.assert_allclose(W[0], (words["king"] + words["queen"]) / 2, atol=1e-6)
    with pytest.raises(KeyError, match="wolf"):
        ts.embed_strings(words, ["wolf"])
    with pytest.raises(TypeError):
        ts.embed_strings(words, "king")


def test_space_tokenize_method_is_used_and_special_tokens_dropped(words):
    class Tokenizing(ts.EmbeddingSpace):
        def tokenize(self, text):
            return ["<s>", *text.split(), "</s>"]

    vocab = [*words.vocab, "<s>", "</s>"]
    s = Tokenizing(np.vstack([words.vectors, np.ones((2, words.dim), np.float32)]), vocab)
    seq = ts.sequence_cosines(s, "the king dog")
    assert seq.tokens == ["the", "king", "dog"]
    np.testing.assert_allclose(seq.cosines, _cos_prev(words[["the", "king", "dog"]]), atol=1e-6)


def test_word_level_fallback_when_space_tokenize_rejects_words(words):
    class Strict(ts.EmbeddingSpace):
        def tokenize(self, text):
            return self.indices(text.split())  # KeyError on "The" / "dog!"

    s = Strict(words.vectors, words.vocab)
    seq = ts.sequence_cosines(s, "The king saw a dog!")
    assert seq.tokens == ["the", "king", "a", "dog", "!"]
