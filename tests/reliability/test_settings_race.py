"""Thread-count and SIMD-level changes while kernels run on other threads (issue 16 item 1).

Each race runs in a child interpreter, so a crash fails the test instead of the run. The
kernels must finish with the right answers whatever the settings did meanwhile.
"""

from __future__ import annotations

import pytest

import tokenspace as ts

from ._subprocess import child_env, describe, run_snippet

RACE = """
import threading
import numpy as np
import tokenspace as ts
rng = np.random.default_rng(0)
X = rng.standard_normal((3000, 48)).astype(np.float32)
s = ts.EmbeddingSpace(X, [f"w{i}" for i in range(len(X))])
ts.set_num_threads(1)
ref = s.knn_graph(k=5, precision="fp32").indices
Q = rng.standard_normal((300, 48)).astype(np.float32)
qref = ts.knn(X, Q, k=5, metric="dot").indices
levels = ts.available_simd_levels()
stop = threading.Event()
def toggle():
    i = 0
    while not stop.is_set():
        i += 1
        if MODE == "threads":
            ts.set_num_threads(1 + i % 8)
        else:
            ts.set_simd_level(levels[i % len(levels)])
t = threading.Thread(target=toggle)
t.start()
try:
    for _ in range(6):
        g = s.knn_graph(k=5, precision="fp32").indices
        assert (g == ref).all()
        q = ts.knn(X, Q, k=5, metric="dot").indices
        assert (q == qref).all()
        c = ts.cosine_matrix(Q[:50], X)
        assert c.shape == (50, 3000)
finally:
    stop.set()
    t.join()
print("ok")
"""


@pytest.mark.parametrize("mode", ["threads", "simd"])
def test_settings_change_during_kernels(mode: str) -> None:
    proc = run_snippet(f"MODE = {mode!r}\n" + RACE)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", describe(proc)


def test_thread_count_is_bounded() -> None:
    top = ts._kernels.max_threads()
    before = ts.num_threads()
    with pytest.raises(ValueError, match="between 1 and"):
        ts.set_num_threads(10**6)
    with pytest.raises(ValueError, match="between 1 and"):
        ts.set_num_threads(0)
    with pytest.raises(TypeError):
        ts.set_num_threads(2.5)  # type: ignore[arg-type]
    assert ts.num_threads() == before
    ts.set_num_threads(top)  # the bound itself is accepted
    ts.set_num_threads(before)


@pytest.mark.parametrize("value", ["99999999999999999999", "many", "1000000"])
def test_env_thread_count_overflow_is_a_clear_error(value: str) -> None:
    proc = run_snippet(
        """
import tokenspace as ts
try:
    ts.num_threads()
except ValueError as e:
    print("ValueError:", e)
""",
        env=child_env(TOKENSPACE_NUM_THREADS=value),
    )
    assert proc.returncode == 0, describe(proc)
    assert "TOKENSPACE_NUM_THREADS=" + value in proc.stdout
    assert "unset it" in proc.stdout


def test_env_thread_count_valid() -> None:
    proc = run_snippet(
        "import tokenspace as ts; print(ts.num_threads())",
        env=child_env(TOKENSPACE_NUM_THREADS="3"),
    )
    assert proc.stdout.strip() == "3", describe(proc)
