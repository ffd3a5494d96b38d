"""Activation layers: the functions of ``tinygrad_ft.functional`` as modules, to put in a
``Sequential`` or to choose by name. They have no parameters."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class ReLU(Module):
    """max(0, x)."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope`` · x otherwise."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e⁻ˣ)."""

    def forward(self, x):
        return F.sigmoid(x)


class GELU(Module):
    """x Φ(x); ``approximate="tanh"`` (the default here, GPT-2's) or ``"none"`` (exact, via erf).
    Note PyTorch's ``nn.GELU`` defaults to ``"none"``."""

    def __init__(self, approximate: str = "tanh"):
        super().__init__()
        if approximate not in ("tanh", "none"):
            raise ValueError(f"GELU: approximate must be 'tanh' or 'none', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """exp(x) / Σ exp(x) along ``axis`` (the last, by default)."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log softmax(x) along ``axis``, computed stably."""

    def forward(self, x):
        return F.log_softmax(x, axis=self.axis)


ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,  # the tanh approximation, as GPT-2
    "gelu_exact": lambda: GELU(approximate="none"),
}


def get_activation(activation) -> Module:
    """An activation module from a name in ``ACTIVATIONS`` (or a module, returned as it is)."""
    if isinstance(activation, Module):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)} or pass a module")
    return ACTIVATIONS[activation]()
