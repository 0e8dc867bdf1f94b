"""Type stubs of the compiled kernels (tokenspace._core, private)."""

import numpy as np
from numpy.typing import ArrayLike

__version__: str

def knn(
    queries: ArrayLike,
    base: ArrayLike,
    k: int,
    metric: str = "ip",
    exclude: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray]: ...

class Database:
    """Rows prepared for repeated exact k-NN searches (keeps a reference to them)."""

    def __init__(self, rows: ArrayLike) -> None: ...
    def prepare_bf16(self) -> None: ...
    @property
    def has_bf16(self) -> bool: ...
    @property
    def n(self) -> int: ...
    @property
    def d(self) -> int: ...
    @property
    def max_norm(self) -> float: ...

def knn_db(
    db: Database,
    queries: ArrayLike,
    k: int,
    metric: str = "ip",
    exclude: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    precision: str = "auto",
) -> tuple[np.ndarray, np.ndarray]: ...
def normalize_rows(x: ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...
def first_nonfinite_row(x: ArrayLike) -> int: ...
def gram(a: ArrayLike, b: ArrayLike, out: np.ndarray | None = None) -> np.ndarray: ...
def simd_level() -> str: ...
def detected_simd_level() -> str: ...
def set_simd_level(name: str) -> None: ...
def available_simd_levels() -> list[str]: ...
def num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def peak_rate(kind: str, seconds: float = 0.3) -> float: ...

# ---- loaders ----
def parse_text(
    buffer: bytes | memoryview,
    begin: int = 0,
    max_records: int = ...,
    dim: int = 0,
    first_line_no: int = 1,
    source: str = "<buffer>",
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[np.ndarray, list[str], np.ndarray]: ...
def parse_binary(
    buffer: bytes | memoryview,
    begin: int,
    max_records: int,
    dim: int,
    source: str = "<buffer>",
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[np.ndarray, list[str]]: ...
def format_word_vectors(words: list[str], vectors: ArrayLike, binary: bool = False) -> list[bytes]: ...
def word_index(words: list[str]) -> dict[str, int]: ...
# ---- analogies ----
def analogy(
    terms: ArrayLike,
    qterms: ArrayLike,
    base: ArrayLike,
    k: int,
    method: str = "3cosadd",
    weights: ArrayLike | None = None,
    n_pos: int = 1,
    eps: float = 1e-6,
    exclude: ArrayLike | None = None,
    cos_slack: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]: ...
def project(x: ArrayLike, axis: ArrayLike, offset: float = 0.0) -> np.ndarray: ...

# ==== alignment ====
def cross_gram(
    x: ArrayLike, y: ArrayLike, x_shift: ArrayLike | None = None, y_shift: ArrayLike | None = None
) -> tuple[np.ndarray, float, float]: ...
def column_means(x: ArrayLike) -> np.ndarray: ...
def softmax_log_normalizer(
    targets: ArrayLike, sources: ArrayLike, beta: float, row_max: ArrayLike | None = None
) -> np.ndarray: ...

# ==== rsa ====
def rsa_pearson(x: ArrayLike, y: ArrayLike) -> dict[str, float]: ...
def rsa_spearman(x: ArrayLike, y: ArrayLike, store_values: bool = False) -> dict[str, float]: ...
def similarity_triangle(x: ArrayLike) -> np.ndarray: ...
