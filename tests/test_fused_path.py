"""The ops' fused (GPU kernel) path, walked without a GPU.

On a GPU, GELU, softmax, layer norm, cross-entropy and Adam call fused CUDA kernels instead
of their plain lines (``kernels.fused``). The kernels are checked against the plain ops in
tests/test_gpu.py, on a GPU. Here the kernels are replaced by plain stand-ins with the same
signatures (``testing.kernel_stand_ins``), so that what each op does around its kernel (what
it keeps for backward, how it reshapes, reduces and scales) is tested on every device: equal
to the plain path to 1e-10 in float64, and gradient-checked.
"""

import numpy as np
import pytest
from helpers import to_device

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import kernels, to_numpy
from tinygrad_ft.backend.kernels.stand_ins import STAND_INS
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.optim import SGD, Adam, AdamW, weight_decay_groups
from tinygrad_ft.training import next_token_loss, train_step


def through_stand_ins(op):
    """``op`` with the stand-ins in place while its forward runs (its backward keeps the kernel it chose)."""

    def call(*args):
        with kernels.use_stand_ins(STAND_INS):
            return op(*args)

    return call


def check_fused_path(op, *arrays, device, tol=1e-10):
    inputs = [to_device(a, device) if isinstance(a, np.ndarray) else a for a in arrays]
    value_diff, grad_diff = max_difference(through_stand_ins(op), op, *inputs)
    assert value_diff < tol, (value_diff, grad_diff)
    assert grad_diff < tol, (value_diff, grad_diff)
    floats = [to_device(a, device) for a in arrays if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    others = [a for a in arrays if not (isinstance(a, np.ndarray) and a.dtype.kind == "f")]
    # loose: the comparison above is the precise check; this one catches a wrong factor, sign
    # or missing term (relative errors of order 1), not central differences' rounding noise
    result = tg.gradcheck(lambda *xs: through_stand_ins(op)(*xs, *others), *floats, eps=1e-5, tol=1e-4)
    assert result.ok, str(result)


rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 5))
W, BIAS = rng.standard_normal(5), rng.standard_normal(5)
TARGETS = np.array([[1, 4, -100], [0, 2, 3]])


# ---- each op: fused path == plain path, and its gradients check -------------------------------

def test_gelu_fused_path(device):
    check_fused_path(lambda x: F.gelu(x), X * 2, device=device)


def test_softmax_fused_path_on_the_last_axis(device):
    check_fused_path(lambda x: F.softmax(x, axis=-1), X * 3, device=device)


def test_softmax_on_another_axis_takes_the_plain_path(device):
    check_fused_path(lambda x: F.softmax(x, axis=1), X * 3, device=device)


def test_layer_norm_fused_path_with_weight_and_bias(device):
    check_fused_path(lambda x, w, b: F.layer_norm(x, w, b), X, W, BIAS, device=device)


def test_layer_norm_fused_path_without_affine(device):
    check_fused_path(lambda x: F.layer_norm(x), X, device=device, tol=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_fused_path(device, reduction, smoothing):
    targets = to_device(TARGETS, device)
    check_fused_path(lambda z: F.cross_entropy(z, targets, reduction=reduction, label_smoothing=smoothing), X * 4, device=device)


def test_cross_entropy_fused_path_with_every_target_ignored(device):
    targets = to_device(np.full((2, 3), -100), device)
    check_fused_path(lambda z: F.cross_entropy(z, targets), X, device=device)


@pytest.mark.parametrize("make", [
    pytest.param(lambda ps: Adam(ps, lr=0.1), id="adam"),
    pytest.param(lambda ps: Adam(ps, lr=0.1, weight_decay=0.1), id="adam-l2"),
    pytest.param(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.1), id="adamw"),
])
def test_adam_fused_update_equals_the_plain_update(device, make):
    def run(stand_ins):
        param = tg.Tensor(to_device(np.linspace(-1, 1, 6), device), requires_grad=True)
        optimizer = make([param])
        for step in range(5):
            param.grad = to_device(np.cos(np.arange(6.0) + step), device)
            if stand_ins:
                with kernels.use_stand_ins(STAND_INS):
                    optimizer.step()
            else:
                optimizer.step()
        return param.numpy(), to_numpy(optimizer.state_dict()["state"][0]["exp_avg_sq"])

    (p_fused, v_fused), (p_plain, v_plain) = run(True), run(False)
    assert np.abs(p_fused - p_plain).max() < 1e-12
    assert np.abs(v_fused - v_plain).max() < 1e-12


# ---- a whole GPT training step ------------------------------------------------------------------

def test_gpt_training_steps_through_the_fused_path_equal_the_plain_ones(device, float64):
    def run(stand_ins):
        tg.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)).to(device)
        optimizer = AdamW(weight_decay_groups(model, 0.1), lr=1e-2)
        data = np.random.default_rng(1)
        losses = []
        for _ in range(3):
            ids, targets = data.integers(0, 11, (3, 8)), data.integers(0, 11, (3, 8))
            with kernels.use_stand_ins(STAND_INS if stand_ins else {}):
                loss = train_step(model, (ids, targets), next_token_loss, optimizer, grad_clip=1.0)
            losses.append(float(to_numpy(loss.data)))
        return losses, {k: to_numpy(v) for k, v in model.state_dict().items()}

    (fused_losses, fused_state), (plain_losses, plain_state) = run(True), run(False)
    np.testing.assert_allclose(fused_losses, plain_losses, rtol=0, atol=1e-12)
    assert max(np.abs(fused_state[k] - plain_state[k]).max() for k in plain_state) < 1e-12


# ---- the dispatch -------------------------------------------------------------------------------

def test_no_kernel_is_chosen_for_numpy_arrays_when_kernels_are_off(plain_ops):
    assert all(kernels.fused(name, np.ones(3)) is None for name in kernels.KERNELS)


def test_no_kernel_is_chosen_for_integer_numpy_arrays():
    assert all(kernels.fused(name, np.ones(3, dtype=np.int64)) is None for name in kernels.KERNELS)


def test_the_stand_ins_cover_every_kernel_and_are_removed_after_the_block():
    assert set(STAND_INS) == set(kernels.KERNELS)
    with kernels.use_stand_ins(STAND_INS):
        assert kernels.fused("softmax_forward", np.ones(2)) is STAND_INS["softmax_forward"]
    assert kernels.fused("softmax_forward", np.ones(2)) is not STAND_INS["softmax_forward"]


def test_use_stand_ins_refuses_an_unknown_kernel_name():
    with pytest.raises(KeyError, match="no fused kernel named"):
        with kernels.use_stand_ins({"softmax_fwd": lambda x: x}):
            pass


def test_the_cross_entropy_stand_in_marks_an_out_of_range_target_with_nan_like_the_kernel():
    losses, _ = STAND_INS["cross_entropy_forward"](np.zeros((2, 3)), np.array([1, 7]))
    assert np.isfinite(losses[0])
    assert np.isnan(losses[1])


def test_sgd_has_no_fused_kernel_and_steps_the_same_inside_the_block():
    param = tg.Tensor(np.ones(3), requires_grad=True)
    param.grad = np.full(3, 0.5)
    with kernels.use_stand_ins(STAND_INS):
        SGD([param], lr=0.1).step()
    assert np.allclose(param.numpy(), 0.95)
