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
from ..progress import ProgressSink
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
    progress: bool | ProgressSink = False,
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
    progress : bool or ProgressSink, default False
        A progress bar with an ETA on stderr for the search (see :mod:`tokenspace.progress`).

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
        idx, _ = search(
            s,
            terms,
            qterms,
            2,
            method=method,
            topn=topn,
            limit=n,
            exclude=order,
            progress=progress,
        )
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


@dataclass(frozen=True, repr=False)
class PairedTest(Display):
    """A paired test between two models scored on the same items.

    Attributes
    ----------
    a, b : str
        The models (``difference`` is ``a``'s score minus ``b``'s).
    test : str
        ``"mcnemar"`` (analogies: exact binomial test on the discordant questions),
        ``"steiger"`` (word pairs: Steiger's 1980 Z for two dependent correlations sharing
        the human judgements) or ``"bootstrap"`` (word pairs: paired bootstrap over pairs).
    statistic : float
        McNemar's chi-square with continuity correction ``(|n01 - n10| - 1)^2 / (n01 + n10)``,
        Steiger's Z, or (bootstrap) the observed difference.
    p_value : float
        Two-sided.
    difference : float
        Score of ``a`` minus score of ``b`` on the shared items.
    ci : tuple of float or None
        Bootstrap percentile interval of the difference (bootstrap test only).
    n_a_only, n_b_only : int
        McNemar: questions only ``a`` (only ``b``) answered correctly; 0 otherwise.
    """

    a: str
    b: str
    test: str
    statistic: float
    p_value: float
    difference: float
    ci: tuple[float, float] | None = None
    n_a_only: int = 0
    n_b_only: int = 0


@dataclass(frozen=True, repr=False)
class ModelComparison(Display):
    """Result of :func:`compare_models`: every model scored on the items all of them cover.

    Attributes
    ----------
    kind : str
        ``"analogies"`` (score = accuracy) or ``"word_pairs"`` (score = Spearman, as gensim).
    models : list of str
    scores : list of float
        Each model's score on the shared items.
    own_scores : list of float
        Each model's score on the items it covers alone (what ``evaluate_*`` reports).
    coverage : list of int
        Items each model covers.
    n_items : int
        Items in the file (questions / pairs).
    n_shared : int
        Items every model covers (the ones scored).
    tests : list of PairedTest
        Every pair of models (analogies: McNemar; word pairs: Steiger and bootstrap).
    shared : np.ndarray
        bool (n_items,): which items are shared, in file order.
    correct : np.ndarray or None
        Analogies: bool (n_models, n_shared) correctness on the shared questions.
    """

    kind: str
    models: list[str]
    scores: list[float]
    own_scores: list[float]
    coverage: list[int]
    n_items: int
    n_shared: int
    tests: list[PairedTest]
    shared: np.ndarray = field(repr=False)
    correct: np.ndarray | None = field(default=None, repr=False)

    def _table(self) -> dict[str, Sequence[Any]]:
        return {
            "model": list(self.models),
            "score_shared": list(self.scores),
            "score_own": list(self.own_scores),
            "coverage": list(self.coverage),
            "n_shared": [self.n_shared] * len(self.models),
        }

    def _summary(self) -> str:
        parts = ", ".join(f"{m} {s:.4f}" for m, s in zip(self.models, self.scores))
        first = next((t for t in self.tests if t.test != "bootstrap"), None)
        tail = f"; {first.test} p = {first.p_value:.3g}" if first is not None else ""
        return f"{self.kind} on {self.n_shared}/{self.n_items} shared items: {parts}{tail}"

    def tests_table(self) -> dict[str, list]:
        cols = ("a", "b", "test", "statistic", "p_value", "difference", "n_a_only", "n_b_only")
        out: dict[str, list] = {c: [getattr(t, c) for t in self.tests] for c in cols}
        out["ci_low"] = [None if t.ci is None else t.ci[0] for t in self.tests]
        out["ci_high"] = [None if t.ci is None else t.ci[1] for t in self.tests]
        return out


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, float, int, int]:
    """McNemar's test on paired binary outcomes: (chi2 with continuity correction, exact
    two-sided binomial p-value, n_a_only, n_b_only)."""
    from scipy import stats

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("McNemar needs the outcomes of both models on the same items")
    n01 = int(np.count_nonzero(a & ~b))
    n10 = int(np.count_nonzero(~a & b))
    n = n01 + n10
    if n == 0:
        return 0.0, 1.0, n01, n10
    chi2 = (abs(n01 - n10) - 1) ** 2 / n
    p = float(stats.binomtest(min(n01, n10), n, 0.5).pvalue)
    return float(chi2), min(1.0, p), n01, n10


def steiger_z(r_ya: float, r_yb: float, r_ab: float, n: int) -> tuple[float, float]:
    """Steiger's (1980, eq. 15) Z test of ``r_ya == r_yb`` for two correlations sharing ``y``
    (pooled ``r``, Fisher z). Returns (Z, two-sided p)."""
    from scipy import stats

    if n < 4:
        raise ValueError(f"Steiger's test needs at least 4 items; got {n}")
    rbar = (r_ya + r_yb) / 2
    psi = r_ab * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r_ab**2)
    c = psi / (1 - rbar**2) ** 2
    z = (np.arctanh(r_ya) - np.arctanh(r_yb)) * np.sqrt(n - 3) / np.sqrt(2 - 2 * c)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def _model_names(models) -> tuple[list[str], list[EmbeddingSpace]]:
    from collections.abc import Mapping

    if isinstance(models, Mapping):
        names, spaces = [str(k) for k in models], list(models.values())
    else:
        spaces = list(models)
        names = [getattr(s, "name", None) or f"model{i}" for i, s in enumerate(spaces)]
    if len(spaces) < 2:
        raise ValueError(f"compare_models needs at least 2 models; got {len(spaces)}")
    for nm, s in zip(names, spaces):
        if not isinstance(s, EmbeddingSpace):
            raise TypeError(f"model {nm!r} must be an EmbeddingSpace, got {type(s).__name__}")
    if len(set(names)) != len(names):
        names = [f"{nm}#{i}" for i, nm in enumerate(names)]
    return names, spaces


def _is_analogy_file(path: str) -> bool:
    with open(path, "rb") as f:
        for raw in f:
            if raw.startswith(b": "):
                return True
            if raw.strip() and not raw.startswith(b"#"):
                return False
    return False


def compare_models(
    models,
    path: str | os.PathLike,
    *,
    kind: str = "auto",
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    method: str = "3cosadd",
    delimiter: str = "\t",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> ModelComparison:
    """Score several models on the analogy questions / word pairs that every model covers.

    A model that misses a word of an item cannot be scored on it, and the uncovered items are
    rarely a random sample (MiniLM misses 37.8% of the Google analogy questions). Scoring
    each model on its own coverage therefore compares different tests; this scores all of
    them on the intersection, with paired tests between every two models.

    Parameters
    ----------
    models : sequence of EmbeddingSpace, or mapping name -> EmbeddingSpace
        At least 2.
    path : path-like
        An analogy file (``: section`` headers; ``questions-words.txt``) or a word-pair file
        (``word1<TAB>word2<TAB>score``; WordSim353, SimLex-999).
    kind : {"auto", "analogies", "word_pairs"}, keyword-only
        ``"auto"`` looks for ``: `` section headers.
    restrict_vocab, case_insensitive : keyword-only
        As in :func:`evaluate_analogies` / :func:`evaluate_word_pairs`; an item is covered
        by a model when all its words are in that model's first ``restrict_vocab`` entries.
    method : {"3cosadd", "3cosmul"}, keyword-only
        Analogy objective.
    delimiter : str, keyword-only
        Word-pair files only.
    bootstrap : int, keyword-only
        Word pairs: paired bootstrap samples (over pairs) of the Spearman difference.
    confidence : float, keyword-only
        Level of the bootstrap interval.
    seed : int or None, keyword-only
        Seed of the bootstrap (``numpy.random.default_rng``).

    Returns
    -------
    ModelComparison
        Scores on the shared items, each model's own-coverage score, and ``tests``:
        McNemar's exact test on analogy correctness, or Steiger's Z and a paired bootstrap
        for the difference between two word-pair Spearman correlations.

    Raises
    ------
    ValueError
        Fewer than 2 models, no item covered by every model, a bad option.
    """
    names, spaces = _model_names(models)
    p = _check_path(path)
    if kind not in ("auto", "analogies", "word_pairs"):
        raise ValueError(f"kind must be 'auto', 'analogies' or 'word_pairs'; got {kind!r}")
    if kind == "auto":
        kind = "analogies" if _is_analogy_file(p) else "word_pairs"
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1:
        raise ValueError(f"bootstrap must be an int >= 1; got {bootstrap!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    vocabs = [_ok_vocab(s, restrict_vocab, case_insensitive) for s in spaces]
    if kind == "analogies":
        evs = [
            evaluate_analogies(
                s,
                p,
                restrict_vocab=restrict_vocab,
                case_insensitive=case_insensitive,
                dummy4unknown=True,
                method=method,
            )
            for s in spaces
        ]
        items: list = list(evs[0].questions)
        covered = np.array([[all(w in v for w in q) for q in items] for v in vocabs], dtype=bool)
        outcome = np.stack([ev.correct for ev in evs])
    else:
        evp = [
            evaluate_word_pairs(
                s,
                p,
                delimiter=delimiter,
                restrict_vocab=restrict_vocab,
                case_insensitive=case_insensitive,
                dummy4unknown=True,
            )
            for s in spaces
        ]
        items = list(evp[0].pairs)
        covered = np.array([[a in v and b in v for a, b in items] for v in vocabs], dtype=bool)
        gold = evp[0].gold
        sims = np.stack([ev.model.astype(np.float64) for ev in evp])
    shared = np.asarray(covered.all(axis=0), dtype=bool)
    n_shared = int(shared.sum())
    if n_shared == 0:
        raise ValueError(
            f"the models share no {kind.replace('_', ' ')} item of {p} (coverage: "
            + ", ".join(f"{n} {int(c.sum())}" for n, c in zip(names, covered))
            + "); compare models with overlapping vocabularies, or check case_insensitive"
        )
    tests: list[PairedTest] = []
    if kind == "analogies":
        correct = outcome[:, shared]
        scores = [float(c.mean()) for c in correct]
        own = [float(o[c].mean()) if c.any() else 0.0 for o, c in zip(outcome, covered)]
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                chi2, pv, n01, n10 = mcnemar(correct[i], correct[j])
                tests.append(
                    PairedTest(
                        names[i],
                        names[j],
                        "mcnemar",
                        chi2,
                        pv,
                        scores[i] - scores[j],
                        n_a_only=n01,
                        n_b_only=n10,
                    )
                )
        return ModelComparison(
            kind,
            names,
            scores,
            own,
            [int(c.sum()) for c in covered],
            len(items),
            n_shared,
            tests,
            shared,
            correct,
        )
    from scipy import stats

    if n_shared < 4:
        raise ValueError(
            f"only {n_shared} word pairs are covered by every model; at least 4 are needed "
            "to correlate and test"
        )
    g = gold[shared]
    s_sh = sims[:, shared]

    def spearman(a: np.ndarray, b: np.ndarray) -> float:
        return float(stats.spearmanr(a, b).statistic)

    scores = [spearman(g, s) for s in s_sh]
    own = [spearman(gold[c], s[c]) if c.sum() > 2 else float("nan") for s, c in zip(sims, covered)]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_shared, size=(bootstrap, n_shared))
    cut = (1 - float(confidence)) / 2
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            z, pz = steiger_z(scores[i], scores[j], spearman(s_sh[i], s_sh[j]), n_shared)
            diff = scores[i] - scores[j]
            tests.append(PairedTest(names[i], names[j], "steiger", z, pz, diff))
            d = np.empty(bootstrap)
            for k, idx in enumerate(draws):
                d[k] = spearman(g[idx], s_sh[i][idx]) - spearman(g[idx], s_sh[j][idx])
            d = d[np.isfinite(d)]
            lo, hi = np.quantile(d, [cut, 1 - cut])
            # two-sided bootstrap p: twice the smaller tail beyond 0, with rsatoolbox's +1
            tail = min(np.count_nonzero(d <= 0), np.count_nonzero(d >= 0))
            pb = min(1.0, 2 * (tail + 1) / (d.size + 1))
            tests.append(
                PairedTest(names[i], names[j], "bootstrap", diff, pb, diff, (float(lo), float(hi)))
            )
    return ModelComparison(
        kind,
        names,
        scores,
        own,
        [int(c.sum()) for c in covered],
        len(items),
        n_shared,
        tests,
        shared,
    )
