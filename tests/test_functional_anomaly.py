"""detect_anomaly() with the functional ops: the first NaN or inf raises, naming the op that made it."""

import numpy as np
import pytest
from helpers import to_device

import tinygrad_ft as tg
from tinygrad_ft import functional as F


def test_forward_nan_names_the_op(device):
    """A constant row with eps = 0: x̂ = 0/0."""
    x = tg.Tensor(to_device(np.ones((2, 3), dtype="float32"), device), requires_grad=True)
    nan_raised = pytest.raises(FloatingPointError, match="forward of LayerNorm.*NaN")
    with np.errstate(invalid="ignore", divide="ignore"), tg.detect_anomaly(), nan_raised:
        F.layer_norm(x, eps=0.0)


def test_log_of_a_negative_names_log(device):
    x = tg.Tensor(to_device(np.array([[1.0, -2.0, 3.0]], dtype="float32"), device), requires_grad=True)
    with np.errstate(invalid="ignore"), tg.detect_anomaly(), pytest.raises(FloatingPointError, match="forward of Log"):
        F.softmax(x.log())


def test_backward_overflow_names_the_op(device):
    """d_x = g Wᵀ overflows float32 although the forward was finite."""
    x = tg.Tensor(to_device(np.full((1, 2), 1e-30, dtype="float32"), device), requires_grad=True)
    w = tg.Tensor(to_device(np.full((2, 2), 3e38, dtype="float32"), device), requires_grad=True)
    y = F.linear(x, w)
    with np.errstate(over="ignore"), tg.detect_anomaly(), pytest.raises(FloatingPointError, match="backward of Linear.*inf"):
        y.backward(to_device(np.full((1, 2), 10.0, dtype="float32"), device))


class InfinitePull(tg.Function):
    """The identity, whose backward (wrongly) returns inf."""

    def forward(self, x):
        return x

    def backward(self, g):
        return g * self.xp.inf


def test_a_bad_backward_is_named_and_the_fused_ops_around_it_are_not(device):
    x = tg.Tensor(to_device(np.random.default_rng(0).standard_normal((2, 3)).astype("float32"), device), requires_grad=True)
    loss = F.cross_entropy(F.gelu(InfinitePull.apply(F.relu(x))), to_device(np.array([0, 2]), device))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="backward of InfinitePull"):
        loss.backward()


def test_without_anomaly_mode_nothing_is_checked(device):
    x = tg.Tensor(to_device(np.ones((2, 3), dtype="float32"), device), requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = F.layer_norm(x, eps=0.0)
    assert np.isnan(y.numpy()).all()
