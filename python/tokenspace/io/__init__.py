"""Loading embedding spaces: embedded defaults, Hugging Face folders, native folders, and
word2vec / GloVe files (text, binary, .gz)."""

from __future__ import annotations

import os
from pathlib import Path

from ..space import EmbeddingSpace
from .embedded import EMBEDDED, load_embedded
from .hf import load_hf
from .native import is_native, load_native, save_native
from .text import load_glove, load_word2vec, open_bytes, save_glove, save_word2vec, sniff_text_format

__all__ = [
    "EMBEDDED",
    "detect_format",
    "load",
    "load_embedded",
    "load_glove",
    "load_hf",
    "load_native",
    "load_word2vec",
    "save_glove",
    "save_native",
    "save_word2vec",
]


def detect_format(path: str | os.PathLike) -> str:
    """What ``load`` would read at ``path``: 'native', 'hf', 'word2vec-text', 'word2vec-binary'
    or 'glove' (decided from the content, not the file name)."""
    path = Path(path)
    if path.is_dir():
        return "native" if is_native(path) else "hf"
    with open_bytes(path) as buf:
        return sniff_text_format(buf)


def load(
    name_or_path: str | os.PathLike,
    *,
    mmap: bool = True,
    limit: int | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
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
    options = {"limit": limit, "encoding": encoding, "encoding_errors": encoding_errors}
    return load_word2vec(path, **options)
