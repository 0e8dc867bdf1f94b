"""tsd.knn_graph / tsd.knn equal the single-machine results bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
import tokenspace.distributed as tsd
from tokenspace import _kernels
from tokenspace.distributed._tasks import merge_topk, scores_from_keys

from .conftest import near_ties


def same(a, b) -> None:
    np.testing.assert_array_equal(a.indices, b.indices)
    # score bits, not values: -0.0 vs 0.0 or a last-ulp difference would fail
    np.testing.assert_array_equal(a.scores.view(np.uint32), b.scores.view(np.uint32))


@pytest.fixture(scope="module")
def ties():
    x = near_ties(601, 24)
    return ts.EmbeddingSpace(x, [f"w{i}" for i in range(len(x))])


@pytest.fixture(scope="module")
def rand():
    x = np.random.default_rng(3).standard_normal((257, 9)).astype(np.float32)
    return ts.EmbeddingSpace(x, [f"r{i}" for i in range(len(x))])


@pytest.mark.parametrize("mode", ["rows", "pairs"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_knn_graph_near_ties(client, ties, metric, mode, tmp_path):
    ref = ties.knn_graph(6, metric=metric)
    got = tsd.knn_graph(
        ties,
        6,
        metric=metric,
        client=client,
        mode=mode,
        block_rows=97,
        progress=False,
        scratch=tmp_path,
    )
    same(got, ref)


@pytest.mark.parametrize("mode", ["rows", "pairs"])
@pytest.mark.parametrize(("k", "exclude_self"), [(1, True), (1, False), (256, True), (257, False)])
def test_knn_graph_extreme_k(client, rand, mode, k, exclude_self, tmp_path):
    metric = "euclidean" if k == 1 else "cosine"
    ref = rand.knn_graph(k, metric=metric, exclude_self=exclude_self)
    got = tsd.knn_graph(
        rand,
        k,
        metric=metric,
        exclude_self=exclude_self,
        client=client,
        mode=mode,
        block_rows=61,
        progress=False,
        scratch=tmp_path,
    )
    same(got, ref)


@pytest.mark.parametrize("mode", ["rows", "shards"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_knn_queries(client, ties, metric, mode, tmp_path):
    words = ["w0", "w17", "w300", "w600"]
    ref = ties.knn(words, 9, metric=metric)
    got = tsd.knn(
        ties,
        words,
        9,
        metric=metric,
        client=client,
        mode=mode,
        block_rows=131,
        progress=False,
        scratch=tmp_path,
    )
    same(got, ref)
    assert got.words == ref.words


def test_knn_vector_queries(client, ties, rng, tmp_path):
    q = rng.standard_normal((70, ties.dim)).astype(np.float32)
    ref = ties.knn(q, 600, metric="dot")  # k = V - 1: every shard contributes
    got = tsd.knn(
        ties,
        q,
        600,
        metric="dot",
        client=client,
        mode="shards",
        block_rows=199,
        progress=False,
        scratch=tmp_path,
    )
    same(got, ref)


@pytest.mark.parametrize("transport", ["stage", "scatter"])
def test_transports(client, ties, transport, tmp_path):
    ref = ties.knn_graph(4)
    got = tsd.knn_graph(
        ties,
        4,
        client=client,
        transport=transport,
        block_rows=150,
        progress=False,
        scratch=tmp_path,
        out=tmp_path / "out",
    )
    same(got, ref)
    assert len(list((tmp_path / "out").glob("rows-*.npz"))) == 5


def _tile_lists(x: np.ndarray, k: int, block: int):
    """Every row's partial lists from the self-join tiles (I <= J) of the kernel entry."""
    db = _kernels.database(x)
    n = len(x)
    bl = [(a, min(n, a + block)) for a in range(0, n, block)]
    parts: list[list[tuple[np.ndarray, np.ndarray, int, int]]] = [[] for _ in bl]
    for a in range(len(bl)):
        for b in range(a, len(bl)):
            ii, ki, jj, kj = _kernels.self_join_tile(db, bl[a], bl[b], k, metric="ip")
            parts[a].append((ii, ki))
            if a != b:
                parts[b].append((jj, kj))
    return bl, parts


def test_float32_merge_is_not_exact(ties):
    """The guard: merging tiles by float32 scores loses the kernel's order on near ties;
    merging by the float64 keys reproduces knn_graph."""
    x = np.ascontiguousarray(ties.unit_vectors)
    k = 6
    ref = ties.knn_graph(k)
    bl, parts = _tile_lists(x, k, 97)
    diff64 = diff32 = 0
    for (a, b), lists in zip(bl, parts):
        ids, _ = merge_topk([p[0] for p in lists], [p[1] for p in lists], k)
        diff64 += int((ids != ref.indices[a:b]).any(axis=1).sum())
        all_ids = np.concatenate([p[0] for p in lists], axis=1)
        s32 = scores_from_keys(np.concatenate([p[1] for p in lists], axis=1), "ip")
        s32 = np.where(all_ids < 0, -np.inf, s32).astype(np.float64)
        order = np.lexsort((np.where(all_ids < 0, 1 << 62, all_ids), -s32), axis=-1)[:, :k]
        ids32 = np.take_along_axis(all_ids, order, axis=1)
        diff32 += int((ids32 != ref.indices[a:b]).any(axis=1).sum())
    assert diff64 == 0
    assert diff32 > 20


def test_self_join_tile_checks_ranges(ties):
    db = _kernels.database(np.ascontiguousarray(ties.unit_vectors))
    with pytest.raises(ValueError, match="equal or disjoint"):
        _kernels.self_join_tile(db, (0, 100), (50, 150), 3)
    with pytest.raises(ValueError, match="within"):
        _kernels.self_join_tile(db, (0, 100), (500, 700), 3)


def test_return_keys_are_the_ranking(ties):
    x = np.ascontiguousarray(ties.vectors)
    ids, scores, keys = _kernels.knn(x[:50], x, 5, metric="l2", return_keys=True)
    ref = x[:50, None, :].astype(np.float64) - x[ids].astype(np.float64)
    np.testing.assert_allclose(keys, -0.5 * (ref**2).sum(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(scores, scores_from_keys(keys, "l2"))
    assert (np.diff(keys, axis=1) <= 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["rows", "pairs"])
def test_minilm(client, minilm, mode, tmp_path):
    # the first 12,000 WordPiece tokens (the whole 30522 costs a minute on 2 cores, for the
    # same code paths)
    s = minilm.subset(list(minilm.vocab[:12000]))
    ref = s.knn_graph(10)
    got = tsd.knn_graph(
        s, 10, client=client, mode=mode, block_rows=3001, progress=False, scratch=tmp_path
    )
    same(got, ref)


@pytest.mark.parametrize(
    ("metric", "rows_i", "rows_j"),
    [
        ("ip", (0, 37), (37, 120)),
        ("l2", (50, 131), (0, 50)),
        ("ip", (10, 83), (10, 83)),
    ],
)
def test_self_join_tile_matches_float64_reference(simd_level, metric, rows_i, rows_j):
    x = np.random.default_rng(8).standard_normal((131, 20)).astype(np.float32)
    db = _kernels.database(x)
    k = 7
    ii, ki, jj, kj = _kernels.self_join_tile(db, rows_i, rows_j, k, metric=metric)
    x64 = x.astype(np.float64)

    def reference(q_rows, b_rows):
        q, b = x64[slice(*q_rows)], x64[slice(*b_rows)]
        key = q @ b.T if metric == "ip" else -0.5 * ((q[:, None] - b[None]) ** 2).sum(-1)
        ids = np.arange(*b_rows)[None].repeat(len(q), 0)
        if q_rows == b_rows:
            key[np.arange(len(q)), np.arange(len(q))] = -np.inf  # exclude_self
        order = np.lexsort((ids, -key), axis=-1)[:, :k]
        return np.take_along_axis(ids, order, 1), np.take_along_axis(key, order, 1)

    ref_i, ref_ki = reference(rows_i, rows_j)
    np.testing.assert_array_equal(ii, ref_i)
    np.testing.assert_allclose(ki, ref_ki, rtol=1e-12, atol=1e-12)
    ref_j, ref_kj = reference(rows_j, rows_i)
    np.testing.assert_array_equal(jj, ref_j)
    np.testing.assert_allclose(kj, ref_kj, rtol=1e-12, atol=1e-12)
