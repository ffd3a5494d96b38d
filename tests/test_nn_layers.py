"""Layer modules: gradients by central differences, initialisation, PyTorch's attention, errors that teach."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import nn
from tinygrad_ft.backend import asarray, backend_of

try:
    import torch
except ImportError:
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def module_gradcheck(module, *inputs, **kwargs):
    """Gradient-check ``module(*inputs, **kwargs)`` with respect to its floating inputs and every
    parameter, in float64: gradcheck hands the closure fresh tensors, which are put in the
    parameters' places for the call (object.__setattr__ passes the Parameter guard).

    h = 1e-5 and tolerance 1e-6: the loss is rounded to ~1e-16 of its size, so a central
    difference carries an error of ~1e-11, which is more than 1e-7 of the smallest gradients
    of a layer (a normalised or softmaxed output has some)."""
    module.to(dtype="float64")
    names = [name for name, _ in module.named_parameters()]
    owners = [(module.get_submodule(n.rpartition(".")[0]), n.rpartition(".")[2]) for n in names]

    def f(*xs):
        originals = [getattr(owner, attr) for owner, attr in owners]
        for (owner, attr), t in zip(owners, xs[len(inputs):]):
            object.__setattr__(owner, attr, t)
        try:
            return module(*xs[: len(inputs)], **kwargs)
        finally:
            for (owner, attr), p in zip(owners, originals):
                object.__setattr__(owner, attr, p)

    result = tg.gradcheck(f, *inputs, *[p.data for p in module.parameters()], eps=1e-5, tol=1e-6)
    assert result.ok, str(result)


def x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- gradients ---------------------------------------------------------------------------------


def test_linear_gradients():
    module_gradcheck(nn.Linear(4, 3), x(2, 3, 4))


def test_linear_without_bias_gradients():
    module_gradcheck(nn.Linear(4, 3, bias=False), x(5, 4))


def test_embedding_gradient_with_repeated_ids():
    module_gradcheck(nn.Embedding(5, 3), np.array([[0, 4, 4], [1, 0, 2]]))


def test_layer_norm_gradients():
    # rows with some spread: near a constant row LayerNorm's curvature grows like 1/σ³ and
    # central differences lose their precision, not the backward
    module_gradcheck(nn.LayerNorm(4), x(2, 3, 4) + np.arange(4))


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.GELU("none"),
                                   nn.Softmax(axis=0), nn.LogSoftmax()], ids=repr)
def test_activation_gradients(layer):
    result = tg.gradcheck(layer, x(3, 4), eps=1e-5, tol=1e-6)
    assert result.ok, str(result)


def test_sequential_gradients():
    module_gradcheck(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)), x(4, 3))


def test_feedforward_gradients():
    module_gradcheck(nn.FeedForward(4, 6), x(2, 3, 4))


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_multi_head_attention_gradients_with_padding(causal):
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    module_gradcheck(nn.MultiHeadAttention(4, 2, causal=causal), x(2, 3, 4), attention_mask=mask)


# ---- MultiHeadAttention against PyTorch ------------------------------------------------------


def torch_attention(x, w_attn, b_attn, w_proj, b_proj, num_heads, causal, mask):
    """The same layer composed from torch.nn.functional (our weights are (in, out))."""
    batch, time, C = x.shape
    q, k, v = (x @ w_attn + b_attn).split(C, dim=2)
    q, k, v = (t.reshape(batch, time, num_heads, C // num_heads).transpose(1, 2) for t in (q, k, v))
    allowed = torch.ones(batch, 1, time, time, dtype=torch.bool)
    if causal:
        allowed = allowed & torch.tril(torch.ones(time, time, dtype=torch.bool))
    if mask is not None:
        allowed = allowed & torch.tensor(mask)[:, None, None, :]
    y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    return y.transpose(1, 2).reshape(batch, time, C) @ w_proj + b_proj


@requires_torch
@pytest.mark.parametrize("causal, padded", [(True, False), (True, True), (False, True)],
                         ids=["causal", "causal-padding", "padding"])
def test_multi_head_attention_matches_torch_values_and_gradients(causal, padded):
    tg.manual_seed(0)
    layer = nn.MultiHeadAttention(8, 2, causal=causal).to(dtype="float64")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=bool) if padded else None
    inputs = x(2, 5, 8)
    ours_x = tg.Tensor(inputs, requires_grad=True)
    out = layer(ours_x, attention_mask=mask)
    cotangent = x(2, 5, 8, seed=1)
    out.backward(cotangent)

    params = [layer.c_attn.weight, layer.c_attn.bias, layer.c_proj.weight, layer.c_proj.bias]
    ts = [torch.tensor(a, requires_grad=True) for a in [inputs] + [p.numpy() for p in params]]
    t_out = torch_attention(*ts, num_heads=2, causal=causal, mask=mask)
    t_out.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=0, atol=1e-12)
    for ours, theirs in zip([ours_x] + params, ts):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=0, atol=1e-12)


def test_multi_head_attention_is_causal_and_ignores_padding():
    layer = nn.MultiHeadAttention(4, 2, causal=True)
    a = x(1, 4, 4)
    b = a.copy()
    b[0, 3] += 1.0  # change the last position only
    ya, yb = layer(tg.Tensor(a)).numpy(), layer(tg.Tensor(b)).numpy()
    np.testing.assert_allclose(ya[0, :3], yb[0, :3], atol=1e-6)  # the earlier positions cannot see it
    full = nn.MultiHeadAttention(4, 2, causal=False)
    mask = np.array([[1, 1, 1, 0]], dtype=bool)
    np.testing.assert_allclose(full(tg.Tensor(a), attention_mask=mask).numpy()[0, :3],
                               full(tg.Tensor(b), attention_mask=mask).numpy()[0, :3], atol=1e-6)


# ---- initialisation --------------------------------------------------------------------------


def test_linear_init_is_pytorchs_uniform_and_reproducible():
    tg.manual_seed(3)
    a = nn.Linear(100, 50)
    tg.manual_seed(3)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert a.weight.shape == (100, 50)
    assert a.bias.shape == (50,)
    assert a.weight.dtype == np.float32
    bound = 1 / np.sqrt(100)
    w = a.weight.numpy()
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound
    assert np.abs(a.bias.numpy()).max() <= bound


def test_embedding_init_is_standard_normal():
    w = nn.Embedding(300, 100).weight.numpy()
    assert abs(w.mean()) < 0.02
    assert abs(w.std() - 1) < 0.02


def test_layer_norm_starts_as_identity_scale_and_zero_shift():
    ln = nn.LayerNorm((6,))
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones(6))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros(6))
    assert [n for n, _ in nn.LayerNorm(6, bias=False).named_parameters()] == ["weight"]


def test_layers_can_be_made_on_a_device():
    layer = nn.Linear(3, 2, device="strict")
    assert backend_of(layer.weight.data).name == "strict"
    assert layer.weight.device == "strict"
    assert layer(tg.Tensor(asarray(x(2, 3), "strict"))).shape == (2, 2)


def test_feedforward_hidden_width_defaults_to_four_times():
    ff = nn.FeedForward(8)
    assert ff.c_fc.weight.shape == (8, 32)
    assert ff.c_proj.weight.shape == (32, 8)


# ---- errors that teach -------------------------------------------------------------------------


def test_linear_names_itself_and_the_shapes_when_the_input_does_not_fit():
    with pytest.raises(ValueError, match=r"^Linear\(in_features=16, out_features=4, bias=True\): expected an input "
                                         r"whose last axis is 16 \(in_features\), got shape \(2, 8\)$"):
        nn.Linear(16, 4)(tg.ones((2, 8)))


def test_layer_norm_names_itself_when_the_input_does_not_fit():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\), eps=1e-05, bias=True\): expected an input whose last axis is 4"):
        nn.LayerNorm(4)(tg.ones((2, 5)))


def test_attention_wants_batch_time_channels():
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(embed_dim=4, num_heads=2, causal=True\): expected an input "
                                         r"of shape \(batch, time, 4\), got shape \(3, 4\)"):
        nn.MultiHeadAttention(4, 2)(tg.ones((3, 4)))


def test_attention_refuses_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\).*one of \[1, 2, 5, 10\]"):
        nn.MultiHeadAttention(10, 3)


def test_embedding_wants_integer_ids_in_range():
    with pytest.raises(TypeError, match=r"Embedding\(5, 4\): expected integer ids, got dtype float32"):
        nn.Embedding(5, 4)(tg.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Embedding\(5, 4\): .*id 9 is out of range"):
        nn.Embedding(5, 4)(np.array([1, 9]))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Dropout(1.0), "must be in \\[0, 1\\)"),
    (lambda: nn.FeedForward(4, activation="swish"), "unknown activation 'swish'"),
    (lambda: nn.GELU("erf"), "approximate must be 'tanh' or 'none'"),
    (lambda: nn.LayerNorm((2, 3)), "last axis only"),
])
def test_bad_layer_settings_are_refused_with_a_reason(make, message):
    with pytest.raises(ValueError, match=message):
        make()
