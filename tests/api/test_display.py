"""Notebook display of every result object: a short repr with the head of the data, an HTML
table, to_pandas() and to_dict() in plain Python types; graph export of k-NN results."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import tokenspace as ts
from tokenspace._display import Display
from tokenspace.alignment.stability import StabilityReport

WORDS = [f"word{i:04d}" for i in range(400)]


@pytest.fixture(scope="module")
def space():
    rng = np.random.default_rng(7)
    return ts.EmbeddingSpace(rng.standard_normal((400, 12)).astype(np.float32), WORDS, name="toy")


def _results(space):
    """One instance of every result class, built through the public API where it is cheap."""
    rng = np.random.default_rng(3)
    X = space.vectors[:60]
    Y = X @ np.linalg.qr(rng.standard_normal((12, 12)))[0].astype(np.float32)
    ali = ts.procrustes(X, Y)
    tr = ts.Translation(
        ["word0001", "word0002"],
        np.array([[1, 5], [2, 7]]),
        np.ones((2, 2), np.float32),
        [["word0001", "word0005"], ["word0002", "word0007"]],
        "nn",
    )
    sec = ts.AnalogySection("capital-common-countries", 3, 1)
    ev = ts.AnalogyEvaluation(
        0.6,
        [sec, ts.AnalogySection("family", 0, 1)],
        [("a", "b", "c", "d")] * 5,
        np.array([0, 0, 0, 0, 1]),
        np.array([True, True, True, False, False]),
        ["d", "d", "d", "x", "y"],
        n_oov=2,
        n_questions=7,
    )
    wp = ts.WordPairEvaluation(
        0.5,
        0.01,
        0.4,
        0.02,
        10.0,
        3,
        0,
        np.array([1.0, 2.0, 3.0]),
        np.array([0.1, 0.3, 0.2], np.float32),
        [("a", "b"), ("c", "d"), ("e", "f")],
    )
    R = 3
    stab = StabilityReport(
        WORDS[:5],
        ["r0", "r1", "r2"],
        *(rng.random((R, R)) for _ in range(5)),
        rng.random(5),
        rng.random(5),
        [np.ones(3)] * 3,
        10,
    )
    pts = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    groups = {"a": WORDS[:4], "b": WORDS[4:8]}
    return {
        "Neighbors": space.knn(["word0001", "word0002"], k=5),
        "Neighbors(graph)": space.knn_graph(k=3),
        "AnalogyResult": ts.solve_analogies(space, [("word0001", "word0002", "word0003")], topn=3),
        "AnalogySection": sec,
        "AnalogyEvaluation": ev,
        "WordPairEvaluation": wp,
        "Alignment": ali,
        "Normalizer": ts.Normalizer(("unit", "center"), (np.zeros(3, np.float32),)),
        "Translation": tr,
        "TranslationAccuracy": ts.TranslationAccuracy({1: 0.5, 5: 0.75}, 4, 5, 1, "csls"),
        "StabilityReport": stab,
        "RSAResult": ts.rsa(X, Y),
        "SelectivityResult": ts.category_selectivity(space, groups),
        "Clusters": ts.dbscan(pts, 0.5, 3),
        "DbscanSweep": ts.dbscan_sweep(pts, [0.3, 0.5], [2, 3]),
        "CosineGraph": ts.cosine_graph(space, WORDS[:10], 0.0),
        "AxisExtremes": ts.extremes(space, space.vectors @ space.vectors[0], 4),
        "SequenceCosines": ts.SequenceCosines(
            ["a", "b", "c"], np.array([0, 1, 2]), np.array([0.5, 0.25], np.float32)
        ),
        "Tokens": ts.Tokens(["Ġthe", "Ġcat"], np.array([5, 9]), [(0, 3), (3, 7)]),
        "SingleTokenWords": ts.SingleTokenWords(["the"], np.array([5]), ["Ġthe"], ["xyz"]),
        "ContentTokens": ts.tokens.ContentTokens(np.array([1]), ["word0001"], ["zz"]),
        "ContextualEmbeddings": ts.ContextualEmbeddings(
            vectors=np.ones((1, 2, 4), np.float32),
            layers=(6,),
            ids=np.array([101, 7]),
            tokens=["[CLS]", "hi"],
            sentence=np.array([0, 0]),
            position=np.array([0, 1]),
            special=np.array([True, False]),
            pieces=np.array([1, 1]),
            n_hidden_states=7,
            n_texts=1,
        ),
        **_inference_and_contextual(space, stab),
    }


def _inference_and_contextual(space, stab):
    """The classes of RSA inference, baselines, model comparisons and contextuality: through
    the API where it is cheap, otherwise built from small arrays (contextual models need torch
    and a model folder; tests/analysis/test_contextual.py runs those on MiniLM)."""
    L = (0, 1)
    two = np.array([0.5, 0.25])
    words = ["bank", "river"]
    ss = ts.SelfSimilarity(L, words, np.array([3, 2]), np.array([[0.9, 0.8], [0.7, 0.6]]), two)
    intra = ts.IntraSentenceSimilarity(L, np.ones((2, 3)), np.arange(3), two)
    mev = ts.MaxExplainableVariance(L, words, np.array([3, 2]), np.full((2, 2), 0.4), two)
    aniso = ts.Anisotropy(L, two, two, 100, 50)
    emb = _results_embeddings()
    test = ts.PairedTest("a", "b", "mcnemar", 1.5, 0.2, 0.1, None, 4, 2)
    return {
        "SpectrumBaseline": ts.spectrum_baseline(space, WORDS[:8], n_random=20),
        "NullBand": ts.shuffle_band(space, lambda s: ts.svd_spectrum(s.vectors[:50]), seeds=3),
        "MeasureSpread": stab.spread("mean_cosine"),
        "StabilityStudy": ts.StabilityStudy([12], [1000], [1.0], 3, [stab]),
        "PairedTest": test,
        "ModelComparison": ts.ModelComparison(
            "analogies",
            ["a", "b"],
            [0.5, 0.6],
            [0.5, 0.7],
            [10, 8],
            12,
            8,
            [test],
            np.arange(8),
            None,
        ),
        "SelfSimilarity": ss,
        "IntraSentenceSimilarity": intra,
        "MaxExplainableVariance": mev,
        "Anisotropy": aniso,
        "Contextuality": ts.Contextuality(emb, ss, intra, mev, aniso),
        "StaticVsContextual": ts.StaticVsContextual(
            "bank",
            ["a bank", "the bank"],
            L,
            np.ones((2, 2, 2)),
            np.full((2, 2), 0.5),
            [[["money"], ["loan"]], [["river"], ["shore"]]],
            np.full((2, 2, 1), 0.3),
        ),
    }


def _results_embeddings():
    return ts.ContextualEmbeddings(
        vectors=np.ones((2, 2, 4), np.float32),
        layers=(0, 1),
        ids=np.array([101, 7]),
        tokens=["[CLS]", "bank"],
        sentence=np.array([0, 0]),
        position=np.array([0, 1]),
        special=np.array([True, False]),
        pieces=np.array([1, 1]),
        n_hidden_states=2,
        n_texts=1,
    )


@pytest.fixture(scope="module")
def results(space):
    return _results(space)


def _all_plain(x) -> bool:
    if isinstance(x, dict):
        return all(isinstance(k, (str, int)) and _all_plain(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_all_plain(v) for v in x)
    return x is None or type(x) in (str, int, float, bool)


def test_every_result_class_opts_in(results):
    names = {type(r).__name__ for r in results.values()}
    exported = {
        n
        for n in ts.__all__
        if isinstance(getattr(ts, n), type) and issubclass(getattr(ts, n), Display)
    }
    assert exported <= names  # every exported result class is exercised below
    assert {"Neighbors", "RSAResult", "StabilityReport", "Translation", "Alignment"} <= exported


def test_repr_is_short_and_starts_with_the_summary(results):
    for key, r in results.items():
        text = repr(r)
        lines = text.splitlines()
        assert lines[0].startswith(type(r).__name__ + "("), key
        assert len(lines) <= 12 and max(len(line) for line in lines) < 200, key


def test_html_is_a_table(results):
    for key, r in results.items():
        html = r._repr_html_()
        assert html.startswith('<div class="ts-result">') and type(r).__name__ in html, key
        assert "<table" in html and "<td>" in html, key


def test_to_pandas_and_to_dict(results):
    for key, r in results.items():
        df = r.to_pandas()
        table = r._table()
        assert list(df.columns) == list(table), key
        assert len(df) == len(next(iter(table.values()))), key
        d = r.to_dict()
        assert _all_plain(d), key
        json.dumps(d)  # NaN allowed, as json writes it


def test_to_pandas_without_pandas_says_what_to_install(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        results["Neighbors"].to_pandas()
    assert results["Neighbors"].to_dict()["indices"]  # to_dict needs nothing


def test_large_results_show_only_their_head(space, results):
    g = results["Neighbors(graph)"]
    text = repr(g)
    assert "1200 in all" in text and "more rows" in text
    # never the whole vocabulary, nor a whole matrix
    assert sum(w in text for w in WORDS) <= 8 and str(g.indices.tolist()) not in text
    assert len(g.to_pandas()) == 400 * 3
    html = g._repr_html_()
    assert html.count("<tr>") == 1 + 50 and "showing 50 of 1200 rows" in html


def test_tables_hold_the_right_numbers(results):
    ev = results["AnalogyEvaluation"].to_pandas()
    assert ev["section"].tolist() == ["capital-common-countries", "family"]
    assert ev["accuracy"].tolist() == [0.75, 0.0]
    nb = results["Neighbors"]
    df = nb.to_pandas()
    assert df["query"].tolist() == ["word0001"] * 5 + ["word0002"] * 5
    assert df["id"].tolist() == nb.indices.ravel().tolist()
    np.testing.assert_array_equal(df["score"].to_numpy(np.float32), nb.scores.ravel())
    st = results["StabilityReport"]
    sdf = st.to_pandas()
    assert list(zip(sdf["run_a"], sdf["run_b"])) == [("r0", "r1"), ("r0", "r2"), ("r1", "r2")]
    assert sdf["mean_cosine"].tolist()[1] == st.mean_cosine[0, 2]
    acc = results["TranslationAccuracy"].to_pandas()
    assert acc.to_dict("list") == {"k": [1, 5], "precision": [0.5, 0.75]}


def test_rsa_result_is_still_a_float(results):
    r = results["RSAResult"]
    assert isinstance(r, float) and float(r) == r.r and r + 0 == r.r
    assert str(r) == repr(r.r) and repr(r).startswith("RSAResult(r=")
    assert len(repr(r).splitlines()) == 1
    assert r.to_dict()["r"] == r.r and r.to_pandas()["n_pairs"].tolist() == [r.n_pairs]


def test_color_text_renders_in_notebooks(minilm):
    html = ts.color_text(minilm, "the cat sat")
    assert isinstance(html, str) and html._repr_html_() == str(html)
    assert html.startswith("<div")


def _exact_neighbours(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    U = X.astype(np.float64)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    idx = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(S, idx, 1)


def test_to_sparse_matches_a_numpy_graph(space):
    g = space.knn_graph(k=4)
    A = g.to_sparse()
    idx, sims = _exact_neighbours(space.vectors, 4)
    assert A.shape == (400, 400) and A.format == "csr" and A.nnz == 400 * 4
    dense = np.zeros((400, 400))
    np.put_along_axis(dense, idx, sims, 1)
    np.testing.assert_allclose(A.toarray(), dense, atol=1e-6)
    # word queries: row i is query i; n_items widens the matrix to the vocabulary
    q = space.knn(["word0003", "word0010"], k=2).to_sparse(n_items=len(space))
    assert q.shape == (2, 400) and sorted(q[[0]].indices.tolist()) == sorted(idx[3, :2].tolist())
    with pytest.raises(ValueError, match="n_items"):
        g.to_sparse(n_items=10)


def test_to_networkx(space):
    nx = pytest.importorskip("networkx")
    g = space.knn_graph(k=3)
    G = g.to_networkx()
    idx, sims = _exact_neighbours(space.vectors, 3)
    assert isinstance(G, nx.DiGraph) and G.number_of_nodes() == 400
    assert G.number_of_edges() == 400 * 3
    for i in (0, 17, 399):
        for j, s in zip(idx[i], sims[i]):
            assert G[i][int(j)]["weight"] == pytest.approx(s, abs=1e-6)
    named = g.to_networkx(labels=space.vocab, directed=False)
    assert isinstance(named, nx.Graph) and not named.is_directed()
    mutual = sum(1 for i in range(400) for j in idx[i] if i in idx[j]) // 2
    assert named.number_of_edges() == 400 * 3 - mutual
    assert named.has_edge("word0000", WORDS[int(idx[0, 0])])
    q = space.knn(["word0005"], k=2).to_networkx()
    assert set(q.successors(5)) == set(idx[5, :2].tolist()) and q.nodes[5]["word"] == "word0005"
