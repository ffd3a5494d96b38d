"""Character-level tokenizer: one id per distinct character of the training text.

The vocabulary is the sorted distinct characters of a corpus, so on tiny Shakespeare the
65 characters get ids 0..64 (``"\\n"`` is 0, ``" "`` is 1, ...), then two special ids:

* ``unk_id`` (65 there): any character the corpus did not contain, so text from another
  source (an SMS with an emoji, a review with an accented letter) never crashes ``encode``.
  ``decode`` shows it as ``UNKNOWN_CHAR`` = U+FFFD, the Unicode replacement character ``�``
  (not ``"?"``, which is a real character of the corpus). Encoding is therefore lossy for
  unseen characters: ``decode(encode("café"))`` is ``"caf�"`` if the corpus had no ``é``.
* ``pad_id`` (66 there), present unless built with ``pad=False``: a filler id for padding
  texts of different lengths into one batch when fine-tuning a classifier. ``decode``
  drops it (it renders as the empty string).
"""

from __future__ import annotations

from .base import Tokenizer, check_ids

UNKNOWN_CHAR = "\ufffd"


class CharTokenizer(Tokenizer):
    """Maps each character to an id; build one with ``CharTokenizer.from_text(corpus)``."""

    kind = "char"

    def __init__(self, chars, pad: bool = True):
        chars = list(chars)
        if not chars:
            raise ValueError("a character tokenizer needs at least one character")
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be distinct single characters")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.unk_id = len(chars)
        self.pad_id = len(chars) + 1 if pad else None
        self._itos = chars + [UNKNOWN_CHAR] + ([""] if pad else [])

    @classmethod
    def from_text(cls, text: str, pad: bool = True) -> CharTokenizer:
        """The tokenizer whose vocabulary is the sorted distinct characters of ``text``."""
        return cls(sorted(set(text)), pad=pad)

    @property
    def vocab_size(self) -> int:
        return len(self._itos)

    def encode(self, text: str) -> list[int]:
        get, unk = self.stoi.get, self.unk_id
        return [get(c, unk) for c in text]

    def decode(self, ids) -> str:
        itos = self._itos
        return "".join(itos[i] for i in check_ids(ids, self.vocab_size))

    def _state(self) -> dict:
        return {"chars": self.chars, "pad": self.pad_id is not None}

    @classmethod
    def _from_state(cls, state: dict) -> CharTokenizer:
        return cls(state["chars"], pad=state["pad"])
