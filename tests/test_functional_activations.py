"""relu, leaky_relu, tanh, sigmoid, gelu: gradient checks, fused vs composed, PyTorch, extremes."""

import numpy as np
import pytest
from helpers import check_op, requires_torch, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import to_numpy

TF = torch.nn.functional if torch is not None else None

SHAPES = [pytest.param((7,), id="vector"), pytest.param((2, 3, 4), id="batched"), pytest.param((1, 5, 1), id="size-1")]

# name: (ours, composed, torch reference)
ACTIVATIONS = {
    "relu": (F.relu, F.relu_composed, lambda x: torch.relu(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: F.leaky_relu_composed(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "tanh": (F.tanh, F.tanh_composed, lambda x: torch.tanh(x)),
    "sigmoid": (F.sigmoid, F.sigmoid_composed, lambda x: torch.sigmoid(x)),
    "gelu_tanh": (F.gelu, F.gelu_composed, lambda x: TF.gelu(x, approximate="tanh")),
    "gelu_exact": (lambda x: F.gelu(x, approximate="none"), lambda x: F.gelu_composed(x, "none"), lambda x: TF.gelu(x)),
}
NAMES = list(ACTIVATIONS)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_and_torch(name, shape, device):
    ours, _, reference = ACTIVATIONS[name]
    check_op(reference, ours, [shape], device)


@pytest.mark.parametrize("name", NAMES)
def test_fused_equals_composed(name, device):
    ours, composed, _ = ACTIVATIONS[name]
    x = np.random.default_rng(1).standard_normal((3, 4, 5)) * 3
    value_diff, grad_diff = max_difference(ours, composed, to_device(x, device))
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu_tanh", "gelu_exact", "relu", "leaky_relu"])
def test_extreme_inputs_stay_finite(name, device):
    ours, _, _ = ACTIVATIONS[name]
    x = tg.Tensor(to_device(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype="float32"), device), requires_grad=True)
    with tg.detect_anomaly():
        y = ours(x)
        y.backward(to_device(np.ones(5, dtype="float32"), device))
    assert np.isfinite(y.numpy()).all()
    assert np.isfinite(to_numpy(x.grad)).all()


def test_sigmoid_saturates_exactly():
    y = F.sigmoid(tg.tensor([-1000.0, 1000.0])).numpy()
    assert y.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name, device):
    ours, _, _ = ACTIVATIONS[name]
    x = tg.Tensor(to_device(np.linspace(-3, 3, 12, dtype="float32"), device), requires_grad=True)
    y = ours(x)
    y.backward(to_device(np.ones(12, dtype="float32"), device))
    assert y.dtype == np.float32
    assert x.grad.dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(tg.tensor([1.0]), approximate="sigmoid")


@requires_torch
def test_gelu_default_is_the_tanh_form():
    x = np.linspace(-4, 4, 9)
    expected = TF.gelu(torch.tensor(x), approximate="tanh").numpy()
    np.testing.assert_allclose(F.gelu(tg.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-15)
