"""Tokenizers in Hugging Face's format: read GPT-2's, and write ours so ``AutoTokenizer`` loads it.

Reading a folder: ``tokenizer.json`` (the ``tokenizers`` library's file) if there is one, else
``vocab.json`` + ``merges.txt`` (GPT-2's byte-level BPE as first published). The special
tokens are the folder's own (``tokenizer_config.json``'s ``eos_token`` and ``pad_token``; GPT-2
has ``<|endoftext|>`` = 50256 and no pad token, so batches are padded with end-of-text).

Writing: ``tokenizer.json`` and ``tokenizer_config.json``. A BPE tokenizer (ours or GPT-2's)
is written as it is. The character tokenizer is rebuilt as a ``tokenizers`` word-level model
with one "word" per character and the same ids: id i is the i-th character, then the unknown
character (U+FFFD) and ``<|pad|>``, a special token, which ``decode(..., skip_special_tokens=True)``
drops as our decode does.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..tokenizers import EOT_TOKEN, PAD_TOKEN, UNKNOWN_CHAR, BPETokenizer, CharTokenizer, HFTokenizer, Tokenizer

TOKENIZER_FILES = ("tokenizer.json", "vocab.json + merges.txt")


def load_hf_tokenizer(folder) -> HFTokenizer | None:
    """The tokenizer of a Hugging Face model folder, or None if it has none."""
    folder = Path(folder)
    special = _special_tokens(folder)
    if (folder / "tokenizer.json").is_file():
        tokenizer = HFTokenizer.from_file(folder / "tokenizer.json", eot_token=None)
    elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        tokenizer = HFTokenizer(_byte_level_bpe(folder), eot_token=None)
    else:
        return None
    hf = tokenizer.hf
    eot = special.get("eos_token")
    if eot is None and hf.token_to_id(EOT_TOKEN) is not None:
        eot = EOT_TOKEN
    if eot is not None:
        hf.add_special_tokens([eot])  # already in the vocabulary: marks it special (never split), same id
    pad = special.get("pad_token")
    pad = pad if pad is not None and hf.token_to_id(pad) is not None else None
    return HFTokenizer(hf, eot_token=eot, pad_token=pad)


def _special_tokens(folder: Path) -> dict:
    """``eos_token`` and ``pad_token`` from tokenizer_config.json (a string, or {"content": ...})."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    found = {}
    for name in ("eos_token", "pad_token"):
        value = config.get(name)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            found[name] = value
    return found


def _byte_level_bpe(folder: Path):
    """GPT-2's tokenizer from vocab.json + merges.txt: byte-level BPE, no prefix space."""
    import tokenizers
    from tokenizers import decoders, models, pre_tokenizers, processors

    try:
        bpe = models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt"))
    except Exception as e:  # the Rust library raises plain Exceptions for malformed files
        raise ValueError(f"{folder}: vocab.json / merges.txt are not a BPE vocabulary: {e}") from None
    hf = tokenizers.Tokenizer(bpe)
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.post_processor = processors.ByteLevel(trim_offsets=False)
    return hf


def save_hf_tokenizer(tokenizer: Tokenizer, folder, model_max_length: int | None = None) -> list[Path]:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False, "add_prefix_space": False}
    if isinstance(tokenizer, CharTokenizer):
        hf, pad = _char_as_hf(tokenizer)
        if pad is not None:  # the unknown character is no special token: decode shows it, as ours does
            config["pad_token"] = pad
    elif isinstance(tokenizer, (BPETokenizer, HFTokenizer)):
        hf = tokenizer.hf
        eot = tokenizer.eot_token if isinstance(tokenizer, HFTokenizer) else EOT_TOKEN
        pad = tokenizer.pad_token if isinstance(tokenizer, HFTokenizer) else PAD_TOKEN
        config |= {"eos_token": eot, "bos_token": eot, "unk_token": eot}
        config["pad_token"] = pad if pad is not None else eot
        config = {k: v for k, v in config.items() if v is not None}
    else:
        raise TypeError(f"cannot write a {type(tokenizer).__name__} in Hugging Face's format")
    if model_max_length is not None:
        config["model_max_length"] = model_max_length
    paths = [folder / "tokenizer.json", folder / "tokenizer_config.json"]
    hf.save(str(paths[0]))
    paths[1].write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    return paths


def _char_as_hf(tokenizer: CharTokenizer):
    """The character tokenizer as a ``tokenizers.Tokenizer`` with the same ids (see the module's
    docstring); returns it with the name of its pad token (None without one)."""
    import tokenizers
    from tokenizers import Regex, decoders, models, pre_tokenizers

    unk = UNKNOWN_CHAR if UNKNOWN_CHAR not in tokenizer.stoi else "<|unk|>"
    vocab = {c: i for i, c in enumerate(tokenizer.chars)} | {unk: tokenizer.unk_id}
    hf = tokenizers.Tokenizer(models.WordLevel(vocab, unk_token=unk))
    hf.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every character on its own
    hf.decoder = decoders.Fuse()  # joined without spaces
    pad = None
    if tokenizer.pad_id is not None:
        pad = PAD_TOKEN
        hf.add_special_tokens([pad])  # the next id: pad_id
    return hf, pad
