"""Writer/reader pairs give back what was saved, or refuse at save time (issue 16 item 5).

The fuzz draws arbitrary Unicode vocabularies, control characters included, and asserts for
every format: load(save(x)) == x, or a ValueError from the writer and no file left behind.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenspace as ts

FORMATS = {
    "native": (lambda s, p: s.save(p), lambda p: ts.load(p), ""),
    "word2vec-text": (lambda s, p: ts.save_word2vec(s, p), ts.load_word2vec, ".txt"),
    "word2vec-binary": (lambda s, p: ts.save_word2vec(s, p, binary=True), ts.load_word2vec, ".bin"),
    "word2vec-text-noext": (lambda s, p: ts.save_word2vec(s, p), ts.load, ""),
    "word2vec-binary-noext": (lambda s, p: ts.save_word2vec(s, p, binary=True), ts.load, ""),
    "glove": (lambda s, p: ts.save_glove(s, p), ts.load_glove, ".txt"),
    "glove-noext": (lambda s, p: ts.save_glove(s, p), ts.load, ""),
}


def _round_trip(fmt: str, space: ts.EmbeddingSpace, path) -> ts.EmbeddingSpace | None:
    save, load, ext = FORMATS[fmt]
    target = path.with_name(path.name + ext)
    try:
        save(space, target)
    except ValueError:
        assert not target.exists() or (fmt == "native" and not any(target.iterdir()))
        return None
    return load(target)


words = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=()), min_size=1, max_size=12)
    | st.text(alphabet=" \t\n\r\v\f\x00\x1c\x1d\x1e\x85\u2028\ufeffab1", min_size=1, max_size=6),
    min_size=1,
    max_size=6,
    unique=True,
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(vocab=words, dim=st.integers(1, 3), data=st.data())
def test_fuzz_writer_reader_pairs(tmp_path_factory, fmt, vocab, dim, data) -> None:
    values = data.draw(
        st.lists(
            st.floats(width=32, allow_nan=False, allow_infinity=False),
            min_size=len(vocab) * dim,
            max_size=len(vocab) * dim,
        )
    )
    x = np.array(values, dtype=np.float32).reshape(len(vocab), dim)
    space = ts.EmbeddingSpace(x, vocab)
    back = _round_trip(fmt, space, tmp_path_factory.mktemp(fmt) / "v")
    if back is None:
        return  # refused at save time, nothing written
    assert back.vocab == vocab
    np.testing.assert_array_equal(np.asarray(back.vectors), x)


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-text-noext", "glove-noext"])
@pytest.mark.parametrize("first", ["w" * 600, "a\vb", "a\fb", "\v", "\f1", "x\x1cy", "\u2028z"])
def test_instances_read_back_as_text(tmp_path, fmt: str, first: str) -> None:
    x = np.array([[0.5, -1.25], [2.0, 3.0]], np.float32)
    back = _round_trip(fmt, ts.EmbeddingSpace(x, [first, "b"]), tmp_path / "v")
    assert back is not None
    assert back.vocab == [first, "b"]
    np.testing.assert_array_equal(back.vectors, x)


def test_glove_d1_numeric_first_word(tmp_path) -> None:
    x = np.array([[0.5], [2.0], [7.0]], np.float32)
    back = _round_trip("glove", ts.EmbeddingSpace(x, ["12", "b", "c"]), tmp_path / "v")
    assert back is not None and back.vocab == ["12", "b", "c"]
    # the one GloVe file a reader could not tell from a header is refused at save time
    with pytest.raises(ValueError, match="header"):
        ts.save_glove(ts.EmbeddingSpace(x[[2, 0, 1]], ["3", "b", "c"]), tmp_path / "h.txt")
    # a hand-written GloVe file of that kind still reads: the records decide
    (tmp_path / "g.txt").write_text("12 3\nb 2\nc 7\n")
    assert ts.load_glove(tmp_path / "g.txt").vocab == ["12", "b", "c"]


def test_nul_word_is_refused_by_text_and_binary(tmp_path) -> None:
    s = ts.EmbeddingSpace(np.ones((1, 2), np.float32), ["a\x00b"])
    for fmt in ("word2vec-text", "word2vec-binary", "glove"):
        assert _round_trip(fmt, s, tmp_path / fmt) is None
    back = _round_trip("native", s, tmp_path / "n")
    assert back is not None and back.vocab == ["a\x00b"]


def test_binary_that_looks_like_text(tmp_path) -> None:
    # float32 bytes spelling ASCII digits and spaces: the .bin name and the record shape decide
    v = np.frombuffer(b"1 2 3 4 5 6 7 8 ", dtype="<f4").reshape(2, 2)
    s = ts.EmbeddingSpace(v.copy(), ["a", "b"])
    for name in ("v.bin", "v"):
        ts.save_word2vec(s, tmp_path / name, binary=True)
        back = ts.load(tmp_path / name)
        assert back.vocab == ["a", "b"]
        np.testing.assert_array_equal(back.vectors, v)
        assert ts.detect_format(tmp_path / name) == "word2vec-binary"
