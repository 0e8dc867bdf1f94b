"""CSLS, rsa_many and stability equal their single-machine counterparts."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

import tokenspace as ts
import tokenspace.distributed as tsd


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((900, 16)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    b = (a @ q + 0.3 * rng.standard_normal(a.shape)).astype(np.float32)
    words = [f"w{i}" for i in range(len(a))]
    return ts.EmbeddingSpace(a, words, name="a"), ts.EmbeddingSpace(b, words, name="b")


def test_csls_equals_translate(client, pair, tmp_path):
    a, b = pair
    ali = ts.align(a, b)
    words = [f"w{i}" for i in range(0, 900, 7)]
    ref = ts.translate(a, b, words, ali, k=5, retrieval="csls", csls_k=10)
    got = tsd.csls(
        a,
        b,
        ali,
        words,
        k=5,
        csls_k=10,
        client=client,
        block_rows=101,
        progress=False,
        scratch=tmp_path,
        out=tmp_path / "out",
    )
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores.view(np.uint32), ref.scores.view(np.uint32))
    assert got.words == ref.words and got.retrieval == "csls"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["final", "r_s", "r_t"]


def test_rsa_many_equals_rsa_models(client, pair, tmp_path):
    a, b = pair
    c = ts.EmbeddingSpace(
        np.random.default_rng(2).standard_normal((900, 8)).astype(np.float32),
        list(a.vocab),
        name="c",
    )
    words = list(a.vocab[:300])
    got = tsd.rsa_many([a, b, c], words, client=client, progress=False, scratch=tmp_path)
    assert got.names == ["a", "b", "c"]
    for i, j in combinations(range(3), 2):
        ref = ts.rsa_models([a, b, c][i], [a, b, c][j], words)
        assert float(got.results[(i, j)]) == float(ref)
        assert got.r[i, j] == got.r[j, i] == float(ref)
    assert len(got.to_pandas()) == 3


def test_stability_equals_single_machine(client, pair, tmp_path):
    a, b = pair
    rng = np.random.default_rng(4)
    c = ts.EmbeddingSpace(
        a.vectors + 0.1 * rng.standard_normal(a.vectors.shape).astype(np.float32),
        list(a.vocab),
        name="c",
    )
    ref = ts.stability([a, b, c], k=5)
    got = tsd.stability([a, b, c], k=5, client=client, progress=False, scratch=tmp_path)
    for f in (
        "frobenius_raw",
        "frobenius_aligned",
        "relative_aligned",
        "mean_cosine",
        "knn_overlap",
        "word_cosine",
        "word_overlap",
    ):
        np.testing.assert_array_equal(getattr(got, f), getattr(ref, f), err_msg=f)
    for s1, s2 in zip(got.spectra, ref.spectra):
        np.testing.assert_array_equal(s1, s2)
    assert got.vocab == ref.vocab and got.names == ref.names and got.k == ref.k


def test_rsa_task_refuses_another_simd_level(pair, tmp_path):
    from tokenspace.distributed._tasks import rsa_task

    plan = {
        "paths": [],
        "words": None,
        "method": "pearson",
        "similarity": "cosine",
        "simd_level": "not-" + ts.simd_level(),
    }
    with pytest.raises(RuntimeError, match="SIMD level"):
        rsa_task(plan, (0, 1))
