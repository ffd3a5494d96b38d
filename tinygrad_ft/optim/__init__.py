"""Optimizers, gradient clipping, learning-rate schedules and parameter groups.

    from tinygrad_ft.optim import AdamW, WarmupCosine, weight_decay_groups

    optimizer = AdamW(weight_decay_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99))
    scheduler = WarmupCosine(optimizer, warmup_steps=100, total_steps=2000, min_lr=1e-4)

``tinygrad_ft.training.train_step`` uses them: forward, backward, ``clip_grad_norm_``,
``optimizer.step()``, ``scheduler.step()``, once per step.

Files: ``optimizer`` (the base: groups, step, state_dict), ``sgd``, ``adam`` (Adam and
AdamW), ``clip``, ``schedules``, ``groups`` (weight-decay and layer-wise learning-rate groups).
"""

from .adam import Adam, AdamW
from .clip import clip_grad_norm_
from .groups import decays, layerwise_lr_groups, transformer_layer_of, weight_decay_groups
from .optimizer import Optimizer
from .schedules import ConstantLR, LRScheduler, WarmupCosine, warmup_cosine_lr
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "ConstantLR",
    "LRScheduler",
    "Optimizer",
    "WarmupCosine",
    "clip_grad_norm_",
    "decays",
    "layerwise_lr_groups",
    "transformer_layer_of",
    "warmup_cosine_lr",
    "weight_decay_groups",
]
