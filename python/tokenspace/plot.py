"""Figures for the course's analyses (matplotlib, imported only when a plot is made).

Every function draws into ``ax=`` when given one and returns that Axes; otherwise it builds a
``matplotlib.figure.Figure`` without pyplot (no global backend or figure state is touched: no
``plt.show()``, no leaked figures in long runs) and returns it: save it with
``fig.savefig("x.png")`` or let Jupyter display it. Point labels are moved apart with adjustText;
categorical colours never repeat within one plot (:func:`categorical_colors`).

The map, the projection, the graph and the RSA scatter also draw as interactive plotly figures
(``interactive=True``): hover shows the words. ``pip install 'tokenspace[viz]'``.

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
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - environment dependent
        raise ModuleNotFoundError(
            "plots need matplotlib: pip install matplotlib (or pip install 'tokenspace[viz]')"
        ) from e
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # a renderer, so label placement can measure text before saving
    return fig


def _axes(ax: Any, width: float, height: float) -> tuple[Any, Any, Any]:
    """``(figure, axes, what to return)``: the caller's Axes, or a new Figure with one Axes."""
    if ax is not None:
        return ax.figure, ax, ax
    fig = _figure(width, height)
    return fig, fig.add_subplot(), fig


#: Okabe-Ito's colour-blind-safe set, then matplotlib's tab20 (dark, then light shades).
_BASE_COLORS = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
    "#dbdb8d", "#9edae5",
]  # fmt: skip
NOISE_COLOR = "#bbbbbb"


def categorical_colors(n: int) -> list[str]:
    """``n`` distinct colours (hex), none of them the grey of noise points.

    The first 26 come from fixed palettes; beyond them hues step by the golden ratio over
    three lightness levels, skipping any colour already used.
    """
    import colorsys

    out = list(dict.fromkeys(_BASE_COLORS))[:n]
    seen = set(out) | {NOISE_COLOR}
    k = 0
    while len(out) < n:
        h = (k * 0.618033988749895) % 1.0
        light = (0.45, 0.3, 0.62)[(k // 7) % 3]
        r, g, b = colorsys.hls_to_rgb(h, light, 0.75)
        c = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if c not in seen:
            out.append(c)
            seen.add(c)
        k += 1
    return out


def _spread_labels(texts: list[Any], ax: Any, **kwargs: Any) -> None:
    """Move overlapping labels apart (adjustText); without it the labels stay where they are."""
    if len(texts) < 2:
        return
    try:
        from adjustText import adjust_text
    except ImportError:  # pragma: no cover - viz extra not installed
        return
    # bounded: on a busy machine an unbounded run over 80 labels took seconds
    adjust_text(texts, ax=ax, time_lim=kwargs.pop("time_lim", 1.0), **kwargs)


def _plotly():
    try:
        import plotly.graph_objects as go
    except ImportError as e:
        raise ModuleNotFoundError(
            "interactive figures need plotly: pip install plotly (or pip install 'tokenspace[viz]')"
        ) from e
    return go


def cosine_heatmap(
    C: Any,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    vmin: float = -1.0,
    vmax: float = 1.0,
    annotate: bool | None = None,
    cmap: str = "RdBu_r",
    ax: Any = None,
):
    """Heatmap of a cosine (or any similarity) matrix.

    Parameters
    ----------
    C : array_like (n, m)
    labels : sequence of str, optional
        Row labels (and column labels when the matrix is square).
    annotate : bool, optional
        Write the values in the cells; default: only when n, m <= 12.
    ax : matplotlib Axes, optional
        Draw here and return it (default: a new Figure, returned).
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2 or C.size == 0:
        raise ValueError(f"C must be a non-empty 2-D matrix, got shape {C.shape}")
    n, m = C.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a matrix with {n} rows")
    size = min(12.0, 2.5 + 0.2 * max(n, m))
    fig, ax, result = _axes(ax, size + 1.0, size)
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
    return result


def spectrum(
    spectra: Any,
    *,
    title: str | None = None,
    normalize: bool = False,
    log: bool = False,
    ylabel: str = "singular value",
    bands: Mapping[str, tuple[Any, Any]] | None = None,
    ax: Any = None,
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
    bands : mapping label -> (low, high), optional
        Shaded ranges per component (e.g. the 5th-95th percentiles of random groups), in the
        same units as the spectra (normalised the same way is up to the caller).
    ax : matplotlib Axes, optional
        Draw here and return it (default: a new Figure, returned).
    """
    if not isinstance(spectra, Mapping):
        spectra = {"": spectra}
    if not spectra:
        raise ValueError("no spectrum given")
    _fig, ax, result = _axes(ax, 6.4, 4.0)
    colors = categorical_colors(len(spectra) + len(bands or {}))
    for k, (label, (lo, hi)) in enumerate((bands or {}).items()):
        lo, hi = np.asarray(lo, dtype=np.float64).ravel(), np.asarray(hi, dtype=np.float64).ravel()
        x = np.arange(1, lo.size + 1)
        ax.fill_between(x, lo, hi, color=colors[len(spectra) + k], alpha=0.25, label=label)
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
            color=colors[k],
            label=label or None,
        )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("component")
    ax.set_ylabel(("fraction of " if normalize else "") + ylabel)
    if any(spectra) or bands:
        ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(title or "spectrum")
    return result


def projection_histogram(
    values: Any,
    *,
    bins: int = 100,
    marks: Mapping[str, float] | None = None,
    title: str | None = None,
    xlabel: str = "projection",
    overlay: Mapping[str, Any] | None = None,
    words: Sequence[str] | None = None,
    extremes: int = 0,
    clip: tuple[float, float] | None = None,
    ax: Any = None,
    interactive: bool = False,
):
    """Histogram of projections (or one-to-all cosines) over a vocabulary.

    Parameters
    ----------
    values : array_like (V,)
    marks : mapping label -> value, optional
        Vertical lines with labels (e.g. where chosen words fall).
    overlay : mapping label -> array_like, optional
        Further distributions drawn as outlines on the same bins (e.g. a null model).
    words : sequence of str, optional
        The word of each value; needed for ``extremes`` and for the hover of the interactive
        figure.
    extremes : int, default 0
        Mark the ``extremes`` lowest and highest values with their words (needs ``words``).
    clip : (low, high) quantiles, optional
        Draw only this quantile range (e.g. ``(0.001, 0.999)``), so a few outliers do not
        squash the bulk into one bin; values beyond it are counted in the outer bins and the
        extremes are listed in the corners.
    ax : matplotlib Axes, optional
        Draw here and return it (default: a new Figure, returned).
    interactive : bool, default False
        Return a plotly Figure instead (hover shows the marked words and values).
    """
    v_all = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(v_all)
    v = v_all[finite]
    if v.size == 0:
        raise ValueError("no finite values to histogram")
    if words is not None and len(words) != v_all.size:
        raise ValueError(f"{len(words)} words for {v_all.size} values")
    if extremes and words is None:
        raise ValueError("extremes= needs words= (the word of each value)")
    if clip is not None:
        lo_q, hi_q = clip
        if not 0 <= lo_q < hi_q <= 1:
            raise ValueError(f"clip must be two quantiles 0 <= low < high <= 1, got {clip}")
        lo, hi = (float(x) for x in np.quantile(v, [lo_q, hi_q]))
        if hi <= lo:
            lo, hi = float(v.min()), float(v.max())
    else:
        lo, hi = float(v.min()), float(v.max())
    others = [np.asarray(o, dtype=np.float64).ravel() for o in (overlay or {}).values()]
    if clip is None and others:
        lo = min([lo] + [float(np.nanmin(o)) for o in others if o.size])
        hi = max([hi] + [float(np.nanmax(o)) for o in others if o.size])
    edges = np.histogram_bin_edges(np.array([lo, hi]), bins=bins, range=(lo, hi))
    low_words: list[tuple[str, float]] = []
    high_words: list[tuple[str, float]] = []
    if extremes and words is not None:
        ids = np.flatnonzero(finite)
        order = ids[np.argsort(v_all[ids], kind="stable")]
        low_words = [(words[i], float(v_all[i])) for i in order[:extremes]]
        high_words = [(words[i], float(v_all[i])) for i in order[::-1][:extremes]]
    if interactive:
        return _plotly_projection(
            v, edges, marks, low_words, high_words, title=title, xlabel=xlabel, clip=clip
        )
    _fig, ax, result = _axes(ax, 6.4, 3.8)
    colors = categorical_colors(1 + len(others))
    ax.hist(
        np.clip(v, lo, hi),
        bins=edges,
        color=colors[0],
        alpha=0.8,
        label="data" if overlay else None,
    )
    for k, (label, o) in enumerate(zip(overlay or {}, others)):
        ax.hist(
            np.clip(o[np.isfinite(o)], lo, hi),
            bins=edges,
            histtype="step",
            linewidth=1.5,
            color=colors[1 + k],
            label=label,
        )
    top = ax.get_ylim()[1]
    # labels of nearby marks are staggered in height so they never sit on each other
    span = (hi - lo) or 1.0
    last_x, level = -np.inf, 0
    for label, x in sorted((marks or {}).items(), key=lambda kv: kv[1]):
        level = level + 1 if x - last_x < 0.06 * span else 0
        last_x = x
        ax.axvline(min(max(x, lo), hi), color="#c44e52", linewidth=1)
        ax.text(
            min(max(x, lo), hi),
            top * (0.97 - 0.12 * (level % 6)),
            f" {label}",
            va="top",
            fontsize=7,
            color="#802020",
        )
    for ws, xpos, ha in ((low_words, 0.01, "left"), (high_words, 0.99, "right")):
        if not ws:
            continue
        ax.plot(
            [min(max(x, lo), hi) for _, x in ws],
            [0] * len(ws),
            "|",
            color="#c44e52",
            markersize=12,
        )
        head = "lowest" if ha == "left" else "highest"
        body = "\n".join(f"{w} {x:.3f}" for w, x in ws)
        ax.text(
            xpos,
            0.97,
            f"{head}:\n{body}",
            transform=ax.transAxes,
            ha=ha,
            va="top",
            fontsize=6,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc", "alpha": 0.85},
        )
    if overlay:
        ax.legend(fontsize=8, loc="center right")
    if clip is not None:
        ax.set_xlim(lo, hi)
        xlabel = f"{xlabel} (range: quantiles {clip[0]:g} to {clip[1]:g}; beyond it counted at the edges)"
    ax.set_xlabel(xlabel, fontsize=8 if clip is not None else None)
    ax.set_ylabel("count")
    ax.set_title(title or "distribution")
    return result


def _plotly_projection(v, edges, marks, low_words, high_words, *, title, xlabel, clip):
    go = _plotly()
    lo, hi = float(edges[0]), float(edges[-1])
    counts, _ = np.histogram(np.clip(v, lo, hi), bins=edges)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=mids,
            y=counts,
            width=float(edges[1] - edges[0]),
            name="entries",
            marker_color=categorical_colors(1)[0],
            hovertemplate="%{x:.3f}: %{y} entries<extra></extra>",
        )
    )
    top = float(counts.max()) if counts.size else 1.0
    for ws, name, color in ((low_words, "lowest", "#d55e00"), (high_words, "highest", "#009e73")):
        if ws:
            fig.add_trace(
                go.Scatter(
                    x=[min(max(x, lo), hi) for _, x in ws],
                    y=np.linspace(top * 0.9, top * 0.1, len(ws)).tolist(),
                    mode="markers+text",
                    text=[w for w, _ in ws],
                    textposition="middle right" if name == "lowest" else "middle left",
                    customdata=[x for _, x in ws],
                    marker={"color": color, "size": 7},
                    name=name,
                    hovertemplate="%{text}: %{customdata:.4f}<extra></extra>",
                )
            )
    if marks:
        fig.add_trace(
            go.Scatter(
                x=[min(max(x, lo), hi) for x in marks.values()],
                y=[top] * len(marks),
                mode="markers+text",
                text=list(marks),
                textposition="top center",
                customdata=list(marks.values()),
                marker={"color": "#c44e52", "symbol": "triangle-down", "size": 9},
                name="marked",
                hovertemplate="%{text}: %{customdata:.4f}<extra></extra>",
            )
        )
    if clip is not None:
        xlabel = f"{xlabel} (quantiles {clip[0]:g} to {clip[1]:g})"
    fig.update_layout(
        title=title or "distribution",
        xaxis_title=xlabel,
        yaxis_title="count",
        bargap=0,
        template="plotly_white",
    )
    return fig


def tsne_clusters(
    points: Any,
    labels: Any = None,
    words: Sequence[str] | None = None,
    *,
    title: str | None = None,
    max_annotations: int = 80,
    adjust_labels: bool = True,
    ax: Any = None,
    interactive: bool = False,
):
    """Scatter of a 2-D map with DBSCAN clusters coloured and noise points grey.

    Parameters
    ----------
    points : array_like (n, 2)
    labels : Clusters or array_like (n,), optional
        Cluster ids, -1 = noise.
    words : sequence of str, optional
        Point labels; written next to up to ``max_annotations`` points (cluster members
        first), moved apart so they do not overlap (``adjust_labels``). The interactive figure
        shows every word on hover.
    ax : matplotlib Axes, optional
        Draw here and return it (default: a new Figure, returned).
    interactive : bool, default False
        Return a plotly Figure instead.
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
    if words is not None and len(words) != P.shape[0]:
        raise ValueError(f"{len(words)} words for {P.shape[0]} points")
    noise = lab < 0
    ids = np.unique(lab[~noise])
    colors = categorical_colors(ids.size)
    title = title or f"t-SNE map: {ids.size} clusters, {int(noise.sum())} noise points"
    if interactive:
        go = _plotly()
        fig = go.Figure()
        groups = [(f"noise ({int(noise.sum())})", noise, NOISE_COLOR)] if noise.any() else []
        groups += [(f"cluster {c}", lab == c, colors[k]) for k, c in enumerate(ids.tolist())]
        for name, m, color in groups:
            idx = np.flatnonzero(m)
            fig.add_trace(
                go.Scatter(
                    x=P[idx, 0],
                    y=P[idx, 1],
                    mode="markers",
                    name=name,
                    marker={"color": color, "size": 7 if color != NOISE_COLOR else 5},
                    text=[words[i] for i in idx.tolist()] if words is not None else None,
                    hovertemplate=("%{text}<br>" if words is not None else "")
                    + f"{name}<extra></extra>",
                )
            )
        fig.update_layout(
            title=title, template="plotly_white", xaxis_visible=False, yaxis_visible=False
        )
        return fig
    fig, ax, result = _axes(ax, 7.5, 6.5)
    ax.scatter(P[noise, 0], P[noise, 1], s=10, c=NOISE_COLOR, label=f"noise ({int(noise.sum())})")
    for k, c in enumerate(ids):
        m = lab == c
        ax.scatter(P[m, 0], P[m, 1], s=18, color=colors[k])
    if words is not None:
        order = np.argsort(noise, kind="stable")[:max_annotations]
        texts = [ax.text(P[i, 0], P[i, 1], words[i], fontsize=6, alpha=0.85) for i in order]
        if adjust_labels:
            # no connector arrows: each is a patch that made saving the map three times slower
            _spread_labels(texts, ax, x=P[:, 0], y=P[:, 1])
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return result


def dbscan_sweep(sweep: Any, *, title: str | None = None, ax: Any = None):
    """Image of a :class:`~tokenspace.cluster.DbscanSweep`: cluster count per (eps, min_samples).

    ``ax``: draw into this Axes and return it (default: a new Figure, returned).
    """
    nc = np.asarray(sweep.n_clusters)
    eps = np.asarray(sweep.eps_values)
    ms = np.asarray(sweep.min_samples_values)
    fig, ax, result = _axes(ax, 1.8 + 0.55 * ms.size, 1.4 + 0.38 * eps.size)
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
    return result


def graph(
    g: Any,
    *,
    title: str | None = None,
    seed: int = 0,
    layout: Mapping[str, Any] | None = None,
    adjust_labels: bool = True,
    ax: Any = None,
    interactive: bool = False,
):
    """Draw a :class:`~tokenspace.graph.CosineGraph`.

    Node size grows with sqrt(degree); edges are coloured by their cosine. The layout is
    networkx's spring layout (weighted by cosine, fixed ``seed``) unless ``layout`` maps each
    word to an (x, y) position. Labels are moved apart so they do not overlap
    (``adjust_labels``). ``ax``: draw into this Axes and return it (default: a new Figure,
    returned); ``interactive=True`` returns a plotly Figure (hover: word, degree, edge cosine).
    """
    words = list(g.words)
    if layout is None:
        import networkx as nx

        layout = nx.spring_layout(g.to_networkx(), seed=seed, weight="weight")
    pos = np.array([layout[w] for w in words], dtype=np.float64)
    deg = np.asarray(g.degrees)
    title = (
        title or f"cosine graph: {g.n_nodes} words, {g.n_edges} edges, threshold {g.threshold:.3f}"
    )
    if interactive:
        return _plotly_graph(g, words, pos, deg, title)
    import matplotlib
    from matplotlib.collections import LineCollection

    fig, ax, result = _axes(ax, 8.0, 7.0)
    if g.n_edges:
        segs = pos[np.asarray(g.edges)]
        lc = LineCollection(segs, cmap=matplotlib.colormaps["plasma"], linewidths=1.2, alpha=0.8)
        lc.set_array(np.asarray(g.weights, dtype=np.float64))
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, shrink=0.7, label="edge cosine")
    ax.scatter(
        pos[:, 0], pos[:, 1], s=30 + 60 * np.sqrt(deg), c="#9ecae1", edgecolors="#3182bd", zorder=3
    )
    texts = [
        ax.text(x, y, w, fontsize=7, ha="center", va="center", zorder=4)
        for (x, y), w in zip(pos, words)
    ]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.autoscale_view()
    if adjust_labels:
        _spread_labels(texts, ax, x=pos[:, 0], y=pos[:, 1])
    ax.set_title(title)
    return result


def _plotly_graph(g, words, pos, deg, title):
    go = _plotly()
    fig = go.Figure()
    edges = np.asarray(g.edges).reshape(-1, 2)
    weights = np.asarray(g.weights, dtype=np.float64)
    if edges.size:
        xs, ys = [], []
        for i, j in edges.tolist():
            xs += [pos[i, 0], pos[j, 0], None]
            ys += [pos[i, 1], pos[j, 1], None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "#aaaaaa", "width": 1},
                hoverinfo="skip",
                name="edges",
            )
        )
        # one invisible marker per edge midpoint carries the edge's hover text
        mid = (pos[edges[:, 0]] + pos[edges[:, 1]]) / 2
        fig.add_trace(
            go.Scatter(
                x=mid[:, 0],
                y=mid[:, 1],
                mode="markers",
                marker={
                    "size": 6,
                    "color": weights,
                    "colorscale": "Plasma",
                    "showscale": True,
                    "colorbar": {"title": "cosine"},
                },
                text=[f"{words[i]} – {words[j]}" for i, j in edges.tolist()],
                customdata=weights,
                hovertemplate="%{text}: %{customdata:.3f}<extra></extra>",
                name="edge cosine",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=pos[:, 0],
            y=pos[:, 1],
            mode="markers+text",
            text=words,
            textposition="top center",
            customdata=deg,
            marker={
                "size": 8 + 4 * np.sqrt(deg),
                "color": "#9ecae1",
                "line": {"color": "#3182bd", "width": 1},
            },
            hovertemplate="%{text}: degree %{customdata}<extra></extra>",
            name="words",
        )
    )
    fig.update_layout(
        title=title,
        template="plotly_white",
        showlegend=False,
        xaxis_visible=False,
        yaxis_visible=False,
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
    max_points: int | None = None,
    seed: int = 0,
    words: Sequence[str] | None = None,
    ax: Any = None,
    interactive: bool = False,
):
    """Scatter of two models' similarity triangles against each other (RSA).

    Parameters
    ----------
    a, b : array_like
        Either the two upper triangles (1-D, same length) or the two square similarity matrices
        (their upper triangles, k=1, are taken).
    max_points : int, optional
        Plot a random sample of the pairs beyond this many (the correlation in the title uses
        all); default 20000, or 4000 for the interactive figure.
    words : sequence of str, optional
        The items (rows of the square matrices): the interactive figure names each pair.
    ax : matplotlib Axes, optional
        Draw here and return it (default: a new Figure, returned).
    interactive : bool, default False
        Return a plotly Figure instead.
    """
    ta = _triangle(np.asarray(a, dtype=np.float64))
    tb = _triangle(np.asarray(b, dtype=np.float64))
    if ta.shape != tb.shape:
        raise ValueError(f"the triangles differ in length: {ta.size} vs {tb.size}")
    if ta.size < 2:
        raise ValueError("RSA needs at least two pairs")
    n_items = None
    if words is not None:
        n_items = len(words)
        if n_items * (n_items - 1) // 2 != ta.size:
            raise ValueError(f"{n_items} words do not match {ta.size} pairs")
    if max_points is None:
        max_points = 4000 if interactive else 20000
    r = float(np.corrcoef(ta, tb)[0, 1])
    idx = np.arange(ta.size)
    if ta.size > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(ta.size, max_points, replace=False))
    title = title or f"RSA: Pearson r = {r:.3f} over {ta.size} pairs"
    if interactive:
        go = _plotly()
        text = None
        if n_items is not None and words is not None:
            names = list(words)
            iu, ju = np.triu_indices(n_items, k=1)
            text = [f"{names[i]} – {names[j]}" for i, j in zip(iu[idx].tolist(), ju[idx].tolist())]
        fig = go.Figure(
            go.Scatter(
                x=ta[idx],
                y=tb[idx],
                mode="markers",
                marker={"size": 4, "opacity": 0.5, "color": categorical_colors(1)[0]},
                text=text,
                hovertemplate=("%{text}<br>" if text else "")
                + f"{labels[0]}: %{{x:.3f}}<br>{labels[1]}: %{{y:.3f}}<extra></extra>",
            )
        )
        fig.update_layout(
            title=title,
            xaxis_title=f"cosine in {labels[0]}",
            yaxis_title=f"cosine in {labels[1]}",
            template="plotly_white",
        )
        return fig
    fig, ax, result = _axes(ax, 5.5, 5.0)
    ax.scatter(ta[idx], tb[idx], s=4, alpha=0.35, c=categorical_colors(1)[0], linewidths=0)
    ax.set_xlabel(f"cosine in {labels[0]}")
    ax.set_ylabel(f"cosine in {labels[1]}")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return result


def sequence_cosines(seq: Any, *, title: str | None = None, max_labels: int = 60, ax: Any = None):
    """Line plot of a :class:`~tokenspace.text.SequenceCosines` (x axis: the tokens).

    ``ax``: draw into this Axes and return it (default: a new Figure, returned).
    """
    cos = np.asarray(seq.cosines, dtype=np.float64)
    toks = list(seq.tokens)[1:]
    _fig, ax, result = _axes(ax, min(14.0, 3.0 + 0.18 * max(len(toks), 10)), 3.6)
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
    return result
