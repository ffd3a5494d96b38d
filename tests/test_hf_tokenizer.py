"""A tokenizer trained elsewhere (GPT-2's) keeps its own ids and special tokens; ours are written
in Hugging Face's format with identical ids."""

import json

import pytest
import tokenizers
from hf_models import EOT, VOCAB, gpt2_tokenizer

from tinygrad_ft import hf
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.paths import BABY_CHECKPOINT, BPE_CHECKPOINT, SHAKESPEARE, data_path
from tinygrad_ft.tokenizers import HFTokenizer, Tokenizer, load_tokenizer

TEXT = "ROMEO: O, she doth teach\nthe torches to burn bright!<|endoftext|> é 😀\t~"


def test_an_hf_tokenizer_has_its_own_end_of_text_id():
    assert HFTokenizer(gpt2_tokenizer()).eot_id == VOCAB - 1


def test_an_hf_tokenizer_without_a_pad_token_pads_with_end_of_text():
    assert HFTokenizer(gpt2_tokenizer()).pad_id == VOCAB - 1


def test_an_hf_tokenizer_round_trips_through_json():
    tokenizer = HFTokenizer(gpt2_tokenizer())
    assert Tokenizer.from_json(json.loads(json.dumps(tokenizer.to_json()))).encode(TEXT) == tokenizer.encode(TEXT)


def test_an_hf_tokenizer_saved_to_a_file_loads_as_its_kind(tmp_path):
    HFTokenizer(gpt2_tokenizer()).save(tmp_path / "tok.json")
    assert isinstance(load_tokenizer(tmp_path / "tok.json"), HFTokenizer)


def test_an_end_of_text_token_missing_from_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="eot_token '<|eos|>' is not in"):
        HFTokenizer(gpt2_tokenizer(), eot_token="<|eos|>")


def test_decoding_an_hf_tokenizer_gives_the_text_back():
    tokenizer = HFTokenizer(gpt2_tokenizer())
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT


def test_a_tokenizer_json_file_is_read_with_its_special_token(tmp_path):
    gpt2_tokenizer().save(str(tmp_path / "tokenizer.json"))
    assert HFTokenizer.from_file(tmp_path / "tokenizer.json", eot_token=EOT).encode(EOT) == [VOCAB - 1]


def test_a_file_that_is_not_a_tokenizer_is_refused_naming_it(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ValueError, match="tokenizer.json is not a Hugging Face tokenizer file"):
        HFTokenizer.from_file(tmp_path / "tokenizer.json")


def test_a_folder_without_a_tokenizer_has_none(tmp_path):
    assert hf.load_hf_tokenizer(tmp_path) is None


# ---- ours, written in Hugging Face's format ---------------------------------------------------------


@pytest.mark.parametrize("checkpoint", [BABY_CHECKPOINT, BPE_CHECKPOINT], ids=["char", "bpe"])
def test_the_written_tokenizer_json_gives_our_ids(checkpoint, tmp_path):
    _, tokenizer = load_pretrained(data_path(checkpoint))
    hf.save_hf_tokenizer(tokenizer, tmp_path)
    text = data_path(SHAKESPEARE).read_text()[:5000] + TEXT
    written = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert written.encode(text, add_special_tokens=False).ids == tokenizer.encode(text)


def test_the_written_char_tokenizer_decodes_our_text_back(tmp_path):
    _, tokenizer = load_pretrained(data_path(BABY_CHECKPOINT))
    hf.save_hf_tokenizer(tokenizer, tmp_path)
    written = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    ids = tokenizer.encode("To be, or not to be:\nthat is the question.")
    assert written.decode(ids) == tokenizer.decode(ids)


def test_the_written_char_tokenizer_puts_pad_at_our_pad_id(tmp_path):
    _, tokenizer = load_pretrained(data_path(BABY_CHECKPOINT))
    hf.save_hf_tokenizer(tokenizer, tmp_path)
    assert tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json")).token_to_id("<|pad|>") == tokenizer.pad_id


def test_the_tokenizer_config_names_the_bpe_special_tokens(tmp_path):
    _, tokenizer = load_pretrained(data_path(BPE_CHECKPOINT))
    hf.save_hf_tokenizer(tokenizer, tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert (config["eos_token"], config["pad_token"]) == ("<|endoftext|>", "<|pad|>")
