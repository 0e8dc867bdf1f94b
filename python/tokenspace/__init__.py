"""tokenspace: fast, exact analysis of token embedding spaces.

The heavy parts (cosine matrices, exact k-NN, ...) run in C++ kernels with runtime SIMD
dispatch and release the GIL; this package wraps them with a small, numpy-friendly API.
"""

from __future__ import annotations

from . import _core
from .io import EMBEDDED, load, load_hf
from .neighbors import Neighbors, knn
from .analysis.rsa import (
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

# ==== clustering, graphs, text, plots, report ====
from . import plot
from .analysis.cluster import Clusters, DbscanSweep, dbscan, dbscan_sweep, select_tokens, tsne
from .analysis.graph import CosineGraph, cosine_graph
from .report import build_report
from .text import SequenceCosines, color_text, embed_strings, sequence_cosines, token_scores
# ---- loaders ----
from .interop import ContextualEmbeddings, contextual_embeddings, from_gensim, to_gensim
from .io import (
    detect_format,
    load_glove,
    load_native,
    load_word2vec,
    save_glove,
    save_native,
    save_word2vec,
)
from .tokenize import SingleTokenWords, Tokens
# ---- end loaders ----


# analogies, evaluations, semantic axes, spectra, null models
from .analysis.analogies import AnalogyResult, solve_analogies
from .analysis.axes import AxisExtremes, extremes, project, semantic_axis
from .analysis.evaluate import (
    AnalogyEvaluation,
    AnalogySection,
    WordPairEvaluation,
    evaluate_analogies,
    evaluate_word_pairs,
)
from .analysis.null import shuffle
from .analysis.spectral import group_mean_correlation, principal_axes, random_subset, svd_spectrum

# ==== alignment ====
from .alignment.procrustes import Alignment, Normalizer, align, linear_map, procrustes
from .alignment.stability import StabilityReport, stability, train_word2vec_runs
from .alignment.translate import Translation, TranslationAccuracy, translate, translation_accuracy
# ==== end alignment ====


def __getattr__(name: str):
    # __version__ is looked up lazily: importlib.metadata costs ~40 ms of import time, a good
    # part of the budget for loading a model in a fresh process.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tokenspace")
        except PackageNotFoundError:  # running from a source tree
            return "0.0.0+dev"
    raise AttributeError(f"module 'tokenspace' has no attribute {name!r}")


def simd_level() -> str:
    """The instruction set the kernels use now: 'scalar', 'avx2', 'avx512' or 'avx512_bf16'."""
    return _core.simd_level()


def available_simd_levels() -> list[str]:
    """Every level this CPU can run, lowest first."""
    return list(_core.available_simd_levels())


def set_simd_level(level: str) -> None:
    """Force an instruction-set level (also settable with the TOKENSPACE_SIMD variable)."""
    _core.set_simd_level(level)


def num_threads() -> int:
    """Threads the kernels use (TOKENSPACE_NUM_THREADS, default: all cores).

    Between jobs the worker threads spin for up to TOKENSPACE_SPIN_US microseconds (default
    100) before sleeping, so back-to-back small calls (single-query searches) skip the
    wake-up latency; set it to 0 on machines whose cores other processes need.
    """
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
    # ==== clustering, graphs, text, plots, report ====
    "Clusters",
    "build_report",
    "CosineGraph",
    "DbscanSweep",
    "SequenceCosines",
    "color_text",
    "cosine_graph",
    "dbscan",
    "dbscan_sweep",
    "embed_strings",
    "plot",
    "select_tokens",
    "sequence_cosines",
    "token_scores",
    "tsne",
    # loaders
    "ContextualEmbeddings",
    "SingleTokenWords",
    "Tokens",
    "contextual_embeddings",
    "detect_format",
    "from_gensim",
    "load_glove",
    "load_native",
    "load_word2vec",
    "save_glove",
    "save_native",
    "save_word2vec",
    "to_gensim",
    # analogies, evaluations, semantic axes, spectra, null models
    "AnalogyEvaluation",
    "AnalogyResult",
    "AnalogySection",
    "AxisExtremes",
    "WordPairEvaluation",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "extremes",
    "group_mean_correlation",
    "principal_axes",
    "project",
    "random_subset",
    "semantic_axis",
    "shuffle",
    "solve_analogies",
    "svd_spectrum",
    # ==== alignment ====
    "Alignment",
    "Normalizer",
    "StabilityReport",
    "Translation",
    "TranslationAccuracy",
    "align",
    "linear_map",
    "procrustes",
    "stability",
    "train_word2vec_runs",
    "translate",
    "translation_accuracy",
]
