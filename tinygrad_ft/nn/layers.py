"""The basic layers: ``Linear``, ``Embedding``, ``LayerNorm``, ``Dropout``.

Each holds its parameters and calls the matching function of ``tinygrad_ft.functional``,
where the math and the hand-derived backward live. Each checks its input's shape first, so a
mistake names the layer, what it expected and what it got.
"""

from __future__ import annotations

import math

from .. import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def check_sizes(layer: str, **sizes) -> None:
    """A ValueError naming the layer and the size if any size is not a positive integer."""
    for name, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {size!r}")


def _check_last_axis(layer: Module, x, size: int, what: str) -> None:
    shape = tuple(x.shape)
    if not shape or shape[-1] != size:
        raise ValueError(f"{layer.describe()}: expected an input whose last axis is {size} ({what}), got shape {shape}")


class Linear(Module):
    """y = x W + b with W (in_features, out_features) and b (out_features,).

    The weight is stored (in, out), the transpose of PyTorch's, so the forward is ``x @ W``.
    Initialised as PyTorch does: W and b uniform in ±1/√in_features, which keeps the output's
    scale close to the input's.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: str = "cpu", dtype=None):
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = init.uniform_(Parameter.empty((in_features, out_features), device, dtype), -bound, bound)
        self.bias = init.uniform_(Parameter.empty((out_features,), device, dtype), -bound, bound) if bias else None

    def forward(self, x):
        _check_last_axis(self, x, self.in_features, "in_features")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: integer ids (any shape
    (...)) pick rows, giving (..., embedding_dim). Initialised N(0, 1), as in PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, device: str = "cpu", dtype=None):
        super().__init__()
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = init.normal_(Parameter.empty((num_embeddings, embedding_dim), device, dtype))

    def forward(self, ids):
        dtype = getattr(ids, "dtype", None)
        if dtype is not None and dtype.kind not in "iu":
            raise TypeError(f"{self.describe()}: expected integer ids, got dtype {dtype} of shape {tuple(ids.shape)}")
        try:
            return F.embedding(ids, self.weight)
        except ValueError as e:  # an id out of range: say which table
            raise ValueError(f"{self.describe()}: {e}") from e

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalise over the last axis to mean 0 and variance 1, then scale by ``weight`` (init 1)
    and shift by ``bias`` (init 0; no bias with ``bias=False``)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, bias: bool = True, device: str = "cpu", dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError("LayerNorm normalises over the last axis only: normalized_shape must be an int or (int,), got "
                                 f"{normalized_shape}")
            normalized_shape = normalized_shape[0]
        self.normalized_shape, self.eps = (int(normalized_shape),), eps
        self.weight = init.ones_(Parameter.empty(self.normalized_shape, device, dtype))
        self.bias = init.zeros_(Parameter.empty(self.normalized_shape, device, dtype)) if bias else None

    def forward(self, x):
        _check_last_axis(self, x, self.normalized_shape[0], "normalized_shape")
        return F.layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, bias={self.bias is not None}"


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by 1/(1-p);
    in evaluation (``model.eval()``), pass the input through unchanged."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping an element and must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
