"""Initialisation: fill a parameter's array in place with numbers drawn from a distribution.

The numbers come from the seeded generator of the parameter's device
(``tinygrad_ft.manual_seed``), so a model built twice after the same seed is the same model.
Each function writes into ``tensor.data`` (no graph is recorded) and returns the tensor.
"""

from __future__ import annotations

from ..backend import as_dtype, get_backend


def _draw_dtype(tensor):
    # the generators draw float32 or float64; anything else is drawn in float32 and cast
    return tensor.dtype if tensor.dtype in (as_dtype("float32"), as_dtype("float64")) else as_dtype("float32")


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Uniform numbers in [a, b)."""
    u = get_backend(tensor.device).random(tensor.shape, _draw_dtype(tensor))
    u *= b - a
    u += a
    tensor.data[...] = u
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Normal numbers with mean ``mean`` and standard deviation ``std``."""
    z = get_backend(tensor.device).generator.standard_normal(tensor.shape, dtype=_draw_dtype(tensor))
    z *= std
    z += mean
    tensor.data[...] = z
    return tensor


def constant_(tensor, value: float):
    tensor.data[...] = value
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)
