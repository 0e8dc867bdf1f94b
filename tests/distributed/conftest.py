"""A session LocalCluster (2 worker processes x 1 thread) and a per-test timeout."""

from __future__ import annotations

import signal

import numpy as np
import pytest

pytest.importorskip("distributed")

TEST_TIMEOUT = 240  # seconds; generous, the shared test machine is busy


@pytest.fixture(autouse=True)
def _timeout():
    def fail(signum, frame):
        raise TimeoutError(f"distributed test exceeded {TEST_TIMEOUT} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture(scope="session")
def client(cluster):
    from distributed import Client

    with Client(cluster) as c:
        yield c


def near_ties(n: int, d: int, seed: int = 7) -> np.ndarray:
    """Adversarial rows: exact duplicates and copies one float32 ulp away in one coordinate
    (either direction), interleaved at random ids, so float32 scores tie where float64 keys
    do not."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n // 3, d)).astype(np.float32)
    dup = base.copy()
    ulp = base.copy()
    col = rng.integers(0, d, size=len(base))
    up = rng.random(len(base)) < 0.5
    r = np.arange(len(base))
    ulp[r, col] = np.where(
        up, np.nextafter(ulp[r, col], np.inf), np.nextafter(ulp[r, col], -np.inf)
    )
    x = np.concatenate([base, dup, ulp])
    extra = rng.standard_normal((n - len(x), d)).astype(np.float32)
    x = np.concatenate([x, extra])
    return np.ascontiguousarray(x[rng.permutation(n)])
