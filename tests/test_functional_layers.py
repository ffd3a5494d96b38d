"""linear, layer_norm, embedding, dropout."""

import numpy as np
import pytest
from helpers import check_op, to_device, torch

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.autograd import max_difference
from tinygrad_ft.backend import to_numpy

TF = torch.nn.functional if torch is not None else None


def assert_close_to_composed(fused, composed, *inputs):
    value_diff, grad_diff = max_difference(fused, composed, *inputs)
    assert value_diff < 1e-10, (value_diff, grad_diff)
    assert grad_diff < 1e-10, (value_diff, grad_diff)


# ---- linear: weight (in, out), the transpose of PyTorch's ----------------------------------

LINEAR_CASES = [  # x shape, in, out
    pytest.param((4, 3), 3, 2, id="N,in"),
    pytest.param((2, 3, 4), 4, 5, id="B,T,in"),
    pytest.param((2, 1, 2, 3), 3, 1, id="extra-batch-and-size-1"),
    pytest.param((3,), 3, 2, id="one-vector"),
]


@pytest.mark.parametrize("x_shape, n_in, n_out", LINEAR_CASES)
def test_linear_gradcheck_and_torch(x_shape, n_in, n_out, device):
    check_op(lambda x, w, b: TF.linear(x, w.T, b), F.linear, [x_shape, (n_in, n_out), (n_out,)], device)


@pytest.mark.parametrize("x_shape, n_in, n_out", LINEAR_CASES)
def test_linear_without_bias_gradcheck_and_torch(x_shape, n_in, n_out, device):
    check_op(lambda x, w: TF.linear(x, w.T), F.linear, [x_shape, (n_in, n_out)], device)


def test_linear_fused_equals_composed(device):
    x, w, b = (np.random.default_rng(s).standard_normal(shape) for s, shape in enumerate([(2, 3, 4), (4, 5), (5,)]))
    assert_close_to_composed(F.linear, F.linear_composed, *(to_device(a, device) for a in (x, w, b)))


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"in_features"):
        F.linear(tg.zeros((2, 3)), tg.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"bias"):
        F.linear(tg.zeros((2, 3)), tg.zeros((3, 5)), tg.zeros((3,)))


# ---- layer_norm --------------------------------------------------------------------------

LAYER_NORM_SHAPES = [pytest.param((4, 5), id="N,C"), pytest.param((2, 3, 4), id="B,T,C"), pytest.param((1, 1, 6), id="size-1")]


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_gradcheck_and_torch(shape, device):
    c = shape[-1]
    check_op(lambda x, w, b: TF.layer_norm(x, (c,), w, b, 1e-5), F.layer_norm, [shape, (c,), (c,)], device)


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_without_affine_gradcheck_and_torch(shape, device):
    # Without w and b some gradient elements are ~1e-4, where a central difference's absolute
    # error (~1e-11, from rounding and h²) is already ~1e-7 of it: a looser tolerance, a larger h.
    def reference(x):
        return TF.layer_norm(x, (shape[-1],), eps=1e-3)
    check_op(reference, lambda x: F.layer_norm(x, eps=1e-3), [shape], device, eps=1e-5, tol=1e-6)


def test_layer_norm_weight_without_bias(device):
    check_op(lambda x, w: TF.layer_norm(x, (4,), w), lambda x, w: F.layer_norm(x, w), [(3, 4), (4,)], device)


def test_layer_norm_fused_equals_composed(device):
    x, w, b = (np.random.default_rng(s).standard_normal(shape) for s, shape in enumerate([(2, 3, 6), (6,), (6,)]))
    assert_close_to_composed(F.layer_norm, F.layer_norm_composed, *(to_device(a, device) for a in (x * 3 + 1, w, b)))


def test_layer_norm_constant_row_is_finite(device):
    x = tg.Tensor(to_device(np.full((2, 4), 7.0, dtype="float32"), device), requires_grad=True)
    w, b = tg.ones((4,), device=device, requires_grad=True), tg.zeros((4,), device=device, requires_grad=True)
    with tg.detect_anomaly():
        y = F.layer_norm(x, w, b)
        y.backward(to_device(np.arange(8, dtype="float32").reshape(2, 4), device))
    assert not y.numpy().any()
    assert y.dtype == np.float32
    assert x.grad.dtype == np.float32


def test_layer_norm_checks_shapes():
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(4,\)"):
        F.layer_norm(tg.zeros((2, 4)), tg.ones((3,)), tg.zeros((4,)))


# ---- embedding ---------------------------------------------------------------------------

EMBEDDING_CASES = [  # ids, V, C
    pytest.param([1, 3, 1, 1], 5, 3, id="repeated-ids"),
    pytest.param([[0, 4, 2], [2, 2, 0]], 5, 2, id="B,T"),
    pytest.param([[[3]]], 4, 1, id="size-1"),
    pytest.param(2, 3, 4, id="scalar-id"),
]


@pytest.mark.parametrize("ids, vocab, dim", EMBEDDING_CASES)
def test_embedding_gradcheck_and_torch(ids, vocab, dim, device):
    check_op(lambda w, i: TF.embedding(i, w), lambda w, i: F.embedding(i, w), [(vocab, dim)], device, extra=(np.array(ids),))


def test_embedding_fused_equals_composed(device):
    ids = to_device(np.array([[1, 1, 3], [0, 1, 4]]), device)
    weight = np.random.default_rng(9).standard_normal((5, 3))
    assert_close_to_composed(lambda w: F.embedding(ids, w), lambda w: F.embedding_composed(ids, w), to_device(weight, device))


def test_embedding_repeated_ids_add_their_gradients(device):
    weight = tg.Tensor(to_device(np.zeros((4, 2), dtype="float32"), device), requires_grad=True)
    out = F.embedding(tg.Tensor(to_device(np.array([3, 1, 3, 3]), device)), weight)
    out.backward(to_device(np.arange(8, dtype="float32").reshape(4, 2), device))
    np.testing.assert_array_equal(to_numpy(weight.grad), [[0, 0], [2, 3], [0, 0], [0 + 4 + 6, 1 + 5 + 7]])


@pytest.mark.parametrize("bad", [5, -1])
def test_embedding_id_out_of_range_names_id_and_size(bad, device):
    weight = tg.zeros((5, 2), device=device)
    with pytest.raises(ValueError, match=rf"id {bad} .*5 rows"):
        F.embedding(to_device(np.array([[0, bad]]), device), weight)


def test_embedding_rejects_float_ids():
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([0.0, 1.0]), tg.zeros((3, 2)))


# ---- dropout -----------------------------------------------------------------------------


def test_dropout_backward_uses_the_forward_mask(device):
    x = tg.Tensor(to_device(np.random.default_rng(10).standard_normal((6, 50)) + 5, device), requires_grad=True)
    y = F.dropout(x, p=0.3)
    g = np.random.default_rng(11).standard_normal((6, 50))
    y.backward(to_device(g, device))
    kept = y.numpy() != 0
    assert 0.5 < kept.mean() < 0.9
    np.testing.assert_allclose(y.numpy(), np.where(kept, x.numpy() / 0.7, 0), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(x.grad), np.where(kept, g / 0.7, 0), rtol=1e-12)


def test_dropout_gradcheck(device):
    def ours(x):
        tg.manual_seed(3)  # the same mask on every call, so central differences see one function
        return F.dropout(x, p=0.4)

    check_op(None, ours, [(4, 5)], device)


def test_dropout_fused_equals_composed(device):
    x = to_device(np.random.default_rng(12).standard_normal((3, 4, 5)), device)
    tg.manual_seed(7)
    keep = tg.backend.get_backend(device).random((3, 4, 5), np.float64) >= 0.25  # the draw dropout makes

    def fused(t):
        tg.manual_seed(7)
        return F.dropout(t, p=0.25)

    assert_close_to_composed(fused, lambda t: F.dropout_composed(t, keep, 0.25), x)


def test_dropout_expected_value_is_unchanged(device):
    x = tg.ones((200, 100), device=device)
    y = F.dropout(x, p=0.2).numpy()
    assert set(np.unique(y).tolist()) <= {0.0, np.float32(1 / 0.8)}
    assert abs(y.mean() - 1) < 0.02
    assert abs((y == 0).mean() - 0.2) < 0.01
    assert y.dtype == np.float32


def test_dropout_is_identity_in_eval_or_at_p_0():
    x = tg.randn(3, 4, requires_grad=True)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x


def test_dropout_seeded_masks_repeat():
    x = tg.ones((4, 8))
    tg.manual_seed(1)
    a = F.dropout(x, 0.5).numpy()
    tg.manual_seed(1)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_p_must_be_in_0_1(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        F.dropout(tg.ones((2,)), p=p)
