"""The native format: a folder that reopens in milliseconds.

Layout of ``path/``::

    tokenspace.json   {"format": "tokenspace", "version": 1, "shape": [V, d], "name": ...,
                       "vocab": "vocab.txt" | "vocab.json", "tokenizer": "tokenizer.json" | null}
    vectors.npy       the (V, d) float32 matrix, C order (memory-mapped on load)
    vocab.txt         the V tokens, UTF-8, one per line ("\\n" separated); vocab.json (a JSON list)
                      instead when a token contains a newline
    tokenizer.json    copied from the Hugging Face folder when the space has a tokenizer
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MARKER = "tokenspace.json"
_FORMAT = "tokenspace"
_VERSION = 1


def is_native(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder written by :func:`save_native`."""
    return (Path(path) / MARKER).is_file()


def save_native(space: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``space`` to the folder ``path`` (created; see the module doc for the layout).

    Parameters
    ----------
    overwrite : bool, default False
        Replace the files of an existing tokenspace folder. Any other non-empty folder is never
        written into.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise FileExistsError(f"{path} exists and is not a folder")
        if any(path.iterdir()) and not (overwrite and is_native(path)):
            raise FileExistsError(
                f"{path} is not empty; choose a new folder"
                + (" or pass overwrite=True" if is_native(path) else "")
            )
    path.mkdir(parents=True, exist_ok=True)
    vocab = list(space.vocab)
    vectors = np.ascontiguousarray(space.vectors, dtype=np.float32)
    np.save(path / "vectors.npy", vectors, allow_pickle=False)
    if any("\n" in w for w in vocab):
        vocab_file = "vocab.json"
        (path / vocab_file).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    else:
        vocab_file = "vocab.txt"
        (path / vocab_file).write_bytes("\n".join(vocab).encode("utf-8"))
    tok_file = None
    if space.tokenizer is not None:
        space.tokenizer.save(path / "tokenizer.json")
        tok_file = "tokenizer.json"
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "shape": list(vectors.shape),
        "dtype": "float32",
        "name": space.name,
        "vocab": vocab_file,
        "tokenizer": tok_file,
    }
    (path / MARKER).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return path


@dataclass(frozen=True)
class NativeFolder:
    """What a native folder holds: the matrix (memory-mapped or read), the vocabulary, the
    saved name and the tokenizer file (or None). ``checked`` says whether the values were
    scanned for NaN/Inf here (a mapped matrix is not: it was checked when the space was built)."""

    vectors: np.ndarray
    vocab: list[str]
    name: str
    tokenizer: Path | None
    checked: bool


def read_native(path: str | os.PathLike, *, mmap: bool = True) -> NativeFolder:
    """Read a folder written by :func:`save_native` (see :func:`tokenspace.load_native`)."""
    path = Path(path)
    try:
        meta = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no {MARKER}; not a tokenspace folder") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path / MARKER}: unreadable ({e})") from None
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"{path / MARKER}: not a tokenspace folder (format {meta.get('format')!r})"
        )
    if int(meta.get("version", 0)) > _VERSION:
        raise ValueError(
            f"{path}: written by a newer tokenspace (format version {meta['version']}); upgrade"
        )
    try:
        vectors = np.load(path / "vectors.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"{path / 'vectors.npy'}: unreadable or truncated ({e})") from None
    shape = tuple(meta.get("shape", ()))
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape != shape:
        raise ValueError(
            f"{path / 'vectors.npy'}: holds {vectors.dtype} {vectors.shape}, but "
            f"{MARKER} says float32 {shape}"
        )
    vocab_file = path / meta.get("vocab", "vocab.txt")
    raw = vocab_file.read_bytes()
    if vocab_file.suffix == ".json":
        vocab = json.loads(raw.decode("utf-8"))
    else:
        vocab = raw.decode("utf-8").split("\n") if raw or shape[0] else []
    if len(vocab) != shape[0]:
        raise ValueError(f"{vocab_file}: {len(vocab)} tokens for {shape[0]} vectors")
    tok = meta.get("tokenizer")
    return NativeFolder(
        vectors, vocab, meta.get("name") or path.name, (path / tok) if tok else None, not mmap
    )
