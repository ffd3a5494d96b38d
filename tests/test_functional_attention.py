"""scaled_dot_product_attention: causal (bottom-right aligned), padding masks, fully masked rows."""

import numpy as np
import pytest
from helpers import check_op, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import get_backend, to_numpy
from tinygrad_ft.functional.attention import causal_bias


def torch_attention(q, k, v, causal=False, attention_mask=None):
    """PyTorch's attention with our masks spelled out: its is_causal aligns top-left when
    Tq != Tk, ours bottom-right (the last query sees every key), so pass an explicit mask."""
    num_queries, num_keys = q.shape[-2], k.shape[-2]
    visible = torch.ones(num_queries, num_keys, dtype=torch.bool)
    if causal:
        visible = torch.arange(num_keys)[None, :] <= torch.arange(num_queries)[:, None] + (num_keys - num_queries)
    if attention_mask is not None:
        visible = visible & attention_mask.bool().reshape(attention_mask.shape[0], *(1,) * (q.ndim - 3), 1, num_keys)
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=visible)


PADDING = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])  # every query of both rows still sees a key
CASES = [  # q shape, k shape, v shape, causal, attention_mask
    pytest.param((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), False, None, id="plain"),
    pytest.param((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3), True, None, id="causal"),
    pytest.param((1, 2, 2, 3), (1, 2, 4, 3), (1, 2, 4, 2), True, None, id="causal-Tq<Tk-Dv!=D"),
    pytest.param((2, 1, 3, 2), (2, 1, 4, 2), (2, 1, 4, 2), False, PADDING, id="padding"),
    pytest.param(
        (2, 2, 4, 2), (2, 2, 4, 2), (2, 2, 4, 2), True, np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool), id="causal+padding"
    ),
    pytest.param((2, 3, 2), (2, 4, 2), (2, 4, 3), False, PADDING, id="no-head-axis"),
    pytest.param((1, 1, 1, 3), (1, 1, 1, 3), (1, 1, 1, 3), True, None, id="size-1"),
    pytest.param((2, 2, 3, 2), (1, 2, 3, 2), (2, 1, 3, 2), False, None, id="broadcast-k-v"),
]


def ours_for(causal, mask):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=causal, attention_mask=mask)


@pytest.mark.parametrize("q_shape, k_shape, v_shape, causal, mask", CASES)
def test_gradcheck_and_torch(q_shape, k_shape, v_shape, causal, mask, device):
    mask_dev = None if mask is None else to_device(mask, device)
    t_mask = None if mask is None or torch is None else torch.tensor(mask)
    def reference(q, k, v):
        return torch_attention(q, k, v, causal, t_mask)
    check_op(reference, ours_for(causal, mask_dev), [q_shape, k_shape, v_shape], device, eps=1e-5)


@pytest.mark.parametrize("q_shape, k_shape, v_shape, causal, mask", CASES)
def test_fused_equals_composed(q_shape, k_shape, v_shape, causal, mask, device):
    rng = np.random.default_rng(13)
    q, k, v = (to_device(rng.standard_normal(s) * 2, device) for s in (q_shape, k_shape, v_shape))
    mask = None if mask is None else to_device(mask, device)
    def composed(q, k, v):
        return F.scaled_dot_product_attention_composed(q, k, v, causal, mask)
    value_diff, grad_diff = max_difference(ours_for(causal, mask), composed, q, k, v)
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


def run_with_grads(q, k, v, device, **kwargs):
    qkv = [tg.Tensor(to_device(a, device), requires_grad=True) for a in (q, k, v)]
    with tg.detect_anomaly():
        out = F.scaled_dot_product_attention(*qkv, **kwargs)
        out.backward(to_device(np.random.default_rng(14).standard_normal(out.shape).astype(q.dtype), device))
    return out.numpy(), [to_numpy(t.grad) for t in qkv]


def test_fully_padded_sequence_gives_zeros_not_nan(device):
    rng = np.random.default_rng(15)
    q, k, v = (rng.standard_normal((2, 2, 3, 4)).astype("float32") * 1000 for _ in range(3))
    mask = to_device(np.array([[1, 1, 0], [0, 0, 0]]), device)  # batch 1: nothing to attend to
    out, (d_q, d_k, d_v) = run_with_grads(q, k, v, device, attention_mask=mask, causal=True)
    assert np.isfinite(out).all()
    assert np.isfinite(d_q).all()
    assert np.isfinite(d_k).all()
    assert not out[1].any()
    assert not d_q[1].any()
    assert not d_k[1].any()
    assert not d_v[1].any()
    assert out[0].any()
    assert d_v[0].any()
    assert not d_k[0, :, 2].any()
    assert not d_v[0, :, 2].any()


def test_more_queries_than_keys_causal_rows_see_nothing(device):
    """Tq > Tk, causal: query i sees keys j ≤ i - 2, so the first two queries see none."""
    rng = np.random.default_rng(16)
    q, k, v = rng.standard_normal((1, 1, 4, 2)), rng.standard_normal((1, 1, 2, 2)), rng.standard_normal((1, 1, 2, 2))
    out, (d_q, _, _) = run_with_grads(q, k, v, device, causal=True)
    assert not out[0, 0, :2].any()
    assert not d_q[0, 0, :2].any()
    np.testing.assert_allclose(out[0, 0, 2], v[0, 0, 0], rtol=1e-12)  # only key 0 is visible


def test_causal_means_no_peeking(device):
    """Changing a future key or value leaves earlier outputs exactly as they were."""
    rng = np.random.default_rng(17)
    q, k, v = (rng.standard_normal((1, 2, 5, 3)) for _ in range(3))
    before = F.scaled_dot_product_attention(*(tg.Tensor(to_device(a, device)) for a in (q, k, v)), causal=True).numpy()
    k[..., 4, :] += 10
    v[..., 4, :] -= 10
    after = F.scaled_dot_product_attention(*(tg.Tensor(to_device(a, device)) for a in (q, k, v)), causal=True).numpy()
    np.testing.assert_array_equal(before[..., :4, :], after[..., :4, :])
    assert not np.allclose(before[..., 4, :], after[..., 4, :])


def test_large_scores_stay_finite_in_float32(device):
    rng = np.random.default_rng(18)
    q, k, v = (rng.standard_normal((1, 2, 4, 8)).astype("float32") * 100 for _ in range(3))
    out, grads = run_with_grads(q, k, v, device, causal=True)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


def test_causal_mask_is_built_once_per_shape(device):
    xp = get_backend(device).xp
    assert causal_bias(xp, device, 3, 5, np.float32) is causal_bias(xp, device, 3, 5, np.float32)
    future = np.isinf(to_numpy(causal_bias(xp, device, 3, 5, np.float32)))  # (Tk, Tq): keys by queries
    np.testing.assert_array_equal(future.T, np.triu(np.ones((3, 5), bool), k=3))  # query i sees keys j ≤ i + 2


def test_mask_shape_errors():
    q = tg.zeros((2, 1, 3, 4))
    with pytest.raises(ValueError, match=r"attention_mask of shape \(2, 4\)"):
        F.scaled_dot_product_attention(q, q, q, attention_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, tg.zeros((2, 1, 3, 5)), q)
