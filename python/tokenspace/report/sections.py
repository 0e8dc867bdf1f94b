"""The report's sections and their order.

A section is a function taking the shared :class:`~.context.ReportContext` and returning
``(title, html, figures)``, where ``figures`` is a list of ``(matplotlib Figure, caption)``.
To add one: write ``def section_x(ctx)`` and put a :class:`Section` for it in :data:`SECTIONS`.
Sections call the analysis and alignment modules; they render results, never recompute them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from .. import plot
from .._kernels import num_threads, simd_level
from ..alignment.procrustes import align
from ..alignment.translate import translate, translation_accuracy
from ..analysis.axes import project
from ..analysis.cluster import dbscan, dbscan_sweep, select_tokens, tsne
from ..analysis.evaluate import evaluate_analogies
from ..analysis.graph import cosine_graph
from ..analysis.null import shuffle
from ..analysis.rsa import rsa, rsa_models
from ..analysis.sequences import color_text, sequence_cosines
from ..analysis.spectral import svd_spectrum
from ..similarity import cosine_matrix
from ..space import EmbeddingSpace
from .context import (
    CATEGORIES,
    KNN_SEEDS,
    SEED_WORD,
    TEXT,
    ReportContext,
    category_words,
    present,
)
from .html import esc, html_table, paragraph, render_result

#: ``(title, html, [(figure, caption), ...])``
SectionResult = tuple[str, str, list[tuple[Any, str]]]


@dataclass(frozen=True)
class Section:
    """One report section: ``fn(ctx) -> (title, html, [(figure, caption), ...])``."""

    key: str
    title: str
    fn: Callable[[ReportContext], SectionResult]


def _version() -> str:
    try:
        return version("tokenspace")
    except PackageNotFoundError:  # running from a source tree
        return "0.0.0+dev"


def section_overview(ctx: ReportContext) -> SectionResult:
    rows = []
    for s in ctx.models:
        n = s.norms
        rows.append(
            (
                s.name,
                len(s),
                s.dim,
                float(n.min()),
                float(np.median(n)),
                float(n.max()),
                int((n == 0).sum()),
            )
        )
    body = html_table(
        ["model", "vocabulary", "dim", "min norm", "median norm", "max norm", "zero rows"], rows
    )
    body += paragraph(
        f"tokenspace {_version()}, SIMD level {simd_level()}, {num_threads()} kernel "
        f"threads, seed {ctx.seed}."
    )
    return "Models", body, []


def section_knn(ctx: ReportContext) -> SectionResult:
    parts, figs = [], []
    for s in ctx.models:
        seeds = present(s, KNN_SEEDS)
        res = s.knn(seeds, k=8)
        found = [res[i] for i in range(len(seeds))]  # (word, cosine) per seed
        rows = [
            [f"{found[i][r][0]} ({found[i][r][1]:.3f})" for i in range(len(seeds))]
            for r in range(8)
        ]
        parts.append(html_table(seeds, rows, caption=f"{s.name}: 8 nearest neighbours by cosine"))
        seed = seeds[0]
        cos = cosine_matrix(s[[seed]], s)[0]
        top = [s.vocab[j] for j in res.indices[0, :3].tolist()]
        marks = {w: float(cos[s.index(w)]) for w in top}
        figs.append(
            (
                plot.projection_histogram(
                    cos,
                    bins=120,
                    marks=marks,
                    xlabel=f"cosine with {seed!r}",
                    title=f"{s.name}: cosine of {seed!r} with all {len(s)} entries",
                ),
                f"{s.name}: one-to-all cosine distribution of {seed!r}; its top neighbours marked",
            )
        )
    return "Nearest neighbours", "".join(parts), figs


def section_heatmap(ctx: ReportContext) -> SectionResult:
    figs, rows = [], []
    for s in ctx.models:
        words = category_words(s)
        C = cosine_matrix(s[words])
        figs.append(
            (
                plot.cosine_heatmap(C, words, title=f"{s.name}: cosine of 4 categories"),
                f"{s.name}: cosine matrix of {len(words)} words in 4 categories",
            )
        )
        cat = np.array([c for c, ws in CATEGORIES.items() for w in ws if w in s])
        same = cat[:, None] == cat[None, :]
        off = ~np.eye(len(words), dtype=bool)
        within = float(C[same & off].mean())
        between = float(C[~same].mean())
        rows.append((s.name, within, between, within / between if between else math.nan))
    body = paragraph(
        "Words of the same category should be more similar to each other than to the rest."
    )
    body += html_table(
        ["model", "mean within-category cosine", "mean between-category cosine", "ratio"], rows
    )
    return "Cosine heatmap of a word set", body, figs


def section_graph(ctx: ReportContext) -> SectionResult:
    figs, parts = [], []
    for s in ctx.models:
        words = category_words(s)
        g = cosine_graph(s, words)
        figs.append(
            (
                plot.graph(
                    g, seed=ctx.seed, title=f"{s.name}: cosine graph (threshold {g.threshold:.3f})"
                ),
                f"{s.name}: edges where cosine > median + std of the distinct off-diagonal cosines",
            )
        )
        top = g.degree_table(top=8)
        parts.append(
            f"<div><h4>{esc(s.name)}</h4>"
            + paragraph(
                f"{g.n_nodes} nodes, {g.n_edges} edges, density {g.density:.3f}, threshold "
                f"{g.threshold:.4f}"
            )
            + html_table(["word", "degree"], top)
            + "</div>"
        )
    intro = paragraph(
        "The word set of the heatmap section as a graph: an edge where the cosine exceeds the "
        "median + standard deviation of the distinct off-diagonal cosines."
    )
    return "Cosine graph", intro + '<div class="tables">' + "".join(parts) + "</div>", figs


def section_tsne(ctx: ReportContext) -> SectionResult:
    figs, parts = [], []
    eps_values = [0.5, 1, 1.5, 2, 3, 4, 5, 6]
    ms_values = [3, 4, 5, 6, 8]
    for s in ctx.models:
        words = select_tokens(s, contains="x", min_len=4, max_len=8, alphabetic=True, limit=300)
        P = tsne(s[words], perplexity=5, seed=ctx.seed)
        sweep = dbscan_sweep(P, eps_values, ms_values)
        eps, ms = sweep.best()
        cl = dbscan(P, eps, ms)
        figs.append(
            (
                plot.tsne_clusters(
                    P,
                    cl,
                    words,
                    title=f"{s.name}: t-SNE of {len(words)} tokens "
                    f"with 'x', DBSCAN eps={eps:g}, min_samples={ms}",
                ),
                f"{s.name}: t-SNE (perplexity 5) coloured by DBSCAN cluster, noise in grey",
            )
        )
        figs.append(
            (
                plot.dbscan_sweep(sweep, title=f"{s.name}: clusters per (eps, min_samples)"),
                f"{s.name}: DBSCAN sweep over the t-SNE map",
            )
        )
        members = cl.members(words)
        big = sorted(((c, ws) for c, ws in members.items() if c >= 0), key=lambda cw: -len(cw[1]))[
            :8
        ]
        parts.append(
            html_table(
                ["cluster", "size", "members"],
                [(c, len(ws), " ".join(ws[:12])) for c, ws in big],
                caption=f"{s.name}: {cl.n_clusters} clusters, {cl.n_noise} noise points (largest shown)",
            )
        )
    intro = paragraph(
        "Tokens containing 'x' with 4-8 letters (the first 300 in vocabulary order), mapped with "
        "t-SNE (perplexity 5) and clustered with DBSCAN at the sweep's (eps, min_samples) with "
        "the most clusters among the settings that leave at most a quarter of the points as "
        "noise."
    )
    return "t-SNE and DBSCAN", intro + "".join(parts), figs


def section_null(ctx: ReportContext) -> SectionResult:
    s = ctx.glove
    n = min(20000, len(s))
    words = s.vocab[:n]
    X = np.asarray(s.vectors[:n])
    spaces = {"real": EmbeddingSpace(X, words, name="real", check=False)}
    for k, how in enumerate(("rows", "columns", "elements")):
        spaces[f"{how} shuffled"] = shuffle(spaces["real"], how, seed=ctx.seed + k)
    seed = "king"
    knn_cols, spectra, cos_all = {}, {}, {}
    for label, sp in spaces.items():
        res = sp.knn([seed], k=8)
        knn_cols[label] = [f"{w} ({c:.3f})" for w, c in res[0]]
        spectra[label] = svd_spectrum(sp.vectors)
        cos_all[label] = np.delete(cosine_matrix(sp[[seed]], sp)[0], sp.index(seed))
    rows = list(zip(*knn_cols.values()))
    body = paragraph(
        f"GloVe's {n} most frequent words against three shuffled copies. Row shuffling keeps every "
        "vector (same spectrum, same cosine distribution) but gives words the wrong vectors; "
        "column and element shuffling destroy the correlations between dimensions."
    )
    body += html_table(list(knn_cols), rows, caption=f"nearest neighbours of {seed!r}")
    cats = category_words(s)
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
        (
            plot.spectrum(spectra, title="singular values: real vs shuffled", normalize=True),
            "scree plot of the mean-centred matrices",
        ),
        (
            plot.projection_histogram(
                cos_all["real"],
                overlay={k: v for k, v in cos_all.items() if k != "real"},
                xlabel=f"cosine with {seed!r}",
                title=f"cosine of {seed!r} with {n - 1} words",
            ),
            "one-to-all cosine: real matrix (filled) vs shuffled copies (outlines)",
        ),
        (
            plot.cosine_heatmap(
                cosine_matrix(spaces["elements shuffled"].vectors[cat_ids]),
                cats,
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
        figs.append(
            (
                plot.sequence_cosines(
                    seq, title=f"{s.name}: cosine with the previous token (mean {seq.mean:.3f})"
                ),
                f"{s.name}: {len(seq.tokens)} tokens, special tokens removed",
            )
        )
        parts.append(f"<h3>{esc(s.name)}</h3>")
        for score in ("norm", "prev", SEED_WORD):
            parts.append(color_text(s, TEXT, score))
    return "Token sequences and coloured text", "".join(parts), figs


def section_analogies(ctx: ReportContext) -> SectionResult:
    from gensim.test.utils import datapath  # the Google analogy set ships with gensim

    parts = []
    queries = [
        (["king", "woman"], ["man"]),
        (["paris", "italy"], ["france"]),
        (["walking", "swam"], ["swimming"]),
    ]
    for s in ctx.models:
        rows = []
        for pos, neg in queries:
            if not all(w in s for w in pos + neg):
                continue
            for method in ("3cosadd", "3cosmul"):
                res = s.most_similar(positive=pos, negative=neg, topn=3, method=method)
                answers = ", ".join(f"{w} ({float(c):.3f})" for w, c in res)
                rows.append((f"{' + '.join(pos)} - {' - '.join(neg)}", method, answers))
        parts.append(html_table(["query", "method", "top 3"], rows, caption=s.name))
    ev = evaluate_analogies(ctx.glove, datapath("questions-words.txt"), restrict_vocab=30000)
    parts.append(
        f"<h3>Google analogy set, {esc(ctx.glove.name)}, 30k vocabulary: accuracy "
        f"{float(ev.accuracy):.4f}</h3>"
    )
    parts.append(
        html_table(
            ["section", "correct", "incorrect", "accuracy"],
            [(x.name, x.correct, x.incorrect, x.accuracy) for x in ev.sections],
        )
    )
    return "Analogies", "".join(parts), []


def section_rsa(ctx: ReportContext) -> SectionResult:
    g, m = ctx.glove, ctx.minilm
    res = rsa_models(g, m)
    body = paragraph("RSA between GloVe and MiniLM on the words both vocabularies contain.")
    body += render_result(res)
    # GloVe's frequency order: MiniLM's id order starts with single characters and scripts
    shared = [w for w in g.vocab[:50000] if w.isalpha() and w in m][:1000]
    Cg, Cm = cosine_matrix(g[shared]), cosine_matrix(m[shared])
    r = rsa(g[shared], m[shared], method="pearson")
    body += paragraph(
        f"Pearson RSA over the {len(shared)} most frequent shared alphabetic words: {float(r):.4f}"
    )
    figs = [
        (
            plot.rsa_scatter(Cg, Cm, labels=(g.name or "model A", m.name or "model B")),
            f"cosine of each pair of {len(shared)} shared words in both models",
        )
    ]
    return "RSA: GloVe vs MiniLM", body, figs


def section_svd(ctx: ReportContext) -> SectionResult:
    s = ctx.minilm
    groups = {
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
    rng = np.random.default_rng(ctx.seed)
    spectra, parts, figs = {}, [], []
    for label, words in groups.items():
        words = present(s, words)
        spectra[label] = svd_spectrum(s[words], center=True)
    alpha = np.flatnonzero([w.isalpha() for w in s.vocab])  # not [unused*] placeholder rows
    sample = rng.choice(alpha, 26, replace=False)
    spectra["random 26 words"] = svd_spectrum(s.vectors[sample], center=True)
    figs.append(
        (
            plot.spectrum(spectra, normalize=True, title=f"{s.name}: spectra of token groups"),
            "singular values of mean-centred groups vs a random submatrix",
        )
    )
    words = present(s, groups["EU countries"])
    G = np.asarray(s[words], dtype=np.float64)
    mu = G.mean(axis=0)
    axis = np.linalg.svd(G - mu, full_matrices=False)[2][0]
    proj = np.asarray(project(s, axis.astype(np.float32), center=mu.astype(np.float32)))
    order = np.argsort(proj)
    inside = set(words)
    top = [s.vocab[i] for i in order[::-1] if s.vocab[i] not in inside][:10]
    bottom = [s.vocab[i] for i in order if s.vocab[i] not in inside][:10]
    parts.append(
        html_table(
            ["top", "bottom"],
            list(zip(top, bottom)),
            caption="whole vocabulary on the EU countries' first singular vector",
        )
    )
    figs.append(
        (
            plot.projection_histogram(proj, title=f"{s.name}: projection on the countries' axis"),
            "projection of every vocabulary entry",
        )
    )
    return "SVD spectra and projections", "".join(parts), figs


def section_translation(ctx: ReportContext) -> SectionResult:
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
    al = align(g, m, anchors=[(w, w) for w in train])
    rows = []
    for retrieval in ("nn", "csls"):
        res = translation_accuracy(
            g, m, [(w, w) for w in test], al, retrieval=retrieval, ks=(1, 5, 10), source_vocab=vocab
        )
        rows.append([retrieval] + [float(res.precision[k]) for k in (1, 5, 10)])
    body = paragraph(
        f"GloVe -> MiniLM orthogonal map fitted on {len(train)} shared words (identical strings "
        f"as anchors); precision@k on {len(test)} held-out shared words, retrieving among "
        f"MiniLM's whole vocabulary (CSLS statistics over GloVe's {vocab} most frequent words)."
    )
    body += html_table(["retrieval", "P@1", "P@5", "P@10"], rows)
    sample = test[:8]
    tr = translate(g, m, sample, al, k=3, retrieval="csls", source_vocab=vocab)
    body += html_table(
        ["GloVe word", "MiniLM top 3 (CSLS)"],
        [(w, ", ".join(ws)) for w, ws in zip(sample, tr.words)],
    )
    return "Translation GloVe -> MiniLM", body, []


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
    Section("overview", "Models", section_overview),
    Section("knn", "Nearest neighbours", section_knn),
    Section("heatmap", "Cosine heatmap of a word set", section_heatmap),
    Section("graph", "Cosine graph", section_graph),
    Section("tsne", "t-SNE and DBSCAN", section_tsne),
    Section("null", "Null model: shuffled embeddings", section_null),
    Section("sequence", "Token sequences and coloured text", section_sequence),
    Section("analogies", "Analogies", section_analogies),
    Section("rsa", "RSA: GloVe vs MiniLM", section_rsa),
    Section("svd", "SVD spectra and projections", section_svd),
    Section("translation", "Translation GloVe -> MiniLM", section_translation),
    Section("contextual", "Static vs contextual", section_contextual),
]
