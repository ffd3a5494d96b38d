"""clip_grad_norm_: PyTorch's numbers, new gradient arrays, and a norm that stays on the device."""

import math

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, backend_of, to_numpy
from tinygrad_ft.optim import clip_grad_norm_

try:
    import torch
except ImportError:
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def grads(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 3)), rng.standard_normal(3), np.asarray(rng.standard_normal())]


def ours_with(gs, device="cpu"):
    params = [tg.Tensor(asarray(np.zeros_like(g), device), requires_grad=True) for g in gs]
    for p, g in zip(params, gs):
        p.grad = asarray(g, device)
    return params


@requires_torch
@pytest.mark.parametrize("max_norm", [0.5, 100.0], ids=["clips", "leaves"])
@pytest.mark.parametrize("norm_type", [2.0, math.inf], ids=["l2", "inf"])
def test_clip_matches_torch_norm_and_gradients(max_norm, norm_type):
    gs = grads()
    params = ours_with(gs)
    norm = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for t, g in zip(ts, gs):
        t.grad = torch.tensor(g)
    t_norm = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(float(norm), t_norm.item(), rtol=0, atol=1e-12)
    for p, t in zip(params, ts):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=0, atol=1e-12)


def test_clip_gives_the_global_norm_and_scales_it_to_max_norm():
    params = ours_with([np.array([3.0, 0.0]), np.array([4.0])])
    norm = clip_grad_norm_(params, 1.0)
    assert float(norm) == 5.0
    np.testing.assert_allclose(np.concatenate([p.grad for p in params]), [0.6, 0.0, 0.8], rtol=1e-6)


def test_clip_replaces_gradients_and_never_writes_to_them():
    shared = np.full(3, 10.0)
    shared.setflags(write=False)
    a, b = tg.Tensor(np.zeros(3), requires_grad=True), tg.Tensor(np.zeros(3), requires_grad=True)
    a.grad = b.grad = shared
    clip_grad_norm_([a, b], 1.0)
    assert a.grad is not shared
    assert b.grad is not shared
    np.testing.assert_array_equal(shared, np.full(3, 10.0))


def test_clip_skips_parameters_without_gradient_and_keeps_the_dtype():
    with_grad = tg.Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    with_grad.grad = np.array([30.0, 40.0], dtype=np.float32)
    without = tg.Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    norm = clip_grad_norm_([with_grad, without], 5.0)
    assert without.grad is None
    assert with_grad.grad.dtype == np.float32
    assert norm.dtype == np.float32
    np.testing.assert_allclose(with_grad.grad, [3.0, 4.0], rtol=1e-6)


def test_clip_returns_a_0d_array_on_the_device_without_reading_it(device):
    params = ours_with(grads(), device)
    norm = clip_grad_norm_(params, 1.0)  # strict would raise on any NumPy mixing or host read
    assert backend_of(norm).name == device
    assert norm.shape == ()
    cpu_norm = clip_grad_norm_(ours_with(grads()), 1.0)
    np.testing.assert_allclose(to_numpy(norm), cpu_norm, rtol=1e-12)
