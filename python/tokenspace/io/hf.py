"""Input-embedding matrices and vocabularies of local Hugging Face model folders."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _kernels
from ..tokens import Tokenizer
from .safetensors import read_header, read_tensor

# Names of the input-embedding tensor by architecture family, most specific first.
_EMBEDDING_SUFFIXES = (
    "embeddings.word_embeddings.weight",  # BERT, RoBERTa, MiniLM, DistilBERT ...
    "wte.weight",  # GPT-2, GPT-J
    "embed_tokens.weight",  # Llama, Mistral, OPT, BART, T5 encoder ...
    "shared.weight",  # T5
    "word_embeddings.weight",  # BLOOM
    "embed_in.weight",  # GPT-NeoX / Pythia
    "tok_embeddings.weight",
)


# model_type (config.json) -> the input-embedding tensor's name suffix.
_BY_MODEL_TYPE = {
    **dict.fromkeys(
        (
            "bert",
            "roberta",
            "xlm-roberta",
            "distilbert",
            "electra",
            "albert",
            "mpnet",
            "camembert",
            "deberta",
            "deberta-v2",
            "ernie",
            "bloom",
            "falcon",
            "megatron-bert",
            "nomic_bert",
        ),
        "word_embeddings.weight",
    ),
    **dict.fromkeys(("gpt2", "gptj", "gpt_bigcode", "codegen", "gpt_neo"), "wte.weight"),
    **dict.fromkeys(
        (
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen3",
            "gemma",
            "gemma2",
            "phi",
            "phi3",
            "opt",
            "bart",
            "mbart",
            "marian",
            "pegasus",
            "olmo",
            "stablelm",
            "starcoder2",
            "cohere",
        ),
        "embed_tokens.weight",
    ),
    **dict.fromkeys(("t5", "mt5", "umt5", "longt5"), "shared.weight"),
    "gpt_neox": "embed_in.weight",
}


def read_config(folder: Path) -> dict:
    """config.json as a dict ({} when absent)."""
    path = folder / "config.json"
    if not path.exists():
        return {}
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: unreadable JSON ({e})") from None
    return cfg if isinstance(cfg, dict) else {}


def _tensor_table(folder: Path) -> dict[str, Path]:
    """Every tensor name -> the safetensors file holding it (sharded folders via the index)."""
    single = folder / "model.safetensors"
    if single.exists():
        return dict.fromkeys(read_header(single)[0], single)
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(
                f"{index}: not a safetensors index (needs 'weight_map'): {e}"
            ) from None
        table = {n: folder / f for n, f in weight_map.items()}
        missing = sorted({str(p.name) for p in table.values() if not p.exists()})
        if missing:
            raise FileNotFoundError(
                f"{index} names shard(s) that are missing: {', '.join(missing)}"
            )
        return table
    table = {}
    for f in sorted(folder.glob("*.safetensors")):
        table.update(dict.fromkeys(read_header(f)[0], f))
    return table


def _hidden_size(cfg: dict) -> int | None:
    for key in ("word_embed_proj_dim", "embedding_size", "hidden_size", "n_embd", "d_model", "dim"):
        if isinstance(cfg.get(key), int):
            return cfg[key]
    return None


def _pick_tensor(names: list[str], shapes: dict[str, tuple] | None, cfg: dict, where: Path) -> str:
    def ending(suffix: str) -> list[str]:
        return [n for n in names if n == suffix or n.endswith("." + suffix)]

    model_type = cfg.get("model_type")
    preferred = _BY_MODEL_TYPE.get(model_type) if isinstance(model_type, str) else None
    for suffix in ((preferred,) if preferred else ()) + _EMBEDDING_SUFFIXES:
        hits = ending(suffix)
        if hits:
            return min(hits, key=len)
    vocab_size, hidden = cfg.get("vocab_size"), _hidden_size(cfg)
    if shapes is not None and vocab_size and hidden:
        same = [
            n
            for n in names
            if tuple(shapes.get(n, ())) == (vocab_size, hidden)
            and "lm_head" not in n
            and "output" not in n
        ]
        if len(same) == 1:
            return same[0]
    candidates = [n for n in names if "emb" in n.lower()]
    if shapes is not None and vocab_size:
        candidates += [
            n for n in names if shapes.get(n, (0,))[0] == vocab_size and n not in candidates
        ]
    candidates = candidates or names[:20]
    raise ValueError(
        f"{where}: cannot tell which tensor is the input embedding"
        + (f" (model_type {model_type!r} is not one tokenspace knows)" if model_type else "")
        + f"; candidates: {', '.join(candidates) or '(none)'}. Load it yourself with "
        "tokenspace.io.safetensors.read_tensor(file, name) and build ts.EmbeddingSpace"
    )


def find_embedding_tensor(folder: str | os.PathLike) -> tuple[Path, str]:
    """Locate the input-embedding matrix: (safetensors file, tensor name).

    The name comes from config.json's ``model_type`` when known, else from the usual names
    (``embeddings.word_embeddings.weight``, ``wte.weight``, ``embed_tokens.weight``, ...), else
    from the one 2-D tensor of shape (vocab_size, hidden size); otherwise ``ValueError`` lists
    the candidates.
    """
    folder = Path(folder)
    table = _tensor_table(folder)
    if not table:
        raise FileNotFoundError(
            f"{folder}: no model.safetensors (or sharded *.safetensors) found"
            + ("; its pytorch_model.bin needs torch" if _bin_files(folder) else "")
        )
    cfg = read_config(folder)
    shapes: dict[str, tuple] = {}
    for f in set(table.values()):
        header, _ = read_header(f)
        shapes.update({n: tuple(v.get("shape", ())) for n, v in header.items()})
    name = _pick_tensor(list(table), shapes, cfg, folder)
    return table[name], name


def _bin_files(folder: Path) -> list[Path]:
    single = folder / "pytorch_model.bin"
    if single.exists():
        return [single]
    index = folder / "pytorch_model.bin.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return sorted({folder / f for f in weight_map.values()})
    return []


def _read_torch_bin(folder: Path, files: list[Path]) -> tuple[np.ndarray, str]:
    """The embedding from pytorch_model.bin: needs torch, imported only here."""
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(
            f"{folder} holds only pytorch_model.bin (pickled torch tensors); reading it needs torch "
            "and transformers: pip install 'tokenspace[context]', or convert the folder to "
            "safetensors"
        ) from None
    cfg = read_config(folder)
    for f in files:
        state = torch.load(f, map_location="cpu", weights_only=True)
        shapes = {n: tuple(t.shape) for n, t in state.items()}
        try:
            name = _pick_tensor(list(state), shapes, cfg, f)
        except ValueError:
            if f is files[-1]:
                raise
            continue
        return state[name].to(torch.float32).numpy(), f"{f.name}:{name}"
    raise ValueError(f"{folder}: no input embedding found")  # pragma: no cover


def read_tokenizer_vocab(folder: str | os.PathLike, n_rows: int) -> list[str]:
    """Token strings by id from tokenizer.json (or vocab.txt), padded to ``n_rows`` entries.

    Rows the tokenizer does not name (embedding matrices are often padded to a multiple of 64)
    get the placeholder ``"<row_i>"`` so every row keeps a unique label.
    """
    folder = Path(folder)
    by_id: dict[int, str] = {}
    tj = folder / "tokenizer.json"
    if tj.exists():
        try:
            spec = json.loads(tj.read_text(encoding="utf-8"))
            vocab = spec.get("model", {}).get("vocab", {})
            if isinstance(vocab, dict):
                by_id = {int(i): str(t) for t, i in vocab.items()}
            elif isinstance(vocab, list):  # Unigram: [[token, score], ...]
                by_id = {i: str(entry[0]) for i, entry in enumerate(vocab)}
            for added in spec.get("added_tokens", []):
                by_id[int(added["id"])] = str(added["content"])
        except (
            json.JSONDecodeError,
            UnicodeDecodeError,
            AttributeError,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
        ) as e:
            raise ValueError(
                f"{tj}: not a valid Hugging Face tokenizer.json ({type(e).__name__}: {e}); "
                "restore the file from the model's repository, or delete it to name the "
                "tokens from vocab.json / vocab.txt"
            ) from None
    elif (folder / "vocab.json").exists():  # GPT-2-style folders without tokenizer.json
        try:
            vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
            by_id = {int(i): t for t, i in vocab.items()}
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as e:
            raise ValueError(
                f"{folder / 'vocab.json'}: expected a JSON object token -> id ({e})"
            ) from None
        added = folder / "added_tokens.json"
        if added.exists():
            try:
                extra = json.loads(added.read_text(encoding="utf-8"))
                by_id.update({int(i): str(t) for t, i in extra.items()})
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, ValueError) as e:
                raise ValueError(
                    f"{added}: expected a JSON object token -> id ({type(e).__name__}: {e})"
                ) from None
    elif (folder / "vocab.txt").exists():
        lines = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        by_id = dict(enumerate(lines))
    else:
        raise FileNotFoundError(
            f"{folder}: no tokenizer.json, vocab.json or vocab.txt to name the tokens"
        )
    beyond = [i for i in by_id if i >= n_rows]
    if beyond:
        warnings.warn(
            f"{folder}: the tokenizer names {len(beyond)} ids past the {n_rows} embedding rows; "
            "they are ignored",
            stacklevel=3,
        )
    out = []
    seen: set[str] = set()
    for i in range(n_rows):
        tok = by_id.get(i)
        if tok is None or tok in seen:
            tok = f"<row_{i}>"
        seen.add(tok)
        out.append(tok)
    return out


@dataclass(frozen=True)
class HFEmbeddings:
    """The input embeddings of a Hugging Face folder: the float32 matrix, token strings by id,
    the tokenizer (None when the folder has none) and the folder itself."""

    vectors: np.ndarray
    vocab: list[str]
    tokenizer: Tokenizer | None
    folder: Path


def read_hf(folder: str | os.PathLike) -> HFEmbeddings:
    """Read the input-embedding matrix, vocabulary and tokenizer of a local Hugging Face folder
    (see :func:`tokenspace.load_hf`). torch is never imported for safetensors folders;
    ``pytorch_model.bin`` folders need torch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder (expected a Hugging Face model folder)")
    try:
        path, tensor = find_embedding_tensor(folder)
        # mapped, not copied: the file cache serves the pages (a 30522 x 384 read drops from
        # ~50 ms to the cost of the NaN scan)
        matrix = read_tensor(path, tensor, mmap=True)
        where = f"{path}: tensor {tensor!r}"
    except FileNotFoundError:
        bins = _bin_files(folder)
        if not bins:
            raise
        matrix, where = _read_torch_bin(folder, bins)
    if matrix.ndim != 2:
        raise ValueError(f"{where} has shape {matrix.shape}, expected 2-D")
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    bad = _kernels.first_nonfinite_row(matrix) if matrix.size else -1
    if bad >= 0:
        raise ValueError(f"{where}: row {bad} (token id {bad}) contains NaN or Inf")
    vocab = read_tokenizer_vocab(folder, matrix.shape[0])
    try:
        tokenizer = Tokenizer.from_folder(folder)
    except (ImportError, MemoryError):
        raise
    except Exception as e:  # the tokenizers / transformers packages raise anything
        # the embeddings and token names are readable without it: load them, say what is lost
        warnings.warn(
            f"{folder}: its tokenizer could not be built ({type(e).__name__}: {e}); the "
            "embeddings and token names are loaded, but tokenize() and embed() are "
            "unavailable. Add a tokenizer.json to the folder to enable them.",
            UserWarning,
            stacklevel=3,
        )
        tokenizer = None
    return HFEmbeddings(matrix, vocab, tokenizer, folder)
