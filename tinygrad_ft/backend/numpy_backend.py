"""The CPU device: NumPy arrays. ``Backend`` is also the base class of every other device:
its methods are the few things an array module spells differently (copies across the border,
scatter-add, erf, random numbers)."""

from __future__ import annotations

import numpy


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot give, or two devices were mixed."""


class Backend:
    """One device: its name, its array module ``xp``, and the few things ``xp`` spells differently.

    Subclasses fill in ``name``, ``xp`` and ``array_type``; the defaults suit NumPy.
    """

    name = "cpu"
    xp = numpy
    array_type = numpy.ndarray

    def owns(self, array) -> bool:
        return isinstance(array, self.array_type)

    def from_host(self, array: numpy.ndarray):
        """Copy a NumPy array onto this device (explicitly: the only way in)."""
        return array

    def to_host(self, array) -> numpy.ndarray:
        """Copy an array of this device back to a NumPy array (explicitly: the only way out).

        A copy on the CPU too, so that writing to the result never changes the tensor, on any device."""
        return numpy.array(array, copy=True)

    def scatter_add(self, target, index, values) -> None:
        """target[index] += values, adding repeated indices up (unlike plain ``+=``).

        ``numpy.add.at`` does this for any index, slowly. The common case, rows picked by a
        1-D array of ids (an embedding's backward), goes faster by sorting: equal ids become
        neighbours, ``add.reduceat`` sums each run, and each distinct row is added once.
        """
        if isinstance(index, numpy.ndarray) and index.dtype.kind in "iu" and values.ndim == target.ndim + index.ndim - 1:
            ids = index.reshape(-1)
            rows = values.reshape((ids.size,) + target.shape[1:])
            order = numpy.argsort(ids, kind="stable")
            ids = ids[order]
            starts = numpy.flatnonzero(numpy.r_[True, ids[1:] != ids[:-1]]) if ids.size else ids
            if ids.size:
                target[ids[starts]] += numpy.add.reduceat(rows[order], starts, axis=0)
            return
        self.xp.add.at(target, index, values)

    def erf(self, x):
        """The error function element-wise (NumPy has none; math.erf is exact to float64)."""
        import math

        return numpy.vectorize(math.erf, otypes=[x.dtype])(x)

    def seed(self, seed: int) -> None:
        self.generator = numpy.random.default_rng(seed)

    def random(self, shape, dtype):
        """Uniform [0, 1) numbers of ``shape`` from this device's seeded generator."""
        return self.generator.random(shape, dtype=dtype)

    def __init__(self, seed: int = 0):
        self.seed(seed)

    def __repr__(self):
        return f"Backend({self.name!r})"
