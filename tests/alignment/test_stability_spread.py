"""Stability spread across run pairs, the dimension x corpus study, and issue 13 defect 5."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tokenspace as ts


def _runs(rng, R=4, V=60, d=8, noise=0.3):
    base = rng.standard_normal((V, d)).astype(np.float32)
    words = [f"w{i}" for i in range(V)]
    out = []
    for r in range(R):
        Q = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
        X = (base + noise * rng.standard_normal((V, d)).astype(np.float32)) @ Q
        out.append(ts.EmbeddingSpace(X, words, name=f"run{r}"))
    return out


def test_spread_matches_numpy_over_run_pairs(rng):
    rep = ts.stability(_runs(rng), k=5)
    iu = np.triu_indices(4, 1)
    for m in ("mean_cosine", "knn_overlap", "frobenius_raw"):
        vals = getattr(rep, m)[iu]
        sp = rep.spread(m)
        assert sp.n == 6
        assert sp.mean == pytest.approx(vals.mean())
        assert sp.std == pytest.approx(vals.std(ddof=1))
        assert (sp.min, sp.max) == (vals.min(), vals.max())
    off = rep.frobenius_aligned[~np.eye(4, dtype=bool)]  # both directions of the map
    assert rep.spread("frobenius_aligned").n == 12
    assert rep.spread("frobenius_aligned").mean == pytest.approx(off.mean())
    table = rep._table()  # one row per pair of runs
    assert len(table["run_a"]) == 6 and len(set(map(len, table.values()))) == 1
    assert table["mean_cosine"] == pytest.approx(rep.mean_cosine[iu].tolist())
    assert "+-" in rep._summary()
    with pytest.raises(ValueError, match="measure must be one of"):
        rep.spread("cosine")


def test_different_dimensions_summary_has_no_nan_and_no_warning(rng):
    # issue 13 defect 5: `tokenspace stability glove-6b-50d minilm-l6` printed numpy's
    # "Mean of empty slice" and "frobenius raw mean nan" (the runs' dimensions differ)
    a, b = _runs(rng, R=2)
    b = ts.EmbeddingSpace(
        np.concatenate([b.vectors, b.vectors[:, :3]], axis=1), b.vocab, name="wider"
    )
    rep = ts.stability([a, b], k=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = rep.summary()
        assert "nan" not in text.lower()
        assert "different dimensions" in text
        assert rep.spread("frobenius_raw").n == 0
        assert "1 pair" in text


def test_degenerate_runs_warn(rng):
    V, d = 200, 10
    common = rng.standard_normal(d).astype(np.float32)
    X = (common + 0.01 * rng.standard_normal((V, d))).astype(np.float32)
    from tokenspace.alignment import stability as st

    assert st._mean_pair_cosine(X) > 0.99
    U = ts.unit_rows(X).astype(np.float64)
    ref = (U.sum(0) @ U.sum(0) - V) / (V * (V - 1))
    assert st._mean_pair_cosine(X) == pytest.approx(ref, rel=1e-5)


@pytest.mark.slow
def test_train_defaults_are_real_runs_and_short_training_warns():
    pytest.importorskip("gensim")
    from tokenspace.alignment import stability as st

    with pytest.warns(UserWarning, match="degenerate"):
        ts.train_word2vec_runs(n_runs=1, epochs=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = ts.train_word2vec_runs(n_runs=2)
    assert max(st._mean_pair_cosine(r.vectors) for r in runs) < 0.9
    assert ts.stability(runs, k=10).knn_overlap[0, 1] > 0.2


@pytest.mark.slow
def test_stability_study_one_call():
    pytest.importorskip("gensim")
    study = ts.stability_study(dimensions=(8, 16), fractions=(0.5, 1.0), n_runs=2, epochs=5)
    t = study._table()
    assert t["dimension"] == [8, 8, 16, 16]
    assert t["corpus_tokens"][0] < t["corpus_tokens"][1]
    assert len(study.reports) == 4 and all(r.n_runs == 2 for r in study.reports)
    assert "dim" in study.table()
    with pytest.raises(ValueError, match="at least 2 runs"):
        ts.stability_study(n_runs=1)
    with pytest.raises(ValueError, match="fractions"):
        ts.stability_study(fractions=(0.0,))
