"""t-SNE, DBSCAN, sweeps and token selection against scikit-learn run directly."""

import numpy as np
import pytest

import tokenspace as ts

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import DBSCAN  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402


@pytest.fixture
def blobs():
    """Three well separated 2-D blobs of 30 points plus 3 far outliers."""
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float64)
    pts = np.concatenate([c + rng.normal(scale=0.4, size=(30, 2)) for c in centers])
    out = np.array([[30, 30], [-30, 30], [30, -30]], dtype=np.float64)
    return np.concatenate([pts, out]).astype(np.float32)


@pytest.fixture
def small_space():
    vocab = ["box", "fox", "xylophone", "##xi", "Ġtaxi", "cat", "ax", "extra", "mixed12", "lexicon"]
    rng = np.random.default_rng(1)
    return ts.EmbeddingSpace(rng.standard_normal((len(vocab), 8)).astype(np.float32), vocab)


def test_dbscan_matches_sklearn_and_finds_blobs(blobs):
    res = ts.dbscan(blobs, eps=1.5, min_samples=4)
    ref = DBSCAN(eps=1.5, min_samples=4).fit_predict(blobs.astype(np.float64))
    np.testing.assert_array_equal(res.labels, ref)
    assert res.n_clusters == 3
    assert res.n_noise == 3
    assert (res.labels[-3:] == -1).all()
    words = [f"w{i}" for i in range(len(blobs))]
    members = res.members(words)
    assert sorted(len(v) for k, v in members.items() if k >= 0) == [30, 30, 30]
    assert members[-1] == ["w90", "w91", "w92"]


def test_dbscan_sweep_equals_individual_runs(blobs):
    eps, ms = [0.1, 1.5, 50.0], [2, 4, 40]
    sw = ts.dbscan_sweep(blobs, eps, ms)
    assert sw.n_clusters.shape == (3, 3)
    for i, e in enumerate(eps):
        for j, m in enumerate(ms):
            lab = DBSCAN(eps=e, min_samples=m).fit_predict(blobs.astype(np.float64))
            assert sw.n_clusters[i, j] == len(set(lab[lab >= 0]))
            assert sw.n_noise[i, j] == (lab < 0).sum()
    assert sw.n_clusters[2, 0] == 1  # eps 50 joins everything
    # eps 0.1 leaves most points as noise; eps 1.5 finds the 3 blobs (ties: smaller min_samples)
    assert sw.best() == (1.5, 2)


@pytest.mark.parametrize(
    "eps,ms", [(0, 3), (-1, 3), (float("nan"), 3), (1.0, 0), (1.0, 2.5), (1.0, True)]
)
def test_dbscan_bad_arguments(blobs, eps, ms):
    with pytest.raises(ValueError):
        ts.dbscan(blobs, eps, ms)


def test_dbscan_bad_points():
    with pytest.raises(ValueError, match="NaN"):
        ts.dbscan(np.array([[0.0, np.nan], [1, 1]]), 1.0, 2)
    with pytest.raises(ValueError, match="empty"):
        ts.dbscan(np.zeros((0, 2)), 1.0, 2)
    with pytest.raises(ValueError, match="non-empty"):
        ts.dbscan_sweep(np.zeros((5, 2)), [], [2])


def test_tsne_matches_sklearn_and_is_seeded():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(loc=c, size=(40, 10)) for c in (0.0, 6.0)]).astype(np.float32)
    a = ts.tsne(X, perplexity=5, seed=3)
    b = ts.tsne(X, perplexity=5, seed=3)
    assert a.shape == (80, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    ref = TSNE(perplexity=5, random_state=3, init="pca", learning_rate="auto").fit_transform(
        X.astype(np.float64)
    )
    np.testing.assert_allclose(a, ref.astype(np.float32), rtol=1e-5, atol=1e-4)
    # the two gaussian groups stay apart on the map: DBSCAN-free check via centroid distances
    ca, cb = a[:40].mean(0), a[40:].mean(0)
    spread = max(
        np.linalg.norm(a[:40] - ca, axis=1).mean(), np.linalg.norm(a[40:] - cb, axis=1).mean()
    )
    assert np.linalg.norm(ca - cb) > 2 * spread


def test_tsne_bad_input():
    X = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(ValueError, match="perplexity"):
        ts.tsne(X, perplexity=10)
    with pytest.raises(ValueError, match="perplexity"):
        ts.tsne(X, perplexity=0)
    with pytest.raises(TypeError):
        ts.tsne(np.array([["a", "b"]]))


def test_select_tokens(small_space):
    s = small_space
    # lengths are measured without the subword marker: "Ġtaxi" has 4 letters, "##xi" 2
    assert ts.select_tokens(s, contains="x", min_len=4, max_len=8) == [
        "Ġtaxi",
        "extra",
        "mixed12",
        "lexicon",
    ]
    assert ts.select_tokens(s, contains="x", min_len=4, max_len=8, alphabetic=True) == [
        "Ġtaxi",
        "extra",
        "lexicon",
    ]
    assert ts.select_tokens(s, contains="x", limit=2) == ["box", "fox"]
    assert ts.select_tokens(s, lambda w: w.startswith("##")) == ["##xi"]
    assert ts.select_tokens(s, contains="q") == []
    with pytest.raises(ValueError):
        ts.select_tokens(s, limit=0)
