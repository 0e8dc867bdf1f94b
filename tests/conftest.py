"""The one conftest: the SIMD-level fixture, a seeded generator and the real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tokenspace as ts

from .models import build_gpt2_folder, build_gpt2_with_transformers, have_transformers


@pytest.fixture(params=ts.available_simd_levels())
def simd_level(request):
    """Run the test once per instruction set this machine supports, then restore the default."""
    previous = ts.simd_level()
    ts.set_simd_level(request.param)
    yield request.param
    ts.set_simd_level(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def minilm():
    return ts.load("minilm-l6")


@pytest.fixture(scope="session")
def glove():
    return ts.load("glove-6b-50d")


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    from tokenspace.io.embedded import embedded_path

    return embedded_path("minilm-l6")


@pytest.fixture(scope="session")
def gpt2_folder(tmp_path_factory) -> Path:
    """A small GPT-2 folder: built by transformers when it (and torch) is installed, else
    written with the same layout by hand."""
    folder = tmp_path_factory.mktemp("gpt2-small")
    if have_transformers():
        return build_gpt2_with_transformers(folder)
    return build_gpt2_folder(folder)
