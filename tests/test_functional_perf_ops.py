"""The fused ops written for speed: each gradient-checked in float64, equal to its composition
from primitive ops (to 1e-10), on every device (strict: no NumPy leaks)."""

import numpy as np
import pytest
from helpers import to_device

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.functional.attention import packed_self_attention

# ---- packed self-attention: split into heads + attention + merge heads, one op -------------

PACKED_CASES = [  # batch, time, heads, head_dim, causal, attention_mask
    pytest.param(2, 4, 2, 3, True, None, id="causal"),
    pytest.param(1, 3, 1, 2, False, None, id="one-head"),
    pytest.param(2, 4, 2, 2, False, np.array([[1, 1, 1, 0], [0, 1, 1, 1]]), id="padding"),
    pytest.param(2, 4, 3, 2, True, np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool), id="causal+padding"),
    pytest.param(2, 1, 2, 2, True, None, id="one-position"),
]


def split_attend_merge(qkv, num_heads, causal, mask):
    """The composition: reshape and transpose into heads, attend (composed), merge the heads."""
    batch, time, width = qkv.shape
    head_dim = width // (3 * num_heads)
    heads = qkv.reshape(batch, time, 3, num_heads, head_dim).transpose(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention_composed(heads[0], heads[1], heads[2], causal, mask)
    return out.transpose(0, 2, 1, 3).reshape(batch, time, width // 3)


@pytest.mark.parametrize("batch, time, heads, head_dim, causal, mask", PACKED_CASES)
def test_packed_attention_gradcheck(batch, time, heads, head_dim, causal, mask, device):
    qkv = to_device(np.random.default_rng(1).standard_normal((batch, time, 3 * heads * head_dim)), device)
    mask = None if mask is None else to_device(mask, device)
    result = tg.gradcheck(lambda t: packed_self_attention(t, heads, causal=causal, attention_mask=mask), qkv, tol=1e-7, eps=1e-5)
    assert result.ok, str(result)


@pytest.mark.parametrize("batch, time, heads, head_dim, causal, mask", PACKED_CASES)
def test_packed_attention_equals_composed(batch, time, heads, head_dim, causal, mask, device):
    qkv = to_device(np.random.default_rng(2).standard_normal((batch, time, 3 * heads * head_dim)) * 2, device)
    mask = None if mask is None else to_device(mask, device)
    def fused(t):
        return packed_self_attention(t, heads, causal=causal, attention_mask=mask)
    def composed(t):
        return split_attend_merge(t, heads, causal, mask)
    value_diff, grad_diff = max_difference(fused, composed, qkv)
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


def test_packed_attention_float32_matches_float64(device):
    qkv = np.random.default_rng(3).standard_normal((2, 8, 3 * 16))
    outs = []
    for dtype in ("float64", "float32"):
        t = tg.Tensor(to_device(qkv.astype(dtype), device), requires_grad=True)
        out = packed_self_attention(t, 4, causal=True)
        assert out.dtype == dtype
        out.backward(to_device(np.ones(out.shape, dtype), device))
        assert t.grad.dtype == dtype
        outs.append((out.numpy(), tg.backend.to_numpy(t.grad)))
    assert np.allclose(outs[0][0], outs[1][0], atol=1e-5)
    assert np.allclose(outs[0][1], outs[1][1], atol=1e-4)


def test_packed_attention_rejects_bad_shapes():
    with pytest.raises(ValueError, match="3 \\* C"):
        packed_self_attention(tg.Tensor(np.zeros((2, 3, 10))), 2)
    with pytest.raises(ValueError, match="attention_mask"):
        packed_self_attention(tg.Tensor(np.zeros((2, 3, 12))), 2, attention_mask=np.ones((2, 4), dtype=bool))


# ---- GELU (tanh): the plain lines (kernels off) and the fused path, on every shape ----------------

@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (7,), ()])
def test_plain_gelu_gradcheck(shape, device, plain_ops):
    x = to_device(np.random.default_rng(4).standard_normal(shape) * 2, device)
    result = tg.gradcheck(tg.functional.gelu, x, tol=1e-7, eps=1e-6)
    assert result.ok, str(result)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (7,), ()])
def test_gelu_equals_composed(shape, device):
    x = to_device(np.random.default_rng(5).standard_normal(shape) * 3, device)
    value_diff, grad_diff = max_difference(tg.functional.gelu, F.gelu_composed, x)
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


def test_gelu_of_an_empty_array(device):
    t = tg.Tensor(to_device(np.zeros((0, 3)), device), requires_grad=True)
    y = tg.functional.gelu(t)
    y.backward(to_device(np.zeros((0, 3)), device))
    assert y.shape == (0, 3)
    assert t.grad.shape == (0, 3)


def test_gelu_non_contiguous_input(device):
    x = np.random.default_rng(7).standard_normal((4, 6))
    t = tg.Tensor(to_device(x, device), requires_grad=True)
    y = tg.functional.gelu(t.T)  # a transposed view
    y.backward(to_device(np.ones((6, 4)), device))
    expected = F.gelu_composed(tg.Tensor(x.T.copy())).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert tg.backend.to_numpy(t.grad).shape == (4, 6)
