"""Tokenizers: the char and BPE tokenizers, one interface, JSON save/load."""

import json

import numpy as np
import pytest

from tinygrad_ft.datasets import load_text
from tinygrad_ft.tokenizers import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    build_tokenizer,
    load_tokenizer,
    tokenizer_from_json,
)

NON_ASCII = "Crème brûlée — 日本語, emoji 🎉, NEL\x85 and tab\t and CRLF\r\n"


@pytest.fixture(scope="module")
def shakespeare():
    return load_text()


@pytest.fixture(scope="module")
def bpe(shakespeare):
    return BPETokenizer.train(shakespeare, vocab_size=512)


@pytest.fixture(scope="module")
def char(shakespeare):
    return CharTokenizer.from_text(shakespeare)


# ---- CharTokenizer -------------------------------------------------------------------------


def test_char_vocabulary_is_sorted_corpus_chars_then_unk_then_pad(char):
    assert len(char.chars) == 65
    assert char.chars == sorted(char.chars)
    assert (char.unk_id, char.pad_id, char.vocab_size) == (65, 66, 67)
    assert char.encode("\n ") == [0, 1]


def test_char_round_trips_corpus_text(char, shakespeare):
    sample = shakespeare[:2000]
    assert char.decode(char.encode(sample)) == sample


def test_char_unknown_character_gets_unk_id_and_decodes_to_replacement_char(char):
    ids = char.encode("café")
    assert ids[-1] == char.unk_id
    assert char.decode(ids) == "caf\ufffd"


def test_char_decode_drops_pad(char):
    assert char.decode(char.encode("hi") + [char.pad_id] * 3) == "hi"


def test_char_without_pad_has_no_pad_id():
    tok = CharTokenizer.from_text("abc", pad=False)
    assert tok.pad_id is None
    assert tok.vocab_size == 4


def test_char_decode_out_of_range_id_names_it(char):
    with pytest.raises(ValueError, match="token id 67 is out of range"):
        char.decode([1, 67])


def test_char_decode_accepts_a_numpy_array(char):
    assert char.decode(np.array(char.encode("To be"), dtype=np.int64)) == "To be"


# ---- BPETokenizer --------------------------------------------------------------------------


def test_bpe_vocab_size_is_as_asked(bpe):
    assert bpe.vocab_size == 512


def test_bpe_special_tokens_have_ids_0_and_1(bpe):
    assert (bpe.eot_id, bpe.pad_id) == (0, 1)
    assert bpe.encode("<|endoftext|><|pad|>") == [0, 1]


@pytest.mark.parametrize(
    "text", ["First Citizen:\nBefore we proceed any further, hear me speak.\n", NON_ASCII, "", "  lead", "a<|endoftext|>b"]
)
def test_bpe_round_trips_exactly(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


def test_bpe_compresses_shakespeare(bpe, shakespeare):
    sample = shakespeare[:10_000]
    assert len(bpe.encode(sample)) < 0.6 * len(sample)


def test_bpe_long_text_encoded_in_pieces_equals_encoding_it_whole(bpe, shakespeare):
    text = shakespeare[:300_000]  # longer than one piece, so BPETokenizer.encode cuts it up
    assert bpe.encode(text) == bpe.hf.encode(text, add_special_tokens=False).ids


def test_bpe_training_is_deterministic(bpe, shakespeare):
    assert BPETokenizer.train(shakespeare, vocab_size=512).hf.to_str() == bpe.hf.to_str()


def test_bpe_trains_from_a_path(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("hello world, hello there\n" * 50, encoding="utf-8")
    tok = BPETokenizer.train(path, vocab_size=300)
    assert tok.decode(tok.encode("hello there")) == "hello there"


def test_bpe_trains_from_a_long_one_line_string_that_is_not_a_file():
    tok = BPETokenizer.train("abc " * 2000, vocab_size=300)  # no newline, too long for a file name
    assert tok.decode(tok.encode("abc abc")) == "abc abc"


def test_bpe_too_small_vocab_size_says_the_minimum():
    with pytest.raises(ValueError, match="at least 258"):
        BPETokenizer.train("some text", vocab_size=100)


def test_bpe_decode_out_of_range_id_names_it(bpe):
    with pytest.raises(ValueError, match="token id 512 is out of range"):
        bpe.decode([512])


# ---- one interface: save / load / JSON -------------------------------------------------------


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_save_then_load_gives_the_same_ids(kind, tmp_path, char, bpe):
    tok = {"char": char, "bpe": bpe}[kind]
    loaded = load_tokenizer(tok.save(tmp_path / "tok.json"))
    assert type(loaded) is type(tok)
    assert loaded.vocab_size == tok.vocab_size
    assert loaded.encode(NON_ASCII) == tok.encode(NON_ASCII)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_to_json_survives_json_dumps_for_checkpoint_metadata(kind, char, bpe):
    tok = {"char": char, "bpe": bpe}[kind]
    meta = json.loads(json.dumps({"tokenizer": tok.to_json()}))
    assert tokenizer_from_json(meta["tokenizer"]).encode("To be, or not") == tok.encode("To be, or not")


def test_saved_file_is_json_with_its_kind(tmp_path, char):
    data = json.loads(char.save(tmp_path / "c.json").read_text(encoding="utf-8"))
    assert data["kind"] == "char"
    assert data["format"] == "tinygrad_ft.tokenizer"


def test_subclass_load_refuses_another_kind(tmp_path, char):
    char.save(tmp_path / "c.json")
    with pytest.raises(ValueError, match="'char' tokenizer, not a 'bpe'"):
        BPETokenizer.load(tmp_path / "c.json")


def test_load_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_tokenizer(tmp_path / "nope.json")


def test_load_non_json_file_names_it(tmp_path):
    (tmp_path / "bad.json").write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        load_tokenizer(tmp_path / "bad.json")


def test_from_json_unknown_kind_lists_known_kinds():
    with pytest.raises(ValueError, match=r"unknown tokenizer kind 'wordpiece'.*\['bpe', 'char', 'hf'\]"):
        Tokenizer.from_json({"format": "tinygrad_ft.tokenizer", "version": 1, "kind": "wordpiece"})


@pytest.mark.parametrize("kind, cls", [("char", CharTokenizer), ("bpe", BPETokenizer)])
def test_build_tokenizer_makes_the_kind_asked_for(kind, cls):
    assert isinstance(build_tokenizer(kind, "to be or not to be, that is the question\n" * 20, vocab_size=300), cls)


def test_build_tokenizer_unknown_kind_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown tokenizer kind 'word'.*\['char', 'bpe'\]"):
        build_tokenizer("word", "text")
