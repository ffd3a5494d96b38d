"""Supervised fine-tuning (SFT) of the language model itself, with the loss on the answer only.

Instead of a new head, the GPT learns to *write* the label: each training sequence is

    Text: the food was great
    Sentiment: positive<|endoftext|>

and the cross-entropy is taken only where the target is a token of " positive<|endoftext|>";
every prompt position has target -100, which ``cross_entropy`` ignores. Evaluation is by
generation: give the prompt, let the model write greedily, read which class name it wrote.
"""

from __future__ import annotations

import time

import numpy  # host-side: batches, generation bookkeeping, metrics

from ..backend import keep_freed_memory, manual_seed
from ..datasets.labeled import load_task, stratified_subset
from ..models.generate import generate
from ..models.gpt import GPT, GPTConfig, load_pretrained
from ..optim import AdamW, WarmupCosine, weight_decay_groups
from ..paths import BPE_CHECKPOINT, data_path
from ..training.progress import Progress
from ..training.step import check_finite, next_token_loss, train_step
from .data import minibatches, sft_batch, sft_example, sft_prompt

TASK_WORD = {"sentiment": "Sentiment", "spam": "Label"}


def answer_of(generated: str, class_names) -> int | None:
    """The class whose name the model wrote first after the prompt (None if it wrote none)."""
    words = generated.strip().split()
    first = words[0].strip(".,!?:;").lower() if words else ""
    for label, name in enumerate(class_names):
        if first == name.lower():
            return label
    return None


def answer_length(tokenizer, class_names) -> int:
    """Tokens enough to write any class name after the prompt, and end-of-text: " positive" is
    5 tokens of a 512-token BPE ( p|o|s|it|ive), so a fixed budget of 4 would cut it off."""
    return max(len(tokenizer.encode(" " + name)) for name in class_names) + 1


def predict_by_generation(model, tokenizer, texts, class_names, task_word: str, max_new_tokens: int | None = None):
    """Greedy answers for each text; an answer that names no class counts as -1 (wrong).
    ``max_new_tokens``: by default just enough for the longest class name (``answer_length``)."""
    block = model.config.block_size
    max_new_tokens = max_new_tokens or answer_length(tokenizer, class_names)
    out = []
    for text in texts:
        prompt = tokenizer.encode(sft_prompt(text, task_word))[-(block - max_new_tokens):]
        ids = generate(model, prompt, max_new_tokens=max_new_tokens, temperature=0, stop_id=tokenizer.eot_id)
        written = ids[len(prompt):]
        if tokenizer.eot_id in written:  # the answer ends at end-of-text (not part of the word)
            written = written[: written.index(tokenizer.eot_id)]
        label = answer_of(tokenizer.decode(written), class_names)
        out.append(-1 if label is None else label)
    return numpy.asarray(out)


def sft(task_name: str = "sentiment", checkpoint=None, from_scratch: bool = False, epochs: int = 3, batch_size: int = 32,
        lr: float = 5e-4, train_limit: int | None = None, eval_limit: int | None = None, seed: int = 0, device: str = "cpu",
        progress: bool = False, log=print) -> dict:
    """Fine-tune the whole GPT on prompt + answer sequences; evaluate by generation on the test split."""
    keep_freed_memory()
    task = load_task(task_name)
    word = TASK_WORD[task_name]
    model, tokenizer = load_pretrained(checkpoint or data_path(BPE_CHECKPOINT), device)
    if from_scratch:
        manual_seed(seed + 1)
        model = GPT(GPTConfig.from_dict(model.config.to_dict())).to(device)
    rng = numpy.random.default_rng(seed)
    texts, labels = list(task.train.texts), numpy.asarray(task.train.labels)
    if train_limit is not None and train_limit < len(texts):
        keep = stratified_subset(labels, train_limit, rng)
        texts, labels = [texts[i] for i in keep], labels[keep]
    block = model.config.block_size
    examples = [sft_example(tokenizer, t, task.class_names[y], block, word) for t, y in zip(texts, labels)]
    total = epochs * -(-len(examples) // batch_size)
    optimizer = AdamW(weight_decay_groups(model, 0.01), lr=lr, weight_decay=0.01)
    scheduler = WarmupCosine(optimizer, warmup_steps=max(1, total // 10), total_steps=total, min_lr=lr / 10)
    log(f"SFT {task_name}{' (from scratch)' if from_scratch else ''}: {len(examples)} examples, {total} steps")
    t0 = time.perf_counter()
    bar = Progress(total, f"SFT {task_name}", progress, log=log)
    model.train()
    step = 0
    for _ in range(epochs):
        for idx in minibatches(len(examples), batch_size, rng):
            ids, targets, _ = sft_batch([examples[i] for i in idx], tokenizer.pad_id or 0)
            loss = train_step(model, (ids, targets), next_token_loss, optimizer, scheduler, grad_clip=1.0)  # host arrays
            step += 1
            bar.update(1)
        check_finite([float(loss.data)], step - 1, lr, "nothing was saved (SFT returns the model)")  # once an epoch
    bar.close()
    seconds = time.perf_counter() - t0
    test_texts, test_labels = list(task.test.texts), numpy.asarray(task.test.labels)
    if eval_limit is not None:
        test_texts, test_labels = test_texts[:eval_limit], test_labels[:eval_limit]
    predictions = predict_by_generation(model, tokenizer, test_texts, task.class_names, word)
    return {  # an unreadable answer (-1) counts as wrong
        "task": task_name, "method": "sft", "from_scratch": from_scratch, "train_examples": len(examples),
        "seconds": seconds, "test_accuracy": float((predictions == test_labels).mean()),
        "answered_a_class": float((predictions >= 0).mean()), "model": model, "tokenizer": tokenizer,
    }
