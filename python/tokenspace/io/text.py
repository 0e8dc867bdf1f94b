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
- Text or binary: the extension decides when it says (``.bin`` binary; ``.txt``, ``.vec``,
  ``.glove`` text; also under ``.gz`` / ``.bz2``), else the first records are tried both ways
  and the reading that parses is kept; either way the choice must parse, or ``ValueError``.
- Only regular files are read (a FIFO would block forever, a device never ends).
- Leniencies, kept on purpose (gensim reads these files the same way): a UTF-8 byte-order mark
  stays part of the first word (pass ``encoding="utf-8-sig"`` to drop it); values are parsed by
  ``strtod`` rules, so ``+2``, ``1e5`` and ``inf`` spellings are numbers (``inf``/``nan`` then
  raise); a value that overflows float32 raises, and one that underflows (``1e-400``) raises
  too instead of silently becoming 0.
- Writers refuse what a reader could not give back: an empty word, a word with a space,
  newline or NUL, a word starting with other whitespace (text formats), a word that is not
  valid UTF-8, and (GloVe, d = 1) a first record that would read as a ``count dim`` header.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import mmap
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .errors import TruncatedFileError, natural_error

__all__ = ["read_records", "save_glove", "save_word2vec", "sniff_text_format"]

_GZ_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"


@contextlib.contextmanager
def open_bytes(path: str | os.PathLike) -> Iterator[Any]:
    """The file's bytes as a buffer: an mmap, or the decompressed data of .gz / .bz2 files."""
    path = Path(path)
    require_regular_file(path)
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


def require_regular_file(path: Path) -> None:
    """Raise unless ``path`` is an existing regular file (not a folder, FIFO, device, socket)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path} is a folder, not a vector file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"{path} is not a regular file (a FIFO, device or socket); save the vectors to a "
            "file and load that"
        )


_TEXT_SUFFIXES = {".txt", ".vec", ".glove", ".tsv"}


def suffix_kind(path: Path) -> str | None:
    """'text' / 'binary' when the file name says so (under .gz/.bz2 too), else None."""
    suffixes = [x.lower() for x in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2"):
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    if suffixes[-1] == ".bin":
        return "binary"
    if suffixes[-1] in _TEXT_SUFFIXES:
        return "text"
    return None


def _parse_header(buf: Any) -> tuple[int, int, int] | None:
    """(count, dim, offset of the first record) when the first line is "V d", else None."""
    first = bytes(buf[:256])
    nl = first.find(b"\n")
    line = first if nl < 0 else first[:nl]
    # only spaces and tabs separate (as in the parser): "\v 0 1" is a GloVe record of "\v"
    parts = [p for p in line.rstrip(b" \t\r").replace(b"\t", b" ").split(b" ") if p]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), (len(buf) if nl < 0 else nl + 1)


_SNIFF_RECORDS = 8


def _text_records_parse(buf: Any, begin: int, dim: int, count: int) -> bool:
    """Whether the first records after the header parse as text lines of a word (up to the
    first space, as the parser reads it) and ``dim`` numbers."""
    pos, n, size = begin, 0, len(buf)
    want = min(count, _SNIFF_RECORDS)
    while n < want and pos < size:
        nl = buf.find(b"\n", pos)
        end = size if nl < 0 else nl
        line = bytes(buf[pos:end])
        pos = end + 1
        if not line.strip():
            continue
        sp = line.find(b" ")
        if sp <= 0:
            return False
        rest = line[sp:].rstrip(b" \t\r\n\v\f").replace(b"\t", b" ")
        values = [v for v in rest.split(b" ") if v]
        if len(values) != dim:
            return False
        try:
            [float(v) for v in values]
        except ValueError:
            return False
        n += 1
    return n == want or (n > 0 and pos >= size)  # a short file: the parser checks the count


def _binary_records_parse(buf: Any, begin: int, dim: int, count: int) -> bool:
    """Whether the first records after the header have the shape of binary records:
    ``word<space>`` then ``dim`` float32 values."""
    pos, size = begin, len(buf)
    for done in range(min(count, _SNIFF_RECORDS)):
        while pos < size and buf[pos : pos + 1] == b"\n":
            pos += 1  # gensim's writer ends records with a newline the reader skips
        sp = buf.find(b" ", pos)
        if sp <= pos:
            return False
        start = sp + 1
        if start + 4 * dim > size:
            return done > 0  # a truncated file: the parser names the record
        pos = start + 4 * dim  # the values' bytes can be anything; the parser checks them
    return True


def sniff_text_format(buf: Any, suffix: str | None = None) -> str:
    """'word2vec-text', 'word2vec-binary' or 'glove' (no header) from the first bytes.

    ``suffix`` ('text' / 'binary', from the file name) decides between text and binary when
    given; the content must still parse that way."""
    header = _parse_header(buf)
    if header is not None and suffix != "binary":
        count, dim, begin = header
        # GloVe with d = 1 whose first word is a number ("12 3"): the next records decide
        if (
            not _text_records_parse(buf, begin, dim, max(count, 1))
            and _text_records_parse(buf, 0, 1, _SNIFF_RECORDS)
            and (suffix == "text" or not _binary_records_parse(buf, begin, dim, count))
        ):
            return "glove"
    if header is None:
        if b"\x00" in bytes(buf[:4096]):
            raise ValueError(
                "binary content without a 'count dim' header: not a word2vec/GloVe file "
                "(fastText .bin models and pickles are not supported; use the .vec text file)"
            )
        return "glove"
    count, dim, begin = header
    if suffix == "binary":
        return "word2vec-binary"  # the parser names the first bad record
    if _text_records_parse(buf, begin, dim, count):
        return "word2vec-text"
    if suffix != "text" and _binary_records_parse(buf, begin, dim, count):
        return "word2vec-binary"
    if suffix == "text":
        return "word2vec-text"  # the parser names the first bad line
    raise ValueError(
        "after the 'count dim' header the records parse neither as text lines nor as binary "
        "records; pass binary=True or binary=False to read it one way and see the first error"
    )


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
    progress: bool = False,
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """Parse a word2vec/GloVe file: (vectors, unique words, word -> row).

    ``kind`` is "glove", "word2vec-text", "word2vec-binary", or None to sniff it from the content.
    Duplicate words keep their first vector (with a warning naming them)."""
    max_records = _check_limit(limit)
    try:
        return _read_records(path, kind, max_records, encoding, encoding_errors, progress)
    except (TruncatedFileError, UnicodeDecodeError):
        raise
    except ValueError as e:
        raise natural_error(e, path=str(path), encoding=encoding) from None


def _read_records(
    path: str | os.PathLike,
    kind: str | None,
    max_records: int,
    encoding: str,
    encoding_errors: str,
    progress: bool,
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    source = str(path)
    with open_bytes(path) as buf:
        if kind is None or kind == "glove":
            try:
                detected = sniff_text_format(buf, suffix_kind(Path(path)))
            except ValueError as e:
                raise ValueError(f"{source}: {e}") from None
            # a "V d" header line that the records confirm cannot be a GloVe record
            kind = detected
        kw: dict[str, Any] = {
            "source": source,
            "encoding": encoding,
            "errors": encoding_errors,
            "progress": progress,
        }
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


def _refusal(words: list[str], *, binary: bool, header: bool, vectors: np.ndarray) -> str | None:
    """Why the format cannot hold these words (None: it can)."""
    for i, w in enumerate(words):
        why = None
        if not w:
            why = "is empty"
        elif " " in w or "\n" in w or "\x00" in w:
            why = "contains a space (whitespace), a newline or NUL"
        else:
            try:
                w.encode("utf-8")
            except UnicodeEncodeError:
                why = "is not valid Unicode (a lone surrogate)"
        if why:
            return f"word {i} ({w!r}): it {why}"
    if (
        not header
        and vectors.shape[1] == 1
        and words
        and words[0].isdigit()
        and words[0].isascii()
        and float(vectors[0, 0]).is_integer()
        and vectors[0, 0] >= 0
    ):
        return (
            f"word 0 ({words[0]!r}): with the integer value {vectors[0, 0]:g} its line would "
            "read as a 'count dim' header (d = 1)"
        )
    return None


def _atomic_write(path: Path, pieces: Any) -> None:
    """Writes the byte strings of ``pieces`` to ``path`` under a temporary name, then renames
    it: a failed write leaves no half file behind and never touches the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(tmp, "wb") as f:
            for piece in pieces:
                f.write(piece)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(
    space: Any,
    path: str | os.PathLike,
    *,
    header: bool,
    binary: bool,
    fvocab: str | os.PathLike | None = None,
) -> Path:
    vectors = np.ascontiguousarray(space.vectors, dtype=np.float32)
    words = [str(w) for w in space.vocab]
    why = _refusal(words, binary=binary, header=header, vectors=vectors)
    if why:
        kind = "word2vec binary" if binary else ("word2vec text" if header else "GloVe")
        raise ValueError(
            f"the {kind} format cannot store {why}; rename or drop it, or save in the native "
            "format (s.save), which stores any token"
        )
    counts = None
    if fvocab is not None:
        counts = getattr(space, "counts", None)
        if counts is None:
            raise ValueError(
                "the space has no word counts to write to fvocab; load it with fvocab= or "
                "build it with counts="
            )
        unknown = int((np.asarray(counts) < 0).sum())
        if unknown:
            # gensim's loader fails on an fvocab file that lacks a word
            raise ValueError(
                f"{unknown} words have no count (-1), and an fvocab file needs one per word; "
                "give them one first, e.g. ts.EmbeddingSpace(s.vectors, s.vocab, "
                "counts=np.maximum(s.counts, 0)), or save natively (s.save keeps unknown counts)"
            )
        if Path(fvocab).resolve() == Path(path).resolve():
            raise ValueError("fvocab must be a different file from the vectors file")
    chunks = _kernels.format_word_vectors(words, vectors, binary=binary)
    path = Path(path)
    head = [f"{vectors.shape[0]} {vectors.shape[1]}\n".encode()] if header else []
    _atomic_write(path, [*head, *chunks])
    if counts is not None:  # gensim's layout: "word count" per line
        _atomic_write(
            Path(fvocab),  # type: ignore[arg-type]
            (f"{w} {int(c)}\n".encode() for w, c in zip(words, counts)),
        )
    return path


def save_word2vec(
    space: Any,
    path: str | os.PathLike,
    *,
    binary: bool = False,
    fvocab: str | os.PathLike | None = None,
) -> Path:
    """Write a space in the word2vec format (``"count dim"`` header; text or binary).

    Text values are the shortest decimals that read back to the same float32, so loading the
    file (with tokenspace or gensim) gives the vectors back bit for bit. A ``.gz`` path is
    compressed. Words the format cannot give back (see the module doc) raise ``ValueError``
    before anything is written. ``fvocab``: also write the space's word counts there, one
    ``word count`` line per word (gensim's ``fvocab`` file; read back with
    ``load_word2vec(fvocab=)``); every word needs a known count.
    """
    return _write(space, path, header=True, binary=binary, fvocab=fvocab)


def save_glove(
    space: Any, path: str | os.PathLike, *, fvocab: str | os.PathLike | None = None
) -> Path:
    """Write a space as a GloVe text file (no header line); see :func:`save_word2vec`."""
    return _write(space, path, header=False, binary=False, fvocab=fvocab)
