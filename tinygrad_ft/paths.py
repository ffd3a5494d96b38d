"""Where the course's data lives: the one place that knows a path.

Everything the library reads from disk by default (the corpus, the labelled sets, the shipped
checkpoints) is under one data folder: the repository's ``data/`` when the package runs from
a checkout, or the folder named by the environment variable ``TINYGRAD_FT_DATA`` (set it when
the package is installed elsewhere, e.g. from a wheel, and the data was copied beside it).
Paths are given relative to that folder, so ``--help`` and error messages can show them.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TINYGRAD_FT_DATA"
REPOSITORY_DATA = Path(__file__).resolve().parents[1] / "data"  # exists in a checkout

SHAKESPEARE = "tinyshakespeare/input.txt"  # the pre-training corpus (character-level, 1.1 MB)
SENTIMENT = "sentiment-labelled-sentences"  # reviews from Amazon, IMDb, Yelp (0 negative / 1 positive)
SPAM = "sms-spam-collection"  # SMS messages (0 ham / 1 spam)
BABY_CHECKPOINT = "checkpoints/baby-char.npz"  # the shipped character-level GPT (tinygrad-ft generate)
BPE_CHECKPOINT = "checkpoints/bpe-pretrained.npz"  # the shipped BPE GPT that fine-tuning starts from


def data_dir() -> Path:
    """The data folder: ``$TINYGRAD_FT_DATA`` if set, else the repository's ``data/``."""
    configured = os.environ.get(ENV_VAR, "").strip()
    folder = Path(configured).expanduser() if configured else REPOSITORY_DATA
    if not folder.is_dir():
        where = f"{ENV_VAR}={configured}" if configured else f"the repository's data folder {folder}"
        raise FileNotFoundError(
            f"no data folder: {where} does not exist; set {ENV_VAR} to the folder that holds "
            f"{SHAKESPEARE.split('/')[0]}/, {SENTIMENT}/, {SPAM}/ and checkpoints/"
        )
    return folder


def data_path(relative: str) -> Path:
    """A path under the data folder, e.g. ``data_path(SHAKESPEARE)``."""
    return data_dir() / relative


def shown(relative: str) -> str:
    """How a default path is shown in help texts: ``data/<relative>``."""
    return f"data/{relative}"
