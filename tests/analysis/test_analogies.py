"""Analogies, evaluations, semantic axes, spectra and null models.

Kernels are checked against numpy float64 references at every SIMD level; the user-facing
functions against gensim's KeyedVectors on the same vectors (synthetic and the embedded GloVe).
"""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core
from tokenspace.cli import main as cli_main

gensim = pytest.importorskip("gensim")
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")
from gensim.models import KeyedVectors  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402


def _unit64(X):
    X = np.asarray(X, dtype=np.float64)
    n = np.linalg.norm(X, axis=-1, keepdims=True)
    return X / np.where(n == 0, 1, n)


def _kv(s):
    kv = KeyedVectors(s.dim)
    kv.add_vectors(list(s.vocab), np.array(s.vectors))
    return kv


# kernels
@pytest.mark.parametrize("m", [1, 3, 37])
@pytest.mark.parametrize(
    "method,n_pos,n_neg",
    [
        ("3cosmul", 1, 0),
        ("3cosmul", 2, 1),
        ("3cosmul", 3, 2),
        ("3cosadd", 2, 1),
        ("3cosadd", 1, 3),
    ],
)
def test_analogy_kernel_matches_float64_reference(simd_level, m, method, n_pos, n_neg):
    rng = np.random.default_rng(m * 10 + n_pos)
    n, d, k, u = 3001, 37, 9, 11
    U = _core.normalize_rows(rng.standard_normal((n, d)).astype(np.float32))[0]
    T = n_pos + n_neg
    tid = rng.integers(0, n, u)
    terms = U[tid]
    qterms = rng.integers(0, u, (m, T))  # queries share terms, as in an analogy test set
    exclude = np.concatenate([tid[qterms], -np.ones((m, 1), dtype=np.int64)], axis=1)
    w = rng.uniform(-2, 2, T) if method == "3cosadd" else None
    idx, sc = _core.analogy(terms, qterms, U, k, method, w, n_pos, 1e-6, exclude)
    cos = U.astype(np.float64) @ terms.astype(np.float64).T  # (n, u)
    c = cos[:, qterms]  # (n, m, T)
    if method == "3cosadd":
        ref = c @ w.astype(np.float32).astype(np.float64)
    else:
        sh = (1 + c) / 2
        ref = np.prod(sh[:, :, :n_pos], axis=2) / (np.prod(sh[:, :, n_pos:], axis=2) + 1e-6)
    for i in range(m):
        ref[tid[qterms[i]], i] = -np.inf
    ref_idx = np.argsort(-ref, axis=0, kind="stable")[:k].T
    ref_sc = np.take_along_axis(ref.T, ref_idx, 1)
    np.testing.assert_allclose(sc, ref_sc, rtol=1e-5, atol=1e-5)
    # ids may only differ where the reference scores tie within float32 noise
    diff = idx != ref_idx
    assert np.all(np.abs(ref_sc[diff] - np.take_along_axis(ref.T, idx, 1)[diff]) < 1e-5)


def test_analogy_kernel_pads_when_everything_is_excluded():
    U = np.eye(4, dtype=np.float32)
    idx, sc = _core.analogy(
        U[[0]], np.array([[0]]), U, 4, "3cosmul", None, 1, 1e-6, np.array([[0, 1]])
    )
    assert idx[0].tolist()[2:] == [-1, -1] and np.isneginf(sc[0, 2:]).all()
    assert sorted(idx[0, :2].tolist()) == [2, 3]


def test_analogy_kernel_rejects_bad_input():
    U = np.eye(4, dtype=np.float32)
    q = np.array([[0, 1]])
    with pytest.raises(ValueError, match="positive"):
        _core.analogy(U, q, U, 1, "3cosmul", None, 0)
    with pytest.raises(ValueError, match="dimension"):
        _core.analogy(np.ones((2, 3), np.float32), q, U, 1, "3cosmul")
    with pytest.raises(ValueError, match="k must"):
        _core.analogy(U, q, U, 5, "3cosmul")
    with pytest.raises(ValueError, match="out of range"):
        _core.analogy(U, np.array([[0, 9]]), U, 1, "3cosmul")
    with pytest.raises(ValueError, match="weights"):
        _core.analogy(U, q, U, 1, "3cosadd")
    with pytest.raises(ValueError, match="method"):
        _core.analogy(U, q, U, 1, "3cosdiv")


@pytest.mark.parametrize("n", [1, 17, 40000])
def test_project_kernel_matches_float64_reference(simd_level, n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 50)).astype(np.float32)
    a = rng.standard_normal(50).astype(np.float32)
    out = _core.project(X, a, 0.25)
    ref = X.astype(np.float64) @ a.astype(np.float64) - 0.25
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="length 50"):
        _core.project(X, a[:3])


# most_similar vs gensim on synthetic vectors
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(2000)]
    s = ts.EmbeddingSpace(rng.standard_normal((2000, 24)).astype(np.float32), words)
    return s, _kv(s)


def _same(a, b, tol=1e-6):
    assert [w for w, _ in a] == [w for w, _ in b]
    np.testing.assert_allclose([x for _, x in a], [x for _, x in b], atol=tol)


@pytest.mark.parametrize(
    "kw",
    [
        dict(positive=["w1", "w2"], negative=["w3"]),
        dict(positive="w5"),
        dict(positive=["w5"], negative=["w9"], topn=50),
        dict(positive=["w1", "w2"], negative=["w3"], restrict_vocab=300),
        dict(positive=[("w1", 2.0), "w2"], negative=[("w3", -0.5)]),
        dict(positive=["w1", "w1"], negative=["w3"], topn=3),
        dict(negative=["w4"]),
    ],
)
def test_most_similar_3cosadd_matches_gensim(small, kw):
    s, kv = small
    _same(s.most_similar(**kw), kv.most_similar(**kw))


@pytest.mark.parametrize(
    "kw",
    [
        dict(positive=["w1", "w2"], negative=["w3"]),
        dict(positive=["w1"]),
        dict(positive=["w1", "w2", "w7"], negative=["w3", "w11"], topn=25),
    ],
)
def test_most_similar_3cosmul_matches_gensim(small, kw):
    s, kv = small
    _same(s.most_similar(method="3cosmul", **kw), kv.most_similar_cosmul(**kw))


def test_most_similar_topn_none_and_vector_inputs(small):
    s, kv = small
    a = s.most_similar(["w1", "w2"], ["w3"], topn=None)
    b = kv.most_similar(["w1", "w2"], ["w3"], topn=None)
    np.testing.assert_allclose(a, b, atol=1e-6)
    a = s.most_similar(["w1", "w2"], ["w3"], topn=None, method="3cosmul")
    b = kv.most_similar_cosmul(["w1", "w2"], ["w3"], topn=None)
    np.testing.assert_allclose(a, b, atol=1e-6)
    a = s.most_similar(["w1", "w2"], ["w3"], topn=None, restrict_vocab=100)
    assert a.shape == (100,)
    v = np.array(s["w8"]) * 3
    _same(s.most_similar(positive=[v, "w2"]), kv.most_similar(positive=[v, "w2"]))


def test_most_similar_options_and_errors(small):
    s, _ = small
    assert s.most_similar("w1", topn=0) == []
    res = s.most_similar(["w1", "w2"], ["w3"], topn=5, exclude_inputs=False)
    assert len(res) == 5
    # topn larger than what is left after excluding the inputs
    assert len(s.most_similar(["w1", "w2"], topn=5000, restrict_vocab=10)) == 8
    assert len(s.most_similar(["w1", "w2"], topn=5000, restrict_vocab=3)) == 1
    assert s.most_similar(["w0", "w1", "w2"], topn=5, restrict_vocab=3) == []
    with pytest.raises(KeyError, match="nope"):
        s.most_similar(["w1", "nope"])
    with pytest.raises(ValueError, match="no input"):
        s.most_similar()
    with pytest.raises(ValueError, match="positive"):
        s.most_similar(negative=["w1"], method="3cosmul")
    with pytest.raises(ValueError, match="method"):
        s.most_similar("w1", method="3cosdiv")
    with pytest.raises(ValueError, match="shape"):
        s.most_similar([np.ones(3)])
    z = ts.EmbeddingSpace(
        np.vstack([np.zeros((1, 4)), np.eye(4)]).astype(np.float32), ["z", "a", "b", "c", "d"]
    )
    with pytest.raises(ValueError, match="zero vector"):
        z.most_similar(["z", "a"])


def test_solve_analogies_batch_equals_single_queries(small):
    s, kv = small
    qs = [("w1", "w2", "w3"), ("w10", "w20", "w30"), ("w5", "w5", "w6")] * 4
    for method, fn in (("3cosadd", kv.most_similar), ("3cosmul", kv.most_similar_cosmul)):
        r = ts.solve_analogies(s, qs, topn=3, method=method)
        assert r.indices.shape == (12, 3)
        for i, (a, b, c) in enumerate(qs):
            _same(r[i], fn(positive=[b, c], negative=[a], topn=3))
    with pytest.raises(ValueError, match="a is to b"):
        ts.solve_analogies(s, [("w1", "w2")])


# evaluations vs gensim
def _write_questions(tmp_path, per_section):
    """The first `per_section` questions of every section of gensim's questions-words.txt."""
    out, count = [], 0
    with open(datapath("questions-words.txt")) as f:
        for line in f:
            if line.startswith(": "):
                out.append(line)
                count = 0
            elif count < per_section:
                out.append(line)
                count += 1
    p = tmp_path / "questions.txt"
    p.write_text("".join(out))
    return p


def _assert_same_evaluation(r, g):
    score, sections = r.to_gensim()
    assert score == g[0]
    assert [x["section"] for x in sections] == [x["section"] for x in g[1]]
    for a, b in zip(sections, g[1]):
        assert a["correct"] == b["correct"], a["section"]
        assert a["incorrect"] == b["incorrect"], a["section"]


def test_evaluation_rules_with_case_variants(tmp_path):
    """Case variants: the lowest id wins, the top-5 skip the questions' own words, OOV counted."""
    rng = np.random.default_rng(3)
    words = [
        "king",
        "King",
        "queen",
        "man",
        "woman",
        "KING",
        "Queen",
        "prince",
        "lady",
        "lord",
        "paris",
        "france",
        "rome",
        "italy",
        "Rome",
        "berlin",
        "germany",
        "zzz",
    ]
    words += [f"x{i}" for i in range(200)]
    X = rng.standard_normal((len(words), 8)).astype(np.float32)
    X[words.index("Queen")] = (
        X[words.index("king")] + 0.01
    )  # a case variant of an input ranks first
    s = ts.EmbeddingSpace(X, words)
    kv = _kv(s)
    q = tmp_path / "q.txt"
    q.write_text(
        ": royals\nman king woman queen\nMAN KING WOMAN QUEEN\nman king woman unknownword\n"
        "bad line\n: capitals\nparis france rome italy\nrome italy berlin germany\n"
        "paris france berlin germany\nprince lady lord zzz\n"
    )
    for kw in (
        dict(),
        dict(case_insensitive=False),
        dict(dummy4unknown=True),
        dict(restrict_vocab=12),
        dict(restrict_vocab=None),
    ):
        rv = kw.pop("restrict_vocab", 300000)
        r = ts.evaluate_analogies(s, q, restrict_vocab=rv, **kw)
        g = kv.evaluate_word_analogies(str(q), restrict_vocab=rv, **kw)
        _assert_same_evaluation(r, g)
    r = ts.evaluate_analogies(s, q)
    assert r.n_questions == 7 and r.n_oov == 1
    assert "Total accuracy" in r.table()


def test_evaluation_file_errors(tmp_path, small):
    s, _ = small
    with pytest.raises(FileNotFoundError, match="datapath"):
        ts.evaluate_analogies(s, tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a b c d\n")
    with pytest.raises(ValueError, match="section header"):
        ts.evaluate_analogies(s, bad)
    empty = tmp_path / "empty.txt"
    empty.write_text(": s\n")
    with pytest.raises(ValueError, match="no analogy questions"):
        ts.evaluate_analogies(s, empty)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("# comment\nfoo\tbar\t1.0\nnot a pair\n")
    with pytest.raises(ValueError, match="no valid similarity"):
        ts.evaluate_word_pairs(s, pairs)


@pytest.fixture(scope="module")
def glove_kv(glove):
    return glove, _kv(glove)


@pytest.mark.slow
def test_glove_most_similar_matches_gensim(glove_kv):
    s, kv = glove_kv
    for pos, neg in (
        (["king", "woman"], ["man"]),
        (["paris", "germany"], ["france"]),
        (["walking", "swam"], ["walked"]),
        (["computer"], []),
    ):
        _same(s.most_similar(pos, neg, topn=20), kv.most_similar(pos, neg, topn=20))
        _same(
            s.most_similar(pos, neg, topn=10, method="3cosmul"),
            kv.most_similar_cosmul(pos, neg, topn=10),
        )
        _same(
            s.most_similar(pos, neg, topn=10, restrict_vocab=30000),
            kv.most_similar(pos, neg, topn=10, restrict_vocab=30000),
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_glove_word_pairs_identical_to_gensim(glove_kv, name):
    s, kv = glove_kv
    r = ts.evaluate_word_pairs(s, datapath(name))
    (p, pp), (sp, spp), oov = kv.evaluate_word_pairs(datapath(name))
    assert (r.pearson, r.pearson_pvalue, r.spearman, r.spearman_pvalue, r.oov_ratio) == (
        p,
        pp,
        sp,
        spp,
        oov,
    )
    r = ts.evaluate_word_pairs(s, datapath(name), dummy4unknown=True, restrict_vocab=20000)
    (p, _), (sp, _), oov = kv.evaluate_word_pairs(
        datapath(name), dummy4unknown=True, restrict_vocab=20000
    )
    assert (r.pearson, r.spearman, r.oov_ratio) == (p, sp, oov)


@pytest.mark.slow
def test_glove_analogies_identical_to_gensim(glove_kv, tmp_path):
    """Every section of questions-words.txt (first 60 questions each), restrict_vocab=30000.

    The full file at restrict_vocab=300000 is compared with gensim in benchmarks/bench_analogy.py
    (gensim alone needs ~50 s there).
    """
    s, kv = glove_kv
    q = _write_questions(tmp_path, 60)
    g = kv.evaluate_word_analogies(str(q), restrict_vocab=30000)
    old = ts.simd_level()
    try:
        for level in ts.available_simd_levels():  # every kernel level gives gensim's answers
            ts.set_simd_level(level)
            r = ts.evaluate_analogies(s, q, restrict_vocab=30000)
            _assert_same_evaluation(r, g)
    finally:
        ts.set_simd_level(old)
    assert r.sections[0].name == "capital-common-countries" and len(r.sections) == 14


@pytest.mark.slow
def test_glove_full_analogy_set_runs(glove_kv):
    s, _ = glove_kv
    r = ts.evaluate_analogies(s, datapath("questions-words.txt"), restrict_vocab=300000)
    assert r.n_questions == 19544
    assert r.n_correct + r.n_incorrect + r.n_oov == r.n_questions
    assert 0.4 < r.accuracy < 0.6  # GloVe 6B 50d: ~0.46 on the Google set
    m = ts.evaluate_analogies(
        s, datapath("questions-words.txt"), restrict_vocab=300000, method="3cosmul"
    )
    assert m.n_correct + m.n_incorrect == r.n_correct + r.n_incorrect


# semantic axes
def test_project_of_an_array_names_a_non_finite_row():
    # arrays are checked through the projections (one pass over the input, not two)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 7)).astype(np.float32)
    a = rng.standard_normal(7)
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[123, 4] = bad
        for kw in ({}, {"center": "mean"}, {"center": np.zeros(7)}):
            with pytest.raises(ValueError, match="X row 123 contains NaN or Inf"):
                ts.project(Y, a, **kw)
    # an infinite value along a zero axis component still makes the projection NaN
    Y = X.copy()
    Y[5, 0] = np.inf
    with pytest.raises(ValueError, match="X row 5"):
        ts.project(Y, np.r_[0.0, np.ones(6)], normalize_axis=False)
    with pytest.raises(ValueError, match="center contains NaN"):
        ts.project(X, a, center=np.full(7, np.nan))
    np.testing.assert_allclose(
        ts.project(X, a), X.astype(np.float64) @ (a / np.linalg.norm(a)), atol=1e-5
    )


def test_semantic_axis_project_and_extremes(small):
    s, _ = small
    U = _unit64(s.vectors)
    ax = ts.semantic_axis(s, ["w1", "w2"], ["w3"])
    np.testing.assert_allclose(ax, U[[1, 2]].mean(0) - U[3], atol=1e-6)
    raw = ts.semantic_axis(s, "w1", normalize=False)
    np.testing.assert_allclose(raw, s["w1"], atol=1e-6)
    X = s.vectors.astype(np.float64)
    a = ax.astype(np.float64) / np.linalg.norm(ax)
    np.testing.assert_allclose(ts.project(s, ax), X @ a, atol=1e-4)
    c = X[:10].mean(0)
    np.testing.assert_allclose(ts.project(s, ax, center=c), (X - c) @ a, atol=1e-4)
    np.testing.assert_allclose(ts.project(s, ax, center="mean"), (X - X.mean(0)) @ a, atol=1e-4)
    np.testing.assert_allclose(
        ts.project(s.vectors, ax, normalize_axis=False), X @ ax.astype(np.float64), atol=1e-4
    )
    sc = ts.project(s, ax)
    e = ts.extremes(s, sc, 5, exclude=["w1", "w2", "w3"], min_length=3)
    kept = [i for i, w in enumerate(s.vocab) if w not in ("w1", "w2", "w3") and len(w) >= 3]
    order = sorted(kept, key=lambda i: (-sc[i], i))
    assert e.top_indices.tolist() == order[:5]
    assert e.bottom_indices.tolist() == sorted(kept, key=lambda i: (sc[i], i))[:5]
    assert "top" in e.table()
    e = ts.extremes(s, sc, 3, restrict_vocab=50)
    assert e.top_indices.tolist() == sorted(range(50), key=lambda i: (-sc[i], i))[:3]
    with pytest.raises(ValueError, match="zero vector"):
        ts.semantic_axis(s, ["w1"], ["w1"])
    with pytest.raises(ValueError, match="length"):
        ts.project(s, np.ones(3))
    with pytest.raises(ValueError, match="passes the filters"):
        ts.extremes(s, sc, 5, alphabetic=True)
    with pytest.raises(ValueError, match="one value per"):
        ts.extremes(s, sc[:5])


# spectra and the course's SVD experiment
def test_spectra_match_numpy():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 30)).astype(np.float32)
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
    np.testing.assert_allclose(ts.svd_spectrum(X), np.linalg.svd(Xc, compute_uv=False), atol=1e-10)
    np.testing.assert_allclose(
        ts.svd_spectrum(X, center=False),
        np.linalg.svd(X.astype(np.float64), compute_uv=False),
        atol=1e-10,
    )
    assert ts.svd_spectrum(X)[-1] < 1e-10
    V = ts.principal_axes(X, 3)
    ref = np.linalg.svd(Xc)[2][:3]
    np.testing.assert_allclose(np.abs(V), np.abs(ref), atol=1e-10)
    # the big-matrix (Gram) path agrees with the dense SVD
    Y = rng.standard_normal((90000, 50)).astype(np.float32)
    dense = np.linalg.svd(Y.astype(np.float64) - Y.astype(np.float64).mean(0), compute_uv=False)
    np.testing.assert_allclose(ts.svd_spectrum(Y), dense, rtol=1e-8)
    np.testing.assert_allclose(
        np.abs(ts.principal_axes(Y, 2)),
        np.abs(
            np.linalg.svd(Y.astype(np.float64) - Y.mean(0, dtype=np.float64), full_matrices=False)[
                2
            ][:2]
        ),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="between 1 and"):
        ts.principal_axes(X, 11)
    assert ts.group_mean_correlation(X[:5], X[:5]) == pytest.approx(1.0)


@pytest.mark.slow
def test_minilm_digit_and_country_svd_experiment():
    s = ts.load("minilm-l6")
    digits = [str(i) for i in range(10)]
    countries = [
        "france",
        "germany",
        "italy",
        "spain",
        "poland",
        "austria",
        "greece",
        "sweden",
        "ireland",
        "portugal",
    ]
    for group in (digits, countries):
        G = s[group]
        sv = ts.svd_spectrum(G)  # mean-centred: the last singular value drops to ~0
        assert sv.shape == (10,) and sv[-1] < 1e-5 * sv[0]
        R = ts.random_subset(s, 10, seed=0, exclude=group)
        assert R.shape == G.shape and not set(R.vocab) & set(group)
        assert abs(ts.group_mean_correlation(G, R.vectors)) < 0.5
        v1 = ts.principal_axes(G, 1)[0]
        scores = ts.project(s, v1, center=G.mean(axis=0))
        X = s.vectors.astype(np.float64)
        ref = (X - G.astype(np.float64).mean(0)) @ v1
        np.testing.assert_allclose(scores, ref, atol=1e-4)
        e = ts.extremes(s, scores, 30, exclude=group)
        assert len(e.top_words) == 30 and not set(e.top_words + e.bottom_words) & set(group)
        ids = np.flatnonzero(~np.isin(np.arange(len(s)), s.indices(group)))
        assert set(e.top_indices.tolist()) == set(
            ids[np.argsort(-ref[ids], kind="stable")[:30]].tolist()
        )
    # digit words line up with the digits' main axis
    e = ts.extremes(
        s,
        ts.project(s, ts.principal_axes(s[digits], 1)[0], center=s[digits].mean(0)),
        30,
        exclude=digits,
    )
    assert {"eight", "six", "seven"} & set(e.top_words + e.bottom_words)


# null models
def test_shuffle_null_models(small):
    s, _ = small
    X = s.vectors
    r = ts.shuffle(s, "rows", seed=1)
    assert r.vocab == s.vocab and r.shape == s.shape
    assert sorted(map(tuple, r.vectors.tolist())) == sorted(map(tuple, X.tolist()))
    c = ts.shuffle(s, "columns", seed=1)
    np.testing.assert_array_equal(np.sort(c.vectors, axis=0), np.sort(X, axis=0))
    assert not np.array_equal(c.vectors, X)
    e = ts.shuffle(s, "elements", seed=1)
    np.testing.assert_array_equal(np.sort(e.vectors, axis=None), np.sort(X, axis=None))
    np.testing.assert_array_equal(ts.shuffle(s, "elements", seed=1).vectors, e.vectors)
    with pytest.raises(ValueError, match="rows, columns, elements"):
        ts.shuffle(s, "diagonal")


# CLI
@pytest.mark.slow
def test_cli_subcommands(capsys, tmp_path):
    assert cli_main(["analogy", "glove-6b-50d", "man", "king", "woman", "--topn", "3"]) == 0
    assert "queen" in capsys.readouterr().out
    assert cli_main(["analogy", "glove-6b-50d", "man", "kingg", "woman"]) == 2
    assert "kingg" in capsys.readouterr().err
    q = _write_questions(tmp_path, 3)
    assert cli_main(["eval", "glove-6b-50d", "--analogies", str(q)]) == 0
    out = capsys.readouterr().out
    assert "Total accuracy" in out and "spearman" in out
    assert (
        cli_main(
            [
                "axis",
                "glove-6b-50d",
                "--positive",
                "future",
                "--negative",
                "past",
                "--n",
                "3",
                "--alphabetic",
            ]
        )
        == 0
    )
    assert "bottom" in capsys.readouterr().out
    assert cli_main(["svd", "minilm-l6", *[str(i) for i in range(10)], "--n", "3"]) == 0
    assert "group spectrum" in capsys.readouterr().out


def test_certificate_fallback_on_exact_ties(monkeypatch):
    """600 identical rows tie exactly: the float32 candidate set cannot be certified, so the
    search widens, then falls back to brute force, and returns the lowest ids (as faiss would)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1000, 16)).astype(np.float32)
    X[300:900] = X[299]
    words = [f"t{i}" for i in range(1000)]
    s = ts.EmbeddingSpace(X, words)
    from tokenspace import analogy_search as analogies

    calls = []
    real = analogies._brute_force_cosadd
    monkeypatch.setattr(analogies, "_brute_force_cosadd", lambda *a: calls.append(1) or real(*a))
    res = s.most_similar(positive=["t299"], topn=5)
    assert calls == [1]
    assert [w for w, _ in res] == ["t300", "t301", "t302", "t303", "t304"]
    assert all(abs(sc - 1.0) < 1e-6 for _, sc in res)
    assert len(s.most_similar(positive=["t1"], topn=5)) == 5 and calls == [1]  # certified
    kv = _kv(s)
    g = kv.most_similar(positive=["t299"], topn=5)
    assert all(abs(sc - 1.0) < 1e-6 for _, sc in g)  # gensim: same scores, arbitrary tie order


@pytest.mark.parametrize("restrict", [None, 700])
def test_cosadd_on_the_knn_stage_equals_the_shared_term_kernel(simd_level, restrict):
    """Few-question 3CosAdd batches run on the certified kNN stage; the shared-term kernel and
    a float64 brute force must give the same ids and scores."""
    from tokenspace import analogy_search as analogies

    rng = np.random.default_rng(11)
    X = rng.standard_normal((1200, 48)).astype(np.float32)
    X[5] = 0.0  # a zero row scores 0, never NaN
    s = ts.EmbeddingSpace(X, [f"v{i}" for i in range(1200)])
    ids = rng.integers(6, 1200, size=(6, 3))
    order = ids[:, [1, 2, 0]]
    terms, qterms = analogies.unique_terms(s, order)
    n = 1200 if restrict is None else restrict
    a = analogies.search(s, terms, qterms, 2, topn=7, limit=n, exclude=order)
    b = analogies.search(s, terms, qterms, 2, topn=7, limit=n, exclude=order, use_knn_stage=False)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-12)
    q = analogies.cosadd_queries(terms[qterms], np.array([1.0, 1.0, -1.0]))
    for i in range(len(ids)):
        sc = analogies._brute_force_cosadd(s, q[i], n, order[i])
        np.testing.assert_array_equal(a[0][i], np.lexsort((np.arange(n), -sc))[:7])


@pytest.mark.parametrize("m", [1, 3, 37])
@pytest.mark.parametrize("n_pos,n_neg", [(2, 1), (3, 2), (1, 0)])
@pytest.mark.parametrize("with_db", [False, True])
def test_cosmul_kernel_with_slack_ranks_by_upper_bounds(simd_level, m, n_pos, n_neg, with_db):
    """cos_slack > 0: every returned score bounds the float64 objective of its row from above,
    and every row left out has an objective <= the K-th returned score (the certificate).
    With the base's Database, fewer than 4 queries filter on its int8 copy (AVX2 and above)."""
    rng = np.random.default_rng(7 * m + n_pos)
    n, d, k, u = 2500, 29, 8, 9
    X = rng.standard_normal((n, d)).astype(np.float32)
    X[17] = 0.0
    U = _core.normalize_rows(X)[0]
    T = n_pos + n_neg
    tid = rng.integers(0, n, u)
    terms = U[tid]
    qterms = rng.integers(0, u, (m, T))
    slack = float(np.nextafter(np.float32((d + 4) * 2.0**-23), np.float32(1)))
    db = None
    if with_db:
        db = _core.Database(U)
        db.prepare("auto", 0)
    idx, sc = _core.analogy(terms, qterms, U, k, "3cosmul", None, n_pos, 1e-6, None, slack, db)
    nr = np.linalg.norm(X.astype(np.float64), axis=1)
    nr[nr == 0] = np.inf
    cos = (X.astype(np.float64) @ terms.astype(np.float64).T) / nr[:, None]  # exact, raw rows
    sh = (1 + cos[:, qterms]) / 2  # (n, m, T)
    ref = (np.prod(sh[:, :, :n_pos], axis=2) / (np.prod(sh[:, :, n_pos:], axis=2) + 1e-6)).T
    assert np.all(sc >= np.take_along_axis(ref, idx, 1))
    for i in range(m):
        left_out = np.ones(n, dtype=bool)
        left_out[idx[i]] = False
        assert ref[i, left_out].max() <= sc[i, -1]


def test_analogy_database_must_hold_the_base_rows():
    U = _core.normalize_rows(np.random.default_rng(1).standard_normal((50, 8)).astype(np.float32))[
        0
    ]
    other = _core.Database(U.copy())
    with pytest.raises(ValueError, match="base rows themselves"):
        _core.analogy(U[:2], np.array([[0, 1]]), U, 3, "3cosmul", None, 1, 1e-6, None, 1e-5, other)
    with pytest.raises(TypeError, match="db must be a Database"):
        _core.analogy(U[:2], np.array([[0, 1]]), U, 3, "3cosmul", None, 1, 1e-6, None, 1e-5, "x")


def test_cosmul_search_is_certified_and_exact(simd_level, monkeypatch):
    """3CosMul answers equal a float64 scan; duplicate rows (exact ties) and raw vector inputs
    longer than 1 go through the fallbacks and still match."""
    from tokenspace import analogy_search as analogies

    rng = np.random.default_rng(21)
    X = rng.standard_normal((1500, 32)).astype(np.float32)
    X[300:900] = X[299]  # 601 identical rows: more ties than the widest retry (512) holds
    s = ts.EmbeddingSpace(X, [f"c{i}" for i in range(1500)])
    calls = []
    real = analogies._brute_force_cosmul
    monkeypatch.setattr(analogies, "_brute_force_cosmul", lambda *a: calls.append(1) or real(*a))

    def scan(pos, neg, topn):
        tq = np.stack(
            [
                analogies.gensim_unit(s.vectors, np.array([s.index(w)]))[0]
                if isinstance(w, str)
                else np.asarray(w, np.float32)
                for w in pos + neg
            ]
        )
        ex = np.array([s.index(w) for w in pos + neg if isinstance(w, str)], dtype=np.int64)
        sc = real(s, tq, len(pos), len(s), ex)
        order = np.lexsort((np.arange(len(s)), -sc))[:topn]
        return [s.vocab[j] for j in order], sc[order]

    for pos, neg in (
        (["c3", "c8"], ["c11"]),
        (["c5"], []),
        (["c1", "c2", "c4"], ["c6", "c7"]),
        (["c1000", "c1001"], ["c1002"]),
    ):
        got = s.most_similar(positive=pos, negative=neg, topn=6, method="3cosmul")
        words, sc = scan(pos, neg, 6)
        assert [w for w, _ in got] == words
        np.testing.assert_allclose([v for _, v in got], sc, rtol=1e-12)
    assert calls == []  # the certificate held on the first try
    got = s.most_similar(positive=["c299"], topn=5, method="3cosmul")
    assert [w for w, _ in got] == ["c300", "c301", "c302", "c303", "c304"] and len(calls) == 1
    v = 3.0 * X[10]  # a raw vector input of norm > 1: the bound does not apply
    got = s.most_similar(positive=[v, "c3"], negative=["c9"], topn=4, method="3cosmul")
    words, _ = scan([v, "c3"], ["c9"], 4)
    assert [w for w, _ in got] == words and len(calls) == 2
