"""Optimizers: the same updates as torch.optim, in place, never touching gradients, groups honoured."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray
from tinygrad_ft.optim import SGD, Adam, AdamW

try:
    import torch
except ImportError:
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

SHAPES = [(3, 4), (4,), ()]


def initial_and_gradients(steps=10, seed=0):
    rng = np.random.default_rng(seed)
    params = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    grads = [[np.asarray(rng.standard_normal(s)) for s in SHAPES] for _ in range(steps)]
    return params, grads


def run_ours(make, steps=10, device="cpu"):
    initial, grads = initial_and_gradients(steps)
    params = [tg.Tensor(asarray(a, device), requires_grad=True) for a in initial]
    opt = make(params)
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = asarray(gi, device)
        opt.step()
    return [p.numpy() for p in params]


def run_torch(make, steps=10):
    initial, grads = initial_and_gradients(steps)
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in initial]
    opt = make(params)
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
    return [p.detach().numpy() for p in params]


CASES = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd-momentum": (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "sgd-nesterov": (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    "sgd-weight-decay": (lambda ps: SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.05),
                         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.05)),
    "adam": (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam-l2": (lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adamw": (lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1), lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
}


@requires_torch
@pytest.mark.parametrize("case", list(CASES))
def test_ten_steps_match_torch_optim_in_float64(case):
    ours, theirs = CASES[case]
    for a, b in zip(run_ours(ours), run_torch(theirs)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["sgd-nesterov", "adam-l2", "adamw"])
def test_every_device_gives_the_cpu_numbers(case, device):
    ours, _ = CASES[case]
    for a, b in zip(run_ours(ours, steps=3, device=device), run_ours(ours, steps=3)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_adamw_decouples_weight_decay_from_the_gradient():
    # with a zero gradient AdamW's moments stay 0, so only the decay acts: θ ← (1 - ηλ) θ exactly;
    # Adam's L2 term λθ goes through the moments and is normalised into steps of about η
    theta = np.array([10.0, 1.0])
    results = {}
    for name, cls in (("adam", Adam), ("adamw", AdamW)):
        p = tg.Tensor(theta.copy(), requires_grad=True)
        opt = cls([p], lr=0.1, weight_decay=0.1)
        for _ in range(5):
            p.grad = np.zeros(2)
            opt.step()
        results[name] = p.numpy()
    np.testing.assert_allclose(results["adamw"], theta * (1 - 0.1 * 0.1) ** 5, rtol=1e-14)
    assert not np.allclose(results["adam"], results["adamw"])
    np.testing.assert_allclose(theta - results["adam"], [0.5, 0.5], rtol=0.02)  # ~η per step, whatever the size


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: Adam(ps, weight_decay=0.1), lambda ps: AdamW(ps)])
def test_step_never_writes_to_gradients_even_shared_ones(make):
    shared = np.ones((2, 2))
    shared.setflags(write=False)  # any in-place write would raise
    a, b = tg.Tensor(np.zeros((2, 2)), requires_grad=True), tg.Tensor(np.ones((2, 2)), requires_grad=True)
    opt = make([a, b])
    for _ in range(3):
        a.grad = b.grad = shared
        opt.step()
    np.testing.assert_array_equal(shared, np.ones((2, 2)))


def test_step_updates_the_parameter_array_in_place():
    p = tg.Tensor(np.ones(3), requires_grad=True)
    array = p.data
    p.grad = np.ones(3)
    Adam([p]).step()
    assert p.data is array
    assert not np.all(array == 1)


def test_frozen_parameters_and_parameters_without_gradient_are_untouched():
    frozen, unused, used = (tg.Tensor(np.ones(3), requires_grad=True) for _ in range(3))
    opt = AdamW([frozen, unused, used], lr=0.1)
    frozen.grad, used.grad = np.ones(3), np.ones(3)
    frozen.requires_grad_(False)
    opt.step()
    np.testing.assert_array_equal(frozen.numpy(), np.ones(3))
    np.testing.assert_array_equal(unused.numpy(), np.ones(3))
    assert frozen not in opt.state
    assert unused not in opt.state
    assert np.all(used.numpy() < 1)


@requires_torch
def test_parameter_groups_keep_their_own_hyperparameters():
    def ours(ps):
        return AdamW([{"params": ps[:1], "lr": 0.1}, {"params": ps[1:], "weight_decay": 0.0}], lr=0.01, weight_decay=0.2)

    def theirs(ps):
        groups = [{"params": ps[:1], "lr": 0.1}, {"params": ps[1:], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=0.01, weight_decay=0.2)

    for a, b in zip(run_ours(ours), run_torch(theirs)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_groups_take_missing_hyperparameters_from_the_defaults():
    a, b = tg.Tensor(np.ones(1), requires_grad=True), tg.Tensor(np.ones(1), requires_grad=True)
    opt = SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]


def test_zero_grad_drops_gradients_without_writing_to_them():
    p = tg.Tensor(np.ones(2), requires_grad=True)
    grad = np.ones(2)
    p.grad = grad
    SGD([p], lr=0.1).zero_grad()
    assert p.grad is None
    assert np.all(grad == 1)


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD(ps, lr=-1.0), "learning rate must be a number >= 0"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs a momentum"),
    (lambda ps: Adam(ps, betas=(0.9, 1.0)), "betas must each be in"),
    (lambda ps: AdamW(ps + ps), "already in a group"),
    (lambda ps: Adam([]), "empty parameter list"),
    (lambda ps: Adam(ps[0]), "not a single tensor"),
])
def test_bad_arguments_are_refused_with_a_reason(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([tg.Tensor(np.ones(2), requires_grad=True)])
