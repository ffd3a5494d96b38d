"""cross_entropy: class axis last, ignore_index, reductions, label smoothing, hostile logits."""

import numpy as np
import pytest
from helpers import check_op, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import to_numpy

EPS = 1e-5  # see test_functional_softmax: the loss's rounding, not the gradient, limits a 1e-6 step


def torch_cross_entropy(logits, targets, **kwargs):
    """PyTorch's cross_entropy wants the classes on axis 1; ours has them last: flatten to (N, C)."""
    out = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), **kwargs)
    return out.reshape(targets.shape) if kwargs.get("reduction") == "none" else out


CASES = [  # (logits shape, targets, keyword arguments)
    pytest.param((4, 5), [0, 4, 2, 2], {}, id="N,C"),
    pytest.param((2, 3, 5), [[1, 0, -100], [4, 4, 3]], {}, id="B,T,C-ignored"),
    pytest.param((1, 1, 3), [[2]], {}, id="size-1"),
    pytest.param((5,), 3, {}, id="one-row"),
    pytest.param((2, 3, 4), [[1, -100, 0], [3, 3, 2]], {"reduction": "sum"}, id="sum"),
    pytest.param((2, 3, 4), [[1, -100, 0], [3, 3, 2]], {"reduction": "none"}, id="none"),
    pytest.param((3, 4), [1, -100, 3], {"label_smoothing": 0.1}, id="smoothing"),
    pytest.param(
        (2, 2, 4), [[1, 7], [0, 7]], {"label_smoothing": 0.2, "reduction": "none", "ignore_index": 7}, id="smoothing-none"
    ),
    pytest.param((3, 4), [2, 0, 2], {"ignore_index": 2}, id="ignore-a-real-class"),
]


@pytest.mark.parametrize("shape, targets, kwargs", CASES)
def test_gradcheck_and_torch(shape, targets, kwargs, device):
    targets = np.array(targets)
    check_op(
        lambda z, t: torch_cross_entropy(z, t, **kwargs),
        lambda z, t: F.cross_entropy(z, t, **kwargs),
        [shape],
        device,
        extra=(targets,),
        eps=EPS,
    )


@pytest.mark.parametrize("shape, targets, kwargs", CASES)
def test_fused_equals_composed(shape, targets, kwargs, device):
    logits = np.random.default_rng(5).standard_normal(shape) * 3
    targets = to_device(np.array(targets), device)
    value_diff, grad_diff = max_difference(
        lambda z: F.cross_entropy(z, targets, **kwargs),
        lambda z: F.cross_entropy_composed(z, targets, **kwargs),
        to_device(logits, device),
    )
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


def test_gradient_is_softmax_minus_onehot_over_count():
    logits = np.random.default_rng(6).standard_normal((3, 4))
    z = tg.Tensor(logits, requires_grad=True)
    F.cross_entropy(z, np.array([1, -100, 3])).backward()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = probs - np.eye(4)[[1, 0, 3]]
    expected[1] = 0  # ignored
    np.testing.assert_allclose(z.grad, expected / 2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_target_ignored_gives_zero_not_nan(reduction, device):
    z = tg.Tensor(to_device(np.random.default_rng(7).standard_normal((2, 3, 4)).astype("float32"), device), requires_grad=True)
    targets = to_device(np.full((2, 3), -100), device)
    with tg.detect_anomaly():
        loss = F.cross_entropy(z, targets, reduction=reduction)
        loss.backward(to_device(np.ones(loss.shape, dtype="float32"), device))
    assert not loss.numpy().any()
    assert not to_numpy(z.grad).any()


def test_logits_of_plus_minus_1000(device):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [-1000.0, -1000.0, -1000.0]], dtype="float32")
    z = tg.Tensor(to_device(logits, device), requires_grad=True)
    with tg.detect_anomaly():
        losses = F.cross_entropy(z, to_device(np.array([1, 2, 0]), device), reduction="none", label_smoothing=0.1)
        losses.sum().backward()
    assert np.isfinite(losses.numpy()).all()
    assert np.isfinite(to_numpy(z.grad)).all()
    # row 0: log-probs (0, -2000, -1000); row 1: (-2000, 0, 0) - log 2; row 2: all -log 3
    expected = [0.9 * 2000 + 0.1 * 3000 / 3, np.log(2) + 0.1 * 2000 / 3, np.log(3)]
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5)


def test_target_out_of_range_names_value_and_classes(device):
    z = tg.Tensor(to_device(np.zeros((2, 5), dtype="float32"), device))
    with pytest.raises(ValueError, match=r"target 5 .*5 classes"):
        F.cross_entropy(z, to_device(np.array([0, 5]), device))
    with pytest.raises(ValueError, match=r"target -3 .*5 classes"):
        F.cross_entropy(z, to_device(np.array([-3, 1]), device))


def test_bad_arguments():
    z = tg.zeros((2, 3))
    with pytest.raises(ValueError, match="do not match"):
        F.cross_entropy(z, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integers"):
        F.cross_entropy(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(z, np.array([0, 1]), label_smoothing=1.5)


def test_targets_may_be_a_tensor_and_float32_stays_float32(device):
    z = tg.Tensor(to_device(np.random.default_rng(8).standard_normal((2, 3, 4)).astype("float32"), device), requires_grad=True)
    targets = tg.Tensor(to_device(np.array([[0, 1, 2], [3, -100, 1]]), device))
    loss = F.cross_entropy(z, targets)
    loss.backward()
    assert loss.dtype == np.float32
    assert z.grad.dtype == np.float32
    assert loss.shape == ()
