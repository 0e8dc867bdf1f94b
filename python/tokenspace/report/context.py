"""What the report's sections share: the models, the seed, the output folder and the word sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..loaders import load
from ..space import EmbeddingSpace
from ..tokens import display_form, vocab_style

CATEGORIES: dict[str, list[str]] = {
    "animals": ["dog", "cat", "horse", "cow", "lion"],
    "countries": ["france", "germany", "italy", "spain", "japan"],
    "numbers": ["one", "two", "three", "four", "five"],
    "colours": ["red", "green", "blue", "yellow", "purple"],
}
KNN_SEEDS = ["king", "paris", "computer", "happy", "river", "seven"]
TEXT = (
    "The king and the queen walked through the garden of the old palace. "
    "Suddenly, a small dog barked at the mysterious stranger, who smiled and vanished."
)
SEED_WORD = "dog"


@dataclass
class ReportContext:
    """What sections share: the models (loaded once, lazily), the seed and the output folder."""

    out: Path
    model_names: Sequence[str] = ("glove-6b-50d", "minilm-l6")
    seed: int = 0
    _models: dict[str, EmbeddingSpace] = field(default_factory=dict)

    def model(self, name: str) -> EmbeddingSpace:
        if name not in self._models:
            self._models[name] = load(name)
        return self._models[name]

    @property
    def models(self) -> list[EmbeddingSpace]:
        return [self.model(n) for n in self.model_names]

    @property
    def glove(self) -> EmbeddingSpace:
        return self.model(self.model_names[0])

    @property
    def minilm(self) -> EmbeddingSpace:
        return self.model(self.model_names[1])


@dataclass(frozen=True)
class SectionRecord:
    """What happened to a section: status is "ok" or "failed"."""

    key: str
    title: str
    status: str
    seconds: float
    figures: list[str]
    note: str = ""


@dataclass
class Fig:
    """A report figure: the matplotlib figure (saved as PNG, for print), its caption, and
    optionally an interactive plotly version shown on screen and the plotted data (equal-length
    columns) written as CSV beside it. Sections may also return plain ``(figure, caption)``."""

    figure: Any
    caption: str
    interactive: Any = None
    data: Mapping[str, Sequence[Any]] | None = None


_MARKERS = {"bytelevel": "Ġ", "metaspace": "▁"}


def style_of(s: EmbeddingSpace) -> str:
    """The vocabulary's token convention: "bytelevel", "wordpiece", "metaspace" or "plain"."""
    style = getattr(s, "token_style", None)
    return style if isinstance(style, str) else vocab_style(s.vocab)


def token_for(s: EmbeddingSpace, word: str) -> str | None:
    """The vocabulary entry that stands for ``word`` as a whole word in ``s``, or None.

    Byte-level BPE and SentencePiece vocabularies mark a word that follows a space ("Ġking",
    "▁king"): that form is the word; WordPiece and word-level vocabularies hold it as is. A
    lower-case form is tried last (GloVe and uncased BERT are lower-case).
    """
    marker = _MARKERS.get(style_of(s))
    candidates = ([marker + word] if marker else []) + [word]
    if word.lower() != word:
        candidates += ([marker + word.lower()] if marker else []) + [word.lower()]
    return next((c for c in candidates if c in s), None)


def word_of(s: EmbeddingSpace, token: str) -> str:
    """The plain word of a vocabulary entry: the leading-space marker removed."""
    marker = _MARKERS.get(style_of(s))
    return token[len(marker) :] if marker and token.startswith(marker) else token


def shown(s: EmbeddingSpace, token: str) -> str:
    """A token as tables show it (``Ġking`` -> ``␣king``)."""
    return display_form(token, style_of(s))


def present(s: EmbeddingSpace, words: Sequence[str]) -> list[str]:
    """The vocabulary entries of ``s`` for the words of ``words`` that it has, in order."""
    found = (token_for(s, w) for w in words)
    return list(dict.fromkeys(t for t in found if t is not None))


def category_tokens(s: EmbeddingSpace) -> list[tuple[str, str]]:
    """``(category, token)`` for the words of :data:`CATEGORIES` that ``s`` has."""
    out = []
    for cat, ws in CATEGORIES.items():
        out += [(cat, t) for t in present(s, ws)]
    return out


def category_words(s: EmbeddingSpace) -> list[str]:
    """The tokens of ``s`` for the words of :data:`CATEGORIES`, category by category."""
    return [t for _, t in category_tokens(s)]


def content_words(s: EmbeddingSpace, n: int, *, min_len: int = 3) -> list[str]:
    """The first ``n`` whole-word alphabetic entries of ``s`` (the most frequent ones in
    frequency-ordered vocabularies): a fallback when a fixed word list is missing."""
    marker = _MARKERS.get(style_of(s))
    out = []
    for t in s.vocab:
        if style_of(s) == "wordpiece" and t.startswith("##"):
            continue
        if marker and not t.startswith(marker):
            continue
        w = word_of(s, t)
        if len(w) >= min_len and w.isalpha():
            out.append(t)
            if len(out) == n:
                break
    return out


def shared_pairs(
    a: EmbeddingSpace, b: EmbeddingSpace, words: Sequence[str]
) -> list[tuple[str, str]]:
    """``(token in a, token in b)`` for the words both models have as whole words."""
    out = []
    for w in words:
        ta, tb = token_for(a, w), token_for(b, w)
        if ta is not None and tb is not None:
            out.append((ta, tb))
    return list(dict.fromkeys(out))  # "Ġthe" and "the" both stand for "the"
