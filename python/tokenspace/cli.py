"""The ``tokenspace`` command line.

Each subcommand is a small function registered in ``COMMANDS``: ``add_<name>(subparsers)``
defines its arguments and ``run_<name>(args)`` does the work, so commands stay independent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _load(name: str):
    from .io import load

    return load(name)


# -- knn -------------------------------------------------------------------------------
def add_knn(sub) -> None:
    p = sub.add_parser("knn", help="nearest neighbours of words in a model")
    p.add_argument("model", help="embedded model name (glove-6b-50d, minilm-l6) or a path")
    p.add_argument("words", nargs="+", help="query words")
    p.add_argument("--k", type=int, default=10, help="neighbours per word (default 10)")
    p.add_argument("--metric", default="cosine", choices=["cosine", "dot", "euclidean"])
    p.add_argument("--backend", default="tokenspace", choices=["tokenspace", "faiss"])


def run_knn(args) -> int:
    s = _load(args.model)
    res = s.knn(args.words, k=args.k, metric=args.metric, backend=args.backend)
    for i, w in enumerate(args.words):
        print(f"# {w}  ({s.name}, {args.metric})")
        print(res.table(i))
        print()
    return 0


# -- info ------------------------------------------------------------------------------
def add_info(sub) -> None:
    p = sub.add_parser("info", help="shape, norms and sample tokens of a model")
    p.add_argument("model", help="embedded model name or a path")


def run_info(args) -> int:
    import numpy as np

    from . import simd_level

    s = _load(args.model)
    n = s.norms
    print(f"name        {s.name}")
    print(f"vocabulary  {len(s)}")
    print(f"dimension   {s.dim}")
    print(f"norms       min {n.min():.4f}  median {np.median(n):.4f}  max {n.max():.4f}")
    print(f"zero rows   {int((n == 0).sum())}")
    print(f"first words {' '.join(s.vocab[:10])}")
    print(f"simd level  {simd_level()}")
    return 0


# -- report ----------------------------------------------------------------------------
def add_report(sub) -> None:
    p = sub.add_parser("report", help="run the course's analyses on the embedded models -> HTML page")
    p.add_argument("--out", required=True, help="output folder (index.html + PNG figures)")
    p.add_argument("--seed", type=int, default=0, help="random seed (t-SNE, shuffles; default 0)")
    p.add_argument("--sections", default=None,
                   help="comma-separated section keys to run (default: all)")
    p.add_argument("--models", nargs=2, default=("glove-6b-50d", "minilm-l6"),
                   metavar=("STATIC", "HF"), help="the two models (default: glove-6b-50d minilm-l6)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_report(args) -> int:
    from .report import build_report

    sections = [k.strip() for k in args.sections.split(",") if k.strip()] if args.sections else None
    res = build_report(args.out, models=tuple(args.models), sections=sections, seed=args.seed,
                       progress=not args.quiet)
    for r in res.sections:
        extra = f"  ({r.note})" if r.note else ""
        print(f"{r.status:8} {r.seconds:6.1f} s  {r.title}{extra}")
    print(f"wrote {res.index} in {res.seconds:.1f} s")
    return 1 if any(r.status == "failed" for r in res.sections) else 0
# -- convert (loaders) -----------------------------------------------------------------
def add_convert(sub) -> None:
    p = sub.add_parser("convert", help="convert between word2vec, GloVe, HF folders and native")
    p.add_argument("source", help="embedded model name or a path (format detected)")
    p.add_argument("dest", help="output path (a folder for --to native)")
    p.add_argument("--to", default="native",
                   choices=["native", "word2vec", "word2vec-binary", "glove"])
    p.add_argument("--limit", type=int, default=None, help="first N vectors of a text/binary file")
    p.add_argument("--encoding-errors", default="strict",
                   help="strict (default), replace, ignore or backslashreplace")


def run_convert(args) -> int:
    from .io import load, save_glove, save_native, save_word2vec

    s = load(args.source, limit=args.limit, encoding_errors=args.encoding_errors)
    if args.to == "native":
        out = save_native(s, args.dest)
    elif args.to == "glove":
        out = save_glove(s, args.dest)
    else:
        out = save_word2vec(s, args.dest, binary=args.to == "word2vec-binary")
    print(f"wrote {out} ({len(s)} x {s.dim}, {args.to})")
    return 0


# -- tokenize (loaders) ----------------------------------------------------------------
def add_tokenize(sub) -> None:
    p = sub.add_parser("tokenize", help="tokens and ids of a text in a model's tokenizer")
    p.add_argument("model", help="embedded model name or a Hugging Face folder")
    p.add_argument("text", help="the text to tokenize")
    p.add_argument("--special-tokens", action="store_true", help="add [CLS]/[SEP] etc.")


def run_tokenize(args) -> int:
    s = _load(args.model)
    t = s.tokenize(args.text, special_tokens=args.special_tokens)
    for tok, i in zip(t.tokens, t.ids.tolist()):
        print(f"{i:>8d}  {tok!r:24s}  {s.display_token(i)!r}")
    return 0


COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "knn": (add_knn, run_knn),
    "info": (add_info, run_info),
    "report": (add_report, run_report),
    "convert": (add_convert, run_convert),
    "tokenize": (add_tokenize, run_tokenize),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tokenspace", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (KeyError, ValueError, FileNotFoundError, ModuleNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"tokenspace: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
