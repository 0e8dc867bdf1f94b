"""Files that change underneath, failed saves, non-regular files and corrupt headers (issue 16
items 2, 4, 7, 12, 14). Races with open memory maps run in child interpreters, so a SIGBUS
fails the test instead of the run."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.io.safetensors import SafetensorsError, read_tensor

from ._subprocess import describe, run_snippet


def _space(n: int, d: int, seed: int, prefix: str = "w") -> ts.EmbeddingSpace:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return ts.EmbeddingSpace(x, [f"{prefix}{i}" for i in range(n)])


@pytest.mark.parametrize("other_rows", [300, 40])  # same size, and a smaller file
def test_save_over_an_open_mapped_space(tmp_path, other_rows: int) -> None:
    code = f"""
import numpy as np, tokenspace as ts
rng = np.random.default_rng(1)
a = ts.EmbeddingSpace(rng.standard_normal((300, 16)).astype(np.float32),
                      [f"a{{i}}" for i in range(300)])
a.save({str(tmp_path / "f")!r})
s = ts.load({str(tmp_path / "f")!r})
before = np.array(s.vectors)
ref = a.knn("a0", k=5).indices
b = ts.EmbeddingSpace(rng.standard_normal(({other_rows}, 16)).astype(np.float32),
                      [f"b{{i}}" for i in range({other_rows})])
b.save({str(tmp_path / "f")!r}, overwrite=True)
assert (s.knn("a0", k=5).indices == ref).all()
assert (np.asarray(s.vectors) == before).all()
t = ts.load({str(tmp_path / "f")!r})
assert t.vocab == b.vocab and (np.asarray(t.vectors) == b.vectors).all()
print("ok")
"""
    proc = run_snippet(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", describe(proc)


def test_save_a_mapped_space_into_its_own_folder(tmp_path) -> None:
    code = f"""
import numpy as np, tokenspace as ts
a = ts.EmbeddingSpace(np.random.default_rng(2).standard_normal((500, 32)).astype(np.float32),
                      [f"a{{i}}" for i in range(500)])
a.save({str(tmp_path / "f")!r})
s = ts.load({str(tmp_path / "f")!r})
s.save({str(tmp_path / "f")!r}, overwrite=True)
t = ts.load({str(tmp_path / "f")!r})
assert t.vocab == a.vocab and (np.asarray(t.vectors) == a.vectors).all()
assert s.knn("a1", k=3).indices.shape == (1, 3)
print("ok")
"""
    proc = run_snippet(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", describe(proc)


def test_failed_save_leaves_the_target_retryable(tmp_path) -> None:
    bad = ts.EmbeddingSpace(np.ones((2, 3), np.float32), ["ok", "bad\ud800"])
    with pytest.raises(ValueError, match="UTF-8"):
        bad.save(tmp_path / "f")
    assert not (tmp_path / "f").exists()
    good = _space(4, 3, 0)
    good.save(tmp_path / "f")
    with pytest.raises(ValueError, match="UTF-8"):
        bad.save(tmp_path / "f", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "tokenspace.json",
        "vectors.npy",
        "vocab.txt",
    ]
    assert ts.load(tmp_path / "f").vocab == good.vocab  # the old save is intact
    with pytest.raises(ValueError, match="whitespace"):
        ts.save_glove(ts.EmbeddingSpace(np.ones((1, 2), np.float32), ["a b"]), tmp_path / "g.txt")
    assert not (tmp_path / "g.txt").exists()


def test_nan_in_a_mapped_native_matrix_is_refused(tmp_path) -> None:
    _space(10, 4, 0).save(tmp_path / "f")
    x = np.load(tmp_path / "f" / "vectors.npy")
    x[7, 2] = np.inf
    np.save(tmp_path / "f" / "vectors.npy", x)
    for mmap in (True, False):
        with pytest.raises(ValueError, match="row 7 contains NaN or Inf"):
            ts.load(tmp_path / "f", mmap=mmap)


def test_truncated_native_matrix(tmp_path) -> None:
    _space(50, 8, 0).save(tmp_path / "f")
    npy = tmp_path / "f" / "vectors.npy"
    npy.write_bytes(npy.read_bytes()[:500])
    for mmap in (True, False):
        with pytest.raises(EOFError, match=r"vectors\.npy: unreadable or truncated") as e:
            ts.load(tmp_path / "f", mmap=mmap)
        assert isinstance(e.value, ValueError)
    npy.write_bytes(b"\x93NUMPY")
    with pytest.raises(ValueError, match=r"vectors\.npy"):
        ts.load(tmp_path / "f")


def test_corrupt_marker_names_the_file(tmp_path) -> None:
    _space(3, 2, 0).save(tmp_path / "f")
    (tmp_path / "f" / "tokenspace.json").write_text("[1, 2")
    with pytest.raises(ValueError, match=r"tokenspace\.json: unreadable"):
        ts.load(tmp_path / "f")
    (tmp_path / "f" / "tokenspace.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"tokenspace\.json: expected a JSON object"):
        ts.load(tmp_path / "f")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_and_devices_are_refused(tmp_path) -> None:
    fifo = tmp_path / "vectors.txt"
    os.mkfifo(fifo)
    # in a child with a timeout: reading a FIFO without a writer would block this run forever
    code = f"""
import tokenspace as ts
for f in (ts.load, ts.load_word2vec, ts.load_glove, ts.detect_format):
    try:
        f({str(fifo)!r})
    except ValueError as e:
        assert "not a regular file" in str(e), e
    else:
        raise SystemExit("accepted a FIFO")
try:
    ts.load("/dev/null")
except ValueError as e:
    assert "not a regular file" in str(e), e
print("ok")
"""
    proc = run_snippet(code, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", describe(proc)


def _safetensors(path, table: dict, payload: bytes) -> None:
    hdr = json.dumps(table).encode()
    path.write_bytes(struct.pack("<Q", len(hdr)) + hdr + payload)


@pytest.mark.parametrize(
    "offsets", [[-8, 8], [8, 0], [0, 10**12], ["0", "16"], [0], None, [0.0, 16.0]]
)
def test_safetensors_offsets_out_of_range(tmp_path, offsets) -> None:
    f = tmp_path / "m.safetensors"
    _safetensors(f, {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": offsets}}, b"\0" * 16)
    with pytest.raises(SafetensorsError, match=r"m\.safetensors"):
        read_tensor(f, "w")


def test_safetensors_bad_shape(tmp_path) -> None:
    f = tmp_path / "m.safetensors"
    _safetensors(f, {"w": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}, b"0" * 16)
    with pytest.raises(SafetensorsError, match="shape"):
        read_tensor(f, "w")


def _hf_folder(tmp_path, files: dict[str, str]):
    x = np.arange(20, dtype=np.float32).reshape(5, 4)
    d = tmp_path / "hf"
    d.mkdir()
    _safetensors(
        d / "model.safetensors",
        {
            "embeddings.word_embeddings.weight": {
                "dtype": "F32",
                "shape": [5, 4],
                "data_offsets": [0, 80],
            }
        },
        x.tobytes(),
    )
    (d / "config.json").write_text(json.dumps({"hidden_size": 4, "model_type": "bert"}))
    for name, text in files.items():
        (d / name).write_text(text)
    return d, x


def test_hf_plain_vocab_txt_loads_the_embeddings(tmp_path) -> None:
    d, x = _hf_folder(tmp_path, {"vocab.txt": "a\nb\nc\nd\ne\n"})
    with pytest.warns(UserWarning, match="tokenizer could not be built"):
        s = ts.load(d)
    assert s.vocab == ["a", "b", "c", "d", "e"]
    np.testing.assert_array_equal(s.vectors, x)


@pytest.mark.parametrize("text", ["{bad", "[]", '{"model": {"vocab": {"a": "x"}}}'])
def test_hf_malformed_tokenizer_json_names_the_file(tmp_path, text: str) -> None:
    d, _ = _hf_folder(tmp_path, {"tokenizer.json": text})
    with pytest.raises(ValueError, match=r"tokenizer\.json: not a valid"):
        ts.load(d)


def test_loader_errors_keep_their_natural_types(tmp_path) -> None:
    from tokenspace.io.errors import TruncatedFileError, WordDecodeError

    f = tmp_path / "v.txt"
    f.write_bytes(b"2 2\nok 1 2\nb\xffad 3 4\n")
    with pytest.raises(UnicodeDecodeError, match="line 3") as e:
        ts.load(f)
    assert isinstance(e.value, WordDecodeError) and isinstance(e.value, ValueError)
    assert e.value.path == str(f) and e.value.line == 3
    ts.save_word2vec(ts.EmbeddingSpace(np.ones((3, 2), np.float32), list("abc")), f)
    f.write_bytes(f.read_bytes()[:-6])
    with pytest.raises(EOFError) as t:
        ts.load(f)
    assert isinstance(t.value, TruncatedFileError) and isinstance(t.value, ValueError)
    assert t.value.path == str(f)
    b = tmp_path / "v.bin"
    ts.save_word2vec(ts.EmbeddingSpace(np.ones((3, 2), np.float32), list("abc")), b, binary=True)
    b.write_bytes(b.read_bytes()[:-3])
    with pytest.raises(EOFError, match="record 3"):
        ts.load(b)
