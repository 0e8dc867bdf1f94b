"""Tokenization on spaces loaded from Hugging Face folders (and a fallback for word spaces).

Token conventions handled:

- byte-level BPE (GPT-2, RoBERTa, Llama 3 ...): a leading space is part of the token and shows
  as "Ġ" (and a newline as "Ċ"); ``display_token`` maps the bytes back to text.
- WordPiece (BERT): a word-internal piece starts with "##".
- SentencePiece / Metaspace (T5, Llama 2 ...): a leading space shows as "▁".

``tokenizers`` is imported only when a tokenizer is first needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ._display import Display, format_cell

__all__ = [
    "ContentTokens",
    "SingleTokenWords",
    "TokenDisplay",
    "Tokenizer",
    "Tokens",
    "UnknownTokenWarning",
    "as_tokenizer",
    "content_tokens",
    "display_form",
    "display_token",
    "embed",
    "lookup_forms",
    "single_token_words",
    "tokenize",
    "vocab_style",
]

POOLS = ("mean", "sum", "max", "first", "last", None)

#: What tables show for a space inside a token (GPT-2 "Ġ", SentencePiece "▁").
VISIBLE_SPACE = "␣"


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class UnknownTokenWarning(UserWarning):
    """Part of a text became the tokenizer's unknown token ([UNK]): its vector is the [UNK]
    vector, not one of the text's own (an emoji in a BERT vocabulary, for instance)."""


def display_form(token: str, style: str) -> str:
    """The human-readable form of a token for tables.

    Parameters
    ----------
    token : str
        A vocabulary entry.
    style : str
        The vocabulary's convention, as returned by :func:`vocab_style` (or
        ``EmbeddingSpace.token_style``).

    Returns
    -------
    str
        Byte-level BPE: the bytes decoded and each space shown as "␣" ("Ġthe" -> "␣the",
        "Ã©" -> "é"); control characters escaped ("Ċ" -> "\\n") so a table row stays one
        line; a partial multi-byte character escaped ("\\xf0\\x9f"); text that is not
        byte-level (added tokens) kept, with spaces shown as "␣".
        SentencePiece: "▁" -> "␣". WordPiece "##" pieces and plain words are unchanged.

    Examples
    --------
    >>> display_form("Ġthe", "bytelevel"), display_form("▁the", "metaspace")
    ('␣the', '␣the')
    """
    if style == "bytelevel":
        table = _byte_decoder()
        if token and all(c in table for c in token):
            text = bytes(table[c] for c in token).decode("utf-8", errors="backslashreplace")
            # control characters ("Ċ" is a newline) would break a table's rows: escaped
            text = _CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], text)
            return text.replace(" ", VISIBLE_SPACE)
        # added/special tokens are stored as plain text (and so is a user's query text)
        return token.replace(" ", VISIBLE_SPACE)
    if style == "metaspace":
        return token.replace("▁", VISIBLE_SPACE)
    return token


class TokenDisplay(Display):
    """:class:`~tokenspace._display.Display` whose token columns show display forms.

    The style comes from a ``style`` attribute when the result has one (set from the space
    that produced it), otherwise from the markers of the tokens shown.
    """

    __slots__ = ()

    def _shown_head(self, n: int) -> tuple[dict[str, list[str]], int]:
        head, total = self._head(n)
        style = getattr(self, "style", None)
        if not style:
            sample = [str(v) for c in self._token_columns if c in head for v in head[c]]
            style = vocab_style(sample)
        shown = {
            c: [
                format_cell(display_form(v, style))
                if c in self._token_columns and isinstance(v, str)
                else format_cell(v)
                for v in col
            ]
            for c, col in head.items()
        }
        return shown, total


@dataclass(frozen=True, repr=False)
class Tokens(TokenDisplay):
    """The tokenization of one text: ``tokens[i]`` has id ``ids[i]`` and spans
    ``text[offsets[i][0]:offsets[i][1]]``."""

    tokens: list[str]
    ids: np.ndarray
    offsets: list[tuple[int, int]]

    _token_columns = ("token",)

    def __len__(self) -> int:
        return len(self.tokens)

    def _summary(self) -> str:
        return f"{len(self)} tokens"

    def _table(self) -> dict[str, Sequence[Any]]:
        return {
            "token": list(self.tokens),
            "id": self.ids.tolist(),
            "start": [int(o[0]) for o in self.offsets],
            "end": [int(o[1]) for o in self.offsets],
        }


@dataclass(frozen=True, repr=False)
class SingleTokenWords(TokenDisplay):
    """The words that are exactly one token: ``words[i]`` is token ``tokens[i]`` (id ``ids[i]``);
    ``rejected`` lists the other input words."""

    words: list[str]
    ids: np.ndarray
    tokens: list[str]
    rejected: list[str]

    _token_columns = ("token",)

    def __len__(self) -> int:
        return len(self.words)

    def _summary(self) -> str:
        return f"{len(self)} single-token words, {len(self.rejected)} rejected"

    def _table(self) -> dict[str, Sequence[Any]]:
        return {"word": list(self.words), "token": list(self.tokens), "id": self.ids.tolist()}


class Tokenizer:
    """A model's tokenizer, opened on first use (importing ``tokenizers`` costs ~100 ms).

    Parameters
    ----------
    source : path or tokenizers.Tokenizer
        A ``tokenizer.json`` file, or a ready ``tokenizers.Tokenizer``.

    Files are opened without their saved padding and truncation settings (MiniLM's folder pads
    to 128): token-level analysis wants the plain tokenization.
    """

    def __init__(self, source: str | os.PathLike | Any) -> None:
        self._tok: Any = None
        self._path: str | None = None
        self._style: str | None = None
        if isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
        elif hasattr(source, "encode") and hasattr(source, "to_str"):
            self._tok = source
        else:
            raise TypeError(
                "tokenizer must be a tokenizer.json path or a tokenizers.Tokenizer, got "
                f"{type(source).__name__}"
            )

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> Tokenizer | None:
        """The tokenizer of a Hugging Face folder: its tokenizer.json, or one built from the
        files that predate it (GPT-2 / RoBERTa ``vocab.json`` + ``merges.txt``: byte-level BPE;
        BERT ``vocab.txt``: WordPiece, lowercasing from tokenizer_config.json). None when the
        folder has neither (or ``tokenizers`` is not installed for the legacy files)."""
        folder = Path(folder)
        if (folder / "tokenizer.json").exists():
            return cls(folder / "tokenizer.json")
        built = _legacy_tokenizer(folder)
        return None if built is None else cls(built)

    def __repr__(self) -> str:
        where = self._path if self._path is not None else type(self._tok).__name__
        return f"Tokenizer({where!r})"

    @property
    def path(self) -> str | None:
        """The tokenizer.json file it reads, or None for an in-memory tokenizer."""
        return self._path

    def load(self) -> Any:
        """The ``tokenizers.Tokenizer`` (opened and cached on the first call)."""
        if self._tok is None:
            try:
                from tokenizers import Tokenizer as HFTokenizer
            except ImportError as e:
                raise ModuleNotFoundError(
                    "tokenizing needs the tokenizers package: pip install tokenizers"
                ) from e
            try:
                tok = HFTokenizer.from_file(str(self._path))
            except Exception as e:  # tokenizers raises its own Exception type
                raise ValueError(f"{self._path}: cannot read the tokenizer ({e})") from None
            tok.no_padding()
            tok.no_truncation()
            self._tok = tok
        return self._tok

    @property
    def style(self) -> str:
        """'bytelevel', 'wordpiece', 'metaspace' or 'plain', read from the tokenizer's parts."""
        if self._style is None:
            tok = self.load()
            # type names plus the (small) reprs of the pre-tokenizer and decoder; never repr the
            # model, which can print the whole vocabulary
            parts = (
                type(tok.model).__name__
                + " "
                + " ".join(
                    type(x).__name__ + repr(x)
                    for x in (tok.pre_tokenizer, tok.decoder)
                    if x is not None
                )
            )
            style = "plain"
            for name, marker in (
                ("bytelevel", "ByteLevel"),
                ("wordpiece", "WordPiece"),
                ("metaspace", "Metaspace"),
            ):
                if marker in parts:
                    style = name
                    break
            self._style = style
        return self._style

    @property
    def unk_token(self) -> str | None:
        return getattr(self.load().model, "unk_token", None)

    def encode(self, text: str, *, special_tokens: bool = False) -> Any:
        """The ``tokenizers.Encoding`` of ``text`` (ids, tokens, offsets, special_tokens_mask)."""
        return self.load().encode(text, add_special_tokens=special_tokens)

    def encode_batch(self, texts: Sequence[str], *, special_tokens: bool = False) -> list[Any]:
        return self.load().encode_batch(list(texts), add_special_tokens=special_tokens)

    def save(self, path: str | os.PathLike) -> None:
        """Write it as a tokenizer.json file (a copy of the file it was opened from)."""
        if self._path is not None:
            shutil.copyfile(self._path, path)
        else:
            Path(path).write_text(self.load().to_str(), encoding="utf-8")


def _legacy_tokenizer(folder: Path) -> Any:
    cfg_path = folder / "tokenizer_config.json"
    cfg = {}
    if cfg_path.exists():
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            cfg = {}
    try:
        from tokenizers import implementations
    except ImportError:
        return None
    if (folder / "vocab.json").exists() and (folder / "merges.txt").exists():
        bpe = implementations.ByteLevelBPETokenizer(
            str(folder / "vocab.json"),
            str(folder / "merges.txt"),
            add_prefix_space=bool(cfg.get("add_prefix_space", False)),
        )
        return bpe._tokenizer
    if (folder / "vocab.txt").exists():
        wp = implementations.BertWordPieceTokenizer(
            str(folder / "vocab.txt"),
            lowercase=bool(cfg.get("do_lower_case", True)),
            strip_accents=cfg.get("strip_accents"),
            unk_token=cfg.get("unk_token", "[UNK]"),
        )
        return wp._tokenizer
    return None


@lru_cache(maxsize=16)
def open_tokenizer(path: str) -> Tokenizer:
    """One shared Tokenizer per tokenizer.json path or model folder (opened once per process)."""
    p = Path(path)
    if p.is_dir():
        found = Tokenizer.from_folder(p)
        if found is None:
            raise FileNotFoundError(f"{p}: no tokenizer.json; pass a tokenizers.Tokenizer instead")
        return found
    if not p.exists():
        raise FileNotFoundError(f"{p}: no tokenizer.json; pass a tokenizers.Tokenizer instead")
    return Tokenizer(p)


def as_tokenizer(spec: Any) -> Tokenizer:
    """A Tokenizer from a Tokenizer, a ``tokenizers.Tokenizer``, a tokenizer.json path or a
    model folder."""
    if isinstance(spec, Tokenizer):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return open_tokenizer(str(Path(spec).resolve()))
    return Tokenizer(spec)


def vocab_style(vocab: Sequence[str]) -> str:
    """The token convention of a vocabulary without a tokenizer, from its markers."""
    sample = vocab[:50000]
    if sum(w.startswith("Ġ") for w in sample) > len(sample) // 20:
        return "bytelevel"
    if sum(w.startswith("##") for w in sample) > len(sample) // 50:
        return "wordpiece"
    if sum(w.startswith("▁") for w in sample) > len(sample) // 20:
        return "metaspace"
    return "plain"


_MARKERS = {"bytelevel": "Ġ", "metaspace": "▁"}


@lru_cache(maxsize=1)
def _byte_encoder() -> dict[int, str]:
    return {b: c for c, b in _byte_decoder().items()}


def token_form(text: str, style: str) -> str:
    """How a piece of text is spelled in a vocabulary of ``style``: " the" -> "Ġthe"
    (byte-level: every UTF-8 byte through GPT-2's byte table), "▁the" (SentencePiece);
    unchanged for WordPiece and plain vocabularies."""
    if style == "bytelevel":
        enc = _byte_encoder()
        return "".join(enc[b] for b in text.encode("utf-8", errors="surrogatepass"))
    if style == "metaspace":
        return text.replace(" ", "▁")
    return text


def lookup_forms(word: str, style: str, *, leading_space: bool | None = None) -> list[str]:
    """The vocabulary entries to try, in order, for a word typed by a user.

    Parameters
    ----------
    word : str
    style : str
        The vocabulary's convention (:func:`vocab_style`).
    leading_space : bool, optional
        ``True``: the word as it appears after a space ("the" -> "Ġthe" / "▁the"; a word that
        already starts with a space is taken as it is). ``False`` or ``None``: the word as
        given, then its text spelled the vocabulary's way (so " the" finds "Ġthe" and "é"
        finds "Ã©" in a byte-level vocabulary). WordPiece and plain vocabularies have no
        space marker: the word is looked up as given.
    """
    if style not in _MARKERS:
        return [word]
    if leading_space:
        spaced = word if word.startswith(" ") else " " + word
        return [token_form(spaced, style)]
    forms = [word, token_form(word, style)]
    return forms[:1] if forms[1] == word else forms


def spelling_hints(word: str, style: str, contains: Any) -> list[str]:
    """Entries a user probably meant when ``word`` is missing from a vocabulary of ``style``:
    its after-a-space form ("Ġthe") and those of its other casings."""
    if style not in _MARKERS:
        return []
    bare = word.lstrip(" ")
    found: list[str] = []
    for v in dict.fromkeys((bare, bare.lower(), bare.capitalize(), bare.strip())):
        for t in (token_form(" " + v, style), token_form(v, style)):
            if t != word and t not in found and contains(t):
                found.append(t)
    return found


def _warn_unknown(tok: Tokenizer, enc: Any, text: str) -> None:
    """Warn when pieces of ``text`` became the unknown token (their vector is [UNK]'s)."""
    unk = tok.unk_token
    if unk is None:
        return
    pieces = [
        text[a:b] for t, (a, b) in zip(enc.tokens, enc.offsets) if t == unk and text[a:b] != unk
    ]
    if pieces:
        shown = ", ".join(repr(p) for p in dict.fromkeys(pieces))
        warnings.warn(
            f"{shown} became the unknown token {unk} (the tokenizer has no piece for it), so its "
            f"vector is the {unk} vector; drop such characters or use a model that covers them",
            UnknownTokenWarning,
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """``stacklevel`` that points a warning at the first frame outside tokenspace (the user's
    line, whichever public function led here)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


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
    tok = space.tokenizer
    if tok is None:
        tokens, offsets, pos = [], [], 0
        for w in text.split():
            start = text.index(w, pos)
            pos = start + len(w)
            tokens.append(w)
            offsets.append((start, pos))
        return Tokens(tokens, space.indices(tokens), offsets)
    enc = tok.encode(text, special_tokens=special_tokens)
    ids = np.asarray(enc.ids, dtype=np.int64)
    _check_ids(space, ids, text)
    _warn_unknown(tok, enc, text)
    return Tokens(list(enc.tokens), ids, [tuple(o) for o in enc.offsets])


_WORD_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)
_SPECIAL_RE = re.compile(r"^(\[(CLS|SEP|PAD|MASK)\]|</?s>|<pad>|<mask>|<\|[^|]*\|>)$")


@dataclass(frozen=True, repr=False)
class ContentTokens(TokenDisplay):
    """The content tokens of a text: vocabulary ids and token strings, special tokens removed.

    ``skipped`` lists the pieces of the text that have no vocabulary entry (word-level spaces
    only; subword tokenizers map everything to some token).
    """

    ids: np.ndarray
    tokens: list[str]
    skipped: list[str]

    _token_columns = ("token",)

    def __len__(self) -> int:
        return len(self.tokens)

    def _summary(self) -> str:
        return f"{len(self)} tokens, {len(self.skipped)} skipped"

    def _table(self) -> dict[str, Sequence[Any]]:
        return {"token": list(self.tokens), "id": self.ids.tolist()}


def content_tokens(space: Any, text: str, *, tokenizer: Any = None) -> ContentTokens:
    """The tokens of ``text`` that carry content, as ids of ``space``.

    With a tokenizer (``tokenizer=``, else the space's own) special tokens ([CLS], <s>,
    <|endoftext|> ...) are dropped. A space without one (GloVe, word2vec) splits the text into
    words and punctuation and looks each piece up, lower-cased if needed, skipping pieces the
    vocabulary lacks.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tok = as_tokenizer(tokenizer) if tokenizer is not None else space.tokenizer
    vocab = space.vocab
    if tok is not None:
        enc = tok.encode(text)
        ids = np.asarray(enc.ids, dtype=np.int64)
        _warn_unknown(tok, enc, text)
        if ids.size and int(ids.max()) >= len(space):
            raise ValueError(
                f"the tokenizer produced id {int(ids.max())} but the space has only {len(space)} "
                "rows; is it the tokenizer of this model?"
            )
        keep = [
            i
            for i, special in zip(ids.tolist(), enc.special_tokens_mask)
            if not special and not _SPECIAL_RE.match(vocab[i])
        ]
        kept = np.asarray(keep, dtype=np.int64)
        return ContentTokens(kept, [vocab[i] for i in keep], [])
    found: list[int] = []
    skipped: list[str] = []
    for piece in _WORD_RE.findall(text):
        for cand in (piece, piece.lower()):
            if cand in space:
                found.append(space.index(cand))
                break
        else:
            skipped.append(piece)
    return ContentTokens(np.asarray(found, dtype=np.int64), [vocab[i] for i in found], skipped)


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
    space: Any,
    text: str | Sequence[str],
    *,
    pool: str | None = "mean",
    special_tokens: bool = False,
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
    if space.tokenizer is None and text in space:
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
    style = space.token_style
    if leading_space is None:
        leading_space = style in ("bytelevel", "metaspace")
    tok = space.tokenizer
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
        unk = tok.unk_token
        prefix = " " if leading_space and style == "bytelevel" else ""
        encs = tok.encode_batch([prefix + w for w in words])
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
    style = space.token_style
    if style == "bytelevel":
        table = _byte_decoder()
        if all(c in table for c in t):
            return bytes(table[c] for c in t).decode("utf-8", errors="backslashreplace")
        return t  # added/special tokens are stored as plain text
    if style == "metaspace":
        return t.replace("▁", " ")
    return t
