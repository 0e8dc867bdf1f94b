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


# ==== alignment ====
def add_align(sub) -> None:
    p = sub.add_parser("align", help="map model A onto model B (Procrustes) and score translation")
    p.add_argument("source", help="source model: embedded name or a path")
    p.add_argument("target", help="target model: embedded name or a path")
    p.add_argument("--anchors", help="file of 'source target' pairs (default: shared vocabulary)")
    p.add_argument("--max-anchors", type=int, default=None)
    p.add_argument("--normalize", default="unit,center,unit",
                   help="unit | center | iterative | a comma list (default unit,center,unit)")
    p.add_argument("--method", default="procrustes", choices=["procrustes", "linear"])
    p.add_argument("--refine", type=int, default=0, help="MUSE refinement rounds (default 0)")
    p.add_argument("--test-fraction", type=float, default=0.1,
                   help="anchors held out to measure precision@k (default 0.1; 0 = none)")
    p.add_argument("--retrieval", nargs="+", default=["nn", "csls", "isf"],
                   choices=["nn", "csls", "isf"])
    p.add_argument("--source-vocab", type=int, default=50000,
                   help="first n source words used by CSLS / inverted softmax (default 50000)")
    p.add_argument("--translate", nargs="*", default=[], metavar="WORD",
                   help="source words to translate with the fitted map")
    p.add_argument("--k", type=int, default=5, help="candidates per translated word")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="write W, scale, bias to this .npz file")


def run_align(args) -> int:
    import numpy as np

    from .align import align
    from .translate import translate, translation_accuracy

    a, b = _load(args.source), _load(args.target)
    if args.anchors:
        from .translate import _read_pairs

        pairs = [(s, t) for s, t in _read_pairs(args.anchors) if s in a and t in b]
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
    n_test = int(round(args.test_fraction * len(pairs)))
    test = [pairs[i] for i in perm[:n_test]]
    train = [pairs[i] for i in perm[n_test:]]
    ali = align(a, b, train, normalize=args.normalize, method=args.method,
                n_refinement=args.refine)
    print(f"# {a.name} ({a.dim}d) -> {b.name} ({b.dim}d), {args.method}, "
          f"normalize={args.normalize}")
    for h in ali.history:
        print(f"round {h['round']}: {h['n_pairs']} pairs, residual {h['residual']:.4f}")
    if test:
        print(f"held-out pairs: {len(test)}")
        for r in args.retrieval:
            acc = translation_accuracy(a, b, test, ali, retrieval=r, ks=(1, 5, 10),
                                       source_vocab=args.source_vocab)
            ps = "  ".join(f"P@{k} {v:.3f}" for k, v in acc.precision.items())
            print(f"{r:>5}  {ps}")
    if args.translate:
        tr = translate(a, b, args.translate, ali, k=args.k, retrieval=args.retrieval[-1],
                       source_vocab=args.source_vocab)
        for i, w in enumerate(tr.queries):
            print(f"{w} -> " + ", ".join(f"{t} ({s:.3f})" for t, s in tr[i]))
    if args.save:
        np.savez(args.save, W=ali.W, scale=ali.scale, bias=ali.bias)
        print(f"saved {args.save}")
    return 0


def add_stability(sub) -> None:
    p = sub.add_parser("stability",
                       help="compare runs of an embedding model (or train word2vec runs)")
    p.add_argument("models", nargs="*",
                   help="two or more models (names or paths) over one vocabulary")
    p.add_argument("--train", type=int, default=0, metavar="N",
                   help="train N word2vec runs with seeds 0..N-1 instead (needs gensim)")
    p.add_argument("--corpus", help="training text, one document per line (default: gensim's "
                   "lee_background.cor)")
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--k", type=int, default=10, help="neighbourhood size of the overlap")


def run_stability(args) -> int:
    from .stability import stability, train_word2vec_runs

    if args.train:
        runs = train_word2vec_runs(args.corpus, n_runs=args.train, vector_size=args.dim,
                                   epochs=args.epochs, min_count=args.min_count)
    else:
        if len(args.models) < 2:
            raise ValueError("give two or more models, or --train N")
        runs = [_load(m) for m in args.models]
    rep = stability(runs, k=args.k)
    print(rep.summary())
    names = rep.names
    for title, M in (("frobenius aligned", rep.frobenius_aligned), ("mean cosine", rep.mean_cosine),
                     (f"knn overlap@{rep.k}", rep.knn_overlap)):
        print(f"\n# {title}")
        print(" " * 10 + "".join(f"{n[:9]:>10}" for n in names))
        for i, n in enumerate(names):
            print(f"{n[:9]:>10}" + "".join(f"{M[i, j]:>10.4f}" for j in range(len(names))))
    return 0


# ==== end alignment ====
COMMANDS: dict[str, tuple[Callable, Callable]] = {
    "knn": (add_knn, run_knn),
    "info": (add_info, run_info),
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
