"""The tokenspace command line.

Each subcommand is a small function registered in ``COMMANDS``: ``add_<name>(subparsers)``
defines its arguments and ``run_<name>(args)`` does the work and returns an :class:`Output`
(text for people, a JSON-ready dict and, where the result is a table, CSV rows), so every
command gets ``--json`` / ``--csv`` and the same error handling from :func:`main`.

Exit codes: 0 success, 2 user error (bad argument, missing file or word, missing optional
package: one line on stderr that says what to do), 1 internal error (a bug), 130 Ctrl-C.
``args.progress`` is True when progress output on stderr is wanted (a terminal, no
``--quiet``, no machine-readable output); long calls take it as ``progress=args.progress``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from ._kernels import simd_level
from ._version import package_version
from .alignment.procrustes import align
from .alignment.stability import stability, train_word2vec_runs
from .alignment.translate import read_pairs, translate, translation_accuracy
from .analysis.axes import extremes, project, semantic_axis
from .analysis.evaluate import evaluate_analogies, evaluate_word_pairs
from .analysis.rsa import rsa_models
from .analysis.spectral import group_mean_correlation, principal_axes, random_subset, svd_spectrum
from .io.native import save_native
from .io.text import save_glove, save_word2vec
from .loaders import load
from .report import build_report
from .space import EmbeddingSpace
from .tokens import display_form, vocab_style

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

MODEL_HELP = "embedded model name (glove-6b-50d, minilm-l6) or the path of a model file or folder"

#: Exceptions that mean the input was wrong, not the code: exit 2 with their message.
USER_ERRORS = (KeyError, ValueError, OSError, ImportError)


class UsageError(ValueError):
    """A bad combination of arguments, found before any work starts."""


@dataclass
class Output:
    """What a command produced: ``text`` for a terminal, ``data`` for ``--json`` and, for
    tabular results, ``rows`` (dicts with the same keys) for ``--csv``."""

    text: str
    data: dict[str, Any]
    rows: list[dict[str, Any]] | None = None
    status: int = 0
    files: list[str] = field(default_factory=list)


def _load(name: str, **kwargs: Any) -> EmbeddingSpace:
    return load(name, **kwargs)


def _check_file(path: str | None, option: str) -> None:
    """Fail before the long work starts when an input file is missing."""
    if path is None:
        return
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"{option}: {path} does not exist; pass the path of an existing file"
        )
    if p.is_dir():
        raise IsADirectoryError(f"{option}: {path} is a folder; pass the path of a file")


def _check_positive(value: int | None, option: str, *, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        raise UsageError(f"{option} must be at least {minimum}, got {value}")


def _shower(s: EmbeddingSpace) -> Callable[[str], str]:
    """The display form of tokens of ``s`` (its vocabulary style looked up once)."""
    style = vocab_style(s.vocab)
    return lambda token: display_form(token, style)


def _fmt_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: columns padded to their widest cell, floats to 4 decimals."""

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{v:.4f}" if math.isfinite(v) else str(v)
        return str(v)

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _parser(sub: Subparsers, name: str, help: str, *, csv: bool = True, **kw: Any):
    p = sub.add_parser(
        name, help=help, description=kw.pop("description", help), formatter_class=_Formatter, **kw
    )
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as one JSON document")
    if csv:
        out.add_argument(
            "--csv", action="store_true", help="print the result table as CSV (one header line)"
        )
    out.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    return p


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep descriptions as written; show a default after an argument's help when it has one
    worth saying (not for flags, not None, not already in the text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if (
            "default" not in text
            and d is not None
            and d is not argparse.SUPPRESS
            and not isinstance(d, bool)
            and action.option_strings
        ):
            shown = " ".join(map(str, d)) if isinstance(d, (list, tuple)) else d
            if shown != "" and shown != []:
                text += f" (default: {shown})"
        return text


def add_knn(sub: Subparsers) -> None:
    p = _parser(sub, "knn", "nearest neighbours of words in a model")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("words", nargs="+", help="query words (vocabulary entries)")
    p.add_argument("--k", type=int, default=10, help="neighbours per word")
    p.add_argument(
        "--metric", default="cosine", choices=["cosine", "dot", "euclidean"], help="similarity"
    )
    p.add_argument(
        "--backend",
        default="tokenspace",
        choices=["tokenspace", "faiss"],
        help="search engine (faiss needs pip install faiss-cpu)",
    )


def run_knn(args: argparse.Namespace) -> Output:
    _check_positive(args.k, "--k")
    s = _load(args.model, progress=args.progress)
    res = s.knn(
        args.words, k=args.k, metric=args.metric, backend=args.backend, progress=args.progress
    )
    head = "distance" if args.metric == "euclidean" else args.metric
    vocab, style = s.vocab, vocab_style(s.vocab)
    text, rows, queries = [], [], []
    for i, w in enumerate(args.words):
        nb = [
            {
                "query": w,
                "rank": r + 1,
                "id": j,
                "token": vocab[j],
                "display": display_form(vocab[j], style),
                "score": sc,
            }
            for r, (j, sc) in enumerate(zip(res.indices[i].tolist(), res.scores[i].tolist()))
        ]
        rows += nb
        queries.append(
            {"query": w, "neighbors": [{k: v for k, v in n.items() if k != "query"} for n in nb]}
        )
        text.append(f"# {w}  ({s.name}, {args.metric})")
        text.append(
            _fmt_table(
                ["rank", "id", head, "word"],
                [(n["rank"], n["id"], n["score"], n["display"]) for n in nb],
            )
        )
        text.append("")
    data = {"model": s.name, "metric": args.metric, "k": res.k, "queries": queries}
    return Output("\n".join(text).rstrip(), data, rows)


def add_knn_graph(sub: Subparsers) -> None:
    p = _parser(
        sub,
        "knn-graph",
        "exact k-NN graph of a vocabulary, written as .npz and an edge-list CSV",
        description=(
            "Exact k nearest neighbours of every vocabulary entry (itself excluded).\n"
            "Writes OUT.npz (indices, scores: V x k; vocab) and OUT.csv (one edge per line:\n"
            "source, target, rank, score). scipy.sparse.load_npz does not read the .npz:\n"
            "use numpy.load."
        ),
    )
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--out", required=True, help="output prefix: writes OUT.npz and OUT.csv")
    p.add_argument("--k", type=int, default=10, help="neighbours per entry")
    p.add_argument(
        "--metric", default="cosine", choices=["cosine", "dot", "euclidean"], help="similarity"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="only the first N entries (the most frequent, in frequency-ordered vocabularies)",
    )
    p.add_argument("--no-edges", action="store_true", help="write only the .npz, no edge list")


def run_knn_graph(args: argparse.Namespace) -> Output:
    _check_positive(args.k, "--k")
    _check_positive(args.limit, "--limit")
    out = Path(args.out)
    if out.suffix in (".npz", ".csv"):
        out = out.with_suffix("")
    if not out.parent.exists():
        raise FileNotFoundError(f"--out: folder {out.parent} does not exist; create it first")
    s = _load(args.model)
    if args.limit is not None and args.limit < len(s):
        s = _first(s, args.limit)
    g = s.knn_graph(args.k, metric=args.metric, progress=args.progress)
    npz = out.with_name(out.name + ".npz")
    np.savez_compressed(
        npz, indices=g.indices, scores=g.scores, vocab=np.array(s.vocab, dtype=object).astype(str)
    )
    files = [str(npz)]
    if not args.no_edges:
        edges = out.with_name(out.name + ".csv")
        with open(edges, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["source", "target", "rank", "score"])
            vocab = s.vocab
            for i in range(len(s)):
                src = vocab[i]
                for r, (j, sc) in enumerate(zip(g.indices[i].tolist(), g.scores[i].tolist()), 1):
                    w.writerow([src, vocab[j], r, f"{sc:.6g}"])
        files.append(str(edges))
    data = {
        "model": s.name,
        "n": len(s),
        "k": g.k,
        "metric": args.metric,
        "files": files,
    }
    rows = [{"file": f} for f in files]
    text = f"{s.name}: {len(s)} entries x {g.k} neighbours ({args.metric}); wrote " + ", ".join(
        files
    )
    return Output(text, data, rows, files=files)


def _first(s: EmbeddingSpace, n: int) -> EmbeddingSpace:
    """The first ``n`` entries of a space (``--limit`` on sources that load whole)."""
    return EmbeddingSpace(np.asarray(s.vectors[:n]), list(s.vocab[:n]), name=s.name, check=False)


def add_info(sub: Subparsers) -> None:
    p = _parser(sub, "info", "shape, norms and sample tokens of a model", csv=False)
    p.add_argument("model", help=MODEL_HELP)


def run_info(args: argparse.Namespace) -> Output:
    s = _load(args.model)
    n = s.norms
    style = vocab_style(s.vocab)
    data = {
        "name": s.name,
        "vocabulary": len(s),
        "dimension": s.dim,
        "norm_min": float(n.min()),
        "norm_median": float(np.median(n)),
        "norm_max": float(n.max()),
        "zero_rows": int((n == 0).sum()),
        "vocab_style": style,
        "first_words": list(s.vocab[:10]),
        "simd_level": simd_level(),
    }
    text = "\n".join(
        [
            f"name        {s.name}",
            f"vocabulary  {len(s)}  ({style} tokens)",
            f"dimension   {s.dim}",
            f"norms       min {n.min():.4f}  median {np.median(n):.4f}  max {n.max():.4f}",
            f"zero rows   {data['zero_rows']}",
            f"first words {' '.join(display_form(w, style) for w in s.vocab[:10])}",
            f"simd level  {simd_level()}",
        ]
    )
    return Output(text, data)


def add_report(sub: Subparsers) -> None:
    p = _parser(sub, "report", "run the standard analyses on two models -> one HTML page")
    p.add_argument("--out", required=True, help="output folder (index.html, PNG figures, CSV data)")
    p.add_argument("--seed", type=int, default=0, help="random seed (t-SNE, shuffles, samples)")
    p.add_argument(
        "--sections", default=None, help="comma-separated section keys to run (default: all)"
    )
    p.add_argument(
        "--models",
        nargs=2,
        default=("glove-6b-50d", "minilm-l6"),
        metavar=("STATIC", "HF"),
        help="the two models: a word-level one and a subword one with a tokenizer",
    )


def run_report(args: argparse.Namespace) -> Output:
    sections = [k.strip() for k in args.sections.split(",") if k.strip()] if args.sections else None
    res = build_report(
        args.out,
        models=tuple(args.models),
        sections=sections,
        seed=args.seed,
        progress=args.progress,
    )
    rows = [
        {"key": r.key, "title": r.title, "status": r.status, "seconds": r.seconds, "note": r.note}
        for r in res.sections
    ]
    lines = [
        f"{r.status:8} {r.seconds:6.1f} s  {r.title}" + (f"  ({r.note})" if r.note else "")
        for r in res.sections
    ]
    lines.append(f"wrote {res.index} in {res.seconds:.1f} s")
    failed = any(r.status == "failed" for r in res.sections)
    data = {"index": str(res.index), "seconds": res.seconds, "sections": rows}
    return Output("\n".join(lines), data, rows, status=1 if failed else 0)


def add_convert(sub: Subparsers) -> None:
    p = _parser(sub, "convert", "convert between word2vec, GloVe, HF folders and native", csv=False)
    p.add_argument("source", help=MODEL_HELP + " (format detected)")
    p.add_argument("dest", help="output path (a folder for --to native)")
    p.add_argument(
        "--to",
        default="native",
        choices=["native", "word2vec", "word2vec-binary", "glove"],
        help="output format",
    )
    p.add_argument("--limit", type=int, default=None, help="write only the first N vectors")
    p.add_argument(
        "--encoding-errors",
        default="strict",
        choices=["strict", "replace", "ignore", "backslashreplace"],
        help="what to do with undecodable bytes in text files",
    )


def run_convert(args: argparse.Namespace) -> Output:
    _check_positive(args.limit, "--limit")
    s = _load(args.source, limit=args.limit, encoding_errors=args.encoding_errors)
    # embedded models and folders load whole whatever the limit: cut here so --limit always holds
    if args.limit is not None and len(s) > args.limit:
        s = _first(s, args.limit)
    if args.to == "native":
        out = save_native(s, args.dest)
    elif args.to == "glove":
        out = save_glove(s, args.dest)
    else:
        out = save_word2vec(s, args.dest, binary=args.to == "word2vec-binary")
    data = {"out": str(out), "rows": len(s), "dim": s.dim, "format": args.to}
    return Output(f"wrote {out} ({len(s)} x {s.dim}, {args.to})", data, files=[str(out)])


def add_tokenize(sub: Subparsers) -> None:
    p = _parser(sub, "tokenize", "tokens and ids of a text in a model's tokenizer")
    p.add_argument("model", help="embedded model name or a Hugging Face folder")
    p.add_argument("text", help="the text to tokenize")
    p.add_argument("--special-tokens", action="store_true", help="add the model's [CLS]/[SEP] etc.")


def run_tokenize(args: argparse.Namespace) -> Output:
    s = _load(args.model)
    t = s.tokenize(args.text, special_tokens=args.special_tokens)
    rows = [
        {"id": i, "token": tok, "text": s.display_token(i)}
        for tok, i in zip(t.tokens, t.ids.tolist())
    ]
    text = "\n".join(f"{r['id']:>8d}  {r['token']!r:24s}  {r['text']!r}" for r in rows)
    return Output(text, {"model": s.name, "text": args.text, "tokens": rows}, rows)


def add_analogy(sub: Subparsers) -> None:
    p = _parser(
        sub,
        "analogy",
        "a is to b as c is to ? (b - a + c)",
        description="Solve 'a : b :: c : ?', e.g. 'man king woman' -> queen.",
    )
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("a", help="first word of the known pair (man)")
    p.add_argument("b", help="second word of the known pair (king)")
    p.add_argument("c", help="first word of the question pair (woman)")
    p.add_argument("--topn", type=int, default=10, help="answers listed")
    p.add_argument(
        "--method", default="3cosadd", choices=["3cosadd", "3cosmul"], help="analogy objective"
    )
    p.add_argument(
        "--restrict-vocab",
        type=int,
        default=None,
        help="answers only among the first N entries (default: all)",
    )
    p.add_argument("--keep-inputs", action="store_true", help="allow the input words as answers")


def run_analogy(args: argparse.Namespace) -> Output:
    _check_positive(args.topn, "--topn")
    s = _load(args.model)
    res = s.most_similar(
        positive=[args.b, args.c],
        negative=[args.a],
        topn=args.topn,
        method=args.method,
        restrict_vocab=args.restrict_vocab,
        exclude_inputs=not args.keep_inputs,
    )
    shown = _shower(s)
    rows = [
        {"rank": r, "score": float(sc), "word": w, "display": shown(w)}
        for r, (w, sc) in enumerate(res, 1)
    ]
    text = f"# {args.a} : {args.b} :: {args.c} : ?   ({s.name}, {args.method})\n"
    text += "\n".join(f"{r['rank']:>4}  {r['score']:>8.4f}  {r['display']}" for r in rows)
    data = {"model": s.name, "query": [args.a, args.b, args.c], "method": args.method}
    return Output(text, {**data, "answers": rows}, rows)


def add_eval(sub: Subparsers) -> None:
    p = _parser(sub, "eval", "Google analogies + WordSim353 + SimLex-999 (gensim's data)")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(
        "--analogies", default=None, help="questions-words.txt path (default: gensim's copy)"
    )
    p.add_argument(
        "--pairs",
        nargs="*",
        default=None,
        help="word-pair files (default: gensim's wordsim353.tsv and simlex999.txt)",
    )
    p.add_argument(
        "--restrict-vocab", type=int, default=300000, help="use only the first N entries"
    )
    p.add_argument(
        "--method", default="3cosadd", choices=["3cosadd", "3cosmul"], help="analogy objective"
    )
    p.add_argument("--case-sensitive", action="store_true", help="do not lower-case the words")


def _gensim_data(name: str) -> str:
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise ModuleNotFoundError(
            f"the default evaluation files come with gensim: pip install gensim "
            f"(or pip install 'tokenspace[models]'), or pass the path of {name}"
        ) from None
    return datapath(name)


def run_eval(args: argparse.Namespace) -> Output:
    # every input is checked before the model loads and the analogies run (minutes)
    _check_file(args.analogies, "--analogies")
    for pp in args.pairs or []:
        _check_file(pp, "--pairs")
    path = args.analogies or _gensim_data("questions-words.txt")
    pairs = (
        args.pairs
        if args.pairs is not None
        else [_gensim_data("wordsim353.tsv"), _gensim_data("simlex999.txt")]
    )
    s = _load(args.model)
    ci = not args.case_sensitive
    r = evaluate_analogies(
        s,
        path,
        restrict_vocab=args.restrict_vocab,
        case_insensitive=ci,
        method=args.method,
        progress=args.progress,
    )
    text = [f"# analogies: {path}  ({s.name}, {args.method}, restrict_vocab={args.restrict_vocab})"]
    text.append(r.table())
    rows: list[dict[str, Any]] = [
        {
            "kind": "analogies",
            "name": x.name,
            "correct": x.correct,
            "incorrect": x.incorrect,
            "accuracy": x.accuracy,
        }
        for x in r.sections
    ]
    pair_data = []
    for pp in pairs:
        w = evaluate_word_pairs(s, pp, restrict_vocab=args.restrict_vocab, case_insensitive=ci)
        text.append(f"\n# word pairs: {pp}")
        text.append(f"pearson   {w.pearson:.4f}  (p={w.pearson_pvalue:.3g})")
        text.append(f"spearman  {w.spearman:.4f}  (p={w.spearman_pvalue:.3g})")
        text.append(f"oov       {w.oov_ratio:.1f}%  ({w.n_oov} pairs)")
        d = {
            "file": str(pp),
            "pearson": w.pearson,
            "pearson_pvalue": w.pearson_pvalue,
            "spearman": w.spearman,
            "spearman_pvalue": w.spearman_pvalue,
            "oov_ratio": w.oov_ratio,
            "n_pairs": w.n_pairs,
            "n_oov": w.n_oov,
        }
        pair_data.append(d)
        rows.append(
            {
                "kind": "pairs",
                "name": str(pp),
                **{k: d[k] for k in ("pearson", "spearman", "oov_ratio")},
            }
        )
    data = {
        "model": s.name,
        "analogies": {
            "file": str(path),
            "accuracy": float(r.accuracy),
            "method": args.method,
            "sections": [x for x in rows if x["kind"] == "analogies"],
        },
        "pairs": pair_data,
    }
    return Output("\n".join(text), data, rows)


def add_axis(sub: Subparsers) -> None:
    p = _parser(sub, "axis", "project the vocabulary onto positive - negative words")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--positive", nargs="+", required=True, help="words at the positive end")
    p.add_argument("--negative", nargs="*", default=[], help="words at the negative end")
    p.add_argument("--n", type=int, default=20, help="words listed at each end")
    p.add_argument("--raw", action="store_true", help="average raw vectors, not unit ones")
    p.add_argument("--alphabetic", action="store_true", help="only alphabetic tokens")
    p.add_argument("--min-length", type=int, default=0, help="only tokens this long or longer")
    p.add_argument(
        "--restrict-vocab",
        type=int,
        default=None,
        help="list only words among the first N entries (the most frequent)",
    )


def _extremes_rows(s: EmbeddingSpace, ext: Any) -> list[dict[str, Any]]:
    rows, shown = [], _shower(s)
    for end, idx, sc, ws in (
        ("top", ext.top_indices, ext.top_scores, ext.top_words),
        ("bottom", ext.bottom_indices, ext.bottom_scores, ext.bottom_words),
    ):
        for r, (i, v, w) in enumerate(
            zip(np.asarray(idx).tolist(), np.asarray(sc).tolist(), ws), 1
        ):
            rows.append(
                {"end": end, "rank": r, "id": i, "word": w, "display": shown(w), "score": v}
            )
    return rows


def run_axis(args: argparse.Namespace) -> Output:
    _check_positive(args.n, "--n")
    s = _load(args.model)
    ax = semantic_axis(s, args.positive, args.negative, normalize=not args.raw)
    src = s.vectors if args.raw else s.unit_vectors
    sc = project(src, ax)
    ext = extremes(
        s,
        sc,
        args.n,
        alphabetic=args.alphabetic,
        min_length=args.min_length,
        exclude=list(args.positive) + list(args.negative),
        restrict_vocab=args.restrict_vocab,
    )
    head = f"# axis {' + '.join(args.positive)} - ({' + '.join(args.negative) or '0'})  ({s.name})"
    rows = _extremes_rows(s, ext)
    data = {"model": s.name, "positive": args.positive, "negative": args.negative, "extremes": rows}
    return Output(head + "\n" + ext.table(), data, rows)


def add_svd(sub: Subparsers) -> None:
    p = _parser(sub, "svd", "spectrum of a word group vs a random group; project on its top axis")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("words", nargs="+", help="the group (each a vocabulary entry)")
    p.add_argument("--n", type=int, default=30, help="tokens listed at each end")
    p.add_argument("--no-center", action="store_true", help="do not subtract the group mean")
    p.add_argument("--seed", type=int, default=0, help="seed of the random group")


def run_svd(args: argparse.Namespace) -> Output:
    _check_positive(args.n, "--n")
    s = _load(args.model)
    center = not args.no_center
    G = s[args.words]
    R = random_subset(s, len(args.words), seed=args.seed, exclude=args.words)
    gs = svd_spectrum(G, center=center)
    rs = svd_spectrum(R.vectors, center=center)
    corr = group_mean_correlation(G, R.vectors)
    ax = principal_axes(G, 1, center=center)[0]
    sc = project(s, ax, center=G.mean(axis=0) if center else None)
    ext = extremes(s, sc, args.n, exclude=args.words)
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        text = "\n".join(
            [
                f"# {len(args.words)} words of {s.name}, {'mean-centred' if center else 'raw'}",
                f"group spectrum   {gs}",
                f"random spectrum  {rs}",
                f"group-mean correlation with the random group: {corr:+.4f}",
                ext.table(),
            ]
        )
    data = {
        "model": s.name,
        "words": args.words,
        "centered": center,
        "group_spectrum": gs.tolist(),
        "random_spectrum": rs.tolist(),
        "group_mean_correlation": float(corr),
        "extremes": _extremes_rows(s, ext),
    }
    rows = [
        {"component": i + 1, "group": float(g), "random": float(r) if i < rs.size else math.nan}
        for i, (g, r) in enumerate(zip(gs, rs))
    ]
    return Output(text, data, rows)


def add_rsa(sub: Subparsers) -> None:
    p = _parser(
        sub,
        "rsa",
        "representational similarity analysis of two models on their shared words",
        csv=False,
        description=(
            "RSA: correlate the pairwise cosines of the same words in two models.\n"
            "The words are the --words file's, or the first --n entries of the first model\n"
            "that the second also has."
        ),
    )
    p.add_argument("a", help="first model: " + MODEL_HELP)
    p.add_argument("b", help="second model: " + MODEL_HELP)
    p.add_argument("--words", default=None, help="file with one word per line (default: shared)")
    p.add_argument(
        "--n", type=int, default=2000, help="shared words used when --words is not given"
    )
    p.add_argument(
        "--method",
        default="pearson",
        choices=["pearson", "spearman", "rho_a", "tau_a", "tau_b", "cosine"],
        help="how the two triangles are compared (rsatoolbox's comparators included)",
    )
    p.add_argument(
        "--similarity",
        default="cosine",
        choices=["cosine", "dot", "correlation"],
        help="item-item similarity inside each model",
    )
    p.add_argument(
        "--permutations",
        type=int,
        default=None,
        help="permutation test over the words with this many permutations (prints p)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        help="bootstrap over the words with this many samples (prints the interval)",
    )
    p.add_argument("--confidence", type=float, default=0.95, help="level of the bootstrap interval")
    p.add_argument("--seed", type=int, default=None, help="seed of permutations and bootstrap")


def run_rsa(args: argparse.Namespace) -> Output:
    _check_file(args.words, "--words")
    _check_positive(args.n, "--n", minimum=3)
    _check_positive(args.permutations, "--permutations")
    _check_positive(args.bootstrap, "--bootstrap")
    if not 0 < args.confidence < 1:
        raise UsageError("--confidence must be between 0 and 1, e.g. 0.95")
    words = None
    if args.words:
        words = [w for w in Path(args.words).read_text(encoding="utf-8").split() if w]
    a, b = _load(args.a), _load(args.b)
    if words is None:
        words = [w for w in a.vocab if w in b][: args.n]
    res = rsa_models(
        a,
        b,
        words,
        method=args.method,
        similarity=args.similarity,
        permutations=args.permutations,
        bootstrap=args.bootstrap,
        confidence=args.confidence,
        seed=args.seed,
        progress=args.progress,
    )
    data = {
        "a": a.name,
        "b": b.name,
        "r": float(res.r),
        "method": res.method,
        "similarity": res.similarity,
        "n_items": res.n_items,
        "n_pairs": res.n_pairs,
        "pearson": float(res.pearson),
        "cosine_of_triangles": float(res.cosine_of_triangles),
        "p_value": None if res.p_value is None else float(res.p_value),
        "permutations": args.permutations,
        "ci": None if res.ci is None else [float(res.ci[0]), float(res.ci[1])],
        "confidence": args.confidence if res.ci is not None else None,
        "bootstrap": args.bootstrap,
    }
    text = (
        f"RSA {a.name} vs {b.name}: {res.method} r = {res.r:.4f} over {res.n_items} words "
        f"({res.n_pairs} pairs, {res.similarity}); cosine of the triangles "
        f"{res.cosine_of_triangles:.4f}"
    )
    if res.p_value is not None:
        text += f"\npermutation p = {res.p_value:.4g} ({args.permutations} permutations)"
    if res.ci is not None:
        text += (
            f"\nbootstrap {args.confidence:.0%} interval [{res.ci[0]:.4f}, {res.ci[1]:.4f}] "
            f"({args.bootstrap} samples)"
        )
    return Output(text, data)


def add_align(sub: Subparsers) -> None:
    p = _parser(sub, "align", "map model A onto model B (Procrustes) and score translation")
    p.add_argument("source", help="source model: " + MODEL_HELP)
    p.add_argument("target", help="target model: " + MODEL_HELP)
    p.add_argument("--anchors", help="file of 'source target' pairs (default: shared vocabulary)")
    p.add_argument("--max-anchors", type=int, default=None, help="use at most N anchor pairs")
    p.add_argument(
        "--normalize",
        default="unit,center,unit",
        help="unit | center | iterative | a comma list",
    )
    p.add_argument(
        "--method", default="procrustes", choices=["procrustes", "linear"], help="the map"
    )
    p.add_argument("--refine", type=int, default=0, help="MUSE refinement rounds")
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.1,
        help="anchors held out to measure precision@k (0 = none)",
    )
    p.add_argument(
        "--retrieval",
        nargs="+",
        default=["nn", "csls", "isf"],
        choices=["nn", "csls", "isf"],
        help="retrieval methods scored (the last one translates --translate)",
    )
    p.add_argument(
        "--source-vocab",
        type=int,
        default=50000,
        help="first N source words used by CSLS / inverted softmax",
    )
    p.add_argument(
        "--translate",
        nargs="*",
        default=[],
        metavar="WORD",
        help="source words to translate with the fitted map",
    )
    p.add_argument("--k", type=int, default=5, help="candidates per translated word")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--save", help="write W, scale, bias to this .npz file")


def run_align(args: argparse.Namespace) -> Output:
    _check_file(args.anchors, "--anchors")
    if not 0 <= args.test_fraction < 1:
        raise UsageError("--test-fraction must be in [0, 1)")
    _check_positive(args.k, "--k")
    if args.save and not Path(args.save).resolve().parent.exists():
        raise FileNotFoundError(
            f"--save: the folder of {args.save} does not exist; create it first"
        )
    a, b = _load(args.source), _load(args.target)
    if args.anchors:
        pairs = [(s, t) for s, t in read_pairs(args.anchors) if s in a and t in b]
    else:
        pairs = [(w, w) for w in a.vocab if w in b]
    if not pairs:
        raise ValueError("no anchor pairs: the models share no words (pass --anchors FILE)")
    if args.max_anchors:
        pairs = pairs[: args.max_anchors]
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(pairs))
    n_test = round(args.test_fraction * len(pairs))
    test = [pairs[i] for i in perm[:n_test]]
    train = [pairs[i] for i in perm[n_test:]]
    ali = align(a, b, train, normalize=args.normalize, method=args.method, n_refinement=args.refine)
    text = [
        f"# {a.name} ({a.dim}d) -> {b.name} ({b.dim}d), {args.method}, normalize={args.normalize}"
    ]
    for h in ali.history:
        text.append(f"round {h['round']}: {h['n_pairs']} pairs, residual {h['residual']:.4f}")
    rows: list[dict[str, Any]] = []
    if test:
        text.append(f"held-out pairs: {len(test)}")
        for r in args.retrieval:
            acc = translation_accuracy(
                a, b, test, ali, retrieval=r, ks=(1, 5, 10), source_vocab=args.source_vocab
            )
            text.append(f"{r:>5}  " + "  ".join(f"P@{k} {v:.3f}" for k, v in acc.precision.items()))
            rows.append({"retrieval": r, **{f"p@{k}": float(v) for k, v in acc.precision.items()}})
    translations = []
    if args.translate:
        tr = translate(
            a,
            b,
            args.translate,
            ali,
            k=args.k,
            retrieval=args.retrieval[-1],
            source_vocab=args.source_vocab,
            progress=args.progress,
        )
        for i, w in enumerate(tr.queries):
            cands = [{"word": t, "score": float(s)} for t, s in tr[i]]
            translations.append({"source": w, "candidates": cands})
            text.append(f"{w} -> " + ", ".join(f"{c['word']} ({c['score']:.3f})" for c in cands))
    files = []
    if args.save:
        bias = np.zeros(ali.target_dim) if ali.bias is None else ali.bias
        np.savez(args.save, W=ali.W, scale=ali.scale, bias=bias)
        text.append(f"saved {args.save}")
        files.append(args.save)
    data = {
        "source": a.name,
        "target": b.name,
        "method": args.method,
        "n_train": len(train),
        "n_test": len(test),
        "history": list(ali.history),
        "precision": rows,
        "translations": translations,
        "files": files,
    }
    return Output("\n".join(text), data, rows, files=files)


def add_stability(sub: Subparsers) -> None:
    p = _parser(sub, "stability", "compare runs of an embedding model (or train word2vec runs)")
    p.add_argument(
        "models", nargs="*", help="two or more models (names or paths) over one vocabulary"
    )
    p.add_argument(
        "--train",
        type=int,
        default=0,
        metavar="N",
        help="train N word2vec runs with seeds 0..N-1 instead (needs gensim)",
    )
    p.add_argument(
        "--corpus",
        help="training text, one document per line (default: gensim's lee_background.cor)",
    )
    p.add_argument("--dim", type=int, default=50, help="vector size of trained runs")
    p.add_argument(
        "--epochs",
        type=int,
        default=40,
        help="training epochs of each run (fewer give near-identical runs; a warning says so)",
    )
    p.add_argument("--min-count", type=int, default=5, help="ignore rarer words when training")
    p.add_argument("--k", type=int, default=10, help="neighbourhood size of the overlap")


def run_stability(args: argparse.Namespace) -> Output:
    _check_file(args.corpus, "--corpus")
    if args.train:
        _check_positive(args.train, "--train", minimum=2)
        runs = train_word2vec_runs(
            args.corpus,
            n_runs=args.train,
            vector_size=args.dim,
            epochs=args.epochs,
            min_count=args.min_count,
        )
    else:
        if len(args.models) < 2:
            raise UsageError("give two or more models, or --train N")
        runs = [_load(m) for m in args.models]
    rep = stability(runs, k=args.k, progress=args.progress)
    names = rep.names
    text = [rep.summary()]
    mats = {
        "frobenius_aligned": rep.frobenius_aligned,
        "mean_cosine": rep.mean_cosine,
        f"knn_overlap@{rep.k}": rep.knn_overlap,
    }
    rows = []
    for title, M in mats.items():
        text.append(f"\n# {title.replace('_', ' ')}")
        text.append(" " * 10 + "".join(f"{n[:9]:>10}" for n in names))
        for i, n in enumerate(names):
            text.append(f"{n[:9]:>10}" + "".join(f"{M[i, j]:>10.4f}" for j in range(len(names))))
            rows += [
                {"measure": title, "a": n, "b": names[j], "value": float(M[i, j])}
                for j in range(len(names))
            ]
    data = {
        "names": list(names),
        "k": rep.k,
        "summary": rep.summary(),
        **{t: np.asarray(M).tolist() for t, M in mats.items()},
    }
    return Output("\n".join(text), data, rows)


Command: TypeAlias = tuple[Callable[[Subparsers], None], Callable[[argparse.Namespace], Output]]

COMMANDS: dict[str, Command] = {
    "knn": (add_knn, run_knn),
    "knn-graph": (add_knn_graph, run_knn_graph),
    "info": (add_info, run_info),
    "report": (add_report, run_report),
    "convert": (add_convert, run_convert),
    "tokenize": (add_tokenize, run_tokenize),
    "analogy": (add_analogy, run_analogy),
    "eval": (add_eval, run_eval),
    "axis": (add_axis, run_axis),
    "svd": (add_svd, run_svd),
    "rsa": (add_rsa, run_rsa),
    "align": (add_align, run_align),
    "stability": (add_stability, run_stability),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenspace",
        description="Fast, exact analysis of token embedding spaces.\n\n"
        "Run 'tokenspace COMMAND --help' for the options of one command. Every command\n"
        "takes --json (and tabular ones --csv) for scripts. Exit codes: 0 success,\n"
        "2 user error, 1 internal error.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"tokenspace {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _clean(o: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def render(out: Output, *, as_json: bool, as_csv: bool) -> str:
    """The text a command prints: its table as CSV, its data as JSON, or the text."""
    if as_json:
        return json.dumps(
            _clean(json.loads(json.dumps(out.data, default=_json_default))), ensure_ascii=False
        )
    if as_csv:
        rows = out.rows or []
        keys: list[str] = []
        for r in rows:
            keys += [k for k in r if k not in keys]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    return out.text


def _message(e: BaseException) -> str:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(str(msg).split())  # one line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user error, 1 internal error)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "json", False) and getattr(args, "csv", False):
        print("tokenspace: error: choose one of --json and --csv", file=sys.stderr)
        return 2
    machine = args.json or getattr(args, "csv", False)
    args.progress = not (args.quiet or machine)
    try:
        out = COMMANDS[args.command][1](args)
        text = render(out, as_json=args.json, as_csv=getattr(args, "csv", False))
        if text:
            print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader (head, less) stopped early: not an error. Point stdout at /dev/null so
        # the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        # the kernels stop within a second of Ctrl-C; exit as a shell expects (128 + SIGINT)
        print("tokenspace: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        print(f"tokenspace: error: {_message(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if os.environ.get("TOKENSPACE_TRACEBACK"):
            raise
        print(
            f"tokenspace: internal error: {type(e).__name__}: {_message(e)} (this is a bug; "
            "rerun with TOKENSPACE_TRACEBACK=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1
    return out.status


if __name__ == "__main__":
    sys.exit(main())
