"""Word translation between embedding spaces: nearest neighbour, CSLS and inverted softmax.

All three retrievals are exact top-k searches by the fused C++ kNN kernel with a per-target
additive bias, so no (sources x targets) similarity matrix is ever built:

* ``nn``   ranks targets y by cos(Wx, y);
* ``csls`` (Conneau et al. 2018) by ``2 cos(Wx, y) - r_T(Wx) - r_S(y)``, where ``r_S(y)`` is
  the mean cosine of y with its ``csls_k`` nearest mapped sources and ``r_T(Wx)`` that of Wx
  with its nearest targets (both kNN searches over whole vocabularies); for a fixed x the
  ranking is a kNN with bias ``-r_S(y) / 2`` (:mod:`.csls`, shared with ``align``'s
  refinement);
* ``isf``  (Smith et al. 2017) by ``log P(y | x) = beta cos(Wx, y) - log Z_y`` with
  ``Z_y = sum_x' exp(beta cos(Wx', y))`` over all sources, computed by a streaming kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .._display import Display
from .._kernels import Progress
from .._validate import check_k
from ..progress import sink
from ..space import EmbeddingSpace
from ..tokens import TokenDisplay
from .csls import csls_topk, mean_topk_similarity

RETRIEVALS = ("nn", "csls", "isf")


def _check_retrieval(retrieval: str) -> str:
    r = str(retrieval).lower()
    if r not in RETRIEVALS:
        raise ValueError(
            f"unknown retrieval {retrieval!r}; expected one of {', '.join(RETRIEVALS)}"
        )
    return r


def retrieve(
    Q: np.ndarray,
    T: np.ndarray,
    S: np.ndarray | None,
    k: int,
    *,
    retrieval: str = "nn",
    csls_k: int = 10,
    beta: float = 30.0,
    progress: Progress = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k targets for mapped, unit-length queries (array-level core of :func:`translate`).

    Parameters
    ----------
    Q : float32 (m, d)
        Mapped source queries, unit rows.
    T : float32 (n_t, d)
        Target vectors, unit rows.
    S : float32 (n_s, d) or None
        Every mapped source (unit rows): the population for r_S (csls) and Z_y (isf).
    k : int
    retrieval : {"nn", "csls", "isf"}
    csls_k : int
        Neighbourhood size of CSLS.
    beta : float
        Inverse temperature of the inverted softmax.
    progress : bool or ProgressSink
        A bar per search stage (see :func:`tokenspace.progress.sink`).

    Returns
    -------
    (indices, scores)
        int64 and float32 (m, k): cosine (nn), CSLS value (csls) or log P(y|x) (isf).
    """
    retrieval = _check_retrieval(retrieval)
    k = check_k(k, T.shape[0], what="target words")
    if retrieval == "nn":
        return _kernels.knn(Q, T, k, metric="ip", progress=sink(progress, "nearest targets"))
    if S is None:
        raise ValueError(f"retrieval={retrieval!r} needs the mapped source vocabulary S")
    if retrieval == "csls":
        r_s = mean_topk_similarity(T, S, csls_k, progress=sink(progress, "CSLS r_S"))
        r_t = mean_topk_similarity(Q, T, csls_k, progress=sink(progress, "CSLS r_T"))
        return csls_topk(
            Q, T, k, query_density=r_t, base_density=r_s, progress=sink(progress, "CSLS search")
        )
    if not (np.isfinite(beta) and 0 < beta <= 1000):
        raise ValueError(f"beta must be in (0, 1000], got {beta}")
    log_z = _kernels.softmax_log_normalizer(T, S, beta=float(beta))
    bad = np.flatnonzero(~np.isfinite(log_z))
    if bad.size:
        # every term underflowed relative to exp(beta): shift those rows by their own maximum
        top = _kernels.knn(T[bad], S, 1, metric="ip")[1][:, 0]
        log_z[bad] = _kernels.softmax_log_normalizer(T[bad], S, beta=float(beta), row_max=top)
    bias = (-log_z / beta).astype(np.float32)
    idx, s = _kernels.knn(Q, T, k, metric="ip", bias=bias, progress=sink(progress, "search"))
    return idx, (beta * s).astype(np.float32)


@dataclass(frozen=True, repr=False)
class Translation(TokenDisplay):
    """Translations of source words, best first.

    Attributes
    ----------
    queries : list of str
    indices : np.ndarray
        int64 (n_queries, k) target vocabulary ids.
    scores : np.ndarray
        float32 (n_queries, k): cosine (nn), CSLS (csls) or log-probability (isf).
    words : list of list of str
    retrieval : str
    """

    queries: list[str]
    indices: np.ndarray
    scores: np.ndarray
    words: list[list[str]]
    retrieval: str

    _token_columns = ("query", "word")

    def __len__(self) -> int:
        return len(self.queries)

    def _summary(self) -> str:
        return f"{len(self)} queries x k={self.indices.shape[1]}, retrieval={self.retrieval!r}"

    def _table(self) -> dict[str, Sequence[Any]]:
        n, k = self.indices.shape
        return {
            "query": [q for q in self.queries for _ in range(k)],
            "rank": [r + 1 for _ in range(n) for r in range(k)],
            "word": [w for row in self.words for w in row],
            "score": self.scores.reshape(-1).tolist(),
        }

    def __getitem__(self, i: int | str) -> list[tuple[str, float]]:
        """Candidates of query ``i`` (position or source word) as ``(word, score)`` pairs."""
        if isinstance(i, str):
            i = self.queries.index(i)
        return list(zip(self.words[i], self.scores[i].tolist()))

    @property
    def best(self) -> dict[str, str]:
        """Top-1 translation of every query."""
        return {q: w[0] for q, w in zip(self.queries, self.words)}


class _Prepared:
    """Rows whose inner products are cos(mapped source, target) for one (a, b, alignment).

    When the source has fewer dimensions than the target (e.g. GloVe-50d -> MiniLM-384d) the
    mapped vectors x' = s x W + b live in a (d1 + 1)-dimensional affine subspace, and
    <x', y> = <[s x, 1], [y W^T, <b, y>]>: every similarity is then computed in d1 + 1
    dimensions instead of d2 (8x fewer flops for 50 -> 384), with the same value.
    """

    def __init__(
        self,
        a: EmbeddingSpace,
        b: EmbeddingSpace,
        alignment: Any,
        source_vocab: int | None,
        target_vocab: int | None,
        need_sources: bool,
    ) -> None:
        if not isinstance(a, EmbeddingSpace) or not isinstance(b, EmbeddingSpace):
            raise TypeError(
                "a and b must be EmbeddingSpace objects (ts.load(...) or ts.EmbeddingSpace)"
            )
        if a.dim != alignment.source_dim or b.dim != alignment.target_dim:
            raise ValueError(
                f"the alignment maps {alignment.source_dim}-d to {alignment.target_dim}-d vectors "
                f"but the spaces are {a.dim}-d and {b.dim}-d; pass them in the order it was fitted"
            )
        self.a, self.b, self.alignment = a, b, alignment
        self.n_s = _limit(source_vocab, len(a), "source_vocab")
        self.n_t = _limit(target_vocab, len(b), "target_vocab")
        tb = b.vectors[: self.n_t]
        if alignment.target_norm:
            tb = alignment.target_norm.apply(tb)
        T = _kernels.normalize_rows(tb)[0]
        self.reduced = alignment.source_dim + 1 < alignment.target_dim
        if self.reduced:
            W = np.ascontiguousarray(alignment.W, dtype=np.float32)  # (d1, d2): gram gives T W^T
            bias = np.zeros(alignment.target_dim) if alignment.bias is None else alignment.bias
            T = np.concatenate(
                [_kernels.gram(T, W), _kernels.gram(T, bias.astype(np.float32)[None, :])],
                axis=1,
            )
        self.T = np.ascontiguousarray(T, dtype=np.float32)
        self.S = self.map(a.vectors[: self.n_s]) if need_sources else None

    def map(self, X: np.ndarray) -> np.ndarray:
        """Rows for the similarity kernels; chunked so a 400k vocabulary never holds two
        (V, d2) float32 copies at once."""
        ali = self.alignment
        width = ali.source_dim + 1 if self.reduced else ali.target_dim
        out = np.empty((X.shape[0], width), dtype=np.float32)
        for start in range(0, X.shape[0], 65536):
            chunk = np.ascontiguousarray(X[start : start + 65536], dtype=np.float32)
            if not self.reduced:
                out[start : start + len(chunk)] = _kernels.normalize_rows(ali.transform(chunk))[0]
                continue
            x = ali.source_norm.apply(chunk) if ali.source_norm else chunk
            # only the norms of the mapped rows: the (n, d2) mapped chunk is a temporary
            norms = _kernels.normalize_rows(ali.transform(x, preprocess=False))[1]
            norms = norms.astype(np.float64)
            inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            out[start : start + len(chunk), :-1] = x * (ali.scale * inv)[:, None]
            out[start : start + len(chunk), -1] = inv
        return out


def _limit(n: int | None, size: int, name: str) -> int:
    if n is None:
        return size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {n!r}")
    return min(int(n), size)


def translate(
    a: EmbeddingSpace,
    b: EmbeddingSpace,
    words: str | Sequence[str],
    alignment: Any,
    k: int = 1,
    *,
    retrieval: str = "nn",
    csls_k: int = 10,
    beta: float = 30.0,
    source_vocab: int | None = None,
    target_vocab: int | None = None,
    progress: Progress = False,
) -> Translation:
    """Translate source words of ``a`` into the vocabulary of ``b`` through a fitted alignment.

    Parameters
    ----------
    a, b : EmbeddingSpace
        Source and target spaces (the order the alignment was fitted in).
    words : str or sequence of str
        Source words; unknown ones raise ``KeyError`` naming the word.
    alignment : Alignment
        From :func:`tokenspace.align` or :func:`tokenspace.procrustes`.
    k : int, default 1
        Candidates per word.
    retrieval : {"nn", "csls", "isf"}
        Plain nearest neighbour, cross-domain similarity local scaling, or inverted softmax.
    csls_k : int, default 10
        Neighbourhood size of CSLS (MUSE's default).
    beta : float, default 30
        Inverse temperature of the inverted softmax.
    source_vocab, target_vocab : int, optional
        Use only the first n entries (frequency order) of each space: candidate targets, and
        the source population of CSLS / inverted softmax. Default: whole vocabularies.
    progress : bool or ProgressSink, default False
        A progress bar with an ETA on stderr for each search stage (CSLS has three: r_S, r_T
        and the biased search); see :mod:`tokenspace.progress`.

    Returns
    -------
    Translation
    """
    retrieval = _check_retrieval(retrieval)
    if isinstance(words, str):
        words = [words]
    words = list(words)
    if not words:
        raise ValueError("no words to translate")
    prep = _Prepared(a, b, alignment, source_vocab, target_vocab, retrieval != "nn")
    Q = prep.map(a[words])
    zero = np.flatnonzero(~Q.any(axis=1))
    if zero.size:
        raise ValueError(
            f"{words[int(zero[0])]!r} maps to the zero vector: its cosine with every target is "
            "undefined; drop it from the words to translate"
        )
    idx, scores = retrieve(
        Q, prep.T, prep.S, k, retrieval=retrieval, csls_k=csls_k, beta=beta, progress=progress
    )
    vocab = b.vocab
    labels = [[vocab[j] for j in row] for row in idx.tolist()]
    return Translation(words, idx, scores, labels, retrieval)


@dataclass(frozen=True, repr=False)
class TranslationAccuracy(Display):
    """Precision@k of word translation.

    Attributes
    ----------
    precision : dict[int, float]
        k -> fraction of source words with a correct translation among the top k.
    n_queries : int
        Distinct source words evaluated.
    n_pairs : int
        Pairs used (several gold translations per source word are allowed).
    n_oov : int
        Pairs skipped because a word is not in (the used part of) a vocabulary.
    retrieval : str
    """

    precision: dict[int, float]
    n_queries: int
    n_pairs: int
    n_oov: int
    retrieval: str

    def __getitem__(self, k: int) -> float:
        return self.precision[k]

    def _summary(self) -> str:
        p = ", ".join(f"P@{k}={v:.4f}" for k, v in sorted(self.precision.items()))
        return f"{p}, n_queries={self.n_queries}, n_oov={self.n_oov}, retrieval={self.retrieval!r}"

    def _table(self) -> dict[str, Sequence[Any]]:
        ks = sorted(self.precision)
        return {"k": ks, "precision": [self.precision[k] for k in ks]}


def read_pairs(pairs: Any) -> list[tuple[str, str]]:
    """Word pairs from a "source target" per line file (blank lines skipped) or an iterable.

    Parameters
    ----------
    pairs : path or iterable of (str, str)

    Returns
    -------
    list of (str, str)

    Raises
    ------
    ValueError
        A line without exactly two fields (named by file and line number), or an item that is
        not a pair.
    """
    if isinstance(pairs, (str, Path)):
        out = []
        with open(pairs, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise ValueError(
                        f"{pairs}:{n}: expected 'source target' per line, got {line!r}"
                    )
                out.append((parts[0], parts[1]))
        return out
    out = []
    for p in pairs:
        if isinstance(p, str) or len(p) != 2:
            raise ValueError(f"pairs must be (source, target) tuples, got {p!r}")
        out.append((str(p[0]), str(p[1])))
    return out


def translation_accuracy(
    a: EmbeddingSpace,
    b: EmbeddingSpace,
    pairs: Iterable[tuple[str, str]] | str | Path,
    alignment: Any,
    *,
    retrieval: str = "nn",
    ks: Sequence[int] = (1, 5, 10),
    csls_k: int = 10,
    beta: float = 30.0,
    source_vocab: int | None = None,
    target_vocab: int | None = None,
) -> TranslationAccuracy:
    """Precision@k of translating the source words of ``pairs`` (MUSE's evaluation).

    A source word counts as correct at k when any of its gold targets is among its top-k
    candidates. Pairs with a word outside the (used part of the) vocabularies are skipped and
    counted in ``n_oov``.

    Parameters
    ----------
    pairs : iterable of (str, str), or a path to a "source target" per line dictionary
    ks : sequence of int
    Other parameters as in :func:`translate`.
    """
    retrieval = _check_retrieval(retrieval)
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError("ks must hold positive integers, e.g. (1, 5, 10)")
    items = read_pairs(pairs)
    if not items:
        raise ValueError("no translation pairs given")
    prep = _Prepared(a, b, alignment, source_vocab, target_vocab, retrieval != "nn")
    gold: dict[int, set[int]] = {}
    n_oov = 0
    for s, t in items:
        if s not in a or t not in b:
            n_oov += 1
            continue
        j = b.index(t)
        if j >= prep.n_t:
            n_oov += 1
            continue
        gold.setdefault(a.index(s), set()).add(j)
    if not gold:
        raise ValueError(
            f"none of the {len(items)} pairs has both words in the vocabularies; check the "
            "direction (source words must belong to a, targets to b)"
        )
    src = np.fromiter(gold, dtype=np.int64)
    Q = prep.map(a.vectors[src])
    kmax = min(ks[-1], prep.n_t)
    idx, _ = retrieve(Q, prep.T, prep.S, kmax, retrieval=retrieval, csls_k=csls_k, beta=beta)
    hit_rank = np.full(len(src), np.iinfo(np.int64).max)
    for r, i in enumerate(src.tolist()):
        g = gold[i]
        for rank, j in enumerate(idx[r].tolist()):
            if j in g:
                hit_rank[r] = rank
                break
    precision = {k: float(np.mean(hit_rank < k)) for k in ks}
    n_pairs = sum(len(g) for g in gold.values())
    return TranslationAccuracy(precision, len(src), n_pairs, n_oov, retrieval)
