"""GPT-2 for real: its byte-level BPE (the 50257-token vocabulary shipped as whisper's
gpt2.tiktoken) in a small random-weight GPT2 model saved by transformers, read back through
ts.load_hf and ts.contextual_embeddings."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tokenspace as ts

torch = pytest.importorskip("torch", reason="the context extra is not installed")
transformers = pytest.importorskip("transformers", reason="the context extra is not installed")
tokenizers = pytest.importorskip("tokenizers")

# GPT-2's pre-tokenization pattern (tiktoken's "gpt2" encoding)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
TEXTS = [
    "The bank raised its interest rates.",
    "Hello world, we sat on the river bank!",
    "  Tokenization of GPT-2's byte-level BPE: naïve café ünïcödé 1234.",
]


def gpt2_tiktoken_path() -> Path:
    # openai-whisper is installed without its dependencies (torch, numba ...), so its package is
    # located, not imported
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "openai-whisper is not installed (it ships gpt2.tiktoken): "
            "pip install --no-deps openai-whisper"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "gpt2.tiktoken"


def read_ranks(path: Path) -> dict[bytes, int]:
    """tiktoken's file format: one 'base64(token bytes) rank' per line."""
    ranks = {}
    for line in path.read_text(encoding="ascii").splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-ins for the 256 byte values ("Ġ" for the space byte)."""
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(0xA1, 0xAC + 1))
        + list(range(0xAE, 0xFF + 1))
    )
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


def gpt2_tokenizer(ranks: dict[bytes, int]):
    """The byte-level BPE of tiktoken's ranks: merging the adjacent pair whose concatenation
    has the lowest rank (tiktoken's rule) is BPE with every such pair as a merge, ordered by
    the rank of the result."""
    from tokenizers import Regex, decoders, models, pre_tokenizers, processors

    byte_char = bytes_to_unicode()

    def s(b: bytes) -> str:
        return "".join(byte_char[x] for x in b)

    vocab = {s(t): r for t, r in ranks.items()}
    merges = []
    for t, r in ranks.items():
        for i in range(1, len(t)):
            if t[:i] in ranks and t[i:] in ranks:
                merges.append((r, ranks[t[:i]], ranks[t[i:]], s(t[:i]), s(t[i:])))
    merges.sort()
    vocab["<|endoftext|>"] = len(ranks)
    tok = tokenizers.Tokenizer(models.BPE(vocab, [(a, b) for *_, a, b in merges]))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


@pytest.fixture(scope="module")
def ranks():
    return read_ranks(gpt2_tiktoken_path())


@pytest.fixture(scope="module")
def real_gpt2_folder(tmp_path_factory, ranks):
    folder = tmp_path_factory.mktemp("gpt2-real-vocab")
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=gpt2_tokenizer(ranks),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=50257, n_embd=64, n_layer=2, n_head=2, n_positions=128
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def test_tokenizer_is_gpt2s(ranks, real_gpt2_folder):
    tiktoken = pytest.importorskip("tiktoken")
    assert len(ranks) == 50256
    enc = tiktoken.Encoding(
        "gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256}
    )
    tok = tokenizers.Tokenizer.from_file(str(real_gpt2_folder / "tokenizer.json"))
    for text in TEXTS:
        assert tok.encode(text).ids == enc.encode(text)
    assert tok.encode("Hello world").ids == [15496, 995]  # GPT-2's well-known ids


def test_load_hf_vocabulary_and_leading_space(real_gpt2_folder):
    s = ts.load_hf(real_gpt2_folder)
    assert len(s) == 50257 and s.dim == 64
    assert s.vocab[262] == "Ġthe" and s.vocab[50256] == "<|endoftext|>"
    assert s.index("Ġbank") != s.index("bank")  # " bank" and "bank" are different tokens
    weights = transformers.GPT2Model.from_pretrained(real_gpt2_folder).wte.weight
    np.testing.assert_array_equal(s.vectors, weights.detach().numpy())


def test_contextual_embeddings_gpt2(real_gpt2_folder):
    emb = ts.contextual_embeddings(real_gpt2_folder, TEXTS, batch_size=2)
    assert emb.n_hidden_states == 3 and not emb.special.any()  # GPT-2 adds no special tokens
    model = transformers.GPT2Model.from_pretrained(real_gpt2_folder)
    model.eval()
    tok = transformers.AutoTokenizer.from_pretrained(real_gpt2_folder)
    for t, text in enumerate(TEXTS):
        batch = tok(text, return_tensors="pt")
        with torch.no_grad():
            states = model(**batch, output_hidden_states=True).hidden_states
        rows = np.flatnonzero(emb.sentence == t)
        np.testing.assert_array_equal(emb.ids[rows], batch["input_ids"][0].numpy())
        for k in range(3):
            np.testing.assert_allclose(emb.vectors[k, rows], states[k][0].numpy(), atol=1e-5)
    first = [emb.tokens[i] for i in np.flatnonzero(emb.sentence == 0)]
    assert first[:3] == ["The", "Ġbank", "Ġraised"]
    # layer 0 is the token embedding plus the position embedding
    wte, wpe = model.wte.weight.detach().numpy(), model.wpe.weight.detach().numpy()
    rows = np.flatnonzero(emb.sentence == 1)
    np.testing.assert_allclose(
        emb.vectors[0, rows], wte[emb.ids[rows]] + wpe[: len(rows)], atol=1e-6
    )
    pooled = ts.contextual_embeddings(real_gpt2_folder, TEXTS, layers=-1, pool="mean")
    words = [pooled.tokens[i] for i in np.flatnonzero(pooled.sentence == 0)]
    assert words == ["The", "bank", "raised", "its", "interest", "rates", "."]
    assert "bank" in [pooled.tokens[i] for i in np.flatnonzero(pooled.sentence == 1)]


def test_static_vs_contextual_gpt2_uses_the_space_token(real_gpt2_folder):
    s = ts.load_hf(real_gpt2_folder)
    res = ts.static_vs_contextual(s, "bank", TEXTS[:2], layers=[0])
    emb = ts.contextual_embeddings(real_gpt2_folder, TEXTS[:2], layers=[0])
    i = emb.tokens.index("Ġbank")
    v = np.asarray(emb.vectors[0, i], np.float64)
    static = np.asarray(s["Ġbank"], np.float64)  # the in-sentence token, not "bank"
    expected = v @ static / np.linalg.norm(v) / np.linalg.norm(static)
    assert res.static_cosine[0, 0] == pytest.approx(expected, abs=1e-5)
