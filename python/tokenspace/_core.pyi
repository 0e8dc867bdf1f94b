"""
tokenspace compiled kernels (private: use the tokenspace package)
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
import typing_extensions
__all__: list[str] = ['Cancelled', 'Database', 'Job', 'analogy', 'available_simd_levels', 'column_means', 'cross_gram', 'detected_simd_level', 'first_nonfinite_row', 'format_word_vectors', 'gram', 'kernel_table', 'knn', 'knn_self_join_tile', 'max_threads', 'normalize_rows', 'num_threads', 'parse_binary', 'parse_text', 'peak_rate', 'project', 'read_pass', 'rsa_pearson', 'rsa_permuted_cross', 'rsa_spearman', 'set_num_threads', 'set_simd_level', 'simd_level', 'similarity_triangle', 'softmax_log_normalizer']
class Database:
    """
    Rows prepared for repeated exact k-NN searches.
    """
    def __init__(self, rows: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        """
        Borrow the float32 rows (kept alive).
        """
    def candidate_scores(self, query: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], precision: str = 'auto') -> tuple[numpy.typing.NDArray[numpy.float32], str]:
        """
        Diagnostics: the candidate-stage inner products of one query with every row at the precision a single-query search uses: (scores, precision). Approximate for bf16 and int8; searches certify them and re-rank in float64.
        """
    def precision_for(self, n_queries: typing.SupportsInt | typing.SupportsIndex, precision: str = 'auto') -> str:
        """
        Candidate precision a search of n_queries queries would run: 'fp32', 'bf16' or 'int8'.
        """
    def prepare(self, precision: str = 'auto', n_queries: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        Build the low-precision copies the precision policy wants for n_queries queries (0: kept for many searches).
        """
    @property
    def d(self) -> int:
        """
        Dimension of the rows.
        """
    @property
    def has_bf16(self) -> bool:
        """
        Whether the bf16 copy exists.
        """
    @property
    def has_int8(self) -> bool:
        """
        Whether the int8 copy exists.
        """
    @property
    def max_norm(self) -> float:
        """
        An upper bound of the largest row norm.
        """
    @property
    def n(self) -> int:
        """
        Number of rows.
        """
class Cancelled(KeyboardInterrupt):
    pass
class Job:
    """
    Cancellation flag and progress of the kernel calls made inside `with job:` on one thread.
    """
    def __enter__(self) -> Job:
        ...
    def __exit__(self, arg0: typing.Any, arg1: typing.Any, arg2: typing.Any) -> bool:
        ...
    def __init__(self) -> None:
        ...
    def cancel(self) -> None:
        """
        Ask the running kernel to stop at its next task boundary (it raises Cancelled).
        """
    def progress(self) -> tuple[int, int]:
        """
        (tasks done, tasks started so far) over every parallel phase of the calls.
        """
    @property
    def cancelled(self) -> bool:
        """
        Whether cancel() was called.
        """
def analogy(terms: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], qterms: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], base: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], k: typing.SupportsInt | typing.SupportsIndex, method: str = '3cosadd', weights: typing.Any = None, n_pos: typing.SupportsInt | typing.SupportsIndex = 1, eps: typing.SupportsFloat | typing.SupportsIndex = 9.999999974752427e-07, exclude: typing.Any = None, cos_slack: typing.SupportsFloat | typing.SupportsIndex = 0.0, db: typing.Any = None) -> tuple:
    """
    Fused top-k of batched analogy queries over shared terms: (ids, combined scores). 3cosmul with cos_slack > 0 ranks by upper bounds of the objective. db: the Database of base itself; few 3cosmul queries then filter on its int8 copy.
    """
def available_simd_levels() -> list[str]:
    """
    Every SIMD level this CPU can run, lowest first.
    """
def column_means(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Column means in float64.
    """
def cross_gram(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], x_shift: typing.Any = None, y_shift: typing.Any = None) -> tuple:
    """
    (X - x_shift)^T (Y - y_shift) in float64 with the squared Frobenius norms: (M, sxx, syy).
    """
def detected_simd_level() -> str:
    """
    The best SIMD level this CPU supports.
    """
def first_nonfinite_row(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> int:
    """
    Index of the first row with NaN/Inf, or -1.
    """
def format_word_vectors(words: list, vectors: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], binary: bool = False) -> list:
    """
    word2vec/GloVe records as a list of byte chunks.
    """
def gram(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], out: typing.Any = None, clamp_unit: bool = False, unit_rows: bool = False) -> numpy.ndarray:
    """
    A @ B.T through the blocked SIMD kernels (clamp_unit: clip to [-1, 1]; unit_rows: normalise the rows while packing them, i.e. cosines of the raw rows).
    """
def kernel_table(level: str) -> dict:
    """
    {kernel slot: ISA unit providing it at this level, or 'none'} (any level, runnable or not).
    """
def knn(db: Database, queries: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], k: typing.SupportsInt | typing.SupportsIndex, metric: str = 'ip', exclude: typing.Any = None, bias: typing.Any = None, precision: str = 'auto', return_keys: bool = False) -> tuple:
    """
    Exact top-k of the queries against a prepared Database by inner product ('ip', plus an optional per-row bias) or Euclidean distance ('l2'): (ids, scores), plus the exact float64 ranking keys with return_keys=True.
    """
def knn_self_join_tile(db: Database, i0: typing.SupportsInt | typing.SupportsIndex, i1: typing.SupportsInt | typing.SupportsIndex, j0: typing.SupportsInt | typing.SupportsIndex, j1: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, metric: str = 'ip', exclude_self: bool = True) -> tuple:
    """
    Both directions' exact top-k of the tile (I, J) of the database's self-join, I = [i0, i1) and J = [j0, j1) equal or disjoint: (ids_i, keys_i, ids_j, keys_j), float64 keys (ids_j, keys_j are ids_i, keys_i on the diagonal).
    """
def max_threads() -> int:
    """
    Largest accepted number of kernel threads.
    """
def normalize_rows(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> tuple:
    """
    Unit-length rows and the row norms.
    """
def num_threads() -> int:
    """
    Number of kernel threads.
    """
def parse_binary(buffer: typing_extensions.Buffer, begin: typing.SupportsInt | typing.SupportsIndex, max_records: typing.SupportsInt | typing.SupportsIndex, dim: typing.SupportsInt | typing.SupportsIndex, source: str = '<buffer>', encoding: str = 'utf-8', errors: str = 'strict') -> tuple:
    """
    Parse word2vec binary records: (vectors, words).
    """
def parse_text(buffer: typing_extensions.Buffer, begin: typing.SupportsInt | typing.SupportsIndex = 0, max_records: typing.SupportsInt | typing.SupportsIndex = 18446744073709551615, dim: typing.SupportsInt | typing.SupportsIndex = 0, first_line_no: typing.SupportsInt | typing.SupportsIndex = 1, source: str = '<buffer>', encoding: str = 'utf-8', errors: str = 'strict') -> tuple:
    """
    Parse word2vec/GloVe text records: (vectors, words, line numbers).
    """
def peak_rate(kind: str, seconds: typing.SupportsFloat | typing.SupportsIndex = 0.3) -> float:
    """
    Benchmarks only: ops/second of one instruction kind on the calling thread.
    """
def project(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], axis: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], offset: typing.SupportsFloat | typing.SupportsIndex = 0.0, center: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    (x - center) @ axis - offset in one multithreaded pass.
    """
def read_pass(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> int:
    """
    Benchmarks' bandwidth reference: one read of every value with all kernel threads, no other work; returns the OR of the bit patterns.
    """
def rsa_pearson(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> dict:
    """
    Pearson statistics of the upper triangles (i < j) of X X^T and Y Y^T, streamed.
    """
def rsa_permuted_cross(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], perms: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    For each permutation row p: sum over pairs i < j of a[(i, j)] * b[(p[i], p[j])].
    """
def rsa_spearman(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], store_values: bool = False) -> dict:
    """
    Exact Spearman (average ranks for ties) of the upper triangles of X X^T and Y Y^T.
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the number of kernel threads (1 <= n <= max_threads()); running kernels keep theirs.
    """
def set_simd_level(name: str) -> None:
    """
    Use this SIMD level from now on (ValueError if the CPU lacks it).
    """
def simd_level() -> str:
    """
    The SIMD level in use: 'scalar', 'avx2', 'avx512' or 'avx512_bf16'.
    """
def similarity_triangle(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.ndarray:
    """
    Upper triangle (k=1, row-major) of X X^T as a flat float32 array.
    """
def softmax_log_normalizer(targets: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], sources: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], beta: typing.SupportsFloat | typing.SupportsIndex, row_max: typing.Any = None) -> numpy.typing.NDArray[numpy.float64]:
    """
    log sum_j exp(beta <t_i, s_j>) for every target row (row_max: each row's largest inner product, default 1 for unit rows).
    """
__version__: str = '0.1.0'
