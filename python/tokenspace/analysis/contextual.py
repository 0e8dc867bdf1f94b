"""Contextual token vectors through transformers + torch, and how contextual they are.

Batch extraction (:func:`contextual_embeddings`) streams the hidden states of many sentences
into one float32 array (or a memory-mapped file); the measures of Ethayarajh (2019), "How
Contextual are Contextualized Word Representations?" (EMNLP), are computed per layer from it:
self-similarity, intra-sentence similarity, maximum explainable variance and the anisotropy
baseline (:func:`contextuality` runs them all). Static embeddings are distilled from the
contextual ones (:func:`distill_static`) and one word's contextual vectors are set against its
static vector (:func:`static_vs_contextual`).

transformers and torch are optional (``pip install 'tokenspace[context]'``); they are imported
only when a model is run. The measures themselves take a :class:`ContextualEmbeddings` and need
neither.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._display import Display
from .._kernels import num_threads
from ..alignment.procrustes import _single_threaded_blas
from ..loaders import load_hf
from ..progress import counter
from ..similarity import cosine_matrix, unit_rows
from ..space import EmbeddingSpace
from ..tokens import TokenDisplay
from .spectral import principal_axes

__all__ = [
    "Anisotropy",
    "ContextualEmbeddings",
    "Contextuality",
    "IntraSentenceSimilarity",
    "MaxExplainableVariance",
    "SelfSimilarity",
    "StaticVsContextual",
    "anisotropy",
    "contextual_embeddings",
    "contextuality",
    "contextuality_of",
    "distill_static",
    "intra_sentence_similarity",
    "max_explainable_variance",
    "self_similarity",
    "split_sentences",
    "static_vs_contextual",
]

_PIP_LINE = "pip install 'tokenspace[context]'"


def _import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise ModuleNotFoundError(
            f"contextual embeddings need transformers and torch ({e.name} is missing): {_PIP_LINE}"
        ) from e
    return torch, transformers


def _model_folder(model: Any) -> Path:
    if isinstance(model, (str, os.PathLike)):
        folder = Path(model)
    else:
        model_dir = getattr(model, "model_dir", None)
        if model_dir is None:
            raise TypeError(
                f"model must be a Hugging Face folder or a space loaded from one with "
                f"ts.load_hf; {model!r} has no model folder"
            )
        folder = Path(model_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder (expected a Hugging Face model folder)")
    weights = (
        list(folder.glob("*.safetensors"))
        + list(folder.glob("pytorch_model*.bin"))
        + list(folder.glob("model.safetensors.index.json"))
    )
    if not weights:
        raise FileNotFoundError(
            f"{folder} has no model weights (model.safetensors or pytorch_model.bin): contextual "
            "vectors need the whole model, not only its tokenizer; save it with "
            "model.save_pretrained(folder)"
        )
    return folder


@functools.lru_cache(maxsize=2)
def _load_model(folder: str) -> tuple[Any, Any]:
    """(tokenizer, model in eval mode), cached: a report asks the same model several times."""
    _, transformers = _import_torch()
    hub_logging = transformers.utils.logging
    quiet = hub_logging.is_progress_bar_enabled()
    if quiet:  # transformers draws a bar while loading weights; progress= is ours to give
        hub_logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        model = transformers.AutoModel.from_pretrained(folder)
    finally:
        if quiet:
            hub_logging.enable_progress_bar()
    model.eval()
    if tokenizer.pad_token is None:
        # GPT-2 has no pad token; any id works since the attention mask hides the padding
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer, model


def _n_hidden_states(model: Any) -> int:
    cfg = model.config
    n = getattr(cfg, "num_hidden_layers", None)
    if not isinstance(n, int):
        n = getattr(cfg, "n_layer", None)
    if not isinstance(n, int):
        raise ValueError(f"cannot tell the number of layers of {type(model).__name__}")
    return n + 1


def _resolve_layers(layers: int | Sequence[int] | None, n: int) -> tuple[int, ...]:
    if layers is None:
        return tuple(range(n))
    if isinstance(layers, bool):
        raise TypeError(f"layers must be ints, got {layers!r}")
    asked = [int(layers)] if isinstance(layers, (int, np.integer)) else list(layers)
    out = []
    for layer in asked:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise TypeError(f"layers must be ints, got {layer!r}")
        if not -n <= layer < n:
            raise ValueError(
                f"layer {layer} is out of range: the model has {n} hidden states (0 = the input "
                f"embeddings, {n - 1} = the last layer; negative values count from the end)"
            )
        out.append(int(layer) % n)
    if len(set(out)) != len(out):
        raise ValueError(f"layers {asked} name the same hidden state twice")
    return tuple(out)


@contextmanager
def _torch_threads(torch: Any):
    """torch uses as many threads as tokenspace's kernels (ts.set_num_threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True, repr=False)
class ContextualEmbeddings(TokenDisplay):
    """Hidden states of many texts, one row per token occurrence (or per word with pooling).

    Attributes
    ----------
    vectors : np.ndarray (n_layers, N, d) float32
        ``vectors[k, i]`` is occurrence ``i`` at hidden state ``layers[k]`` (memory-mapped when
        extracted with ``memmap=``).
    layers : tuple of int
        The hidden-state indices held (0 = the input embeddings).
    ids : np.ndarray (N,) int64
        Token id; -1 for a word pooled from several pieces.
    tokens : list of str
        The token string (``"Ġbank"``, ``"##ing"``), or the word (``"bank"``) when pooled.
    sentence : np.ndarray (N,) int64
        Index of the text in the input list.
    position : np.ndarray (N,) int64
        Position in the model's input sequence (of the first piece when pooled).
    special : np.ndarray (N,) bool
        Special tokens ([CLS], [SEP], ...): kept and marked, never dropped.
    pieces : np.ndarray (N,) int64
        Tokens pooled into the row (1 without pooling).
    n_hidden_states : int
        Hidden states the model has (layers + 1).
    """

    vectors: np.ndarray = field(repr=False)
    layers: tuple[int, ...]
    ids: np.ndarray = field(repr=False)
    tokens: list[str] = field(repr=False)
    sentence: np.ndarray = field(repr=False)
    position: np.ndarray = field(repr=False)
    special: np.ndarray = field(repr=False)
    pieces: np.ndarray = field(repr=False)
    n_hidden_states: int
    pooled: bool = False
    n_texts: int = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def layer(self, layer: int) -> np.ndarray:
        """The (N, d) vectors of hidden state ``layer`` (one of :attr:`layers`, or negative)."""
        idx = _resolve_layers(layer, self.n_hidden_states)[0]
        if idx not in self.layers:
            raise ValueError(
                f"hidden state {layer} was not extracted; these were: {list(self.layers)}"
            )
        return self.vectors[self.layers.index(idx)]

    def occurrences(self, word: str) -> np.ndarray:
        """Row indices of ``word`` (a token string, or a word when pooled), special rows excluded."""
        rows = [i for i, t in enumerate(self.tokens) if t == word and not self.special[i]]
        if not rows:
            raise KeyError(
                f"{word!r} never occurs in the texts"
                + ("" if self.pooled else " (token strings carry markers such as 'Ġ' or '##')")
            )
        return np.asarray(rows, dtype=np.int64)

    _token_columns = ("token",)

    def _table(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "position": self.position,
            "id": self.ids,
            "token": self.tokens,
            "special": self.special,
            "pieces": self.pieces,
        }

    def _summary(self) -> str:
        return (
            f"{len(self)} {'words' if self.pooled else 'tokens'} of "
            f"{self.n_texts} texts, hidden states {list(self.layers)}, d={self.vectors.shape[-1]}"
        )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def split_sentences(text: str, *, min_words: int = 3) -> list[str]:
    """Split running text (a corpus line, a document) into sentences at ``.``, ``!`` or ``?``
    followed by a capital or a digit; pieces with fewer than ``min_words`` words are dropped."""
    out = []
    for part in _SENTENCE_END.split(text.strip()):
        part = part.strip()
        if len(part.split()) >= min_words:
            out.append(part)
    return out


def _check_texts(texts: str | Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: pass at least one sentence")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts must be str; entry {bad[0]} is {type(texts[bad[0]]).__name__}")
    return texts


def contextual_embeddings(
    model: Any,
    texts: str | Sequence[str],
    *,
    layers: int | Sequence[int] | None = None,
    batch_size: int = 32,
    pool: str | None = None,
    special_tokens: bool = True,
    truncation: bool = False,
    memmap: str | os.PathLike | None = None,
    progress: bool = False,
) -> ContextualEmbeddings:
    """Hidden states of every token of ``texts``, for the requested layers.

    Texts run in batches of similar length (padded, the attention mask hiding the padding), and
    each batch's vectors go straight into one preallocated float32 array, so memory holds the
    result plus one batch. torch uses tokenspace's thread count (:func:`tokenspace.num_threads`).

    Parameters
    ----------
    model : path or EmbeddingSpace
        A local Hugging Face folder (BERT family, GPT-2 family, ...) or a space from
        :func:`tokenspace.load_hf`.
    texts : str or sequence of str
        The sentences; occurrences keep the index of their text (``sentence``).
    layers : int or sequence of int, optional
        Hidden states to keep (0 = the input embeddings, -1 = the last layer); default all.
    batch_size : int, default 32
    pool : {None, "mean"}
        ``"mean"``: one row per word (the tokenizer's pre-tokenized words), the mean of its
        pieces, as the static side pools multi-token strings; special tokens stay rows.
    special_tokens : bool, default True
        Add the special tokens the model expects ([CLS]/[SEP] for BERT; GPT-2 adds none).
        They are returned, marked in ``special``.
    truncation : bool, default False
        Cut texts longer than the model's maximum length instead of raising ``ValueError``.
    memmap : path, optional
        Write the vectors to this file (a numpy ``.npy`` memory map) instead of memory.
    progress : bool, default False
        Report batches on stderr.

    Returns
    -------
    ContextualEmbeddings
    """
    texts = _check_texts(texts)
    if pool not in (None, "mean"):
        raise ValueError(f"pool must be None or 'mean', got {pool!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    folder = _model_folder(model)
    torch, _ = _import_torch()
    tokenizer, net = _load_model(str(folder.resolve()))
    n_states = _n_hidden_states(net)
    keep = _resolve_layers(layers, n_states)

    max_len = _max_length(tokenizer, net)
    enc = tokenizer(
        texts,
        add_special_tokens=special_tokens,
        return_special_tokens_mask=True,
        truncation=truncation,
        max_length=max_len if truncation else None,
    )
    lengths = np.array([len(x) for x in enc["input_ids"]], dtype=np.int64)
    if not truncation and max_len is not None and lengths.max() > max_len:
        i = int(lengths.argmax())
        raise ValueError(
            f"text {i} has {int(lengths[i])} tokens, more than the model's {max_len}; split it "
            "into sentences or pass truncation=True"
        )
    words_of = [enc.word_ids(i) for i in range(len(texts))]
    rows = _occurrence_rows(enc, words_of, lengths, pool)
    n_rows = len(rows["sentence"])
    dim = int(net.config.hidden_size)
    shape = (len(keep), n_rows, dim)
    vectors: np.ndarray
    if memmap is not None:
        vectors = np.lib.format.open_memmap(
            os.fspath(memmap), mode="w+", dtype=np.float32, shape=shape
        )
    else:
        vectors = np.empty(shape, dtype=np.float32)

    order = np.argsort(lengths, kind="stable")  # similar lengths together: little padding
    starts = np.concatenate([[0], np.cumsum(rows["per_text"])])
    n_batches = (len(texts) + batch_size - 1) // batch_size
    update = counter(progress, n_batches, "contextual embeddings")
    with torch.inference_mode(), _torch_threads(torch):
        for b in range(n_batches):
            chosen = order[b * batch_size : (b + 1) * batch_size].tolist()
            batch = tokenizer.pad(
                {k: [enc[k][i] for i in chosen] for k in enc if k != "special_tokens_mask"},
                return_tensors="pt",
            )
            out = net(**batch, output_hidden_states=True)
            states = out.hidden_states
            if len(states) != n_states:  # pragma: no cover - a model whose config disagrees
                raise ValueError(f"the model returned {len(states)} hidden states, not {n_states}")
            for j, t in enumerate(chosen):
                lo, hi = starts[t], starts[t + 1]
                for k, layer in enumerate(keep):
                    h = states[layer][j, : lengths[t]].to(torch.float32).numpy()
                    vectors[k, lo:hi] = _pool_rows(h, rows["groups"][t])
            update(b + 1)
    if isinstance(vectors, np.memmap):
        vectors.flush()
    tokens = _word_strings(tokenizer, rows) if pool == "mean" else rows["tokens"]
    return ContextualEmbeddings(
        vectors=vectors,
        layers=keep,
        ids=rows["ids"],
        tokens=tokens,
        sentence=rows["sentence"],
        position=rows["position"],
        special=rows["special"],
        pieces=rows["pieces"],
        n_hidden_states=n_states,
        pooled=pool == "mean",
        n_texts=len(texts),
    )


def _max_length(tokenizer: Any, net: Any) -> int | None:
    cfg = net.config
    for key in ("max_position_embeddings", "n_positions"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            return v
    v = getattr(tokenizer, "model_max_length", None)
    return v if isinstance(v, int) and v < 1_000_000 else None


def _occurrence_rows(
    enc: Any, words_of: list[list[int | None]], lengths: np.ndarray, pool: str | None
) -> dict[str, Any]:
    """Per output row: sentence, position, id, token, special, pieces; per text: the groups of
    token positions pooled into each row."""
    sentence, position, ids, tokens, special, pieces = [], [], [], [], [], []
    groups: list[list[list[int]]] = []
    per_text = []
    piece_ids: list[list[int]] = []
    for t, n in enumerate(lengths.tolist()):
        in_ids = enc["input_ids"][t]
        mask = enc["special_tokens_mask"][t]
        toks = enc.tokens(t)
        words = words_of[t]
        text_groups: list[list[int]] = []
        for p in range(n):
            if pool is None or mask[p] or words[p] is None:
                text_groups.append([p])
            elif (
                text_groups
                and not mask[text_groups[-1][0]]
                and words[text_groups[-1][0]] == words[p]
            ):
                text_groups[-1].append(p)
            else:
                text_groups.append([p])
        for g in text_groups:
            p = g[0]
            sentence.append(t)
            position.append(p)
            ids.append(in_ids[p] if len(g) == 1 else -1)
            tokens.append(toks[p])
            special.append(bool(mask[p]))
            pieces.append(len(g))
            piece_ids.append([in_ids[q] for q in g])
        groups.append(text_groups)
        per_text.append(len(text_groups))
    return {
        "sentence": np.asarray(sentence, dtype=np.int64),
        "position": np.asarray(position, dtype=np.int64),
        "ids": np.asarray(ids, dtype=np.int64),
        "tokens": tokens,
        "special": np.asarray(special, dtype=bool),
        "pieces": np.asarray(pieces, dtype=np.int64),
        "groups": groups,
        "per_text": np.asarray(per_text, dtype=np.int64),
        "piece_ids": piece_ids,
    }


def _pool_rows(h: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    if all(len(g) == 1 for g in groups):
        return h[[g[0] for g in groups]]
    return np.stack([h[g].mean(axis=0, dtype=np.float64).astype(np.float32) for g in groups])


def _word_strings(tokenizer: Any, rows: dict[str, Any]) -> list[str]:
    """The words of pooled rows, decoded from their pieces ("bank", not "Ġbank" or "ban ##k")."""
    decoded = tokenizer.batch_decode(
        rows["piece_ids"], skip_special_tokens=False, clean_up_tokenization_spaces=False
    )
    return [
        tok if special else word.strip()
        for tok, word, special in zip(rows["tokens"], decoded, rows["special"].tolist())
    ]


def _measured_words(
    emb: ContextualEmbeddings, words: Sequence[str] | None, min_count: int
) -> tuple[list[str], list[np.ndarray]]:
    """The words to measure and the rows of each (special tokens never count)."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 2:
        raise ValueError(f"min_count must be an int >= 2 (pairs of contexts), got {min_count!r}")
    by_word: dict[str, list[int]] = {}
    for i, (t, sp) in enumerate(zip(emb.tokens, emb.special.tolist())):
        if not sp:
            by_word.setdefault(t, []).append(i)
    if words is None:
        chosen = sorted(w for w, r in by_word.items() if len(r) >= min_count)
        if not chosen:
            raise ValueError(
                f"no word occurs {min_count} times in the texts; pass more texts or lower min_count"
            )
    else:
        if isinstance(words, str):
            words = [words]
        chosen = list(words)
        if not chosen:
            raise ValueError("words is empty: pass None (every frequent word) or some words")
        missing = [w for w in chosen if w not in by_word]
        if missing:
            raise KeyError(
                f"these words never occur in the texts: {missing[:10]}"
                + ("" if emb.pooled else " (token strings carry markers such as 'Ġ' or '##')")
            )
        once = [w for w in chosen if len(by_word[w]) < 2]
        if once:
            raise ValueError(
                f"these words occur only once, so they have no pair of contexts: {once[:10]}"
            )
    return chosen, [np.asarray(by_word[w], dtype=np.int64) for w in chosen]


def _layer_view(emb: ContextualEmbeddings) -> list[tuple[int, np.ndarray]]:
    return [(layer, emb.vectors[k]) for k, layer in enumerate(emb.layers)]


def _plot_layers(
    layers: Sequence[int], curves: dict[str, np.ndarray], ylabel: str, ax: Any = None
) -> Any:
    """One line per curve over the hidden states; a new Figure (no pyplot state) unless ``ax``."""
    if ax is None:
        try:
            from matplotlib.figure import Figure
        except ImportError as e:  # pragma: no cover - environment dependent
            raise ModuleNotFoundError("plots need matplotlib: pip install matplotlib") from e
        ax = Figure(figsize=(6.4, 4.0), layout="constrained").add_subplot()
    for label, y in curves.items():
        ax.plot(list(layers), y, marker="o", label=label)
    ax.set_xlabel("hidden state (0 = input embeddings)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(list(layers))
    ax.legend()
    return ax.figure


def _frame(table: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame(table)


@dataclass(frozen=True, repr=False)
class Anisotropy(Display):
    """The anisotropy baseline per layer: the mean cosine between random pairs of occurrences
    from different texts (Ethayarajh 2019, section 4.1), and the share of variance the first
    principal component takes over a random sample of occurrences (the MEV baseline)."""

    layers: tuple[int, ...]
    mean_cosine: np.ndarray
    mev: np.ndarray
    n_pairs: int
    n_sample: int

    def _table(self) -> dict[str, Any]:
        return {
            "layer": list(self.layers),
            "anisotropy": self.mean_cosine,
            "mev_baseline": self.mev,
        }

    def _summary(self) -> str:
        return f"{len(self.layers)} layers, {self.n_pairs} random pairs"

    def plot(self, *, ax: Any = None) -> Any:
        """Mean cosine of random pairs per layer."""
        return _plot_layers(self.layers, {"random pairs": self.mean_cosine}, "mean cosine", ax)


def anisotropy(
    emb: ContextualEmbeddings, *, n_pairs: int = 2000, n_sample: int = 1000, seed: int = 0
) -> Anisotropy:
    """The anisotropy baseline of every extracted layer (special tokens excluded).

    Parameters
    ----------
    emb : ContextualEmbeddings
    n_pairs : int, default 2000
        Random pairs of occurrences from different texts (uniform, with a fixed seed).
    n_sample : int, default 1000
        Occurrences drawn for the MEV baseline (all of them when fewer).
    seed : int, default 0
    """
    rows = np.flatnonzero(~emb.special)
    if len(rows) < 2 or len(np.unique(emb.sentence[rows])) < 2:
        raise ValueError("the anisotropy baseline needs occurrences from at least two texts")
    a, b = _random_pairs(emb.sentence, rows, n_pairs, seed)
    rng = np.random.default_rng(seed + 1)
    sample = np.sort(rng.choice(rows, size=min(n_sample, len(rows)), replace=False))
    cos, mev = [], []
    for _, X in _layer_view(emb):
        U = unit_rows(np.asarray(X)[np.concatenate([a, b])])
        cos.append(float(np.einsum("ij,ij->i", U[: len(a)], U[len(a) :], dtype=np.float64).mean()))
        with _single_threaded_blas():
            mev.append(_mev(np.asarray(X)[sample]))
    return Anisotropy(emb.layers, np.asarray(cos), np.asarray(mev), len(a), len(sample))


def _random_pairs(
    sentence: np.ndarray, rows: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.choice(rows, size=4 * n)
    b = rng.choice(rows, size=4 * n)
    ok = sentence[a] != sentence[b]
    a, b = a[ok][:n], b[ok][:n]
    return a, b


def _mev(X: np.ndarray) -> float:
    """sigma_1^2 / sum sigma_i^2 of the (uncentred) occurrence matrix, as in the paper: the top
    eigenvalue of the smaller Gram matrix over its trace (a full SVD per word costs ~10x more)."""
    A = np.asarray(X, dtype=np.float64)
    G = A @ A.T if A.shape[0] <= A.shape[1] else A.T @ A
    total = float(np.trace(G))
    if total <= 0:
        return float("nan")
    top = float(np.linalg.eigvalsh(G)[-1]) if len(G) > 1 else total
    return top / total


@dataclass(frozen=True, repr=False)
class SelfSimilarity(Display):
    """Self-similarity per layer: for each word, the mean cosine between its representations
    in different occurrences; ``mean`` averages the words, ``adjusted`` subtracts the
    anisotropy baseline."""

    layers: tuple[int, ...]
    words: list[str] = field(repr=False)
    counts: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)  # (n_layers, n_words)
    baseline: np.ndarray = field(repr=False)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=1)

    @property
    def adjusted(self) -> np.ndarray:
        return self.mean - self.baseline

    def word(self, word: str) -> np.ndarray:
        """One word's self-similarity per layer."""
        return self.values[:, self.words.index(word)]

    def _table(self) -> dict[str, Any]:
        return {
            "layer": list(self.layers),
            "self_similarity": self.mean,
            "self_similarity_adjusted": self.adjusted,
        }

    def _summary(self) -> str:
        return f"{len(self.words)} words, {len(self.layers)} layers"

    def plot(self, *, ax: Any = None) -> Any:
        return _plot_layers(
            self.layers,
            {"self-similarity": self.mean, "adjusted": self.adjusted},
            "mean cosine",
            ax,
        )


def self_similarity(
    emb: ContextualEmbeddings,
    words: Sequence[str] | None = None,
    *,
    min_count: int = 5,
    baseline: Anisotropy | None = None,
) -> SelfSimilarity:
    """Self-similarity of words across their contexts, per extracted layer.

    The mean over pairs of distinct occurrences of the cosine between them: with unit vectors
    ``u_i``, ``(||sum u_i||^2 - n) / (n^2 - n)``, exact and linear in ``n``.

    Parameters
    ----------
    emb : ContextualEmbeddings
        Usually pooled (``pool="mean"``) so that words are words.
    words : sequence of str, optional
        Default: every word occurring at least ``min_count`` times.
    min_count : int, default 5
        The paper keeps words with at least 5 contexts.
    baseline : Anisotropy, optional
        Subtracted for ``adjusted`` (computed with defaults when None).
    """
    chosen, rows = _measured_words(emb, words, min_count)
    baseline = anisotropy(emb) if baseline is None else baseline
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    values = np.empty((len(emb.layers), len(chosen)))
    for k, (_, X) in enumerate(_layer_view(emb)):
        U = unit_rows(np.asarray(X)).astype(np.float64)
        for j, r in enumerate(rows):
            s = U[r].sum(axis=0)
            n = len(r)
            # zero rows (norm 0) contribute 0 to the sum and to the diagonal
            diag = float(np.count_nonzero(np.any(U[r] != 0, axis=1)))
            values[k, j] = (float(s @ s) - diag) / (n * n - n)
    return SelfSimilarity(emb.layers, chosen, counts, values, baseline.mean_cosine)


@dataclass(frozen=True, repr=False)
class IntraSentenceSimilarity(Display):
    """Intra-sentence similarity per layer: for each text, the mean cosine between its words'
    representations and the text's mean vector; ``mean`` averages the texts."""

    layers: tuple[int, ...]
    values: np.ndarray = field(repr=False)  # (n_layers, n_texts measured)
    texts: np.ndarray = field(repr=False)
    baseline: np.ndarray = field(repr=False)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=1)

    @property
    def adjusted(self) -> np.ndarray:
        return self.mean - self.baseline

    def _table(self) -> dict[str, Any]:
        return {
            "layer": list(self.layers),
            "intra_sentence_similarity": self.mean,
            "intra_sentence_similarity_adjusted": self.adjusted,
        }

    def _summary(self) -> str:
        return f"{len(self.texts)} texts, {len(self.layers)} layers"

    def plot(self, *, ax: Any = None) -> Any:
        return _plot_layers(
            self.layers,
            {"intra-sentence": self.mean, "adjusted": self.adjusted},
            "mean cosine",
            ax,
        )


def intra_sentence_similarity(
    emb: ContextualEmbeddings, *, baseline: Anisotropy | None = None
) -> IntraSentenceSimilarity:
    """Intra-sentence similarity of every text with at least two non-special occurrences."""
    rows = np.flatnonzero(~emb.special)
    sent = emb.sentence[rows]
    ids, start, count = np.unique(sent, return_index=True, return_counts=True)
    if not np.all(np.diff(sent) >= 0):  # pragma: no cover - rows are written text by text
        raise ValueError("occurrences are not grouped by text")
    keep = count >= 2
    if not keep.any():
        raise ValueError("no text has two words: intra-sentence similarity is undefined")
    baseline = anisotropy(emb) if baseline is None else baseline
    values = np.empty((len(emb.layers), int(keep.sum())))
    for k, (_, X) in enumerate(_layer_view(emb)):
        U = unit_rows(np.asarray(X)[rows]).astype(np.float64)
        means = np.add.reduceat(np.asarray(X)[rows].astype(np.float64), start, axis=0)
        means /= count[:, None]
        M = unit_rows(means.astype(np.float32)).astype(np.float64)
        per = np.einsum("ij,ij->i", U, M[np.repeat(np.arange(len(ids)), count)])
        values[k] = (np.add.reduceat(per, start) / count)[keep]
    return IntraSentenceSimilarity(emb.layers, values, ids[keep], baseline.mean_cosine)


@dataclass(frozen=True, repr=False)
class MaxExplainableVariance(Display):
    """Maximum explainable variance per layer: for each word, the share of the squared
    singular values of its occurrence matrix taken by the first; ``adjusted`` subtracts the
    same share over random occurrences."""

    layers: tuple[int, ...]
    words: list[str] = field(repr=False)
    counts: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    baseline: np.ndarray = field(repr=False)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=1)

    @property
    def adjusted(self) -> np.ndarray:
        return self.mean - self.baseline

    def _table(self) -> dict[str, Any]:
        return {"layer": list(self.layers), "mev": self.mean, "mev_adjusted": self.adjusted}

    def _summary(self) -> str:
        return f"{len(self.words)} words, {len(self.layers)} layers"

    def plot(self, *, ax: Any = None) -> Any:
        return _plot_layers(
            self.layers, {"MEV": self.mean, "adjusted": self.adjusted}, "variance share", ax
        )


def max_explainable_variance(
    emb: ContextualEmbeddings,
    words: Sequence[str] | None = None,
    *,
    min_count: int = 5,
    baseline: Anisotropy | None = None,
) -> MaxExplainableVariance:
    """Maximum explainable variance of words, per extracted layer (see :func:`self_similarity`
    for ``words`` and ``min_count``)."""
    chosen, rows = _measured_words(emb, words, min_count)
    baseline = anisotropy(emb) if baseline is None else baseline
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    values = np.empty((len(emb.layers), len(chosen)))
    with _single_threaded_blas():  # thousands of tiny eigenproblems: threads only cost
        for k, (_, X) in enumerate(_layer_view(emb)):
            X = np.asarray(X)
            for j, r in enumerate(rows):
                values[k, j] = _mev(X[r])
    return MaxExplainableVariance(emb.layers, chosen, counts, values, baseline.mev)


@dataclass(frozen=True, repr=False)
class Contextuality(Display):
    """The four measures of Ethayarajh (2019) per layer; ``to_pandas()`` has one row per layer."""

    embeddings: ContextualEmbeddings = field(repr=False)
    self_similarity: SelfSimilarity
    intra_sentence_similarity: IntraSentenceSimilarity
    mev: MaxExplainableVariance
    anisotropy: Anisotropy

    @property
    def layers(self) -> tuple[int, ...]:
        return self.embeddings.layers

    def _table(self) -> dict[str, Any]:
        return {
            "layer": list(self.layers),
            "self_similarity": self.self_similarity.mean,
            "intra_sentence_similarity": self.intra_sentence_similarity.mean,
            "mev": self.mev.mean,
            "anisotropy": self.anisotropy.mean_cosine,
            "self_similarity_adjusted": self.self_similarity.adjusted,
            "intra_sentence_similarity_adjusted": self.intra_sentence_similarity.adjusted,
            "mev_adjusted": self.mev.adjusted,
        }

    def _summary(self) -> str:
        return (
            f"{len(self.layers)} hidden states, {len(self.self_similarity.words)} "
            f"words, {self.embeddings.n_texts} texts"
        )

    def plot(self, *, adjusted: bool = True, ax: Any = None) -> Any:
        """The per-layer curves (adjusted for anisotropy by default) and the baseline."""
        suffix = "_adjusted" if adjusted else ""
        t = self._table()
        curves = {
            name: np.asarray(t[name + suffix])
            for name in ("self_similarity", "intra_sentence_similarity", "mev")
        }
        curves["anisotropy"] = np.asarray(t["anisotropy"])
        label = "measure - anisotropy (anisotropy itself raw)" if adjusted else "value"
        return _plot_layers(self.layers, curves, label, ax)


def contextuality(
    model: Any,
    texts: str | Sequence[str],
    words: Sequence[str] | None = None,
    layers: int | Sequence[int] | None = None,
    *,
    min_count: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
) -> Contextuality:
    """How contextual a model's representations are, layer by layer (Ethayarajh 2019).

    Extracts the word vectors of ``texts`` (pieces mean-pooled, special tokens left out of the
    measures) and computes self-similarity, intra-sentence similarity, maximum explainable
    variance and the anisotropy baseline for every requested hidden state.

    Parameters
    ----------
    model : path or EmbeddingSpace
        A local Hugging Face folder, or a space loaded from one.
    texts : sequence of str
        Sentences (one context each).
    words : sequence of str, optional
        Words to measure; default every word with at least ``min_count`` occurrences.
    layers : int or sequence of int, optional
        Hidden states (default all: 0 = the input embeddings).
    min_count, batch_size, seed, progress
        See :func:`self_similarity`, :func:`contextual_embeddings`, :func:`anisotropy`.

    Examples
    --------
    >>> ts.contextuality("path/to/minilm", sentences).to_pandas()  # doctest: +SKIP
    """
    emb = contextual_embeddings(
        model, texts, layers=layers, batch_size=batch_size, pool="mean", progress=progress
    )
    return contextuality_of(emb, words, min_count=min_count, seed=seed)


def contextuality_of(
    emb: ContextualEmbeddings,
    words: Sequence[str] | None = None,
    *,
    min_count: int = 5,
    seed: int = 0,
) -> Contextuality:
    """:func:`contextuality` on vectors already extracted."""
    base = anisotropy(emb, seed=seed)
    return Contextuality(
        emb,
        self_similarity(emb, words, min_count=min_count, baseline=base),
        intra_sentence_similarity(emb, baseline=base),
        max_explainable_variance(emb, words, min_count=min_count, baseline=base),
        base,
    )


def distill_static(
    emb: ContextualEmbeddings,
    *,
    layer: int,
    method: str = "pc",
    min_count: int = 1,
    name: str | None = None,
) -> EmbeddingSpace:
    """Static embeddings distilled from contextual ones: one vector per word at ``layer``.

    Parameters
    ----------
    emb : ContextualEmbeddings
        Usually pooled (``pool="mean"``).
    layer : int
        A hidden state held by ``emb``.
    method : {"pc", "mean"}
        ``"pc"``: the first principal component of the word's occurrence matrix (uncentred, as
        in Ethayarajh 2019), signed to point along the word's mean vector; ``"mean"``: the mean
        of its occurrences.
    min_count : int, default 1
        Words with fewer occurrences are left out.
    """
    if method not in ("pc", "mean"):
        raise ValueError(f"method must be 'pc' or 'mean', got {method!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive int, got {min_count!r}")
    X = np.asarray(emb.layer(layer))
    by_word: dict[str, list[int]] = {}
    for i, (t, sp) in enumerate(zip(emb.tokens, emb.special.tolist())):
        if not sp:
            by_word.setdefault(t, []).append(i)
    words = [w for w, r in by_word.items() if len(r) >= min_count]
    if not words:
        raise ValueError(f"no word occurs {min_count} times in the texts")
    out = np.empty((len(words), X.shape[1]), dtype=np.float32)
    with _single_threaded_blas():
        _distill(X, words, by_word, method, out)
    absolute = _resolve_layers(layer, emb.n_hidden_states)[0]
    return EmbeddingSpace(out, words, name=name or f"{method}-static layer {absolute}")


def _distill(
    X: np.ndarray, words: list[str], by_word: dict[str, list[int]], method: str, out: np.ndarray
) -> None:
    for j, w in enumerate(words):
        R = X[by_word[w]]
        mean = R.mean(axis=0, dtype=np.float64)
        if method == "mean":
            out[j] = mean
        elif not np.any(R):
            out[j] = 0.0
        else:
            pc = principal_axes(R, 1, center=False)[0]
            out[j] = pc if pc @ mean >= 0 else -pc


@dataclass(frozen=True, repr=False)
class StaticVsContextual(Display):
    """One word in several sentences: its contextual vectors against its static one.

    Attributes
    ----------
    word : str
    sentences : list of str
    layers : tuple of int
    cosines : np.ndarray (n_layers, n, n)
        Cosines between the word's contextual vectors across the sentences, per layer.
    static_cosine : np.ndarray (n_layers, n)
        Each contextual vector's cosine with the word's static (input-embedding) vector.
    neighbors : list (n_layers) of list (n) of list of str
        The static nearest neighbours (vocabulary entries) of each contextual vector.
    neighbor_scores : np.ndarray (n_layers, n, k)
    """

    word: str
    sentences: list[str] = field(repr=False)
    layers: tuple[int, ...]
    cosines: np.ndarray = field(repr=False)
    static_cosine: np.ndarray = field(repr=False)
    neighbors: list[list[list[str]]] = field(repr=False)
    neighbor_scores: np.ndarray = field(repr=False)

    def _table(self) -> dict[str, Any]:
        n = len(self.sentences)
        iu = np.triu_indices(n, k=1)
        return {
            "layer": list(self.layers),
            "mean_cosine_across_sentences": [
                float(C[iu].mean()) if n > 1 else float("nan") for C in self.cosines
            ],
            "mean_cosine_to_static": self.static_cosine.mean(axis=1),
        }

    def _summary(self) -> str:
        return f"{self.word!r} in {len(self.sentences)} sentences, {len(self.layers)} layers"


def static_vs_contextual(
    model: Any,
    word: str,
    sentences: Sequence[str],
    *,
    layers: int | Sequence[int] | None = None,
    k: int = 5,
) -> StaticVsContextual:
    """The course's example: one word ("bank") in several sentences, per layer.

    The word's vector in each sentence is the mean of its pieces at its first occurrence; its
    static vector is the mean of its pieces' rows of the input-embedding matrix.

    Parameters
    ----------
    model : path or EmbeddingSpace
        A Hugging Face folder, or its space from :func:`tokenspace.load_hf`.
    word : str
        As the tokenizer writes it ("bank" for uncased BERT; "bank" for GPT-2, whose leading
        space marker is handled by the tokenizer).
    sentences : sequence of str
        Each must contain the word.
    k : int, default 5
        Static nearest neighbours listed per contextual vector.
    """
    sentences = _check_texts(sentences)
    space = model if isinstance(model, EmbeddingSpace) else load_hf(_model_folder(model))
    emb = contextual_embeddings(model, sentences, layers=layers, pool="mean")
    first = []
    for t in range(len(sentences)):
        rows_t = np.flatnonzero((emb.sentence == t) & ~emb.special).tolist()
        hits = [i for i in rows_t if emb.tokens[i] == word]
        if not hits:
            raise KeyError(
                f"{word!r} does not occur in sentence {t} ({sentences[t]!r}) as the tokenizer "
                f"splits it into words"
            )
        first.append(hits[0])
    rows = np.asarray(first)
    if emb.vectors.shape[-1] != space.dim:
        raise ValueError(
            f"the hidden states have {emb.vectors.shape[-1]} dimensions and the input embeddings "
            f"{space.dim}: their cosines are undefined"
        )
    piece_ids = _pieces_of(space, word, model)
    static = space.vectors[piece_ids].mean(axis=0, dtype=np.float64).astype(np.float32)
    cos, to_static, nbrs, scores = [], [], [], []
    for _, X in _layer_view(emb):
        V = np.ascontiguousarray(np.asarray(X)[rows])
        cos.append(cosine_matrix(V))
        to_static.append(cosine_matrix(V, static[None, :])[:, 0])
        res = space.knn(V, k=k)
        nbrs.append([[space.vocab[j] for j in r] for r in res.indices.tolist()])
        scores.append(res.scores)
    return StaticVsContextual(
        word,
        sentences,
        emb.layers,
        np.stack(cos),
        np.stack(to_static),
        nbrs,
        np.stack(scores),
    )


def _pieces_of(space: EmbeddingSpace, word: str, model: Any) -> np.ndarray:
    tokenizer, _ = _load_model(str(_model_folder(model).resolve()))
    # the word as it stands inside a sentence: GPT-2 gives " bank" its own token ("Ġbank")
    style = getattr(space.tokenizer, "style", None)
    text = " " + word if style == "bytelevel" else word
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ValueError(f"{word!r} has no tokens")
    return np.asarray(ids, dtype=np.int64)
