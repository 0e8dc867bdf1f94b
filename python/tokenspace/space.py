"""EmbeddingSpace: a float32 matrix plus its vocabulary, the object every analysis takes."""

from __future__ import annotations

import difflib
import math
import mmap
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import _kernels, analogy_search, interop, tokens
from ._validate import as_matrix, check_k
from .neighbors import PRECISIONS, Neighbors, canonical_metric, kernel_metric
from .tokens import Tokenizer, as_tokenizer


def _close_spellings(
    word: str, vocab: Sequence[str], index: dict[str, int], n: int = 3
) -> list[str]:
    """A few vocabulary words spelled like ``word``; cheap enough for a 400k vocabulary."""
    found = [
        v
        for v in {word.lower(), word.upper(), word.capitalize(), word.strip()}
        if v != word and v in index
    ]
    # Compare only against words of similar length sharing the first letter: difflib over the
    # whole vocabulary would take seconds.
    if word:
        pool = [
            v for v in vocab if v[:1].lower() == word[:1].lower() and abs(len(v) - len(word)) <= 2
        ]
        found += [
            v
            for v in difflib.get_close_matches(word, pool[:50000], n=n, cutoff=0.75)
            if v not in found
        ]
    return found[:n]


def _immutable(arr: np.ndarray, source: Any, copy: bool | None) -> np.ndarray:
    """``arr`` (``as_matrix(source)``) as an array nobody else can write to: copied when the
    caller could still change it (see ``EmbeddingSpace``'s ``copy``)."""
    if copy is None:
        if isinstance(source, (EmbeddingSpace, list, tuple)):
            return arr  # another space's matrix is immutable; a list was converted afresh
        if isinstance(source, np.ndarray) and not np.may_share_memory(arr, source):
            return arr  # converted (dtype or layout): nobody else holds this copy
        base: Any = arr
        while isinstance(base, np.ndarray):
            if base.flags.writeable:
                return arr.copy()
            base = base.base
        # bytes or a read-only mmap under read-only arrays: immutable; anything else (an
        # exporter of the buffer protocol numpy does not see through) may still change
        return arr if base is None or isinstance(base, (bytes, mmap.mmap)) else arr.copy()
    if copy:
        return arr.copy()
    if arr.flags.writeable:
        arr.flags.writeable = False
    return arr


def _check_counts(counts: Any, n: int) -> np.ndarray:
    c = np.asarray(counts)
    if c.ndim != 1 or c.shape[0] != n:
        raise ValueError(f"counts must have one entry per word ({n}), got shape {c.shape}")
    integral = np.issubdtype(c.dtype, np.integer) or (
        np.issubdtype(c.dtype, np.floating) and bool(np.all(c == np.round(c)))
    )
    if c.size and not integral:
        raise TypeError(f"counts must be integers (-1 = unknown), got dtype {c.dtype}")
    c = c.astype(np.int64)
    if c.size and int(c.min()) < -1:
        raise ValueError(f"counts must be >= 0 (or -1 for unknown), got {int(c.min())}")
    c.flags.writeable = False
    return c


def _not_a_word(word: Any) -> TypeError:
    if isinstance(word, (bytes, bytearray)):
        return TypeError(
            f"words are str, got bytes {bytes(word)!r}; decode it first "
            f"({bytes(word)!r}.decode('utf-8'))"
        )
    return TypeError(f"words are str, got {type(word).__name__}")


def _check_restrict(restrict_vocab: Any, n: int) -> int:
    if restrict_vocab is None:
        return n
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, (int, np.integer)):
        raise TypeError(f"restrict_vocab must be an integer, got {type(restrict_vocab).__name__}")
    if restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be >= 1, got {restrict_vocab}")
    return min(int(restrict_vocab), n)


def _words_list(words: Any, what: str) -> list[Any]:
    """A list of words (or ids) for methods that compare several; one str is refused, since
    splitting it into characters is never what is meant."""
    if isinstance(words, (str, bytes, bytearray)):
        raise TypeError(f"{what} takes a list of words, not one string: pass [{words!r}]")
    items = list(words)
    if not items:
        raise ValueError(f"{what} needs at least one word")
    return items


class EmbeddingSpace:
    """A token embedding space: one float32 vector per vocabulary entry.

    Parameters
    ----------
    vectors : array_like (V, d)
        The embedding matrix, stored as a read-only C-contiguous float32 array that nothing
        else can write to: the space caches unit rows, norms and low-precision copies of it,
        which a later change of the caller's array would leave stale. An array someone could
        still write to (any writeable numpy array, or a read-only view of one) is therefore
        copied; an array that is immutable all the way down (a read-only memory map such as
        a native folder's, or a read-only array over ``bytes``) is used as it is, without a
        copy. See ``copy``.
    vocab : sequence of str
        ``vocab[i]`` is the token of row ``i``; entries must be unique.
    name : str, optional
        A label used in reports and ``repr``.
    check : bool, default True
        Reject NaN/Inf values up front (one fast pass). Turn off only for data already checked.
    tokenizer : Tokenizer, tokenizers.Tokenizer or path, optional
        The tokenizer whose ids index the rows (a ``tokenizer.json`` path is opened lazily on
        first use); enables ``tokenize``, ``embed`` of text, ``single_token_words``.
    model_dir : path, optional
        The Hugging Face folder the space came from (for contextual embeddings).
    index : dict, optional
        A word -> row mapping already built from ``vocab`` (loaders pass the one they built while
        checking for duplicates), taken as given.
    lazy_index : bool, default False
        Build the word -> row index (and check that words are unique) on the first lookup
        instead of now; for vocabularies already known to be unique str (native folders), so
        that opening a 400k space costs only reading its vocabulary.
    counts : array_like of int (V,), optional
        Corpus frequency of every entry (gensim's ``count`` attribute; word2vec ``fvocab``
        files), or -1 where unknown. Kept by ``subset`` and passed through ``to_gensim``.
    copy : bool, optional
        ``None`` (default): copy ``vectors`` unless it is already immutable (above).
        ``True``: always copy. ``False``: never copy; a writeable ``vectors`` is then marked
        read-only *in place* (``vectors.flags.writeable`` becomes False), and you promise
        not to write to it through any other reference (a view's base, for instance).

    Examples
    --------
    >>> import numpy as np, tokenspace as ts
    >>> s = ts.EmbeddingSpace(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    >>> len(s), s.dim, "a" in s, s.index("c")
    (3, 3, True, 2)
    """

    def __init__(
        self,
        vectors: Any,
        vocab: Sequence[str],
        *,
        name: str | None = None,
        check: bool = True,
        tokenizer: Any = None,
        model_dir: str | os.PathLike | None = None,
        index: dict[str, int] | None = None,
        lazy_index: bool = False,
        counts: Any = None,
        copy: bool | None = None,
    ) -> None:
        source = vectors
        vectors = as_matrix(vectors, "vectors", allow_empty=True, check_finite=check)
        vectors = _immutable(vectors, source, copy)
        if isinstance(vocab, (str, bytes)):
            raise TypeError("vocab must be a list of words, not one string")
        vocab = list(vocab)
        if len(vocab) != vectors.shape[0]:
            raise ValueError(
                f"vocab has {len(vocab)} entries but vectors has {vectors.shape[0]} rows; "
                "they must match one to one"
            )
        self._index: dict[str, int] | None = None
        if index is not None:
            if len(index) != len(vocab):
                raise ValueError(
                    f"index has {len(index)} words for {len(vocab)} vocabulary entries"
                )
            self._index = index
        elif not lazy_index:
            self._index = self._build_index(vocab)
        self._counts = None if counts is None else _check_counts(counts, len(vocab))
        view = vectors.view()
        view.flags.writeable = False
        self._vectors = view
        self._vocab = vocab
        self.name = name
        self._unit: np.ndarray | None = None
        self._norms: np.ndarray | None = None
        self._faiss: dict[str, Any] = {}
        self._databases: dict[str, _kernels.Database] = {}
        # (database key, precision) pairs already prepared: a repeated search at the same
        # precision must not pay a call into the policy (and its lock) per query
        self._prepared: set[tuple[str, str]] = set()
        self._tokenizer: Tokenizer | None = None if tokenizer is None else as_tokenizer(tokenizer)
        self._token_style: str | None = None
        self.model_dir = None if model_dir is None else os.fspath(model_dir)

    @classmethod
    def _build_index(cls, vocab: list[Any]) -> dict[str, int]:
        # Fast path (C-speed dict build, ~10x quicker on 400k words); the loop only runs to name
        # the offending entry.
        try:
            index = dict(zip(vocab, range(len(vocab))))
            if len(index) == len(vocab) and all(type(w) is str for w in vocab):
                return index
        except TypeError:
            pass
        return cls._checked_index(vocab)

    @property
    def _words(self) -> dict[str, int]:
        """The word -> row index, built on first use for ``lazy_index`` spaces."""
        if self._index is None:
            self._index = self._build_index(self._vocab)
        return self._index

    @staticmethod
    def _checked_index(vocab: list[Any]) -> dict[str, int]:
        index: dict[str, int] = {}
        for i, w in enumerate(vocab):
            if not isinstance(w, str):
                raise TypeError(f"vocab entry {i} is {type(w).__name__}, not str")
            j = index.setdefault(w, i)
            if j != i:
                raise ValueError(
                    f"vocab entry {w!r} appears twice (rows {j} and {i}); deduplicate the "
                    "vocabulary (the loaders keep the first occurrence)"
                )
        return index

    # container protocol
    def __len__(self) -> int:
        return self._vectors.shape[0]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._words

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocab)

    def __getitem__(self, key: str | int | Sequence[str | int]) -> np.ndarray:
        """Vector of a word or id (read-only view), or a (n, d) array for a list of them."""
        if isinstance(key, (str, int, np.integer)):
            return self._vectors[self._resolve(key)]
        ids = self.indices(key)
        return self._vectors[ids]

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"EmbeddingSpace({label}{len(self)} x {self.dim})"

    # basic properties
    @property
    def vectors(self) -> np.ndarray:
        """The (V, d) float32 matrix, read-only (and no other reference can change it)."""
        return self._vectors

    @property
    def counts(self) -> np.ndarray | None:
        """Corpus frequency of every entry (int64, -1 where unknown), or None."""
        return self._counts

    @property
    def index_to_key(self) -> list[str]:
        """The vocabulary (gensim's name for it); ``index_to_key[i]`` labels row ``i``."""
        return self._vocab

    @property
    def vector_size(self) -> int:
        """Vector dimension d (gensim's name)."""
        return self.dim

    @property
    def vocab(self) -> list[str]:
        """The vocabulary; ``vocab[i]`` labels row ``i``. Do not mutate."""
        return self._vocab

    @property
    def key_to_index(self) -> dict[str, int]:
        """The word -> row mapping (gensim's name); do not mutate."""
        return self._words

    @property
    def dim(self) -> int:
        """Vector dimension d."""
        return int(self._vectors.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(V, d)."""
        return (int(self._vectors.shape[0]), int(self._vectors.shape[1]))

    @property
    def tokenizer(self) -> Tokenizer | None:
        """The tokenizer whose ids index the rows, or None (word-level spaces)."""
        return self._tokenizer

    @property
    def token_style(self) -> str:
        """'bytelevel' (GPT-2 "Ġ"), 'wordpiece' (BERT "##"), 'metaspace' ("▁") or 'plain'."""
        if self._token_style is None:
            self._token_style = (
                self._tokenizer.style
                if self._tokenizer is not None
                else tokens.vocab_style(self._vocab)
            )
        return self._token_style

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length (cached, read-only); zero rows stay zero, never NaN."""
        return self._unit_and_norms()[0]

    @property
    def norms(self) -> np.ndarray:
        """Euclidean norm of every row (float32, cached)."""
        return self._unit_and_norms()[1]

    def _unit_and_norms(self) -> tuple[np.ndarray, np.ndarray]:
        if self._unit is None or self._norms is None:
            unit, norms = _kernels.normalize_rows(self._vectors)
            unit.flags.writeable = False
            norms.flags.writeable = False
            self._unit, self._norms = unit, norms
        return self._unit, self._norms

    # lookups
    def index(self, word: str, *, leading_space: bool | None = None) -> int:
        """Row id of ``word``; ``KeyError`` naming the word (and close spellings) if absent.

        Parameters
        ----------
        word : str
        leading_space : bool, optional
            For byte-level BPE (GPT-2 "Ġ") and SentencePiece ("▁") vocabularies: ``True``
            looks the word up as it appears after a space ("the" -> "Ġthe"). By default the
            word is looked up as given, then as its text spelled the vocabulary's way, so
            " the" finds "Ġthe". No effect on WordPiece and word-level vocabularies.
        """
        index = self._words
        if leading_space is None:
            try:
                return index[word]
            except KeyError:
                pass
            except TypeError:
                raise _not_a_word(word) from None
        elif not isinstance(word, str):
            raise _not_a_word(word)
        style = self.token_style if isinstance(word, str) else "plain"
        for form in tokens.lookup_forms(word, style, leading_space=leading_space):
            i = index.get(form)
            if i is not None:
                return i
        if not isinstance(word, str):
            raise _not_a_word(word)
        hint = tokens.spelling_hints(word, style, index.__contains__)
        hint += [h for h in _close_spellings(word, self._vocab, index) if h not in hint]
        extra = f"; did you mean {', '.join(repr(h) for h in hint[:4])}?" if hint else ""
        if style in ("bytelevel", "metaspace") and not leading_space:
            extra += " (pass leading_space=True to look words up as they appear after a space)"
        label = f" of {self.name}" if self.name else ""
        raise KeyError(
            f"word {word!r} is not in the vocabulary{label} ({len(self)} entries){extra}"
        )

    def indices(
        self, words: Iterable[str | int] | str, *, leading_space: bool | None = None
    ) -> np.ndarray:
        """Row ids of several words or ids (int64); one ``str`` counts as one word."""
        if isinstance(words, (str, int, np.integer)) and not isinstance(words, bool):
            words = [words]
        elif isinstance(words, (bytes, bytearray)):
            raise _not_a_word(words)
        elif isinstance(words, np.ndarray) and not np.issubdtype(words.dtype, np.integer):
            if words.dtype.kind in "US":
                words = words.tolist()
            else:
                raise TypeError(
                    f"ids must be integers, got an array of {words.dtype}; pass words, ids, "
                    "or use knn()/cosine_matrix() for vectors"
                )
        return np.fromiter(
            (self._resolve(w, leading_space) for w in words),
            dtype=np.int64,
        )

    def _resolve(self, key: str | int, leading_space: bool | None = None) -> int:
        if isinstance(key, str):
            return self.index(key, leading_space=leading_space)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(f"id {i} is out of range for a vocabulary of {len(self)} entries")
            return i % len(self)
        if isinstance(key, (bytes, bytearray)):
            raise _not_a_word(key)
        raise TypeError(f"expected a word (str) or an id (int), got {type(key).__name__}")

    def subset(
        self, selector: Iterable[str] | Callable[[str], bool], *, name: str | None = None
    ) -> EmbeddingSpace:
        """A new space with the chosen rows.

        Parameters
        ----------
        selector : iterable of str, or callable
            Words (kept in the given order; unknown words raise ``KeyError``), or a predicate
            ``f(word) -> bool`` applied to the whole vocabulary (vocabulary order kept).
        """
        if callable(selector):
            ids = np.fromiter((i for i, w in enumerate(self._vocab) if selector(w)), dtype=np.int64)
        else:
            if isinstance(selector, str):
                raise TypeError("subset() takes a list of words or a predicate, not one string")
            ids = self.indices(selector)
        vocab = [self._vocab[i] for i in ids]
        counts = None if self._counts is None else self._counts[ids]
        return EmbeddingSpace(
            self._vectors[ids],
            vocab,
            name=name or self.name,
            check=False,
            counts=counts,
            copy=False,
        )

    def knn_database(
        self, metric: str = "cosine", precision: str = "auto", rows: int | None = None
    ) -> _kernels.Database:
        """The prepared exact-kNN database of the matrix ``metric`` searches (cached).

        Unit rows for cosine, raw rows otherwise; ``rows`` limits it to the first entries
        (``restrict_vocab``; only the latest prefix per kind is kept, so a sweep does not pile
        up copies). The low-precision copies the kernels' precision policy wants for repeated
        searches are built on first use: int8 (a quarter of the float32 matrix, for single
        queries) from AVX2 on, and bf16 (half of it, for batches) on AVX-512 BF16 CPUs.
        """
        kind = "unit" if canonical_metric(metric) == "cosine" else "raw"
        rows = len(self) if rows is None else min(int(rows), len(self))
        cache_key = kind if rows == len(self) else f"{kind}[:{rows}]"
        db = self._databases.get(cache_key)
        if db is None:
            if cache_key != kind:
                for old in [c for c in self._databases if c.startswith(kind + "[")]:
                    del self._databases[old]
            matrix = self.unit_vectors if kind == "unit" else self._vectors
            db = self._databases[cache_key] = _kernels.database(matrix[:rows], precision=precision)
            self._prepared = {p for p in self._prepared if p[0] in self._databases}
        elif (cache_key, precision) not in self._prepared:
            _kernels.prepare(db, precision=precision)
        self._prepared.add((cache_key, precision))
        return db

    def _metric_queries(
        self, q: np.ndarray, ids: np.ndarray | None, labels: list[str] | None, metric: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """The query rows and base rows a search with ``metric`` compares (unit rows for
        cosine, where a zero query is refused), from what :meth:`_queries` returned."""
        if metric != "cosine":
            return q, self._vectors
        base = self.unit_vectors
        if ids is not None:
            q = base[ids]
            zero = ids[self.norms[ids] == 0]
        else:
            q, qn = _kernels.normalize_rows(q)
            zero = np.flatnonzero(qn == 0)
        if zero.size:
            raise ValueError(
                f"query {labels[0] if labels else int(zero[0])!r} is a zero vector: cosine is "
                "undefined; use metric='dot' or drop it"
            )
        return q, base

    def _queries(
        self, queries: Any, leading_space: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray | None, list[Any] | None]:
        """Turn words / ids / vectors into (vectors, vocabulary ids or None, labels).

        Ambiguous forms are refused rather than guessed: ``bytes`` (a word? raw ids?) and a
        1-D integer array as long as a vector (d ids, or one integer-valued vector?).
        """
        if isinstance(queries, (bytes, bytearray)):
            raise _not_a_word(queries)
        if isinstance(queries, (str, int, np.integer)) and not isinstance(queries, bool):
            queries = [queries]
        if isinstance(queries, np.ndarray) and queries.dtype.kind in "US":
            queries = queries.tolist()
        if isinstance(queries, np.ndarray) and np.issubdtype(queries.dtype, np.floating):
            return as_matrix(queries, "queries", allow_1d=True), None, None
        if (
            isinstance(queries, np.ndarray)
            and np.issubdtype(queries.dtype, np.integer)
            and queries.ndim == 1
        ):
            if queries.shape[0] == self.dim:
                raise TypeError(
                    f"an integer array of length {self.dim} (the dimension) is ambiguous: for "
                    f"{self.dim} ids pass a list (ids.tolist()), for one vector pass floats "
                    "(v.astype(np.float32))"
                )
            queries = queries.tolist()
        items = list(queries)
        if not items:
            raise ValueError("no queries given; pass a word, an id, a list of them, or vectors")
        if all(isinstance(q, (str, int, np.integer)) and not isinstance(q, bool) for q in items):
            ids = self.indices(items, leading_space=leading_space)
            return self._vectors[ids], ids, items
        bad = next((q for q in items if isinstance(q, (bytes, bytearray, str))), None)
        if isinstance(bad, (bytes, bytearray)):
            raise _not_a_word(bad)
        if bad is not None:
            raise TypeError(
                f"queries mix words and vectors ({bad!r} among arrays); pass one kind per call"
            )
        return as_matrix(np.asarray(items), "queries", allow_1d=True), None, None

    def knn(
        self,
        queries: Any,
        k: int = 10,
        *,
        metric: str = "cosine",
        exclude_self: bool = True,
        backend: str = "tokenspace",
        precision: str = "auto",
        progress: bool = False,
        restrict_vocab: int | None = None,
        leading_space: bool | None = None,
    ) -> Neighbors:
        """Exact k nearest vocabulary entries of each query.

        Parameters
        ----------
        queries : str, int, list of str/int, or array (m, d) / (d,)
            Words, vocabulary ids, or raw vectors.
        k : int, default 10
        metric : {"cosine", "dot", "euclidean"}
            Cosine compares unit rows; "dot" the raw inner product; "euclidean" returns
            distances (ascending).
        exclude_self : bool, default True
            For word/id queries, leave the query's own entry out of its neighbours.
        backend : {"tokenspace", "faiss"}
            "faiss" runs the same exact search through a faiss IndexFlat (see ``to_faiss``).
        precision : {"auto", "fp32", "bf16", "int8"}
            Candidate-stage precision; answers are exact either way (see :func:`tokenspace.knn`).
        progress : bool, default False
            Show a progress bar with an ETA on stderr (see :mod:`tokenspace.progress`).
        restrict_vocab : int, optional
            Search only the first ``restrict_vocab`` entries (gensim's option: vocabularies
            sorted by frequency keep the common words). Queries may lie outside it.
        leading_space : bool, optional
            How words are looked up in byte-level / SentencePiece vocabularies (see
            :meth:`index`): ``True`` finds "Ġthe" for "the".

        Returns
        -------
        Neighbors
            Ties are broken by the lower id. Scores are exact (computed in double precision,
            reported as float32), so they can differ from faiss' float32 sums in the last bits.
        """
        metric = canonical_metric(metric)
        q, ids, labels = self._queries(queries, leading_space)
        if q.shape[1] != self.dim:
            raise ValueError(f"query vectors have dimension {q.shape[1]}, the space has {self.dim}")
        rows = _check_restrict(restrict_vocab, len(self))
        drop_self = exclude_self and ids is not None
        k = check_k(
            k,
            rows - (1 if drop_self else 0),
            what="vocabulary entries" if rows == len(self) else f"entries of restrict_vocab={rows}",
        )
        q, _ = self._metric_queries(q, ids, labels, metric)
        exclude = ids[:, None] if drop_self and ids is not None else None
        if backend == "tokenspace":
            if precision not in PRECISIONS:
                raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
            db = self.knn_database(metric, precision, rows=rows)
            if exclude is not None and rows < len(self):
                # a query outside the searched prefix has nothing to exclude
                exclude = np.where(exclude < rows, exclude, -1)
            idx, scores = _kernels.knn(
                q,
                db,
                k,
                metric=kernel_metric(metric),
                exclude=exclude,
                precision=precision,
                progress=progress,
            )
        elif backend == "faiss":
            if rows < len(self):
                raise ValueError("restrict_vocab works with backend='tokenspace' only")
            index = self._faiss.get(metric)
            if index is None:
                index = self._faiss[metric] = self.to_faiss(metric)
            idx, scores = interop.faiss_search(index, q, k, metric=metric, exclude=exclude)
        else:
            raise ValueError(f"unknown backend {backend!r}; expected 'tokenspace' or 'faiss'")
        words = [[self._vocab[j] for j in row] for row in idx.tolist()]
        return Neighbors(idx, scores, words, metric, labels, query_ids=ids, style=self.token_style)

    def knn_graph(
        self,
        k: int = 10,
        *,
        metric: str = "cosine",
        exclude_self: bool = True,
        precision: str = "auto",
        progress: bool = False,
    ) -> Neighbors:
        """Exact k-NN of every vocabulary entry against the whole vocabulary.

        The similarity matrix is symmetric, so each pair of entries is scored once and serves
        both (half the work of searching the vocabulary with itself as queries). The V x V
        matrix is never built: extra memory is O(V k) plus the rows in panel order (half the
        float32 matrix with bf16 candidates). ``words`` is left empty (None) to keep V x k
        Python strings out of memory; map ids through ``vocab`` when needed. ``progress=True``
        shows a progress bar with an ETA on stderr; Ctrl-C stops the search within a second.
        """
        metric = canonical_metric(metric)
        k = check_k(k, len(self) - (1 if exclude_self else 0))
        base = self.unit_vectors if metric == "cosine" else self._vectors
        exclude = np.arange(len(self), dtype=np.int64)[:, None] if exclude_self else None
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
        db = self.knn_database(metric, precision)
        idx, scores = _kernels.knn(
            base,
            db,
            k,
            metric=kernel_metric(metric),
            exclude=exclude,
            precision=precision,
            progress=progress,
        )
        return Neighbors(idx, scores, None, metric, None, style=self.token_style)

    def to_faiss(self, metric: str = "cosine") -> Any:
        """An exact faiss index over this space.

        ``cosine`` -> IndexFlatIP on unit rows; ``dot`` -> IndexFlatIP on raw rows;
        ``euclidean`` -> IndexFlatL2 (faiss reports squared distances).
        """
        metric = canonical_metric(metric)
        rows = self.unit_vectors if metric == "cosine" else self._vectors
        return interop.faiss_index(rows, metric=metric)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Any:
        """Write the space to a folder in the native format (reopen with ``ts.load(path)``).

        A ``.npy`` matrix (memory-mapped on load), the vocabulary, and the tokenizer when the
        space has one. See :func:`tokenspace.save_native`.
        """
        from .io.native import save_native

        return save_native(self, path, overwrite=overwrite)

    def tokenize(self, text: str, *, special_tokens: bool = False) -> Any:
        """Tokens, ids and character offsets of ``text`` (:class:`tokenspace.Tokens`).

        Uses the space's Hugging Face tokenizer; spaces without one split on whitespace (and
        raise ``KeyError`` for unknown words). ``special_tokens=True`` adds [CLS]/[SEP] etc.
        """
        return tokens.tokenize(self, text, special_tokens=special_tokens)

    def embed(
        self, text: str | Sequence[str], *, pool: str | None = "mean", special_tokens: bool = False
    ) -> np.ndarray:
        """Vector of a word, emoji or text: its token vectors pooled (``"mean"`` by default).

        Parameters
        ----------
        text : str or list of str
            A list gives one row per text, shape (n, d).
        pool : {"mean", "sum", "max", "first", "last", None}
            ``None`` returns the (n_tokens, d) token vectors of a single text.
        """
        return tokens.embed(self, text, pool=pool, special_tokens=special_tokens)

    def single_token_words(self, words: Iterable[str], *, leading_space: bool | None = None) -> Any:
        """The words that are exactly one token (the "1 word = 1 token" filter).

        Handles GPT-2's leading-space marker "Ġ" (by default a word is tested as " word", the way
        it appears inside text) and BERT's "##" continuations. Returns
        :class:`tokenspace.SingleTokenWords` (``words``, ``ids``, ``tokens``, ``rejected``).
        """
        return tokens.single_token_words(self, list(words), leading_space=leading_space)

    def display_token(self, token: int | str) -> str:
        """Readable form of a token id or token: "Ġking" -> " king", "Ċ" -> "\\n", "▁a" -> " a"."""
        return tokens.display_token(self, token)

    def to_gensim(self) -> Any:
        """A gensim ``KeyedVectors`` copy of this space (same keys, same order; ``counts``
        become gensim's ``count`` attribute)."""
        return interop.to_gensim(self)

    def most_similar(
        self,
        positive: Any = None,
        negative: Any = None,
        topn: int | None = 10,
        *,
        method: str = "3cosadd",
        restrict_vocab: int | None = None,
        exclude_inputs: bool = True,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words nearest to ``sum(positive) - sum(negative)``, with gensim's semantics.

        Parameters
        ----------
        positive, negative : word, id, vector, or a list of them
            3CosAdd also accepts ``(word, weight)`` pairs. Words are unit-normalised first;
            raw vectors are used as given (as gensim does).
        topn : int or None, default 10
            Number of answers; ``None`` returns the score of every entry (within
            ``restrict_vocab``) as an array; ``topn < 1`` returns ``[]``.
        method : {"3cosadd", "3cosmul"}
            3CosAdd: cosine with the normalised weighted mean of the unit inputs
            (gensim ``most_similar``). 3CosMul: Levy & Goldberg's multiplicative objective
            with cosines shifted to [0, 1] and epsilon 1e-6 (gensim ``most_similar_cosmul``).
        restrict_vocab : int, optional
            Search only the first ``restrict_vocab`` entries. (gensim's
            ``most_similar_cosmul`` ignores this argument; here it applies to both methods.)
        exclude_inputs : bool, default True
            Leave the input words out of the answers (gensim always does).

        Returns
        -------
        list of (word, score)
            Best first; ties broken by the lower id.

        Examples
        --------
        >>> s.most_similar(positive=["king", "woman"], negative=["man"], topn=1)  # doctest: +SKIP
        [('queen', 0.8523...)]
        """
        return analogy_search.most_similar(
            self,
            positive,
            negative,
            topn,
            method=method,
            restrict_vocab=restrict_vocab,
            exclude_inputs=exclude_inputs,
        )

    # gensim's KeyedVectors query surface: same numbers on the same vectors (tests compare)
    def get_index(self, key: str | int) -> int:
        """Row id of a word or id (gensim's name for :meth:`index`)."""
        return self._resolve(key)

    def get_vector(self, key: str | int, *, norm: bool = False) -> np.ndarray:
        """The vector of a word or id (read-only); ``norm=True`` scales it to unit length
        exactly as gensim does (float32 division by the float32 norm).

        Raises ``ValueError`` for ``norm=True`` on a zero vector (gensim returns NaN).
        """
        i = self._resolve(key)
        if not norm:
            return self._vectors[i]
        v = analogy_search.gensim_unit(self._vectors, np.asarray([i], dtype=np.int64))[0]
        v.flags.writeable = False
        return v

    def get_mean_vector(
        self,
        keys: Any,
        *,
        weights: Any = None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = False,
    ) -> np.ndarray:
        """Weighted mean of words, ids or vectors, as gensim's ``get_mean_vector``.

        Parameters
        ----------
        keys : word, id, vector, or a list of them
            One ``str`` is one word (gensim would iterate over its characters).
        weights : sequence of float, optional
            One per key (default 1); the mean divides by the sum of their absolute values.
        pre_normalize : bool, default True
            Unit-normalise word vectors before averaging (raw vectors are used as given).
        post_normalize : bool, default False
            Unit-normalise the mean.
        ignore_missing : bool, default False
            Skip words not in the vocabulary. gensim skips them silently by default; here a
            missing word raises ``KeyError`` unless asked.
        """
        if isinstance(keys, (str, int, np.integer)) and not isinstance(keys, bool):
            items: list[Any] = [keys]
        elif isinstance(keys, np.ndarray) and keys.ndim == 1 and keys.dtype.kind == "f":
            items = [keys]
        elif isinstance(keys, (bytes, bytearray)):
            raise _not_a_word(keys)
        else:
            items = list(keys)
        if not items:
            raise ValueError("cannot compute the mean of no keys")
        w = (
            np.ones(len(items), dtype=np.float32)
            if weights is None
            else np.asarray(weights, dtype=np.float32).reshape(-1)
        )
        if w.shape[0] != len(items):
            raise ValueError(f"{len(items)} keys but {w.shape[0]} weights; pass one per key")
        mean = np.zeros(self.dim, dtype=np.float32)
        total = 0.0
        for weight, key in zip(w, items):
            if isinstance(key, np.ndarray):
                vec = np.asarray(key, dtype=np.float32)
                if vec.shape != (self.dim,):
                    raise ValueError(f"vector of shape {vec.shape}; the space has d={self.dim}")
            elif ignore_missing and isinstance(key, str) and key not in self:
                continue
            else:
                vec = self.get_vector(key, norm=pre_normalize)
            mean += weight * vec
            total += abs(float(weight))
        if total > 0:
            mean = mean / np.float32(total)
        if post_normalize:
            mean = _unitvec32(mean)
        return mean

    def _pair_vectors(self, w1: Any, w2: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.get_vector(w1), self.get_vector(w2)

    def similarity(self, w1: str | int, w2: str | int) -> float:
        """Cosine similarity of two words (gensim's ``similarity``).

        Computed in float64 from the float32 vectors (gensim: float32, so the two agree to
        about 1e-7). ``ValueError`` when either vector is zero.
        """
        return _cosine64(*self._pair_vectors(w1, w2), (w1, w2))

    def distance(self, w1: str | int, w2: str | int) -> float:
        """Cosine distance ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    def n_similarity(self, ws1: Sequence[str | int], ws2: Sequence[str | int]) -> float:
        """Cosine between the means of two word sets (raw vectors averaged, as gensim)."""
        a = self.get_mean_vector(_words_list(ws1, "n_similarity"), pre_normalize=False)
        b = self.get_mean_vector(_words_list(ws2, "n_similarity"), pre_normalize=False)
        return _cosine64(a, b, ("mean of ws1", "mean of ws2"))

    def distances(self, word_or_vector: Any, other_words: Sequence[str | int] = ()) -> np.ndarray:
        """Cosine distances from a word or vector to ``other_words`` (default: every entry).

        float32 (n,) in ``other_words`` (or vocabulary) order, as gensim's ``distances``;
        zero rows of the space are at distance 1 (gensim gives NaN).
        """
        if isinstance(word_or_vector, (str, int, np.integer)) and not isinstance(
            word_or_vector, bool
        ):
            q = self.get_vector(
                int(word_or_vector) if isinstance(word_or_vector, np.integer) else word_or_vector
            )
        elif isinstance(word_or_vector, (bytes, bytearray)):
            raise _not_a_word(word_or_vector)
        else:
            q = as_matrix(word_or_vector, "word_or_vector", allow_1d=True)
            if q.shape != (1, self.dim):
                raise ValueError(f"expected one vector of dimension {self.dim}, got {q.shape}")
            q = q[0]
        qn = float(np.linalg.norm(q.astype(np.float64)))
        if qn == 0:
            raise ValueError("the query is a zero vector: its cosine distances are undefined")
        unit = self.unit_vectors
        if isinstance(other_words, str) or len(other_words):
            rows = unit[self.indices(_words_list(other_words, "distances"))]
        else:
            rows = unit
        return (1.0 - rows @ (q / np.float32(qn))).astype(np.float32)

    def closer_than(self, key1: str | int, key2: str | int) -> list[str]:
        """Every entry closer to ``key1`` than ``key2`` is (``key1`` itself left out)."""
        d = self.distances(key1)
        i1, i2 = self._resolve(key1), self._resolve(key2)
        found = np.flatnonzero(d < d[i2])
        return [self._vocab[i] for i in found.tolist() if i != i1]

    def rank(self, key1: str | int, key2: str | int) -> int:
        """Rank of ``key2`` among the neighbours of ``key1`` (1 = the nearest)."""
        d = self.distances(key1)
        i1, i2 = self._resolve(key1), self._resolve(key2)
        closer = d < d[i2]
        return int(np.count_nonzero(closer)) - int(closer[i1]) + 1

    def rank_by_centrality(
        self, words: Sequence[str | int], *, use_norm: bool = True, ignore_missing: bool = False
    ) -> list[tuple[float, str | int]]:
        """Words ordered by cosine with their normalised mean, most central first:
        ``(score, word)`` pairs, as gensim's ``rank_by_centrality``.

        ``ignore_missing=True`` drops words not in the vocabulary (gensim drops them with a
        log message); by default they raise ``KeyError``.
        """
        items = _words_list(words, "rank_by_centrality")
        used = [w for w in items if not (ignore_missing and isinstance(w, str) and w not in self)]
        if not used:
            raise ValueError("none of the words is in the vocabulary")
        vectors = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = self.get_mean_vector(list(vectors), post_normalize=True)
        scores = vectors @ mean
        return sorted(zip(scores.tolist(), used), key=lambda p: p[0], reverse=True)

    def doesnt_match(self, words: Sequence[str | int], *, ignore_missing: bool = False) -> Any:
        """The word furthest from the mean of ``words`` (gensim's ``doesnt_match``)."""
        return self.rank_by_centrality(words, ignore_missing=ignore_missing)[-1][1]

    def most_similar_to_given(self, key1: str | int, keys_list: Sequence[str | int]) -> Any:
        """The entry of ``keys_list`` most similar to ``key1`` (the first one on ties)."""
        items = _words_list(keys_list, "most_similar_to_given")
        return items[int(np.argmax([self.similarity(key1, k) for k in items]))]

    def relative_cosine_similarity(self, wa: str | int, wb: str | int, topn: int = 10) -> float:
        """``similarity(wa, wb)`` divided by the sum of ``wa``'s ``topn`` best similarities
        (Leeuwenberg et al. 2016; gensim's ``relative_cosine_similarity``)."""
        sims = self.most_similar(positive=[wa], topn=topn)
        if not sims:
            raise ValueError("relative cosine similarity needs topn >= 1 neighbours")
        return self.similarity(wa, wb) / sum(float(s) for _, s in sims)


def _unitvec32(v: np.ndarray) -> np.ndarray:
    # gensim's matutils.unitvec on a float32 vector: float64 norm, scaled, back to float32
    n = float(np.sqrt(np.dot(v.astype(np.float64), v.astype(np.float64))))
    return (v * (1.0 / n)).astype(np.float32) if n > 0 else v


def _cosine64(a: np.ndarray, b: np.ndarray, labels: tuple[Any, Any]) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    na, nb = math.sqrt(float(a64 @ a64)), math.sqrt(float(b64 @ b64))
    if na == 0 or nb == 0:
        zero = labels[0] if na == 0 else labels[1]
        raise ValueError(f"{zero!r} is a zero vector: its cosine similarity is undefined")
    return float(a64 @ b64) / (na * nb)
