"""Fault tolerance, resume, and clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import tokenspace as ts
import tokenspace.distributed as tsd


@pytest.fixture(scope="module")
def big():
    x = np.random.default_rng(5).standard_normal((6000, 48)).astype(np.float32)
    return ts.EmbeddingSpace(x, [f"b{i}" for i in range(len(x))])


def _wait_for_parts(folder: Path, n: int, timeout: float = 120) -> None:
    t0 = time.time()
    while len(list(folder.glob("*.npz"))) < n:
        if time.time() - t0 > timeout:
            raise TimeoutError(f"fewer than {n} parts in {folder} after {timeout} s")
        time.sleep(0.05)


def test_worker_sigkill_mid_job(client, big, tmp_path):
    import threading

    ref = big.knn_graph(5)
    out = tmp_path / "out"
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one():
        _wait_for_parts(out, 2)
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])

    t = threading.Thread(target=kill_one, daemon=True)
    t.start()
    got = tsd.knn_graph(
        big, 5, client=client, block_rows=150, out=out, progress=False, scratch=tmp_path
    )
    t.join(5)
    assert killed, "the job ended before a worker could be killed"
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores, ref.scores)
    client.wait_for_workers(2, timeout=60)


_CLIENT_SCRIPT = """
import sys
import numpy as np
import tokenspace as ts
import tokenspace.distributed as tsd
x = np.random.default_rng(5).standard_normal((6000, 48)).astype(np.float32)
s = ts.EmbeddingSpace(x, [f"b{{i}}" for i in range(len(x))])
tsd.knn_graph(s, 5, client={address!r}, block_rows=500, mode="pairs", out={out!r},
              progress=False, scratch={scratch!r})
"""


def test_killed_client_resumes(cluster, client, big, tmp_path):
    out = tmp_path / "out"
    script = _CLIENT_SCRIPT.format(
        address=cluster.scheduler_address, out=str(out), scratch=str(tmp_path)
    )
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=os.environ)
    try:
        _wait_for_parts(out, 3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    time.sleep(1.5)  # tasks already running when the client died may still land
    before = {p.name for p in out.glob("*.npz")}
    ref = big.knn_graph(5)
    got = tsd.knn_graph(
        big,
        5,
        client=client,
        block_rows=500,
        mode="pairs",
        out=out,
        progress=False,
        scratch=tmp_path,
    )
    job = tsd.last_job()
    assert job is not None and job.n_parts == 12 * 13 // 2
    assert job.n_reused >= len(before) >= 3
    assert job.n_computed == job.n_parts - job.n_reused
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores, ref.scores)
    # a second run finds every part and computes nothing
    again = tsd.knn_graph(
        big,
        5,
        client=client,
        block_rows=500,
        mode="pairs",
        out=out,
        progress=False,
        scratch=tmp_path,
    )
    assert tsd.last_job().n_computed == 0
    np.testing.assert_array_equal(again.indices, ref.indices)


def test_out_of_another_job(client, tmp_path):
    x = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    s = ts.EmbeddingSpace(x, [str(i) for i in range(50)])
    tsd.knn_graph(s, 3, client=client, out=tmp_path / "o", progress=False, scratch=tmp_path)
    with pytest.raises(ValueError, match=r"another job.*k"):
        tsd.knn_graph(s, 4, client=client, out=tmp_path / "o", progress=False, scratch=tmp_path)


def test_unreachable_scheduler():
    t0 = time.time()
    with pytest.raises(TimeoutError, match="no Dask scheduler answered"):
        tsd.connect("tcp://127.0.0.1:1", timeout=1)
    assert time.time() - t0 < 30


def test_unwritable_scratch(client, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    x = np.ones((10, 3), dtype=np.float32)
    s = ts.EmbeddingSpace(x + np.arange(10, dtype=np.float32)[:, None], list("abcdefghij"))
    with pytest.raises(PermissionError, match=r"scratch folder .* is not writable"):
        tsd.knn_graph(s, 2, client=client, scratch=blocker / "sub", progress=False)


def test_bad_arguments(client, tmp_path):
    x = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    s = ts.EmbeddingSpace(x, [str(i) for i in range(20)])
    with pytest.raises(ValueError, match="unknown mode"):
        tsd.knn_graph(s, 2, client=client, mode="blocks")
    with pytest.raises(ValueError, match="unknown transport"):
        tsd.knn_graph(s, 2, client=client, transport="ftp", scratch=tmp_path, progress=False)
    with pytest.raises(TypeError, match="EmbeddingSpace"):
        tsd.knn_graph(x, 2, client=client)


@pytest.mark.slow
def test_workers_without_tokenspace(tmp_path):
    from distributed import Client, LocalCluster

    fake = tmp_path / "fake" / "tokenspace"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no tokenspace here')\n")
    # a worker whose environment lacks tokenspace: its imports find the broken package first
    hide = (
        f"import sys; sys.path.insert(0, {str(fake.parent)!r}); "
        "[sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] == 'tokenspace']"
    )
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cl,
        Client(cl) as c,
    ):
        c.run(exec, hide)
        with pytest.raises(RuntimeError, match="cannot import tokenspace"):
            tsd.check_workers(c)
