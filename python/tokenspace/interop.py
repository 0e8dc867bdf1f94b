"""Interoperability: gensim KeyedVectors both ways, and contextual embeddings through
transformers + torch (optional extra ``context``; neither is imported unless called)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .space import EmbeddingSpace

__all__ = ["ContextualEmbeddings", "contextual_embeddings", "from_gensim", "to_gensim"]


def from_gensim(kv: Any, *, name: str | None = None) -> EmbeddingSpace:
    """An EmbeddingSpace from a gensim ``KeyedVectors`` (or a model with ``.wv``).

    The vocabulary is ``kv.index_to_key`` in order, so ids agree with gensim's.
    """
    kv = getattr(kv, "wv", kv)
    if not hasattr(kv, "index_to_key") or not hasattr(kv, "vectors"):
        raise TypeError(
            f"expected gensim KeyedVectors (gensim >= 4), got {type(kv).__name__}"
        )
    keys = [k if isinstance(k, str) else str(k) for k in kv.index_to_key]
    return EmbeddingSpace(np.asarray(kv.vectors, dtype=np.float32), keys, name=name)


def to_gensim(space: EmbeddingSpace) -> Any:
    """A gensim ``KeyedVectors`` holding a copy of the vectors, keys in vocabulary order."""
    try:
        from gensim.models import KeyedVectors
    except ImportError as e:
        raise ModuleNotFoundError("to_gensim needs gensim: pip install gensim") from e
    # Filled directly rather than through add_vectors, which checks and appends key by key
    # (4 s for 400k words against 0.1 s here); the result is the same KeyedVectors state.
    kv = KeyedVectors(vector_size=space.dim, count=0, dtype=np.float32)
    kv.vectors = np.array(space.vectors, dtype=np.float32, copy=True)
    kv.index_to_key = list(space.vocab)
    kv.key_to_index = dict(space._index)  # a dict copy: no rehashing
    return kv


@dataclass(frozen=True)
class ContextualEmbeddings:
    """Hidden states of one text: ``vectors[i]`` belongs to ``tokens[i]`` (id ``ids[i]``)."""

    tokens: list[str]
    ids: np.ndarray
    vectors: np.ndarray
    layer: int


def contextual_embeddings(
    folder: str | os.PathLike | EmbeddingSpace,
    text: str,
    *,
    layer: int = -1,
    special_tokens: bool = True,
) -> ContextualEmbeddings:
    """Contextual token vectors of ``text``: the hidden states of layer ``layer`` of the model.

    Needs transformers and torch (``pip install 'tokenspace[context]'``); everything else in
    tokenspace works without them.

    Parameters
    ----------
    folder : path or EmbeddingSpace
        A local Hugging Face model folder (or a space loaded from one).
    layer : int, default -1
        Index into ``hidden_states`` (0 = the input embeddings, -1 = the last layer).
    special_tokens : bool, default True
        Add the model's special tokens ([CLS]/[SEP] ...) as the model expects; they are returned
        with the rest, drop them as needed.
    """
    if isinstance(folder, EmbeddingSpace):
        if folder.model_dir is None:
            raise ValueError(f"{folder!r} was not loaded from a Hugging Face folder")
        folder = folder.model_dir
    folder = Path(folder)
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise ModuleNotFoundError(
            "contextual embeddings need transformers and torch: pip install 'tokenspace[context]'"
        ) from e
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, output_hidden_states=True)
    model.eval()
    batch = tokenizer(text, return_tensors="pt", add_special_tokens=special_tokens)
    with torch.no_grad():
        out = model(**batch)
    states = out.hidden_states
    if not -len(states) <= layer < len(states):
        raise ValueError(f"layer {layer} is out of range: the model has {len(states)} hidden states")
    ids = batch["input_ids"][0].numpy().astype(np.int64)
    vectors = states[layer][0].to(torch.float32).numpy()
    tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
    return ContextualEmbeddings(tokens, ids, vectors, layer)
