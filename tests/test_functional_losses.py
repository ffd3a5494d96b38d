"""binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss."""

import numpy as np
import pytest
from helpers import check_op, compare_with_torch, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import to_numpy

TF = torch.nn.functional if torch is not None else None
SHAPES = [pytest.param((5,), id="vector"), pytest.param((2, 3, 2), id="batched"), pytest.param((1, 4, 1), id="size-1")]
REDUCTIONS = ["mean", "sum", "none"]


def probs_and_targets(shape, seed=0):
    """Probabilities away from 0 and 1 (where the clamp would kink the function), and soft targets."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)


def check_at(reference, ours, arrays, device, tol=1e-7, eps=1e-6):
    """check_op at given inputs (not standard normals): a gradient check, then PyTorch."""
    result = tg.gradcheck(ours, *[to_device(a, device) for a in arrays], tol=tol, eps=eps)
    assert result.ok, str(result)
    if torch is not None:
        compare_with_torch(reference, ours, arrays, device=device)


# ---- binary cross-entropy on probabilities -------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bce_gradcheck_and_torch(shape, reduction, device):
    check_at(
        lambda p, t: TF.binary_cross_entropy(p, t, reduction=reduction),
        lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction),
        probs_and_targets(shape),
        device,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_fused_equals_composed(reduction, device):
    probs, targets = probs_and_targets((3, 4), seed=1)
    def fused(p, t):
        return F.binary_cross_entropy(p, t, reduction)
    def composed(p, t):
        return F.binary_cross_entropy_composed(p, t, reduction)
    value_diff, grad_diff = max_difference(fused, composed, to_device(probs, device), to_device(targets, device))
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy's log(0) = -inf, then clamped
def test_bce_clamps_the_log_at_minus_100_like_torch(device):
    probs = tg.Tensor(to_device(np.array([0.0, 1.0, 0.0, 1.0], dtype="float32"), device), requires_grad=True)
    targets = to_device(np.array([1.0, 0.0, 0.0, 1.0], dtype="float32"), device)
    with tg.detect_anomaly():
        losses = F.binary_cross_entropy(probs, targets, reduction="none")
        losses.sum().backward()
    np.testing.assert_allclose(losses.numpy(), [100, 100, 0, 0])
    assert np.isfinite(to_numpy(probs.grad)).all()
    if torch is not None:
        p = torch.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
        TF.binary_cross_entropy(p, torch.tensor([1.0, 0.0, 0.0, 1.0]), reduction="sum").backward()
        np.testing.assert_allclose(to_numpy(probs.grad), p.grad.numpy(), rtol=1e-6)


def test_bce_rejects_probabilities_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\].*1\.5.*with_logits"):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), np.array([0.0, 1.0]))


# ---- binary cross-entropy on logits --------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bce_with_logits_gradcheck_and_torch(shape, reduction, device):
    def reference(x, t):
        return TF.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    check_op(reference, lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction), [shape, shape], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_fused_equals_composed(reduction, device):
    logits, targets = np.random.default_rng(2).standard_normal((3, 4)) * 3, probs_and_targets((3, 4), seed=2)[1]
    def fused(x, t):
        return F.binary_cross_entropy_with_logits(x, t, reduction)
    def composed(x, t):
        return F.binary_cross_entropy_with_logits_composed(x, t, reduction)
    value_diff, grad_diff = max_difference(fused, composed, to_device(logits, device), to_device(targets, device))
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


def test_bce_with_logits_of_plus_minus_1000(device):
    logits = tg.Tensor(to_device(np.array([-1000.0, -1000.0, 1000.0, 1000.0], dtype="float32"), device), requires_grad=True)
    targets = to_device(np.array([0.0, 1.0, 0.0, 1.0], dtype="float32"), device)
    with tg.detect_anomaly():
        losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        losses.sum().backward()
    np.testing.assert_allclose(losses.numpy(), [0, 1000, 1000, 0])
    np.testing.assert_allclose(to_numpy(logits.grad), [0, -1, 1, 0])


# ---- mean squared error --------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_mse_gradcheck_and_torch(shape, reduction, device):
    check_op(
        lambda p, t: TF.mse_loss(p, t, reduction=reduction),
        lambda p, t: F.mse_loss(p, t, reduction=reduction),
        [shape, shape],
        device,
    )


def test_mse_of_shapes_that_would_broadcast_is_refused():
    # (4, 1) against (4,) would broadcast to (4, 4) and average 16 wrong differences
    with pytest.raises(ValueError, match=r"mse_loss: targets of shape \(4,\) do not match the input of shape \(4, 1\)"):
        F.mse_loss(tg.tensor(np.zeros((4, 1))), np.arange(4.0))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_fused_equals_composed(reduction, device):
    pred, target = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    value_diff, grad_diff = max_difference(
        lambda p, t: F.mse_loss(p, t, reduction),
        lambda p, t: F.mse_loss_composed(p, t, reduction),
        to_device(pred, device),
        to_device(target, device),
    )
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


# ---- all three ----------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss])
def test_constant_targets_float32_and_reduction_check(loss, device):
    x = tg.Tensor(to_device(np.full((2, 3), 0.25, dtype="float32"), device), requires_grad=True)
    out = loss(x, np.full((2, 3), 0.5))  # a float64 NumPy array: a constant, cast to x's dtype and device
    out.backward()
    assert out.dtype == np.float32
    assert x.grad.dtype == np.float32
    assert out.shape == ()
    with pytest.raises(ValueError, match="reduction"):
        loss(x, np.zeros((2, 3)), reduction="avg")
