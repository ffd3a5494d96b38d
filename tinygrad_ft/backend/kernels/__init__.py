"""Fused kernels, and the registry that hands them out: CuPy kernels on the GPU (``cuda``),
Numba kernels on the CPU (``cpu``, where Numba is installed: the ``fast`` extra).

On a GPU every NumPy-style line of an op (``t = x * x``, ``t *= c``, ``xp.tanh(t, out=t)``,
...) is one kernel launch that reads and writes the whole array. A fused kernel does the
whole formula in one pass over memory, which is what makes GELU, softmax, layer norm,
cross-entropy and Adam's update fast there. ``tinygrad_ft.backend.kernels.cuda`` holds them, written
with CuPy's documented ``cupy.ElementwiseKernel``, ``cupy.ReductionKernel`` and
``cupy.RawModule`` (CUDA C, one warp per row for the row-wise ops).

The plain ops (``tinygrad_ft.functional``, ``tinygrad_ft.optim.adam``) stay the reference:
each kernel's docstring names the op it must equal, and ``tests/test_gpu.py`` checks that
it does (float64 to 1e-10, float32 to the tolerance stated there).

How an op uses a kernel (the choice is made in the op, with ``fused``). One convention says
which path ran: forward sets ``self.backward_kernel`` to the fused backward, or to None when
it ran the plain lines, and backward starts from that::

    from ..backend.kernels import fused

    class GELUTanh(Function):
        def forward(self, x):
            kernel = fused("gelu_tanh_forward", x)  # None unless x is a CuPy array
            if kernel is not None:
                self.x, self.backward_kernel = x, fused("gelu_tanh_backward", x)
                return kernel(x)
            self.backward_kernel = None
            ...  # the plain NumPy/CuPy lines

        def backward(self, d_y):
            if self.backward_kernel is not None:  # the fused forward ran
                return self.backward_kernel(self.x, d_y)
            ...  # the plain lines

``fused`` returns None on the CPU, so the plain lines (the reference) run there. Without a
GPU, tests exercise the ops' fused path with ``use_stand_ins``: plain functions with the
kernels' signatures and semantics (``tinygrad_ft.backend.kernels.stand_ins``), on any device.

What each op calls (all arrays CuPy, float32 or float64; see each function's docstring):

* ``GELUTanh``: ``y = gelu_tanh_forward(x)``; keep x; ``d_x = gelu_tanh_backward(x, d_y)``.
* ``Softmax`` (axis -1 only): ``p = softmax_forward(x)``; keep p; ``d_x = softmax_backward(p, d_p)``.
  The same kernel suits the attention's softmax over keys if the scores are laid out with the
  keys last.
* ``LayerNorm``: ``y, mean, rstd = layer_norm_forward(x, w, b, eps)``; keep x, mean, rstd and
  w (no x̂); ``d_x, d_w, d_b = layer_norm_backward(d_y, x, mean, rstd, w, self.needs_input_grad)``.
* ``CrossEntropy``: ``losses, lse = cross_entropy_forward(z, t, ignore_index, ε)`` (per row;
  reduce on the device: the count of kept targets stays a device array, no ``int()``);
  ``d_z = cross_entropy_backward(z, t, lse, row_weights, ignore_index, ε)`` with
  ``row_weights`` = g, g / count or g per row. Out-of-range targets give NaN, not an error.
* ``Adam.update``: ``adam_update(param.data, grad, m, v, lr=, beta1=, beta2=, eps=,
  weight_decay=, step=t, decoupled=self.decoupled_weight_decay)``, in place, after the
  state exists and ``state["step"]`` is incremented.

``get_kernel(name)`` returns ``None`` when CuPy cannot be imported (a CPU-only machine: the
plain path runs), or when kernels are switched off (``set_enabled(False)`` or the
environment variable ``TINYGRAD_FT_KERNELS=0``, to compare fused against plain). It
returns the function even when CuPy is installed but the arrays are NumPy, so the op must
still check the array type: ``is_cupy_array`` does. An unknown name is a ``KeyError``
everywhere, so a typo cannot silently fall back to the plain path.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os

import numpy  # only to recognise host arrays

# name -> the plain op it must equal (what tests/test_gpu.py compares it with)
KERNELS = {
    "gelu_tanh_forward": "tinygrad_ft.functional.activations.GELUTanh.forward",
    "gelu_tanh_backward": "tinygrad_ft.functional.activations.GELUTanh.backward",
    "softmax_forward": "tinygrad_ft.functional.softmax.Softmax.forward (axis=-1)",
    "softmax_backward": "tinygrad_ft.functional.softmax.Softmax.backward (axis=-1)",
    "layer_norm_forward": "tinygrad_ft.functional.normalization.LayerNorm.forward",
    "layer_norm_backward": "tinygrad_ft.functional.normalization.LayerNorm.backward",
    "cross_entropy_forward": "tinygrad_ft.functional.cross_entropy.CrossEntropy.forward (per-row losses)",
    "cross_entropy_backward": "tinygrad_ft.functional.cross_entropy.CrossEntropy.backward",
    "adam_update": "tinygrad_ft.optim.adam.Adam.update (and AdamW's)",
}

_enabled = os.environ.get("TINYGRAD_FT_KERNELS", "1").strip().lower() not in ("0", "false", "no", "off")
@functools.cache
def importable(module: str) -> bool:
    """Whether ``module`` imports here (asked once per process): ImportError, or a library whose
    own libraries fail to load (CUDA for CuPy, a NumPy that Numba does not fit), count as no."""
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def cupy_available() -> bool:
    """Whether CuPy can be imported here. Says nothing about a GPU being present."""
    return importable("cupy")


def numba_available() -> bool:
    """Whether Numba can be imported here: then NumPy arrays get the CPU kernels."""
    return importable("numba")


def get_cpu_kernel(name: str):
    """The Numba kernel ``name`` (a function on NumPy arrays), or ``None`` where it cannot run
    (Numba absent, or kernels switched off); ``KeyError`` for an unknown name."""
    if name not in KERNELS:
        raise KeyError(f"no fused kernel named {name!r}; the kernels are: {', '.join(KERNELS)}")
    if not _enabled or not numba_available():
        return None
    from . import cpu

    return getattr(cpu, name)


def set_enabled(enabled: bool) -> bool:
    """Switch the fused kernels on or off for this process; returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


def is_enabled() -> bool:
    return _enabled


def get_kernel(name: str):
    """The fused kernel ``name`` (a function on CuPy arrays), or ``None`` where it cannot run.

    ``None`` when CuPy is absent or kernels are switched off; ``KeyError`` for a name that is
    not in ``KERNELS``. The CUDA code itself is compiled on the kernel's first call.
    """
    if name not in KERNELS:
        raise KeyError(f"no fused kernel named {name!r}; the kernels are: {', '.join(KERNELS)}")
    if not _enabled or not cupy_available():
        return None
    from . import cuda

    return getattr(cuda, name)


def is_cupy_array(x) -> bool:
    """True for a ``cupy.ndarray`` (without importing CuPy where it is absent)."""
    if not cupy_available():
        return False
    import cupy

    return isinstance(x, cupy.ndarray)


_stand_ins: dict = {}  # name -> function, only inside ``use_stand_ins`` (tests)


def fused(name: str, *arrays):
    """The fused kernel for an op on ``arrays``, or None: then the op runs its plain lines.

    The stand-in put in by ``use_stand_ins`` if there is one; else the CuPy kernel where every
    array is a CuPy array, the Numba kernel where every array is a float32/float64 NumPy array;
    else None (the strict device, other dtypes, kernels switched off, the library missing).
    """
    if name in _stand_ins:
        return _stand_ins[name]
    if all(isinstance(a, numpy.ndarray) and a.dtype in (numpy.float32, numpy.float64) for a in arrays):
        return get_cpu_kernel(name)
    kernel = get_kernel(name)
    return kernel if kernel is not None and all(is_cupy_array(a) for a in arrays) else None


@contextlib.contextmanager
def use_stand_ins(functions: dict):
    """Within the block, ``fused(name, ...)`` returns ``functions[name]`` on any device.

    For tests without a GPU: with plain functions that have the kernels' signatures, the ops
    take their fused path (what they keep for backward, how they call the kernels), which
    can then be checked against their plain path and by gradient checks.
    """
    unknown = set(functions) - set(KERNELS)
    if unknown:
        raise KeyError(f"no fused kernel named {sorted(unknown)}; the kernels are: {', '.join(KERNELS)}")
    previous = dict(_stand_ins)
    _stand_ins.update(functions)
    try:
        yield
    finally:
        _stand_ins.clear()
        _stand_ins.update(previous)


__all__ = [
    "KERNELS", "cupy_available", "fused", "get_cpu_kernel", "get_kernel", "is_cupy_array", "is_enabled", "numba_available",
    "set_enabled", "use_stand_ins",
]
