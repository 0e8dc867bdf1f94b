"""The ``tokenspace`` command line.

Each subcommand is a small function registered in ``COMMANDS``: ``add_<name>(subparsers)``
defines its arguments and ``run_<name>(args)`` does the work, so commands stay independent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np

from ._kernels import simd_level
from .alignment.procrustes import align
from .alignment.stability import stability, train_word2vec_runs
from .alignment.translate import read_pairs, translate, translation_accuracy
from .analysis.axes import extremes, project, semantic_axis
from .analysis.evaluate import evaluate_analogies, evaluate_word_pairs
from .analysis.spectral import group_mean_correlation, principal_axes, random_subset, svd_spectrum
from .io.native import save_native
from .io.text import save_glove, save_word2vec
from .loaders import load
from .report import build_report
from .space import EmbeddingSpace

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _load(name: str) -> EmbeddingSpace:
    return load(name)


def add_knn(sub: Subparsers) -> None:
    p = sub.add_parser("knn", help="nearest neighbours of words in a model")
    p.add_argument("model", help="embedded model name (glove-6b-50d, minilm-l6) or a path")
    p.add_argument("words", nargs="+", help="query words")
    p.add_argument("--k", type=int, default=10, help="neighbours per word (default 10)")
    p.add_argument("--metric", default="cosine", choices=["cosine", "dot", "euclidean"])
    p.add_argument("--backend", default="tokenspace", choices=["tokenspace", "faiss"])


def run_knn(args: argparse.Namespace) -> int:
    s = _load(args.model)
    res = s.knn(args.words, k=args.k, metric=args.metric, backend=args.backend)
    for i, w in enumerate(args.words):
        print(f"# {w}  ({s.name}, {args.metric})")
        print(res.table(i))
        print()
    return 0


def add_info(sub: Subparsers) -> None:
    p = sub.add_parser("info", help="shape, norms and sample tokens of a model")
    p.add_argument("model", help="embedded model name or a path")


def run_info(args: argparse.Namespace) -> int:
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


def add_report(sub: Subparsers) -> None:
    p = sub.add_parser(
        "report", help="run the course's analyses on the embedded models -> HTML page"
    )
    p.add_argument("--out", required=True, help="output folder (index.html + PNG figures)")
    p.add_argument("--seed", type=int, default=0, help="random seed (t-SNE, shuffles; default 0)")
    p.add_argument(
        "--sections", default=None, help="comma-separated section keys to run (default: all)"
    )
    p.add_argument(
        "--models",
        nargs=2,
        default=("glove-6b-50d", "minilm-l6"),
        metavar=("STATIC", "HF"),
        help="the two models (default: glove-6b-50d minilm-l6)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_report(args: argparse.Namespace) -> int:
    sections = [k.strip() for k in args.sections.split(",") if k.strip()] if args.sections else None
    res = build_report(
        args.out,
        models=tuple(args.models),
        sections=sections,
        seed=args.seed,
        progress=not args.quiet,
    )
    for r in res.sections:
        extra = f"  ({r.note})" if r.note else ""
        print(f"{r.status:8} {r.seconds:6.1f} s  {r.title}{extra}")
    print(f"wrote {res.index} in {res.seconds:.1f} s")
    return 1 if any(r.status == "failed" for r in res.sections) else 0


def add_convert(sub: Subparsers) -> None:
    p = sub.add_parser("convert", help="convert between word2vec, GloVe, HF folders and native")
    p.add_argument("source", help="embedded model name or a path (format detected)")
    p.add_argument("dest", help="output path (a folder for --to native)")
    p.add_argument(
        "--to", default="native", choices=["native", "word2vec", "word2vec-binary", "glove"]
    )
    p.add_argument("--limit", type=int, default=None, help="first N vectors of a text/binary file")
    p.add_argument(
        "--encoding-errors",
        default="strict",
        help="strict (default), replace, ignore or backslashreplace",
    )


def run_convert(args: argparse.Namespace) -> int:
    s = load(args.source, limit=args.limit, encoding_errors=args.encoding_errors)
    if args.to == "native":
        out = save_native(s, args.dest)
    elif args.to == "glove":
        out = save_glove(s, args.dest)
    else:
        out = save_word2vec(s, args.dest, binary=args.to == "word2vec-binary")
    print(f"wrote {out} ({len(s)} x {s.dim}, {args.to})")
    return 0


def add_tokenize(sub: Subparsers) -> None:
    p = sub.add_parser("tokenize", help="tokens and ids of a text in a model's tokenizer")
    p.add_argument("model", help="embedded model name or a Hugging Face folder")
    p.add_argument("text", help="the text to tokenize")
    p.add_argument("--special-tokens", action="store_true", help="add [CLS]/[SEP] etc.")


def run_tokenize(args: argparse.Namespace) -> int:
    s = _load(args.model)
    t = s.tokenize(args.text, special_tokens=args.special_tokens)
    for tok, i in zip(t.tokens, t.ids.tolist()):
        print(f"{i:>8d}  {tok!r:24s}  {s.display_token(i)!r}")
    return 0


def add_analogy(sub: Subparsers) -> None:
    p = sub.add_parser(
        "analogy",
        help="a is to b as c is to ? (b - a + c)",
        description="Solve 'a : b :: c : ?', e.g. 'man king woman' -> queen.",
    )
    p.add_argument("model", help="embedded model name or a path")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("c")
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--method", default="3cosadd", choices=["3cosadd", "3cosmul"])
    p.add_argument("--restrict-vocab", type=int, default=None)
    p.add_argument("--keep-inputs", action="store_true", help="allow the input words as answers")


def run_analogy(args: argparse.Namespace) -> int:
    s = _load(args.model)
    res = s.most_similar(
        positive=[args.b, args.c],
        negative=[args.a],
        topn=args.topn,
        method=args.method,
        restrict_vocab=args.restrict_vocab,
        exclude_inputs=not args.keep_inputs,
    )
    print(f"# {args.a} : {args.b} :: {args.c} : ?   ({s.name}, {args.method})")
    for r, (w, sc) in enumerate(res, 1):
        print(f"{r:>4}  {sc:>8.4f}  {w}")
    return 0


def add_eval(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="Google analogies + WordSim353 + SimLex-999 (gensim's data)")
    p.add_argument("model", help="embedded model name or a path")
    p.add_argument("--analogies", default=None, help="questions-words.txt path (default: gensim's)")
    p.add_argument(
        "--pairs",
        nargs="*",
        default=None,
        help="word-pair files (default: gensim's wordsim353.tsv and simlex999.txt)",
    )
    p.add_argument("--restrict-vocab", type=int, default=300000)
    p.add_argument("--method", default="3cosadd", choices=["3cosadd", "3cosmul"])
    p.add_argument("--case-sensitive", action="store_true")


def _gensim_data(name: str) -> str:
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise ModuleNotFoundError(
            f"the default evaluation files come with gensim (pip install gensim); "
            f"or pass the path of {name} explicitly"
        ) from None
    return datapath(name)


def run_eval(args: argparse.Namespace) -> int:
    s = _load(args.model)
    ci = not args.case_sensitive
    path = args.analogies or _gensim_data("questions-words.txt")
    r = evaluate_analogies(
        s, path, restrict_vocab=args.restrict_vocab, case_insensitive=ci, method=args.method
    )
    print(f"# analogies: {path}  ({s.name}, {args.method}, restrict_vocab={args.restrict_vocab})")
    print(r.table())
    pairs = (
        args.pairs
        if args.pairs is not None
        else [_gensim_data("wordsim353.tsv"), _gensim_data("simlex999.txt")]
    )
    for pp in pairs:
        w = evaluate_word_pairs(s, pp, restrict_vocab=args.restrict_vocab, case_insensitive=ci)
        print(f"\n# word pairs: {pp}")
        print(f"pearson   {w.pearson:.4f}  (p={w.pearson_pvalue:.3g})")
        print(f"spearman  {w.spearman:.4f}  (p={w.spearman_pvalue:.3g})")
        print(f"oov       {w.oov_ratio:.1f}%  ({w.n_oov} pairs)")
    return 0


def add_axis(sub: Subparsers) -> None:
    p = sub.add_parser("axis", help="project the vocabulary onto positive - negative words")
    p.add_argument("model", help="embedded model name or a path")
    p.add_argument("--positive", nargs="+", required=True)
    p.add_argument("--negative", nargs="*", default=[])
    p.add_argument("--n", type=int, default=20, help="words listed at each end")
    p.add_argument("--raw", action="store_true", help="average raw vectors, not unit ones")
    p.add_argument("--alphabetic", action="store_true", help="only alphabetic tokens")
    p.add_argument("--min-length", type=int, default=0)
    p.add_argument(
        "--restrict-vocab",
        type=int,
        default=None,
        help="list only words among the first N entries (the most frequent)",
    )


def run_axis(args: argparse.Namespace) -> int:
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
    print(f"# axis {' + '.join(args.positive)} - ({' + '.join(args.negative) or '0'})  ({s.name})")
    print(ext.table())
    return 0


def add_svd(sub: Subparsers) -> None:
    p = sub.add_parser(
        "svd", help="spectrum of a word group vs a random group; project on its top axis"
    )
    p.add_argument("model", help="embedded model name or a path")
    p.add_argument("words", nargs="+", help="the group (each a vocabulary entry)")
    p.add_argument("--n", type=int, default=30, help="tokens listed at each end")
    p.add_argument("--no-center", action="store_true")
    p.add_argument("--seed", type=int, default=0)


def run_svd(args: argparse.Namespace) -> int:
    s = _load(args.model)
    center = not args.no_center
    G = s[args.words]
    R = random_subset(s, len(args.words), seed=args.seed, exclude=args.words)
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    print(f"# {len(args.words)} words of {s.name}, {'mean-centred' if center else 'raw'}")
    print("group spectrum  ", svd_spectrum(G, center=center))
    print("random spectrum ", svd_spectrum(R.vectors, center=center))
    corr = group_mean_correlation(G, R.vectors)
    print(f"group-mean correlation with the random group: {corr:+.4f}")
    ax = principal_axes(G, 1, center=center)[0]
    sc = project(s, ax, center=G.mean(axis=0) if center else None)
    print(extremes(s, sc, args.n, exclude=args.words).table())
    return 0


def add_align(sub: Subparsers) -> None:
    p = sub.add_parser("align", help="map model A onto model B (Procrustes) and score translation")
    p.add_argument("source", help="source model: embedded name or a path")
    p.add_argument("target", help="target model: embedded name or a path")
    p.add_argument("--anchors", help="file of 'source target' pairs (default: shared vocabulary)")
    p.add_argument("--max-anchors", type=int, default=None)
    p.add_argument(
        "--normalize",
        default="unit,center,unit",
        help="unit | center | iterative | a comma list (default unit,center,unit)",
    )
    p.add_argument("--method", default="procrustes", choices=["procrustes", "linear"])
    p.add_argument("--refine", type=int, default=0, help="MUSE refinement rounds (default 0)")
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.1,
        help="anchors held out to measure precision@k (default 0.1; 0 = none)",
    )
    p.add_argument(
        "--retrieval", nargs="+", default=["nn", "csls", "isf"], choices=["nn", "csls", "isf"]
    )
    p.add_argument(
        "--source-vocab",
        type=int,
        default=50000,
        help="first n source words used by CSLS / inverted softmax (default 50000)",
    )
    p.add_argument(
        "--translate",
        nargs="*",
        default=[],
        metavar="WORD",
        help="source words to translate with the fitted map",
    )
    p.add_argument("--k", type=int, default=5, help="candidates per translated word")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="write W, scale, bias to this .npz file")


def run_align(args: argparse.Namespace) -> int:
    a, b = _load(args.source), _load(args.target)
    if args.anchors:
        pairs = [(s, t) for s, t in read_pairs(args.anchors) if s in a and t in b]
    else:
        pairs = [(w, w) for w in a.vocab if w in b]
    if not pairs:
        raise ValueError("no anchor pairs: the models share no words (pass --anchors FILE)")
    if args.max_anchors:
        pairs = pairs[: args.max_anchors]
    if not 0 <= args.test_fraction < 1:
        raise ValueError("--test-fraction must be in [0, 1)")
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(pairs))
    n_test = round(args.test_fraction * len(pairs))
    test = [pairs[i] for i in perm[:n_test]]
    train = [pairs[i] for i in perm[n_test:]]
    ali = align(a, b, train, normalize=args.normalize, method=args.method, n_refinement=args.refine)
    print(
        f"# {a.name} ({a.dim}d) -> {b.name} ({b.dim}d), {args.method}, normalize={args.normalize}"
    )
    for h in ali.history:
        print(f"round {h['round']}: {h['n_pairs']} pairs, residual {h['residual']:.4f}")
    if test:
        print(f"held-out pairs: {len(test)}")
        for r in args.retrieval:
            acc = translation_accuracy(
                a, b, test, ali, retrieval=r, ks=(1, 5, 10), source_vocab=args.source_vocab
            )
            ps = "  ".join(f"P@{k} {v:.3f}" for k, v in acc.precision.items())
            print(f"{r:>5}  {ps}")
    if args.translate:
        tr = translate(
            a,
            b,
            args.translate,
            ali,
            k=args.k,
            retrieval=args.retrieval[-1],
            source_vocab=args.source_vocab,
        )
        for i, w in enumerate(tr.queries):
            print(f"{w} -> " + ", ".join(f"{t} ({s:.3f})" for t, s in tr[i]))
    if args.save:
        bias = np.zeros(ali.target_dim) if ali.bias is None else ali.bias
        np.savez(args.save, W=ali.W, scale=ali.scale, bias=bias)
        print(f"saved {args.save}")
    return 0


def add_stability(sub: Subparsers) -> None:
    p = sub.add_parser(
        "stability", help="compare runs of an embedding model (or train word2vec runs)"
    )
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
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--k", type=int, default=10, help="neighbourhood size of the overlap")


def run_stability(args: argparse.Namespace) -> int:
    if args.train:
        runs = train_word2vec_runs(
            args.corpus,
            n_runs=args.train,
            vector_size=args.dim,
            epochs=args.epochs,
            min_count=args.min_count,
        )
    else:
        if len(args.models) < 2:
            raise ValueError("give two or more models, or --train N")
        runs = [_load(m) for m in args.models]
    rep = stability(runs, k=args.k)
    print(rep.summary())
    names = rep.names
    for title, M in (
        ("frobenius aligned", rep.frobenius_aligned),
        ("mean cosine", rep.mean_cosine),
        (f"knn overlap@{rep.k}", rep.knn_overlap),
    ):
        print(f"\n# {title}")
        print(" " * 10 + "".join(f"{n[:9]:>10}" for n in names))
        for i, n in enumerate(names):
            print(f"{n[:9]:>10}" + "".join(f"{M[i, j]:>10.4f}" for j in range(len(names))))
    return 0


Command: TypeAlias = tuple[Callable[[Subparsers], None], Callable[[argparse.Namespace], int]]

COMMANDS: dict[str, Command] = {
    "knn": (add_knn, run_knn),
    "info": (add_info, run_info),
    "report": (add_report, run_report),
    "convert": (add_convert, run_convert),
    "tokenize": (add_tokenize, run_tokenize),
    "analogy": (add_analogy, run_analogy),
    "eval": (add_eval, run_eval),
    "axis": (add_axis, run_axis),
    "svd": (add_svd, run_svd),
    "align": (add_align, run_align),
    "stability": (add_stability, run_stability),
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
