"""Stability of embeddings across training runs (or any set of spaces over one vocabulary).

The training loss of word2vec/GloVe is invariant under rotations (E and E Q give the same dot
products), so raw coordinates of two runs differ even when the geometry agrees. The report
measures both: distances before and after orthogonal Procrustes, per-word cosine after
alignment, overlap of each word's nearest neighbours, and the singular spectra.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from .. import _kernels
from .._display import Display
from .._validate import as_matrix
from ..progress import ProgressSink, counter
from ..space import EmbeddingSpace
from .procrustes import procrustes

MEASURES = ("frobenius_raw", "frobenius_aligned", "relative_aligned", "mean_cosine", "knn_overlap")
# Symmetric measures are counted once per unordered pair of runs; the aligned residuals depend
# on the direction of the map, so both directions count.
_SYMMETRIC = ("frobenius_raw", "mean_cosine", "knn_overlap")

# A word2vec run whose words have this mean pairwise cosine has not left its initial common
# direction (gensim's 5 epochs on lee_background give 0.98): its neighbours are noise.
_DEGENERATE_COSINE = 0.9


@dataclass(frozen=True, repr=False)
class MeasureSpread(Display):
    """Spread of one stability measure across pairs of runs.

    ``n`` values (NaN entries, e.g. raw distances between runs of different dimensions, are
    left out; ``n = 0`` then and every statistic is NaN; ``std`` is NaN for one pair). The run pairs share runs, so they
    are not independent samples: read ``std`` as a description, not a standard error.
    """

    measure: str
    mean: float
    std: float
    min: float
    max: float
    n: int


def _spread(measure: str, M: np.ndarray) -> MeasureSpread:
    R = M.shape[0]
    if measure in _SYMMETRIC:
        vals = M[np.triu_indices(R, 1)]
    else:
        vals = M[~np.eye(R, dtype=bool)]
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        nan = float("nan")
        return MeasureSpread(measure, nan, nan, nan, nan, 0)
    std = float(vals.std(ddof=1)) if vals.size > 1 else float("nan")
    return MeasureSpread(
        measure, float(vals.mean()), std, float(vals.min()), float(vals.max()), int(vals.size)
    )


@dataclass(frozen=True, repr=False)
class StabilityReport(Display):
    """Pairwise stability of several runs over a shared vocabulary.

    Attributes
    ----------
    vocab : list of str
        The words compared (rows of every run, in this order).
    names : list of str
    frobenius_raw : np.ndarray
        (R, R) ``||E_i - E_j||_F`` (NaN when dimensions differ).
    frobenius_aligned : np.ndarray
        (R, R) ``||E_i Q - E_j||_F`` with Q the Procrustes rotation of i onto j.
    relative_aligned : np.ndarray
        (R, R) ``frobenius_aligned / ||E_j||_F``.
    mean_cosine : np.ndarray
        (R, R) mean over words of cos(E_i Q [w], E_j [w]).
    knn_overlap : np.ndarray
        (R, R) mean over words of the Jaccard index of the two runs' k-NN sets.
    word_cosine : np.ndarray
        (V,) per-word cosine after alignment, averaged over all pairs of runs.
    word_overlap : np.ndarray
        (V,) per-word k-NN Jaccard, averaged over all pairs of runs.
    spectra : list of np.ndarray
        Singular values of each run's mean-centred matrix, descending.
    k : int
    """

    vocab: list[str]
    names: list[str]
    frobenius_raw: np.ndarray
    frobenius_aligned: np.ndarray
    relative_aligned: np.ndarray
    mean_cosine: np.ndarray
    knn_overlap: np.ndarray
    word_cosine: np.ndarray
    word_overlap: np.ndarray
    spectra: list[np.ndarray] = field(default_factory=list)
    k: int = 10

    @property
    def n_runs(self) -> int:
        return len(self.names)

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per pair of runs."""
        pairs = list(combinations(range(self.n_runs), 2))
        table: dict[str, Sequence[Any]] = {
            "run_a": [self.names[i] for i, _ in pairs],
            "run_b": [self.names[j] for _, j in pairs],
        }
        for name in (
            "frobenius_raw",
            "frobenius_aligned",
            "relative_aligned",
            "mean_cosine",
            "knn_overlap",
        ):
            M = getattr(self, name)
            table[name] = [float(M[i, j]) for i, j in pairs]
        return table

    def _offdiag(self, M: np.ndarray) -> np.ndarray:
        return M[~np.eye(self.n_runs, dtype=bool)]

    def spread(self, measure: str | None = None) -> Any:
        """Mean, standard deviation, min and max of a measure across pairs of runs.

        Parameters
        ----------
        measure : str, optional
            One of ``frobenius_raw``, ``frobenius_aligned``, ``relative_aligned``,
            ``mean_cosine``, ``knn_overlap``; ``None`` gives a dict of all five.

        Returns
        -------
        MeasureSpread or dict of str -> MeasureSpread
        """
        if measure is None:
            return {m: _spread(m, getattr(self, m)) for m in MEASURES}
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}; got {measure!r}")
        return _spread(measure, getattr(self, measure))

    def _summary(self) -> str:
        c, o = self.spread("mean_cosine"), self.spread("knn_overlap")

        def fmt(sp: MeasureSpread) -> str:
            return f"{sp.mean:.4f}" + (f" +- {sp.std:.4f}" if sp.n > 1 else "")

        return (
            f"{self.n_runs} runs, {len(self.vocab)} shared words: mean cosine {fmt(c)}, "
            f"knn overlap@{self.k} {fmt(o)}"
        )

    def most_stable(self, n: int = 10, *, by: str = "cosine") -> list[tuple[str, float]]:
        """The n words whose representation agrees most across runs."""
        v = self.word_cosine if by == "cosine" else self.word_overlap
        order = np.argsort(-v, kind="stable")[:n]
        return [(self.vocab[i], float(v[i])) for i in order]

    def least_stable(self, n: int = 10, *, by: str = "cosine") -> list[tuple[str, float]]:
        """The n words whose representation varies most across runs."""
        v = self.word_cosine if by == "cosine" else self.word_overlap
        order = np.argsort(v, kind="stable")[:n]
        return [(self.vocab[i], float(v[i])) for i in order]

    def summary(self) -> str:
        """Plain-text summary (used by the CLI)."""

        def stat(M: np.ndarray) -> str:
            name = next(m for m in MEASURES if getattr(self, m) is M)
            sp = _spread(name, M)
            if sp.n == 0:  # e.g. raw distances between runs of different dimensions
                return "n/a (the runs have different dimensions)"
            if sp.n == 1:
                return f"{sp.mean:.4f}  (1 pair of runs: no spread)"
            return (
                f"mean {sp.mean:.4f}  sd {sp.std:.4f}  min {sp.min:.4f}  max {sp.max:.4f}"
                f"  ({sp.n} pairs)"
            )

        q = np.quantile(self.word_cosine, [0.1, 0.5, 0.9])
        lines = [
            f"runs {self.n_runs}, shared words {len(self.vocab)}, k {self.k}",
            f"frobenius raw          {stat(self.frobenius_raw)}",
            f"frobenius aligned      {stat(self.frobenius_aligned)}",
            f"relative aligned       {stat(self.relative_aligned)}",
            f"mean cosine (aligned)  {stat(self.mean_cosine)}",
            f"knn overlap@{self.k:<3}       {stat(self.knn_overlap)}",
            f"per-word cosine        p10 {q[0]:.4f}  median {q[1]:.4f}  p90 {q[2]:.4f}",
            "least stable           " + ", ".join(f"{w} {c:.2f}" for w, c in self.least_stable(5)),
            "most stable            " + ", ".join(f"{w} {c:.2f}" for w, c in self.most_stable(5)),
        ]
        return "\n".join(lines)


def _common_vocab(spaces: Sequence[EmbeddingSpace], anchors: Sequence[str] | None) -> list[str]:
    if anchors is not None:
        words = list(anchors)
        for s in spaces:
            missing = [w for w in words if w not in s]
            if missing:
                raise KeyError(
                    f"{len(missing)} words are missing from {s.name or 'a space'} "
                    f"(first: {missing[0]!r}); pass words every run has"
                )
        return words
    words = [w for w in spaces[0].vocab if all(w in s for s in spaces[1:])]
    return words


def _jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard index of two (V, k) id arrays (ids within a row are distinct)."""
    inter = (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2))
    k = a.shape[1]
    return inter / (2 * k - inter)


def _spectrum(X: np.ndarray) -> np.ndarray:
    mu = _kernels.column_means(X).astype(np.float32)
    G = _kernels.cross_gram(X, X, x_shift=mu, y_shift=mu)[0]
    ev = np.linalg.eigvalsh(G)[::-1]
    return np.sqrt(np.maximum(ev, 0.0))


def stability(
    spaces: Sequence[Any],
    *,
    k: int = 10,
    anchors: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    progress: bool | ProgressSink = False,
) -> StabilityReport:
    """Compare several runs of an embedding model (see :class:`StabilityReport`).

    Parameters
    ----------
    spaces : sequence of EmbeddingSpace (or arrays with the same rows in the same order)
        At least two runs.
    k : int, default 10
        Neighbourhood size of the k-NN overlap (exact ``knn_graph`` of each run, cosine).
    anchors : sequence of str, optional
        Words to compare; default: the vocabulary every run shares, in the first run's order.
    names : sequence of str, optional
        Labels of the runs.
    progress : bool or ProgressSink, default False
        A progress bar with an ETA on stderr, one step per run (its kNN graph) and per pair of
        runs (see :mod:`tokenspace.progress`).

    Returns
    -------
    StabilityReport
    """
    spaces = list(spaces)
    if len(spaces) < 2:
        raise ValueError(f"stability needs at least two runs, got {len(spaces)}")
    if all(isinstance(s, EmbeddingSpace) for s in spaces):
        vocab = _common_vocab(spaces, anchors)
        if len(vocab) < 2:
            raise ValueError("the runs share fewer than two words; nothing to compare")
        mats = [np.ascontiguousarray(s[vocab]) for s in spaces]
    elif any(isinstance(s, EmbeddingSpace) for s in spaces):
        raise TypeError("pass either EmbeddingSpace objects or arrays, not a mix")
    else:
        mats = [_as_run(s, i) for i, s in enumerate(spaces)]
        n = mats[0].shape[0]
        if any(m.shape[0] != n for m in mats):
            raise ValueError("array runs must have the same number of rows (row i = word i)")
        vocab = [str(i) for i in range(n)] if anchors is None else list(anchors)
        if len(vocab) != n:
            raise ValueError("anchors must name every row when runs are arrays")
    if names is None:
        names = [getattr(s, "name", None) or f"run{i}" for i, s in enumerate(spaces)]
    names = list(names)
    V, R = len(vocab), len(mats)
    if k >= V:
        raise ValueError(f"k={k} must be smaller than the number of shared words ({V})")
    steps = R + R * (R - 1) // 2
    update = counter(progress, steps, "stability")
    graphs = []
    for m in mats:
        space = EmbeddingSpace(m, vocab, check=False)
        graphs.append(space.knn_graph(k, metric="cosine").indices)
        update(len(graphs))
    units = [_kernels.normalize_rows(m)[0] for m in mats]
    fro_raw = np.zeros((R, R))
    fro_al = np.zeros((R, R))
    rel = np.zeros((R, R))
    mcos = np.ones((R, R))
    ovl = np.ones((R, R))
    wcos = np.zeros(V)
    wovl = np.zeros(V)
    for i, j in combinations(range(R), 2):
        Xi, Xj = mats[i], mats[j]
        if Xi.shape[1] == Xj.shape[1]:
            d = float(np.sqrt(_sq_dist(Xi, Xj)))
            fro_raw[i, j] = fro_raw[j, i] = d
        else:
            fro_raw[i, j] = fro_raw[j, i] = np.nan
        fits = {}
        for src, dst in ((i, j), (j, i)):
            fits[src] = procrustes(mats[src], mats[dst])
            fro_al[src, dst] = fits[src].residual
            nd = float(np.sqrt(np.einsum("ij,ij->", mats[dst], mats[dst], dtype=np.float64)))
            rel[src, dst] = fits[src].residual / nd if nd > 0 else np.nan
        ali = fits[i]
        mapped = _kernels.normalize_rows(ali.transform(Xi))[0]
        cos = np.einsum("ij,ij->i", mapped, units[j], dtype=np.float64)
        mcos[i, j] = mcos[j, i] = float(cos.mean())
        jac = _jaccard(graphs[i], graphs[j])
        ovl[i, j] = ovl[j, i] = float(jac.mean())
        wcos += cos
        wovl += jac
        update(R + (i * (2 * R - i - 1)) // 2 + (j - i))
    n_pairs = R * (R - 1) / 2
    return StabilityReport(
        vocab=list(vocab),
        names=names,
        frobenius_raw=fro_raw,
        frobenius_aligned=fro_al,
        relative_aligned=rel,
        mean_cosine=mcos,
        knn_overlap=ovl,
        word_cosine=wcos / n_pairs,
        word_overlap=wovl / n_pairs,
        spectra=[_spectrum(m) for m in mats],
        k=k,
    )


def _as_run(x: Any, i: int) -> np.ndarray:
    return as_matrix(x, f"spaces[{i}]")


def _sq_dist(X: np.ndarray, Y: np.ndarray) -> float:
    """||X - Y||_F^2 in float64 (row blocks, so no full float64 copy)."""
    total = 0.0
    for s in range(0, X.shape[0], 8192):
        d = X[s : s + 8192].astype(np.float64) - Y[s : s + 8192]
        total += float(np.einsum("ij,ij->", d, d))
    return total


def _sentences(corpus: str | Path | Sequence[Sequence[str]] | None) -> list[list[str]]:
    from gensim.utils import simple_preprocess

    if corpus is None:
        from gensim.test.utils import datapath

        corpus = datapath("lee_background.cor")
    if isinstance(corpus, (str, Path)):
        path = Path(corpus)
        if not path.is_file():
            raise FileNotFoundError(f"corpus file {path} does not exist")
        with open(path, encoding="utf-8", errors="replace") as fh:
            sentences = [simple_preprocess(line) for line in fh]
    else:
        sentences = [list(s) for s in corpus]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError("the corpus is empty")
    return sentences


def train_word2vec_runs(
    corpus: str | Path | Sequence[Sequence[str]] | None = None,
    *,
    n_runs: int = 3,
    seeds: Sequence[int] | None = None,
    vector_size: int = 50,
    window: int = 5,
    min_count: int = 5,
    epochs: int = 40,
    sg: int = 0,
    workers: int = 1,
    **kwargs: Any,
) -> list[EmbeddingSpace]:
    """Train the same word2vec model several times with different seeds (gensim).

    Parameters
    ----------
    corpus : path, list of token lists, or None
        A text file (one document per line, tokenised with gensim's ``simple_preprocess``) or
        tokenised sentences. ``None`` uses gensim's ``lee_background.cor`` (300 news articles).
    n_runs : int, default 3
    seeds : sequence of int, optional
        One seed per run (default ``0 .. n_runs-1``).
    vector_size, window, min_count, epochs, sg : gensim Word2Vec parameters
        ``epochs`` defaults to 40 (gensim's 5 leave the small default corpus undertrained:
        every word points the same way, mean pairwise cosine 0.98, and the neighbours of two
        runs overlap by 3%; 40 epochs give about 0.3 and 40%).
    workers : int, default 1
        One worker thread makes each run reproducible from its seed.
    **kwargs
        Passed to ``gensim.models.Word2Vec``.

    Returns
    -------
    list of EmbeddingSpace
        Named ``seed<s>``; vocabularies in gensim's frequency order.

    Warns
    -----
    UserWarning
        When a run is degenerate (mean cosine between its words above 0.9): its geometry is
        still the initial common direction, so stability numbers would mislead. Train longer
        or on more text.

    Examples
    --------
    >>> runs = ts.train_word2vec_runs(n_runs=3, epochs=5)     # doctest: +SKIP
    >>> print(ts.stability(runs, k=10).summary())             # doctest: +SKIP
    """
    try:
        from gensim.models import Word2Vec
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "training word2vec runs needs gensim: pip install 'tokenspace[train]'"
        ) from e
    if seeds is None:
        if n_runs < 1:
            raise ValueError(f"n_runs must be >= 1, got {n_runs}")
        seeds = list(range(n_runs))
    seeds = list(seeds)
    sentences = _sentences(corpus)
    runs = []
    for seed in seeds:
        model = Word2Vec(
            sentences,
            vector_size=vector_size,
            window=window,
            min_count=min_count,
            epochs=epochs,
            sg=sg,
            workers=workers,
            seed=int(seed),
            **kwargs,
        )
        kv = model.wv
        runs.append(EmbeddingSpace(kv.vectors, list(kv.index_to_key), name=f"seed{seed}"))
    worst = max(_mean_pair_cosine(r.vectors) for r in runs)
    if worst > _DEGENERATE_COSINE:
        warnings.warn(
            f"the word2vec runs are degenerate: the mean cosine between two words of a run is "
            f"{worst:.3f} (every vector points the same way), so their neighbours are noise; "
            f"train longer (epochs={epochs} now; 40 suit the default corpus) or on more text",
            UserWarning,
            stacklevel=2,
        )
    return runs


def _mean_pair_cosine(X: np.ndarray) -> float:
    """Mean cosine over pairs of distinct rows (zero rows count as cosine 0)."""
    U = _kernels.normalize_rows(np.ascontiguousarray(X, dtype=np.float32))[0]
    n = U.shape[0]
    if n < 2:
        return 0.0
    total = U.sum(axis=0, dtype=np.float64)
    self_sum = float(np.einsum("ij,ij->", U, U, dtype=np.float64))
    return float((total @ total - self_sum) / (n * (n - 1)))


@dataclass(frozen=True, repr=False)
class StabilityStudy(Display):
    """How stability varies with embedding dimension and corpus size (:func:`stability_study`).

    One row per (dimension, corpus fraction) setting; ``reports`` holds the full
    :class:`StabilityReport` of each, in the same order.
    """

    dimensions: list[int]
    corpus_sizes: list[int]
    fractions: list[float]
    n_runs: int
    reports: list[StabilityReport] = field(repr=False)

    def _table(self) -> dict[str, Sequence[Any]]:
        cols: dict[str, list[Any]] = {"dimension": [], "corpus_fraction": [], "corpus_tokens": []}
        for m in ("mean_cosine", "knn_overlap", "relative_aligned"):
            cols[f"{m}_mean"] = []
            cols[f"{m}_std"] = []
        for (dim, frac, tokens), rep in zip(self._settings(), self.reports):
            cols["dimension"].append(dim)
            cols["corpus_fraction"].append(frac)
            cols["corpus_tokens"].append(tokens)
            for m in ("mean_cosine", "knn_overlap", "relative_aligned"):
                sp = rep.spread(m)
                cols[f"{m}_mean"].append(sp.mean)
                cols[f"{m}_std"].append(sp.std)
        return dict(cols)

    def _settings(self) -> list[tuple[int, float, int]]:
        return [
            (d, f, t) for d in self.dimensions for f, t in zip(self.fractions, self.corpus_sizes)
        ]

    def _summary(self) -> str:
        t = self._table()
        best = int(np.nanargmax(t["knn_overlap_mean"]))
        return (
            f"stability of {self.n_runs} runs over {len(self.dimensions)} dimensions x "
            f"{len(self.fractions)} corpus sizes; highest knn overlap "
            f"{t['knn_overlap_mean'][best]:.3f} at dimension {t['dimension'][best]}, "
            f"{t['corpus_tokens'][best]} tokens"
        )

    def table(self) -> str:
        """Plain-text table (one line per setting)."""
        t = self._table()
        lines = [f"{'dim':>5} {'tokens':>9} {'cosine':>15} {'knn overlap':>15} {'rel. resid.':>15}"]
        for i in range(len(t["dimension"])):
            lines.append(
                f"{t['dimension'][i]:>5} {t['corpus_tokens'][i]:>9} "
                f"{t['mean_cosine_mean'][i]:>8.4f}+-{t['mean_cosine_std'][i]:<6.4f}"
                f"{t['knn_overlap_mean'][i]:>8.4f}+-{t['knn_overlap_std'][i]:<6.4f}"
                f"{t['relative_aligned_mean'][i]:>8.4f}+-{t['relative_aligned_std'][i]:<6.4f}"
            )
        return "\n".join(lines)


def stability_study(
    corpus: str | Path | Sequence[Sequence[str]] | None = None,
    *,
    dimensions: Sequence[int] = (25, 50, 100),
    fractions: Sequence[float] = (0.25, 0.5, 1.0),
    n_runs: int = 3,
    k: int = 10,
    epochs: int = 40,
    min_count: int = 5,
    seed: int = 0,
    **kwargs: Any,
) -> StabilityStudy:
    """Train ``n_runs`` word2vec runs per (dimension, corpus size) and measure their stability.

    Each corpus size is the first ``fraction`` of the (shuffled once with ``seed``)
    sentences, so smaller corpora are nested in larger ones. Stability is compared on the
    words every run of a setting shares, so the vocabulary shrinks with the corpus.

    Parameters
    ----------
    corpus : as :func:`train_word2vec_runs`
    dimensions : sequence of int, keyword-only
    fractions : sequence of float in (0, 1], keyword-only
    n_runs : int, keyword-only
        Runs per setting (seeds ``0 .. n_runs - 1``), at least 2.
    k, epochs, min_count, seed, **kwargs : keyword-only
        ``k`` for :func:`stability`; the rest for :func:`train_word2vec_runs`.

    Returns
    -------
    StabilityStudy
        ``table()``/``to_pandas()``: mean and spread (over pairs of runs) of the aligned
        cosine, the kNN overlap and the relative Procrustes residual per setting.
    """
    if n_runs < 2:
        raise ValueError(f"a stability study needs at least 2 runs per setting; got {n_runs}")
    dims = [int(d) for d in dimensions]
    fracs = [float(f) for f in fractions]
    if not dims or any(d < 1 for d in dims):
        raise ValueError("dimensions must be a non-empty list of positive ints")
    if not fracs or any(not 0.0 < f <= 1.0 for f in fracs):
        raise ValueError("fractions must be a non-empty list of numbers in (0, 1]")
    sentences = _sentences(corpus)
    order = np.random.default_rng(seed).permutation(len(sentences))
    sentences = [sentences[i] for i in order]
    reports, sizes = [], []
    subsets = []
    for f in fracs:
        sub = sentences[: max(1, round(f * len(sentences)))]
        subsets.append(sub)
        sizes.append(sum(len(x) for x in sub))
    for d in dims:
        for sub in subsets:
            with warnings.catch_warnings():
                # a small corpus may give degenerate runs; the table shows it
                warnings.simplefilter("ignore", UserWarning)
                runs = train_word2vec_runs(
                    sub, n_runs=n_runs, vector_size=d, epochs=epochs, min_count=min_count, **kwargs
                )
            reports.append(stability(runs, k=k))
    return StabilityStudy(dims, sizes, fracs, n_runs, reports)
