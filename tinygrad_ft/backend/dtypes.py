"""Dtypes: new floating-point tensors are float32 unless asked otherwise. CuPy uses NumPy's dtypes."""

from __future__ import annotations

import numpy

_default_float = numpy.dtype("float32")


def as_dtype(dtype):
    """A dtype from a name ("float32"), a NumPy type or a dtype; CuPy uses NumPy's dtypes."""
    try:
        return numpy.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"not a dtype: {dtype!r} (try 'float32' or 'float64')") from e


def is_floating(dtype) -> bool:
    return numpy.dtype(dtype).kind == "f"


def get_default_dtype():
    return _default_float


def set_default_dtype(dtype) -> None:
    """The dtype that new floating-point tensors and parameters get (float32 unless changed)."""
    global _default_float
    dtype = as_dtype(dtype)
    if not is_floating(dtype):
        raise TypeError(f"the default dtype must be floating point, got {dtype}")
    _default_float = dtype
