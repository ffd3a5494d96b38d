"""Named model sizes: the one list of them (the CLI's ``--config``, the lessons, the benchmarks).

"baby" is the course's default run: 4 layers of 128 dims over a 64-character context,
pre-trained on tiny Shakespeare in about two minutes on a laptop CPU.
"""

from __future__ import annotations

from .gpt import GPTConfig

PRESETS = {
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0),
    "tiny": dict(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0),  # for tests and smoke runs
    "bpe": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, dropout=0.0),  # the fine-tuning track's base
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2),
}


def preset(name: str, **overrides) -> GPTConfig:
    """The ``GPTConfig`` of a named size (``vocab_size`` comes from the tokenizer, later)."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")
    return GPTConfig(**{**PRESETS[name], **overrides})
