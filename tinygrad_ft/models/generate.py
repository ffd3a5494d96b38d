"""Sampling text from a language model, one token at a time.

At each step the model scores every token of the vocabulary for the next position (logits);
dividing by the temperature sharpens (T < 1) or flattens (T > 1) the distribution, top-k
keeps only the k best, softmax turns the scores into probabilities, and we draw one token.
Temperature 0 means greedy: always the most likely token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy  # host-side: one row of logits per token comes to the host to be sampled

from ..autograd import no_grad
from ..backend import to_numpy
from ..options import check_at_least, named, option
from ..paths import BABY_CHECKPOINT, shown


@dataclass
class GenerateConfig:
    """How to sample (``tinygrad-ft generate``, and the sample after ``tinygrad-ft pretrain``)."""

    checkpoint: str | None = option(None, f"a GPT checkpoint (default: the shipped baby model, {shown(BABY_CHECKPOINT)})")
    prompt: str = option("\n", "the text to continue")
    max_tokens: int = option(300, "tokens to generate")
    temperature: float = option(0.8, "divide the logits by this: < 1 sharper, > 1 flatter, 0 always the likeliest token")
    top_k: int | None = option(None, "sample only among the k likeliest tokens (default: all)")
    seed: int = option(0, "random seed: the same seed writes the same text")
    device: str = option("cpu", "cpu or cuda")

    def __post_init__(self):
        check_at_least(self, 0, "max_tokens", "seed", "temperature")
        check_at_least(self, 1, "top_k")
        if self.temperature != self.temperature:  # NaN
            raise ValueError(f"{named(self, 'temperature')} must be a number >= 0, got nan")


def sample_next(logits_row, temperature: float, top_k: int | None, rng) -> int:
    """Draw a token id from one row of logits (a host array of vocab_size scores)."""
    logits = numpy.asarray(logits_row, dtype=numpy.float64)
    if temperature == 0:
        return int(logits.argmax())
    logits = logits / temperature
    if top_k is not None and top_k < logits.size:
        kth_best = numpy.partition(logits, -top_k)[-top_k]
        logits = numpy.where(logits < kth_best, -numpy.inf, logits)
    probs = numpy.exp(logits - logits.max())
    probs /= probs.sum()
    return int(rng.choice(logits.size, p=probs))


def generate(model, prompt_ids, max_new_tokens: int = 200, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None, stop_id: int | None = None) -> list[int]:
    """Continue ``prompt_ids`` by up to ``max_new_tokens`` tokens; returns prompt + new ids.

    Stops early at ``stop_id`` (e.g. an end-of-text token) if given. The same seed gives the
    same text. The model is put in eval mode (no dropout) and left there.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k}")
    ids = [int(i) for i in prompt_ids]
    if not ids:
        raise ValueError("generate needs a prompt of at least one token")
    block_size = model.config.block_size
    rng = numpy.random.default_rng(seed)
    model.eval()
    with no_grad():
        for _ in range(max_new_tokens):
            context = numpy.asarray([ids[-block_size:]], dtype=numpy.int64)  # host ids: checked there, then copied
            logits, _ = model(context)
            next_id = sample_next(to_numpy(logits.data[0, -1]), temperature, top_k, rng)
            ids.append(next_id)
            if stop_id is not None and next_id == stop_id:
                break
    return ids
