"""EmbeddingSpace: a float32 matrix plus its vocabulary, the object every analysis takes."""

from __future__ import annotations

import difflib
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


class EmbeddingSpace:
    """A token embedding space: one float32 vector per vocabulary entry.

    Parameters
    ----------
    vectors : array_like (V, d)
        The embedding matrix. Stored as a read-only C-contiguous float32 array (no copy when it
        already is one; memory-mapped arrays stay memory-mapped).
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
    ) -> None:
        vectors = as_matrix(vectors, "vectors", allow_empty=True, check_finite=check)
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
        """The (V, d) float32 matrix, read-only."""
        return self._vectors

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
    def index(self, word: str) -> int:
        """Row id of ``word``; ``KeyError`` naming the word (and close spellings) if absent."""
        index = self._words
        try:
            return index[word]
        except KeyError:
            pass
        except TypeError:
            raise TypeError(f"words are str, got {type(word).__name__}") from None
        if not isinstance(word, str):
            raise TypeError(f"words are str, got {type(word).__name__}")
        hint = _close_spellings(word, self._vocab, index)
        extra = f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        label = f" of {self.name}" if self.name else ""
        raise KeyError(
            f"word {word!r} is not in the vocabulary{label} ({len(self)} entries){extra}"
        )

    def indices(self, words: Iterable[str | int]) -> np.ndarray:
        """Row ids of several words or ids (int64)."""
        return np.fromiter((self._resolve(w) for w in words), dtype=np.int64)

    def _resolve(self, key: str | int) -> int:
        if isinstance(key, str):
            return self.index(key)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(f"id {i} is out of range for a vocabulary of {len(self)} entries")
            return i % len(self)
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
        return EmbeddingSpace(self._vectors[ids], vocab, name=name or self.name, check=False)

    def knn_database(
        self, metric: str = "cosine", precision: str = "auto", rows: int | None = None
    ) -> _kernels.Database:
        """The prepared exact-kNN database of the matrix ``metric`` searches (cached).

        Unit rows for cosine, raw rows otherwise; ``rows`` limits it to the first entries
        (``restrict_vocab``; only the latest prefix per kind is kept, so a sweep does not pile
        up copies). The low-precision copies the kernels' precision policy wants for repeated
        searches are built on first use (bf16 and int8 on AVX-512 BF16 CPUs: together 3/4 of the
        float32 matrix).
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

    def _queries(self, queries: Any) -> tuple[np.ndarray, np.ndarray | None, list[Any] | None]:
        """Turn words / ids / vectors into (vectors, vocabulary ids or None, labels)."""
        if isinstance(queries, (str, int, np.integer)) and not isinstance(queries, bool):
            queries = [queries]
        if isinstance(queries, np.ndarray) and np.issubdtype(queries.dtype, np.floating):
            return as_matrix(queries, "queries", allow_1d=True), None, None
        if (
            isinstance(queries, np.ndarray)
            and np.issubdtype(queries.dtype, np.integer)
            and queries.ndim == 1
        ):
            queries = queries.tolist()
        items = list(queries)
        if not items:
            raise ValueError("no queries given; pass a word, an id, a list of them, or vectors")
        if all(isinstance(q, (str, int, np.integer)) and not isinstance(q, bool) for q in items):
            ids = self.indices(items)
            return self._vectors[ids], ids, items
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
        precision : {"auto", "fp32", "bf16"}
            Candidate-stage precision; answers are exact either way (see :func:`tokenspace.knn`).
        progress : bool, default False
            Show a progress bar with an ETA on stderr (see :mod:`tokenspace.progress`).

        Returns
        -------
        Neighbors
            Ties are broken by the lower id. Scores are exact (computed in double precision,
            reported as float32), so they can differ from faiss' float32 sums in the last bits.
        """
        metric = canonical_metric(metric)
        q, ids, labels = self._queries(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"query vectors have dimension {q.shape[1]}, the space has {self.dim}")
        drop_self = exclude_self and ids is not None
        k = check_k(k, len(self) - (1 if drop_self else 0))
        if metric == "cosine":
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
        else:
            base = self._vectors
        exclude = ids[:, None] if drop_self and ids is not None else None
        if backend == "tokenspace":
            if precision not in PRECISIONS:
                raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
            db = self.knn_database(metric, precision)
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
            index = self._faiss.get(metric)
            if index is None:
                index = self._faiss[metric] = self.to_faiss(metric)
            idx, scores = interop.faiss_search(index, q, k, metric=metric, exclude=exclude)
        else:
            raise ValueError(f"unknown backend {backend!r}; expected 'tokenspace' or 'faiss'")
        words = [[self._vocab[j] for j in row] for row in idx.tolist()]
        return Neighbors(idx, scores, words, metric, labels)

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
        return Neighbors(idx, scores, None, metric, None)

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
        """A gensim ``KeyedVectors`` copy of this space (same keys, same order)."""
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
