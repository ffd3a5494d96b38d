"""One-line op tests: ``check_op(reference, ours, shapes, device)``.

``ours`` takes tensors and returns a tensor. The check draws float64 inputs of the given
shapes, gradient-checks ``ours`` on ``device`` with a random cotangent, and, where PyTorch is
installed and a ``reference`` (a function of torch tensors) is given, compares values and
gradients with it.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, to_numpy

try:
    import torch
except ImportError:  # the PyTorch cross-checks are skipped, not failed
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def random_inputs(shapes, seed=0, positive=False, low=None):
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        a = rng.standard_normal(shape)
        if positive:
            a = np.abs(a) + 0.5
        arrays.append(np.asarray(a, dtype=np.float64))  # shape () gives a float: it would become float32
    return arrays


def to_device(array, device):
    return asarray(array, device)


def check_op(reference, ours, shapes, device="cpu", positive=False, tol=1e-7, eps=1e-6, seed=0, extra=()):
    """Gradient-check ``ours`` on ``device`` and, where torch is present, match ``reference``.

    ``extra`` are non-differentiable arguments (NumPy arrays: indices, masks) passed after the
    differentiable inputs, to both functions.
    """
    arrays = random_inputs(shapes, seed=seed, positive=positive)
    extra_dev = [to_device(e, device) if isinstance(e, np.ndarray) else e for e in extra]
    inputs = [to_device(a, device) for a in arrays]
    result = tg.gradcheck(lambda *xs: ours(*xs[: len(arrays)], *xs[len(arrays):]), *inputs, *extra_dev, tol=tol, eps=eps)
    assert result.ok, str(result)
    if reference is not None and torch is not None:
        compare_with_torch(reference, ours, arrays, extra, device)
    return result


def compare_with_torch(reference, ours, arrays, extra=(), device="cpu", atol=1e-10):
    """Values and gradients of ``ours`` equal ``reference``'s (in torch), in float64."""
    cot = np.random.default_rng(123).standard_normal
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    textra = [torch.tensor(e) if isinstance(e, np.ndarray) else e for e in extra]
    t_out = reference(*ts, *textra)
    xs = [tg.Tensor(to_device(a, device), requires_grad=True) for a in arrays]
    extra_dev = [to_device(e, device) if isinstance(e, np.ndarray) else e for e in extra]
    out = ours(*xs, *extra_dev)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), atol=atol, rtol=1e-9, err_msg="values differ from PyTorch")
    seed = cot(out.shape)
    t_out.backward(torch.tensor(seed))
    out.backward(to_device(seed, device))
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is None:
            assert x.grad is None or not np.any(to_numpy(x.grad)), f"input {i}: PyTorch gives no gradient"
            continue
        np.testing.assert_allclose(to_numpy(x.grad), t.grad.numpy(), atol=atol, rtol=1e-9, err_msg=f"gradient of input {i} "
                                                                                                   "differs from PyTorch")
