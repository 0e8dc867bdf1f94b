"""Native folders (s.save / ts.load), format detection, gensim interop."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tokenspace as ts

from ..models import gensim_data


def is_mapped(a) -> bool:
    import mmap

    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


def small_space():
    rng = np.random.default_rng(3)
    words = ["the", "null", "nan", "a b", "tab\tword", "new\nline", "🙂", ""]
    return ts.EmbeddingSpace(
        rng.standard_normal((len(words), 5)).astype(np.float32), words, name="tiny"
    )


@pytest.mark.parametrize("mmap", [True, False])
def test_native_round_trip(tmp_path, mmap):
    s = small_space()
    path = s.save(tmp_path / "tiny")
    assert ts.detect_format(path) == "native"
    back = ts.load(path, mmap=mmap)
    assert back.vocab == s.vocab and back.name == "tiny"
    np.testing.assert_array_equal(back.vectors, s.vectors)
    assert is_mapped(back.vectors) == mmap
    assert not back.vectors.flags.writeable
    # tokens with newlines force the JSON vocabulary
    assert json.loads((path / "tokenspace.json").read_text())["vocab"] == "vocab.json"


def test_native_plain_vocab_and_overwrite(tmp_path):
    s = ts.load(gensim_data("lee_fasttext.vec"))
    path = s.save(tmp_path / "lee")
    assert (path / "vocab.txt").exists()
    back = ts.load(path)
    assert back.vocab == s.vocab
    np.testing.assert_array_equal(back.vectors, s.vectors)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        s.save(path)
    s.save(path, overwrite=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        s.save(tmp_path / "other", overwrite=True)


def test_native_keeps_tokenizer(tmp_path, minilm_folder):
    s = ts.load(minilm_folder)
    back = ts.load(s.save(tmp_path / "minilm"))
    assert back.tokenize("Tokenization").tokens == ["token", "##ization"]
    np.testing.assert_array_equal(back.embed("Tokenization"), s.embed("Tokenization"))


def test_native_corruption(tmp_path):
    path = small_space().save(tmp_path / "c")
    np.save(path / "vectors.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"says float32 \(8, 5\)"):
        ts.load(path)
    (path / "tokenspace.json").write_text("{broken")
    with pytest.raises(ValueError, match="unreadable"):
        ts.load(path)
    path2 = small_space().save(tmp_path / "d")
    raw = (path2 / "vectors.npy").read_bytes()
    (path2 / "vectors.npy").write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated"):
        ts.load(path2)


@pytest.mark.slow
def test_native_400k(tmp_path, glove):
    back = ts.load(glove.save(tmp_path / "glove"))
    assert back.vocab == glove.vocab and "null" in back and "nan" in back
    np.testing.assert_array_equal(back.vectors, glove.vectors)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither an embedded model"):
        ts.load(tmp_path / "missing.txt")
    with pytest.raises(KeyError, match="'zzz' is not in the vocabulary"):
        ts.load(gensim_data("test_glove.txt")).tokenize("the zzz")


def test_gensim_interop():
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(gensim_data("lee_fasttext.vec"))
    s = ts.from_gensim(kv)
    assert s.vocab == list(kv.index_to_key)
    np.testing.assert_array_equal(s.vectors, kv.vectors)
    kv2 = s.to_gensim()
    assert list(kv2.index_to_key) == s.vocab
    np.testing.assert_array_equal(kv2.vectors, s.vectors)
    # gensim computes the same neighbours on the round-tripped vectors
    assert kv2.most_similar("government", topn=5) == kv.most_similar("government", topn=5)
    with pytest.raises(TypeError, match="KeyedVectors"):
        ts.from_gensim(object())


def test_word_space_embed_and_tokenize():
    s = ts.load(gensim_data("test_glove.txt"))
    np.testing.assert_array_equal(s.embed("the"), s["the"])
    t = s.tokenize("the  of")
    assert t.tokens == ["the", "of"] and t.offsets == [(0, 3), (5, 7)]
    np.testing.assert_allclose(
        s.embed("the of"), (s["the"].astype(np.float64) + s["of"]) / 2, rtol=1e-6
    )


def test_cli_convert_and_tokenize(tmp_path, capsys, minilm_folder):
    from tokenspace.cli import main

    src = gensim_data("lee_fasttext.vec")
    assert main(["convert", src, str(tmp_path / "lee"), "--to", "native"]) == 0
    assert (
        main(
            ["convert", str(tmp_path / "lee"), str(tmp_path / "lee.bin"), "--to", "word2vec-binary"]
        )
        == 0
    )
    a, b = ts.load(src), ts.load(tmp_path / "lee.bin")
    assert a.vocab == b.vocab and np.array_equal(a.vectors, b.vectors)
    assert main(["tokenize", "minilm-l6", "Tokenization"]) == 0
    assert "##ization" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "x")]) == 2


def test_lazy_index():
    x = np.eye(3, dtype=np.float32)
    s = ts.EmbeddingSpace(x, ["a", "b", "c"], lazy_index=True)
    assert s._index is None  # nothing built yet
    assert s.index("c") == 2 and "b" in s and s._index is not None
    bad = ts.EmbeddingSpace(x, ["a", "b", "a"], lazy_index=True)
    with pytest.raises(ValueError, match="appears twice"):
        bad.index("a")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        s.nope
