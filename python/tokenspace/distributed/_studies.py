"""Many-model studies on a cluster: one task per pair, each the single-machine function.

Results are pickled objects (small), so the parts are kept in the job's memory rather than
under ``out/``; a model pair is the unit of retry.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from .._display import Display
from ..alignment.stability import StabilityReport
from ..io.native import save_native
from ..progress import counter
from ..space import EmbeddingSpace
from . import _engine
from ._tasks import rsa_task, stability_task


@dataclass(frozen=True, repr=False)
class RSAMatrix(Display):
    """RSA between every pair of models.

    Attributes
    ----------
    names : list of str
    r : np.ndarray
        (M, M) correlations, 1 on the diagonal.
    results : dict
        ``(i, j) -> RSAResult`` for i < j, exactly ``ts.rsa_models(spaces[i], spaces[j])``.
    """

    names: list[str]
    r: np.ndarray
    results: dict[tuple[int, int], Any]

    def _table(self) -> dict[str, Sequence[Any]]:
        pairs = sorted(self.results)
        return {
            "a": [self.names[i] for i, _ in pairs],
            "b": [self.names[j] for _, j in pairs],
            "r": [float(self.results[p]) for p in pairs],
        }


def _stage_spaces(spaces: list[EmbeddingSpace], scratch: Any) -> list[str]:
    paths = []
    for s in spaces:
        if not isinstance(s, EmbeddingSpace):
            raise TypeError(f"every model must be an EmbeddingSpace, got {type(s).__name__}")
        ident = _engine.fingerprint(np.asarray(s.vectors))
        ident += _engine.fingerprint(np.frombuffer("\n".join(s.vocab).encode(), dtype=np.uint8))
        dst = scratch / f"space-{ident}"
        if not (dst / "tokenspace.json").is_file():
            import tempfile

            tmp = tempfile.mkdtemp(dir=scratch, prefix=".stage-")
            save_native(s, tmp, overwrite=True)
            try:
                os.replace(tmp, dst)
            except OSError:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        paths.append(str(dst))
    return paths


def _run_pairs(
    c: Any, fn: Any, plan: dict[str, Any], m: int, *, retries: int, progress: bool, label: str
) -> dict[tuple[int, int], Any]:
    from distributed import as_completed

    pairs = list(combinations(range(m), 2))
    futures = {c.submit(fn, plan, p, None, retries=retries, pure=False): p for p in pairs}
    update = counter(progress, len(pairs), label)
    got = {}
    for n, f in enumerate(as_completed(futures), 1):
        got[futures[f]] = f.result()
        update(n)
    return got


def rsa_many(
    spaces: Any,
    words: Any = None,
    *,
    method: str = "pearson",
    similarity: str = "cosine",
    names: Any = None,
    client: Any = None,
    progress: bool = True,
    retries: int = 3,
    scratch: str | os.PathLike | None = None,
    timeout: float = 10.0,
) -> RSAMatrix:
    """RSA of every pair of models on a Dask cluster, one task per pair.

    Each task runs :func:`tokenspace.rsa_models` on the two staged models, so every entry
    equals the single-machine result. The plan pins the SIMD level: a worker at another level
    fails loudly (RSA sums depend on it).
    """
    from .. import _kernels

    spaces = list(spaces)
    if len(spaces) < 2:
        raise ValueError(f"rsa_many needs at least two models, got {len(spaces)}")
    names = [s.name or f"model{i}" for i, s in enumerate(spaces)] if names is None else list(names)
    scratch_dir = _engine.scratch_folder(scratch)
    with _engine.session(client, timeout) as c:
        plan = {
            "paths": _stage_spaces(spaces, scratch_dir),
            "words": None if words is None else list(words),
            "method": method,
            "similarity": similarity,
            "simd_level": _kernels.simd_level(),
        }
        results = _run_pairs(
            c, rsa_task, plan, len(spaces), retries=retries, progress=progress, label="rsa_many"
        )
    r = np.eye(len(spaces))
    for (i, j), res in results.items():
        r[i, j] = r[j, i] = float(res)
    return RSAMatrix(names, r, dict(sorted(results.items())))


def stability(
    runs: Any,
    *,
    k: int = 10,
    anchors: Any = None,
    names: Any = None,
    client: Any = None,
    progress: bool = True,
    retries: int = 3,
    scratch: str | os.PathLike | None = None,
    timeout: float = 10.0,
) -> StabilityReport:
    """:func:`tokenspace.stability` of several runs on a Dask cluster, one task per pair.

    Every pair is compared on the words all runs share (or ``anchors``), and the pairs'
    entries are assembled (per-word means summed in the single-machine pair order), so the
    report equals ``ts.stability(runs, k=k, anchors=anchors, names=names)``.
    """
    from .. import _kernels

    runs = list(runs)
    if len(runs) < 2:
        raise ValueError(f"stability needs at least two runs, got {len(runs)}")
    if not all(isinstance(s, EmbeddingSpace) for s in runs):
        raise TypeError("tsd.stability takes EmbeddingSpace runs")
    if anchors is None:
        vocab = [w for w in runs[0].vocab if all(w in s for s in runs[1:])]
    else:
        vocab = list(anchors)
    if names is None:
        names = [getattr(s, "name", None) or f"run{i}" for i, s in enumerate(runs)]
    R = len(runs)
    scratch_dir = _engine.scratch_folder(scratch)
    with _engine.session(client, timeout) as c:
        plan = {
            "paths": _stage_spaces(runs, scratch_dir),
            "k": k,
            "vocab": vocab,
            "simd_level": _kernels.simd_level(),
        }
        got = _run_pairs(
            c, stability_task, plan, R, retries=retries, progress=progress, label="stability"
        )
    fro_raw, fro_al, rel = np.zeros((R, R)), np.zeros((R, R)), np.zeros((R, R))
    mcos, ovl = np.ones((R, R)), np.ones((R, R))
    wcos, wovl = np.zeros(len(vocab)), np.zeros(len(vocab))
    spectra: list[Any] = [None] * R
    for i, j in combinations(range(R), 2):
        rep = got[(i, j)]
        fro_raw[i, j] = fro_raw[j, i] = rep.frobenius_raw[0, 1]
        fro_al[i, j], fro_al[j, i] = rep.frobenius_aligned[0, 1], rep.frobenius_aligned[1, 0]
        rel[i, j], rel[j, i] = rep.relative_aligned[0, 1], rep.relative_aligned[1, 0]
        mcos[i, j] = mcos[j, i] = rep.mean_cosine[0, 1]
        ovl[i, j] = ovl[j, i] = rep.knn_overlap[0, 1]
        wcos += rep.word_cosine
        wovl += rep.word_overlap
        spectra[i], spectra[j] = rep.spectra[0], rep.spectra[1]
    n_pairs = R * (R - 1) / 2
    return StabilityReport(
        vocab=list(vocab),
        names=list(names),
        frobenius_raw=fro_raw,
        frobenius_aligned=fro_al,
        relative_aligned=rel,
        mean_cosine=mcos,
        knn_overlap=ovl,
        word_cosine=wcos / n_pairs,
        word_overlap=wovl / n_pairs,
        spectra=spectra,
        k=k,
    )
