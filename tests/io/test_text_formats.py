"""word2vec / GloVe readers and writers against gensim on real files, and malformed input."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core

from ..models import gensim_data

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors


def assert_same_as_gensim(space, kv):
    assert space.vocab == list(kv.index_to_key)
    assert space.vectors.dtype == np.float32
    # bit for bit: gensim parses with float() then stores float32, as tokenspace does
    np.testing.assert_array_equal(space.vectors, kv.vectors)


@pytest.mark.parametrize(
    "name, no_header, binary",
    [
        ("word2vec_pre_kv_c", False, False),
        ("lee_fasttext.vec", False, False),
        ("crime-and-punishment.vec", False, False),
        ("high_precision.kv.txt", False, False),
        ("high_precision.kv.bin", False, True),
        ("euclidean_vectors.bin", False, True),
        ("test_glove.txt", True, False),
    ],
)
def test_gensim_test_data_bit_identical(name, no_header, binary):
    path = gensim_data(name)
    kv = KeyedVectors.load_word2vec_format(path, binary=binary, no_header=no_header)
    s = ts.load(path)
    assert ts.detect_format(path) == (
        "glove" if no_header else "word2vec-binary" if binary else "word2vec-text"
    )
    assert_same_as_gensim(s, kv)
    if no_header:
        assert_same_as_gensim(ts.load_glove(path), kv)
    else:
        assert_same_as_gensim(ts.load_word2vec(path, binary=binary), kv)


def test_limit_matches_gensim():
    path = gensim_data("lee_fasttext.vec")
    kv = KeyedVectors.load_word2vec_format(path, limit=100)
    assert_same_as_gensim(ts.load_word2vec(path, limit=100), kv)
    assert len(ts.load_glove(gensim_data("test_glove.txt"), limit=7)) == 7
    with pytest.raises(ValueError, match="limit"):
        ts.load_word2vec(path, limit=0)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_word2vec(tmp_path, binary, suffix):
    src = ts.load(gensim_data("lee_fasttext.vec"))
    out = ts.save_word2vec(
        src, tmp_path / f"w2v{'.bin' if binary else '.txt'}{suffix}", binary=binary
    )
    back = ts.load(out)
    assert back.vocab == src.vocab
    np.testing.assert_array_equal(back.vectors, src.vectors)
    # gensim reads our files too (it opens .gz itself), with the same vectors
    kv = KeyedVectors.load_word2vec_format(str(out), binary=binary)
    assert_same_as_gensim(back, kv)


def test_round_trip_glove_and_hard_values(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 7)).astype(np.float32)
    # extremes of float32: subnormals, the largest finite value, signed zero, powers of ten
    x[0] = [np.float32(1e-45), -np.finfo(np.float32).max, -0.0, 1e-38, 3.4e38, 1e-7, 123456789.0]
    words = [f"w{i}" for i in range(50)]
    words[1], words[2], words[3] = "null", "nan", "NaN"  # GloVe 6B has these: must stay words
    words[4] = "héllo-🙂"
    s = ts.EmbeddingSpace(x, words)
    back = ts.load_glove(ts.save_glove(s, tmp_path / "g.txt"))
    assert back.vocab == words
    np.testing.assert_array_equal(back.vectors, x)
    assert np.signbit(back.vectors[0, 2])
    with pytest.raises(ValueError, match="whitespace"):
        ts.save_glove(ts.EmbeddingSpace(x[:1], ["two words"]), tmp_path / "bad.txt")


@pytest.mark.slow
def test_glove_400k_text_file_identical_to_gensim_and_package(tmp_path, glove):
    path = ts.save_glove(glove, tmp_path / "glove.6B.50d.txt")
    s = ts.load(path)
    assert s.vocab == glove.vocab  # "null", "nan" included
    assert "null" in s and "nan" in s
    np.testing.assert_array_equal(s.vectors, glove.vectors)
    kv = KeyedVectors.load_word2vec_format(str(path), no_header=True, limit=40000)
    assert s.vocab[:40000] == list(kv.index_to_key)
    np.testing.assert_array_equal(s.vectors[:40000], kv.vectors)


# malformed input


def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_empty_and_blank_files(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        ts.load(write(tmp_path, "e.txt", b""))
    with pytest.raises(ValueError, match="no vectors"):
        ts.load(write(tmp_path, "b.txt", b"\n  \n\n"))
    with pytest.raises(ValueError, match="no data"):
        ts.load(write(tmp_path, "e.gz", gzip.compress(b"")))


def test_wrong_value_count_names_line(tmp_path):
    p = write(tmp_path, "g.txt", b"a 1 2 3\nb 1 2 3\n\nc 1 2\n")
    with pytest.raises(
        ValueError, match=r"g\.txt, line 4: expected 3 values after the word 'c', found 2"
    ):
        ts.load_glove(p)
    p = write(tmp_path, "g2.txt", b"a 1 2 3\nb 1 2 3 4 5\n")
    with pytest.raises(ValueError, match=r"line 2: .*found 5"):
        ts.load_glove(p)


def test_nan_inf_and_garbage_values(tmp_path):
    with pytest.raises(ValueError, match=r"line 3: value 2 of word 'c' is 'nan'"):
        ts.load(write(tmp_path, "n.txt", b"2 2\nb 1 2\nc 1 nan\n"))
    with pytest.raises(ValueError, match=r"line 1: .*'inf'"):
        ts.load_glove(write(tmp_path, "i.txt", b"a inf 2\n"))
    with pytest.raises(ValueError, match="float32 range"):
        ts.load_glove(write(tmp_path, "o.txt", b"a 1e39 2\n"))
    with pytest.raises(ValueError, match=r"line 2: value 1 of word 'b' is not a number: '1,5'"):
        ts.load_glove(write(tmp_path, "c.txt", b"a 1 2\nb 1,5 2\n"))


def test_nan_in_binary_names_record(tmp_path):
    v = np.array([[1, 2], [np.nan, 0]], np.float32)
    data = b"2 2\n" + b"a " + v[0].tobytes() + b"\nb " + v[1].tobytes() + b"\n"
    with pytest.raises(ValueError, match="record 2: value 1 is NaN or Inf"):
        ts.load(write(tmp_path, "n.bin", data))


def test_truncated_binary(tmp_path):
    src = ts.load(gensim_data("high_precision.kv.bin"))
    full = tmp_path / "full.bin"
    ts.save_word2vec(src, full, binary=True)
    raw = full.read_bytes()
    with pytest.raises(
        ValueError, match=r"record 2: the vector of word .* has only \d+ of its 8 bytes"
    ):
        ts.load(write(tmp_path, "t.bin", raw[:-4]))
    with pytest.raises(ValueError, match=r"announces 2 vectors but the file holds only 1"):
        ts.load_word2vec(write(tmp_path, "t2.bin", raw[: raw.index(b"\n", 5) + 1]), binary=True)
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        ts.load(write(tmp_path, "t.bin.gz", gzip.compress(raw)[:-10]))


def test_header_count_larger_than_file(tmp_path):
    with pytest.raises(ValueError, match="announces 5 vectors but the file holds only 2 lines"):
        ts.load(write(tmp_path, "h.txt", b"5 2\na 1 2\nb 3 4\n"))
    # gensim fails the same way on its own truncated fixture
    with pytest.raises(ValueError, match="announces 3 vectors"):
        ts.load(gensim_data("pretrained.vec"))


def test_header_dimension_mismatch(tmp_path):
    with pytest.raises(ValueError, match="line 2: expected 3 values"):
        ts.load_word2vec(write(tmp_path, "d.txt", b"2 3\na 1 2\nb 3 4\n"), binary=False)


def test_non_utf8_policy(tmp_path):
    p = write(tmp_path, "u.txt", b"ok 1 2\ncaf\xe9 3 4\n")
    with pytest.raises(
        ValueError, match=r"u\.txt, line 2: the word is not valid utf-8.*encoding_errors="
    ):
        ts.load_glove(p)
    s = ts.load_glove(p, encoding_errors="replace")
    assert s.vocab == ["ok", "caf\ufffd"]
    assert ts.load_glove(p, encoding="latin-1").vocab == ["ok", "café"]
    kv = KeyedVectors.load_word2vec_format(str(p), no_header=True, unicode_errors="replace")
    assert s.vocab == list(kv.index_to_key)


def test_duplicates_keep_first_and_warn(tmp_path):
    p = write(tmp_path, "d.txt", b"3 2\na 1 2\nb 3 4\na 5 6\n")
    with pytest.warns(
        UserWarning, match=r"1 duplicate word\(s\).*'a' at line 4 \(first at line 2\)"
    ):
        s = ts.load(p)
    assert s.vocab == ["a", "b"]
    np.testing.assert_array_equal(s["a"], [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kv = KeyedVectors.load_word2vec_format(str(p))
    np.testing.assert_array_equal(kv["a"], s["a"])


def test_crlf_tabs_blank_lines_and_plus_sign(tmp_path):
    p = write(tmp_path, "w.txt", b"2 3\r\n\r\na +1 2\t3 \r\nb 4 5e-1 .5\r\n")
    s = ts.load(p)
    assert s.vocab == ["a", "b"]
    np.testing.assert_array_equal(s.vectors, np.array([[1, 2, 3], [4, 0.5, 0.5]], np.float32))


def test_binary_content_without_header_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="not a word2vec/GloVe file"):
        ts.load(gensim_data("toy-model.bin"))
    with pytest.raises(ValueError, match="empty word"):
        ts.load_glove(write(tmp_path, "s.txt", b"a 1 2\n 3 4\n"))


# fuzzing (bounded)
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.binary(max_size=600), st.integers(0, 8), st.integers(1, 50))
def test_fuzz_parsers_never_crash(data, dim, max_records):
    """Random bytes: the C++ parsers either parse or raise ValueError, never crash or hang."""
    for call in (
        lambda: _core.parse_text(data, 0, max_records, dim, 1, "<fuzz>", "utf-8", "replace"),
        lambda: _core.parse_binary(data, 0, max_records, max(dim, 1), "<fuzz>", "utf-8", "replace"),
    ):
        try:
            out = call()
        except ValueError:
            continue
        vectors, words = out[0], out[1]
        assert vectors.shape[0] == len(words) <= max_records
        assert np.isfinite(vectors).all()


@FUZZ
@given(
    st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=20)
)
def test_fuzz_float_text_round_trip(values):
    """Shortest float32 text reads back bit for bit."""
    x = np.asarray([values], dtype=np.float32)
    (chunk,) = _core.format_word_vectors(["w"], x, False)
    v, w, _ = _core.parse_text(chunk)
    assert w == ["w"]
    assert v.tobytes() == x.tobytes()


# ASCII digits only: Python's float() also takes other Unicode digits, word2vec files never do
decimal_text = st.builds(
    lambda sign, whole, frac, exp: sign + whole + frac + exp,
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", min_size=1, max_size=22),
    st.one_of(st.just(""), st.text("0123456789", max_size=22).map(lambda f: "." + f)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, s, d: e + s + str(d),
            st.sampled_from("eE"),
            st.sampled_from(["", "-", "+"]),
            st.integers(0, 60),
        ),
    ),
)


@FUZZ
@given(st.lists(decimal_text, min_size=1, max_size=10))
def test_fuzz_decimal_parsing_equals_python_float(texts):
    """Every decimal parses to float32(float(text)), gensim's rule (also past the fast path)."""
    expect = np.asarray([float(t) for t in texts], dtype=np.float64)
    with np.errstate(over="ignore"):
        expect32 = expect.astype(np.float32)
    line = ("w " + " ".join(texts) + "\n").encode()
    if not np.isfinite(expect32).all():
        with pytest.raises(ValueError, match=r"NaN/Inf|float32 range"):
            _core.parse_text(line)
        return
    v, _, _ = _core.parse_text(line)
    assert v[0].tobytes() == expect32.tobytes()


record = st.tuples(
    st.text(
        # no lone surrogates: they cannot be encoded to the UTF-8 bytes of a file
        st.characters(
            blacklist_categories=("Cs",),
            blacklist_characters=" \n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.sampled_from(["0", "1.5", "-2e-3", "nan", "x", "", "+.5"]), max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(record, max_size=6).map(
            lambda rs: "\n".join(w + " " + " ".join(v) for w, v in rs).encode()
        ),
    ),
    st.sampled_from([b"", b"3 2\n", b"2 1\n", b"1 0\n"]),
    st.booleans(),
)
def test_fuzz_files_through_load(body, header, compress):
    """Whole files (random bytes or near-valid text, with or without header, gzipped or not)
    through the public loader: a space or ValueError, nothing else."""
    import tempfile
    from pathlib import Path

    data = header + body
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.txt"
        p.write_bytes(gzip.compress(data) if compress else data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = ts.load(p)
        except ValueError:
            return
        assert np.isfinite(s.vectors).all() and len(set(s.vocab)) == len(s)


def test_atheris_fuzz_parsers(tmp_path):
    """Coverage-guided fuzzing (libFuzzer via atheris) for a bounded time, in a subprocess
    (atheris exits the process when done)."""
    pytest.importorskip("atheris")
    import os
    import subprocess
    import sys
    from pathlib import Path

    harness = Path(__file__).with_name("fuzz_parsers_atheris.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, str(harness), "-max_total_time=10", "-runs=200000", "-seed=1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Done" in out.stderr


@FUZZ
@given(
    st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters=" \n\t\r"),
            min_size=1,
            max_size=8,
        ),
        min_size=1,
        max_size=12,
        unique=True,
    ),
    st.integers(1, 5),
    st.booleans(),
)
def test_fuzz_round_trip_unicode_words(words, dim, binary):
    """Any words without separators survive a write/read cycle in both formats."""
    rng = np.random.default_rng(len(words))
    x = rng.standard_normal((len(words), dim)).astype(np.float32)
    body = b"".join(_core.format_word_vectors(words, x, binary))
    header = f"{len(words)} {dim}\n".encode()
    if binary:
        v, w = _core.parse_binary(header + body, len(header), len(words), dim)
    else:
        v, w, _ = _core.parse_text(header + body, len(header), len(words), dim, 2)
    assert w == words
    assert v.tobytes() == x.tobytes()
