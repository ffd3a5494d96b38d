"""Functional layers with hand-derived gradients, imported as ``F``:

    from tinygrad_ft import functional as F
    loss = F.cross_entropy(F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2), targets)

Each op is one ``Function`` whose backward is written from the math (derivation in the
docstring above it), not composed from smaller ops: one node in the graph, few temporaries.
Beside each op, in the same file, ``<op>_composed`` builds the same function from primitive
ops (autograd derives its gradient): the tests check that both agree (``COMPOSED`` pairs them).

One idea per file: ``activations``, ``softmax``, ``cross_entropy``, ``losses`` (binary
cross-entropy, mean squared error), ``linear``, ``normalization``, ``embedding``,
``dropout``, ``attention``; and the ops' boundary: ``arguments`` (tensors, indices and masks
onto the right device) and ``reduction`` (a loss's mean, sum or none).
"""

from .activations import (
    gelu,
    gelu_composed,
    leaky_relu,
    leaky_relu_composed,
    relu,
    relu_composed,
    sigmoid,
    sigmoid_composed,
    tanh,
    tanh_composed,
)
from .attention import packed_self_attention, scaled_dot_product_attention, scaled_dot_product_attention_composed
from .cross_entropy import cross_entropy, cross_entropy_composed
from .dropout import dropout, dropout_composed
from .embedding import embedding, embedding_composed
from .linear import linear, linear_composed
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_composed,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_composed,
    mse_loss,
    mse_loss_composed,
)
from .normalization import layer_norm, layer_norm_composed
from .softmax import log_softmax, log_softmax_composed, softmax, softmax_composed

# each op beside its reference composed from primitive ops (the tests check that they agree)
COMPOSED = {
    "binary_cross_entropy": binary_cross_entropy_composed,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits_composed,
    "cross_entropy": cross_entropy_composed,
    "dropout": dropout_composed,
    "embedding": embedding_composed,
    "gelu": gelu_composed,
    "layer_norm": layer_norm_composed,
    "leaky_relu": leaky_relu_composed,
    "linear": linear_composed,
    "log_softmax": log_softmax_composed,
    "mse_loss": mse_loss_composed,
    "relu": relu_composed,
    "scaled_dot_product_attention": scaled_dot_product_attention_composed,
    "sigmoid": sigmoid_composed,
    "softmax": softmax_composed,
    "tanh": tanh_composed,
}

__all__ = [
    "COMPOSED",
    "binary_cross_entropy",
    "binary_cross_entropy_composed",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_composed",
    "cross_entropy",
    "cross_entropy_composed",
    "dropout",
    "dropout_composed",
    "embedding",
    "embedding_composed",
    "gelu",
    "gelu_composed",
    "layer_norm",
    "layer_norm_composed",
    "leaky_relu",
    "leaky_relu_composed",
    "linear",
    "linear_composed",
    "log_softmax",
    "log_softmax_composed",
    "mse_loss",
    "mse_loss_composed",
    "packed_self_attention",
    "relu",
    "relu_composed",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_composed",
    "sigmoid",
    "sigmoid_composed",
    "softmax",
    "softmax_composed",
    "tanh",
    "tanh_composed",
]
