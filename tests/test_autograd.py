"""What backward() promises: seeds, accumulation, graph lifetime, no_grad/detach, and what a
Tensor is (dtype, device, shape, its gradient's type)."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, get_backend, to_numpy


def grad_of(t):
    return to_numpy(t.grad)


# ---- the seed of backward --------------------------------------------------------------------


def test_backward_of_a_scalar_seeds_it_with_one(device):
    x = tg.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [2, 2, 2])


def test_backward_of_a_one_element_tensor_needs_no_seed(device):
    x = tg.Tensor([[4.0]], device=device, requires_grad=True)
    (x * x).backward()
    np.testing.assert_array_equal(grad_of(x), [[8.0]])


def test_an_explicit_seed_is_the_gradient_flowing_into_the_output(device):
    x = tg.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * 3).backward(np.array([1.0, 10.0, 100.0], dtype=np.float32))
    np.testing.assert_array_equal(grad_of(x), [3, 30, 300])


def test_the_seed_may_be_a_tensor(device):
    x = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 3).backward(tg.Tensor([1.0, -1.0], device=device))
    np.testing.assert_array_equal(grad_of(x), [3, -3])


def test_backward_of_a_non_scalar_without_a_seed_raises():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()


# ---- accumulation ----------------------------------------------------------------------------


def test_a_tensor_used_twice_in_a_product_gets_both_gradients(device):
    x = tg.Tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [2, -4, 6])


def test_a_tensor_added_to_itself_gets_gradient_two(device):
    x = tg.Tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [2, 2, 2])


def test_a_tensor_reached_along_two_paths_sums_them(device):
    x = tg.Tensor([2.0], device=device, requires_grad=True)
    y = x * 3
    (y * y + y.exp()).sum().backward()  # d/dx (9x² + e^{3x}) = 18x + 3 e^{3x}
    np.testing.assert_allclose(grad_of(x), [36 + 3 * np.exp(6)], rtol=1e-6)


def test_gradients_accumulate_across_backward_calls(device):
    x = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [7, 7])


def test_zero_grad_starts_accumulation_afresh():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    x.zero_grad()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [5, 5])


def test_leaf_gradients_are_separate_writable_arrays(device):
    # a + b hands the same array g to both inputs, and a reduction's gradient can be a read-only
    # broadcast view: neither may leak into .grad, or an in-place update of one .grad would hit another
    a = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tg.Tensor([3.0, 4.0], device=device, requires_grad=True)
    c = tg.Tensor([[1.0], [2.0]], device=device, requires_grad=True)
    seed = asarray(np.ones(2, np.float32), device)
    (a + b + c.sum(axis=1)).backward(seed)
    a.grad *= 10
    c.grad *= 10
    np.testing.assert_array_equal(grad_of(b), [1, 1])
    np.testing.assert_array_equal(to_numpy(seed), [1, 1])
    np.testing.assert_array_equal(grad_of(c), [[10], [10]])


# ---- what records a graph --------------------------------------------------------------------


def test_no_grad_records_nothing(device):
    x = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
    assert (y.requires_grad, y.is_leaf, tg.is_grad_enabled()) == (False, True, True)


def test_no_grad_is_switched_back_on_after_an_exception():
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()


def test_an_op_on_tensors_that_need_no_gradient_records_nothing():
    y = tg.Tensor([1.0]) * tg.Tensor([2.0])
    assert (y.requires_grad, y._ctx) == (False, None)


def test_detach_cuts_the_graph(device):
    x = tg.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x.detach() * x).sum().backward()  # the detached factor is a constant: d/dx = x, not 2x
    np.testing.assert_array_equal(grad_of(x), [1, 2, 3])


def test_detach_gives_a_leaf_that_needs_no_gradient_and_shares_the_data():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 1).detach()
    assert (d.requires_grad, d.is_leaf, d.device) == (False, True, "cpu")
    np.testing.assert_array_equal(d.numpy(), [1, 2])


def test_an_integer_index_tensor_does_not_join_the_graph():
    table = tg.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    ids = tg.Tensor([2, 0, 2])
    table[ids].sum().backward()
    assert ids.grad is None
    np.testing.assert_array_equal(grad_of(table), [[1, 1], [0, 0], [2, 2]])


# ---- graph lifetime --------------------------------------------------------------------------


def test_the_graph_is_freed_after_backward():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_it_for_a_second_backward(device):
    x = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [4, 8])


def test_retain_grad_keeps_an_intermediate_gradient(device):
    x = tg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    h = (x * 3).retain_grad()
    u = x * 4
    (h * h + u).sum().backward()
    np.testing.assert_array_equal(grad_of(h), [6, 12])  # dL/dh = 2h
    assert u.grad is None  # intermediates keep no gradient unless asked


def test_a_chain_of_ten_thousand_ops_backpropagates_without_recursion():
    x = tg.Tensor([1.0], dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(grad_of(x), [1.0001**10_000], rtol=1e-10)


def test_backward_on_a_tensor_that_needs_no_gradient_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0]).sum().backward()


# ---- the gradient's type -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "op",
    [
        pytest.param(lambda x: x.max(), id="max"),
        pytest.param(lambda x: tg.maximum(x, 0.0).sum(), id="maximum"),
        pytest.param(lambda x: (x / 3).mean(), id="mean"),
        pytest.param(lambda x: x.var(ddof=1), id="var"),
        pytest.param(lambda x: (x.abs() ** 1.5).sum(), id="pow"),
        pytest.param(lambda x: tg.where(x.data > 0, x, 0.0).sum(), id="where"),
        pytest.param(lambda x: x[[0, 0, 1]].sum(), id="gather"),
        pytest.param(lambda x: (x @ x.T).sum(), id="matmul"),
    ],
)
def test_grad_is_an_array_of_the_tensors_device_shape_and_dtype(device, dtype, op):
    x = tg.Tensor(np.arange(6.0).reshape(2, 3) - 2.5, dtype=dtype, device=device, requires_grad=True)
    op(x).backward()
    assert get_backend(device).owns(x.grad)
    assert (tuple(x.grad.shape), x.grad.dtype) == (x.shape, x.dtype)


def test_an_ops_output_is_an_array_even_when_numpy_would_give_a_scalar(device):
    x = tg.Tensor([1.0, 2.0], device=device)
    for y in (x.sum(), x.max(), x[0], x.mean()):
        assert get_backend(device).owns(y.data)
        assert y.shape == ()


# ---- what a tensor is --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [[1.0, 2.0], 2.5, [[0.5]]])
def test_floating_point_numbers_and_lists_become_float32(data):
    assert tg.Tensor(data).dtype == np.float32


def test_float64_when_asked():
    assert tg.Tensor([1.0, 2.0], dtype="float64").dtype == np.float64
    assert tg.Tensor([1.0], dtype=np.float64).dtype == np.float64


def test_integers_stay_integers_as_in_pytorch():
    assert tg.Tensor([1, 2, 3]).dtype == np.int64


def test_arrays_keep_their_dtype():
    assert tg.Tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64


def test_the_default_dtype_can_be_changed_and_back():
    try:
        tg.set_default_dtype("float64")
        assert tg.Tensor([1.0]).dtype == np.float64
        assert tg.zeros((2,)).dtype == np.float64
    finally:
        tg.set_default_dtype("float32")
    assert tg.Tensor([1.0]).dtype == np.float32


def test_requires_grad_on_an_integer_tensor_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        tg.Tensor([1, 2], requires_grad=True)


def test_shape_dtype_device_ndim_size(device):
    x = tg.Tensor(np.zeros((2, 3)), device=device)
    assert (x.shape, x.dtype, x.device, x.ndim, x.size, len(x)) == ((2, 3), np.float64, device, 2, 6, 2)


def test_numpy_gives_a_host_copy(device):
    x = tg.Tensor([1.0, 2.0], device=device)
    host = x.numpy()
    assert type(host) is np.ndarray
    host[0] = 99
    assert x.numpy()[0] == 1.0


def test_item_gives_a_python_number(device):
    value = tg.Tensor([[2.5]], device=device).item()
    assert (type(value), value) == (float, 2.5)


def test_to_another_device_and_back_keeps_values_and_passes_gradients(device):
    x = tg.Tensor([1.0, -2.0], requires_grad=True)
    y = x.to(device)
    assert y.device == device
    assert get_backend(device).owns(y.data)
    (y * y).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [2, -4])
    np.testing.assert_array_equal(y.to("cpu").numpy(), [1, -2])


def test_to_the_same_device_and_dtype_is_the_same_tensor():
    x = tg.Tensor([1.0])
    assert x.to("cpu") is x
    assert x.to(dtype="float32") is x


def test_zeros_ones_randn_make_tensors_of_the_device(device):
    for t in (tg.zeros((2, 3), device=device), tg.ones((2, 3), device=device), tg.randn(2, 3, device=device)):
        assert (t.shape, t.dtype, t.device) == ((2, 3), np.float32, device)
        assert get_backend(device).owns(t.data)


def test_manual_seed_makes_randn_repeat(device):
    tg.manual_seed(7)
    first = tg.randn(4, device=device).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(tg.randn(4, device=device).numpy(), first)


def test_repr_shows_values_dtype_and_device(device):
    text = repr(tg.Tensor([1.5], device=device, requires_grad=True))
    assert "1.5" in text
    assert "float32" in text
    assert "requires_grad=True" in text
    assert ("device='strict'" in text) == (device == "strict")
