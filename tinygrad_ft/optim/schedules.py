"""Learning-rate schedules: the learning rate as a function of the step.

``warmup_cosine_lr`` is the plain function; a scheduler applies a function like it to every
parameter group of an optimizer, each from its own base learning rate (so groups with
different learning rates keep their ratios):

    optimizer = AdamW(model.parameters(), lr=1e-3)
    scheduler = WarmupCosine(optimizer, warmup_steps=100, total_steps=2000, min_lr=1e-4)
    for step in range(2000):
        ...; optimizer.step(); scheduler.step()

As in PyTorch, making the scheduler sets the learning rate of step 0, and ``scheduler.step()``
after each ``optimizer.step()`` moves on to the next one.
"""

from __future__ import annotations

import math


def warmup_cosine_lr(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """The learning rate at ``step`` (0, 1, 2, ...) of a linear warmup then a cosine decay:

        step < warmup_steps:             lr = base_lr · step / warmup_steps         (0 → base_lr)
        warmup_steps ≤ step < total:     p = (step - warmup_steps) / (total_steps - warmup_steps)
                                         lr = min_lr + (base_lr - min_lr) · (1 + cos(π p)) / 2
        step ≥ total_steps:              lr = min_lr

    Warmup: the first steps of Adam see poor estimates of the gradient's moments, so they
    start small. Cosine: large steps while the loss falls fast, small ones to settle at the end.
    """
    if warmup_steps < 0 or total_steps < 0:
        raise ValueError(f"warmup_steps and total_steps must be >= 0, got {warmup_steps} and {total_steps}")
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LRScheduler:
    """Sets ``group["lr"] = lr_at(step, base_lr of the group)`` for every group of ``optimizer``.

    Subclasses write ``lr_at``. The base learning rates are the groups' ``lr`` when the
    scheduler is made.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_step = 0
        self._apply()

    def lr_at(self, step: int, base_lr: float, group_index: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next step and set its learning rate (call after ``optimizer.step()``)."""
        self.last_step += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def _apply(self) -> None:
        for i, (group, base_lr) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            group["lr"] = self.lr_at(self.last_step, base_lr, i)

    def state_dict(self) -> dict:
        """The step and the base learning rates (the schedule's settings come from the constructor)."""
        return {"last_step": self.last_step, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict) -> None:
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: saved for {len(state['base_lrs'])} parameter group(s), "
                             f"the optimizer has {len(self.optimizer.param_groups)}")
        self.last_step = int(state["last_step"])
        self.base_lrs = list(state["base_lrs"])
        self._apply()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(step={self.last_step}, lr={self.get_last_lr()})"


class WarmupCosine(LRScheduler):
    """Linear warmup from 0 to each group's base lr, then cosine down to ``min_lr``
    (``warmup_cosine_lr``). ``min_lr`` is one number for every group, or one per group."""

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr=0.0):
        groups = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(self.min_lrs) != groups:
            raise ValueError(f"WarmupCosine: {len(self.min_lrs)} min_lr values for {groups} parameter groups")
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        warmup_cosine_lr(0, 0.0, warmup_steps, total_steps)  # checks the arguments
        super().__init__(optimizer)

    def lr_at(self, step, base_lr, group_index):
        return warmup_cosine_lr(step, base_lr, self.warmup_steps, self.total_steps, self.min_lrs[group_index])


class ConstantLR(LRScheduler):
    """Each group's base lr, multiplied by ``factor`` for the first ``total_iters`` steps
    (PyTorch's ``ConstantLR``; with the defaults, the learning rate never changes)."""

    def __init__(self, optimizer, factor: float = 1.0, total_iters: int = 0):
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, step, base_lr, group_index):
        return base_lr * self.factor if step < self.total_iters else base_lr
