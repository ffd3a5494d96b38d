"""Sampling text from a language model, one token at a time.

At each step the model scores every token of the vocabulary for the next position (logits);
dividing by the temperature sharpens (T < 1) or flattens (T > 1) the distribution, top-k
keeps only the k best, top-p (nucleus) only the likeliest tokens that together hold
probability p, softmax turns the scores into probabilities, and we draw one token.
Temperature 0 means greedy: always the most likely token.

A KV cache makes each step cheap: the keys and values of the tokens already read never change
(the model is causal), so they are kept (``nn.KVCache``) and each step runs the model on the
one new token, attending to the cached keys, instead of on the whole context again. The
logits are the same numbers either way (tested to 1e-12 in float64).

A batch of prompts of different lengths is padded on the left, so every prompt's last token is
in the last column and all rows step together; the attention mask hides the padding and each
row's positions start at 0 on its first real token.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy  # host-side: one row of logits per token comes to the host to be sampled

from ..autograd import Tensor, no_grad
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
    top_p: float | None = option(None, "sample only among the likeliest tokens that together hold probability p, in (0, 1] "
                                       "(nucleus sampling; default: all)")
    seed: int = option(0, "random seed: the same seed writes the same text")
    device: str = option("cpu", "cpu or cuda")

    def __post_init__(self):
        check_at_least(self, 0, "max_tokens", "seed", "temperature")
        check_at_least(self, 1, "top_k")
        if self.temperature != self.temperature:  # NaN
            raise ValueError(f"{named(self, 'temperature')} must be a number >= 0, got nan")
        if self.top_p is not None and not 0 < self.top_p <= 1:  # NaN fails this too
            raise ValueError(f"{named(self, 'top_p')} must be in (0, 1], got {self.top_p}")


def sample_next(logits_row, temperature: float, top_k: int | None, rng, top_p: float | None = None) -> int:
    """Draw a token id from one row of logits (a host array of vocab_size scores).

    Temperature first, then top-k, then top-p, as in GPT-2's and Hugging Face's samplers.
    Logits that are NaN or infinite (a model with NaN weights) raise a ValueError."""
    logits = numpy.asarray(logits_row, dtype=numpy.float64)
    if not numpy.isfinite(logits).all():
        bad = int(numpy.isnan(logits).sum()), int(numpy.isinf(logits).sum())
        raise ValueError(f"generate: the model produced non-finite logits ({bad[0]} NaN, {bad[1]} inf of {logits.size}); "
                         "are its weights finite? (e.g. a checkpoint saved after training diverged to NaN)")
    if temperature == 0:
        return int(logits.argmax())
    scaled = logits / temperature
    if not numpy.isfinite(scaled).all():  # a temperature so small that the scores overflow: its limit, greedy
        return int(logits.argmax())
    logits = scaled
    if top_k is not None and top_k < logits.size:
        kth_best = numpy.partition(logits, -top_k)[-top_k]
        logits = numpy.where(logits < kth_best, -numpy.inf, logits)
    probs = numpy.exp(logits - logits.max())
    probs /= probs.sum()
    if top_p is not None and top_p < 1:
        probs = nucleus(probs, top_p)
    return int(rng.choice(logits.size, p=probs))


def nucleus(probs, top_p: float):
    """Top-p: keep the likeliest tokens until they hold probability ``top_p`` (a token is kept if
    the tokens likelier than it hold less than top_p, so the likeliest is always kept), zero the
    rest, renormalise. ``probs`` is a host array that sums to 1."""
    order = numpy.argsort(-probs, kind="stable")
    sorted_probs = probs[order]
    likelier = numpy.cumsum(sorted_probs) - sorted_probs  # mass of the tokens before each one
    kept = numpy.zeros_like(probs)
    keep = order[likelier < top_p]
    kept[keep] = probs[keep]
    return kept / kept.sum()


# ---- the arguments, checked: a mistake names the argument and what was expected ------------------


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _prompt_list(prompt, what: str) -> list[int]:
    if isinstance(prompt, (str, bytes)):
        raise TypeError(f"generate: {what} must be token ids (integers), got a {type(prompt).__name__}; "
                        "encode the text first: tokenizer.encode(text)")
    if isinstance(prompt, Tensor):
        prompt = to_numpy(prompt.data)
    if isinstance(prompt, numpy.ndarray) or hasattr(prompt, "__cuda_array_interface__"):
        prompt = to_numpy(prompt)
        if prompt.dtype.kind not in "iu":
            raise TypeError(f"generate: {what} must be integer token ids, got an array of dtype {prompt.dtype}")
        if prompt.ndim != 1:
            raise ValueError(f"generate: {what} must be one sequence of token ids, got shape {prompt.shape}")
        prompt = prompt.tolist()
    ids = []
    for position, i in enumerate(prompt):
        if not _is_int(i):
            raise TypeError(f"generate: {what} must be integer token ids, got {i!r} ({type(i).__name__}) at position "
                            f"{position}")
        ids.append(int(i))
    if not ids:
        raise ValueError(f"generate: {what} is empty; a prompt needs at least one token")
    return ids


def prompts_of(prompt_ids) -> tuple[list[list[int]], bool]:
    """The prompt(s) as lists of ints, and whether a batch was given: one sequence of ids, or a
    batch (a list of sequences, or a 2-D integer array)."""
    if isinstance(prompt_ids, (str, bytes)):
        return [_prompt_list(prompt_ids, "prompt_ids")], False
    array = None
    if isinstance(prompt_ids, Tensor):
        array = to_numpy(prompt_ids.data)
    elif isinstance(prompt_ids, numpy.ndarray) or hasattr(prompt_ids, "__cuda_array_interface__"):
        array = to_numpy(prompt_ids)
    if array is not None and array.ndim == 2:
        return [_prompt_list(row, f"prompt_ids[{b}]") for b, row in enumerate(array)], True
    if array is not None:
        return [_prompt_list(array, "prompt_ids")], False
    try:
        items = list(prompt_ids)
    except TypeError:
        raise TypeError(f"generate: prompt_ids must be a sequence of token ids (or a list of them), got "
                        f"{type(prompt_ids).__name__}") from None
    if items and all(not _is_int(i) and not isinstance(i, (str, bytes, numbers.Number)) for i in items):
        return [_prompt_list(p, f"prompt_ids[{b}]") for b, p in enumerate(items)], True
    return [_prompt_list(items, "prompt_ids")], False


def _check_arguments(max_new_tokens, temperature, top_k, top_p, stop_id) -> set[int]:
    if not _is_int(max_new_tokens):
        raise TypeError(f"generate: max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be an integer >= 0, got {max_new_tokens}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"generate: temperature must be a number >= 0, got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"generate: temperature must be a finite number >= 0 (0: greedy), got {temperature}")
    if top_k is not None and not _is_int(top_k):
        raise TypeError(f"generate: top_k must be a positive integer or None, got {top_k!r}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"generate: top_k must be a positive integer or None, got {top_k}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, numbers.Real)):
        raise TypeError(f"generate: top_p must be a number in (0, 1] or None, got {top_p!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"generate: top_p must be a number in (0, 1] or None, got {top_p}")
    stops = [] if stop_id is None else [stop_id] if _is_int(stop_id) else list(stop_id)
    if not all(_is_int(s) for s in stops):
        raise TypeError(f"generate: stop_id must be a token id or a list of them, got {stop_id!r}")
    return {int(s) for s in stops}


# ---- the loop -------------------------------------------------------------------------------------


def generate(model, prompt_ids, max_new_tokens: int = 200, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None, stop_id=None, top_p: float | None = None, use_cache: bool = True):
    """Continue ``prompt_ids`` by up to ``max_new_tokens`` tokens; returns prompt + new ids.

    ``prompt_ids``: one prompt (a list of ints, or a 1-D integer array), and then the result is
    a list of ints; or a batch of prompts (a list of such lists, or a 2-D array), and then the
    result is one list per prompt. ``stop_id``: a token id (e.g. end-of-text) or a list of them;
    a sequence ends at the first one it writes (which is kept). The same seed gives the same
    text. ``use_cache``: keep the keys and values of the context (a KV cache; the same logits,
    much faster); once the text is longer than the model's block_size, every step reads the
    last block_size tokens afresh, as without a cache. The model is put in eval mode (no
    dropout) and left there.
    """
    prompts, batched = prompts_of(prompt_ids)
    stops = _check_arguments(max_new_tokens, temperature, top_k, top_p, stop_id)
    vocab_size = model.config.vocab_size
    for b, prompt in enumerate(prompts):
        bad = [i for i in prompt if not 0 <= i < vocab_size]
        if bad:
            where = f"prompt_ids[{b}]" if batched else "prompt_ids"
            raise ValueError(f"generate: token id {bad[0]} in {where} is out of range for the model's vocabulary of "
                             f"{vocab_size} (ids 0..{vocab_size - 1})")
    rng = numpy.random.default_rng(seed)
    block_size = model.config.block_size
    width = max(len(p) for p in prompts)
    padded = any(len(p) != width for p in prompts)  # only then do the mask and positions differ from the defaults
    tokens = numpy.zeros((len(prompts), width), dtype=numpy.int64)  # left padding: the pad id is never seen (masked)
    real = numpy.zeros((len(prompts), width), dtype=bool)
    for b, prompt in enumerate(prompts):
        tokens[b, width - len(prompt):] = prompt
        real[b, width - len(prompt):] = True
    outputs = [list(p) for p in prompts]
    done = [False] * len(prompts)
    model.eval()
    layered = hasattr(model, "hidden_states") and hasattr(model, "logits")  # our GPT; else any model(ids) -> (logits, _)
    if padded and not layered:
        raise TypeError(f"generate: prompts of different lengths need a model that takes an attention mask and positions "
                        f"(a GPT), not a {type(model).__name__}")
    use_cache = use_cache and layered and hasattr(model, "kv_cache")
    cache, start = None, 0  # the cache holds columns start.. of tokens
    with no_grad():
        for _ in range(max_new_tokens):
            if cache is not None and cache.length < cache.capacity:
                new = tokens[:, -1:]  # one new column; the cache has the others
            else:  # the first step, or past block_size: read the last block_size columns afresh
                start = max(0, tokens.shape[1] - block_size)
                new = tokens[:, start:]
                cache = model.kv_cache() if use_cache and tokens.shape[1] <= block_size else None
            mask = real[:, start:] if padded else None
            positions = None
            if padded:
                positions = numpy.maximum(numpy.cumsum(mask, axis=1) - 1, 0)[:, -new.shape[1]:]
            if layered:
                hidden = model.hidden_states(new, attention_mask=mask, position_ids=positions, cache=cache)
                logits = to_numpy(model.logits(hidden[:, -1]).data)  # (B, V): only the last position is sampled
            else:
                logits = to_numpy(model(new)[0].data[:, -1])
            column = numpy.zeros(len(prompts), dtype=numpy.int64)
            for b in range(len(prompts)):
                if done[b]:
                    continue
                column[b] = sample_next(logits[b], temperature, top_k, rng, top_p)
                outputs[b].append(int(column[b]))
                done[b] = int(column[b]) in stops
            if all(done):
                break
            tokens = numpy.concatenate([tokens, column[:, None]], axis=1)
            real = numpy.concatenate([real, numpy.ones((len(prompts), 1), dtype=bool)], axis=1)
    return outputs if batched else outputs[0]
