"""Progress reporting of long calls (issue 13 "Long jobs", issue 16 item 12)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _kernels
from tokenspace.progress import ProgressBar


class _Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int]] = []
        self.closed = False

    def update(self, done: int, total: int) -> None:
        self.updates.append((done, total))

    def close(self) -> None:
        self.closed = True


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_render_and_eta() -> None:
    bar = ProgressBar("knn", file=io.StringIO(), force=True, width=10)
    bar.start = 100.0
    bar.update(1, 4)
    text = bar.render(now=110.0)  # 25% in 10 s: 30 s to go
    assert text.startswith("knn: |##--------|  25.0%")
    assert "elapsed 00:10 ETA 00:30" in text
    bar.update(0, 4)  # never backwards
    assert "25.0%" in bar.render(now=110.0)


def test_bar_is_quiet_off_a_terminal_unless_forced() -> None:
    out = io.StringIO()
    bar = ProgressBar("x", file=out)
    bar.update(1, 2)
    bar.close()
    assert out.getvalue() == ""
    forced = io.StringIO()
    bar = ProgressBar("x", file=forced, force=True)
    bar.update(1, 2)
    bar.close()
    assert "50.0%" in forced.getvalue() and "\r" not in forced.getvalue()


def test_knn_reports_to_a_sink_and_matches_the_plain_call() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 32)).astype(np.float32)
    q = rng.standard_normal((500, 32)).astype(np.float32)
    rec = _Recorder()
    idx, sc = _kernels.knn(q, x, 5, progress=rec)
    ref_idx, ref_sc = _kernels.knn(q, x, 5)
    assert rec.closed and rec.updates
    done, total = rec.updates[-1]
    assert total > 0 and done == total
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(sc, ref_sc)
    # the exact top-5 by a float64 reference
    ref = np.argsort(-(q.astype(np.float64) @ x.T.astype(np.float64)), axis=1, kind="stable")
    assert (idx[:, 0] == ref[:, 0]).all()


def test_knn_graph_progress_bar_on_a_terminal(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 16)).astype(np.float32)
    s = ts.EmbeddingSpace(x, [f"w{i}" for i in range(2000)])
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    g = s.knn_graph(k=3, progress=True)
    assert "100.0%" in err.getvalue() and "ETA" in err.getvalue()
    assert (g.indices == s.knn_graph(k=3).indices).all()
    err2 = _Tty()
    monkeypatch.setattr(sys, "stderr", err2)
    s.knn(s.vectors[:100], k=3, progress=True)
    assert "100.0%" in err2.getvalue()


def test_loader_progress(tmp_path, monkeypatch) -> None:
    x = np.random.default_rng(2).standard_normal((200, 4)).astype(np.float32)
    s = ts.EmbeddingSpace(x, [f"w{i}" for i in range(200)])
    ts.save_word2vec(s, tmp_path / "v.txt")
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    back = ts.load(tmp_path / "v.txt", progress=True)
    assert "reading" in err.getvalue() and "100.0%" in err.getvalue()
    np.testing.assert_array_equal(back.vectors, x)


def test_bad_progress_argument() -> None:
    x = np.ones((4, 2), np.float32)
    with pytest.raises(TypeError, match="progress must be"):
        _kernels.knn(x, x, 1, progress="yes")  # type: ignore[arg-type]
