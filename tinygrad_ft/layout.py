"""The package's layers, bottom to top: the one list of them.

Each entry is a folder (or a module) of the package and what it holds. A layer imports only
the layers listed before it (``tests/test_layout.py`` checks every import of every module);
the README's layout table and lesson 0's map of the library are printed from this list.
"""

from __future__ import annotations

LAYERS = (
    ("layout", "this list of layers"),
    ("paths", "where the data lives: the corpus, the labelled sets, the shipped checkpoints"),
    ("options", "config fields with their flag and help text (the CLI is built from them)"),
    ("course", "the lessons' fast mode (smaller training budgets in the test run)"),
    ("backend", "devices: NumPy (cpu), CuPy (cuda), the strict stand-in, dtypes, fused kernels"),
    ("autograd", "Tensor, Function, backward, the primitive ops, gradient checks"),
    ("functional", "ops with hand-derived backward passes, each beside its composed reference"),
    ("nn", "Module, Parameter, layers (Linear, Embedding, LayerNorm, attention, ...), checkpoint files"),
    ("optim", "SGD, Adam, AdamW, gradient clipping, learning-rate schedules, parameter groups"),
    ("datasets", "the text corpus and the labelled tasks, split and batched on the host"),
    ("tokenizers", "characters and byte-pair encoding: text to token ids and back"),
    ("metrics", "accuracy, F1, confusion matrices"),
    ("models", "the tiny GPT, its named sizes, loading it, sampling from it"),
    ("training", "the one training step, progress lines, pre-training"),
    ("finetune", "classifier heads, freezing, LoRA, the classification loop, SFT"),
    ("hf", "Hugging Face's formats: GPT-2 checkpoints and tokenizers in and out, PEFT LoRA adapters"),
    ("exercises", "the lessons' exercises: stubs, checker, diagnoses"),
    ("cli", "the tinygrad-ft command: parses arguments, calls the layers below"),
)

NAMES = tuple(name for name, _ in LAYERS)


def rank(name: str) -> int:
    """The position of a layer, bottom (0) to top."""
    return NAMES.index(name)


def table() -> str:
    """The layers as a Markdown table, top layer first (as the README shows them)."""
    rows = [f"| `{name}` | {what} |" for name, what in reversed(LAYERS)]
    return "\n".join(["| layer | what it holds |", "|---|---|", *rows])
