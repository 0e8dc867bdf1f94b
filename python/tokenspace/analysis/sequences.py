"""Token sequences: cosine of each token with the previous one, and text coloured by a score.

Texts are split by :func:`tokenspace.tokens.content_tokens`: the space's tokenizer (or an
explicit ``tokenizer=``: a Tokenizer, a ``tokenizers.Tokenizer``, or the path of a
``tokenizer.json`` / model folder) with special tokens removed; a space without one (GloVe,
word2vec) splits the text into words and punctuation and looks each piece up (lower-cased if
needed), skipping pieces the vocabulary lacks.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..similarity import unit_rows
from ..tokens import TokenDisplay, content_tokens


def embed_strings(s: Any, strings: list[str], *, tokenizer: Any = None) -> np.ndarray:
    """One vector per string: the mean of its tokens' vectors.

    Strings that are one vocabulary entry use that entry; others (emojis, words that BPE /
    WordPiece splits, multi-word phrases) are tokenized and their token vectors averaged.

    Returns
    -------
    np.ndarray
        float32 (len(strings), dim).

    Raises
    ------
    KeyError
        If a string yields no token of the vocabulary at all.
    """
    if isinstance(strings, str):
        raise TypeError("embed_strings() takes a list of strings, not one string")
    out = np.empty((len(strings), s.dim), dtype=np.float32)
    for i, text in enumerate(strings):
        if text in s:
            out[i] = s[text]
            continue
        toks = content_tokens(s, text, tokenizer=tokenizer)
        if len(toks) == 0:
            raise KeyError(f"{text!r} has no token in the vocabulary of {s.name or 'the space'}")
        out[i] = np.asarray(s.vectors[toks.ids], dtype=np.float64).mean(axis=0)
    return out


@dataclass(frozen=True, repr=False)
class SequenceCosines(TokenDisplay):
    """Cosine of each token with the previous one along a text.

    ``cosines[i]`` compares ``tokens[i + 1]`` with ``tokens[i]`` (length ``len(tokens) - 1``).
    """

    tokens: list[str]
    ids: np.ndarray
    cosines: np.ndarray

    _token_columns = ("token",)

    @property
    def mean(self) -> float:
        return float(self.cosines.mean()) if self.cosines.size else math.nan

    def _summary(self) -> str:
        return f"{len(self.tokens)} tokens, mean={self.mean:.4f}"

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per token; ``cosine_prev`` is NaN for the first."""
        return {
            "token": list(self.tokens),
            "id": self.ids.tolist(),
            "cosine_prev": [math.nan, *self.cosines.tolist()],
        }

    def table(self) -> str:
        rows = [f"{self.tokens[0]:>16}"]
        rows += [f"{t:>16}  {c:+.4f}" for t, c in zip(self.tokens[1:], self.cosines)]
        return "\n".join(rows)


def sequence_cosines(s: Any, text: str, *, tokenizer: Any = None) -> SequenceCosines:
    """Cosine similarity of each token of ``text`` with the previous token.

    Parameters
    ----------
    s : EmbeddingSpace
    text : str
        Tokenized with the model's tokenizer (see module docs); special tokens are removed.
    tokenizer : tokenizers.Tokenizer or path, optional
        Overrides the default tokenizer choice.

    Returns
    -------
    SequenceCosines
        ``cosines`` has one value fewer than ``tokens``.
    """
    toks = content_tokens(s, text, tokenizer=tokenizer)
    if len(toks) == 0:
        raise ValueError("the text has no token in the vocabulary; nothing to compare")
    u = unit_rows(s)[toks.ids].astype(np.float64)
    cos = np.einsum("ij,ij->i", u[1:], u[:-1]).astype(np.float32)
    return SequenceCosines(toks.tokens, toks.ids, cos)


def token_scores(
    s: Any, text: str, score: str = "norm", *, tokenizer: Any = None
) -> tuple[list[str], np.ndarray]:
    """The tokens of ``text`` and one score each (see :func:`color_text`).

    For ``score="prev"`` the first token has no predecessor: its score is NaN.
    """
    toks = content_tokens(s, text, tokenizer=tokenizer)
    if len(toks) == 0:
        raise ValueError("the text has no token in the vocabulary; nothing to colour")
    if score == "norm":
        vals = np.asarray(s.norms[toks.ids], dtype=np.float64)
    elif score == "prev":
        u = unit_rows(s)[toks.ids].astype(np.float64)
        vals = np.full(len(toks), np.nan)
        vals[1:] = np.einsum("ij,ij->i", u[1:], u[:-1])
    elif isinstance(score, str):
        seed = s.index(score)  # KeyError naming the word if it is not a vocabulary entry
        u = unit_rows(s)
        vals = u[toks.ids].astype(np.float64) @ u[seed].astype(np.float64)
    else:
        raise TypeError(f"score must be 'norm', 'prev' or a seed word, got {type(score).__name__}")
    return toks.tokens, vals


# Eight stops of matplotlib's viridis: colouring must work without matplotlib installed.
_VIRIDIS = [
    (0.267, 0.005, 0.329),
    (0.275, 0.194, 0.497),
    (0.213, 0.359, 0.552),
    (0.153, 0.498, 0.558),
    (0.122, 0.633, 0.530),
    (0.288, 0.761, 0.432),
    (0.626, 0.854, 0.223),
    (0.993, 0.906, 0.144),
]


def _viridis(t: float) -> tuple[float, float, float]:
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return tuple(a[j] + f * (b[j] - a[j]) for j in range(3))  # type: ignore[return-value]


class ColoredText(str):
    """The HTML of :func:`color_text`: a ``str`` (write it into a page as it is) that
    notebooks display rendered."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)


_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "'s", "n't"}


def _display(token: str) -> str:
    """Token as shown in text: WordPiece '##' continuations glued, GPT-2 'Ġ' as a space."""
    if token.startswith("##"):
        return token[2:]
    if token.startswith(("Ġ", "▁")):
        return " " + token[1:]
    return token


def color_text(
    s: Any,
    text: str,
    score: str = "norm",
    *,
    tokenizer: Any = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> ColoredText:
    """HTML of ``text`` with each token's background coloured by a score.

    Parameters
    ----------
    s : EmbeddingSpace
    text : str
    score : {"norm", "prev"} or str
        ``"norm"``: the token's embedding norm; ``"prev"``: cosine with the previous token (the
        first token is left uncoloured); any other string: cosine with that seed word (which must
        be a vocabulary entry).
    vmin, vmax : float, optional
        Colour scale limits (viridis); default: the scores' min and max.

    Returns
    -------
    ColoredText
        A ``str`` holding a ``<div>`` of ``<span>`` elements (each span's ``title`` shows the
        token and its score) that notebooks render as HTML.
    """
    tokens, vals = token_scores(s, text, score, tokenizer=tokenizer)
    finite = vals[np.isfinite(vals)]
    lo = (
        float(finite.min()) if vmin is None and finite.size else (vmin if vmin is not None else 0.0)
    )
    hi = (
        float(finite.max()) if vmax is None and finite.size else (vmax if vmax is not None else 1.0)
    )
    span = hi - lo if hi > lo else 1.0
    label = (
        "norm"
        if score == "norm"
        else "cosine with previous"
        if score == "prev"
        else f"cosine with {score!r}"
    )
    parts = [
        f'<div class="ts-colored-text" data-score="{html.escape(label)}" style="line-height:2em">'
    ]
    for i, (tok, v) in enumerate(zip(tokens, vals)):
        shown = _display(tok)
        glued = tok.startswith("##") or shown.startswith(" ") or shown in _NO_SPACE_BEFORE
        sep = "" if (glued or i == 0) else " "
        if not math.isfinite(v):
            parts.append(f'{sep}<span title="{html.escape(tok)}">{html.escape(shown)}</span>')
            continue
        r, g, b = _viridis((v - lo) / span)
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#fff"
        parts.append(
            f'{sep}<span style="background:rgb({int(r * 255)},{int(g * 255)},{int(b * 255)});'
            f'color:{fg};padding:1px 2px;border-radius:3px" '
            f'title="{html.escape(tok)}: {v:.4f}">{html.escape(shown)}</span>'
        )
    parts.append(
        f'<div style="font-size:80%;color:#555">colour: {html.escape(label)}, '
        f"from {lo:.3f} (dark) to {hi:.3f} (yellow)</div></div>"
    )
    return ColoredText("".join(parts))
