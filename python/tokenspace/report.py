"""``tokenspace report``: the course's analyses on the embedded models, as one HTML page.

The report is a list of independent sections. Each section is a function taking the shared
:class:`ReportContext` and returning ``(title, html, figures)``, where ``figures`` is a list of
``(matplotlib Figure, caption)``. The runner saves every figure as a PNG next to ``index.html``,
times the section, and turns an exception into a note on the page (``strict=True`` re-raises).

Sections whose API lives in other parts of the library (analogies, RSA, SVD, translation) name
what they need in ``requires``; when an attribute is missing from ``tokenspace`` the section is
skipped with a note instead of failing. To add a section: write ``def section_x(ctx)`` and put
a :class:`Section` for it in :data:`SECTIONS`.
"""

from __future__ import annotations

import html
import math
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

# -- word sets used by several sections -------------------------------------------------------
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


# -- context and section plumbing --------------------------------------------------------------
@dataclass
class ReportContext:
    """What sections share: the models (loaded once, lazily), the seed and the output folder."""

    out: Path
    model_names: Sequence[str] = ("glove-6b-50d", "minilm-l6")
    seed: int = 0
    _models: dict[str, Any] = field(default_factory=dict)

    def model(self, name: str):
        if name not in self._models:
            from .io import load

            self._models[name] = load(name)
        return self._models[name]

    @property
    def models(self) -> list[Any]:
        return [self.model(n) for n in self.model_names]

    @property
    def glove(self):
        return self.model(self.model_names[0])

    @property
    def minilm(self):
        return self.model(self.model_names[1])


SectionResult = tuple[str, str, list]


@dataclass
class Section:
    """One report section: ``fn(ctx) -> (title, html, [(figure, caption), ...])``.

    ``requires`` names attributes of the ``tokenspace`` module (or ``EmbeddingSpace.<name>``)
    the section needs; missing ones make the runner skip it with a note.
    """

    key: str
    title: str
    fn: Callable[[ReportContext], SectionResult]
    requires: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        import tokenspace as ts

        out = []
        for name in self.requires:
            obj: Any = ts
            for part in name.split("."):
                if not hasattr(obj, part):
                    out.append(name)
                    break
                obj = getattr(obj, part)
        return out


@dataclass
class SectionRecord:
    """What happened to a section: status is "ok", "skipped" or "failed"."""

    key: str
    title: str
    status: str
    seconds: float
    figures: list[str]
    note: str = ""


@dataclass
class ReportResult:
    """The written report: ``index`` is the path of index.html."""

    index: Path
    sections: list[SectionRecord]
    seconds: float


# -- HTML helpers ------------------------------------------------------------------------------
def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x:.4f}" if math.isfinite(x) else str(x)
    return str(x)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None) -> str:
    """A plain HTML table (values escaped, floats to 4 decimals)."""
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _p(text: str) -> str:
    return f"<p>{_esc(text)}</p>"


def render_result(obj: Any) -> str:
    """Best-effort HTML of a result object from another module (dataclass, dict, number...)."""
    if is_dataclass(obj):
        items = [(f.name, getattr(obj, f.name)) for f in fields(obj)]
    elif isinstance(obj, dict):
        items = list(obj.items())
    else:
        return f"<pre>{_esc(repr(obj))}</pre>"
    rows = []
    for k, v in items:
        if isinstance(v, np.ndarray) and v.size > 8:
            v = f"array{v.shape}"
        elif isinstance(v, (list, tuple, dict)) and len(v) > 8:
            v = f"{type(v).__name__} of {len(v)}"
        rows.append((k, _fmt(v)))
    return html_table(["field", "value"], rows)


def _present(s: Any, words: Sequence[str]) -> list[str]:
    return [w for w in words if w in s]


# -- sections ----------------------------------------------------------------------------------
def section_overview(ctx: ReportContext) -> SectionResult:
    import tokenspace as ts

    rows = []
    for s in ctx.models:
        n = s.norms
        rows.append((s.name, len(s), s.dim, float(n.min()), float(np.median(n)), float(n.max()),
                     int((n == 0).sum())))
    body = html_table(["model", "vocabulary", "dim", "min norm", "median norm", "max norm", "zero rows"], rows)
    body += _p(f"tokenspace {ts.__version__}, SIMD level {ts.simd_level()}, {ts.num_threads()} kernel threads, "
               f"seed {ctx.seed}.")
    return "Models", body, []


def section_knn(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .similarity import cosine_matrix

    parts, figs = [], []
    for s in ctx.models:
        seeds = _present(s, KNN_SEEDS)
        res = s.knn(seeds, k=8)
        rows = [[f"{res.words[i][r]} ({res.scores[i][r]:.3f})" for i in range(len(seeds))] for r in range(8)]
        parts.append(html_table(seeds, rows, caption=f"{s.name}: 8 nearest neighbours by cosine"))
        seed = seeds[0]
        cos = cosine_matrix(s[[seed]], s)[0]
        marks = {w: float(cos[s.index(w)]) for w in res.words[0][:3]}
        figs.append((plot.projection_histogram(
            cos, bins=120, marks=marks, xlabel=f"cosine with {seed!r}",
            title=f"{s.name}: cosine of {seed!r} with all {len(s)} entries"),
            f"{s.name}: one-to-all cosine distribution of {seed!r}; its top neighbours marked"))
    return "Nearest neighbours", "".join(parts), figs


def _category_words(s: Any) -> list[str]:
    return [w for ws in CATEGORIES.values() for w in ws if w in s]


def section_heatmap(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .similarity import cosine_matrix

    figs, rows = [], []
    for s in ctx.models:
        words = _category_words(s)
        C = cosine_matrix(s[words])
        figs.append((plot.cosine_heatmap(C, words, title=f"{s.name}: cosine of 4 categories"),
                     f"{s.name}: cosine matrix of {len(words)} words in 4 categories"))
        cat = np.array([c for c, ws in CATEGORIES.items() for w in ws if w in s])
        same = cat[:, None] == cat[None, :]
        off = ~np.eye(len(words), dtype=bool)
        within = float(C[same & off].mean())
        between = float(C[~same].mean())
        rows.append((s.name, within, between, within / between if between else math.nan))
    body = _p("Words of the same category should be more similar to each other than to the rest.")
    body += html_table(["model", "mean within-category cosine", "mean between-category cosine", "ratio"], rows)
    return "Cosine heatmap of a word set", body, figs


def section_graph(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .analysis.graph import cosine_graph

    figs, parts = [], []
    for s in ctx.models:
        words = _category_words(s)
        g = cosine_graph(s, words)
        figs.append((plot.graph(g, seed=ctx.seed, title=f"{s.name}: cosine graph (threshold {g.threshold:.3f})"),
                     f"{s.name}: edges where cosine > median + std of the distinct off-diagonal cosines"))
        top = g.degree_table(top=8)
        parts.append(f"<div><h4>{_esc(s.name)}</h4>" + _p(
            f"{g.n_nodes} nodes, {g.n_edges} edges, density {g.density:.3f}, threshold "
            f"{g.threshold:.4f}") + html_table(["word", "degree"], top) + "</div>")
    intro = _p("The word set of the heatmap section as a graph: an edge where the cosine exceeds the "
               "median + standard deviation of the distinct off-diagonal cosines.")
    return "Cosine graph", intro + '<div class="tables">' + "".join(parts) + "</div>", figs


def section_tsne(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .analysis.cluster import dbscan, dbscan_sweep, select_tokens, tsne

    figs, parts = [], []
    eps_values = [0.5, 1, 1.5, 2, 3, 4, 5, 6]
    ms_values = [3, 4, 5, 6, 8]
    for s in ctx.models:
        words = select_tokens(s, contains="x", min_len=4, max_len=8, alphabetic=True, limit=300)
        P = tsne(s[words], perplexity=5, seed=ctx.seed)
        sweep = dbscan_sweep(P, eps_values, ms_values)
        eps, ms = sweep.best()
        cl = dbscan(P, eps, ms)
        figs.append((plot.tsne_clusters(P, cl, words, title=f"{s.name}: t-SNE of {len(words)} tokens "
                                        f"with 'x', DBSCAN eps={eps:g}, min_samples={ms}"),
                     f"{s.name}: t-SNE (perplexity 5) coloured by DBSCAN cluster, noise in grey"))
        figs.append((plot.dbscan_sweep(sweep, title=f"{s.name}: clusters per (eps, min_samples)"),
                     f"{s.name}: DBSCAN sweep over the t-SNE map"))
        members = cl.members(words)
        big = sorted(((c, ws) for c, ws in members.items() if c >= 0), key=lambda cw: -len(cw[1]))[:8]
        parts.append(html_table(
            ["cluster", "size", "members"], [(c, len(ws), " ".join(ws[:12])) for c, ws in big],
            caption=f"{s.name}: {cl.n_clusters} clusters, {cl.n_noise} noise points (largest shown)"))
    intro = _p("Tokens containing 'x' with 4-8 letters (the first 300 in vocabulary order), mapped with "
               "t-SNE (perplexity 5) and clustered with DBSCAN at the sweep's (eps, min_samples) with "
               "the most clusters among the settings that leave at most a quarter of the points as "
               "noise.")
    return "t-SNE and DBSCAN", intro + "".join(parts), figs


def _shuffled(X: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """A null-model copy of X: "rows" permutes the rows (vectors move to other words),
    "columns" permutes each column independently (per-dimension marginals kept, joint structure
    gone), "elements" permutes all entries (only the overall value distribution kept)."""
    if how == "rows":
        return X[rng.permutation(X.shape[0])]
    if how == "columns":
        return rng.permuted(X, axis=0)
    if how == "elements":
        return rng.permutation(X.ravel()).reshape(X.shape)
    raise ValueError(f"unknown shuffle {how!r}; expected 'rows', 'columns' or 'elements'")


def _singular_values(X: np.ndarray) -> np.ndarray:
    """Singular values of the mean-centred X via the d x d Gram matrix (tokenspace kernel)."""
    from . import _core

    Xc = np.ascontiguousarray((X - X.mean(axis=0, dtype=np.float64)).astype(np.float32).T)
    G = _core.gram(Xc, Xc, None).astype(np.float64)
    return np.sqrt(np.clip(np.linalg.eigvalsh((G + G.T) / 2)[::-1], 0, None))


def section_null(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .similarity import cosine_matrix
    from .space import EmbeddingSpace

    s = ctx.glove
    n = min(20000, len(s))
    words = s.vocab[:n]
    X = np.asarray(s.vectors[:n])
    import tokenspace as ts

    rng = np.random.default_rng(ctx.seed)
    spaces = {"real": EmbeddingSpace(X, words, name="real", check=False)}
    for k, how in enumerate(("rows", "columns", "elements")):
        if hasattr(ts, "shuffle"):  # the library's null model, once merged
            spaces[f"{how} shuffled"] = ts.shuffle(spaces["real"], how, seed=ctx.seed + k)
        else:
            spaces[f"{how} shuffled"] = EmbeddingSpace(_shuffled(X, how, rng), words, name=how, check=False)
    seed = "king"
    knn_cols, spectra, cos_all = {}, {}, {}
    for label, sp in spaces.items():
        res = sp.knn([seed], k=8)
        knn_cols[label] = [f"{w} ({c:.3f})" for w, c in zip(res.words[0], res.scores[0])]
        spectra[label] = _singular_values(sp.vectors)
        cos_all[label] = np.delete(cosine_matrix(sp[[seed]], sp)[0], sp.index(seed))
    rows = list(zip(*knn_cols.values()))
    body = _p(f"GloVe's {n} most frequent words against three shuffled copies. Row shuffling keeps every "
              "vector (same spectrum, same cosine distribution) but gives words the wrong vectors; "
              "column and element shuffling destroy the correlations between dimensions.")
    body += html_table(list(knn_cols), rows, caption=f"nearest neighbours of {seed!r}")
    cats = _category_words(s)
    cat_ids = [s.index(w) for w in cats]
    stats = []
    for label, sp in spaces.items():
        C = cosine_matrix(sp.vectors[cat_ids])
        tri = C[np.triu_indices(len(cats), k=1)]
        stats.append((label, float(tri.mean()), float(tri.std()), float(spectra[label][0] / spectra[label].sum())))
    body += html_table(["matrix", "mean cosine (word set)", "std cosine (word set)", "top singular value share"],
                       stats)
    figs = [
        (plot.spectrum(spectra, title="singular values: real vs shuffled", normalize=True),
         "scree plot of the mean-centred matrices"),
        (plot.projection_histogram(cos_all["real"], overlay={k: v for k, v in cos_all.items() if k != "real"},
                                   xlabel=f"cosine with {seed!r}", title=f"cosine of {seed!r} with {n - 1} words"),
         "one-to-all cosine: real matrix (filled) vs shuffled copies (outlines)"),
        (plot.cosine_heatmap(cosine_matrix(spaces["elements shuffled"].vectors[cat_ids]), cats,
                             title="element-shuffled: cosine of the word set"),
         "the category structure of the heatmap section disappears"),
    ]
    return "Null model: shuffled embeddings", body, figs


def section_sequence(ctx: ReportContext) -> SectionResult:
    from . import plot
    from .text import color_text, sequence_cosines

    parts = [_p(f"Text: {TEXT}")]
    figs = []
    for s in ctx.models:
        seq = sequence_cosines(s, TEXT)
        figs.append((plot.sequence_cosines(seq, title=f"{s.name}: cosine with the previous token "
                                           f"(mean {seq.mean:.3f})"),
                     f"{s.name}: {len(seq.tokens)} tokens, special tokens removed"))
        parts.append(f"<h3>{_esc(s.name)}</h3>")
        for score in ("norm", "prev", SEED_WORD):
            parts.append(color_text(s, TEXT, score))
    return "Token sequences and coloured text", "".join(parts), figs


# -- sections from other parts of the library (enabled when their API is present) --------------
def section_analogies(ctx: ReportContext) -> SectionResult:
    import tokenspace as ts

    parts = []
    queries = [(["king", "woman"], ["man"]), (["paris", "italy"], ["france"]), (["walking", "swam"], ["swimming"])]
    for s in ctx.models:
        rows = []
        for pos, neg in queries:
            if not all(w in s for w in pos + neg):
                continue
            for method in ("3cosadd", "3cosmul"):
                res = s.most_similar(positive=pos, negative=neg, topn=3, method=method)
                rows.append((f"{' + '.join(pos)} - {' - '.join(neg)}", method, _answers(res)))
        parts.append(html_table(["query", "method", "top 3"], rows, caption=s.name))
    if hasattr(ts, "evaluate_analogies"):
        from gensim.test.utils import datapath

        res = ts.evaluate_analogies(ctx.glove, datapath("questions-words.txt"), restrict_vocab=30000)
        parts.append(f"<h3>Google analogy set, {_esc(ctx.glove.name)}, 30k vocabulary: accuracy "
                     f"{float(res.accuracy):.4f}</h3>")
        secs = getattr(res, "sections", None)
        if secs and all(hasattr(x, "name") for x in secs):
            parts.append(html_table(["section", "correct", "incorrect", "accuracy"],
                                    [(x.name, x.correct, x.incorrect, x.accuracy) for x in secs]))
        else:
            parts.append(render_result(res))
    return "Analogies", "".join(parts), []


def _answers(res: Any) -> str:
    """most_similar output as "word (score)": gensim-style [(word, score)] or an object with words."""
    if isinstance(res, list) and all(isinstance(x, tuple) and len(x) == 2 for x in res):
        return ", ".join(f"{w} ({float(c):.3f})" for w, c in res)
    words = getattr(res, "words", None)
    if words is not None:
        words = words[0] if words and isinstance(words[0], list) else words
        return ", ".join(map(str, words))
    return str(res)


def section_rsa(ctx: ReportContext) -> SectionResult:
    import tokenspace as ts

    from . import plot
    from .similarity import cosine_matrix

    g, m = ctx.glove, ctx.minilm
    res = ts.rsa_models(g, m)
    body = _p("RSA between GloVe and MiniLM on the words both vocabularies contain.") + render_result(res)
    # GloVe's frequency order: MiniLM's id order starts with single characters and scripts
    shared = [w for w in g.vocab[:50000] if w.isalpha() and w in m][:1000]
    Cg, Cm = cosine_matrix(g[shared]), cosine_matrix(m[shared])
    r = ts.rsa(g[shared], m[shared], method="pearson")
    body += _p(f"Pearson RSA over the {len(shared)} most frequent shared alphabetic words: {float(r):.4f}")
    figs = [(plot.rsa_scatter(Cg, Cm, labels=(g.name, m.name)),
             f"cosine of each pair of {len(shared)} shared words in both models")]
    return "RSA: GloVe vs MiniLM", body, figs


def section_svd(ctx: ReportContext) -> SectionResult:
    import tokenspace as ts

    from . import plot

    s = ctx.minilm
    groups = {
        "digits": [str(i) for i in range(10)],
        "EU countries": ["france", "germany", "italy", "spain", "portugal", "austria", "belgium",
                         "netherlands", "sweden", "poland"],
        "letters": [chr(c) for c in range(ord("a"), ord("z") + 1)],
    }
    rng = np.random.default_rng(ctx.seed)
    spectra, parts, figs = {}, [], []
    for label, words in groups.items():
        words = _present(s, words)
        spectra[label] = ts.svd_spectrum(s[words], center=True)
    alpha = np.flatnonzero([w.isalpha() for w in s.vocab])  # not [unused*] placeholder rows
    spectra["random 26 words"] = ts.svd_spectrum(s.vectors[rng.choice(alpha, 26, replace=False)], center=True)
    figs.append((plot.spectrum(spectra, normalize=True, title=f"{s.name}: spectra of token groups"),
                 "singular values of mean-centred groups vs a random submatrix"))
    words = _present(s, groups["EU countries"])
    G = np.asarray(s[words], dtype=np.float64)
    mu = G.mean(axis=0)
    axis = np.linalg.svd(G - mu, full_matrices=False)[2][0]
    proj = np.asarray(ts.project(s, axis.astype(np.float32), center=mu.astype(np.float32)))
    order = np.argsort(proj)
    inside = set(words)
    top = [s.vocab[i] for i in order[::-1] if s.vocab[i] not in inside][:10]
    bottom = [s.vocab[i] for i in order if s.vocab[i] not in inside][:10]
    parts.append(html_table(["top", "bottom"], list(zip(top, bottom)),
                            caption="whole vocabulary on the EU countries' first singular vector"))
    figs.append((plot.projection_histogram(proj, title=f"{s.name}: projection on the countries' axis"),
                 "projection of every vocabulary entry"))
    return "SVD spectra and projections", "".join(parts), figs


def section_translation(ctx: ReportContext) -> SectionResult:
    import tokenspace as ts

    g, m = ctx.glove, ctx.minilm
    # CSLS needs every candidate source's neighbourhood: the 30k most frequent GloVe words keep
    # it to seconds (the whole 400k vocabulary took minutes here; inverted softmax even more).
    vocab = min(30000, len(g))
    shared = [w for w in m.vocab if w.isalpha() and len(w) > 2 and w in g]
    rng = np.random.default_rng(ctx.seed)
    rng.shuffle(shared)
    test = [w for w in shared if g.index(w) < vocab][:1000]
    held = set(test)
    train = [w for w in shared if w not in held]
    al = ts.align(g, m, anchors=[(w, w) for w in train])
    rows = []
    for retrieval in ("nn", "csls"):
        res = ts.translation_accuracy(g, m, [(w, w) for w in test], al, retrieval=retrieval,
                                      ks=(1, 5, 10), source_vocab=vocab)
        prec = getattr(res, "precision", None)
        if isinstance(prec, dict):
            rows.append([retrieval] + [float(prec[k]) for k in (1, 5, 10)])
        else:
            rows.append([retrieval, render_result(res), "", ""])
    body = _p(f"GloVe -> MiniLM orthogonal map fitted on {len(train)} shared words (identical strings "
              f"as anchors); precision@k on {len(test)} held-out shared words, retrieving among "
              f"MiniLM's whole vocabulary (CSLS statistics over GloVe's {vocab} most frequent words).")
    body += html_table(["retrieval", "P@1", "P@5", "P@10"], rows)
    sample = test[:8]
    tr = ts.translate(g, m, sample, al, k=3, retrieval="csls", source_vocab=vocab)
    body += html_table(["GloVe word", "MiniLM top 3 (CSLS)"],
                       [(w, ", ".join(ws)) for w, ws in zip(sample, tr.words)])
    return "Translation GloVe -> MiniLM", body, []


SECTIONS: list[Section] = [
    Section("overview", "Models", section_overview),
    Section("knn", "Nearest neighbours", section_knn),
    Section("heatmap", "Cosine heatmap of a word set", section_heatmap),
    Section("graph", "Cosine graph", section_graph),
    Section("tsne", "t-SNE and DBSCAN", section_tsne),
    Section("null", "Null model: shuffled embeddings", section_null),
    Section("sequence", "Token sequences and coloured text", section_sequence),
    # ---- sections built on other parts of the library: skipped (with a note) until merged ----
    Section("analogies", "Analogies", section_analogies, requires=("EmbeddingSpace.most_similar",)),
    Section("rsa", "RSA: GloVe vs MiniLM", section_rsa, requires=("rsa", "rsa_models")),
    Section("svd", "SVD spectra and projections", section_svd, requires=("svd_spectrum", "project")),
    Section("translation", "Translation GloVe -> MiniLM", section_translation,
            requires=("align", "translate", "translation_accuracy")),
]


# -- progress and page -------------------------------------------------------------------------
class _Progress:
    """A one-line progress bar on stderr (one line per step when stderr is not a terminal)."""

    def __init__(self, total: int, *, enabled: bool = True, stream: Any = None) -> None:
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def update(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        width = 24
        fill = int(width * done / max(self.total, 1))
        line = (f"[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} {label} "
                f"({time.perf_counter() - self.t0:.1f} s)")
        if self.tty:
            self.stream.write("\r\033[K" + line)
            if done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.8em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:560px;border:1px solid #eee}figcaption{font-size:.8em;color:#555;max-width:560px}
.tables>div{display:inline-block;vertical-align:top;margin-right:2em}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em}
.failed{background:#fdecea;border-left-color:#d93025}
nav a{margin-right:1em}
"""

# Marks images that did not load, so a headless browser (tests) can check the page by its DOM.
_IMG_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = document.images, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad++; imgs[i].setAttribute('data-broken', '1'); }
  }
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken-images', String(bad));
});
</script>"""


def _page(records: list[SectionRecord], bodies: dict[str, str], total: float, ctx: ReportContext) -> str:
    nav = " ".join(f'<a href="#{r.key}">{_esc(r.title)}</a>' for r in records)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>tokenspace report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>tokenspace report</h1>",
        _p(f"Models: {', '.join(ctx.model_names)}. Generated in {total:.1f} s "
           f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."),
        f"<nav>{nav}</nav>",
    ]
    for r in records:
        out.append(f'<section id="{r.key}"><h2>{_esc(r.title)}</h2>')
        if r.status != "ok":
            cls = "note failed" if r.status == "failed" else "note"
            out.append(f'<p class="{cls}">{_esc(r.note)}</p>')
        out.append(bodies.get(r.key, ""))
        out.append(f'<p style="font-size:.75em;color:#888">{r.status}, {r.seconds:.1f} s</p></section>')
    out.append(_IMG_CHECK)
    out.append("</body></html>")
    return "\n".join(out)


def build_report(
    out: str | Path,
    *,
    models: Sequence[str] = ("glove-6b-50d", "minilm-l6"),
    sections: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = True,
    strict: bool = False,
    dpi: int = 90,
) -> ReportResult:
    """Run the report's sections and write ``out/index.html`` with PNG figures beside it.

    Parameters
    ----------
    out : path
        Output folder (created if needed); existing files of the same names are overwritten.
    models : (static model, HF model)
        Names or paths passed to :func:`tokenspace.load`; sections use the first as "GloVe" and
        the second as "MiniLM" (the second needs a tokenizer for the text section).
    sections : sequence of str, optional
        Keys of :data:`SECTIONS` to run (default: all).
    progress : bool, default True
        Progress bar on stderr.
    strict : bool, default False
        Re-raise a section's exception instead of writing it as a note.
    """
    if len(models) != 2:
        raise ValueError("models must name two models: a static one and a Hugging Face one")
    chosen = list(SECTIONS)
    if sections is not None:
        known = {s.key for s in SECTIONS}
        unknown = [k for k in sections if k not in known]
        if unknown:
            raise ValueError(f"unknown report sections {unknown}; available: {', '.join(sorted(known))}")
        chosen = [s for s in SECTIONS if s.key in sections]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext(out=out, model_names=tuple(models), seed=seed)
    bar = _Progress(len(chosen) + 1, enabled=progress)
    t0 = time.perf_counter()
    bar.update(0, "loading models")
    ctx.models  # noqa: B018 - load both models up front so sections time their own work
    records: list[SectionRecord] = []
    bodies: dict[str, str] = {}
    for i, sec in enumerate(chosen, 1):
        bar.update(i, sec.title)
        ts0 = time.perf_counter()
        missing = sec.missing()
        if missing:
            records.append(SectionRecord(
                sec.key, sec.title, "skipped", 0.0, [],
                f"Skipped: needs {', '.join('tokenspace.' + m for m in missing)}, not in this build."))
            continue
        try:
            title, body, figs = sec.fn(ctx)
            names = []
            parts = []
            for j, (fig, caption) in enumerate(figs):
                name = f"{sec.key}-{j + 1}.png"
                fig.savefig(out / name, dpi=dpi)
                names.append(name)
                parts.append(f'<figure><img src="{name}" alt="{_esc(caption)}">'
                             f"<figcaption>{_esc(caption)}</figcaption></figure>")
            bodies[sec.key] = body + "<div>" + "".join(parts) + "</div>"
            records.append(SectionRecord(sec.key, title, "ok", time.perf_counter() - ts0, names))
        except Exception as e:  # one broken section must not take the report down
            if strict:
                raise
            records.append(SectionRecord(
                sec.key, sec.title, "failed", time.perf_counter() - ts0, [],
                f"This section failed: {type(e).__name__}: {e}"))
            bodies[sec.key] = f"<pre>{_esc(traceback.format_exc(limit=3))}</pre>"
    bar.update(len(chosen) + 1, "writing index.html")
    total = time.perf_counter() - t0
    index = out / "index.html"
    index.write_text(_page(records, bodies, total, ctx), encoding="utf-8")
    return ReportResult(index, records, total)
