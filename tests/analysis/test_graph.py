"""Cosine graphs against a numpy float64 reference and networkx."""

import numpy as np
import pytest

import tokenspace as ts


@pytest.fixture
def space():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(40)]
    # two groups sharing a direction each, so the graph has structure
    base = rng.standard_normal((2, 16))
    X = np.concatenate(
        [
            base[0] + 0.8 * rng.standard_normal((20, 16)),
            base[1] + 0.8 * rng.standard_normal((20, 16)),
        ]
    )
    return ts.EmbeddingSpace(X.astype(np.float32), vocab)


def _reference(X, threshold=None):
    X = np.asarray(X, dtype=np.float64)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = U @ U.T  # tiny matrix: the numpy float64 reference
    iu, ju = np.triu_indices(len(X), k=1)
    tri = C[iu, ju]
    thr = np.median(tri) + tri.std() if threshold is None else threshold
    keep = tri > thr
    return C, thr, np.stack([iu[keep], ju[keep]], 1), tri[keep]


def test_cosine_graph_matches_reference(space):
    words = space.vocab[5:35]
    g = ts.cosine_graph(space, words)
    C, thr, edges, w = _reference(space[words])
    assert g.threshold == pytest.approx(thr, abs=1e-5)
    np.testing.assert_allclose(g.cosines, C, atol=1e-5)
    np.testing.assert_array_equal(g.edges, edges)
    np.testing.assert_allclose(g.weights, w, atol=1e-5)
    deg = np.zeros(len(words), dtype=int)
    np.add.at(deg, edges.ravel(), 1)
    np.testing.assert_array_equal(g.degrees, deg)
    A = g.adjacency
    assert (A == A.T).all() and not A.diagonal().any() and A.sum() == 2 * g.n_edges
    assert g.density == pytest.approx(2 * len(edges) / (30 * 29))
    top = g.degree_table(top=3)
    assert [d for _, d in top] == sorted(deg, reverse=True)[:3]


def test_explicit_threshold_and_vectors(space):
    words = space.vocab[:10]
    g = ts.cosine_graph(space, words, threshold=0.0)
    _, _, edges, _ = _reference(space[words], threshold=0.0)
    np.testing.assert_array_equal(g.edges, edges)
    g2 = ts.cosine_graph(
        space, ["a", "b", "c"], vectors=np.eye(3, dtype=np.float32) + 0.1, threshold=0.5
    )
    assert g2.n_edges == 0
    assert (
        ts.cosine_graph(space, ["a", "b", "c"], vectors=np.ones((3, 4)), threshold=0.5).n_edges == 3
    )


def test_to_networkx(space):
    nx = pytest.importorskip("networkx")
    g = ts.cosine_graph(space, space.vocab[:20])
    G = g.to_networkx()
    assert isinstance(G, nx.Graph)
    assert G.number_of_nodes() == 20 and G.number_of_edges() == g.n_edges
    for (i, j), w in zip(g.edges.tolist(), g.weights.tolist()):
        assert G[g.words[i]][g.words[j]]["weight"] == pytest.approx(w)
    assert [G.degree(w) for w in g.words] == g.degrees.tolist()
    assert G.graph["threshold"] == g.threshold


def test_cosine_graph_errors(space):
    with pytest.raises(KeyError, match="nope"):
        ts.cosine_graph(space, ["w1", "nope"])
    with pytest.raises(ValueError, match="at least two"):
        ts.cosine_graph(space, ["w1"])
    with pytest.raises(ValueError, match="twice"):
        ts.cosine_graph(space, ["w1", "w2", "w1"])
    with pytest.raises(TypeError):
        ts.cosine_graph(space, "w1")
    with pytest.raises(ValueError, match="finite"):
        ts.cosine_graph(space, ["w1", "w2"], threshold=float("nan"))


def test_cosine_graph_real_glove():
    try:
        s = ts.load("glove-6b-50d")
    except ModuleNotFoundError as e:  # pragma: no cover
        pytest.skip(str(e))
    words = ["dog", "cat", "horse", "france", "germany", "italy", "red", "green", "blue"]
    g = ts.cosine_graph(s, words)
    G = g.to_networkx()
    # each category is connected inside itself, and categories do not touch
    import networkx as nx

    comps = sorted(sorted(c) for c in nx.connected_components(G))
    assert comps == [
        ["blue", "green", "red"],
        ["cat", "dog", "horse"],
        ["france", "germany", "italy"],
    ]
