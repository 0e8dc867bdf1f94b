"""Hypothesis fuzz of the public functions that take arrays, words and ids (issue 16, "Done
when"). Every call must either return a well-formed result or raise a clear ValueError,
TypeError, KeyError or IndexError; nothing may crash, hang or return NaN where a number is due.
The budget is bounded (``max_examples`` per function, small shapes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tokenspace as ts

CLEAR = (ValueError, TypeError, KeyError, IndexError)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_values = st.floats(width=32, allow_subnormal=True) | st.sampled_from(
    [0.0, 1.0, -1.0, 1e-30, 1e30, 3e38, float("nan"), float("inf")]
)
arrays = st.one_of(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
        elements=_values,
    ),
    hnp.arrays(
        st.sampled_from([np.int64, np.int8, np.bool_, np.complex64]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=5),
    ),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.just("text"),
    st.just(None),
)
words = st.one_of(
    st.text(max_size=4),
    st.integers(-10, 30),
    st.binary(max_size=3),
    st.lists(st.text(max_size=3) | st.integers(-3, 30), max_size=4),
    st.just(None),
    st.floats(),
)

_rng = np.random.default_rng(0)
_X = _rng.standard_normal((25, 6)).astype(np.float32)
_X[5] = 0  # a zero row
SPACE = ts.EmbeddingSpace(_X, [f"w{i}" for i in range(25)])


def _call(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numerical warnings are not the subject here
        try:
            return fn(*args, **kwargs)
        except CLEAR as e:
            assert str(e), f"{type(e).__name__} without a message"
            return None


def _finite_scores(res) -> None:
    if res is None:
        return
    scores = np.asarray(res.scores)
    assert not np.isnan(scores).any()


@FUZZ
@given(
    x=arrays,
    q=arrays,
    k=st.integers(-2, 30) | st.just(2.5),
    metric=st.sampled_from(["cosine", "dot", "euclidean", "l1"]),
)
def test_fuzz_knn(x, q, k, metric) -> None:
    _finite_scores(_call(ts.knn, x, q, k=k, metric=metric))


@FUZZ
@given(
    q=words | arrays, k=st.integers(-1, 30), metric=st.sampled_from(["cosine", "dot", "euclidean"])
)
def test_fuzz_space_knn(q, k, metric) -> None:
    _finite_scores(_call(SPACE.knn, q, k=k, metric=metric))


@FUZZ
@given(key=words)
def test_fuzz_space_lookup(key) -> None:
    res = _call(SPACE.__getitem__, key)
    if res is not None:
        assert np.isfinite(res).all()
    _call(SPACE.subset, key)
    _call(SPACE.index, key)


@FUZZ
@given(pos=words | arrays, neg=words | arrays, topn=st.integers(-1, 30))
def test_fuzz_most_similar(pos, neg, topn) -> None:
    res = _call(SPACE.most_similar, positive=pos, negative=neg, topn=topn)
    if isinstance(res, list):
        assert all(np.isfinite(score) for _, score in res)


@FUZZ
@given(a=arrays, b=arrays | st.none())
def test_fuzz_cosine_matrix(a, b) -> None:
    res = _call(ts.cosine_matrix, a, b)
    if res is not None:
        assert not np.isnan(res).any()


@FUZZ
@given(x=arrays, y=arrays, method=st.sampled_from(["pearson", "spearman"]))
def test_fuzz_rsa(x, y, method) -> None:
    res = _call(ts.rsa, x, y, method=method)
    if res is not None:
        assert -1.0 - 1e-9 <= float(res) <= 1.0 + 1e-9


@FUZZ
@given(x=arrays, y=arrays)
def test_fuzz_procrustes(x, y) -> None:
    res = _call(ts.procrustes, x, y)
    if res is not None:
        assert np.isfinite(res.W).all()


@FUZZ
@given(x=arrays, axis=arrays)
def test_fuzz_project_and_spectrum(x, axis) -> None:
    _call(ts.project, SPACE, axis)
    res = _call(ts.svd_spectrum, x)
    if res is not None:
        assert np.isfinite(res).all()


@FUZZ
@given(qs=arrays | st.lists(st.lists(words, max_size=4), max_size=3), topn=st.integers(-1, 30))
def test_fuzz_solve_analogies(qs, topn) -> None:
    _call(ts.solve_analogies, SPACE, qs, topn=topn)


@FUZZ
@given(vectors=arrays, vocab=st.lists(st.text(max_size=3), max_size=6) | st.text(max_size=3))
def test_fuzz_space_construction(vectors, vocab) -> None:
    s = _call(ts.EmbeddingSpace, vectors, vocab)
    if s is not None:
        assert len(s) == len(s.vocab) == s.vectors.shape[0]
        assert np.isfinite(s.vectors).all()


@pytest.mark.parametrize("k", [1, 3])
def test_fuzz_reference_agrees(k) -> None:
    # the fuzzed entry point on a valid input still gives the float64 answer
    q = _rng.standard_normal((4, 6)).astype(np.float32)
    res = ts.knn(_X, q, k=k, metric="dot")
    ref = np.argsort(-(q.astype(np.float64) @ _X.T.astype(np.float64)), axis=1, kind="stable")
    np.testing.assert_array_equal(res.indices, ref[:, :k])
