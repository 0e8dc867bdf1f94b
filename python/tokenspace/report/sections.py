"""The report's sections and their order.

A section is a function taking the shared :class:`~.context.ReportContext` and returning
``(title, html, figures)``, where ``figures`` is a list of :class:`~.context.Fig` (or plain
``(matplotlib Figure, caption)`` pairs). To add one: write ``def section_x(ctx)`` and put a
:class:`Section` for it in :data:`SECTIONS`, with ``about``: the paragraph that says what the
section shows and how to read it. Word lists adapt to the vocabulary: ``present`` and
``token_for`` find "king" as "Ġking" in GPT-2 and fall back to frequent words when a list is
missing from a small vocabulary.
Sections call the analysis and alignment modules; they render results, never recompute them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import plot
from .._kernels import num_threads, simd_level
from .._version import package_version
from ..alignment.procrustes import align
from ..alignment.translate import translate, translation_accuracy
from ..analysis.axes import project
from ..analysis.cluster import dbscan, dbscan_sweep, select_tokens, tsne
from ..analysis.evaluate import compare_models, evaluate_analogies
from ..analysis.graph import cosine_graph
from ..analysis.null import shuffle
from ..analysis.rsa import rsa
from ..analysis.sequences import color_text, sequence_cosines
from ..analysis.spectral import svd_spectrum
from ..similarity import cosine_matrix
from ..space import EmbeddingSpace
from .context import (
    KNN_SEEDS,
    SEED_WORD,
    TEXT,
    Fig,
    ReportContext,
    category_tokens,
    category_words,
    content_words,
    present,
    shared_pairs,
    shown,
    token_for,
    word_of,
)
from .html import esc, html_table, paragraph

#: ``(title, html, [Fig or (figure, caption), ...])``
SectionResult = tuple[str, str, list[Any]]


@dataclass(frozen=True)
class Section:
    """One report section: ``fn(ctx) -> (title, html, [Fig, ...])``; ``about`` is the paragraph
    printed under its heading (what the analysis shows and how to read it)."""

    key: str
    title: str
    fn: Callable[[ReportContext], SectionResult]
    about: str = ""


def section_overview(ctx: ReportContext) -> SectionResult:
    rows = []
    for s in ctx.models:
        n = s.norms
        rows.append(
            (
                s.name,
                len(s),
                s.dim,
                s.token_style,
                float(n.min()),
                float(np.median(n)),
                float(n.max()),
                int((n == 0).sum()),
            )
        )
    body = html_table(
        [
            "model",
            "vocabulary",
            "dim",
            "tokens",
            "min norm",
            "median norm",
            "max norm",
            "zero rows",
        ],
        rows,
    )
    body += paragraph(
        f"tokenspace {package_version()}, SIMD level {simd_level()}, {num_threads()} kernel "
        f"threads, seed {ctx.seed}."
    )
    return "Models", body, []


def _seeds(s: EmbeddingSpace, n: int = 6) -> list[str]:
    """The kNN seed words the model has, topped up with its frequent words."""
    seeds = present(s, KNN_SEEDS)
    if len(seeds) < n:
        seeds += [w for w in content_words(s, 4 * n, min_len=4) if w not in seeds][: n - len(seeds)]
    return seeds[:n]


def section_knn(ctx: ReportContext) -> SectionResult:
    parts, figs = [], []
    for s in ctx.models:
        seeds = _seeds(s)
        k = min(8, len(s) - 1)
        res = s.knn(seeds, k=k)
        found = [res[i] for i in range(len(seeds))]  # (word, cosine) per seed
        rows = [
            [f"{shown(s, str(found[i][r][0]))} ({found[i][r][1]:.3f})" for i in range(len(seeds))]
            for r in range(k)
        ]
        parts.append(
            html_table(
                [shown(s, w) for w in seeds],
                rows,
                caption=f"{s.name}: {k} nearest neighbours by cosine",
            )
        )
        seed = seeds[0]
        cos = cosine_matrix(s[[seed]], s)[0]
        top = [s.vocab[j] for j in res.indices[0, :3].tolist()]
        marks = {shown(s, w): float(cos[s.index(w)]) for w in top}
        figs.append(
            Fig(
                plot.projection_histogram(
                    cos,
                    bins=120,
                    marks=marks,
                    xlabel=f"cosine with {shown(s, seed)!r}",
                    title=f"{s.name}: cosine of {shown(s, seed)!r} with all {len(s)} entries",
                ),
                f"{s.name}: one-to-all cosine distribution of {shown(s, seed)!r}; its top "
                "neighbours marked",
            )
        )
    return "Nearest neighbours", "".join(parts), figs


def section_heatmap(ctx: ReportContext) -> SectionResult:
    figs, rows = [], []
    for s in ctx.models:
        cats = category_tokens(s)
        words = [t for _, t in cats]
        if len(words) < 4:
            raise ValueError(f"{s.name} has only {len(words)} of the category words")
        C = cosine_matrix(s[words])
        figs.append(
            Fig(
                plot.cosine_heatmap(
                    C, [shown(s, w) for w in words], title=f"{s.name}: cosine of 4 categories"
                ),
                f"{s.name}: cosine matrix of {len(words)} words in 4 categories",
                data={
                    "word": [shown(s, w) for w in words],
                    **{shown(s, w): C[:, j].tolist() for j, w in enumerate(words)},
                },
            )
        )
        cat = np.array([c for c, _ in cats])
        same = cat[:, None] == cat[None, :]
        off = ~np.eye(len(words), dtype=bool)
        within = float(C[same & off].mean()) if (same & off).any() else math.nan
        between = float(C[~same].mean()) if (~same).any() else math.nan
        rows.append(
            (s.name, len(words), within, between, within / between if between else math.nan)
        )
    body = html_table(
        ["model", "words", "mean within-category cosine", "mean between-category cosine", "ratio"],
        rows,
    )
    return "Cosine heatmap of a word set", body, figs


def section_graph(ctx: ReportContext) -> SectionResult:
    figs, parts = [], []
    for s in ctx.models:
        words = category_words(s)
        g = cosine_graph(s, words)
        title = f"{s.name}: cosine graph (threshold {g.threshold:.3f})"
        png = plot.graph(g, seed=ctx.seed, title=title)
        edges = np.asarray(g.edges).reshape(-1, 2)
        figs.append(
            Fig(
                png,
                f"{s.name}: edges where cosine > median + std of the distinct off-diagonal cosines",
                interactive=plot.graph(g, seed=ctx.seed, title=title, interactive=True),
                data={
                    "source": [shown(s, words[i]) for i in edges[:, 0].tolist()],
                    "target": [shown(s, words[j]) for j in edges[:, 1].tolist()],
                    "cosine": np.asarray(g.weights, dtype=np.float64).tolist(),
                },
            )
        )
        top = [(shown(s, w), d) for w, d in g.degree_table(top=8)]
        parts.append(
            f"<div><h4>{esc(s.name)}</h4>"
            + paragraph(
                f"{g.n_nodes} nodes, {g.n_edges} edges, density {g.density:.3f}, threshold "
                f"{g.threshold:.4f}"
            )
            + html_table(["word", "degree"], top)
            + "</div>"
        )
    return "Cosine graph", '<div class="tables">' + "".join(parts) + "</div>", figs


def section_tsne(ctx: ReportContext) -> SectionResult:
    figs, parts = [], []
    eps_values = [0.5, 1, 1.5, 2, 3, 4, 5, 6]
    ms_values = [3, 4, 5, 6, 8]
    for s in ctx.models:
        words = select_tokens(s, contains="x", min_len=4, max_len=8, alphabetic=True, limit=300)
        what = "tokens with 'x'"
        if len(words) < 50:  # a small vocabulary: its most frequent words instead
            words = content_words(s, 300)
            what = "frequent whole-word tokens"
        perplexity = min(5.0, (len(words) - 1) / 3)
        P = tsne(s[words], perplexity=perplexity, seed=ctx.seed)
        sweep = dbscan_sweep(P, eps_values, ms_values)
        eps, ms = sweep.best()
        cl = dbscan(P, eps, ms)
        labels = [shown(s, w) for w in words]
        title = f"{s.name}: t-SNE of {len(words)} {what}, DBSCAN eps={eps:g}, min_samples={ms}"
        figs.append(
            Fig(
                plot.tsne_clusters(P, cl, labels, title=title),
                f"{s.name}: t-SNE (perplexity {perplexity:g}) coloured by DBSCAN cluster, noise "
                "in grey",
                interactive=plot.tsne_clusters(P, cl, labels, title=title, interactive=True),
                data={
                    "word": labels,
                    "x": P[:, 0].tolist(),
                    "y": P[:, 1].tolist(),
                    "cluster": np.asarray(cl.labels).tolist(),
                },
            )
        )
        figs.append(
            Fig(
                plot.dbscan_sweep(sweep, title=f"{s.name}: clusters per (eps, min_samples)"),
                f"{s.name}: DBSCAN sweep over the t-SNE map",
            )
        )
        members = cl.members(labels)
        big = sorted(((c, ws) for c, ws in members.items() if c >= 0), key=lambda cw: -len(cw[1]))[
            :8
        ]
        parts.append(
            html_table(
                ["cluster", "size", "members"],
                [(c, len(ws), " ".join(ws[:12])) for c, ws in big],
                caption=f"{s.name}: {len(words)} {what}; {cl.n_clusters} clusters, "
                f"{cl.n_noise} noise points (largest shown)",
            )
        )
    return "t-SNE and DBSCAN", "".join(parts), figs


def section_null(ctx: ReportContext) -> SectionResult:
    s = ctx.glove
    n = min(20000, len(s))
    words = s.vocab[:n]
    X = np.asarray(s.vectors[:n])
    spaces = {"real": EmbeddingSpace(X, words, name="real", check=False)}
    for k, how in enumerate(("rows", "columns", "elements")):
        spaces[f"{how} shuffled"] = shuffle(spaces["real"], how, seed=ctx.seed + k)
    seed = next(iter(present(spaces["real"], ["king"]) or _seeds(spaces["real"], 1)))
    knn_cols, spectra, cos_all = {}, {}, {}
    for label, sp in spaces.items():
        res = sp.knn([seed], k=8)
        knn_cols[label] = [f"{shown(s, str(w))} ({c:.3f})" for w, c in res[0]]
        spectra[label] = svd_spectrum(sp.vectors)
        cos_all[label] = np.delete(cosine_matrix(sp[[seed]], sp)[0], sp.index(seed))
    rows = list(zip(*knn_cols.values()))
    body = paragraph(f"{s.name}'s {n} most frequent entries against three shuffled copies.")
    body += html_table(list(knn_cols), rows, caption=f"nearest neighbours of {shown(s, seed)!r}")
    cats = [w for w in category_words(s) if s.index(w) < n]
    cat_ids = [s.index(w) for w in cats]
    stats = []
    for label, sp in spaces.items():
        C = cosine_matrix(sp.vectors[cat_ids])
        tri = C[np.triu_indices(len(cats), k=1)]
        stats.append(
            (
                label,
                float(tri.mean()),
                float(tri.std()),
                float(spectra[label][0] / spectra[label].sum()),
            )
        )
    body += html_table(
        ["matrix", "mean cosine (word set)", "std cosine (word set)", "top singular value share"],
        stats,
    )
    figs = [
        Fig(
            plot.spectrum(spectra, title="singular values: real vs shuffled", normalize=True),
            "scree plot of the mean-centred matrices",
        ),
        Fig(
            plot.projection_histogram(
                cos_all["real"],
                overlay={k: v for k, v in cos_all.items() if k != "real"},
                xlabel=f"cosine with {shown(s, seed)!r}",
                title=f"cosine of {shown(s, seed)!r} with {n - 1} words",
            ),
            "one-to-all cosine: real matrix (filled) vs shuffled copies (outlines)",
        ),
        Fig(
            plot.cosine_heatmap(
                cosine_matrix(spaces["elements shuffled"].vectors[cat_ids]),
                [shown(s, w) for w in cats],
                title="element-shuffled: cosine of the word set",
            ),
            "the category structure of the heatmap section disappears",
        ),
    ]
    return "Null model: shuffled embeddings", body, figs


def section_sequence(ctx: ReportContext) -> SectionResult:
    parts = [paragraph(f"Text: {TEXT}")]
    figs = []
    for s in ctx.models:
        seq = sequence_cosines(s, TEXT)
        tokens = [shown(s, t) for t in seq.tokens]
        figs.append(
            Fig(
                plot.sequence_cosines(
                    seq, title=f"{s.name}: cosine with the previous token (mean {seq.mean:.3f})"
                ),
                f"{s.name}: {len(seq.tokens)} tokens, special tokens removed",
                data={
                    "token": tokens[1:],
                    "cosine with previous": np.asarray(seq.cosines).tolist(),
                },
            )
        )
        seed = token_for(s, SEED_WORD) or next(
            (t for t in seq.tokens if len(word_of(s, t)) > 3 and t in s), None
        )
        parts.append(f"<h3>{esc(s.name)}</h3>")
        scores = ["norm", "prev"] + ([seed] if seed is not None else [])
        for score in scores:
            label = f"cosine with {shown(s, score)!r}" if score == seed else score
            parts.append(f"<p><small>coloured by {esc(label)}</small></p>")
            html = color_text(s, TEXT, score)
            parts.append(html._repr_html_() if hasattr(html, "_repr_html_") else str(html))
    return "Token sequences and coloured text", "".join(parts), figs


def section_analogies(ctx: ReportContext) -> SectionResult:
    try:
        from gensim.test.utils import datapath  # the Google analogy set ships with gensim
    except ImportError as e:
        raise ModuleNotFoundError(
            "the Google analogy set comes with gensim: pip install 'tokenspace[models]'"
        ) from e

    parts = []
    queries = [
        (["king", "woman"], ["man"]),
        (["paris", "italy"], ["france"]),
        (["walking", "swam"], ["swimming"]),
    ]
    for s in ctx.models:
        rows = []
        for pos, neg in queries:
            tp, tn = present(s, pos), present(s, neg)
            if len(tp) < len(pos) or len(tn) < len(neg):
                continue
            for method in ("3cosadd", "3cosmul"):
                res = s.most_similar(positive=tp, negative=tn, topn=3, method=method)
                answers = ", ".join(f"{shown(s, w)} ({float(c):.3f})" for w, c in res)
                rows.append((f"{' + '.join(pos)} - {' - '.join(neg)}", method, answers))
        if rows:
            parts.append(html_table(["query", "method", "top 3"], rows, caption=s.name))
        else:
            parts.append(paragraph(f"{s.name} has none of the example queries' words."))
    g = ctx.glove
    ev = evaluate_analogies(g, datapath("questions-words.txt"), restrict_vocab=30000)
    parts.append(
        f"<h3>Google analogy set, {esc(g.name)}, 30k vocabulary: accuracy "
        f"{float(ev.accuracy):.4f}</h3>"
    )
    parts.append(
        html_table(
            ["section", "correct", "incorrect", "accuracy"],
            [(x.name, x.correct, x.incorrect, x.accuracy) for x in ev.sections],
        )
    )
    # Each model scored on the questions both cover (MiniLM misses many), paired by McNemar.
    cmp = compare_models(
        {(s.name or f"model {i}"): s for i, s in enumerate((ctx.glove, ctx.minilm))},
        datapath("questions-words.txt"),
        restrict_vocab=30000,
    )
    (mc,) = cmp.tests
    parts.append(
        f"<h3>Both models on the {cmp.n_shared} of {cmp.n_items} questions both cover</h3>"
    )
    parts.append(
        html_table(
            ["model", "accuracy (shared)", "accuracy (own coverage)", "questions covered"],
            list(zip(cmp.models, cmp.scores, cmp.own_scores, cmp.coverage)),
        )
    )
    parts.append(
        paragraph(
            f"McNemar's exact test on the shared questions: {mc.n_a_only} answered only by "
            f"{mc.a}, {mc.n_b_only} only by {mc.b}; "
            + ("p < 1e-16." if mc.p_value < 1e-16 else f"p = {mc.p_value:.3g}.")
        )
    )
    return "Analogies", "".join(parts), []


def section_rsa(ctx: ReportContext) -> SectionResult:
    g, m = ctx.glove, ctx.minilm
    everything = shared_pairs(m, g, [word_of(m, t) for t in m.vocab])
    if len(everything) < 3:
        raise ValueError(f"{g.name} and {m.name} share {len(everything)} words; RSA needs 3")
    ta, tb = [b for _, b in everything], [a for a, _ in everything]
    res = rsa(g[ta], m[tb], permutations=100, seed=ctx.seed)
    null = np.asarray(res.null)
    body = html_table(
        ["items", "pairs", "Pearson r", "cosine of the triangles", "permutation p"],
        [
            (
                res.n_items,
                res.n_pairs,
                float(res.r),
                float(res.cosine_of_triangles),
                f"{res.p_value:.3g}",
            )
        ],
        caption=f"RSA of {g.name} and {m.name} over every word both have",
    )
    body += paragraph(
        f"Permutation test over all {res.n_items} shared words ({m.name}'s words permuted, "
        f"{null.size} permutations): p = {res.p_value:.3g}; the null's 99th percentile "
        f"is {float(np.quantile(null, 0.99)):.4f}."
    )
    # the first model's frequency order: a subword vocabulary's id order starts with characters
    pairs = shared_pairs(g, m, [w for w in g.vocab[:50000] if w.isalpha()])[:1000]
    wa, wb = [a for a, _ in pairs], [b for _, b in pairs]
    Cg, Cm = cosine_matrix(g[wa]), cosine_matrix(m[wb])
    r = rsa(g[wa], m[wb], method="pearson", permutations=1000, bootstrap=200, seed=ctx.seed)
    lo, hi = r.ci or (math.nan, math.nan)
    body += paragraph(
        f"Pearson RSA over the {len(pairs)} most frequent shared alphabetic words: "
        f"{float(r):.4f}, {100 * (r.confidence or 0):g}% bootstrap interval over words "
        f"[{lo:.4f}, {hi:.4f}] ({np.asarray(r.boot).size} samples), permutation p = "
        f"{r.p_value:.3g} ({np.asarray(r.null).size} permutations)."
    )
    labels = (g.name or "model A", m.name or "model B")
    names = [word_of(g, w) for w in wa]
    iu, ju = np.triu_indices(len(names), k=1)
    sample = np.random.default_rng(ctx.seed).choice(iu.size, min(iu.size, 20000), replace=False)
    figs = [
        Fig(
            plot.rsa_scatter(Cg, Cm, labels=labels),
            f"cosine of each pair of {len(pairs)} shared words in both models",
            interactive=plot.rsa_scatter(Cg, Cm, labels=labels, words=names, interactive=True),
            data={
                "word a": [names[i] for i in iu[sample].tolist()],
                "word b": [names[j] for j in ju[sample].tolist()],
                f"cosine {labels[0]}": Cg[iu[sample], ju[sample]].tolist(),
                f"cosine {labels[1]}": Cm[iu[sample], ju[sample]].tolist(),
            },
        )
    ]
    return f"RSA: {g.name} vs {m.name}", body, figs


SVD_GROUPS = {
    "digits": [str(i) for i in range(10)],
    "EU countries": [
        "france",
        "germany",
        "italy",
        "spain",
        "portugal",
        "austria",
        "belgium",
        "netherlands",
        "sweden",
        "poland",
    ],
    "letters": [chr(c) for c in range(ord("a"), ord("z") + 1)],
}


def section_svd(ctx: ReportContext) -> SectionResult:
    s = ctx.minilm
    rng = np.random.default_rng(ctx.seed)
    groups = {label: present(s, words) for label, words in SVD_GROUPS.items()}
    groups = {k: v for k, v in groups.items() if len(v) >= 3}
    if not groups:  # a small vocabulary: its most frequent words as the one group
        groups = {"frequent words": content_words(s, 10)}
    spectra, parts, figs = {}, [], []
    for label, words in groups.items():
        spectra[f"{label} ({len(words)})"] = svd_spectrum(s[words], center=True)
    size = max(len(w) for w in groups.values())
    alpha = np.flatnonzero([word_of(s, w).isalpha() for w in s.vocab])  # no [unused*] rows
    sample = rng.choice(alpha, min(size, alpha.size), replace=False)
    spectra[f"random {sample.size} tokens"] = svd_spectrum(s.vectors[sample], center=True)
    figs.append(
        Fig(
            plot.spectrum(spectra, normalize=True, title=f"{s.name}: spectra of token groups"),
            f"{s.name}: singular values of mean-centred groups vs a random submatrix",
            data={
                "component": list(range(1, max(v.size for v in spectra.values()) + 1)),
                **{
                    k: [float(x) for x in v] + [math.nan] * (size - v.size)
                    for k, v in spectra.items()
                },
            },
        )
    )
    label = (
        "EU countries" if "EU countries" in groups else max(groups, key=lambda k: len(groups[k]))
    )
    words = groups[label]
    G = np.asarray(s[words], dtype=np.float64)
    mu = G.mean(axis=0)
    axis = np.linalg.svd(G - mu, full_matrices=False)[2][0]
    proj = np.asarray(project(s, axis.astype(np.float32), center=mu.astype(np.float32)))
    order = np.argsort(proj, kind="stable")
    inside = set(words)
    top = [i for i in order[::-1].tolist() if s.vocab[i] not in inside][:10]
    bottom = [i for i in order.tolist() if s.vocab[i] not in inside][:10]
    parts.append(
        html_table(
            ["rank", "top word", "projection", "bottom word", "projection"],
            [
                (r + 1, shown(s, s.vocab[i]), float(proj[i]), shown(s, s.vocab[j]), float(proj[j]))
                for r, (i, j) in enumerate(zip(top, bottom))
            ],
            caption=f"{s.name}: every entry projected on the first singular vector of the "
            f"{label!r} group ({len(words)} words: {', '.join(shown(s, w) for w in words)})",
        )
    )
    display = [shown(s, w) for w in s.vocab]
    title = f"{s.name}: projection on the first singular vector of {label!r}"
    figs.append(
        Fig(
            plot.projection_histogram(
                proj, words=display, extremes=8, clip=(0.001, 0.999), title=title
            ),
            f"{s.name}: projection of every vocabulary entry; the extremes listed, the range "
            "clipped to the 0.1% and 99.9% quantiles",
            interactive=plot.projection_histogram(
                proj, words=display, extremes=15, clip=(0.001, 0.999), title=title, interactive=True
            ),
            data={"token": display, "projection": proj.astype(np.float64).tolist()},
        )
    )
    return "SVD spectra and projections", "".join(parts), figs


def section_translation(ctx: ReportContext) -> SectionResult:
    g, m = ctx.glove, ctx.minilm
    # CSLS needs every candidate source's neighbourhood: the 30k most frequent source words keep
    # it to seconds (the whole 400k vocabulary took minutes here; inverted softmax even more).
    vocab = min(30000, len(g))
    words = [word_of(m, t) for t in m.vocab]
    pairs = [(a, b) for a, b in shared_pairs(g, m, words) if a.isalpha() and len(a) > 2]
    pairs = list(dict.fromkeys(pairs))
    rng = np.random.default_rng(ctx.seed)
    rng.shuffle(pairs)
    n_test = min(1000, len(pairs) // 5)
    test = [p for p in pairs if g.index(p[0]) < vocab][:n_test]
    held = set(test)
    train = [p for p in pairs if p not in held]
    if len(train) < 10 or not test:
        raise ValueError(f"{g.name} and {m.name} share only {len(pairs)} words; need 20 or more")
    al = align(g, m, anchors=train)
    rows = []
    for retrieval in ("nn", "csls"):
        res = translation_accuracy(
            g, m, test, al, retrieval=retrieval, ks=(1, 5, 10), source_vocab=vocab
        )
        rows.append([retrieval] + [float(res.precision[k]) for k in (1, 5, 10)])
    body = paragraph(
        f"{g.name} -> {m.name} orthogonal map fitted on {len(train)} shared words (identical "
        f"strings as anchors); precision@k on {len(test)} held-out shared words, retrieving among "
        f"{m.name}'s whole vocabulary (CSLS statistics over {g.name}'s {vocab} most frequent "
        "entries)."
    )
    body += html_table(["retrieval", "P@1", "P@5", "P@10"], rows)
    sample = test[:10]
    tr = translate(g, m, [a for a, _ in sample], al, k=3, retrieval="csls", source_vocab=vocab)
    cells = []
    n_correct = 0
    for (a, b), cands in zip(sample, tr.words):
        hit = b in cands
        n_correct += cands[:1] == [b]
        shown_c = ", ".join(
            f"<b>✓ {esc(shown(m, c))}</b>" if c == b else esc(shown(m, c)) for c in cands
        )
        cells.append(
            f"<tr><td>{esc(a)}</td><td>{esc(shown(m, b))}</td><td>{shown_c}</td>"
            f"<td>{'✓' if cands[:1] == [b] else ('top 3' if hit else '✗')}</td></tr>"
        )
    body += (
        f"<table class='translations'><caption>CSLS translations of {len(sample)} held-out "
        f"words: {n_correct} correct at rank 1 (the correct answer is marked ✓)</caption>"
        f"<thead><tr><th>{esc(g.name)} word</th><th>expected</th><th>{esc(m.name)} top 3 "
        "(CSLS)</th><th>correct</th></tr></thead><tbody>" + "".join(cells) + "</tbody></table>"
    )
    return f"Translation {g.name} -> {m.name}", body, []


def section_contextual(ctx: ReportContext) -> SectionResult:
    from gensim.test.utils import datapath  # lee_background.cor ships with gensim

    from ..analysis.contextual import contextuality, split_sentences, static_vs_contextual

    m = ctx.minilm
    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        sentences = [x for doc in f.read().splitlines() for x in split_sentences(doc)][:250]
    res = contextuality(m, sentences, seed=ctx.seed)
    df = res.to_pandas()
    body = paragraph(
        f"How contextual are {m.name}'s hidden states (Ethayarajh 2019)? Over the first "
        f"{len(sentences)} sentences of gensim's lee_background.cor, for the "
        f"{len(res.self_similarity.words)} words with at least 5 occurrences: self-similarity "
        "(mean cosine of a word with itself across contexts), intra-sentence similarity (mean "
        "cosine of a sentence's words with the sentence mean), maximum explainable variance (the "
        "first principal component's share of a word's occurrences) and the anisotropy baseline "
        "(mean cosine of random pairs of words from different sentences); adjusted = measure - "
        "baseline. Hidden state 0 is the input embeddings (plus position and segment)."
    )
    body += html_table(list(df.columns), df.itertuples(index=False))
    figs = [
        (
            res.plot(adjusted=True),
            f"{m.name}: contextuality per hidden state, adjusted for anisotropy",
        )
    ]
    word = "bank"
    uses = [
        "She deposited the money at the bank on Monday.",
        "The bank raised its interest rates again.",
        "They walked along the river bank at sunset.",
        "Fish gathered near the muddy bank of the stream.",
    ]
    one = static_vs_contextual(m, word, uses, layers=[0, 2, 4, 6], k=5)
    body += f"<h3>One word, static vs contextual: {esc(word)!s}</h3>"
    body += html_table(
        ["#", "sentence"] + [f"cosine to static, layer {x}" for x in one.layers],
        [(i, u, *one.static_cosine[:, i]) for i, u in enumerate(uses)],
        caption=f"cosine of each contextual {word!r} with its input-embedding vector",
    )
    last = len(one.layers) - 1
    body += html_table(
        ["#"] + [f"static neighbours, layer {x}" for x in one.layers],
        [
            (i, *(", ".join(one.neighbors[k][i]) for k in range(len(one.layers))))
            for i in range(len(uses))
        ],
        caption="nearest input-embedding entries of each contextual vector",
    )
    senses = ["money", "money", "river", "river"]
    figs.append(
        (
            plot.cosine_heatmap(
                one.cosines[last],
                [f"{i}: {sense}" for i, sense in enumerate(senses)],
                title=f"{word!r}, layer {one.layers[last]}",
                vmin=0.0,
            ),
            f"cosines between the contextual vectors of {word!r} in the last layer: sentences "
            "0-1 use the money sense, 2-3 the river sense",
        )
    )
    return "Static vs contextual", body, figs


SECTIONS: list[Section] = [
    Section(
        "overview",
        "Models",
        section_overview,
        "The two models: vocabulary size, dimension, token style (word-level, WordPiece '##', "
        "byte-level BPE 'Ġ') and the spread of the vector norms. Zero rows are entries with no "
        "vector (padding, unused ids); they never appear as neighbours.",
    ),
    Section(
        "knn",
        "Nearest neighbours",
        section_knn,
        "Each column lists a word's nearest vocabulary entries by cosine, best first. Good "
        "neighbours share meaning or role (king: prince, queen); subword models also return "
        "spelling variants. The histogram shows how similar one word is to every entry: most "
        "of the vocabulary sits near zero and only a thin right tail counts as 'near'.",
    ),
    Section(
        "heatmap",
        "Cosine heatmap of a word set",
        section_heatmap,
        "Cosines among 20 words of four categories. Red blocks on the diagonal mean the model "
        "groups the categories; the table sums this up as the mean cosine within and between "
        "categories (a ratio well above 1 is good).",
    ),
    Section(
        "graph",
        "Cosine graph",
        section_graph,
        "The same words as a graph: an edge where the cosine exceeds the median + one standard "
        "deviation of all distinct pairs. Categories should form separate clusters; hubs (high "
        "degree) are words close to many others. Hover the interactive graph for edge cosines.",
    ),
    Section(
        "tsne",
        "t-SNE and DBSCAN",
        section_tsne,
        "A 2-D t-SNE map of a token set (tokens with 'x' of 4-8 letters, or a small model's "
        "frequent words), clustered by DBSCAN at the sweep's setting with the most clusters "
        "that leaves at most a quarter of the points as noise. t-SNE keeps neighbourhoods, "
        "not distances: read clusters, not the gaps between them.",
    ),
    Section(
        "null",
        "Null model: shuffled embeddings",
        section_null,
        "The first model's most frequent words against shuffled copies. Shuffling rows keeps "
        "every vector (same spectrum and cosine distribution) but gives words the wrong "
        "vectors; shuffling columns or elements destroys the correlations between dimensions. "
        "What survives the shuffles is not meaning.",
    ),
    Section(
        "sequence",
        "Token sequences and coloured text",
        section_sequence,
        "A text split by each model's tokenizer: the cosine of each token with the previous "
        "one, and the text coloured by the norm of each token, by that cosine, and by the "
        "cosine with a seed word (hover a token for its value).",
    ),
    Section(
        "analogies",
        "Analogies",
        section_analogies,
        "Vector arithmetic (king - man + woman) with 3CosAdd and 3CosMul, the input words "
        "excluded, and the first model's accuracy on the Google analogy set per section, over "
        "its 30000 most frequent words.",
    ),
    Section(
        "rsa",
        "RSA between the two models",
        section_rsa,
        "Representational similarity analysis: do the two models find the same pairs of words "
        "similar? Each point of the scatter is a pair of shared words, its cosine in one model "
        "against the other; the Pearson correlation of all pairs is the RSA score (1: the "
        "same geometry, 0: unrelated).",
    ),
    Section(
        "svd",
        "SVD spectra and projections",
        section_svd,
        "Singular values of mean-centred word groups against a random group of the same size: "
        "a group with a shared direction has a steep first value. The whole vocabulary is then "
        "projected on that first direction: the table lists the entries at both ends with their "
        "scores; the histogram's range is clipped to the 0.1-99.9% quantiles and lists the "
        "extremes.",
    ),
    Section(
        "translation",
        "Translation between the two models",
        section_translation,
        "An orthogonal map (Procrustes) from the first model onto the second, fitted on shared "
        "words, then scored on held-out words: precision@k is the share whose own word is "
        "among the k retrieved. CSLS corrects for hubs (entries near everything). Correct "
        "answers are marked ✓.",
    ),
    Section(
        "contextual",
        "Static vs contextual",
        section_contextual,
        "How much a contextual model's vectors depend on the sentence, layer by layer "
        "(Ethayarajh 2019): self-similarity near 1 means a word keeps one vector whatever its "
        "context; low values mean the context reshapes it. Each measure is shown raw and "
        "adjusted by the anisotropy baseline (random pairs are already similar in these "
        "spaces). Below, one word in sentences of two senses: its contextual vectors against "
        "its static input embedding and each other.",
    ),
]
