"""Tokenizers: text <-> token ids. Read ``base`` (the interface), ``char``, then ``bpe``; ``hf``
wraps a tokenizer trained elsewhere (GPT-2's) with its own ids and special tokens.

tok = build_tokenizer("char", text)        # or "bpe", vocab_size=512
ids = tok.encode("To be, or not to be")
tok.save("data/checkpoints/tokenizer.json")
tok = load_tokenizer("data/checkpoints/tokenizer.json")   # the JSON says which kind
"""

from __future__ import annotations

from .base import Tokenizer
from .bpe import EOT_TOKEN, PAD_TOKEN, BPETokenizer
from .char import UNKNOWN_CHAR, CharTokenizer
from .hf import HFTokenizer

KINDS = ("char", "bpe")


def build_tokenizer(kind: str, text: str, vocab_size: int = 512) -> Tokenizer:
    """A tokenizer of ``kind`` ("char" or "bpe") built from ``text``.

    ``vocab_size`` is used by "bpe" only; a character tokenizer's vocabulary is the text's
    distinct characters plus its unknown and pad ids.
    """
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size=vocab_size)
    raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {list(KINDS)}")


def load_tokenizer(path) -> Tokenizer:
    """Read a tokenizer saved with ``tok.save(path)``, whatever its kind."""
    return Tokenizer.load(path)


def tokenizer_from_json(data) -> Tokenizer:
    """A tokenizer from ``tok.to_json()`` (e.g. stored in a checkpoint's metadata)."""
    return Tokenizer.from_json(data)


__all__ = [
    "EOT_TOKEN",
    "KINDS",
    "PAD_TOKEN",
    "UNKNOWN_CHAR",
    "BPETokenizer",
    "CharTokenizer",
    "HFTokenizer",
    "Tokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "tokenizer_from_json",
]
