"""Layers and models as objects that hold their parameters, in PyTorch's shape:

    from tinygrad_ft import nn

    model = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 2))
    logits = model(x)
    model.state_dict(), model.freeze(except_=["2"]), model.to("cuda"), print(model)

Files: ``parameter`` (Parameter), ``module`` (Module: finding parameters, state_dict,
freezing, devices), ``containers`` (ModuleList, Sequential), ``init`` (initialisers),
``layers`` (Linear, Embedding, LayerNorm, Dropout), ``activations``, ``attention``
(MultiHeadAttention, and KVCache for generation), ``feedforward`` (FeedForward), ``checkpoint`` (a state dict, optimizer
state and metadata in one ``.npz`` that loads without pickle, written atomically).
"""

from . import init
from .activations import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, get_activation
from .attention import KVCache, LayerKV, MultiHeadAttention
from .containers import ModuleList, Sequential
from .feedforward import FeedForward
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import IncompatibleKeys, Module, StateDictError
from .parameter import Parameter

__all__ = [
    "GELU",
    "Dropout",
    "Embedding",
    "FeedForward",
    "IncompatibleKeys",
    "KVCache",
    "LayerKV",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Module",
    "ModuleList",
    "MultiHeadAttention",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "get_activation",
    "init",
]
