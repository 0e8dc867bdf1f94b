"""Batches of analogy questions ``a : b :: c : ?`` answered by the certified analogy search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analogy_search import canonical_method, search, unique_terms, vocab_prefix
from ..tokens import TokenDisplay


@dataclass(frozen=True, repr=False)
class AnalogyResult(TokenDisplay):
    """Answers of a batch of analogy queries, best first.

    Attributes
    ----------
    indices : np.ndarray
        int64 (n_queries, topn) vocabulary ids; -1 where fewer candidates exist.
    scores : np.ndarray
        float64 (n_queries, topn): cosine with the normalised query (3CosAdd) or the 3CosMul
        objective; -inf where ``indices`` is -1.
    words : list of list of str
    method : str
    """

    indices: np.ndarray
    scores: np.ndarray
    words: list[list[str]]
    method: str

    _token_columns = ("word",)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, i: int) -> list[tuple[str, float]]:
        return [(w, float(s)) for w, s in zip(self.words[i], self.scores[i].tolist())]

    def _summary(self) -> str:
        n, k = self.indices.shape
        return f"{n} queries x topn={k}, method={self.method!r}"

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per (query, answer); missing answers (id -1) are left out."""
        n, k = self.indices.shape
        keep = [(i, j) for i in range(n) for j in range(k) if self.indices[i, j] >= 0]
        return {
            "query": [i for i, _ in keep],
            "rank": [j + 1 for _, j in keep],
            "id": [int(self.indices[i, j]) for i, j in keep],
            "word": [self.words[i][j] for i, j in keep],
            "score": [float(self.scores[i, j]) for i, j in keep],
        }


def solve_analogies(
    s: Any,
    questions: Sequence[Sequence[str | int]] | np.ndarray,
    *,
    topn: int = 1,
    method: str = "3cosadd",
    restrict_vocab: int | None = None,
    exclude_inputs: bool = True,
) -> AnalogyResult:
    """Answer many analogies ``a : b :: c : ?`` (i.e. ``b - a + c``) in one batched kernel call.

    Parameters
    ----------
    questions : sequence of (a, b, c) words or ids, or an int array (m, 3)
    topn : int
        Answers per question.
    method : {"3cosadd", "3cosmul"}
    restrict_vocab : int, optional
        Search only the first ``restrict_vocab`` entries.
    exclude_inputs : bool
        Never answer one of the question's own words (gensim's behaviour).
    """
    method = canonical_method(method)
    if isinstance(questions, np.ndarray) and np.issubdtype(questions.dtype, np.integer):
        ids = questions.astype(np.int64)
        if ids.ndim != 2 or ids.shape[1] != 3:
            raise ValueError(f"questions must have shape (m, 3), got {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(s)):
            raise IndexError("question ids out of range")
    else:
        qs = [list(q) for q in questions]
        if any(len(q) != 3 for q in qs):
            raise ValueError("each question is (a, b, c): a is to b as c is to ?")
        ids = np.array([[s._resolve(w) for w in q] for q in qs], dtype=np.int64).reshape(-1, 3)
    if ids.shape[0] == 0:
        raise ValueError("no questions given")
    n = vocab_prefix(s, restrict_vocab)
    topn = int(topn)
    if topn < 1 or topn > n - (3 if exclude_inputs else 0):
        raise ValueError(f"topn must be between 1 and {n - (3 if exclude_inputs else 0)}")
    # term order as gensim's evaluation: positive=[b, c], negative=[a]
    order = ids[:, [1, 2, 0]]
    terms, qterms = unique_terms(s, order)
    exclude = order if exclude_inputs else None
    idx, sc = search(s, terms, qterms, 2, method=method, topn=topn, limit=n, exclude=exclude)
    vocab = s.vocab
    words = [[vocab[j] if j >= 0 else "" for j in row] for row in idx.tolist()]
    return AnalogyResult(idx, sc, words, method)
