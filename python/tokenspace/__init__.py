"""tokenspace: fast, exact analysis of token embedding spaces.

The heavy parts (cosine matrices, exact k-NN, ...) run in C++ kernels with runtime SIMD
dispatch and release the GIL; this package wraps them with a small, numpy-friendly API.
"""

from __future__ import annotations

from . import _kernels, plot
from .alignment.procrustes import Alignment, Normalizer, align, linear_map, procrustes
from .alignment.stability import (
    MeasureSpread,
    StabilityReport,
    StabilityStudy,
    stability,
    stability_study,
    train_word2vec_runs,
)
from .alignment.translate import Translation, TranslationAccuracy, translate, translation_accuracy
from .analysis.analogies import AnalogyResult, solve_analogies
from .analysis.axes import AxisExtremes, extremes, project, semantic_axis
from .analysis.cluster import Clusters, DbscanSweep, dbscan, dbscan_sweep, select_tokens, tsne
from .analysis.contextual import (
    Anisotropy,
    ContextualEmbeddings,
    Contextuality,
    IntraSentenceSimilarity,
    MaxExplainableVariance,
    SelfSimilarity,
    StaticVsContextual,
    anisotropy,
    contextual_embeddings,
    contextuality,
    contextuality_of,
    distill_static,
    intra_sentence_similarity,
    max_explainable_variance,
    self_similarity,
    split_sentences,
    static_vs_contextual,
)
from .analysis.evaluate import (
    AnalogyEvaluation,
    AnalogySection,
    ModelComparison,
    PairedTest,
    WordPairEvaluation,
    compare_models,
    evaluate_analogies,
    evaluate_word_pairs,
)
from .analysis.graph import CosineGraph, cosine_graph
from .analysis.null import NullBand, shuffle, shuffle_band
from .analysis.rsa import (
    RSAResult,
    SelectivityResult,
    category_selectivity,
    rsa,
    rsa_models,
    rsa_split_half,
    similarity_triangle,
)
from .analysis.sequences import (
    SequenceCosines,
    color_text,
    embed_strings,
    sequence_cosines,
    token_scores,
)
from .analysis.spectral import (
    SpectrumBaseline,
    group_mean_correlation,
    principal_axes,
    random_subset,
    spectrum_baseline,
    svd_spectrum,
)
from .interop import to_gensim
from .io.native import save_native
from .io.text import save_glove, save_word2vec
from .loaders import (
    EMBEDDED,
    detect_format,
    from_gensim,
    load,
    load_glove,
    load_hf,
    load_native,
    load_word2vec,
)
from .neighbors import Neighbors, knn
from .report import build_report
from .similarity import cosine_matrix, cosine_matrix_chunks, unit_rows
from .space import EmbeddingSpace
from .tokens import SingleTokenWords, Tokenizer, Tokens, UnknownTokenWarning, display_form


def __getattr__(name: str):
    if name == "__version__":  # looked up on first use (see tokenspace._version)
        from ._version import package_version

        return package_version()
    raise AttributeError(f"module 'tokenspace' has no attribute {name!r}")


def simd_level() -> str:
    """The instruction set the kernels use now: 'scalar', 'avx2', 'avx512' or 'avx512_bf16'."""
    return _kernels.simd_level()


def available_simd_levels() -> list[str]:
    """Every level this CPU can run, lowest first."""
    return list(_kernels.available_simd_levels())


def set_simd_level(level: str) -> None:
    """Force an instruction-set level (also settable with the TOKENSPACE_SIMD variable).

    Safe while kernels run on other threads: a running call keeps the level it started with;
    the change applies from the next call.
    """
    _kernels.set_simd_level(level)


def num_threads() -> int:
    """Threads the kernels use (TOKENSPACE_NUM_THREADS, default: all cores).

    Between jobs the worker threads spin for up to TOKENSPACE_SPIN_US microseconds (default
    100) before sleeping, so back-to-back small calls (single-query searches) skip the
    wake-up latency; set it to 0 on machines whose cores other processes need.
    """
    return _kernels.num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of kernel threads, ``1 <= n <= 4 x`` the hardware threads (at least 16).

    The pool keeps one OS thread per worker for the life of the process, and beyond a few
    threads per core more only add context switches, hence the bound (ValueError above it; the
    same bound applies to TOKENSPACE_NUM_THREADS). Safe while kernels run on other threads: a
    running call keeps the count it started with; the change applies from the next call.
    """
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"the number of threads must be an int, not {type(n).__name__}")
    n = n.__index__()
    top = _kernels.max_threads()
    if not 1 <= n <= top:
        raise ValueError(
            f"the number of threads must be between 1 and {top} (4 x this machine's hardware "
            f"threads), got {n}"
        )
    _kernels.set_num_threads(n)


__all__ = [
    "EMBEDDED",
    "Alignment",
    "AnalogyEvaluation",
    "AnalogyResult",
    "AnalogySection",
    "Anisotropy",
    "AxisExtremes",
    "Clusters",
    "ContextualEmbeddings",
    "Contextuality",
    "CosineGraph",
    "DbscanSweep",
    "EmbeddingSpace",
    "IntraSentenceSimilarity",
    "MaxExplainableVariance",
    "MeasureSpread",
    "ModelComparison",
    "Neighbors",
    "Normalizer",
    "NullBand",
    "PairedTest",
    "RSAResult",
    "SelectivityResult",
    "SelfSimilarity",
    "SequenceCosines",
    "SingleTokenWords",
    "SpectrumBaseline",
    "StabilityReport",
    "StabilityStudy",
    "StaticVsContextual",
    "Tokenizer",
    "Tokens",
    "Translation",
    "TranslationAccuracy",
    "UnknownTokenWarning",
    "WordPairEvaluation",
    "__version__",
    "align",
    "anisotropy",
    "available_simd_levels",
    "build_report",
    "category_selectivity",
    "color_text",
    "compare_models",
    "contextual_embeddings",
    "contextuality",
    "contextuality_of",
    "cosine_graph",
    "cosine_matrix",
    "cosine_matrix_chunks",
    "dbscan",
    "dbscan_sweep",
    "detect_format",
    "display_form",
    "distill_static",
    "embed_strings",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "extremes",
    "from_gensim",
    "group_mean_correlation",
    "intra_sentence_similarity",
    "knn",
    "linear_map",
    "load",
    "load_glove",
    "load_hf",
    "load_native",
    "load_word2vec",
    "max_explainable_variance",
    "num_threads",
    "plot",
    "principal_axes",
    "procrustes",
    "project",
    "random_subset",
    "rsa",
    "rsa_models",
    "rsa_split_half",
    "save_glove",
    "save_native",
    "save_word2vec",
    "select_tokens",
    "self_similarity",
    "semantic_axis",
    "sequence_cosines",
    "set_num_threads",
    "set_simd_level",
    "shuffle",
    "shuffle_band",
    "simd_level",
    "similarity_triangle",
    "solve_analogies",
    "spectrum_baseline",
    "split_sentences",
    "stability",
    "stability_study",
    "static_vs_contextual",
    "svd_spectrum",
    "to_gensim",
    "token_scores",
    "train_word2vec_runs",
    "translate",
    "translation_accuracy",
    "tsne",
    "unit_rows",
]
