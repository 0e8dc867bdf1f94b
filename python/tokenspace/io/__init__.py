"""Loading embedding spaces: embedded defaults, Hugging Face folders, and files."""

from __future__ import annotations

import os
from pathlib import Path

from ..space import EmbeddingSpace
from .embedded import EMBEDDED, load_embedded
from .hf import load_hf

__all__ = ["EMBEDDED", "load", "load_embedded", "load_hf"]


def load(name_or_path: str | os.PathLike) -> EmbeddingSpace:
    """Load an embedding space by embedded-model name or from a path.

    Parameters
    ----------
    name_or_path : str or path
        ``"glove-6b-50d"`` or ``"minilm-l6"`` (the embedded defaults), or a Hugging Face model
        folder.
    """
    key = str(name_or_path)
    if key in EMBEDDED:
        return load_embedded(key)
    path = Path(name_or_path)
    if path.is_dir():
        return load_hf(path)
    if path.exists():
        raise ValueError(f"{path}: unrecognised file format")
    raise FileNotFoundError(
        f"{key!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor an existing path"
    )
