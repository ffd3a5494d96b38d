"""The Numba CPU kernels (backend/kernels/cpu.py) equal the plain ops they replace, and pass
gradient checks through the ops' fused path. Skipped, visibly, where Numba is not installed."""

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.backend import kernels
from tinygrad_ft.optim import AdamW

pytest.importorskip("numba", reason="Numba is not installed (pip install 'tinygrad-ft[fast]')")
from tinygrad_ft.backend.kernels import cpu  # noqa: E402  (imports Numba)

FLOAT32_RTOL = 2e-5  # float32 kernels accumulate row sums in float64: they differ from the plain op in the last bits


def targets_for(logits_shape):
    rng = np.random.default_rng(3)
    targets = rng.integers(0, logits_shape[-1], logits_shape[:-1])
    targets.reshape(-1)[0] = -100  # one ignored position
    return targets


OPS = {
    "gelu": (lambda x: F.gelu(x), [(3, 5, 7)]),
    "gelu-0d": (lambda x: F.gelu(x), [()]),
    "softmax": (lambda x: F.softmax(x), [(4, 3, 9)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, w, b), [(2, 5, 8), (8,), (8,)]),
    "layer_norm-no-affine": (lambda x: F.layer_norm(x), [(6, 8)]),
    "cross_entropy-mean": (lambda z: F.cross_entropy(z, targets_for((3, 4, 6))), [(3, 4, 6)]),
    "cross_entropy-none": (lambda z: F.cross_entropy(z, targets_for((5, 6)), reduction="none"), [(5, 6)]),
    "cross_entropy-smoothed": (lambda z: F.cross_entropy(z, targets_for((5, 6)), label_smoothing=0.1), [(5, 6)]),
}


def value_and_grads(op, shapes, dtype, fused: bool):
    previous = kernels.set_enabled(fused)
    try:
        rng = np.random.default_rng(0)
        inputs = [tg.Tensor((rng.standard_normal(s) * 2).astype(dtype), requires_grad=True) for s in shapes]
        out = op(*inputs)
        out.backward(rng.standard_normal(out.shape).astype(dtype))
        return [out.numpy()] + [x.grad for x in inputs]
    finally:
        kernels.set_enabled(previous)


@pytest.mark.parametrize("name", OPS)
def test_the_fused_op_equals_the_plain_op_in_float64(name):
    op, shapes = OPS[name]
    fused, plain = value_and_grads(op, shapes, np.float64, True), value_and_grads(op, shapes, np.float64, False)
    assert max(float(np.abs(a - b).max()) for a, b in zip(fused, plain)) < 1e-12


@pytest.mark.parametrize("name", OPS)
def test_the_fused_op_equals_the_plain_op_in_float32(name):
    op, shapes = OPS[name]
    for a, b in zip(value_and_grads(op, shapes, np.float32, True), value_and_grads(op, shapes, np.float32, False)):
        np.testing.assert_allclose(a, b, rtol=FLOAT32_RTOL, atol=FLOAT32_RTOL)


@pytest.mark.parametrize("name", [n for n in OPS if n != "gelu-0d"])
def test_the_fused_path_passes_a_gradient_check(name):
    op, shapes = OPS[name]
    rng = np.random.default_rng(1)
    # tol 1e-6: central differences of the mean cross-entropy resolve its smallest gradients (~1e-5) only to
    # ~5e-7 relative; the plain op gives the same analytic gradients (the test above), so it reads the same
    assert tg.gradcheck(op, *[rng.standard_normal(s) for s in shapes], tol=1e-6).ok


@pytest.mark.parametrize("name", ["gelu_tanh_forward", "softmax_forward", "layer_norm_forward", "cross_entropy_forward"])
def test_numpy_float_arrays_get_the_numba_kernel(name):
    assert kernels.fused(name, np.ones((2, 3), np.float32)) is getattr(cpu, name)


def test_the_strict_device_runs_the_plain_lines():
    assert kernels.fused("softmax_forward", tg.Tensor([1.0], device="strict").data) is None


def test_the_adam_kernel_equals_the_plain_update():
    def five_steps(fused):
        previous = kernels.set_enabled(fused)
        try:
            param = tg.Tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
            optimizer = AdamW([param], lr=1e-2, weight_decay=0.1)
            for step in range(5):
                param.grad = np.cos(np.arange(12.0) + step).reshape(3, 4)
                optimizer.step()
            return param.numpy()
        finally:
            kernels.set_enabled(previous)

    assert float(np.abs(five_steps(True) - five_steps(False)).max()) < 1e-12


def test_an_out_of_range_target_gives_nan_like_the_gpu_kernel():
    losses, _ = cpu.cross_entropy_forward(np.zeros((2, 3)), np.array([1, 7]))
    assert np.isnan(losses[1])


def test_a_second_process_loads_the_kernels_from_the_disk_cache():
    script = ("import numpy as np; from tinygrad_ft.backend.kernels import cpu; "
              "cpu.softmax_forward(np.ones((2, 3))); print(sum(cpu._softmax_rows.stats.cache_hits.values()))")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)  # compiles, or finds the cache
    hits = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert int(hits) >= 1
