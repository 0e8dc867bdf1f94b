"""Small model folders built for the tests (GPT-2-shaped, byte-level BPE) and the gensim data
files: real formats, written by the same tools a user's folder comes from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

GPT2_VOCAB = 1000
GPT2_DIM = 64


def gensim_data(name: str) -> str:
    gensim_utils = pytest.importorskip("gensim.test.utils")
    return gensim_utils.datapath(name)


def build_gpt2_folder(folder: Path, *, dtype: str = "float32", shards: int = 1) -> Path:
    """A small GPT-2-shaped folder: byte-level BPE trained with `tokenizers` on gensim's
    lee_background.cor, GPT-2's config.json keys, weights in safetensors (transformers cannot
    save a model without torch, so the folder is written the way save_pretrained lays it out)."""
    tokenizers = pytest.importorskip("tokenizers")
    st = pytest.importorskip("safetensors.numpy")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    folder.mkdir(parents=True, exist_ok=True)
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=GPT2_VOCAB,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train([gensim_data("lee_background.cor")], trainer)
    tok.save(str(folder / "tokenizer.json"))
    n_vocab = tok.get_vocab_size()
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": n_vocab,
        "n_embd": GPT2_DIM,
        "n_layer": 2,
        "n_head": 2,
        "n_positions": 128,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "torch_dtype": dtype,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    rng = np.random.default_rng(0)
    np_dtype = {"float32": np.float32, "float16": np.float16}[dtype]
    tensors = {
        "wte.weight": (rng.standard_normal((n_vocab, GPT2_DIM)) * 0.02).astype(np_dtype),
        "wpe.weight": (rng.standard_normal((128, GPT2_DIM)) * 0.01).astype(np_dtype),
        "h.0.attn.c_attn.weight": rng.standard_normal((GPT2_DIM, 3 * GPT2_DIM)).astype(np_dtype),
        "h.1.attn.c_attn.weight": rng.standard_normal((GPT2_DIM, 3 * GPT2_DIM)).astype(np_dtype),
        "ln_f.weight": np.ones(GPT2_DIM, np_dtype),
    }
    if shards == 1:
        st.save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        names = sorted(tensors)
        weight_map = {}
        for k in range(shards):
            part = {n: tensors[n] for n in names[k::shards]}
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            st.save_file(part, str(folder / fname), metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(part, fname))
        index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def have_transformers() -> bool:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def build_gpt2_with_transformers(folder: Path, *, safe: bool = True) -> Path:
    """The same small GPT-2 made by transformers itself: GPT2Config + GPT2LMHeadModel +
    save_pretrained (model.safetensors, or pytorch_model.bin when ``safe`` is False)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    build_gpt2_folder(folder)  # trains the tokenizer, writes tokenizer.json
    for f in ("config.json", "model.safetensors"):
        (folder / f).unlink()
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"),
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok),
        n_embd=GPT2_DIM,
        n_layer=2,
        n_head=2,
        n_positions=128,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    if not safe:  # a legacy folder (transformers 5 writes only safetensors)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    return folder
