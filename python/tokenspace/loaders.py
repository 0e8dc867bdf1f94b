"""Loaders: the functions that build an :class:`EmbeddingSpace` from a name, a file, a folder or
a peer's object. The formats themselves are read by :mod:`tokenspace.io`."""

from __future__ import annotations

import bz2
import gzip
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import interop
from .io.embedded import EMBEDDED, embedded_path, read_embedded_glove
from .io.hf import read_hf
from .io.native import is_native, read_native
from .io.text import (
    open_bytes,
    read_records,
    require_regular_file,
    sniff_text_format,
    suffix_kind,
)
from .space import EmbeddingSpace

__all__ = [
    "EMBEDDED",
    "detect_format",
    "from_gensim",
    "load",
    "load_embedded",
    "load_glove",
    "load_hf",
    "load_native",
    "load_word2vec",
    "read_fvocab",
]


def detect_format(path: str | os.PathLike) -> str:
    """What ``load`` would read at ``path``: 'native', 'hf', 'word2vec-text', 'word2vec-binary'
    or 'glove'.

    Folders: native when they hold ``tokenspace.json``, else Hugging Face. Files: the extension
    decides text or binary when it says (``.bin``; ``.txt``, ``.vec``, ``.glove``), else the
    first records are tried both ways; the choice must parse. Only regular files are read
    (ValueError for a FIFO, device or socket).
    """
    path = Path(path)
    if path.is_dir():
        return "native" if is_native(path) else "hf"
    require_regular_file(path)
    with open_bytes(path) as buf:
        try:
            return sniff_text_format(buf, suffix_kind(path))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def load(
    name_or_path: str | os.PathLike,
    *,
    mmap: bool = True,
    limit: int | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    progress: bool = False,
) -> EmbeddingSpace:
    """Load an embedding space by embedded-model name or from a path, detecting the format.

    Parameters
    ----------
    name_or_path : str or path
        ``"glove-6b-50d"`` or ``"minilm-l6"`` (the embedded defaults); a folder written by
        ``s.save`` (native format); a Hugging Face model folder; or a word2vec (text/binary) or
        GloVe file, optionally gzip/bz2-compressed; the format is detected from the content.
    mmap : bool, default True
        Native folders: memory-map the matrix (opens in milliseconds).
    limit : int, optional
        word2vec/GloVe files: read only the first ``limit`` vectors.
    encoding, encoding_errors : str
        word2vec/GloVe files: how words are decoded (see :func:`load_word2vec`).
    progress : bool, default False
        word2vec/GloVe files: show a progress bar on stderr while parsing.
    """
    key = os.fspath(name_or_path) if isinstance(name_or_path, os.PathLike) else name_or_path
    if isinstance(key, str) and key in EMBEDDED:
        return load_embedded(key)
    path = Path(name_or_path)
    if path.is_dir():
        return load_native(path, mmap=mmap) if is_native(path) else load_hf(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{key!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor an existing path"
        )
    require_regular_file(path)
    return load_word2vec(
        path,
        limit=limit,
        encoding=encoding,
        encoding_errors=encoding_errors,
        progress=progress,
    )


def load_embedded(name: str) -> EmbeddingSpace:
    """Load one of :data:`EMBEDDED` by name (real data shipped by PyPI packages)."""
    if name not in EMBEDDED:
        raise KeyError(f"unknown embedded model {name!r}; available: {', '.join(EMBEDDED)}")
    if name == "glove-6b-50d":
        vectors, vocab = read_embedded_glove()
        # read afresh from the package's file: nobody else holds it, no defensive copy
        return EmbeddingSpace(vectors, vocab, name=name, copy=False)
    return load_hf(embedded_path(name), name=name)


def load_native(
    path: str | os.PathLike, *, mmap: bool = True, name: str | None = None
) -> EmbeddingSpace:
    """Open a folder written by :func:`save_native` (``s.save(path)``).

    Parameters
    ----------
    mmap : bool, default True
        Memory-map the matrix (read-only): a 400k x 300 space opens in a fraction of a second
        (one NaN/Inf scan at memory speed). ``False`` copies the matrix into memory, for files
        that other programs may rewrite in place while the space is open (see
        :mod:`tokenspace.io.native` for the memory-map model).
    name : str, optional
        Label of the space (default: the saved name, else the folder name).
    """
    f = read_native(path, mmap=mmap)
    return EmbeddingSpace(
        f.vectors,
        f.vocab,
        name=name or f.name,
        check=not f.checked,
        tokenizer=f.tokenizer,
        counts=f.counts,
        # the vocabulary was unique when saved: the word index is built on first lookup
        lazy_index=True,
        # the reader's own array (a read-only map, or read afresh): no defensive copy
        copy=False,
    )


def load_hf(folder: str | os.PathLike, *, name: str | None = None) -> EmbeddingSpace:
    """The input-embedding matrix of a local Hugging Face model folder, with its vocabulary.

    Parameters
    ----------
    folder : path
        A model folder (``config.json``, ``model.safetensors`` or sharded
        ``model-0000x-of-0000n.safetensors`` + ``model.safetensors.index.json``,
        ``tokenizer.json`` or ``vocab.txt``), e.g. one written by ``save_pretrained``.
    name : str, optional
        Label of the space (default: the folder name).

    Returns
    -------
    EmbeddingSpace
        ``s.vocab[i]`` is token id ``i``; F16/BF16 weights are widened to float32. torch is never
        imported for safetensors folders; ``pytorch_model.bin`` folders need torch.
    """
    hf = read_hf(folder)
    return EmbeddingSpace(
        hf.vectors,
        hf.vocab,
        name=name or hf.folder.name,
        check=False,
        tokenizer=hf.tokenizer,
        model_dir=hf.folder,
        copy=False,  # the reader's own array: no defensive copy
    )


def load_word2vec(
    path: str | os.PathLike,
    *,
    binary: bool | None = None,
    limit: int | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    name: str | None = None,
    progress: bool = False,
    fvocab: str | os.PathLike | None = None,
) -> EmbeddingSpace:
    """Load a word2vec file: text or binary (detected), plain, ``.gz`` or ``.bz2``.

    Parameters
    ----------
    path : path
        The file. Its first line is the ``"count dim"`` header; a file without one is read as
        GloVe text.
    binary : bool, optional
        Force the binary (True) or text (False) reading; by default it is detected from the
        first record.
    limit : int, optional
        Read only the first ``limit`` vectors (like gensim's ``limit``).
    encoding, encoding_errors : str
        How word bytes are decoded; ``encoding_errors="strict"`` (default) raises on invalid
        bytes naming the line/record, ``"replace"``/``"ignore"`` load the file anyway.
    name : str, optional
        Label of the space (default: the file name).
    progress : bool, default False
        Show a progress bar with an ETA on stderr while parsing (Ctrl-C stops it).
    fvocab : path, optional
        A word-count file (``word count`` per line, as word2vec's ``-save-vocab`` and
        gensim's ``save_word2vec_format(fvocab=...)`` write it): the counts become
        ``s.counts``. Words the file lacks get -1 (with a warning); gensim's ``fvocab``.
        Without it ``counts`` is None (gensim would invent descending counts).

    Returns
    -------
    EmbeddingSpace
        Vectors equal bit for bit to gensim's ``KeyedVectors.load_word2vec_format``.
    """
    kind = None if binary is None else ("word2vec-binary" if binary else "word2vec-text")
    vectors, words, index = read_records(
        path,
        kind=kind,
        limit=limit,
        encoding=encoding,
        encoding_errors=encoding_errors,
        progress=progress,
    )
    counts = (
        None
        if fvocab is None
        else read_fvocab(fvocab, words, encoding=encoding, encoding_errors=encoding_errors)
    )
    return _parsed_space(vectors, words, index, name or Path(path).name, counts)


def load_glove(
    path: str | os.PathLike,
    *,
    limit: int | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    name: str | None = None,
    progress: bool = False,
    fvocab: str | os.PathLike | None = None,
) -> EmbeddingSpace:
    """Load a GloVe text file (``word v1 ... vd`` per line, no header; ``.gz`` / ``.bz2`` too).

    Words such as ``"null"`` and ``"nan"`` stay words. Options as in :func:`load_word2vec`
    (``fvocab``: GloVe's ``vocab_count`` output, ``word count`` per line).
    A file that does start with a ``"count dim"`` header is read as word2vec.
    """
    vectors, words, index = read_records(
        path,
        kind="glove",
        limit=limit,
        encoding=encoding,
        encoding_errors=encoding_errors,
        progress=progress,
    )
    counts = (
        None
        if fvocab is None
        else read_fvocab(fvocab, words, encoding=encoding, encoding_errors=encoding_errors)
    )
    return _parsed_space(vectors, words, index, name or Path(path).name, counts)


def read_fvocab(
    path: str | os.PathLike,
    words: list[str],
    *,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> np.ndarray:
    """The count of each of ``words`` from a ``word count`` per line file (int64, -1 where the
    file has no line for the word; a warning names how many)."""
    found: dict[str, int] = {}
    suffix = Path(path).suffix
    opener: Any = {".gz": gzip.open, ".bz2": bz2.open}.get(suffix, open)
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode(encoding, errors=encoding_errors)
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}, line {lineno}: cannot decode the word ({e.reason}); pass "
                    "encoding_errors='replace' to load it anyway"
                ) from None
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].lstrip("+").isdigit():
                raise ValueError(
                    f"{path}, line {lineno}: expected 'word count' (a word and a non-negative "
                    f"integer), got {line.strip()[:60]!r}"
                )
            found.setdefault(parts[0], int(parts[1]))
    counts = np.fromiter((found.get(w, -1) for w in words), dtype=np.int64, count=len(words))
    missing = int((counts < 0).sum())
    if missing:
        first = next(w for w, c in zip(words, counts.tolist()) if c < 0)
        warnings.warn(
            f"{path} has no count for {missing} of the {len(words)} words (first: {first!r}); "
            "their count is -1",
            stacklevel=3,
        )
    return counts


def _parsed_space(
    vectors: Any,
    words: list[str],
    index: dict[str, int],
    name: str,
    counts: np.ndarray | None = None,
) -> EmbeddingSpace:
    # The parser checked the values (finite) and the words (unique str, index built while
    # deduplicating): hand the index over instead of building it a second time. The parsed
    # matrix is new and ours: no defensive copy.
    return EmbeddingSpace(
        vectors, words, name=name, check=False, index=index, counts=counts, copy=False
    )


def from_gensim(kv: Any, *, name: str | None = None) -> EmbeddingSpace:
    """An EmbeddingSpace from a gensim ``KeyedVectors`` (or a model with ``.wv``).

    The vocabulary is ``kv.index_to_key`` in order, so ids agree with gensim's; gensim's
    ``count`` attribute becomes ``counts``.
    """
    vectors, keys = interop.gensim_arrays(kv)
    return EmbeddingSpace(vectors, keys, name=name, counts=interop.gensim_counts(kv))
