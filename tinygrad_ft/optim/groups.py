"""Building parameter groups: which parameters decay, and which learn at which rate.

Both helpers take a module (anything with ``named_parameters()``) or an iterable of
``(name, parameter)`` pairs, and return a list of groups to pass to an optimizer:

    AdamW(weight_decay_groups(model, 0.1), lr=1e-3)
    AdamW(layerwise_lr_groups(model, base_lr=1e-4, decay=0.8, weight_decay=0.01))

Frozen parameters are included (the optimizer skips them while ``requires_grad`` is False,
and updates them once they are unfrozen). Empty groups are left out.
"""

from __future__ import annotations

import re


def _named(module_or_named_params) -> list:
    if hasattr(module_or_named_params, "named_parameters"):
        return list(module_or_named_params.named_parameters())
    named = list(module_or_named_params)
    if named and not (isinstance(named[0], tuple) and len(named[0]) == 2 and isinstance(named[0][0], str)):
        raise TypeError("expected a module or (name, parameter) pairs such as model.named_parameters()")
    return named


def decays(param) -> bool:
    """Whether weight decay applies: to matrices (Linear and Embedding weights, ndim ≥ 2), not to
    biases and LayerNorm gains (ndim < 2): shrinking those towards 0 only hurts."""
    return param.ndim >= 2


def weight_decay_groups(module_or_named_params, weight_decay: float) -> list[dict]:
    """Two groups: ``{"params": matrices, "weight_decay": weight_decay}`` and
    ``{"params": biases and norm weights, "weight_decay": 0.0}`` (see ``decays``)."""
    named = _named(module_or_named_params)
    groups = [
        {"params": [p for _, p in named if decays(p)], "weight_decay": weight_decay},
        {"params": [p for _, p in named if not decays(p)], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


_BLOCK = re.compile(r"\.(\d+)\.")


def transformer_layer_of(name: str):
    """The depth of a parameter in a GPT-like model, from its dotted name:

    * ``0`` for embeddings: the name starts with ``wte``, ``wpe`` or contains ``emb``;
    * ``i + 1`` for anything in block ``i`` of a list of blocks (``blocks.3.attn...`` → 4);
    * ``None`` for the rest (final LayerNorm, head): the top.
    """
    first = name.split(".", 1)[0]
    if first in ("wte", "wpe") or "emb" in first:
        return 0
    match = _BLOCK.search("." + name)
    return int(match.group(1)) + 1 if match else None


def layerwise_lr_groups(module_or_named_params, base_lr: float, decay: float, layer_of=transformer_layer_of,
                        weight_decay: float | None = None) -> list[dict]:
    """Layer-wise learning-rate decay for fine-tuning: lower layers learn more slowly.

    The bottom layers of a pre-trained model hold general features (what a token is), the
    top ones task-specific ones; fine-tuning should change the bottom least. With ``L`` the
    top depth (one more than the deepest layer ``layer_of`` reports; ``None`` means the top):

        lr(depth) = base_lr · decay ** (L - depth)         (the top gets base_lr)

    E.g. 4 blocks, ``decay=0.5``: head 1·base, block 3 ½, block 2 ¼, ..., embeddings 1/32.
    ``layer_of(name)`` gives each parameter's depth (an int, or None for the top); the default
    reads GPT names (``transformer_layer_of``). Each group gets ``"lr"`` and ``"layer"``; with
    ``weight_decay`` set, each layer is also split as in ``weight_decay_groups``.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"layerwise_lr_groups: decay must be in (0, 1], got {decay}")
    named = _named(module_or_named_params)
    depths = [layer_of(name) for name, _ in named]
    top = max((d for d in depths if d is not None), default=-1) + 1
    by_depth: dict[int, list] = {}
    for (name, p), depth in zip(named, depths):
        by_depth.setdefault(top if depth is None else depth, []).append(p)
    groups = []
    for depth in sorted(by_depth):
        lr = base_lr * decay ** (top - depth)
        params = by_depth[depth]
        if weight_decay is None:
            groups.append({"params": params, "lr": lr, "layer": depth})
        else:
            for g in weight_decay_groups([(str(i), p) for i, p in enumerate(params)], weight_decay):
                groups.append({**g, "lr": lr, "layer": depth})
    return groups
