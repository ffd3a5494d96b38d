"""The tiny GPT: shapes, errors, and agreement with the same model in PyTorch (float64)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import requires_torch, torch

import tinygrad_ft as tg
from tinygrad_ft.autograd.gradcheck import numerical_gradient, relative_error
from tinygrad_ft.models.gpt import GPT, GPTConfig

TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)


def tiny_gpt(**overrides):
    tg.manual_seed(0)
    return GPT(GPTConfig(**(TINY | overrides)))


def batch(seed=0, B=3, T=8, V=11):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))


def test_gpt_logits_have_shape_batch_time_vocab():
    x, _ = batch()
    logits, loss = tiny_gpt()(x)
    assert logits.shape == (3, 8, 11)
    assert loss is None


def test_gpt_initial_loss_is_near_log_vocab():
    x, y = batch()
    _, loss = tiny_gpt()(x, y)
    assert abs(loss.item() - np.log(11)) < 0.1


def test_gpt_refuses_a_sequence_longer_than_block_size():
    x = np.zeros((1, 9), dtype=np.int64)
    with pytest.raises(ValueError, match="longer than block_size 8"):
        tiny_gpt()(x)


def test_gpt_config_refuses_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(n_embd=10, n_head=3)


def test_gpt_is_causal_a_later_token_does_not_change_earlier_logits():
    model = tiny_gpt()
    x, _ = batch()
    x2 = x.copy()
    x2[:, -1] = (x2[:, -1] + 1) % 11
    np.testing.assert_allclose(model(x)[0].numpy()[:, :-1], model(x2)[0].numpy()[:, :-1], atol=1e-6)


def test_gpt_with_tied_weights_has_no_separate_head():
    model = tiny_gpt(tie_weights=True)
    assert model.lm_head is None
    x, y = batch()
    _, loss = model(x, y)
    loss.backward()
    assert model.wte.weight.grad is not None


@pytest.mark.parametrize("name", ["blocks.0.attn.c_attn.weight", "blocks.0.ln_1.weight", "blocks.0.mlp.c_fc.bias", "wpe.weight",
                                  "lm_head.weight"])
def test_gpt_gradients_match_central_differences_in_float64(name):
    model = tiny_gpt(n_layer=1, vocab_size=5, n_embd=4, block_size=4).to(dtype="float64")
    rng = np.random.default_rng(1)
    for p in model.parameters():  # O(1) weights: GPT-2's 0.02 init makes gradients too small to difference
        p.data = rng.standard_normal(p.shape) * 0.7
    x, y = rng.integers(0, 5, (2, 4)), rng.integers(0, 5, (2, 4))
    model(x, y)[1].backward()
    p = dict(model.named_parameters())[name]
    numeric = numerical_gradient(lambda: float(model(x, y)[1].data), p, eps=1e-5)
    assert relative_error(p.grad, numeric).max() < 1e-6


@requires_torch
def test_gpt_matches_pytorch_logits_loss_and_every_gradient_in_float64():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from torch_gpt import TorchGPT, is_linear_weight, load_from_ours

    config = GPTConfig(**TINY)
    tg.manual_seed(0)
    ours = GPT(config).to(dtype="float64")
    theirs = TorchGPT(config).double()
    load_from_ours(theirs, {k: v for k, v in ours.state_dict().items()}, dtype=torch.float64)
    x, y = batch()
    logits, loss = ours(x, y)
    t_logits, t_loss = theirs(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(loss.item(), t_loss.item(), atol=1e-12)
    loss.backward()
    t_loss.backward()
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        g = p.grad.T if is_linear_weight(name, p.ndim) else p.grad
        np.testing.assert_allclose(g, t_params[name].grad.numpy(), atol=1e-12, err_msg=name)
