"""The native format: a folder that reopens in milliseconds.

Layout of ``path/``::

    tokenspace.json   {"format": "tokenspace", "version": 1, "shape": [V, d], "name": ...,
                       "vocab": "vocab.txt" | "vocab.json", "tokenizer": "tokenizer.json" | null,
                       "counts": "counts.npy" | null (absent in folders of older versions)}
    vectors.npy       the (V, d) float32 matrix, C order (memory-mapped on load)
    vocab.txt         the V tokens, UTF-8, one per line ("\\n" separated); vocab.json (a JSON list)
                      instead when a token contains a newline
    tokenizer.json    copied from the Hugging Face folder when the space has a tokenizer
    counts.npy        the (V,) int64 word counts (-1 = unknown) when the space has them

Memory-map model: ``load`` maps ``vectors.npy`` read-only, and ``save`` never writes into an
existing file. Every file is written to a temporary name in the same folder and renamed over
the old one (``os.replace``), ``tokenspace.json`` last, so an open map keeps reading the old
file (its inode lives on until the map closes): saving over the folder of an open space, even
the space itself, neither crashes it nor changes its vectors. Everything that can be refused
(an unencodable word, a folder that is not a tokenspace folder) is checked before the first
byte is written, and a failed save removes its temporary files (and the folder, if it created
it), so the same save can be retried. A file truncated or rewritten in place by another program
while mapped cannot be guarded against by any memory map (the kernel raises SIGBUS); load with
``mmap=False`` to copy the matrix into memory when other programs may rewrite the files.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .errors import TruncatedFileError

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
    vocab = [str(w) for w in space.vocab]
    vectors = np.ascontiguousarray(space.vectors, dtype=np.float32)
    _check_encodable(vocab)
    if any("\n" in w for w in vocab):
        vocab_file = "vocab.json"
        vocab_bytes = json.dumps(vocab, ensure_ascii=False).encode("utf-8")
    else:
        vocab_file = "vocab.txt"
        vocab_bytes = "\n".join(vocab).encode("utf-8")
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "shape": list(vectors.shape),
        "dtype": "float32",
        "name": space.name,
        "vocab": vocab_file,
        "tokenizer": "tokenizer.json" if space.tokenizer is not None else None,
        "counts": "counts.npy" if space.counts is not None else None,
    }
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:

        def temp(name: str) -> Path:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path)
            os.close(fd)
            written.append(Path(tmp))
            return Path(tmp)

        staged: list[tuple[Path, str]] = []
        t = temp("vectors.npy")
        with open(t, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
        staged.append((t, "vectors.npy"))
        t = temp(vocab_file)
        t.write_bytes(vocab_bytes)
        staged.append((t, vocab_file))
        if space.tokenizer is not None:
            t = temp("tokenizer.json")
            space.tokenizer.save(t)
            staged.append((t, "tokenizer.json"))
        if space.counts is not None:
            t = temp("counts.npy")
            with open(t, "wb") as f:
                np.save(f, np.asarray(space.counts, dtype=np.int64), allow_pickle=False)
            staged.append((t, "counts.npy"))
        t = temp(MARKER)
        t.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        staged.append((t, MARKER))
        for tmp, name in staged:  # the marker last: a folder is complete once it is renamed
            os.replace(tmp, path / name)
            written.remove(tmp)
        for stale in {"vocab.txt", "vocab.json"} - {vocab_file}:
            (path / stale).unlink(missing_ok=True)
        if space.tokenizer is None:
            (path / "tokenizer.json").unlink(missing_ok=True)
        if space.counts is None:
            (path / "counts.npy").unlink(missing_ok=True)
    except BaseException:
        for tmp in written:
            tmp.unlink(missing_ok=True)
        if created and not any(path.iterdir()):
            path.rmdir()
        raise
    return path


def _check_encodable(vocab: list[str]) -> None:
    for i, w in enumerate(vocab):
        try:
            w.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(
                f"token {i} ({w!r}) cannot be stored in UTF-8 ({e.reason}, e.g. a lone "
                "surrogate); fix or drop it before saving"
            ) from None


@dataclass(frozen=True)
class NativeFolder:
    """What a native folder holds: the matrix (memory-mapped or read), the vocabulary, the
    saved name and the tokenizer file (or None). ``checked``: the values were scanned for
    NaN/Inf here (always, mapped or not)."""

    vectors: np.ndarray
    vocab: list[str]
    name: str
    tokenizer: Path | None
    checked: bool
    counts: np.ndarray | None = None


def read_native(path: str | os.PathLike, *, mmap: bool = True) -> NativeFolder:
    """Read a folder written by :func:`save_native` (see :func:`tokenspace.load_native`)."""
    path = Path(path)
    try:
        meta = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no {MARKER}; not a tokenspace folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(
            f"{path / MARKER}: unreadable ({e}); save the space again or restore the file"
        ) from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path / MARKER}: expected a JSON object; save the space again")
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"{path / MARKER}: not a tokenspace folder (format {meta.get('format')!r})"
        )
    if int(meta.get("version", 0)) > _VERSION:
        raise ValueError(
            f"{path}: written by a newer tokenspace (format version {meta['version']}); upgrade"
        )
    npy = path / "vectors.npy"
    _require_regular(npy)
    try:
        vectors = np.load(npy, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        message = f"{npy}: unreadable or truncated ({e}); save the space again"
        # numpy reports a short file as EOFError or as one of these ValueErrors
        short = ("EOF", "read all data", "greater than file size", "No data left")
        if isinstance(e, EOFError) or any(s in str(e) for s in short):
            raise TruncatedFileError(message, path=str(npy)) from None
        raise ValueError(message) from None
    shape = tuple(meta.get("shape", ()))
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape != shape:
        raise ValueError(
            f"{path / 'vectors.npy'}: holds {vectors.dtype} {vectors.shape}, but "
            f"{MARKER} says float32 {shape}"
        )
    # A mapped matrix is scanned too (one pass at memory speed): the file may have been edited
    # since the space was built, and NaN/Inf would give garbage neighbours.
    bad = _kernels.first_nonfinite_row(np.ascontiguousarray(vectors)) if vectors.size else -1
    if bad >= 0:
        raise ValueError(
            f"{npy}: row {bad} contains NaN or Inf; repair the file or save the space again"
        )
    name = meta.get("vocab", "vocab.txt")
    if name not in ("vocab.txt", "vocab.json"):
        raise ValueError(f"{path / MARKER}: unknown vocabulary file {name!r}")
    vocab_file = path / name
    _require_regular(vocab_file)
    raw = vocab_file.read_bytes()
    try:
        if vocab_file.suffix == ".json":
            vocab = json.loads(raw.decode("utf-8"))
            if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
                raise ValueError("expected a JSON list of strings")
        else:
            vocab = raw.decode("utf-8").split("\n") if raw or shape[0] else []
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{vocab_file}: unreadable ({e}); save the space again") from None
    if len(vocab) != shape[0]:
        raise ValueError(f"{vocab_file}: {len(vocab)} tokens for {shape[0]} vectors")
    tok = meta.get("tokenizer")
    counts = None
    if meta.get("counts"):
        if meta["counts"] != "counts.npy":
            raise ValueError(f"{path / MARKER}: unknown counts file {meta['counts']!r}")
        cfile = path / "counts.npy"
        _require_regular(cfile)
        try:
            counts = np.load(cfile, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(
                f"{cfile}: unreadable or truncated ({e}); save the space again"
            ) from None
        if counts.dtype != np.int64 or counts.shape != (shape[0],):
            raise ValueError(
                f"{cfile}: holds {counts.dtype} {counts.shape}, expected int64 ({shape[0]},)"
            )
    return NativeFolder(
        vectors, vocab, meta.get("name") or path.name, (path / tok) if tok else None, True, counts
    )


def _require_regular(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing; save the space again") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: not a regular file (a FIFO, device or socket)")
