"""tokenspace: fast, exact analysis of token embedding spaces.

The heavy parts (cosine matrices, exact k-NN, ...) run in C++ kernels with runtime SIMD
dispatch and release the GIL; this package wraps them with a small, numpy-friendly API.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import _core
from .io import EMBEDDED, load, load_hf
from .neighbors import Neighbors, knn
from .rsa import (
    RSAResult,
    SelectivityResult,
    category_selectivity,
    rsa,
    rsa_models,
    rsa_split_half,
    similarity_triangle,
)
from .similarity import cosine_matrix, cosine_matrix_chunks, unit_rows
from .space import EmbeddingSpace

try:
    __version__ = version("tokenspace")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+dev"


def simd_level() -> str:
    """The instruction set the kernels use now: 'scalar', 'avx2' or 'avx512'."""
    return _core.simd_level()


def available_simd_levels() -> list[str]:
    """Every level this CPU can run, lowest first."""
    return list(_core.available_simd_levels())


def set_simd_level(level: str) -> None:
    """Force an instruction-set level (also settable with the TOKENSPACE_SIMD variable)."""
    _core.set_simd_level(level)


def num_threads() -> int:
    """Threads the kernels use (TOKENSPACE_NUM_THREADS, default: all cores)."""
    return _core.num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of kernel threads (>= 1)."""
    _core.set_num_threads(n)


__all__ = [
    # rsa
    "RSAResult",
    "SelectivityResult",
    "category_selectivity",
    "rsa",
    "rsa_models",
    "rsa_split_half",
    "similarity_triangle",
    "EMBEDDED",
    "EmbeddingSpace",
    "Neighbors",
    "__version__",
    "available_simd_levels",
    "cosine_matrix",
    "cosine_matrix_chunks",
    "knn",
    "load",
    "load_hf",
    "num_threads",
    "set_num_threads",
    "set_simd_level",
    "simd_level",
    "unit_rows",
]
