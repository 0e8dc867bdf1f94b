"""Input-embedding matrices and vocabularies of local Hugging Face model folders."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from ..space import EmbeddingSpace
from .safetensors import read_header, read_tensor

# Names of the input-embedding tensor by architecture family, most specific first.
_EMBEDDING_SUFFIXES = (
    "embeddings.word_embeddings.weight",  # BERT, RoBERTa, MiniLM, DistilBERT ...
    "wte.weight",  # GPT-2, GPT-J
    "embed_tokens.weight",  # Llama, Mistral, OPT, BART, T5 encoder ...
    "shared.weight",  # T5
    "word_embeddings.weight",  # BLOOM
    "embed_in.weight",  # GPT-NeoX / Pythia
    "tok_embeddings.weight",
)


def _safetensors_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.exists():
        return [single]
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        return sorted({folder / f for f in weight_map.values()})
    return sorted(folder.glob("*.safetensors"))


def find_embedding_tensor(folder: str | os.PathLike) -> tuple[Path, str]:
    """Locate the input-embedding matrix: (file, tensor name)."""
    folder = Path(folder)
    files = _safetensors_files(folder)
    if not files:
        raise FileNotFoundError(
            f"{folder}: no model.safetensors (or sharded *.safetensors) found; a "
            "pytorch_model.bin folder needs transformers + torch"
        )
    names: list[tuple[Path, str]] = []
    for f in files:
        header, _ = read_header(f)
        names += [(f, n) for n in header]
    for suffix in _EMBEDDING_SUFFIXES:
        hits = [(f, n) for f, n in names if n == suffix or n.endswith("." + suffix)]
        if hits:
            return min(hits, key=lambda fn: len(fn[1]))
    candidates = [n for _, n in names if "emb" in n.lower()] or [n for _, n in names][:20]
    raise ValueError(
        f"{folder}: cannot tell which tensor is the input embedding; candidates: "
        f"{', '.join(candidates)}"
    )


def read_tokenizer_vocab(folder: str | os.PathLike, n_rows: int) -> list[str]:
    """Token strings by id from tokenizer.json (or vocab.txt), padded to ``n_rows`` entries.

    Rows the tokenizer does not name (embedding matrices are often padded to a multiple of 64)
    get the placeholder ``"<row_i>"`` so every row keeps a unique label.
    """
    folder = Path(folder)
    by_id: dict[int, str] = {}
    tj = folder / "tokenizer.json"
    if tj.exists():
        spec = json.loads(tj.read_text(encoding="utf-8"))
        vocab = spec.get("model", {}).get("vocab", {})
        if isinstance(vocab, dict):
            by_id = {int(i): t for t, i in vocab.items()}
        elif isinstance(vocab, list):  # Unigram: [[token, score], ...]
            by_id = {i: entry[0] for i, entry in enumerate(vocab)}
        for added in spec.get("added_tokens", []):
            by_id[int(added["id"])] = added["content"]
    elif (folder / "vocab.txt").exists():
        lines = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        by_id = dict(enumerate(lines))
    else:
        raise FileNotFoundError(f"{folder}: no tokenizer.json or vocab.txt to name the tokens")
    beyond = [i for i in by_id if i >= n_rows]
    if beyond:
        warnings.warn(
            f"{folder}: the tokenizer names {len(beyond)} ids past the {n_rows} embedding rows; "
            "they are ignored",
            stacklevel=3,
        )
    out = []
    seen: set[str] = set()
    for i in range(n_rows):
        tok = by_id.get(i)
        if tok is None or tok in seen:
            tok = f"<row_{i}>"
        seen.add(tok)
        out.append(tok)
    return out


def load_hf(folder: str | os.PathLike, *, name: str | None = None) -> EmbeddingSpace:
    """The input-embedding matrix of a local Hugging Face model folder, with its vocabulary.

    Reads the tensor straight from ``model.safetensors`` (F16/BF16 widened to float32);
    torch is never imported. ``s.vocab[i]`` is token id ``i``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder (expected a Hugging Face model folder)")
    path, tensor = find_embedding_tensor(folder)
    matrix = read_tensor(path, tensor)
    if matrix.ndim != 2:
        raise ValueError(f"{path}: tensor {tensor!r} has shape {matrix.shape}, expected 2-D")
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    vocab = read_tokenizer_vocab(folder, matrix.shape[0])
    return EmbeddingSpace(matrix, vocab, name=name or folder.name)
