"""Every plot returns a matplotlib Figure that renders to PNG, without touching pyplot state."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import tokenspace as ts

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def _png(fig) -> bytes:
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return data


def test_import_does_not_load_matplotlib():
    code = "import sys, tokenspace; print('matplotlib' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_all_plots_render():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 8)).astype(np.float32)
    words = [f"w{i}" for i in range(12)]
    C = ts.cosine_matrix(X)
    _png(ts.plot.cosine_heatmap(C, words))
    _png(ts.plot.cosine_heatmap(C[:3], words[:3], annotate=False))
    _png(
        ts.plot.spectrum(
            {"real": [3, 2, 1], "random": np.array([1.5, 1.4, 1.3])}, normalize=True, log=True
        )
    )
    _png(ts.plot.spectrum(np.array([3.0, 1.0])))
    _png(
        ts.plot.projection_histogram(
            rng.standard_normal(1000), marks={"a": 0.5}, overlay={"null": rng.standard_normal(500)}
        )
    )
    P = rng.standard_normal((12, 2))
    _png(ts.plot.tsne_clusters(P, np.array([0] * 5 + [1] * 5 + [-1] * 2), words))
    _png(ts.plot.tsne_clusters(P))
    pts = np.concatenate([rng.normal(c, 0.3, (20, 2)) for c in (0, 5)])
    _png(ts.plot.dbscan_sweep(ts.dbscan_sweep(pts, [0.5, 1, 2], [2, 3])))
    _png(ts.plot.graph(ts.cosine_graph(ts.EmbeddingSpace(X, words), words)))
    _png(
        ts.plot.graph(ts.cosine_graph(ts.EmbeddingSpace(X, words), words, threshold=2.0))
    )  # no edges
    _png(
        ts.plot.rsa_scatter(
            C, ts.cosine_matrix(X + 0.1 * rng.standard_normal(X.shape)), labels=("a", "b")
        )
    )
    tri = rng.standard_normal(50_000)
    fig = ts.plot.rsa_scatter(tri, tri + rng.standard_normal(50_000), max_points=1000)
    assert len(fig.axes[0].collections[0].get_offsets()) == 1000
    seq = ts.SequenceCosines(["a", "b", "c"], np.arange(3), np.array([0.1, 0.2], dtype=np.float32))
    _png(ts.plot.sequence_cosines(seq))
    if "matplotlib.pyplot" in sys.modules:  # nothing was registered with pyplot
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_plot_errors():
    with pytest.raises(ValueError):
        ts.plot.cosine_heatmap(np.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        ts.plot.cosine_heatmap(np.eye(3), ["a"])
    with pytest.raises(ValueError):
        ts.plot.spectrum({})
    with pytest.raises(ValueError, match="finite"):
        ts.plot.projection_histogram([np.nan])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        ts.plot.tsne_clusters(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels"):
        ts.plot.tsne_clusters(np.zeros((4, 2)), [0, 1])
    with pytest.raises(ValueError, match="differ"):
        ts.plot.rsa_scatter(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="square"):
        ts.plot.rsa_scatter(np.zeros((3, 4)), np.zeros((3, 4)))


def _figure_of(result):
    return result if isinstance(result, Figure) else result.figure


def test_every_plot_draws_into_a_given_axes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 6)).astype(np.float32)
    words = [f"w{i}" for i in range(10)]
    C = ts.cosine_matrix(X)
    P = rng.standard_normal((10, 2))
    pts = np.concatenate([rng.normal(c, 0.3, (20, 2)) for c in (0, 5)])
    seq = ts.SequenceCosines(["a", "b", "c"], np.arange(3), np.array([0.1, 0.2], dtype=np.float32))
    calls = {
        "cosine_heatmap": lambda ax: ts.plot.cosine_heatmap(C, words, ax=ax),
        "spectrum": lambda ax: ts.plot.spectrum([3.0, 2.0, 1.0], ax=ax),
        "projection_histogram": lambda ax: ts.plot.projection_histogram(
            rng.normal(size=200), ax=ax
        ),
        "tsne_clusters": lambda ax: ts.plot.tsne_clusters(P, None, words, ax=ax),
        "dbscan_sweep": lambda ax: ts.plot.dbscan_sweep(
            ts.dbscan_sweep(pts, [0.5, 1], [2, 3]), ax=ax
        ),
        "graph": lambda ax: ts.plot.graph(
            ts.cosine_graph(ts.EmbeddingSpace(X, words), words), ax=ax
        ),
        "rsa_scatter": lambda ax: ts.plot.rsa_scatter(C, C * 0.5, ax=ax),
        "sequence_cosines": lambda ax: ts.plot.sequence_cosines(seq, ax=ax),
    }
    for name, call in calls.items():
        fig = Figure()
        axes = fig.subplots(1, 2)
        out = call(axes[1])
        assert out is axes[1], name
        assert axes[1].has_data() or axes[1].images, name
        assert not axes[0].has_data(), name
        _png(fig)


def _overlapping_pairs(texts, renderer) -> int:
    boxes = [t.get_window_extent(renderer) for t in texts]
    return sum(
        boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
    )


def test_labels_are_moved_apart(monkeypatch):
    adjust_text_module = pytest.importorskip("adjustText")
    # the plots cap adjustText at 1 s of wall time; on a loaded machine that is a few
    # iterations, so the test lifts the cap and checks what the iterations achieve
    real = adjust_text_module.adjust_text
    monkeypatch.setattr(
        adjust_text_module, "adjust_text", lambda *a, **k: real(*a, **{**k, "time_lim": 4})
    )
    rng = np.random.default_rng(2)
    words = [f"token{i}" for i in range(16)]
    X = rng.standard_normal((16, 8)).astype(np.float32)
    g = ts.cosine_graph(ts.EmbeddingSpace(X, words), words)
    # a crowded layout: every node within a small patch of the axes
    layout = {w: (0.02 * (i % 4), 0.02 * (i // 4)) for i, w in enumerate(words)}
    layout[words[-1]] = (1.0, 1.0)  # stretches the axes, so the others crowd
    counts = {}
    for adjust in (False, True):
        fig = ts.plot.graph(g, layout=layout, adjust_labels=adjust)
        ax = fig.axes[0]
        renderer = fig.canvas.get_renderer()
        fig.draw_without_rendering()
        counts[adjust] = _overlapping_pairs(ax.texts, renderer)
    assert counts[False] > 10  # the layout does crowd the labels
    assert counts[True] <= counts[False] // 5


def test_categorical_colours_do_not_repeat():
    rng = np.random.default_rng(3)
    n = 33
    lab = np.repeat(np.arange(n), 4)
    lab[:6] = -1
    P = rng.standard_normal((lab.size, 2))
    fig = ts.plot.tsne_clusters(P, lab)
    colours = [tuple(np.round(c.get_facecolor()[0][:3], 4)) for c in fig.axes[0].collections]
    assert len(colours) == n  # noise + 32 clusters (cluster 0 lost its points to noise)
    assert len(set(colours)) == n
    fig = ts.plot.spectrum({f"s{i}": rng.random(5) for i in range(14)})
    line_colours = [line.get_color() for line in fig.axes[0].lines]
    assert len(line_colours) == 14 and len(set(line_colours)) == 14
    c = ts.plot.categorical_colors(200)
    assert len(set(c)) == 200 and ts.plot.NOISE_COLOR not in c


def test_projection_histogram_clips_and_marks_extremes():
    rng = np.random.default_rng(4)
    v = np.concatenate([rng.normal(size=5000), [40.0, -35.0]])
    words = [f"w{i}" for i in range(v.size)]
    fig = ts.plot.projection_histogram(v, words=words, extremes=3, clip=(0.001, 0.999))
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert hi < 10 and lo > -10  # the two outliers do not stretch the axis
    text = " ".join(t.get_text() for t in ax.texts)
    assert "w5000" in text and "w5001" in text  # the outliers are listed as the extremes
    assert sum(p.get_height() for p in ax.patches) == v.size  # nothing dropped
    with pytest.raises(ValueError, match="words"):
        ts.plot.projection_histogram(v, extremes=3)


def test_interactive_figures():
    go = pytest.importorskip("plotly.graph_objects")
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(12)]
    X = rng.standard_normal((12, 8)).astype(np.float32)
    P = rng.standard_normal((12, 2))
    lab = np.array([0] * 5 + [1] * 5 + [-1] * 2)
    figs = [
        ts.plot.tsne_clusters(P, lab, words, interactive=True),
        ts.plot.projection_histogram(
            rng.normal(size=12), words=words, extremes=2, interactive=True
        ),
        ts.plot.graph(ts.cosine_graph(ts.EmbeddingSpace(X, words), words), interactive=True),
        ts.plot.rsa_scatter(
            ts.cosine_matrix(X), ts.cosine_matrix(X), words=words, interactive=True
        ),
    ]
    for f in figs:
        assert isinstance(f, go.Figure)
        hover = json.dumps(f.to_plotly_json()["data"], default=str)
        assert "w1" in hover  # hovering names the words
    assert [t.name for t in figs[0].data] == ["noise (2)", "cluster 0", "cluster 1"]
    assert figs[3].data[0].text[0] == "w0 – w1"
