"""Embedding lookup: each integer id picks a row of the weight table."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import backend_of
from .arguments import checked_indices


class Embedding(Function):
    """out[...] = weight[ids[...]]: ids of any shape (...), weight (V, C), out (..., C).

    Each output row is a copy of one weight row, so dL/dweight[v] is the sum of the gradients
    of every output row that looked up id v:

        dL/dweight[v] = Σ_{positions p with ids[p] = v} g[p]

    A repeated id must add up its gradients; plain ``d_weight[ids] += g`` would keep only one
    of them, so this is the backend's scatter-add.
    """

    def forward(self, weight, ids):
        self.ids, self.weight_shape = ids, weight.shape
        return self.xp.take(weight, ids, axis=0)

    def backward(self, d_out):
        dim = self.weight_shape[1]
        d_weight = self.xp.zeros(self.weight_shape, dtype=d_out.dtype)
        backend_of(d_weight).scatter_add(d_weight, self.ids.reshape(-1), d_out.reshape(-1, dim))
        return d_weight, None


def embedding(ids, weight: Tensor) -> Tensor:
    """The rows of ``weight`` (V, C) that integer ``ids`` (any shape (...)) name: (..., C).

    An id outside 0..V-1 raises ValueError naming it (checked on the host when ``ids`` come
    from there, so a GPU never waits for it; see ``checked_indices``).
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got shape {weight.shape}")
    num_embeddings = weight.shape[0]
    ids = checked_indices(ids, weight.device, "embedding: ids", num_embeddings, lambda bad: (
        f"embedding: id {bad} is out of range for an embedding table of {num_embeddings} rows (ids must be in "
        f"0..{num_embeddings - 1})"))
    return Embedding.apply(weight, ids)

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def embedding_composed(ids, weight: Tensor) -> Tensor:
    return weight[ids]
