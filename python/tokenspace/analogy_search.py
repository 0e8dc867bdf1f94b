"""Certified analogy search (3CosAdd, 3CosMul) with gensim's semantics: the search behind
``EmbeddingSpace.most_similar``, ``solve_analogies`` and ``evaluate_analogies``.

Both methods run in one fused kernel (``_core.analogy``): a GEMM tile of the batch's distinct
words against a block of the vocabulary, each query's three rows of that tile combined (sum for
3CosAdd, Levy & Goldberg's product for 3CosMul), then a SIMD-filtered top-k with the query's
input ids masked. The queries x vocabulary matrix is never built, and the GEMM work is
(distinct words) x V instead of (questions x 3) x V. The few best candidates are re-scored in
float64, so rankings and reported scores are the exact cosines of the stored float32 vectors
against gensim's query (gensim computes the same quantities in float32); 3CosAdd answers carry
a certificate that the float32 candidate set contained the exact answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np

from . import _kernels

METHODS = ("3cosadd", "3cosmul")
#: Levy & Goldberg's epsilon, the value gensim uses in most_similar_cosmul.
COSMUL_EPS = 1e-6
# Extra candidates fetched by the float32 kernels before the exact float64 re-ranking: they
# cover reorderings among near-ties (float32 scores differ from exact ones by ~1e-7).
_MARGIN = 4


def canonical_method(method: str) -> str:
    m = str(method).lower().replace("_", "").replace("-", "")
    if m in ("3cosadd", "cosadd", "add"):
        return "3cosadd"
    if m in ("3cosmul", "cosmul", "mul"):
        return "3cosmul"
    raise ValueError(f"unknown analogy method {method!r}; expected '3cosadd' or '3cosmul'")


# gensim-exact building blocks
def gensim_unit(vectors: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``vectors[ids] / norms[ids]`` computed as gensim's ``get_vector(norm=True)`` does.

    gensim divides in float32 by ``np.linalg.norm(vectors, axis=1)``; the row norm of a row
    subset is bit-identical to the full one, so only the needed rows are touched.
    """
    rows = vectors[ids]
    norms = np.linalg.norm(rows, axis=-1)
    if np.any(norms == 0):
        raise ValueError(
            "an input word has a zero vector: its direction (and any analogy "
            "through it) is undefined"
        )
    return rows / norms[..., None]


def cosadd_queries(terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """gensim's ``get_mean_vector(pre_normalize=True, post_normalize=True)`` for a batch.

    ``terms`` is (m, T, d) float32 (already unit rows for words, raw for vectors), ``weights``
    (T,) float64. Each accumulation step is computed in float64 and stored in float32, the
    division by the total weight and the normalisation happen in float64, as in gensim.
    """
    m, T, d = terms.shape
    mean = np.zeros((m, d), dtype=np.float32)
    total = 0.0
    for t in range(T):
        mean += weights[t] * terms[:, t, :].astype(np.float64)
        total += abs(float(weights[t]))
    mean64 = mean.astype(np.float64)
    if total > 0:
        mean64 /= total
    norm = np.sqrt(np.einsum("ij,ij->i", mean64, mean64))
    safe = np.where(norm > 0, norm, 1.0)
    return (mean64 * (1.0 / safe)[:, None]).astype(np.float32)


def unique_terms(s: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct words of a batch as gensim-unit rows, and each query's indices into them."""
    uniq, inv = np.unique(ids, return_inverse=True)
    return gensim_unit(s.vectors, uniq), inv.reshape(ids.shape).astype(np.int64)


def vocab_prefix(s: Any, restrict_vocab: int | None) -> int:
    if restrict_vocab is None or restrict_vocab == 0:
        return len(s)
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, Integral):
        raise TypeError(
            f"restrict_vocab must be an int or None, got {type(restrict_vocab).__name__}"
        )
    if restrict_vocab < 0:
        raise ValueError(
            f"restrict_vocab must be >= 1 (or None for the whole vocabulary), got {restrict_vocab}"
        )
    return min(int(restrict_vocab), len(s))


#: Float64 elements of the (queries, candidates, d) block _rescore gathers at once (16 MiB).
_RESCORE_BLOCK = 2**21


def _rescore(s, cand, method, q, tq, n_pos):
    """Exact float64 scores of candidate ids (-1 = none -> -inf), in blocks of at most
    ``_RESCORE_BLOCK`` gathered values, so the temporaries stay a constant size whatever
    ``topn`` is (the answer itself is the only thing proportional to it)."""
    vec = s.vectors
    m, k = cand.shape
    d = max(1, vec.shape[1])
    scores = np.full(cand.shape, -np.inf)
    qc = max(1, _RESCORE_BLOCK // max(1, k * d))
    kc = k if qc > 1 else max(1, _RESCORE_BLOCK // d)
    for q0 in range(0, m, qc):
        q1 = min(m, q0 + qc)
        for k0 in range(0, k, kc):
            k1 = min(k, k0 + kc)
            c = cand[q0:q1, k0:k1]
            ok = c >= 0
            rows = vec[np.where(ok, c, 0)].astype(np.float64)  # (mq, kc, d)
            rn = np.sqrt(np.einsum("qkd,qkd->qk", rows, rows))
            rn[rn == 0] = np.inf  # zero rows have cosine 0 with everything
            if method == "3cosadd":
                sc = np.einsum("qkd,qd->qk", rows, q[q0:q1].astype(np.float64)) / rn
            else:
                t64 = tq[q0:q1].astype(np.float64)
                cos = np.einsum("qkd,qtd->qkt", rows, t64) / rn[..., None]
                sh = (1.0 + cos) / 2.0
                num = np.prod(sh[..., :n_pos], axis=-1)
                den = np.prod(sh[..., n_pos:], axis=-1)
                sc = num / (den + COSMUL_EPS)
            scores[q0:q1, k0:k1] = np.where(ok, sc, -np.inf)
    return scores


def _sort_candidates(cand, scores):
    """Best first by exact score, ties by lower id, missing (-1) last."""
    key_id = np.where(cand >= 0, cand, np.iinfo(np.int64).max)
    order = np.lexsort((key_id, -scores), axis=-1)
    return np.take_along_axis(cand, order, -1), np.take_along_axis(scores, order, -1)


def _brute_force_cosadd(s, q, n, exclude):
    """Exact float64 3CosAdd scores of one query against the first n rows (last resort)."""
    sc = np.empty(n)
    q64 = q.astype(np.float64)
    for j in range(0, n, 65536):
        X = s.vectors[j : min(n, j + 65536)].astype(np.float64)
        nr = np.sqrt(np.einsum("ij,ij->i", X, X))
        nr[nr == 0] = np.inf
        sc[j : j + X.shape[0]] = (X @ q64) / nr
    if exclude is not None:
        ex = exclude[(exclude >= 0) & (exclude < n)]
        sc[ex] = -np.inf
    return sc


def search(
    s: Any,
    terms: np.ndarray,
    qterms: np.ndarray,
    n_pos: int,
    *,
    weights: np.ndarray | None = None,
    method: str = "3cosadd",
    topn: int = 10,
    limit: int | None = None,
    exclude: np.ndarray | None = None,
    use_knn_stage: bool = True,
    progress: Any = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Batched analogy search over the first ``limit`` rows of ``s`` (kernel + exact re-rank).

    ``progress`` (see :mod:`tokenspace.progress`) follows the main search, not the rare
    re-checks of uncertified queries.

    3CosAdd queries that share few terms (a single ``most_similar``, a handful of questions)
    are one inner-product search each: they run on the certified kNN stage (int8 / bf16
    candidates, exact re-rank). Batches whose questions share their words (an evaluation set:
    ~900 distinct words for ~20k questions) take the shared-term GEMM kernel, whose work is
    (distinct words) x V instead of (questions) x V.

    Parameters
    ----------
    terms : (u, d) float32
        The distinct terms of all queries (gensim-unit rows for words, raw for vectors).
    qterms : (m, T) int64
        Per query, indices into ``terms``: the ``n_pos`` positive terms then the negative ones.
    weights : (T,) float64, optional
        3CosAdd weights (default +1 for positives, -1 for negatives).
    exclude : (m, e) int64, optional
        Ids never returned for each query (-1 = none).

    Returns
    -------
    (indices, scores) : int64 (m, topn), float64 (m, topn)
        Certified: the kernel's candidate set provably contains the exact top ``topn``
        (3CosAdd: float64 cosines of the stored vectors against gensim's query; 3CosMul:
        the float64 objective of those cosines, the kernel ranking by upper bounds of it);
        otherwise the query is searched again with more candidates, then by brute force.
    """
    method = canonical_method(method)
    qterms = np.ascontiguousarray(qterms, dtype=np.int64)
    m, T = qterms.shape
    n = len(s) if limit is None else limit
    unit = s.unit_vectors[:n]
    tq = terms[qterms]  # (m, T, d)
    q = None
    w64 = (
        np.concatenate([np.ones(n_pos), -np.ones(T - n_pos)])
        if weights is None
        else np.asarray(weights, dtype=np.float64)
    )
    if method == "3cosadd":
        q = cosadd_queries(tq, w64)
        w32 = w64.astype(np.float32)
        if use_knn_stage and 2 * terms.shape[0] >= m:
            return _cosadd_by_knn(s, terms, qterms, n_pos, q, w64, topn, n, exclude, progress)
    else:
        if n_pos < 1:
            raise ValueError("3CosMul needs at least one positive word")
        w32 = None
    # 3CosMul: every kernel cosine is within cos_slack of the exact cosine of the raw row
    # (float32 dot of length d: gamma_d |t|; float32 unit rows: 2^-24 |t|; doubled for margin),
    # so the kernel ranks by upper bounds of the exact objective. Valid while the objective's
    # factors are >= 0, i.e. for terms of norm <= 1 (words are unit; raw vector inputs may not be).
    cos_slack = 0.0
    if method == "3cosmul":
        t64 = terms.astype(np.float64)
        tnorm = np.sqrt(np.einsum("ud,ud->u", t64, t64))
        bound = float(tnorm.max(initial=0.0)) * (s.dim + 4) * 2.0**-23
        cos_slack = float(np.nextafter(np.float32(bound), np.float32(np.inf)))

    # a few 3CosMul queries are memory-bound: they filter on the kept database's int8 copy
    db = s.knn_database("cosine", rows=n) if method == "3cosmul" and m < 4 else None

    def run(rows: np.ndarray, k: int, progress: Any = False):
        ex = None if exclude is None else np.ascontiguousarray(exclude[rows])
        cand, approx = _kernels.analogy(
            terms,
            qterms[rows],
            unit,
            k,
            method=method,
            weights=w32,
            n_pos=n_pos,
            eps=COSMUL_EPS,
            exclude=ex,
            cos_slack=cos_slack,
            db=db,
            progress=progress,
        )
        sc = _rescore(s, cand, method, None if q is None else q[rows], tq[rows], n_pos)
        cand, sc = _sort_candidates(cand, sc)
        return cand, sc, approx

    all_rows = np.arange(m)
    cand, scores, approx = run(all_rows, min(n, topn + _MARGIN), progress)
    out_idx, out_sc = cand[:, :topn].copy(), scores[:, :topn].copy()
    if method == "3cosadd":
        # Certificate: every row the kernel left out has approximate (normalised) score <= tau,
        # hence exact score <= tau + delta; the answer stands if the topn-th exact score beats it.
        tn = np.einsum("mtd,t->md", tq.astype(np.float64), w64)
        scale = np.sqrt(np.einsum("md,md->m", tn, tn))
        delta_dot = (s.dim + 8) * 2.0**-23  # float32 dot of unit rows, plus normalisation
        delta = (np.abs(w64).sum() * delta_dot) / np.where(scale > 0, scale, 1e-30) + 1e-6

        def bound_of_rest(rows, approx):
            return approx[:, -1] / np.where(scale[rows] > 0, scale[rows], 1e-30) + delta[rows]

        def brute(i):
            return _brute_force_cosadd(s, q[i], n, None if exclude is None else exclude[i])
    else:
        # Certificate: every row left out has an upper bound <= tau (the kernel kept the K
        # largest upper bounds), hence exact objective <= tau (+ float64 re-scoring error).
        def bound_of_rest(rows, approx):
            tau = approx[:, -1].astype(np.float64)
            return tau + 1e-12 * np.abs(tau)

        def brute(i):
            return _brute_force_cosmul(s, tq[i], n_pos, n, None if exclude is None else exclude[i])

    def uncertified(rows, cand, scores, approx):
        full = cand[:, -1] < 0  # fewer candidates than asked: nothing was left out
        kth = scores[:, topn - 1] if scores.shape[1] >= topn else np.full(len(rows), -np.inf)
        return rows[~full & ~(kth > bound_of_rest(rows, approx))]

    todo = uncertified(all_rows, cand, scores, approx)
    # 3CosMul with a term longer than 1 (a raw vector input) is outside the bound's
    # assumptions: exact scan for those queries
    long_term = np.zeros(m, dtype=bool)
    if method == "3cosmul":
        long_term = (tnorm > 1.0 + 1e-6)[qterms].any(axis=1)
        todo = np.union1d(todo, np.flatnonzero(long_term))
    for k in (64, 512):
        retry = todo[~long_term[todo]]
        if retry.size == 0 or k <= topn + _MARGIN or k > n:
            continue
        c2, s2, a2 = run(retry, k)
        out_idx[retry], out_sc[retry] = c2[:, :topn], s2[:, :topn]
        still = uncertified(retry, c2, s2, a2)
        todo = np.union1d(still, np.setdiff1d(todo, retry))
    for i in todo.tolist():
        sc = brute(i)
        order = np.lexsort((np.arange(n), -sc))[:topn]
        ok = np.isfinite(sc[order])
        out_idx[i] = np.where(ok, order, -1)
        out_sc[i] = np.where(ok, sc[order], -np.inf)
    return out_idx, out_sc


def _brute_force_cosmul(s, tq_i, n_pos, n, exclude):
    """Exact float64 3CosMul objective of one query (T term rows) over the first n rows."""
    t64 = tq_i.astype(np.float64)
    sc = np.empty(n)
    for j in range(0, n, 65536):
        X = s.vectors[j : min(n, j + 65536)].astype(np.float64)
        nr = np.sqrt(np.einsum("ij,ij->i", X, X))
        nr[nr == 0] = np.inf
        sh = (1.0 + np.einsum("id,td->it", X, t64) / nr[:, None]) / 2.0
        num = np.prod(sh[:, :n_pos], axis=1)
        den = np.prod(sh[:, n_pos:], axis=1)
        sc[j : j + X.shape[0]] = num / (den + COSMUL_EPS)
    if exclude is not None:
        ex = exclude[(exclude >= 0) & (exclude < n)]
        sc[ex] = -np.inf
    return sc


def _cosadd_by_knn(s, terms, qterms, n_pos, q, weights, topn, n, exclude, progress=False):
    """3CosAdd as an exact inner-product kNN of gensim's query ``q`` over the unit rows.

    The kNN stage returns the exact top ``K`` of ``<q, u_j>`` (u_j the stored float32 unit
    rows). The answer asked for is the float64 cosine ``<q, x_j> / |x_j|`` of the raw rows; the
    two differ by at most ``|q| |u_j - x_j / |x_j||`` <= |q| 2^-22 (u_j is x_j / |x_j|
    rounded to float32). So every row left out scores at most ``tau + delta`` with ``tau`` the
    K-th returned score, and a query whose topn-th exact cosine beats that is certified.
    The rare others go through the shared-term kernel, which certifies on its own.
    """
    db = s.knn_database("cosine", rows=n)
    k = min(n, topn + _MARGIN)
    ex = None if exclude is None else np.ascontiguousarray(exclude, dtype=np.int64)
    cand, approx = _kernels.knn(np.ascontiguousarray(q), db, k, exclude=ex, progress=progress)
    sc = _rescore(s, cand, "3cosadd", q, None, n_pos)
    cand, sc = _sort_candidates(cand, sc)
    qn = np.sqrt(np.einsum("md,md->m", q.astype(np.float64), q.astype(np.float64)))
    full = cand[:, -1] < 0  # fewer eligible rows than asked: nothing was left out
    tau = np.where(full, 0.0, approx[:, -1].astype(np.float64))
    # float32 rounding of the returned exact score, unit-row rounding, float64 re-scoring
    delta = np.abs(tau) * 2.0**-23 + qn * 2.0**-21 + 1e-12
    certified = full | (sc[:, topn - 1] > tau + delta)
    out_idx, out_sc = cand[:, :topn].copy(), sc[:, :topn].copy()
    todo = np.flatnonzero(~certified)
    if todo.size:
        i2, s2 = search(
            s,
            terms,
            qterms[todo],
            n_pos,
            weights=weights,
            method="3cosadd",
            topn=topn,
            limit=n,
            exclude=None if exclude is None else exclude[todo],
            use_knn_stage=False,
        )
        out_idx[todo], out_sc[todo] = i2, s2
    return out_idx, out_sc


# single query with gensim's argument conventions
_KEY = (str, int, np.integer)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, _KEY) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


def most_similar(
    s: Any,
    positive: Any = None,
    negative: Any = None,
    topn: int | None = 10,
    *,
    method: str = "3cosadd",
    restrict_vocab: int | None = None,
    exclude_inputs: bool = True,
) -> list[tuple[str, float]] | np.ndarray:
    """Words nearest to ``sum(positive) - sum(negative)`` (see :meth:`EmbeddingSpace.most_similar`)."""
    method = canonical_method(method)
    if isinstance(topn, Integral) and not isinstance(topn, bool) and topn < 1:
        return []
    if topn is not None and (isinstance(topn, bool) or not isinstance(topn, Integral)):
        raise TypeError(f"topn must be an int or None, got {type(topn).__name__}")
    pos, neg = _as_list(positive), _as_list(negative)
    if not pos and not neg:
        raise ValueError("no input: pass at least one positive (or negative) word")
    if method == "3cosmul" and not pos:
        raise ValueError("3CosMul needs at least one positive word")
    items = pos + neg
    weights = np.concatenate([np.ones(len(pos)), -np.ones(len(neg))])
    vecs, input_ids = [], []
    for t, item in enumerate(items):
        if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[0], tuple):
            if method == "3cosmul":
                raise ValueError("3CosMul takes no weights; pass plain words")
            item, weights[t] = item[0], float(item[1])
        is_vector = isinstance(item, Sequence) and not isinstance(item, str)
        if isinstance(item, np.ndarray) or is_vector:
            v = np.asarray(item, dtype=np.float32)
            if v.shape != (s.dim,):
                raise ValueError(f"vector inputs must have shape ({s.dim},), got {v.shape}")
            if not np.isfinite(v).all():
                raise ValueError("a vector input contains NaN or Inf")
            vecs.append(v)  # gensim uses raw vectors as given (no normalisation)
        else:
            i = s._resolve(item)
            input_ids.append(i)
            vecs.append(gensim_unit(s.vectors, np.array([i]))[0])
    if not np.isfinite(weights).all():
        raise ValueError(f"weights must be finite numbers, got {weights.tolist()}")
    terms = np.ascontiguousarray(np.stack(vecs), dtype=np.float32)
    overflow = False
    if method == "3cosadd":
        with np.errstate(over="ignore", invalid="ignore"):
            overflow = not np.isfinite(cosadd_queries(terms[None], weights)).all()
    if overflow:
        raise ValueError(
            "the weighted mean of the inputs overflows float32; scale the vectors or weights down"
        )
    qterms = np.arange(len(vecs), dtype=np.int64)[None]
    n = vocab_prefix(s, restrict_vocab)
    ex_ids = sorted(set(input_ids)) if exclude_inputs else []
    if topn is None:
        return _all_scores(s, terms[None], len(pos), weights, method, n)
    available = n - sum(1 for i in ex_ids if i < n)
    k = min(int(topn), available)
    if k < 1:
        return []
    exclude = np.array([ex_ids], dtype=np.int64) if ex_ids else None
    idx, sc = search(
        s, terms, qterms, len(pos), weights=weights, method=method, topn=k, limit=n, exclude=exclude
    )
    vocab = s.vocab
    return [(vocab[j], float(v)) for j, v in zip(idx[0].tolist(), sc[0].tolist()) if j >= 0]


def _all_scores(s, terms, n_pos, weights, method, n) -> np.ndarray:
    """Scores of every one of the first n entries (gensim's ``topn=None``), one pass per term."""
    unit = s.unit_vectors[:n]
    if method == "3cosadd":
        q = cosadd_queries(terms, weights)[0]
        return _kernels.project(unit, q)
    sh = [
        (1.0 + _kernels.project(unit, np.ascontiguousarray(t)).astype(np.float64)) / 2.0
        for t in terms[0]
    ]
    num = np.prod(sh[:n_pos], axis=0)
    den = np.prod(sh[n_pos:], axis=0) if len(sh) > n_pos else 1.0
    return num / (den + COSMUL_EPS)
