"""Turning labelled texts into batches a GPT can read, on the host.

Classification: each text becomes its token ids, cut to the model's block size and padded
on the right to the longest text of the batch; ``attention_mask`` is True on real tokens.
Right padding suits a causal model: a real token only looks at tokens before it, so the pads
after it change nothing, and the classifier reads the hidden state of the last real token.

Supervised fine-tuning (SFT) of the language model: each example becomes one sequence
``prompt + answer`` ("Review: ... Sentiment: positive"), and the targets are the next
tokens with every prompt position set to -100 (``ignore_index``), so the loss is taken
only on the answer: the model learns to answer, not to write reviews.
"""

from __future__ import annotations

import numpy  # host-side by nature: ids are built here, moved to the device in one place

IGNORE_INDEX = -100


def encode_texts(tokenizer, texts, max_len: int) -> list[list[int]]:
    """Token ids of each text, keeping its last ``max_len`` tokens (the end of a text matters
    most to a model that reads the last token)."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    out = []
    for text in texts:
        ids = tokenizer.encode(text) or [tokenizer.pad_id or 0]
        out.append(ids[-max_len:])
    return out


def pad_batch(sequences, pad_id: int):
    """Right-pad id lists to one length: ids (B, T) int64 and attention_mask (B, T) bool."""
    if not sequences:
        raise ValueError("pad_batch needs at least one sequence")
    T = max(len(s) for s in sequences)
    ids = numpy.full((len(sequences), T), pad_id, dtype=numpy.int64)
    mask = numpy.zeros((len(sequences), T), dtype=bool)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = True
    return ids, mask


def sft_prompt(text: str, task_word: str = "Sentiment") -> str:
    """The prompt part of an SFT example; the answer (a class name) follows it."""
    return f"Text: {' '.join(text.split())}\n{task_word}:"


def sft_example(tokenizer, text: str, answer: str, max_len: int, task_word: str = "Sentiment"):
    """(input ids, target ids) for one prompt + answer; targets are -100 on the prompt.

    The sequence is prompt + " " + answer + end-of-text; the input is all but the last token,
    the target all but the first (next-token prediction), and a target counts only where it
    is a token of the answer. If too long, the text is cut from its start, never the answer.
    """
    answer_ids = tokenizer.encode(" " + answer)
    if tokenizer.eot_id is not None:
        answer_ids = answer_ids + [tokenizer.eot_id]
    prompt_ids = tokenizer.encode(sft_prompt(text, task_word))
    room = max_len + 1 - len(answer_ids)
    if room < 1:
        raise ValueError(f"max_len {max_len} leaves no room for a prompt before the answer {answer!r}")
    prompt_ids = prompt_ids[-room:]
    sequence = prompt_ids + answer_ids
    inputs = sequence[:-1]
    targets = [IGNORE_INDEX] * (len(prompt_ids) - 1) + answer_ids
    return inputs, targets


def sft_batch(examples, pad_id: int):
    """Pad (inputs, targets) pairs: ids (B, T), targets (B, T) with -100 at pads, mask (B, T)."""
    ids, mask = pad_batch([inp for inp, _ in examples], pad_id)
    targets = numpy.full(ids.shape, IGNORE_INDEX, dtype=numpy.int64)
    for i, (_, tgt) in enumerate(examples):
        targets[i, : len(tgt)] = tgt
    return ids, targets, mask


def minibatches(n: int, batch_size: int, rng=None):
    """Index arrays covering range(n) in batches; shuffled when ``rng`` is given."""
    order = rng.permutation(n) if rng is not None else numpy.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def bucketed_minibatches(lengths, batch_size: int, rng, bucket: int = 16):
    """Shuffled batches of texts of similar length, so that little of a batch is padding.

    Shuffle, cut into chunks of ``bucket`` batches, sort each chunk by length, cut it into
    batches, and shuffle the order of all batches: random, but each batch's lengths are close.
    """
    lengths = numpy.asarray(lengths)
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * bucket):
        chunk = order[start : start + batch_size * bucket]
        chunk = chunk[numpy.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    for i in rng.permutation(len(batches)):
        yield batches[i]
