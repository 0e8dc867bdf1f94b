"""Tokenization on spaces loaded from Hugging Face folders (and a fallback for word spaces).

Token conventions handled:

- byte-level BPE (GPT-2, RoBERTa, Llama 3 ...): a leading space is part of the token and shows
  as "Ġ" (and a newline as "Ċ"); ``display_token`` maps the bytes back to text.
- WordPiece (BERT): a word-internal piece starts with "##".
- SentencePiece / Metaspace (T5, Llama 2 ...): a leading space shows as "▁".

``tokenizers`` is imported only when a tokenizer is first needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "SingleTokenWords",
    "Tokens",
    "display_token",
    "embed",
    "get_tokenizer",
    "single_token_words",
    "token_style",
    "tokenize",
]

POOLS = ("mean", "sum", "max", "first", "last", None)


@dataclass(frozen=True)
class Tokens:
    """The tokenization of one text: ``tokens[i]`` has id ``ids[i]`` and spans
    ``text[offsets[i][0]:offsets[i][1]]``."""

    tokens: list[str]
    ids: np.ndarray
    offsets: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class SingleTokenWords:
    """The words that are exactly one token: ``words[i]`` is token ``tokens[i]`` (id ``ids[i]``);
    ``rejected`` lists the other input words."""

    words: list[str]
    ids: np.ndarray
    tokens: list[str]
    rejected: list[str]

    def __len__(self) -> int:
        return len(self.words)


def get_tokenizer(space: Any, *, required: bool = True) -> Any:
    """The space's ``tokenizers.Tokenizer`` (opened from its tokenizer.json on first use)."""
    tok = getattr(space, "_tokenizer", None)
    if tok is None and getattr(space, "_tokenizer_path", None):
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ModuleNotFoundError(
                "tokenizing needs the tokenizers package: pip install tokenizers"
            ) from e
        try:
            tok = Tokenizer.from_file(space._tokenizer_path)
        except Exception as e:  # tokenizers raises its own Exception type
            raise ValueError(f"{space._tokenizer_path}: cannot read the tokenizer ({e})") from None
        # Folders often save padding/truncation settings for batching (MiniLM pads to 128);
        # token-level analysis wants the plain tokenization.
        tok.no_padding()
        tok.no_truncation()
        space._tokenizer = tok
    if tok is None and required:
        raise ValueError(
            f"{space!r} has no tokenizer: load a Hugging Face folder with a tokenizer.json "
            "(ts.load_hf) or pass tokenizer= to EmbeddingSpace"
        )
    return tok


def token_style(space: Any) -> str:
    """'bytelevel', 'wordpiece', 'metaspace' or 'plain'."""
    cached = getattr(space, "_token_style", None)
    if cached is not None:
        return cached
    style = "plain"
    tok = get_tokenizer(space, required=False)
    if tok is not None:
        # type names plus the (small) reprs of the pre-tokenizer and decoder; never repr the
        # model, which can print the whole vocabulary
        parts = type(tok.model).__name__ + " " + " ".join(
            type(x).__name__ + repr(x) for x in (tok.pre_tokenizer, tok.decoder) if x is not None
        )
        if "ByteLevel" in parts:
            style = "bytelevel"
        elif "WordPiece" in parts:
            style = "wordpiece"
        elif "Metaspace" in parts:
            style = "metaspace"
    else:
        sample = space.vocab[: 50000]
        if sum(w.startswith("Ġ") for w in sample) > len(sample) // 20:
            style = "bytelevel"
        elif sum(w.startswith("##") for w in sample) > len(sample) // 50:
            style = "wordpiece"
        elif sum(w.startswith("▁") for w in sample) > len(sample) // 20:
            style = "metaspace"
    space._token_style = style
    return style


def _check_ids(space: Any, ids: np.ndarray, text: str) -> None:
    if ids.size and int(ids.max()) >= len(space):
        raise ValueError(
            f"the tokenizer gives id {int(ids.max())} for {text!r}, past the {len(space)} rows of "
            "the embedding matrix; the tokenizer does not belong to this space"
        )


def tokenize(space: Any, text: str, *, special_tokens: bool = False) -> Tokens:
    """Tokens and ids of ``text``; spaces without a tokenizer split on whitespace."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tok = get_tokenizer(space, required=False)
    if tok is None:
        tokens, offsets, pos = [], [], 0
        for w in text.split():
            start = text.index(w, pos)
            pos = start + len(w)
            tokens.append(w)
            offsets.append((start, pos))
        return Tokens(tokens, space.indices(tokens), offsets)
    enc = tok.encode(text, add_special_tokens=special_tokens)
    ids = np.asarray(enc.ids, dtype=np.int64)
    _check_ids(space, ids, text)
    return Tokens(list(enc.tokens), ids, [tuple(o) for o in enc.offsets])


def _pool(x: np.ndarray, pool: str | None) -> np.ndarray:
    if pool is None:
        return x
    if pool == "mean":
        return x.mean(axis=0, dtype=np.float64).astype(np.float32)
    if pool == "sum":
        return x.sum(axis=0, dtype=np.float64).astype(np.float32)
    if pool == "max":
        return x.max(axis=0)
    if pool == "first":
        return x[0].copy()
    if pool == "last":
        return x[-1].copy()
    raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")


def embed(
    space: Any, text: str | Sequence[str], *, pool: str | None = "mean", special_tokens: bool = False
) -> np.ndarray:
    """Vector of a word or text pooled over its tokens; (n, d) for a list of texts.

    ``pool=None`` returns the (n_tokens, d) token vectors of one text.
    """
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")
    if not isinstance(text, str):
        if pool is None:
            raise ValueError("pool=None needs a single text (it returns one row per token)")
        items = list(text)
        if not items:
            return np.zeros((0, space.dim), np.float32)
        return np.stack([embed(space, t, pool=pool, special_tokens=special_tokens) for t in items])
    if get_tokenizer(space, required=False) is None and text in space:
        ids = np.asarray([space.index(text)], dtype=np.int64)
    else:
        ids = tokenize(space, text, special_tokens=special_tokens).ids
    if ids.size == 0:
        raise ValueError(f"{text!r} has no tokens; nothing to embed")
    return _pool(np.asarray(space.vectors[ids]), pool)


def single_token_words(
    space: Any, words: Sequence[str], *, leading_space: bool | None = None
) -> SingleTokenWords:
    """Keep the words the tokenizer maps to exactly one (known) token.

    Parameters
    ----------
    leading_space : bool, optional
        Test the word as it appears after a space (" word": GPT-2's "Ġword" token, SentencePiece's
        "▁word") rather than at the start of a text. Default: True for byte-level and
        SentencePiece tokenizers, where this is how words appear inside text; WordPiece ignores
        it (BERT splits on spaces first). Pieces ("##ing") and the unknown token never count.
    """
    if isinstance(words, str):
        raise TypeError("single_token_words takes a list of words, not one string")
    words = list(words)
    style = token_style(space)
    if leading_space is None:
        leading_space = style in ("bytelevel", "metaspace")
    tok = get_tokenizer(space, required=False)
    kept: list[str] = []
    ids: list[int] = []
    tokens: list[str] = []
    rejected: list[str] = []
    if tok is None:
        marker = {"bytelevel": "Ġ", "metaspace": "▁"}.get(style, "")
        for w in words:
            t = (marker + w) if leading_space and marker else w
            if t in space and not (style == "wordpiece" and t.startswith("##")):
                kept.append(w)
                ids.append(space.index(t))
                tokens.append(t)
            else:
                rejected.append(w)
    else:
        unk = getattr(tok.model, "unk_token", None)
        prefix = " " if leading_space and style == "bytelevel" else ""
        encs = tok.encode_batch([prefix + w for w in words], add_special_tokens=False)
        for w, enc in zip(words, encs):
            # Metaspace adds "▁" itself at the start; without leading_space compare to the bare form
            ok = len(enc.ids) == 1 and enc.tokens[0] != unk and enc.ids[0] < len(space)
            if ok and style == "metaspace" and not leading_space:
                ok = not enc.tokens[0].startswith("▁")
            if ok:
                kept.append(w)
                ids.append(enc.ids[0])
                tokens.append(enc.tokens[0])
            else:
                rejected.append(w)
    return SingleTokenWords(kept, np.asarray(ids, dtype=np.int64), tokens, rejected)


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    # GPT-2's reversible byte <-> printable-unicode table (openai/gpt-2 encoder.py).
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def display_token(space: Any, token: int | str) -> str:
    """Human-readable form of a token: "Ġking" -> " king", "Ċ" -> "\\n", "▁the" -> " the".

    WordPiece pieces keep their "##" (it carries meaning); a byte-level token that is part of a
    multi-byte character shows the bytes escaped ("\\xf0\\x9f").
    """
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        t = space.vocab[space._resolve(token)]
    elif isinstance(token, str):
        t = token
    else:
        raise TypeError(f"expected a token id (int) or a token (str), got {type(token).__name__}")
    style = token_style(space)
    if style == "bytelevel":
        table = _byte_decoder()
        if all(c in table for c in t):
            return bytes(table[c] for c in t).decode("utf-8", errors="backslashreplace")
        return t  # added/special tokens are stored as plain text
    if style == "metaspace":
        return t.replace("▁", " ")
    return t
