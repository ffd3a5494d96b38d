"""On a real GPU: every op, every fused kernel, pre-training and LoRA fine-tuning give the CPU's numbers.

Every test that needs the GPU is marked ``gpu`` and skipped, with the reason shown, where CuPy
or a CUDA GPU is missing (``pytest -m gpu`` runs only them; ``-rs`` lists the reasons). The
few tests at the top run everywhere: they check the kernel registry itself.

Tolerances (absolute + relative, ``numpy.testing.assert_allclose``):

* float64: 1e-10, everywhere. CUDA and NumPy round differently (fused multiply-adds, the
  order of a sum, cuBLAS against OpenBLAS), but in float64 that stays far below 1e-10.
* float32, op on CUDA against op on the CPU: rtol 2e-4, atol 2e-5 (different libraries:
  exp/tanh/erf implementations and summation orders differ by a few ulps, which a
  backward through a softmax or a matmul multiplies by the row's size).
* float32, fused kernel against the plain op, both on the GPU: rtol 2e-5, atol 2e-5 (same
  math library; only the order of operations and FMA contraction differ).
* training runs: float64 losses to 1e-8 and weights to 1e-7 after a few steps (the rounding
  differences above, carried through Adam); float32 losses to rtol 1e-4 (weights: see the
  pre-training test for why float32 weights are not compared one by one).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.backend import asarray, get_backend, get_default_dtype, is_array, kernels, set_default_dtype

try:
    import cupy
except Exception:  # not installed, or its CUDA libraries do not load
    cupy = None


def _skip_reason():
    if cupy is None:
        return "CuPy is not installed (pip install 'tinygrad-ft[gpu]')"
    return None if tg.cuda_is_available() else "CuPy is installed but CUDA finds no GPU"


SKIP_REASON = _skip_reason()


def needs_gpu(test):
    """Mark a test ``gpu`` and skip it, visibly, without CuPy and a GPU."""
    test = pytest.mark.skipif(SKIP_REASON is not None, reason=f"needs CuPy and an NVIDIA GPU: {SKIP_REASON}")(test)
    return pytest.mark.gpu(test)


DTYPES = ["float64", "float32"]
OP_TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-4, atol=2e-5)}
KERNEL_TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-5, atol=2e-5)}
RUN_TOL = {"float64": dict(rtol=0, atol=1e-8), "float32": dict(rtol=1e-4, atol=1e-5)}


def host(x):
    if x is None:
        return None
    if isinstance(x, tg.Tensor):
        return x.numpy()
    return cupy.asnumpy(x) if cupy is not None and isinstance(x, cupy.ndarray) else np.asarray(x)


def close(actual, expected, tol, what=""):
    np.testing.assert_allclose(host(actual), host(expected), err_msg=what, **tol)


@contextlib.contextmanager
def plain_ops():
    """The plain (reference) path of every op, even after the fused kernels are wired in."""
    previous = kernels.set_enabled(False)
    try:
        yield
    finally:
        kernels.set_enabled(previous)


# ---- the registry (runs everywhere) -------------------------------------------------------------


def test_every_kernel_has_a_documented_reference_op():
    import importlib

    from tinygrad_ft.backend.kernels import cuda  # imports without CuPy: CuPy is imported on first use

    for name, reference in kernels.KERNELS.items():
        function = getattr(cuda, name)
        assert function.__doc__, name
        assert "Reference:" in function.__doc__, name
        path = reference.split()[0]
        module_name, attribute = path.rsplit(".", 2)[0], path.rsplit(".", 2)[1:]
        obj = importlib.import_module(module_name)
        for part in attribute:
            obj = getattr(obj, part)  # the reference op exists under that name
        assert path in function.__doc__, (name, path)


def test_get_kernel_is_none_without_cupy_and_refuses_unknown_names(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cupy", None)
    kernels.importable.cache_clear()  # asked again, with CuPy gone
    try:
        assert not kernels.cupy_available()
        assert all(kernels.get_kernel(name) is None for name in kernels.KERNELS)
        assert not kernels.is_cupy_array(np.zeros(2))
        with pytest.raises(KeyError, match="no fused kernel named 'gelu'"):
            kernels.get_kernel("gelu")
    finally:
        kernels.importable.cache_clear()  # later tests ask again, with CuPy back


def test_kernels_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(kernels, "cupy_available", lambda: True)  # as if CuPy were there
    previous = kernels.set_enabled(False)
    try:
        assert kernels.get_kernel("softmax_forward") is None
    finally:
        kernels.set_enabled(previous)


def test_the_row_kernels_are_written_for_both_float_types():
    from tinygrad_ft.backend.kernels import cuda

    for dtype, ctype in (("float32", "float"), ("float64", "double")):
        source = cuda.row_source(dtype)
        assert f"typedef {ctype} T;" in source
        assert all(f'extern "C" __global__ void {name}(' in source for name in cuda.ROW_KERNELS)
    with pytest.raises(KeyError):
        cuda.row_source("float16")


# ---- every op: forward and backward on CUDA equal the CPU's -------------------------------------


def normal(*shape, scale=1.0):
    return lambda rng: rng.standard_normal(shape) * scale


def positive(*shape):
    return lambda rng: np.abs(rng.standard_normal(shape)) + 0.5


def ints(high, *shape, ignore=None):
    def make(rng):
        ids = rng.integers(0, high, shape)
        if ignore is not None:
            ids.flat[0] = ignore
        return ids

    return make


def probabilities(*shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


def mask(*shape):
    def make(rng):
        m = rng.random(shape) > 0.3
        m[..., 0] = True
        return m

    return make


OPS = {
    # primitives (ops.py, through Tensor)
    "add-broadcast": (lambda a, b: a + b, [normal(3, 4), normal(4)]),
    "sub": (lambda a, b: a - b, [normal(3, 4), normal(3, 1)]),
    "mul": (lambda a, b: a * b, [normal(2, 3, 4), normal(3, 4)]),
    "div": (lambda a, b: a / b, [normal(3, 4), positive(3, 4)]),
    "pow-scalar": (lambda a: a**2.5, [positive(3, 4)]),
    "pow": (lambda a, b: a**b, [positive(3, 4), normal(3, 4)]),
    "neg": (lambda a: -a, [normal(5)]),
    "matmul-batched": (lambda a, b: a @ b, [normal(2, 3, 5), normal(5, 4)]),
    "exp": (lambda a: a.exp(), [normal(3, 4)]),
    "log": (lambda a: a.log(), [positive(3, 4)]),
    "sqrt": (lambda a: a.sqrt(), [positive(3, 4)]),
    "tanh": (lambda a: a.tanh(), [normal(3, 4, scale=2)]),
    "abs": (lambda a: a.abs(), [normal(3, 4)]),
    "maximum": (lambda a, b: a.maximum(b), [normal(3, 4), normal(3, 4)]),
    "sum-axis": (lambda a: a.sum(axis=1), [normal(3, 4, 5)]),
    "mean-keepdims": (lambda a: a.mean(axis=(0, 2), keepdims=True), [normal(3, 4, 5)]),
    "max-axis": (lambda a: a.max(axis=-1), [normal(3, 7)]),
    "var": (lambda a: a.var(axis=0, ddof=1), [normal(6, 3)]),
    "reshape-transpose": (lambda a: a.reshape(4, 6).transpose(1, 0), [normal(2, 3, 4)]),
    "getitem-slice": (lambda a: a[1:, ::2], [normal(4, 6)]),
    "getitem-rows": (lambda a, i: a[i], [normal(5, 3), ints(5, 7)]),
    "concatenate": (lambda a, b: tg.concatenate([a, b], axis=1), [normal(2, 3), normal(2, 4)]),
    "stack": (lambda a, b: tg.stack([a, b], axis=0), [normal(2, 3), normal(2, 3)]),
    "where": (lambda c, a, b: tg.where(c, a, b), [mask(3, 4), normal(3, 4), normal(3, 4)]),
    # functional
    "relu": (F.relu, [normal(4, 5)]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [normal(4, 5)]),
    "sigmoid": (F.sigmoid, [normal(4, 5, scale=4)]),
    "gelu-tanh": (F.gelu, [normal(4, 5, scale=3)]),
    "gelu-erf": (lambda a: F.gelu(a, approximate="none"), [normal(4, 5, scale=3)]),
    "softmax": (F.softmax, [normal(3, 4, 33, scale=3)]),
    "softmax-axis0": (lambda a: F.softmax(a, axis=0), [normal(5, 3)]),
    "log_softmax": (F.log_softmax, [normal(3, 65, scale=3)]),
    "cross_entropy-mean": (lambda z, t: F.cross_entropy(z, t), [normal(4, 6, 11, scale=2), ints(11, 4, 6, ignore=-100)]),
    "cross_entropy-smoothing": (lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1), [normal(8, 11), ints(11, 8)]),
    "cross_entropy-sum": (lambda z, t: F.cross_entropy(z, t, reduction="sum"), [normal(8, 11), ints(11, 8, ignore=-100)]),
    "cross_entropy-none": (lambda z, t: F.cross_entropy(z, t, reduction="none"), [normal(8, 11), ints(11, 8, ignore=-100)]),
    "binary_cross_entropy": (F.binary_cross_entropy, [probabilities(6, 3), probabilities(6, 3)]),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, [normal(6, 3, scale=3), probabilities(6, 3)]),
    "mse_loss": (F.mse_loss, [normal(6, 3), normal(6, 3)]),
    "linear": (F.linear, [normal(2, 5, 4), normal(4, 3), normal(3)]),
    "layer_norm": (F.layer_norm, [normal(2, 5, 48, scale=2), normal(48), normal(48)]),
    "layer_norm-no-affine": (F.layer_norm, [normal(7, 33)]),
    "embedding": (F.embedding, [ints(9, 3, 5), normal(9, 4)]),
    "attention-causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True),
                         [normal(2, 2, 5, 4), normal(2, 2, 5, 4), normal(2, 2, 5, 3)]),
    "attention-padding-mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, causal=True, attention_mask=m),
                               [normal(2, 2, 6, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 4), mask(2, 6)]),
}


def run_op(fn, arrays, device, dtype, seed):
    """The op's output and the gradients of its floating inputs, on ``device``, as host arrays."""
    inputs = [tg.Tensor(asarray(a, device, dtype), requires_grad=True) if a.dtype.kind == "f" else asarray(a, device)
              for a in arrays]
    out = fn(*inputs)
    out.backward(seed(out.shape))
    return host(out), [host(t.grad) if isinstance(t, tg.Tensor) else None for t in inputs]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPS))
def test_each_op_forward_and_backward_on_cuda_equal_the_cpu(name, dtype):
    fn, makers = OPS[name]
    rng = np.random.default_rng(0)
    arrays = [make(rng) for make in makers]

    def seed(shape):  # the same upstream gradient on both devices
        return np.random.default_rng(1).standard_normal(shape).astype(dtype)

    out_cpu, grads_cpu = run_op(fn, arrays, "cpu", dtype, seed)
    out_cuda, grads_cuda = run_op(fn, arrays, "cuda", dtype, seed)
    assert out_cuda.dtype == out_cpu.dtype == np.dtype(dtype)
    close(out_cuda, out_cpu, OP_TOL[dtype], f"{name}: forward")
    for i, (g_cuda, g_cpu) in enumerate(zip(grads_cuda, grads_cpu)):
        assert (g_cuda is None) == (g_cpu is None)
        if g_cpu is not None:
            close(g_cuda, g_cpu, OP_TOL[dtype], f"{name}: gradient of input {i}")


@needs_gpu
def test_dropout_on_cuda_uses_one_mask_for_forward_and_backward():
    tg.manual_seed(0)
    x = tg.Tensor(asarray(np.ones((64, 64)), "cuda", "float32"), requires_grad=True)
    y = F.dropout(x, p=0.25)
    y.backward(asarray(np.ones((64, 64)), "cuda", "float32"))
    out, grad = host(y), host(x.grad)
    kept = out != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(grad != 0, kept)  # the same elements
    assert F.dropout(x, p=0.25, training=False) is x


# ---- each fused kernel against its plain op, both on the GPU -------------------------------------

ROW_SHAPES = [(1, 1), (3, 5), (7, 32), (9, 33), (2, 3, 65), (5, 8, 384), (300, 129), (16, 1030)]


def cuda_array(rng, shape, dtype, scale=1.0):
    return cupy.asarray((rng.standard_normal(shape) * scale).astype(dtype))


def plain_forward_backward(op, arrays, grad, **kw):
    """The plain op on the GPU through the public API: output and each input's gradient."""
    with plain_ops():
        tensors = [tg.Tensor(a, requires_grad=True) if a is not None else None for a in arrays]
        out = op(*tensors, **kw)
        out.backward(grad)
    return out.data, [t.grad if t is not None else None for t in tensors]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES + [(4, 4096)], ids=str)
def test_gelu_kernels_equal_the_plain_gelu(shape, dtype):
    rng = np.random.default_rng(0)
    x, g = cuda_array(rng, shape, dtype, scale=3), cuda_array(rng, shape, dtype)
    y, (d_x,) = plain_forward_backward(F.gelu, [x], g)
    close(kernels.get_kernel("gelu_tanh_forward")(x), y, KERNEL_TOL[dtype], "forward")
    close(kernels.get_kernel("gelu_tanh_backward")(x, g), d_x, KERNEL_TOL[dtype], "backward")


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
def test_softmax_kernels_equal_the_plain_softmax(shape, dtype):
    rng = np.random.default_rng(0)
    x, g = cuda_array(rng, shape, dtype, scale=4), cuda_array(rng, shape, dtype)
    if shape[-1] > 2:
        x[..., 1] = -cupy.inf  # a masked position (causal attention) gets probability 0
    probs, (d_x,) = plain_forward_backward(F.softmax, [x], g)
    kernel_probs = kernels.get_kernel("softmax_forward")(x)
    close(kernel_probs, probs, KERNEL_TOL[dtype], "forward")
    close(kernel_probs.sum(axis=-1), np.ones(shape[:-1]), KERNEL_TOL[dtype], "rows sum to 1")
    close(kernels.get_kernel("softmax_backward")(kernel_probs, g), d_x, KERNEL_TOL[dtype], "backward")


@needs_gpu
@pytest.mark.parametrize("affine", ["weight-and-bias", "weight-only", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
def test_layer_norm_kernels_equal_the_plain_layer_norm(shape, dtype, affine):
    rng = np.random.default_rng(0)
    x, g = cuda_array(rng, shape, dtype, scale=2) + 1, cuda_array(rng, shape, dtype)
    weight = cuda_array(rng, shape[-1:], dtype) if affine != "none" else None
    bias = cuda_array(rng, shape[-1:], dtype) if affine == "weight-and-bias" else None
    y, (d_x, d_weight, d_bias) = plain_forward_backward(F.layer_norm, [x, weight, bias], g, eps=1e-5)

    kernel_y, mean, rstd = kernels.get_kernel("layer_norm_forward")(x, weight, bias, eps=1e-5)
    close(kernel_y, y, KERNEL_TOL[dtype], "forward")
    close(mean, x.mean(axis=-1), KERNEL_TOL[dtype], "mean")
    close(rstd, 1 / cupy.sqrt(x.var(axis=-1) + 1e-5), KERNEL_TOL[dtype], "rstd")
    needs = (True, weight is not None, bias is not None)
    k_dx, k_dw, k_db = kernels.get_kernel("layer_norm_backward")(g, x, mean, rstd, weight, needs_input_grad=needs)
    close(k_dx, d_x, KERNEL_TOL[dtype], "dL/dx")
    assert (k_dw is None) == (d_weight is None)
    assert (k_db is None) == (d_bias is None)
    if d_weight is not None:
        close(k_dw, d_weight, KERNEL_TOL[dtype], "dL/dweight")
    if d_bias is not None:
        close(k_db, d_bias, KERNEL_TOL[dtype], "dL/dbias")


@needs_gpu
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 2), (7, 5), (9, 65), (4, 16, 65), (300, 512), (8, 3000)], ids=str)
def test_cross_entropy_kernels_equal_the_plain_cross_entropy(shape, dtype, reduction, smoothing):
    rng = np.random.default_rng(0)
    logits = cuda_array(rng, shape, dtype, scale=3)
    targets_host = rng.integers(0, shape[-1], shape[:-1])
    targets_host.flat[0] = -100  # ignored
    targets = cupy.asarray(targets_host)
    grad = cuda_array(rng, shape[:-1], dtype) if reduction == "none" else cupy.asarray(np.asarray(1.7, dtype=dtype))
    with plain_ops():
        z = tg.Tensor(logits, requires_grad=True)
        loss = F.cross_entropy(z, targets, reduction=reduction, label_smoothing=smoothing)
        loss.backward(grad)

    losses, lse = kernels.get_kernel("cross_entropy_forward")(logits, targets, ignore_index=-100, label_smoothing=smoothing)
    count = cupy.maximum((targets != -100).sum(), 1).astype(logits.dtype)  # on the device: no sync
    reduced = {"none": losses, "sum": losses.sum(), "mean": losses.sum() / count}[reduction]
    close(reduced, loss.data, KERNEL_TOL[dtype], "forward")
    close(lse, cupy.log(cupy.exp(logits.astype("float64")).sum(axis=-1)), {"rtol": 1e-5, "atol": 1e-5}, "lse")
    row_weights = grad / count if reduction == "mean" else grad
    d_logits = kernels.get_kernel("cross_entropy_backward")(logits, targets, lse, row_weights, ignore_index=-100,
                                                            label_smoothing=smoothing)
    close(d_logits, z.grad, KERNEL_TOL[dtype], "backward")
    assert not bool(cupy.any(d_logits.reshape(-1, shape[-1])[0]))  # the ignored row


@needs_gpu
def test_the_cross_entropy_kernel_marks_an_out_of_range_target_with_nan():
    logits = cupy.zeros((3, 4))
    losses, _ = kernels.get_kernel("cross_entropy_forward")(logits, cupy.asarray([0, 4, -100]))
    result = host(losses)
    assert not math.isnan(result[0])
    assert math.isnan(result[1])
    assert result[2] == 0


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer, weight_decay", [("Adam", 0.0), ("Adam", 0.05), ("AdamW", 0.1), ("AdamW", 0.0)])
def test_the_adam_kernel_equals_the_plain_update(optimizer, weight_decay, dtype):
    from tinygrad_ft import optim

    rng = np.random.default_rng(0)
    start = rng.standard_normal((33, 65)).astype(dtype)
    param = tg.Tensor(cupy.asarray(start), requires_grad=True)
    opt = getattr(optim, optimizer)([param], lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=weight_decay)
    theta, m, v = cupy.asarray(start), cupy.zeros_like(cupy.asarray(start)), cupy.zeros_like(cupy.asarray(start))
    kernel = kernels.get_kernel("adam_update")
    for step in range(1, 6):
        grad = cupy.asarray(rng.standard_normal(start.shape).astype(dtype))
        param.grad = grad
        with plain_ops():
            opt.step()
        kernel(theta, grad, m, v, lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=weight_decay, step=step,
               decoupled=optimizer == "AdamW")
        state = opt.state[param]
        close(theta, param.data, KERNEL_TOL[dtype], f"step {step}: parameter")
        close(m, state["exp_avg"], KERNEL_TOL[dtype], f"step {step}: exp_avg")
        close(v, state["exp_avg_sq"], KERNEL_TOL[dtype], f"step {step}: exp_avg_sq")


# ---- whole runs: pre-training and a LoRA fine-tuning step -----------------------------------------

def short_pretrain(corpus, out, device, iters=6):
    from tinygrad_ft.models.gpt import GPTConfig
    from tinygrad_ft.training.pretrain import TrainConfig, pretrain

    config = TrainConfig(max_iters=iters, batch_size=4, eval_interval=3, eval_iters=2, warmup_iters=2, data_path=str(corpus),
                         out_dir=str(out), progress=False, device=device)
    # dropout 0: its masks come from each device's own generator (NumPy's and CuPy's differ)
    return pretrain(GPTConfig(block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0), config, log=lambda *a: None)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_short_pretraining_run_gives_the_cpu_losses(corpus, tmp_path, dtype):
    previous = get_default_dtype()
    set_default_dtype(dtype)
    try:
        cpu = short_pretrain(corpus, tmp_path / "cpu", "cpu")
        cuda = short_pretrain(corpus, tmp_path / "cuda", "cuda")
    finally:
        set_default_dtype(previous)
    assert all(isinstance(p.data, cupy.ndarray) for p in cuda.model.parameters())
    for key in ("train_loss", "eval_train", "eval_val"):
        assert len(cuda.history[key]) == len(cpu.history[key]) > 0
        close(cuda.history[key], cpu.history[key], RUN_TOL[dtype], key)
    if dtype == "float64":  # in float32, Adam turns rounding noise in gradients that are 0 in exact arithmetic
        # (the key bias: softmax ignores a shift shared by all keys) into steps of up to lr: compare losses only
        for name, value in cpu.model.state_dict().items():
            close(cuda.model.state_dict()[name], value, {"rtol": 0, "atol": 1e-7}, name)


@needs_gpu
def test_a_checkpoint_saved_on_the_gpu_loads_on_the_cpu_and_back(corpus, tmp_path, float64):
    from tinygrad_ft.models import load_pretrained
    from tinygrad_ft.models.generate import generate

    run = short_pretrain(corpus, tmp_path / "cuda", "cuda", iters=3)
    on_cpu, tokenizer = load_pretrained(run.checkpoint, "cpu")
    back, _ = load_pretrained(run.checkpoint, "cuda")
    assert all(type(p.data) is np.ndarray for p in on_cpu.parameters())
    assert all(isinstance(p.data, cupy.ndarray) for p in back.parameters())
    for name, value in on_cpu.state_dict().items():
        np.testing.assert_array_equal(host(back.state_dict()[name]), value)
    prompt = tokenizer.encode("All:")
    assert generate(back, prompt, max_new_tokens=10, temperature=0) == generate(on_cpu, prompt, max_new_tokens=10, temperature=0)


def lora_steps(device: str, steps: int = 3):
    """As ``finetune`` does it: the classifier and its adapters are made on the CPU, then moved."""
    from tinygrad_ft.finetune import GPTClassifier, set_trainable
    from tinygrad_ft.models.gpt import GPT, GPTConfig
    from tinygrad_ft.optim import AdamW, clip_grad_norm_, weight_decay_groups

    tg.manual_seed(0)
    model = GPTClassifier(GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)), num_classes=3)
    set_trainable(model, "lora")
    model.to(device)
    optimizer = AdamW(weight_decay_groups(model, 0.01), lr=1e-2, weight_decay=0.01)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        ids = rng.integers(0, 11, (4, 8))
        attention = np.ones((4, 8), dtype=bool)
        attention[1, 5:] = attention[2, 3:] = False
        logits = model(asarray(ids, device), asarray(attention, device))
        loss = F.cross_entropy(logits, asarray(rng.integers(0, 3, 4), device))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.data))
    return model, optimizer, losses


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_lora_finetuning_step_gives_the_cpu_result(dtype):
    previous = get_default_dtype()
    set_default_dtype(dtype)
    try:
        cpu_model, _, cpu_losses = lora_steps("cpu")
        model, optimizer, losses = lora_steps("cuda")
    finally:
        set_default_dtype(previous)
    assert all(isinstance(v, cupy.ndarray) for state in optimizer.state.values() for v in state.values() if is_array(v))
    close(losses, cpu_losses, RUN_TOL[dtype], "losses")
    for name, value in cpu_model.state_dict().items():
        tolerance = {"rtol": 0, "atol": 1e-8} if dtype == "float64" else {"rtol": 1e-3, "atol": 2e-3}
        close(model.state_dict()[name], value, tolerance, name)


@needs_gpu
def test_module_to_cuda_and_back_keeps_the_parameters_and_moves_the_optimizer_state():
    from tinygrad_ft.models.gpt import GPT, GPTConfig
    from tinygrad_ft.optim import AdamW

    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))
    optimizer = AdamW(model.parameters(), lr=1e-2)
    ids = np.arange(16).reshape(2, 8) % 11
    for device in ("cpu", "cuda", "cpu"):
        model.to(device)
        _, loss = model(asarray(ids, device), asarray(ids, device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        backend = get_backend(device)
        assert all(backend.owns(p.data) for p in model.parameters())
        assert all(backend.owns(s["exp_avg"]) and backend.owns(s["exp_avg_sq"]) for s in optimizer.state.values())
