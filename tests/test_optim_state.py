"""Optimizer state_dict: a run stopped and resumed continues bit for bit; misfits are named."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, backend_of
from tinygrad_ft.nn.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_ft.optim import SGD, Adam, AdamW

MAKERS = {
    "sgd-nesterov": lambda ps, lr=0.1: SGD(ps, lr=lr, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda ps, lr=0.01: Adam(ps, lr=lr, weight_decay=0.1),
    "adamw": lambda ps, lr=0.01: AdamW([{"params": ps[:1]}, {"params": ps[1:], "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95)),
}


def gradients(steps=10, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal((3, 2)), rng.standard_normal(2)] for _ in range(steps)]


def fresh_params(arrays=None):
    arrays = arrays or [np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.5, -0.5])]
    return [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]


def train(params, opt, grads):
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()


@pytest.mark.parametrize("name", list(MAKERS))
def test_ten_steps_equal_five_then_save_load_into_a_fresh_optimizer_then_five(name):
    grads = gradients()
    straight = fresh_params()
    train(straight, MAKERS[name](straight), grads)

    first = fresh_params()
    opt = MAKERS[name](first)
    train(first, opt, grads[:5])
    saved = opt.state_dict()
    second = fresh_params([p.numpy() for p in first])  # new Parameter objects, as after a restart
    resumed = MAKERS[name](second, lr=123.0)  # the saved hyper-parameters win
    resumed.load_state_dict(saved)
    train(second, resumed, grads[5:])
    for a, b in zip(straight, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_state_survives_a_checkpoint_file(tmp_path):
    grads = gradients()
    straight = fresh_params()
    train(straight, MAKERS["adamw"](straight), grads)
    first = fresh_params()
    opt = MAKERS["adamw"](first)
    train(first, opt, grads[:5])
    save_checkpoint(tmp_path / "c.npz", {}, {}, opt.state_dict())  # through JSON and npz: betas come back a list
    second = fresh_params([p.numpy() for p in first])
    resumed = MAKERS["adamw"](second)
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.npz").optimizer_state)
    assert resumed.param_groups[0]["betas"] == (0.9, 0.95)
    train(second, resumed, grads[5:])
    for a, b in zip(straight, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_is_a_snapshot_later_steps_do_not_change_it():
    params = fresh_params()
    opt = Adam(params)
    train(params, opt, gradients(2))
    saved = opt.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    train(params, opt, gradients(2, seed=1))
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)
    assert saved["state"][0]["step"] == 2


def test_state_dict_layout_is_pytorchs():
    params = fresh_params()
    opt = AdamW(params, lr=0.1)
    train(params, opt, gradients(1))
    saved = opt.state_dict()
    assert set(saved) == {"state", "param_groups"}
    assert saved["param_groups"][0]["params"] == [0, 1]
    assert saved["param_groups"][0]["lr"] == 0.1
    assert set(saved["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}


def test_loading_into_a_different_number_of_parameters_says_so():
    opt = Adam(fresh_params())
    train(opt.param_groups[0]["params"], opt, gradients(1))
    other = Adam(fresh_params()[:1])
    with pytest.raises(ValueError, match="group 0: the saved state has 2 parameters, this optimizer 1"):
        other.load_state_dict(opt.state_dict())


def test_loading_state_of_the_wrong_shape_names_the_parameter_and_shapes():
    opt = Adam(fresh_params())
    train(opt.param_groups[0]["params"], opt, gradients(1))
    other = Adam([tg.Tensor(np.ones((2, 3)), requires_grad=True), tg.Tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match=r"parameter 0: state 'exp_avg' has shape \(3, 2\), the parameter \(2, 3\)"):
        other.load_state_dict(opt.state_dict())


def test_loaded_state_lives_on_the_parameters_device():
    cpu_params = fresh_params()
    opt = Adam(cpu_params)
    train(cpu_params, opt, gradients(1))
    params = [tg.Tensor(asarray(p.numpy(), "strict"), requires_grad=True) for p in cpu_params]
    strict_opt = Adam(params)
    strict_opt.load_state_dict(opt.state_dict())
    assert all(backend_of(s["exp_avg"]).name == "strict" for s in strict_opt.state.values())
    for p, g in zip(params, gradients(1)[0]):
        p.grad = asarray(g, "strict")
    strict_opt.step()  # would raise on a NumPy array mixed in
