"""Tokenizer-aware lookups (GPT-2's "Ġ", SentencePiece's "▁"), display forms for tables, and
the warning when text becomes the unknown token."""

from __future__ import annotations

import numpy as np
import pytest

import tokenspace as ts
from tokenspace.tokens import display_form, token_form, vocab_style

# A byte-level vocabulary: "the" exists in both forms, "cat" only after a space, "é" as its
# byte-level spelling "Ã©" (UTF-8 0xC3 0xA9 through GPT-2's byte table).
BYTELEVEL = ["Ġthe", "the", "Ġcat", "Ġdog", "Ġcafé", "ÃŃ", "Ã©", ",", "Ċ", "ĠĠ", "ðŁ", "Ġof"]


@pytest.fixture
def bpe(rng):
    return ts.EmbeddingSpace(
        rng.standard_normal((len(BYTELEVEL), 6)).astype(np.float32), BYTELEVEL, name="bpe"
    )


def test_display_form():
    assert display_form("Ġthe", "bytelevel") == "␣the"
    assert display_form("the", "bytelevel") == "the"
    assert display_form("Ã©", "bytelevel") == "é"
    # "é" is GPT-2's character for the single byte 0xE9, not UTF-8 for é: escaped
    assert display_form("Ġcafé", "bytelevel") == "␣caf\\xe9"
    assert display_form("Ġ€", "bytelevel") == "Ġ€"  # not byte-level text (an added token)
    assert display_form("ĠĠ", "bytelevel") == "␣␣"
    assert display_form("Ċ", "bytelevel") == "\\n"  # escaped: a table row stays one line
    assert display_form("ĠĊĉ", "bytelevel") == "␣\\n\\t"
    assert display_form("ðŁ", "bytelevel") == "\\xf0\\x9f"  # half a character: escaped
    assert display_form("<|endoftext|>", "bytelevel") == "<|endoftext|>"
    assert display_form("▁the", "metaspace") == "␣the"
    assert display_form("##ing", "wordpiece") == "##ing"
    assert display_form("Ġthe", "plain") == "Ġthe"
    assert token_form(" the", "bytelevel") == "Ġthe" and token_form("é", "bytelevel") == "Ã©"
    assert token_form(" the", "metaspace") == "▁the" and token_form(" the", "plain") == " the"


def test_leading_space_lookups(bpe):
    assert bpe.token_style == "bytelevel"
    the, sp_the = BYTELEVEL.index("the"), BYTELEVEL.index("Ġthe")
    assert bpe.index("the") == the  # the entry as given wins
    assert bpe.index(" the") == sp_the  # text with its space, spelled the vocabulary's way
    assert bpe.index("the", leading_space=True) == sp_the
    assert bpe.index(" the", leading_space=True) == sp_the
    assert bpe.index("é") == BYTELEVEL.index("Ã©")
    assert bpe.knn(" cat", k=2).query_ids.tolist() == [BYTELEVEL.index("Ġcat")]
    res = bpe.knn(["dog", "the"], k=2, leading_space=True)
    assert res.query_ids.tolist() == [BYTELEVEL.index("Ġdog"), sp_the]
    assert bpe.indices(["cat", "of"], leading_space=True).tolist() == [2, 11]


def test_keyerror_suggests_the_leading_space_form(bpe):
    with pytest.raises(KeyError, match=r"'cat'.*did you mean 'Ġcat'.*leading_space=True"):
        bpe.index("cat")
    with pytest.raises(KeyError, match=r"did you mean 'Ġdog'"):
        bpe.index("Dog")
    with pytest.raises(KeyError, match="'bird'"):
        bpe.index("bird", leading_space=True)


def test_plain_vocabularies_ignore_leading_space(rng):
    s = ts.EmbeddingSpace(rng.standard_normal((3, 4)).astype(np.float32), ["the", "a", "x"])
    assert s.token_style == "plain" and s.index("the", leading_space=True) == 0
    with pytest.raises(KeyError) as e:
        s.index(" the")
    assert "leading_space" not in str(e.value)


def test_gpt2_folder_finds_the_space_forms(gpt2_folder):
    s = ts.load(gpt2_folder)
    assert s.token_style == "bytelevel"
    g = s.vocab.index("Ġthe")
    assert s.index(" the") == g and s.index("the", leading_space=True) == g
    res = s.knn(" the", k=3)
    assert res.query_ids.tolist() == [g]
    # tables show display forms, exports keep the raw tokens
    assert "␣the" in repr(res) and "Ġ" not in repr(res)
    assert res.to_pandas()["query"].tolist() == [" the"] * 3
    assert all(w.startswith("Ġ") or not w.startswith("␣") for w in res.to_pandas()["word"])


def test_unknown_token_warns(minilm):
    with pytest.warns(ts.UnknownTokenWarning, match="'🍕' became the unknown token"):
        t = minilm.tokenize("pizza 🍕 tonight")
    assert "[UNK]" in t.tokens
    with pytest.warns(ts.UnknownTokenWarning):
        minilm.embed("🍕")
    with pytest.warns(ts.UnknownTokenWarning):
        ts.sequence_cosines(minilm, "a 🍕 b")
    # a literal [UNK] in the text is what the user wrote: no warning
    assert "[UNK]" in minilm.tokenize("a [UNK] b").tokens
    assert issubclass(ts.UnknownTokenWarning, UserWarning)


def test_vocab_style_of_table_samples():
    assert vocab_style(["Ġthe", "Ġcat"]) == "bytelevel"
    assert vocab_style(["the", "##ing"]) == "wordpiece"


def test_plain_text_tables_show_display_forms(bpe):
    # every other entry is a neighbour, so every token appears in the table
    text = bpe.knn(" the", k=len(BYTELEVEL) - 1).table()
    assert "Ġ" not in text and "Ã" not in text
    assert {"␣cat", "␣dog", "␣of", "é", "\\n", "␣␣"} <= set(text.split())
    assert len(text.splitlines()) == len(BYTELEVEL)  # the newline token did not split a row
    ext = ts.extremes(bpe, bpe.vectors[:, 0], 6).table()
    assert "Ġ" not in ext and len(ext.splitlines()) == 7
