"""Figures for the course's analyses (matplotlib, imported only when a plot is made).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so no global
backend or figure state is touched (no ``plt.show()``, no leaked figures in long runs); save it
with ``fig.savefig("x.png")`` or let Jupyter display it. ``pip install 'tokenspace[viz]'``.

>>> import tokenspace as ts                                             # doctest: +SKIP
>>> fig = ts.plot.cosine_heatmap(ts.cosine_matrix(s[words]), words)     # doctest: +SKIP
>>> fig.savefig("heatmap.png")                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _figure(width: float = 6.4, height: float = 4.8):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - environment dependent
        raise ModuleNotFoundError(
            "plots need matplotlib: pip install matplotlib (or pip install 'tokenspace[viz]')"
        ) from e
    return Figure(figsize=(width, height), layout="constrained")


def cosine_heatmap(
    C: Any,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    vmin: float = -1.0,
    vmax: float = 1.0,
    annotate: bool | None = None,
    cmap: str = "RdBu_r",
):
    """Heatmap of a cosine (or any similarity) matrix.

    Parameters
    ----------
    C : array_like (n, m)
    labels : sequence of str, optional
        Row labels (and column labels when the matrix is square).
    annotate : bool, optional
        Write the values in the cells; default: only when n, m <= 12.
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2 or C.size == 0:
        raise ValueError(f"C must be a non-empty 2-D matrix, got shape {C.shape}")
    n, m = C.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a matrix with {n} rows")
    size = min(12.0, 2.5 + 0.2 * max(n, m))
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    im = ax.imshow(C, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
    if labels is not None and n <= 80:
        ax.set_yticks(range(n), labels, fontsize=8)
        if n == m:
            ax.set_xticks(range(m), labels, fontsize=8, rotation=90)
    if annotate is None:
        annotate = max(n, m) <= 12
    if annotate:
        for i in range(n):
            for j in range(m):
                ax.text(
                    j,
                    i,
                    f"{C[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(C[i, j]) > 0.6 * max(abs(vmin), abs(vmax)) else "black",
                )
    ax.set_title(title or "cosine similarity")
    return fig


def spectrum(
    spectra: Any,
    *,
    title: str | None = None,
    normalize: bool = False,
    log: bool = False,
    ylabel: str = "singular value",
):
    """Scree plot of one or several spectra (e.g. real vs random submatrix).

    Parameters
    ----------
    spectra : array_like (k,) or mapping label -> array_like
        Singular values (any order; plotted in decreasing order).
    normalize : bool, default False
        Divide each spectrum by its sum (fraction of the total).
    log : bool, default False
        Logarithmic y axis.
    """
    if not isinstance(spectra, Mapping):
        spectra = {"": spectra}
    if not spectra:
        raise ValueError("no spectrum given")
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    # Distinct markers and dashes: identical spectra (e.g. a row-shuffled null model) would
    # otherwise hide each other.
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("v", "-."), ("D", "-")]
    for k, (label, sv) in enumerate(spectra.items()):
        sv = np.sort(np.asarray(sv, dtype=np.float64).ravel())[::-1]
        if sv.size == 0:
            raise ValueError(f"spectrum {label!r} is empty")
        if normalize and sv.sum() > 0:
            sv = sv / sv.sum()
        marker, dash = styles[k % len(styles)]
        ax.plot(
            np.arange(1, sv.size + 1),
            sv,
            marker=marker,
            linestyle=dash,
            markersize=4,
            markerfacecolor="none",
            label=label or None,
        )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("component")
    ax.set_ylabel(("fraction of " if normalize else "") + ylabel)
    if any(spectra):
        ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(title or "spectrum")
    return fig


def projection_histogram(
    values: Any,
    *,
    bins: int = 100,
    marks: Mapping[str, float] | None = None,
    title: str | None = None,
    xlabel: str = "projection",
    overlay: Mapping[str, Any] | None = None,
):
    """Histogram of projections (or one-to-all cosines) over a vocabulary.

    Parameters
    ----------
    values : array_like (V,)
    marks : mapping label -> value, optional
        Vertical lines with labels (e.g. where chosen words fall).
    overlay : mapping label -> array_like, optional
        Further distributions drawn as outlines on the same bins (e.g. a null model).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite values to histogram")
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    edges = np.histogram_bin_edges(
        np.concatenate(
            [v] + [np.asarray(o, dtype=np.float64).ravel() for o in (overlay or {}).values()]
        ),
        bins=bins,
    )
    ax.hist(v, bins=edges, color="#4878a8", alpha=0.8, label="data" if overlay else None)
    for label, o in (overlay or {}).items():
        ax.hist(
            np.asarray(o, dtype=np.float64).ravel(),
            bins=edges,
            histtype="step",
            linewidth=1.5,
            label=label,
        )
    for label, x in (marks or {}).items():
        ax.axvline(x, color="#c44e52", linewidth=1)
        ax.text(x, ax.get_ylim()[1] * 0.95, f" {label}", rotation=90, va="top", fontsize=7)
    if overlay:
        ax.legend(fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title or "distribution")
    return fig


def tsne_clusters(
    points: Any,
    labels: Any = None,
    words: Sequence[str] | None = None,
    *,
    title: str | None = None,
    max_annotations: int = 80,
):
    """Scatter of a 2-D map with DBSCAN clusters coloured and noise points grey.

    Parameters
    ----------
    points : array_like (n, 2)
    labels : Clusters or array_like (n,), optional
        Cluster ids, -1 = noise.
    words : sequence of str, optional
        Point labels; written next to up to ``max_annotations`` points (cluster members first).
    """
    P = np.asarray(points, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {P.shape}")
    lab = (
        np.zeros(P.shape[0], dtype=np.int64)
        if labels is None
        else np.asarray(getattr(labels, "labels", labels)).astype(np.int64)
    )
    if lab.shape != (P.shape[0],):
        raise ValueError(f"{lab.size} labels for {P.shape[0]} points")
    fig = _figure(7.5, 6.5)
    ax = fig.add_subplot()
    noise = lab < 0
    ax.scatter(P[noise, 0], P[noise, 1], s=10, c="#bbbbbb", label=f"noise ({int(noise.sum())})")
    ids = np.unique(lab[~noise])
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    for k, c in enumerate(ids):
        m = lab == c
        ax.scatter(P[m, 0], P[m, 1], s=18, color=cmap(k % 20))
    if words is not None:
        if len(words) != P.shape[0]:
            raise ValueError(f"{len(words)} words for {P.shape[0]} points")
        order = np.argsort(noise, kind="stable")[:max_annotations]
        for i in order:
            ax.annotate(
                words[i], P[i], fontsize=6, alpha=0.8, xytext=(2, 2), textcoords="offset points"
            )
    ax.set_title(title or f"t-SNE map: {ids.size} clusters, {int(noise.sum())} noise points")
    ax.legend(loc="best", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def dbscan_sweep(sweep: Any, *, title: str | None = None):
    """Image of a :class:`~tokenspace.cluster.DbscanSweep`: cluster count per (eps, min_samples)."""
    nc = np.asarray(sweep.n_clusters)
    eps = np.asarray(sweep.eps_values)
    ms = np.asarray(sweep.min_samples_values)
    fig = _figure(1.8 + 0.55 * ms.size, 1.4 + 0.38 * eps.size)
    ax = fig.add_subplot()
    im = ax.imshow(nc, cmap="viridis", aspect="auto", origin="lower")
    fig.colorbar(im, ax=ax, label="clusters")
    ax.set_xticks(range(ms.size), [str(m) for m in ms.tolist()])
    ax.set_yticks(range(eps.size), [f"{e:g}" for e in eps.tolist()])
    ax.set_xlabel("min_samples")
    ax.set_ylabel("eps")
    hi = nc.max() if nc.size else 0
    for i in range(eps.size):
        for j in range(ms.size):
            ax.text(
                j,
                i,
                str(int(nc[i, j])),
                ha="center",
                va="center",
                fontsize=7,
                color="black" if nc[i, j] > 0.6 * hi else "white",
            )
    ax.set_title(title or "DBSCAN sweep: number of clusters")
    return fig


def graph(
    g: Any, *, title: str | None = None, seed: int = 0, layout: Mapping[str, Any] | None = None
):
    """Draw a :class:`~tokenspace.graph.CosineGraph`.

    Node size grows with sqrt(degree); edges are coloured by their cosine. The layout is
    networkx's spring layout (weighted by cosine, fixed ``seed``) unless ``layout`` maps each
    word to an (x, y) position.
    """
    import matplotlib
    from matplotlib.collections import LineCollection

    words = list(g.words)
    if layout is None:
        import networkx as nx

        layout = nx.spring_layout(g.to_networkx(), seed=seed, weight="weight")
    pos = np.array([layout[w] for w in words], dtype=np.float64)
    deg = g.degrees
    fig = _figure(8.0, 7.0)
    ax = fig.add_subplot()
    if g.n_edges:
        segs = pos[g.edges]
        lc = LineCollection(segs, cmap=matplotlib.colormaps["plasma"], linewidths=1.2, alpha=0.8)
        lc.set_array(np.asarray(g.weights, dtype=np.float64))
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, shrink=0.7, label="edge cosine")
    ax.scatter(
        pos[:, 0], pos[:, 1], s=30 + 60 * np.sqrt(deg), c="#9ecae1", edgecolors="#3182bd", zorder=3
    )
    for (x, y), w in zip(pos, words):
        ax.annotate(w, (x, y), fontsize=7, ha="center", va="center", zorder=4)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.autoscale_view()
    ax.set_title(
        title or f"cosine graph: {g.n_nodes} words, {g.n_edges} edges, threshold {g.threshold:.3f}"
    )
    return fig


def _triangle(x: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        if x.shape[0] != x.shape[1]:
            raise ValueError(f"a similarity matrix must be square, got {x.shape}")
        return x[np.triu_indices(x.shape[0], k=1)]
    if x.ndim == 1:
        return x
    raise ValueError(f"expected a triangle (1-D) or a square matrix, got shape {x.shape}")


def rsa_scatter(
    a: Any,
    b: Any,
    *,
    labels: tuple[str, str] = ("model A", "model B"),
    title: str | None = None,
    max_points: int = 20000,
    seed: int = 0,
):
    """Scatter of two models' similarity triangles against each other (RSA).

    Parameters
    ----------
    a, b : array_like
        Either the two upper triangles (1-D, same length) or the two square similarity matrices
        (their upper triangles, k=1, are taken).
    max_points : int, default 20000
        Plot a random sample of the pairs beyond this many (the correlation in the title uses all).
    """
    ta = _triangle(np.asarray(a, dtype=np.float64))
    tb = _triangle(np.asarray(b, dtype=np.float64))
    if ta.shape != tb.shape:
        raise ValueError(f"the triangles differ in length: {ta.size} vs {tb.size}")
    if ta.size < 2:
        raise ValueError("RSA needs at least two pairs")
    r = float(np.corrcoef(ta, tb)[0, 1])
    idx = np.arange(ta.size)
    if ta.size > max_points:
        idx = np.random.default_rng(seed).choice(ta.size, max_points, replace=False)
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot()
    ax.scatter(ta[idx], tb[idx], s=4, alpha=0.35, c="#4878a8", linewidths=0)
    ax.set_xlabel(f"cosine in {labels[0]}")
    ax.set_ylabel(f"cosine in {labels[1]}")
    ax.grid(alpha=0.3)
    ax.set_title(title or f"RSA: Pearson r = {r:.3f} over {ta.size} pairs")
    return fig


def sequence_cosines(seq: Any, *, title: str | None = None, max_labels: int = 60):
    """Line plot of a :class:`~tokenspace.text.SequenceCosines` (x axis: the tokens)."""
    cos = np.asarray(seq.cosines, dtype=np.float64)
    toks = list(seq.tokens)[1:]
    fig = _figure(min(14.0, 3.0 + 0.18 * max(len(toks), 10)), 3.6)
    ax = fig.add_subplot()
    ax.plot(np.arange(cos.size), cos, marker="o", markersize=3)
    ax.axhline(
        float(cos.mean()) if cos.size else 0.0,
        color="#c44e52",
        linewidth=0.8,
        linestyle="--",
        label="mean",
    )
    if len(toks) <= max_labels:
        ax.set_xticks(range(len(toks)), toks, rotation=90, fontsize=7)
    ax.set_ylabel("cosine with previous token")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or "cosine of each token with the previous one")
    return fig
