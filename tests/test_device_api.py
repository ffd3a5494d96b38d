"""The device API, end to end: tensors, modules, optimizers, checkpoints, batches, the command line.

Run on the strict device (the CuPy stand-in, see ``tinygrad_ft.backend.strict``) so they run
everywhere; tests/test_gpu.py repeats the numbers on a real GPU. A machine without CuPy
that is asked for "cuda" is simulated by hiding CuPy (``sys.modules["cupy"] = None`` makes
``import cupy`` fail as if it were not installed).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import nn
from tinygrad_ft.backend import BACKENDS, FACTORIES, CudaBackend, asarray, get_backend, is_array, to_numpy
from tinygrad_ft.backend.strict import StrictArray
from tinygrad_ft.cli import main
from tinygrad_ft.datasets.text import TextBatches
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.nn.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_ft.optim import SGD, Adam, AdamW
from tinygrad_ft.training import TrainConfig, next_token_loss, pretrain, train_step

CONFIG = dict(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)
INSTALL = "pip install 'tinygrad-ft[gpu]'"


def gpt(device="cpu"):
    tg.manual_seed(0)
    return GPT(GPTConfig(**CONFIG)).to(device)


def batch(step: int, device: str):
    rng = np.random.default_rng(step)
    x = rng.integers(0, CONFIG["vocab_size"], (2, CONFIG["block_size"]))
    return asarray(x, device), asarray((x + 1) % CONFIG["vocab_size"], device)


def train(model, optimizer, steps, device, start=0):
    losses = []
    for step in range(start, start + steps):
        loss = train_step(model, batch(step, device), next_token_loss, optimizer, grad_clip=1.0)
        losses.append(float(loss.data))
    return losses


def host_state(model) -> dict:
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


def state_arrays(optimizer) -> list:
    return [v for state in optimizer.state.values() for v in state.values() if is_array(v)]


# ---- tensors -------------------------------------------------------------------------------------


def test_a_tensor_moves_to_a_device_and_the_gradient_comes_back():
    x = tg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("strict")
    assert y.device == "strict"
    assert type(y.data) is StrictArray
    (y * y).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])


def test_tensors_on_two_devices_do_not_mix():
    with pytest.raises(tg.DeviceError, match=r"different devices.*\.to\("):
        tg.Tensor([1.0]) + tg.Tensor([1.0], device="strict")


# ---- modules -------------------------------------------------------------------------------------


def test_module_to_moves_every_parameter_and_gradient_and_back():
    model = gpt()
    before = host_state(model)
    _, loss = model(*batch(0, "cpu"))
    loss.backward()
    params = list(model.parameters())
    assert model.to("strict") is model
    assert list(model.parameters()) == params
    assert all(p.device == "strict" and type(p.data) is StrictArray and type(p.grad) is StrictArray for p in params)
    model.to("cpu")
    assert all(type(p.data) is np.ndarray and type(p.grad) is np.ndarray for p in params)
    after = host_state(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_module_to_casts_the_dtype_on_the_device():
    model = gpt().to("strict", dtype="float64")
    assert all(p.dtype == np.float64 and type(p.data) is StrictArray for p in model.parameters())
    with pytest.raises(TypeError, match="floating point"):
        model.to(dtype="int64")


# ---- optimizers: the state lives, and stays, with the parameters ----------------------------------


@pytest.mark.parametrize("make", [lambda p: AdamW(p, lr=1e-2), lambda p: Adam(p, lr=1e-2, weight_decay=0.1),
                                  lambda p: SGD(p, lr=1e-2, momentum=0.9)], ids=["AdamW", "Adam", "SGD"])
def test_optimizer_made_before_model_to_keeps_its_state_on_the_parameters_device(make):
    model = gpt()
    optimizer = make(model.parameters())  # holds the Parameter objects, which .to keeps
    model.to("strict")
    train(model, optimizer, 2, "strict")
    arrays = state_arrays(optimizer)
    assert arrays
    assert all(type(a) is StrictArray for a in arrays)


def test_optimizer_state_follows_the_parameters_when_the_model_moves_mid_training():
    reference = gpt()
    reference_opt = AdamW(reference.parameters(), lr=1e-2)
    expected = train(reference, reference_opt, 4, "cpu")

    model = gpt()
    optimizer = AdamW(model.parameters(), lr=1e-2)
    losses = train(model, optimizer, 2, "cpu")
    assert all(type(a) is np.ndarray for a in state_arrays(optimizer))
    model.to("strict")  # the moments were made on the CPU; the next step moves them
    losses += train(model, optimizer, 2, "strict", start=2)
    assert all(type(a) is StrictArray for a in state_arrays(optimizer))
    np.testing.assert_allclose(losses, expected, rtol=0, atol=1e-6)
    model.to("cpu")  # and back
    train(model, optimizer, 1, "cpu", start=4)
    assert all(type(a) is np.ndarray for a in state_arrays(optimizer))


def test_optimizer_state_follows_a_change_of_dtype():
    model = gpt()
    optimizer = Adam(model.parameters(), lr=1e-2)
    train(model, optimizer, 1, "cpu")
    model.to("strict", dtype="float64")
    train(model, optimizer, 1, "strict", start=1)
    assert all(a.dtype == np.float64 and type(a) is StrictArray for a in state_arrays(optimizer))
    assert all(state["step"] == 2 for state in optimizer.state.values())


# ---- checkpoints: saved from the device, loaded on the CPU, and back ------------------------------


@pytest.mark.parametrize("saved_on, loaded_on", [("strict", "cpu"), ("cpu", "strict"), ("strict", "strict")])
def test_a_checkpoint_continues_training_on_another_device(tmp_path, saved_on, loaded_on, plain_ops):
    # plain_ops: the same plain lines on both devices, so the runs agree to float32 rounding
    model = gpt(saved_on)
    optimizer = AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    train(model, optimizer, 2, saved_on)
    path = save_checkpoint(tmp_path / "ckpt.npz", model.state_dict(), {"step": 2}, optimizer.state_dict())
    expected = train(model, optimizer, 2, saved_on, start=2)  # the run that was not interrupted

    checkpoint = load_checkpoint(path, loaded_on)
    backend = get_backend(loaded_on)
    assert all(backend.owns(a) for a in checkpoint.model_state.values())
    resumed = GPT(GPTConfig(**CONFIG)).to(loaded_on)
    resumed.load_state_dict(checkpoint.model_state)
    resumed_opt = AdamW(resumed.parameters(), lr=1e-2, weight_decay=0.1)
    resumed_opt.load_state_dict(checkpoint.optimizer_state)
    assert all(backend.owns(a) for a in state_arrays(resumed_opt))
    losses = train(resumed, resumed_opt, 2, loaded_on, start=2)
    np.testing.assert_allclose(losses, expected, rtol=0, atol=1e-6)
    assert all(np.allclose(host_state(resumed)[k], v, atol=1e-6) for k, v in host_state(model).items())


def test_a_checkpoint_loads_into_a_model_on_another_device_directly(tmp_path):
    model = gpt("strict")
    path = save_checkpoint(tmp_path / "w.npz", model.state_dict(), {})
    on_cpu = GPT(GPTConfig(**CONFIG))
    on_cpu.load_state_dict(load_checkpoint(path).model_state)  # loaded on the CPU (the default)
    strict_arrays = model.state_dict()
    on_cpu_too = GPT(GPTConfig(**CONFIG))
    on_cpu_too.load_state_dict(strict_arrays)  # arrays of another device are converted explicitly
    assert all(np.array_equal(host_state(on_cpu)[k], host_state(on_cpu_too)[k]) for k in strict_arrays)


def test_pretraining_resumes_on_another_device(corpus, tmp_path):
    def config(out, iters, device):
        return TrainConfig(max_iters=iters, batch_size=3, eval_interval=2, eval_iters=1, warmup_iters=1, data_path=str(corpus),
                           out_dir=str(out), progress=False, device=device)

    model_config = dict(block_size=8, n_layer=1, n_head=2, n_embd=8)
    full = pretrain(GPTConfig(**model_config), config(tmp_path / "full", 4, "cpu"), log=lambda *a: None).history
    half = pretrain(GPTConfig(**model_config), config(tmp_path / "half", 2, "strict"), log=lambda *a: None)
    resumed = pretrain(None, config(tmp_path / "half", 4, "cpu"), resume=str(half.checkpoint), log=lambda *a: None)
    np.testing.assert_allclose(resumed.history["train_loss"], full["train_loss"], rtol=0, atol=1e-6)
    model, _ = load_pretrained(resumed.checkpoint, "strict")
    assert all(type(p.data) is StrictArray for p in model.parameters())


# ---- data batches ----------------------------------------------------------------------------------


def test_text_batches_come_out_on_the_device():
    batches = TextBatches(np.arange(200) % 7, block_size=8, batch_size=4, seed=0)
    x, y = batches.get_batch("train", device="strict")
    assert type(x) is StrictArray
    assert type(y) is StrictArray
    assert x.dtype == np.int64
    assert x.shape == (4, 8)
    np.testing.assert_array_equal(x.get()[:, 1:], y.get()[:, :-1])
    batches.load_state_dict({"rng": np.random.default_rng(0).bit_generator.state})
    x_cpu, _ = batches.get_batch("train", device="cpu")
    np.testing.assert_array_equal(x_cpu, x.get())  # the same windows: only the device differs


def test_token_ids_given_on_the_host_are_copied_to_the_models_device():
    model = gpt("strict")
    x = np.arange(8).reshape(2, 4) % CONFIG["vocab_size"]
    on_device, _ = model(asarray(x, "strict"))
    from_host, _ = model(x)  # the embedding copies integer ids to its device, explicitly (checked_indices)
    assert from_host.device == on_device.device == "strict"
    np.testing.assert_array_equal(from_host.numpy(), on_device.numpy())


# ---- asking for "cuda" where there is none ------------------------------------------------------------


@pytest.fixture
def no_cupy(monkeypatch):
    """This machine as one without CuPy: ``import cupy`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.delitem(BACKENDS, "cuda", raising=False)
    monkeypatch.setitem(FACTORIES, "cuda", CudaBackend)


@pytest.fixture
def cupy_without_gpu(monkeypatch):
    """CuPy installed, but CUDA finds no GPU."""
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 0))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delitem(BACKENDS, "cuda", raising=False)
    monkeypatch.setitem(FACTORIES, "cuda", CudaBackend)


def test_cuda_without_cupy_says_what_is_missing_and_how_to_install_it(no_cupy):
    assert not tg.cuda_is_available()
    for ask in (lambda: tg.Tensor([1.0], device="cuda"), lambda: tg.Tensor([1.0]).to("cuda"),
                lambda: nn.Linear(2, 2).to("cuda"), lambda: tg.zeros((2,), device="cuda"), lambda: asarray([1], "cuda")):
        with pytest.raises(tg.DeviceError) as error:
            ask()
        message = str(error.value)
        assert "CuPy" in message
        assert INSTALL in message
        assert "\n" not in message


@pytest.mark.parametrize("argv", [
    ["pretrain", "--config", "tiny", "--iters", "2", "--no-progress", "--device", "cuda"],
    ["generate", "--max-tokens", "3", "--device", "cuda"],
    ["finetune", "--task", "spam", "--method", "lora", "--epochs", "1", "--no-progress", "--device", "cuda"],
], ids=["pretrain", "generate", "finetune"])
def test_cli_device_cuda_without_cupy_prints_one_line_with_the_install_command(no_cupy, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing may be written anyway
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tinygrad-ft: error: device 'cuda' needs CuPy")
    assert INSTALL in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # it stopped before training or writing anything


def test_cli_device_cuda_with_cupy_but_no_gpu_says_so_in_one_line(cupy_without_gpu, capsys):
    assert main(["generate", "--max-tokens", "3", "--device", "cuda"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "needs an NVIDIA GPU" in lines[0]


def test_cli_an_unknown_device_lists_the_devices(capsys):
    assert main(["generate", "--device", "tpu"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "unknown device 'tpu'" in lines[0]
    assert "cuda" in lines[0]


def test_cli_pretrain_and_generate_run_on_a_device(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["pretrain", "--config", "tiny", "--iters", "2", "--eval-iters", "1", "--data", str(corpus), "--out", str(out),
                 "--no-progress", "--sample-tokens", "5", "--device", "strict"]) == 0
    assert "a sample" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(out / "checkpoint.npz"), "--prompt", "All", "--max-tokens", "4",
                 "--device", "strict"]) == 0
    assert capsys.readouterr().out.startswith("All")
