"""GPT-2's three dropout sites: the embeddings, the attention probabilities (inside the attention
op, with a hand-derived backward) and the residual outputs; rates in GPTConfig."""

import numpy as np
import pytest
from helpers import check_op, to_device

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.autograd.gradcheck import numerical_gradient, relative_error
from tinygrad_ft.backend import to_numpy
from tinygrad_ft.functional.dropout import keep_mask
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.nn.checkpoint import read_meta
from tinygrad_ft.paths import BABY_CHECKPOINT, BPE_CHECKPOINT, data_path

P = 0.3
PADDING = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])


def seeded_attention(causal=True, mask=None, p=P, seed=5):
    """The op with the same dropout mask at every call (the generator is reseeded first)."""
    def attend(q, k, v):
        tg.manual_seed(seed)
        return F.scaled_dot_product_attention(q, k, v, causal=causal, attention_mask=mask, dropout_p=p)
    return attend


@pytest.mark.parametrize("causal, mask", [(True, None), (False, PADDING), (True, PADDING)], ids=["causal", "padding", "both"])
def test_attention_dropout_gradcheck_with_a_fixed_mask(causal, mask, device):
    mask = None if mask is None else to_device(mask, device)
    check_op(None, seeded_attention(causal, mask), [(2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3)], device, eps=1e-5)


def test_attention_dropout_equals_the_composed_op_with_the_same_mask(device):
    rng = np.random.default_rng(3)
    q, k, v = (to_device(rng.standard_normal((2, 2, 4, 3)), device) for _ in range(3))
    tg.manual_seed(5)
    keep_t = keep_mask(q, (2, 2, 4, 4), q.dtype, P)  # the op draws its mask keys by queries: (..., Tk, Tq)

    def composed(q, k, v):
        return F.scaled_dot_product_attention_composed(q, k, v, causal=True, keep=keep_t.swapaxes(-1, -2), dropout_p=P)
    value_diff, grad_diff = max_difference(seeded_attention(), composed, q, k, v)
    assert value_diff < 1e-12
    assert grad_diff < 1e-12


def test_attention_dropout_drops_some_weights_and_not_others():
    v = np.eye(6)[None, None]  # O = P' V = P': the dropped probabilities themselves
    q = k = tg.Tensor(np.zeros((1, 1, 6, 6)))
    tg.manual_seed(5)
    dropped = F.scaled_dot_product_attention(q, k, tg.Tensor(v), dropout_p=0.5).numpy()[0, 0]
    assert set(np.unique(dropped)) == {0.0, 1 / 6 / 0.5}  # uniform P = 1/6; kept ones scaled by 1/(1 - p)


def test_packed_attention_dropout_equals_the_op_on_split_heads(device):
    rng = np.random.default_rng(4)
    qkv = to_device(rng.standard_normal((2, 5, 12)), device)

    def packed(qkv):
        tg.manual_seed(7)
        return F.packed_self_attention(qkv, num_heads=2, causal=True, dropout_p=P)

    def split(qkv):
        q, k, v = (qkv[:, :, i * 4:(i + 1) * 4].reshape(2, 5, 2, 2).transpose(0, 2, 1, 3) for i in range(3))
        tg.manual_seed(7)
        out = F.scaled_dot_product_attention(q, k, v, causal=True, dropout_p=P)
        return out.transpose(0, 2, 1, 3).reshape(2, 5, 4)
    value_diff, grad_diff = max_difference(packed, split, qkv)
    assert value_diff < 1e-12
    assert grad_diff < 1e-12


def test_attention_dropout_zero_is_bit_identical_to_no_dropout():
    rng = np.random.default_rng(5)
    qkv = tg.Tensor(rng.standard_normal((2, 5, 12)).astype("float32"))
    plain = F.packed_self_attention(qkv, num_heads=2, causal=True).numpy()
    np.testing.assert_array_equal(F.packed_self_attention(qkv, num_heads=2, causal=True, dropout_p=0.0).numpy(), plain)


def test_attention_dropout_is_off_outside_training():
    rng = np.random.default_rng(6)
    qkv = tg.Tensor(rng.standard_normal((2, 5, 12)))
    plain = F.packed_self_attention(qkv, num_heads=2, causal=True).numpy()
    np.testing.assert_array_equal(F.packed_self_attention(qkv, 2, causal=True, dropout_p=0.5, training=False).numpy(), plain)


def test_attention_dropout_p_of_one_is_refused_naming_dropout_p():
    q = tg.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)


# ---- the GPT: where the rates go --------------------------------------------------------------------


def test_the_three_rates_default_to_dropout():
    config = GPTConfig(dropout=0.2)
    assert (config.embd_pdrop, config.attn_pdrop, config.resid_pdrop) == (0.2, 0.2, 0.2)


def test_a_given_rate_overrides_dropout():
    assert GPTConfig(dropout=0.2, attn_pdrop=0.0).attn_pdrop == 0.0


def test_a_rate_outside_zero_to_one_is_refused_naming_it():
    with pytest.raises(ValueError, match="resid_pdrop"):
        GPTConfig(resid_pdrop=1.5)


@pytest.mark.parametrize("checkpoint", [BABY_CHECKPOINT, BPE_CHECKPOINT])
def test_the_shipped_checkpoints_configs_still_load_with_no_dropout(checkpoint):
    config = GPTConfig.from_dict(read_meta(data_path(checkpoint))["model_config"])
    assert (config.embd_pdrop, config.attn_pdrop, config.resid_pdrop) == (0.0, 0.0, 0.0)


def test_the_gpt_puts_each_rate_at_its_site():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, embd_pdrop=0.1, attn_pdrop=0.2,
                          resid_pdrop=0.3))
    block = model.blocks[0]
    assert (model.drop.p, block.attn.attn_dropout, block.attn.dropout.p, block.mlp.dropout.p) == (0.1, 0.2, 0.3, 0.3)


SITES = {"embd_pdrop": "wte.weight", "attn_pdrop": "blocks.0.attn.c_attn.weight", "resid_pdrop": "blocks.0.mlp.c_fc.weight"}


@pytest.mark.parametrize("site", SITES)
def test_gpt_gradients_with_dropout_at_each_site_match_central_differences(site):
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4, **{site: 0.3})).to(dtype="float64")
    rng = np.random.default_rng(1)
    for p in model.parameters():  # O(1) weights: GPT-2's 0.02 init makes gradients too small to difference
        p.data = rng.standard_normal(p.shape) * 0.7
    x, y = rng.integers(0, 5, (2, 4)), rng.integers(0, 5, (2, 4))

    def loss():
        tg.manual_seed(9)  # the same dropout masks at every evaluation
        return model(x, y)[1]
    model.train()
    loss().backward()
    p = dict(model.named_parameters())[SITES[site]]
    numeric = numerical_gradient(lambda: float(loss().data), p, eps=1e-5)
    assert relative_error(to_numpy(p.grad), numeric).max() < 1e-6


@pytest.mark.parametrize("site", SITES)
def test_each_site_changes_the_training_loss(site):
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, **{site: 0.5}))
    x, y = np.random.default_rng(0).integers(0, 11, (2, 8)), np.random.default_rng(1).integers(0, 11, (2, 8))
    evaluated = float(model.eval()(x, y)[1].data)
    assert float(model.train()(x, y)[1].data) != evaluated


def test_a_gpt_with_dropout_zero_trains_exactly_as_it_evaluates():
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    x = np.random.default_rng(0).integers(0, 11, (2, 8))
    np.testing.assert_array_equal(model.train()(x)[0].numpy(), model.eval()(x)[0].numpy())
