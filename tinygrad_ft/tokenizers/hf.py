"""Any Hugging Face ``tokenizers`` tokenizer, with the special tokens it came with.

``BPETokenizer`` trains its own vocabulary and puts its two special tokens first (ids 0 and 1).
A tokenizer that was trained elsewhere keeps its own ids: GPT-2's has 50,257 tokens, the last
of which, ``<|endoftext|>`` = 50256, is its only special token. ``HFTokenizer`` wraps such a
tokenizer as it is and names its end-of-text token (``eot_id``) and its padding token
(``pad_id``); a tokenizer without a padding token, like GPT-2's, pads with end-of-text (the
attention mask hides padding, so which id fills it does not matter).

    tok = HFTokenizer.from_file("gpt2/tokenizer.json")            # GPT-2's own ids
    tok.eot_id, tok.pad_id                                          # 50256, 50256

Stored as the library's own JSON string inside our JSON, like ``BPETokenizer``.
"""

from __future__ import annotations

from pathlib import Path

from .base import Tokenizer, check_ids
from .bpe import EOT_TOKEN


class HFTokenizer(Tokenizer):
    """A ``tokenizers.Tokenizer`` with its own ids; ``eot_token`` (or None) marks the end of a
    text, ``pad_token`` (default: none, pad with ``eot_token``) fills batches."""

    kind = "hf"

    def __init__(self, hf_tokenizer, eot_token: str | None = EOT_TOKEN, pad_token: str | None = None):
        self.hf = hf_tokenizer
        self.eot_token, self.pad_token = eot_token, pad_token
        self.eot_id = self._id_of(eot_token, "eot_token")
        self.pad_id = self._id_of(pad_token, "pad_token") if pad_token is not None else self.eot_id

    def _id_of(self, token: str | None, what: str) -> int | None:
        if token is None:
            return None
        token_id = self.hf.token_to_id(token)
        if token_id is None:
            raise ValueError(f"HFTokenizer: {what} {token!r} is not in the tokenizer's vocabulary")
        return token_id

    @classmethod
    def from_file(cls, path, eot_token: str | None = EOT_TOKEN, pad_token: str | None = None) -> HFTokenizer:
        """Read a ``tokenizer.json`` written by Hugging Face's ``tokenizers`` (or ``transformers``)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file {path} does not exist")
        try:
            hf = _hf_library().Tokenizer.from_file(str(path))
        except Exception as e:  # the Rust library raises plain Exceptions for a malformed file
            raise ValueError(f"{path} is not a Hugging Face tokenizer file: {e}") from None
        return cls(hf, eot_token, pad_token)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        return self.hf.decode(check_ids(ids, self.vocab_size), skip_special_tokens=False)

    def _state(self) -> dict:
        return {"hf_tokenizer": self.hf.to_str(), "eot_token": self.eot_token, "pad_token": self.pad_token}

    @classmethod
    def _from_state(cls, state: dict) -> HFTokenizer:
        return cls(_hf_library().Tokenizer.from_str(state["hf_tokenizer"]), state["eot_token"], state["pad_token"])


def _hf_library():
    """HuggingFace's ``tokenizers``, imported on first use."""
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError("a Hugging Face tokenizer needs HuggingFace's tokenizers: pip install 'tinygrad-ft[lessons]'") from e
    return tokenizers
