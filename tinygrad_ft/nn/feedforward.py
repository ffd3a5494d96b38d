"""The transformer's feed-forward block (the "MLP"): the same small network at every position.

    x (..., C) ─► c_fc ─► activation ─► c_proj ─► dropout ─► (..., C),   c_fc: C → hidden

Attention mixes information between positions; this block then transforms each position on
its own, through a wider hidden layer (4·C in GPT-2).
"""

from __future__ import annotations

from .activations import get_activation
from .layers import Dropout, Linear
from .module import Module


class FeedForward(Module):
    """``FeedForward(embed_dim, hidden_dim=None, activation="gelu", dropout=0.0, bias=True)``.

    ``hidden_dim`` defaults to 4·embed_dim. ``activation``: a name (``"gelu"`` is GPT-2's tanh
    approximation; ``"gelu_exact"``, ``"relu"``, ``"tanh"``, ...) or a module.
    """

    def __init__(self, embed_dim: int, hidden_dim: int | None = None, activation="gelu", dropout: float = 0.0,
                 bias: bool = True, device: str = "cpu", dtype=None):
        super().__init__()
        hidden_dim = 4 * embed_dim if hidden_dim is None else hidden_dim
        self.c_fc = Linear(embed_dim, hidden_dim, bias=bias, device=device, dtype=dtype)
        self.act = get_activation(activation)
        self.c_proj = Linear(hidden_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))
