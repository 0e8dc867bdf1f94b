"""word2vec (text and binary) and GloVe files: readers and writers.

Parsing runs in C++ (``tokenspace._core.parse_text`` / ``parse_binary``) over a memory map of
the file (or the decompressed bytes of a ``.gz`` / ``.bz2`` file), multithreaded. Values are
parsed to double and rounded once to float32, as gensim's ``load_word2vec_format`` does, so the
vectors are bit-identical to gensim's.

Policies
--------
- Words are decoded with ``encoding`` (UTF-8 by default) under ``encoding_errors``: ``"strict"``
  (the default, like gensim) raises ``ValueError`` naming the line/record; ``"replace"``,
  ``"ignore"`` or ``"backslashreplace"`` load the file anyway.
- A word that appears twice keeps its first vector; a warning names it (gensim does the same).
- NaN / Inf values, a line with the wrong number of values, a truncated binary record, a header
  announcing more vectors than the file holds, an empty file: ``ValueError`` with the file and the
  line (text) or record (binary) number. Blank lines are skipped.
- Records past the header's count are ignored, as in gensim.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import mmap
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels

__all__ = ["read_records", "save_glove", "save_word2vec", "sniff_text_format"]

_GZ_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"


@contextlib.contextmanager
def open_bytes(path: str | os.PathLike) -> Iterator[Any]:
    """The file's bytes as a buffer: an mmap, or the decompressed data of .gz / .bz2 files."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a vector file")
    with open(path, "rb") as f:
        head = f.read(4)
        if not head:
            raise ValueError(f"{path}: the file is empty")
        if head[:2] == _GZ_MAGIC:
            f.seek(0)
            try:
                data = gzip.decompress(f.read())
            except (OSError, EOFError) as e:
                raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None
        elif head[:3] == _BZ2_MAGIC and path.suffix == ".bz2":
            f.seek(0)
            try:
                data = bz2.decompress(f.read())
            except (OSError, EOFError) as e:
                raise ValueError(f"{path}: corrupt or truncated bz2 data ({e})") from None
        else:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                yield mm
            finally:
                mm.close()
            return
    if not data:
        raise ValueError(f"{path}: the compressed file holds no data")
    yield data


def _parse_header(buf: Any) -> tuple[int, int, int] | None:
    """(count, dim, offset of the first record) when the first line is "V d", else None."""
    first = bytes(buf[:256])
    nl = first.find(b"\n")
    line = first if nl < 0 else first[:nl]
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), (len(buf) if nl < 0 else nl + 1)


def _looks_like_text_record(buf: Any, begin: int, dim: int) -> bool:
    chunk = bytes(buf[begin : begin + 256 + 64 * dim]).lstrip(b" \t\r\n")
    nl = chunk.find(b"\n")
    if nl < 0 and len(chunk) < len(buf) - begin:
        return False
    parts = (chunk if nl < 0 else chunk[:nl]).split()
    if len(parts) != dim + 1:
        return False
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return False
    return True


def sniff_text_format(buf: Any) -> str:
    """'word2vec-text', 'word2vec-binary' or 'glove' (no header) from the first bytes."""
    header = _parse_header(buf)
    if header is None:
        if b"\x00" in bytes(buf[:4096]):
            raise ValueError(
                "binary content without a 'count dim' header: not a word2vec/GloVe file "
                "(fastText .bin models and pickles are not supported; use the .vec text file)"
            )
        return "glove"
    _, dim, begin = header
    return "word2vec-text" if _looks_like_text_record(buf, begin, dim) else "word2vec-binary"


def _check_limit(limit: int | None) -> int:
    if limit is None:
        return 2**63 - 1
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    return int(limit)


def _dedupe(
    vectors: np.ndarray, words: list[str], where: np.ndarray | None, source: str, unit: str
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    index = dict(zip(words, range(len(words))))
    if len(index) == len(words):
        return vectors, words, index
    first: dict[str, int] = {}
    keep: list[int] = []
    dups: list[tuple[str, int, int]] = []
    for i, w in enumerate(words):
        j = first.setdefault(w, i)
        if j == i:
            keep.append(i)
        else:
            dups.append((w, j, i))
    w, j, i = dups[0]
    at = (lambda r: int(where[r])) if where is not None else (lambda r: r + 1)
    warnings.warn(
        f"{source}: {len(dups)} duplicate word(s) ignored, the first occurrence kept; e.g. "
        f"{w!r} at {unit} {at(i)} (first at {unit} {at(j)})",
        UserWarning,
        stacklevel=4,
    )
    ids = np.asarray(keep, dtype=np.int64)
    kept = [words[k] for k in keep]
    return vectors[ids], kept, dict(zip(kept, range(len(kept))))


def read_records(
    path: str | os.PathLike,
    *,
    kind: str | None,
    limit: int | None,
    encoding: str,
    encoding_errors: str,
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """Parse a word2vec/GloVe file: (vectors, unique words, word -> row).

    ``kind`` is "glove", "word2vec-text", "word2vec-binary", or None to sniff it from the content.
    Duplicate words keep their first vector (with a warning naming them)."""
    max_records = _check_limit(limit)
    source = str(path)
    with open_bytes(path) as buf:
        try:
            detected = sniff_text_format(buf)
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
        if kind == "glove" and detected != "glove":
            kind = detected  # a "V d" header line cannot be a GloVe record: read it as word2vec
        kind = kind or detected
        kw = {"source": source, "encoding": encoding, "errors": encoding_errors}
        if kind == "glove":
            vectors, words, lines = _kernels.parse_text(
                buf, begin=0, max_records=max_records, dim=0, first_line_no=1, **kw
            )
            return _dedupe(vectors, words, lines, source, "line")
        header = _parse_header(buf)
        if header is None:
            raise ValueError(
                f"{source}, line 1: expected a 'count dim' header line for the word2vec format "
                "(use load_glove for header-less files)"
            )
        count, dim, begin = header
        if dim == 0:
            raise ValueError(f"{source}, line 1: the header gives dimension 0")
        want = min(count, max_records)
        if want == 0:
            return np.zeros((0, dim), np.float32), [], {}
        if kind == "word2vec-text":
            vectors, words, lines = _kernels.parse_text(
                buf, begin=begin, max_records=want, dim=dim, first_line_no=2, **kw
            )
            unit, where = "line", lines
        else:
            vectors, words = _kernels.parse_binary(
                buf, begin=begin, max_records=want, dim=dim, **kw
            )
            unit, where = "record", None
        if len(words) < want:
            raise ValueError(
                f"{source}: the header announces {count} vectors but the file holds only "
                f"{len(words)} {unit}s (truncated file, or a wrong header)"
            )
        return _dedupe(vectors, words, where, source, unit)


def _write(space: Any, path: str | os.PathLike, *, header: bool, binary: bool) -> Path:
    vectors = np.ascontiguousarray(space.vectors, dtype=np.float32)
    words = list(space.vocab)
    chunks = _kernels.format_word_vectors(words, vectors, binary=binary)
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        if header:
            f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n".encode())
        for c in chunks:
            f.write(c)
    return path


def save_word2vec(space: Any, path: str | os.PathLike, *, binary: bool = False) -> Path:
    """Write a space in the word2vec format (``"count dim"`` header; text or binary).

    Text values are the shortest decimals that read back to the same float32, so loading the
    file (with tokenspace or gensim) gives the vectors back bit for bit. A ``.gz`` path is
    compressed. Words containing spaces or newlines cannot be stored and raise ``ValueError``.
    """
    return _write(space, path, header=True, binary=binary)


def save_glove(space: Any, path: str | os.PathLike) -> Path:
    """Write a space as a GloVe text file (no header line); see :func:`save_word2vec`."""
    return _write(space, path, header=False, binary=False)
