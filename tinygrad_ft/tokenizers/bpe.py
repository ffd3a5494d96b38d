"""Byte-level BPE (byte-pair encoding), trained with HuggingFace's ``tokenizers`` library.

BPE starts from the 256 possible bytes of UTF-8 text and repeatedly merges the most frequent
adjacent pair into a new token, until the vocabulary has ``vocab_size`` entries. Because the
base alphabet is *bytes*, any text at all can be encoded, and ``decode(encode(s)) == s``
exactly, emojis and accents included. Text is first cut into words the way GPT-2 does
(``ByteLevel`` pre-tokenizer: a word may carry its leading space), so merges never cross
word boundaries.

Two special tokens come first, with fixed ids: ``<|endoftext|>`` = 0 (``eot_id``, put
between documents) and ``<|pad|>`` = 1 (``pad_id``, for padding batches). If a text contains
these strings literally, they are encoded as the special ids (and decode back to the same
strings). A sequence of ids that cuts a multi-byte character in half decodes with U+FFFD.

The trained tokenizer is stored as the library's own JSON string inside our JSON.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..datasets.text import load_text
from .base import Tokenizer, check_ids

EOT_TOKEN, PAD_TOKEN = "<|endoftext|>", "<|pad|>"
SPECIAL_TOKENS = [EOT_TOKEN, PAD_TOKEN]  # ids 0 and 1
MIN_VOCAB_SIZE = len(SPECIAL_TOKENS) + 256  # the specials plus one token per byte

# A safe place to cut a long text: after a newline and before a non-space character, no word
# (GPT-2 pre-token) or special token can straddle the cut, so encoding the pieces separately
# gives exactly the ids of encoding the whole. The pieces are encoded in parallel.
_SAFE_CUT = re.compile(r"\n(?=\S)")
_CHUNK = 1 << 16


class BPETokenizer(Tokenizer):
    """Byte-level BPE. Build one with ``BPETokenizer.train(text, vocab_size=512)``."""

    kind = "bpe"

    def __init__(self, hf_tokenizer):
        """Wrap a trained ``tokenizers.Tokenizer``; use ``train`` or ``load`` rather than this."""
        self.hf = hf_tokenizer
        ids = [hf_tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
        if ids != [0, 1]:
            raise ValueError(f"a BPE tokenizer must have {SPECIAL_TOKENS} at ids [0, 1], found ids {ids}")
        self.eot_id, self.pad_id = ids

    @classmethod
    def train(cls, text_or_path, vocab_size: int = 512) -> BPETokenizer:
        """Learn merges from a text (or a file: a ``Path``, or a ``str`` naming an existing file)."""
        if vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(f"vocab_size must be at least {MIN_VOCAB_SIZE} (2 special tokens + 256 bytes), got {vocab_size}")
        text = load_text(text_or_path) if _is_path(text_or_path) else text_or_path
        if not text:
            raise ValueError("cannot train a BPE tokenizer on empty text")
        hf_lib = _hf_library()
        decoders, models, pre_tokenizers, trainers = hf_lib.decoders, hf_lib.models, hf_lib.pre_tokenizers, hf_lib.trainers
        hf = hf_lib.Tokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen or not
            show_progress=False,
        )
        hf.train_from_iterator(_chunks(text), trainer=trainer)
        return cls(hf)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        if len(text) <= _CHUNK:
            return self.hf.encode(text, add_special_tokens=False).ids
        return [i for e in self.hf.encode_batch(_chunks(text), add_special_tokens=False) for i in e.ids]

    def decode(self, ids) -> str:
        return self.hf.decode(check_ids(ids, self.vocab_size), skip_special_tokens=False)

    def _state(self) -> dict:
        return {"hf_tokenizer": self.hf.to_str()}

    @classmethod
    def _from_state(cls, state: dict) -> BPETokenizer:
        return cls(_hf_library().Tokenizer.from_str(state["hf_tokenizer"]))


def _hf_library():
    """HuggingFace's ``tokenizers``, imported on first use so that the char tokenizer works without it."""
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError("the BPE tokenizer needs HuggingFace's tokenizers: pip install 'tinygrad-ft[lessons]'") from e
    return tokenizers


def _is_path(text_or_path) -> bool:
    """A ``Path``, or a one-line ``str`` that names an existing file; any other ``str`` is text."""
    if isinstance(text_or_path, Path):
        return True
    if not isinstance(text_or_path, str) or "\n" in text_or_path:
        return False
    try:
        return Path(text_or_path).is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system, or a NUL character
        return False


def _chunks(text: str) -> list[str]:
    """``text`` cut at safe places into pieces of about ``_CHUNK`` characters."""
    pieces, start = [], 0
    while start < len(text):
        cut = _SAFE_CUT.search(text, start + _CHUNK) if start + _CHUNK < len(text) else None
        end = cut.end() if cut else len(text)
        pieces.append(text[start:end])
        start = end
    return pieces
