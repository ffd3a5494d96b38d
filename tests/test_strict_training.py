"""Whole training steps on the strict device (the CuPy stand-in): the same numbers as on the CPU,
and no trip to the host that nobody asked for.

"strict" computes with NumPy behind CuPy's border rules (``tinygrad_ft.backend.strict``): a
NumPy array mixed in, or a device array turned into a NumPy one implicitly, raises. So a
GPT pre-training step, a LoRA fine-tuning step, the ``pretrain()`` and ``train_classifier()`` loops
and ``generate()`` running here means they will not leak to the host on a GPU either. Since
the numbers are NumPy's underneath, they must equal the CPU run's (float64, to 1e-10).

The explicit ways out (``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()``, ``x.get()``) are
allowed by CuPy, but each one waits for the GPU. ``host_syncs`` counts them, by the line of
the library that asked, so a training step can be held to syncing only where it must.
"""

from __future__ import annotations

import collections
import traceback
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, get_backend, is_array, to_numpy
from tinygrad_ft.backend.strict import StrictArray
from tinygrad_ft.finetune import GPTClassifier, set_trainable
from tinygrad_ft.finetune.classification import FinetuneConfig, classification_loss, train_classifier
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.models.generate import generate
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.optim import AdamW, clip_grad_norm_, weight_decay_groups
from tinygrad_ft.training import TrainConfig, next_token_loss, pretrain, train_step

CONFIG = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
ATOL = 1e-10  # float64; the strict device computes with NumPy, so in practice the runs are equal


def to_host(value):
    return to_numpy(value.data if isinstance(value, tg.Tensor) else value)


def assert_same_state(a: dict, b: dict, atol=ATOL):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(to_host(a[name]), to_host(b[name]), rtol=0, atol=atol, err_msg=name)


def assert_on(device: str, model, optimizer=None):
    backend = get_backend(device)
    assert all(p.device == device and backend.owns(p.data) for p in model.parameters())
    if optimizer is not None:
        arrays = [v for state in optimizer.state.values() for v in state.values() if is_array(v)]
        assert arrays
        assert all(backend.owns(a) for a in arrays)


# ---- counting the trips to the host ------------------------------------------------------------

_LIBRARY = Path(tg.__file__).resolve().parent
_PLUMBING = {_LIBRARY / "backend" / name for name in ("strict.py", "registry.py", "numpy_backend.py")}
_WAYS_OUT = ("__bool__", "__float__", "__int__", "__complex__", "item", "get", "__str__", "__format__", "__repr__")


@pytest.fixture
def host_syncs(monkeypatch):
    """A Counter of (file relative to tinygrad_ft, line, source) -> how many times a strict
    array was brought to the host there (float, int, bool, item, get, tolist, str, ...)."""
    counts = collections.Counter()

    def site():
        for frame in reversed(traceback.extract_stack()[:-2]):
            path = Path(frame.filename).resolve()
            if path in _PLUMBING or path == Path(__file__).resolve():
                continue
            if _LIBRARY in path.parents:
                return str(path.relative_to(_LIBRARY)), frame.lineno, (frame.line or "").strip()
            return "(caller outside the library)", frame.lineno, (frame.line or "").strip()
        return "(unknown)", 0, ""

    def counting(name):
        original = getattr(StrictArray, name)

        def method(self, *args, **kwargs):
            counts[site()] += 1
            return original(self, *args, **kwargs)

        return method

    for name in _WAYS_OUT:
        monkeypatch.setattr(StrictArray, name, counting(name))
    original_getattr = StrictArray.__getattr__

    def getattr_(self, name):
        if name in ("tolist", "tobytes", "__array_interface__"):
            counts[site()] += 1
        return original_getattr(self, name)

    monkeypatch.setattr(StrictArray, "__getattr__", getattr_)
    return counts


# The one deliberate trip to the host: ids or targets that are ALREADY on the device get their
# range checked there (embedding, cross_entropy), and reading the answer waits for the device.
# Training loops hand the model host batches instead, which are checked on the host for free.
RANGE_CHECK = ("functional/arguments.py", "bool(outside.any())")


def syncs_other_than(counts, allowed=()) -> list:
    return [(site, n) for site, n in counts.items() if not any(site[0] == f and s in site[2] for f, s in allowed)]


# ---- one pre-training step of the GPT ----------------------------------------------------------


def gpt_steps(device: str, steps: int = 3, dropout: float = 0.1):
    """Build on the CPU (so both runs start from the same weights), move, reseed (so dropout
    masks match), then steps of forward, cross-entropy, backward, clipping, AdamW."""
    tg.manual_seed(0)
    model = GPT(GPTConfig(**CONFIG, dropout=dropout)).to(device)
    optimizer = AdamW(weight_decay_groups(model, 0.1), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
    tg.manual_seed(1)
    rng = np.random.default_rng(0)
    losses, norms = [], []
    for _ in range(steps):
        x = rng.integers(0, CONFIG["vocab_size"], (3, CONFIG["block_size"]))
        y = rng.integers(0, CONFIG["vocab_size"], (3, CONFIG["block_size"]))
        y[0, :2] = -100  # ignored targets take the masking path of cross_entropy
        _, loss = model(asarray(x, device), asarray(y, device))
        optimizer.zero_grad()
        loss.backward()
        norms.append(clip_grad_norm_(model.parameters(), 0.5))  # small: the clipping really scales
        optimizer.step()
        losses.append(loss.data)
    return model, optimizer, losses, norms


def test_a_gpt_training_step_on_strict_equals_the_cpu_run(float64):
    cpu_model, cpu_opt, cpu_losses, cpu_norms = gpt_steps("cpu")
    model, opt, losses, norms = gpt_steps("strict")
    assert_on("strict", model, opt)
    assert all(type(v) is StrictArray for v in losses + norms)
    np.testing.assert_allclose([float(v) for v in losses], [float(v) for v in cpu_losses], rtol=0, atol=ATOL)
    np.testing.assert_allclose([float(v) for v in norms], [float(v) for v in cpu_norms], rtol=0, atol=ATOL)
    assert_same_state(model.state_dict(), cpu_model.state_dict())
    for cpu_state, state in zip(cpu_opt.state_dict()["state"].values(), opt.state_dict()["state"].values()):
        assert cpu_state["step"] == state["step"] == 3
        assert_same_state({k: v for k, v in state.items() if k != "step"}, {k: v for k, v in cpu_state.items() if k != "step"})


def test_a_float32_training_step_on_strict_equals_the_cpu_run():
    *_, cpu_losses, _ = gpt_steps("cpu", steps=2)
    *_, losses, _ = gpt_steps("strict", steps=2)
    assert losses[0].dtype == np.float32
    np.testing.assert_array_equal([float(v) for v in losses], [float(v) for v in cpu_losses])


def one_gpt_step(ids, host_syncs):
    tg.manual_seed(0)
    model = GPT(GPTConfig(**CONFIG)).to("strict")
    optimizer = AdamW(weight_decay_groups(model, 0.1), lr=1e-2)
    host_syncs.clear()
    train_step(model, (ids, ids), next_token_loss, optimizer, grad_clip=1.0)
    return dict(host_syncs)


def test_a_training_step_on_a_host_batch_makes_no_host_sync_at_all(host_syncs):
    """As pretrain() runs it: the batch comes from the host, its ids are checked there."""
    syncs = one_gpt_step(np.arange(16).reshape(2, 8) % 11, host_syncs)
    assert syncs == {}, f"host syncs in a training step: {syncs}"


def test_ids_already_on_the_device_are_range_checked_there_and_nothing_else_syncs(host_syncs):
    syncs = one_gpt_step(asarray(np.arange(16).reshape(2, 8) % 11, "strict"), host_syncs)
    assert syncs_other_than(syncs, [RANGE_CHECK]) == [], f"new host syncs in a training step: {syncs}"
    assert sum(syncs.values()) == 2  # the token ids (embedding) and the targets (cross_entropy)


def test_an_out_of_range_id_on_the_device_is_still_caught():
    model = GPT(GPTConfig(**CONFIG)).to("strict")
    with pytest.raises(ValueError, match="embedding: id 11 is out of range"):
        model(asarray(np.array([[1, 11]]), "strict"))
    with pytest.raises(ValueError, match="cross_entropy: target 12 is out of range"):
        model(np.array([[1, 2]]), asarray(np.array([[1, 12]]), "strict"))


# ---- one LoRA fine-tuning step of the classifier -----------------------------------------------


def lora_steps(device: str, pooling: str, steps: int = 2):
    """As ``finetune`` does it: classifier and adapters made on the CPU, then moved."""
    tg.manual_seed(0)
    model = GPTClassifier(GPT(GPTConfig(**CONFIG)), num_classes=3, pooling=pooling)
    set_trainable(model, "lora")
    model.to(device)
    optimizer = AdamW(weight_decay_groups(model, 0.01), lr=1e-2, weight_decay=0.01)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        ids = rng.integers(0, CONFIG["vocab_size"], (4, 6))
        mask = np.ones((4, 6), dtype=bool)
        mask[1, 3:] = mask[2, 5:] = False  # right padding
        labels = rng.integers(0, 3, 4)
        batch = asarray(ids, device), asarray(mask, device), asarray(labels, device)
        losses.append(train_step(model, batch, classification_loss, optimizer, grad_clip=1.0).data)
    return model, optimizer, losses


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_a_lora_finetuning_step_on_strict_equals_the_cpu_run(float64, pooling):
    cpu_model, _, cpu_losses = lora_steps("cpu", pooling)
    model, optimizer, losses = lora_steps("strict", pooling)
    assert_on("strict", model, optimizer)
    np.testing.assert_allclose([float(v) for v in losses], [float(v) for v in cpu_losses], rtol=0, atol=ATOL)
    assert_same_state(model.state_dict(), cpu_model.state_dict())
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained
    assert all("lora_" in n or n.startswith("head.") for n in trained)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_a_classifier_on_a_device_takes_a_host_mask_or_none(pooling):
    tg.manual_seed(0)
    model = GPTClassifier(GPT(GPTConfig(**CONFIG)), num_classes=3, pooling=pooling)
    ids, mask = np.arange(12).reshape(2, 6) % 11, np.array([[1, 1, 1, 1, 0, 0], [1] * 6], dtype=bool)
    on_cpu = model(ids, mask).numpy()
    model.to("strict")
    np.testing.assert_allclose(model(ids, mask).numpy(), on_cpu, atol=1e-6)
    assert model(ids).shape == (2, 3)


def test_a_lora_step_on_host_ids_and_labels_makes_no_host_sync_at_all(host_syncs):
    tg.manual_seed(0)
    model = GPTClassifier(GPT(GPTConfig(**CONFIG)), num_classes=3)
    set_trainable(model, "lora")
    model.to("strict")
    optimizer = AdamW(weight_decay_groups(model, 0.01), lr=1e-2)
    ids, mask = np.arange(12).reshape(2, 6) % 11, asarray(np.ones((2, 6), bool), "strict")  # as train_classifier() passes them
    host_syncs.clear()
    train_step(model, (ids, mask, np.array([0, 2])), classification_loss, optimizer, grad_clip=1.0)
    assert dict(host_syncs) == {}, f"host syncs in a fine-tuning step: {dict(host_syncs)}"


# ---- the loops: pretrain(), generate(), train_classifier() ---------------------------------------------

def tiny_pretrain(corpus, out, device, iters=4):
    config = TrainConfig(max_iters=iters, batch_size=3, eval_interval=2, eval_iters=2, warmup_iters=1, data_path=str(corpus),
                         out_dir=str(out), progress=False, device=device)
    # no dropout: its masks come from the device's generator, which the CPU run draws from for
    # the initialisation too, so with dropout the two runs would differ by design (as on CUDA)
    return pretrain(GPTConfig(block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0), config, log=lambda *a: None)


def test_pretrain_on_strict_gives_the_cpu_losses_and_generates_the_same_text(float64, corpus, tmp_path):
    cpu = tiny_pretrain(corpus, tmp_path / "cpu", "cpu")
    strict = tiny_pretrain(corpus, tmp_path / "strict", "strict")
    assert_on("strict", strict.model)
    for key in ("train_loss", "eval_train", "eval_val"):
        assert len(strict.history[key]) == len(cpu.history[key]) > 0
        np.testing.assert_allclose(strict.history[key], cpu.history[key], rtol=0, atol=ATOL, err_msg=key)
    assert_same_state(strict.model.state_dict(), cpu.model.state_dict())

    prompt = cpu.tokenizer.encode("All:")
    for temperature, top_k in ((0.0, None), (0.8, 5)):
        on_cpu = generate(cpu.model, prompt, max_new_tokens=8, temperature=temperature, top_k=top_k, seed=3)
        on_strict = generate(strict.model, prompt, max_new_tokens=8, temperature=temperature, top_k=top_k, seed=3)
        assert on_strict == on_cpu
        assert len(on_strict) == len(prompt) + 8

    reloaded, _ = load_pretrained(strict.checkpoint, "strict")  # saved from strict, back onto strict
    assert_on("strict", reloaded)
    greedy = dict(max_new_tokens=8, temperature=0.0)
    assert generate(reloaded, prompt, **greedy) == generate(cpu.model, prompt, **greedy)


def test_finetune_on_strict_gives_the_cpu_result(corpus, tmp_path):
    checkpoint = tiny_pretrain(corpus, tmp_path / "pre", "cpu", iters=2).checkpoint
    results = {}
    for device in ("cpu", "strict"):
        config = FinetuneConfig(task="spam", method="lora", checkpoint=str(checkpoint), epochs=1, train_limit=24,
                                batch_size=8, device=device, progress=False)
        results[device] = train_classifier(config, log=lambda *a: None)
    assert_on("strict", results["strict"]["model"])
    assert results["strict"]["test_accuracy"] == results["cpu"]["test_accuracy"]
    assert results["strict"]["best_val_accuracy"] == results["cpu"]["best_val_accuracy"]
    assert_same_state(results["strict"]["model"].state_dict(), results["cpu"]["model"].state_dict(), atol=1e-6)
