"""Every plot returns a matplotlib Figure that renders to PNG, without touching pyplot state."""

import io
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
