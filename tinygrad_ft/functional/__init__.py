"""Functional layers with hand-derived gradients, imported as ``F``:

    from tinygrad_ft import functional as F
    loss = F.cross_entropy(F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2), targets)

Each op is one ``Function`` whose backward is written from the math (derivation in the
docstring above it), not composed from smaller ops: one node in the graph, few temporaries.
``tinygrad_ft.testing.composed`` builds the same functions from primitive ops, and the tests
check that both agree.

One idea per file: ``activations``, ``softmax``, ``cross_entropy``, ``losses`` (binary
cross-entropy, mean squared error), ``linear``, ``normalization``, ``embedding``,
``dropout``, ``attention``.
"""

from .activations import gelu, leaky_relu, relu, sigmoid, tanh
from .attention import scaled_dot_product_attention
from .cross_entropy import cross_entropy
from .dropout import dropout
from .embedding import embedding
from .linear import linear
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss
from .normalization import layer_norm
from .softmax import log_softmax, softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]
