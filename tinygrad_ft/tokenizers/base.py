"""The one interface every tokenizer has: text -> ids -> text, and saving as JSON.

A tokenizer turns text into a list of integer ids (``encode``) and back (``decode``); the
model only ever sees the ids, and its embedding table has ``vocab_size`` rows.

A tokenizer is stored as JSON, never pickle (loading a pickle can run arbitrary code):
``to_json()`` gives a JSON-able dict (so it can also live inside a checkpoint's metadata),
``save(path)`` writes that dict to a file, and ``Tokenizer.load(path)`` /
``Tokenizer.from_json(d)`` read it back, picking the right class from the dict's ``"kind"``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path

FORMAT = "tinygrad_ft.tokenizer"
VERSION = 1

_KINDS: dict[str, type[Tokenizer]] = {}  # "char" -> CharTokenizer, ... (filled by subclasses)


class Tokenizer(ABC):
    """Abstract base class. Subclasses set ``kind`` and implement the abstract methods.

    ``pad_id``: the id used to pad sequences of different lengths into one batch (or None).
    ``eot_id``: the id that marks the end of a text (or None if the tokenizer has none).
    """

    kind: str = ""
    pad_id: int | None = None
    eot_id: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """The ids of ``text``."""

    @abstractmethod
    def decode(self, ids) -> str:
        """The text of a sequence of ids (a list, or a 1-D integer array)."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """How many distinct ids there are: every id is in ``range(vocab_size)``."""

    @abstractmethod
    def _state(self) -> dict:
        """What this kind needs to rebuild itself (JSON-able)."""

    @classmethod
    @abstractmethod
    def _from_state(cls, state: dict) -> Tokenizer:
        """The inverse of ``_state``."""

    # ---- JSON ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-able dict describing this tokenizer completely."""
        return {"format": FORMAT, "version": VERSION, "kind": self.kind, **self._state()}

    @classmethod
    def from_json(cls, data) -> Tokenizer:
        """A tokenizer from ``to_json()``'s dict (or that dict as a JSON string)."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a tinygrad_ft tokenizer: expected a dict with format {FORMAT!r}")
        if data.get("version", 0) > VERSION:
            raise ValueError(f"tokenizer format version {data['version']} is newer than this code's ({VERSION})")
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"unknown tokenizer kind {kind!r}; known kinds are {sorted(_KINDS)}")
        if cls is not Tokenizer and _KINDS[kind] is not cls:
            raise ValueError(f"this is a {kind!r} tokenizer, not a {cls.kind!r} one; use Tokenizer.from_json")
        return _KINDS[kind]._from_state(data)

    def save(self, path) -> Path:
        """Write ``to_json()`` to ``path`` (UTF-8 JSON); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> Tokenizer:
        """Read a tokenizer saved with ``save``; the JSON says which kind it is."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"tokenizer file {path} is not valid JSON: {e}") from None
        try:
            return cls.from_json(data)
        except ValueError as e:
            raise ValueError(f"tokenizer file {path}: {e}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


def check_ids(ids, vocab_size: int) -> list[int]:
    """``ids`` as a list of Python ints, each checked to be in ``range(vocab_size)``."""
    if hasattr(ids, "tolist"):  # a NumPy (or CuPy) array
        ids = ids.tolist()
    ids = [int(i) for i in ids]
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"token id {bad[0]} is out of range for a vocabulary of {vocab_size} (ids 0..{vocab_size - 1})")
    return ids
