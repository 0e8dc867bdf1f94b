"""What the report's sections share: the models, the seed, the output folder and the word sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..loaders import load
from ..space import EmbeddingSpace

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


def category_words(s: EmbeddingSpace) -> list[str]:
    """The words of :data:`CATEGORIES` that ``s`` contains, category by category."""
    return [w for ws in CATEGORIES.values() for w in ws if w in s]


def present(s: EmbeddingSpace, words: Sequence[str]) -> list[str]:
    """The words of ``words`` that ``s`` contains, in order."""
    return [w for w in words if w in s]
