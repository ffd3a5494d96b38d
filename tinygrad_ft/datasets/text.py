"""Plain text for pre-training: load a corpus, split it, and cut random training windows.

A language model learns to predict the next token. Given the corpus as one long list of
token ids, a training example is a window of ``block_size`` ids (the input ``x``) and the
same window shifted one place to the right (the targets ``y``): at every position ``t`` the
model sees ``x[:t+1]`` and must predict ``y[t] = x[t+1]``.

Batches are built on the host with NumPy (data loading is host-side by nature) and moved to a
device in exactly one place, ``TextBatches.get_batch(..., device=...)``, through
``tinygrad_ft.backend.asarray``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np  # host-side: batches are built here, then moved to a device explicitly

from ..backend import asarray
from ..paths import SHAKESPEARE, data_path, shown


def load_text(path=None) -> str:
    """Read a UTF-8 text file exactly as it is (no newline translation), checking it first.

    ``path=None`` reads the bundled corpus. Raises ``FileNotFoundError`` if the file is
    missing, ``ValueError`` if it is empty or not valid UTF-8 (naming the byte offset of the
    first bad byte, so you can look at it with ``xxd -s OFFSET``).
    """
    path = Path(data_path(SHAKESPEARE) if path is None else path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"text file {path} {what}; the bundled corpus (tiny Shakespeare) is {shown(SHAKESPEARE)}")
    raw = path.read_bytes()
    if not raw:
        raise ValueError(f"text file {path} is empty (0 bytes); a language model needs some text to learn from")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"text file {path} is not valid UTF-8: byte 0x{raw[e.start]:02x} at byte offset {e.start} ({e.reason}); "
            "re-save it as UTF-8"
        ) from None


def train_val_split(ids, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a sequence of token ids into (train, val), contiguously: the first 90% and the rest.

    Contiguous, not shuffled: neighbouring windows overlap, so shuffling single tokens would
    put almost the same text on both sides. Returns two int64 NumPy arrays.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a flat sequence of token ids, got shape {ids.shape}")
    n_train = len(ids) - int(len(ids) * val_fraction)
    if n_train == 0 or n_train == len(ids):
        raise ValueError(f"{len(ids)} ids are too few to split with val_fraction={val_fraction}: one side would be empty")
    return ids[:n_train], ids[n_train:]


def get_batch(ids, batch_size: int, block_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` random windows of ``block_size`` ids: ``(x, y)``, int64 arrays of shape
    ``(batch_size, block_size)``, where ``y`` is ``x`` shifted one token to the right.

    ``rng`` is a seeded ``numpy.random.Generator``: the same seed gives the same batches.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < block_size + 1:
        raise ValueError(
            f"the data has {len(ids)} tokens, but a window of block_size={block_size} needs at least "
            f"{block_size + 1} (block_size inputs plus one target); use a smaller block_size or more text"
        )
    starts = rng.integers(0, len(ids) - block_size, size=batch_size)  # last start: len - block_size - 1
    offsets = starts[:, None] + np.arange(block_size)[None, :]
    return ids[offsets], ids[offsets + 1]


class TextBatches:
    """Train and val ids plus the random generator that picks windows, for a training loop.

    ``state_dict()`` / ``load_state_dict()`` save and restore the generator (its state is a
    JSON-able dict), so a resumed run draws the same batches as an uninterrupted one.
    """

    def __init__(self, ids, block_size: int, batch_size: int, val_fraction: float = 0.1, seed: int = 0):
        self.train, self.val = train_val_split(ids, val_fraction)
        self.block_size, self.batch_size = block_size, batch_size
        self.rng = np.random.default_rng(seed)
        for name, part in (("train", self.train), ("val", self.val)):
            if len(part) < block_size + 1:
                raise ValueError(
                    f"the {name} split has {len(part)} tokens, fewer than block_size + 1 = {block_size + 1}; "
                    "use a smaller block_size or more text"
                )

    def get_batch(self, split: str = "train", device: str = "cpu"):
        """One batch ``(x, y)`` from ``"train"`` or ``"val"``, as int64 arrays on ``device``."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        x, y = get_batch(self.train if split == "train" else self.val, self.batch_size, self.block_size, self.rng)
        return asarray(x, device), asarray(y, device)  # the one move to the device

    def state_dict(self) -> dict:
        """The generator's state, a JSON-able dict (store it in a checkpoint's metadata)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
