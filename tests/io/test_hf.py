"""Hugging Face folders: MiniLM (real), a small GPT-2 built with tokenizers, sharded / fp16 /
bf16 safetensors, unknown layouts; tokenization conventions ("Ġ", "##")."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.io.safetensors import read_tensor

from ..models import GPT2_DIM, build_gpt2_folder, build_gpt2_with_transformers, have_transformers

st = pytest.importorskip("safetensors.numpy")
tokenizers = pytest.importorskip("tokenizers")


def test_minilm_matches_safetensors_package(minilm_folder):
    s = ts.load_hf(minilm_folder)
    ref = st.load_file(str(minilm_folder / "model.safetensors"))[
        "embeddings.word_embeddings.weight"
    ]
    assert s.shape == (30522, 384)
    np.testing.assert_array_equal(s.vectors, ref)
    tok = tokenizers.Tokenizer.from_file(str(minilm_folder / "tokenizer.json"))
    for t in ["[CLS]", "[SEP]", "king", "##ing", "[unused0]"]:
        assert s.index(t) == tok.token_to_id(t)
    assert s.model_dir == str(minilm_folder)


def test_minilm_load_fresh_process_has_no_torch():
    code = (
        "import sys, time; t=time.perf_counter(); import tokenspace as ts; s=ts.load('minilm-l6');"
        "s.tokenize('hello world'); print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_gpt2_folder(gpt2_folder):
    s = ts.load(gpt2_folder)
    tok = tokenizers.Tokenizer.from_file(str(gpt2_folder / "tokenizer.json"))
    assert s.shape == (tok.get_vocab_size(), GPT2_DIM)
    tensors = st.load_file(str(gpt2_folder / "model.safetensors"))
    wte = tensors.get("transformer.wte.weight", tensors.get("wte.weight"))
    np.testing.assert_array_equal(s.vectors, wte)
    assert all(s.vocab[i] == tok.id_to_token(i) for i in range(len(s)))


def test_gpt2_leading_space_marker(gpt2_folder):
    s = ts.load(gpt2_folder)
    t = s.tokenize("the government said")
    assert not t.tokens[0].startswith("Ġ") and t.tokens[-2:] == ["Ġgovernment", "Ġsaid"]
    assert [s.display_token(int(i)) for i in t.ids] == [s.display_token(x) for x in t.tokens]
    assert "".join(s.display_token(int(i)) for i in t.ids) == "the government said"
    assert s.display_token("Ċ") == "\n"
    words = ["the", "said", "government", "zyxwvut"]
    one = s.single_token_words(words)
    # default: the word as it appears after a space -> the "Ġword" token
    assert set(one.words) >= {"the", "said"} and "zyxwvut" in one.rejected
    assert all(tok == "Ġ" + w for w, tok in zip(one.words, one.tokens))
    np.testing.assert_array_equal(one.ids, [s.index("Ġ" + w) for w in one.words])
    bare = s.single_token_words(words, leading_space=False)
    assert all(tok == w for w, tok in zip(bare.words, bare.tokens))
    # without the tokenizer object, the vocabulary alone gives the same answer
    plain = ts.EmbeddingSpace(s.vectors, s.vocab)
    assert plain.single_token_words(words).words == one.words


def test_embed_multi_token_mean(gpt2_folder, minilm_folder):
    s = ts.load(gpt2_folder)
    text = " zyxwvut"
    t = s.tokenize(text)
    assert len(t) > 1
    expect = s.vectors[t.ids].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(s.embed(text), expect, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(s.embed(text, pool=None), s.vectors[t.ids])
    assert s.embed([text, " the"]).shape == (2, GPT2_DIM)
    b = ts.load(minilm_folder)
    with pytest.warns(ts.UnknownTokenWarning, match="🙂"):
        emoji = b.tokenize("🙂")  # one [UNK] in BERT's vocabulary
    with pytest.warns(ts.UnknownTokenWarning, match=r"\[UNK\]"):
        np.testing.assert_array_equal(b.embed("🙂"), b.vectors[emoji.ids].mean(axis=0))
    with pytest.raises(ValueError, match="no tokens"):
        b.embed("")
    with pytest.raises(ValueError, match="pool"):
        b.embed("x", pool="median")


def test_bert_continuations(minilm_folder):
    s = ts.load(minilm_folder)
    t = s.tokenize("Tokenization is fun")
    assert t.tokens == ["token", "##ization", "is", "fun"]
    assert s.tokenize("hi", special_tokens=True).tokens == ["[CLS]", "hi", "[SEP]"]
    one = s.single_token_words(["king", "Queen", "tokenization", "##ing", "🙂"])
    assert one.words == ["king", "Queen"] and one.tokens == ["king", "queen"]
    assert one.rejected == ["tokenization", "##ing", "🙂"]  # split, a piece, [UNK]
    assert s.display_token("##ing") == "##ing"
    plain = ts.EmbeddingSpace(s.vectors, s.vocab)
    assert plain.single_token_words(["king", "##ing"]).words == ["king"]


def test_sharded_and_fp16(tmp_path):
    one = ts.load(build_gpt2_folder(tmp_path / "one"))
    sharded = ts.load(build_gpt2_folder(tmp_path / "sharded", shards=3))
    np.testing.assert_array_equal(sharded.vectors, one.vectors)
    half_dir = build_gpt2_folder(tmp_path / "half", dtype="float16")
    half = ts.load(half_dir)
    assert half.vectors.dtype == np.float32
    raw = st.load_file(str(half_dir / "model.safetensors"))["wte.weight"]
    assert raw.dtype == np.float16
    np.testing.assert_array_equal(half.vectors, raw.astype(np.float32))
    np.testing.assert_allclose(half.vectors, one.vectors, atol=1e-4)


def write_raw_safetensors(path, tensors: dict[str, tuple[str, tuple, bytes]]):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_bf16_and_config_driven_lookup(tmp_path, gpt2_folder):
    folder = tmp_path / "bf16"
    shutil.copytree(gpt2_folder, folder)
    (folder / "model.safetensors").unlink()
    ref = ts.load(gpt2_folder).vectors
    bits = (ref.view(np.uint32) >> 16).astype(np.uint16)  # truncation: exact bf16 values
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_type"] = "my-new-arch"
    (folder / "config.json").write_text(json.dumps(cfg))
    # an unknown name, found by the config's (vocab_size, n_embd) shape; lm_head is ignored
    write_raw_safetensors(
        folder / "model.safetensors",
        {
            "transformer.tokens.table": ("BF16", ref.shape, bits.tobytes()),
            "lm_head.weight": ("BF16", ref.shape, bits.tobytes()),
            "ln.weight": ("F32", (GPT2_DIM,), np.ones(GPT2_DIM, np.float32).tobytes()),
        },
    )
    s = ts.load(folder)
    np.testing.assert_array_equal(s.vectors, (bits.astype(np.uint32) << 16).view(np.float32))
    np.testing.assert_array_equal(
        s.vectors, read_tensor(folder / "model.safetensors", "transformer.tokens.table")
    )
    # ambiguous: clear error listing candidates
    write_raw_safetensors(
        folder / "model.safetensors",
        {
            "a.table": ("BF16", ref.shape, bits.tobytes()),
            "b.table": ("BF16", ref.shape, bits.tobytes()),
            "pos_emb": ("F32", (GPT2_DIM,), np.ones(GPT2_DIM, np.float32).tobytes()),
        },
    )
    with pytest.raises(
        ValueError, match=r"model_type 'my-new-arch'.*candidates: pos_emb, a\.table, b\.table"
    ):
        ts.load(folder)


def test_missing_files_and_torch_bin(tmp_path, gpt2_folder):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ts.load_hf(tmp_path / "nope")
    folder = tmp_path / "bin"
    shutil.copytree(gpt2_folder, folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not really")
    if not have_transformers():
        with pytest.raises(ModuleNotFoundError, match=r"pytorch_model.bin.*needs torch"):
            ts.load(folder)
    shard = tmp_path / "shard"
    build_gpt2_folder(shard, shards=2)
    next(shard.glob("model-00002-*.safetensors")).unlink()
    with pytest.raises(FileNotFoundError, match="missing: model-00002-of-00002"):
        ts.load(shard)
    trunc = tmp_path / "trunc"
    shutil.copytree(gpt2_folder, trunc)
    raw = (trunc / "model.safetensors").read_bytes()
    (trunc / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated"):
        ts.load(trunc)


def test_contextual_embeddings_optional(gpt2_folder):
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ModuleNotFoundError, match=r"tokenspace\[context\]"):
            ts.contextual_embeddings(gpt2_folder, "hello")
        pytest.skip("transformers + torch not installed: contextual embeddings not testable")
    out = ts.contextual_embeddings(gpt2_folder, "the government said", layers=0)
    assert out.vectors.shape == (1, len(out.tokens), GPT2_DIM)


def test_pytorch_model_bin_through_torch(tmp_path, gpt2_folder):
    if not have_transformers():
        pytest.skip("transformers + torch not installed: pytorch_model.bin cannot be read")
    folder = build_gpt2_with_transformers(tmp_path / "bin", safe=False)
    assert (folder / "pytorch_model.bin").exists() and not (folder / "model.safetensors").exists()
    s = ts.load(folder)
    ref = ts.load(build_gpt2_with_transformers(tmp_path / "safe"))
    assert s.vocab == ref.vocab
    np.testing.assert_array_equal(s.vectors, ref.vectors)  # same seed, same weights


def test_folders_without_tokenizer_json(tmp_path, gpt2_folder, minilm_folder):
    """Older folders: vocab.json + merges.txt (GPT-2) or vocab.txt (BERT) only."""
    ref = ts.load(gpt2_folder)
    legacy = tmp_path / "gpt2-legacy"
    shutil.copytree(gpt2_folder, legacy)
    tok = tokenizers.Tokenizer.from_file(str(legacy / "tokenizer.json"))
    tok.model.save(str(legacy))  # writes vocab.json and merges.txt
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (legacy / f).unlink(missing_ok=True)
    s = ts.load(legacy)
    assert s.vocab == ref.vocab
    text = "The government said on Tuesday 🙂"
    assert s.tokenize(text).tokens == ref.tokenize(text).tokens
    assert (
        s.single_token_words(["said", "government"]).words
        == ref.single_token_words(["said", "government"]).words
    )

    bert = tmp_path / "bert-legacy"
    shutil.copytree(minilm_folder, bert)
    (bert / "tokenizer.json").unlink()
    b, bref = ts.load(bert), ts.load(minilm_folder)
    assert b.vocab == bref.vocab
    text = "Tokenization of Café names, un-affable!"
    assert b.tokenize(text).tokens == bref.tokenize(text).tokens
    assert (
        b.tokenize(text, special_tokens=True).tokens
        == bref.tokenize(text, special_tokens=True).tokens
    )
