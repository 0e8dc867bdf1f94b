"""The benchmarks' reference probes: the read-bandwidth pass and the peak-rate loops."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _kernels


@pytest.mark.parametrize("n", [0, 1, 15, 16, 1_048_576 + 37])
def test_read_pass_reads_every_value(n, rng):
    x = rng.standard_normal(n).astype(np.float32)
    want = int(np.bitwise_or.reduce(x.view(np.uint32))) if n else 0
    assert _kernels.read_pass(x) == want
    if n > 16:  # the last value alone decides a bit: the tail is read too
        y = np.zeros(n, np.float32)
        y[-1] = np.float32(-2.0)
        assert _kernels.read_pass(y) == int(y.view(np.uint32)[-1])


def test_peak_rate_names_its_probes():
    if "avx2" in ts.available_simd_levels():
        assert _kernels.peak_rate("fp32_fma_ymm", seconds=0.01) > 0
    with pytest.raises(ValueError, match="unknown probe"):
        _kernels.peak_rate("fp64_magic", seconds=0.01)
