"""The tiny GPT (one file, like nanoGPT's ``model.py``), its named sizes, and sampling from it.

Files: ``gpt`` (the model, ``GPT.from_checkpoint`` and ``load_pretrained``), ``presets``
(named sizes), ``generate`` (sampling text one token at a time).
"""

from .generate import GenerateConfig, generate, sample_next
from .gpt import GPT, Block, GPTConfig, load_pretrained
from .presets import PRESETS, preset

__all__ = ["GPT", "PRESETS", "GenerateConfig", "Block", "GPTConfig", "generate", "load_pretrained", "preset", "sample_next"]
