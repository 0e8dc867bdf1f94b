"""Benchmark evaluations: analogy sets (questions-words.txt) and word-pair similarity sets.

Both follow gensim's ``KeyedVectors.evaluate_word_analogies`` / ``evaluate_word_pairs`` rule
for rule, so the numbers are gensim's on the same vectors, but all analogy questions are
answered in one batched kernel call instead of a Python loop of full-vocabulary products.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._display import Display
from ..analogy_search import canonical_method, search, unique_terms, vocab_prefix
from ..space import EmbeddingSpace


def _ok_vocab(
    s: EmbeddingSpace, restrict_vocab: int | None, case_insensitive: bool
) -> dict[str, int]:
    """Lookup table of the first ``restrict_vocab`` words; upper-cased keys map to the lowest id.

    gensim builds it from ``reversed(ok_keys)`` so that, among case variants, the first
    (most frequent) entry wins; a dict built from the reversed list does the same.
    """
    keys = s.vocab[:restrict_vocab]
    ids = range(len(keys) - 1, -1, -1)
    rev = reversed(keys)
    return dict(zip(map(str.upper, rev) if case_insensitive else rev, ids))


def _check_path(path: str | os.PathLike) -> str:
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(
            f"evaluation file {p!r} does not exist; gensim ships the standard ones: "
            "gensim.test.utils.datapath('questions-words.txt'), 'wordsim353.tsv', 'simlex999.txt'"
        )
    return p


@dataclass(frozen=True, repr=False)
class AnalogySection(Display):
    """Counts of one ``: section`` of an analogy file."""

    name: str
    correct: int
    incorrect: int

    @property
    def total(self) -> int:
        return self.correct + self.incorrect

    @property
    def accuracy(self) -> float:
        """correct / (correct + incorrect); 0.0 for a section without evaluated questions."""
        return self.correct / self.total if self.total else 0.0

    def _summary(self) -> str:
        return f"{self.name!r}: {self.correct}/{self.total} correct ({self.accuracy:.4f})"

    def _table(self) -> dict[str, Sequence[Any]]:
        return {
            "section": [self.name],
            "correct": [self.correct],
            "incorrect": [self.incorrect],
            "accuracy": [self.accuracy],
        }


@dataclass(frozen=True, repr=False)
class AnalogyEvaluation(Display):
    """Result of :func:`evaluate_analogies`.

    Attributes
    ----------
    accuracy : float
        Correct / evaluated over all sections (gensim's returned score).
    sections : list of AnalogySection
        Per-section counts, in file order.
    questions : list of tuple of str
        The evaluated (and, with ``dummy4unknown``, the OOV) questions ``(a, b, c, expected)``,
        upper-cased when ``case_insensitive`` (as gensim records them).
    section_ids : np.ndarray
        int (n,) index into ``sections`` of each entry of ``questions``.
    correct : np.ndarray
        bool (n,) whether each question was answered correctly.
    predicted : list of str or None
        The word predicted for each question (None for OOV questions).
    n_oov : int
        Questions with a word outside the first ``restrict_vocab`` entries.
    n_questions : int
        Well-formed question lines read (gensim's ``quadruplets_no``).
    method : str
    restrict_vocab : int or None
    """

    accuracy: float
    sections: list[AnalogySection]
    questions: list[tuple[str, str, str, str]] = field(repr=False)
    section_ids: np.ndarray = field(repr=False)
    correct: np.ndarray = field(repr=False)
    predicted: list[str | None] = field(repr=False)
    n_oov: int = 0
    n_questions: int = 0
    method: str = "3cosadd"
    restrict_vocab: int | None = None

    @property
    def n_correct(self) -> int:
        return sum(sec.correct for sec in self.sections)

    @property
    def n_incorrect(self) -> int:
        return sum(sec.incorrect for sec in self.sections)

    @property
    def oov_ratio(self) -> float:
        """Percentage of question lines with an out-of-vocabulary word (gensim logs this)."""
        return float(self.n_oov) / self.n_questions * 100 if self.n_questions else 0.0

    def _summary(self) -> str:
        return (
            f"accuracy={self.accuracy:.4f}, {self.n_correct}/{self.n_correct + self.n_incorrect} "
            f"correct, {len(self.sections)} sections, n_oov={self.n_oov}, method={self.method!r}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per section."""
        return {
            "section": [s.name for s in self.sections],
            "correct": [s.correct for s in self.sections],
            "incorrect": [s.incorrect for s in self.sections],
            "accuracy": [s.accuracy for s in self.sections],
        }

    def to_gensim(self) -> tuple[float, list[dict]]:
        """The ``(score, sections)`` pair gensim's ``evaluate_word_analogies`` returns."""
        out = []
        for j, sec in enumerate(self.sections):
            mask = self.section_ids == j
            qs = [q for q, m in zip(self.questions, mask) if m]
            ok = self.correct[mask]
            out.append(
                {
                    "section": sec.name,
                    "correct": [q for q, c in zip(qs, ok) if c],
                    "incorrect": [q for q, c in zip(qs, ok) if not c],
                }
            )
        out.append(
            {
                "section": "Total accuracy",
                "correct": [q for d in out for q in d["correct"]],
                "incorrect": [q for d in out for q in d["incorrect"]],
            }
        )
        return self.accuracy, out

    def table(self) -> str:
        """Plain-text per-section report (used by the CLI)."""
        rows = [f"{'section':<32} {'correct':>8} {'total':>7} {'accuracy':>9}"]
        for sec in self.sections:
            acc = 100 * sec.accuracy
            rows.append(f"{sec.name:<32} {sec.correct:>8} {sec.total:>7} {acc:>8.1f}%")
        total = self.n_correct + self.n_incorrect
        acc = 100 * self.accuracy
        rows.append(f"{'Total accuracy':<32} {self.n_correct:>8} {total:>7} {acc:>8.1f}%")
        rows.append(
            f"questions with OOV words: {self.n_oov} / {self.n_questions} ({self.oov_ratio:.1f}%)"
        )
        return "\n".join(rows)


def evaluate_analogies(
    s: EmbeddingSpace,
    path: str | os.PathLike,
    *,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    method: str = "3cosadd",
) -> AnalogyEvaluation:
    """Accuracy on an analogy test set, with gensim's ``evaluate_word_analogies`` rules.

    Parameters
    ----------
    s : EmbeddingSpace
    path : path-like
        File of ``a b c expected`` lines split into sections by ``: name`` lines
        (``gensim.test.utils.datapath('questions-words.txt')``).
    restrict_vocab : int or None, default 300000
        Only the first ``restrict_vocab`` entries are looked up and searched; questions with a
        word outside them are skipped (and counted in ``n_oov``).
    case_insensitive : bool, default True
        Upper-case every word before the lookup; among case variants the lowest id wins.
    dummy4unknown : bool, default False
        Count questions with an unknown word as incorrect instead of skipping them.
    method : {"3cosadd", "3cosmul"}
        gensim evaluates with 3CosAdd only; 3CosMul applies the same rules with the
        multiplicative objective.

    Returns
    -------
    AnalogyEvaluation
        ``accuracy``, per-section counts, per-question predictions; ``to_gensim()`` gives
        gensim's return value.

    Notes
    -----
    As in gensim, a question counts as correct when the first of its top-5 answers (input ids
    excluded) whose upper-cased form is not one of the question's words equals the expected
    word.
    """
    method = canonical_method(method)
    p = _check_path(path)
    ok_vocab = _ok_vocab(s, restrict_vocab, case_insensitive)
    names: list[str] = []
    questions: list[tuple[str, str, str, str]] = []
    sec_of: list[int] = []
    evaluated: list[bool] = []  # False: OOV question kept as incorrect (dummy4unknown)
    n_oov = n_q = 0
    with open(p, "rb") as fin:
        for line_no, raw in enumerate(fin):
            line = raw.decode("utf8")
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                continue
            if not names:
                raise ValueError(f"Missing section header before line #{line_no} in {p}")
            words = line.split()
            if len(words) != 4:
                continue  # gensim skips malformed lines without counting them
            if case_insensitive:
                words = [w.upper() for w in words]
            n_q += 1
            question = (words[0], words[1], words[2], words[3])
            if any(w not in ok_vocab for w in words):
                n_oov += 1
                if dummy4unknown:
                    questions.append(question)
                    sec_of.append(len(names) - 1)
                    evaluated.append(False)
                continue
            questions.append(question)
            sec_of.append(len(names) - 1)
            evaluated.append(True)
    if n_q == 0:
        raise ValueError(
            f"no analogy questions found in {p}: expected 'a b c expected' lines "
            "after ': section' headers"
        )
    ev = np.array(evaluated, dtype=bool)
    predicted: list[str | None] = [None] * len(questions)
    correct = np.zeros(len(questions), dtype=bool)
    eval_pos = np.flatnonzero(ev)
    if eval_pos.size:
        q = [questions[i] for i in eval_pos]
        ids = np.array([[ok_vocab[w] for w in qq[:3]] for qq in q], dtype=np.int64)
        n = vocab_prefix(s, restrict_vocab)
        # gensim: most_similar(positive=[b, c], negative=[a], topn=5, restrict_vocab=...)
        order = ids[:, [1, 2, 0]]
        terms, qterms = unique_terms(s, order)
        topn = min(5, n)
        idx, _ = search(s, terms, qterms, 2, method=method, topn=topn, limit=n, exclude=order)
        vocab = s.vocab
        for r, qi in enumerate(eval_pos.tolist()):
            a, b, c, expected = questions[qi]
            ignore = (a, b, c)
            pred = None
            for j in idx[r].tolist():
                if j < 0:
                    break
                pred = vocab[j].upper() if case_insensitive else vocab[j]
                if pred in ok_vocab and pred not in ignore:
                    break
            predicted[qi] = pred
            correct[qi] = pred == expected
    sec_ids = np.array(sec_of, dtype=np.int64)
    sections = [
        AnalogySection(name, int(correct[sec_ids == j].sum()), int((~correct[sec_ids == j]).sum()))
        for j, name in enumerate(names)
    ]
    total = len(questions)
    accuracy = float(correct.sum()) / total if total else 0.0
    return AnalogyEvaluation(
        accuracy=accuracy,
        sections=sections,
        questions=questions,
        section_ids=sec_ids,
        correct=correct,
        predicted=predicted,
        n_oov=n_oov,
        n_questions=n_q,
        method=method,
        restrict_vocab=restrict_vocab,
    )


@dataclass(frozen=True, repr=False)
class WordPairEvaluation(Display):
    """Result of :func:`evaluate_word_pairs` (the numbers gensim returns).

    Attributes
    ----------
    pearson, pearson_pvalue : float
    spearman, spearman_pvalue : float
    oov_ratio : float
        Percentage of pairs with an unknown word.
    n_pairs : int
        Pairs scored (including OOV pairs scored 0 with ``dummy4unknown``).
    n_oov : int
    gold, model : np.ndarray
        Human and model similarities of the scored pairs (float64, float32).
    pairs : list of tuple of str
    """

    pearson: float
    pearson_pvalue: float
    spearman: float
    spearman_pvalue: float
    oov_ratio: float
    n_pairs: int
    n_oov: int
    gold: np.ndarray = field(repr=False)
    model: np.ndarray = field(repr=False)
    pairs: list[tuple[str, str]] = field(repr=False)

    def _summary(self) -> str:
        return (
            f"pearson={self.pearson:.4f}, spearman={self.spearman:.4f}, "
            f"oov_ratio={self.oov_ratio:.2f}%, n_pairs={self.n_pairs}"
        )

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per scored pair."""
        return {
            "word1": [p[0] for p in self.pairs],
            "word2": [p[1] for p in self.pairs],
            "gold": self.gold.tolist(),
            "model": self.model.tolist(),
        }


def evaluate_word_pairs(
    s: EmbeddingSpace,
    path: str | os.PathLike,
    *,
    delimiter: str = "\t",
    encoding: str = "utf8",
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
) -> WordPairEvaluation:
    """Correlation of cosine similarities with human judgements (WordSim353, SimLex-999).

    Follows gensim's ``evaluate_word_pairs``: ``#`` lines are comments, malformed lines are
    skipped, pairs with a word outside the first ``restrict_vocab`` entries are skipped (or
    scored 0 with ``dummy4unknown``); the cosine is computed exactly as gensim does (float64
    norm, float32 dot), then Pearson and Spearman through scipy.

    Returns
    -------
    WordPairEvaluation
        ``pearson``, ``spearman`` (and p-values), ``oov_ratio`` in percent.
    """
    try:
        from scipy import stats
        from scipy.linalg.blas import dnrm2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("evaluate_word_pairs needs scipy: pip install scipy") from e
    p = _check_path(path)
    ok_vocab = _ok_vocab(s, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[np.float32] = []
    pairs: list[tuple[str, str]] = []
    n_oov = 0
    vec = s.vectors
    unit_cache: dict[int, np.ndarray] = {}

    def unit(i: int) -> np.ndarray:
        u = unit_cache.get(i)
        if u is None:
            v = vec[i]
            n = dnrm2(v)
            # gensim's matutils.unitvec: dscal(1 / norm) in float64, back to float32
            u = (v.astype(np.float64) * (1.0 / n)).astype(np.float32) if n > 0 else v
            unit_cache[i] = u
        return u

    with open(p, encoding=encoding) as fin:
        for line in fin:
            if not line or line.startswith("#"):
                continue
            try:
                parts = line.split(delimiter)
                if case_insensitive:
                    parts = [w.upper() for w in parts]
                a, b, judged = parts
                sim = float(judged)
            except (ValueError, TypeError):
                continue
            if a not in ok_vocab or b not in ok_vocab:
                n_oov += 1
                if dummy4unknown:
                    model.append(np.float32(0.0))
                    gold.append(sim)
                    pairs.append((a, b))
                continue
            gold.append(sim)
            model.append(np.dot(unit(ok_vocab[a]), unit(ok_vocab[b])))
            pairs.append((a, b))
    if not gold:
        raise ValueError(
            f"no valid similarity judgements found in {p}: either the format is "
            "not 'word1<TAB>word2<TAB>score' or every word is out of vocabulary"
        )
    sp = stats.spearmanr(gold, model)
    pe = stats.pearsonr(gold, model)
    # gensim's operation order, so the float is identical
    oov_ratio = float(n_oov) / (len(gold) if dummy4unknown else len(gold) + n_oov) * 100
    return WordPairEvaluation(
        pearson=float(pe[0]),
        pearson_pvalue=float(pe[1]),
        spearman=float(sp[0]),
        spearman_pvalue=float(sp[1]),
        oov_ratio=oov_ratio,
        n_pairs=len(gold),
        n_oov=n_oov,
        gold=np.asarray(gold, dtype=np.float64),
        model=np.asarray(model, dtype=np.float32),
        pairs=pairs,
    )
