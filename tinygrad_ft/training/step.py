"""One training step: the same for every loop of the package and for the benchmarks.

    loss = loss_fn(model, *batch)      forward: the model, then its loss
    optimizer.zero_grad()              forget the last step's gradients
    loss.backward()                    every gradient, by the chain rule
    clip_grad_norm_(model, max_norm)   one global length limit for the gradient
    optimizer.step()                   move the weights
    scheduler.step()                   the learning rate of the next step

Pre-training (``next_token_loss``), classification fine-tuning and SFT call ``train_step``;
``benchmarks/bench_gpt.py`` times it. A loop keeps only what differs: how it draws batches,
when it evaluates and what it saves.
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..optim import clip_grad_norm_


def train_step(model, batch: tuple, loss_fn, optimizer, scheduler=None, grad_clip: float = 0.0) -> Tensor:
    """Forward, backward, clip, update and schedule, once; returns the loss (a device scalar:
    reading it waits for the device, so loops collect a few before they look)."""
    loss = loss_fn(model, *batch)
    optimizer.zero_grad()
    loss.backward()
    if grad_clip > 0:
        clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss


def next_token_loss(model, ids, targets) -> Tensor:
    """A language model's loss: the mean cross-entropy of predicting each next token
    (targets equal to -100 are ignored, which is how SFT masks the prompt)."""
    _, loss = model(ids, targets)
    return loss


class TrainingDiverged(ValueError):
    """The loss (or a loss estimate) became NaN or infinite: the run stops, and says why and where."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, with a message that says what was saved."""


def check_finite(losses, first_step: int, lr: float, saved: str) -> None:
    """TrainingDiverged if any of ``losses`` (host floats of steps ``first_step``, ...) is NaN or
    infinite, naming the step and what to try; ``saved`` says where the last good checkpoint is."""
    for offset, loss in enumerate(losses):
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: the loss is {loss} at step {first_step + offset + 1}; try a smaller learning rate "
                f"(--lr, now {lr:g}) or keep gradient clipping on (--grad-clip); {saved}")
