"""Contextual vectors of the embedded MiniLM through transformers, and the measures of
Ethayarajh (2019) checked against direct numpy computations on the same vectors."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections import defaultdict

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.analysis import contextual

from ..models import gensim_data

torch = pytest.importorskip("torch", reason="the context extra is not installed")
transformers = pytest.importorskip("transformers", reason="the context extra is not installed")

TEXTS = [
    "The bank raised its interest rates again.",
    "We sat on the river bank and watched the water.",
    "Unbelievably, the shipwrecked sailors survived.",
    "Hi.",
    "The bank of the river was covered in wildflowers after the long and unusually warm spring.",
    "She deposited the cheque at the bank.",
]


@pytest.fixture(scope="module")
def reference(minilm_folder):
    """hidden_states of AutoModel on the whole batch at once (padded to the longest text)."""
    tok = transformers.AutoTokenizer.from_pretrained(minilm_folder)
    model = transformers.AutoModel.from_pretrained(minilm_folder)
    model.eval()
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch, output_hidden_states=True).hidden_states
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    per_text = [
        [states[k][t, : lengths[t]].numpy() for k in range(len(states))] for t in range(len(TEXTS))
    ]
    return batch, per_text


@pytest.fixture(scope="module")
def corpus_sentences():
    with open(gensim_data("lee_background.cor"), encoding="utf-8") as f:
        docs = f.read().splitlines()
    return [s for d in docs for s in ts.split_sentences(d)]


@pytest.fixture(scope="module")
def corpus_result(minilm_folder, corpus_sentences):
    """ts.contextuality of 200 corpus sentences at all 7 hidden states."""
    return ts.contextuality(minilm_folder, corpus_sentences[:200], batch_size=64)


def first_texts(emb, n):
    """The occurrences of the first ``n`` texts (a smaller set for the O(N^2) references)."""
    keep = emb.sentence < n
    return dataclasses.replace(
        emb,
        vectors=np.asarray(emb.vectors)[:, keep],
        ids=emb.ids[keep],
        tokens=[t for t, k in zip(emb.tokens, keep) if k],
        sentence=emb.sentence[keep],
        position=emb.position[keep],
        special=emb.special[keep],
        pieces=emb.pieces[keep],
        n_texts=n,
    )


def test_equals_hidden_states_with_padding(minilm_folder, reference):
    batch, per_text = reference
    # batches of 2, ordered by length: each text is padded differently from the reference batch
    emb = ts.contextual_embeddings(minilm_folder, TEXTS, batch_size=2)
    assert emb.layers == tuple(range(7)) and emb.vectors.shape[0] == 7
    assert emb.vectors.dtype == np.float32
    for t in range(len(TEXTS)):
        rows = np.flatnonzero(emb.sentence == t)
        n = len(per_text[t][0])
        assert len(rows) == n
        np.testing.assert_array_equal(emb.position[rows], np.arange(n))
        np.testing.assert_array_equal(emb.ids[rows], batch["input_ids"][t, :n].numpy())
        for k in range(7):
            np.testing.assert_allclose(emb.vectors[k, rows], per_text[t][k], atol=1e-5, rtol=0)
    # special tokens are kept and marked
    assert [emb.tokens[i] for i in np.flatnonzero(emb.special)] == ["[CLS]", "[SEP]"] * len(TEXTS)


def test_layer_selection_and_memmap(minilm_folder, reference, tmp_path):
    _, per_text = reference
    path = tmp_path / "vectors.npy"
    emb = ts.contextual_embeddings(minilm_folder, TEXTS, layers=[-1, 0], memmap=path)
    assert emb.layers == (6, 0)
    assert isinstance(emb.vectors, np.memmap)
    rows = np.flatnonzero(emb.sentence == 1)
    np.testing.assert_allclose(emb.layer(-1)[rows], per_text[1][6], atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.load(path)[1, rows], per_text[1][0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="was not extracted"):
        emb.layer(3)


def test_mean_pooling_of_pieces(minilm_folder, reference):
    _, per_text = reference
    tok = transformers.AutoTokenizer.from_pretrained(minilm_folder)
    enc = tok(TEXTS[2])
    words = enc.word_ids()
    pooled = ts.contextual_embeddings(minilm_folder, TEXTS, layers=[3], pool="mean")
    rows = np.flatnonzero(pooled.sentence == 2)
    expected_words = [
        "[CLS]",
        "unbelievably",
        ",",
        "the",
        "shipwrecked",
        "sailors",
        "survived",
        ".",
        "[SEP]",
    ]
    assert [pooled.tokens[i] for i in rows] == expected_words
    # "shipwrecked" is several WordPiece pieces: its row is their mean
    w = words[enc.tokens().index("ship")]
    pieces = [p for p, x in enumerate(words) if x == w]
    assert len(pieces) > 1
    i = rows[expected_words.index("shipwrecked")]
    assert pooled.pieces[i] == len(pieces) and pooled.ids[i] == -1
    np.testing.assert_allclose(
        pooled.vectors[0, i], per_text[2][3][pieces].astype(np.float64).mean(axis=0), atol=1e-5
    )
    assert pooled.special[rows].tolist() == [True] + [False] * 7 + [True]


def test_torch_threads_follow_tokenspace(minilm_folder):
    _, model = contextual._load_model(str(minilm_folder.resolve()))
    seen = []
    handle = model.register_forward_hook(lambda *a: seen.append(torch.get_num_threads()))
    before_ts, before_torch = ts.num_threads(), torch.get_num_threads()
    try:
        ts.set_num_threads(1)
        ts.contextual_embeddings(minilm_folder, TEXTS[:2], layers=0)
    finally:
        handle.remove()
        ts.set_num_threads(before_ts)
    assert seen == [1]
    assert torch.get_num_threads() == before_torch


def _cos64(A, B):
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    return (A / np.linalg.norm(A, axis=1, keepdims=True)) @ (
        B / np.linalg.norm(B, axis=1, keepdims=True)
    ).T


@pytest.fixture
def one_blas_thread():
    # hundreds of tiny numpy SVDs: OpenBLAS threads only wait on a busy machine
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.mark.slow
@pytest.mark.usefixtures("one_blas_thread")
def test_measures_against_numpy(corpus_result):
    emb = first_texts(corpus_result.embeddings, 50)
    base = ts.anisotropy(emb, n_pairs=3000, n_sample=10**6, seed=3)
    selfsim = ts.self_similarity(emb, min_count=3, baseline=base)
    intra = ts.intra_sentence_similarity(emb, baseline=base)
    mev = ts.max_explainable_variance(emb, min_count=3, baseline=base)
    plain = np.flatnonzero(~emb.special)
    by_word = defaultdict(list)
    for i in plain:
        by_word[emb.tokens[i]].append(i)
    words = sorted(w for w, occ in by_word.items() if len(occ) >= 3)
    assert selfsim.words == words == mev.words and len(words) > 30
    texts = emb.sentence[plain]
    for k in range(len(emb.layers)):
        X = np.asarray(emb.vectors[k], dtype=np.float64)
        for j, w in enumerate(words):
            occ = by_word[w]
            C = _cos64(X[occ], X[occ])
            n = len(occ)
            assert selfsim.values[k, j] == pytest.approx(
                (C.sum() - np.trace(C)) / (n * n - n), abs=1e-5
            )
            s = np.linalg.svd(X[occ], compute_uv=False)
            assert mev.values[k, j] == pytest.approx(s[0] ** 2 / (s**2).sum(), abs=1e-6)
        per_text = []
        for t in np.unique(texts):
            occ = plain[texts == t]
            if len(occ) >= 2:
                per_text.append(_cos64(X[occ], X[occ].mean(axis=0, keepdims=True)).mean())
        np.testing.assert_allclose(intra.values[k], per_text, atol=1e-5)
        # the baseline: all pairs from different texts; the sampled mean within 4 standard errors
        full = _cos64(X[plain], X[plain])[texts[:, None] != texts[None, :]]
        assert abs(base.mean_cosine[k] - full.mean()) < 4 * full.std() / np.sqrt(base.n_pairs)
        s = np.linalg.svd(X[plain], compute_uv=False)  # n_sample covers every occurrence
        assert base.mev[k] == pytest.approx(s[0] ** 2 / (s**2).sum(), abs=1e-6)
    np.testing.assert_allclose(selfsim.adjusted, selfsim.values.mean(axis=1) - base.mean_cosine)
    np.testing.assert_allclose(mev.adjusted, mev.values.mean(axis=1) - base.mev)


@pytest.mark.slow
def test_contextuality_over_corpus_sentences(corpus_result):
    res = corpus_result
    assert res.embeddings.n_texts == 200 and res.layers == tuple(range(7))
    df = res.to_pandas()
    assert list(df.columns) == [
        "layer",
        "self_similarity",
        "intra_sentence_similarity",
        "mev",
        "anisotropy",
        "self_similarity_adjusted",
        "intra_sentence_similarity_adjusted",
        "mev_adjusted",
    ]
    assert df["layer"].tolist() == list(range(7))
    assert np.isfinite(df.to_numpy()).all()
    assert ((df["mev"] > 0) & (df["mev"] <= 1)).all()
    assert ((df["anisotropy"] > -1) & (df["anisotropy"] < 1)).all()
    # the paper's finding: representations grow more context-specific in upper layers
    assert df["self_similarity_adjusted"].iloc[-1] < df["self_similarity_adjusted"].iloc[0]
    np.testing.assert_allclose(
        df["intra_sentence_similarity_adjusted"], df["intra_sentence_similarity"] - df["anisotropy"]
    )
    assert "Contextuality(7 hidden states" in repr(res)


@pytest.mark.slow
def test_distilled_static_embeddings(corpus_result):
    emb = corpus_result.embeddings
    pc = ts.distill_static(emb, layer=1, method="pc", min_count=3)
    mean = ts.distill_static(emb, layer=1, method="mean", min_count=3)
    assert isinstance(pc, ts.EmbeddingSpace) and pc.vocab == mean.vocab and pc.dim == 384
    X = np.asarray(emb.layer(1), dtype=np.float64)
    for w in pc.vocab[:: max(1, len(pc) // 25)]:
        occ = [i for i in np.flatnonzero(~emb.special) if emb.tokens[i] == w]
        assert len(occ) >= 3
        np.testing.assert_allclose(mean[w], X[occ].mean(axis=0), atol=1e-5)
        v = np.linalg.svd(X[occ], full_matrices=False)[2][0]
        v = v if v @ X[occ].mean(axis=0) >= 0 else -v
        np.testing.assert_allclose(pc[w], v, atol=1e-4)
    assert "the" in pc and "[CLS]" not in pc


def test_static_vs_contextual_bank(minilm_folder, minilm):
    sentences = [TEXTS[0], TEXTS[1], TEXTS[5]]
    res = ts.static_vs_contextual(minilm_folder, "bank", sentences, layers=[0, 6], k=4)
    emb = ts.contextual_embeddings(minilm_folder, sentences, layers=[0, 6], pool="mean")
    rows = [
        int(np.flatnonzero((emb.sentence == t) & (np.array(emb.tokens) == "bank"))[0])
        for t in range(3)
    ]
    static = np.asarray(minilm["bank"], dtype=np.float64)
    E = np.asarray(minilm.vectors, dtype=np.float64)
    En = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-30)
    for k in range(2):
        V = np.asarray(emb.vectors[k, rows], dtype=np.float64)
        np.testing.assert_allclose(res.cosines[k], _cos64(V, V), atol=1e-5)
        np.testing.assert_allclose(res.static_cosine[k], _cos64(V, static[None])[:, 0], atol=1e-5)
        top = np.argsort(
            -(En @ (V / np.linalg.norm(V, axis=1, keepdims=True)).T), axis=0, kind="stable"
        )[:4].T
        assert res.neighbors[k] == [[minilm.vocab[j] for j in r] for r in top]
    # same word, two senses: the financial "bank"s are closer to each other in the last layer
    assert res.cosines[1][0, 2] > res.cosines[1][0, 1]
    assert res.to_pandas().shape == (2, 3)


def test_bad_input(minilm_folder, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="out of range: the model has 7 hidden states"):
        ts.contextual_embeddings(minilm_folder, TEXTS, layers=7)
    with pytest.raises(ValueError, match="out of range"):
        ts.contextuality(minilm_folder, TEXTS, layers=[0, -8])
    with pytest.raises(ValueError, match="texts is empty"):
        ts.contextual_embeddings(minilm_folder, [])
    with pytest.raises(ValueError, match="texts is empty"):
        ts.contextuality(minilm_folder, [])
    with pytest.raises(KeyError, match="never occur in the texts: \\['zebra'\\]"):
        ts.contextuality(minilm_folder, TEXTS, words=["bank", "zebra"])
    with pytest.raises(KeyError, match="'zebra' does not occur in sentence 0"):
        ts.static_vs_contextual(minilm_folder, "zebra", TEXTS[:2])
    with pytest.raises(ValueError, match="more than the model's 512"):
        ts.contextual_embeddings(minilm_folder, ["word " * 600])
    no_weights = tmp_path / "tokenizer-only"
    no_weights.mkdir()
    for f in minilm_folder.iterdir():
        if f.is_file() and not f.name.endswith((".safetensors", ".bin")):
            shutil.copy(f, no_weights / f.name)
    with pytest.raises(FileNotFoundError, match="has no model weights"):
        ts.contextual_embeddings(no_weights, TEXTS)
    with pytest.raises(TypeError, match="no model folder"):
        ts.contextual_embeddings(ts.EmbeddingSpace(np.eye(2, dtype=np.float32), ["a", "b"]), TEXTS)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tokenspace\[context\]'"):
        ts.contextual_embeddings(minilm_folder, TEXTS)


def test_split_sentences():
    text = "The U.S. bank fell 3.5 per cent. Shares rose! Did they? Yes. 2001 was bad."
    assert ts.split_sentences(text) == ["The U.S. bank fell 3.5 per cent.", "2001 was bad."]
    assert ts.split_sentences(text, min_words=1) == [
        "The U.S. bank fell 3.5 per cent.",
        "Shares rose!",
        "Did they?",
        "Yes.",
        "2001 was bad.",
    ]
