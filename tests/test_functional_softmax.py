"""softmax and log_softmax: any axis, gradient checks, fused vs composed, PyTorch, ±1000 logits."""

import numpy as np
import pytest
from helpers import check_op, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import to_numpy

CASES = [  # (shape, axis)
    pytest.param((6,), -1, id="vector"),
    pytest.param((3, 4), -1, id="rows"),
    pytest.param((3, 4), 0, id="columns"),
    pytest.param((2, 3, 4), 1, id="middle-axis"),
    pytest.param((2, 1, 3), 1, id="size-1-axis"),
    pytest.param((1, 2, 5), -1, id="size-1-batch"),
]
# A step of 1e-5, not 1e-6: log-softmax's loss has terms of size ~3 whose rounding (~1e-16 · 3 / h)
# would otherwise dominate the smallest gradient elements (~1e-3); truncation (~h²) stays ~1e-10.
EPS = 1e-5
FUNCTIONS = {"softmax": (F.softmax, F.softmax_composed), "log_softmax": (F.log_softmax, F.log_softmax_composed)}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape, axis", CASES)
def test_gradcheck_and_torch(name, shape, axis, device):
    ours = FUNCTIONS[name][0]
    reference = getattr(torch, name) if torch is not None else None
    check_op(lambda x: reference(x, dim=axis), lambda x: ours(x, axis=axis), [shape], device, eps=EPS)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_fused_equals_composed(name, axis, device):
    ours, composed = FUNCTIONS[name]
    x = np.random.default_rng(2).standard_normal((3, 4, 5)) * 4
    value_diff, grad_diff = max_difference(lambda t: ours(t, axis), lambda t: composed(t, axis), to_device(x, device))
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_logits_of_plus_minus_1000(name, device):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, -1000.0]], dtype="float32")
    x = tg.Tensor(to_device(logits, device), requires_grad=True)
    with tg.detect_anomaly():
        y = FUNCTIONS[name][0](x)
        y.backward(to_device(np.arange(9, dtype="float32").reshape(3, 3), device))
    values, grad = y.numpy(), to_numpy(x.grad)
    assert np.isfinite(values).all()
    assert np.isfinite(grad).all()
    probs = values if name == "softmax" else np.exp(values)
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], atol=1e-6)
    if name == "log_softmax":
        assert values[0, 1] == pytest.approx(-2000.0)  # exact, where softmax then log would give -inf


def test_softmax_gradient_is_not_a_plain_sum():
    """Σ softmax = 1, so a check by sum would pass a wrong backward; ours is non-zero for a
    random cotangent and matches the Jacobian pⱼ(δᵢⱼ - pᵢ) written out."""
    x = np.random.default_rng(3).standard_normal(4)
    g = np.random.default_rng(4).standard_normal(4)
    t = tg.Tensor(x, requires_grad=True)
    F.softmax(t).backward(g)
    p = np.exp(x) / np.exp(x).sum()
    jacobian = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(t.grad, jacobian @ g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float32_stays_float32(name, device):
    x = tg.Tensor(to_device(np.ones((2, 3), dtype="float32"), device), requires_grad=True)
    y = FUNCTIONS[name][0](x)
    y.backward(to_device(np.ones((2, 3), dtype="float32"), device))
    assert y.dtype == np.float32
    assert x.grad.dtype == np.float32
